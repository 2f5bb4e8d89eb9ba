#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// The userland proxy of one published port (docker-proxy's job), the helper role `HELPER __proxy IP PORT`
/// (see HelperExecutable): the monitor hands it the listening socket as descriptor 3, and it copies each
/// connection to IP:PORT in the container and back. The process around it (one forked child per connection, all
/// of them dying with the monitor) is the host's: box's HelperRoles.proxy.
public enum PortProxy {
    /// Waits for the next connection on `listener`; nil when the listener failed (the proxy should end).
    public static func accept(_ listener: Int32) -> Int32? {
        while true {
            let client = Glibc.accept(listener, nil, nil)
            if client >= 0 { return client }
            if errno != EINTR && errno != ECONNABORTED { return nil }
        }
    }

    static func address(_ ip: IPv4, _ port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = ip.value.bigEndian
        return a
    }

    /// Copies one accepted connection to `ip`:`port` and back until both sides have ended (or one failed).
    public static func relay(_ client: Int32, to ip: IPv4, port: UInt16) {
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = address(ip, port)
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard upstream >= 0, ok == 0 else { return }
        // Copy both ways; an EOF on one side is passed on as a half-close, so request/response protocols work.
        var open = [true, true]
        let fds = [client, upstream]
        var buf = [UInt8](repeating: 0, count: 65536)
        while open[0] || open[1] {
            var polls = fds.enumerated().map { i, fd in pollfd(fd: open[i] ? fd : -1, events: Int16(POLLIN), revents: 0) }
            guard poll(&polls, 2, -1) > 0 else { if errno == EINTR { continue }; return }
            for i in 0..<2 where open[i] && polls[i].revents != 0 {
                let n = read(fds[i], &buf, buf.count)
                if n <= 0 {
                    open[i] = false
                    shutdown(fds[1 - i], Int32(SHUT_WR))
                    continue
                }
                guard writeFully(fds[1 - i], Array(buf[0..<n])) else { return }
            }
        }
    }
}
