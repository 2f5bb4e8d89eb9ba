import ArgumentParser
import Engine

struct VolumeCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a volume (no name: an anonymous one)")

    @Option(name: .shortAndLong, help: "Volume driver name (only local)")
    var driver = "local"
    @Option(name: .long, help: "Set metadata for a volume (KEY=VALUE)")
    var label: [String] = []
    @Option(name: .shortAndLong, help: "Driver options (docker's local driver mounts type/device/o; box's volumes are directories and refuse them)")
    var opt: [String] = []
    @Argument(help: "The volume's name: [a-zA-Z0-9][a-zA-Z0-9_.-]+")
    var name: String?
    @OptionGroup(title: refusedTitle) var refused: VolumeCreateRefused

    func run() throws {
        try refused.check()
        let record = try volumeStore().create(name, driver: driver, labels: keyValues(label), options: keyValues(opt))
        say(record.Name)
    }
}

/// docker's cluster (swarm CSI) volume flags.
struct VolumeCreateRefused: RefusedFlags {
    @Option(help: "box has no swarm: its volumes are local directories, not cluster (CSI) volumes")
    var availability: String?
    @Option(help: "box has no swarm: its volumes are local directories, not cluster (CSI) volumes")
    var group: String?
    @Option(help: "box has no swarm: its volumes are local directories, not cluster (CSI) volumes")
    var limitBytes: String?
    @Option(help: "box has no swarm: its volumes are local directories, not cluster (CSI) volumes")
    var requiredBytes: String?
    @Option(help: "box has no swarm: its volumes are local directories, not cluster (CSI) volumes")
    var scope: String?
    @Option(help: "box has no swarm: its volumes are local directories, not cluster (CSI) volumes")
    var secret: [String] = []
    @Option(help: "box has no swarm: its volumes are local directories, not cluster (CSI) volumes")
    var sharing: String?
    @Option(help: "box has no swarm: its volumes are local directories, not cluster (CSI) volumes")
    var topologyPreferred: [String] = []
    @Option(help: "box has no swarm: its volumes are local directories, not cluster (CSI) volumes")
    var topologyRequired: [String] = []
    @Option(help: "box has no swarm: its volumes are local directories, not cluster (CSI) volumes")
    var type: String?
}
