import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where `swift build` put the binaries: beside the test bundle.
let binDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path

/// A `lab-server serve` process on a free port in a temporary data directory; stopped with SIGTERM.
final class ServerProcess {
    let process = Process()
    let data: String
    let output = Pipe()
    let errors = Pipe()
    var room: [String: String] = [:]

    /// `arguments` after the data directory's: `--database URL`.
    init(data: String? = nil, arguments: [String] = []) throws {
        self.data = try data ?? temporaryDirectory()
        process.executableURL = URL(fileURLWithPath: binDirectory + "/lab-server")
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--data", self.data, "--room", "workshop"] + arguments
        process.standardOutput = output
        process.standardError = errors
        // A room.json of an earlier run names its port; this run writes its own once it listens.
        unlink(self.data + "/room.json")
        try process.run()
    }

    /// Waits for room.json (written once the server listens).
    func waitForRoom(seconds: Double = 60) throws -> [String: String] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let data = FileManager.default.contents(atPath: self.data + "/room.json"),
               let object = try? JSONSerialization.jsonObject(with: data) as? [String: String] {
                room = object
                return object
            }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        throw POSIXError(.ETIMEDOUT)
    }

    func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate() } }
}

/// One HTTP request with URLSession; (status, body).
func http(_ method: String, _ url: String, json: Any? = nil, bearer: String? = nil) async throws -> (Int, Data) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.timeoutInterval = 30
    if let json {
        request.httpBody = try JSONSerialization.data(withJSONObject: json)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    if let bearer { request.setValue("Bearer " + bearer, forHTTPHeaderField: "Authorization") }
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
}

@Suite(.timeLimit(.minutes(5))) struct ServerProcessTests {
    /// The executable: room.json (mode 0600) once it listens, the same room after a restart, SIGTERM stops it
    /// cleanly.
    @Test func labServerWritesRoomJSONAndStopsOnSIGTERM() async throws {
        let server = try ServerProcess()
        let room = try server.waitForRoom()
        let url = try #require(room["url"])
        #expect(url.hasPrefix("http://127.0.0.1:") && url.hasSuffix("/") && !url.hasSuffix(":0/"))
        #expect(room["code"]?.count == 6)
        #expect(room["token"]?.count == 64)
        var st = stat()
        #expect(stat(server.data + "/room.json", &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(FileManager.default.fileExists(atPath: server.data + "/classroom.sqlite"))

        var (status, body) = try await http("POST", url + "api/join", json: ["code": room["code"]!, "name": "alice"])
        #expect(status == 200)
        let joined = try JSONSerialization.jsonObject(with: body) as? [String: String]
        #expect(joined?["room"] == "workshop")
        (status, _) = try await http("GET", url + "api/room", bearer: room["token"])
        #expect(status == 200)
        #expect(server.stop() == 0)

        let again = try ServerProcess(data: server.data)
        let room2 = try again.waitForRoom()
        #expect(room2["code"] == room["code"] && room2["token"] == room["token"])
        (status, body) = try await http("GET", room2["url"]! + "api/room", bearer: room2["token"])
        #expect(status == 200)
        let attendees = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["attendees"] as? [[String: Any]]
        #expect(attendees?.first?["name"] as? String == "alice")
        #expect(again.stop() == 0)
    }
}
