#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command in a running container",
        discussion: """
        The command joins every namespace of the container's PID 1 (mount, pid, uts, ipc, net, cgroup) — the
        same thing `nsenter -t PID -m -u -i -n -p` does by hand — with the container's capabilities.
        Your terminal is never handed to the command: without -t it gets pipes that box copies (stdin
        only with -i), with -t a terminal of the container's own.

        Examples:
          box exec c1 ps
          box exec -it c1 sh
          box exec -e GREETING=hi -w /tmp c1 sh -c 'echo $GREETING from $(pwd)'
          box exec -d c1 sleep 100                     # in the background: box returns at once
        """
    )
    @Flag(name: [.short, .long], help: "Detached mode: run the command in the background (its output is discarded)")
    var detach = false
    @Flag(name: [.short, .long], help: "Keep STDIN open")
    var interactive = false
    @Flag(name: [.short, .long], help: "Allocate a pseudo-TTY")
    var tty = false
    @Option(name: [.short, .long], help: "Set an environment variable (KEY=VALUE)")
    var env: [String] = []
    @Option(name: .customLong("env-file"), help: "Read environment variables from a file (KEY=VALUE lines; -e wins)")
    var envFile: [String] = []
    @Option(name: [.short, .customLong("workdir")], help: "Working directory inside the container")
    var workdir: String?
    @Option(name: [.short, .long], help: "User: UID[:GID] or a name from the image's /etc/passwd")
    var user: String?
    @Flag(name: .long, help: "Give the command every capability (the container's seccomp filter still applies)")
    var privileged = false
    @OptionGroup(title: refusedTitle) var refused: ExecRefused
    @Argument(help: "The container (name, id or id prefix)")
    var container: String
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("exec needs a command: box exec CONTAINER COMMAND [ARG...]") }
    }

    func run() throws {
        try refused.check()
        // docker's order: the files first, then -e, so -e wins.
        let environment = try envFile.flatMap { try EnvFile.read($0) } + env
        let store = try engine()
        let c = try store.resolve(container)
        if detach {
            // Checked here: the background box that runs the command has no one to tell.
            _ = try Engine.Exec(store: store).runnable(c)
            try background(environment)
            return
        }
        var o = ExecOptions(command: command)
        o.env = environment
        o.workdir = workdir
        o.user = user
        o.tty = tty
        o.interactive = interactive
        o.privileged = privileged
        let code = try Engine.Exec(store: store).run(c, o, io: standardIO(tty: tty))
        throw ExitCode(code)
    }

    /// -d: the same exec, by a box of its own in a new session with /dev/null for its standard streams, not
    /// waited for (docker's daemon runs a detached exec the same way: nothing is attached to it). That box
    /// records exec_start and exec_die as any exec does.
    func background(_ environment: [String]) throws {
        var argv = [Subprocess.selfExecutable(), "exec"] + environment.flatMap { ["-e", $0] }
        if let workdir { argv += ["-w", workdir] }
        if let user { argv += ["-u", user] }
        if privileged { argv.append("--privileged") }
        argv += [container] + command
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in Int32(0)...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, 0x80)  // POSIX_SPAWN_SETSID: a GNU extension Swift's Glibc does not show
        _ = try Subprocess.spawn(argv, actions: &actions, attributes: &attributes)
    }
}

struct ExecRefused: RefusedFlags {
    @Option(help: "box exec -t has no detach: the command's terminal is box's own, and ends with it (docker's is the daemon's)")
    var detachKeys: String?
}
