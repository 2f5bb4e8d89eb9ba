import Exercises
import Foundation
import Hummingbird
import LabKit
import Labs
import Logging
import NIOCore

/// What `lab-server serve` is given.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    /// nil: keep the stored room's name ("classroom" for a new one).
    public var roomName: String?
    /// `postgres://USER@HOST:PORT/DB`: the room in PostgreSQL, shared with other servers; nil: SQLite in
    /// `dataDirectory` (which keeps room.json either way).
    public var database: String?

    public static let defaultDataDirectory = "/var/lib/boxlab/classroom"

    public init(host: String = "127.0.0.1", port: Int = 8469, dataDirectory: String = defaultDataDirectory, roomName: String? = nil,
                database: String? = nil) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.roomName = roomName
        self.database = database
    }
}

/// Every lab `lab` knows, guided and exercises: the dashboard's step titles and order.
public let labCatalogue = Catalogue(guidedLabs + exercises)

// Laid out as Hummingbird's own examples are (hummingbird-project/hummingbird-examples: hello and
// server-sent-events, Sources/App/Application+build.swift): `buildApplication` returning `some
// ApplicationProtocol`, a separate `buildRouter`, a RequestContext of the application's own, and a streamed
// ResponseBody for the events.

/// Opens the data directory's classroom, or the database's (creating its room the first time), and builds the
/// application on it.
public func buildApplication(configuration: ServerConfiguration) async throws -> some ApplicationProtocol {
    let classroom: Classroom
    if let database = configuration.database {
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        classroom = try await Classroom.open(database: database, name: configuration.roomName, catalogue: labCatalogue)
    } else {
        classroom = try await Classroom.open(dataDirectory: configuration.dataDirectory, name: configuration.roomName,
                                             catalogue: labCatalogue)
    }
    // A room.json left by an earlier run names its port: gone until this run listens, so a script waiting for
    // the file never reads a stale URL.
    unlink(configuration.dataDirectory + "/room.json")
    return buildApplication(classroom: classroom, configuration: configuration)
}

/// The application on a classroom already open (tests keep it, to read the room's code and token).
public func buildApplication(classroom: Classroom, configuration: ServerConfiguration) -> some ApplicationProtocol {
    var logger = Logger(label: "lab-server")
    logger.logLevel = .warning
    var app = Application(
        router: buildRouter(classroom: classroom),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "lab-server"),
        onServerRunning: { channel in
            // room.json only once the server listens: a script (or test) waiting for the file can connect.
            let port = channel.localAddress?.port ?? configuration.port
            let room = await classroom.room
            let url = "http://\(urlHost(configuration.host)):\(port)/"
            do {
                try writeRoomFile(directory: configuration.dataDirectory, url: url, room: room)
            } catch {
                FileHandle.standardError.write(Data("lab-server: cannot write \(configuration.dataDirectory)/room.json: \(error)\n".utf8))
            }
            // Written at once, not through stdout's buffer: a pipe reading it sees the lines now.
            FileHandle.standardOutput.write(Data("""
                lab-server: room "\(room.name)" listening on \(url)
                  join code:  \(room.code)      (attendees: lab join \(url) --code \(room.code))
                  dashboard:  \(url)?token=\(room.token)
                  room.json:  \(configuration.dataDirectory)/room.json

                """.utf8))
        },
        logger: logger
    )
    app.addServices(classroom.changes, StoreWatcher(store: classroom.store, changes: classroom.changes))
    return app
}

/// The routes, grouped by resource, behind the error shape and authentication middleware.
public func buildRouter(classroom: Classroom) -> Router<ClassroomContext> {
    let router = Router(context: ClassroomContext.self)
    router.addMiddleware {
        ErrorShapeMiddleware()
        AuthMiddleware(classroom: classroom)
    }
    router.get("/") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
    }
    let api = router.group("api")
    JoinRoutes(classroom: classroom).addRoutes(to: api)
    EventRoutes(classroom: classroom).addRoutes(to: api)
    MessageRoutes(classroom: classroom).addRoutes(to: api)
    RoomRoutes(classroom: classroom).addRoutes(to: api)
    MapRoutes(classroom: classroom).addRoutes(to: api)
    return router
}

func urlHost(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

/// `DATA/room.json`, mode 0600 from its creation, replaced atomically (a reader never sees half of it).
func writeRoomFile(directory: String, url: String, room: Room) throws {
    struct RoomFile: Encodable { var url: String; var code: String; var token: String }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(RoomFile(url: url, code: room.code, token: room.token)) + Data("\n".utf8)
    let path = directory + "/room.json", temporary = path + ".tmp"
    unlink(temporary)
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: temporary]) }
    let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    fsync(fd)
    close(fd)
    guard written == data.count, rename(temporary, path) == 0 else {
        unlink(temporary)
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
}
