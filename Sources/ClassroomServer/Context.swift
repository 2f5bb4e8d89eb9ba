import Foundation
import Hummingbird
import NIOCore

/// Who made the request, as the bearer secret (or `?token=`) says.
public enum Identity: Sendable, Equatable {
    case attendee(Attendee)
    case instructor
}

/// The classroom's request context: Hummingbird's core storage, the peer's address (for the rate limit of
/// unauthenticated requests) and who is asking, set by `AuthMiddleware`.
public struct ClassroomContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?
    public let peer: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peer = source.channel.remoteAddress?.ipAddress ?? "local"
    }

    /// Hummingbird's JSON encoder, with slashes left as they are ("LAB/STEP", not "LAB\/STEP").
    public var responseEncoder: JSONEncoder { .classroom }

    /// The contract's limit: 1 MiB per request.
    public var maxUploadSize: Int { 1 << 20 }

    public func requireAttendee() throws -> Attendee {
        guard case .attendee(let a) = identity else {
            throw APIError(.unauthorized, "this needs an attendee's secret: `Authorization: Bearer SECRET` (from POST /api/join)")
        }
        return a
    }

    public func requireInstructor() throws {
        guard identity == .instructor else {
            throw APIError(.unauthorized, "this needs the instructor token (room.json's \"token\"): `Authorization: Bearer TOKEN` or ?token=")
        }
    }
}

/// An error as the contract answers it: the status and `{"message": "what to do"}` (with `stored` for a 409).
public struct APIError: Error, HTTPResponseError {
    public var status: HTTPResponse.Status
    public var message: String
    public var stored: Int?

    public init(_ status: HTTPResponse.Status, _ message: String, stored: Int? = nil) {
        self.status = status
        self.message = message
        self.stored = stored
    }

    public var headers: HTTPFields { [.contentType: "application/json"] }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder.classroom.encode(ErrorBody(message: message, stored: stored))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension JSONEncoder {
    /// Sorted keys (a stream can tell an unchanged room), slashes unescaped.
    static var classroom: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

struct ErrorBody: Encodable {
    var message: String
    var stored: Int?
}

/// Any other error (Hummingbird's own: 404, 413 from the body limit) in the contract's shape.
struct ErrorShapeMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as any HTTPResponseError {
            // Hummingbird's own: HTTPError (404 and others), NIOTooManyBytesError (the body limit's 413).
            let message: String = switch error.status {
            case .contentTooLarge: "the request is over 1 MiB: send fewer lines at a time"
            case .notFound: "no such resource: \(request.method) \(request.uri.path)"
            default: (error as? HTTPError)?.body ?? error.status.reasonPhrase
            }
            throw APIError(error.status, message)
        }
    }
}

/// Sets `context.identity` from `Authorization: Bearer X` or `?token=X`: the instructor token (compared in
/// constant time), else an attendee's secret (looked up by its sha256). An unknown credential is a 401 here; none
/// at all is left to the route (join needs none). Then the rate limit: per attendee, per peer address otherwise.
struct AuthMiddleware: RouterMiddleware {
    let classroom: Classroom

    func handle(_ request: Request, context: ClassroomContext, next: (Request, ClassroomContext) async throws -> Response) async throws -> Response {
        var context = context
        var credential: String?
        if let header = request.headers[.authorization] {
            guard header.lowercased().hasPrefix("bearer ") else {
                throw APIError(.unauthorized, "Authorization must be `Bearer SECRET`")
            }
            credential = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if let token = request.uri.queryParameters["token"] {
            credential = String(token)
        }
        if let credential {
            let token = await classroom.room.token
            if constantTimeEqual(credential, token) {
                context.identity = .instructor
            } else if let attendee = try await classroom.attendee(secret: credential) {
                context.identity = .attendee(attendee)
            } else {
                throw APIError(.unauthorized, "unknown secret or token: join again (`lab join`), or take the token from room.json")
            }
        }
        let key: String? = switch context.identity {
        case .attendee(let a): "a:" + a.id
        case .instructor: nil
        case nil: "p:" + context.peer
        }
        if let key, !classroom.limiter.allow(key) {
            throw APIError(.tooManyRequests, "too many requests: at most \(Int(classroom.limiter.perSecond)) a second; retry shortly")
        }
        return try await next(request, context)
    }
}
