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
    @Option(name: .customLong("cpu-period"), help: "Limit CPU CFS (Completely Fair Scheduler) period, in µs")
    var cpuPeriod: Int64?
    @Option(name: .customLong("cpu-quota"), help: "Limit CPU CFS (Completely Fair Scheduler) quota, in µs a period")
    var cpuQuota: Int64?
    @Option(name: .customLong("cpuset-mems"), help: "Memory nodes the container may use (e.g. 0-1)")
    var cpusetMems: String?
    @Option(name: .customLong("memory-reservation"), help: "Memory soft limit (e.g. 32m)")
    var memoryReservation: String?
    @OptionGroup(title: refusedTitle) var refused: UpdateRefused
    @Argument(help: "Containers")
    var containers: [String]

    func validate() throws {
        let more = cpuPeriod != nil || cpuQuota != nil || cpusetMems != nil || memoryReservation != nil
        if limits.isEmpty && !more && restart == nil && (try? refused.check()) != nil {
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
        flags.cpuPeriod = cpuPeriod
        flags.cpuQuota = cpuQuota
        flags.cpusetMems = cpusetMems
        flags.memoryReservation = memoryReservation
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
