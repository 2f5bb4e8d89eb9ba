import Foundation
import Testing
@testable import Engine

/// Bridge networks between network namespaces the tests make themselves; no traffic leaves the machine.
@Suite("Networks: bridge, veth, addresses, names, ports", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct NetworkTests {
    /// The host's interfaces, with the bridge each is enslaved to.
    static func hostLinks() throws -> [(name: String, master: String?, up: Bool)] {
        let r = try Sandbox.exec(["/usr/sbin/ip", "-j", "link"].map { $0 == "/usr/sbin/ip" ? (Subprocess.which("ip") ?? $0) : $0 })
        let links = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
        return links.map { ($0["ifname"] as? String ?? "", $0["master"] as? String, ($0["flags"] as? [String] ?? []).contains("UP")) }
    }

    @Test("the default network: eth0 in its subnet with a route via the bridge; the host sees the veth on the bridge")
    func defaultBridge() throws {
        let s = try Sandbox()
        let id = try s.detached("--name", "a", "busybox", "sleep", "600")
        let addr = try s.run("exec", "a", "ip", "-o", "-4", "addr", "show", "eth0").stdout
        let net = try NetworkStore(root: s.engineRoot).get("bridge")
        let ip = try #require(addr.split(separator: " ").first { $0.contains("/") }.flatMap { IPv4(String($0.split(separator: "/")[0])) })
        #expect(net.Subnet.contains(ip), "\(addr) not in \(net.Subnet)")
        #expect(try s.inspect("a", "{{.NetworkSettings.IPAddress}}") == ip.description)
        #expect(try s.inspect("a", "{{.NetworkSettings.Gateway}}") == net.Gateway.description)
        #expect(try s.run("exec", "a", "ip", "route").stdout.contains("default via \(net.Gateway)"))
        // PID 1 builds its root filesystem while the network is set up, but it execs only once that is done:
        // the first thing a command does already sees its address and route.
        let first = try s.run("run", "--rm", "busybox", "sh", "-c", "ip -o -4 addr show eth0; ip route")
        #expect(first.stdout.contains("inet ") && first.stdout.contains("default via \(net.Gateway)"), "\(first.stdout)")
        // The lease is runtime state, in the run directory (by default /run/box, which a reboot empties as it stops
        // every container): the network's definition, the one file that must survive a power cut, holds none.
        let store = NetworkStore(root: s.engineRoot)
        #expect(try Files.decode([String: String].self, from: store.leasesPath(net)) == [ip.description: id])
        #expect(try Files.decode(Network.self, from: store.path("bridge")).Leases.isEmpty)
        let veth = "veth" + id.prefix(7)
        #expect(try Self.hostLinks().contains { $0.name == veth && $0.master == net.Bridge && $0.up })
        // eth0 has its IPv6 link-local address, as in the seeds; the host end, a bridge port, has none.
        #expect(try s.run("exec", "a", "ip", "-6", "addr", "show", "eth0").stdout.contains("inet6 fe80::42:"))
        let ipTool = Subprocess.which("ip") ?? "/usr/sbin/ip"
        #expect(try Sandbox.exec([ipTool, "-6", "addr", "show", "dev", veth]).stdout.isEmpty)
        try s.run("rm", "-f", "a")
        // The kernel deletes the veth with the namespace, asynchronously.
        #expect(Sandbox.eventually(5) { (try? Self.hostLinks().contains { $0.name == veth }) == false }, "the veth outlived its container")
        #expect(try NetworkStore(root: s.engineRoot).get("bridge").Leases.isEmpty)
        #expect(try Files.decode([String: String].self, from: store.leasesPath(net)).isEmpty, "a lease is left")
    }

    @Test("two containers ping each other by address; on a user network by name, and serve each other a page")
    func twoContainers() throws {
        let s = try Sandbox()
        try s.detached("--name", "a", "busybox", "sleep", "600")
        try s.detached("--name", "b", "busybox", "sleep", "600")
        let bIP = try s.inspect("b", "{{.NetworkSettings.IPAddress}}")
        #expect(try s.run("exec", "a", "ping", "-c", "1", "-W", "2", bIP).status == 0)
        // Names are for user-defined networks.
        #expect(try s.run("network", "create", "--subnet", "10.251.0.0/24", "pod").status == 0)
        try s.detached("--name", "web", "--network", "pod", "busybox", "sh", "-c",
                       "mkdir /www && echo served-by-web > /www/index.html && exec httpd -f -p 80 -h /www")
        try s.detached("--name", "client", "--network", "pod", "busybox", "sleep", "600")
        #expect(try s.run("exec", "client", "ping", "-c", "1", "-W", "2", "web").status == 0)
        #expect(try s.run("exec", "client", "grep", "web", "/etc/hosts").stdout.contains("10.251.0."))
        var page = ""
        _ = try Sandbox.eventually(5) {
            page = try s.run("exec", "client", "wget", "-qO-", "http://web/").stdout
            return page.contains("served-by-web")
        }
        #expect(page.contains("served-by-web"))
        // The other way round: web fetches from client.
        try s.run("exec", "client", "sh", "-c", "mkdir -p /www && echo from-client > /www/index.html && httpd -p 8081 -h /www")
        _ = try Sandbox.eventually(5) { try s.run("exec", "web", "wget", "-qO-", "http://client:8081/").stdout.contains("from-client") }
        #expect(try s.run("exec", "web", "wget", "-qO-", "http://client:8081/").stdout.contains("from-client"))
        // A container that leaves is gone from the others' /etc/hosts.
        try s.run("rm", "-f", "client")
        #expect(try !s.run("exec", "web", "cat", "/etc/hosts").stdout.contains("client"))
        #expect(try s.run("network", "rm", "pod").status == 1, "a network in use was removed")
        try s.run("rm", "-f", "web")
        #expect(try s.run("network", "rm", "pod").status == 0)
    }

    @Test("--network none has only lo; container:NAME shares NAME's network namespace and reaches it on localhost; a namespace a sidecar still holds is cut off")
    func noneAndContainer() throws {
        let s = try Sandbox()
        let links = try s.run("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net").stdout
        #expect(links.split(separator: "\n") == ["lo"])
        let web = try s.detached("--name", "web", "busybox", "sh", "-c", "mkdir /www && echo pod > /www/index.html && exec httpd -f -p 80 -h /www")
        try s.detached("--name", "side", "--network", "container:web", "busybox", "sleep", "600")
        #expect(HostProcess.namespace(try s.pid("web"), .net) == HostProcess.namespace(try s.pid("side"), .net))
        _ = try Sandbox.eventually(5) { try s.run("exec", "side", "wget", "-qO-", "http://127.0.0.1/").stdout.contains("pod") }
        #expect(try s.run("exec", "side", "wget", "-qO-", "http://127.0.0.1/").stdout.contains("pod"))
        #expect(try s.run("run", "--rm", "--network", "container:web", "-p", "8080:80", "busybox", "true").status == 125)
        // web ends, side still holds the namespace: web's address is given back, so its veth (alive with the
        // namespace) must be down: on the bridge and up, it could answer for the address's next holder.
        let veth = "veth" + web.prefix(7)
        let gateway = try NetworkStore(root: s.engineRoot).get("bridge").Gateway.description
        #expect(try s.run("exec", "side", "ping", "-c", "1", "-W", "2", gateway).status == 0)
        try s.run("rm", "-f", "web")
        #expect(try Self.hostLinks().contains { $0.name == veth && !$0.up }, "web's veth is still up")
        #expect(try s.run("exec", "side", "ping", "-c", "1", "-W", "1", gateway).status != 0, "side still reaches the bridge")
        try s.run("rm", "-f", "side")
        #expect(Sandbox.eventually(5) { (try? Self.hostLinks().contains { $0.name == veth }) == false }, "the veth outlived the namespace")
    }

    @Test("a network whose bridge is gone (a reboot, an ip link del) gets it back, with its gateway, at the next start")
    func bridgeMadeAgain() throws {
        let s = try Sandbox()
        #expect(try s.run("network", "create", "--subnet", "10.249.0.0/24", "lost").status == 0)
        let ip = Subprocess.which("ip") ?? "/usr/sbin/ip"
        // A network of its own subnet: the default network's (172.17-31.0.0/16, the first free one) may be taken
        // by another test's engine root, running meanwhile, as soon as the bridge holding it is gone; box then
        // refuses to make the bridge again over it, as checked below. The code is the same for both.
        do {
            let name = "lost"
            let first = try s.run("run", "--rm", "--network", name, "busybox", "true")
            #expect(first.status == 0, "\(first.stderr)")
            let n = try NetworkStore(root: s.engineRoot).get(name)
            #expect(try Sandbox.exec([ip, "link", "del", n.Bridge]).status == 0)
            #expect(try !Self.hostLinks().contains { $0.name == n.Bridge })
            let r = try s.run("run", "--rm", "--network", name, "busybox", "sh", "-c", "ip -o -4 addr show eth0; ping -c 1 -W 2 \(n.Gateway)")
            #expect(r.status == 0 && (r.stdout.contains("inet 10.") || r.stdout.contains("inet 172.")), "\(name): \(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("1 packets received"), "\(name): the gateway does not answer: \(r.stdout)")
            let addr = try Sandbox.exec([ip, "-o", "-4", "addr", "show", "dev", n.Bridge]).stdout
            #expect(addr.contains("inet \(n.Gateway)/\(n.Subnet.prefix)"), "\(name): \(addr)")
        }
        // Not over a subnet the host has come to route meanwhile (here by an empty bridge of the test's: no traffic).
        let lost = try NetworkStore(root: s.engineRoot).get("lost")
        #expect(try Sandbox.exec([ip, "link", "del", lost.Bridge]).status == 0)
        let other = "bxtest" + String(UInt32.random(in: 0..<0xffff), radix: 16)
        #expect(try Sandbox.exec([ip, "link", "add", other, "type", "bridge"]).status == 0)
        defer { _ = try? Sandbox.exec([ip, "link", "del", other]) }
        #expect(try Sandbox.exec([ip, "addr", "add", "10.249.0.200/24", "dev", other]).status == 0)
        #expect(try Sandbox.exec([ip, "link", "set", other, "up"]).status == 0)
        let clash = try s.run("run", "--rm", "--network", "lost", "busybox", "true")
        #expect(clash.status == 125 && clash.stderr.contains("now routes 10.249.0.0/24"), "\(clash.stderr)")
        #expect(try !Self.hostLinks().contains { $0.name == lost.Bridge }, "made over a routed subnet")
        _ = try Sandbox.exec([ip, "link", "del", other])
        #expect(try s.run("run", "--rm", "--network", "lost", "busybox", "true").status == 0)
    }

    @Test("a published port answers on 127.0.0.1; box port lists it; nothing is left after rm -f of a container whose monitor was killed")
    func publishedPort() throws {
        let s = try Sandbox()
        // A free port: bind to 0 and read what the kernel chose.
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: 0, sin_addr: in_addr(s_addr: UInt32(0x7f000001).bigEndian), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &len) } }
        let port = UInt16(bigEndian: addr.sin_port)
        close(probe)
        let id = try s.detached("--name", "web", "-p", "127.0.0.1:\(port):80", "busybox", "sh", "-c",
                                "mkdir /www && echo published-page > /www/index.html && exec httpd -f -p 80 -h /www")
        #expect(try s.run("port", "web").stdout.contains("80/tcp -> 127.0.0.1:\(port)"))
        var page = ""
        _ = try Sandbox.eventually(5) {
            page = try Sandbox.exec(["/bin/busybox", "wget", "-qO-", "http://127.0.0.1:\(port)/"]).stdout
            return page.contains("published-page")
        }
        #expect(page.contains("published-page"))
        // The same port twice is refused, and that container does not start.
        let twice = try s.run("run", "-d", "--name", "again", "-p", "127.0.0.1:\(port):80", "busybox", "sleep", "5")
        #expect(twice.status != 0 && twice.stderr.contains("port is already allocated"), "\(twice.stderr)")
        // Its PID 1 was already cloned (and joining its cgroups) when the port was refused: it must be gone,
        // and its cgroup with it (a cgroup with a process in it cannot be removed).
        let again = try s.inspect("again", "{{.Id}}")
        #expect(try s.inspect("again", "{{.State.Status}} {{.State.Pid}}") == "created 0")
        for dir in ["/sys/fs/cgroup/box/\(again)", "/sys/fs/cgroup/pids/box/\(again)", "/sys/fs/cgroup/memory/box/\(again)"] {
            #expect(!FileManager.default.fileExists(atPath: dir), "\(dir) is left")
        }
        // Kill the monitor: its proxy dies with it; rm -f then gives back the veth and the address.
        let monitor = try s.store.load(id).state.MonitorPid
        kill(monitor, SIGKILL)
        // Its proxy died with it: the port can be bound again (while the container itself still runs).
        #expect(Sandbox.eventually(5) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            // SO_REUSEADDR: the page fetched above leaves a connection in TIME_WAIT; only a listener may refuse us.
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var a = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: port.bigEndian,
                                sin_addr: in_addr(s_addr: UInt32(0x7f000001).bigEndian), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
            return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
        }, "the proxy outlived its monitor")
        try s.run("rm", "-f", "web", "again")
        #expect(Sandbox.eventually(5) { (try? Self.hostLinks().contains { $0.name == "veth" + id.prefix(7) }) == false })
        #expect(try NetworkStore(root: s.engineRoot).get("bridge").Leases.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: s.engineRoot.containerDir(id)))
    }

    @Test("bad input: unknown network, bad subnets, overlapping subnets, bad ports")
    func badInput() throws {
        let s = try Sandbox()
        let unknown = try s.run("run", "--rm", "--network", "nosuch", "busybox", "true")
        #expect(unknown.status == 125 && unknown.stderr.contains("network nosuch not found"), "\(unknown.stderr)")
        for bad in ["10.0.0.0", "10.0.0.5/24", "300.1.1.0/24", "10.0.0.0/33"] {
            let r = try s.run("network", "create", "--subnet", bad, "n1")
            #expect(r.status != 0 && r.stderr.contains("invalid subnet"), "\(bad): \(r.stderr)")
        }
        #expect(try s.run("network", "create", "--subnet", "10.252.0.0/24", "n1").status == 0)
        let overlap = try s.run("network", "create", "--subnet", "10.252.0.0/16", "n2")
        #expect(overlap.status != 0 && overlap.stderr.contains("overlaps"), "\(overlap.stderr)")
        #expect(try s.run("network", "create", "--subnet", "10.253.0.0/24", "n1").stderr.contains("already exists"))
        for bad in ["80", "a:80", "0:80", "1.2.3:80:80", "8080:80/udp"] {
            let r = try s.run("run", "--rm", "-p", bad, "busybox", "true")
            #expect(r.status == 125 && r.stderr.contains("port"), "\(bad): \(r.stderr)")
        }
        #expect(try s.run("ps", "-aq").out.isEmpty, "a refused run left a container")
    }

    @Test("the default network can be removed when unused, by network rm or system prune --all, and comes back at the next start")
    func removeDefaultNetwork() throws {
        let s = try Sandbox()
        try s.detached("--name", "a", "busybox", "sleep", "600")
        let net = try NetworkStore(root: s.engineRoot).get("bridge")
        let inUse = try s.run("network", "rm", "bridge")
        #expect(inUse.status == 1 && inUse.stderr.contains("active endpoints"), "\(inUse.stderr)")
        #expect(try Self.hostLinks().contains { $0.name == net.Bridge })
        try s.run("rm", "-f", "a")
        #expect(try s.run("network", "prune", "-f").status == 0)
        #expect(try Self.hostLinks().contains { $0.name == net.Bridge }, "network prune removed the default network (docker keeps it)")
        let rm = try s.run("network", "rm", "bridge")
        #expect(rm.status == 0, "\(rm.stderr)")
        #expect(try !Self.hostLinks().contains { $0.name == net.Bridge }, "the bridge outlived its network")
        #expect(try s.run("run", "--rm", "busybox", "true").status == 0)
        #expect(try Self.hostLinks().contains { $0.name == net.Bridge }, "the next start did not make the default network again")
        // system prune keeps it; with --all it goes, so nothing of the engine root stays on the host.
        #expect(try s.run("system", "prune", "-f").status == 0)
        #expect(try Self.hostLinks().contains { $0.name == net.Bridge })
        let all = try s.run("system", "prune", "--all", "-f")
        #expect(all.status == 0 && all.stdout.contains("Deleted Networks:\nbridge"), "\(all.stdout) \(all.stderr)")
        #expect(try !Self.hostLinks().contains { $0.name == net.Bridge })
        #expect(try NetworkStore(root: s.engineRoot).list().isEmpty)
    }
}
