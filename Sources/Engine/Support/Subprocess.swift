#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// posix_spawn for the few host programs the engine runs (busybox --list, the monitor), without Foundation.
public enum Subprocess {
    /// Runs `argv` to completion and returns its exit status and standard output (and error, if asked).
    public static func run(_ argv: [String], stdin: Int32? = nil, stderrToStdout: Bool = false,
                           environment: [String]? = nil) throws -> (status: Int32, output: String) {
        var pipefd: [Int32] = [-1, -1]
        guard box_pipe_cloexec(&pipefd) == 0 else { throw BoxError.sys(.store, "pipe") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1)
        if stderrToStdout { posix_spawn_file_actions_adddup2(&actions, pipefd[1], 2) }
        if let stdin { posix_spawn_file_actions_adddup2(&actions, stdin, 0) }
        let pid: pid_t
        do {
            pid = try spawn(argv, actions: &actions, environment: environment)
        } catch {
            close(pipefd[0]); close(pipefd[1])
            throw error
        }
        close(pipefd[1])
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buf.withUnsafeMutableBytes { read(pipefd[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        close(pipefd[0])
        return (wait(pid), String(decoding: out, as: UTF8.self))
    }

    /// Starts `argv` (a path, not looked up) with the given file actions and attributes; returns its pid.
    public static func spawn(_ argv: [String], actions: inout posix_spawn_file_actions_t,
                             attributes: UnsafePointer<posix_spawnattr_t>? = nil,
                             environment: [String]? = nil) throws -> pid_t {
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let cEnv = environment.map { $0.map { strdup($0) } + [nil] }
        defer { cEnv?.forEach { free($0) } }
        var pid: pid_t = 0
        let rc: Int32
        if let cEnv {
            rc = posix_spawn(&pid, argv[0], &actions, attributes, cArgs, cEnv)
        } else {
            rc = posix_spawn(&pid, argv[0], &actions, attributes, cArgs, environ)
        }
        guard rc == 0 else { throw BoxError.sys(.start, "start \(argv[0])", errno: rc) }
        return pid
    }

    /// waitpid, returning the exit code, or 128+N for a signal (as a shell reports it).
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 125 }
        }
        return decode(status)
    }

    public static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// This executable's own path, for re-executing it (the monitor, nsexec).
    public static func selfExecutable() -> String {
        Files.readLink("/proc/self/exe") ?? CommandLine.arguments[0]
    }

    /// Looks a program up in the host's PATH.
    public static func which(_ name: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":") where access("\(dir)/\(name)", X_OK) == 0 {
            return "\(dir)/\(name)"
        }
        return nil
    }
}
