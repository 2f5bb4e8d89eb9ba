#if canImport(Glibc)
import Glibc
#endif
import CSpawn

public struct ExecOptions: Sendable {
    public var command: [String]
    public var env: [String] = []
    public var workdir: String?
    public var user: String?
    public var tty = false
    public var interactive = false
    public init(command: [String]) { self.command = command }
}

/// `box exec`: runs a command inside a running container's namespaces. The namespace entry itself happens in
/// CSpawn's nsexec constructor in a re-executed `box` (see nsexec.c for why); this side builds its arguments,
/// wires the terminal, waits, and records exec_start / exec_die in the journal.
public struct Exec: Sendable {
    public let store: ContainerStore
    public init(store: ContainerStore) { self.store = store }

    public func run(_ c: Container, _ o: ExecOptions) throws -> Int32 {
        let current = try store.load(c.id)
        guard current.state.Running, HostProcess.isAlive(current.state.Pid, startTime: current.state.PidStartTime) else {
            throw BoxError(.exec, "container \(c.id) is not running", exitCode: 1)
        }
        guard !current.state.Paused else {
            throw BoxError(.exec, "container \(c.id) is paused, unpause the container before exec", exitCode: 1)
        }
        guard !o.command.isEmpty else { throw BoxError(.usage, "exec needs a command to run inside the container") }
        let spec = current.spec
        // Names are looked up in the container's live root, so a user added inside it (adduser) counts.
        let user = try UserSpec.resolve(o.user ?? spec.Config.User, layers: ["/proc/\(current.state.Pid)/root"])
        let workdir = o.workdir ?? spec.Config.WorkingDir
        guard workdir.hasPrefix("/") else { throw BoxError(.usage, "the working directory '\(workdir)' must be absolute") }

        var env = try ContainerStore.environment(spec.Config.Env, adding: o.env)
        if o.tty && !env.contains(where: { $0.hasPrefix("TERM=") }) { env.append("TERM=xterm") }

        var errPipe: [Int32] = [-1, -1]
        guard box_pipe_cloexec(&errPipe) == 0 else { throw BoxError.sys(.exec, "pipe") }
        defer { close(errPipe[0]) }

        var argv = [Subprocess.selfExecutable(), "__nsexec", "--pid=\(current.state.Pid)",
                    "--start=\(current.state.PidStartTime)", "--errfd=3",
                    "--uid=\(user.uid)", "--gid=\(user.gid)", "--caps=\(String(spec.Capabilities, radix: 16))",
                    "--cwd=\(workdir)"] + user.groups.map { "--group=\($0)" }
        if o.tty { argv.append("--tty") }
        // The command joins the container's cgroup too: its limits hold for everything inside. On v2 it is
        // cloned straight into it (no cgroup.procs write, so no RCU grace period to wait for).
        let cgroups = Cgroups.driver()
        if let dir = cgroups.cloneTarget(spec.cgroup), Files.isDirectory(dir) {
            argv.append("--cgroup-dir=\(dir)")
        } else {
            argv += cgroups.procsFiles(spec.cgroup).filter { Files.exists($0) }.map { "--cgroup=\($0)" }
        }
        argv += ["--"] + o.command

        // With -t the command gets a pty from the container's own devpts: nsexec opens it inside and sends
        // the master back over this socket (runc's console socket).
        var console: [Int32] = [-1, -1]
        if o.tty {
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &console) == 0 else {
                close(errPipe[1])
                throw BoxError.sys(.exec, "socketpair")
            }
            argv.insert("--console-socket=4", at: 2)
        }
        defer { if o.tty { close(console[0]) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 3)
        if o.tty {
            posix_spawn_file_actions_adddup2(&actions, console[1], 4)
        } else if !o.interactive {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }

        let execID = (0..<2).map { _ in hex64(UInt64.random(in: 0...UInt64.max)) }.joined()
        let commandLine = o.command.joined(separator: " ")
        store.journal.record(Event(action: "exec_start", id: c.id, name: c.name, image: spec.Config.Image,
                                   attributes: ["execID": execID, "command": commandLine]))
        // Keyboard signals belong to the command (nsexec forwards the rest); we stay to report its status.
        let oldInt = signal(SIGINT, SIG_IGN), oldQuit = signal(SIGQUIT, SIG_IGN)
        defer { signal(SIGINT, oldInt); signal(SIGQUIT, oldQuit) }
        let pid: pid_t
        do {
            pid = try Subprocess.spawn(argv, actions: &actions, environment: env)
        } catch {
            close(errPipe[1])
            if o.tty { close(console[1]) }
            throw error
        }
        close(errPipe[1])
        var code: Int32
        if o.tty {
            close(console[1])
            let master = box_recv_fd(console[0])
            if master >= 0 {
                var rows: UInt16 = 0, cols: UInt16 = 0
                if box_get_winsize(0, &rows, &cols) == 0 { box_set_winsize(master, rows, cols) }
                code = ExecTerminal(master: master, pid: pid).run()
                close(master)
            } else {
                code = Subprocess.wait(pid)  // nsexec failed before it had a terminal: the error pipe says why
            }
        } else {
            code = Subprocess.wait(pid)
        }

        var failure = box_failure()
        let n = withUnsafeMutableBytes(of: &failure) { read(errPipe[0], $0.baseAddress, $0.count) }
        store.journal.record(Event(action: "exec_die", id: c.id, name: c.name, image: spec.Config.Image,
                                   attributes: ["execID": execID, "command": commandLine, "exitCode": String(code)]))
        if n == MemoryLayout<box_failure>.size { throw Spawner.error(failure, .exec) }
        return code
    }
}

/// Copies between the user's terminal and an exec'd command's pty until the command exits.
struct ExecTerminal {
    let master: Int32
    let pid: pid_t

    func run() -> Int32 {
        let terminal = isatty(0) == 1
        let saved = terminal ? Terminal.makeRaw(0) : nil
        defer { if let saved { Terminal.restore(0, saved) } }
        let pidfd = box_pidfd_open(pid)
        // SIGWINCH: pass the new window size on to the command's terminal.
        let signals = SignalQueue([SIGWINCH])
        defer { signals.close() }
        let sigfd = signals.fd
        var stdinOpen = true
        var buf = [UInt8](repeating: 0, count: 32768)
        outer: while true {
            var fds = [pollfd(fd: master, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: sigfd, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 4, -1) < 0 { if errno == EINTR { continue }; break }
            if fds[3].revents != 0 {
                _ = signals.next()
                var rows: UInt16 = 0, cols: UInt16 = 0
                if box_get_winsize(0, &rows, &cols) == 0 { box_set_winsize(master, rows, cols) }
            }
            if fds[0].revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if n <= 0 { break outer }  // EIO: every holder of the slave side has gone
                writeFully(1, Array(buf[0..<n]))
            }
            if stdinOpen && fds[1].revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if n <= 0 { stdinOpen = false } else { writeFully(master, Array(buf[0..<n])) }
            }
            if fds[2].revents != 0 && fds[0].revents == 0 { break }
        }
        if pidfd >= 0 { close(pidfd) }
        return Subprocess.wait(pid)
    }
}
