import Foundation
import Testing
@testable import Engine

@Suite("network connect / disconnect (issue 23)", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct NetworkConnectTests {
    // Subnets of their own (10.238, 10.243, 10.244): the tests run in parallel, and a subnet a bridge of another
    // test's root holds is refused on the host.
    /// `ip -o -4 addr` of the container's own network namespace, read from the host (nsenter into PID 1's).
    static func addresses(_ s: Sandbox, _ name: String) throws -> String {
        let ip = Subprocess.which("ip") ?? "/usr/sbin/ip"
        return try Sandbox.exec([Subprocess.which("nsenter") ?? "/usr/bin/nsenter", "-t", String(try s.pid(name)), "-n", ip, "-o", "-4", "addr"]).stdout
    }

    @Test("connect adds eth1 with an address of the network in the container's namespace; others ping it by name and alias; disconnect takes it away")
    func connectDisconnect() throws {
        let s = try Sandbox()
        #expect(try s.run("network", "create", "--subnet", "10.243.0.0/24", "front").status == 0)
        #expect(try s.run("network", "create", "--subnet", "10.244.0.0/24", "back").status == 0)
        let id = try s.detached("--name", "app", "--network", "front", "busybox", "sleep", "600")
        try s.detached("--name", "db", "--network", "back", "busybox", "sleep", "600")
        #expect(try s.run("exec", "db", "ping", "-c", "1", "-W", "1", "app").status != 0, "app answered on back before the connect")

        let connect = try s.run("network", "connect", "--alias", "api", "back", "app")
        #expect(connect.status == 0, "\(connect)")
        let addrs = try Self.addresses(s, "app")
        #expect(addrs.contains("eth0") && addrs.contains("10.243.0."), "\(addrs)")
        #expect(addrs.contains("eth1") && addrs.contains("10.244.0."), "\(addrs)")
        // The host end is on back's bridge.
        let back = try NetworkStore(root: s.engineRoot).get("back")
        let veth = "vx" + id.prefix(7) + back.Id.prefix(4)
        #expect(try NetworkTests.hostLinks().contains { $0.name == veth && $0.master == back.Bridge && $0.up })
        #expect(try s.run("exec", "db", "ping", "-c", "1", "-W", "2", "app").status == 0)
        #expect(try s.run("exec", "db", "ping", "-c", "1", "-W", "2", "api").status == 0)
        #expect(try s.run("exec", "app", "ping", "-c", "1", "-W", "2", "db").status == 0)
        #expect(try s.run("network", "inspect", "--format", "{{len .Containers}}", "back").out == "2")

        let again = try s.run("network", "connect", "back", "app")
        #expect(again.status == 1 && again.stderr.contains("endpoint with name app already exists in network back"), "\(again)")

        #expect(try s.run("network", "disconnect", "back", "app").status == 0)
        #expect(!(try Self.addresses(s, "app")).contains("eth1"))
        #expect(Sandbox.eventually(5) { (try? NetworkTests.hostLinks().contains { $0.name == veth }) == false })
        #expect(try !s.run("exec", "db", "cat", "/etc/hosts").stdout.contains("app"))
        #expect(try !s.run("exec", "app", "cat", "/etc/hosts").stdout.contains("db"))
        let twice = try s.run("network", "disconnect", "back", "app")
        #expect(twice.status == 1 && twice.stderr.contains("is not connected to network back"), "\(twice)")

        // Connected again, then stopped: the lease is given back with the container's namespace.
        #expect(try s.run("network", "connect", "back", "app").status == 0)
        #expect(try s.run("rm", "-f", "app").status == 0)
        #expect(try NetworkStore(root: s.engineRoot).get("back").Leases.values.allSatisfy { $0 != id })
        #expect(try !s.run("exec", "db", "cat", "/etc/hosts").stdout.contains("app"))
    }

    @Test("connect refuses what docker refuses: unknown network or container, host and none, a stopped container")
    func refusals() throws {
        let s = try Sandbox()
        #expect(try s.run("network", "create", "--subnet", "10.238.0.0/24", "front").status == 0)
        try s.detached("--name", "lonely", "--network", "none", "busybox", "sleep", "600")
        try s.detached("--name", "a", "--network", "front", "busybox", "sleep", "600")
        #expect(try s.run("create", "--name", "stopped", "--network", "front", "busybox", "true").status == 0)
        let cases: [([String], String)] = [
            (["connect", "nope", "a"], "network nope not found"),
            (["connect", "front", "nope"], "No such container: nope"),
            (["connect", "front", "lonely"], "private (none) mode"),
            (["connect", "host", "a"], "connected to host network"),
            (["connect", "front", "stopped"], "not running"),
            (["disconnect", "front", "nope"], "No such container: nope"),
        ]
        for (args, message) in cases {
            let r = try s.run(["network"] + args)
            #expect(r.status == 1 && r.stderr.contains(message), "\(args): \(r)")
        }
        #expect(!(try Self.addresses(s, "lonely")).contains("eth"), "a refused connect changed the namespace")
    }
}
