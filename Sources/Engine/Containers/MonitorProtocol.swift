#if canImport(Glibc)
import Glibc
#endif

/// The little protocol between a container's monitor and the `box` commands attached to it, over a Unix
/// stream socket: frames of one type byte, a 4-byte big-endian length, and the payload (docker's attach
/// stream multiplexes stdout and stderr the same way).
public enum Frame: UInt8, Sendable {
    // monitor -> client
    case stdout = 1, stderr = 2
    case started = 3   // payload: PID 1's host pid
    case exited = 4    // payload: exit code
    case failed = 5    // payload: "CODE\nmessage" — the container could not start
    // client -> monitor
    case stdin = 10, stdinClosed = 11
    case resize = 12   // payload: "ROWS COLS"
    case signal = 13   // payload: signal number

    public static func encode(_ type: Frame, _ payload: some Collection<UInt8>) -> [UInt8] {
        let n = UInt32(payload.count)
        return [type.rawValue, UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)]
            + payload
    }

    public static func encode(_ type: Frame, _ text: String) -> [UInt8] { encode(type, Array(text.utf8)) }

    /// Writes a whole frame; false if the peer is gone.
    @discardableResult
    public static func send(_ fd: Int32, _ type: Frame, _ payload: some Collection<UInt8>) -> Bool {
        writeFully(fd, encode(type, payload))
    }
}

/// Writes everything or reports failure (EPIPE: the peer went away). On a non-blocking descriptor it waits for
/// room, but gives up after `timeout` milliseconds without progress: one stuck reader must not stall a monitor.
@discardableResult
public func writeFully(_ fd: Int32, _ bytes: [UInt8], timeout: Int32 = 2000) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 {
            if errno == EINTR { continue }
            if errno == EAGAIN {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&p, 1, timeout) <= 0 { return false }
                continue
            }
            return false
        }
        offset += n
    }
    return true
}

func setNonBlocking(_ fd: Int32) {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
}

/// Accumulates bytes from a stream and cuts them into frames.
public struct FrameReader {
    private var buffer: [UInt8] = []
    public init() {}

    /// Reads what is available from `fd`. Returns false at end of stream or on error.
    public mutating func fill(from fd: Int32) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
    }

    public mutating func next() -> (Frame, [UInt8])? {
        guard buffer.count >= 5 else { return nil }
        let n = Int(buffer[1]) << 24 | Int(buffer[2]) << 16 | Int(buffer[3]) << 8 | Int(buffer[4])
        guard buffer.count >= 5 + n else { return nil }
        let type = Frame(rawValue: buffer[0])
        let payload = Array(buffer[5..<(5 + n)])
        buffer.removeFirst(5 + n)
        guard let type else { return next() }  // an unknown frame from a newer box: skip it
        return (type, payload)
    }
}

/// Unix socket helpers.
enum UnixSocket {
    static func address(_ path: String) throws -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw BoxError(.attach, "socket path too long: \(path) (use a shorter BOX_RUN)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return addr
    }

    static func listen(_ path: String) throws -> Int32 {
        var addr = try address(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BoxError.sys(.attach, "socket") }
        unlink(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0, Glibc.listen(fd, 16) == 0 else {
            let err = errno
            close(fd)
            throw BoxError.sys(.attach, "listen on \(path)", errno: err)
        }
        chmod(path, 0o600)
        return fd
    }

    static func connect(_ path: String) throws -> Int32 {
        var addr = try address(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BoxError.sys(.attach, "socket") }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let err = errno
            close(fd)
            throw BoxError.sys(.attach, "connect to the container's monitor at \(path)", errno: err)
        }
        return fd
    }
}
