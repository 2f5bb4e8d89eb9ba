import Foundation
import Testing
@testable import Engine

/// The attacks of the hardening issue (#17), each aimed only at what the test itself makes: its own data root,
/// its own containers, a loop device on a file of its own. Each failed on the engine before its fix.
@Suite("Security: the attacks of the hardening issue", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct SecurityTests {
    /// Runs `argv` as nobody (uid and gid 65534, no supplementary groups): any local user. Through env: setpriv
    /// keeps root's capabilities until its own execve (PR_SET_KEEPCAPS), so the path it executes would be looked
    /// up with CAP_DAC_OVERRIDE; env's execve is nobody's.
    static func asNobody(_ argv: [String]) throws -> Sandbox.Result {
        try Sandbox.exec(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/env"] + argv)
    }

    /// What any local user reads in /proc/self/mountinfo about the sandbox's container overlay: its mount point
    /// and its layers' host paths.
    struct Overlay {
        var merged: String
        var upper: String
        var lowers: [String]
    }

    static func overlay(of box: Sandbox) -> Overlay? {
        for m in Mount.parse(Files.readIfPresent("/proc/self/mountinfo") ?? "")
        where m.fsType == "overlay" && m.mountPoint.hasPrefix(box.root + "/") {
            var options: [String: String] = [:]
            for option in m.superOptions.split(separator: ",") {
                let kv = option.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { options[String(kv[0])] = String(kv[1]) }
            }
            guard let upper = options["upperdir"], let lower = options["lowerdir"] else { continue }
            return Overlay(merged: m.mountPoint, upper: upper, lowers: lower.split(separator: ":").map(String.init))
        }
        return nil
    }

    /// A data root as box makes /var/lib/box (0711: others may pass through, not list). mkdtemp's 0700 would
    /// hide what the engine itself leaves open.
    static func sandbox() throws -> Sandbox {
        let box = try Sandbox()
        #expect(chmod(box.root, 0o711) == 0)
        return box
    }

    @Test("a setuid-root file planted by the container's root cannot be run as root by another user through the host-side paths")
    func plantedSetuid() throws {
        let box = try Self.sandbox()
        _ = try box.detached("--name", "c", "busybox", "sleep", "1000")
        // whoami prints the effective user: a harmless program that says whether the setuid bit worked. The
        // container's root makes it setuid (busybox drops a setuid bit for its own applets).
        #expect(try box.run("cp", "/usr/bin/whoami", "c:/w").status == 0)
        let chmodded = try box.run("exec", "c", "chmod", "4755", "/w")
        #expect(chmodded.status == 0, "\(chmodded.stderr)")
        let overlay = try #require(Self.overlay(of: box), "no overlay of the sandbox in mountinfo")
        let pid = try box.pid("c")
        for path in [overlay.upper + "/w", overlay.merged + "/w", "/proc/\(pid)/root/w"] {
            var st = stat()
            #expect(stat(path, &st) == 0 && st.st_uid == 0 && st.st_mode & S_ISUID != 0, "\(path) is not the setuid-root file")
            let r = try Self.asNobody([path])
            #expect(r.out != "root", "nobody ran \(path) as root")
            #expect(r.status != 0 && r.stderr.contains("Permission denied"), "nobody reached \(path): \(r.status) \(r.stdout) \(r.stderr)")
        }
    }

    @Test("the host's view of a container's overlay is nosuid and nodev; the container's own root only nodev, as docker's")
    func overlayMountFlags() throws {
        let box = try Self.sandbox()
        _ = try box.detached("--name", "c", "busybox", "sleep", "1000")
        let overlay = try #require(Self.overlay(of: box))
        let host = try #require(Mount.parse(Files.readIfPresent("/proc/self/mountinfo") ?? "").first { $0.mountPoint == overlay.merged })
        let hostOptions = host.options.split(separator: ",")
        #expect(hostOptions.contains("nosuid") && hostOptions.contains("nodev"), "host: \(host.options)")
        let inside = try box.run("exec", "c", "cat", "/proc/self/mountinfo")
        let root = try #require(Mount.parse(inside.stdout).first { $0.mountPoint == "/" })
        let rootOptions = root.options.split(separator: ",")
        #expect(root.fsType == "overlay" && !rootOptions.contains("nosuid") && rootOptions.contains("nodev"), "container: \(root.options)")
        // A new process in it (box exec) sees the same root.
        let shell = try box.run("exec", "c", "sh", "-c", "grep ' / / ' /proc/self/mountinfo")
        #expect(!shell.stdout.contains("nosuid"), "\(shell.stdout)")
    }

    @Test("a 0666 block device node in an imported layer cannot be opened by another user through the host-side paths")
    func importedDeviceNode() throws {
        let box = try Self.sandbox()
        var template = Array("/tmp/boxtest-dev-XXXXXX".utf8CString)
        let scratch = String(cString: try #require(mkdtemp(&template)))
        box.scratchDirs.append(scratch)
        // A loop device of the test's own, on a file with known contents.
        let secret = "loop-secret-\(UInt64.random(in: 1...UInt64.max))"
        try Files.writeAtomically(scratch + "/backing", Array(secret.utf8) + [UInt8](repeating: 0, count: 65536 - secret.utf8.count))
        let losetup = try Sandbox.exec(["/usr/sbin/losetup", "--find", "--show", scratch + "/backing"])
        try #require(losetup.status == 0, "losetup: \(losetup.stderr)")
        let loop = losetup.out
        defer { _ = try? Sandbox.exec(["/usr/sbin/losetup", "-d", loop]) }
        var dev = stat()
        try #require(stat(loop, &dev) == 0 && (dev.st_mode & S_IFMT) == S_IFBLK)

        // The layer: busybox to run, and the device node anybody may open.
        let layer = scratch + "/layer"
        try Files.mkdirs(layer + "/bin")
        #expect(try Sandbox.exec(["/bin/cp", "/usr/bin/busybox", layer + "/bin/busybox"]).status == 0)
        #expect(mknod(layer + "/blk", S_IFBLK | 0o666, dev.st_rdev) == 0)
        #expect(chmod(layer + "/blk", 0o666) == 0)
        #expect(try Sandbox.exec(["/usr/bin/tar", "-C", layer, "-cf", scratch + "/layer.tar", "."]).status == 0)
        let imported = try box.run("import", scratch + "/layer.tar", "devimg")
        try #require(imported.status == 0, "import: \(imported.stderr)")
        _ = try box.detached("--name", "c", "devimg", "/bin/busybox", "sleep", "1000")

        let overlay = try #require(Self.overlay(of: box), "no overlay of the sandbox in mountinfo")
        let lower = try #require(overlay.lowers.first)
        // Root reads the loop device through the layer's node: the node is the test's device.
        let asRoot = try Sandbox.exec(["/usr/bin/head", "-c", String(secret.utf8.count), lower + "/blk"])
        #expect(asRoot.stdout == secret)
        for path in [lower + "/blk", overlay.merged + "/blk"] {
            let r = try Self.asNobody(["/usr/bin/head", "-c", String(secret.utf8.count), path])
            #expect(!r.stdout.contains(secret), "nobody read the loop device through \(path)")
            #expect(r.status != 0 && r.stderr.contains("Permission denied"), "nobody reached \(path): \(r.status) \(r.stderr)")
        }
    }

    @Test("a BOX_ROOT another user made, or below a directory another user owns, is refused: root would have written through their symlink")
    func boxRootOthersCanChange() throws {
        let s = try Sandbox()
        let evil = s.root + "-evil", victim = s.root + "-victim", home = s.root + "-home"
        s.scratchDirs += [evil, victim, home]
        // nobody's directory, with a symlink of nobody's where box keeps its layer tars.
        #expect(mkdir(evil, 0o755) == 0 && chown(evil, 65534, 65534) == 0)
        #expect(mkdir(victim, 0o700) == 0)
        #expect(symlink(victim, evil + "/blobs") == 0 && lchown(evil + "/blobs", 65534, 65534) == 0)
        let planted = try Sandbox.exec([s.box, "run", "--rm", "busybox", "true"], environment: ["BOX_ROOT": evil])
        #expect(planted.status == 125 && planted.stderr.contains("is owned by uid 65534"), "\(planted.status) \(planted.stderr)")
        #expect(((try? Files.list(victim)) ?? []).isEmpty, "root wrote through nobody's symlink: \((try? Files.list(victim)) ?? [])")
        // A root-owned data directory in a directory nobody owns: nobody can rename it away and put theirs there.
        #expect(mkdir(home, 0o755) == 0 && chown(home, 65534, 65534) == 0 && mkdir(home + "/box", 0o700) == 0)
        let below = try Sandbox.exec([s.box, "images"], environment: ["BOX_ROOT": home + "/box"])
        #expect(below.status == 125 && below.stderr.contains("\(home) is owned by uid 65534"), "\(below.stderr)")
        #expect(((try? Files.list(home + "/box")) ?? []).isEmpty)
        // The same through a symlink of root's: where it leads counts.
        let link = s.root + "-link"
        s.scratchDirs.append(link)
        #expect(symlink(home + "/box", link) == 0)
        let through = try Sandbox.exec([s.box, "images"], environment: ["BOX_ROOT": link])
        #expect(through.status == 125 && through.stderr.contains("\(home) is owned by uid 65534"), "\(through.stderr)")
        // World-writable: refused as the data directory, allowed as a sticky parent (the sandbox's own /tmp).
        #expect(chmod(victim, 0o777) == 0)
        let open = try Sandbox.exec([s.box, "images"], environment: ["BOX_ROOT": victim])
        #expect(open.status == 125 && open.stderr.contains("writable by every user"), "\(open.stderr)")
        #expect(try s.run("run", "--rm", "busybox", "true").status == 0)
    }

    @Test("events.jsonl is 0600; a data root an older box left open (dirs 0755, journal 0644) is closed by the next box command")
    func olderRootTightened() throws {
        let box = try Self.sandbox()
        let id = try box.detached("--name", "c", "busybox", "sleep", "1000")
        let root = box.engineRoot
        let overlay = try #require(Self.overlay(of: box))
        let imageLayer = try #require(overlay.lowers.first.map { String($0.dropLast("/diff".count)) })
        let containerLayer = root.overlay + "/" + id
        // Made by this box: nothing of the engine's is open to others.
        func mode(_ path: String) -> mode_t {
            var st = stat()
            return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : 0o7777
        }
        func checkClosed(_ when: String) throws {
            #expect(mode(root.events) == 0o600, "\(when): events.jsonl is \(String(mode(root.events), radix: 8))")
            for dir in [root.overlay, containerLayer, imageLayer, root.containers, root.path + "/blobs", root.path + "/imagedb",
                        root.tmp, root.trash, root.spare, root.containerDir(id)] {
                #expect(mode(dir) & 0o007 == 0, "\(when): \(dir) is \(String(mode(dir), radix: 8))")
            }
            let read = try Self.asNobody(["/bin/cat", root.events])
            #expect(read.status != 0 && !read.stdout.contains("\"start\""), "\(when): nobody read the journal")
            let walk = try Self.asNobody(["/bin/ls", containerLayer + "/diff"])
            #expect(walk.status != 0 && walk.stderr.contains("Permission denied"), "\(when): nobody listed the upper dir")
        }
        try checkClosed("new root")

        // As an older box left them.
        for (path, m) in [(root.overlay, 0o711), (containerLayer, 0o755), (imageLayer, 0o755), (root.containers, 0o711),
                          (root.containerDir(id), 0o755), (root.path + "/blobs", 0o711), (root.path + "/imagedb", 0o711),
                          (root.tmp, 0o711), (root.trash, 0o711), (root.spare, 0o755), (root.events, 0o644)] as [(String, mode_t)] {
            #expect(chmod(path, m) == 0, "chmod \(path)")
        }
        #expect(try Self.asNobody(["/bin/ls", containerLayer + "/diff"]).status == 0, "the older root is not open")
        // Any command closes it, a read-only one too.
        #expect(try box.run("ps").status == 0)
        try checkClosed("older root after box ps")
    }
}
