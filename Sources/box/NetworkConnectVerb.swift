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

    func run() throws {
        for a in alias where a.isEmpty || !a.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) {
            throw BoxError(.usage, "invalid alias \"\(a)\": letters, digits, '-', '_' and '.' only", exitCode: 1)
        }
        let store = try engine()
        _ = try NetworkConnect.connect(try store.resolve(target.container), network: target.network, aliases: alias, store: store)
    }
}
