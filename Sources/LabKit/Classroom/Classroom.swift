#if canImport(Glibc)
import Glibc
#endif
import Engine
import FoundationEssentials

/// An attendee's side of the classroom (`lab join`): the room it joined, and what of the journal the server
/// has. The journal stays the source of truth: it is sent in the background by `lab __sync`, in order, from
/// where the server says it is, so a cut network, a restarted server or a closed laptop loses nothing and
/// blocks nothing; no `lab` command waits for the network.
public struct Classroom: Sendable {
    /// What `classroom.json` (beside the journal, the learner's, 0600) keeps.
    public struct State: Codable, Sendable, Equatable {
        public var url: String
        public var room: String
        public var name: String
        public var attendee: String
        public var secret: String
        /// Journal lines the server has stored (it said so), and the hash of the last of them.
        public var sent = 0
        public var head: String?
        /// "ok" or "broken", as the server last said.
        public var chain: String?
        public var lastSync: Timestamp?
        public var lastError: String?
        /// The last message id fetched, and messages not yet shown.
        public var lastMessage = 0
        public var pending: [Message] = []
        /// Said to the learner at their next lab command: the map went to the instructor (they did not see it
        /// go, `lab __sync` runs in the background).
        public var mapNotice: String?
    }

    /// What the learner is told once their map has gone.
    public static let mapSentNotice = "The instructor asked for your map: sent (containers only)."

    public struct Message: Codable, Sendable, Equatable {
        public var id: Int
        public var text: String
        public var time: String?
    }

    public let journal: ProgressJournal
    public var statePath: String { journal.directory + "/classroom.json" }
    var lockPath: String { journal.directory + "/classroom.lock" }
    /// Its files are the learner's, beside the journal, read and written as they are (LearnerFiles).
    var files: LearnerFiles { journal.files }

    /// Seconds each request may take (connect, send, answer): the background sync gives up and retries later.
    public var timeout: Double = 5

    public init(journal: ProgressJournal) {
        self.journal = journal
    }

    public var isJoined: Bool {
        var st = stat()
        return lstat(statePath, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    public func state() -> State? {
        guard let bytes = files.read(statePath) else { return nil }
        return try? JSONDecoder().decode(State.self, from: Data(bytes))
    }

    /// An exclusive flock on classroom.lock (the learner's, opened as them, never through a symlink).
    func withLock<T>(_ body: () throws -> T) throws -> T {
        let fd = try files.open(lockPath, O_RDWR | O_CREAT, mode: 0o600)
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw BoxError.sys(.store, "lock \(lockPath)") }
        }
        return try body()
    }

    /// Reads, changes and writes the state under the lock the sync takes too.
    @discardableResult
    public func update<T>(_ change: (inout State) throws -> T) throws -> T? {
        try withLock { () throws -> T? in
            guard var s = state() else { return nil }
            let result = try change(&s)
            try save(s)
            return result
        }
    }

    func save(_ s: State) throws {
        try files.writeAtomically(statePath, Array(try Files.encode(s, pretty: true)), mode: 0o600)
    }

    // MARK: join and leave

    struct JoinRequest: Encodable { var code: String; var name: String }
    struct JoinAnswer: Decodable { var attendee: String; var secret: String; var room: String? }
    struct ErrorAnswer: Decodable { var message: String }

    /// Joins the room at `url` with its code; from now on the journal goes there (all of it, from its first
    /// line: what was done before joining counts too).
    public func join(url: String, code: String, name: String) throws -> State {
        let endpoint = try HTTP.Endpoint(url)
        let answer = try HTTP.request("POST", endpoint.url("api/join"), json: Files.encode(JoinRequest(code: code, name: name)), timeout: timeout)
        guard answer.status == 200 else { throw Classroom.failure(answer, "join the room at \(url)") }
        let joined = try JSONDecoder().decode(JoinAnswer.self, from: Data(answer.body))
        let s = State(url: endpoint.url(""), room: joined.room ?? "", name: name, attendee: joined.attendee, secret: joined.secret)
        try files.ensureDirectory(journal.directory)
        try withLock { try save(s) }
        return s
    }

    public func leave() {
        files.unlink(statePath)
    }

    static func failure(_ r: HTTP.Response, _ what: String) -> BoxError {
        let message = (try? JSONDecoder().decode(ErrorAnswer.self, from: Data(r.body)))?.message ?? r.text.prefix(200).description
        let hint = r.status == 403 ? " (is the join code right? `lab serve` printed it)" : r.status == 401 ? " (join again: sudo lab join URL --code CODE)" : ""
        return BoxError(.usage, "could not \(what): the server said \(r.status) \(message)\(hint)", exitCode: 1)
    }

    // MARK: sync

    struct Batch: Encodable { var from: Int; var lines: [String] }
    struct BatchAnswer: Decodable { var stored: Int; var head: String?; var chain: String? }
    struct Conflict: Decodable { var stored: Int? }
    struct Messages: Decodable { var messages: [Message]; var mapRequested: Bool? }

    /// The most of a map sent (the server's limit): a longer one is cut at a line's end, and says so.
    public static let maxMapBytes = 64 * 1024

    /// Draws the learner's map as plain text (`lab map --plain`): given by `lab`, which links the map; LabKit
    /// does not.
    public typealias MapProvider = () throws -> String

    /// One round: sends what the server lacks (up to 500 lines), then fetches new messages; when the instructor
    /// asked for the map (and only then), draws it with `map` and sends it. Returns true when the server has the
    /// whole journal. Throws when the server cannot be reached (the caller retries).
    public func syncOnce(map: MapProvider? = nil) throws -> Bool {
        guard let s = state() else { return true }
        let lines = journal.lines()
        var sent = min(s.sent, lines.count)
        var head = s.head, chain = s.chain
        if sent < lines.count {
            let batch = Batch(from: sent, lines: lines[sent..<min(lines.count, sent + 500)].map { String(decoding: $0.line, as: UTF8.self) })
            let r = try HTTP.request("POST", s.url + "api/events", bearer: s.secret, json: Files.encode(batch), timeout: timeout)
            switch r.status {
            case 200:
                let a = try JSONDecoder().decode(BatchAnswer.self, from: Data(r.body))
                (sent, head, chain) = (a.stored, a.head, a.chain)
            case 409:
                // The server has another count (a lost reply, a server restored from elsewhere): go on from its.
                sent = (try? JSONDecoder().decode(Conflict.self, from: Data(r.body)))?.stored ?? 0
            default:
                throw Classroom.failure(r, "send progress to \(s.url)")
            }
        }
        let m = try HTTP.request("GET", s.url + "api/messages?after=\(s.lastMessage)", bearer: s.secret, timeout: timeout)
        let answer = m.status == 200 ? try? JSONDecoder().decode(Messages.self, from: Data(m.body)) : nil
        let fresh = answer?.messages ?? []
        // What the server has is saved first: a map that cannot go must not send the journal's lines again.
        try update { st in
            st.sent = sent
            st.head = head
            st.chain = chain
            st.lastSync = .now()
            st.lastError = nil
            for message in fresh where message.id > st.lastMessage { st.pending.append(message) }
            st.lastMessage = max(st.lastMessage, fresh.map(\.id).max() ?? 0)
        }
        // A map that fails is not the journal's failure: noted, and asked again at the next sync (the server
        // keeps the request until a map arrives).
        if answer?.mapRequested == true, let map {
            do {
                try sendMap(map, to: s)
                try update { $0.mapNotice = Self.mapSentNotice }
            } catch {
                _ = try? update { $0.lastError = "the map was not sent: \(error)" }
            }
        }
        return sent >= journal.lines().count
    }

    /// Draws the map and posts it; a map that cannot be drawn sends why instead (the instructor asked: an
    /// answer clears the request). A 409 means another sync answered first.
    func sendMap(_ map: MapProvider, to s: State) throws {
        let text: String
        do { text = try map() } catch { text = "lab could not draw the map: \(error)\n" }
        let body = Self.fitted(text)
        let r = try HTTP.request("POST", s.url + "api/map", bearer: s.secret, json: body, contentType: "text/plain; charset=utf-8", timeout: timeout)
        guard r.status == 200 || r.status == 409 else { throw Classroom.failure(r, "send the map to \(s.url)") }
    }

    /// `text` as UTF-8, cut at the last line end that leaves room for a note when it is over `maxMapBytes`.
    static func fitted(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        guard bytes.count > maxMapBytes else { return bytes }
        let note = Array("… (the map is longer than \(maxMapBytes / 1024) KiB: cut here)\n".utf8)
        let room = maxMapBytes - note.count
        let end = bytes[..<room].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        return Array(bytes[..<end]) + note
    }

    /// Syncs until the server has the whole journal, retrying with back-off (1 s doubling to 30 s) while it
    /// cannot be reached, for `patience` seconds at most; one sync at a time (a second one returns at once:
    /// the first goes on until caught up, the lines appended meanwhile included).
    public func run(patience: Double = 600, map: MapProvider? = nil) {
        guard let fd = try? files.open(journal.directory + "/classroom.sync", O_RDWR | O_CREAT, mode: 0o600) else { return }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return }
        let deadline = Timestamp.now().unixNanoseconds + Int64(patience * 1e9)
        var wait = 1.0
        while Timestamp.now().unixNanoseconds < deadline {
            do {
                if try syncOnce(map: map) { return }
                wait = 1
            } catch {
                try? update { $0.lastError = "\(error)" }
                usleep(UInt32(wait * 1_000_000))
                wait = min(wait * 2, 30)
            }
        }
    }

    /// The instructor's messages not shown yet; they count as shown from now on.
    /// The notice that the map was sent, once (nil when there is none to show).
    public func takeMapNotice() -> String? {
        guard state()?.mapNotice != nil else { return nil }
        let taken = try? update { s -> String? in
            defer { s.mapNotice = nil }
            return s.mapNotice
        }
        return taken ?? nil
    }

    public func takeMessages() -> [Message] {
        guard state()?.pending.isEmpty == false else { return [] }
        let taken = try? update { s -> [Message] in
            defer { s.pending = [] }
            return s.pending
        }
        return (taken ?? nil) ?? []
    }
}
