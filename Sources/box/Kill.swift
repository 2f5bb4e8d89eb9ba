#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

struct Kill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill",
        abstract: "Send a signal to containers' PID 1 (SIGKILL unless -s says otherwise), without waiting")
    @Option(name: [.short, .long], help: "Signal: a name (KILL, SIGTERM, HUP...) or a number")
    var signal: String = "KILL"
    @Argument(help: "Containers")
    var containers: [String]

    static let names: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "KILL": SIGKILL, "USR1": SIGUSR1, "USR2": SIGUSR2,
        "TERM": SIGTERM, "STOP": SIGSTOP, "CONT": SIGCONT, "ALRM": SIGALRM, "WINCH": SIGWINCH, "PIPE": SIGPIPE,
        "ABRT": SIGABRT, "TSTP": SIGTSTP,
    ]

    static func parse(_ text: String) -> Int32? {
        if let n = Int32(text), n > 0, n < 65 { return n }
        let upper = text.uppercased()
        return names[upper.hasPrefix("SIG") ? String(upper.dropFirst(3)) : upper]
    }

    func validate() throws {
        if Kill.parse(signal) == nil { throw ValidationError("invalid signal: \(signal)") }
    }

    func run() throws {
        let store = try engine()
        let sig = Kill.parse(signal)!
        try forEach(containers) { name in
            try Lifecycle(store: store).kill(try store.resolve(name), signal: sig)
            say(name)
        }
    }
}
