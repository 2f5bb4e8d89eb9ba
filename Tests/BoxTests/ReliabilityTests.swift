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
    static func spawn(_ box: Sandbox, _ args: [String], executable: String? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable ?? box.box)
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
        // Five rounds (the review saw 5 failures in 50 commits); a layer of many files, so the stores overlap.
        for round in 0..<5 {
            let name = "c\(round)"
            #expect(try box.run("run", "--name", name, "busybox", "sh", "-c",
                                "mkdir /many; cd /many; for i in $(seq 600); do echo \(round) > f$i; done").status == 0)
            let commits = try (0..<10).map { i -> (Process, Pipe) in
                let p = Process(), err = Pipe()
                p.executableURL = URL(fileURLWithPath: box.box)
                p.arguments = ["commit", name, "same\(round):\(i)"]
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
                #expect(p.terminationStatus == 0, "round \(round): commit \(i) failed: \(text)")
            }
            let layers = try box.inspect("same\(round):0", "{{json .RootFS.Layers}}")
            for i in 1..<10 { #expect(try box.inspect("same\(round):\(i)", "{{json .RootFS.Layers}}") == layers) }
        }
        // One directory per layer in overlay2/ (busybox's, and per round the new one and the container's
        // writable one), no staging left in tmp/.
        let stored = try Files.list(box.root + "/overlay2").filter { !$0.hasPrefix(".") }
        #expect(stored.count == 1 + 2 * 5, "layers stored: \(stored)")
        let staging = (try? Files.list(box.root + "/tmp")) ?? []
        #expect(staging.filter { $0.hasPrefix("layer-") || $0.hasPrefix("commit-") }.isEmpty, "left in tmp: \(staging)")
    }

    /// A pid that was a process of this test and is now gone (reaped): a dead owner.
    static func deadPid() throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    @Test("system prune leaves a live commit and a live process's temporaries alone, and removes a dead one's")
    func pruneSkipsLiveWork() throws {
        let box = try Sandbox()
        let scratch = try box.scratch("out")
        // A stopped container with a layer big enough that its commit takes a while.
        #expect(try box.run("run", "--name", "c1", "busybox", "sh", "-c", "dd if=/dev/urandom of=/big bs=1M count=64 2>/dev/null").status == 0)
        let commit = try Self.spawn(box, ["commit", "c1", "big:1"])
        // Once the copy has begun (its tar is in tmp/), prune runs beside it.
        let copying = Sandbox.eventually(30) { ((try? Files.list(box.root + "/tmp")) ?? []).contains { $0.hasPrefix("commit-") } }
        #expect(copying, "the commit never began its copy")
        let prune = try box.run("system", "prune", "-f")
        #expect(prune.status == 0, "\(prune.stderr)")
        commit.waitUntilExit()
        #expect(commit.terminationStatus == 0, "the commit broke under prune")
        #expect(try box.run("inspect", "big:1").status == 0)

        // A save killed before its rename leaves FILE.tmp-PID beside FILE.
        let save = try Self.spawn(box, ["save", "-o", scratch + "/big.tar", "big:1"])
        let partial = scratch + "/big.tar.tmp-\(save.processIdentifier)"
        #expect(Sandbox.eventually(30) { Files.exists(partial) || !save.isRunning })
        kill(save.processIdentifier, SIGKILL)
        save.waitUntilExit()
        #expect(Files.exists(partial), "the save finished before it could be killed")

        // Temporaries of a dead process and of a live one (this test) in tmp/, imagedb/ and networks/.
        let dead = try Self.deadPid(), me = getpid()
        try Files.mkdirs(box.root + "/networks")
        let deadFiles = [box.root + "/tmp/commit-0123456789ab-pid\(dead).tar", box.root + "/imagedb/sha256/abc.tmp-\(dead)",
                         box.root + "/networks/n1.json.tmp-\(dead)", box.root + "/repositories.json.tmp-\(dead)"]
        let liveFiles = [box.root + "/imagedb/sha256/abc.tmp-\(me)", box.root + "/networks/n1.json.tmp-\(me)"]
        for f in deadFiles + liveFiles { try Files.writeAtomically(f, Array("x".utf8)) }
        try Files.mkdirs(box.root + "/tmp/load-pid\(me)-Ab12Cd/diff")
        try Files.writeAtomically(box.root + "/tmp/load-pid\(me)-Ab12Cd/diff/f", Array("x".utf8))

        let second = try box.run("system", "prune", "-f")
        #expect(second.status == 0, "\(second.stderr)")
        for f in deadFiles + [partial] { #expect(!Files.exists(f), "prune left \(f)") }
        for f in liveFiles + [box.root + "/tmp/load-pid\(me)-Ab12Cd/diff/f"] { #expect(Files.exists(f), "prune removed live work: \(f)") }
        #expect(((try? Files.list(box.root + "/run")) ?? []).filter { $0.hasPrefix("output-") }.isEmpty, "the save's intent stayed")
    }

    @Test("kill -9 of network create at any moment leaves no bridge box does not know of, and prune removes them all")
    func killedNetworkCreate() throws {
        let box = try Sandbox()
        // In a network namespace of the test's own: the bridges found there are this test's, whatever else runs.
        let ip = Subprocess.which("ip") ?? "/usr/sbin/ip"
        let ns = "boxtest-netcreate-\(getpid())"
        #expect(try Sandbox.exec([ip, "netns", "add", ns]).status == 0)
        defer { _ = try? Sandbox.exec([ip, "netns", "del", ns]) }
        func create(_ name: String) throws -> Process {
            try Self.spawn(box, ["netns", "exec", ns, box.box, "network", "create", name], executable: ip)
        }
        func bridges() throws -> Set<String> {
            let out = try Sandbox.exec([ip, "-n", ns, "-o", "link", "show", "type", "bridge"]).stdout
            return Set(out.split(separator: "\n").compactMap { $0.split(separator: ":").dropFirst().first?.trimmingCharacters(in: .whitespaces) })
        }
        // Each create is killed the moment its bridge appears (a link event in the namespace), when the engine
        // has made the bridge and may not have written anything of it yet; and a few at random moments.
        let monitor = Process()
        monitor.executableURL = URL(fileURLWithPath: "/usr/bin/stdbuf")  // a line at a time into the pipe
        monitor.arguments = ["-oL", ip, "-n", ns, "-o", "monitor", "link"]
        let events = Pipe()
        monitor.standardOutput = events
        try monitor.run()
        defer { kill(monitor.processIdentifier, SIGKILL); monitor.waitUntilExit() }  // SIGTERM may be ignored here
        usleep(100_000)  // the monitor is listening
        var seen: Set<String> = [], pending = ""
        func awaitNewBridge() -> Bool {
            let fd = events.fileHandleForReading.fileDescriptor
            while true {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 3000) > 0 else { return false }
                var buf = [UInt8](repeating: 0, count: 4096)
                let n = read(fd, &buf, buf.count)
                guard n > 0 else { return false }
                pending += String(decoding: buf[0..<n], as: UTF8.self)
                while let nl = pending.firstIndex(of: "\n") {
                    let line = pending[..<nl]
                    pending = String(pending[pending.index(after: nl)...])
                    guard let name = line.split(separator: ":").dropFirst().first?.trimmingCharacters(in: .whitespaces),
                          name.hasPrefix("br-"), !line.hasPrefix("Deleted"), seen.insert(name).inserted else { continue }
                    return true
                }
            }
        }
        for i in 0..<40 {
            let p = try create("n\(i)")
            if i < 30 {
                _ = awaitNewBridge()
            } else {
                usleep(UInt32.random(in: 0...80_000))
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        let known = Set(try NetworkStore(root: box.engineRoot).list().map(\.Bridge))
        let unknown = try bridges().subtracting(known)
        #expect(unknown.isEmpty, "bridges no box command knows of: \(unknown.sorted())")
        let prune = try Sandbox.exec([ip, "netns", "exec", ns, box.box, "system", "prune", "--all", "-f"],
                                     environment: ["BOX_ROOT": box.root])
        #expect(prune.status == 0, "\(prune.stderr)")
        let left = try bridges()
        #expect(left.isEmpty, "left after system prune --all: \(left.sorted())")
        #expect(try NetworkStore(root: box.engineRoot).list().isEmpty)
    }

    @Test("a torn last line of the event journal (a full disk mid-write) is fenced off: the next event is whole")
    func tornJournalIsFenced() throws {
        let box = try Sandbox()
        #expect(try box.run("create", "--name", "c1", "busybox").status == 0)
        // What a write cut short by ENOSPC leaves: part of a record, no newline.
        let fd = open(box.root + "/events.jsonl", O_WRONLY | O_APPEND)
        #expect(fd >= 0)
        _ = "{\"action\":\"sta".withCString { write(fd, $0, strlen($0)) }
        close(fd)
        #expect(try box.run("rm", "c1").status == 0)
        #expect(box.events.contains { $0.action == "destroy" }, "the record after the torn line was glued to it")
        #expect(box.events.contains { $0.action == "create" })
    }

    @Test("output written while the disk is full is not lost silently: the log says how much is missing, and has no torn line")
    func logOnFullDisk() throws {
        let box = try Sandbox()
        let sig = try box.scratch("sig"), full = try box.scratch("full")
        let script = "echo before; until [ -e /sig/go ]; do sleep 0.05; done; echo lost-out; head -c 30000 /dev/zero | tr '\\0' x; echo; echo lost-err >&2; touch /sig/wrote; " +
            "until [ -e /sig/go2 ]; do sleep 0.05; done; echo after"
        let id = try box.run("create", "--name", "c", "-v", sig + ":/sig", "busybox", "sh", "-c", script).out
        // The container's directory (config, state, log) moved onto a 1 MB tmpfs the test can fill.
        let dir = box.engineRoot.containerDir(id)
        #expect(mount("tmpfs", full, "tmpfs", 0, "size=1m") == 0, "mount tmpfs: \(errno)")
        defer { umount2(full, Int32(MNT_DETACH)) }
        #expect(try Sandbox.exec(["/bin/cp", "-a", dir + "/.", full + "/"]).status == 0)
        #expect(mount(full, dir, nil, UInt(MS_BIND), nil) == 0, "bind: \(errno)")
        defer { umount2(dir, Int32(MNT_DETACH)) }
        #expect(try box.run("start", "c").status == 0)
        #expect(Sandbox.eventually { (try? box.run("logs", "c").stdout.contains("before")) == true })
        // Fill it, let the container write (more than the log's last page has room for: tmpfs takes a page at a
        // time), free it, let it write again.
        _ = try Sandbox.exec(["/bin/dd", "if=/dev/zero", "of=" + dir + "/filler", "bs=4k"])  // until ENOSPC
        #expect(FileManager.default.createFile(atPath: sig + "/go", contents: nil))
        #expect(Sandbox.eventually { Files.exists(sig + "/wrote") })
        usleep(200_000)  // the monitor has read the two lines and failed to log them
        unlink(dir + "/filler")
        #expect(FileManager.default.createFile(atPath: sig + "/go2", contents: nil))
        #expect(try box.run("wait", "c").out == "0")
        let logs = try box.run("logs", "c")
        #expect(logs.stdout.contains("before") && logs.stdout.contains("after"), "\(logs.stdout)")
        #expect(logs.stderr.contains("bytes of the container's output are missing here") && logs.stderr.contains("No space left on device"),
                "nothing says output was lost: \(logs.stdout) \(logs.stderr)")
        let lines = (Files.readIfPresent(box.store.logPath(id)) ?? "").split(separator: "\n")
        for line in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "a torn log line: \(line)")
        }
        try box.run("rm", "c")
    }

    @Test("a save onto a full filesystem says No space left on device, not just Write error, and leaves no partial file")
    func fullDiskIsNamed() throws {
        let box = try Sandbox()
        let full = try box.scratch("full")
        #expect(mount("tmpfs", full, "tmpfs", 0, "size=256k") == 0, "mount tmpfs: \(errno)")
        defer { umount2(full, 0) }
        let r = try box.run("save", "-o", full + "/busybox.tar", "busybox")
        #expect(r.status != 0)
        #expect(r.stderr.contains("No space left on device"), "\(r.stderr)")
        #expect(((try? Files.list(full)) ?? []).isEmpty, "partial files left: \((try? Files.list(full)) ?? [])")
    }
}
