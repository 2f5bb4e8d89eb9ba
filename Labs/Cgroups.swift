#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seeds 002 ("Control Groups (cgroups)... We map each container to a cgroup and then we set limits on resources
/// like CPU and memory") and 003 ("docker run --cpu-shares=256", "docker run memory=1g"), with the seeds' verbs
/// (`docker pause`, `docker update`, `docker stats`): each limit and each verb, read back from the cgroup files
/// the kernel enforces, on a cgroup v1 host (memory.limit_in_bytes, cpu.shares, freezer.state) or a v2 one
/// (memory.max, cpu.weight, cgroup.freeze).
public let cgroupsLab = Lab("cgroups", "Control groups: shares, memory limits, the freezer, live updates") {
    Summary("""
    Give two CPU-bound containers 256 and 1024 CPU shares on one CPU and measure the split; let the OOM killer \
    end a container over its memory limit; find the limit files on the host; pause a container with the \
    freezer; change a limit on a running container; and read box stats.
    """)
    Seeds("002", "003")
    Minutes(30)
    Prerequisites("pid-namespaces")
    // Per-learner limits, so the numbers in the files are yours.
    Value("mib") { String(40 + $0.number("mib", below: 40)) }
    Value("mib2") { String(96 + $0.number("mib2", below: 40)) }
    Value("extra") { String(2 + $0.number("extra", below: 5)) }

    Step("shares", "--cpu-shares: a relative weight") {
        Instructions("""
        Seed 002: "Linux kernels have a feature called control groups (cgroups). It allows to group together \
        resource and apply limits. We map each container to a cgroup". Seed 003 runs \
        `docker run --cpu-shares=256`. Shares are a **weight**, not a limit: they only matter when processes \
        compete for a CPU. Make two containers compete, pinned to the same CPU (`--cpuset-cpus 0`), each \
        running an endless loop:
        ```
        sudo box run -d --name cpu-low  --cpuset-cpus 0 --cpu-shares 256  busybox sh -c 'while :; do :; done'
        sudo box run -d --name cpu-high --cpuset-cpus 0 --cpu-shares 1024 busybox sh -c 'while :; do :; done'
        ```
        Watch them for a few seconds with `top` (or `sudo box stats`): one gets about 80% of CPU 0, the other \
        about 20%. Each container's cgroup counts the CPU time it used: on cgroup v1 \
        `/sys/fs/cgroup/cpuacct/box/ID/cpuacct.usage` (nanoseconds), on cgroup v2 the `usage_usec` line of \
        `/sys/fs/cgroup/box/ID/cpu.stat`. Its weight is in `cpu.shares` (v1), or `cpu.weight` (v2, where 1024 \
        shares become 39 and 256 become 10):
        ```
        ID=$(sudo box inspect --format '{{.Id}}' cpu-high)
        cat /sys/fs/cgroup/cpu/box/$ID/cpu.shares /sys/fs/cgroup/cpuacct/box/$ID/cpuacct.usage   # v1
        cat /sys/fs/cgroup/box/$ID/cpu.weight /sys/fs/cgroup/box/$ID/cpu.stat                    # v2
        ```
        The check measures both counters over three seconds itself: keep both loops running.
        """)
        Check { ctx in
            var pids: [String: Proc] = [:]
            for (name, shares) in [("cpu-low", 256), ("cpu-high", 1024)] {
                let run = "sudo box run -d --name \(name) --cpuset-cpus 0 --cpu-shares \(shares) busybox sh -c 'while :; do :; done'"
                let (c, pid1) = try ctx.running(name, tryThis: run)
                try ctx.requireCreatedDuringStep(c, tryThis: "sudo box rm -f \(c.name); " + run)
                let weight = try require(CgroupFiles.cpuWeight(of: pid1.pid), expected: "the CPU weight of \(name)'s cgroup",
                                         observed: "no cpu.shares or cpu.weight file for it", tryThis: "lab doctor")
                let want = weight.file == "cpu.shares" ? Int64(shares) : CgroupFiles.weight(fromShares: Int64(shares))
                try require(weight.value == want, expected: "\(name)'s \(weight.file) to be \(want) (\(shares) shares)",
                            observed: "\(weight.file) is \(weight.value)", tryThis: "sudo box rm -f \(name); \(run)")
                let cpus = CgroupFiles.cpusetCPUs(of: pid1.pid)
                try require(cpus.count == 1, expected: "\(name) pinned to one CPU",
                            observed: "it may run on CPUs \(cpus.map(String.init).joined(separator: ","))",
                            tryThis: "sudo box rm -f \(name); \(run)")
                pids[name] = pid1
            }
            let low = pids["cpu-low"]!, high = pids["cpu-high"]!
            try require(CgroupFiles.cpusetCPUs(of: low.pid) == CgroupFiles.cpusetCPUs(of: high.pid), expected: "both containers on the same CPU",
                        observed: "cpu-low on CPU \(CgroupFiles.cpusetCPUs(of: low.pid)[0]), cpu-high on CPU \(CgroupFiles.cpusetCPUs(of: high.pid)[0])",
                        tryThis: "start both with --cpuset-cpus 0")
            // Measure: the two counters, three seconds apart.
            let seconds = 3.0
            guard let l0 = CgroupFiles.cpuUsage(of: low.pid), let h0 = CgroupFiles.cpuUsage(of: high.pid) else {
                throw Failure(expected: "the CPU accounting of both cgroups", observed: "no cpuacct.usage or cpu.stat file",
                              tryThis: "lab doctor")
            }
            usleep(UInt32(seconds * 1_000_000))
            guard low.isAlive, high.isAlive, let l1 = CgroupFiles.cpuUsage(of: low.pid), let h1 = CgroupFiles.cpuUsage(of: high.pid) else {
                throw Failure(expected: "both containers running while the check measures", observed: "one of them ended",
                              tryThis: "start them again and leave them running")
            }
            let dl = Double(l1 - l0) / 1e9, dh = Double(h1 - h0) / 1e9
            try require(dl + dh > 0.4 * seconds, expected: "the two loops to keep their CPU busy",
                        observed: "together they used \(fixed(dl + dh)) s of CPU in 3 s",
                        tryThis: "run the loops shown (while :; do :; done) as the containers' command")
            let ratio = dh / max(dl, 0.001)
            try require(ratio > 2.5 && ratio < 6.5, expected: "cpu-high to get about 4 times cpu-low's CPU time",
                        observed: "cpu-high used \(fixed(dh)) s, cpu-low \(fixed(dl)) s (\(fixed(ratio, 1))×)",
                        tryThis: "both need the same single CPU (--cpuset-cpus 0) and shares 1024 and 256")
            return .pass("in 3 s cpu-high used \(fixed(dh)) s of CPU, cpu-low \(fixed(dl)) s: \(fixed(ratio, 1))× (1024/256 = 4)")
        }
        Hint("Both must run on the same CPU: without `--cpuset-cpus 0` each loop gets a CPU of its own and the shares never matter.")
        Hint("`sudo box stats --no-stream` shows the split too (CPU %).")
        Solution("box run -d --name cpu-low --cpuset-cpus 0 --cpu-shares 256 busybox sh -c 'while :; do :; done'",
                 "box run -d --name cpu-high --cpuset-cpus 0 --cpu-shares 1024 busybox sh -c 'while :; do :; done'")
    }

    Step("oom", "-m 32m: over the limit, the OOM killer") {
        Instructions("""
        First stop the two loops, they would keep a CPU busy for the rest of the lab:
        ```
        sudo box rm -f cpu-low cpu-high
        ```
        Seed 003 limits memory (`docker run memory=1g`). A memory limit is not a weight: the kernel refuses to \
        let the cgroup hold more, and when it cannot reclaim anything, the **OOM killer** kills a process of \
        the cgroup. `tail /dev/zero` reads an endless line and keeps it all in memory:
        ```
        sudo box run --name oom-demo -m 32m busybox tail /dev/zero
        echo $?
        sudo box inspect --format '{{.State.OOMKilled}} {{.State.ExitCode}}' oom-demo
        sudo box events --since 5m     # (Ctrl-C stops it)
        ```
        137 = 128 + 9: killed by SIGKILL, sent by the kernel. `dmesg | tail` (on the host) shows the OOM \
        killer's report, with the cgroup's name.
        """)
        Check { ctx in
            for name in ["cpu-low", "cpu-high"] {
                if let c = ctx.containers().first(where: { $0.name == name }), c.state.Running {
                    throw Failure(expected: "the CPU loops stopped", observed: "\(name) still runs",
                                  tryThis: "sudo box rm -f cpu-low cpu-high")
                }
            }
            let run = "sudo box run --name oom-demo -m 32m busybox tail /dev/zero"
            let c = try ctx.container("oom-demo", tryThis: run)
            try ctx.requireCreatedDuringStep(c, tryThis: "sudo box rm -f \(c.name); " + run)
            let limit = c.spec.HostConfig.Resources?.Memory ?? 0
            try require(limit == 32 << 20, expected: "oom-demo with a 32 MiB memory limit (-m 32m)",
                        observed: limit == 0 ? "it has no memory limit" : "its limit is \(limit) bytes",
                        tryThis: "sudo box rm -f oom-demo; \(run)")
            let events = ctx.events().filter { $0.id == c.id }
            let died = try require(events.last { $0.action == "die" }, expected: "oom-demo to end",
                                   observed: c.state.Running ? "it still runs" : "no die event for it",
                                   tryThis: "give it a moment; tail /dev/zero must be its command")
            try require(events.contains { $0.action == "oom" } && c.state.OOMKilled,
                        expected: "the OOM killer to have ended it", observed: "it ended with exit code \(died.attributes["exitCode"] ?? "?") without an OOM kill",
                        tryThis: "sudo box rm -f oom-demo; \(run)")
            try require(died.attributes["exitCode"] == "137", expected: "exit code 137 (SIGKILL)",
                        observed: "exit code \(died.attributes["exitCode"] ?? "?")", tryThis: "sudo box rm -f oom-demo; \(run)")
            return .pass("oom-demo was killed by the OOM killer: OOMKilled true, exit code 137, signal \(died.attributes["signal"] ?? "?")")
        }
        Hint("Run it in the foreground (no -d): it ends by itself within a second or two.")
        Hint("`box kill` also gives 137, but no OOM kill: the kernel must do it.")
        Solution("box rm -f cpu-low cpu-high", "box run --name oom-demo -m 32m busybox tail /dev/zero || true")
    }

    Step("limit-files", "The limit, as the kernel holds it") {
        Instructions("""
        `-m` is not kept by box somewhere: box writes it to a file of the container's cgroup, and the kernel \
        enforces what the file says. Start a container with your own limit:
        ```
        sudo box run -d --name limits -m {{mib}}m busybox sleep 86400
        ```
        Find its cgroup from the host: `/proc/PID/cgroup` of its PID 1 names it (one line per v1 hierarchy, \
        `0::/box/ID` on v2):
        ```
        PID=$(sudo box inspect --format '{{.State.Pid}}' limits)
        cat /proc/$PID/cgroup
        ls /sys/fs/cgroup/memory/box/            # cgroup v1: one directory per container id
        ls /sys/fs/cgroup/box/                   # cgroup v2
        ```
        The limit is in `memory.limit_in_bytes` on cgroup v1, in `memory.max` on v2.
        """)
        Ask("Which file holds the memory limit of `limits`, and what number is in it?", answer: "PATH BYTES")
        Check { ctx in
            let run = "sudo box run -d --name limits -m \(ctx.value("mib"))m busybox sleep 86400"
            let (c, pid1) = try ctx.running("limits", tryThis: run)
            try ctx.requireCreatedDuringStep(c, tryThis: "sudo box rm -f \(c.name); " + run)
            let want = Int64(ctx.value("mib"))! << 20
            try require(c.spec.HostConfig.Resources?.Memory == want, expected: "limits started with -m \(ctx.value("mib"))m",
                        observed: "its limit is \(c.spec.HostConfig.Resources?.Memory ?? 0) bytes", tryThis: "sudo box rm -f limits; \(run)")
            let file = CgroupFiles.memoryLimitFile
            let path = try require(CgroupFiles.filePath(file, of: pid1.pid, controller: "memory"),
                                   expected: "limits' \(file)", observed: "no such file in its cgroup", tryThis: "lab doctor")
            let value = CgroupFiles.read(file, of: pid1.pid, controller: "memory") ?? ""
            let answer = try ctx.answerWords(2, tryThis: "lab answer /sys/fs/cgroup/.../\(file) NUMBER")
            try require(sameFile(answer[0], path), expected: "the path of limits' \(file)",
                        observed: "\(answer[0]) is \(Files.exists(answer[0]) ? "another file" : "no file")",
                        tryThis: "the directory is named after the container's full id: sudo box inspect --format '{{.Id}}' limits")
            try ctx.requireAnswered(answer[1], answer[1] == value, expected: "the number in that file", tryThis: "cat \(answer[0])")
            return .pass("\(path) holds \(value): the kernel's copy of -m \(ctx.value("mib"))m")
        }
        Hint("`sudo box inspect --format '{{.Id}}' limits` prints the full id, the name of the cgroup's directory.")
        Hint("On cgroup v1 the memory hierarchy is mounted at /sys/fs/cgroup/memory; on v2 there is one tree at /sys/fs/cgroup.")
        Solution("""
        box run -d --name limits -m {{mib}}m busybox sleep 86400
        id=$(box inspect --format '{{.Id}}' limits)
        if [ -f /sys/fs/cgroup/memory/box/$id/memory.limit_in_bytes ]; then f=/sys/fs/cgroup/memory/box/$id/memory.limit_in_bytes; else f=/sys/fs/cgroup/box/$id/memory.max; fi
        lab answer $f $(cat $f)
        """)
    }

    Step("pause", "box pause is the freezer") {
        Instructions("""
        The seeds list `docker pause`: "pauses a running container, freezing it in place". No signal is sent \
        (a process could catch or ignore one): the cgroup **freezer** stops scheduling every process of the \
        cgroup.
        ```
        sudo box pause limits
        sudo box ps
        grep State /proc/$PID/status
        ```
        On cgroup v1 box wrote `FROZEN` to `/sys/fs/cgroup/freezer/box/ID/freezer.state`; on v2 it wrote `1` to \
        `/sys/fs/cgroup/box/ID/cgroup.freeze` (and `cgroup.events` says `frozen 1` once it is done). Read \
        the file. Leave `limits` paused for now.
        """)
        Ask("Which file did box write to freeze `limits`?", answer: "PATH")
        Check { ctx in
            let (c, pid1) = try ctx.running("limits", tryThis: "start it again (step 3), then: sudo box pause limits")
            try require(ctx.events().contains { $0.id == c.id && $0.action == "pause" } && c.state.Paused,
                        expected: "limits paused with box pause during this step",
                        observed: c.state.Paused ? "it was paused before this step" : "it is \(c.state.Status.rawValue)",
                        tryThis: c.state.Paused ? "sudo box unpause limits; sudo box pause limits" : "sudo box pause limits")
            let (file, frozen) = CgroupFiles.freezer
            let path = try require(CgroupFiles.filePath(file, of: pid1.pid, controller: "freezer"), expected: "limits' \(file)",
                                   observed: "no such file in its cgroup", tryThis: "lab doctor")
            let value = CgroupFiles.read(file, of: pid1.pid, controller: "freezer") ?? ""
            try require(value == frozen, expected: "\(file) to say \(frozen)", observed: "it says \(value)",
                        tryThis: "sudo box unpause limits; sudo box pause limits")
            let answer = try require(ctx.answer, expected: "an answer: lab answer PATH", observed: "no answer yet",
                                     tryThis: "lab answer /sys/fs/cgroup/.../\(file)")
            try require(answer.count == 1 && sameFile(answer[0], path), expected: "the path of the file box wrote",
                        observed: "you answered \(answer.joined(separator: " "))", tryThis: "it is \(file) in limits' cgroup directory")
            return .pass("\(path) says \(value); PID 1 (host PID \(pid1.pid)) is in state \(Proc.read(pid1.pid)?.state ?? "?")")
        }
        Hint("cgroup v1: the freezer is a hierarchy of its own, /sys/fs/cgroup/freezer. cgroup v2: the file is in the container's one directory.")
        Solution("""
        box pause limits
        id=$(box inspect --format '{{.Id}}' limits)
        if [ -f /sys/fs/cgroup/freezer/box/$id/freezer.state ]; then lab answer /sys/fs/cgroup/freezer/box/$id/freezer.state; else lab answer /sys/fs/cgroup/box/$id/cgroup.freeze; fi
        """)
    }

    Step("update", "box update: a new limit, same container") {
        Instructions("""
        Thaw it, then change its memory limit **while it runs**, as `docker update` does:
        ```
        sudo box unpause limits
        sudo box update -m {{mib2}}m limits
        cat /sys/fs/cgroup/memory/box/$ID/memory.limit_in_bytes     # v1
        cat /sys/fs/cgroup/box/$ID/memory.max                        # v2
        sudo box inspect --format '{{.State.Pid}}' limits
        ```
        No restart: PID 1 is the same process, the kernel enforces the new number from now on. (Lower the \
        limit below what a container uses and the OOM killer acts at once.)
        """)
        StepSetup { ctx in
            guard let (_, pid1) = try? ctx.running("limits", tryThis: "") else { return }
            try ctx.remember("limits-pid1", "\(pid1.pid):\(pid1.startTicks)")
        }
        Check { ctx in
            let (c, pid1) = try ctx.running("limits", tryThis: "sudo lab reset cgroups and do the lab again: limits must run")
            try require(ctx.data["limits-pid1"] == "\(pid1.pid):\(pid1.startTicks)", expected: "the same limits as when the step began",
                        observed: "its PID 1 is another process now (it was started again)",
                        tryThis: "box update changes a running container: no need to restart it. sudo lab reset cgroups to start over")
            try require(!c.state.Paused, expected: "limits running, not paused", observed: "it is paused", tryThis: "sudo box unpause limits")
            try require(ctx.events().contains { $0.id == c.id && $0.action == "update" }, expected: "box update on limits during this step",
                        observed: "no update event", tryThis: "sudo box update -m \(ctx.value("mib2"))m limits")
            let want = String(Int64(ctx.value("mib2"))! << 20)
            let value = CgroupFiles.read(CgroupFiles.memoryLimitFile, of: pid1.pid, controller: "memory") ?? "?"
            try require(value == want, expected: "\(CgroupFiles.memoryLimitFile) to hold \(want) (\(ctx.value("mib2")) MiB)",
                        observed: "it holds \(value)", tryThis: "sudo box update -m \(ctx.value("mib2"))m limits")
            return .pass("\(CgroupFiles.memoryLimitFile) now holds \(value), and PID 1 is still host PID \(pid1.pid)")
        }
        Hint("`box update` takes the same -m as `box run`.")
        Solution("box unpause limits", "box update -m {{mib2}}m limits")
    }

    Step("stats", "box stats reads the same files") {
        Instructions("""
        `docker stats` "shows containers' resource usage statistics": box's reads them from the cgroup, \
        CPU from cpuacct.usage / cpu.stat, memory from memory.usage_in_bytes / memory.current, and the number \
        of processes from `pids.current`. Give `limits` a few more processes, then look:
        ```
        sudo box exec limits sh -c 'for i in $(seq {{extra}}); do sleep 86400 </dev/null >/dev/null 2>&1 & done'
        sudo box stats --no-stream limits
        cat /sys/fs/cgroup/pids/box/$ID/pids.current   # v1 (v2: /sys/fs/cgroup/box/$ID/pids.current)
        ```
        """)
        Ask("How many processes does box stats count in `limits` now (the PIDS column)?", answer: "NUMBER")
        Check { ctx in
            let (_, pid1) = try ctx.running("limits", tryThis: "sudo lab reset cgroups and do the lab again: limits must run")
            let fresh = ctx.processes(in: pid1).filter { $0.started(after: ctx.clock) && $0.comm == "sleep" }
            let extra = Int(ctx.value("extra"))!
            try require(fresh.count >= extra, expected: "\(extra) more sleeps in limits, started during this step",
                        observed: "\(fresh.count) started", tryThis: "sudo box exec limits sh -c 'for i in $(seq \(extra)); do sleep 86400 </dev/null >/dev/null 2>&1 & done'")
            let current = try require(CgroupFiles.read("pids.current", of: pid1.pid, controller: "pids").flatMap { Int($0) },
                                      expected: "limits' pids.current", observed: "no such file", tryThis: "lab doctor")
            let answer = try ctx.numericAnswer(count: 1)
            try ctx.requireAnswered(answer[0], answer[0] == current, expected: "the PIDS column", tryThis: "sudo box stats --no-stream limits")
            return .pass("pids.current of limits' cgroup is \(current), what box stats shows")
        }
        Hint("Answer with a number only: `lab answer 4`.")
        Solution("box exec limits sh -c 'for i in $(seq {{extra}}); do sleep 86400 </dev/null >/dev/null 2>&1 & done'",
                 "lab answer $(box stats --no-stream limits | awk 'NR == 2 {print $NF}')")
    }
}

/// Both paths name the same file (a path through a symlink, cpu,cpuacct, or with // counts).
private func sameFile(_ a: String, _ b: String) -> Bool {
    var sa = stat(), sb = stat()
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
}

/// `x` with `digits` decimals (no Foundation here).
private func fixed(_ x: Double, _ digits: Int = 2) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int((x * scale).rounded())
    let whole = String(n / Int(scale)), frac = String(abs(n) % Int(scale))
    return digits == 0 ? whole : whole + "." + String(repeating: "0", count: digits - frac.count) + frac
}
