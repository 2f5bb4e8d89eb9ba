import ArgumentParser
import Engine

struct Rename: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename a container")
    @Argument(help: "The container (name or id)")
    var container: String
    @Argument(help: "Its new name")
    var newName: String

    func run() throws {
        let store = try engine()
        do {
            try store.renameContainer(container, to: newName)
        } catch let e as BoxError {
            // docker's CLI: the daemon's error, then its own line.
            writeErr("box: \(e)\nError: failed to rename container named \(container)\n")
            throw ExitCode(e.exitCode)
        }
    }
}
