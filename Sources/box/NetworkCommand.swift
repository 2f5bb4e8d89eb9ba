import ArgumentParser
import DockerFormat
import Engine

struct NetworkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "Manage networks: Linux bridges with an address range, one veth per container",
        discussion: """
        Every container on a bridge network gets a veth pair: eth0 inside, with an address of the network's
        subnet and a default route via the bridge, and its other end on the bridge on the host. The default
        network `bridge` is the bridge box0 (172.17.0.0/16 unless the host uses it). On a network you create,
        containers reach each other by name (box writes their /etc/hosts).
          box network create --subnet 172.30.0.0/16 mynet
          box run -d --name web --network mynet busybox httpd -f
          box run --rm --network mynet busybox wget -qO- http://web/
        """,
        subcommands: [NetworkLs.self, NetworkCreate.self, NetworkRm.self, NetworkInspect.self, NetworkPrune.self,
                      NetworkConnectVerb.self, NetworkDisconnectVerb.self]
    )
}

func networks() throws -> NetworkStore { NetworkStore(root: try engine().root) }

struct NetworkLs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List networks", aliases: ["list"])

    @Flag(name: .shortAndLong, help: "Only display network IDs")
    var quiet = false

    func run() throws {
        let store = try networks()
        _ = try store.get(Network.defaultName)  // the default network exists from the first look, as docker0 does
        let all = try store.list()
        if quiet { return all.forEach { say(String($0.Id.prefix(12))) } }
        var rows = [["NETWORK ID", "NAME", "DRIVER", "SCOPE", "SUBNET", "BRIDGE"]]
        for n in all { rows.append([String(n.Id.prefix(12)), n.Name, n.Driver, "local", n.Subnet.description, n.Bridge]) }
        rows += [["-", "host", "host", "local", "", ""], ["-", "none", "null", "local", "", ""]]
        say(table(rows))
    }
}

struct NetworkCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a bridge network")

    @Option(help: "Subnet in CIDR form (default: the first free /16 from 172.17.0.0)")
    var subnet: String?
    @Flag(help: "NAT the network's traffic to the outside world (iptables MASQUERADE; off by default)")
    var masquerade = false
    @Option(name: .shortAndLong, help: "Driver (only bridge)")
    var driver = "bridge"
    @Argument(help: "The network's name")
    var name: String

    func run() throws {
        guard driver == "bridge" else { throw BoxError(.usage, "box has the bridge driver only", exitCode: 125) }
        let store = try networks()
        let subnet = try self.subnet.map(Subnet.init(parsing:))
        say(try store.create(name, subnet: subnet, masquerade: masquerade).Id)
    }
}

struct NetworkRm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove networks no container uses",
        discussion: """
        The default network `bridge` can be removed too when no container uses it (docker refuses): its bridge and
        subnet are given back to the host, and box makes it again at the next start on it.
        """,
        aliases: ["remove"])

    @Argument(help: "Networks")
    var names: [String]

    func run() throws {
        let store = try networks()
        try forEach(names) { name in
            try store.remove(name)
            say(name)
        }
    }
}

struct NetworkInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show networks as JSON, with their containers")

    @OptionGroup var arguments: InspectArguments

    func run() throws {
        let store = try networks()
        let containers = try engine()
        var values: [JSONValue] = []
        try forEach(arguments.names) { name in
            let n = try store.get(name)
            var members: [(String, JSONValue)] = []
            for (ip, id) in n.Leases.sorted(by: { $0.key < $1.key }) {  // by address, as text
                let c = try? containers.load(id)
                let mac = ContainerNetwork.attachment(containers, id)?.MacAddress ?? ""
                members.append((id, ["Name": .string(c?.name ?? ""), "MacAddress": .string(mac),
                                     "IPv4Address": .string("\(ip)/\(n.Subnet.prefix)")]))
            }
            values.append([
                "Name": .string(n.Name), "Id": .string(n.Id), "Created": .string(n.Created.rfc3339), "Scope": "local",
                "Driver": .string(n.Driver),
                "IPAM": ["Driver": "default", "Config": [["Subnet": .string(n.Subnet.description), "Gateway": .string(n.Gateway.description)]]],
                "Containers": .object(members),
                "Options": ["com.docker.network.bridge.name": .string(n.Bridge),
                            "box.masquerade": .string(n.Masquerade ? "true" : "false")],
            ])
        }
        try arguments.print(values)
    }
}

struct NetworkPrune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove every network no container uses (not bridge)")

    @Flag(name: .shortAndLong, help: "Do not ask for confirmation")
    var force = false

    func run() throws {
        let store = try networks()
        guard try confirmed(force: force, removes: "all networks not used by at least one container", verb: "box network prune")
        else { return }
        let removed = try store.prune(includingDefault: false)
        if !removed.isEmpty { say("Deleted Networks:\n" + removed.joined(separator: "\n")) }
    }
}

struct Port: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "port", abstract: "List a container's published ports")

    @Argument(help: "The container")
    var container: String

    func run() throws {
        let store = try engine()
        let c = try store.resolve(container)
        guard c.state.Running else { return }
        for p in c.spec.HostConfig.PortBindings ?? [] { say(p.description) }
    }
}
