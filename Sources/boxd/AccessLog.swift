#if canImport(Glibc)
import Glibc
#endif
import Engine

/// Who is at the other end of a connection, as the kernel tells it: on a unix socket the credentials of the
/// process that connected (SO_PEERCRED: its pid, uid and gid, which the client cannot forge), on tcp only an
/// address. That difference is what the engine-socket lab shows: over the unix socket boxd knows which user
/// asked (and still does what they ask, as root); over tcp it cannot know.
struct Peer: Sendable, CustomStringConvertible {
    let description: String

    static func of(_ fd: Int32) -> Peer {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let family = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 ? Int32($0.pointee.sa_family) : -1 }
        }
        if family == AF_UNIX {
            var cred = Credentials()
            var size = socklen_t(MemoryLayout<Credentials>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) == 0 else { return Peer(description: "unix (credentials unknown)") }
            return Peer(description: "unix pid=\(cred.pid) uid=\(cred.uid) gid=\(cred.gid)")
        }
        var peer = sockaddr_in()
        var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &peerLength) == 0 }
        }
        guard ok, peer.sin_family == sa_family_t(AF_INET) else { return Peer(description: "tcp (address unknown)") }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &peer.sin_addr, &text, socklen_t(text.count))
        let address = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Peer(description: "tcp \(address):\(UInt16(bigEndian: peer.sin_port))")
    }
}

/// struct ucred (<sys/socket.h>, which Swift's Glibc shows only with _GNU_SOURCE): what SO_PEERCRED fills.
private struct Credentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// boxd's access log on its standard error, a line per request once it is answered, with the time it arrived
/// and the status it got (`-` if none was sent: a client gone first):
///   2026-12-07T21:04:05.123456789Z boxd: POST /v1.41/containers/create?name=web 201 from unix pid=812 uid=1001 gid=1001 agent="Docker-Client/28.2.2 (linux)"
/// The target and the agent are the client's words: control characters and quotes become `?`, so no request
/// can write a line of its own into the log (the engine-socket lab reads it).
enum AccessLog {
    static func line(_ request: Request, status: Int?, from peer: Peer, at time: Timestamp) -> String {
        "\(time.rfc3339) boxd: \(clean(request.method)) \(clean(request.target)) \(status.map(String.init) ?? "-") from \(peer) agent=\"\(clean(request.headers["user-agent"] ?? ""))\""
    }

    static func record(_ request: Request, status: Int?, from peer: Peer, at time: Timestamp) {
        _ = writeFully(2, Array((line(request, status: status, from: peer, at: time) + "\n").utf8))
    }

    static func clean(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(2048).map { $0.value < 0x20 || $0.value == 0x7f || $0 == "\"" ? "?" : $0 }))
    }
}
