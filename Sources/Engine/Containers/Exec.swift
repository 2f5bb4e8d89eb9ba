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
    /// docker exec --privileged: the command gets every capability box holds, as a --privileged container's
    /// PID 1 does (the container's seccomp filter stays, as docker's does).
    public var privileged = false
    public init(command: [String]) { self.command = command }
}

/// `box exec`: runs a command inside a running container's namespaces. The namespace entry itself happens in
/// CSpawn's nsexec constructor in a re-executed `box` (see nsexec.c for why); this side builds its arguments,
/// wires the terminal, waits, and records exec_start / exec_die in the journal.
public struct Exec: Sendable {
    public let store: ContainerStore
    public init(store: ContainerStore) { self.store = store }

    /// The container as it is now, if a command can be run in it (running, not paused); else why not.
    public func runnable(_ c: Container) throws -> Container {
        store.thawIfOrphaned(c)
        let current = try store.load(c.id)
        guard current.state.Running, HostProcess.isAlive(current.state.Pid, startTime: current.state.PidStartTime) else {
            throw BoxError(.exec, "container \(c.id) is not running", exitCode: 1)
        }
        guard !current.state.Paused else {
            throw BoxError(.exec, "container \(c.id) is paused, unpause the container before exec", exitCode: 1)
        }
        return current
    }

    public func run(_ c: Container, _ o: ExecOptions, io: UserIO) throws -> Int32 {
        let current = try runnable(c)
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

        // nsexec runs from box as nobody can write it (CVE-2019-5736; runc's exeseal): its /proc/PID/exe, and
        // that of a command that execs /proc/self/exe ("#!/proc/self/exe"), is box through a private read-only
        // overlay (or a sealed memfd copy), which no process in the container can write, not box's file on the
        // host. nsexec is also not dumpable (nsexec.c).
        try? Files.mkdirs(store.root.runPath, mode: 0o700)
        var sealed = box_sealed_self(store.root.runPath + "/exe-lower")
        guard sealed >= 0 else { close(errPipe[1]); throw BoxError.sys(.exec, "open box read-only for nsexec") }
        if sealed <= 4 {  // clear of the descriptors the spawn sets up (0-4)
            let high = fcntl(sealed, F_DUPFD_CLOEXEC, 10)
            close(sealed)
            sealed = high
        }
        defer { close(sealed) }
        var argv = ["/proc/self/fd/\(sealed)", "__nsexec", "--pid=\(current.state.Pid)",
                    "--start=\(current.state.PidStartTime)", "--errfd=3",
                    "--uid=\(user.uid)", "--gid=\(user.gid)", "--caps=\(String(o.privileged ? Capabilities.all & Capabilities.held : spec.Capabilities, radix: 16))",
                    "--cwd=\(workdir)"] + user.groups.map { "--group=\($0)" }
        if o.tty { argv.append("--tty") }
        // The container's session keyring and seccomp filter, as its PID 1 has them (runc's setns init does the
        // same: "_ses.<id>", then the container's profile).
        argv.append("--keyring=_ses.\(spec.ID)")
        if let filter = try spec.seccompFilter(root: store.root) { argv.append("--seccomp=\(filter)") }
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
        // The caller's own descriptors never cross: a command holding the admin's terminal could type into the
        // admin's shell (TIOCSTI), and one holding a file the caller redirected to could reopen it through
        // /proc/self/fd. Without -t the command gets pipes that we relay (runc/containerd's io pipes); with -t,
        // the container's pty, and nsexec itself /dev/null.
        var pipes: ExecPipes? = nil
        if !o.tty {
            do { pipes = try ExecPipes(stdin: o.interactive) } catch { close(errPipe[1]); throw error }
        }
        defer { pipes?.closeAll() }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let pipes {
            for (fd, end) in pipes.childEnds.enumerated() { posix_spawn_file_actions_adddup2(&actions, end, Int32(fd)) }
        } else {
            for fd in Int32(0)...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0) }
        }
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 3)
        if o.tty { posix_spawn_file_actions_adddup2(&actions, console[1], 4) }
        // Without -t, nsexec gets a process group of its own (Ctrl-C at the caller's terminal reaches us alone,
        // and we forward it once) and no blocked signal of ours.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | (o.tty ? 0 : POSIX_SPAWN_SETPGROUP)))

        let execID = (0..<2).map { _ in hex64(UInt64.random(in: 0...UInt64.max)) }.joined()
        let commandLine = o.command.joined(separator: " ")
        store.journal.record(Event(action: "exec_start", id: c.id, name: c.name, image: spec.Config.Image,
                                   attributes: ["execID": execID, "command": commandLine]))
        // Keyboard signals belong to the command; we stay to report its status. With -t they reach it through
        // its terminal (ours is raw); without, we forward them to nsexec, which forwards them to the command, as
        // it does the others. They are queued from before the spawn, so none is lost.
        let oldInt = signal(SIGINT, SIG_IGN), oldQuit = signal(SIGQUIT, SIG_IGN)
        defer { signal(SIGINT, oldInt); signal(SIGQUIT, oldQuit) }
        let signals = o.tty ? nil : SignalQueue(ExecPipes.forwarded)
        defer { signals?.close() }
        let pid: pid_t
        do {
            pid = try Subprocess.spawn(argv, actions: &actions, attributes: &attributes, environment: env)
        } catch {
            close(errPipe[1])
            if o.tty { close(console[1]) }
            throw error
        }
        close(errPipe[1])
        pipes?.closeChildEnds()
        var code: Int32
        if o.tty {
            close(console[1])
            let master = box_recv_fd(console[0])
            if master >= 0 {
                var rows: UInt16 = 0, cols: UInt16 = 0
                if box_get_winsize(io.input, &rows, &cols) == 0 { box_set_winsize(master, rows, cols) }
                code = ExecTerminal(master: master, pid: pid, io: io).run()
                close(master)
            } else {
                code = Subprocess.wait(pid)  // nsexec failed before it had a terminal: the error pipe says why
            }
        } else if let signals {
            code = pipes!.relay(pid: pid, signals: signals, io: io)
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
    let io: UserIO

    func run() -> Int32 {
        let saved = io.terminal ? Terminal.makeRaw(io.input) : nil
        defer { if let saved { Terminal.restore(io.input, saved) } }
        let pidfd = box_pidfd_open(pid)
        // SIGWINCH: pass the new window size on to the command's terminal.
        let signals = SignalQueue([SIGWINCH])
        defer { signals.close() }
        let sigfd = signals.fd
        var stdinOpen = true
        var buf = [UInt8](repeating: 0, count: 32768)
        outer: while true {
            var fds = [pollfd(fd: master, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stdinOpen ? io.input : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: sigfd, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 4, -1) < 0 { if errno == EINTR { continue }; break }
            if fds[3].revents != 0 {
                _ = signals.next()
                var rows: UInt16 = 0, cols: UInt16 = 0
                if box_get_winsize(io.input, &rows, &cols) == 0 { box_set_winsize(master, rows, cols) }
            }
            if fds[0].revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if n <= 0 { break outer }  // EIO: every holder of the slave side has gone
                writeFully(io.output, Array(buf[0..<n]))
            }
            if stdinOpen && fds[1].revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(io.input, $0.baseAddress, $0.count) }
                if n <= 0 { stdinOpen = false } else { writeFully(master, Array(buf[0..<n])) }
            }
            if fds[2].revents != 0 && fds[0].revents == 0 { break }
        }
        if pidfd >= 0 { close(pidfd) }
        return Subprocess.wait(pid)
    }
}

/// A command's stdio without -t: pipes, relayed to and from ours until the command exits (what containerd's
/// shim does for `docker exec`). Never our own descriptors, which may be the admin's terminal.
struct ExecPipes {
    /// What the command gets as 0, 1, 2 (closed here once nsexec has its copies).
    private(set) var childEnds: [Int32] = []
    private var stdinWrite: Int32 = -1
    private var stdout: Int32 = -1, stderr: Int32 = -1

    /// Signals `box exec` passes on to the command.
    static let forwarded = [SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2]

    init(stdin: Bool) throws {
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1], inp: [Int32] = [-1, -1]
        guard box_pipe_cloexec(&out) == 0 else { throw BoxError.sys(.exec, "pipe") }
        guard box_pipe_cloexec(&err) == 0 else { let e = errno; out.forEach { close($0) }; throw BoxError.sys(.exec, "pipe", errno: e) }
        if stdin {
            guard box_pipe_cloexec(&inp) == 0 else {
                let e = errno; (out + err).forEach { close($0) }; throw BoxError.sys(.exec, "pipe", errno: e)
            }
            stdinWrite = inp[1]
            setNonBlocking(stdinWrite)
        } else {
            inp[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)
        }
        stdout = out[0]; stderr = err[0]
        setNonBlocking(stdout); setNonBlocking(stderr)
        childEnds = [inp[0], out[1], err[1]]
    }

    mutating func closeChildEnds() {
        childEnds.filter { $0 >= 0 }.forEach { close($0) }
        childEnds = []
    }

    mutating func closeAll() {
        closeChildEnds()
        for fd in [stdinWrite, stdout, stderr] where fd >= 0 { close(fd) }
        stdinWrite = -1; stdout = -1; stderr = -1
    }

    /// Copies the user's input to the command and its output to the user's, forwards `signals` to nsexec (`pid`), and returns
    /// its exit status. It ends when nsexec exits (the command has), once what the command wrote is read: a
    /// process it left in the background holding the pipes does not keep us.
    mutating func relay(pid: pid_t, signals: SignalQueue, io: UserIO) -> Int32 {
        let pidfd = box_pidfd_open(pid)
        defer { if pidfd >= 0 { close(pidfd) } }
        var pending: [UInt8] = []
        var stdinOpen = stdinWrite >= 0
        var buf = [UInt8](repeating: 0, count: 65536)
        var exited = false
        while !exited && (stdout >= 0 || stderr >= 0 || pidfd >= 0) {
            var fds = [pollfd(fd: stdout, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stderr, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stdinOpen && pending.isEmpty ? io.input : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: pending.isEmpty ? -1 : stdinWrite, events: Int16(POLLOUT), revents: 0),
                       pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: signals.fd, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, nfds_t(fds.count), -1) < 0 { if errno == EINTR { continue }; break }
            if fds[5].revents != 0, let sig = signals.next() { kill(pid, sig) }
            if fds[0].revents != 0 { copyOut(&stdout, to: io.output, &buf) }
            if fds[1].revents != 0 { copyOut(&stderr, to: io.error, &buf) }
            if fds[2].revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(io.input, $0.baseAddress, $0.count) }
                if n > 0 { pending = Array(buf[0..<n]) } else if n == 0 || errno != EINTR && errno != EAGAIN { stdinOpen = false }
            }
            if !pending.isEmpty { flush(&pending) }
            if stdinWrite < 0 { stdinOpen = false }  // the command closed its stdin: nothing more to read for it
            // Our stdin ended and all of it went: the command sees EOF.
            if !stdinOpen && pending.isEmpty && stdinWrite >= 0 { close(stdinWrite); stdinWrite = -1 }
            if fds[4].revents != 0 { exited = true }
        }
        // What the command wrote before it exited is all in the pipes now: read it to the end.
        while stdout >= 0 && copyOut(&stdout, to: io.output, &buf) {}
        while stderr >= 0 && copyOut(&stderr, to: io.error, &buf) {}
        return Subprocess.wait(pid)
    }

    /// Reads once from `fd` and writes it all to `target`; at EOF, or when `target` is gone (EPIPE: the
    /// command then gets SIGPIPE, as it would have writing there itself), closes `fd`. True if it copied.
    @discardableResult
    private func copyOut(_ fd: inout Int32, to target: Int32, _ buf: inout [UInt8]) -> Bool {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return false }
        if n > 0 && writeFully(target, Array(buf[0..<n])) { return true }
        close(fd); fd = -1
        return false
    }

    /// Writes what the command will take of `pending` now; drops it all if the command closed its stdin.
    private mutating func flush(_ pending: inout [UInt8]) {
        while !pending.isEmpty && stdinWrite >= 0 {
            let n = pending.withUnsafeBytes { write(stdinWrite, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return }
                pending = []; close(stdinWrite); stdinWrite = -1
                return
            }
            pending.removeFirst(n)
        }
    }
}
