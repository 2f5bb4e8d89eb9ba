import ArgumentParser
import Engine

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Stop (if running) and start containers again")
    @Option(name: [.short, .customLong("time"), .customLong("timeout")], help: "Seconds to wait before SIGKILL (default: the container's --stop-timeout, else 10)")
    var time: Int?
    @Argument(help: "Containers")
    var containers: [String]

    func run() throws {
        let store = try engine()
        try forEach(containers) { name in
            let c = try store.resolve(name)
            _ = try Lifecycle(store: store).stop(c, timeout: time)
            try startAndAttach(store, try store.load(c.id), attach: false, stdin: false, tty: false, printID: false)
            say(name)
        }
    }
}
