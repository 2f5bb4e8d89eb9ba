import ArgumentParser
import Engine

struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wait", abstract: "Block until containers stop, then print their exit codes")
    @Argument(help: "Containers")
    var containers: [String]

    func run() throws {
        let store = try engine()
        try forEach(containers) { name in
            let c = try Lifecycle(store: store).waitForExit(try store.resolve(name))
            say(String(c.state.ExitCode))
        }
    }
}
