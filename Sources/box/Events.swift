#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show the engine's event journal, then follow it (Ctrl-C stops)",
        discussion: """
        Every create, start, exec_start, exec_die (with the command and its exit code), kill, die (with the exit
        code, and the signal if one ended it), stop and destroy, with timestamps. Without --since, only new
        events are shown; with --until, box stops there instead of following.
          box events --since 10m
          box events --since 2026-11-27T15:00:00Z --until 5s --json
        """)
    @Option(name: .long, help: "Show events since a time: RFC 3339, Unix seconds, or a duration ago (10m, 2h)")
    var since: String?
    @Option(name: .long, help: "Stop at this time (same forms as --since) instead of following")
    var until: String?
    @Flag(name: .long, help: "One JSON object per line")
    var json = false

    func validate() throws {
        for t in [since, until].compactMap({ $0 }) where Timestamp.parse(t) == nil {
            throw ValidationError("invalid time \"\(t)\": use RFC 3339 (2026-11-27T15:00:00Z), Unix seconds, or 10m / 2h / 30s")
        }
    }

    func run() throws {
        let store = try engine()
        let start = since.flatMap { Timestamp.parse($0) } ?? .now()
        let end = until.flatMap { Timestamp.parse($0) }
        var offset = 0
        while true {
            let (events, next) = store.journal.read(since: start, until: end, from: offset)
            offset = next
            for e in events {
                if json {
                    say(String(decoding: (try? Files.encode(e)) ?? [], as: UTF8.self))
                } else {
                    say(e.line)
                }
            }
            if let end, !(Timestamp.now() < end) { return }
            usleep(100_000)
        }
    }
}
