import Engine
import Foundation
import Hummingbird

/// Reads a JSON body (at most the context's 1 MiB: Hummingbird answers 413 beyond), as the contract's 400 when it is
/// not the expected JSON.
func decodeBody<T: Decodable>(_ type: T.Type, _ request: Request, _ context: ClassroomContext, what: String) async throws -> T {
    let buffer = try await request.body.collect(upTo: context.maxUploadSize)
    do {
        return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
    } catch {
        throw APIError(.badRequest, "the body is not \(what)")
    }
}

/// `POST /api/join`: a code and a name in, a new attendee's id and secret out.
struct JoinRoutes {
    let classroom: Classroom

    struct JoinRequest: Decodable { var code: String; var name: String }
    struct JoinResponse: ResponseEncodable { var attendee: String; var secret: String; var room: String }

    func addRoutes(to group: RouterGroup<ClassroomContext>) {
        group.post("join", use: join)
    }

    @Sendable func join(_ request: Request, context: ClassroomContext) async throws -> JoinResponse {
        let body = try await decodeBody(JoinRequest.self, request, context, what: #"{"code": "...", "name": "..."}"#)
        let room = await classroom.room
        guard constantTimeEqual(body.code.uppercased(), room.code) else {
            throw APIError(.forbidden, "wrong join code: ask the instructor for the room's code")
        }
        let name = body.name.trimmingCharacters(in: .whitespaces)
        guard (1...64).contains(name.count), name.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control }) else {
            throw APIError(.badRequest, "the name must be 1 to 64 printable characters")
        }
        let (attendee, secret) = try await classroom.join(code: body.code, name: name)
        return JoinResponse(attendee: attendee.id, secret: secret, room: room.name)
    }
}

/// `POST /api/events`: an attendee's journal lines, stored by (attendee, index) and chain-checked.
struct EventRoutes {
    let classroom: Classroom
    static let maxLines = 1000

    struct EventsRequest: Decodable { var from: Int; var lines: [String] }
    struct EventsResponse: ResponseEncodable { var stored: Int; var head: String; var chain: String }

    func addRoutes(to group: RouterGroup<ClassroomContext>) {
        group.post("events", use: post)
    }

    @Sendable func post(_ request: Request, context: ClassroomContext) async throws -> EventsResponse {
        let attendee = try context.requireAttendee()
        let body = try await decodeBody(EventsRequest.self, request, context, what: #"{"from": N, "lines": ["<journal line>", ...]}"#)
        guard body.lines.count <= Self.maxLines else {
            throw APIError(.contentTooLarge, "at most \(Self.maxLines) lines per request: send the rest in the next one")
        }
        guard body.from >= 0 else { throw APIError(.badRequest, "\"from\" is the 0-based index of the first line sent") }
        // Every line is checked before anything is stored: a bad one refuses the whole batch.
        for (i, line) in body.lines.enumerated() {
            do { _ = try JournalLine.parse(line) } catch {
                throw APIError(.badRequest, "line \(body.from + i): \(error); nothing of this batch was stored")
            }
        }
        switch try await classroom.append(attendee: attendee.id, from: body.from, lines: body.lines) {
        case .conflict(let stored, let reason):
            throw APIError(.conflict, reason, stored: stored)
        case .appended(let a):
            return EventsResponse(stored: a.lines, head: a.head, chain: a.chainBrokenAt == nil ? "ok" : "broken")
        }
    }
}

/// Messages: an attendee reads broadcasts and its own (`GET`); the instructor sends (`POST`).
struct MessageRoutes {
    let classroom: Classroom

    struct MessageView: Encodable { var id: Int64; var text: String; var time: String }
    /// `mapRequested`: the instructor asked for the attendee's map (issue 22): their `lab` sends it to /api/map.
    struct MessagesResponse: ResponseEncodable { var messages: [MessageView]; var mapRequested: Bool }
    struct SendRequest: Decodable { var to: String; var text: String }
    struct SendResponse: ResponseEncodable { var id: Int64 }

    func addRoutes(to group: RouterGroup<ClassroomContext>) {
        group.get("messages", use: list)
        group.post("messages", use: send)
    }

    @Sendable func list(_ request: Request, context: ClassroomContext) async throws -> MessagesResponse {
        let attendee = try context.requireAttendee()
        let after = request.uri.queryParameters["after"].flatMap { Int64($0) } ?? 0
        let messages = try await classroom.messages(for: attendee.id, after: after)
        let mapRequested = try await classroom.store.map(attendee: attendee.id)?.requested != nil
        return MessagesResponse(messages: messages.map { MessageView(id: $0.id, text: $0.text, time: $0.time.rfc3339) },
                                mapRequested: mapRequested)
    }

    @Sendable func send(_ request: Request, context: ClassroomContext) async throws -> SendResponse {
        try context.requireInstructor()
        let body = try await decodeBody(SendRequest.self, request, context, what: #"{"to": "all" | "<attendee id>", "text": "..."}"#)
        let text = body.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...4000).contains(text.count) else { throw APIError(.badRequest, "the text must be 1 to 4000 characters") }
        var to: String?
        if body.to != "all" {
            guard try await classroom.store.attendee(id: body.to) != nil else {
                throw APIError(.notFound, "no attendee \(body.to) in this room (\"all\" for everyone)")
            }
            to = body.to
        }
        return SendResponse(id: try await classroom.send(to: to, text: text).id)
    }
}
