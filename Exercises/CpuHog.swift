#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seeds 002 ("We map each container to a cgroup and then we set limits on resources like CPU") and 003
/// (`docker update`: "updates a container's resource limits"), as a challenge: three containers with the same
/// command, one of them spinning on a CPU. Find it from the cgroups' CPU accounting and cap it live, without
/// restarting it.
public let cpuHog = Exercise("cpu-hog", "Find the container that burns CPU and cap it live") {
    Summary("""
    Three containers run the same command; one of them keeps a CPU busy. Find it from the cgroups' CPU \
    accounting and cap it to 0.2 CPU with box update, without restarting it and without touching the others.
    """)
    Seeds("002", "003")
    Minutes(15)
    Prerequisites("cgroups")

    LabSetup { ctx in
        let names = ["busy-api", "busy-cache", "busy-worker"]
        let hog = ctx.learner.pick("cpu-hog", from: names)
        // One command for all three: a loop that sleeps, unless /spin exists. Only the hog gets /spin, so one
        // loop spins (one CPU at most, never more) and `box ps` shows nothing to tell them apart.
        for name in names {
            try ctx.box("run", "-d", "--name", name, "--label", "boxlab.lab=cpu-hog", "busybox", "sh", "-c",
                        "while :; do if [ -e /spin ]; then :; else sleep 1; fi; done")
            let c = try ctx.container(name, tryThis: "")
            try ctx.remember(name == hog ? "hog" : "decoy-\(name)", c.id)
            if name == hog { try ctx.remember("hog-pid1", "\(c.state.Pid):\(Proc.read(c.state.Pid)?.startTicks ?? 0)") }
        }
        try ctx.box("exec", hog, "touch", "/spin")
        // The exercise begins once the hog spins (its loop notices /spin within a second).
        let c = try ctx.container(hog, tryThis: "")
        guard let before = CgroupFiles.cpuUsage(of: c.state.Pid) else { throw Failure(expected: "\(hog)'s CPU accounting", observed: "no file", tryThis: "lab doctor") }
        for _ in 0..<50 {
            usleep(100_000)
            if let now = CgroupFiles.cpuUsage(of: c.state.Pid), now - before > 300_000_000 { return }
        }
        throw Failure(expected: "\(hog) to spin", observed: "it did not use a CPU within 5 s", tryThis: "lab doctor")
    }

    Goal("Cap the CPU hog to 0.2 CPU, live") {
        Instructions("""
        `busy-api`, `busy-cache` and `busy-worker` run the same command, but one of them keeps a CPU busy. \
        Find which from the host, **from the cgroups' CPU accounting** (cpuacct.usage on cgroup v1, \
        cpu.stat's usage_usec on v2; two readings a second apart), then limit it to **0.2 CPU** while it \
        runs: no restart, its PID 1 must stay the same process. The other two must stay uncapped and running.

        Tools you know: `box inspect`, `/sys/fs/cgroup/...`, `box stats`, `box update`.
        """)
        Check { ctx in
            let hogID = try require(ctx.data["hog"], expected: "the exercise's containers", observed: "the setup did not run",
                                    tryThis: "lab reset cpu-hog, then lab start cpu-hog")
            let hog = try ctx.container(hogID, tryThis: "lab reset cpu-hog, then lab start cpu-hog")
            let pid1 = Proc.read(hog.state.Pid)
            try require(hog.state.Running && pid1.map { "\($0.pid):\($0.startTicks)" } == ctx.data["hog-pid1"],
                        expected: "the CPU hog still running, with the PID 1 it had at the start",
                        observed: hog.state.Running ? "it was restarted" : "it is \(hog.state.Status.rawValue)",
                        tryThis: "the goal is a live change: lab reset cpu-hog, lab start cpu-hog, and use box update")
            try require(!hog.state.Paused, expected: "no container paused", observed: "the one that spins is paused", tryThis: "sudo box unpause NAME")
            let quota = CgroupFiles.cpuQuota(of: hog.state.Pid)
            try require(ctx.events().contains { $0.id == hogID && $0.action == "update" } && quota.map { $0 > 0 } == true,
                        expected: "the hog's CPU quota set with box update", observed: "none of the containers that spins has a quota",
                        tryThis: "measure each container's CPU time twice, a second apart: the one that grows by about a second is it")
            // The messages never name a container: which one spins is what the learner has to find out.
            try require(quota! <= 0.2 + 1e-9, expected: "at most 0.2 CPU for the container that spins",
                        observed: "its quota allows \(quota!) CPU", tryThis: "box update --cpus 0.2 on the one whose CPU time grows fastest")
            // Uncapped: no quota, or one no smaller than the machine (box update cannot remove a quota, only raise it).
            let online = Double(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
            var capped = 0
            for id in ctx.data.filter({ $0.key.hasPrefix("decoy-") }).map(\.value) {
                let c = try ctx.container(id, tryThis: "lab reset cpu-hog, then lab start cpu-hog")
                try require(c.state.Running && !c.state.Paused, expected: "the other containers still running",
                            observed: "\(c.name) is \(c.state.Status.rawValue)", tryThis: "leave the others alone: lab reset cpu-hog and try again")
                if let q = CgroupFiles.cpuQuota(of: c.state.Pid), q < online { capped += 1 }
            }
            try require(capped == 0, expected: "the containers that do not spin left uncapped",
                        observed: "\(capped) of them \(capped == 1 ? "has" : "have") a CPU quota below the machine's \(Int(online)) CPUs",
                        tryThis: "box update --cpus \(Int(online)) NAME gives a container its CPUs back")
            return .pass("\(hog.name) is capped to \(quota!) CPU, live (PID 1 still host PID \(hog.state.Pid)); the others are uncapped")
        }
        Hint("`sudo box inspect --format '{{.Id}}' NAME` gives the cgroup's directory name; `cat` its cpuacct.usage (v1, under /sys/fs/cgroup/cpuacct/box/) or cpu.stat (v2, under /sys/fs/cgroup/box/) twice.")
        Hint("`box update --cpus 0.2 NAME` writes a CFS quota: cpu.cfs_quota_us 20000 per cpu.cfs_period_us 100000 (v1), or cpu.max \"20000 100000\" (v2).")
        Solution("""
        usage() { id=$(box inspect --format '{{.Id}}' $1); if [ -f /sys/fs/cgroup/cpuacct/box/$id/cpuacct.usage ]; then cat /sys/fs/cgroup/cpuacct/box/$id/cpuacct.usage; else echo $(( $(awk '/^usage_usec/ {print $2}' /sys/fs/cgroup/box/$id/cpu.stat) * 1000 )); fi; }
        b1=$(usage busy-api); b2=$(usage busy-cache); b3=$(usage busy-worker)
        sleep 1
        hog=$( (echo "$(( $(usage busy-api) - b1 )) busy-api"; echo "$(( $(usage busy-cache) - b2 )) busy-cache"; \
        echo "$(( $(usage busy-worker) - b3 )) busy-worker") | sort -n | tail -1 | cut -d' ' -f2)
        box update --cpus 0.2 $hog
        """)
    }
}
