import ArgumentParser
import ClassroomServer
import Hummingbird

/// The classroom server (issue 18), which `lab serve ARGS` execs: `lab` itself links no HTTP stack.
struct LabServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab-server",
        abstract: "The classroom server: attendees' progress in, the instructor's live dashboard out.",
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a room; its join code, token and dashboard URL are printed and written to DATA/room.json.")

    @Option(help: "ADDR:PORT to listen on (PORT 0: any free port; 0.0.0.0 to open it to the LAN).")
    var listen = "127.0.0.1:8469"

    @Option(help: "The data directory: classroom.sqlite and room.json.")
    var data = ServerConfiguration.defaultDataDirectory

    @Option(help: ArgumentHelp("Keep the room in PostgreSQL instead of DATA/classroom.sqlite: several servers may share it.",
                               valueName: "postgres://USER[:PASSWORD]@HOST[:PORT]/DB"))
    var database: String?

    @Option(help: "The room's name (a new room: \"classroom\").")
    var room: String?

    func serve() async throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw ValidationError("--listen takes ADDR:PORT, as 127.0.0.1:8469 or 0.0.0.0:0")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        let configuration = ServerConfiguration(host: host, port: port, dataDirectory: data, roomName: room, database: database)
        let app = try await buildApplication(configuration: configuration)
        // runService stops gracefully on SIGTERM and SIGINT.
        try await app.runService()
    }
}

// Parsed here and run with await: ArgumentParser's async main, called from main.swift's top level, resolves to
// the synchronous one on Linux, which only prints the help of an async command.
do {
    var command = try LabServer.parseAsRoot()
    if let serve = command as? Serve {
        try await serve.serve()
    } else {
        try command.run()
    }
} catch {
    LabServer.exit(withError: error)
}
