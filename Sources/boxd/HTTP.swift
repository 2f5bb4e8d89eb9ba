#if canImport(Glibc)
import Glibc
#endif
import Engine

/// HTTP/1.1 on one connection's descriptor, as much of it as docker's clients use: requests with a
/// Content-Length or chunked body, keep-alive, responses with a length or chunked (the streams: logs, events,
/// wait), and the upgrade docker calls hijacking (attach, exec start), after which the descriptor is the raw
/// duplex stream (moby's api/server/router/container/container_routes.go: postContainersAttach;
/// docker/cli's cli/command/container/hijack.go on the client side).
/// A thread owns each connection: the engine's calls block (poll loops, waits), and a hijacked stream is
/// just this descriptor handed to them.
final class Connection {
    let fd: Int32
    private var buffer: [UInt8] = []
    /// The peer asked to close after this response, or the request could not be read to its end.
    var keepAlive = true
    /// The status of the last response begun on this connection (the access log's), nil before one.
    var status: Int?

    /// A body larger than this is refused with 413 before it is read: the engine's requests are small JSON.
    static let maxBody = 16 << 20
    static let maxHeader = 64 << 10

    init(fd: Int32) { self.fd = fd }

    // MARK: reading

    /// The next request, nil when the peer closed between requests. Throws an APIError for a request that
    /// cannot be served (the caller answers it and closes).
    func readRequest() throws -> Request? {
        var end: Int?
        while true {
            end = headerEnd()
            if end != nil { break }
            if buffer.count > Connection.maxHeader { throw APIError(431, "request headers larger than \(Connection.maxHeader) bytes") }
            guard fill() else {
                if buffer.isEmpty { return nil }
                throw APIError(400, "connection closed in the middle of a request")
            }
        }
        let head = String(decoding: buffer[0..<end!], as: UTF8.self)
        buffer.removeFirst(end! + 4)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.removeFirst().split(separator: " ").map(String.init)
        guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1.") else {
            throw APIError(400, "malformed request line")
        }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw APIError(400, "malformed header line") }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingSpaces()
        }
        if requestLine[2] == "HTTP/1.0" || headers["connection"]?.lowercased() == "close" { keepAlive = false }
        var request = Request(method: requestLine[0], target: requestLine[1], headers: headers)
        request.body = try readBody(headers)
        return request
    }

    private func headerEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// Reads more from the peer into the buffer; false at end of stream or on error.
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            buffer += chunk[0..<n]
            return true
        }
    }

    private func take(_ n: Int) throws -> [UInt8] {
        while buffer.count < n {
            guard fill() else { throw APIError(400, "connection closed before the end of the request body") }
        }
        let out = Array(buffer[0..<n])
        buffer.removeFirst(n)
        return out
    }

    private func line() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 10) {
                let text = String(decoding: buffer[0..<i], as: UTF8.self)
                buffer.removeFirst(i + 1)
                return text.hasSuffix("\r") ? String(text.dropLast()) : text
            }
            if buffer.count > 4096 { throw APIError(400, "malformed chunk header") }
            guard fill() else { throw APIError(400, "connection closed in a chunked body") }
        }
    }

    private func readBody(_ headers: [String: String]) throws -> [UInt8] {
        // curl asks before it sends a body over 1 KiB; refused sizes get their 413 instead (below).
        let length = headers["content-length"].flatMap { Int($0) } ?? 0
        if headers["expect"]?.lowercased() == "100-continue" && length <= Connection.maxBody {
            write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            var body: [UInt8] = []
            while true {
                let size = try line().split(separator: ";").first.flatMap { Int($0.trimmingSpaces(), radix: 16) }
                guard let size, size >= 0 else { throw APIError(400, "malformed chunk size") }
                guard size <= Connection.maxBody - body.count else {  // never body.count + size: a size near Int.max overflows
                    throw APIError(413, "request body larger than \(Connection.maxBody) bytes")
                }
                if size == 0 {
                    while try !line().isEmpty {}  // trailers
                    return body
                }
                body += try take(size)
                _ = try line()
            }
        }
        guard let text = headers["content-length"] else { return [] }
        guard let length = Int(text), length >= 0 else { throw APIError(400, "malformed Content-Length \"\(text)\"") }
        guard length <= Connection.maxBody else {
            throw APIError(413, "request body of \(length) bytes is larger than the limit of \(Connection.maxBody) bytes")
        }
        return try take(length)
    }

    // MARK: writing

    static func reason(_ status: Int) -> String {
        [101: "UPGRADED", 200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request",
         404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
         431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented"][status] ?? "Status"
    }

    /// What dockerd puts on every response (the CLI reads API-Version to negotiate).
    static let common = "Api-Version: \(API.version)\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: boxd/\(API.version) (linux)\r\n"

    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool { writeFully(fd, bytes, timeout: 30_000) }

    func respond(_ status: Int, contentType: String? = nil, body: [UInt8] = [], headOnly: Bool = false) {
        self.status = status
        var head = "HTTP/1.1 \(status) \(Connection.reason(status))\r\n" + Connection.common
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        if status != 204 && status != 304 { head += "Content-Length: \(body.count)\r\n" }
        if !keepAlive { head += "Connection: close\r\n" }
        write(Array((head + "\r\n").utf8) + (headOnly ? [] : body))
    }

    func json(_ status: Int, _ value: JSONValue) {
        respond(status, contentType: "application/json", body: Array((value.compact(escapeHTML: false) + "\n").utf8))
    }

    /// docker's error shape: `{"message": "..."}`.
    func error(_ e: APIError) {
        json(e.status, ["message": .string(e.message)])
    }

    /// Starts a chunked response (a stream whose length nobody knows yet).
    func startStream(contentType: String) {
        status = 200
        write(Array(("HTTP/1.1 200 OK\r\n" + Connection.common + "Content-Type: \(contentType)\r\nTransfer-Encoding: chunked\r\n\r\n").utf8))
    }

    /// One chunk; false if the peer is gone.
    @discardableResult
    func chunk(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return true }
        return write(Array((String(bytes.count, radix: 16) + "\r\n").utf8) + bytes + [13, 10])
    }

    func endStream() { write(Array("0\r\n\r\n".utf8)) }

    /// Answers an upgrade (hijack): from here on the descriptor carries the raw stream both ways, and the
    /// connection is not reused for requests.
    func upgrade(contentType: String) {
        keepAlive = false
        status = 101
        write(Array(("HTTP/1.1 101 UPGRADED\r\nContent-Type: \(contentType)\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                     + Connection.common + "\r\n").utf8))
    }

    /// Bytes already read past the request (a client that wrote stdin right after the upgrade headers).
    func takeBuffered() -> [UInt8] {
        defer { buffer = [] }
        return buffer
    }

    /// True once the peer has closed or reset (polled between writes of a stream with nothing to read).
    func peerGone() -> Bool {
        let rdhup: Int16 = 0x2000  // POLLRDHUP (Linux, _GNU_SOURCE): the peer closed its side
        var p = pollfd(fd: fd, events: Int16(POLLIN) | rdhup, revents: 0)
        guard poll(&p, 1, 0) > 0 else { return false }
        return p.revents & (rdhup | Int16(POLLHUP) | Int16(POLLERR)) != 0
    }

    /// Ends the connection after a refused body: the answer goes out first, then what the client still sends is
    /// read and dropped for a moment, so closing does not reset the connection before the client reads the
    /// answer. Never more than `limit` bytes or 2 seconds.
    func closeAfterRefusal(limit: Int = 8 << 20) {
        shutdown(fd, Int32(SHUT_WR))
        var drained = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = Timestamp.now().unixNanoseconds + 2_000_000_000
        while drained < limit && Timestamp.now().unixNanoseconds < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 200) > 0 else { continue }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            drained += n
        }
    }
}

/// A request as routed: the path without its `/v1.NN` prefix, the query decoded.
struct Request {
    var method: String
    /// The request line's target as the client sent it (path and query), for the access log.
    var target: String
    var path: String
    var query: [String: String] = [:]
    /// Every query pair in order: docker repeats a key for a list (`names=a&names=b`, `t=x&t=y`, `changes=…`).
    var queryItems: [(String, String)] = []
    var headers: [String: String]
    var body: [UInt8] = []
    /// The API version the client asked for in the path, if it did.
    var version: String?

    init(method: String, target: String, headers: [String: String]) {
        self.method = method
        self.target = target
        self.headers = headers
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var path = parts.first.map { Request.percentDecoded(String($0)) } ?? "/"
        // "/v1.41/containers/json": the version is optional and any the client names is served as 1.41.
        let components = path.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: true)
        if let first = components.first, first.hasPrefix("v"), Double(first.dropFirst()) != nil {
            version = String(first.dropFirst())
            path = "/" + (components.count > 1 ? String(components[1]) : "")
        }
        self.path = path
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = Request.percentDecoded(String(kv[0]), plus: true)
                query[key] = kv.count > 1 ? Request.percentDecoded(String(kv[1]), plus: true) : ""
                queryItems.append((key, query[key]!))
            }
        }
    }

    /// Every value of a repeated query parameter, in order.
    func all(_ name: String) -> [String] { queryItems.filter { $0.0 == name }.map(\.1) }

    /// A boolean query parameter as docker reads them (`1`, `true`, `True`).
    func flag(_ name: String, default value: Bool = false) -> Bool {
        guard let text = query[name] else { return value }
        return ["1", "true", "True", "TRUE", "yes"].contains(text)
    }

    /// The client asked to hijack the connection (`Connection: Upgrade`, `Upgrade: tcp`).
    var wantsUpgrade: Bool {
        headers["connection"]?.lowercased().contains("upgrade") == true && headers["upgrade"] != nil
    }

    /// The body as JSON (an empty body is an empty object); malformed JSON is docker's 400.
    func json() throws -> JSONValue {
        if body.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) { return .object([]) }
        do { return try JSONValue.parse(bytes: body) } catch {
            throw APIError(400, "invalid JSON in the request body: \(error)")
        }
    }

    static func percentDecoded(_ text: String, plus: Bool = false) -> String {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%"), i + 2 < bytes.count, let v = UInt8(String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out.append(v); i += 3; continue
            }
            out.append(plus && b == UInt8(ascii: "+") ? 32 : b)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// An answer other than success, in docker's shape and with docker's status code.
struct APIError: Error {
    var status: Int
    var message: String
    init(_ status: Int, _ message: String) { self.status = status; self.message = message }

    /// The engine's error as docker's status: 404 for what does not exist, 409 for a state conflict,
    /// 400 for bad input, 500 for the rest (moby's errdefs mapping, api/server/httpstatus).
    init(_ e: BoxError) {
        let m = e.message
        status = 500
        if m.hasPrefix("No such") { status = 404 }
        else if e.stage == .usage { status = 400 }
        else if ["is not running", "already", "is paused", "not paused", "You cannot", "Conflict", "in use", "is running"].contains(where: m.contains) {
            status = 409
        }
        message = e.description
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
