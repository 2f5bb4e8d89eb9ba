import ArgumentParser
import Engine

struct NetworkDisconnectVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disconnect", abstract: "Disconnect a container from a network network connect added")

    @Flag(name: .shortAndLong, help: "Force the container to disconnect from a network (accepted; box's disconnect needs no force)")
    var force = false
    @OptionGroup var target: NetworkAndContainer

    func run() throws {
        let store = try engine()
        try NetworkConnect.disconnect(try store.resolve(target.container), network: target.network, store: store)
    }
}
