import ArgumentParser
import Engine

struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Change the resource limits of containers (written to the running container's cgroup at once)",
        discussion: "Example: box update --memory 64m --pids-limit 50 c1")
    @OptionGroup var limits: ResourceOptions
    @Argument(help: "Containers")
    var containers: [String]

    func validate() throws {
        if limits.isEmpty {
            throw ValidationError("nothing to update: give at least one limit, e.g. --memory 64m")
        }
    }

    func run() throws {
        let store = try engine()
        // The same validation as run's flags, in one place (CreateOptions.resources).
        var flags = CreateOptions(image: "")
        limits.fill(&flags)
        let given = try flags.resources(allowSwapAlone: true)
        try forEach(containers) { name in
            try Lifecycle(store: store).update(try store.resolve(name)) { r in
                if limits.memory != nil { r.Memory = given.Memory }
                if limits.memorySwap != nil { r.MemorySwap = given.MemorySwap }
                if limits.cpuShares != nil { r.CpuShares = given.CpuShares }
                if limits.cpus != nil { r.NanoCpus = given.NanoCpus }
                if limits.cpusetCpus != nil { r.CpusetCpus = given.CpusetCpus }
                if limits.pidsLimit != nil { r.PidsLimit = given.PidsLimit }
            }
            say(name)
        }
    }
}
