import ArgumentParser
import Engine

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a container without starting it (box start starts it)",
        helpNames: [.long]
    )
    @OptionGroup var options: ContainerOptions

    func run() throws {
        let store = try engine()
        say(try store.create(options.createOptions()).id)
    }
}
