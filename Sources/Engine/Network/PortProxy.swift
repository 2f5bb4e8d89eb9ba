#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// `box __proxy IP PORT`, the userland proxy of one published port (docker-proxy's job): it accepts on the
/// listening socket the monitor hands it as descriptor 3 and copies each connection to IP:PORT in the
/// container and back. One forked child per connection keeps it simple; all of them die with the monitor.
public enum PortProxy {
    public static func main(target: String, port: String) -> Never {
        _ = box_die_with_parent()
        guard let ip = IPv4(target), let p = UInt16(port) else { exit(2) }
        signal(SIGCHLD, SIG_IGN)  // connections' children are reaped by the kernel
        signal(SIGPIPE, SIG_IGN)
        while true {
            let client = accept(3, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                exit(1)
            }
            let pid = box_fork()
            if pid == 0 {
                close(3)
                _ = box_die_with_parent()
                serve(client, ip, p)
                exit(0)
            }
            close(client)
        }
    }

    static func address(_ ip: IPv4, _ port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = ip.value.bigEndian
        return a
    }

    static func serve(_ client: Int32, _ ip: IPv4, _ port: UInt16) {
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
