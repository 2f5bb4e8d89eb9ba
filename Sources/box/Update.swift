import ArgumentParser
import Engine

struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Change the resource limits of containers (written to the running container's cgroup at once)",
        discussion: "Example: box update --memory 64m --pids-limit 50 c1")
    @Option(name: [.short, .long], help: "Memory limit (e.g. 64m)")
    var memory: String?
    @Option(name: .customLong("memory-swap"), help: "Memory plus swap limit (-1: unlimited swap)")
    var memorySwap: String?
    @Option(name: [.customShort("c"), .customLong("cpu-shares")], help: "CPU shares (relative weight)")
    var cpuShares: Int64?
    @Option(name: .long, help: "Number of CPUs")
    var cpus: Double?
    @Option(name: .customLong("cpuset-cpus"), help: "CPUs the container may run on")
    var cpusetCpus: String?
    @Option(name: .customLong("pids-limit"), help: "Maximum number of processes")
    var pidsLimit: Int64?
    @Argument(help: "Containers")
    var containers: [String]

    func validate() throws {
        if [memory, memorySwap, cpusetCpus].allSatisfy({ $0 == nil }) && cpuShares == nil && cpus == nil && pidsLimit == nil {
            throw ValidationError("nothing to update: give at least one limit, e.g. --memory 64m")
        }
    }

    func run() throws {
        let store = try engine()
        // The same validation as run's flags, in one place (CreateOptions.resources).
        var flags = CreateOptions(image: "")
        flags.memory = memory
        flags.memorySwap = memorySwap
        flags.cpuShares = cpuShares
        flags.cpus = cpus
        flags.cpusetCpus = cpusetCpus
        flags.pidsLimit = pidsLimit
        let given = try flags.resources(allowSwapAlone: true)
        try forEach(containers) { name in
            try Lifecycle(store: store).update(try store.resolve(name)) { r in
                if memory != nil { r.Memory = given.Memory }
                if memorySwap != nil { r.MemorySwap = given.MemorySwap }
                if cpuShares != nil { r.CpuShares = given.CpuShares }
                if cpus != nil { r.NanoCpus = given.NanoCpus }
                if cpusetCpus != nil { r.CpusetCpus = given.CpusetCpus }
                if pidsLimit != nil { r.PidsLimit = given.PidsLimit }
            }
            say(name)
        }
    }
}
