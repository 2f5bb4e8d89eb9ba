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
    @Flag(name: .customLong("no-trunc"), help: "Show full network ids")
    var noTrunc = false
    @Option(name: [.short, .long], help: "Only networks matching: name=, id= (a prefix), driver=, type=custom|builtin, scope=local (a key given twice matches either)")
    var filter: [String] = []
    @Option(name: .long, help: "Format with a Go template ({{.ID}} {{.Name}} {{.Driver}} {{.Scope}} {{.Subnet}} {{.Bridge}} {{.CreatedAt}}), table TEMPLATE, or json")
    var format: String?

    /// docker's default for network ls (`--format table` alone).
    static let defaultTable = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
    static let titles: JSONValue = ["ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                                    "Subnet": "SUBNET", "Bridge": "BRIDGE", "CreatedAt": "CREATED AT", "IPv6": "IPV6",
                                    "Internal": "INTERNAL", "Labels": "LABELS"]

    func run() throws {
        let wanted = try NetworkLs.filters(filter)
        let rowFormat = try format.map { try listFormat($0, defaultTable: NetworkLs.defaultTable) }
        let store = try networks()
        _ = try store.get(Network.defaultName)  // the default network exists from the first look, as docker0 does
        // host and none are docker's built-in networks, kept by no store: shown with no id.
        var rows: [[String: String]] = try store.list().map {
            ["ID": noTrunc ? $0.Id : String($0.Id.prefix(12)), "Name": $0.Name, "Driver": $0.Driver, "Scope": "local",
             "Subnet": $0.Subnet.description, "Bridge": $0.Bridge, "CreatedAt": $0.Created.rfc3339, "type": "custom"]
        }
        rows += [["ID": "-", "Name": "host", "Driver": "host", "Scope": "local", "type": "builtin"],
                 ["ID": "-", "Name": "none", "Driver": "null", "Scope": "local", "type": "builtin"]]
        let columns = ["id": "ID", "name": "Name", "driver": "Driver", "scope": "Scope", "type": "type"]
        rows = rows.filter { row in
            wanted.allSatisfy { key, values in
                let value = row[columns[key] ?? key] ?? ""
                return values.contains { key == "id" ? value.hasPrefix($0) : value == $0 }
            }
        }
        if quiet { return rows.filter { $0["ID"] != "-" }.forEach { say($0["ID"]!) } }
        if let rowFormat {
            let values: [JSONValue] = rows.map { row in
                let fields: [(String, JSONValue)] = ["ID", "Name", "Driver", "Scope", "Subnet", "Bridge", "CreatedAt"].map {
                    ($0, JSONValue.string(row[$0] ?? ""))
                }
                return .object(fields + [("IPv6", .string("false")), ("Internal", .string("false")), ("Labels", .string(""))])
            }
            return try printListing(rowFormat, values, titles: NetworkLs.titles)
        }
        say(table([["NETWORK ID", "NAME", "DRIVER", "SCOPE", "SUBNET", "BRIDGE"]]
                  + rows.map { row in ["ID", "Name", "Driver", "Scope", "Subnet", "Bridge"].map { row[$0] ?? "" } }))
    }

    static func filters(_ given: [String]) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for f in given {
            let kv = f.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, ["name", "id", "driver", "type", "scope"].contains(kv[0]) else {
                throw BoxError(.usage, "invalid filter '\(f)': use name=, id=, driver=, type= or scope=", exitCode: 125)
            }
            out[kv[0], default: []].append(kv[1])
        }
        return out
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
    @Option(name: .customLong("ipam-driver"), help: "Address management driver (only default: box's own leases)")
    var ipamDriver = "default"
    @Flag(name: .long, help: "Give containers IPv4 addresses (always: box's networks are IPv4)")
    var ipv4 = false
    @OptionGroup(title: refusedTitle) var refused: NetworkCreateRefused
    @Argument(help: "The network's name")
    var name: String

    func run() throws {
        try refused.check()
        guard driver == "bridge" else { throw BoxError(.usage, "box has the bridge driver only", exitCode: 125) }
        guard ipamDriver == "default" else { throw BoxError(.usage, "box has the default IPAM driver only", exitCode: 125) }
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

    @Flag(name: .shortAndLong, help: "Do not error if a network does not exist")
    var force = false
    @Argument(help: "Networks")
    var names: [String]

    func run() throws {
        let store = try networks()
        try forEach(names) { name in
            if force && (try? store.get(name)) == nil && name != Network.defaultName { return }
            try store.remove(name)
            say(name)
        }
    }
}

struct NetworkInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show networks as JSON, with their containers")

    @OptionGroup var arguments: InspectArguments
    @Flag(name: .shortAndLong, help: "Verbose output for diagnostics (docker adds to it for swarm networks only: box's show the same)")
    var verbose = false

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
    @OptionGroup(title: refusedTitle) var refused: NetworkPruneRefused

    func run() throws {
        try refused.check()
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

/// docker network create's flags for swarm, IPv6 and IPAM details, which box's bridge networks have not.
struct NetworkCreateRefused: RefusedFlags {
    @Flag(help: "box has no swarm: its networks are local, every container can attach")
    var attachable = false
    @Flag(help: "box has no swarm routing mesh")
    var ingress = false
    @Option(help: "box has no swarm: every network is local")
    var scope: String?
    @Option(help: "box has no swarm configuration networks")
    var configFrom: String?
    @Flag(help: "box has no swarm configuration networks")
    var configOnly = false
    @Option(help: "box's gateway is the subnet's first address, the bridge's own")
    var gateway: [String] = []
    @Option(help: "box leases addresses from the whole subnet")
    var ipRange: [String] = []
    @Option(help: "box's address leases reserve nothing beyond the gateway")
    var auxAddress: [String] = []
    @Option(help: "box's IPAM takes no options")
    var ipamOpt: [String] = []
    @Flag(help: "box's networks are IPv4 only")
    var ipv6 = false
    @Flag(help: "box cannot cut a bridge network off the outside world: its networks have no NAT unless --masquerade, and keep the host's routes")
    var `internal` = false
    @Option(help: "box networks keep no labels")
    var label: [String] = []
    @Option(name: [.customShort("o"), .long], help: "box's bridge driver takes no options (the bridge is box's own, named after the network)")
    var opt: [String] = []
}

struct NetworkPruneRefused: RefusedFlags {
    @Option(help: "box networks keep no labels, and prune removes every unused one whatever its age")
    var filter: [String] = []
}
