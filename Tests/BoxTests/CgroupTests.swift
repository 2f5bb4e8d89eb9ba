import Foundation
import Testing
@testable import Engine

@Suite("Cgroups on this host's real hierarchy", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct CgroupTests {
    /// Host-side path of a controller file of the container's cgroup, v1 or v2.
    func file(_ box: Sandbox, _ name: String, v1 controller: String, _ id: String) -> String {
        let driver = Cgroups.driver()
        return driver.mode == .unified ? "/sys/fs/cgroup/box/\(id)/\(name)" : "/sys/fs/cgroup/\(controller)/box/\(id)/\(name)"
    }

    @Test("exec on cgroup v2: the command is born in the container's cgroup (nsexec --cgroup-dir, clone3)",
          .enabled(if: CgroupMode.detect() != .legacy, "no cgroup v2 hierarchy on this host"))
    func execIntoV2() throws {
        let box = try Sandbox()
        let id = try box.detached("busybox", "sleep", "100")
        let state = try box.store.load(id).state
        // On a v2 host the engine's own cgroups are there; on a hybrid one the test makes a v2 cgroup of its own.
        let name = "box-exectest-\(getpid())"
        let dir = (CgroupMode.detect() == .unified ? "/sys/fs/cgroup/" : "/sys/fs/cgroup/unified/") + name
        #expect(mkdir(dir, 0o755) == 0)
        defer { rmdir(dir) }
        let r = try Sandbox.exec([box.box, "__nsexec", "--pid=\(state.Pid)", "--start=\(state.PidStartTime)",
                                  "--cgroup-dir=\(dir)", "--", "cat", "/proc/self/cgroup"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("0::") && $0.hasSuffix("/" + name) }, "\(r.stdout)")
        #expect(rmdir(dir) == 0, "the command has left the cgroup with its exit")
    }

    @Test("a container over its memory limit is OOM-killed: 137, OOMKilled, an oom event")
    func oomKill() throws {
        let box = try Sandbox()
        let r = try box.run("run", "--name", "hog", "-m", "32m", "busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1")
        #expect(r.status == 137)
        #expect(try box.inspect("hog", "{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}") == "true 137 33554432")
        #expect(box.events.contains { $0.action == "oom" })
        let fine = try box.run("run", "--name", "ok", "-m", "64m", "busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=1M", "count=8")
        #expect(fine.status == 0)
        #expect(try box.inspect("ok", "{{.State.OOMKilled}}") == "false")
    }

    @Test("PID 1 runs in its own cgroup from the start, sees it as / and the cgroup goes with the container")
    func cgroupLifecycle() throws {
        let box = try Sandbox()
        let id = try box.detached("--name", "c1", "--pids-limit", "20", "busybox", "sleep", "1000")
        let pid = try box.pid("c1")
        let hostView = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
        #expect(hostView.contains("/box/\(id)"), "\(hostView)")
        let inside = try box.run("exec", "c1", "cat", "/proc/self/cgroup")
        #expect(!inside.stdout.contains("box/"), "the container sees the host's cgroup path: \(inside.stdout)")
        let pidsMax = file(box, "pids.max", v1: "pids", id)
        #expect(try String(contentsOfFile: pidsMax, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == "20")
        // An exec'd process joins the container's cgroup too.
        let procs = file(box, "cgroup.procs", v1: "pids", id)
        let execd = try box.run("exec", "c1", "sh", "-c", "cat /proc/self/cgroup >/dev/null; echo $$")
        #expect(execd.status == 0)
        #expect(try String(contentsOfFile: procs, encoding: .utf8).split(separator: "\n").contains(Substring(String(pid))))
        try box.run("rm", "-f", "c1")
        #expect(!FileManager.default.fileExists(atPath: (pidsMax as NSString).deletingLastPathComponent))
    }

    @Test("inside, /sys/fs/cgroup is the container's own cgroup, read-only: its limits can be read, not changed")
    func cgroupfsInside() throws {
        let box = try Sandbox()
        let file = CgroupMode.detect() == .unified ? "/sys/fs/cgroup/pids.max" : "/sys/fs/cgroup/pids/pids.max"
        let r = try box.run("run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c",
                            "cat \(file); echo 5 > \(file) || echo refused; touch /sys/fs/cgroup/x || echo refused")
        #expect(r.out == "20\nrefused\nrefused", "\(r.out) \(r.stderr)")
    }

    @Test("--pids-limit stops a fork loop at the limit")
    func pidsLimit() throws {
        let box = try Sandbox()
        // ash gives up at the first fork the pids controller refuses; `echo` is a builtin and needs none.
        let r = try box.run("run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c",
                            "for i in $(seq 1 40); do sleep 5 & echo $i; done")
        let started = Int(r.out.split(separator: "\n").last ?? "") ?? 99
        #expect(r.stderr.contains("can't fork"), "\(r.stderr)")
        #expect(started < 20 && started >= 15, "\(started) sleeps started under --pids-limit 20")
    }

    @Test("cpu limits are written in the host's units", .enabled(if: CgroupMode.detect() != .unified, "v1 file names; v2 is covered by the fake-tree test"))
    func cpuLimitsV1() throws {
        let box = try Sandbox()
        let id = try box.detached("--cpu-shares", "256", "--cpus", "0.5", "busybox", "sleep", "1000")
        #expect(try String(contentsOfFile: file(box, "cpu.shares", v1: "cpu", id), encoding: .utf8).hasPrefix("256"))
        #expect(try String(contentsOfFile: file(box, "cpu.cfs_quota_us", v1: "cpu", id), encoding: .utf8).hasPrefix("50000"))
    }

    /// utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat).
    func cpuTicks(_ pid: Int32) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    @Test("pause freezes the processes (CPU time stops growing), unpause resumes them")
    func pause() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "busy", "busybox", "sh", "-c", "while true; do :; done")
        let pid = try box.pid("busy")
        #expect(try box.run("pause", "busy").status == 0)
        #expect(try box.inspect("busy", "{{.State.Status}} {{.State.Paused}}") == "paused true")
        #expect(try box.run("ps").stdout.contains("(Paused)"))
        let frozen = try cpuTicks(pid)
        usleep(500_000)
        #expect(try cpuTicks(pid) == frozen, "a paused process kept running")
        let refused = try box.run("exec", "busy", "true")
        #expect(refused.status == 1 && refused.stderr.contains("is paused"))
        #expect(try box.run("unpause", "busy").status == 0)
        usleep(500_000)
        #expect(try cpuTicks(pid) > frozen + 2, "the process did not resume")
        #expect(box.events.map(\.action).filter { $0 == "pause" || $0 == "unpause" } == ["pause", "unpause"])
        // A paused container can still be stopped: it is thawed so the signal takes effect.
        try box.run("pause", "busy")
        #expect(try box.run("stop", "-t", "1", "busy").status == 0)
        #expect(try box.inspect("busy", "{{.State.Status}} {{.State.ExitCode}}") == "exited 137")
    }

    @Test("update changes the limits of a running container in its cgroup and in inspect")
    func update() throws {
        let box = try Sandbox()
        let id = try box.detached("--name", "c1", "-m", "32m", "busybox", "sleep", "1000")
        #expect(try box.run("update", "--memory", "64m", "--pids-limit", "50", "c1").status == 0)
        let memory = Cgroups.driver().mode == .unified ? "memory.max" : "memory.limit_in_bytes"
        #expect(try String(contentsOfFile: file(box, memory, v1: "memory", id), encoding: .utf8).hasPrefix("67108864"))
        #expect(try String(contentsOfFile: file(box, "pids.max", v1: "pids", id), encoding: .utf8).hasPrefix("50"))
        #expect(try box.inspect("c1", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}") == "67108864 50")
        #expect(try box.run("update", "c1").status == 125)
        // Above memory+swap (2 × 64m): v1 refuses a memory limit over memsw, so memsw goes first; then down again.
        let up = try box.run("update", "--memory", "200m", "c1")
        #expect(up.status == 0, "\(up.stderr)")
        #expect(try String(contentsOfFile: file(box, memory, v1: "memory", id), encoding: .utf8).hasPrefix("209715200"))
        #expect(try box.run("update", "--memory", "16m", "c1").status == 0)
        #expect(try String(contentsOfFile: file(box, memory, v1: "memory", id), encoding: .utf8).hasPrefix("16777216"))
    }

    @Test("update --cpu-period --cpu-quota --memory-reservation write the running container's cgroup; a bad period changes nothing")
    func updateCFS() throws {
        let box = try Sandbox()
        let id = try box.detached("--name", "c1", "busybox", "sleep", "1000")
        let r = try box.run("update", "--cpu-period", "50000", "--cpu-quota", "25000", "--memory-reservation", "8m", "c1")
        #expect(r.status == 0, "\(r.stderr)")
        func read(_ name: String, _ v1: String) throws -> String {
            try String(contentsOfFile: file(box, name, v1: v1, id), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if Cgroups.driver().mode == .unified {
            #expect(try read("cpu.max", "cpu") == "25000 50000")
            #expect(try read("memory.low", "memory") == "8388608")
        } else {
            #expect(try read("cpu.cfs_period_us", "cpu") == "50000")
            #expect(try read("cpu.cfs_quota_us", "cpu") == "25000")
            #expect(try read("memory.soft_limit_in_bytes", "memory") == "8388608")
        }
        #expect(try box.inspect("c1", "{{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}} {{.HostConfig.MemoryReservation}}") == "50000 25000 8388608")
        let bad = try box.run("update", "--cpu-period", "10", "c1")
        #expect(bad.status != 0 && bad.stderr.contains("CPU cfs period"), "\(bad.stderr)")
        #expect(try box.inspect("c1", "{{.HostConfig.CpuPeriod}}") == "50000")
    }

    @Test("CPU shares: two busy containers on one CPU share it about 1:4 for shares 256:1024")
    func cpuShares() throws {
        let box = try Sandbox()
        let low = try box.detached("--cpuset-cpus", "0", "--cpu-shares", "256", "busybox", "sh", "-c", "while true; do :; done")
        let high = try box.detached("--cpuset-cpus", "0", "--cpu-shares", "1024", "busybox", "sh", "-c", "while true; do :; done")
        let driver = Cgroups.driver()
        usleep(300_000)
        let a0 = driver.stats("box/" + low).cpuNanoseconds, b0 = driver.stats("box/" + high).cpuNanoseconds
        usleep(2_000_000)
        let a = Double(driver.stats("box/" + low).cpuNanoseconds - a0), b = Double(driver.stats("box/" + high).cpuNanoseconds - b0)
        #expect(a > 0 && b > 0)
        let ratio = b / max(a, 1)
        #expect(ratio > 2.5 && ratio < 6.5, "CPU time ratio 1024:256 was \(ratio), expected about 4")
    }

    @Test("stats reads CPU, memory and pids from the container's cgroup")
    func stats() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "busy", "-m", "64m", "busybox", "sh", "-c", "while true; do :; done")
        let r = try box.run("stats", "--no-stream", "busy")
        let row = try #require(r.stdout.split(separator: "\n").last).split(separator: " ", omittingEmptySubsequences: true)
        #expect(row.contains("busy") && row.contains("64.00MiB"), "\(r.stdout)")
        let cpu = Double(row[2].dropLast()) ?? 0
        #expect(cpu > 10, "a busy loop used \(cpu)% CPU")  // idle is 0; other tests share the 2 CPUs
        #expect(row.last == "1")
    }

    @Test("bad limits are refused before anything is created", arguments: [
        ["-m", "1k"], ["-m", "lots"], ["--cpu-shares", "1"], ["--cpus", "-1"], ["--pids-limit", "0"],
        ["--memory-swap", "1g"], ["--cpuset-cpus", "a-b"],
    ])
    func badLimits(flags: [String]) throws {
        let box = try Sandbox()
        let r = try box.run(["run"] + flags + ["busybox", "true"])
        #expect(r.status == 125, "\(r.stderr)")
        #expect(try box.run("ps", "-aq").out.isEmpty)
    }

    @Test("stats --all shows stopped containers too, with zeros")
    func statsAll() throws {
        let box = try Sandbox()
        try box.run("run", "--name", "done", "busybox", "true")
        #expect(try !box.run("stats", "--no-stream").stdout.contains("done"))
        let all = try box.run("stats", "-a", "--no-stream").stdout
        #expect(all.contains("done") && all.contains("0.00%"), "\(all)")
    }
}
