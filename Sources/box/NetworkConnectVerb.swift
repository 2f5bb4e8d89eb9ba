import ArgumentParser
import Engine

/// What `network connect` and `disconnect` take: NETWORK CONTAINER.
struct NetworkAndContainer: ParsableArguments {
    @Argument(help: "The network")
    var network: String
    @Argument(help: "The container")
    var container: String
}

struct NetworkConnectVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect", abstract: "Connect a running container to one more network",
        discussion: """
        One more veth pair: ethN in the container with an address of the network's subnet, the other end on the
        network's bridge; the network's other containers reach it by its name (and --alias names).
          box network connect --alias web mynet c1
        """)

    @Option(name: .long, help: "Add a network-scoped alias for the container")
    var alias: [String] = []
    @OptionGroup var target: NetworkAndContainer
    @OptionGroup(title: refusedTitle) var refused: NetworkConnectRefused

    func run() throws {
        try refused.check()
        for a in alias where a.isEmpty || !a.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) {
            throw BoxError(.usage, "invalid alias \"\(a)\": letters, digits, '-', '_' and '.' only", exitCode: 1)
        }
        let store = try engine()
        _ = try NetworkConnect.connect(try store.resolve(target.container), network: target.network, aliases: alias, store: store)
    }
}

struct NetworkConnectRefused: RefusedFlags {
    @Option(help: "box's bridge driver takes no per-endpoint options")
    var driverOpt: [String] = []
    @Option(help: "box gives one gateway per container, its first network's: no priorities between them")
    var gwPriority: String?
    @Option(help: "box gives addresses in order from the network's pool")
    var ip: String?
    @Option(help: "box's networks are IPv4 only")
    var ip6: String?
    @Option(help: "box has no legacy links: containers on a network of your own reach each other by name")
    var link: [String] = []
    @Option(help: "box gives no link-local addresses")
    var linkLocalIp: [String] = []
}
