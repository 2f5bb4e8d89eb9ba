#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DockerFormat
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
    @OptionGroup var times: TimeRange
    @Flag(name: .long, help: "One JSON object per line (box's own record)")
    var json = false
    @Option(name: [.short, .long], help: "Only events matching: container=NAME|ID, event=ACTION, image=NAME, label=KEY[=VALUE], type=container|image|network (a key given twice matches either)")
    var filter: [String] = []
    @Option(name: .long, help: "Format with a Go template ({{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Time}} {{.Status}} {{.ID}} {{.From}}), or json")
    var format: String?

    func run() throws {
        let filters = try EventFilter(filter)
        let template = try format.flatMap { f -> FormatTemplate? in try f == "json" ? nil : FormatTemplate(f) }
        let store = try engine()
        let start = times.start ?? .now()
        let end = times.end
        var offset = 0
        while true {
            let (events, next) = store.journal.read(since: start, until: end, from: offset)
            offset = next
            for e in events where filters.matches(e) {
                if format == "json" {
                    say(Events.message(e, goNames: false).compact(escapeHTML: true))
                } else if let template {
                    say(try template.render(Events.message(e, goNames: true)))
                } else if json {
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

extension Events {
    /// docker's events.Message: its Go field names for a template, its JSON names for `--format json`.
    static func message(_ e: Event, goNames: Bool) -> JSONValue {
        var attributes = e.attributes
        if let image = e.image { attributes["image"] = image }
        if let name = e.name { attributes["name"] = name }
        let actor: JSONValue = ["ID": .string(e.id), "Attributes": .object(attributes.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })]
        let seconds = JSONValue.int(e.time.seconds), nanos = JSONValue.int(e.time.unixNanoseconds)
        if goNames {
            return ["Status": .string(e.action), "ID": .string(e.id), "From": .string(e.image ?? ""), "Type": .string(e.type),
                    "Action": .string(e.action), "Actor": actor, "Scope": "local", "Time": seconds, "TimeNano": nanos]
        }
        return ["status": .string(e.action), "id": .string(e.id), "from": .string(e.image ?? ""), "Type": .string(e.type),
                "Action": .string(e.action), "Actor": actor, "scope": "local", "time": seconds, "timeNano": nanos]
    }
}

/// docker events --filter: values of one key match if any does, every key given must match.
struct EventFilter {
    var values: [String: [String]] = [:]

    init(_ filters: [String]) throws {
        for f in filters {
            let kv = f.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, ["container", "event", "image", "label", "type"].contains(kv[0]) else {
                throw BoxError(.usage, "invalid filter '\(f)': use container=, event=, image=, label= or type=", exitCode: 125)
            }
            values[kv[0], default: []].append(kv[1])
        }
    }

    func matches(_ e: Event) -> Bool {
        values.allSatisfy { key, wanted in
            wanted.contains { v in
                switch key {
                case "container": return e.type == "container" && (e.id.hasPrefix(v) || e.name == v)
                case "event": return e.action == v || e.action.hasPrefix(v + ":")  // "exec_start: sh" is an exec_start
                case "image": return e.image == v || e.image == v + ":latest" || e.attributes["imageID"] == v
                case "type": return e.type == v
                default:  // label=KEY or label=KEY=VALUE, on the event's attributes
                    let kv = v.split(separator: "=", maxSplits: 1).map(String.init)
                    guard let value = e.attributes[kv[0]] else { return false }
                    return kv.count == 1 || value == kv[1]
                }
            }
        }
    }
}

/// --since and --until, as logs and events take them: RFC 3339, Unix seconds, or a duration back from now.
struct TimeRange: ParsableArguments {
    @Option(name: .long, help: "Since a time: RFC 3339, Unix seconds, or a duration ago (10m, 2h)")
    var since: String?
    @Option(name: .long, help: "Until a time (same forms as --since): nothing after it, no following past it")
    var until: String?

    func validate() throws {
        for t in [since, until].compactMap({ $0 }) where Timestamp.parse(t) == nil {
            throw ValidationError("invalid time \"\(t)\": use RFC 3339 (2026-11-27T15:00:00Z), Unix seconds, or 10m / 2h / 30s")
        }
    }

    var start: Timestamp? { since.flatMap { Timestamp.parse($0) } }
    var end: Timestamp? { until.flatMap { Timestamp.parse($0) } }
}
