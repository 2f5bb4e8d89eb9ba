#if canImport(Glibc)
import Glibc
#endif
import CSpawn
import Engine

/// POST /containers/ID/attach, hijacked: the connection becomes the container's stdio. docker's CLI attaches
/// before it starts the container (`docker run` without -d), so an attachment to a created container waits
/// for the start, which hands it the monitor's first socket: nothing PID 1 writes is missed.
extension API {
    func attach(_ r: Request, id: String, _ c: Connection) throws {
        let x = try store.load(try resolve(id).id)
        guard r.wantsUpgrade || r.flag("stream") else {
            throw APIError(400, "attach without stream=1 (logs only) is not supported by boxd: use GET /containers/ID/logs")
        }
        let keys = try DetachKeys(r.query["detachKeys"])
        var session = AttachStreams(tty: x.spec.Config.Tty, stdin: r.flag("stdin"), stdout: r.flag("stdout"),
                                    stderr: r.flag("stderr"), keys: keys)
        let contentType = x.spec.Config.Tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
        if x.state.Running {
            let monitor = try life.connect(x)
            c.upgrade(contentType: contentType)
            session.run(monitor: monitor, reader: FrameReader(), early: [], connection: c)
            close(monitor)
        } else if x.state.Status == .created {
            let handoff = try Handoff()
            let registered = attaches.withLock { table -> Bool in
                if table[x.id] != nil { return false }
                table[x.id] = handoff
                return true
            }
            guard registered else { throw APIError(409, "container \(x.name) already has an attachment waiting for its start") }
            c.upgrade(contentType: contentType)
            guard handoff.await(connection: c.fd) else {
                // The client left before the start. If the start took the handoff meanwhile, its socket is closed here.
                let mine = attaches.withLock { table -> Bool in
                    guard table[x.id] === handoff else { return false }
                    table[x.id] = nil
                    return true
                }
                if !mine { _ = handoff.await(connection: -1); close(handoff.socket) }
                return
            }
            session.run(monitor: handoff.socket, reader: handoff.reader, early: handoff.early, connection: c)
            close(handoff.socket)
        } else {
            throw APIError(409, "You cannot attach to a stopped container, start it first")
        }
        if session.detached {
            store.journal.record(Event(action: "detach", id: x.id, name: x.name, image: x.spec.Config.Image))
        }
        shutdown(c.fd, Int32(SHUT_RDWR))
    }
}

/// The monitor's first socket, passed from the start to the attachment waiting for it.
final class Handoff: @unchecked Sendable {
    private var pipe: [Int32] = [-1, -1]
    // Written by the start before the byte on the pipe, read by the attachment after it.
    private(set) var socket: Int32 = -1
    private(set) var reader = FrameReader()
    private(set) var early: [(Frame, [UInt8])] = []

    init() throws {
        guard box_pipe_cloexec(&pipe) == 0 else { throw BoxError.sys(.attach, "pipe") }
    }

    deinit { pipe.forEach { close($0) } }

    func deliver(socket: Int32, reader: FrameReader, early: [(Frame, [UInt8])]) {
        self.socket = socket
        self.reader = reader
        self.early = early
        var one: UInt8 = 1
        _ = write(pipe[1], &one, 1)
    }

    /// Waits for the delivery: true once it came, false if the client (`connection`, unless -1) hung up first.
    func await(connection: Int32) -> Bool {
        while true {
            var fds = [pollfd(fd: pipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: connection, events: 0, revents: 0)]
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue }; return false }
            if fds[0].revents != 0 { return true }
            if fds[1].revents & (Int16(POLLHUP) | Int16(POLLERR)) != 0 { return false }
        }
    }
}

/// docker's detach keys: `ctrl-p,ctrl-q` by default, or as the `detachKeys` query gives them (moby's
/// pkg/term ToBytes: `ctrl-X` for a control character, or a single character).
struct DetachKeys {
    var bytes: [UInt8]

    init(_ text: String?) throws {
        let spec = (text?.isEmpty ?? true) ? "ctrl-p,ctrl-q" : text!
        bytes = []
        for key in spec.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingSpaces() }) {
            if key.count == 1, let b = key.utf8.first, b < 128 {
                bytes.append(b)
            } else if key.lowercased().hasPrefix("ctrl-"), key.count == 6, let b = key.uppercased().utf8.last,
                      (0x40...0x5f).contains(b) {
                bytes.append(b & 0x1f)
            } else {
                throw APIError(400, "invalid detach keys \"\(spec)\": use a comma-separated list of ctrl-<a-z,@,[,\\,],^,_> or single characters")
            }
        }
    }
}

/// An attachment's copying between the monitor's frames and the client's raw stream: stdout and stderr out
/// (stdcopy framing without a tty: 8-byte headers [stream, 0, 0, 0, length big-endian]), stdin in, and the
/// detach keys watched for on a tty.
struct AttachStreams {
    var tty: Bool, stdin: Bool, stdout: Bool, stderr: Bool
    var keys: DetachKeys
    private(set) var detached = false

    init(tty: Bool, stdin: Bool, stdout: Bool, stderr: Bool, keys: DetachKeys) {
        self.tty = tty; self.stdin = stdin; self.stdout = stdout; self.stderr = stderr; self.keys = keys
    }

    /// A payload as it goes to the client: raw on a tty, else behind docker's stdcopy header (1 stdout, 2 stderr).
    static func framed(_ stream: UInt8, _ payload: [UInt8], tty: Bool) -> [UInt8] {
        if tty { return payload }
        let n = UInt32(payload.count)
        return [stream, 0, 0, 0, UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] + payload
    }

    /// Copies until the container exits, the client leaves, or the client types the detach keys.
    mutating func run(monitor: Int32, reader start: FrameReader, early: [(Frame, [UInt8])], connection c: Connection) {
        var reader = start
        // Output from before the hand-over, then stdin the client sent with the upgrade request.
        for (type, payload) in early { if !forward(type, payload, c) { return } }
        var input = c.takeBuffered()
        var inputOpen = true
        var partial: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 32768)
        while true {
            if !input.isEmpty {
                if stdin {
                    var out: [UInt8] = []
                    for b in input {
                        if tty && b == keys.bytes[partial.count] {
                            partial.append(b)
                            if partial.count == keys.bytes.count {
                                if !out.isEmpty { Frame.send(monitor, .stdin, out) }
                                detached = true
                                return
                            }
                            continue
                        }
                        out += partial
                        partial = []
                        if tty && b == keys.bytes[0] { partial = [b] } else { out.append(b) }
                    }
                    if !out.isEmpty && !Frame.send(monitor, .stdin, out) { return }
                }
                input = []
            }
            var fds = [pollfd(fd: monitor, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: c.fd, events: inputOpen ? Int16(POLLIN) : 0, revents: 0)]
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue }; return }
            if fds[0].revents != 0 {
                let open = reader.fill(from: monitor)
                while let (type, payload) = reader.next() {
                    if type == .exited || type == .failed { _ = forward(type, payload, c); return }
                    if !forward(type, payload, c) { return }
                }
                if !open { return }
            }
            if fds[1].revents != 0 {
                if !inputOpen { return }  // hung up after its half-close
                let n = buf.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { return }
                if n == 0 {
                    // On a tty the client's end of input ends the attachment and leaves the container's terminal
                    // open: docker's CLI detaches that way once it has seen the detach keys itself (moby's
                    // container/stream/attach.go closes a container's stdin only without a tty).
                    if tty && stdin { detached = true; return }
                    // Without one, a half-close is stdin's end (the container sees EOF) and output goes on.
                    inputOpen = false
                    if stdin { Frame.send(monitor, .stdinClosed, [UInt8]()) }
                } else {
                    input = Array(buf[0..<n])
                }
            }
        }
    }

    /// One monitor frame to the client; false if the client is gone.
    private func forward(_ type: Frame, _ payload: [UInt8], _ c: Connection) -> Bool {
        switch type {
        case .stdout where stdout: return c.write(AttachStreams.framed(1, payload, tty: tty))
        case .stderr where stderr: return c.write(AttachStreams.framed(2, payload, tty: tty))
        case .failed where stderr:
            let text = Array((String(decoding: payload, as: UTF8.self).split(separator: "\n", maxSplits: 1).last.map(String.init) ?? "") .utf8) + [10]
            return c.write(AttachStreams.framed(2, text, tty: tty))
        default: return true
        }
    }
}
