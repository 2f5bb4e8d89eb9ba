#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// Starting, signalling, stopping and waiting for containers.
public struct Lifecycle: Sendable {
    public let store: ContainerStore

    public init(store: ContainerStore) { self.store = store }

    /// Starts the container's monitor (`box __monitor ID`) in a session of its own, and returns this side of a
    /// socketpair that is the monitor's first client: the caller waits on it for "started" or "failed", then
    /// attaches to it or closes it (detach). Nothing written before the client was there can be missed.
    /// `c` as the caller has just read it (every caller has): it is not read again here, and the monitor
    /// checks once more, under the engine lock, that no other monitor has the container.
    public func start(_ c: Container) throws -> Int32 {
        if c.state.Running {
            throw BoxError(.start, "container \(c.name) is already running", exitCode: 1)
        }
        if let forked = try forkMonitor(c, owned: false) { return forked.socket }
        // Otherwise the helper executable as `HELPER __monitor ID`.
        let helper = try store.helperPath()
        let pair = try Lifecycle.socketPair()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in Int32(0)...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0) }
        posix_spawn_file_actions_adddup2(&actions, pair[1], 3)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // POSIX_SPAWN_SETSID (glibc 2.26): the monitor leaves our session, so a terminal hang-up or Ctrl-C
        // aimed at `box` never reaches it. POSIX_SPAWN_SETSIGDEF: it starts with default signal actions.
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(0x80 | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        do {
            let pid = try Subprocess.spawn([helper, "__monitor", c.id], actions: &actions, attributes: &attr)
            store.helper?.spawned?(pid)
        } catch {
            close(pair[0]); close(pair[1])
            throw error
        }
        close(pair[1])
        return pair[0]
    }

    /// Forks the container's monitor (nil if this process runs other threads, where only a re-exec is safe, or if
    /// its host gave no way to end a forked process: see HelperExecutable).
    /// Returns the socket to it and its pid.
    ///
    /// `owned`: called by `ContainerStore.create`, under the engine lock, before the container's files are
    /// written. The new state names this monitor as the container's owner, so it claims nothing: it makes
    /// the cgroups and the network namespace and clones PID 1 while box writes the files and mounts the root
    /// filesystem, then waits for the engine lock (box holds it until all that is done).
    public func forkMonitor(_ c: Container, owned: Bool) throws -> (socket: Int32, pid: Int32)? {
        // The monitor is forked, not re-executed: a second start of the Swift binary would be most of a
        // container's start-up. box runs no other thread, so fork is safe; if one ever appears, re-exec instead.
        guard let end = store.helper?.endFork, box_thread_count() == 1 else { return nil }
        let pair = try Lifecycle.socketPair()
        box_cpus_remember()
        let pid = box_fork()
        if pid < 0 { let e = errno; close(pair[0]); close(pair[1]); throw BoxError.sys(.start, "fork the monitor", errno: e) }
        if pid == 0 {
            // Every descriptor but stdio and the socket is closed (dup2 onto 3, then box_close_from(4) in
            // Monitor.serve): among them this process's copy of the engine lock, which box still holds.
            close(pair[0])
            _ = setsid()  // out of our session: a hang-up or Ctrl-C aimed at `box` never reaches it
            let null = open("/dev/null", O_RDWR)
            for fd in Int32(0)...2 { dup2(null, fd) }
            if pair[1] != 3 { dup2(pair[1], 3); close(pair[1]) }
            var none = sigset_t()
            sigemptyset(&none)
            sigprocmask(SIG_SETMASK, &none, nil)
            box_set_process_title("box-monitor \(c.spec.shortID)")
            end(Monitor.serve(store: store, id: c.id, clientFD: 3, known: c, owned: owned))
        }
        // It works beside us while we write the files, off our CPU (CSpawn title.c), and takes its CPUs back once it
        // has the engine lock, which we hold until then. (Not for a start: nothing would order its taking back after.)
        if owned { box_cpus_move_off(pid) }
        close(pair[1])
        return (pair[0], pid)
    }

    static func socketPair() throws -> [Int32] {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw BoxError.sys(.start, "socketpair")
        }
        return pair
    }

    /// Reads frames on a fresh monitor connection until the container has started (returns PID 1's host pid)
    /// or failed (throws the monitor's error, with docker's exit code).
    public func waitStarted(_ fd: Int32) throws -> Int32 {
        var reader = FrameReader()
        while true {
            while let (type, payload) = reader.next() {
                let text = String(decoding: payload, as: UTF8.self)
                switch type {
                case .started: return Int32(text) ?? 0
                case .failed: throw Lifecycle.failure(text)
                default: continue
                }
            }
            guard reader.fill(from: fd) else {
                throw BoxError(.start, "the container's monitor exited before the container started")
            }
        }
    }

    static func failure(_ payload: String) -> BoxError {
        let parts = payload.split(separator: "\n", maxSplits: 1)
        let code = parts.first.flatMap { Int32($0) } ?? 125
        return BoxError(.start, parts.count > 1 ? String(parts[1]) : payload, exitCode: code)
    }

    /// Sends `signal` to PID 1 through a pidfd, so a pid recycled since we read the state is never hit.
    public func kill(_ c: Container, signal: Int32) throws {
        store.thawIfOrphaned(c)
        let current = try store.load(c.id)
        guard current.state.Running, current.state.Pid > 0,
              HostProcess.isAlive(current.state.Pid, startTime: current.state.PidStartTime) else {
            throw BoxError(.signal, "Cannot kill container: \(c.name): Container \(c.id) is not running", exitCode: 1)
        }
        let pidfd = box_pidfd_open(current.state.Pid)
        guard pidfd >= 0 else {
            if errno == ESRCH { throw BoxError(.signal, "Cannot kill container: \(c.name): Container \(c.id) is not running", exitCode: 1) }
            throw BoxError.sys(.signal, "pidfd_open \(current.state.Pid)")
        }
        defer { close(pidfd) }
        guard box_pidfd_signal(pidfd, signal) == 0 else { throw BoxError.sys(.signal, "signal \(signal) to pid \(current.state.Pid)") }
        // A frozen process cannot act on a signal: thaw a paused container so SIGTERM or SIGKILL takes effect.
        if current.state.Paused && (signal == SIGKILL || signal == SIGTERM) { try? unpause(current) }
        store.journal.record(Event(action: "kill", id: c.id, name: c.name, image: c.spec.Config.Image,
                                   attributes: ["signal": String(signal)]))
    }

    /// Waits until neither PID 1 nor the monitor is alive (the monitor has recorded the exit and cleaned up),
    /// or `timeout` seconds pass. Returns the container as last read.
    public func waitForExit(_ c: Container, timeout: Double? = nil) throws -> Container {
        let deadline = timeout.map { Timestamp.now().unixNanoseconds + Int64($0 * 1e9) }
        var delay: UInt32 = 2_000
        while true {
            let current = try store.load(c.id)
            let monitor = current.state.MonitorPid > 0
                && HostProcess.isAlive(current.state.MonitorPid, startTime: current.state.MonitorStartTime)
            let pid = current.state.Pid > 0 && HostProcess.isAlive(current.state.Pid, startTime: current.state.PidStartTime)
            if !monitor && !pid { return try store.load(c.id) }
            if let deadline, Timestamp.now().unixNanoseconds >= deadline { return current }
            usleep(delay)
            delay = min(delay * 2, 50_000)
        }
    }

    public enum StopOutcome: Sendable, Equatable { case notRunning, exitedOnSignal, killed }

    /// The grace period of a stop: `given` (-t), else the container's --stop-timeout, else docker's 10 s;
    /// -1 waits for ever.
    public static func grace(_ c: Container, given: Int?) -> Int { given ?? c.spec.Config.StopTimeout ?? 10 }
    /// What a stop sends first: the container's --stop-signal, else SIGTERM.
    public static func stopSignal(_ c: Container) -> Int32 { c.spec.Config.StopSignal.flatMap(Signals.number) ?? SIGTERM }

    /// docker stop: `signal` (docker's --signal), else the container's --stop-signal, else SIGTERM, to PID 1, SIGKILL if it is still alive after
    /// `timeout` seconds (nil: its --stop-timeout, else 10). PID 1 of a pid namespace ignores every signal it
    /// has no handler for (the kernel protects init), which is why a shell as PID 1 needs the SIGKILL.
    public func stop(_ c: Container, timeout given: Int? = nil, signal: Int32? = nil) throws -> StopOutcome {
        let timeout = Lifecycle.grace(c, given: given)
        store.thawIfOrphaned(c)
        var current = try store.load(c.id)
        guard current.state.Running || current.state.Status == .restarting else { return .notRunning }
        var outcome = StopOutcome.exitedOnSignal
        // Stopped by hand: the monitor must not apply a restart policy (docker's "manually stopped").
        try? Files.touch(store.stopMarker(c.id))
        if current.state.Status == .restarting {  // between two runs: the monitor sees the marker and ends
            _ = try waitForExit(current, timeout: 10)
            store.journal.record(Event(action: "stop", id: c.id, name: c.name, image: c.spec.Config.Image))
            return outcome
        }
        do {
            try kill(current, signal: signal ?? Lifecycle.stopSignal(c))
        } catch {
            // Not running any more (it exited meanwhile) is a stop; a signal that could not be sent is not.
            let now = try store.load(c.id)
            if now.state.Running && HostProcess.isAlive(now.state.Pid, startTime: now.state.PidStartTime) { throw error }
            return .notRunning
        }
        current = try waitForExit(current, timeout: timeout < 0 ? nil : Double(timeout))
        if current.state.Running {
            outcome = .killed
            try? kill(current, signal: SIGKILL)
            current = try waitForExit(current, timeout: 30)
            if current.state.Running && HostProcess.isAlive(current.state.Pid, startTime: current.state.PidStartTime) {
                throw BoxError(.signal, "container \(c.name) is still running 30 s after SIGKILL (frozen, or stuck in the kernel?)", exitCode: 1)
            }
        }
        store.journal.record(Event(action: "stop", id: c.id, name: c.name, image: c.spec.Config.Image,
                                   attributes: outcome == .killed ? ["killed": "true"] : [:]))
        return outcome
    }

    /// docker pause: freezes every process of the container through its cgroup (they stop being scheduled;
    /// nothing is signalled, so no process can tell).
    public func pause(_ c: Container) throws {
        try setPaused(c, true)
    }

    public func unpause(_ c: Container) throws {
        try setPaused(c, false)
    }

    func setPaused(_ c: Container, _ paused: Bool) throws {
        store.thawIfOrphaned(c)
        try store.withFreezeLock(c) { try store.root.locked {
            var current = try store.load(c.id)
            guard current.state.Running else {
                throw BoxError(.cgroup, "Container \(c.id) is not running", exitCode: 1)
            }
            guard current.state.Paused != paused else {
                throw BoxError(.cgroup, "Container \(c.id) is \(paused ? "already paused" : "not paused")", exitCode: 1)
            }
            try Cgroups.driver().freeze(c.spec.cgroup, paused)
            current.state.Status = paused ? .paused : .running
            try store.saveState(c.id, current.state)
        } }
        store.journal.record(Event(action: paused ? "pause" : "unpause", id: c.id, name: c.name, image: c.spec.Config.Image))
    }

    /// docker update: new limits for a container, written to its cgroup now if it runs, and kept for its
    /// next start.
    /// `restart`: a new restart policy, which the monitor reads at PID 1's next exit.
    public func update(_ c: Container, restart: RestartPolicy? = nil, _ change: (inout Resources) throws -> Void) throws {
        try store.root.locked {
            var current = try store.load(c.id)
            if let restart {
                // docker's rule and words: a container removed when it exits has nothing to restart.
                guard !current.spec.HostConfig.AutoRemove || restart.Name == "no" else {
                    throw BoxError(.usage, "Restart policy cannot be updated because AutoRemove is enabled for the container", exitCode: 1)
                }
                current.spec.HostConfig.RestartPolicy = restart
            }
            var resources = current.spec.HostConfig.Resources ?? Resources()
            try change(&resources)
            if current.state.Running { try Cgroups.driver().apply(c.spec.cgroup, resources) }
            current.spec.HostConfig.Resources = resources
            try store.saveSpec(current.spec)
        }
        store.journal.record(Event(action: "update", id: c.id, name: c.name, image: c.spec.Config.Image))
    }

    /// Connects to a running container's monitor (`box attach`, `box wait`).
    public func connect(_ c: Container) throws -> Int32 {
        guard try store.load(c.id).state.Running else {
            throw BoxError(.attach, "You cannot attach to a stopped container, start it first", exitCode: 1)
        }
        return try UnixSocket.connect(store.root.socket(c.id))
    }
}
