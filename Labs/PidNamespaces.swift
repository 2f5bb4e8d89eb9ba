import LabKit

/// Seeds 000 ("Process isolation check") and 001 ("Running containers: how isolated are containers?"): two
/// containers from one image; a process in the first cannot be killed from the second, because the second
/// cannot even see it; on the host it is just a process, with another PID, and the host can kill it.
public let pidNamespaces = Lab("pid-namespaces", "Two containers cannot kill each other's processes") {
    Summary("""
    Start two containers, run a process in one and try to kill it from the other. Find the same process on \
    the host under another PID, kill it there, then end a container by killing its PID 1 from the host.
    """)
    Seeds("000", "001")
    Minutes(20)
    // A sleep of your own length, so your process is told apart from anyone else's.
    Value("seconds") { String(3000 + $0.number("sleep", below: 900)) }

    Step("two-containers", "Start two containers") {
        Instructions("""
        Every container gets its own **PID namespace**: a separate numbering of processes in which the \
        container's first process is PID 1. Open **two terminals** on this machine.

        In terminal 1, start container `c1` with an interactive shell:
        ```
        sudo box run -it --name c1 busybox sh
        ```
        In terminal 2, start `c2` the same way:
        ```
        sudo box run -it --name c2 busybox sh
        ```
        Type `ps` in each: the shell is PID 1, and it sees nothing of the other container. Leave both \
        shells open (you need them in the next steps). Then come back to a third terminal and type `lab next`.
        """)
        Check { ctx in
            var pidNS: [String: UInt64] = [:]
            for name in ["c1", "c2"] {
                let (_, pid1) = try ctx.newShell(name, start: "sudo box run -it --name \(name) busybox sh")
                pidNS[name] = pid1.namespace(.pid)
            }
            let host = ctx.host.namespace(.pid)
            try require(pidNS["c1"] != pidNS["c2"] && pidNS["c1"] != host && pidNS["c2"] != host,
                        expected: "c1, c2 and the host in three different PID namespaces",
                        observed: "pid:[\(pidNS["c1"] ?? 0)], pid:[\(pidNS["c2"] ?? 0)], host pid:[\(host ?? 0)]",
                        tryThis: "start the containers with box run (not --pid host)")
            return .pass("c1 is in pid:[\(pidNS["c1"]!)], c2 in pid:[\(pidNS["c2"]!)], the host in pid:[\(host ?? 0)]")
        }
        Hint("Both containers must be running when you type `lab next`: keep their shells open (Ctrl-P Ctrl-Q detaches and leaves one running).")
        Hint("`sudo box ps` lists what runs. A container left from an earlier try does not count: `sudo box rm -f c1 c2` and start again.")
        Solution("box run -dit --name c1 busybox sh", "box run -dit --name c2 busybox sh")
    }

    Step("a-process", "Start a long-running process in c1") {
        Instructions("""
        The seed runs `htop` in container 1; busybox has `sleep`. In **terminal 1** (inside c1), start one \
        in the background, with your own number of seconds:
        ```
        sleep {{seconds}} &
        ps
        ```
        `ps` shows it with a small PID: that is its number **inside c1's PID namespace**.
        """)
        Check { ctx in
            let (_, pid1) = try ctx.running("c1", tryThis: "start c1 again (step 1): sudo box run -it --name c1 busybox sh")
            let sleeps = ctx.processes(in: pid1).filter { $0.comm == "sleep" && $0.commandLine.last == ctx.value("seconds") }
            try require(sleeps.contains { $0.started(after: ctx.clock) },
                        expected: "a process `sleep \(ctx.value("seconds"))` in c1, started during this step",
                        observed: sleeps.isEmpty ? "c1 runs no such process" : "only one started before this step",
                        tryThis: "in c1's shell (terminal 1) type: sleep \(ctx.value("seconds")) &")
            // Its two PIDs are the next step's question: the pass does not give them away.
            return .pass("your sleep runs in c1's PID namespace")
        }
        Hint("Type it in c1's shell, not on the host: the prompt inside the container is `/ #`.")
        Hint("The `&` puts it in the background so the shell stays usable. If you detached from c1, `sudo box attach c1` brings you back.")
        Solution("box exec c1 sh -c 'sleep {{seconds}} >/dev/null 2>&1 &'")
    }

    Step("two-pids", "One process, two PIDs") {
        Instructions("""
        A process has a PID in every PID namespace it is visible in. Find your `sleep`:

        - inside c1: `ps` in terminal 1 (or `sudo box exec c1 ps` from the host);
        - on the host: `ps -ef | grep 'sleep {{seconds}}'`, or `sudo box top c1` (PID is the host's view, \
        CPID the container's), or the seed's way, `pstree -alhps $(sudo box inspect --format '{{.State.Pid}}' c1)`.

        The host also shows it in `/proc/PID/status`: the `NSpid:` line lists both numbers.

        The same as a picture, live: c1's namespaces (their inode numbers, and which ones c1 shares with \
        the host), its processes as a tree with the host's PID and c1's PID side by side, and its PID 1 \
        marked. Ctrl-C ends it. look: `lab map --focus c1`
        """)
        Ask("Which PID does your sleep have inside c1, and which on the host?", answer: "INSIDE HOST")
        Check { ctx in
            let (_, pid1) = try ctx.running("c1", tryThis: "start c1 again (step 1)")
            let sleep = try require(ctx.processes(in: pid1).first { $0.comm == "sleep" && $0.commandLine.last == ctx.value("seconds") },
                                    expected: "your sleep running in c1", observed: "it is gone",
                                    tryThis: "start it again in c1: sleep \(ctx.value("seconds")) &")
            let inside = Int(sleep.nsPids.last ?? 0), host = Int(sleep.pid)
            try ctx.requireAnswer(numbers: [inside, host],
                                  tryThis: "inside first (ps in c1: the PID column), then the host's (sudo box top c1: the PID column)")
            return .pass("the same sleep is PID \(inside) in c1 and PID \(host) on the host (NSpid: \(sleep.nsPids.map(String.init).joined(separator: " ")))")
        }
        Hint("Answer with two numbers, inside first: `lab answer 7 12345`.")
        Hint("`grep NSpid /proc/HOSTPID/status` on the host prints both numbers of a process.")
        Solution("lab answer $(box top c1 | awk '/ sleep {{seconds}}$/ {print $4, $2}')")
    }

    Step("kill-from-c2", "Try to kill it from c2") {
        Instructions("""
        You know the sleep's PID inside c1. In **terminal 2** (inside c2), try to kill it:
        ```
        kill PID
        ```
        `sh: can't kill pid PID: No such process` (bash says `No such process` too). c2 has its own PID \
        namespace: there, that number is nobody (or one of c2's own processes, which is worse). See \
        what c2 has:
        ```
        ps
        ```
        A failed `kill` leaves no trace for the lab to read, so tell it what c2 sees instead.
        """)
        Ask("Which PIDs does c2 have, as its own `ps` shows them (not counting ps itself)?", answer: "PID...")
        Check { ctx in
            let (_, c2) = try ctx.running("c2", tryThis: "start c2 again (step 1)")
            let (_, pid1) = try ctx.running("c1", tryThis: "start c1 again (step 1)")
            let sleep = try require(ctx.processes(in: pid1).first { $0.comm == "sleep" && $0.commandLine.last == ctx.value("seconds") },
                                    expected: "your sleep still alive in c1", observed: "it is gone",
                                    tryThis: "start it again in c1 (sleep \(ctx.value("seconds")) &); c2 cannot have killed it")
            let answer = try require(ctx.answer, expected: "c2's PIDs: lab answer PID...", observed: "no answer yet",
                                     tryThis: "run ps in c2 and answer with its PID column")
            let seen = Set(ctx.processes(in: c2).compactMap { $0.nsPids.last.map(Int.init) })
            let given = Set(answer.compactMap { Int($0) })
            try require(given.count == answer.count && given == seen, expected: "the PIDs c2's own namespace has now",
                        observed: "you answered \(answer.joined(separator: " "))",
                        tryThis: "run ps in c2 (terminal 2) and list its PID column, without the ps line")
            return .pass("c2 sees only PID \(seen.sorted().map(String.init).joined(separator: ", ")): the sleep (PID \(sleep.nsPids.last ?? 0) in c1, \(sleep.pid) on the host) is not among them, and lives on")
        }
        Hint("If your `kill` in c2 did not say No such process, c2 happened to have a process with that number: it killed that one instead. `ps` in c2 shows which.")
        Hint("Answer with the PID column of `ps` in c2, e.g. `lab answer 1` if only its shell runs.")
        Solution("box exec c2 kill $(box exec c1 pidof sleep) || true",
                 "lab answer $(box top c2 | awk 'NR > 1 && $5 != \"Z\" {print $4}')")
    }

    Step("kill-from-host", "Kill it from the host") {
        Instructions("""
        The host sees every process of every container: to the host, your sleep is just a process, which \
        you can kill, strace or read in `/proc`. Kill it from the host with its **host** PID:
        ```
        sudo kill HOSTPID
        ```
        (the seed does `kill $(pgrep htop)`). In terminal 1, press Enter: the shell reports the sleep \
        `Terminated`, and c1 itself lives on.
        """)
        // The sleep and c1's PID 1 as they are when the step begins: the step wants exactly that sleep gone
        // and exactly that PID 1 alive (not a new c1 started meanwhile).
        SamePID1("c1")
        TraceSignals()
        StepSetup { ctx in
            guard let (_, pid1) = try? ctx.running("c1", tryThis: ""),
                  let sleep = ctx.processes(in: pid1).first(where: { $0.comm == "sleep" && $0.commandLine.last == ctx.value("seconds") })
            else { return }
            try ctx.remember("sleep", "\(sleep.pid):\(sleep.startTicks)")
        }
        Check { ctx in
            let (_, pid1) = try ctx.samePID1("c1", tryThis: "c1 must still run: only the sleep should end")
            if let remembered = ctx.data["sleep"], let pid = Int32(remembered.split(separator: ":")[0]),
               let p = Proc.read(pid), "\(p.pid):\(p.startTicks)" == remembered, p.state != "Z" {
                throw Failure(expected: "your sleep gone from c1", observed: "sleep still runs: host PID \(pid)",
                              tryThis: "sudo kill \(pid)")
            }
            let left = ctx.processes(in: pid1).filter { $0.comm == "sleep" && $0.commandLine.last == ctx.value("seconds") }
            try require(left.isEmpty, expected: "your sleep gone from c1",
                        observed: "sleep still runs: host PID \(left.first?.pid ?? 0)",
                        tryThis: "sudo kill \(left.first?.pid ?? 0)")
            // Gone is not enough: `box exec c1 kill 3`, or `kill %1` in c1's shell, ends it the same way. The
            // kernel's record of the signal says who sent it.
            if let remembered = ctx.data["sleep"], let pid = Int32(remembered.split(separator: ":")[0]) {
                try ctx.requireSignalFromHost(to: pid, orChildOf: pid1.pid, tryThis: """
                    start another in c1's shell (sleep \(ctx.value("seconds")) &), find its host PID (sudo box top c1) and kill it \
                    from a host terminal: sudo kill HOSTPID
                    """)
            }
            return .pass("the sleep is gone and c1's PID 1 (host PID \(pid1.pid)) still runs")
        }
        Hint("Use the host's number (from `sudo box top c1` or `pgrep -f 'sleep {{seconds}}'`), not the one inside c1.")
        Solution("kill $(box top c1 | awk '/ sleep {{seconds}}$/ {print $2}')")
    }

    Step("kill-pid-1", "Kill PID 1 and the container ends") {
        Instructions("""
        A container lives as long as its PID 1: when that process ends, the kernel kills every other \
        process of the PID namespace, and the container has exited. Seed 000: "killing bash from docker host \
        will kill the container too". From the host:
        ```
        sudo kill -9 $(sudo box inspect --format '{{.State.Pid}}' c1)
        sudo box ps -a
        ```
        Terminal 1 is back at the host's prompt; `box ps -a` shows c1 `Exited (137)`: 128 + signal 9.
        (A plain `kill` without `-9` does nothing: PID 1 of a namespace only gets the signals it has a \
        handler for, and an interactive shell ignores SIGTERM.)
        """)
        Check { ctx in
            let died = try ctx.diedBySignalNotFromBox("c1", tryThis: "sudo kill -9 $(sudo box inspect --format '{{.State.Pid}}' c1)")
            return .pass("c1 ended: its PID 1 died of signal \(died.signal ?? 0) (exit code \(died.exitCode.map(String.init) ?? "?"))")
        }
        Hint("`sudo box inspect --format '{{.State.Pid}}' c1` prints the host PID of c1's PID 1.")
        Hint("`kill` alone sends SIGTERM, which PID 1 ignores unless it handles it: use `kill -9`.")
        Solution("kill -9 $(box inspect --format '{{.State.Pid}}' c1)")
    }
}
