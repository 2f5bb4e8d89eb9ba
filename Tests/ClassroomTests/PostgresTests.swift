@testable import ClassroomServer
import Foundation
import Synchronization
import LabKit
import Testing
import TestSupport

/// `lab-server --database postgres://…`: real lab-server processes on a real PostgreSQL cluster of the test's own.
/// The store's behaviour itself is APITests', run on both stores.
@Suite(.timeLimit(.minutes(5)), .enabled(if: PostgresCluster.available, Comment(rawValue: PostgresCluster.missing)))
struct PostgresTests {
    /// Two servers started at the same moment on one empty database (the migrations take turns under the advisory
    /// lock: one room, not two), then: an attendee joins on A, B's dashboard stream shows the pass A stored, a
    /// message sent through B reaches the attendee polling A; A restarted has everything.
    @Test func twoServersShareOneDatabaseLive() async throws {
        let cluster = try PostgresCluster()
        try cluster.sql("CREATE DATABASE classroom")
        let database = ["--database", cluster.url(database: "classroom")]
        let a = try ServerProcess(arguments: database)
        let b = try ServerProcess(arguments: database)
        defer { _ = a.stop(); _ = b.stop() }
        let roomA = try a.waitForRoom(), roomB = try b.waitForRoom()
        #expect(roomA["code"] == roomB["code"] && roomA["token"] == roomB["token"])
        #expect(try cluster.sql("SELECT count(*) FROM room", database: "classroom").trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        #expect(!FileManager.default.fileExists(atPath: a.data + "/classroom.sqlite"))
        let (urlA, urlB, code, token) = (roomA["url"]!, roomB["url"]!, roomA["code"]!, roomA["token"]!)

        var (status, body) = try await http("POST", urlA + "api/join", json: ["code": code, "name": "alice"])
        #expect(status == 200)
        let joined = try #require(try JSONSerialization.jsonObject(with: body) as? [String: String])
        let secret = try #require(joined["secret"])

        let stream = try RawConnection(port: try #require(URL(string: urlB)?.port))
        stream.send("GET /api/stream?token=\(token) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        #expect(await stream.read(until: { $0.contains("event: room\ndata: ") && $0.contains("\"alice\"") }, seconds: 60))
        #expect(!stream.received.contains("\"passed\""))

        let lines = JournalBuilder.started(passing: 1).lines
        (status, _) = try await http("POST", urlA + "api/events", json: ["from": 0, "lines": lines], bearer: secret)
        #expect(status == 200)
        let sent = Date()
        #expect(await stream.read(until: { $0.contains("\"passed\"") }, seconds: 60), "B's stream never showed the pass stored by A")
        print("PostgresTests: A's pass on B's stream after \(Int(Date().timeIntervalSince(sent) * 1000)) ms")

        (status, _) = try await http("POST", urlB + "api/messages", json: ["to": "all", "text": "from B"], bearer: token)
        #expect(status == 200)
        (status, body) = try await http("GET", urlA + "api/messages", bearer: secret)
        let messages = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["messages"] as? [[String: Any]]
        #expect(status == 200 && messages?.compactMap { $0["text"] as? String } == ["from B"])

        // A restarted: the same room, and nothing lost; the attendee resending everything doubles nothing.
        #expect(a.stop() == 0)
        let again = try ServerProcess(data: a.data, arguments: database)
        defer { _ = again.stop() }
        let room = try again.waitForRoom()
        #expect(room["code"] == code && room["token"] == token)
        (status, body) = try await http("POST", room["url"]! + "api/events", json: ["from": 0, "lines": lines], bearer: secret)
        #expect(status == 200)
        #expect((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["stored"] as? Int == 3)
        (status, body) = try await http("GET", room["url"]! + "api/room", bearer: token)
        let attendees = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["attendees"] as? [[String: Any]]
        #expect(attendees?.count == 1)
        #expect((attendees?.first?["steps"] as? [String: String])?["\(firstLab.id)/\(steps[0])"] == "passed")
        #expect(try cluster.sql("SELECT count(*) FROM line", database: "classroom").trimmingCharacters(in: .whitespacesAndNewlines) == "3")
        #expect(again.stop() == 0 && b.stop() == 0)
    }

    /// The store's LISTEN/NOTIFY itself, with no stream's ten-second tick to hide a missing NOTIFY: B's watcher is
    /// called for A's join, lines and message, and not for B's own writes.
    @Test func aStoreIsToldOfAnotherServersWrites() async throws {
        let a = try await TestRoom(.postgres)
        let b = try await TestRoom(.postgres, cluster: a.cluster)
        let calls = Counter()
        let watching = Task { try await b.classroom.store.watch { calls.add() } }
        defer { watching.cancel() }
        // One call when it has connected (what was missed before is read afresh): from then on it listens.
        #expect(await calls.wait(until: 1, seconds: 60))
        func told(_ what: String, _ write: () async throws -> Void) async throws {
            let before = calls.value
            try await write()
            #expect(await calls.wait(until: before + 1, seconds: 60), "B was not told of A's \(what)")
        }
        var joined: (attendee: Attendee, secret: String)?
        try await told("join") { joined = try await a.classroom.join(code: await a.room.code, name: "alice") }
        let lines = JournalBuilder.started(passing: 0, showingNext: true).lines
        try await told("lines") { _ = try await a.classroom.append(attendee: joined!.attendee.id, from: 0, lines: lines) }
        try await told("message") { _ = try await a.classroom.send(to: nil, text: "hello") }
        // B's own writes, then one of A's: only A's is news to B.
        let before = calls.value
        _ = try await b.classroom.send(to: nil, text: "from B")
        _ = try await b.classroom.join(code: await b.room.code, name: "bob")
        _ = try await a.classroom.send(to: nil, text: "from A")
        #expect(await calls.wait(until: before + 1, seconds: 60))
        try await Task.sleep(for: .milliseconds(500))
        #expect(calls.value == before + 1)
    }

    /// An attendee asks for the messages after the last id it saw: ids must become visible in their order. Another
    /// server's message, inserted (its id taken) and not yet committed, holds back this server's, which would
    /// otherwise commit first with a higher id and make a poller skip the first for good.
    @Test func messagesBecomeVisibleInTheirOrder() async throws {
        let a = try await TestRoom(.postgres)
        let cluster = try #require(a.cluster)
        let other = Task.detached {
            try cluster.sql("""
                BEGIN; SELECT pg_advisory_xact_lock(\(PostgresStore.messageLock));
                INSERT INTO message (recipient, text, time) VALUES (NULL, 'first', 0); SELECT pg_sleep(2); COMMIT;
                """)
        }
        try await Task.sleep(for: .milliseconds(700))  // the other server's insert is in, uncommitted
        let second = try await a.classroom.send(to: nil, text: "second")
        let seen = try await a.classroom.store.messages(for: "anyone", after: 0, limit: 10)
        #expect(seen.map(\.text) == ["first", "second"], "a poller would see \(seen.map(\.text)) and then ask after id \(second.id)")
        _ = try await other.value
    }

    /// An unreachable server, a database that does not exist, a URL that is not one: lab-server says which and
    /// exits, instead of listening on a room it cannot keep.
    @Test func aDatabaseThatCannotBeUsedIsAClearError() async throws {
        let cluster = try PostgresCluster()
        let nobody = try freeLoopbackPort()
        let cases: [(url: String, says: String)] = [
            ("postgres://boxlab@127.0.0.1:\(nobody)/classroom", "cannot connect to PostgreSQL at 127.0.0.1:\(nobody)/classroom"),
            (cluster.url(database: "nope"), "database \"nope\" does not exist"),
            ("mysql://boxlab@127.0.0.1/classroom", "not a postgres:// URL"),
            ("postgres://127.0.0.1/classroom", "no user name"),
        ]
        for c in cases {
            let server = try ServerProcess(arguments: ["--database", c.url])
            server.process.waitUntilExit()
            let stderr = String(decoding: server.errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(server.process.terminationStatus != 0, "\(c.url)")
            #expect(stderr.contains(c.says), "\(c.url): \(stderr)")
            #expect(!FileManager.default.fileExists(atPath: server.data + "/room.json"))
        }
    }
}

/// How many times a watcher was called.
final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add() { count.withLock { $0 += 1 } }

    func wait(until target: Int, seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while value < target {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}
