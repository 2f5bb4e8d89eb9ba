import Foundation
import Testing
@testable import Engine

/// docker's flags on the verbs beyond run and create, each checked against what it changes: the kernel's state
/// (owners, capabilities, signals, cgroup-held processes), the store, or the output docker's flag gives.
@Suite("Verb flags: docker's flags of logs, cp, exec, stop, commit, update, events, stats, network...",
       .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct VerbFlagsTests {
    func refused(_ r: Sandbox.Result, _ flag: String, says reason: String) {
        #expect(r.status == 125, "\(flag) was not refused: \(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains("\(flag): \(reason)"), "the refusal of \(flag) does not give its reason: \(r.stderr)")
        #expect(!r.stderr.contains("Unknown option"), "\(r.stderr)")
    }

    @Test("a refused flag is an error giving its reason, exit 125, and changes nothing")
    func refusedFlags() throws {
        let box = try Sandbox()
        try box.run("create", "--name", "c1", "busybox", "true")
        refused(try box.run("start", "--checkpoint", "cp1", "c1"), "--checkpoint", says: "box keeps no checkpoints")
        #expect(try box.inspect("c1", "{{.State.Status}}") == "created")
        refused(try box.run("update", "--blkio-weight", "300", "c1"), "--blkio-weight", says: "box writes no block-IO weights")
        refused(try box.run("exec", "--detach-keys", "ctrl-a", "c1", "true"), "--detach-keys", says: "box exec -t has no detach")
        refused(try box.run("network", "create", "--ipv6", "n6"), "--ipv6", says: "box's networks are IPv4 only")
        #expect(!(try box.run("network", "ls").stdout.contains("n6")), "a refused create made the network")
        let dir = try box.scratch("ctx")
        try Data("FROM busybox\nCMD [\"true\"]\n".utf8).write(to: URL(fileURLWithPath: dir + "/Dockerfile"))
        let before = box.storeListing()
        refused(try box.run("build", "--build-arg", "A=1", "-t", "argued", dir), "--build-arg", says: "box build has no ARG")
        #expect(box.storeListing() == before)
        // The reason is also what --help shows, under REFUSED.
        let help = try box.run("start", "--help").stdout
        #expect(help.contains("REFUSED") && help.contains("box keeps no checkpoints"), "\(help)")
    }

    @Test("logs --since and --until cut by the records' times, --details adds docker's attribute column")
    func logsTimes() throws {
        let box = try Sandbox()
        try box.run("run", "--name", "c1", "busybox", "sh", "-c", "echo one; sleep 1.1; echo two; sleep 1.1; echo three")
        let stamped = try box.run("logs", "-t", "c1").stdout.split(separator: "\n").map(String.init)
        #expect(stamped.count == 3, "\(stamped)")
        guard stamped.count == 3 else { return }
        let second = String(stamped[1].prefix { $0 != " " })
        #expect(try box.run("logs", "--since", second, "c1").stdout == "two\nthree\n")
        #expect(try box.run("logs", "--until", second, "c1").stdout == "one\ntwo\n")
        #expect(try box.run("logs", "--since", second, "--until", second, "c1").stdout == "two\n")
        #expect(try box.run("logs", "--since", "1h", "c1").stdout == "one\ntwo\nthree\n")
        #expect(try box.run("logs", "--since", "4102444800", "c1").stdout == "")  // 2100-01-01
        #expect(try box.run("logs", "--details", "--tail", "1", "c1").stdout == " three\n")
        #expect(try box.run("logs", "--since", "yesterday", "c1").status == 125)
    }

    @Test("cp -a keeps owners both ways, -L copies a symlink's target, -q is accepted")
    func cpArchiveAndLinks() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sh", "-c",
                             "echo x > /f && chown 1234:4321 /f && ln -s /f /link && sleep 1000")
        #expect(Sandbox.eventually { (try? box.run("exec", "c1", "test", "-L", "/link").status) == 0 })
        let dir = try box.scratch("cp")
        var st = stat()
        #expect(try box.run("cp", "-a", "c1:/f", dir + "/kept").status == 0)
        #expect(lstat(dir + "/kept", &st) == 0 && st.st_uid == 1234 && st.st_gid == 4321)
        #expect(try box.run("cp", "-q", "c1:/f", dir + "/mine").status == 0)
        #expect(lstat(dir + "/mine", &st) == 0 && st.st_uid == getuid() && st.st_gid == getgid())
        #expect(try box.run("cp", "c1:/link", dir + "/link").status == 0)
        #expect(lstat(dir + "/link", &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK)
        #expect(try box.run("cp", "-L", "c1:/link", dir + "/followed").status == 0)
        #expect(lstat(dir + "/followed", &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG)
        #expect((try? String(contentsOfFile: dir + "/followed", encoding: .utf8)) == "x\n")

        try Data("in\n".utf8).write(to: URL(fileURLWithPath: dir + "/host"))
        #expect(chown(dir + "/host", 777, 888) == 0)
        #expect(symlink(dir + "/host", dir + "/hostlink") == 0)
        #expect(try box.run("cp", "-a", dir + "/host", "c1:/in-a").status == 0)
        #expect(try box.run("exec", "c1", "stat", "-c", "%u:%g", "/in-a").out == "777:888")
        #expect(try box.run("cp", dir + "/host", "c1:/in-plain").status == 0)
        #expect(try box.run("exec", "c1", "stat", "-c", "%u:%g", "/in-plain").out == "0:0")
        #expect(try box.run("cp", "-L", dir + "/hostlink", "c1:/").status == 0)
        #expect(try box.run("exec", "c1", "sh", "-c", "test -f /hostlink && ! test -L /hostlink && cat /hostlink").out == "in")
    }

    @Test("exec --env-file reads docker's format (-e wins), -d returns at once, --privileged has every capability")
    func execFlags() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sleep", "1000")
        let dir = try box.scratch("env")
        try Data("\u{FEFF}A=1\n# a comment\n\n  B=two words \nFROM_HOST\nUNSET_HERE\nD=x\r\n".utf8)
            .write(to: URL(fileURLWithPath: dir + "/env"))
        let env = try box.run(["exec", "--env-file", dir + "/env", "-e", "D=override", "c1", "env"],
                              environment: ["FROM_HOST": "hosted"])
        #expect(env.status == 0, "\(env.stderr)")
        let lines = env.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("A=1") && lines.contains("B=two words ") && lines.contains("FROM_HOST=hosted"), "\(lines)")
        #expect(lines.contains("D=override") && !lines.contains("D=x") && !lines.contains { $0.hasPrefix("UNSET_HERE") }, "\(lines)")
        try Data("BAD NAME=1\n".utf8).write(to: URL(fileURLWithPath: dir + "/bad"))
        let bad = try box.run("exec", "--env-file", dir + "/bad", "c1", "true")
        #expect(bad.status == 125 && bad.stderr.contains("variable 'BAD NAME' contains whitespaces"), "\(bad.stderr)")

        let start = Date()
        let detached = try box.run("exec", "-d", "c1", "sh", "-c", "sleep 1; touch /done")
        #expect(detached.status == 0 && detached.stdout.isEmpty, "\(detached.stderr)")
        #expect(Date().timeIntervalSince(start) < 1, "exec -d waited for the command")
        #expect(Sandbox.eventually { (try? box.run("exec", "c1", "test", "-e", "/done").status) == 0 })
        #expect(Sandbox.eventually { box.events.contains { $0.action == "exec_die" && $0.attributes["command"] == "sh -c sleep 1; touch /done" } })
        try box.run("create", "--name", "stopped", "busybox", "true")
        let notRunning = try box.run("exec", "-d", "stopped", "true")
        #expect(notRunning.status == 1 && notRunning.stderr.contains("is not running"), "\(notRunning.stderr)")

        let plain = try box.run("exec", "c1", "grep", "CapEff", "/proc/self/status").out
        let all = try box.run("exec", "--privileged", "c1", "grep", "CapEff", "/proc/self/status").out
        #expect(all == "CapEff:\t" + String(format: "%016llx", Capabilities.all & Capabilities.held), "\(all)")
        #expect(plain != all)
    }

    @Test("stop and restart --signal send that signal first; kill --signal as before")
    func stopSignal() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sh", "-c", "trap 'echo got-usr1; exit 7' USR1; while true; do sleep 0.1; done")
        let r = try box.run("stop", "--signal", "USR1", "-t", "10", "c1")
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        #expect(try box.inspect("c1", "{{.State.ExitCode}}") == "7")
        #expect(try box.run("logs", "c1").out == "got-usr1")
        #expect(try box.run("restart", "-s", "SIGUSR1", "c1").status == 0)
        #expect(try box.inspect("c1", "{{.State.Status}}") == "running")
        #expect(try box.run("stop", "--signal", "NOSUCH", "c1").status == 125)
        #expect(try box.inspect("c1", "{{.State.Status}}") == "running")
    }

    @Test("commit --author and -m go in the image; --pause=false commits a running container unfrozen")
    func commitFlags() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sh", "-c", "echo note > /note; sleep 1000")
        #expect(Sandbox.eventually { (try? box.run("exec", "c1", "test", "-e", "/note").status) == 0 })
        let r = try box.run("commit", "--author", "Ada <ada@example.org>", "-m", "a note", "--pause=false", "c1", "noted:1")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try box.inspect("noted:1", "{{.Author}}") == "Ada <ada@example.org>")
        #expect(try box.run("run", "--rm", "noted:1", "cat", "/note").out == "note")
        #expect(try box.inspect("noted:1", "{{range .History}}{{.created_by}}|{{end}}").contains("sleep 1000|"))
        #expect(try box.inspect("c1", "{{.State.Status}}") == "running")
    }

    @Test("update --restart changes the policy the monitor applies at PID 1's next exit")
    func updateRestart() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sh", "-c", "sleep 2; exit 3")
        let r = try box.run("update", "--restart", "on-failure:2", "c1")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try box.inspect("c1", "{{.HostConfig.RestartPolicy.Name}}") == "on-failure")
        #expect(Sandbox.eventually(20) { (try? box.inspect("c1", "{{.RestartCount}}")) == "2" })
        #expect(Sandbox.eventually(20) { (try? box.inspect("c1", "{{.State.Status}}")) == "exited" })
        try box.run("create", "--rm", "--name", "gone", "busybox", "true")
        let auto = try box.run("update", "--restart", "always", "gone")
        #expect(auto.status == 1 && auto.stderr.contains("Restart policy cannot be updated because AutoRemove is enabled"), "\(auto.stderr)")
        #expect(try box.run("update", "--restart", "sometimes", "c1").status == 125)
    }

    @Test("events --filter keeps the matching events, --format renders docker's message fields")
    func eventsFilterFormat() throws {
        let box = try Sandbox()
        try box.run("run", "--name", "c1", "busybox", "true")
        try box.run("run", "--name", "c2", "busybox", "true")
        let c1 = try box.run("events", "--since", "1h", "--until", "0s", "--filter", "container=c1",
                             "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
        #expect(c1.status == 0, "\(c1.stderr)")
        let lines = c1.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("container create c1") && lines.contains("container die c1"), "\(lines)")
        #expect(lines.allSatisfy { $0.hasSuffix(" c1") }, "\(lines)")
        let dies = try box.run("events", "--since", "1h", "--until", "0s", "-f", "event=die", "-f", "event=start",
                               "--format", "{{.Status}} {{.Actor.Attributes.name}}").stdout
        #expect(dies.split(separator: "\n").sorted() == ["die c1", "die c2", "start c1", "start c2"], "\(dies)")
        let asJSON = try box.run("events", "--since", "1h", "--until", "0s", "--filter", "container=c2", "--filter", "event=die",
                                 "--format", "json").out
        let message = try JSONValue.parse(asJSON)
        #expect(message["status"] == .string("die") && message["Actor"]?["Attributes"]?["name"] == .string("c2"), "\(asJSON)")
        #expect(try box.run("events", "--filter", "colour=blue", "--until", "0s").status == 125)
    }

    @Test("stats --format and --no-trunc, info --format and version --format")
    func formats() throws {
        let box = try Sandbox()
        let id = try box.detached("--name", "c1", "busybox", "sleep", "1000")
        let row = try box.run("stats", "--no-stream", "--format", "{{.Name}} {{.ID}} {{.Container}} {{.PIDs}}", "c1")
        #expect(row.out.hasPrefix("c1 \(id.prefix(12)) c1 ") && Int(row.out.split(separator: " ").last ?? "") ?? 0 >= 1,
                "\(row.stdout) \(row.stderr)")
        #expect(try box.run("stats", "--no-stream", "--no-trunc", "--format", "{{.ID}}", "c1").out == id)
        let table = try box.run("stats", "--no-stream", "--format", "table {{.Name}}\\t{{.Container}}", "c1").stdout
        #expect(table.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") } == ["NAME CONTAINER", "c1 c1"], "\(table)")
        let plain = try box.run("stats", "--no-stream", "--no-trunc", "c1").stdout
        #expect(plain.contains(id), "\(plain)")

        let version = String(try box.run("version").out.split(separator: " ").last ?? "")
        #expect(!version.isEmpty)
        #expect(try box.run("info", "--format", "{{.ContainersRunning}} {{.ServerVersion}}").out == "1 \(version)")
        let info = try JSONValue.parse(try box.run("info", "--format", "json").out)
        #expect(info["Containers"] == .int(1) && info["Driver"] == .string("overlay"), "\(info)")
        #expect(try box.run("version", "--format", "{{.Client.Version}} {{.Server.Version}}").out == "\(version) \(version)")
        let broken = try box.run("version", "--format", "{{.Nope")
        #expect(broken.status != 0 && broken.stderr.contains("template"), "\(broken.stderr)")
    }

    @Test("network ls --filter --format --no-trunc, rm -f, inspect -v, create's IPAM driver")
    func networkFlags() throws {
        let box = try Sandbox()
        let id = try box.run("network", "create", "--ipam-driver", "default", "--ipv4", "flagnet").out
        #expect(id.count >= 12, "\(id)")
        defer { _ = try? box.run("network", "rm", "flagnet") }
        let named = try box.run("network", "ls", "--filter", "name=flagnet", "--format", "{{.Name}} {{.Driver}} {{.ID}}").out
        #expect(named == "flagnet bridge \(id.prefix(12))", "\(named)")
        #expect(try box.run("network", "ls", "--no-trunc", "-q", "--filter", "name=flagnet").out == id)
        let builtin = try box.run("network", "ls", "--filter", "type=builtin", "--format", "{{.Name}}").stdout
        #expect(builtin.split(separator: "\n").sorted() == ["host", "none"], "\(builtin)")
        #expect(try box.run("network", "inspect", "-v", "-f", "{{.Name}}", "flagnet").out == "flagnet")
        #expect(try box.run("network", "rm", "-f", "nosuchnet").status == 0)
        #expect(try box.run("network", "rm", "nosuchnet").status != 0)
        #expect(try box.run("network", "create", "--ipam-driver", "other", "othernet").status == 125)
        #expect(try box.run("network", "ls", "--filter", "colour=blue").status == 125)
    }

    @Test("save, load and import take the host's --platform and refuse others; build --label and --iidfile")
    func platformsAndBuild() throws {
        let box = try Sandbox()
        let dir = try box.scratch("platform")
        let arch = ImageConfig.hostArchitecture
        #expect(try box.run("save", "--platform", "linux/\(arch)", "-o", dir + "/b.tar", "busybox").status == 0)
        let other = arch == "amd64" ? "arm64" : "amd64"
        let refusedSave = try box.run("save", "--platform", "linux/\(other)", "-o", dir + "/c.tar", "busybox")
        #expect(refusedSave.status == 125 && refusedSave.stderr.contains("linux/\(arch) images only"), "\(refusedSave.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/c.tar"))
        #expect(try box.run("load", "--platform", "linux/\(other)", "-i", dir + "/b.tar").status == 125)
        #expect(try box.run("load", "-q", "--platform", "linux", "-i", dir + "/b.tar").status == 0)

        try Data("FROM busybox\nCMD [\"true\"]\n".utf8).write(to: URL(fileURLWithPath: dir + "/Dockerfile"))
        let built = try box.run("build", "-q", "--rm", "--force-rm", "--label", "team=lab", "--label", "bare",
                                "--iidfile", dir + "/iid", "-t", "labelled:1", dir)
        #expect(built.status == 0, "\(built.stderr)")
        #expect((try? String(contentsOfFile: dir + "/iid", encoding: .utf8)) == built.out)
        #expect(try box.inspect("labelled:1", "{{.Config.Labels.team}}|{{.Config.Labels.bare}}") == "lab|")
    }

    @Test("pull and push refuse --all-tags and a foreign --platform before any network traffic")
    func registryFlags() throws {
        let box = try Sandbox()
        let all = try box.run("pull", "--all-tags", "127.0.0.1:1/x")
        #expect(all.status == 125 && all.stderr.contains("--all-tags: box pulls and pushes one tag at a time"), "\(all.stderr)")
        let other = ImageConfig.hostArchitecture == "amd64" ? "arm64" : "amd64"
        let platform = try box.run("push", "--platform", "linux/\(other)", "127.0.0.1:1/x")
        #expect(platform.status == 125 && platform.stderr.contains("images only"), "\(platform.stderr)")
    }

    @Test("attach and start -a take --detach-keys; a bad key is refused")
    func detachKeys() throws {
        let box = try Sandbox()
        _ = try box.detached("-it", "--name", "t1", "busybox", "sh")
        let command = [box.box, "attach", "--detach-keys", "ctrl-a,x", "t1"].map { "'\($0)'" }.joined(separator: " ")
        let r = try Sandbox.exec(["/usr/bin/timeout", "60", "/usr/bin/script", "-q", "-e", "-c", command, "/dev/null"],
                                 typing: [(seconds: 1.0, text: "\u{10}\u{11}echo still-here\n"), (seconds: 1.0, text: "\u{01}x")],
                                 environment: ["BOX_ROOT": box.root])
        #expect(r.status == 0 && r.stdout.contains("read escape sequence"), "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("still-here"), "Ctrl-P Ctrl-Q should have gone to the shell: \(r.stdout)")
        #expect(try box.inspect("t1", "{{.State.Status}}") == "running")
        let bad = try box.run("attach", "--detach-keys", "ctrl-1", "t1")
        #expect(bad.status == 125 && bad.stderr.contains("Invalid detach keys"), "\(bad.stderr)")
        #expect(try DetachKeys.parse("ctrl-p,ctrl-q") == [0x10, 0x11])
        #expect(try DetachKeys.parse("a,ctrl-@,ctrl-[,ctrl-_") == [0x61, 0, 27, 31])
    }

    @Test("the same command lines against a real dockerd: logs --details/--since, exec --env-file, exec -d, events")
    func againstDocker() throws {
        let box = try Sandbox()
        guard let dockerd = Dockerd(purpose: "verbflags") else {
            print("skipped the docker comparison: docker.io is not installed here")
            return
        }
        defer { dockerd.stop() }
        let dir = try box.scratch("docker")
        #expect(try box.run("save", "-o", dir + "/busybox.tar", "busybox").status == 0)
        #expect(try dockerd.docker(["load", "-i", dir + "/busybox.tar"]).status == 0)
        try Data("A=1\n# c\n  B=two words \nFROM_HOST\nD=x\r\n".utf8).write(to: URL(fileURLWithPath: dir + "/env"))

        // Each engine runs the same lines; what they print must be the same.
        func both(_ args: [String]) throws -> (Sandbox.Result, Sandbox.Result) {
            (try box.run(args, environment: ["FROM_HOST": "hosted"]),
             try Sandbox.exec(["/usr/bin/docker", "-H", dockerd.socket] + args, environment: ["FROM_HOST": "hosted"]))
        }
        // No signal but SIGKILL here: dockerd inherits the test runner's blocked signals, and so would its
        // containers' PID 1 (box's main.swift unblocks them; dockerd does not).
        let script = "echo one; while true; do sleep 0.1; done"
        for args in [["run", "-d", "--network", "none", "--name", "c1", "busybox", "sh", "-c", script]] {
            let (ours, theirs) = try both(args)
            #expect(ours.status == 0 && theirs.status == 0, "\(ours.stderr) | \(theirs.stderr)")
        }
        #expect(Sandbox.eventually { (try? box.run("logs", "c1").out) == "one" && (try? dockerd.docker(["logs", "c1"]).out) == "one" })
        for args in [["exec", "--env-file", dir + "/env", "-e", "D=override", "c1", "sh", "-c", "echo \"$A|$B|$FROM_HOST|$D\""],
                     ["exec", "-d", "c1", "true"],
                     ["logs", "--details", "c1"],
                     ["logs", "--since", "1h", "c1"],
                     ["stop", "-t", "1", "c1"]] {
            let (ours, theirs) = try both(args)
            #expect(ours.status == theirs.status && ours.stdout == theirs.stdout,
                    "\(args): box \(ours.status) \(ours.stdout) \(ours.stderr) | docker \(theirs.status) \(theirs.stdout) \(theirs.stderr)")
        }
        #expect(Sandbox.eventually { (try? box.inspect("c1", "{{.State.Status}}")) == "exited" })
        #expect(Sandbox.eventually { (try? dockerd.docker(["inspect", "--format", "{{.State.Status}}", "c1"]).out) == "exited" })
        // docker turns a relative --until into whole seconds (0s would miss this second's events): a time to come.
        let soon = String(Int(Date().timeIntervalSince1970) + 2)
        for args in [["inspect", "--format", "{{.State.ExitCode}}", "c1"],
                     ["logs", "--tail", "1", "--details", "c1"],
                     ["events", "--since", "1h", "--until", soon, "--filter", "container=c1", "--filter", "event=die",
                      "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}"]] {
            let (ours, theirs) = try both(args)
            #expect(ours.status == theirs.status && ours.stdout == theirs.stdout,
                    "\(args): box \(ours.status) \(ours.stdout) \(ours.stderr) | docker \(theirs.status) \(theirs.stdout) \(theirs.stderr)")
        }
    }
}
