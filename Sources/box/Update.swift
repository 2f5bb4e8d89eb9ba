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
        _ = try flags.resources(allowSwapAlone: true)  // bad limits: refused before any container changes
        try forEach(containers) { name in
            try Lifecycle(store: store).update(try store.resolve(name)) { try flags.update(&$0) }
            say(name)
        }
    }
}
