import ArgumentParser
import DockerFormat
import Engine

/// docker's management form of the container verbs: `box container ls`, `box container rm`, … — the same
/// commands as the top-level verbs, `ls` also answering to `list` and `ps` as docker's does.
struct ContainerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container", abstract: "Manage containers",
        subcommands: [
            Attach.self, Commit.self, Cp.self, Create.self, Diff.self, Exec.self, Export.self, Inspect.self, Kill.self,
            Logs.self, ContainerLs.self, Pause.self, Port.self, ContainerPrune.self, Rename.self, Restart.self, Rm.self,
            Run.self, Start.self, Stats.self, Stop.self, Top.self, Unpause.self, Update.self, Wait.self,
        ])
}

/// `box container ls` (list, ps): `box ps` under docker's other names.
struct ContainerLs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List containers", aliases: ["list", "ps"])
    @OptionGroup var ps: Ps

    func run() throws { try ps.run() }
}

/// `box container prune`: removes every stopped container (created or exited), as docker's does.
struct ContainerPrune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove all stopped containers")
    @Flag(name: [.short, .long], help: "Do not prompt for confirmation")
    var force = false
    @Option(help: "Provide filter values (label=KEY[=VALUE])")
    var filter: [String] = []

    func run() throws {
        let store = try engine()
        let filters = try ListFilters(filter, accepted: ["label", "until"])
        guard try confirmed(force: force, removes: "all stopped containers", verb: "box container prune") else { return }
        var deleted: [String] = []
        var reclaimed: Int64 = 0
        for c in try store.list() where !c.state.Running && c.state.Status != .restarting && filters.matchesLabels(c.spec.Config.Labels) {
            let size = DiskUsage.size(of: store.layerPath(c.id) + "/diff")
            do { try store.remove(c, force: false) } catch let e as BoxError {
                writeErr("box: \(e)\n")
                continue
            }
            deleted.append(c.id)
            reclaimed += size
        }
        if !deleted.isEmpty { say("Deleted Containers:\n" + deleted.joined(separator: "\n") + "\n") }
        say("Total reclaimed space: \(Units.humanSize(reclaimed))")
    }
}
