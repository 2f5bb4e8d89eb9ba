import Engine
import Foundation
import Hummingbird
import NIOCore

/// An attendee's map on request (issue 22): the instructor asks (`POST /api/attendees/ID/map-request`), the
/// attendee's `lab` sees `mapRequested` in its messages and answers (`POST /api/map`, its own only: the secret
/// says whose), the instructor reads it (`GET /api/attendees/ID/map`). A map nobody asked for is refused.
struct MapRoutes {
    let classroom: Classroom
    /// A map is plain text, a few KiB for a busy lab: 64 KiB is room for dozens of containers.
    static let maxBytes = 64 * 1024

    struct RequestResponse: ResponseEncodable { var requested: String }
    struct StoreResponse: ResponseEncodable { var at: String }
    struct MapResponse: ResponseEncodable {
        var attendee: String
        /// null until the attendee's first map.
        @NullWhenNil var map: String?
        @NullWhenNil var at: String?
        /// When the instructor asked, while the attendee has not answered.
        @NullWhenNil var requested: String?
    }

    func addRoutes(to group: RouterGroup<ClassroomContext>) {
        group.post("attendees/:id/map-request", use: request)
        group.get("attendees/:id/map", use: read)
        group.post("map", use: store)
    }

    /// The attendee named in the path, for the instructor alone.
    func attendee(_ context: ClassroomContext) async throws -> String {
        try context.requireInstructor()
        let id = try context.parameters.require("id")
        guard try await classroom.store.attendee(id: id) != nil else { throw APIError(.notFound, "no attendee \(id) in this room") }
        return id
    }

    @Sendable func request(_ request: Request, context: ClassroomContext) async throws -> RequestResponse {
        let id = try await attendee(context)
        return RequestResponse(requested: try await classroom.requestMap(of: id).rfc3339)
    }

    @Sendable func read(_ request: Request, context: ClassroomContext) async throws -> MapResponse {
        let id = try await attendee(context)
        let m = try await classroom.store.map(attendee: id)
        return MapResponse(attendee: id, map: m?.text, at: m?.at?.rfc3339, requested: m?.requested?.rfc3339)
    }

    /// The body is the map itself: UTF-8 text, at most `maxBytes`.
    @Sendable func store(_ request: Request, context: ClassroomContext) async throws -> StoreResponse {
        let attendee = try context.requireAttendee()
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maxBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "a map is at most \(Self.maxBytes / 1024) KiB of text; nothing was stored")
        }
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else {
            throw APIError(.badRequest, "a map is UTF-8 text (lab map --plain); nothing was stored")
        }
        guard !text.isEmpty else { throw APIError(.badRequest, "the map is empty; nothing was stored") }
        guard let at = try await classroom.storeMap(of: attendee.id, text: text) else {
            throw APIError(.conflict, "the instructor has not asked for your map (or it was sent already); nothing was stored")
        }
        return StoreResponse(at: at.rfc3339)
    }
}
