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
        abstract: "Remove stopped containers, unused networks, and what a killed engine left behind",
        discussion: """
        Leftovers are writable layers, mounts, cgroups and sockets that belong to no container (a monitor killed \
        with SIGKILL, a crash), and the temp files of a killed commit, load or save. Networks no container uses go \
        too, as with docker, except the default one. With --all: also every image no container was created from, \
        and the default network `bridge` when unused (box makes it again at the next start on it), so that an \
        engine root can be left with nothing of it on the host.
        """)
    @Flag(name: [.short, .long], help: "Also remove unused images and the default network")
    var all = false
    @Flag(name: [.short, .long], help: "Do not ask for confirmation")
    var force = false

    func run() throws {
        let store = try engine()
        let what = all ? "all stopped containers, all networks and images not used by at least one container, and any leftovers of crashed ones"
                       : "all stopped containers, all networks not used by at least one container, and any leftovers of crashed ones"
        guard try confirmed(force: force, removes: what, verb: "box system prune") else { return }
        let report = try Prune(store: store).run()
        if !report.containers.isEmpty { say("Deleted Containers:\n" + report.containers.joined(separator: "\n") + "\n") }
        let networks = try NetworkStore(root: store.root).prune(includingDefault: all)
        if !networks.isEmpty { say("Deleted Networks:\n" + networks.joined(separator: "\n") + "\n") }
        if all {
            let images = try ImagePrune(store: store.images).run(all: true, users: try store.imageUsers())
            if !images.lines.isEmpty { say("Deleted Images:\n" + images.lines.joined(separator: "\n") + "\n") }
        }
        if !report.leftovers.isEmpty { say("Cleaned up:\n" + report.leftovers.joined(separator: "\n") + "\n") }
        say("\(report.containers.count) containers, \(networks.count) networks and \(report.leftovers.count) leftovers removed")
    }
}
