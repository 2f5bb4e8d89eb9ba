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
    @Flag(name: [.short, .long], help: "Add a container's file sizes: SizeRw (its writable layer) and SizeRootFs (with its image's layers)")
    var size = false
    @Option(name: .long, help: "The image's platform: only this host's (linux/amd64 here), the only one box keeps")
    var platform: String?
    @Argument(help: "Containers or images (name, id or id prefix)")
    var names: [String]

    func validate() throws {
        if let type, !["container", "image"].contains(type) {
            throw ValidationError("--type must be container or image, not \(type)")
        }
    }

    func run() throws {
        try platform.map(ImageConfig.checkPlatform)
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
        if type != "image", let c = try? store.resolve(name) {
            let view = InspectView.container(c, store: store)
            guard size, case .object(let fields) = view else { return view }
            // docker's keys for -s (its sizes are du's: the writable layer, then that and the image's layers).
            let writable = DiskUsage.size(of: store.layerPath(c.id) + "/diff")
            let image = (try? store.images.resolve(c.spec.Image)).map { DiskUsage.size(of: (try? store.images.layerDirectories($0)) ?? []) } ?? 0
            return .object(fields + [("SizeRw", .int(writable)), ("SizeRootFs", .int(writable + image))])
        }
        if type != "container", let image = try? store.images.resolve(name) { return InspectView.image(image, store: store.images) }
        throw BoxError(.state, "No such object: \(name)", exitCode: 1)
    }
}
