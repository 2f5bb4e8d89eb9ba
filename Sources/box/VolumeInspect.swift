import ArgumentParser
import DockerFormat
import Engine

struct VolumeInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show volumes as JSON")

    @OptionGroup var arguments: InspectArguments

    func run() throws {
        let store = try volumeStore()
        var values: [JSONValue] = []
        var failed: [BoxError] = []
        for name in arguments.names {
            do { values.append(try store.get(name).inspectValue(store)) } catch let e as BoxError { failed.append(e) }
        }
        // As docker: the volumes found (an empty array if none), then an error for each missing one.
        try arguments.print(values)
        for e in failed { writeErr("box: \(e)\n") }
        if !failed.isEmpty { throw ExitCode(1) }
    }
}
