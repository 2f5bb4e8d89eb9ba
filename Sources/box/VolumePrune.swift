import ArgumentParser
import DockerFormat
import Engine

struct VolumePrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove the anonymous volumes no container uses (-a: named ones too)")

    @Flag(name: .shortAndLong, help: "Remove all unused volumes, not just anonymous ones")
    var all = false
    @Flag(name: .shortAndLong, help: "Do not ask for confirmation")
    var force = false
    @Option(help: "Only volumes matching: label=KEY[=VALUE], name=…")
    var filter: [String] = []

    func run() throws {
        let store = try engine()
        try VolumeStore.validateFilters(filter)
        guard try confirmed(force: force, removes: all ? "all local volumes not used by at least one container" : "anonymous local volumes not used by at least one container",
                            verb: "box volume prune")
        else { return }
        let (names, bytes) = try store.pruneVolumes(all: all) { (try? VolumeStore.matches($0, filters: filter, inUse: false)) ?? false }
        if !names.isEmpty { say("Deleted Volumes:\n" + names.joined(separator: "\n") + "\n") }
        say("Total reclaimed space: " + Units.humanSize(bytes))
    }
}
