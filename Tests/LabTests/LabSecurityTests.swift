import Foundation
import Testing
@testable import Engine
@testable import LabKit

/// Issue 17, item 7: `lab` runs as root but keeps the learner's progress in the learner's home, and its labs'
/// files in a work root. Neither may let the learner (or another user) steer root's writes with a symlink.
/// Each attack is aimed at files the test makes itself (a root-owned victim under its sandbox).
@Suite("Security: lab as root and the learner's symlinks", .serialized)
struct LabSecurityTests {
    static let nobody: uid_t = 65534

    /// A sandbox whose base the learner (nobody) may walk through, with their state directory at
    /// base/state/boxlab made by them, as a home's would be; and a root-owned victim file base/victim.
    func learnerSandbox(makeStateDirectory: Bool = true) throws -> LabSandbox {
        let s = try LabSandbox()
        chmod(s.base, 0o711)
        mkdir(s.base + "/state", 0o755)
        chown(s.base + "/state", Self.nobody, Self.nobody)
        if makeStateDirectory {
            mkdir(s.base + "/state/boxlab", 0o755)
            chown(s.base + "/state/boxlab", Self.nobody, Self.nobody)
        }
        try Files.writeAtomically(s.base + "/victim", "root's own file\n", mode: 0o644)
        return s
    }

    func asLearner(_ s: LabSandbox, _ args: String...) throws -> LabSandbox.Result {
        try s.run([s.bin + "/lab"] + args, extra: ["SUDO_USER": "nobody", "LAB_HOME": s.base + "/state/boxlab"])
    }

    /// Plants a symlink `path` -> `target` owned by the learner (as the learner would make it).
    func plant(_ path: String, _ target: String) {
        symlink(target, path)
        lchown(path, Self.nobody, Self.nobody)
    }

    /// Ends any `lab __sync` this sandbox started (code before the fix could start one).
    func endSyncs(_ s: LabSandbox) {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != getpid(),
                  let env = try? Files.read("/proc/\(pid)/environ"),
                  String(decoding: env, as: UTF8.self).contains("LAB_HOME=" + s.base + "/") else { continue }
            kill(pid, SIGKILL)
        }
    }

    @Test("a progress.jsonl that is a symlink to root's file: lab refuses, says so, and the file is unchanged",
          .enabled(if: isRoot, needsRoot))
    func progressSymlink() throws {
        let s = try learnerSandbox()
        plant(s.base + "/state/boxlab/progress.jsonl", s.base + "/victim")
        let r = try asLearner(s, "next")
        endSyncs(s)
        #expect(Files.readIfPresent(s.base + "/victim") == "root's own file\n", "root wrote through the learner's symlink")
        #expect(r.status != 0)
        #expect(r.stderr.contains("progress.jsonl is a symbolic link"), "\(r.stdout)\(r.stderr)")
    }

    @Test("a progress.jsonl that is a symlink to a file not yet there: root does not create it",
          .enabled(if: isRoot, needsRoot))
    func progressSymlinkCreates() throws {
        let s = try learnerSandbox()
        plant(s.base + "/state/boxlab/progress.jsonl", s.base + "/made-by-root")
        let r = try asLearner(s, "next")
        endSyncs(s)
        #expect(!Files.exists(s.base + "/made-by-root"), "root created a file where the learner's symlink pointed")
        #expect(r.status != 0)
    }

    @Test("a state directory that is a symlink to root's directory is refused, and nothing is written there",
          .enabled(if: isRoot, needsRoot))
    func stateDirectorySymlink() throws {
        let s = try learnerSandbox(makeStateDirectory: false)
        mkdir(s.base + "/rootdir", 0o755)
        plant(s.base + "/state/boxlab", s.base + "/rootdir")
        let r = try asLearner(s, "next")
        endSyncs(s)
        let inside = (try? FileManager.default.contentsOfDirectory(atPath: s.base + "/rootdir")) ?? []
        #expect(inside.isEmpty, "root wrote \(inside) through the learner's symlinked state directory")
        #expect(r.status != 0)
        #expect(r.stderr.contains("is a symbolic link"), "\(r.stdout)\(r.stderr)")
    }

    @Test("a state directory that is root's (not the learner's) is refused",
          .enabled(if: isRoot, needsRoot))
    func stateDirectoryNotLearners() throws {
        let s = try learnerSandbox(makeStateDirectory: false)
        mkdir(s.base + "/state/boxlab", 0o777)
        chmod(s.base + "/state/boxlab", 0o777)
        let r = try asLearner(s, "next")
        #expect(!Files.exists(s.base + "/state/boxlab/progress.jsonl"))
        #expect(r.status != 0)
        #expect(r.stderr.contains("belongs to uid 0"), "\(r.stdout)\(r.stderr)")
    }

    @Test("classroom.json and classroom.lock as symlinks: root neither reads, writes nor creates through them",
          .enabled(if: isRoot, needsRoot))
    func classroomSymlinks() throws {
        let s = try learnerSandbox()
        // Root's file, readable by root alone, shaped as a joined room with a message waiting: root reading it
        // would show the message, and then save the state (taking the lock).
        let secret = "a line only root may read"
        let state = """
            {"url": "http://127.0.0.1:9/", "room": "r", "name": "n", "attendee": "a", "secret": "s", "sent": 0,
             "lastMessage": 0, "pending": [{"id": 1, "text": "\(secret)"}]}
            """
        try Files.writeAtomically(s.base + "/victim", state, mode: 0o600)
        plant(s.base + "/state/boxlab/classroom.json", s.base + "/victim")
        plant(s.base + "/state/boxlab/classroom.lock", s.base + "/made-by-root")
        plant(s.base + "/state/boxlab/classroom.sync", s.base + "/made-by-root-too")
        let r = try asLearner(s, "list")
        endSyncs(s)
        #expect(!(r.stdout + r.stderr).contains(secret), "lab read root's file through the learner's symlink")
        #expect(Files.readIfPresent(s.base + "/victim") == state)
        #expect(!Files.exists(s.base + "/made-by-root"), "root created a file through classroom.lock")
        #expect(!Files.exists(s.base + "/made-by-root-too"), "root created a file through classroom.sync")
    }

    @Test("the classroom state is written as the learner, never through a symlink (the library's own calls)",
          .enabled(if: isRoot, needsRoot))
    func classroomSave() throws {
        let s = try learnerSandbox()
        let journal = ProgressJournal(directory: s.base + "/state/boxlab", owner: (Self.nobody, Self.nobody), name: "nobody")
        let room = Classroom(journal: journal)
        plant(room.statePath, s.base + "/victim")
        let st = Classroom.State(url: "http://127.0.0.1:9/", room: "r", name: "n", attendee: "a", secret: "s")
        // The rename replaces the link, as the learner: root's victim is untouched, the new file is the learner's.
        try room.save(st)
        #expect(Files.readIfPresent(s.base + "/victim") == "root's own file\n")
        var info = stat()
        #expect(lstat(room.statePath, &info) == 0 && info.st_uid == Self.nobody && (info.st_mode & S_IFMT) == S_IFREG)
        #expect(room.state()?.attendee == "a")
    }

    @Test("the work root is /run/boxlab, root's, not /tmp/boxlab")
    func workRootUnderRun() {
        #expect(Runner.defaultWorkRoot == "/run/boxlab")
    }

    @Test("a work root planted as a symlink by another user is not followed: the lab's setup writes nothing through it",
          .enabled(if: isRoot, needsRoot))
    func workRootSymlink() throws {
        let s = try learnerSandbox()
        mkdir(s.base + "/elsewhere", 0o755)
        symlink(s.base + "/elsewhere", s.base + "/work")
        lchown(s.base + "/work", Self.nobody, Self.nobody)
        let r = try asLearner(s, "start", "--force", "user-namespaces")
        let inside = (try? FileManager.default.contentsOfDirectory(atPath: s.base + "/elsewhere")) ?? []
        #expect(inside.isEmpty, "the setup wrote \(inside) through the planted symlink")
        #expect(r.status != 0)
        #expect(r.stderr.contains("unsafe"), "\(r.stdout)\(r.stderr)")
    }

    @Test("a work root that is another user's directory is refused",
          .enabled(if: isRoot, needsRoot))
    func workRootNotRoots() throws {
        let s = try learnerSandbox()
        mkdir(s.base + "/work", 0o755)
        chown(s.base + "/work", Self.nobody, Self.nobody)
        let r = try asLearner(s, "start", "--force", "image-anatomy")
        #expect(!Files.exists(s.base + "/work/image-anatomy"), "the setup made its directory in another user's work root")
        #expect(r.status != 0)
        #expect(r.stderr.contains("owned by uid 65534"), "\(r.stdout)\(r.stderr)")
    }

    @Test("a lab directory handed to the learner is made fresh by root: one left from before (a symlink) is not followed",
          .enabled(if: isRoot, needsRoot))
    func labDirectoryFresh() throws {
        let s = try learnerSandbox()
        mkdir(s.base + "/work", 0o755)
        mkdir(s.base + "/elsewhere", 0o755)
        symlink(s.base + "/elsewhere", s.base + "/work/image-anatomy")
        let r = try asLearner(s, "start", "--force", "image-anatomy")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        var st = stat()
        #expect(lstat(s.base + "/elsewhere", &st) == 0 && st.st_uid == 0, "root chowned the symlink's target to the learner")
        #expect(lstat(s.base + "/work/image-anatomy", &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR && st.st_uid == Self.nobody)
    }
}
