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
        let o = try options.createOptions()
        say(try CIDFile.around(options.more.cidfile) { try store.create(o) }.id)
    }
}
