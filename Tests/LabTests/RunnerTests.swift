import Foundation
import Testing
@testable import Engine
@testable import LabKit
@testable import Labs
@testable import Exercises

/// The whole runner as learners use it: the real `lab` and `box` against the real kernel.
@Suite("lab, end to end", .serialized)
struct RunnerTests {
    @Test("selftest: every step of every lab fails before its work and passes after its solution, also with a second selftest running at the same time",
          .enabled(if: isRoot, needsRoot))
    func selftestAll() throws {
        let s = try LabSandbox()
        // Another selftest beside it, as two CI suites or a selftest beside a learner would run: neither may
        // find the other's processes (no host-wide pgrep), containers or mounts.
        let other = try LabSandbox()
        let (beside, out) = try other.startLab(["selftest"] + (guidedLabs + exercises).map(\.id).reversed())
        let r = try s.lab("selftest")
        let besideOutput = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        beside.waitUntilExit()
        #expect(r.status == 0, "selftest failed:\n\(r.stdout)\(r.stderr)")
        #expect(beside.terminationStatus == 0, "the selftest beside it failed:\n\(besideOutput)")
        for lab in guidedLabs + exercises {
            for step in lab.steps {
                #expect(r.stdout.contains("ok   \(lab.id)/\(step.id) "), "\(lab.id)/\(step.id) did not pass:\n\(r.stdout)")
            }
        }
        #expect(!r.stdout.contains("FAIL"))
    }

    @Test("a container made before the step started does not pass it; one made after does",
          .enabled(if: isRoot, needsRoot))
    func staleStateDoesNotCount() throws {
        let s = try LabSandbox()
        try s.box("run", "-dit", "--name", "c1", "busybox", "sh")
        try s.box("run", "-dit", "--name", "c2", "busybox", "sh")
        usleep(20_000)
        let shown = try s.lab("next")
        #expect(shown.status == 0 && shown.stdout.contains("step 1 of 6"), "\(shown.stdout)\(shown.stderr)")
        let stale = try s.lab("check")
        #expect(stale.status == 1)
        #expect(stale.stdout.contains("before the step started"), "\(stale.stdout)")
        try s.box("rm", "-f", "c1", "c2")
        try s.box("run", "-dit", "--name", "c1", "busybox", "sh")
        try s.box("run", "-dit", "--name", "c2", "busybox", "sh")
        let fresh = try s.lab("next")
        #expect(fresh.stdout.contains("✓ passed"), "\(fresh.stdout)")
        #expect(fresh.stdout.contains("step 2 of 6"))
    }

    @Test("an answer is checked against the live kernel: a wrong PID fails, the right one passes",
          .enabled(if: isRoot, needsRoot))
    func answers() throws {
        let s = try LabSandbox()
        try s.lab("start", "pid-namespaces")
        #expect(try s.lab("solve").status == 0)
        #expect(try s.lab("solve").status == 0)
        let wrong = try s.lab("answer", "1", "1")
        #expect(wrong.status == 1)
        #expect(wrong.stdout.contains("your answer (1 1) does not match"), "\(wrong.stdout)")
        let notNumbers = try s.lab("answer", "three")
        #expect(notNumbers.status == 1)
        // Both PIDs through c1 (box top), never a host-wide pgrep: another suite's sleeps run beside this one.
        let pids = try s.sh("box top c1 | awk '/ sleep [0-9]+$/ {print $4, $2}'").stdout.split(separator: " ")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(pids.count == 2)
        let (sleep, host) = (pids.first ?? "", pids.last ?? "")
        let right = try s.lab("answer", sleep, host)
        #expect(right.status == 0, "\(right.stdout)\(right.stderr)")
        #expect(right.stdout.contains("step 4 of 6"))
        let status = try s.lab("status", "--json")
        #expect(status.stdout.contains("\"status\": \"solved\""))
        #expect(status.stdout.contains("\"status\": \"passed\""))
    }

    @Test("reset removes the lab's containers, files and mounts, keeps the learner's other containers, and clears progress",
          .enabled(if: isRoot, needsRoot))
    func resetIsExact() throws {
        let s = try LabSandbox()
        try s.box("run", "-d", "--name", "mine", "busybox", "sleep", "600")
        usleep(20_000)
        try s.lab("start", "mount-namespaces")
        #expect(FileManager.default.fileExists(atPath: s.base + "/work/mount-namespaces/source/note1.txt"))
        try s.lab("start", "pid-namespaces")
        // Made while the lab runs, under a name no lab gives: the learner's own, which reset must leave.
        try s.box("run", "-d", "--name", "scratch", "busybox", "sleep", "600")
        #expect(try s.lab("solve").status == 0)
        let c1 = try s.box("inspect", "--format", "{{.Id}}", "c1").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let reset = try s.lab("reset", "pid-namespaces")
        #expect(reset.stdout.contains("container c1") && reset.stdout.contains("container c2"), "\(reset.stdout)")
        #expect(try s.box("inspect", "mine").status == 0, "the learner's own container was removed")
        #expect(try s.box("inspect", "scratch").status == 0, "a container the lab does not name was removed")
        #expect(reset.stdout.contains("left container scratch") && reset.stdout.contains("box rm -f scratch"), "\(reset.stdout)")
        try s.box("rm", "-f", "scratch")
        // By full id and by the list of names: a bare "c1" is also a valid id prefix, and `mine`'s
        // id begins with c1 once in 256 runs (docker resolves names the same way).
        #expect(c1.count == 64)
        #expect(try s.box("inspect", c1).status != 0, "c1 is still there after reset said: \(reset.stdout)")
        let mine = try s.box("inspect", "--format", "{{.Id}}", "mine").stdout
        let left = try s.box("ps", "-a", "-q", "--no-trunc").stdout
        #expect(left == mine, "left after reset: \(left)")
        try s.lab("reset", "mount-namespaces")
        #expect(!FileManager.default.fileExists(atPath: s.base + "/work/mount-namespaces"))
        #expect(s.mountsUnderBase.filter { $0.contains("/work/") }.isEmpty)
        let list = try s.lab("list", "--json")
        #expect(!list.stdout.contains("\"status\": \"step "), "progress kept after reset: \(list.stdout)")
    }

    @Test("lab refuses to run without root and says to use sudo", .enabled(if: isRoot, needsRoot))
    func needsSudo() throws {
        let s = try LabSandbox()
        let r = try s.run([s.bin + "/lab", "next"], prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("run it with sudo"), "\(r.stderr)")
    }

    @Test("bad input: an unknown lab, an answer where no question is asked, a stray flag", .enabled(if: isRoot, needsRoot))
    func badInput() throws {
        let s = try LabSandbox()
        let unknown = try s.lab("start", "no-such-lab")
        #expect(unknown.status != 0 && unknown.stderr.contains("pid-namespaces"), "\(unknown.stderr)")
        try s.lab("next")
        let answer = try s.lab("answer", "42")
        #expect(answer.status == 1 && answer.stderr.contains("asks no question"), "\(answer.stderr)")
        let flag = try s.lab("next", "--bogus")
        #expect(flag.status != 0 && flag.stderr.contains("--bogus"))
        #expect(!FileManager.default.fileExists(atPath: s.base + "/box/containers/") ||
                ((try? FileManager.default.contentsOfDirectory(atPath: s.base + "/box/containers")) ?? []).isEmpty)
    }

    @Test("lab watch announces the pass and shows the next step by itself", .enabled(if: isRoot, needsRoot))
    func watch() throws {
        let s = try LabSandbox()
        let (p, out) = try s.startLab(["watch", "--interval", "0.2"])
        // SIGTERM, as Ctrl-C or kill would end it (lab unblocks the signals the test thread blocks).
        defer { if p.isRunning { kill(p.processIdentifier, SIGTERM) }; p.waitUntilExit() }
        usleep(500_000)
        try s.box("run", "-dit", "--name", "c1", "busybox", "sh")
        try s.box("run", "-dit", "--name", "c2", "busybox", "sh")
        // It is still watching: read what it printed so far, without waiting for it to end.
        var seen = ""
        let deadline = Date().addingTimeInterval(10)
        let fd = out.fileHandleForReading.fileDescriptor
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var buf = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline && !seen.contains("step 2 of 6") {
            let n = read(fd, &buf, buf.count)
            if n > 0 { seen += String(decoding: buf[0..<n], as: UTF8.self) } else { usleep(50_000) }
        }
        #expect(seen.contains("watching pid-namespaces"), "\(seen)")
        #expect(seen.contains("✓ passed"), "\(seen)")
        #expect(seen.contains("step 2 of 6"), "\(seen)")
    }

    @Test("progress belongs to the learner behind sudo, not to root", .enabled(if: isRoot, needsRoot))
    func progressOwner() throws {
        let s = try LabSandbox()
        // As in a home: the learner's own directory, which lab (writing as the learner) creates boxlab/ in.
        chmod(s.base, 0o711)
        mkdir(s.base + "/state", 0o755)
        chown(s.base + "/state", 65534, 65534)
        let r = try s.run([s.bin + "/lab", "next"], extra: ["SUDO_USER": "nobody", "LAB_HOME": s.base + "/state/boxlab"])
        #expect(r.status == 0, "\(r.stderr)")
        var st = stat()
        #expect(stat(s.base + "/state/boxlab/progress.jsonl", &st) == 0)
        #expect(st.st_uid == 65534)
        #expect(stat(s.base + "/state/boxlab", &st) == 0 && st.st_uid == 65534)
        #expect(stat(s.base + "/state", &st) == 0 && st.st_uid == 65534)
    }
}
