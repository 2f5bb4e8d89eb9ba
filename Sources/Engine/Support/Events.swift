#if canImport(Glibc)
import Glibc
#endif

/// One line of the event journal. Actions are docker's names: create, start, exec_start, exec_die, kill, die,
/// stop, destroy (what `rm` records), attach (`box attach` connected to PID 1) and detach (a terminal attached
/// to PID 1 left it with Ctrl-P Ctrl-Q).
public struct Event: Codable, Sendable, Equatable {
    public var time: Timestamp
    public var type: String
    public var action: String
    public var id: String
    public var name: String?
    public var image: String?
    public var attributes: [String: String]

    public init(type: String = "container", action: String, id: String, name: String? = nil,
                image: String? = nil, attributes: [String: String] = [:], time: Timestamp = .now()) {
        self.time = time
        self.type = type
        self.action = action
        self.id = id
        self.name = name
        self.image = image
        self.attributes = attributes
    }

    /// docker events' line: `2026-11-27T15:49:35.123456789Z container start 3f4e... (image=busybox, name=c1)`
    public var line: String {
        var attrs = attributes
        if let image { attrs["image"] = image }
        if let name { attrs["name"] = name }
        let shown = attrs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        return "\(time.rfc3339) \(type) \(action) \(id) (\(shown))"
    }
}

/// The append-only journal of everything the engine did (BOX_ROOT/events.jsonl, one JSON object a line).
/// The step runner reads it as evidence of what a learner did, so a record is appended with one write on
/// an O_APPEND descriptor: concurrent writers never interleave, and a killed writer never leaves half a line.
/// It is not fsynced (four fsyncs would be a large part of a container's start): a power cut may lose the
/// last records, along with the containers they describe.
public struct EventJournal: Sendable {
    public let path: String

    public init(root: EngineRoot) { self.path = root.events }

    public func record(_ event: Event) {
        // The journal is evidence, not control: failing to record must not fail the operation itself.
        guard let bytes = try? Files.encode(event) else { return }
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)  // command lines: root's
        guard fd >= 0 else { return }
        defer { close(fd) }
        var line = Array(bytes) + [UInt8(ascii: "\n")]
        // A record torn by a full disk or a crash mid-write must not swallow this one: fence it off with a
        // newline first (as LabKit's progress journal does). Two writers that both fence leave an empty line,
        // which readers skip.
        let size = lseek(fd, 0, SEEK_END)
        var last: UInt8 = 0
        if size > 0, pread(fd, &last, 1, size - 1) == 1, last != UInt8(ascii: "\n") { line.insert(UInt8(ascii: "\n"), at: 0) }
        try? Files.writeAll(fd, line, path: path)
    }

    /// Events in [since, until), oldest first. A torn or foreign line is skipped, never fatal.
    public func read(since: Timestamp? = nil, until: Timestamp? = nil, from offset: Int = 0) -> (events: [Event], end: Int) {
        guard let bytes = try? Files.read(path), offset <= bytes.count else { return ([], offset) }
        var events: [Event] = []
        var end = offset
        var start = offset
        for i in offset..<bytes.count where bytes[i] == UInt8(ascii: "\n") {
            defer { start = i + 1; end = i + 1 }
            guard let event = try? JSONTree.decode(Event.self, from: Array(bytes[start..<i])) else { continue }
            if let since, event.time < since { continue }
            if let until, !(event.time < until) { continue }
            events.append(event)
        }
        return (events, end)
    }
}

extension Event {
    /// What the engine records, by docker's names (`action` keeps the raw string, for lines of other versions).
    public enum Action: String, Sendable, CaseIterable {
        case create, start, die, kill, stop, pause, unpause, update, destroy, oom, commit, build, prune
        case attach, detach
        case execStart = "exec_start", execDie = "exec_die"
        case connect, disconnect
    }

    public var kind: Action? { Action(rawValue: action) }
    public func `is`(_ actions: Action...) -> Bool { kind.map(actions.contains) ?? false }

    /// A die event's exit code (128+N after signal N).
    public var exitCode: Int? { attributes["exitCode"].flatMap { Int($0) } }
    /// The signal that ended PID 1 (die), or that box sent (kill).
    public var signal: Int32? { attributes["signal"].flatMap { Int32($0) } }
}
