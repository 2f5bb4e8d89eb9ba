import Foundation
import Testing
@testable import Engine

/// Issue 17's "Reliability" list: what a killed client, concurrent verbs, `system prune` and a full disk did to
/// the engine's state. Each test reproduces the failure the review saw.
@Suite("Reliability: killed clients, races, prune and a full disk", .enabled(if: isRoot, Comment(rawValue: needsRoot)),
       .serialized)
struct ReliabilityTests {
    /// Whether the container's cgroup is frozen, read straight from the kernel's files (v1 freezer.state,
    /// v2 cgroup.freeze).
    static func frozen(_ cgroup: String) -> Bool {
        if CgroupMode.detect() == .unified {
            return (Files.readIfPresent("/sys/fs/cgroup/" + cgroup + "/cgroup.freeze") ?? "0").trimmed != "0"
        }
        return (Files.readIfPresent("/sys/fs/cgroup/freezer/" + cgroup + "/freezer.state") ?? "THAWED").trimmed != "THAWED"
    }

    /// Starts `box ARGS` without waiting (its pid is the test's own child, killed by that pid only).
    static func spawn(_ box: Sandbox, _ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: box.box)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(["BOX_ROOT": box.root]) { $1 }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    @Test("kill -9 of box commit mid-copy: stop, rm -f, unpause and exec thaw the container and behave")
    func killedCommitLeavesNothingFrozen() throws {
        let box = try Sandbox()
        let verbs = ["unpause", "exec", "stop", "rm"]
        var caught = 0
        for round in 0..<10 {
            let name = "f\(round)"
            try box.detached("--name", name, "busybox", "sh", "-c",
                             "dd if=/dev/urandom of=/big bs=1M count=64 2>/dev/null; touch /ready; exec sleep 1000")
            #expect(Sandbox.eventually(30) { (try? box.run("exec", name, "test", "-e", "/ready").status) == 0 })
            let cgroup = try box.store.resolve(name).spec.cgroup
            let commit = try Self.spawn(box, ["commit", name, "big:\(round)"])
            // Kill it while the container is frozen (the copy of 64 MB takes a while).
            let sawFrozen = Sandbox.eventually(30) { Self.frozen(cgroup) || !commit.isRunning }
            kill(commit.processIdentifier, SIGKILL)
            commit.waitUntilExit()
            if sawFrozen && Self.frozen(cgroup) { caught += 1 }

            // Each round a different verb comes first: every one must thaw before it acts.
            let first = verbs[round % verbs.count]
            switch first {
            case "unpause":
                _ = try box.run("unpause", name)  // "not paused" or success: either way, not frozen after it
                #expect(!Self.frozen(cgroup), "round \(round): unpause left the container frozen")
            case "exec":
                let r = try box.run("exec", name, "true")
                #expect(r.status == 0, "round \(round): exec after a killed commit: \(r.stderr)")
                #expect(!Self.frozen(cgroup), "round \(round): exec left the container frozen")
            case "stop":
                let r = try box.run("stop", "-t", "1", name)
                #expect(r.status == 0, "round \(round): stop: \(r.stderr)")
                #expect(try box.inspect(name, "{{.State.Running}}") == "false", "round \(round): stop reported success for a running container")
            default:
                break
            }
            if first != "stop" && first != "rm" {
                #expect(try box.run("exec", name, "true").status == 0, "round \(round): exec")
                let stop = try box.run("stop", "-t", "1", name)
                #expect(stop.status == 0, "round \(round): stop: \(stop.stderr)")
                #expect(try box.inspect(name, "{{.State.Running}}") == "false", "round \(round): still running after stop")
            }
            let rm = try box.run("rm", "-f", name)
            #expect(rm.status == 0, "round \(round): rm -f: \(rm.stderr)")
            #expect(try box.run("inspect", name).status != 0, "round \(round): rm -f left the container")
            #expect(!Files.exists("/sys/fs/cgroup/freezer/" + cgroup), "round \(round): the cgroup stayed")
        }
        #expect(caught > 0, "no round killed the commit while the container was frozen")
    }

    @Test("10 concurrent commits of one stopped container all succeed, and the layer is stored once")
    func concurrentCommits() throws {
        let box = try Sandbox()
        #expect(try box.run("run", "--name", "c1", "busybox", "sh", "-c", "echo note > /note; mkdir -p /a/b; echo x > /a/b/c").status == 0)
        let commits = try (0..<10).map { i -> (Process, Pipe) in
            let p = Process(), err = Pipe()
            p.executableURL = URL(fileURLWithPath: box.box)
            p.arguments = ["commit", "c1", "same:\(i)"]
            p.environment = ProcessInfo.processInfo.environment.merging(["BOX_ROOT": box.root]) { $1 }
            p.standardInput = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            p.standardError = err
            try p.run()
            return (p, err)
        }
        for (i, (p, err)) in commits.enumerated() {
            p.waitUntilExit()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(p.terminationStatus == 0, "commit \(i) failed: \(text)")
        }
        let layers = try box.inspect("same:0", "{{json .RootFS.Layers}}")
        for i in 1..<10 { #expect(try box.inspect("same:\(i)", "{{json .RootFS.Layers}}") == layers) }
        // One directory per layer in overlay2/ (busybox's, the new one, the container's writable one), no
        // staging left in tmp/.
        let stored = try Files.list(box.root + "/overlay2").filter { !$0.hasPrefix(".") }
        #expect(stored.count == 3, "layers stored: \(stored)")
        let staging = (try? Files.list(box.root + "/tmp")) ?? []
        #expect(staging.filter { $0.hasPrefix("layer-") || $0.hasPrefix("commit-") }.isEmpty, "left in tmp: \(staging)")
    }
}
