import ArgumentParser
import DockerFormat
import Engine

struct Images: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "List images")
    @Argument(help: "Only images of this repository (or REPOSITORY:TAG; * and ? match within a path component)")
    var reference: String?
    @Flag(name: [.short, .long], help: "Show all images (box makes no intermediate images: the same as without)")
    var all = false
    @Flag(help: "Show digests")
    var digests = false
    @Option(name: [.short, .long], help: "Filter output: dangling=true|false, reference=PATTERN, before=IMAGE, since=IMAGE, label=KEY[=VALUE]")
    var filter: [String] = []
    @Option(help: "Format output: 'table', 'table TEMPLATE', 'json', or a Go template over .ID .Repository .Tag .Digest .CreatedSince .CreatedAt .Size .VirtualSize")
    var format: String?
    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output")
    var noTrunc = false
    @Flag(name: [.short, .long], help: "Only show image ids")
    var quiet = false
    @Flag(help: "Show the layers as a tree: images that share layers share branches (overlay lowerdirs)")
    var tree = false

    static let titles: JSONValue = .object([
        ("ID", "IMAGE ID"), ("Repository", "REPOSITORY"), ("Tag", "TAG"), ("Digest", "DIGEST"), ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"), ("Size", "SIZE"), ("VirtualSize", "VIRTUAL SIZE"), ("SharedSize", "SHARED SIZE"),
        ("UniqueSize", "UNIQUE SIZE"), ("Containers", "CONTAINERS"),
    ].map { ($0.0, JSONValue.string($0.1)) })

    func run() throws {
        let store = try engine()
        _ = try DefaultImage.ensure(store.images)
        var filters = try ListFilters(filter, accepted: ImageFilter.keys)
        if let reference { filters.add("reference", reference) }
        let selection = try ImageFilter(filters, store: store.images)
        let images = try store.images.list()
        if tree { return say(Images.tree(images)) }
        let table = "table {{.Repository}}\t{{.Tag}}\t" + (digests ? "{{.Digest}}\t" : "") + "{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
        let template = try listFormat(format, defaultTable: table)
        let now = Timestamp.now().seconds
        var rows: [JSONValue] = []
        for image in images {
            guard let names = selection.names(image) else { continue }
            let id = noTrunc ? image.id : image.shortID
            if quiet {
                for _ in names.isEmpty ? [""] : names { say(id) }
                continue
            }
            let created = image.config.created.flatMap { Timestamp.parse($0) }
            let size = DiskUsage.size(of: try store.images.layerDirectories(image))
            for name in names.isEmpty ? ["<none>:<none>"] : names {
                let i = name.lastIndex(of: ":")!
                rows.append(.object([
                    ("Containers", "N/A"),
                    ("CreatedAt", .string(created.map(ListTime.goString) ?? "")),
                    ("CreatedSince", .string(created.map { Units.humanDuration(now - $0.seconds) + " ago" } ?? "N/A")),
                    ("Digest", "<none>"),
                    ("ID", .string(id)),
                    ("Repository", .string(String(name[..<i]))),
                    ("SharedSize", "N/A"),
                    ("Size", .string(Units.humanSize(size))),
                    ("Tag", .string(String(name[name.index(after: i)...]))),
                    ("UniqueSize", "N/A"),
                    ("VirtualSize", .string(Units.humanSize(size, precision: 4))),
                ]))
            }
        }
        if !quiet { try printListing(template, rows, titles: Self.titles) }
    }

    /// Old docker's `images --tree`: one line per layer, indented under the layer it sits on; an image is
    /// named at its top layer (images that differ only in their config share it).
    static func tree(_ images: [Image]) -> String {
        final class Node {
            var children: [String: Node] = [:]
            var order: [String] = []
            var images: [Image] = []
        }
        let root = Node()
        for image in images.sorted(by: { $0.config.rootfs.diff_ids.count < $1.config.rootfs.diff_ids.count }) {
            var node = root
            for layer in image.config.rootfs.diff_ids {
                if node.children[layer] == nil { node.children[layer] = Node(); node.order.append(layer) }
                node = node.children[layer]!
            }
            node.images.append(image)
        }
        var lines: [String] = []
        func walk(_ node: Node, _ prefix: String) {
            for (i, layer) in node.order.enumerated() {
                let child = node.children[layer]!
                let last = i == node.order.count - 1
                var line = prefix + (last ? "└─" : "├─") + Digest.hex(layer).prefix(12)
                if !child.images.isEmpty {
                    let names = child.images.map { $0.names.isEmpty ? $0.shortID : $0.names.joined(separator: ", ") + " (" + $0.shortID + ")" }
                    line += " Images: " + names.joined(separator: "; ")
                }
                lines.append(line)
                walk(child, prefix + (last ? "  " : "│ "))
            }
        }
        walk(root, "")
        return lines.joined(separator: "\n")
    }
}
