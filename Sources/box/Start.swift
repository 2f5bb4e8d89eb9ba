import ArgumentParser
import Engine

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start one or more stopped containers",
        discussion: "The container's writable layer is kept between runs: files written last time are still there."
    )
    @Flag(name: [.short, .long], help: "Attach to the container's output (and forward signals)")
    var attach = false
    @Flag(name: [.short, .long], help: "Attach the container's STDIN")
    var interactive = false
    @Option(name: .customLong("detach-keys"), help: "The keys that detach, with -a and a tty (default ctrl-p,ctrl-q): comma-separated, each a character or ctrl-X")
    var detachKeys: String?
    @OptionGroup(title: refusedTitle) var refused: StartRefused
    @Argument(help: "Containers (name, id or id prefix)")
    var containers: [String]

    func validate() throws {
        if (attach || interactive) && containers.count > 1 {
            throw ValidationError("you cannot attach to more than one container at a time")
        }
    }

    func run() throws {
        try refused.check()
        let keys = try detachKeys.map(DetachKeys.parse) ?? DetachKeys.standard
        let store = try engine()
        if attach || interactive {
            let c = try store.resolve(containers[0])
            try startAndAttach(store, c, attach: true, stdin: interactive && c.spec.Config.OpenStdin,
                               tty: c.spec.Config.Tty, printID: false, detachKeys: keys)
            return
        }
        try forEach(containers) { name in
            let c = try store.resolve(name)
            if try store.load(c.id).state.Running { say(name); return }
            try startAndAttach(store, c, attach: false, stdin: false, tty: false, printID: false)
            say(name)
        }
    }
}

struct StartRefused: RefusedFlags {
    @Option(help: "box keeps no checkpoints (docker's are CRIU's, and experimental)")
    var checkpoint: String?
    @Option(help: "box keeps no checkpoints (docker's are CRIU's, and experimental)")
    var checkpointDir: String?
}
