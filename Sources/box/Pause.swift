import ArgumentParser
import Engine

struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Freeze all processes of containers (the cgroup freezer; no signal is sent)",
        discussion: "Look at a paused process from the host: `cat /proc/PID/status` shows it is not running, and its CPU time stops growing.")
    @Argument(help: "Containers")
    var containers: [String]

    func run() throws {
        let store = try engine()
        try forEach(containers) { name in
            try Lifecycle(store: store).pause(try store.resolve(name))
            say(name)
        }
    }
}

struct Unpause: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unpause", abstract: "Thaw the processes of paused containers")
    @Argument(help: "Containers")
    var containers: [String]

    func run() throws {
        let store = try engine()
        try forEach(containers) { name in
            try Lifecycle(store: store).unpause(try store.resolve(name))
            say(name)
        }
    }
}
