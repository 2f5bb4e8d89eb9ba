@testable import ClassroomServer
import Engine
import Foundation
import Hummingbird
import HummingbirdTesting
@testable import LabKit
import Testing

/// An attendee's map on request (issue 22): asked by the instructor, sent by the attendee's own sync, read by the
/// instructor; never sent unasked, nobody else's.
@Suite(.timeLimit(.minutes(5))) struct MapTests {
    static func postMap(_ client: any TestClientProtocol, _ secret: String, _ body: ByteBuffer) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await client.execute(uri: "/api/map", method: .post,
                                 headers: [.authorization: "Bearer " + secret, .contentType: "text/plain; charset=utf-8"], body: body) {
            ($0.status, decoded($0.body))
        }
    }

    static func ask(_ client: any TestClientProtocol, _ id: String, as credential: String?) async throws -> HTTPResponse.Status {
        try await client.execute(uri: "/api/attendees/\(id)/map-request", method: .post,
                                 headers: credential.map(bearer) ?? [:]) { $0.status }
    }

    static func read(_ client: any TestClientProtocol, _ id: String, as credential: String?) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await client.execute(uri: "/api/attendees/\(id)/map", method: .get, headers: credential.map(bearer) ?? [:]) {
            ($0.status, decoded($0.body))
        }
    }

    static func mapRequested(_ client: any TestClientProtocol, _ secret: String) async throws -> Bool? {
        try await client.execute(uri: "/api/messages", method: .get, headers: bearer(secret)) {
            decoded($0.body)["mapRequested"] as? Bool
        }
    }

    @Test(arguments: StoreKind.testable) func requestAnswerAndReadNeedTheRightCredentials(_ store: StoreKind) async throws {
        let t = try await TestRoom(store)
        try await t.withAliceAndBob { client, alice, bob, token in
            #expect(try await Self.mapRequested(client, alice.secret) == false)
            // Unasked, a map is refused and nothing is stored.
            #expect(try await Self.postMap(client, alice.secret, ByteBuffer(string: "unasked\n")).0 == .conflict)
            #expect(try await t.classroom.store.map(attendee: alice.id) == nil)

            // Only the instructor asks, for an attendee of the room.
            #expect(try await Self.ask(client, alice.id, as: nil) == .unauthorized)
            #expect(try await Self.ask(client, alice.id, as: alice.secret) == .unauthorized)
            #expect(try await Self.ask(client, alice.id, as: bob.secret) == .unauthorized)
            #expect(try await Self.ask(client, "nobody", as: token) == .notFound)
            #expect(try await t.classroom.store.map(attendee: alice.id) == nil)
            #expect(try await Self.ask(client, alice.id, as: token) == .ok)
            #expect(try await Self.mapRequested(client, alice.secret) == true)
            #expect(try await Self.mapRequested(client, bob.secret) == false)

            // Bob cannot answer for alice: his own post has no request, and alice's request stays.
            #expect(try await Self.postMap(client, bob.secret, ByteBuffer(string: "bob's\n")).0 == .conflict)
            // Too big, not UTF-8, empty: refused, nothing changed.
            let big = ByteBuffer(string: String(repeating: "x", count: MapRoutes.maxBytes + 1))
            let (s413, b413) = try await Self.postMap(client, alice.secret, big)
            #expect(s413 == .contentTooLarge && (b413["message"] as? String)?.contains("64 KiB") == true, "\(b413)")
            let (s400, b400) = try await Self.postMap(client, alice.secret, ByteBuffer(bytes: [0x66, 0xff, 0xfe, 0x0a]))
            #expect(s400 == .badRequest && (b400["message"] as? String)?.contains("UTF-8") == true, "\(b400)")
            #expect(try await Self.postMap(client, alice.secret, ByteBuffer()).0 == .badRequest)
            let pending = try await t.classroom.store.map(attendee: alice.id)
            #expect(pending?.requested != nil && pending?.text == nil && pending?.at == nil)

            // Exactly 64 KiB is a map; it answers the request.
            let fits = String(repeating: "x", count: MapRoutes.maxBytes - 3) + "é\n"
            #expect(fits.utf8.count == MapRoutes.maxBytes)
            let (s200, b200) = try await Self.postMap(client, alice.secret, ByteBuffer(string: fits))
            #expect(s200 == .ok && b200["at"] is String, "\(b200)")
            #expect(try await Self.mapRequested(client, alice.secret) == false)
            let (status, read) = try await Self.read(client, alice.id, as: token)
            #expect(status == .ok)
            #expect(read["map"] as? String == fits && read["at"] as? String == b200["at"] as? String)
            #expect(read["requested"] is NSNull)
            // Answered once: another post is refused and the stored map stays.
            #expect(try await Self.postMap(client, alice.secret, ByteBuffer(string: "again\n")).0 == .conflict)
            #expect(try await t.classroom.store.map(attendee: alice.id)?.text == fits)

            // Only the instructor reads a map: not alice herself through this route, not bob.
            for credential in [nil, alice.secret, bob.secret] {
                #expect(try await Self.read(client, alice.id, as: credential).0 == .unauthorized)
            }
            #expect(try await Self.read(client, "nobody", as: token).0 == .notFound)
            let (_, bobs) = try await Self.read(client, bob.id, as: token)
            #expect(bobs["map"] is NSNull && bobs["requested"] is NSNull)

            // The room's view says when each map came.
            let attendees = try await client.room(token)["attendees"] as? [[String: Any]] ?? []
            #expect(attendees.first { $0["id"] as? String == alice.id }?["mapAt"] as? String == b200["at"] as? String)
            #expect(attendees.first { $0["id"] as? String == bob.id }?["mapAt"] == nil)
        }
    }

    /// The attendee's side: LabKit's sync against a live server, with a map provider that counts its calls.
    @Test(arguments: StoreKind.testable) func theSyncSendsTheMapOnlyWhenAsked(_ store: StoreKind) async throws {
        let t = try await TestRoom(store)
        let (code, token) = await (t.room.code, t.room.token)
        let home = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        // The server answers from this test process's thread pool, which the whole suite's other tests share and
        // may hold for seconds on a busy machine: `lab`'s 5 s is for a server of its own.
        let attendee = { var c = LabKit.Classroom(journal: ProgressJournal(directory: home)); c.timeout = 60; return c }()
        let drawn = Counter()
        let provider: @Sendable () throws -> String = { drawn.add(); return "container c1 abc123 running\n" }
        try await t.app.test(.live) { client in
            let url = "http://127.0.0.1:\(try #require(client.port))/"
            let joined = try await offThePool { try attendee.join(url: url, code: code, name: "alice") }
            // Nobody asked: syncs draw nothing and the server has no map.
            for _ in 0..<2 { _ = try await offThePool { try attendee.syncOnce(map: provider) } }
            #expect(drawn.value == 0)
            #expect(try await t.classroom.store.map(attendee: joined.attendee) == nil)

            #expect(try await Self.ask(client, joined.attendee, as: token) == .ok)
            _ = try await offThePool { try attendee.syncOnce(map: provider) }
            #expect(drawn.value == 1)
            let (status, read) = try await Self.read(client, joined.attendee, as: token)
            #expect(status == .ok && read["map"] as? String == "container c1 abc123 running\n" && read["requested"] is NSNull)
            // Answered: the next sync draws nothing.
            _ = try await offThePool { try attendee.syncOnce(map: provider) }
            #expect(drawn.value == 1)

            // A map that cannot be drawn answers with why, so the instructor is not left waiting.
            #expect(try await Self.ask(client, joined.attendee, as: token) == .ok)
            struct Broken: Error, CustomStringConvertible { var description: String { "no /proc" } }
            _ = try await offThePool { try attendee.syncOnce(map: { throw Broken() }) }
            #expect(try await t.classroom.store.map(attendee: joined.attendee)?.text == "lab could not draw the map: no /proc\n")
        }
    }

    /// A map the server refuses (an empty one: 400) is not the journal's failure: the lines and messages the
    /// sync got are saved, the failure is noted, and the next sync answers the request still open.
    @Test(arguments: StoreKind.testable) func aFailedMapDoesNotHoldUpTheJournal(_ store: StoreKind) async throws {
        let t = try await TestRoom(store)
        let (code, token) = await (t.room.code, t.room.token)
        let home = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let journal = ProgressJournal(directory: home)
        let attendee = { var c = LabKit.Classroom(journal: journal); c.timeout = 60; return c }()
        try await t.app.test(.live) { client in
            let url = "http://127.0.0.1:\(try #require(client.port))/"
            let joined = try await offThePool { try attendee.join(url: url, code: code, name: "alice") }
            try journal.append(ProgressRecord(.start, lab: "pid-namespaces"))
            #expect(try await Self.ask(client, joined.attendee, as: token) == .ok)

            let caughtUp = try await offThePool { try attendee.syncOnce(map: { "" }) }
            #expect(caughtUp)
            let s = try #require(attendee.state())
            #expect(s.sent == journal.lines().count && s.sent >= 1 && s.head != nil && s.lastSync != nil, "\(s)")
            #expect(s.lastError?.contains("map") == true && s.mapNotice == nil, "\(s)")
            #expect(try await t.classroom.store.map(attendee: joined.attendee)?.text == nil)
            #expect(try await Self.mapRequested(client, s.secret) == true)

            // The next sync answers; the learner is told once.
            _ = try await offThePool { try attendee.syncOnce(map: { "container c1 abc123 running\n" }) }
            #expect(try await t.classroom.store.map(attendee: joined.attendee)?.text == "container c1 abc123 running\n")
            #expect(attendee.state()?.lastError == nil)
            #expect(attendee.takeMapNotice() == LabKit.Classroom.mapSentNotice && attendee.takeMapNotice() == nil)
        }
    }

    @Test func aMapOverTheLimitIsCutAtALineEnd() {
        let line = String(repeating: "y", count: 99) + "\n"
        let long = String(repeating: line, count: 1000)  // 100 000 bytes
        let cut = LabKit.Classroom.fitted(long)
        #expect(cut.count <= LabKit.Classroom.maxMapBytes)
        let text = String(decoding: cut, as: UTF8.self)
        #expect(text.hasSuffix("KiB: cut here)\n"))
        let kept = text.split(separator: "\n").dropLast()
        #expect(kept.count > 600 && kept.allSatisfy { $0 == line.dropLast() })
        #expect(LabKit.Classroom.fitted(line) == Array(line.utf8))
    }
}

/// Runs blocking code (LabKit's HTTP client) on a thread of its own: never on the cooperative pool the
/// in-process server under test runs on.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
