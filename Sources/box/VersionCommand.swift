import ArgumentParser
import DockerFormat
import Engine

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Show the box version")
    @Option(name: [.short, .long], help: "Format with a Go template, docker's field names ({{.Client.Version}} {{.Server.Version}} {{json .}}), or json")
    var format: String?

    func run() throws {
        guard let format else { return say("box version \(Version.string)") }
        // box is client and engine at once: both halves are the same program.
        let side: JSONValue = ["Version": .string(Version.string), "Os": "linux", "Arch": .string(ImageConfig.hostArchitecture),
                               "KernelVersion": .string(Info.kernel())]
        let version: JSONValue = ["Client": side, "Server": side]
        if format == "json" { return say(version.compact(escapeHTML: true)) }
        say(try FormatTemplate(format).render(version))
    }
}
