import ArgumentParser
import Engine

struct VolumeRm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove volumes no container uses", aliases: ["remove"])

    @Flag(name: .shortAndLong, help: "Do not fail on a volume that does not exist (a volume in use is still refused, as docker's)")
    var force = false
    @Argument(help: "Volumes")
    var names: [String]

    func run() throws {
        let store = try engine()
        try forEach(names) { name in
            try store.removeVolume(name, force: force)
            say(name)
        }
    }
}
