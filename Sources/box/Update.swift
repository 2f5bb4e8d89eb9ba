import ArgumentParser
import Engine

struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Change the resource limits of containers (written to the running container's cgroup at once)",
        discussion: "Example: box update --memory 64m --pids-limit 50 c1")
    @OptionGroup var limits: ResourceOptions
    @Option(name: .long, help: "Restart policy: no, on-failure[:N], always, unless-stopped (from the next exit of PID 1)")
    var restart: String?
    @OptionGroup var cfs: CFSLimits
    @OptionGroup(title: refusedTitle) var refused: UpdateRefused
    @Argument(help: "Containers")
    var containers: [String]

    func validate() throws {
        if limits.isEmpty && cfs.isEmpty && restart == nil && (try? refused.check()) != nil {
            throw ValidationError("nothing to update: give at least one limit, e.g. --memory 64m")
        }
    }

    func run() throws {
        try refused.check()
        let policy = try restart.map(RestartPolicy.init(parsing:))
        let store = try engine()
        // The same validation as run's flags, in one place (CreateOptions.resources).
        var flags = CreateOptions(image: "")
        limits.fill(&flags)
        cfs.fill(&flags)
        _ = try flags.resources(allowSwapAlone: true)  // bad limits: refused before any container changes
        try forEach(containers) { name in
            try Lifecycle(store: store).update(try store.resolve(name), restart: policy) { try flags.update(&$0) }
            say(name)
        }
    }
}

struct UpdateRefused: RefusedFlags {
    @Option(help: "box writes no block-IO weights: it does not enable the io (blkio) cgroup controller for its containers")
    var blkioWeight: String?
    @Option(help: "box sets no real-time CPU budget: that needs cgroup v1's cpu.rt_* files (a kernel with RT group scheduling)")
    var cpuRtPeriod: String?
    @Option(help: "box sets no real-time CPU budget: that needs cgroup v1's cpu.rt_* files (a kernel with RT group scheduling)")
    var cpuRtRuntime: String?
}
