import Foundation
import Testing
@testable import Engine

@Suite("Container lifecycle", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct LifecycleTests {
    @Test("box run exits with the command's code; 127 not found, 126 not executable")
    func exitCodes() throws {
        let box = try Sandbox()
        #expect(try box.run("run", "--rm", "busybox", "sh", "-c", "exit 3").status == 3)
        // 64 is ArgumentParser's "validation failure": a command's own 64 is still the command's.
        let code64 = try box.run("run", "--rm", "busybox", "sh", "-c", "exit 64")
        #expect(code64.status == 64 && code64.stderr.isEmpty, "\(code64.status) \(code64.stderr)")
        let missing = try box.run("run", "--rm", "busybox", "no-such-command")
        #expect(missing.status == 127)
        #expect(missing.stderr.contains("executable file not found in $PATH"), "\(missing.stderr)")
        let notExec = try box.run("run", "--rm", "busybox", "/etc/passwd")
        #expect(notExec.status == 126, "\(notExec.stderr)")
        #expect(notExec.stderr.contains("Permission denied"))
        // A script without #! cannot be exec'd (execve runs no shell): 126, and what to do about it.
        let id = try box.run("create", "busybox", "/script").out
        let layer = box.engineRoot.overlay + "/" + id + "/diff"
        FileManager.default.createFile(atPath: layer + "/script", contents: Data("echo hi\n".utf8), attributes: [.posixPermissions: 0o755])
        let noShebang = try box.run("start", "-a", id)
        #expect(noShebang.status == 126, "\(noShebang.stderr)")
        #expect(noShebang.stderr.contains("exec format error (a script needs a #! line"), "\(noShebang.stderr)")
        // The same script found through PATH: found, so 126 and the same advice, not "not found" (127).
        let onPath = try box.run("create", "busybox", "script").out
        try FileManager.default.createDirectory(atPath: box.engineRoot.overlay + "/" + onPath + "/diff/usr/local/bin",
                                                withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: box.engineRoot.overlay + "/" + onPath + "/diff/usr/local/bin/script",
                                       contents: Data("echo hi\n".utf8), attributes: [.posixPermissions: 0o755])
        let viaPath = try box.run("start", "-a", onPath)
        #expect(viaPath.status == 126 && viaPath.stderr.contains("exec /usr/local/bin/script: exec format error"), "\(viaPath.stderr)")
    }

    @Test("PID 1 ignores even SIGKILL sent from inside its own namespace")
    func pid1IsProtected() throws {
        let box = try Sandbox()
        let r = try box.run("run", "--rm", "busybox", "sh", "-c", "kill -9 $$; kill -TERM 1; echo survived")
        #expect(r.out == "survived")
        #expect(r.status == 0)
    }

    @Test("run --rm leaves no container, mount or writable layer behind; a crash's half-removed files go with the next removal")
    func autoRemove() throws {
        let box = try Sandbox()
        // What a monitor killed between taking a container out of the store and deleting its files leaves.
        let first = try box.run("run", "-d", "busybox", "true").out  // makes the engine root
        try box.run("wait", first)  // its die and disconnect come before what is checked below
        let crashed = box.engineRoot.trash + "/layer-" + String(repeating: "e", count: 64)
        try FileManager.default.createDirectory(atPath: crashed + "/diff/etc", withIntermediateDirectories: true)
        let r = try box.run("run", "--rm", "busybox", "sh", "-c", "echo hi > /tmp/x; echo done")
        #expect(r.out == "done")
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.engineRoot.containers) == [first])
        let layers = try FileManager.default.contentsOfDirectory(atPath: box.engineRoot.overlay)
        #expect(layers.count == 2, "only the busybox layer and the first container's should remain: \(layers)")
        #expect(box.mountsUnderRoot.isEmpty)
        // The files are deleted by the monitor after it has told run the exit code.
        #expect(Sandbox.eventually(5) { ((try? FileManager.default.contentsOfDirectory(atPath: box.engineRoot.trash)) ?? ["?"]).isEmpty },
                "left in trash: \((try? FileManager.default.contentsOfDirectory(atPath: box.engineRoot.trash)) ?? [])")
        #expect(box.events.filter { $0.type == "container" }.map(\.action).suffix(4) == ["create", "start", "die", "destroy"])
        #expect(box.events.filter { $0.type == "network" }.map(\.action) == ["create", "connect", "disconnect", "connect", "disconnect"])
        // An engine root from before trash/ existed: rm still removes (it once reported success and kept it).
        #expect(rmdir(box.engineRoot.trash) == 0)
        #expect(try box.run("rm", first).status == 0)
        #expect(try box.run("ps", "-aq").out.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.engineRoot.overlay).count == 1)
    }

    @Test("a removed container's directories are kept as spares and reused, never with its files; a spare holding anything else is not used; at most four of each")
    func spares() throws {
        let box = try Sandbox()
        let spare = box.engineRoot.spare
        func spares(_ prefix: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: spare)) ?? []).filter { $0.hasPrefix(prefix) }.sorted()
        }
        // The first container changes two of its bind-mounted /etc files (their owner and mode, not only their text).
        let first = try box.run("run", "--rm", "busybox", "sh", "-c",
                                "echo secret > /tmp/x; chmod 4666 /etc/hosts; chown 1000 /etc/hostname; echo hi")
        #expect(first.out == "hi", "\(first.stderr)")
        // The monitor keeps them after it has answered: the layer emptied, the directory with its records and
        // the one /etc file left as it was made.
        #expect(Sandbox.eventually(5) { spares("c-").count == 1 && spares("l-").count == 1 }, "\(spares(""))")
        let keptLayer = try #require(spares("l-").first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: spare + "/" + keptLayer) == ["merged"])
        let kept = try FileManager.default.contentsOfDirectory(atPath: spare + "/" + (spares("c-").first ?? "")).sorted()
        #expect(kept == ["config.v2.json", "resolv.conf", "state.json", "state.json.monitor"], "\(kept)")
        // The next container starts on them (both are gone from spare/ while it runs) and sees nothing of the first.
        let id = try box.detached("--name", "second", "busybox", "sleep", "600")
        #expect(spares("").isEmpty, "\(spares(""))")
        #expect(try box.run("exec", "second", "stat", "-c", "%a %u", "/etc/hosts", "/etc/hostname").out == "644 0\n644 0")
        #expect(try box.run("exec", "second", "ls", "/tmp").out.isEmpty)
        #expect(try box.run("exec", "second", "cat", "/etc/hostname").out == String(id.prefix(12)))
        #expect(try box.inspect("second", "{{.Name}}") == "/second")
        try box.run("rm", "-f", "second")  // box rm keeps them too
        #expect(spares("c-").count == 1 && spares("l-").count == 1)

        // A spare layer with anything in it besides an empty merged/, or a spare container directory with a file
        // it should not have (planted here; a bug or a crash could leave them): the layer is deleted, not used,
        // and the stray file goes before the directory is used.
        let layer = spare + "/" + spares("l-")[0]
        try FileManager.default.createDirectory(atPath: layer + "/diff/etc", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: layer + "/diff/etc/planted", contents: Data("x".utf8))
        let container = spare + "/" + spares("c-")[0]
        FileManager.default.createFile(atPath: container + "/planted.log", contents: Data("x".utf8))
        let third = try box.detached("busybox", "sleep", "600")
        #expect(!FileManager.default.fileExists(atPath: layer), "a spare layer with files was kept")
        #expect(try box.run("exec", third, "ls", "/etc/planted").status != 0)
        #expect(!FileManager.default.fileExists(atPath: box.engineRoot.containerDir(third) + "/planted.log"))
        try box.run("rm", "-f", third)

        // Six removed at once: four of each are kept, the rest deleted.
        let many = try (0..<6).map { _ in try box.detached("busybox", "sleep", "600") }
        try box.run(["rm", "-f"] + many)
        #expect(spares("c-").count == Spares.limit && spares("l-").count == Spares.limit, "\(spares(""))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.engineRoot.trash).isEmpty)

        // containers/ on a mount of its own: no spare can be renamed into it, so the directory is written there.
        let containers = box.engineRoot.containers
        #expect(mount(containers, containers, nil, UInt(MS_BIND), nil) == 0)
        defer { umount2(containers, 0) }
        let apart = try box.run("run", "--rm", "--name", "apart", "busybox", "cat", "/etc/hostname")
        #expect(apart.status == 0 && apart.out.count == 12, "\(apart.stdout)\(apart.stderr)")
    }

    @Test("a --rm container's overlay is volatile (no syncfs to wait for), a kept one's is not; a crash's volatile leftover does not stop a start")
    func volatileOverlay() throws {
        let box = try Sandbox()
        /// The super options of the overlay mounted at a container's merged dir.
        func overlayOptions(_ id: String) -> String {
            let merged = box.engineRoot.overlay + "/" + id + "/merged"
            let line = (Files.readIfPresent("/proc/self/mountinfo") ?? "").split(separator: "\n").first { $0.split(separator: " ")[4] == merged }
            return line.map { String($0.split(separator: " - ").last ?? "") } ?? "not mounted"
        }
        let gone = try box.detached("--rm", "busybox", "sleep", "600")
        let kept = try box.detached("busybox", "sleep", "600")
        #expect(overlayOptions(gone).contains("volatile"), "\(overlayOptions(gone))")
        #expect(overlayOptions(kept).contains("upperdir") && !overlayOptions(kept).contains("volatile"), "\(overlayOptions(kept))")
        try box.run("rm", "-f", gone, kept)
        // What a crash during a volatile mount leaves in the work dir makes overlayfs refuse it; box clears it.
        let id = try box.run("create", "--rm", "busybox", "echo", "started").out
        try FileManager.default.createDirectory(atPath: box.engineRoot.overlay + "/" + id + "/work/work/incompat/volatile",
                                                withIntermediateDirectories: true)
        let r = try box.run("start", "-a", id)
        #expect(r.out == "started", "\(r.stderr)")
    }

    @Test("stdout and stderr stay apart, reach the caller and the log")
    func output() throws {
        let box = try Sandbox()
        let r = try box.run("run", "--name", "c1", "busybox", "sh", "-c", "echo to-out; echo to-err >&2")
        #expect(r.stdout == "to-out\n")
        #expect(r.stderr == "to-err\n")
        let logs = try box.run("logs", "c1")
        #expect(logs.stdout == "to-out\n" && logs.stderr == "to-err\n")
        let tail = try box.run("logs", "--tail", "1", "c1")
        #expect(tail.stdout.isEmpty && tail.stderr == "to-err\n")
        let stamped = try box.run("logs", "-t", "c1")
        #expect(stamped.stdout.hasPrefix("20") && stamped.stdout.contains("Z to-out"))
    }

    @Test("logs -f follows until the container stops, and misses nothing, from before the first line on")
    func followLogs() throws {
        let box = try Sandbox()
        // Quiet until told: `logs -f` starts while the log file does not exist yet (it is made at the first
        // output), and the container is told to go on only after the test has seen the file missing.
        _ = try box.detached("--name", "c1", "busybox", "sh", "-c",
                             "until [ -e /go ]; do sleep 0.05; done; for i in 1 2 3 4 5; do echo line$i; sleep 0.1; done")
        let log = try box.inspect("c1", "{{.LogPath}}")
        let script = #"""
            "$0" logs -f c1 & sleep 0.5
            [ -e "$1" ] && echo "the log file was there before the first output" >&2
            "$0" exec c1 touch /go; wait
            """#
        let r = try Sandbox.exec(["/bin/sh", "-c", script, box.box, log], environment: ["BOX_ROOT": box.root])
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        #expect(r.stdout == "line1\nline2\nline3\nline4\nline5\n")
    }

    @Test("the log has one record per line, as docker's json-file: ten lines written at once are ten, --tail 2 gives two, a long line is cut in 16 KiB records, a last line without a newline is kept")
    func logRecordsAreLines() throws {
        let box = try Sandbox()
        // stderr first, and a pause: the order of two streams' records is the order the engine reads them in,
        // which neither box nor docker promises for writes this close.
        // A line of 40,000 bytes is three records (16 KiB, 16 KiB, the rest), as docker's copier cuts it.
        let script = "printf 'e1\\ne2\\n' >&2; sleep 0.3; head -c 40000 /dev/zero | tr '\\0' y; echo; printf 'l1\\nl2\\nl3\\nl4\\nl5\\nl6\\nl7\\nl8\\nl9\\nl10\\n'; printf 'no-newline'"
        #expect(try box.run("run", "--name", "c1", "busybox", "sh", "-c", script).status == 0)
        let tail = try box.run("logs", "--tail", "2", "c1")
        let records = (Files.readIfPresent(try box.inspect("c1", "{{.LogPath}}")) ?? "").split(separator: "\n")
        #expect(records.count == 16, "\(records.count) records")
        // The same command line under a real dockerd (Debian's docker.io), where it runs.
        guard let dockerd = Dockerd(purpose: "logs") else {
            #expect(tail.stdout == "l10\nno-newline" && tail.stderr.isEmpty, "\(tail.stdout) | \(tail.stderr)")
            return
        }
        defer { dockerd.stop() }
        let tar = box.root + "-busybox.tar"
        box.scratchDirs.append(tar)
        #expect(try box.run("save", "-o", tar, "busybox").status == 0)
        #expect(try dockerd.docker(["load", "-i", tar]).status == 0)
        #expect(try dockerd.docker(["run", "--name", "c1", "busybox", "sh", "-c", script]).status == 0)
        let theirs = try dockerd.docker(["logs", "--tail", "2", "c1"])
        #expect(tail.stdout == theirs.stdout && tail.stderr == theirs.stderr,
                "box: \(tail.stdout) | \(tail.stderr); docker: \(theirs.stdout) | \(theirs.stderr)")
        let path = try dockerd.docker(["inspect", "--format", "{{.LogPath}}", "c1"]).out
        #expect((Files.readIfPresent(path) ?? "").split(separator: "\n").count == records.count)
    }

    @Test("a container that prints nothing has no log file, and empty logs")
    func silentLogs() throws {
        let box = try Sandbox()
        #expect(try box.run("run", "--name", "quiet", "busybox", "true").status == 0)
        let id = try box.run("inspect", "--format", "{{.Id}}", "quiet").out
        let path = try box.run("inspect", "--format", "{{.LogPath}}", "quiet").out
        #expect(path.hasSuffix("/\(id)-json.log"))
        #expect(!FileManager.default.fileExists(atPath: path))
        let logs = try box.run("logs", "quiet")
        #expect(logs.status == 0 && logs.stdout.isEmpty && logs.stderr.isEmpty)
        let followed = try box.run("logs", "-f", "quiet")
        #expect(followed.status == 0 && followed.stdout.isEmpty)
        #expect(try box.run("start", "-a", "quiet").status == 0)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("stdin reaches the container with -i, and its end closes the container's stdin")
    func stdin() throws {
        let box = try Sandbox()
        let r = try box.run(["run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z; echo end"], input: "hello\n")
        #expect(r.stdout == "HELLO\nend\n")
    }

    @Test("stop: PID 1 without a SIGTERM handler is killed after the grace period")
    func stopNeedsKill() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sleep", "1000")
        let r = try box.run("stop", "-t", "1", "c1")
        #expect(r.status == 0)
        #expect(r.stderr.contains("sent SIGKILL"))
        #expect(try box.inspect("c1", "{{.State.ExitCode}}") == "137")
        let actions = box.events.filter { $0.action == "kill" }.map { $0.attributes["signal"] }
        #expect(actions == ["15", "9"])
    }

    @Test("stop: PID 1 with a SIGTERM handler exits on SIGTERM")
    func stopGraceful() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done")
        let r = try box.run("stop", "-t", "30", "c1")
        #expect(r.status == 0 && !r.stderr.contains("SIGKILL"))
        #expect(try box.inspect("c1", "{{.State.ExitCode}}") == "0")
        #expect(box.events.filter { $0.action == "kill" }.count == 1)
    }

    @Test("--init: PID 1 forwards SIGTERM, so stop ends a handler-less command at once")
    func initForwardsSignals() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "--init", "busybox", "sleep", "1000")
        let ps = try box.run("exec", "c1", "ps", "-o", "pid,comm")
        #expect(ps.stdout.contains("1 box-init") && ps.stdout.contains("2 sleep"), "\(ps.stdout)")
        let r = try box.run("stop", "-t", "30", "c1")
        #expect(r.status == 0 && !r.stderr.contains("SIGKILL"))
        #expect(try box.inspect("c1", "{{.State.ExitCode}}") == "143")  // 128 + SIGTERM, passed on by init
    }

    @Test("orphans become zombies under a PID 1 that never waits, and are reaped under --init", arguments: [false, true])
    func zombies(withInit: Bool) throws {
        let box = try Sandbox()
        // The subshell exits at once, so its `sleep 0.1` is reparented to PID 1 and dies soon after.
        _ = try box.run(["run", "-d", "--name", "c1"] + (withInit ? ["--init"] : []) +
                        ["busybox", "sh", "-c", "(sleep 0.1 &); exec sleep 1000"])
        let ns = HostProcess.namespace(try box.pid("c1"), .pid)
        usleep(600_000)
        let zombies = HostProcess.all().filter { HostProcess.namespace($0, .pid) == ns && HostProcess.state($0) == "Z" }
        #expect(zombies.isEmpty == withInit, "zombies in the container: \(zombies.count)")
    }

    @Test("kill sends the named signal without waiting; wait prints the exit code")
    func killAndWait() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sh", "-c", "trap 'exit 42' USR1; while true; do sleep 0.1; done")
        #expect(try box.run("kill", "-s", "USR1", "c1").out == "c1")
        #expect(try box.run("wait", "c1").out == "42")
        let again = try box.run("kill", "c1")
        #expect(again.status == 1 && again.stderr.contains("is not running"))
    }

    @Test("exec runs in the container, propagates the exit code, and is journalled")
    func exec() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "-e", "FROM_RUN=yes", "busybox", "sleep", "1000")
        let r = try box.run("exec", "-e", "EXTRA=1", "-w", "/tmp", "c1", "sh", "-c", "echo $FROM_RUN $EXTRA $(pwd) $(hostname); exit 5")
        #expect(r.status == 5)
        #expect(r.out == "yes 1 /tmp " + String(try box.inspect("c1", "{{.Id}}").prefix(12)))
        let die = box.events.last { $0.action == "exec_die" }
        #expect(die?.attributes["exitCode"] == "5")
        #expect(die?.attributes["command"]?.hasPrefix("sh -c echo") == true)
        #expect(try box.run("exec", "c1", "nope").status == 127)
        // A user added inside the running container is known to exec -u.
        #expect(try box.run("exec", "c1", "sh", "-c", "echo bob:x:1234:1234::/home:/bin/sh >> /etc/passwd").status == 0)
        #expect(try box.run("exec", "-u", "bob", "c1", "id", "-u").out == "1234")
        // Supplementary groups (the kernel's list, not id's, which always adds the primary group): the user's
        // own group and those that list it.
        #expect(try box.run("exec", "c1", "sh", "-c", "echo staff:x:50:bob >> /etc/group").status == 0)
        #expect(try box.run("exec", "-u", "bob", "c1", "grep", "^Groups:", "/proc/self/status").out == "Groups:\t50 1234")  // the kernel sorts them
        #expect(try box.run("exec", "c1", "grep", "^Groups:", "/proc/self/status").out == "Groups:\t0")
        _ = try box.run("stop", "-t", "0", "c1")
        let stopped = try box.run("exec", "c1", "true")
        #expect(stopped.status == 1 && stopped.stderr.contains("is not running"))
    }

    @Test("a restarted container keeps its writable layer; a new one does not see it")
    func writableLayer() throws {
        let box = try Sandbox()
        #expect(try box.run("run", "--name", "c1", "busybox", "sh", "-c", "cat /kept 2>/dev/null; echo kept > /kept").status == 0)
        let again = try box.run("start", "-a", "c1")
        #expect(again.out == "kept")
        let other = try box.run("run", "--rm", "busybox", "cat", "/kept")
        #expect(other.status != 0)
    }

    @Test("the monitor outlives the box command that started the container")
    func monitorSurvivesClient() throws {
        let box = try Sandbox()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: box.box)
        p.arguments = ["run", "--name", "c1", "busybox", "sleep", "1000"]
        p.environment = ["BOX_ROOT": box.root]
        try p.run()
        #expect(try Sandbox.eventually { try box.run("inspect", "-f", "{{.State.Status}}", "c1").out == "running" })
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        usleep(200_000)
        #expect(try box.inspect("c1", "{{.State.Status}}") == "running")
        #expect(try box.run("ps", "-q").out.count == 12)
    }

    @Test("the monitor and the container's processes get all CPUs back after running apart to start; under taskset nothing moves")
    func cpusGivenBack() throws {
        // box moves its monitor, and the monitor PID 1, off its own CPU while they start side by side (CSpawn
        // title.c), where it may run on every online CPU; each must then have all of them again.
        func allowed(_ pid: Int32) throws -> String {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            let line = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") } ?? ""
            return line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)
        }
        let box = try Sandbox()
        let given = try allowed(getpid())
        let online = try String(contentsOfFile: "/sys/devices/system/cpu/online", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if given == online {
            let id = try box.detached("--restart", "always", "busybox", "sleep", "1000")
            let first = try box.store.load(id).state
            #expect(try allowed(first.MonitorPid) == online)
            #expect(try allowed(first.Pid) == online)
            // The restart policy: the same monitor, having taken its CPUs back, clones PID 1 again.
            kill(first.Pid, SIGKILL)
            #expect(try Sandbox.eventually { try box.inspect(id, "{{.State.Status}} {{.RestartCount}}") == "running 1" })
            let second = try box.store.load(id).state
            #expect(second.MonitorPid == first.MonitorPid && second.Pid != first.Pid)
            #expect(try allowed(second.Pid) == online)
            try box.run("rm", "-f", id)
        }  // else this test process is held to fewer CPUs itself: box moves nothing (checked below)
        // Held to one CPU (taskset), box moves nothing and its container stays there, as a child of box always did.
        let cpu = String(given.prefix { $0.isNumber })
        let pinned = try Sandbox.exec(["/usr/bin/taskset", "-c", cpu, box.box, "run", "-d", "busybox", "sleep", "1000"],
                                      environment: ["BOX_ROOT": box.root])
        #expect(pinned.status == 0, "\(pinned.stderr)")
        guard pinned.status == 0 else { return }
        let state = try box.store.load(pinned.out).state
        #expect(try allowed(state.Pid) == cpu)
        #expect(try allowed(state.MonitorPid) == cpu)
        try box.run("rm", "-f", pinned.out)
    }

    @Test("a container whose monitor and PID 1 were killed is reconciled to exited, and removable")
    func reconcile() throws {
        let box = try Sandbox()
        let id = try box.detached("--name", "c1", "busybox", "sleep", "1000")
        let state = try box.store.load(id).state
        kill(state.MonitorPid, SIGKILL)
        kill(state.Pid, SIGKILL)
        #expect(Sandbox.eventually { !HostProcess.isAlive(state.Pid, startTime: state.PidStartTime) })
        usleep(100_000)
        #expect(try box.run("ps", "-a").stdout.contains("Exited (255)"))
        #expect(try box.run("rm", "c1").status == 0)
        #expect(box.mountsUnderRoot.isEmpty)
    }

    @Test("--restart on-failure:3 runs PID 1 four times, then leaves it exited")
    func restartOnFailure() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "r1", "--restart", "on-failure:3", "busybox", "sh", "-c", "echo run; exit 1")
        #expect(try box.run("wait", "r1").out == "1")
        #expect(try box.inspect("r1", "{{.State.Status}} {{.RestartCount}} {{.HostConfig.RestartPolicy.Name}}") == "exited 3 on-failure")
        #expect(try box.run("logs", "r1").stdout == "run\nrun\nrun\nrun\n")
        #expect(box.events.filter { $0.action == "start" }.count == 4)
        #expect(box.mountsUnderRoot.isEmpty)
    }

    @Test("--restart always restarts until box stop, which it then obeys")
    func restartAlways() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "r2", "--restart", "always", "busybox", "sleep", "0.2")
        #expect(try Sandbox.eventually { (Int(try box.inspect("r2", "{{.RestartCount}}")) ?? 0) >= 2 })
        #expect(try box.run("stop", "-t", "1", "r2").status == 0)
        let count = try box.inspect("r2", "{{.RestartCount}}")
        usleep(1_000_000)
        #expect(try box.inspect("r2", "{{.State.Status}} {{.RestartCount}}") == "exited " + count)
        let conflict = try box.run("run", "--rm", "--restart", "always", "busybox", "true")
        #expect(conflict.status == 125 && conflict.stderr.contains("conflicting options"))
        #expect(try box.run("run", "--restart", "sometimes", "busybox", "true").status == 125)
    }

    @Test("the monitor holds PID 1's mount namespace, its current PID 1's only, across a restart")
    func mountNamespaceHeld() throws {
        // Held, PID 1's exit does not free the namespace itself (an RCU grace period before the monitor hears of
        // it); the monitor lets it go once that end is dealt with (Monitor.mountNamespace).
        func held(by monitor: Int32) -> [String] {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(monitor)/fd")) ?? []
            return fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(monitor)/fd/\($0)") }
                .filter { $0.hasPrefix("mnt:") }
        }
        func namespace(of pid: Int32) throws -> String { try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/mnt") }
        let box = try Sandbox()
        let id = try box.detached("--restart", "always", "busybox", "sleep", "1000")
        let first = try box.store.load(id).state
        #expect(held(by: first.MonitorPid) == [try namespace(of: first.Pid)])
        kill(first.Pid, SIGKILL)
        #expect(try Sandbox.eventually { try box.inspect(id, "{{.State.Status}} {{.RestartCount}}") == "running 1" })
        let second = try box.store.load(id).state
        #expect(second.Pid != first.Pid)
        #expect(held(by: second.MonitorPid) == [try namespace(of: second.Pid)])
        try box.run("rm", "-f", id)
        #expect(box.mountsUnderRoot.isEmpty)
    }

    @Test("system prune removes stopped containers and what a killed monitor left: mount, cgroup, layer")
    func prune() throws {
        let box = try Sandbox()
        try box.run("run", "--name", "done", "busybox", "true")
        let id = try box.detached("--name", "crashed", "busybox", "sleep", "1000")
        _ = try box.detached("--name", "alive", "busybox", "sleep", "1000")
        let state = try box.store.load(id).state
        kill(state.MonitorPid, SIGKILL)
        kill(state.Pid, SIGKILL)
        #expect(Sandbox.eventually { !HostProcess.isAlive(state.Pid, startTime: state.PidStartTime) })
        let orphan = box.engineRoot.overlay + "/" + String(repeating: "ab", count: 32)
        try FileManager.default.createDirectory(atPath: orphan + "/merged", withIntermediateDirectories: true)
        let r = try box.run("system", "prune", "-f")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try box.run("ps", "-aq").out == String(try box.inspect("alive", "{{.Id}}").prefix(12)))
        #expect(!FileManager.default.fileExists(atPath: orphan))
        #expect(!FileManager.default.fileExists(atPath: box.engineRoot.overlay + "/" + id))
        let cgroupLeft = ["/sys/fs/cgroup/box/\(id)", "/sys/fs/cgroup/pids/box/\(id)", "/sys/fs/cgroup/memory/box/\(id)"]
            .filter { FileManager.default.fileExists(atPath: $0) }
        #expect(cgroupLeft.isEmpty, "\(cgroupLeft)")
        #expect(try box.run("system", "prune").status == 1)  // no terminal and no -f: refuses
    }

    @Test("box run whose files cannot be written fails and leaves nothing: the monitor it forked first undoes its cgroups")
    func createFailsAfterMonitorFork() throws {
        let box = try Sandbox()
        #expect(try box.run("run", "--rm", "busybox", "true").status == 0)  // the image, the store's directories
        // The store's containers/ read-only: the name check reads it, the new container's directory cannot be
        // made, after box run has forked the container's monitor (which makes cgroups and a network namespace).
        let containers = box.engineRoot.containers
        #expect(mount(containers, containers, nil, UInt(MS_BIND), nil) == 0)
        defer { umount2(containers, 0) }
        #expect(mount(nil, containers, nil, UInt(MS_REMOUNT | MS_BIND | MS_RDONLY), nil) == 0)
        let r = try box.run("run", "--name", "nope", "busybox", "true")
        #expect(r.status == 125 && r.stderr.contains("Read-only file system"), "\(r.status) \(r.stderr)")
        // The would-be container's id, from the path box could not make.
        let id = r.stderr.split(separator: "/").last.map { String($0.prefix(64)) } ?? ""
        #expect(id.count == 64, "\(r.stderr)")
        // Its monitor (box is single-threaded, so it forks one inside create) ends; only then are the cgroups
        // checked (before, they might not have been made yet).
        func monitorAlive() -> Bool {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).contains { pid in
                guard Int32(pid) != nil, let cmdline = Files.readIfPresent("/proc/\(pid)/cmdline") else { return false }
                return cmdline.contains("box-monitor \(id.prefix(12))")
            }
        }
        #expect(Sandbox.eventually { !monitorAlive() })
        let cgroups = ["/sys/fs/cgroup/box/\(id)", "/sys/fs/cgroup/pids/box/\(id)", "/sys/fs/cgroup/memory/box/\(id)",
                       "/sys/fs/cgroup/unified/box/\(id)"]
        #expect(cgroups.allSatisfy { !FileManager.default.fileExists(atPath: $0) }, "\(cgroups)")
        #expect(!FileManager.default.fileExists(atPath: box.engineRoot.overlay + "/" + id))
        #expect(!box.events.contains { $0.id == id })
        umount2(containers, 0)
        #expect(try box.run("run", "--rm", "--name", "nope", "busybox", "true").status == 0)  // the name was never taken
    }

    @Test("system prune leaves a created container whose monitor is alive (box run is starting it)")
    func pruneSparesStarting() throws {
        let box = try Sandbox()
        let id = try box.run("create", "--name", "starting", "busybox", "true").out
        var state = try box.store.load(id).state
        state.MonitorPid = getpid()  // a live process stands for the monitor
        state.MonitorStartTime = HostProcess.startTime(getpid()) ?? 0
        try box.store.saveState(id, state)
        #expect(try box.run("system", "prune", "-f").status == 0)
        #expect(try box.run("ps", "-aq").out == String(id.prefix(12)))
        state.MonitorPid = 0
        try box.store.saveState(id, state)
        #expect(try box.run("system", "prune", "-f").status == 0)
        #expect(try box.run("ps", "-aq").out.isEmpty)
    }

    @Test("a start whose monitor died after box run mounted its overlay leaves no mount once the container is read; cp waits for a start")
    func deadStartLeavesNoMount() throws {
        let box = try Sandbox()
        let id = try box.run("create", "--name", "half", "busybox", "true").out
        let c = try box.store.load(id)
        let layer = box.store.layerPath(id), merged = layer + "/merged"
        try Rootfs.mountOverlay(layers: c.spec.LayerDirs, containerLayer: layer)  // what box run does for its monitor
        defer { Rootfs.unmount(merged) }
        var state = c.state
        state.MonitorPid = getpid()  // a live process stands for the monitor: the start is under way
        state.MonitorStartTime = HostProcess.startTime(getpid()) ?? 0
        try box.store.saveState(id, state)
        let cp = try box.run("cp", "half:/etc/passwd", box.root + "/passwd")
        #expect(cp.status != 0 && cp.stderr.contains("starting"), "\(cp.status) \(cp.stderr)")
        #expect(Rootfs.isMounted(merged), "a read of a starting container unmounted its overlay")
        state.MonitorStartTime += 1  // the monitor is gone (its pid, if reused, is another process)
        try box.store.saveState(id, state)
        #expect(try box.run("ps", "-a").status == 0)
        #expect(!Rootfs.isMounted(merged), "the dead start's overlay is still mounted")
        #expect(try box.run("rm", "half").status == 0)
    }

    @Test("rm refuses a running container without -f, and -f removes it")
    func remove() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sleep", "1000")
        let refused = try box.run("rm", "c1")
        #expect(refused.status == 1 && refused.stderr.contains("You cannot remove a running container"))
        #expect(try box.run("rm", "-f", "c1").status == 0)
        #expect(try box.run("ps", "-aq").out.isEmpty)
        #expect(box.mountsUnderRoot.isEmpty)
        #expect(box.events.last?.action == "destroy")
    }

    @Test("ps shows docker's columns and states")
    func ps() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "up", "busybox", "sleep", "1000")
        try box.run("run", "--name", "done", "busybox", "sh", "-c", "exit 2")
        try box.run("create", "--name", "new", "busybox")
        let running = try box.run("ps")
        #expect(running.stdout.hasPrefix("CONTAINER ID   IMAGE     COMMAND"))
        #expect(running.stdout.contains("Up ") && running.stdout.contains(" up\n") && !running.stdout.contains("done"))
        let all = try box.run("ps", "-a").stdout
        #expect(all.contains("Exited (2)") && all.contains("Created"))
        #expect(try box.run("ps", "-l", "-q").out == String(try box.inspect("new", "{{.Id}}").prefix(12)))
    }
}
