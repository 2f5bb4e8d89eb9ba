#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// The per-container monitor (what conmon is to podman): `box __monitor ID`, started by `box start`/`box run`
/// in a session of its own so that it outlives the command that started it. It
///   - mounts the container's overlay and clones PID 1 (Spawner), with a pty or pipes for its stdio;
///   - copies PID 1's output to the log (docker's json-file format) and to every attached client;
///   - forwards attached clients' input, window size and signals;
///   - reaps PID 1 (through a pidfd), records the exit code or signal and the finish time atomically,
///     unmounts, honours --rm, and tells the clients how it ended.
/// It never prints: fd 3 is the first client (a socketpair end from `box`), later ones connect to
/// BOX_RUN/ID.sock.
public struct Monitor {
    let store: ContainerStore
    let id: String
    var spec: ContainerSpec
    var state: ContainerState
    var clients: [Client] = []
    var listener: Int32 = -1
    var log: Int32 = -1                   // made at the first output (see writeLog)
    var logPartial: [String: [UInt8]] = [:]  // per stream, the end of its output that is not a whole line yet
    var logLost = 0                       // bytes of output the log could not take since its last whole line
    var logErrno: Int32 = 0               // and why (ENOSPC, EIO, EDQUOT)
    let cgroups = Cgroups.driver()

    struct Client {
        var fd: Int32
        var reader = FrameReader()
    }

    /// The monitor role: `box __monitor ID` (the host's entry point calls it), or a monitor forked by `box` (`known`:
    /// the container as it read it, which spares a second reading; its state is read again under the lock anyway).
    /// Returns when the container has ended (or never started), with the status the process should exit with.
    /// Call it in a process of its own: it closes every descriptor above `clientFD` (3) and leaves the working
    /// directory. `owned`: forked by `box run` while it creates the container, which records this monitor as the
    /// owner (see Lifecycle.forkMonitor): there is nothing to claim, and the files are there once the engine lock is.
    public static func serve(store: ContainerStore, id: String, clientFD: Int32, known: Container? = nil, owned: Bool = false) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        // Keep only stdio and the first client, and that one close-on-exec: whatever else the starting command
        // had open (a test harness's pipes, a shell's fds) must not be held open by a long-lived monitor.
        box_close_from(4)
        if clientFD >= 0 { _ = fcntl(clientFD, F_SETFD, FD_CLOEXEC) }
        _ = chdir("/")  // do not keep the caller's working directory busy
        guard let c = known ?? (try? store.loadRaw(id)) else {
            if clientFD >= 0 { Frame.send(clientFD, .failed, Array("125\nNo such container: \(id)".utf8)) }
            return 1
        }
        var monitor = Monitor(store: store, id: id, spec: c.spec, state: c.state)
        if clientFD >= 0 {
            setNonBlocking(clientFD)
            monitor.clients.append(Client(fd: clientFD))
        }
        monitor.run(owned: owned && known != nil)
        return 0
    }

    var layer: String { store.layerPath(id) }
    var merged: String { layer + "/merged" }

    mutating func run(owned: Bool = false) {
        // Claim the container under the engine lock: of two `box start`s racing, exactly one monitor wins.
        // A monitor box run forked while creating the container owns it from the start.
        files = owned ? .awaited : .ready
        if !owned && !claim() { return }
        var io: ContainerIO
        do {
            try cgroups.create(spec.cgroup, spec.HostConfig.Resources ?? Resources(),
                               devices: spec.HostConfig.Privileged ? nil
                                   : DeviceRule.defaults + (spec.HostConfig.Devices ?? []).compactMap { $0.rule() })
            try network.prepareNamespace(spec, store: store)
            var fresh = try ContainerIO(tty: spec.Config.Tty, stdin: spec.Config.OpenStdin)
            // PID 1 is in its cgroups before anything else (it never runs a moment without its limits): on v2 it
            // is cloned straight into its cgroup, on v1 it writes itself into each hierarchy's tasks file. Then it
            // waits: it builds its root filesystem when told to go (the overlay is mounted by then), while the
            // network is set up here, and execs when told to start.
            var pending = try Spawner.clone(spec, rootfs: merged, containerDir: store.root.containerDir(id), stdio: fresh.childStdio,
                                            seccomp: try spec.seccompFilter(root: store.root), cgroupProcs: cgroups.procsFiles(spec.cgroup), cgroupDir: cgroups.cloneTarget(spec.cgroup),
                                            netnsFD: network.netnsFD)
            do {
                if !awaitFiles() { throw BoxError(.create, "the container was not created") }
                box_cpus_restore()  // box moved us off its CPU to work beside it until now (CSpawn title.c)
                listener = try UnixSocket.listen(store.root.socket(id))
                try Rootfs.mountOverlay(layers: spec.LayerDirs, containerLayer: layer, volatile: spec.HostConfig.AutoRemove)
                try prepareMountTargets()
                // PID 1 builds its root filesystem while the network is set up here; it execs only after start.
                Spawner.go(&pending)
                try network.configure(spec, store: store)
                unlink(stopMarker)
            } catch {
                Spawner.abandon(pending)
                fresh.closeAll()
                throw error
            }
            // PID 1 execs while what it does not need is written.
            Spawner.release(&pending)
            network.record(spec, store: store)
            io = try running(try Spawner.wait(pending), io: fresh)
        } catch {
            let e = error as? BoxError ?? BoxError(.start, "\(error)")
            failStart(e)
            return
        }
        while true {
            let status = loop(io: &io, pidfd: pidfd)
            guard let delay = restartDelay(status) else {
                finish(status: status, io: &io)
                return
            }
            // The restart policy says again: record this run's end, wait (docker's growing back-off), start
            // PID 1 anew in the same rootfs and cgroup; attached clients stay attached.
            drain(&io)
            flushLogs()
            io.closeAll()
            releaseMountNamespace()
            let code = Monitor.exitCode(status)
            store.journal.record(Event(action: "die", id: id, name: spec.Name, image: spec.Config.Image,
                                       attributes: ["exitCode": String(code)]))
            state.RestartCount += 1
            state.ExitCode = code
            state.Status = .restarting
            state.Pid = 0
            try? store.root.locked { try store.saveStateFromMonitor(id, state, durable: false) }
            usleep(delay)
            if Files.exists(stopMarker) {  // stopped by hand while waiting to restart
                finish(status: status, io: &io)
                return
            }
            do {
                io = try startPid1()
            } catch {
                failStart(error as? BoxError ?? BoxError(.start, "\(error)"))
                return
            }
        }
    }

    /// Records this process as the container's monitor, under the engine lock; false (the clients told why)
    /// if another live monitor has it.
    mutating func claim() -> Bool {
        do {
            let me = getpid(), myStart = HostProcess.startTime(getpid()) ?? 0
            state = try store.root.locked {
                var current = try store.loadState(id)
                if current.MonitorPid > 0 && current.MonitorPid != me
                    && HostProcess.isAlive(current.MonitorPid, startTime: current.MonitorStartTime) {
                    throw BoxError(.start, "container \(spec.Name) is already running", exitCode: 1)
                }
                current.MonitorPid = me
                current.MonitorStartTime = myStart
                try store.saveStateFromMonitor(id, current, durable: false)
                return current
            }
            return true
        } catch {
            broadcast(.failed, Array("\((error as? BoxError)?.exitCode ?? 125)\n\(error)".utf8))
            return false
        }
    }

    /// For a monitor forked by `box run` before the container's files were written: waits until box has
    /// released the engine lock (it holds it until they are all there), then checks that the container
    /// exists and names this process as its monitor. False: the create failed and nothing is there.
    /// Once answered, the same answer again (true at once for a monitor that claimed its container).
    mutating func awaitFiles() -> Bool {
        guard files == .awaited else { return files == .ready }
        let me = getpid()
        let current: ContainerState? = (try? store.root.locked { () -> ContainerState? in
            if let state = try? store.loadState(id) { return state }
            // No state file at all, yet a directory: box run died while writing the files (when create fails,
            // it removes what it made first; state.json is written last). What it left is this container's and
            // nobody else's: it goes. A state that cannot be read (EMFILE, say) is not a reason to delete.
            guard !Files.exists(store.statePath(id)) else { return nil }
            for dir in [store.root.containerDir(id), layer] where Files.exists(dir) { try? Files.removeTree(dir) }
            return nil
        }) ?? nil
        guard let current, current.MonitorPid == me else {
            files = .missing
            return false
        }
        state = current
        files = .ready
        return true
    }

    /// The container's files, as this monitor knows them: `awaited` by a monitor forked by `box run` until
    /// awaitFiles has seen them `ready` (a claiming monitor starts there) or `missing`.
    enum FilesState { case awaited, ready, missing }
    var files = FilesState.ready

    var stopMarker: String { store.stopMarker(id) }
    /// The container's network namespace, veth, lease and port proxies: held for all of its runs.
    var network = ContainerNetwork()
    var pidfd: Int32 = -1
    /// PID 1's mount namespace, held from its exec until its end has been answered (-1: not held). The last
    /// holder of a mount namespace unmounts everything in it and waits for an RCU grace period (namespace_unlock
    /// in fs/namespace.c), and an exiting process does that before its parent hears of the exit: without this,
    /// PID 1's exit waited 0.4 ms (traced) before the monitor could clean up and answer. Held, the monitor lets it go
    /// where nothing waits for it (releaseMountNamespace).
    var mountNamespace: Int32 = -1

    /// Lets PID 1's mount namespace go (see mountNamespace): a --rm container's after its end was answered,
    /// before its files are deleted, unless it binds host paths (the caller may unmount or detach what backs
    /// them as soon as `box run` returns: before the answer then); any other's before its state says it
    /// exited, as a new start of the same container mounts its layer again, which a namespace still holding the
    /// old mount would keep in use.
    mutating func releaseMountNamespace() {
        if mountNamespace >= 0 { close(mountNamespace) }
        mountNamespace = -1
    }

    /// Clones PID 1 anew with fresh stdio (a restart: rootfs, cgroup and network are still there).
    mutating func startPid1() throws -> ContainerIO {
        // The container ran in this layer: any directory on the way to a mount target may be a symlink now
        // (`rm -rf /vol; ln -s /etc /vol`). Checked again, and PID 1 resolves every target inside the rootfs.
        try prepareMountTargets()
        let io = try ContainerIO(tty: spec.Config.Tty, stdin: spec.Config.OpenStdin)
        let started = try Spawner.start(spec, rootfs: merged, containerDir: store.root.containerDir(id), stdio: io.childStdio,
                                        seccomp: try spec.seccompFilter(root: store.root), cgroupProcs: cgroups.procsFiles(spec.cgroup), cgroupDir: cgroups.cloneTarget(spec.cgroup),
                                        netnsFD: network.netnsFD)
        return try running(started, io: io)
    }

    /// Records a PID 1 that has exec'd as running and tells the clients.
    mutating func running(_ started: Spawner.Started, io fresh: ContainerIO) throws -> ContainerIO {
        // First, while PID 1 surely still runs (it has exec'd: its own mount namespace is made). If it is gone
        // already, the open fails and its exit has freed the namespace: nothing to hold.
        releaseMountNamespace()
        mountNamespace = open("/proc/\(started.pid)/ns/mnt", O_RDONLY | O_CLOEXEC)
        var io = fresh
        do {
            try io.childStarted()
        } catch {
            // PID 1 has exec'd, but the container cannot be run without its terminal: it must not live on
            // unwatched (failStart records the failure).
            // (By pid if the pidfd call is refused: an unreaped child's pid cannot have been reused.)
            if box_pidfd_signal(started.pidfd, SIGKILL) < 0 { kill(started.pid, SIGKILL) }
            while waitpid(started.pid, nil, 0) < 0 && errno == EINTR {}
            close(started.pidfd)
            throw error
        }
        pidfd = started.pidfd
        state.Status = .running
        state.Pid = started.pid
        state.PidStartTime = HostProcess.startTime(started.pid) ?? 0
        state.StartedAt = .now()
        state.FinishedAt = .zero
        state.ExitCode = 0
        state.Error = ""
        state.Signal = nil
        try? store.saveStateFromMonitor(id, state, durable: false)
        store.journal.record(Event(action: "start", id: id, name: spec.Name, image: spec.Config.Image))
        broadcast(.started, Array(String(started.pid).utf8))
        return io
    }

    static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// nil: do not restart. Otherwise how long to wait first: 100 ms, doubling, at most 5 s (docker's
    /// back-off). `box stop` and `box rm -f` leave a marker: a container stopped by hand stays stopped.
    func restartDelay(_ status: Int32) -> UInt32? {
        // The policy as it is now: `box update --restart` may have changed it since this monitor started.
        let now = (try? store.load(id).spec.HostConfig.RestartPolicy) ?? spec.HostConfig.RestartPolicy
        guard let policy = now, policy.Name != "no", !Files.exists(stopMarker) else { return nil }
        let code = Monitor.exitCode(status)
        switch policy.Name {
        case "always", "unless-stopped": break
        case "on-failure":
            guard code != 0 else { return nil }
            if policy.MaximumRetryCount > 0 && state.RestartCount >= policy.MaximumRetryCount { return nil }
        default: return nil
        }
        return UInt32(min(5_000_000, 100_000 << min(state.RestartCount, 6)))
    }

    /// Bind-mount targets are created in the merged view before PID 1 goes on (it makes its mount namespace
    /// then). A symlink anywhere on the way is refused: on the host side it would resolve outside the container
    /// (runc uses securejoin for the same reason).
    func prepareMountTargets() throws {
        for path in Rootfs.systemMountPoints {
            var st = stat()
            if lstat(merged + path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFDIR {
                throw BoxError(.mount, "refusing to start: \(path) in the image is not a directory (a symlink there would carry the mount out of the container)")
            }
        }
        // docker creates a missing working directory.
        try Monitor.checkNoSymlinks(merged, spec.Config.WorkingDir)
        try Files.mkdirs(merged + spec.Config.WorkingDir)
        for file in ["hostname", "hosts", "resolv.conf"] {
            try Monitor.checkNoSymlinks(merged, "/etc/" + file)
            try Files.mkdirs(merged + "/etc")
            if !Files.exists(merged + "/etc/" + file) { try Files.touch(merged + "/etc/" + file) }
        }
        for v in spec.mountPoints {
            try Monitor.checkNoSymlinks(merged, v.container)
            if v.kind == .tmpfs { continue }
            if v.kind == .volume { try Monitor.copyUp(v, from: merged) }
            if !Files.exists(v.host) { try Files.mkdirs(v.host) }  // docker creates a missing host directory
            if !Files.isDirectory(v.host) {
                let target = merged + v.container
                try Files.mkdirs(String(target[..<target.lastIndex(of: "/")!]))
                if !Files.exists(target) { try Files.touch(target) }
            }
        }
    }

    /// docker's copy-up: a new (empty) volume gets the image's content at its mount point, owners, modes and
    /// links as they are (cp -a follows no link of the image's; the volume is empty, so holds none either).
    static func copyUp(_ v: Volume, from merged: String) throws {
        guard v.noCopy != true, Files.isDirectory(v.host, followingLinks: false), (try Files.list(v.host)).isEmpty,
              Files.isDirectory(merged + v.container, followingLinks: false) else { return }
        guard let cp = Subprocess.which("cp") else { throw BoxError(.mount, "copy the image's \(v.container) into volume \(v.name ?? ""): no cp on the host") }
        let r = try Subprocess.run([cp, "-a", "--no-dereference", merged + v.container + "/.", v.host + "/"], stderrToStdout: true)
        guard r.status == 0 else {
            throw BoxError(.mount, "copy the image's \(v.container) into volume \(v.name ?? ""): \(r.output.split(separator: "\n").joined(separator: "; "))")
        }
    }

    static func checkNoSymlinks(_ root: String, _ path: String) throws {
        var current = root
        for part in path.split(separator: "/") {
            current += "/" + String(part)
            var st = stat()
            guard lstat(current, &st) == 0 else { return }  // the rest will be created as directories
            if (st.st_mode & S_IFMT) == S_IFLNK {
                throw BoxError(.mount, "refusing to mount on \(path): \(current.dropFirst(root.count)) is a symlink in the container")
            }
        }
    }

    mutating func failStart(_ e: BoxError) {
        // Forked by `box run` and failed before its files were there: wait for them, so the failure is
        // recorded in a whole container; if box could not create it, only the kernel's side is undone.
        if !awaitFiles() {
            network.tearDown(spec, store: store)
            try? cgroups.remove(spec.cgroup)
            broadcast(.failed, Array("\(e.exitCode)\n\(e.description)".utf8))
            return
        }
        state.Status = .created
        state.Error = e.description
        state.ExitCode = e.exitCode
        state.Pid = 0
        state.MonitorPid = 0
        // Clean up first, record last (as finish() does): once the state says so, a new start may begin.
        releaseMountNamespace()
        Rootfs.unmount(merged)
        network.tearDown(spec, store: store)
        try? cgroups.remove(spec.cgroup)
        if listener >= 0 { close(listener); unlink(store.root.socket(id)) }
        try? store.saveStateFromMonitor(id, state, durable: !spec.HostConfig.AutoRemove)
        if spec.HostConfig.AutoRemove {
            if let trash = try? store.discard(spec) {
                try? store.deleteTrash(trash)
            } else {
                unlink(ContainerNetwork.attachmentPath(store, id))  // left for the directory, which stays
            }
        }
        broadcast(.failed, Array("\(e.exitCode)\n\(e.description)".utf8))
    }

    /// Copies output and input until PID 1 exits; returns its wait status.
    mutating func loop(io: inout ContainerIO, pidfd: Int32) -> Int32 {
        while true {
            var fds: [pollfd] = [pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0),
                                 pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for fd in io.outputs { fds.append(pollfd(fd: fd.fd, events: Int16(POLLIN), revents: 0)) }
            // Input the container has not read yet: wait for room, and stop taking more from clients while
            // a lot is queued (backpressure instead of a monitor blocked on a full pipe).
            fds.append(pollfd(fd: io.pending.isEmpty ? -1 : io.input, events: Int16(POLLOUT), revents: 0))
            let clientBase = fds.count
            let acceptInput = io.pending.count < 1 << 18
            for c in clients { fds.append(pollfd(fd: c.fd, events: acceptInput ? Int16(POLLIN) : 0, revents: 0)) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 { if errno == EINTR { continue }; break }
            if fds[clientBase - 1].revents != 0 { io.flushInput() }

            for (i, out) in io.outputs.enumerated() where fds[2 + i].revents != 0 {
                if !pump(out, io: &io) { io.outputs.removeAll { $0.fd == out.fd } }
            }
            // Only the clients that were polled: a broadcast above may have dropped some, so match by fd.
            var gone: [Int32] = []
            for p in fds[clientBase...] where p.revents != 0 {
                guard let i = clients.firstIndex(where: { $0.fd == p.fd }) else { continue }
                var client = clients[i]
                if !serve(&client, io: &io, pidfd: pidfd) { gone.append(client.fd) }
                clients[i] = client
            }
            for fd in gone { close(fd); clients.removeAll { $0.fd == fd } }
            if fds[1].revents & Int16(POLLIN) != 0 {
                let fd = box_accept_cloexec(listener)
                if fd >= 0 { setNonBlocking(fd); clients.append(Client(fd: fd)) }
            }
            if fds[0].revents != 0 { break }
        }
        var status: Int32 = 0
        while waitpid(state.Pid, &status, 0) < 0 && errno == EINTR {}
        close(pidfd)
        return status
    }

    /// Reads one chunk of output; false at end of stream.
    mutating func pump(_ out: ContainerIO.Output, io: inout ContainerIO) -> Bool {
        var buf = [UInt8](repeating: 0, count: 32768)
        let n = buf.withUnsafeMutableBytes { read(out.fd, $0.baseAddress, $0.count) }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return true }
        guard n > 0 else {  // EOF, or EIO on a pty whose slave side is closed
            flushLog(out.stream)
            return false
        }
        let chunk = Array(buf[0..<n])
        logOutput(chunk, stream: out.stream)
        broadcast(out.stream == "stderr" ? .stderr : .stdout, chunk)
        return true
    }

    /// Handles frames from one client; false when it has gone away.
    func serve(_ client: inout Client, io: inout ContainerIO, pidfd: Int32) -> Bool {
        defer { io.flushInput() }
        guard client.reader.fill(from: client.fd) else { return false }
        while let (type, payload) = client.reader.next() {
            switch type {
            case .stdin:
                io.queueInput(payload)
            case .stdinClosed:
                if !spec.Config.Tty && spec.Config.StdinOnce { io.closeInputWhenFlushed() }
            case .resize:
                let parts = String(decoding: payload, as: UTF8.self).split(separator: " ").compactMap { UInt16($0) }
                if parts.count == 2, io.tty { box_set_winsize(io.input, parts[0], parts[1]) }
            case .signal:
                if let sig = Int32(String(decoding: payload, as: UTF8.self)) { _ = box_pidfd_signal(pidfd, sig) }
            default:
                break
            }
        }
        return true
    }

    /// PID 1 is gone, so the kernel is killing the rest of its pid namespace: read what they wrote.
    mutating func drain(_ io: inout ContainerIO) {
        var idle = 0
        while !io.outputs.isEmpty && idle < 3 {
            var fds = io.outputs.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), 50)
            if ready <= 0 { idle += 1; continue }
            for (i, out) in io.outputs.enumerated().reversed() where fds[i].revents != 0 {
                if !pump(out, io: &io) { io.outputs.remove(at: i) }
            }
        }
    }

    mutating func finish(status: Int32, io: inout ContainerIO) {
        drain(&io)
        flushLogs()
        io.closeAll()
        unlink(stopMarker)

        // Clean up first, record last: once state.json says "exited", a new `box start` may begin at once,
        // and nothing of this run may then unmount or unlink what the new one made.
        Rootfs.unmount(merged)
        network.tearDown(spec, store: store)
        close(listener)
        unlink(store.root.socket(id))
        if log >= 0 { close(log) }
        // The OOM killer leaves its count in the cgroup: read it before the cgroup goes.
        let oomKilled = cgroups.oomKills(spec.cgroup) > 0
        try? cgroups.remove(spec.cgroup)

        let signal = status & 0x7f
        state.Status = .exited
        state.ExitCode = Monitor.exitCode(status)
        state.Signal = signal == 0 ? nil : signal
        state.OOMKilled = oomKilled
        state.FinishedAt = .now()
        state.Pid = 0
        if logLost > 0 { state.Error = Monitor.lostOutput(logLost, logErrno) }
        // Under the engine lock: a `box pause`/`unpause` in flight must not overwrite how it ended. A --rm
        // container's state is written only if it cannot be removed (its directory is about to go).
        let autoRemove = spec.HostConfig.AutoRemove
        // PID 1's mount namespace goes before the state says exited, and before the answer if the container binds
        // host paths; a --rm one's without binds after the answer (see releaseMountNamespace).
        if !autoRemove || !spec.mountPoints.isEmpty { releaseMountNamespace() }
        if !autoRemove { try? store.root.locked { try store.saveStateFromMonitor(id, state, durable: true) } }
        if oomKilled {
            store.journal.record(Event(action: "oom", id: id, name: spec.Name, image: spec.Config.Image))
        }
        var attributes: [String: String] = ["exitCode": String(state.ExitCode)]
        if signal != 0 { attributes["signal"] = String(signal) }
        store.journal.record(Event(action: "die", id: id, name: spec.Name, image: spec.Config.Image, attributes: attributes))
        // `box run --rm` returns only once the container is gone, as docker's does; its files are deleted
        // after that (unmounted, without a cgroup, out of the store, it is gone: the rest is freeing blocks).
        var trash: [String] = []
        if autoRemove {
            do {
                trash = try store.discard(spec)
            } catch {
                unlink(ContainerNetwork.attachmentPath(store, id))  // left for the directory, which stays
                releaseMountNamespace()
                try? store.root.locked { try store.saveStateFromMonitor(id, state, durable: false) }
            }
        }
        broadcast(.exited, Array(String(state.ExitCode).utf8))
        for c in clients { close(c.fd) }
        releaseMountNamespace()
        try? store.deleteTrash(trash)
        if autoRemove && !trash.isEmpty { store.removeAnonymousVolumes(spec) }
    }

    mutating func broadcast(_ type: Frame, _ payload: [UInt8]) {
        let frame = Frame.encode(type, payload)
        clients.removeAll { client in
            if writeFully(client.fd, frame) { return false }
            close(client.fd)
            return true
        }
    }

    /// docker's json-file log driver: one JSON object per line, {"log": ..., "stream": ..., "time": ...}, the
    /// newline kept in "log". A line not ended yet waits for the rest, until its stream ends; a line longer than
    /// 16 KiB is written in 16 KiB records, as docker's copier cuts it. A chunk read is not a line, and
    /// `box logs --tail 2` counts lines.
    mutating func logOutput(_ chunk: [UInt8], stream: String) {
        let data = (logPartial.removeValue(forKey: stream) ?? []) + chunk
        let piece = 16384
        var lines: [ArraySlice<UInt8>] = []
        var start = data.startIndex
        for i in data.indices where data[i] == UInt8(ascii: "\n") || i - start + 1 == piece {
            lines.append(data[start...i])
            start = i + 1
        }
        if start < data.endIndex { logPartial[stream] = Array(data[start...]) }
        writeLog(lines, stream: stream)
    }

    /// What is left of a line when its stream ends.
    mutating func flushLog(_ stream: String) {
        if let rest = logPartial.removeValue(forKey: stream) { writeLog([rest[...]], stream: stream) }
    }

    /// Every stream's unfinished line, when PID 1 has ended (streams drain gave up on included): a restarted
    /// PID 1's first line must not be glued to it.
    mutating func flushLogs() {
        for stream in logPartial.keys.sorted() { flushLog(stream) }
    }

    /// The file is made at the first output, not at the start: a container that prints nothing (many --rm runs)
    /// makes and frees no inode. On ext4 without a journal that is time saved at every later start: each inode
    /// allocation steps over every inode of its group freed in the last minutes. `box logs` reads no file as
    /// no output.
    mutating func writeLog(_ lines: [ArraySlice<UInt8>], stream: String) {
        guard !lines.isEmpty, spec.HostConfig.LogDriver != "none" else { return }  // --log-driver none
        if log < 0 {
            log = open(store.logPath(id), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard log >= 0 else {  // a full disk (or no inode left): counted as lost, tried again next time
                logErrno = errno
                logLost += lines.reduce(0) { $0 + $1.count }
                return
            }
        }
        let time = Timestamp.now().rfc3339
        func record(_ text: String, _ stream: String) -> String {
            "{\"log\":\(jsonQuote(text)),\"stream\":\"\(stream)\",\"time\":\"\(time)\"}\n"
        }
        var text = ""
        // Output a full disk kept out is said where it went missing, once the disk takes lines again.
        if logLost > 0 { text = record(Monitor.lostOutput(logLost, logErrno) + "\n", "stderr") }
        for line in lines { text += record(String(decoding: line, as: UTF8.self), stream) }
        // Lines cut short (ENOSPC mid-write) are taken back: else the next one would be glued to them.
        let end = lseek(log, 0, SEEK_END)
        if writeFully(log, Array(text.utf8)) {
            logLost = 0
        } else {
            logErrno = errno
            logLost += lines.reduce(0) { $0 + $1.count }
            if end >= 0 { _ = ftruncate(log, end) }
        }
    }

    /// What `box logs` shows where output was lost, and State.Error if it never could.
    static func lostOutput(_ bytes: Int, _ error: Int32) -> String {
        "box: \(bytes) bytes of the container's output are missing here: the log could not take them (\(String(cString: strerror(error))))"
    }
}

/// The container's stdio as the monitor holds it: a pty (`-t`) or pipes.
struct ContainerIO {
    struct Output: Equatable { var fd: Int32; var stream: String }
    var tty: Bool
    var outputs: [Output] = []
    var input: Int32 = -1                 // where client input goes (pty master or stdin pipe), non-blocking
    var pending: [UInt8] = []             // client input the container has not taken yet
    private var closeWhenFlushed = false
    var childStdio: Spawner.Stdio
    private var childEnds: [Int32] = []
    private var consoleReceiver: Int32 = -1

    init(tty: Bool, stdin: Bool) throws {
        self.tty = tty
        if tty {
            // The child opens the pty inside the container and sends us the master (see box_console).
            var pair: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
                throw BoxError.sys(.start, "socketpair")
            }
            consoleReceiver = pair[0]
            childStdio = Spawner.Stdio(stdin: -1, stdout: -1, stderr: -1, tty: true, consoleSocket: pair[1])
            childEnds = [pair[1]]
            return
        }
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard box_pipe_cloexec(&out) == 0, box_pipe_cloexec(&err) == 0 else { throw BoxError.sys(.start, "pipe") }
        outputs = [Output(fd: out[0], stream: "stdout"), Output(fd: err[0], stream: "stderr")]
        var childIn = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if stdin {
            var inp: [Int32] = [-1, -1]
            guard box_pipe_cloexec(&inp) == 0 else { throw BoxError.sys(.start, "pipe") }
            close(childIn)
            childIn = inp[0]
            input = inp[1]
            setNonBlocking(input)
        }
        childStdio = Spawner.Stdio(stdin: childIn, stdout: out[1], stderr: err[1], tty: false)
        childEnds = [childIn, out[1], err[1]]
    }

    /// After clone: collect the pty master the child sent, and close our copies of the child's ends (the
    /// monitor sees EOF once the container's own are closed).
    mutating func childStarted() throws {
        closeChildEnds()
        if consoleReceiver >= 0 {
            let master = box_recv_fd(consoleReceiver)
            close(consoleReceiver)
            consoleReceiver = -1
            guard master >= 0 else { throw BoxError.sys(.start, "receive the container's terminal") }
            setNonBlocking(master)
            outputs = [Output(fd: master, stream: "stdout")]
            input = master
        }
    }

    mutating func closeChildEnds() {
        childEnds.forEach { close($0) }
        childEnds = []
    }

    mutating func queueInput(_ bytes: [UInt8]) {
        guard input >= 0 else { return }
        pending += bytes
    }

    /// Writes as much queued input as the container will take now.
    mutating func flushInput() {
        while input >= 0 && !pending.isEmpty {
            let n = pending.withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return }
                pending = []  // the container closed its stdin: drop what it will never read
                break
            }
            pending.removeFirst(n)
        }
        if closeWhenFlushed && pending.isEmpty && input >= 0 && !tty { close(input); input = -1 }
    }

    mutating func closeInputWhenFlushed() {
        closeWhenFlushed = true
        flushInput()
    }

    mutating func closeAll() {
        closeChildEnds()
        if consoleReceiver >= 0 { close(consoleReceiver) }  // a start given up before the terminal came
        consoleReceiver = -1
        outputs.forEach { close($0.fd) }
        outputs = []
        if input >= 0 && !tty { close(input) }
        input = -1
    }
}

/// A JSON string literal for `s`, escaped as Go's json.Marshal does (docker's json-file driver uses it:
/// `<` becomes \u003c there too).
func jsonQuote(_ s: String) -> String {
    JSONValue.string(s).compact()
}
