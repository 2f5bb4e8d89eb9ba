import ArgumentParser

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Show the box version")
    func run() throws {
        say("box version \(Version.string)")
    }
}
