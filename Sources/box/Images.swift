import ArgumentParser
import DockerFormat
import Engine

struct Images: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "List images")
    @Flag(name: [.short, .long], help: "Only show image ids")
    var quiet = false
    @Flag(help: "Show the layers as a tree: images that share layers share branches (overlay lowerdirs)")
    var tree = false

    func run() throws {
        let store = try engine()
        _ = try DefaultImage.ensure(store.images)
        let images = try store.images.list()
        if quiet { images.forEach { say($0.shortID) }; return }
        if tree { return say(Images.tree(images)) }
        var rows = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED"]]
        let now = Timestamp.now().seconds
        for image in images {
            let created = image.config.created.flatMap { Timestamp.parse($0) }
                .map { Units.humanDuration(now - $0.seconds) + " ago" } ?? ""
            let names = image.names.isEmpty ? ["<none>:<none>"] : image.names
            for name in names {
                let i = name.lastIndex(of: ":")!
                rows.append([String(name[..<i]), String(name[name.index(after: i)...]), image.shortID, created])
            }
        }
        say(table(rows))
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
