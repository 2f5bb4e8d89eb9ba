#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 002 ("Docker leverages (bring together) Linux namespaces, cgroups and capabilities into a product"):
/// the third of the three. Root in a container is root with a short list of capabilities: what is left out
/// (CapEff of PID 1), what dropping one breaks (ping without NET_RAW), what adding one allows (NET_ADMIN),
/// and the no_new_privs flag box sets on every container process, so that a setuid file gains nothing.
public let capabilitiesLab = Lab("capabilities", "Capabilities: what root in a container cannot do") {
    Summary("""
    Decode the capabilities of a container's PID 1, break ping with --cap-drop NET_RAW, let a container \
    configure its own network with --cap-add NET_ADMIN, and see no_new_privs make a setuid file powerless.
    """)
    Seeds("002")
    Minutes(20)
    Prerequisites("pid-namespaces")
    // A capability to look for: some are in the container's set, some are not.
    Value("asked") {
        $0.pick("asked", from: ["SYS_ADMIN", "NET_ADMIN", "SYS_TIME", "SYS_MODULE", "SYS_PTRACE", "SYS_BOOT",
                                "MKNOD", "CHOWN", "NET_RAW", "KILL", "SETUID", "DAC_OVERRIDE"])
    }
    Value("net") { "10.\(100 + $0.number("net-a", below: 100)).\($0.number("net-b", below: 250) + 1)" }
    Value("uid") { String(1000 + $0.number("uid", below: 8000)) }
    Value("seconds") { String(4000 + $0.number("sleep", below: 900)) }

    Step("cap-eff", "Root, minus most of root") {
        Instructions("""
        Seed 002: "Docker leverages Linux namespaces, cgroups and **capabilities**". Since Linux 2.2 root's \
        powers are split into about 40 capabilities (`man 7 capabilities`); a process holds a set of them, \
        whatever its uid. Start a container and look at its PID 1:
        ```
        sudo box run -it --name caps busybox sh
        id
        grep Cap /proc/1/status
        ```
        You are uid 0, but `CapEff` (the effective set) is a short list: docker's default 14. Decode it on \
        the host, and compare with a root shell of the host:
        ```
        capsh --decode=00000000a80425fb       # the number you see
        sudo grep CapEff /proc/self/status
        ```
        Every capability not in the list is something root in `caps` cannot do, whatever its uid: \
        load modules, set the clock, mount filesystems (CAP_SYS_ADMIN)... Keep `caps` running.
        """)
        Ask("What is the CapEff of PID 1 in caps (hex, as /proc shows it), and does it hold CAP_{{asked}}?", answer: "HEX yes|no")
        Check { ctx in
            let run = "sudo box run -it --name caps busybox sh"
            let (c, pid1) = try ctx.running("caps", tryThis: run)
            try ctx.requireCreatedDuringStep(c, tryThis: "sudo box rm -f \(c.name); " + run)
            try require(c.spec.Config.Tty && c.spec.Config.OpenStdin, expected: "caps started with a terminal (-it)",
                        observed: "it has no terminal", tryThis: "sudo box rm -f caps; \(run)")
            let answer = try ctx.answerWords(2, tryThis: "grep CapEff /proc/1/status in caps, and capsh --decode=HEX on the host")
            let eff = pid1.effectiveCapabilities
            let given = UInt64(answer[0].lowercased().replacing("0x", with: ""), radix: 16)
            try ctx.requireAnswered(answer[0], given == eff, expected: "PID 1's CapEff", tryThis: "in caps: grep CapEff /proc/1/status")
            let asked = ctx.value("asked")
            let bit = UInt64(1) << UInt64(Capabilities.number(asked) ?? 63)
            let has = eff & bit != 0
            try ctx.requireAnswered(answer[1], ["yes", "no"].contains(answer[1].lowercased()), expected: "yes or no second",
                                    tryThis: "e.g. lab answer \(answer[0]) no")
            try ctx.requireAnswered(answer[1], (answer[1].lowercased() == "yes") == has, expected: "whether CAP_\(asked) is in that set",
                                    tryThis: "capsh --decode=\(answer[0]) lists the names in it")
            let missing = Capabilities.all & ~eff
            return .pass("caps' PID 1 holds \(Capabilities.names(eff).count) capabilities; the kernel has \(Capabilities.names(missing).count) more that it lacks")
        }
        Hint("`capsh --decode=HEX` (package libcap2-bin) prints the names of a capability mask.")
        Hint("Answer like `lab answer 00000000a80425fb no`.")
        Solution("""
        box run -dit --name caps busybox sh
        eff=$(box exec caps awk '/^CapEff/ {print $2}' /proc/1/status)
        if capsh --decode=$eff | cut -d= -f2 | tr , '\\n' | grep -qx "cap_$(echo {{asked}} | tr A-Z a-z)"; then has=yes; else has=no; fi
        lab answer $eff $has
        """)
    }

    Step("cap-drop", "--cap-drop NET_RAW: ping breaks") {
        Instructions("""
        `ping` sends ICMP through a **raw socket**, which needs CAP_NET_RAW. It is in docker's default set, \
        so ping works in `caps`. Start a container without it, and ping the container's own loopback from both \
        (from the host, so that box's event journal records the commands):
        ```
        sudo box run -d --name noraw --cap-drop NET_RAW busybox sleep 86400
        sudo box exec caps ping -c 1 127.0.0.1
        sudo box exec noraw ping -c 1 127.0.0.1
        sudo box exec noraw grep CapEff /proc/1/status
        ```
        `ping: permission denied (are you root?)`: it is root, but without the capability. (Only ping \
        127.0.0.1 here.)
        """)
        Check { ctx in
            let run = "sudo box run -d --name noraw --cap-drop NET_RAW busybox sleep 86400"
            let (c, pid1) = try ctx.running("noraw", tryThis: run)
            try ctx.requireCreatedDuringStep(c, tryThis: "sudo box rm -f \(c.name); " + run)
            let netRaw = UInt64(1) << UInt64(Capabilities.number("NET_RAW")!)
            try require(pid1.effectiveCapabilities & netRaw == 0, expected: "noraw's PID 1 without CAP_NET_RAW",
                        observed: "its CapEff \(hex(pid1.effectiveCapabilities)) has it", tryThis: "sudo box rm -f noraw; \(run)")
            let (caps, capsPid1) = try ctx.running("caps", tryThis: "start caps again (step 1): sudo box run -it --name caps busybox sh")
            try require(capsPid1.effectiveCapabilities & netRaw != 0, expected: "caps with CAP_NET_RAW (docker's default)",
                        observed: "caps has none", tryThis: "sudo box rm -f caps; sudo box run -it --name caps busybox sh")
            let pings = ctx.events().filter { $0.action == "exec_die" && isLoopbackPing($0.attributes["command"] ?? "") }
            try require(pings.contains { $0.id == caps.id && $0.attributes["exitCode"] == "0" },
                        expected: "a ping of 127.0.0.1 that worked, in caps", observed: "none during this step",
                        tryThis: "sudo box exec caps ping -c 1 127.0.0.1")
            let failed = try require(pings.last { $0.id == c.id && $0.attributes["exitCode"] != "0" },
                                     expected: "a ping of 127.0.0.1 that failed, in noraw",
                                     observed: pings.contains { $0.id == c.id } ? "ping worked in noraw" : "no ping in noraw during this step",
                                     tryThis: "sudo box exec noraw ping -c 1 127.0.0.1")
            return .pass("ping worked in caps and failed in noraw (exit code \(failed.attributes["exitCode"] ?? "?")): noraw's CapEff is \(hex(pid1.effectiveCapabilities))")
        }
        Hint("Run the pings with `sudo box exec NAME ping -c 1 127.0.0.1` from the host: a ping typed in a shell inside leaves no trace the lab can read.")
        Solution("box run -d --name noraw --cap-drop NET_RAW busybox sleep 86400",
                 "box exec caps ping -c 1 127.0.0.1",
                 "box exec noraw ping -c 1 127.0.0.1 || true")
    }

    Step("cap-add", "--cap-add NET_ADMIN: root may configure its own network") {
        Instructions("""
        Adding an address to an interface needs CAP_NET_ADMIN, which docker's default leaves out. Try it in \
        `caps`, then in a container that has it:
        ```
        sudo box exec caps ip addr add {{net}}.1/32 dev lo
        sudo box run -d --name netadmin --cap-add NET_ADMIN busybox sleep 86400
        sudo box exec netadmin ip addr add {{net}}.1/32 dev lo
        sudo box exec netadmin ip addr show lo
        ```
        `RTNETLINK answers: Operation not permitted` in caps; in netadmin the address is there. It is the \
        container's own network namespace: the host's `ip addr` does not show it. (An added capability \
        reaches as far as the kernel checks it: CAP_SYS_TIME, say, would let the container set the \
        **host's** clock, which no namespace isolates.)
        """)
        Check { ctx in
            let run = "sudo box run -d --name netadmin --cap-add NET_ADMIN busybox sleep 86400"
            let (c, pid1) = try ctx.running("netadmin", tryThis: run)
            try ctx.requireCreatedDuringStep(c, tryThis: "sudo box rm -f \(c.name); " + run)
            let netAdmin = UInt64(1) << UInt64(Capabilities.number("NET_ADMIN")!)
            try require(pid1.effectiveCapabilities & netAdmin != 0, expected: "netadmin's PID 1 with CAP_NET_ADMIN",
                        observed: "its CapEff \(hex(pid1.effectiveCapabilities)) lacks it", tryThis: "sudo box rm -f netadmin; \(run)")
            let address = ctx.value("net") + ".1"
            let tried = ctx.events().filter { $0.action == "exec_die" && ($0.attributes["command"] ?? "").contains(address) }
            let refused = ctx.containers().filter { $0.state.Running && $0.id != c.id && (Proc.read($0.state.Pid)?.effectiveCapabilities ?? 0) & netAdmin == 0 }
            try require(tried.contains { e in e.attributes["exitCode"] != "0" && refused.contains { $0.id == e.id } },
                        expected: "the address refused in a container without NET_ADMIN first",
                        observed: "no failed ip addr add of \(address) during this step",
                        tryThis: "sudo box exec caps ip addr add \(address)/32 dev lo")
            try require(!pid1.shares(.net, with: ctx.host), expected: "netadmin in a network namespace of its own",
                        observed: "it shares the host's", tryThis: "start it without --network host")
            let addresses = Namespaces.addresses(of: pid1.pid)
            try require(addresses.contains(address), expected: "\(address) on netadmin's loopback",
                        observed: "its addresses: \(addresses.joined(separator: ", "))",
                        tryThis: "sudo box exec netadmin ip addr add \(address)/32 dev lo")
            try require(!Namespaces.addresses(of: ctx.host.pid).contains(address), expected: "the host not to have \(address)",
                        observed: "the host has it too", tryThis: "remove it from the host: sudo ip addr del \(address)/32 dev lo")
            return .pass("netadmin (CapEff \(hex(pid1.effectiveCapabilities))) has \(address) in net:[\(pid1.namespace(.net) ?? 0)]; caps could not add it")
        }
        Hint("`--cap-add` takes the name with or without CAP_: NET_ADMIN.")
        Solution("box exec caps ip addr add {{net}}.1/32 dev lo || true",
                 "box run -d --name netadmin --cap-add NET_ADMIN busybox sleep 86400",
                 "box exec netadmin ip addr add {{net}}.1/32 dev lo")
    }

    Step("no-new-privs", "no_new_privs: a setuid file gains nothing") {
        Instructions("""
        Capabilities can be regained: executing a **setuid-root** file makes a process root, with root's \
        capabilities (that is how `su` and `passwd` work). box prevents that, as docker's \
        `--security-opt no-new-privileges` does: every container process runs with the kernel's \
        **no_new_privs** flag, inherited by all its children and never cleared, and with it `execve` ignores \
        setuid bits and file capabilities.
        ```
        sudo box exec caps grep NoNewPrivs /proc/1/status       # 1
        grep NoNewPrivs /proc/$$/status                         # your host shell: 0
        ```
        Make a setuid-root copy of busybox in `caps`, then run it as an ordinary user, `{{uid}}`:
        ```
        sudo box exec caps sh -c 'cp /bin/busybox /tmp/busybox && chmod u+s /tmp/busybox && ls -l /tmp/busybox'
        sudo box exec -u {{uid}} caps /tmp/busybox su
        ```
        `su: must be suid to work properly`: the file is setuid root, but the kernel did not make the process \
        root. Keep one such process running, and look at it from the host:
        ```
        sudo box exec -u {{uid}} caps /tmp/busybox sleep {{seconds}} &
        sudo box top caps
        grep -E 'Uid|NoNewPrivs|CapEff' /proc/HOSTPID/status
        ```
        """)
        Check { ctx in
            let (_, pid1) = try ctx.running("caps", tryThis: "start caps again (step 1): sudo box run -it --name caps busybox sh")
            let uid = ctx.value("uid"), seconds = ctx.value("seconds")
            let run = "sudo box exec -u \(uid) caps /tmp/busybox sleep \(seconds) &"
            let found = ctx.processes(in: pid1).filter { $0.started(after: ctx.clock) && $0.commandLine.last == seconds }
            try require(!found.isEmpty, expected: "`/tmp/busybox sleep \(seconds)` running in caps, started during this step",
                        observed: "no such process in caps", tryThis: run)
            let setuid = found.filter { p in
                var st = stat()
                return stat("/proc/\(p.pid)/exe", &st) == 0 && st.st_mode & S_ISUID != 0 && st.st_uid == 0
            }
            try require(!setuid.isEmpty, expected: "it runs a setuid-root file", observed: "\(found[0].label) runs a file that is not setuid root",
                        tryThis: "sudo box exec caps sh -c 'cp /bin/busybox /tmp/busybox && chmod u+s /tmp/busybox'; then \(run)")
            func uids(_ p: Proc) -> [String] { (p.status("Uid") ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
            let p = setuid.first { uids($0).first == uid } ?? setuid[0]
            let ids = uids(p)
            try require(ids.count == 4 && ids[0] == uid, expected: "it runs as uid \(uid) (box exec -u \(uid))",
                        observed: "its Uid line: \(ids.joined(separator: " "))", tryThis: run)
            try require(ids.allSatisfy { $0 == uid } && p.effectiveCapabilities == 0,
                        expected: "the setuid bit ignored: every uid \(uid), no capabilities",
                        observed: "Uid \(ids.joined(separator: " ")), CapEff \(hex(p.effectiveCapabilities))", tryThis: "this is a defect in box: report it")
            try require(p.status("NoNewPrivs") == "1", expected: "NoNewPrivs 1", observed: "NoNewPrivs \(p.status("NoNewPrivs") ?? "?")",
                        tryThis: "this is a defect in box: report it")
            return .pass("\(p.label) runs a setuid-root file as uid \(uid) with no capabilities: NoNewPrivs 1, the setuid bit was ignored")
        }
        Hint("`box exec -u UID` runs as that uid even if /etc/passwd does not know it.")
        Hint("The copy must be owned by root and have the s bit: `ls -l /tmp/busybox` in caps shows -rwsr-xr-x.")
        Solution("box exec caps sh -c 'cp /bin/busybox /tmp/busybox && chmod u+s /tmp/busybox'",
                 "box exec -u {{uid}} caps /tmp/busybox su </dev/null || true",
                 "setsid box exec -u {{uid}} caps /tmp/busybox sleep {{seconds}} </dev/null >/dev/null 2>&1 &")
    }
}

private func hex(_ mask: UInt64) -> String {
    let s = String(mask, radix: 16)
    return String(repeating: "0", count: max(0, 16 - s.count)) + s
}

/// `ping ... 127.0.0.1` (or localhost): the only pings this lab asks for.
private func isLoopbackPing(_ command: String) -> Bool {
    let words = command.split(separator: " ")
    return words.first.map { $0.hasSuffix("ping") } == true && words.contains { $0.hasPrefix("127.") || $0 == "localhost" }
}
