import Foundation
import Testing
import TestSupport
@testable import Engine

extension BoxdDaemon {
    /// docker ARGS (an array) against this boxd.
    func docker(_ args: [String]) throws -> Command.Result {
        try Sandbox.exec([BoxdDaemon.dockerCLI] + args, environment: environment)
    }
}

/// Follow-ups of the review of issues 21 and 23: what boxd mapped to nothing (create's fields, stop's `t` and
/// `signal`, rm's `v`, network connect, rmi -f, cp -a) and which mounts `ps` counts.
extension BoxdTests {
    /// The flags of box's run that docker's CLI sends as HostConfig/Config fields.
    static let createFlags = [
        "--read-only", "--tmpfs", "/t:size=1m", "--add-host", "db:10.0.0.5", "--sysctl", "net.ipv4.ip_forward=1",
        "--ulimit", "nofile=100:200", "--group-add", "1234", "--dns", "10.0.0.53", "--dns-search", "example.org",
        "--dns-option", "ndots:2", "--shm-size", "8m", "--oom-score-adj", "100", "--cpu-period", "100000",
        "--cpu-quota", "50000", "--memory", "64m", "--memory-reservation", "32m", "--log-driver", "json-file",
        "--stop-signal", "SIGUSR1", "--stop-timeout", "3", "--domainname", "example.org", "--expose", "7000",
        "--device", "/dev/null:/dev/mynull", "--mount", "type=volume,source=mv,target=/m", "--ipc", "private",
    ]

    @Test("create maps docker's fields box has, as box's own flags would set them, and refuses the others by name")
    func createFields() throws {
        let box = try Sandbox()
        let d = try BoxdDaemon(box)
        defer { d.stop() }
        let readOnly = try d.docker("run", "--rm", "--read-only", "busybox", "touch", "/x")
        #expect(readOnly.status != 0 && readOnly.stderr.contains("Read-only file system"), "\(readOnly.stderr) \(d.logText)")

        let script = "grep ' /t ' /proc/mounts; grep db /etc/hosts; echo fwd=$(cat /proc/sys/net/ipv4/ip_forward); "
            + "echo nofile=$(ulimit -n); echo groups=$(id -G); grep nameserver /etc/resolv.conf; grep ' /m ' /proc/mounts"
        let run = try d.docker("run", "--rm", "--tmpfs", "/t", "--add-host", "db:10.0.0.5", "--sysctl", "net.ipv4.ip_forward=1",
                               "--ulimit", "nofile=100:200", "--group-add", "1234", "--dns", "10.0.0.53",
                               "--mount", "type=tmpfs,target=/m,tmpfs-size=1m", "busybox", "sh", "-c", script)
        #expect(run.status == 0, "\(run.stderr) \(d.logText)")
        let out = run.stdout
        #expect(out.contains("tmpfs /t tmpfs"), "\(out)")
        #expect(out.contains("10.0.0.5") && out.contains("db"), "\(out)")
        #expect(out.contains("fwd=1\n") && out.contains("nofile=100\n"), "\(out)")
        #expect(out.split(separator: "\n").contains { $0.hasPrefix("groups=") && $0.split(separator: " ").contains("1234") }, "\(out)")
        #expect(out.contains("nameserver 10.0.0.53"), "\(out)")
        #expect(out.contains("tmpfs /m tmpfs") && out.contains("size=1024k"), "\(out)")

        // The same flags through boxd and through box give the same container.
        let viaBoxd = try d.docker(["create", "--name", "f"] + Self.createFlags + ["busybox", "true"])
        #expect(viaBoxd.status == 0, "\(viaBoxd.stderr)")
        #expect(try box.run(["create", "--name", "g"] + Self.createFlags + ["busybox", "true"]).status == 0)
        let format = "{{.Config.StopTimeout}} {{.Config.StopSignal}} {{.Config.Domainname}} {{json .Config.ExposedPorts}} {{json .HostConfig}}"
        let f = try box.inspect("f", format), g = try box.inspect("g", format)
        #expect(f == g)
        #expect(f.hasPrefix("3 ") && f.contains("USR1") && f.contains("example.org") && f.contains("nofile"), "\(f)")

        // What box does not have is refused by name, and nothing is created.
        let before = try box.run("ps", "-aq").out
        let parent = try d.docker("create", "--cgroup-parent", "elsewhere", "busybox", "true")
        #expect(parent.status != 0 && parent.stderr.contains("HostConfig.CgroupParent"), "\(parent.stderr)")
        let blkio = try d.curl("-X", "POST", "-H", "Content-Type: application/json", "-d",
                               #"{"Image":"busybox","HostConfig":{"BlkioWeight":300}}"#, "http://localhost/v1.41/containers/create")
        #expect(blkio.status == 400 && blkio.body.contains("HostConfig.BlkioWeight"), "\(blkio)")
        #expect(try box.run("ps", "-aq").out == before)
    }

    @Test("stop: no -t gives the container's --stop-timeout; signal= is the stop's first signal; rm -v takes anonymous volumes")
    func stopAndRemove() throws {
        let box = try Sandbox()
        let d = try BoxdDaemon(box)
        defer { d.stop() }
        // sleep as PID 1 ignores SIGTERM: the stop lasts its grace period.
        #expect(try d.docker("run", "-d", "--name", "s", "--stop-timeout", "1", "-v", "/anon", "busybox", "sleep", "1000").status == 0)
        var start = Date()
        #expect(try d.docker("stop", "s").status == 0)
        #expect(Date().timeIntervalSince(start) < 6, "docker stop waited \(Date().timeIntervalSince(start)) s, not --stop-timeout's 1 s")
        #expect(try d.docker("start", "s").status == 0)
        start = Date()
        let killed = try d.curl("-X", "POST", "http://localhost/v1.41/containers/s/stop?t=30&signal=KILL")
        #expect(killed.status == 204, "\(killed)")
        #expect(Date().timeIntervalSince(start) < 6, "signal=KILL was not sent first")
        #expect(try box.inspect("s", "{{.State.ExitCode}}") == "137")
        let bad = try d.curl("-X", "POST", "http://localhost/v1.41/containers/s/stop?t=soon")
        #expect(bad.status == 400, "\(bad)")

        // ps sees the anonymous volume (Config.Volumes, not Binds); rm -v removes it.
        let volume = try box.inspect("s", "{{range .Mounts}}{{.Name}}{{end}}")
        #expect(volume.count == 64 && Files.isDirectory(box.root + "/volumes/\(volume)"), "\(volume)")
        let listed = try d.docker("ps", "-a", "--filter", "volume=/anon", "--format", "{{.Names}} {{.Mounts}}").out
        #expect(listed.hasPrefix("s " + volume.prefix(14)), "\(listed)")
        #expect(try d.docker("rm", "-v", "s").status == 0)
        #expect(!Files.exists(box.root + "/volumes/\(volume)"), "rm -v left the anonymous volume")
    }

    @Test("network connect --alias and disconnect through boxd; inspect lists the network connect added")
    func networkConnect() throws {
        let box = try Sandbox()
        let d = try BoxdDaemon(box)
        defer { d.stop() }
        #expect(try d.docker("network", "create", "--subnet", "10.236.0.0/24", "extra").status == 0)
        #expect(try d.docker("run", "-d", "--name", "app", "busybox", "sleep", "600").status == 0)
        let connect = try d.docker("network", "connect", "--alias", "api", "extra", "app")
        #expect(connect.status == 0, "\(connect.stderr) \(d.logText)")
        let format = "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}}{{range $v.Aliases}},{{.}}{{end}} {{end}}"
        let networks = try d.docker("inspect", "--format", format, "app").out
        #expect(networks.contains("extra=10.236.0.") && networks.contains(",api"), "\(networks)")
        #expect(try box.inspect("app", format) == networks)
        #expect(try box.run("exec", "app", "ip", "-o", "-4", "addr").stdout.contains("10.236.0."))
        let again = try d.docker("network", "connect", "extra", "app")
        #expect(again.status != 0 && again.stderr.contains("already exists"), "\(again.stderr)")

        let disconnect = try d.docker("network", "disconnect", "extra", "app")
        #expect(disconnect.status == 0, "\(disconnect.stderr)")
        #expect(try !d.docker("inspect", "--format", format, "app").out.contains("extra="))
        #expect(try !box.run("exec", "app", "ip", "-o", "-4", "addr").stdout.contains("10.236.0."))
        let twice = try d.docker("network", "disconnect", "extra", "app")
        #expect(twice.status != 0 && twice.stderr.contains("is not connected"), "\(twice.stderr)")
        #expect(try d.docker("rm", "-f", "app").status == 0)
    }

    @Test("rmi -f of one name of an image named twice untags only; cp -a keeps owners; cp does not turn a file into a directory")
    func rmiAndCopy() throws {
        let box = try Sandbox()
        let d = try BoxdDaemon(box)
        defer { d.stop() }
        #expect(try d.docker("tag", "busybox", "repo1:tag").status == 0)
        #expect(try d.docker("tag", "busybox", "repo2:x").status == 0)
        let rmi = try d.docker("rmi", "-f", "repo1:tag")
        #expect(rmi.status == 0 && rmi.stdout == "Untagged: repo1:tag\n", "\(rmi.stdout) \(rmi.stderr)")
        let names = try box.run("images", "--format", "{{.Repository}}:{{.Tag}}").out.split(separator: "\n").sorted()
        #expect(names == ["busybox:latest", "repo2:x"], "\(names)")

        #expect(try d.docker("run", "-d", "--name", "c", "busybox", "sh", "-c", "mkdir /d; echo file > /d/x; sleep 600").status == 0)
        #expect(try Sandbox.eventually { try box.run("exec", "c", "test", "-f", "/d/x").status == 0 })
        let dir = try box.scratch("cpa")
        #expect(FileManager.default.createFile(atPath: dir + "/owned.txt", contents: Data("o\n".utf8)))
        #expect(chown(dir + "/owned.txt", 1234, 2345) == 0)
        #expect(try d.docker("cp", "-a", dir + "/owned.txt", "c:/d/").status == 0)
        #expect(try box.run("exec", "c", "stat", "-c", "%u:%g", "/d/owned.txt").out == "1234:2345")
        #expect(try d.docker("cp", dir + "/owned.txt", "c:/").status == 0)
        #expect(try box.run("exec", "c", "stat", "-c", "%u:%g", "/owned.txt").out == "0:0")

        try FileManager.default.createDirectory(atPath: dir + "/x", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: dir + "/x/inner", contents: Data("i\n".utf8)))
        let over = try d.docker("cp", dir + "/x", "c:/d/")
        #expect(over.status != 0 && over.stderr.contains("cannot overwrite non-directory"), "\(over.stderr)")
        #expect(try box.run("exec", "c", "cat", "/d/x").out == "file")
        #expect(try d.docker("rm", "-f", "c").status == 0)
    }
}

extension VolumeTests {
    @Test("ps --filter volume= and .Mounts count every mount: --mount, anonymous -v, --volumes-from")
    func psCountsMounts() throws {
        let s = try Sandbox()
        #expect(try s.run("create", "--name", "m", "--mount", "type=volume,source=mv,target=/m", "busybox", "true").status == 0)
        #expect(try s.run("create", "--name", "a", "-v", "/anon", "busybox", "true").status == 0)
        #expect(try s.run("create", "--name", "f", "--volumes-from", "m", "busybox", "true").status == 0)
        let byName = try s.run("ps", "-a", "--filter", "volume=mv", "--format", "{{.Names}} {{.Mounts}}").out
        #expect(byName.split(separator: "\n").sorted() == ["f mv", "m mv"], "\(byName)")
        #expect(try s.run("ps", "-a", "--filter", "volume=/m", "--format", "{{.Names}}").out.split(separator: "\n").sorted() == ["f", "m"])
        let anonymous = try s.inspect("a", "{{range .Mounts}}{{.Name}}{{end}}")
        #expect(anonymous.count == 64)
        #expect(try s.run("ps", "-a", "--no-trunc", "--filter", "volume=/anon", "--format", "{{.Mounts}}").out == anonymous)
        #expect(try s.run("ps", "-a", "--filter", "volume=" + anonymous, "--format", "{{.Names}} {{.Mounts}}").out == "a " + anonymous.prefix(14) + "…")
        #expect(try s.run("ps", "-a", "--filter", "volume=/nowhere", "--format", "{{.Names}}").out.isEmpty)
    }
}
