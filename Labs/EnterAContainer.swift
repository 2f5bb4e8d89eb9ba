#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 000 ("Mutable containers": nsenter --target $(docker inspect --format {{.State.Pid}} ...) --mount --uts
/// --ipc --net --pid), seed 003 ("Getting shell access inside a container": docker inspect | grep Pid,
/// nsenter -m -u -n -p -i -t PID; "docker attach will attach PID1") and seed 004 (nsenter, docker exec, "docker
/// attach will attaches to PID1 ... PID1 inside a container will probably not be a shell"): a container whose
/// PID 1 is a web server, entered three ways.
public let enterAContainer = Lab("enter-a-container", "Getting a shell inside a container: nsenter, exec, attach") {
    Summary("""
    Find a running container's PID on the host, enter its namespaces with nsenter and prove your shell is \
    inside all five of them; then compare box exec (a new process beside PID 1) with box attach (PID 1 itself).
    """)
    Seeds("000", "003", "004")
    Minutes(25)
    Prerequisites("pid-namespaces")
    Value("hostname") {
        $0.pick("enter-host", from: ["quokka", "tapir", "dingo", "gecko", "puffin", "walrus", "yak", "coyote"], numbered: 10..<100,
                numberKey: "enter-hostname")
    }

    Step("find-pid", "A container whose PID 1 is not a shell: find its PID") {
        Instructions("""
        Seed 003: *a container is basically a single process application, good for web apps*. Its PID 1 is \
        that application, not a shell, so `box attach` would not give you a prompt. To get a shell inside you \
        need the container's **PID on the host**. Start a web server as PID 1:
        ```
        sudo box run -d --name en-app -h {{hostname}} busybox httpd -f -p 80
        ```
        `box inspect` prints everything box knows of a container, as JSON. Find the PID the seed's way, then \
        the way seed 000 does it, with a Go template:
        ```
        sudo box inspect en-app | grep Pid
        sudo box inspect --format '{{.State.Pid}}' en-app
        ps -fp $(sudo box inspect --format '{{.State.Pid}}' en-app)
        ```
        On the host, that PID is just a process: `httpd -f -p 80`.
        """)
        Ask("Which PID does en-app's PID 1 have on the host?", answer: "PID")
        Check { ctx in
            let (c, pid1) = try ctx.running("en-app", tryThis: "sudo box run -d --name en-app -h \(ctx.value("hostname")) busybox httpd -f -p 80")
            try ctx.requireCreatedDuringStep(c, tryThis: "sudo box rm -f en-app, then start it again")
            try require(pid1.comm == "httpd", expected: "en-app's PID 1 to be the web server, httpd",
                        observed: "its PID 1 is \(pid1.comm)",
                        tryThis: "sudo box rm -f en-app; sudo box run -d --name en-app -h \(ctx.value("hostname")) busybox httpd -f -p 80")
            try ctx.requireAnswer(numbers: [Int(pid1.pid)], tryThis: "sudo box inspect --format '{{.State.Pid}}' en-app")
            return .pass("en-app's PID 1 is \(pid1.label) on the host; inside the container it is PID \(pid1.nsPids.last ?? 0)")
        }
        Hint("`-d` runs it in the background; `box ps` lists it. `grep Pid` shows the line `\"Pid\": NUMBER`.")
        Hint("Answer with the number alone: `lab answer 12345`.")
        Solution("box run -d --name en-app -h {{hostname}} busybox httpd -f -p 80",
                 "lab answer $(box inspect --format '{{.State.Pid}}' en-app)")
    }

    Step("nsenter", "Enter it with nsenter") {
        Instructions("""
        `nsenter` runs a program in the namespaces of another process. Seed 003's way 1, with each flag:
        `-m` mount, `-u` UTS (hostname), `-n` network, `-p` PID, `-i` IPC, `-t` the target PID:
        ```
        PID=$(sudo box inspect --format '{{.State.Pid}}' en-app)
        sudo nsenter -m -u -n -p -i -t $PID sh
        ```
        You get a prompt inside en-app, though its PID 1 is not a shell. Look around:
        ```
        hostname
        ps
        ip a
        ```
        `hostname` is `{{hostname}}`, `ps` lists httpd as PID 1 and your shell beside it, `ip a` shows the \
        container's `eth0`. The `sh` is the container's busybox: with `-m` the program is looked up in the \
        container's files. Keep this shell open for the next step.
        """)
        Check { ctx in
            let (_, pid1) = try ctx.running("en-app", tryThis: "start it again (step 1): sudo box run -d --name en-app -h \(ctx.value("hostname")) busybox httpd -f -p 80")
            let kinds: [NamespaceKind] = [.mnt, .uts, .net, .pid, .ipc]
            let shells = ctx.processes().filter { p in
                shellNames.contains(p.comm) && p.started(after: ctx.clock) && ctx.isLearners(p)
                    && p.pid != pid1.pid && kinds.contains { p.shares($0, with: pid1) }
            }
            let entered = shells.map { p in (p, kinds.filter { !p.shares($0, with: pid1) }, Proc.read(p.ppid)?.comm ?? "?") }
            if let (shell, _, _) = entered.first(where: { $0.1.isEmpty && $0.2 == "nsenter" }) {
                return .pass("\(shell.label), started by nsenter, shares all five namespaces with en-app's PID 1 \(pid1.label)")
            }
            if let (shell, _, parent) = entered.first(where: { $0.1.isEmpty }) {
                throw Failure(expected: "a shell started by nsenter", observed: "\(shell.label) is inside en-app, but its parent is \(parent) (box exec?)",
                              tryThis: "this step is about nsenter: sudo nsenter -m -u -n -p -i -t $(sudo box inspect --format '{{.State.Pid}}' en-app) sh")
            }
            if let (shell, missing, _) = entered.first {
                throw Failure(expected: "a shell in all five of en-app's namespaces: mnt, uts, net, pid, ipc",
                              observed: "\(shell.label) is not in en-app's \(missing.map(\.rawValue).joined(separator: ", ")) namespace\(missing.count == 1 ? "" : "s")",
                              tryThis: "exit it and give nsenter every flag: sudo nsenter -m -u -n -p -i -t PID sh")
            }
            throw Failure(expected: "a shell you started during this step inside en-app's namespaces",
                          observed: "no such shell (sh, bash or ash) runs",
                          tryThis: "sudo nsenter -m -u -n -p -i -t $(sudo box inspect --format '{{.State.Pid}}' en-app) sh   (and keep it open)")
        }
        Hint("The shell must still run when you type `lab next`: do that in another terminal.")
        Hint("Without `-p` nsenter does not fork, and the shell stays in the host's PID namespace. All five flags, then `-t PID`.")
        Solution("setsid nsenter -m -u -n -p -i -t $(box inspect --format '{{.State.Pid}}' en-app) sh -c 'sleep 86402; :' </dev/null >/dev/null 2>&1 &")
    }

    Step("five-namespaces", "Prove it: the five namespaces of your shell") {
        Instructions("""
        A namespace is identified by an inode number: `/proc/PID/ns/KIND` is a link to `KIND:[INODE]`, and two \
        processes are in the same namespace exactly when the numbers are equal. In the **nsenter shell**:
        ```
        ls -l /proc/$$/ns
        ```
        and in another terminal, for en-app's PID 1 and for the host:
        ```
        sudo ls -l /proc/$(sudo box inspect --format '{{.State.Pid}}' en-app)/ns
        ls -l /proc/self/ns
        ```
        Your shell's `mnt`, `uts`, `net`, `pid` and `ipc` are PID 1's, and none of them is the host's. \
        (`cgroup` and `user` were not asked for with a flag: those stay the host's.)
        """)
        Ask("Which inode numbers are your nsenter shell's mnt, uts, net, pid and ipc namespaces?", answer: "MNT UTS NET PID IPC")
        Check { ctx in
            let (_, pid1) = try ctx.running("en-app", tryThis: "start it again (step 1), and enter it (step 2)")
            let kinds: [NamespaceKind] = [.mnt, .uts, .net, .pid, .ipc]
            let given = try ctx.numericAnswer(count: kinds.count)
            let hostInodes = Set(kinds.compactMap { ctx.host.namespace($0) })
            try require(!given.contains { UInt64(exactly: $0).map(hostInodes.contains) ?? false } || kinds.allSatisfy { pid1.shares($0, with: ctx.host) },
                        expected: "the namespaces of your shell inside en-app", observed: "some of these numbers are the host's namespaces",
                        tryThis: "run ls -l /proc/$$/ns in the nsenter shell, not on the host")
            try ctx.requireAnswer(numbers: kinds.map { Int(pid1.namespace($0) ?? 0) },
                                  tryThis: "answer in the order mnt uts net pid ipc, from ls -l /proc/$$/ns in the nsenter shell")
            let differ = kinds.filter { pid1.namespace($0) != ctx.host.namespace($0) }
            return .pass("mnt, uts, net, pid and ipc are en-app's; \(differ.count) of 5 differ from the host's (e.g. uts:[\(ctx.host.namespace(.uts) ?? 0)] on the host)")
        }
        Hint("`ls -l /proc/$$/ns` prints lines like `mnt -> mnt:[4026532301]`: answer with the numbers in brackets.")
        Hint("Five numbers in this order: `lab answer MNT UTS NET PID IPC`.")
        Solution("p=$(box inspect --format '{{.State.Pid}}' en-app)",
                 "lab answer $(for k in mnt uts net pid ipc; do readlink /proc/$p/ns/$k | tr -dc 0-9; echo; done)")
    }

    Step("exec", "box exec: a new process beside PID 1") {
        Instructions("""
        Seed 004's third way in is built into the engine: `box exec` (docker exec) starts **a new process** \
        in the container's namespaces (and its cgroup). You can `exit` the nsenter shell now. Then:
        ```
        sudo box exec -it en-app sh
        ps
        ```
        httpd is still PID 1; your shell is a new process with a higher PID. `exit` it when the check \
        passed: the container does not notice (seed 003: *in both cases docker container never exit*).
        """)
        Check { ctx in
            let (c, pid1) = try ctx.running("en-app", tryThis: "start it again (step 1): sudo box run -d --name en-app -h \(ctx.value("hostname")) busybox httpd -f -p 80")
            let execs = ctx.events().filter { $0.id == c.id && $0.is(.execStart) }
            try require(!execs.isEmpty, expected: "box exec run in en-app during this step", observed: "no box exec into en-app since the step began",
                        tryThis: "sudo box exec -it en-app sh")
            let shells = ctx.processes(in: pid1).filter { shellNames.contains($0.comm) && $0.started(after: ctx.clock) && $0.pid != pid1.pid }
            let shell = try require(shells.first { $0.terminal != 0 && Proc.read($0.ppid)?.comm != "nsenter" },
                                    expected: "an interactive shell from box exec -it running in en-app",
                                    observed: shells.isEmpty ? "no shell started during this step runs in en-app" : "the shell has no terminal (no -t)",
                                    tryThis: "sudo box exec -it en-app sh   (and keep it open until the check passes)")
            return .pass("your shell is PID \(shell.nsPids.last ?? 0) in en-app (\(shell.pid) on the host), beside PID 1, still \(pid1.comm)")
        }
        Hint("`-i` keeps stdin open, `-t` gives the shell a terminal: without them sh has nothing to read and exits at once.")
        Solution("setsid box exec -t en-app sh -c 'sleep 86403; :' </dev/null >/dev/null 2>&1 &")
    }

    Step("attach-exit", "box attach: PID 1 itself, and exit ends the container") {
        Instructions("""
        `box attach` does not start anything: it connects your terminal to **PID 1** (seed 003: *docker \
        attach will attach PID1 inside the container*). Attached to en-app you would only see httpd's output. \
        Attach to a container whose PID 1 is a shell instead:
        ```
        sudo box run -dit --name en-shell busybox sh
        sudo box attach en-shell
        echo $$
        ps
        ```
        (press Enter once for a prompt). `echo $$` prints `1`: you are typing into PID 1. Now type `exit`. \
        Seed 000: *it will be on as long as bash is running*: PID 1 ended, so did the container:
        ```
        sudo box ps -a
        ```
        shows en-shell `Exited (0)`, while en-app, whose exec shell you left, still runs.
        """)
        Check { ctx in
            let c = try ctx.container("en-shell", tryThis: "sudo box run -dit --name en-shell busybox sh")
            let command = [c.spec.Path] + c.spec.Args
            try require(c.spec.Config.Tty && c.spec.Config.OpenStdin && command.count == 1 && shellNames.contains(String(command[0].split(separator: "/").last ?? "")),
                        expected: "en-shell running an interactive shell (-it) as PID 1",
                        observed: "it runs \(command.joined(separator: " "))\(c.spec.Config.Tty ? "" : " without -t")",
                        tryThis: "sudo box rm -f en-shell; sudo box run -dit --name en-shell busybox sh")
            let events = ctx.events().filter { $0.id == c.id }
            let attached = events.filter { $0.is(.attach) }
            try require(!attached.isEmpty, expected: "box attach to en-shell during this step",
                        observed: c.state.Running ? "en-shell runs, nobody attached to it since the step began" : "no attach since the step began",
                        tryThis: c.state.Running ? "sudo box attach en-shell" : "sudo box start en-shell; sudo box attach en-shell")
            let died = try require(events.last { e in e.is(.die) && attached.contains { !(e.time < $0.time) } },
                                   expected: "en-shell to end while you were attached",
                                   observed: "en-shell still runs (PID 1: host PID \(c.state.Pid))",
                                   tryThis: "in the attached terminal type: exit")
            // What ended this run: nothing box did between the attach before it and the end.
            let attach = attached.last { !(died.time < $0.time) }!
            let byBox = events.filter { $0.is(.kill, .stop) && !($0.time < attach.time) && !(died.time < $0.time) }
            try require(byBox.isEmpty, expected: "PID 1 to end by itself (exit), not by box",
                        observed: "box \(byBox.first?.action ?? "") ended en-shell",
                        tryThis: "sudo box start en-shell; sudo box attach en-shell; then type exit")
            try require(died.signal == nil && died.exitCode == 0,
                        expected: "PID 1 to exit with code 0 (exit)",
                        observed: died.signal.map { "it died of signal \($0)" } ?? "it exited with code \(died.exitCode.map(String.init) ?? "?")",
                        tryThis: "sudo box start en-shell; sudo box attach en-shell; then type exit")
            return .pass("you were attached to en-shell's PID 1; its exit (code 0) ended the container")
        }
        Hint("If `box attach` shows nothing, press Enter: the prompt was printed before you attached.")
        Hint("`exit` or Ctrl-D in the attached shell ends PID 1. Ctrl-P Ctrl-Q would leave it running instead.")
        Solution("box run -dit --name en-shell busybox sh", "echo exit | box attach en-shell")
    }
}
