import Engine
import GRDB

/// The classroom in one SQLite file (`DATA/classroom.sqlite`, WAL mode: a DatabasePool), through GRDB.
public final class SQLiteStore: ClassroomStore {
    let pool: DatabasePool

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE room (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    name TEXT NOT NULL, code TEXT NOT NULL, token TEXT NOT NULL);
                CREATE TABLE attendee (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    secretHash TEXT NOT NULL UNIQUE,
                    joined INTEGER NOT NULL,
                    lastSeen INTEGER NOT NULL,
                    lines INTEGER NOT NULL DEFAULT 0,
                    head TEXT NOT NULL DEFAULT '',
                    chainBrokenAt INTEGER);
                CREATE TABLE line (
                    attendee TEXT NOT NULL REFERENCES attendee(id),
                    idx INTEGER NOT NULL,
                    text TEXT NOT NULL,
                    PRIMARY KEY (attendee, idx)) WITHOUT ROWID;
                CREATE TABLE message (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    recipient TEXT,
                    text TEXT NOT NULL,
                    time INTEGER NOT NULL);
                """)
        }
        // Issue 22: the attendee's map, sent only when the instructor asks (`requested` pending until then).
        migrator.registerMigration("v2-host-map") { db in
            try db.execute(sql: """
                CREATE TABLE host_map (
                    attendee TEXT PRIMARY KEY REFERENCES attendee(id),
                    requested INTEGER,
                    text TEXT,
                    at INTEGER);
                """)
        }
        return migrator
    }

    public func room(orCreate make: @Sendable () -> Room) async throws -> Room {
        try await pool.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT name, code, token FROM room WHERE id = 1") {
                return Room(name: row["name"], code: row["code"], token: row["token"])
            }
            let room = make()
            try db.execute(sql: "INSERT INTO room (id, name, code, token) VALUES (1, ?, ?, ?)",
                           arguments: [room.name, room.code, room.token])
            return room
        }
    }

    public func renameRoom(_ name: String) async throws {
        try await pool.write { db in try db.execute(sql: "UPDATE room SET name = ? WHERE id = 1", arguments: [name]) }
    }

    public func addAttendee(_ a: Attendee, secretHash: String) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO attendee (id, name, secretHash, joined, lastSeen, lines, head, chainBrokenAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [a.id, a.name, secretHash, a.joined.unixNanoseconds, a.lastSeen.unixNanoseconds,
                                 a.lines, a.head, a.chainBrokenAt])
        }
    }

    private static let columns = "id, name, joined, lastSeen, lines, head, chainBrokenAt"

    private static func attendee(_ row: Row) -> Attendee {
        Attendee(id: row["id"], name: row["name"], joined: timestamp(row["joined"]), lastSeen: timestamp(row["lastSeen"]),
                 lines: row["lines"], head: row["head"], chainBrokenAt: row["chainBrokenAt"])
    }

    static func timestamp(_ nanoseconds: Int64) -> Timestamp {
        Timestamp(seconds: nanoseconds / 1_000_000_000, nanoseconds: Int32(nanoseconds % 1_000_000_000))
    }

    public func attendee(secretHash: String) async throws -> Attendee? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM attendee WHERE secretHash = ?", arguments: [secretHash])
                .map(Self.attendee)
        }
    }

    public func attendee(id: String) async throws -> Attendee? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM attendee WHERE id = ?", arguments: [id]).map(Self.attendee)
        }
    }

    public func attendees() async throws -> [Attendee] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM attendee ORDER BY joined, id").map(Self.attendee)
        }
    }

    public func append(attendee id: String, from: Int, lines: [String], at time: Timestamp) async throws -> AppendOutcome {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM attendee WHERE id = ?", arguments: [id]) else {
                return .conflict(stored: 0, reason: "no such attendee")
            }
            var attendee = Self.attendee(row)
            let stored = attendee.lines
            if from > stored {
                return .conflict(stored: stored, reason: "lines \(stored)..<\(from) are missing: resend from \(stored)")
            }
            let overlap = min(lines.count, stored - from)
            if overlap > 0 {
                let old = try String.fetchAll(db, sql: "SELECT text FROM line WHERE attendee = ? AND idx >= ? AND idx < ? ORDER BY idx",
                                              arguments: [id, from, from + overlap])
                if let i = zip(old, lines).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                    return .conflict(stored: stored, reason: "line \(from + i) differs from the one stored: the journal was rewritten")
                }
            }
            let new = Array(lines[overlap...])
            if !new.isEmpty {
                let chain = Chain.check(new, start: stored, head: attendee.head)
                for (offset, text) in new.enumerated() {
                    try db.execute(sql: "INSERT INTO line (attendee, idx, text) VALUES (?, ?, ?)", arguments: [id, stored + offset, text])
                }
                attendee.lines = stored + new.count
                attendee.head = chain.head
                attendee.chainBrokenAt = attendee.chainBrokenAt ?? chain.brokenAt
            }
            attendee.lastSeen = time
            try db.execute(sql: "UPDATE attendee SET lines = ?, head = ?, chainBrokenAt = ?, lastSeen = ? WHERE id = ?",
                           arguments: [attendee.lines, attendee.head, attendee.chainBrokenAt, time.unixNanoseconds, id])
            return .appended(attendee)
        }
    }

    public func lines(attendee id: String, from: Int) async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT text FROM line WHERE attendee = ? AND idx >= ? ORDER BY idx", arguments: [id, from])
        }
    }

    public func room(after known: [String: Int]) async throws -> [(attendee: Attendee, lines: [String])] {
        try await pool.read { db in
            // One statement prepared for all of them (a view reads most of a busy room's attendees).
            let statement = try db.cachedStatement(sql: "SELECT text FROM line WHERE attendee = ? AND idx >= ? ORDER BY idx")
            return try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM attendee ORDER BY joined, id").map(Self.attendee).map { a in
                let from = known[a.id] ?? 0
                return (a, from < a.lines ? try String.fetchAll(statement, arguments: [a.id, from]) : [])
            }
        }
    }

    public func touch(attendee id: String, at time: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE attendee SET lastSeen = ? WHERE id = ?", arguments: [time.unixNanoseconds, id])
        }
    }

    public func addMessage(to: String?, text: String, at time: Timestamp) async throws -> Message {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO message (recipient, text, time) VALUES (?, ?, ?)",
                           arguments: [to, text, time.unixNanoseconds])
            return Message(id: db.lastInsertedRowID, to: to, text: text, time: time)
        }
    }

    public func messages(for attendee: String, after: Int64, limit: Int) async throws -> [Message] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, recipient, text, time FROM message
                WHERE id > ? AND (recipient IS NULL OR recipient = ?) ORDER BY id LIMIT ?
                """, arguments: [after, attendee, limit])
                .map { Message(id: $0["id"], to: $0["recipient"], text: $0["text"], time: Self.timestamp($0["time"])) }
        }
    }

    // MARK: maps

    public func requestMap(attendee id: String, at time: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO host_map (attendee, requested) VALUES (?, ?)
                ON CONFLICT (attendee) DO UPDATE SET requested = excluded.requested
                """, arguments: [id, time.unixNanoseconds])
        }
    }

    public func storeMap(attendee id: String, text: String, at time: Timestamp) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE host_map SET text = ?, at = ?, requested = NULL WHERE attendee = ? AND requested IS NOT NULL",
                           arguments: [text, time.unixNanoseconds, id])
            return db.changesCount > 0
        }
    }

    public func map(attendee id: String) async throws -> StoredMap? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT attendee, requested, text, at FROM host_map WHERE attendee = ?", arguments: [id]).map {
                StoredMap(attendee: $0["attendee"], requested: ($0["requested"] as Int64?).map(Self.timestamp), text: $0["text"],
                          at: ($0["at"] as Int64?).map(Self.timestamp))
            }
        }
    }

    public func maps() async throws -> [String: StoredMap] {
        try await pool.read { db in
            var out: [String: StoredMap] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT attendee, requested, at FROM host_map") {
                let id: String = row["attendee"]
                out[id] = StoredMap(attendee: id, requested: (row["requested"] as Int64?).map(Self.timestamp),
                                    at: (row["at"] as Int64?).map(Self.timestamp))
            }
            return out
        }
    }
}
