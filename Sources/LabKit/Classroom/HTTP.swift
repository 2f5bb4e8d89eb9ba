#if canImport(Glibc)
import Glibc
#endif
import Engine

/// The least HTTP/1.1 client the classroom needs: one request per connection, over plain TCP (a workshop's
/// LAN server, or loopback), with a deadline. `lab` links no HTTP stack (its start-up is what `lab check`
/// costs): this is sockets and a parser of a status line, headers and a body (Content-Length, chunked or to
/// the end).
public enum HTTP {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Where a URL points: http://HOST[:PORT][/PATH].
    public struct Endpoint: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var path: String

        public init(_ url: String) throws {
            guard url.hasPrefix("http://") else {
                throw BoxError(.usage, "\(url): the classroom server's URL begins with http:// (lab serve prints it)", exitCode: 2)
            }
            var rest = Substring(url.dropFirst(7))
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let authority = rest[..<slash]
            rest = rest[slash...]
            path = rest.isEmpty ? "/" : String(rest)
            if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {  // [::1]:8469
                host = String(authority[authority.index(after: authority.startIndex)..<close])
                let after = authority[authority.index(after: close)...]
                port = after.hasPrefix(":") ? Int(after.dropFirst()) ?? -1 : 80
            } else if let colon = authority.lastIndex(of: ":") {
                host = String(authority[..<colon])
                port = Int(authority[authority.index(after: colon)...]) ?? -1
            } else {
                host = String(authority)
                port = 80
            }
            guard !host.isEmpty, (1...65535).contains(port) else {
                throw BoxError(.usage, "\(url) is not a server's URL: http://HOST:PORT/", exitCode: 2)
            }
        }

        /// `path` joined to this endpoint's own path ("http://h:1/room/" + "api/join").
        public func url(_ sub: String) -> String {
            "http://\(host.contains(":") ? "[\(host)]" : host):\(port)" + (path.hasSuffix("/") ? path : path + "/") + sub
        }
    }

    /// Sends one request and reads the whole answer, within `timeout` seconds for each of connect, send and
    /// every read. Throws a BoxError that names the server and says what failed (refused, timed out...). The
    /// body is JSON unless `contentType` says otherwise (the map is plain text).
    public static func request(_ method: String, _ url: String, bearer: String? = nil, json body: [UInt8]? = nil,
                               contentType: String = "application/json", timeout: Double = 5) throws -> Response {
        let e = try Endpoint(url)
        let fd = try connect(e, timeout: timeout)
        defer { close(fd) }
        var head = "\(method) \(e.path) HTTP/1.1\r\nHost: \(e.host):\(e.port)\r\nConnection: close\r\nUser-Agent: lab\r\n"
        if let bearer { head += "Authorization: Bearer \(bearer)\r\n" }
        if let body { head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        do {
            try Files.writeAll(fd, Array(head.utf8) + (body ?? []), path: url)
        } catch {
            throw BoxError(.usage, "could not send to the classroom server at \(url): \(error)")
        }
        var answer: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(fd, &buf, buf.count)
            if n > 0 { answer += buf[0..<n]; continue }
            if n == 0 { break }
            if errno == EINTR { continue }
            throw BoxError.sys(.usage, errno == EAGAIN ? "the classroom server at \(url) did not answer within \(Int(timeout)) s"
                                                       : "read the answer of \(url)")
        }
        return try parse(answer, from: url)
    }

    /// Parses a whole HTTP/1.1 response.
    public static func parse(_ answer: [UInt8], from url: String) throws -> Response {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = answer.firstRange(of: separator) else {
            throw BoxError(.usage, "the classroom server at \(url) closed the connection before answering")
        }
        let lines = String(decoding: answer[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw BoxError(.usage, "\(url) did not answer as an HTTP server")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmed
        }
        var body = Array(answer[end.upperBound...])
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            body = try unchunk(body, from: url)
        } else if let length = headers["content-length"].flatMap({ Int($0) }), length <= body.count {
            body = Array(body.prefix(length))
        }
        return Response(status: status, body: body)
    }

    static func unchunk(_ data: [UInt8], from url: String) throws -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        let crlf: [UInt8] = [13, 10]
        while i < data.count {
            guard let lineEnd = data[i...].firstRange(of: crlf) else { break }
            let sizeText = String(decoding: data[i..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmed, radix: 16) else {
                throw BoxError(.usage, "\(url) sent a malformed chunked body")
            }
            if size == 0 { break }
            let start = lineEnd.upperBound
            guard start + size <= data.count else { throw BoxError(.usage, "\(url) sent a truncated body") }
            out += data[start..<start + size]
            i = start + size + 2
        }
        return out
    }

    /// A connected TCP socket to `e`, trying each address the name resolves to, with a deadline per try.
    static func connect(_ e: Endpoint, timeout: Double) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(e.host, String(e.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw BoxError(.usage, "cannot resolve \(e.host): \(String(cString: gai_strerror(rc))) (is the classroom server's address right?)")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = ECONNREFUSED
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            defer { ai = a.pointee.ai_next }
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), a.pointee.ai_protocol)
            guard fd >= 0 else { lastError = errno; continue }
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
                lastError = errno
                close(fd)
                continue
            }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            var soError: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            if poll(&p, 1, Int32(timeout * 1000)) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len) != 0 || soError != 0 {
                lastError = soError != 0 ? soError : ETIMEDOUT
                close(fd)
                continue
            }
            // Blocking from here on, with a deadline on every send and read.
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            return fd
        }
        let why = lastError == ECONNREFUSED ? "connection refused: is `lab serve` running there?"
            : lastError == ETIMEDOUT ? "no answer within \(Int(timeout)) s" : String(cString: strerror(lastError))
        throw BoxError(.usage, "cannot reach the classroom server at \(e.host):\(e.port): \(why)")
    }
}
