#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DockerFormat
import Engine

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Manage images", subcommands: [ImagePruneCommand.self])
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

    func run() throws {
        let store = try engine()
        let what = all ? "all images without at least one container associated to them" : "all dangling images"
        guard try confirmed(force: force, removes: what, verb: "box image prune") else { return }
        let report = try ImagePrune(store: store.images).run(all: all, users: try store.imageUsers())
        if !report.lines.isEmpty { say("Deleted Images:\n" + report.lines.joined(separator: "\n") + "\n") }
        say("Total reclaimed space: \(Units.humanSize(report.reclaimed))")
    }
}
