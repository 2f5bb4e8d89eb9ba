import Engine
import Foundation
import LabKit
import Synchronization

/// The room's logic between the routes and the store: joining, appending journal lines, messages, the folded room
/// view (cached per attendee), and the change notifications the dashboard's stream waits on.
public actor Classroom {
    public let store: any ClassroomStore
    public private(set) var room: Room
    public nonisolated let catalogue: Catalogue
    public nonisolated let changes = ChangeHub()
    let limiter: RateLimiter

    /// Each attendee's journal folded, as far as the last view read it: a view reads, parses and folds only the
    /// lines stored since.
    private var folded: [String: Folded] = [:]
    private var cachedView: (view: RoomView, version: Int, at: Timestamp)?
    /// A view's JSON, encoded once for every `GET /api/room` and stream that shows it; encoded outside the actor,
    /// whose appends need not wait for it.
    private nonisolated let cachedJSON = Mutex<(version: Int, at: Timestamp, data: Data)?>(nil)

    /// `requestsPerSecond` and `burst`: each attendee's (and each address's, before it authenticates) limit.
    public init(store: any ClassroomStore, name: String?, catalogue: Catalogue,
                requestsPerSecond: Double = 20, burst: Double = 40) async throws {
        self.store = store
        self.catalogue = catalogue
        limiter = RateLimiter(perSecond: requestsPerSecond, burst: burst)
        var room = try await store.room(orCreate: { Room(name: name ?? "classroom", code: Secrets.joinCode(), token: Secrets.hex(bytes: 32)) })
        if let name, name != room.name {
            try await store.renameRoom(name)
            room.name = name
        }
        self.room = room
    }

    /// Opens (or creates) `DATA/classroom.sqlite` and its room.
    public static func open(dataDirectory: String, name: String?, catalogue: Catalogue) async throws -> Classroom {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let store = try SQLiteStore(path: dataDirectory + "/classroom.sqlite")
        return try await Classroom(store: store, name: name, catalogue: catalogue)
    }

    /// Opens the PostgreSQL database at `url` (creating its schema and room the first time), which other servers
    /// may share.
    public static func open(database url: String, name: String?, catalogue: Catalogue) async throws -> Classroom {
        try await Classroom(store: PostgresStore(url: url), name: name, catalogue: catalogue)
    }

    // MARK: attendees

    public func join(code: String, name: String) async throws -> (attendee: Attendee, secret: String) {
        let now = Timestamp.now()
        let attendee = Attendee(id: Secrets.hex(bytes: 6), name: name, joined: now, lastSeen: now, lines: 0, head: "", chainBrokenAt: nil)
        let secret = Secrets.hex(bytes: 32)
        try await store.addAttendee(attendee, secretHash: Chain.hash(secret))
        changes.notify()
        return (attendee, secret)
    }

    public func attendee(secret: String) async throws -> Attendee? {
        try await store.attendee(secretHash: Chain.hash(secret))
    }

    public func append(attendee: String, from: Int, lines: [String]) async throws -> AppendOutcome {
        let outcome = try await store.append(attendee: attendee, from: from, lines: lines, at: .now())
        changes.notify()
        return outcome
    }

    public func messages(for attendee: String, after: Int64) async throws -> [Message] {
        try await store.touch(attendee: attendee, at: .now())
        return try await store.messages(for: attendee, after: after, limit: 500)
    }

    public func send(to: String?, text: String) async throws -> Message {
        let m = try await store.addMessage(to: to, text: text, at: .now())
        changes.notify()
        return m
    }

    // MARK: maps (issue 22)

    /// The instructor asks for the attendee's map: their `lab` sends it at its next sync.
    public func requestMap(of attendee: String) async throws -> Timestamp {
        let now = Timestamp.now()
        try await store.requestMap(attendee: attendee, at: now)
        changes.notify()
        return now
    }

    /// Stores the attendee's answer; nil (nothing stored) when nobody asked for it.
    public func storeMap(of attendee: String, text: String) async throws -> Timestamp? {
        let now = Timestamp.now()
        guard try await store.storeMap(attendee: attendee, text: text, at: now) else { return nil }
        changes.notify()
        return now
    }

    // MARK: the instructor's view

    /// The room folded; the same view for every caller until something changes (or a few seconds pass: `stuck`
    /// depends on the clock).
    public func view() async throws -> RoomView { try await stampedView().view }

    /// The view with what identifies it: the change count it was folded at, and when.
    private func stampedView() async throws -> (view: RoomView, version: Int, at: Timestamp) {
        let version = changes.version
        let now = Timestamp.now()
        if let c = cachedView, c.version == version, now.unixNanoseconds - c.at.unixNanoseconds < 2_000_000_000 { return c }
        // Each attendee with the lines stored since the last view, in one read for all of them.
        let known = folded.mapValues(\.lines)
        async let maps = store.maps()  // beside the attendees' read, not after it: one wait on the store
        let read = try await store.room(after: known)
        for (a, texts) in read where !texts.isEmpty || folded[a.id] == nil {
            var fold = folded[a.id] ?? Folded()
            guard let rest = Self.unapplied(texts, readAfter: known[a.id] ?? 0, folded: fold.lines),
                  !rest.isEmpty || folded[a.id] == nil else { continue }
            fold.apply(rest.compactMap { try? JournalLine.parse($0) }, count: rest.count, catalogue: catalogue)
            folded[a.id] = fold
        }
        let pairs = read.map(\.attendee).map { ($0, folded[$0.id] ?? Folded()) }
        let view = RoomFold.view(room: room, attendees: pairs, maps: try await maps, catalogue: catalogue, now: now)
        cachedView = (view, version, now)
        return (view, version, now)
    }

    /// Of `texts`, the lines read after line `readAfter`, those not folded yet when the fold has `folded` lines:
    /// another view (the actor runs others while this one waits on the store) may have applied some of them
    /// meanwhile, which must not count twice, and the rest must not be skipped (the next view reads on from the
    /// fold's count, past them). Nil when the fold is past them all, or behind where this read began.
    static func unapplied(_ texts: [String], readAfter: Int, folded: Int) -> ArraySlice<String>? {
        let done = folded - readAfter
        guard done >= 0, done <= texts.count else { return nil }
        return texts.dropFirst(done)
    }

    /// `view()` as JSON: encoded once per view, however many instructors' requests and streams show it.
    public nonisolated func viewJSON() async throws -> Data {
        let (view, version, at) = try await stampedView()
        if let data = cachedJSON.withLock({ c in c.flatMap { $0.version == version && $0.at == at ? $0.data : nil } }) { return data }
        let data = try JSONEncoder.classroom.encode(view)
        cachedJSON.withLock { $0 = (version, at, data) }
        return data
    }
}

/// Random identifiers from the system's CSPRNG (getrandom).
enum Secrets {
    /// Letters and digits without 0, O, 1 and I: 32 symbols, so 5 random bits each, no bias.
    static let codeAlphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")

    static func joinCode() -> String {
        var g = SystemRandomNumberGenerator()
        return String((0..<6).map { _ in codeAlphabet[Int(g.next() as UInt8) & 31] })
    }

    static func hex(bytes: Int) -> String {
        var g = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        var out = ""
        for _ in 0..<bytes {
            let b = g.next() as UInt8
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return out
    }
}
