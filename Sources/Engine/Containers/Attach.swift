#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// The descriptors a client copies between its user and a container (an attachment, an exec): box's own 0, 1
/// and 2; a server would pass a connection's. The engine never touches a process's standard descriptors itself.
public struct UserIO: Sendable {
    public var input: Int32, output: Int32, error: Int32
    /// `input` is the user's terminal: put in raw mode while attached, and read for the window size. The host
    /// decides (box: `-t` was asked for and its stdin is a terminal).
    public var terminal: Bool

    public init(input: Int32, output: Int32, error: Int32, terminal: Bool) {
        self.input = input; self.output = output; self.error = error; self.terminal = terminal
    }
}

/// The client side of an attachment to a container's monitor: `box run` in the foreground, `box start -a`,
/// `box attach`. Copies the terminal to the container and back; Ctrl-P Ctrl-Q detaches (docker's keys).
public struct AttachSession {
    public var forwardStdin: Bool
    public var tty: Bool
    /// Forward SIGINT/SIGTERM/... received by `box` to PID 1 (docker's --sig-proxy, used without a tty).
    public var proxySignals: Bool
    /// What the user types to detach, with a tty (docker's --detach-keys; Ctrl-P Ctrl-Q unless given).
    public var detachKeys = DetachKeys.standard

    public enum Outcome: Sendable, Equatable { case exited(Int32), detached }

    public init(forwardStdin: Bool, tty: Bool, proxySignals: Bool) {
        self.forwardStdin = forwardStdin
        self.tty = tty
        self.proxySignals = proxySignals
    }

    public func run(_ socket: Int32, io: UserIO) throws -> Outcome {
        let terminal = tty && io.terminal
        let saved = terminal ? Terminal.makeRaw(io.input) : nil
        defer { if let saved { Terminal.restore(io.input, saved) } }

        let signals = SignalQueue([SIGWINCH] + (proxySignals ? [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2] : []))
        defer { signals.close() }
        let sigfd = signals.fd

        if terminal { sendWindowSize(socket, io.input) }
        var reader = FrameReader()
        var stdinOpen = forwardStdin
        var matched = 0  // how many of the detach keys the last bytes typed were
        var buf = [UInt8](repeating: 0, count: 32768)
        while true {
            var fds = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: sigfd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stdinOpen ? io.input : -1, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 3, -1) < 0 { if errno == EINTR { continue }; throw BoxError.sys(.attach, "poll") }

            if fds[0].revents != 0 {
                let open = reader.fill(from: socket)
                while let (type, payload) = reader.next() {
                    switch type {
                    case .stdout: writeFully(io.output, payload)
                    case .stderr: writeFully(io.error, payload)
                    case .exited: return .exited(Int32(String(decoding: payload, as: UTF8.self)) ?? 125)
                    case .failed: throw Lifecycle.failure(String(decoding: payload, as: UTF8.self))
                    default: break
                    }
                }
                if !open { throw BoxError(.attach, "lost the connection to the container's monitor") }
            }
            if fds[1].revents != 0 {
                if let signo = signals.next() {
                    if signo == SIGWINCH { if terminal { sendWindowSize(socket, io.input) } }
                    else { Frame.send(socket, .signal, Array(String(signo).utf8)) }
                }
            }
            if stdinOpen && fds[2].revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(io.input, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    stdinOpen = false
                    Frame.send(socket, .stdinClosed, [UInt8]())
                    continue
                }
                var chunk = Array(buf[0..<n])
                if tty && !detachKeys.isEmpty {
                    // The detach keys detach; a start of them followed by anything else is passed on.
                    var out: [UInt8] = []
                    for byte in chunk {
                        if byte != detachKeys[matched] && matched > 0 {
                            out += detachKeys[0..<matched]
                            matched = 0
                        }
                        if byte == detachKeys[matched] {
                            matched += 1
                            if matched == detachKeys.count { writeFully(socket, Frame.encode(.stdin, out)); return .detached }
                        } else {
                            out.append(byte)
                        }
                    }
                    chunk = out
                }
                if !chunk.isEmpty && !Frame.send(socket, .stdin, chunk) {
                    throw BoxError(.attach, "lost the connection to the container's monitor")
                }
            }
        }
    }

    func sendWindowSize(_ socket: Int32, _ terminal: Int32) {
        var rows: UInt16 = 0, cols: UInt16 = 0
        if box_get_winsize(terminal, &rows, &cols) == 0 { Frame.send(socket, .resize, Array("\(rows) \(cols)".utf8)) }
    }
}

/// docker's --detach-keys: comma-separated keys, each one character or ctrl-X (ctrl-a … ctrl-z, ctrl-@,
/// ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_), as docker's term.ToBytes reads them.
public enum DetachKeys {
    public static let standard: [UInt8] = [0x10, 0x11]  // ctrl-p,ctrl-q

    public static func parse(_ text: String) throws -> [UInt8] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { key throws -> UInt8 in
            let bytes = Array(key.utf8)
            if bytes.count == 1 { return bytes[0] }
            let lower = key.lowercased()
            if lower.hasPrefix("ctrl-"), lower.utf8.count == 6, let c = lower.utf8.last {
                if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") { return c - UInt8(ascii: "a") + 1 }
                if let i = Array("@[\\]^_".utf8).firstIndex(of: c) { return UInt8(i == 0 ? 0 : 27 + i - 1) }
            }
            throw BoxError(.usage, "Invalid detach keys (\(text)) provided: unknown key '\(key)' (one character, or ctrl-a ... ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_)", exitCode: 125)
        }
    }
}

/// Signals received through a signalfd, to be polled with everything else: they are blocked while the
/// queue exists, and `close()` restores the previous mask.
struct SignalQueue {
    let fd: Int32
    private var previous = sigset_t()

    init(_ signals: [Int32]) {
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        sigprocmask(SIG_BLOCK, &set, &previous)
        fd = box_signalfd_cloexec(&set)
    }

    /// The next pending signal's number (after poll said the fd is readable).
    func next() -> Int32? {
        var info = [UInt8](repeating: 0, count: 128)  // struct signalfd_siginfo; ssi_signo comes first
        guard fd >= 0, read(fd, &info, 128) == 128 else { return nil }
        return Int32(info[0]) | Int32(info[1]) << 8 | Int32(info[2]) << 16 | Int32(info[3]) << 24
    }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        var restore = previous
        sigprocmask(SIG_SETMASK, &restore, nil)
    }
}

public enum Terminal {
    /// Puts the terminal in raw mode (cfmakeraw); returns the settings to restore.
    public static func makeRaw(_ fd: Int32) -> termios? {
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return nil }
        var raw = saved
        cfmakeraw(&raw)
        tcsetattr(fd, TCSADRAIN, &raw)
        return saved
    }

    public static func restore(_ fd: Int32, _ saved: termios) {
        var t = saved
        tcsetattr(fd, TCSADRAIN, &t)
    }
}
