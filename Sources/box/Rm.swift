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
    @Flag(name: [.short, .long], help: "Refused (legacy links): box has no links to remove; containers on a network of your own reach each other by name")
    var link = false
    @Argument(help: "Containers")
    var containers: [String]

    func run() throws {
        if link { throw BoxError(.usage, "--link: box has no legacy links to remove (containers on a network of your own reach each other by name)", exitCode: 125) }
        let store = try engine()
        try forEach(containers) { name in
            try store.remove(try store.resolve(name), force: force, volumes: volumes)
            say(name)
        }
    }
}
