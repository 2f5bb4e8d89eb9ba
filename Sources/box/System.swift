#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

struct System: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "system",
        abstract: "Manage the engine itself", subcommands: [SystemPrune.self, Info.self])
}

struct SystemPrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove stopped containers, and what a killed engine left behind",
        discussion: "Leftovers are writable layers, mounts, cgroups and sockets that belong to no container (a monitor killed with SIGKILL, a crash).")
    @Flag(name: [.short, .long], help: "Do not ask for confirmation")
    var force = false

    func run() throws {
        let store = try engine()
        guard try confirmed(force: force, removes: "all stopped containers and any leftovers of crashed ones",
                            verb: "box system prune") else { return }
        let report = try Prune(store: store).run()
        if !report.containers.isEmpty { say("Deleted Containers:\n" + report.containers.joined(separator: "\n") + "\n") }
        if !report.leftovers.isEmpty { say("Cleaned up:\n" + report.leftovers.joined(separator: "\n") + "\n") }
        say("\(report.containers.count) containers and \(report.leftovers.count) leftovers removed")
    }
}
