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

    func run() throws {
        let record = try volumeStore().create(name, driver: driver, labels: keyValues(label), options: keyValues(opt))
        say(record.Name)
    }
}
