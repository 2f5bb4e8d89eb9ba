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
        let argv = ["/bin/sh", "-c", script]
        guard !capture else {
            let devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)
            defer { close(devnull) }
            return try Subprocess.run(argv, stdin: devnull, stderrToStdout: true, environment: environment)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let pid = try Subprocess.spawn(argv, actions: &actions, environment: environment)
        return (Subprocess.wait(pid), "")
    }

    /// Quotes a word for /bin/sh.
    public static func quote(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=@%+,".contains($0) }) { return word }
        return "'" + word.replacing("'", with: "'\\''") + "'"
    }
}
