#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Attach your terminal to a running container's PID 1 (Ctrl-P Ctrl-Q detaches)")
    @Flag(name: .customLong("no-stdin"), help: "Do not attach STDIN")
    var noStdin = false
    @Option(name: .customLong("sig-proxy"), help: "Proxy received signals to the process (true/false)")
    var sigProxy: Bool = true
    @Option(name: .customLong("detach-keys"), help: "The keys that detach, with a tty (default ctrl-p,ctrl-q): comma-separated, each a character or ctrl-X")
    var detachKeys: String?
    @Argument(help: "The container")
    var container: String

    func run() throws {
        let keys = try detachKeys.map(DetachKeys.parse) ?? DetachKeys.standard
        let store = try engine()
        let c = try store.resolve(container)
        let socket = try Lifecycle(store: store).connect(c)
        defer { close(socket) }
        var session = AttachSession(forwardStdin: !noStdin && c.spec.Config.OpenStdin, tty: c.spec.Config.Tty,
                                    proxySignals: sigProxy && !c.spec.Config.Tty)
        session.detachKeys = keys
        recordAttach(store, c, "attach")
        switch try session.run(socket, io: standardIO(tty: c.spec.Config.Tty)) {
        case .exited(let code): throw ExitCode(code)
        case .detached:
            recordAttach(store, c, "detach")
            writeErr("\r\nread escape sequence\r\n")
        }
    }
}

/// docker's `attach` and `detach` events: `box attach` connected to PID 1; a terminal attached to PID 1 left
/// it with Ctrl-P Ctrl-Q (the container runs on). The step runner reads them as evidence of what a learner did.
func recordAttach(_ store: ContainerStore, _ c: Container, _ action: String) {
    store.journal.record(Event(action: action, id: c.id, name: c.name, image: c.spec.Config.Image))
}
