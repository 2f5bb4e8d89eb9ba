import ArgumentParser
import Engine

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Stop (if running) and start containers again")
    @Option(name: [.short, .customLong("time"), .customLong("timeout")], help: "Seconds to wait before SIGKILL (default: the container's --stop-timeout, else 10)")
    var time: Int?
    @Option(name: [.short, .long], help: "Signal to stop it with (default: the container's --stop-signal, else SIGTERM): a name (TERM, SIGINT...) or a number")
    var signal: String?
    @Argument(help: "Containers")
    var containers: [String]

    func validate() throws {
        if let time, time < 0 { throw ValidationError("--time must be 0 or more seconds") }
        if let signal, Kill.parse(signal) == nil { throw ValidationError("invalid signal: \(signal)") }
    }

    func run() throws {
        let store = try engine()
        try forEach(containers) { name in
            let c = try store.resolve(name)
            _ = try Lifecycle(store: store).stop(c, timeout: time, signal: signal.flatMap(Kill.parse))
            try startAndAttach(store, try store.load(c.id), attach: false, stdin: false, tty: false, printID: false)
            say(name)
        }
    }
}
