#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 001 ("UTS Namespace", "IPC Namespace", "PID Namespace", "Network Namespace") and seed 004 (inside a
/// container: hostname, ipcs, ps, ifconfig; `unshare -n`): the same commands, run in a container and on the
/// host, answer differently, because each answers from its own namespace. Only the kernel is shared.
public let utsIpcNet = Lab("uts-ipc-net", "Hostname, IPC, processes and network: one command, two answers") {
    Summary("""
    Run hostname, ipcs, ps and ip in a container and on the host and see each namespace answer for itself; \
    see that the kernel is the same; make a network namespace of your own with unshare -n.
    """)
    Seeds("001", "004")
    Minutes(20)
    Value("hostname") {
        $0.pick("host", from: ["otter", "heron", "lynx", "marten", "osprey", "badger", "kestrel", "ibex"], numbered: 10..<100, numberKey: "hostname")
    }

    Step("hostname", "A hostname of its own (UTS namespace)") {
        Instructions("""
        In terminal 1 start a container, and ask its name:
        ```
        sudo box run -it --rm busybox sh
        hostname
        ```
        It answers with the container's id: box named its new **UTS namespace** after it. Now try to rename it:
        `hostname other` says `Operation not permitted`: that needs CAP_SYS_ADMIN, which box (like docker) \
        does not give a container. `exit`, and start one named by you, with `-h`:
        ```
        sudo box run -it --name u1 -h {{hostname}} busybox sh
        hostname
        ```
        In terminal 2, on the host, `hostname` still gives the host's own name.
        """)
        Check { ctx in
            let (_, pid1) = try ctx.newShell("u1", start: "sudo box run -it --name u1 -h \(ctx.value("hostname")) busybox sh")
            let inside = Namespaces.hostname(of: pid1.pid) ?? "?"
            let host = Namespaces.hostname(of: ctx.host.pid) ?? "?"
            try require(inside == ctx.value("hostname"), expected: "u1's hostname to be \(ctx.value("hostname"))",
                        observed: "u1's UTS namespace says \(inside)",
                        tryThis: "sudo box rm -f u1; sudo box run -it --name u1 -h \(ctx.value("hostname")) busybox sh")
            try require(host != inside, expected: "the host's hostname unchanged", observed: "the host is called \(host) too",
                        tryThis: "the host has the same name: give u1 another one with -h")
            return .pass("u1's UTS namespace (uts:[\(pid1.namespace(.uts) ?? 0)]) says \(inside); the host's says \(host)")
        }
        Hint("`-h NAME` (or `--hostname NAME`) goes before the image: `sudo box run -it --name u1 -h {{hostname}} busybox sh`.")
        Solution("box run -dit --name u1 -h {{hostname}} busybox sh")
    }

    Step("ipc", "IPC objects stay in their namespace") {
        Instructions("""
        Message queues, semaphores and shared memory belong to an **IPC namespace**. Busybox has no `ipcs`, so \
        use the host's tools from inside u1's IPC namespace, with `nsenter` (seeds 000 and 003 use it to enter \
        containers). Make a message queue there, then list queues there and on the host:
        ```
        PID=$(sudo box inspect --format '{{.State.Pid}}' u1)
        sudo nsenter --target $PID --ipc ipcmk -Q
        sudo nsenter --target $PID --ipc ipcs -q
        ipcs -q
        ```
        The host's `ipcs -q` does not list the queue made in u1.
        """)
        Check { ctx in
            let (_, pid1) = try ctx.running("u1", tryThis: "start u1 again (step 1)")
            let since = ctx.clock.wall.seconds
            let queues = Namespaces.ipcObjects(of: pid1.pid).filter { $0.kind == "queue" && $0.changed >= since }
            let queue = try require(queues.first, expected: "a message queue made in u1's IPC namespace during this step",
                                    observed: "u1's IPC namespace has no new queue",
                                    tryThis: "sudo nsenter --target $(sudo box inspect --format '{{.State.Pid}}' u1) --ipc ipcmk -Q")
            let onHost = Namespaces.ipcObjects(of: ctx.host.pid).contains { $0.kind == "queue" && $0.key == queue.key && $0.key != 0 }
            try require(!onHost, expected: "the queue visible in u1 only", observed: "the host has a queue with key \(queue.key) too",
                        tryThis: "make the queue with nsenter --ipc into u1, not on the host")
            return .pass("u1's IPC namespace has queue \(queue.id) (key 0x\(String(queue.key, radix: 16))); the host's has no such queue")
        }
        Hint("`ipcmk -Q` on the host itself makes the queue in the host's namespace: it must run under `nsenter --target PID --ipc`.")
        Solution("nsenter --target $(box inspect --format '{{.State.Pid}}' u1) --ipc ipcmk -Q")
    }

    Step("processes", "Processes: ps -A in and out") {
        Instructions("""
        In u1 (terminal 1) and on the host (terminal 2), run:
        ```
        ps -A
        ```
        The host lists every process of the machine, u1's included; u1 lists only its own **PID namespace**, \
        starting at PID 1: its shell. The host lists that same shell too, under another number. Find it among \
        the host's processes (`ps -ef --forest` shows it under box's monitor; `sudo box top u1` shows both numbers).
        """)
        Ask("u1's shell is PID 1 inside u1: which PID does the host give it?", answer: "PID")
        Check { ctx in
            let (_, pid1) = try ctx.running("u1", tryThis: "start u1 again (step 1)")
            try ctx.requireAnswer(numbers: [Int(pid1.pid)], tryThis: "on the host: ps -ef --forest, or sudo box top u1 (the PID column of the line whose CPID is 1)")
            return .pass("u1's PID namespace has \(ctx.processes(in: pid1).count) process(es), its PID 1 is PID \(pid1.pid) on the host, which sees \(ctx.processes().count)")
        }
        Hint("`sudo box top u1` lists u1's processes with both numbers: PID is the host's, CPID u1's own.")
        Solution("lab answer $(box top u1 | awk '$4 == 1 {print $2}')")
    }

    Step("network", "Interfaces: ip a in and out") {
        Instructions("""
        Compare the network interfaces in u1 and on the host (seed 001 uses `ifconfig`; busybox has both):
        ```
        ip a
        ```
        Each **network namespace** has its own interfaces, addresses, routes and ports. u1 has `lo` and \
        `eth0`, its end of a veth pair whose other end (`vethXXXXXXX`) is on the host's bridge `box0`, with an \
        address like 172.17.0.2, as in the seed. `--network none` would leave only `lo`.
        """)
        Ask("Which IPv4 address does u1's eth0 have? (without the /16)", answer: "ADDRESS")
        Check { ctx in
            let (_, pid1) = try ctx.running("u1", tryThis: "start u1 again (step 1)")
            let inside = Namespaces.interfaces(of: pid1.pid)
            let address = try require(Namespaces.addresses(of: pid1.pid).first { !$0.hasPrefix("127.") },
                                      expected: "u1 on box's network, with an address on eth0", observed: "u1 has only \(inside.joined(separator: ", "))",
                                      tryThis: "start u1 again without --network none (step 1)")
            try ctx.requireAnswer([address], tryThis: "run ip a in u1: the inet line of eth0, without /16")
            let host = Namespaces.interfaces(of: ctx.host.pid)
            return .pass("u1 has \(inside.joined(separator: ", ")) and \(address) on eth0; the host has \(host.joined(separator: ", "))")
        }
        Solution("lab answer $(box exec u1 ip -o -4 addr show eth0 | awk '{print $4}' | cut -d/ -f1)")
    }

    Step("kernel", "One kernel for all") {
        Instructions("""
        Namespaces change what a process **sees**, not what it runs on: every container uses the host's \
        kernel. Compare, in u1 and on the host:
        ```
        uname -r
        ```
        """)
        Ask("Which kernel release does u1 report?", answer: "RELEASE")
        Check { ctx in
            let (_, pid1) = try ctx.running("u1", tryThis: "start u1 again (step 1)")
            let release = ctx.kernelRelease
            try ctx.requireAnswer([release], tryThis: "copy what uname -r prints in u1")
            return .pass("u1 (PID \(pid1.pid)) and the host run the same kernel, \(release)")
        }
        Solution("lab answer $(box exec u1 uname -r)")
    }

    Step("unshare-net", "A network namespace of your own: unshare -n") {
        Instructions("""
        `box` makes namespaces with the same system call as the `unshare` command. On the host, in \
        terminal 2, start a shell in a new network namespace, and look:
        ```
        sudo unshare -n sh
        ip a
        ```
        Only `lo`, and it is down: a new network namespace starts empty. (`exit` returns to the host's \
        namespace; stay in it until the check passes.)
        """)
        Check { ctx in
            let hostNet = ctx.host.namespace(.net)
            let shell = try ctx.learnerShell(inNew: [.net], sharing: [.pid, .mnt], tryThis: "sudo unshare -n sh   (and keep it open)")
            let interfaces = Namespaces.interfaces(of: shell.pid)
            try require(interfaces == ["lo"], expected: "only lo in the new namespace",
                        observed: "\(interfaces.joined(separator: ", "))", tryThis: "start a fresh one: sudo unshare -n sh")
            return .pass("\(shell.label) lives in net:[\(shell.namespace(.net) ?? 0)], which has only lo; the host's is net:[\(hostNet ?? 0)]")
        }
        Hint("`unshare -n` needs root: `sudo unshare -n sh`. Keep that shell open while you type `lab next` in another terminal.")
        Solution("setsid unshare -n sh -c 'sleep 86401; :' </dev/null >/dev/null 2>&1 &")
    }
}
