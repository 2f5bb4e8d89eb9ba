#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DockerFormat
import Engine

/// docker's management form of the image verbs: `box image ls` (images, list), `box image rm` (rmi, remove), …
struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Manage images",
        subcommands: [Build.self, History.self, Import.self, Inspect.self, Load.self, ImageLs.self, ImagePruneCommand.self,
                      Pull.self, Push.self, ImageRm.self, Save.self, Tag.self])
}

/// `box image ls`: `box images` under docker's other names.
struct ImageLs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List images", aliases: ["images", "list"])
    @OptionGroup var images: Images

    func run() throws { try images.run() }
}

/// `box image rm`: `box rmi` under docker's other names.
struct ImageRm: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more images", aliases: ["rmi", "remove"])
    @OptionGroup var rmi: Rmi

    func run() throws { try rmi.run() }
}

struct ImagePruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove dangling images (those with no name left), or with -a every image no container uses",
        discussion: "A layer that another image still uses stays.")
    @Flag(name: [.short, .long], help: "Remove all images no container was created from, not just dangling ones")
    var all = false
    @Flag(name: [.short, .long], help: "Do not ask for confirmation")
    var force = false
    @Option(help: "Refused: box's image prune takes no filters (until=, label=): it removes every dangling image, or with -a every unused one")
    var filter: [String] = []

    func run() throws {
        if !filter.isEmpty {
            throw BoxError(.usage, "--filter: box's image prune takes no filters (until=, label=): it removes every dangling image, or with -a every unused one", exitCode: 125)
        }
        let store = try engine()
        let what = all ? "all images without at least one container associated to them" : "all dangling images"
        guard try confirmed(force: force, removes: what, verb: "box image prune") else { return }
        let report = try ImagePrune(store: store.images).run(all: all, users: try store.imageUsers())
        if !report.lines.isEmpty { say("Deleted Images:\n" + report.lines.joined(separator: "\n") + "\n") }
        say("Total reclaimed space: \(Units.humanSize(report.reclaimed))")
    }
}
