import ClassroomServer
import Engine
import Foundation
import Hummingbird
import HummingbirdTesting
@testable import LabKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A classroom in a new temporary data directory.
func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.path + "/classroom-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

struct TestRoom {
    let directory: String
    let classroom: ClassroomServer.Classroom
    let configuration: ServerConfiguration
    /// PostgreSQL's: a cluster of the test's own (given, for a second server on the same one), kept as long as the
    /// room.
    let cluster: PostgresCluster?

    /// A room in SQLite in `directory` (new by default), or in PostgreSQL in `cluster` (new by default).
    init(_ kind: StoreKind = .sqlite, directory: String? = nil, cluster: PostgresCluster? = nil) async throws {
        self.directory = try directory ?? temporaryDirectory()
        switch kind {
        case .sqlite:
            self.cluster = nil
            configuration = ServerConfiguration(host: "127.0.0.1", port: 0, dataDirectory: self.directory, roomName: "test")
            classroom = try await ClassroomServer.Classroom.open(dataDirectory: self.directory, name: "test", catalogue: labCatalogue)
        case .postgres:
            let cluster = try cluster ?? PostgresCluster()
            self.cluster = cluster
            configuration = ServerConfiguration(host: "127.0.0.1", port: 0, dataDirectory: self.directory, roomName: "test",
                                                database: cluster.url())
            classroom = try await ClassroomServer.Classroom.open(database: cluster.url(), name: "test", catalogue: labCatalogue)
        }
    }

    var app: some ApplicationProtocol { buildApplication(classroom: classroom, configuration: configuration) }
    var room: Room { get async { await classroom.room } }

    /// The room's router with one attendee, `name`, joined by the room's code: where most API tests begin.
    func withAttendee(_ name: String, _ test: @Sendable (any TestClientProtocol, (id: String, secret: String)) async throws -> Void)
        async throws {
        let code = await room.code
        try await app.test(.router) { client in try await test(client, try await client.join(code, name: name)) }
    }

    typealias Joined = (id: String, secret: String)

    /// The room's router with alice and bob joined, and the instructor's token: for what one may and the other not.
    func withAliceAndBob(_ test: @Sendable (any TestClientProtocol, _ alice: Joined, _ bob: Joined, _ token: String) async throws -> Void)
        async throws {
        let (code, token) = await (room.code, room.token)
        try await app.test(.router) { client in
            try await test(client, try await client.join(code, name: "alice"), try await client.join(code, name: "bob"), token)
        }
    }
}

func json(_ object: Any) -> ByteBuffer {
    ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
}

func decoded(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any] ?? [:]
}

func bearer(_ secret: String) -> HTTPFields { [.authorization: "Bearer " + secret, .contentType: "application/json"] }

extension TestClientProtocol {
    /// Joins and returns (attendee id, secret).
    func join(_ code: String, name: String) async throws -> (id: String, secret: String) {
        try await execute(uri: "/api/join", method: .post, headers: [.contentType: "application/json"],
                          body: json(["code": code, "name": name])) { response in
            #expect(response.status == .ok)
            let body = decoded(response.body)
            return (body["attendee"] as? String ?? "", body["secret"] as? String ?? "")
        }
    }

    /// Posts lines; returns the status and the decoded body.
    func send(_ secret: String, from: Int, _ lines: [String]) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await execute(uri: "/api/events", method: .post, headers: bearer(secret), body: json(["from": from, "lines": lines])) {
            ($0.status, decoded($0.body))
        }
    }

    func room(_ token: String) async throws -> [String: Any] {
        try await execute(uri: "/api/room", method: .get, headers: bearer(token)) { response in
            #expect(response.status == .ok)
            return decoded(response.body)
        }
    }
}

/// An attendee's journal as `lab` writes it: LabKit's records, each line with `prev`, the sha256 of the line
/// before it.
struct JournalBuilder {
    var lines: [String] = []
    var clock: Int64 = Timestamp.now().seconds - 7200  // two hours ago: on a step for long

    static func sha256(_ line: String) -> String { String(LayerArchive.sha256(Array(line.utf8)).dropFirst(7)) }

    mutating func next() -> Timestamp { clock += 60; return Timestamp(seconds: clock) }

    /// The record's JSON with `prev` (and any extra fields) added.
    mutating func add(_ record: ProgressRecord, extra: [String: String] = [:], prev: String? = nil) {
        var object = try! JSONSerialization.jsonObject(with: try! Files.encode(record).data) as! [String: Any]
        if let p = prev ?? lines.last.map(Self.sha256) { object["prev"] = p }
        for (k, v) in extra { object[k] = v }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        lines.append(String(decoding: data, as: UTF8.self))
    }

    mutating func event(_ event: ProgressRecord.Event, _ lab: String, _ step: String? = nil, prev: String? = nil) {
        var r = ProgressRecord(event, lab: lab, step: step, time: next())
        if event == .step { r.clock = StepClock(wall: r.time, boot: clock * 1_000_000_000, bootID: "test-boot") }
        add(r, prev: prev)
    }

    /// The first lab started and its first `passed` steps each shown and passed; with `showingNext`, the step
    /// after them shown too.
    static func started(passing passed: Int, showingNext: Bool = false) -> JournalBuilder {
        var jb = JournalBuilder()
        jb.event(.start, firstLab.id)
        for s in steps.prefix(passed) {
            jb.event(.step, firstLab.id, s)
            jb.event(.pass, firstLab.id, s)
        }
        if showingNext { jb.event(.step, firstLab.id, steps[passed]) }
        return jb
    }

    /// A `fail` line (the contract's new event): written as a `step` record whose event is then renamed.
    mutating func fail(_ lab: String, _ step: String, expected: String, observed: String) {
        add(ProgressRecord(.step, lab: lab, step: step, time: next()), extra: ["event": "fail", "expected": expected, "observed": observed])
    }
}

extension Array where Element == UInt8 { var data: Data { Data(self) } }

/// The first guided lab of the catalogue, and its first three steps: real ids, so `current` is folded as `lab`
/// would.
let firstLab = labCatalogue.labs[labCatalogue.order[0]]!
let steps = firstLab.steps.map(\.id)

/// A plain HTTP/1.1 exchange on a socket: for the stream, which a test client would wait on forever.
final class RawConnection {
    let fd: Int32
    var received = ""

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 { close(fd); throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Reads until `predicate` holds on what was received, or `seconds` pass; returns whether it held. Never
    /// blocks a thread of the cooperative pool (the server under test runs on it too): it polls, and sleeps.
    /// Deadlines are generous on purpose: in the whole suite, on 2 cores, the kernel tests' blocking waits hold
    /// the cooperative pool these async tests and the in-process server share (seen: 100 s for a stream event).
    func read(until predicate: (String) -> Bool, seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !predicate(received) {
            if Date() >= deadline { return false }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 0) > 0 else {
                try? await Task.sleep(for: .milliseconds(20))
                continue
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return predicate(received) }
            received += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        return true
    }
}

/// One HTTP/1.1 request on a new connection (`Connection: close`), read to the end: (status, body). For
/// chromium-driver, whose `Content-Length:251` (no space) URLSession on Linux refuses ("Failed writing header").
func rawHTTP(_ method: String, _ url: String, json: Any? = nil, seconds: Double = 60) async throws -> (Int, Data) {
    let u = URL(string: url)!
    let connection = try RawConnection(port: u.port ?? 80)
    let body = try json.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
    var head = "\(method) \(u.path.isEmpty ? "/" : u.path) HTTP/1.1\r\nHost: 127.0.0.1:\(u.port ?? 80)\r\nConnection: close\r\n"
    if json != nil { head += "Content-Type: application/json\r\n" }
    head += "Content-Length: \(body.count)\r\n\r\n"
    connection.send(head + String(decoding: body, as: UTF8.self))
    // Complete when the head has come and as many bytes as its Content-Length (with or without a space after
    // the colon), or the peer closed.
    func complete(_ text: String) -> Bool {
        guard let split = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<split.lowerBound].lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
              let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) else { return false }
        return text.utf8.count - text[..<split.upperBound].utf8.count >= length
    }
    _ = await connection.read(until: complete, seconds: seconds)
    guard let split = connection.received.range(of: "\r\n\r\n") else { throw POSIXError(.EPROTO) }
    let status = Int(connection.received.split(separator: " ").dropFirst().first ?? "") ?? 0
    return (status, Data(connection.received[split.upperBound...].utf8))
}
