import Foundation
import Testing
import TestSupport
@testable import Engine
@testable import LabKit

/// The classroom as a workshop uses it: a real `lab-server` on loopback, attendees in homes of their own
/// joining with `lab join` and working with `lab`, the instructor reading the room through the API.
@Suite("Classroom end to end: lab join, a real lab-server, a server cut mid-workshop", .serialized)
struct ClassroomEndToEndTests {
    struct Room: Decodable { var url: String; var code: String; var token: String }

    /// A port nothing listens on now (TestSupport's, which the PostgreSQL tests use too).
    static func freePort() -> Int { (try? freeLoopbackPort()) ?? 0 }

    /// `lab-server serve` on 127.0.0.1:port with `data`; returns once room.json is there.
    static func startServer(_ s: LabSandbox, data: String, port: Int) throws -> (Process, Room) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: s.bin + "/lab-server")
        p.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--data", data]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let roomFile = data + "/room.json"
        for _ in 0..<300 {
            if let bytes = FileManager.default.contents(atPath: roomFile), let room = try? JSONDecoder().decode(Room.self, from: bytes),
               (try? HTTP.request("GET", room.url + "api/room", bearer: room.token, timeout: 1))?.status == 200 {
                return (p, room)
            }
            usleep(100_000)
        }
        p.terminate()
        throw BoxError(.usage, "lab-server did not come up on 127.0.0.1:\(port) within 30 s")
    }

    static func stop(_ p: Process, kill9: Bool = false) {
        if p.isRunning { kill(p.processIdentifier, kill9 ? SIGKILL : SIGTERM) }
        p.waitUntilExit()
    }

    /// The room as the instructor's API gives it: each attendee's name, lines stored, chain and step states.
    struct Attendee: Decodable {
        var name: String
        var lines: Int
        var chain: String
        var steps: [String: String]
    }
    struct RoomState: Decodable { var attendees: [Attendee] }

    static func room(_ r: Room) throws -> RoomState {
        let answer = try HTTP.request("GET", r.url + "api/room", bearer: r.token)
        try #require(answer.status == 200, "GET /api/room: \(answer.status) \(answer.text)")
        return try JSONDecoder().decode(RoomState.self, from: Data(answer.body))
    }

    /// Waits up to `seconds` for `condition` on the room.
    static func eventually(_ r: Room, seconds: Double = 60, _ condition: (RoomState) -> Bool) throws -> RoomState {
        let deadline = Date().addingTimeInterval(seconds)
        var last = try room(r)
        while !condition(last) && Date() < deadline {
            usleep(200_000)
            last = try room(r)
        }
        return last
    }

    @Test("two attendees join and their steps appear; the server killed mid-workshop and restarted loses and doubles nothing; a message reaches the attendee",
          .enabled(if: isRoot, needsRoot),
          .enabled(if: FileManager.default.isExecutableFile(atPath: LabSandbox.binDirectory + "/lab-server"), "lab-server is not built"))
    func workshop() throws {
        let s = try LabSandbox()
        let data = s.base + "/classroom"
        let port = Self.freePort()
        var (server, room) = try Self.startServer(s, data: data, port: port)
        defer { Self.stop(server) }
        #expect(room.url == "http://127.0.0.1:\(port)/")
        // room.json holds the token: root's alone.
        var st = stat()
        #expect(stat(data + "/room.json", &st) == 0 && st.st_mode & 0o777 == 0o600)

        let bob = ["LAB_HOME": s.base + "/bob-home", "LAB_LEARNER": "bob"]
        let wrong = try s.lab("join", room.url, "--code", "WRONG0")
        #expect(wrong.status != 0 && wrong.stderr.contains("403"), "\(wrong.stderr)")
        #expect(try s.lab("join", room.url, "--code", room.code, "--name", "alice").status == 0)
        #expect(try s.run([s.bin + "/lab", "join", room.url, "--code", room.code, "--name", "bob"], extra: bob).status == 0)

        try s.lab("start", "pid-namespaces")
        #expect(try s.lab("solve").status == 0)
        try s.run([s.bin + "/lab", "start", "uts-ipc-net"], extra: bob)
        var seen = try Self.eventually(room) { r in
            r.attendees.contains { $0.name == "alice" && $0.steps["pid-namespaces/two-containers"] == "solved" }
                && r.attendees.contains { $0.name == "bob" && $0.steps["uts-ipc-net/hostname"] == "current" }
        }
        #expect(seen.attendees.first { $0.name == "alice" }?.steps["pid-namespaces/two-containers"] == "solved", "\(seen)")
        #expect(seen.attendees.first { $0.name == "bob" }?.steps["uts-ipc-net/hostname"] == "current", "\(seen)")

        // The server goes away without a word; alice goes on working, and no lab command waits for it.
        Self.stop(server, kill9: true)
        let start = Date()
        #expect(try s.lab("solve").status == 0)
        #expect(try s.lab("hint").status == 0)
        #expect(Date().timeIntervalSince(start) < 10, "lab waited for the network")
        usleep(1_500_000)
        let status = try s.lab("status").stdout
        #expect(status.contains("last try failed") && status.contains("connection refused"), "\(status)")

        // Back on the same port and data: what was sent is still there, what was not comes, nothing twice.
        (server, room) = try Self.startServer(s, data: data, port: port)
        try s.lab("status")  // any lab command sets the sync going again
        let journal = ProgressJournal(directory: s.base + "/home").lines().count
        seen = try Self.eventually(room) { r in r.attendees.contains { $0.name == "alice" && $0.lines == journal } }
        let alice = try #require(seen.attendees.first { $0.name == "alice" })
        #expect(alice.lines == journal, "the server has \(alice.lines) of alice's \(journal) lines")
        #expect(alice.chain == "ok")
        #expect(alice.steps["pid-namespaces/a-process"] == "solved", "\(alice.steps)")
        #expect(seen.attendees.count == 2)

        // A message to the room reaches alice at her next lab command.
        let message = try HTTP.request("POST", room.url + "api/messages", bearer: room.token,
                                       json: Array(#"{"to": "all", "text": "break until 11:00"}"#.utf8))
        #expect(message.status == 200, "\(message.text)")
        try s.lab("status")
        var shown = ""
        for _ in 0..<50 where !shown.contains("break until 11:00") {
            usleep(200_000)
            shown = try s.lab("status").stderr
        }
        #expect(shown.contains("Message from the instructor: break until 11:00"), "\(shown)")
    }

    /// The instructor's API for one attendee's map: (map, requested) as GET /api/attendees/ID/map says.
    struct MapState: Decodable { var map: String?; var at: String?; var requested: String? }
    struct RoomIDs: Decodable { struct A: Decodable { var id: String; var name: String; var lines: Int }; var attendees: [A] }

    static func map(_ r: Room, _ id: String) throws -> MapState {
        let answer = try HTTP.request("GET", r.url + "api/attendees/\(id)/map", bearer: r.token)
        try #require(answer.status == 200, "GET map: \(answer.status) \(answer.text)")
        return try JSONDecoder().decode(MapState.self, from: Data(answer.body))
    }

    @Test("the instructor asks for alice's map: her next lab command's sync sends lab map --plain's text; unasked, nothing goes",
          .enabled(if: isRoot, needsRoot),
          .enabled(if: FileManager.default.isExecutableFile(atPath: LabSandbox.binDirectory + "/lab-server"), "lab-server is not built"))
    func mapOnRequest() throws {
        let s = try LabSandbox()
        let (server, room) = try Self.startServer(s, data: s.base + "/classroom", port: Self.freePort())
        defer { Self.stop(server) }
        #expect(try s.lab("join", room.url, "--code", room.code, "--name", "alice").status == 0)
        try s.lab("start", "pid-namespaces")
        #expect(try s.lab("solve").status == 0)  // c1 and c2: something to draw
        // Her syncs ran (her lines arrived) with nobody asking: no map on the server.
        let journal = ProgressJournal(directory: s.base + "/home").lines().count
        let seen = try Self.eventually(room) { r in r.attendees.contains { $0.name == "alice" && $0.lines == journal } }
        #expect(seen.attendees.first?.lines == journal)
        let ids = try JSONDecoder().decode(RoomIDs.self, from: Data(try HTTP.request("GET", room.url + "api/room", bearer: room.token).body))
        let alice = try #require(ids.attendees.first { $0.name == "alice" }).id
        var state = try Self.map(room, alice)
        #expect(state.map == nil && state.at == nil && state.requested == nil, "\(state)")

        let asked = try HTTP.request("POST", room.url + "api/attendees/\(alice)/map-request", bearer: room.token)
        #expect(asked.status == 200, "\(asked.text)")
        #expect(try Self.map(room, alice).requested != nil)
        // A process of hers in a namespace of its own, outside every container: her machine's, not the class's.
        let unshared = Process()
        unshared.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        unshared.arguments = ["--uts", "--", "sleep", "120"]
        try unshared.run()
        defer { kill(unshared.processIdentifier, SIGKILL); unshared.waitUntilExit() }
        usleep(300_000)
        let whole = try s.lab("map", "--plain").stdout
        #expect(whole.contains("host pid \(unshared.processIdentifier),"), "the whole map draws it: \(whole)")
        try s.lab("status")  // any lab command sets the sync going
        let deadline = Date().addingTimeInterval(60)
        while state.map == nil && Date() < deadline {
            usleep(200_000)
            state = try Self.map(room, alice)
        }
        let text = try #require(state.map, "no map within 60 s: \(state)")
        #expect(state.requested == nil && state.at != nil)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("container c1 ") }, "\(text)")
        #expect(lines.contains { $0.hasPrefix("container c2 ") }, "\(text)")
        // What the learner's own lab map --plain says of c1's processes is in it.
        let ownRun = try s.lab("map", "--plain", "--focus", "c1")
        let own = ownRun.stdout
        #expect(own.contains(", pid 1, sh (PID 1 of its pid namespace)") && text.contains(", pid 1, sh (PID 1 of its pid namespace)"), "\(text)")
        // Containers only: her own unshare is not in it, and the map says what was not sent.
        #expect(!text.contains(":\(unshared.processIdentifier)") && !text.contains("host pid \(unshared.processIdentifier),"), "\(text)")
        #expect(text.contains("processes outside containers are not sent") && !text.contains("left out: system services"), "\(text)")
        // Answered: the next syncs send nothing more (the time stays); her next command tells her it went, once.
        // (Her sync saves that the map went just after the server has it: a command or two later at most.)
        var told = ownRun  // the first lab command after the map went (lab map above) tells her
        let toldBy = Date().addingTimeInterval(30)  // a loaded CI machine took more than 10 s once
        while !told.stderr.contains("asked for your map") && Date() < toldBy {
            usleep(200_000)
            told = try s.lab("status")
        }
        #expect(told.stderr.contains("The instructor asked for your map: sent (containers only)."), "\(told.stderr)")
        #expect(!(try s.lab("status").stderr.contains("asked for your map")))
        usleep(1_500_000)
        #expect(try Self.map(room, alice).at == state.at)
    }
}
