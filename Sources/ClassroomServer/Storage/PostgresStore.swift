import Engine
import Foundation
import Logging
import PostgresNIO

/// The classroom in PostgreSQL (`lab serve --database postgres://USER@HOST:PORT/DB`), through PostgresNIO: the same
/// semantics as SQLiteStore, for several servers sharing one database. Each write that changes what a dashboard
/// shows sends a NOTIFY on `boxlab_classroom` in its transaction (delivered at commit), with this store's instance
/// id as payload; every server LISTENs on its own connection (`watch`) and wakes its streams for the others'.
/// Queries go through PostgresClient's pool, which runs in a task of the store's own (PostgresNIO's
/// Snippets/PostgresClient: `run()` in a long-running task).
public final class PostgresStore: ClassroomStore {
    static let channel = "boxlab_classroom"
    /// `pg_advisory_xact_lock`'s key for the migrations: two servers starting at once take turns.
    static let migrationLock: Int64 = 0x626f_786c_6162_0001  // "boxlab" 1
    /// And for messages: an attendee asks for those after the last id it saw, so ids must become visible in
    /// their order. A sequence gives them out at insert, not at commit: two servers' messages could commit out of
    /// order and one be skipped. Taken before the insert and held to the commit, it makes the two take turns
    /// (messages are an instructor's, a few a minute).
    static let messageLock: Int64 = 0x626f_786c_6162_0002  // "boxlab" 2

    let client: PostgresClient
    let connection: PostgresConnection.Configuration
    let logger = Logger(label: "lab-server.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    /// This process's NOTIFY payload: its own notifications are not news to it.
    let instance = Secrets.hex(bytes: 8)
    private let running: Task<Void, Never>
    /// Where, for error messages: "HOST:PORT/DB" (never the password).
    public let place: String

    /// Connects (one connection first, so an unreachable server or a refused login is an error here, not a
    /// request waiting in the pool), migrates the schema, and starts the pool.
    public init(url: String) async throws {
        let target = try DatabaseURL(url)
        place = target.place
        connection = try target.connectionConfiguration()
        let first: PostgresConnection
        do {
            first = try await PostgresConnection.connect(configuration: connection, id: 0, logger: logger)
        } catch {
            throw StoreError("cannot connect to PostgreSQL at \(target.place): \(Self.describe(error))")
        }
        do {
            try await Self.migrate(first, logger: logger)
            try? await first.close()
        } catch {
            try? await first.close()
            throw StoreError("PostgreSQL at \(target.place): creating the schema failed: \(Self.describe(error))")
        }
        var pool = try target.clientConfiguration()
        pool.options.maximumConnections = 16
        pool.options.minimumConnections = 2
        let client = PostgresClient(configuration: pool)
        self.client = client
        running = Task { await client.run() }
    }

    deinit { running.cancel() }

    /// Stops the pool (tests: before their cluster goes).
    public func close() { running.cancel() }

    // MARK: schema

    /// Each migration once, in order, recorded in `classroom_migration`; the whole run in one transaction under an
    /// advisory lock, so a second server starting at the same moment waits, then finds them applied.
    static let migrations: [(name: String, statements: [String])] = [
        ("v1", [
            """
            CREATE TABLE room (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                name TEXT NOT NULL, code TEXT NOT NULL, token TEXT NOT NULL)
            """,
            """
            CREATE TABLE attendee (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                secret_hash TEXT NOT NULL UNIQUE,
                joined BIGINT NOT NULL,
                last_seen BIGINT NOT NULL,
                lines INTEGER NOT NULL DEFAULT 0,
                head TEXT NOT NULL DEFAULT '',
                chain_broken_at INTEGER)
            """,
            """
            CREATE TABLE line (
                attendee TEXT NOT NULL REFERENCES attendee(id),
                idx INTEGER NOT NULL,
                text TEXT NOT NULL,
                PRIMARY KEY (attendee, idx))
            """,
            """
            CREATE TABLE message (
                id BIGSERIAL PRIMARY KEY,
                recipient TEXT,
                text TEXT NOT NULL,
                time BIGINT NOT NULL)
            """,
        ]),
        // Issue 22: the attendee's map, sent only when the instructor asks (`requested` pending until then).
        ("v2-host-map", [
            """
            CREATE TABLE host_map (
                attendee TEXT PRIMARY KEY REFERENCES attendee(id),
                requested BIGINT,
                text TEXT,
                at BIGINT)
            """,
        ]),
    ]

    static func migrate(_ db: PostgresConnection, logger: Logger) async throws {
        try await db.withTransaction(logger: logger) { db in
            try await db.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await db.query("CREATE TABLE IF NOT EXISTS classroom_migration (name TEXT PRIMARY KEY)", logger: logger)
            var applied: Set<String> = []
            for try await name in try await db.query("SELECT name FROM classroom_migration", logger: logger).decode(String.self) {
                applied.insert(name)
            }
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await db.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await db.query("INSERT INTO classroom_migration (name) VALUES (\(migration.name))", logger: logger)
            }
        }
    }

    // MARK: ClassroomStore

    private func notify(_ db: PostgresConnection) async throws {
        try await db.query("SELECT pg_notify(\(Self.channel), \(instance))", logger: logger)
    }

    public func room(orCreate make: @Sendable () -> Room) async throws -> Room {
        if let room = try await storedRoom() { return room }
        let room = make()
        // Two servers starting at once: the first insert wins, and both read it back.
        try await client.query("""
            INSERT INTO room (id, name, code, token) VALUES (1, \(room.name), \(room.code), \(room.token))
            ON CONFLICT (id) DO NOTHING
            """, logger: logger)
        guard let stored = try await storedRoom() else { throw StoreError("PostgreSQL at \(place): the room was not stored") }
        return stored
    }

    private func storedRoom() async throws -> Room? {
        for try await (name, code, token) in try await client.query("SELECT name, code, token FROM room WHERE id = 1", logger: logger)
            .decode((String, String, String).self) {
            return Room(name: name, code: code, token: token)
        }
        return nil
    }

    public func renameRoom(_ name: String) async throws {
        try await client.query("UPDATE room SET name = \(name) WHERE id = 1", logger: logger)
    }

    public func addAttendee(_ a: Attendee, secretHash: String) async throws {
        try await client.withTransaction(logger: logger) { db in
            try await db.query("""
                INSERT INTO attendee (id, name, secret_hash, joined, last_seen, lines, head, chain_broken_at)
                VALUES (\(a.id), \(a.name), \(secretHash), \(a.joined.unixNanoseconds), \(a.lastSeen.unixNanoseconds),
                        \(a.lines), \(a.head), \(a.chainBrokenAt))
                """, logger: logger)
            try await notify(db)
        }
    }

    private static let columns = "id, name, joined, last_seen, lines, head, chain_broken_at"  // as AttendeeRow, and room(after:)
    private typealias AttendeeRow = (String, String, Int64, Int64, Int, String, Int?)

    private static func attendee(_ r: AttendeeRow) -> Attendee {
        Attendee(id: r.0, name: r.1, joined: SQLiteStore.timestamp(r.2), lastSeen: SQLiteStore.timestamp(r.3),
                 lines: r.4, head: r.5, chainBrokenAt: r.6)
    }

    private func attendees(_ query: PostgresQuery, on db: PostgresConnection? = nil) async throws -> [Attendee] {
        let rows = if let db { try await db.query(query, logger: logger) } else { try await client.query(query, logger: logger) }
        var out: [Attendee] = []
        for try await row in rows.decode(AttendeeRow.self) { out.append(Self.attendee(row)) }
        return out
    }

    public func attendee(secretHash: String) async throws -> Attendee? {
        try await attendees("SELECT \(unescaped: Self.columns) FROM attendee WHERE secret_hash = \(secretHash)").first
    }

    public func attendee(id: String) async throws -> Attendee? {
        try await attendees("SELECT \(unescaped: Self.columns) FROM attendee WHERE id = \(id)").first
    }

    public func attendees() async throws -> [Attendee] {
        try await attendees("SELECT \(unescaped: Self.columns) FROM attendee ORDER BY joined, id")
    }

    public func append(attendee id: String, from: Int, lines: [String], at time: Timestamp) async throws -> AppendOutcome {
        try await client.withTransaction(logger: logger) { db in
            // FOR UPDATE: two servers given the same attendee's batches at once take turns here, as SQLite's
            // single writer makes them.
            guard var attendee = try await attendees(
                "SELECT \(unescaped: Self.columns) FROM attendee WHERE id = \(id) FOR UPDATE", on: db).first else {
                return .conflict(stored: 0, reason: "no such attendee")
            }
            let stored = attendee.lines
            if from > stored {
                return .conflict(stored: stored, reason: "lines \(stored)..<\(from) are missing: resend from \(stored)")
            }
            let overlap = min(lines.count, stored - from)
            if overlap > 0 {
                var old: [String] = []
                let rows = try await db.query("""
                    SELECT text FROM line WHERE attendee = \(id) AND idx >= \(from) AND idx < \(from + overlap) ORDER BY idx
                    """, logger: logger)
                for try await text in rows.decode(String.self) { old.append(text) }
                if let i = zip(old, lines).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                    return .conflict(stored: stored, reason: "line \(from + i) differs from the one stored: the journal was rewritten")
                }
            }
            let new = Array(lines[overlap...])
            if !new.isEmpty {
                let chain = Chain.check(new, start: stored, head: attendee.head)
                attendee.lines = stored + new.count
                attendee.head = chain.head
                attendee.chainBrokenAt = attendee.chainBrokenAt ?? chain.brokenAt
            }
            attendee.lastSeen = time
            // The lines (the indexes and texts as two arrays, unnested side by side), the attendee's row and the
            // NOTIFY in one statement: each round trip waits for a CPU on a busy machine (bench/classroom: six
            // statements per append made PostgreSQL's p99 63 ms at a load average of 6).
            let indexes = (stored..<stored + new.count).map { Int64($0) }
            try await db.query("""
                WITH new_lines AS (
                    INSERT INTO line (attendee, idx, text)
                    SELECT \(id), i::integer, t FROM unnest(\(indexes)::bigint[], \(new)::text[]) AS batch(i, t)),
                stored_row AS (
                    UPDATE attendee SET lines = \(attendee.lines), head = \(attendee.head), chain_broken_at = \(attendee.chainBrokenAt),
                        last_seen = \(time.unixNanoseconds) WHERE id = \(id))
                SELECT pg_notify(\(Self.channel), \(instance)) WHERE \(!new.isEmpty)
                """, logger: logger)
            return .appended(attendee)
        }
    }

    public func lines(attendee id: String, from: Int) async throws -> [String] {
        var out: [String] = []
        let rows = try await client.query("SELECT text FROM line WHERE attendee = \(id) AND idx >= \(from) ORDER BY idx", logger: logger)
        for try await text in rows.decode(String.self) { out.append(text) }
        return out
    }

    public func room(after known: [String: Int]) async throws -> [(attendee: Attendee, lines: [String])] {
        // One round trip: each attendee's row, once per new line (or once with no line). A view waited on two,
        // one after the other, each for a CPU on a busy machine (bench/classroom).
        let ids = Array(known.keys), counts = ids.map { Int64(known[$0]!) }
        let rows = try await client.query("""
            SELECT a.id, a.name, a.joined, a.last_seen, a.lines, a.head, a.chain_broken_at, l.text
            FROM attendee a
            LEFT JOIN unnest(\(ids)::text[], \(counts)::bigint[]) AS k(attendee, since) ON k.attendee = a.id
            LEFT JOIN line l ON l.attendee = a.id AND l.idx >= COALESCE(k.since, 0)
            ORDER BY a.joined, a.id, l.idx
            """, logger: logger)
        var out: [(attendee: Attendee, lines: [String])] = []
        for try await (id, name, joined, seen, lines, head, broken, text) in rows.decode((String, String, Int64, Int64, Int, String, Int?, String?).self) {
            if out.last?.attendee.id != id {
                out.append((Self.attendee((id, name, joined, seen, lines, head, broken)), []))
            }
            if let text { out[out.count - 1].lines.append(text) }
        }
        return out
    }

    public func touch(attendee id: String, at time: Timestamp) async throws {
        try await client.query("UPDATE attendee SET last_seen = \(time.unixNanoseconds) WHERE id = \(id)", logger: logger)
    }

    public func addMessage(to: String?, text: String, at time: Timestamp) async throws -> Message {
        try await client.withTransaction(logger: logger) { db in
            try await db.query("SELECT pg_advisory_xact_lock(\(Self.messageLock))", logger: logger)
            var id: Int64 = 0
            let rows = try await db.query("""
                INSERT INTO message (recipient, text, time) VALUES (\(to), \(text), \(time.unixNanoseconds)) RETURNING id
                """, logger: logger)
            for try await value in rows.decode(Int64.self) { id = value }
            try await notify(db)
            return Message(id: id, to: to, text: text, time: time)
        }
    }

    public func messages(for attendee: String, after: Int64, limit: Int) async throws -> [Message] {
        var out: [Message] = []
        let rows = try await client.query("""
            SELECT id, recipient, text, time FROM message
            WHERE id > \(after) AND (recipient IS NULL OR recipient = \(attendee)) ORDER BY id LIMIT \(limit)
            """, logger: logger)
        for try await (id, to, text, time) in rows.decode((Int64, String?, String, Int64).self) {
            out.append(Message(id: id, to: to, text: text, time: SQLiteStore.timestamp(time)))
        }
        return out
    }

    // MARK: maps

    public func requestMap(attendee id: String, at time: Timestamp) async throws {
        try await client.withTransaction(logger: logger) { db in
            try await db.query("""
                INSERT INTO host_map (attendee, requested) VALUES (\(id), \(time.unixNanoseconds))
                ON CONFLICT (attendee) DO UPDATE SET requested = excluded.requested
                """, logger: logger)
            try await notify(db)
        }
    }

    public func storeMap(attendee id: String, text: String, at time: Timestamp) async throws -> Bool {
        try await client.withTransaction(logger: logger) { db in
            var stored = false
            let rows = try await db.query("""
                UPDATE host_map SET text = \(text), at = \(time.unixNanoseconds), requested = NULL
                WHERE attendee = \(id) AND requested IS NOT NULL RETURNING attendee
                """, logger: logger)
            for try await _ in rows.decode(String.self) { stored = true }
            if stored { try await notify(db) }
            return stored
        }
    }

    public func map(attendee id: String) async throws -> StoredMap? {
        let rows = try await client.query("SELECT requested, text, at FROM host_map WHERE attendee = \(id)", logger: logger)
        for try await (requested, text, at) in rows.decode((Int64?, String?, Int64?).self) {
            return StoredMap(attendee: id, requested: requested.map(SQLiteStore.timestamp), text: text, at: at.map(SQLiteStore.timestamp))
        }
        return nil
    }

    public func maps() async throws -> [String: StoredMap] {
        var out: [String: StoredMap] = [:]
        let rows = try await client.query("SELECT attendee, requested, at FROM host_map", logger: logger)
        for try await (id, requested, at) in rows.decode((String, Int64?, Int64?).self) {
            out[id] = StoredMap(attendee: id, requested: requested.map(SQLiteStore.timestamp), at: at.map(SQLiteStore.timestamp))
        }
        return out
    }

    /// LISTENs on a connection of its own (not the pool's: it is held for as long as the server runs) and calls
    /// `changed` for every other server's NOTIFY. A lost connection is opened again (after a second, then up to
    /// ten), with a `changed` each time: what was missed meanwhile is read afresh.
    public func watch(_ changed: @escaping @Sendable () -> Void) async throws {
        var pause = Duration.seconds(1)
        while !Task.isCancelled {
            do {
                let db = try await PostgresConnection.connect(configuration: connection, id: 1, logger: logger)
                pause = .seconds(1)
                changed()
                do {
                    try await db.listen(on: Self.channel) { notifications in
                        for try await n in notifications where n.payload != instance { changed() }
                    }
                } catch {
                    try? await db.close()
                    throw error
                }
                try? await db.close()
            } catch {
                if Task.isCancelled { return }
            }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(10))
        }
    }

    /// What went wrong, in words: PSQLError's own description hides the server's message on purpose (it may
    /// hold data), but a start-up error is the operator's to read.
    static func describe(_ error: any Error) -> String {
        guard let e = error as? PSQLError else { return "\(error)" }
        if let message = e.serverInfo?[.message] {
            return message + (e.serverInfo?[.hint].map { " (\($0))" } ?? "")
        }
        if let underlying = e.underlying { return "\(underlying)" }
        return "\(e.code)"
    }
}

public struct StoreError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require|verify-ca|verify-full]` (also `postgresql://`), as
/// libpq reads it; a percent-encoded host, or `?host=/DIR`, that starts with `/` is the directory of the server's
/// unix socket, as libpq's `host` is.
struct DatabaseURL {
    var user: String
    var password: String?
    var host: String
    var port: Int
    var database: String
    var sslMode: String

    static let usage = "--database takes postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (as postgres://boxlab@127.0.0.1:5432/classroom)"

    init(_ url: String) throws {
        guard let c = URLComponents(string: url), c.scheme == "postgres" || c.scheme == "postgresql" else {
            throw StoreError("\(url): not a postgres:// URL. " + Self.usage)
        }
        let query = Dictionary((c.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        guard let user = c.user.flatMap({ $0.removingPercentEncoding }) ?? query["user"], !user.isEmpty else {
            throw StoreError("\(url): no user name. " + Self.usage)
        }
        self.user = user
        password = c.password.flatMap { $0.removingPercentEncoding } ?? query["password"]
        host = query["host"] ?? c.percentEncodedHost?.removingPercentEncoding ?? ""
        if host.isEmpty { host = "127.0.0.1" }
        port = c.port ?? 5432
        database = String(c.path.drop { $0 == "/" })
        if database.isEmpty { database = user }
        sslMode = query["sslmode"] ?? "prefer"
        guard ["disable", "prefer", "require", "verify-ca", "verify-full"].contains(sslMode) else {
            throw StoreError("\(url): sslmode is disable, prefer, require, verify-ca or verify-full, not \(sslMode)")
        }
        guard (1...65535).contains(port) else { throw StoreError("\(url): no such port. " + Self.usage) }
    }

    var socketPath: String? { host.hasPrefix("/") ? "\(host)/.s.PGSQL.\(port)" : nil }
    var place: String { "\(socketPath ?? "\(host):\(port)")/\(database) as \(user)" }

    /// libpq's meaning of sslmode: `prefer` and `require` encrypt and verify nothing (a server's certificate is
    /// often the self-signed one Debian's postgresql package makes), `verify-ca` checks the chain against the
    /// system's CAs, `verify-full` the host name too.
    var tlsConfiguration: TLSConfiguration {
        var c = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case "verify-full": break
        case "verify-ca": c.certificateVerification = .noHostnameVerification
        default: c.certificateVerification = .none
        }
        return c
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        if let socketPath {
            return .init(unixSocketPath: socketPath, username: user, password: password, database: database)
        }
        let tls: PostgresConnection.Configuration.TLS = switch sslMode {
        case "disable": .disable
        case "require", "verify-ca", "verify-full": .require(try NIOSSLContext(configuration: tlsConfiguration))
        default: .prefer(try NIOSSLContext(configuration: tlsConfiguration))
        }
        return .init(host: host, port: port, username: user, password: password, database: database, tls: tls)
    }

    func clientConfiguration() throws -> PostgresClient.Configuration {
        if let socketPath {
            return .init(unixSocketPath: socketPath, username: user, password: password, database: database)
        }
        let tls: PostgresClient.Configuration.TLS = switch sslMode {
        case "disable": .disable
        case "require", "verify-ca", "verify-full": .require(tlsConfiguration)
        default: .prefer(tlsConfiguration)
        }
        return .init(host: host, port: port, username: user, password: password, database: database, tls: tls)
    }
}
