// boxd: docker's Engine API on a unix socket, over the same engine and BOX_ROOT as `box`.
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

struct Boxd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boxd",
        abstract: "Serve docker's Engine API (1.41) for box's containers, so the docker CLI and SDKs drive them",
        discussion: """
        boxd is to box what dockerd is to docker: a daemon that listens on a socket and runs containers for \
        whoever sends it requests. It hosts box's engine in the same BOX_ROOT, so `box ps` shows what \
        `docker run` made through boxd, and the other way round.

          sudo boxd &
          export DOCKER_HOST=unix:///run/box.sock
          docker run --rm busybox echo hi
          curl --unix-socket /run/box.sock http://localhost/v1.41/containers/json

        The socket is what the lab is about: it is mode 0660, owned by root and group `box` (root's group if \
        there is no `box`). Anyone who can connect can start a container that mounts / and writes to it, so \
        membership of that group is root on this machine, exactly as docker's group is.

        -H tcp://127.0.0.1:2375 opens the same power to every local process (any user, any browser page that \
        can be made to post to it). An address other than loopback hands it to the network: boxd refuses one \
        unless you pass --i-know-this-is-root (it has no TLS yet; dockerd would need --tlsverify).

        boxd re-executes box for each container's monitor: it looks for box next to itself, or at $BOX_HELPER. \
        SIGTERM or SIGINT stops boxd and removes its socket; containers keep running (box ps still sees them).
        """)

    @Option(name: [.customShort("H"), .customLong("host")], help: ArgumentHelp("Where to listen: unix:///PATH or tcp://ADDRESS:PORT (repeatable)", valueName: "address"))
    var hosts: [String] = []

    @Flag(name: .customLong("i-know-this-is-root"), help: "Allow a tcp address other than loopback (anyone who reaches it is root here)")
    var iKnowThisIsRoot = false

    func validate() throws {
        for host in hosts {
            let listener: Listener
            do { listener = try Listener(parsing: host) } catch let e as BoxError { throw ValidationError(e.message) }
            if !listener.isLoopback && !iKnowThisIsRoot {
                throw ValidationError("""
                refusing to listen on \(listener.description): whoever reaches that address is root on this machine, \
                and boxd has no TLS client verification yet. Use a loopback address (tcp://127.0.0.1:PORT) or a \
                unix socket, or pass --i-know-this-is-root if this network is yours alone.
                """)
            }
        }
    }

    func run() throws {
        guard geteuid() == 0 else { throw BoxError(.usage, "boxd needs root (run it with sudo)") }
        let listeners = try (hosts.isEmpty ? ["unix://" + Listener.defaultSocket] : hosts).map(Listener.init(parsing:))
        let root = EngineRoot.fromEnvironment()
        try root.closeToOthers()
        // Each monitor boxd executes is its child until its container ends: a thread waits for it, so none stays
        // a zombie (boxd lives on; box, which ends after a start, leaves its monitors to init).
        let helper = HelperExecutable(path: try Boxd.helper(), spawned: { pid in
            Thread.start {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            }
        })
        let store = ContainerStore(root: root, helper: helper)

        // SIGINT and SIGTERM are blocked before any thread starts (every thread inherits the mask) and taken here
        // with sigwait: no handler runs on a random thread in the middle of the engine.
        var stopping = sigset_t()
        sigemptyset(&stopping)
        sigaddset(&stopping, SIGINT)
        sigaddset(&stopping, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &stopping, nil)
        signal(SIGPIPE, SIG_IGN)

        var open: [(Listener, Int32)] = []
        for listener in listeners {
            do { open.append((listener, try listener.open())) } catch {
                Boxd.removeSockets(open.map(\.0))
                throw error
            }
            if case .tcp = listener {
                Boxd.log("WARNING: listening on \(listener.description) without TLS: whoever can connect to it is root on this machine")
            }
        }
        Server(api: API(store: store)).serve(open)
        Boxd.log("boxd: API \(API.version) on \(open.map(\.0.description).joined(separator: ", ")), engine root \(root.path)")

        var signo: Int32 = 0
        sigwait(&stopping, &signo)
        Boxd.removeSockets(open.map(\.0))
        Boxd.log("boxd: stopping on signal \(signo); containers keep running")
        Glibc.exit(0)
    }

    /// box, which the engine executes as each container's monitor: $BOX_HELPER, or the box beside boxd.
    static func helper() throws -> String {
        var path = getenv("BOX_HELPER").map { String(cString: $0) } ?? ""
        if path.isEmpty {
            let me = Subprocess.selfExecutable()
            path = String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/box"
        }
        guard path.hasPrefix("/"), access(path, X_OK) == 0 else {
            throw BoxError(.usage, "boxd needs box to run containers' monitors: none at \(path) (install box beside boxd, or set BOX_HELPER)")
        }
        return path
    }

    static func removeSockets(_ listeners: [Listener]) {
        for case .unix(let path) in listeners { unlink(path) }
    }

    static func log(_ text: String) { writeFully(2, Array((text + "\n").utf8)) }
}

do {
    var command = try Boxd.parseAsRoot()
    try command.run()
} catch let error as BoxError {
    Boxd.log("boxd: \(error)")
    exit(1)
} catch {
    Boxd.exit(withError: error)
}
