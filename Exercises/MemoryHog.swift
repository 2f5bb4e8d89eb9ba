#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 001 ("What happens when we issue a kill command on the containerised process? kill -9 <pid>") and
/// seed 000 ("It is just a process so you can kill it ... and see it in /proc"), as a challenge: three
/// containers you did not start, one of them eating memory. Find it from the host and end it, without `box`.
public let memoryHog = Exercise("memory-hog", "Find and end a runaway container process from the host") {
    Summary("""
    Three containers run on this machine; one of them holds far more memory than the others. Find its \
    process from the host and end it with the host's own tools: no box command may do it.
    """)
    Seeds("000", "001")
    Minutes(15)
    Prerequisites("pid-namespaces")

    LabSetup { ctx in
        // The same program in all three; only the hog keeps 48 MiB in a shell variable.
        let hog = ctx.learner.pick("hog", from: ["ex-api", "ex-cache", "ex-worker"])
        for name in ["ex-api", "ex-cache", "ex-worker"] {
            let mib = name == hog ? 48 : 1
            try ctx.box("run", "-d", "--name", name, "--label", "boxlab.lab=memory-hog", "busybox", "sh", "-c",
                        "buf=$(head -c \(mib << 20) /dev/zero | tr '\\0' x); while :; do sleep 3600; done")
            let c = try ctx.container(name, tryThis: "")
            try ctx.remember(name == hog ? "hog" : "decoy-\(name)", c.id)
            // A decoy killed and started again is not "kept running": its PID 1 must be the one started here.
            if name != hog, let pid1 = Proc.read(c.state.Pid) { try ctx.remember("pid1:" + name, "\(pid1.pid):\(pid1.startTicks)") }
        }
        // The exercise begins once the hog holds its memory (tr needs a moment to fill 48 MiB).
        let c = try ctx.container(hog, tryThis: "")
        for _ in 0..<100 {
            if let p = Proc.read(c.state.Pid), p.rssKiB > 40 << 10 { return }
            usleep(100_000)
        }
        throw Failure(expected: "\(hog) to fill its memory", observed: "it did not within 10 s", tryThis: "lab doctor")
    }

    Goal("End the process that eats memory, from the host, without box") {
        Instructions("""
        One of the containers `ex-api`, `ex-cache` and `ex-worker` holds tens of MiB more memory than the \
        others. Find it **from the host** and end it with `kill`, not with `box`. The other two must \
        keep running.

        Tools you know: `ps`, `/proc/PID/status`, `pstree`, `box ps`, `box inspect`, `box top`.
        """)
        Check { ctx in
            let hogID = try require(ctx.data["hog"], expected: "the exercise's containers", observed: "the setup did not run",
                                    tryThis: "lab reset memory-hog, then lab start memory-hog")
            let hog = try ctx.container(hogID, tryThis: "lab reset memory-hog, then lab start memory-hog")
            let died: Event
            do {
                died = try ctx.diedBySignalNotFromBox(hog.name, tryThis: "compare the VmRSS of each container's processes (ps -eo pid,rss,comm on the host)")
            } catch let f as Failure where hog.state.Running {
                throw Failure(expected: "the memory-hungry process gone", observed: "one container still holds the memory", tryThis: f.tryThis)
            }
            for name in ["ex-api", "ex-cache", "ex-worker"] where name != hog.name {
                _ = try ctx.samePID1(name, tryThis: "end only the container that holds the memory: sudo lab reset memory-hog and try again")
            }
            return .pass("\(hog.name)'s PID 1 died of signal \(died.signal ?? 0), and no box command did it; the others still run")
        }
        Hint("`ps -eo pid,rss,args --sort=-rss | head` lists the biggest processes first; `box top NAME` shows each container's processes with host PIDs.")
        Hint("The process is PID 1 of its container. PID 1 ignores signals it has no handler for, even from the host, except SIGKILL: `kill -9`.")
        Solution("""
        hog=$(for c in ex-api ex-cache ex-worker; do pid=$(box inspect --format '{{.State.Pid}}' $c); \
        echo "$(awk '/^VmRSS/ {print $2}' /proc/$pid/status) $pid"; done | sort -n | tail -1 | cut -d' ' -f2)
        kill -9 $hog
        """)
    }
}
