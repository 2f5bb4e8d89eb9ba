#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 003 ("docker stop sends SIGTERM signal to process of id 1", "docker kill vs stop", "One Process per
/// container", "docker top", "Ctrl + P + Q", "Restart the exited container": start, attach, ps -l) and seed 004
/// ("Container Management": stop, kill -s, PID1; "One process per Container"; "docker ps -l"; start + attach):
/// what stop and kill do to PID 1, why a PID 1 without a handler needs the SIGKILL, and what --init changes.
public let pid1AndStop = Lab("pid1-and-stop", "PID 1, stop and kill, --init, attach and detach") {
    Summary("""
    See box stop wait ten seconds for a PID 1 that ignores SIGTERM, and stop at once one that traps it; send \
    signals of your choice with box kill -s; let --init forward them; restart an exited container, attach \
    to it and leave it running with Ctrl-P Ctrl-Q.
    """)
    Seeds("003", "004")
    Minutes(25)
    Prerequisites("pid-namespaces")
    Value("seconds") { String(4000 + $0.number("pid1-sleep", below: 900)) }
    // An exit code of your own for the trap: never 0, 1, 2 or anything 128+N.
    Value("code") { String(3 + $0.number("pid1-code", below: 120)) }
    Value("signal") { $0.pick("pid1-signal", from: ["HUP", "USR1", "USR2"]) }

    Step("stop-ignored", "box stop: SIGTERM to PID 1, which ignores it") {
        Instructions("""
        Seed 003: *docker stop sends SIGTERM signal to process of id 1*. But PID 1 of a PID namespace is \
        special: the kernel delivers it only the signals it has a **handler** for (SIGKILL excepted). `sleep` \
        has none. Start one as PID 1 and look at its caught-signals mask:
        ```
        sudo box run -d --name pid1-sleep busybox sleep {{seconds}}
        sudo box exec pid1-sleep grep SigCgt /proc/1/status
        ```
        `SigCgt: 0000000000000000`: no handler at all. Now stop it, and time it:
        ```
        time sudo box stop pid1-sleep
        sudo box ps -a
        ```
        Ten seconds of nothing (the grace period, `-t` changes it), then box sends SIGKILL: `Exited (137)`, \
        128 + 9.
        """)
        Check { ctx in
            let c = try ctx.container("pid1-sleep", tryThis: "sudo box run -d --name pid1-sleep busybox sleep \(ctx.value("seconds"))")
            try require(c.spec.Path == "sleep" || c.spec.Path.hasSuffix("/sleep"), expected: "pid1-sleep's PID 1 to be sleep",
                        observed: "it runs \(([c.spec.Path] + c.spec.Args).joined(separator: " "))",
                        tryThis: "sudo box rm -f pid1-sleep; sudo box run -d --name pid1-sleep busybox sleep \(ctx.value("seconds"))")
            let events = ctx.events().filter { $0.id == c.id }
            let stop = try require(events.last { $0.is(.stop) }, expected: "box stop pid1-sleep during this step",
                                   observed: c.state.Running ? "pid1-sleep still runs" : "pid1-sleep was not stopped since the step began",
                                   tryThis: c.state.Running ? "time sudo box stop pid1-sleep" : "sudo box start pid1-sleep; time sudo box stop pid1-sleep")
            try require(events.contains { $0.is(.kill) && $0.signal == SIGTERM && $0.time < stop.time },
                        expected: "stop to send SIGTERM first", observed: "no SIGTERM was sent", tryThis: "use box stop, not box kill")
            try require(stop.attributes["killed"] == "true", expected: "SIGTERM to be ignored, so that stop needs SIGKILL",
                        observed: "PID 1 ended on SIGTERM", tryThis: "start it with `sleep` as PID 1, no shell and no --init")
            let died = events.last { $0.is(.die) }
            return .pass("SIGTERM changed nothing; after the grace period SIGKILL ended it: exit code \(died?.exitCode.map(String.init) ?? "137")")
        }
        Hint("`box stop` waits 10 seconds before the SIGKILL: let it. `sudo box stop -t 2 pid1-sleep` waits only 2.")
        Hint("If pid1-sleep has exited already, `sudo box start pid1-sleep` runs it again.")
        Solution("box run -d --name pid1-sleep busybox sleep {{seconds}}", "box stop -t 1 pid1-sleep")
    }

    Step("trap", "A PID 1 with a handler stops at once") {
        Instructions("""
        A program that wants a clean shutdown handles SIGTERM. In a shell that is `trap`; here PID 1 exits \
        with a code of your own, {{code}}, when it gets SIGTERM:
        ```
        sudo box run -d --name pid1-trap busybox sh -c 'trap "echo caught TERM; exit {{code}}" TERM; while :; do sleep 1; done'
        sudo box exec pid1-trap grep SigCgt /proc/1/status
        time sudo box stop pid1-trap
        sudo box ps -a
        sudo box logs pid1-trap
        ```
        `SigCgt: 0000000000014002`: the `4` is SIGTERM's bit (signal 15 is bit 14, `0x4000`; the shell \
        catches SIGINT and SIGCHLD for itself). The stop takes at most a second (the loop's `sleep 1` \
        finishes first), and the container is `Exited ({{code}})`: the code the trap chose, no SIGKILL.
        """)
        Check { ctx in
            let c = try ctx.container("pid1-trap", tryThis: "start it as shown in the instructions")
            let events = ctx.events().filter { $0.id == c.id }
            let stop = try require(events.last { $0.is(.stop) }, expected: "box stop pid1-trap during this step",
                                   observed: c.state.Running ? "pid1-trap still runs" : "pid1-trap was not stopped since the step began",
                                   tryThis: c.state.Running ? "time sudo box stop pid1-trap" : "sudo box start pid1-trap; time sudo box stop pid1-trap")
            try require(stop.attributes["killed"] == nil, expected: "PID 1 to end on SIGTERM, before the grace period",
                        observed: "box stop had to send SIGKILL: PID 1 ignored SIGTERM",
                        tryThis: "sudo box rm pid1-trap, and start it again with the trap exactly as shown")
            let died = try require(events.last { $0.is(.die) },
                                   expected: "pid1-trap to end", observed: "no exit recorded", tryThis: "time sudo box stop pid1-trap")
            let code = died.exitCode.map(String.init) ?? "?"
            try require(died.signal == nil && code == ctx.value("code"),
                        expected: "PID 1 to exit with your code \(ctx.value("code")), from the trap",
                        observed: died.signal.map { "it died of signal \($0)" } ?? "it exited with code \(code)",
                        tryThis: "sudo box rm pid1-trap; start it again with: trap \"echo caught TERM; exit \(ctx.value("code"))\" TERM")
            return .pass("SIGTERM ran the trap: PID 1 exited with code \(code), without waiting for SIGKILL")
        }
        Hint("Copy the `box run` line whole: the trap is in double quotes inside the single-quoted script.")
        Solution("box run -d --name pid1-trap busybox sh -c 'trap \"echo caught TERM; exit {{code}}\" TERM; while :; do sleep 1; done'",
                 "sleep 0.3", "box stop pid1-trap")
    }

    Step("kill-s", "box kill -s: any signal, to PID 1") {
        Instructions("""
        Seed 004: `docker kill` is the *brute force approach, no graceful termination*: SIGKILL, unless \
        `-s` names another signal. Both act on PID 1. Start a PID 1 that handles SIG{{signal}} only, and send \
        it that signal, then SIGTERM, then the default:
        ```
        sudo box run -d --name pid1-sig busybox sh -c 'trap "echo got {{signal}}" {{signal}}; while :; do sleep 1; done'
        sudo box kill -s {{signal}} pid1-sig
        sleep 1; sudo box logs pid1-sig
        sudo box kill -s TERM pid1-sig
        sudo box ps
        sudo box kill pid1-sig
        sudo box ps -a
        ```
        The handled signal is logged and PID 1 goes on; SIGTERM, unhandled, changes nothing (it still runs); \
        `box kill` without `-s` sends SIGKILL at once: `Exited (137)`, no grace period.
        """)
        Check { ctx in
            let c = try ctx.container("pid1-sig", tryThis: "start it as shown in the instructions")
            let name = ctx.value("signal")
            let log = ctx.output(of: c)
            // The container's runs since the step began, each up to its end (a die): one run must get the
            // three signals in order, and end on the last.
            var runs: [[Event]] = [[]]
            for e in ctx.events() where e.id == c.id {
                runs[runs.count - 1].append(e)
                if e.is(.die) { runs.append([]) }
            }
            runs = runs.filter { !$0.isEmpty }
            let wanted = [signalNumber(name), SIGTERM, SIGKILL]
            func sent(_ run: [Event]) -> Int {
                var n = 0
                for e in run where e.is(.kill) && n < wanted.count && e.signal == wanted[n] { n += 1 }
                return n
            }
            let done = runs.first { sent($0) == wanted.count && $0.last?.is(.die) == true }
            if done == nil {
                let last = runs.last ?? []
                let ended = last.last.flatMap { $0.is(.die) ? $0 : nil }
                if let ended, sent(last) < wanted.count {
                    throw Failure(expected: "PID 1 to survive SIG\(name) and SIGTERM, and end on SIGKILL",
                                  observed: "it exited (code \(ended.exitCode.map(String.init) ?? "?")) before it got all three",
                                  tryThis: "sudo box start pid1-sig, then send -s \(name), -s TERM, and no -s, in that order")
                }
                switch sent(last) {
                case 0: throw Failure(expected: "box kill -s \(name) pid1-sig during this step", observed: "no SIG\(name) was sent to it",
                                      tryThis: "sudo box kill -s \(name) pid1-sig")
                case 1: throw Failure(expected: "box kill -s TERM pid1-sig after it", observed: "no SIGTERM sent after SIG\(name)",
                                      tryThis: "sudo box kill -s TERM pid1-sig")
                default: throw Failure(expected: "then box kill pid1-sig (SIGKILL)", observed: c.state.Running ? "pid1-sig still runs" : "it has not ended yet",
                                       tryThis: "sudo box kill pid1-sig")
                }
            }
            try require(log.contains { $0.contains("got \(name)") }, expected: "PID 1's trap to log \"got \(name)\"",
                        observed: "its log has no such line", tryThis: "start pid1-sig with the trap exactly as shown (sudo box rm -f pid1-sig first)")
            let died = done!.last!
            return .pass("SIG\(ctx.value("signal")) ran the handler, SIGTERM was ignored, SIGKILL ended it (exit code \(died.exitCode.map(String.init) ?? "137"))")
        }
        Hint("`box kill -s` takes a name (`HUP`, `SIGHUP`) or a number; `kill -l` on the host lists them.")
        Hint("Send them in this order: -s {{signal}}, -s TERM, then no -s.")
        Solution("box run -d --name pid1-sig busybox sh -c 'trap \"echo got {{signal}}\" {{signal}}; while :; do sleep 1; done'",
                 "sleep 0.3", "box kill -s {{signal}} pid1-sig", "sleep 1.5", "box kill -s TERM pid1-sig", "sleep 0.3", "box kill pid1-sig")
    }

    Step("init-top", "One process per container, and --init") {
        Instructions("""
        Seeds 003 and 004: *one process per container*: PID 1 is the application. `box top` lists what a \
        container runs, with each process's PID on the host and inside (CPID). With `--init`, box puts a tiny \
        init in front: `box-init` is PID 1, and it has a handler for SIGTERM and the other usual signals, \
        which it **forwards** to its only child, your command:
        ```
        sudo box run -d --init --name pid1-init busybox sleep {{seconds}}
        sudo box top pid1-init
        ```
        box-init is CPID 1 and sleep CPID 2, a plain process, to which signals are delivered as anywhere.
        """)
        Ask("Which host PIDs do box-init and sleep have in pid1-init?", answer: "INIT SLEEP")
        Check { ctx in
            let (c, pid1) = try ctx.running("pid1-init", tryThis: "sudo box run -d --init --name pid1-init busybox sleep \(ctx.value("seconds"))")
            try ctx.requireCreatedDuringStep(c, tryThis: "sudo box rm -f pid1-init, then start it again")
            try require(c.spec.HostConfig.Init == true && pid1.comm == "box-init", expected: "pid1-init started with --init (PID 1 box-init)",
                        observed: "its PID 1 is \(pid1.comm)",
                        tryThis: "sudo box rm -f pid1-init; sudo box run -d --init --name pid1-init busybox sleep \(ctx.value("seconds"))")
            let sleep = try require(ctx.processes(in: pid1).first { $0.ppid == pid1.pid && $0.comm == "sleep" },
                                    expected: "sleep running under box-init", observed: "box-init has no sleep child",
                                    tryThis: "start it as shown: the command after the image is init's child")
            try ctx.requireAnswer(numbers: [Int(pid1.pid), Int(sleep.pid)],
                                  tryThis: "sudo box top pid1-init: the PID column of the box-init line (CPID 1), then of the sleep line (CPID 2)")
            return .pass("box-init is \(pid1.pid) on the host (1 inside), sleep \(sleep.pid) (\(sleep.nsPids.last ?? 0) inside), its child")
        }
        Hint("Answer with two numbers, init first: `lab answer 1234 1235`.")
        Solution("box run -d --init --name pid1-init busybox sleep {{seconds}}",
                 "lab answer $(box top pid1-init | awk '$4 == 1 {print $2}') $(box top pid1-init | awk '$4 == 2 {print $2}')")
    }

    Step("init-stop", "Stop with --init: forwarded, quick") {
        Instructions("""
        The same `sleep` that made `box stop` wait ten seconds in step 1 is now not PID 1:
        ```
        time sudo box stop pid1-init
        sudo box ps -a
        ```
        Immediate. box-init forwarded SIGTERM to sleep, which died of it (no handler needed outside PID 1), and \
        box-init exited with sleep's status: `Exited (143)`, 128 + 15, where step 1 showed 137 (SIGKILL).
        """)
        Check { ctx in
            let c = try ctx.container("pid1-init", tryThis: "start it again (previous step)")
            try require(c.spec.HostConfig.Init == true, expected: "pid1-init started with --init", observed: "it has no init",
                        tryThis: "sudo box rm -f pid1-init; sudo box run -d --init --name pid1-init busybox sleep \(ctx.value("seconds"))")
            let events = ctx.events().filter { $0.id == c.id }
            let stop = try require(events.last { $0.is(.stop) }, expected: "box stop pid1-init during this step",
                                   observed: c.state.Running ? "pid1-init still runs" : "it was not stopped since the step began",
                                   tryThis: c.state.Running ? "time sudo box stop pid1-init" : "sudo box start pid1-init; time sudo box stop pid1-init")
            try require(stop.attributes["killed"] == nil, expected: "the stop to end PID 1 on SIGTERM",
                        observed: "box stop had to send SIGKILL", tryThis: "sudo box start pid1-init; sudo box stop pid1-init")
            let died = try require(events.last { $0.is(.die) }, expected: "pid1-init to end", observed: "no exit recorded",
                                   tryThis: "time sudo box stop pid1-init")
            let code = died.exitCode.map(String.init) ?? "?"
            return .pass("box-init forwarded SIGTERM; sleep died of it and init exited with \(code) (128 + 15), no SIGKILL")
        }
        Solution("box stop pid1-init")
    }

    Step("start-attach", "Start an exited container again, and attach") {
        Instructions("""
        Seed 004: *container run 的东西结束了，container 也就停止了* (when what the container runs ends, the \
        container stops), and `docker start` + `docker attach` bring it back. Make one, leave its shell:
        ```
        sudo box run -it --name pid1-sh busybox sh
        exit
        ```
        `box ps -l` shows the **latest** container created, whatever its state (seed 003: *will give you last \
        exited container status*):
        ```
        sudo box ps -l
        ```
        Start it again (the same command, in the same writable layer: files you made are still there), and \
        attach your terminal to its new PID 1:
        ```
        sudo box start pid1-sh
        sudo box attach pid1-sh
        ```
        Press Enter for a prompt; `echo $$` says 1. Stay attached, and answer in another terminal.
        """)
        Ask("Which container id does `box ps -l` show?", answer: "ID")
        Check { ctx in
            let c = try ctx.container("pid1-sh", tryThis: "sudo box run -it --name pid1-sh busybox sh   (then exit)")
            try require(c.spec.Config.Tty && c.spec.Config.OpenStdin, expected: "pid1-sh made with -it",
                        observed: "it has no terminal", tryThis: "sudo box rm -f pid1-sh; sudo box run -it --name pid1-sh busybox sh")
            let answer = try require(ctx.answer?.first, expected: "an id: lab answer ID", observed: "no answer yet",
                                     tryThis: "sudo box ps -l, then lab answer with the CONTAINER ID column")
            let latest = ctx.containers().max { $0.spec.Created < $1.spec.Created }
            try ctx.requireAnswered(answer, answer.count >= 12 && latest?.id.hasPrefix(answer.lowercased()) == true,
                                    expected: "the id of the latest container", tryThis: "copy the CONTAINER ID (12 characters) from sudo box ps -l")
            let events = ctx.events().filter { $0.id == c.id }
            let start = try require(events.last { $0.is(.start) }, expected: "pid1-sh started again during this step",
                                    observed: c.state.Running ? "it runs, but was not started since the step began" : "it has not been started again",
                                    tryThis: c.state.Running ? "exit its shell (sudo box attach pid1-sh, exit), then sudo box start pid1-sh" : "sudo box start pid1-sh")
            try require(events.contains { $0.is(.die) && $0.time < start.time } || c.spec.Created < ctx.clock.wall,
                        expected: "pid1-sh to have exited before the start", observed: "it was started only once",
                        tryThis: "exit its shell first, then sudo box start pid1-sh")
            try require(events.contains { $0.is(.attach) && !($0.time < start.time) }, expected: "box attach pid1-sh after the start",
                        observed: "nobody attached to it since", tryThis: "sudo box attach pid1-sh")
            let (_, pid1) = try ctx.running("pid1-sh", tryThis: "sudo box start pid1-sh; sudo box attach pid1-sh")
            return .pass("\(String(answer.prefix(12))) is the latest container; started again, its new PID 1 is \(pid1.label) on the host, and you attached to it")
        }
        Hint("`sudo box ps -l` has one line: the first column is the id. `lab answer` it.")
        Hint("`box attach` only works on a running container: `box start` first.")
        Solution("box run -dit --name pid1-sh busybox sh", "echo exit | box attach pid1-sh", "box ps -l",
                 "box start pid1-sh", "printf '\\020\\021' | box attach pid1-sh", "lab answer $(box ps -lq)")
    }

    Step("detach", "Leave it running: Ctrl-P Ctrl-Q") {
        Instructions("""
        `exit` would end PID 1 and the container with it. Seed 003: *Ctrl + P + Q will give you terminal back \
        without exiting container*. In the attached terminal press **Ctrl-P**, then **Ctrl-Q**: box prints \
        `read escape sequence` and you are back on the host. Then:
        ```
        sudo box ps
        sudo box top pid1-sh
        ```
        pid1-sh runs on, with the same PID 1 (`sudo box attach pid1-sh` takes you back to it).
        """)
        SamePID1("pid1-sh")
        Check { ctx in
            let (c, pid1) = try ctx.running("pid1-sh", tryThis: "sudo box start pid1-sh; sudo box attach pid1-sh; then Ctrl-P Ctrl-Q")
            let events = ctx.events().filter { $0.id == c.id }
            let detach = try require(events.last { $0.is(.detach) },
                                     expected: "you detached from pid1-sh with Ctrl-P Ctrl-Q",
                                     observed: "no detach since the step began",
                                     tryThis: "in the attached terminal press Ctrl-P, then Ctrl-Q (sudo box attach pid1-sh first if you left)")
            let runs = events.filter { $0.is(.start, .die) }
            let after = runs.first { !($0.time < detach.time) }
            try require(after == nil, expected: "pid1-sh to run on after you detached, with the same PID 1",
                        observed: "it was \(after?.is(.die) == true ? "ended" : "started again") after the detach",
                        tryThis: "sudo box start pid1-sh if needed; sudo box attach pid1-sh, then Ctrl-P Ctrl-Q and leave it running")
            if let restarted = runs.last(where: { $0.time < detach.time }) {
                // Started again during the step: the detach must be from the PID 1 of that start.
                try require(events.contains { $0.is(.attach) && restarted.time < $0.time && $0.time < detach.time },
                            expected: "to detach from the PID 1 you attached to",
                            observed: "pid1-sh was \(restarted.is(.die) ? "ended" : "started again") before you detached, and not attached to since",
                            tryThis: "sudo box attach pid1-sh, then Ctrl-P Ctrl-Q")
            } else if let remembered = ctx.data["pid1:pid1-sh"] {
                try require(remembered == "\(pid1.pid):\(pid1.startTicks)", expected: "the same PID 1 as when the step began",
                            observed: "pid1-sh's PID 1 is another process now",
                            tryThis: "sudo box attach pid1-sh, then Ctrl-P Ctrl-Q")
            }
            return .pass("you detached at \(detach.time.rfc3339); pid1-sh's PID 1 \(pid1.label) runs on")
        }
        Hint("Hold Ctrl and press P, then Q. Closing the terminal is not detaching.")
        Solution("printf '\\020\\021' | box attach pid1-sh")
    }
}

/// SIGHUP, SIGUSR1... by the name `kill -l` gives them.
private func signalNumber(_ name: String) -> Int32 {
    switch name {
    case "HUP": SIGHUP
    case "USR1": SIGUSR1
    case "USR2": SIGUSR2
    default: 0
    }
}
