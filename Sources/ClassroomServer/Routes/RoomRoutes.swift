import Engine
import Foundation
import Hummingbird
import ServiceLifecycle

/// The instructor's side: the room as JSON, its export, and its live stream.
struct RoomRoutes {
    let classroom: Classroom
    /// The shortest spacing of two `room` events on one stream (the contract: at most every 500 ms).
    var minimumInterval: Duration = .milliseconds(500)

    func addRoutes(to group: RouterGroup<ClassroomContext>) {
        group.get("room", use: room)
        group.get("export", use: export)
        group.get("stream", use: stream)
    }

    static func jsonResponse(_ data: Data, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    @Sendable func room(_ request: Request, context: ClassroomContext) async throws -> Response {
        try context.requireInstructor()
        return Self.jsonResponse(try await classroom.viewJSON())
    }

    /// `format=json`: the room's view. `format=csv`: one row per attendee and step they touched.
    @Sendable func export(_ request: Request, context: ClassroomContext) async throws -> Response {
        try context.requireInstructor()
        let view = try await classroom.view()
        let stamp = Timestamp.now().rfc3339.prefix(19).replacingOccurrences(of: ":", with: "")
        let name = "classroom-\(view.room.name)-\(stamp)".map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        switch request.uri.queryParameters["format"] ?? "json" {
        case "json":
            return Self.jsonResponse(try await classroom.viewJSON(), headers: [.contentDisposition: "attachment; filename=\"\(String(name)).json\""])
        case "csv":
            let titles = Dictionary(view.steps.map { ($0.id, $0.title) }, uniquingKeysWith: { a, _ in a })
            var csv = "attendee,name,lines,last_seen,chain,stuck,step,title,state,failing\r\n"
            for a in view.attendees {
                let keys = Set(a.steps.keys).union(a.failing.keys)
                let order = view.steps.map(\.id).filter(keys.contains) + keys.subtracting(view.steps.map(\.id)).sorted()
                let prefix = [a.id, a.name, String(a.lines), a.lastSeen, a.chain, String(a.stuck)]
                if order.isEmpty { csv += Self.row(prefix + ["", "", "", ""]) }
                for k in order {
                    csv += Self.row(prefix + [k, titles[k] ?? "", a.steps[k] ?? "", a.failing[k] ?? ""])
                }
            }
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                                   .contentDisposition: "attachment; filename=\"\(String(name)).csv\""],
                            body: .init(byteBuffer: ByteBuffer(string: csv)))
        default:
            throw APIError(.badRequest, "format is csv or json")
        }
    }

    /// RFC 4180: fields with a comma, quote or line break quoted, quotes doubled. A leading =, +, - or @ is
    /// prefixed with ' so a spreadsheet does not run a name as a formula.
    static func row(_ fields: [String]) -> String {
        fields.map { f in
            var f = f
            if let c = f.first, "=+-@".contains(c) { f = "'" + f }
            return f.contains(where: { ",\"\r\n".contains($0) }) ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f
        }.joined(separator: ",") + "\r\n"
    }

    /// Server-sent events: `room` at connect and after each change (spaced by `minimumInterval`); on a tick with
    /// nothing new, a comment line, so a dead connection is noticed and proxies keep it open.
    @Sendable func stream(_ request: Request, context: ClassroomContext) async throws -> Response {
        try context.requireInstructor()
        let signals = classroom.changes.subscribe()
        let classroom = classroom
        let minimumInterval = minimumInterval
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var last = Data()
            var sentAt = ContinuousClock.now
            func send() async throws {
                let data = try await classroom.viewJSON()
                if data == last {
                    try await writer.write(ByteBuffer(string: ": nothing new\n\n"))
                } else {
                    var buffer = ByteBuffer(string: "event: room\ndata: ")
                    buffer.writeBytes(data)
                    buffer.writeString("\n\n")
                    try await writer.write(buffer)
                    last = data
                }
                sentAt = .now
            }
            try await send()
            for await _ in signals.cancelOnGracefulShutdown() {
                let wait = minimumInterval - sentAt.duration(to: .now)
                if wait > .zero { try await Task.sleep(for: wait) }
                try await send()
            }
            try await writer.finish(nil)
        })
    }
}
