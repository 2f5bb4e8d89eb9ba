import Foundation
import Testing
@testable import Engine

/// docker's run/create flags beyond the first ones (box's RunFlags.swift), each checked against what the kernel
/// and the container's files say, and `box inspect`'s shape against a real dockerd's.
@Suite("run and create flags", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct RunFlagsTests {
    @Test("--add-host, --dns, --dns-search and --dns-option: the container's /etc/hosts and resolv.conf")
    func etcFiles() throws {
        let box = try Sandbox()
        let r = try box.run("run", "--rm", "--network", "none", "--add-host", "db:10.1.2.3", "--add-host", "v6=fd00::5",
                            "--dns", "9.9.9.9", "--dns", "1.1.1.1", "--dns-search", "example.org", "--dns-option", "ndots:2",
                            "busybox", "cat", "/etc/hosts", "/etc/resolv.conf")
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("10.1.2.3\tdb") && lines.contains("fd00::5\tv6"), "\(r.stdout)")
        #expect(lines.contains("127.0.0.1\tlocalhost"))
        #expect(lines.filter { $0.hasPrefix("nameserver ") } == ["nameserver 9.9.9.9", "nameserver 1.1.1.1"], "\(r.stdout)")
        #expect(lines.contains("search example.org") && lines.contains("options ndots:2"), "\(r.stdout)")
        // On a bridge network the hosts file is written again at start, with the address: the extra lines stay.
        let bridged = try box.run("run", "--rm", "--add-host", "db:10.1.2.3", "busybox", "cat", "/etc/hosts")
        #expect(bridged.status == 0 && bridged.stdout.contains("10.1.2.3\tdb"), "\(bridged.stdout) \(bridged.stderr)")
        try refused(box, ["--add-host", "db:not-an-ip"], "invalid IP address in add-host")
        try refused(box, ["--dns", "example.com"], "is not an ip address")
    }

    @Test("--read-only: a write to the root fails with EROFS; /dev/shm and the volumes stay writable")
    func readOnly() throws {
        let box = try Sandbox()
        let dir = try box.scratch("rw")
        let r = try box.run("run", "--rm", "--read-only", "-v", "\(dir):/data", "busybox", "sh", "-c",
                            "touch /new 2>&1; echo rc=$?; touch /dev/shm/x /data/x && echo writable")
        #expect(r.stdout.contains("Read-only file system") && r.stdout.contains("rc=1"), "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("writable"), "\(r.stdout)")
        #expect(FileManager.default.fileExists(atPath: dir + "/x"))
        let rw = try box.run("run", "--rm", "busybox", "touch", "/new")
        #expect(rw.status == 0, "without --read-only the root is writable: \(rw.stderr)")
    }

    @Test("--ulimit and --oom-score-adj: PID 1's /proc/self/limits and oom_score_adj")
    func limits() throws {
        let box = try Sandbox()
        let r = try box.run("run", "--rm", "--ulimit", "nofile=1024:2048", "--ulimit", "nproc=512:1024", "--oom-score-adj", "321",
                            "-u", "1000", "busybox", "sh", "-c", "cat /proc/self/limits /proc/self/oom_score_adj")
        #expect(r.status == 0, "\(r.stderr)")
        let files = r.stdout.split(separator: "\n").first { $0.hasPrefix("Max open files") }.map {
            $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        } ?? []
        #expect(files.count >= 5 && files[3] == "1024" && files[4] == "2048", "\(r.stdout)")
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("Max processes") && $0.contains(" 512 ") && $0.contains(" 1024 ") }, "\(r.stdout)")
        #expect(r.stdout.split(separator: "\n").last == "321", "\(r.stdout)")
        try refused(box, ["--ulimit", "nofile=4096:1024"], "ulimit soft limit must be less than or equal to hard limit: 4096 > 1024")
        try refused(box, ["--ulimit", "files=1"], "invalid ulimit type: files")
        try refused(box, ["--oom-score-adj", "2000"], "range for oom score adj is [-1000, 1000]")
    }

    @Test("--sysctl: namespaced parameters in the container's /proc/sys, the host's unchanged; others refused")
    func sysctls() throws {
        let box = try Sandbox()
        let hostForward = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)
        let hostShmmni = try String(contentsOfFile: "/proc/sys/kernel/shmmni", encoding: .utf8)
        let r = try box.run("run", "--rm", "--network", "none", "--sysctl", "net.ipv4.ip_forward=1",
                            "--sysctl", "kernel.shmmni=1234", "busybox", "sh", "-c",
                            "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni; echo 0 > /proc/sys/kernel/shmmni 2>&1 || echo ro")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").prefix(2) == ["1", "1234"], "\(r.stdout)")
        #expect(r.stdout.contains("ro"), "/proc/sys is read-only again once they are written: \(r.stdout)")
        #expect(try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8) == hostForward)
        #expect(try String(contentsOfFile: "/proc/sys/kernel/shmmni", encoding: .utf8) == hostShmmni)
        // On a bridge network too (the parent's network is complete when they are written).
        let bridged = try box.run("run", "--rm", "--sysctl", "net.ipv4.conf.eth0.rp_filter=2", "busybox",
                                  "cat", "/proc/sys/net/ipv4/conf/eth0/rp_filter")
        #expect(bridged.status == 0 && bridged.out == "2", "\(bridged.stdout) \(bridged.stderr)")
        try refused(box, ["--sysctl", "kernel.hostname=x"], "is not allowed")
        try refused(box, ["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"], "not allowed in host network namespace")
        #expect(try box.run("ps", "-a", "-q").out.isEmpty, "a refused run creates nothing")
    }

    @Test("--shm-size: the size of the container's /dev/shm (statfs)")
    func shmSize() throws {
        let box = try Sandbox()
        let sized = try box.run("run", "--rm", "--shm-size", "128m", "busybox", "stat", "-f", "-c", "%b %S", "/dev/shm")
        let plain = try box.run("run", "--rm", "busybox", "stat", "-f", "-c", "%b %S", "/dev/shm")
        func bytes(_ r: Sandbox.Result) -> Int { r.out.split(separator: " ").compactMap { Int($0) }.reduce(1, *) }
        #expect(bytes(sized) == 128 << 20, "\(sized.stdout) \(sized.stderr)")
        #expect(bytes(plain) == 64 << 20, "docker's default: \(plain.stdout)")
        #expect(try box.inspect(try box.run("create", "--shm-size", "1g", "busybox").out, "{{.HostConfig.ShmSize}}") == "\(1 << 30)")
    }

    @Test("--cidfile: the id written to a new file; an existing file refuses the run, and nothing is created")
    func cidfile() throws {
        let box = try Sandbox()
        let dir = try box.scratch("cid")
        let id = try box.run("create", "--cidfile", dir + "/c1", "busybox", "true").out
        #expect(try String(contentsOfFile: dir + "/c1", encoding: .utf8) == id)
        #expect(try box.inspect(id, "{{.HostConfig.ContainerIDFile}}") == dir + "/c1")
        let again = try box.run("run", "--cidfile", dir + "/c1", "busybox", "true")
        #expect(again.status == 125 && again.stderr.contains("Container ID file found"), "\(again.stderr)")
        #expect(try box.run("ps", "-a", "-q").out.split(separator: "\n").count == 1)
        // A run whose create fails leaves no file behind.
        let failed = try box.run("run", "--cidfile", dir + "/c2", "no-such-image:1", "true")
        #expect(failed.status == 125 && !FileManager.default.fileExists(atPath: dir + "/c2"))
        let run = try box.run("run", "--rm", "--cidfile", dir + "/c3", "busybox", "true")
        #expect(run.status == 0 && (try? String(contentsOfFile: dir + "/c3", encoding: .utf8))?.count == 64)
    }

    @Test("--env-file and --label-file: read before -e and -l, which win")
    func files() throws {
        let box = try Sandbox()
        let dir = try box.scratch("envfile")
        try "# a comment\n\nA=from-file\n  B=two words\nC=file\n".write(toFile: dir + "/env", atomically: true, encoding: .utf8)
        try "team=ops\n# x\ntier=file\n".write(toFile: dir + "/labels", atomically: true, encoding: .utf8)
        let id = try box.run("create", "--env-file", dir + "/env", "-e", "C=flag", "--label-file", dir + "/labels",
                             "-l", "tier=flag", "busybox", "sh", "-c", "echo \"$A|$B|$C\"").out
        #expect(try box.run("start", "-a", id).out == "from-file|two words|flag")
        #expect(try box.inspect(id, "{{index .Config.Labels \"team\"}} {{index .Config.Labels \"tier\"}}") == "ops flag")
        try refused(box, ["--env-file", dir + "/none"], "--env-file: open \(dir)/none")
    }

    @Test("--stop-signal and --stop-timeout: what box stop sends first, and how long it waits before SIGKILL")
    func stopSignal() throws {
        let box = try Sandbox()
        try box.detached("--name", "usr1", "--stop-signal", "SIGUSR1", "busybox", "sh", "-c",
                     "trap 'echo got-usr1; exit 7' USR1; trap 'echo got-term; exit 8' TERM; echo ready; while true; do sleep 0.05; done")
        #expect(Sandbox.eventually { (try? box.run("logs", "usr1").out) == "ready" })
        #expect(try box.run("stop", "usr1").status == 0)
        #expect(try box.inspect("usr1", "{{.State.ExitCode}}") == "7")
        #expect(try box.run("logs", "usr1").stdout.contains("got-usr1"))
        // sleep as PID 1 ignores SIGTERM: the container's 1 s grace period, not docker's 10.
        try box.detached("--name", "deaf", "--stop-timeout", "1", "busybox", "sleep", "60")
        let start = Date()
        let stop = try box.run("stop", "deaf")
        let took = Date().timeIntervalSince(start)
        #expect(stop.status == 0 && stop.stderr.contains("within 1s of SIGTERM"), "\(stop.stderr)")
        #expect(took >= 0.9 && took < 5, "\(took) s")
        #expect(try box.inspect("deaf", "{{.Config.StopTimeout}}") == "1")
        try refused(box, ["--stop-signal", "SIGNOPE"], "invalid signal: SIGNOPE")
    }

    @Test("--group-add and --domainname: the process's groups and the UTS namespace's domain name")
    func groupsAndDomain() throws {
        let box = try Sandbox()
        let r = try box.run("run", "--rm", "--group-add", "1234", "--group-add", "daemon", "--domainname", "example.org",
                            "-u", "1000:1000", "busybox", "sh", "-c", "id -G; cat /proc/sys/kernel/domainname")
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let groups = Set((lines.first ?? "").split(separator: " ").map(String.init))
        #expect(groups.isSuperset(of: ["1000", "1234", "1"]), "\(r.stdout)")
        #expect(lines.last == "example.org", "\(r.stdout)")
        #expect(try String(contentsOfFile: "/proc/sys/kernel/domainname", encoding: .utf8) != "example.org\n")
        try refused(box, ["--group-add", "no-such-group"], "Unable to find group no-such-group")
    }

    @Test("--cpu-period, --cpu-quota, --cpuset-mems, --memory-reservation: the container's cgroup files")
    func cgroupFlags() throws {
        let box = try Sandbox()
        let id = try box.detached("--cpu-period", "50000", "--cpu-quota", "25000", "--cpuset-mems", "0",
                              "--memory-reservation", "48m", "busybox", "sleep", "60")
        let v2 = CgroupMode.detect() == .unified
        func read(_ controller: String, _ file: String) -> String {
            let path = v2 ? "/sys/fs/cgroup/box/\(id)/\(file)" : "/sys/fs/cgroup/\(controller)/box/\(id)/\(file)"
            return (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "missing \(path)"
        }
        if v2 {
            #expect(read("", "cpu.max") == "25000 50000")
            #expect(read("", "memory.low") == "\(48 << 20)")
        } else {
            #expect(read("cpu", "cpu.cfs_period_us") == "50000")
            #expect(read("cpu", "cpu.cfs_quota_us") == "25000")
            #expect(read("memory", "memory.soft_limit_in_bytes") == "\(48 << 20)")
        }
        #expect(read("cpuset", "cpuset.mems") == "0")
        #expect(try box.inspect(id, "{{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}} {{.HostConfig.MemoryReservation}}")
                == "50000 25000 \(48 << 20)")
        try refused(box, ["--cpus", "1", "--cpu-quota", "5000"], "Conflicting options: Nano CPUs and CPU Quota cannot both be set")
        try refused(box, ["--cpu-period", "10"], "CPU cfs period can not be less than 1ms")
        try refused(box, ["-m", "16m", "--memory-reservation", "32m"], "memory limit can not be less than memory reservation limit")
    }

    @Test("--log-driver none: the output is still attached, but no log is kept and box logs says so")
    func logDriverNone() throws {
        let box = try Sandbox()
        let r = try box.run("run", "--name", "quiet", "--log-driver", "none", "busybox", "echo", "hello")
        #expect(r.status == 0 && r.out == "hello", "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: try box.inspect("quiet", "{{.LogPath}}")))
        #expect(try box.inspect("quiet", "{{.HostConfig.LogConfig.Type}}") == "none")
        let logs = try box.run("logs", "quiet")
        #expect(logs.status == 1 && logs.stderr.contains("configured logging driver does not support reading"), "\(logs.stderr)")
        #expect(try box.run("run", "--name", "kept", "busybox", "echo", "hello").status == 0)
        #expect(try box.run("logs", "kept").out == "hello")
    }

    @Test("--device: the host's node in the container, allowed by the device rules with the permissions given")
    func device() throws {
        let box = try Sandbox()
        let open = "exec 3</dev/lc && echo opened"
        // /dev/loop-control (10:237) is none of runc's default devices: bound in with -v, the device rules refuse it.
        let denied = try box.run("run", "--rm", "-v", "/dev/loop-control:/dev/lc:dev", "busybox", "sh", "-c", open)
        #expect(!denied.stdout.contains("opened") && denied.stderr.contains("Operation not permitted"), "\(denied.stdout) \(denied.stderr)")
        let allowed = try box.run("run", "--rm", "--device", "/dev/loop-control:/dev/lc", "busybox", "sh", "-c", open)
        #expect(allowed.out == "opened", "\(allowed.stdout) \(allowed.stderr)")
        let readOnly = try box.run("run", "--rm", "--device", "/dev/loop-control:/dev/lc:r", "busybox", "sh", "-c",
                                   "exec 3</dev/lc && echo read; exec 4>/dev/lc && echo written")
        #expect(readOnly.stdout.contains("read") && !readOnly.stdout.contains("written"), "\(readOnly.stdout) \(readOnly.stderr)")
        let id = try box.run("create", "--device", "/dev/loop-control", "busybox").out
        #expect(try box.inspect(id, "{{json .HostConfig.Devices}}")
                == #"[{"PathOnHost":"/dev/loop-control","PathInContainer":"/dev/loop-control","CgroupPermissions":"rwm"}]"#)
        try refused(box, ["--device", "/etc/passwd"], "not a device node")
    }

    @Test("--uts host and --ipc host: the host's namespaces (the links in /proc/self/ns), its name and its /dev/shm")
    func hostNamespaces() throws {
        let box = try Sandbox()
        func link(_ ns: String) throws -> String { try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/" + ns) }
        let script = "readlink /proc/self/ns/uts; readlink /proc/self/ns/ipc; hostname"
        let own = try box.run("run", "--rm", "busybox", "sh", "-c", script).stdout.split(separator: "\n").map(String.init)
        let (uts, ipc) = (try link("uts"), try link("ipc"))
        #expect(own.count == 3 && own[0] != uts && own[1] != ipc, "\(own)")
        let host = try box.run("run", "--rm", "--uts", "host", "--ipc", "host", "busybox", "sh", "-c", script)
        let lines = host.stdout.split(separator: "\n").map(String.init)
        var hostname = [CChar](repeating: 0, count: 256)
        let size = hostname.count - 1
        gethostname(&hostname, size)
        let expected = [try link("uts"), try link("ipc"), String(cString: hostname)]
        #expect(lines == expected, "\(host.stdout) \(host.stderr)")
        // The host's /dev/shm: a file made there is the host's (removed again).
        let name = "boxtest-shm-\(getpid())"
        let shm = try box.run("run", "--rm", "--ipc", "host", "busybox", "touch", "/dev/shm/" + name)
        #expect(shm.status == 0 && FileManager.default.fileExists(atPath: "/dev/shm/" + name), "\(shm.stderr)")
        try? FileManager.default.removeItem(atPath: "/dev/shm/" + name)
        #expect(try box.inspect(try box.run("create", "--uts", "host", "--ipc", "host", "busybox").out, "{{.HostConfig.UTSMode}} {{.HostConfig.IpcMode}}") == "host host")
        try refused(box, ["--uts", "host", "-h", "x"], "Conflicting options: hostname and the UTS mode")
        try refused(box, ["--ipc", "host", "--sysctl", "kernel.shmmni=1"], "not allowed in host IPC namespace")
    }

    @Test("flags box cannot honour are refused with the reason (exit 125), and nothing is created")
    func refusals() throws {
        let box = try Sandbox()
        let cases: [([String], String)] = [
            (["--health-cmd", "true"], "--health-cmd: box runs no health checks"),
            (["--link", "other"], "--link: legacy links are not supported"),
            (["-P"], "--publish-all: box publishes only the ports -p names"),
            (["--ip", "10.0.0.9"], "--ip: box gives each container"),
            (["--pid", "host"], "--pid: box gives every container a PID namespace of its own"),
            (["--runtime", "runc"], "--runtime: box is its own runtime"),
            (["--platform", "linux/s390x"], "--platform: box runs images for this machine only"),
            (["--log-driver", "syslog"], "--log-driver: box logs to json-file (box logs reads it) or to none only"),
            (["--pull", "always"], "--pull: box run does not pull"),
            (["--kernel-memory", "10m"], "--kernel-memory:"),
            (["-a", "stdout"], "--attach: box attaches both stdout and stderr"),
        ]
        for (args, message) in cases { try refused(box, args, message) }
        // What is docker's default is accepted.
        let defaults = try box.run("run", "--rm", "--ipc", "private", "--cgroupns", "private", "--userns", "host",
                                   "--isolation", "default", "--log-driver", "json-file", "--pull", "never", "-q",
                                   "--platform", "linux", "--sig-proxy=false", "-a", "stdout", "-a", "stderr",
                                   "--no-healthcheck", "--detach-keys", "ctrl-p,ctrl-q", "busybox", "echo", "ok")
        #expect(defaults.status == 0 && defaults.out == "ok", "\(defaults.stderr)")
        #expect(try box.run("ps", "-a", "-q").out.isEmpty)
    }

    @Test("box inspect has docker's keys, recursively, with the values of the same run line")
    func inspectShape() throws {
        let box = try Sandbox()
        let dir = try box.scratch("shape")
        let line = ["--network", "none", "--init", "--sysctl", "net.ipv4.ip_forward=1", "--ulimit", "nofile=1024:2048",
                    "--stop-signal", "SIGUSR1", "--stop-timeout", "3", "--expose", "80", "--no-healthcheck",
                    "--add-host", "foo:1.2.3.4", "--dns", "9.9.9.9", "--read-only", "--shm-size", "128m", "--group-add", "10",
                    "--oom-score-adj", "100", "--domainname", "example.com", "--cpu-period", "100000", "--cpu-quota", "50000",
                    "--memory-reservation", "32m", "-l", "a=b", "-e", "X=1", "busybox", "sleep", "10"]
        let mine = try box.run(["create", "--name", "c1", "--cidfile", dir + "/box.cid"] + line)
        #expect(mine.status == 0, "\(mine.stderr)")
        let ours = try json(try box.run("inspect", "c1").stdout)
        let plain = try json(try box.run("inspect", try box.run("create", "busybox").out).stdout)
        #expect((plain["HostConfig"] as? [String: Any])?.count == 65, "docker 20.10's 65 HostConfig keys")
        for key in ["OnBuild", "Volumes"] { #expect((plain["Config"] as? [String: Any])?.keys.contains(key) == true) }
        guard let dockerd = Dockerd(purpose: "runflags") else {
            print("skipped the docker comparison: docker.io is not installed here")
            return
        }
        defer { dockerd.stop() }
        #expect(try box.run("save", "-o", dir + "/busybox.tar", "busybox").status == 0)
        #expect(try dockerd.docker(["load", "-i", dir + "/busybox.tar"]).status == 0)
        let created = try dockerd.docker(["create", "--name", "c1", "--cidfile", dir + "/docker.cid"] + line)
        #expect(created.status == 0, "\(created.stderr)")
        let theirs = try json(try dockerd.docker(["inspect", "c1"]).stdout)
        let theirPlain = try json(try dockerd.docker(["inspect", try dockerd.docker(["create", "busybox"]).out]).stdout)
        // Keys box has that docker has not: its Capabilities (what PID 1 keeps), nothing else.
        #expect(differences(ours, theirs, allowedExtra: ["Capabilities"]).isEmpty, "\(differences(ours, theirs, allowedExtra: ["Capabilities"]))")
        #expect(differences(plain, theirPlain, allowedExtra: ["Capabilities"]).isEmpty, "\(differences(plain, theirPlain, allowedExtra: ["Capabilities"]))")
        // The values the run line decided are the same.
        let sameHost = ["Dns", "ExtraHosts", "GroupAdd", "OomScoreAdj", "ReadonlyRootfs", "ShmSize", "Sysctls", "Ulimits",
                        "CpuPeriod", "CpuQuota", "MemoryReservation", "Init", "Memory", "PidsLimit", "MemorySwappiness"]
        for (section, keys) in [("HostConfig", sameHost),
                                ("Config", ["Domainname", "ExposedPorts", "Healthcheck", "StopSignal", "StopTimeout", "Labels", "OnBuild", "Volumes"])] {
            for key in keys {
                let a = try canonical((ours[section] as? [String: Any])?[key]), b = try canonical((theirs[section] as? [String: Any])?[key])
                #expect(a == b, "\(section).\(key): box \(a), docker \(b)")
            }
        }
    }

    /// `box run --rm ARGS busybox true` is refused: exit 125 and `message`, and no container is left.
    func refused(_ box: Sandbox, _ args: [String], _ message: String) throws {
        let before = try box.run("ps", "-a", "-q").out
        let r = try box.run(["run", "--rm"] + args + ["busybox", "true"])
        #expect(r.status == 125 && r.stderr.contains(message), "\(args): \(r.status) \(r.stderr)")
        #expect(try box.run("ps", "-a", "-q").out == before, "\(args) created a container")
    }

    /// A JSON value as text with sorted keys, to compare two parsed values.
    func canonical(_ value: Any?) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: [value ?? NSNull()], options: [.sortedKeys]), as: UTF8.self)
    }

    func json(_ text: String) throws -> [String: Any] {
        let array = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
        return array?.first ?? [:]
    }

    /// Key paths where the two objects' key sets differ (recursively through objects), but for `allowedExtra`
    /// top-level keys of ours.
    func differences(_ ours: [String: Any], _ theirs: [String: Any], path: String = "", allowedExtra: Set<String> = []) -> [String] {
        var out: [String] = []
        for key in Set(ours.keys).union(theirs.keys).sorted() {
            switch (ours[key], theirs[key]) {
            case (nil, _): out.append("missing \(path)\(key)")
            case (_, nil): if !(path.isEmpty && allowedExtra.contains(key)) { out.append("extra \(path)\(key)") }
            case (let a as [String: Any], let b as [String: Any]):
                // Networks are named by their network: box's and docker's have the same shape under another name.
                if key == "Networks", let x = a.values.first as? [String: Any], let y = b.values.first as? [String: Any] {
                    out += differences(x, y, path: path + key + ".*.")
                } else {
                    out += differences(a, b, path: path + key + ".")
                }
            default: break
            }
        }
        return out
    }
}
