#if canImport(Glibc)
import Glibc
#endif
import CSpawn
import Engine

/// The engine's helper roles, which box serves (see Engine's HelperExecutable): main.swift routes
/// `box __monitor ID` and `box __proxy IP PORT` here before ArgumentParser runs. The engine does the work; box
/// owns the processes: how they start and how they end.
enum HelperRoles {
    /// box itself, for the engine to execute in a helper role, or to fork into the monitor role (box runs one
    /// thread): a forked monitor ends with `exit` here, as a re-executed one does in `monitor`.
    static var box: HelperExecutable {
        HelperExecutable(path: Subprocess.selfExecutable(), endFork: { exit($0) })
    }

    /// `box __monitor ID`: a container's monitor, started by `box start` when it cannot fork one (descriptor 3
    /// is its first client). Exits when the container has ended.
    static func monitor(id: String) -> Never {
        exit(Monitor.serve(store: ContainerStore(root: .fromEnvironment(), helper: box), id: id, clientFD: 3))
    }

    /// `box __proxy IP PORT`: a published port's proxy (docker-proxy's job). It accepts on the listening socket
    /// the monitor hands it as descriptor 3, and forks one child per connection, which copies it to IP:PORT in
    /// the container and back. It and its children die with the monitor.
    static func proxy(target: String, port: String) -> Never {
        _ = box_die_with_parent()
        guard let ip = IPv4(target), let p = UInt16(port) else { exit(2) }
        signal(SIGCHLD, SIG_IGN)  // connections' children are reaped by the kernel
        signal(SIGPIPE, SIG_IGN)
        while true {
            guard let client = PortProxy.accept(3) else { exit(1) }
            let pid = box_fork()
            if pid == 0 {
                close(3)
                _ = box_die_with_parent()
                PortProxy.relay(client, to: ip, port: p)
                exit(0)
            }
            close(client)
        }
    }
}

/// The user's side of an attachment or an exec: box's own stdio, and its stdin as the terminal when `-t` asked
/// for one and it is one.
func standardIO(tty: Bool) -> UserIO {
    UserIO(input: 0, output: 1, error: 2, terminal: tty && isatty(0) == 1)
}
