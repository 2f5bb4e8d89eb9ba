import ArgumentParser
import DockerFormat
import Engine

struct Ps: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers (running ones unless -a)")
    @Flag(name: [.short, .long], help: "Show all containers, not only running ones")
    var all = false
    @Flag(name: [.short, .long], help: "Only display container ids")
    var quiet = false
    @Flag(name: [.short, .long], help: "Show the latest created container (any state)")
    var latest = false
    @Option(name: [.customShort("n"), .customLong("last")], help: "Show the n last created containers (any state)")
    var last: Int?
    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output")
    var noTrunc = false

    func run() throws {
        let store = try engine()
        var containers = try store.list()
        if let n = latest ? 1 : last { containers = Array(containers.prefix(n)) }
        else if !all { containers = containers.filter { $0.state.Running || $0.state.Status == .restarting } }
        if quiet {
            for c in containers { say(noTrunc ? c.id : c.spec.shortID) }
            return
        }
        let now = Timestamp.now().seconds
        var rows = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]]
        for c in containers {
            var command = ([c.spec.Path] + c.spec.Args).joined(separator: " ")
            if !noTrunc && command.count > 20 { command = String(command.prefix(19)) + "…" }
            rows.append([noTrunc ? c.id : c.spec.shortID, c.spec.Config.Image, "\"\(command)\"",
                         Units.humanDuration(now - c.spec.Created.seconds) + " ago", status(c, now: now), "", c.name])
        }
        say(table(rows))
    }

    /// docker's status column: "Up 5 seconds", "Exited (0) 8 seconds ago", "Created".
    func status(_ c: Container, now: Int64) -> String {
        let s = c.state
        switch s.Status {
        case .running: return "Up " + Units.humanDuration(now - s.StartedAt.seconds)
        case .paused: return "Up " + Units.humanDuration(now - s.StartedAt.seconds) + " (Paused)"
        case .exited: return "Exited (\(s.ExitCode)) " + Units.humanDuration(now - s.FinishedAt.seconds) + " ago"
        case .created: return "Created"
        case .restarting: return "Restarting (\(s.ExitCode)) " + Units.humanDuration(now - s.StartedAt.seconds) + " ago"
        default: return s.Status.rawValue.capitalized
        }
    }
}
