import Foundation
import CSpawn
import Engine

/// A program the tests run (box, lab, nsenter, skopeo...), with its output captured and a deadline: a command
/// that has not finished when it passes is killed and reported, so a hang is one failing test that names the
/// command, never a test run that waits for ever.
///
/// posix_spawn and waitpid, not Foundation's Process: on Linux, Process counts a command as running until every
/// process that inherited a descriptor of its own has exited, so a command that left a child behind (a monitor,
/// a `sleep &`) could not be waited for. Here the command's own exit ends the wait, once its output is read.
public enum Command {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// It, or a process holding its output, was still running at the deadline; the command was killed
        /// (status is then -1).
        public var timedOut: Bool
        public var out: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Long enough for the slowest command of the suite (a build, a stop's grace period) on a slow machine.
    public static let defaultDeadline: Double = 180

    /// What a test says of `argv` when it was killed at the default deadline.
    public static func overrun(_ argv: [String]) -> String {
        "\(argv.joined(separator: " ")) had not finished after \(Int(defaultDeadline)) s (it, or a process holding its output, was still running) and was killed"
    }

    /// Runs `argv` (a path) with the tests' environment plus `environment`. Stdin is /dev/null, or a pipe
    /// carrying `input` at once and then each `typing` piece after its delay (as a person types: a terminal must
    /// be in raw mode before Ctrl-Q means anything). Exit status as a shell gives it: 128+N for signal N.
    public static func run(_ argv: [String], environment: [String: String] = [:], input: String? = nil,
                           typing: [(seconds: Double, text: String)] = [],
                           deadline seconds: Double = defaultDeadline) throws -> Result {
        let end = Date().addingTimeInterval(seconds)
        // Close-on-exec: other tests' threads spawn too, and must not inherit these.
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1], stdin: [Int32] = [-1, -1]
        let pieces = (input.map { [(seconds: 0.0, text: $0)] } ?? []) + typing
        guard box_pipe_cloexec(&out) == 0, box_pipe_cloexec(&err) == 0, pieces.isEmpty || box_pipe_cloexec(&stdin) == 0 else {
            let e = BoxError.sys(.start, "pipe for \(argv[0])")
            for fd in out + err + stdin where fd >= 0 { close(fd) }
            throw e
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if pieces.isEmpty {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        } else {
            posix_spawn_file_actions_adddup2(&actions, stdin[0], 0)
        }
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        // A process group of its own: a command killed at its deadline takes its children with it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let pid: pid_t
        do {
            pid = try Subprocess.spawn(argv, actions: &actions, attributes: &attributes, environment: env)
        } catch {
            for fd in out + err + stdin where fd >= 0 { close(fd) }
            throw error
        }
        close(out[1]); close(err[1])
        if !pieces.isEmpty {
            close(stdin[0])
            let fd = stdin[1]
            let writer = Thread(block: {
                // A command that has gone makes write fail with EPIPE here, not kill the test process with SIGPIPE:
                // the signal is blocked in this thread, and taken off it before the thread ends.
                var pipe = sigset_t()
                sigemptyset(&pipe)
                sigaddset(&pipe, SIGPIPE)
                pthread_sigmask(SIG_BLOCK, &pipe, nil)
                for piece in pieces {
                    usleep(UInt32(piece.seconds * 1e6))
                    guard writeFully(fd, Array(piece.text.utf8)) else { break }
                }
                close(fd)
                var none = timespec()
                while sigtimedwait(&pipe, nil, &none) == SIGPIPE {}
            })
            writer.start()
        }
        // Both pipes are drained together (a chatty child would block on a full one) until EOF, or until the
        // command has exited and what it wrote is read (a process it left behind may hold the pipes open), or
        // until the deadline.
        var fds = [pollfd(fd: out[0], events: Int16(POLLIN), revents: 0), pollfd(fd: err[0], events: Int16(POLLIN), revents: 0)]
        var data = [[UInt8](), [UInt8]()]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timedOut = false, exited = false
        var status: Int32 = 0
        while fds.contains(where: { $0.fd >= 0 }) {
            let left = end.timeIntervalSinceNow
            if left <= 0 { timedOut = true; break }
            let ready = poll(&fds, nfds_t(fds.count), exited ? 0 : Int32(min(left, 0.05) * 1000) + 1)
            if ready < 0 && errno != EINTR { break }
            if ready == 0 {
                if exited { break }  // gone, and nothing more to read
                exited = waitpid(pid, &status, WNOHANG) == pid
                continue
            }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &buffer, buffer.count)
                if n > 0 { data[i] += buffer[0..<n] } else if n == 0 || errno != EINTR { fds[i].fd = -1 }
            }
        }
        close(out[0]); close(err[0])
        // The command itself gets what is left of the deadline to exit; then it is killed, with its group.
        if timedOut { kill(-pid, SIGKILL); kill(pid, SIGKILL) }
        while !exited {
            let r = waitpid(pid, &status, timedOut ? 0 : WNOHANG)
            if r == pid { break }
            if r < 0 { if errno == EINTR { continue }; status = -1; break }
            if end.timeIntervalSinceNow > 0 { usleep(5_000); continue }
            timedOut = true
            kill(-pid, SIGKILL); kill(pid, SIGKILL)
        }
        return Result(status: timedOut ? -1 : Subprocess.decode(status), stdout: String(decoding: data[0], as: UTF8.self),
                      stderr: String(decoding: data[1], as: UTF8.self), timedOut: timedOut)
    }
}
