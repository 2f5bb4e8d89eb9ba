#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Create and start a container from an image",
        discussion: """
        In the foreground (the default) box waits for the container and exits with its exit code. With -it you
        get an interactive terminal; Ctrl-P Ctrl-Q detaches and leaves the container running (box attach
        comes back). With -d it prints the container id and returns.

        Exit codes, as docker's: 125 if box itself failed, 126 if the command cannot be invoked, 127 if it
        cannot be found, otherwise the command's own.

        Examples:
          box run --rm busybox echo hello
          box run -it --name c1 -h myhost busybox sh
          box run -d --name web -v /srv/www:/www:ro busybox httpd -f -h /www
        """,
        helpNames: [.long]
    )

    @Flag(name: [.short, .long], help: "Run in the background and print the container id")
    var detach = false
    @OptionGroup var options: ContainerOptions

    func run() throws {
        try Run.run(options.createOptions(), detach: detach, cidfile: options.more.cidfile, sigProxy: options.more.sigProxy)
    }

    /// What `box run` does once its flags are read.
    static func run(_ options: CreateOptions, detach: Bool, cidfile: String? = nil, sigProxy: Bool = true) throws {
        let store = try engine()
        let life = Lifecycle(store: store)
        // The monitor is forked while the container is created (under the engine lock, before its files are
        // written): it makes the cgroups and namespaces and clones PID 1 while this process writes the files.
        var socket: Int32 = -1
        let container: Container
        do {
            container = try CIDFile.around(cidfile) {
                try store.create(options) { c in
                    guard let monitor = try life.forkMonitor(c, owned: true) else { return nil }
                    socket = monitor.socket
                    return (monitor.pid, HostProcess.startTime(monitor.pid) ?? 0)
                }
            }
        } catch {
            if socket >= 0 { close(socket) }  // the monitor sees the container was not created and undoes its part
            throw error
        }
        if socket < 0 { socket = try life.start(container) }
        try follow(life, container, socket: socket, attach: !detach, stdin: options.interactive, tty: options.tty, printID: detach,
                   sigProxy: sigProxy)
    }
}

/// Starts a created container; either prints its id (detached) or stays attached until it exits or the
/// user detaches, then exits with the container's code.
func startAndAttach(_ store: ContainerStore, _ container: Container, attach: Bool, stdin: Bool, tty: Bool, printID: Bool,
                    detachKeys: [UInt8] = DetachKeys.standard) throws {
    let life = Lifecycle(store: store)
    try follow(life, container, socket: try life.start(container), attach: attach, stdin: stdin, tty: tty, printID: printID,
               detachKeys: detachKeys)
}

/// What follows a monitor's start, on its socket (closed here): the id printed once the container runs
/// (detached), or attached until it exits (then box exits with its code) or the user detaches.
/// `sigProxy` false (--sig-proxy=false): the signals box gets are not forwarded to PID 1.
func follow(_ life: Lifecycle, _ container: Container, socket: Int32, attach: Bool, stdin: Bool, tty: Bool, printID: Bool,
            detachKeys: [UInt8] = DetachKeys.standard, sigProxy: Bool = true) throws {
    defer { close(socket) }
    if !attach {
        _ = try life.waitStarted(socket)
        if printID { say(container.id) }
        return
    }
    var session = AttachSession(forwardStdin: stdin, tty: tty, proxySignals: !tty && sigProxy)
    session.detachKeys = detachKeys
    switch try session.run(socket, io: standardIO(tty: tty)) {
    case .exited(let code):
        throw ExitCode(code)
    case .detached:
        recordAttach(life.store, container, "detach")
        writeErr("\r\nread escape sequence\r\n")
    }
}
