import ArgumentParser
import Engine

struct Rm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove containers: their writable layer, state, logs and socket")
    @Flag(name: [.short, .long], help: "Kill a running container first (SIGKILL)")
    var force = false
    @Flag(name: [.short, .long], help: "Remove the anonymous volumes associated with the container")
    var volumes = false
    @Argument(help: "Containers")
    var containers: [String]

    func run() throws {
        let store = try engine()
        try forEach(containers) { name in
            try store.remove(try store.resolve(name), force: force, volumes: volumes)
            say(name)
        }
    }
}
