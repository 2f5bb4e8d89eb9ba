#if canImport(Glibc)
import Glibc
#endif
import CSpawn
import Engine

/// Where boxd listens: `unix:///run/box.sock` or `tcp://127.0.0.1:2375` (dockerd's -H syntax).
enum Listener: Equatable {
    case unix(String)
    case tcp(host: String, port: UInt16)

    static let defaultSocket = "/run/box.sock"

    init(parsing text: String) throws {
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            self = .unix(path.isEmpty ? Listener.defaultSocket : path)
            guard path.isEmpty || path.hasPrefix("/") else { throw BoxError(.usage, "-H \(text): a unix socket needs an absolute path (unix:///run/box.sock)") }
        } else if text.hasPrefix("tcp://") {
            let rest = text.dropFirst("tcp://".count).split(separator: "/").first.map(String.init) ?? ""
            guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]), port > 0 else {
                throw BoxError(.usage, "-H \(text): give an address and a port, e.g. tcp://127.0.0.1:2375")
            }
            var host = String(rest[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self = .tcp(host: host.isEmpty ? "0.0.0.0" : host, port: port)
        } else if text.hasPrefix("/") {
            self = .unix(text)
        } else {
            throw BoxError(.usage, "-H \(text): use unix:///PATH or tcp://ADDRESS:PORT")
        }
    }

    /// Loopback only: 127.0.0.0/8, ::1 and localhost.
    var isLoopback: Bool {
        guard case .tcp(let host, _) = self else { return true }
        return host.hasPrefix("127.") || host == "::1" || host == "localhost"
    }

    var description: String {
        switch self {
        case .unix(let path): return "unix://" + path
        case .tcp(let host, let port): return "tcp://\(host):\(port)"
        }
    }

    /// Binds and listens. A unix socket gets mode 0660 and group `box` (root's if there is no such group),
    /// as dockerd's /run/docker.sock gets group docker: whoever is in that group is root on this machine.
    func open() throws -> Int32 {
        switch self {
        case .unix(let path):
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw BoxError(.usage, "socket path too long: \(path)") }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
            var st = stat()
            if lstat(path, &st) == 0 {
                guard st.st_mode & S_IFMT == S_IFSOCK else { throw BoxError(.usage, "\(path) exists and is not a socket: not replacing it") }
                if Listener.answers(path, addr) { throw BoxError(.usage, "another daemon is listening on \(path)") }
                unlink(path)
            }
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw BoxError.sys(.usage, "socket") }
            // Created 0600 and then opened to the group: never a moment when others may connect.
            let old = umask(0o177)
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            umask(old)
            guard rc == 0, listen(fd, 128) == 0 else { let e = errno; close(fd); throw BoxError.sys(.usage, "listen on \(path)", errno: e) }
            let group = getgrnam("box").map { $0.pointee.gr_gid } ?? 0
            guard chown(path, 0, group) == 0, chmod(path, 0o660) == 0 else {
                let e = errno; close(fd); unlink(path); throw BoxError.sys(.usage, "set the owner and mode of \(path)", errno: e)
            }
            return fd
        case .tcp(let host, let port):
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            let name = host == "localhost" ? "127.0.0.1" : host
            guard inet_pton(AF_INET, name, &addr.sin_addr) == 1 else {
                throw BoxError(.usage, "tcp://\(host):\(port): boxd listens on an IPv4 address (127.0.0.1, 0.0.0.0 or one of this machine's)")
            }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw BoxError.sys(.usage, "socket") }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0, listen(fd, 128) == 0 else { let e = errno; close(fd); throw BoxError.sys(.usage, "listen on \(description)", errno: e) }
            return fd
        }
    }

    /// Whether something accepts connections on the unix socket at `path` (a live daemon, not a stale file).
    static func answers(_ path: String, _ address: sockaddr_un) -> Bool {
        var addr = address
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } } == 0
    }
}

/// Runs `body` on a thread of its own (detached, or joined with `join`).
final class Thread: @unchecked Sendable {
    private let body: @Sendable () -> Void
    private var handle = pthread_t()

    private init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    @discardableResult
    static func start(joinable: Bool = false, _ body: @escaping @Sendable () -> Void) -> Thread? {
        let thread = Thread(body)
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        if !joinable { pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED)) }
        let context = Unmanaged.passRetained(thread).toOpaque()
        let rc = pthread_create(&thread.handle, &attr, { context in
            let thread = Unmanaged<Thread>.fromOpaque(context!).takeRetainedValue()
            thread.body()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<Thread>.fromOpaque(context).release()
            return nil
        }
        return thread
    }

    func join() { pthread_join(handle, nil) }
}

/// Accepts on every listener and serves each connection on its own thread, until the process ends.
struct Server: Sendable {
    let api: API

    func serve(_ listeners: [(Listener, Int32)]) {
        for (_, fd) in listeners {
            Thread.start { [api] in
                while true {
                    let client = box_accept_cloexec(fd)
                    if client < 0 {
                        if errno == EINTR || errno == ECONNABORTED { continue }
                        if errno == EMFILE || errno == ENFILE { usleep(100_000); continue }  // out of descriptors: wait for some back
                        return
                    }
                    let started = Thread.start { Server.handle(client, api) }
                    if started == nil { close(client) }
                }
            }
        }
    }

    /// One connection: requests until the peer closes, a request asks to close, or the connection is hijacked.
    static func handle(_ fd: Int32, _ api: API) {
        let connection = Connection(fd: fd)
        defer { close(fd) }
        let peer = Peer.of(fd)
        while connection.keepAlive {
            let request: Request
            do {
                guard let next = try connection.readRequest() else { return }
                request = next
            } catch let e as APIError {
                connection.keepAlive = false
                connection.error(e)
                connection.closeAfterRefusal()
                return
            } catch { return }
            let arrived = Timestamp.now()
            connection.status = nil
            api.route(request, connection)
            // Once answered (a stream or a hijacked one once it ends), with the status the client got.
            AccessLog.record(request, status: connection.status, from: peer, at: arrived)
        }
    }
}
