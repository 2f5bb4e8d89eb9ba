#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 000 ("It is just a process so you can kill it, strace it, monitor it and see it in /proc/"), seed 003
/// (docker inspect: "Exposed ports"; "Each container has its own network") and seed 004 (web servers in
/// containers, `netstat -tlp` to see who listens), as a challenge: three web servers publish host ports; find
/// from the host which container serves the port named, and end its server with the host's kill.
public let portOwner = Exercise("port-owner", "Which container serves this port? End it from the host") {
    Summary("""
    Three containers run a web server each, published on a host port. Find which one serves the port you \
    are given, from the host, and end that server with the host's kill: no box command may do it, and the \
    other two must keep serving.
    """)
    Seeds("000", "003", "004")
    Minutes(15)
    Prerequisites("enter-a-container")
    Value("port") { String(ports(of: $0)[targetIndex(of: $0)]) }

    LabSetup { ctx in
        let ports = ports(of: ctx.learner)
        for port in ports where Namespaces.listensOnLoopback(port, in: ctx.host.pid) {
            throw Failure(expected: "port \(port) free on 127.0.0.1", observed: "something listens on it already",
                          tryThis: "ss -ltnp | grep :\(port) shows what; end it, then lab reset port-owner and start again")
        }
        let target = targetIndex(of: ctx.learner)
        for (i, name) in names.enumerated() {
            try ctx.box("run", "-d", "--name", name, "--label", "boxlab.lab=port-owner", "-p", "127.0.0.1:\(ports[i]):80",
                        "busybox", "httpd", "-f", "-p", "80", "-h", "/tmp")
            let (c, pid1) = try ctx.running(name, tryThis: "lab reset port-owner, then lab start port-owner")
            try ctx.remember(i == target ? "target" : "decoy-\(name)", "\(c.id) \(pid1.pid):\(pid1.startTicks) \(ports[i])")
        }
        // The exercise begins once every port answers.
        for _ in 0..<50 {
            if ports.allSatisfy({ Namespaces.listensOnLoopback($0, in: ctx.host.pid) }) { return }
            usleep(100_000)
        }
        throw Failure(expected: "the three servers listening", observed: "not all ports answer within 5 s", tryThis: "lab doctor")
    }

    Goal("End the server behind your port, from the host, without box") {
        Instructions("""
        The containers `po-north`, `po-east` and `po-west` each run a web server (`httpd`), published on \
        a port of the host's 127.0.0.1. One of them serves **127.0.0.1:{{port}}**:
        ```
        wget -qSO- http://127.0.0.1:{{port}}/
        ```
        Find out **from the host** which container it is, and end that container's server with the host's \
        `kill` (not `box kill`, `box stop` or `box rm`). The other two must keep running.

        Tools you know: `box ps`, `box port`, `box inspect`, `box top`, `ss -ltnp` (seed 004's `netstat -tlp`), \
        `/proc/PID/cmdline`, `/proc/net/tcp`. Beware: what listens on the host's port is not necessarily the \
        server itself.
        """)
        Check { ctx in
            let target = try require(ctx.data["target"].map(record), expected: "the exercise's containers", observed: "the setup did not run",
                                     tryThis: "lab reset port-owner, then lab start port-owner")
            let c = try ctx.container(target.id, tryThis: "lab reset port-owner, then lab start port-owner")
            let events = ctx.events().filter { $0.id == target.id }
            if let byBox = events.first(where: { $0.is(.kill, .stop, .destroy, .pause) }) {
                throw Failure(expected: "the server ended without box", observed: "box \(byBox.action) was used on \(c.name)",
                              tryThis: "lab reset port-owner and start again: this time use the host's kill")
            }
            // Every decoy still runs its first server, and still answers on its port.
            for (key, value) in ctx.data where key.hasPrefix("decoy-") {
                let decoy = record(value)
                let d = try ctx.container(decoy.id, tryThis: "lab reset port-owner, then lab start port-owner")
                let alive = d.state.Running && Proc.read(d.state.Pid).map { "\($0.pid):\($0.startTicks)" } == decoy.pid1
                try require(alive, expected: "\(d.name) still running its server", observed: "\(d.name) is \(d.state.Status.rawValue)\(d.state.Running ? " with another PID 1" : "")",
                            tryThis: "end only the server behind port \(target.port): lab reset port-owner and try again")
                try require(Namespaces.listensOnLoopback(decoy.port, in: ctx.host.pid) && !proxies(of: d).isEmpty, expected: "\(d.name)'s port \(decoy.port) still served",
                            observed: "\(d.name)'s port proxy (box __proxy) is gone",
                            tryThis: "you ended \(d.name)'s port proxy: lab reset port-owner and try again")
            }
            guard let died = events.last(where: { $0.is(.die) }) else {
                if c.state.Running && proxies(of: c).isEmpty {
                    throw Failure(expected: "the web server behind port \(target.port) ended",
                                  observed: "the port's proxy is gone, but the httpd behind it still runs (host PID \(c.state.Pid))",
                                  tryThis: "what ss shows on the port is box's port proxy, not the server: find which container it forwards to (its command line names the address), then kill that container's httpd")
                }
                throw Failure(expected: "the web server behind port \(target.port) ended",
                              observed: c.state.Running ? "it still serves" : "it ended before the exercise began",
                              tryThis: "ss -ltnp | grep :\(target.port), then follow the process it names to a container")
            }
            try require(died.signal != nil, expected: "the server to die of a signal you sent",
                        observed: "it exited with code \(died.exitCode.map(String.init) ?? "?")", tryThis: "end it with kill from the host")
            try require(!Namespaces.listensOnLoopback(target.port, in: ctx.host.pid), expected: "port \(target.port) closed", observed: "something still listens on it",
                        tryThis: "ss -ltnp | grep :\(target.port)")
            return .pass("\(c.name)'s httpd died of signal \(died.signal ?? 0), no box command did it, port \(target.port) is closed; the other two still serve")
        }
        Hint("`ss -ltnp | grep :{{port}}` names the process holding the port. Read its command line: `tr '\\0' ' ' < /proc/PID/cmdline`.")
        Hint("`sudo box port NAME` lists a container's published ports; `sudo box inspect --format '{{.State.Pid}}' NAME` gives its server's PID.")
        Hint("httpd is PID 1 of its container, and has no handler for SIGTERM: only `kill -9` ends it.")
        Solution("""
        for c in po-north po-east po-west; do box port $c | grep -q ":{{port}}$" && owner=$c; done
        kill -9 $(box inspect --format '{{.State.Pid}}' $owner)
        """)
    }
}

private let names = ["po-north", "po-east", "po-west"]

/// Three ports on 127.0.0.1 from the learner's name and home: a selftest (a fresh home each time) and a learner
/// doing the exercise at once do not collide.
private func ports(of learner: Learner) -> [Int] {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in (learner.name + "@" + learner.home + "/port-owner").utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
    let base = 20000 + Int(h % 3000) * 5
    return [base, base + 1 + Int(h / 3000 % 2), base + 3 + Int(h / 6000 % 2)]
}

/// Which of the three containers serves the port the goal names.
private func targetIndex(of learner: Learner) -> Int { learner.number("port-owner-target", below: 3) }

/// The port proxies (`box __proxy IP PORT`) of a running container: children of its monitor.
private func proxies(of c: Container) -> [Proc] {
    Proc.all().filter { $0.ppid == c.state.MonitorPid && $0.commandLine.dropFirst().first == "__proxy" }
}

/// "ID PID:STARTTICKS PORT", as the setup remembered it.
private func record(_ value: String) -> (id: String, pid1: String, port: Int) {
    let parts = value.split(separator: " ").map(String.init)
    return (parts.first ?? "", parts.count > 1 ? parts[1] : "", parts.count > 2 ? Int(parts[2]) ?? 0 : 0)
}
