import ArgumentParser
import Engine

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop containers: SIGTERM to PID 1, then SIGKILL after a grace period",
        discussion: """
        PID 1 of a pid namespace does not die from a signal it has no handler for: the kernel protects init.
        A shell or `sleep` as PID 1 therefore ignores SIGTERM, and stop has to wait out the grace period and
        send SIGKILL. box prints which of the two ended it.
        """)
    @Option(name: [.short, .customLong("time"), .customLong("timeout")], help: "Seconds to wait before SIGKILL (default: the container's --stop-timeout, else 10)")
    var time: Int?
    @Option(name: [.short, .long], help: "Signal to send first (default: the container's --stop-signal, else SIGTERM): a name (TERM, SIGINT...) or a number")
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
            let outcome = try Lifecycle(store: store).stop(c, timeout: time, signal: signal.flatMap(Kill.parse))
            if outcome == .killed {
                writeErr("box: \(name) did not exit within \(Lifecycle.grace(c, given: time))s of \(signal.map { "signal " + $0 } ?? c.spec.Config.StopSignal ?? "SIGTERM"): sent SIGKILL\n")
            }
            say(name)
        }
    }
}
