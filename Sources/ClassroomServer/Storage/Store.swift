import Engine

/// The room: one per data directory (or database).
public struct Room: Sendable, Equatable {
    public var name: String
    /// What attendees type in `lab join --code`: 6 characters, letters and digits without 0/O/1/I.
    public var code: String
    /// The instructor's bearer token: 32 random bytes, hex.
    public var token: String
}

/// An attendee as stored. The secret itself is never stored: only its sha256, by which it is looked up.
public struct Attendee: Sendable, Equatable {
    public var id: String
    public var name: String
    public var joined: Timestamp
    public var lastSeen: Timestamp
    /// How many journal lines are stored (the next index expected).
    public var lines: Int
    /// sha256 of line `lines - 1`, "" when none.
    public var head: String
    /// The index of the first line whose `prev` did not match, or nil while the chain holds.
    public var chainBrokenAt: Int?
}

public struct Message: Sendable, Equatable {
    public var id: Int64
    /// nil: a broadcast.
    public var to: String?
    public var text: String
    public var time: Timestamp
}

/// An attendee's map of their machine (issue 22), as the dashboard asks for it: never sent unasked. The
/// instructor's request waits (`requested`) until the attendee's `lab` answers it with the map as plain text.
public struct StoredMap: Sendable, Equatable {
    public var attendee: String
    /// When the instructor asked, while the attendee has not answered; nil when nothing is pending.
    public var requested: Timestamp?
    /// The latest map sent, and when; nil until the first.
    public var text: String?
    public var at: Timestamp?

    public init(attendee: String, requested: Timestamp? = nil, text: String? = nil, at: Timestamp? = nil) {
        self.attendee = attendee
        self.requested = requested
        self.text = text
        self.at = at
    }
}

/// What appending a batch did. `conflict` carries how many lines are stored: the client resends from there.
public enum AppendOutcome: Sendable, Equatable {
    case appended(Attendee)
    case conflict(stored: Int, reason: String)
}

/// Where the classroom keeps its room, attendees, journal lines and messages: SQLiteStore (GRDB, one server) or
/// PostgresStore (several servers sharing one database, issue 18).
public protocol ClassroomStore: Sendable {
    /// The stored room, or `make()`'s, stored, when there is none yet.
    func room(orCreate make: @Sendable () -> Room) async throws -> Room
    func renameRoom(_ name: String) async throws
    func addAttendee(_ attendee: Attendee, secretHash: String) async throws
    func attendee(secretHash: String) async throws -> Attendee?
    func attendee(id: String) async throws -> Attendee?
    func attendees() async throws -> [Attendee]
    /// Lines `from..<from+lines.count` of the attendee's journal, checked against what is stored, in one
    /// transaction: identical lines already stored are skipped, a gap or a different line is a conflict (nothing
    /// stored), new lines are stored with the chain check (a broken chain is stored and marked, not refused).
    func append(attendee: String, from: Int, lines: [String], at time: Timestamp) async throws -> AppendOutcome
    /// The attendee's stored lines, oldest first, from index `from`.
    func lines(attendee: String, from: Int) async throws -> [String]
    /// Every attendee (in joining order) with the lines stored after the first `known[id]` (all of them for an
    /// attendee not in `known`), oldest first: what the room's view reads, hundreds of attendees at once, in
    /// one read of one snapshot.
    func room(after known: [String: Int]) async throws -> [(attendee: Attendee, lines: [String])]
    func touch(attendee: String, at time: Timestamp) async throws
    func addMessage(to: String?, text: String, at time: Timestamp) async throws -> Message
    /// Broadcasts and `attendee`'s own messages with an id above `after`, oldest first.
    func messages(for attendee: String, after: Int64, limit: Int) async throws -> [Message]
    /// Records that the instructor asks for the attendee's map (a later ask replaces an earlier one's time).
    func requestMap(attendee: String, at time: Timestamp) async throws
    /// Stores the attendee's map and clears the request, in one transaction, if a request is pending; returns
    /// false (nothing changed) when none is.
    func storeMap(attendee: String, text: String, at time: Timestamp) async throws -> Bool
    /// The attendee's request and map, nil when neither was ever there.
    func map(attendee: String) async throws -> StoredMap?
    /// Every attendee's request and map time, without the texts (the room's view).
    func maps() async throws -> [String: StoredMap]
    /// Calls `changed` whenever another server changed the room (a join, lines, a message), until cancelled. A store
    /// only this process writes has nothing to tell: it waits for the cancellation.
    func watch(_ changed: @escaping @Sendable () -> Void) async throws
}

extension ClassroomStore {
    public func watch(_ changed: @escaping @Sendable () -> Void) async throws {
        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
    }
}

/// The chain rule of the contract, shared by every store: each new line's `prev` must be the sha256 of the line
/// before it ("" for the first line).
enum Chain {
    /// Lowercase hex sha256 of the line's bytes (Engine's, from Nettle: "sha256:HEX").
    static func hash(_ line: String) -> String { String(LayerArchive.sha256(Array(line.utf8)).dropFirst("sha256:".count)) }

    /// Checks `lines` (stored at `start`...) after `head`; returns the new head and the first broken index, if any.
    static func check(_ lines: [String], start: Int, head: String) -> (head: String, brokenAt: Int?) {
        var head = head
        var broken: Int?
        for (offset, line) in lines.enumerated() {
            let prev = JournalLine.prev(of: line)
            if broken == nil, !constantTimeEqual(prev, head) { broken = start + offset }
            head = hash(line)
        }
        return (head, broken)
    }
}

/// Compares two secrets in time that depends on their lengths only, never on where they differ.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var diff: UInt8 = x.count == y.count ? 0 : 1
    for i in 0..<max(x.count, y.count) {
        diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return diff == 0
}
