import Foundation
import Testing
@testable import Engine

@Suite("Isolation the kernel confirms", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct IsolationTests {
    @Test("each namespace of a container differs from the host's", arguments: [NamespaceKind.pid, .uts, .ipc, .net, .mnt, .cgroup])
    func namespacesDiffer(kind: NamespaceKind) throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sleep", "1000")
        let pid = try box.pid("c1")
        #expect(pid > 0)
        let inside = HostProcess.namespace(pid, kind)
        let host = HostProcess.namespace(getpid(), kind)
        #expect(inside != nil && host != nil)
        #expect(inside != host, "the container shares the host's \(kind) namespace")
    }

    @Test("nsenter into the container sees its hostname, and its command as PID 1")
    func nsenterSeesTheContainer() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "-h", "inside-c1", "busybox", "sleep", "1000")
        let pid = String(try box.pid("c1"))
        let hostname = try Sandbox.exec(["/usr/bin/nsenter", "-t", pid, "-m", "-u", "-i", "-n", "-p", "hostname"])
        #expect(hostname.out == "inside-c1")
        let ps = try Sandbox.exec(["/usr/bin/nsenter", "-t", pid, "-m", "-u", "-i", "-n", "-p", "ps", "-o", "pid,args"])
        let pid1 = ps.stdout.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("1 ") }
        #expect(pid1?.contains("sleep 1000") == true, "ps in the container: \(ps.stdout)")
        let mine = try Sandbox.exec(["/bin/hostname"])
        #expect(mine.out != "inside-c1")
    }

    @Test("a process in one container cannot be killed from another; the host can kill it")
    func killAcrossNamespaces() throws {
        let box = try Sandbox()
        // Two /bin/true forks first, so the sleep's pid inside c1 is not one c2 will also have.
        _ = try box.detached("--name", "c1", "busybox", "sh", "-c", "/bin/true; /bin/true; sleep 1001 & sleep 1000")
        _ = try box.detached("--name", "c2", "busybox", "sleep", "1000")
        let c1 = try box.pid("c1")
        var target: Int32 = 0
        #expect(Sandbox.eventually {
            target = HostProcess.all().first { HostProcess.commandLine($0) == ["sleep", "1001"] && HostProcess.nsPids($0).first == $0
                && HostProcess.namespace($0, .pid) == HostProcess.namespace(c1, .pid) } ?? 0
            return target > 0
        })
        let start = try #require(HostProcess.startTime(target))
        let inner = try #require(HostProcess.nsPids(target).last)
        #expect(inner > 2 && inner != target)

        let attempt = try box.run("exec", "c2", "kill", String(inner))
        #expect(attempt.status != 0)
        #expect(attempt.stderr.contains("No such process"), "stderr: \(attempt.stderr)")
        #expect(HostProcess.isAlive(target, startTime: start), "the process in c1 died from c2's kill")

        #expect(kill(target, SIGTERM) == 0)
        #expect(Sandbox.eventually { !HostProcess.isAlive(target, startTime: start) })
    }

    @Test("killing PID 1 from the host ends the container, which records the signal")
    func hostKillsPid1() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sleep", "1000")
        let pid = try box.pid("c1")
        #expect(kill(pid, SIGKILL) == 0)
        #expect(try Sandbox.eventually { try box.inspect("c1", "{{.State.Status}}") == "exited" })
        #expect(try box.inspect("c1", "{{.State.ExitCode}}") == "137")
        let die = box.events.last { $0.action == "die" }
        #expect(die?.attributes["signal"] == "9")
    }

    @Test("PID 1 has docker's 14 capabilities, nothing else in its bounding set, and no_new_privs")
    func capabilities() throws {
        let box = try Sandbox()
        let r = try box.run("run", "--rm", "busybox", "grep", "-E", "^(CapBnd|CapEff|CapPrm|CapInh|NoNewPrivs)", "/proc/self/status")
        #expect(r.status == 0, "\(r.stderr)")
        let fields = Dictionary(uniqueKeysWithValues: r.stdout.split(separator: "\n").map { line -> (String, String) in
            let p = line.split(separator: ":", maxSplits: 1)
            return (String(p[0]), p[1].trimmingCharacters(in: .whitespaces))
        })
        let expected = String(try Capabilities.mask(add: [], drop: []), radix: 16)
        #expect(expected == "a80425fb")  // docker's default set, bit for bit
        #expect(fields["CapBnd"] == "00000000" + expected)
        #expect(fields["CapEff"] == "00000000" + expected)
        #expect(fields["CapInh"] == "0000000000000000")
        #expect(fields["NoNewPrivs"] == "1")

        let dropped = try box.run("run", "--rm", "--cap-drop", "chown", "--cap-add", "NET_ADMIN", "busybox", "grep", "CapBnd", "/proc/self/status")
        let mask = UInt64(dropped.out.split(separator: "\t").last ?? "", radix: 16) ?? 0
        #expect(mask & 1 == 0, "CHOWN is still there")
        #expect(mask & (1 << 12) != 0, "NET_ADMIN was not added")
    }

    @Test("the root filesystem is the image's overlay, with /proc masked and /sys read-only")
    func rootfs() throws {
        let box = try Sandbox()
        // Masked files read as empty inside; which of runc's list exist depends on the kernel's configuration.
        let masked = Rootfs.maskedPaths.filter { path in
            var st = stat()
            return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").count > 0
        }
        try #require(!masked.isEmpty, "no masked /proc file exists on this kernel to check")
        let sizes = try box.run(["run", "--rm", "busybox", "sh", "-c", "for f in \(masked.joined(separator: " ")); do wc -c < $f; done"])
        #expect(sizes.stdout.split(separator: "\n").allSatisfy { $0 == "0" }, "masked files are readable: \(masked) -> \(sizes.stdout)")
        let r = try box.run("run", "--rm", "-h", "myhost", "busybox", "sh", "-c",
                            "cat /etc/hostname; grep myhost /etc/hosts | wc -l; ls /dev; touch /sys/x 2>&1; mount | grep ' / '")
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "myhost")
        #expect(lines.dropFirst().first == "1")
        for device in ["null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue"] {
            #expect(r.stdout.contains(device), "/dev has no \(device)")
        }
        #expect(r.stdout.contains("Read-only file system"))
        #expect(lines.last?.hasPrefix("overlay on / type overlay") == true, "\(lines.last ?? "")")
    }

    @Test("only loopback with --network none, lo and eth0 on the default bridge; --network host shares the host's")
    func network() throws {
        let box = try Sandbox()
        let none = try box.run("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net")
        #expect(none.out == "lo")
        let bridge = try box.run("run", "--rm", "busybox", "ls", "/sys/class/net")
        #expect(bridge.out == "eth0\nlo")
        let ping = try box.run("run", "--rm", "--network", "none", "busybox", "ping", "-c", "1", "-W", "2", "127.0.0.1")
        #expect(ping.status == 0, "loopback is down: \(ping.stdout) \(ping.stderr)")
        // The same network namespace as ours (comparing interface lists would race with other tests' veths).
        let host = try box.run("run", "--rm", "--network", "host", "busybox", "readlink", "/proc/self/ns/net")
        #expect(host.out == "net:[\(HostProcess.namespace(getpid(), .net) ?? 0)]")
        let own = try box.run("run", "--rm", "busybox", "readlink", "/proc/self/ns/net")
        #expect(own.status == 0 && own.out != host.out)
    }

    @Test("a bind mount with :ro is visible and read-only inside")
    func volumes() throws {
        let box = try Sandbox()
        let dir = box.root + "/shared"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "from the host\n".write(toFile: dir + "/note", atomically: true, encoding: .utf8)
        let r = try box.run("run", "--rm", "-v", "\(dir):/data:ro", "busybox", "sh", "-c", "cat /data/note; touch /data/new 2>&1; true")
        #expect(r.stdout.contains("from the host"))
        #expect(r.stdout.contains("Read-only file system"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/new"))
    }

    @Test("the container's merged overlay is visible on the host while it runs, and gone after")
    func mergedMount() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sh", "-c", "echo hi > /written; sleep 1000")
        let merged = try box.inspect("c1", "{{.GraphDriver.Data.MergedDir}}")
        #expect(Rootfs.isMounted(merged))
        #expect(Sandbox.eventually { FileManager.default.fileExists(atPath: merged + "/written") })
        let upper = try box.inspect("c1", "{{.GraphDriver.Data.UpperDir}}")
        #expect(FileManager.default.fileExists(atPath: upper + "/written"), "the write did not land in the upper dir")
        try box.run("kill", "c1")
        #expect(Sandbox.eventually { !Rootfs.isMounted(merged) })
    }
}
