#if canImport(Glibc)
import Glibc
#endif
import CSpawn
import Engine

/// Runs the shell commands of solutions and the `box` commands of lab setup, as the learner would type them.
public enum Shell {
    /// Runs `script` with /bin/sh. With `capture`, stdout and stderr are returned (stdin is /dev/null);
    /// without, they go to the terminal.
    public static func run(_ script: String, environment: [String], capture: Bool) throws -> (status: Int32, output: String) {
        var fds: [Int32] = [-1, -1]
        if capture { guard box_pipe_cloexec(&fds) == 0 else { throw BoxError.sys(.usage, "pipe") } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if capture {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
            posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        }
        let pid: pid_t
        do {
            pid = try Subprocess.spawn(["/bin/sh", "-c", script], actions: &actions, environment: environment)
        } catch {
            if capture { close(fds[0]); close(fds[1]) }
            throw error
        }
        var out: [UInt8] = []
        if capture {
            close(fds[1])
            var buf = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = buf.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                out.append(contentsOf: buf[0..<n])
            }
            close(fds[0])
        }
        return (Subprocess.wait(pid), String(decoding: out, as: UTF8.self))
    }

    /// Quotes a word for /bin/sh.
    public static func quote(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=@%+,".contains($0) }) { return word }
        return "'" + word.replacing("'", with: "'\\''") + "'"
    }
}
