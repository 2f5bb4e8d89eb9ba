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
        """
    )
    @Flag(name: [.short, .long], help: "Keep STDIN open")
    var interactive = false
    @Flag(name: [.short, .long], help: "Allocate a pseudo-TTY")
    var tty = false
    @Option(name: [.short, .long], help: "Set an environment variable (KEY=VALUE)")
    var env: [String] = []
    @Option(name: [.short, .customLong("workdir")], help: "Working directory inside the container")
    var workdir: String?
    @Option(name: [.short, .long], help: "User: UID[:GID] or a name from the image's /etc/passwd")
    var user: String?
    @Argument(help: "The container (name, id or id prefix)")
    var container: String
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("exec needs a command: box exec CONTAINER COMMAND [ARG...]") }
    }

    func run() throws {
        let store = try engine()
        let c = try store.resolve(container)
        var o = ExecOptions(command: command)
        o.env = env
        o.workdir = workdir
        o.user = user
        o.tty = tty
        o.interactive = interactive
        let code = try Engine.Exec(store: store).run(c, o, io: standardIO(tty: tty))
        throw ExitCode(code)
    }
}
