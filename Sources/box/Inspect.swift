import ArgumentParser
import DockerFormat
import Engine

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show low-level information on containers or images, as JSON",
        discussion: """
        --format takes a Go template, as docker's does:
          box inspect --format '{{.State.Pid}}' c1
          box inspect -f '{{json .State}}' c1
          box inspect -f '{{.GraphDriver.Data.MergedDir}}' c1
          box inspect -f '{{range .Config.Env}}{{println .}}{{end}}' c1
        """
    )
    @Option(name: [.short, .long], help: "Format the output with a Go template")
    var format: String?
    @Option(name: .long, help: "Only look for this type: container or image")
    var type: String?
    @Argument(help: "Containers or images (name, id or id prefix)")
    var names: [String]

    func validate() throws {
        if let type, !["container", "image"].contains(type) {
            throw ValidationError("--type must be container or image, not \(type)")
        }
    }

    func run() throws {
        let store = try engine()
        let template = try format.map { try FormatTemplate($0) }
        var values: [JSONValue] = []
        var failed = false
        for name in names {
            do {
                values.append(try lookup(store, name))
            } catch let e as BoxError {
                writeErr("box: \(e.exitCode == 1 ? "Error: No such object: \(name)" : e.description)\n")
                failed = true
            }
        }
        if let template {
            for v in values { say(try template.render(v)) }
        } else {
            say(JSONValue.array(values).prettyPrinted(escapeHTML: false))  // docker does not escape <>&
        }
        if failed { throw ExitCode(1) }
    }

    func lookup(_ store: ContainerStore, _ name: String) throws -> JSONValue {
        if type != "image", let c = try? store.resolve(name) { return InspectView.container(c, store: store) }
        if type != "container", let image = try? store.images.resolve(name) { return InspectView.image(image, store: store.images) }
        throw BoxError(.state, "No such object: \(name)", exitCode: 1)
    }
}
