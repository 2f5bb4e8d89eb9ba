#if canImport(Glibc)
import Glibc
#endif
import CSpawn
import Engine

/// An exec instance: created by POST /containers/ID/exec, run by POST /exec/ID/start, read by GET /exec/ID/json.
struct ExecRecord: Sendable {
    var id: String
    var containerID: String
    var options: ExecOptions
    var attachStdin: Bool, attachStdout: Bool, attachStderr: Bool
    var running = false
    var started = false
    var exitCode: Int32?
    /// While a -t exec runs: its console (whose size resize sets) and the thread running it (told by SIGWINCH).
    var console: Int32?
    var thread: pthread_t?
}

/// docker exec's three calls (moby's api/server/router/container/exec.go). The command runs through the
/// engine's Exec, which re-executes boxd as `__nsexec` (CSpawn's constructor) by posix_spawn: no fork of this
/// threaded process.
extension API {
    func execCreate(_ r: Request, id: String, _ c: Connection) throws {
        let x = try store.load(try resolve(id).id)
        let body = try r.json()
        guard let command = body["Cmd"]?.strings, !command.isEmpty else { throw APIError(400, "No exec command specified") }
        guard x.state.Running else { throw APIError(409, "Container \(x.id) is not running") }
        guard !x.state.Paused else { throw APIError(409, "Container \(x.id) is paused, unpause the container before exec") }
        var o = ExecOptions(command: command)
        o.env = body["Env"]?.strings ?? []
        o.workdir = body["WorkingDir"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        o.user = body["User"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        o.tty = body["Tty"]?.bool ?? false
        o.interactive = body["AttachStdin"]?.bool ?? false
        if body["Privileged"]?.bool == true { throw APIError(400, "exec --privileged is not supported by box") }
        let execID = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16).leftPadded(16) }.joined()
        let record = ExecRecord(id: execID, containerID: x.id, options: o, attachStdin: o.interactive,
                                attachStdout: body["AttachStdout"]?.bool ?? false, attachStderr: body["AttachStderr"]?.bool ?? false)
        execs.withLock { $0[execID] = record }
        c.json(201, ["Id": .string(execID)])
    }

    func exec(_ r: Request, id: String, action: String, _ c: Connection) throws {
        guard let record = execs.withLock({ $0[id] }) else { throw APIError(404, "No such exec instance: \(id)") }
        switch (r.method, action) {
        case ("GET", "json"): c.json(200, execJSON(record))
        case ("POST", "resize"):
            guard let h = r.query["h"].flatMap(UInt16.init), let w = r.query["w"].flatMap(UInt16.init) else {
                throw APIError(400, "resize needs ?h=ROWS&w=COLUMNS")
            }
            // The engine copies the console's size to the command's terminal when it sees SIGWINCH (as box exec
            // does for its own terminal); before the start there is nothing to size yet.
            execs.withLock { table in
                guard let e = table[id], let console = e.console, let thread = e.thread else { return }
                box_set_winsize(console, h, w)
                pthread_kill(thread, SIGWINCH)
            }
            c.respond(200)
        case ("POST", "start"): try execStart(r, record, c)
        default: throw APIError(404, "page not found: \(r.method) /exec/\(id)/\(action)")
        }
    }

    func execJSON(_ e: ExecRecord) -> JSONValue {
        [
            "ID": .string(e.id), "Running": .bool(e.running), "ExitCode": e.exitCode.map { .int(Int64($0)) } ?? .null,
            "ProcessConfig": ["tty": .bool(e.options.tty), "entrypoint": .string(e.options.command[0]),
                              "arguments": .array(e.options.command.dropFirst().map { .string($0) }),
                              "privileged": false, "user": .string(e.options.user ?? "")],
            "OpenStdin": .bool(e.attachStdin), "OpenStderr": .bool(e.attachStderr), "OpenStdout": .bool(e.attachStdout),
            "CanRemove": false, "ContainerID": .string(e.containerID), "DetachKeys": "", "Pid": 0,
        ]
    }

    func execStart(_ r: Request, _ record: ExecRecord, _ c: Connection) throws {
        let body = try r.json()
        let detach = body["Detach"]?.bool ?? false
        let claimed = execs.withLock { table -> Bool in
            guard var e = table[record.id], !e.started else { return false }
            e.started = true
            e.running = true
            table[record.id] = e
            return true
        }
        guard claimed else { throw APIError(409, "exec \(record.id) has already been started") }
        let x: Container
        do { x = try store.load(record.containerID) } catch {
            finish(record.id, code: 126)
            throw error
        }
        let engine = Exec(store: store)
        if detach {
            let null = open("/dev/null", O_RDWR | O_CLOEXEC)
            c.respond(200)
            Thread.start { [self] in
                let code = (try? engine.run(x, record.options, io: UserIO(input: null, output: null, error: null, terminal: false))) ?? 126
                close(null)
                finish(record.id, code: code)
            }
            return
        }
        let tty = record.options.tty
        var code: Int32
        if tty {
            // The pty's output is already one stream, written to the connection raw. Input goes through a console
            // of boxd's own, a pty in raw mode: the engine reads the window size from it, which resize sets. It is
            // registered before the upgrade (the CLI sends its size as soon as it has the stream), and SIGWINCH is
            // blocked in this thread until the engine's signalfd takes it, so no resize is lost in between.
            let console: ExecConsole
            do { console = try ExecConsole() } catch { finish(record.id, code: 126); throw error }
            var winch = sigset_t(), previous = sigset_t()
            sigemptyset(&winch)
            sigaddset(&winch, SIGWINCH)
            pthread_sigmask(SIG_BLOCK, &winch, &previous)
            execs.withLock { table in
                table[record.id]?.console = console.slave
                table[record.id]?.thread = pthread_self()
            }
            c.upgrade(contentType: "application/vnd.docker.raw-stream")
            let fd = c.fd, master = console.master
            let feeder = Thread.start(joinable: true) { ExecConsole.feed(from: fd, to: master) }
            code = runReporting(engine, x, record.options, UserIO(input: console.slave, output: c.fd, error: c.fd, terminal: true), c, tty: true)
            execs.withLock { table in
                table[record.id]?.console = nil
                table[record.id]?.thread = nil
            }
            pthread_sigmask(SIG_SETMASK, &previous, nil)
            finish(record.id, code: code)  // before the client sees the end: it asks for the exit code then
            shutdown(c.fd, Int32(SHUT_RDWR))  // the feeder's read ends
            feeder?.join()
            console.close()
        } else {
            // stdout and stderr come through pipes, framed onto the connection by a thread of their own.
            c.upgrade(contentType: "application/vnd.docker.multiplexed-stream")
            var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
            guard box_pipe_cloexec(&out) == 0 else { finish(record.id, code: 126); throw BoxError.sys(.exec, "pipe") }
            guard box_pipe_cloexec(&err) == 0 else { close(out[0]); close(out[1]); finish(record.id, code: 126); throw BoxError.sys(.exec, "pipe") }
            let stdout = record.attachStdout, stderr = record.attachStderr
            let fd = c.fd, outRead = out[0], errRead = err[0]
            let framer = Thread.start(joinable: true) {
                API.frame(out: outRead, err: errRead, to: fd, stdout: stdout, stderr: stderr)
            }
            let input = record.attachStdin ? c.fd : open("/dev/null", O_RDONLY | O_CLOEXEC)
            code = runReporting(engine, x, record.options, UserIO(input: input, output: out[1], error: err[1], terminal: false), c, tty: false)
            if !record.attachStdin { close(input) }
            close(out[1]); close(err[1])
            framer?.join()
            close(out[0]); close(err[0])
            finish(record.id, code: code)
        }
        shutdown(c.fd, Int32(SHUT_RDWR))
    }

    /// Runs the command; an engine error (no such command, bad user) goes to the client's stderr, as
    /// docker's `exec failed: …` does, with docker's code.
    private func runReporting(_ engine: Exec, _ x: Container, _ o: ExecOptions, _ io: UserIO, _ c: Connection, tty: Bool) -> Int32 {
        do { return try engine.run(x, o, io: io) } catch let e as BoxError {
            let text = Array(("exec failed: \(e)\r\n").utf8)
            writeFully(io.error, text)
            return e.exitCode == 125 ? 126 : e.exitCode
        } catch { return 126 }
    }

    private func finish(_ id: String, code: Int32) {
        execs.withLock { table in
            table[id]?.running = false
            table[id]?.exitCode = code
        }
    }

    /// Copies the command's stdout and stderr pipes to the connection in stdcopy frames until both end.
    static func frame(out: Int32, err: Int32, to fd: Int32, stdout: Bool, stderr: Bool) {
        var open = [out, err]
        var buf = [UInt8](repeating: 0, count: 32768)
        var clientGone = false
        while open.contains(where: { $0 >= 0 }) {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue }; return }
            for i in 0..<2 where fds[i].revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(open[i], $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { open[i] = -1; continue }
                // Read to the end even once the client is gone, so the command never blocks on a full pipe.
                if !clientGone && (i == 0 ? stdout : stderr) {
                    clientGone = !writeFully(fd, AttachStreams.framed(UInt8(i + 1), Array(buf[0..<n]), tty: false), timeout: 30_000)
                }
            }
        }
    }
}

/// A pty boxd opens for an exec with -t: the slave stands for the user's terminal (raw, sized by resize),
/// the master is fed what the client types.
struct ExecConsole {
    let master: Int32, slave: Int32
    /// glibc's pty calls, which Swift's Glibc module hides (they need _XOPEN_SOURCE / _GNU_SOURCE): found by
    /// name in the C library already loaded, so boxd needs no C of its own for them.
    typealias OpenPT = @convention(c) (Int32) -> Int32
    typealias PTSName = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32
    static func libc<T>(_ name: String, _ type: T.Type) -> T? { dlsym(nil, name).map { unsafeBitCast($0, to: type) } }

    init() throws {
        guard let openpt = ExecConsole.libc("posix_openpt", OpenPT.self), let grant = ExecConsole.libc("grantpt", OpenPT.self),
              let unlock = ExecConsole.libc("unlockpt", OpenPT.self), let ptsname = ExecConsole.libc("ptsname_r", PTSName.self) else {
            throw BoxError(.exec, "the C library has no posix_openpt/grantpt/unlockpt/ptsname_r")
        }
        master = openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard master >= 0 else { throw BoxError.sys(.exec, "posix_openpt") }
        var name = [CChar](repeating: 0, count: 128)
        guard grant(master) == 0, unlock(master) == 0, ptsname(master, &name, name.count) == 0 else {
            let e = errno; Glibc.close(master); throw BoxError.sys(.exec, "unlock a pty", errno: e)
        }
        let path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard slave >= 0 else { let e = errno; Glibc.close(master); throw BoxError.sys(.exec, "open \(path)", errno: e) }
        _ = Terminal.makeRaw(slave)
        box_set_winsize(slave, 24, 80)
    }

    func close() { Glibc.close(master); Glibc.close(slave) }

    /// Copies the client's keystrokes to the console until the client stops sending or the connection is shut.
    static func feed(from fd: Int32, to master: Int32) {
        var buf = [UInt8](repeating: 0, count: 32768)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || !writeFully(master, Array(buf[0..<n])) { return }
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
