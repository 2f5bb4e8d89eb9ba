import ArgumentParser
import DockerFormat
import Engine

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Show how an image was made, newest layer first")
    @Option(help: "Format output: 'table', 'table TEMPLATE', 'json', or a Go template over .ID .CreatedSince .CreatedAt .CreatedBy .Size .Comment")
    var format: String?
    @Option(name: [.customShort("H"), .long], help: "Print sizes and dates in human readable format (-H=false: bytes and RFC 3339)")
    var human: Bool = true
    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output")
    var noTrunc = false
    @Flag(name: [.short, .long], help: "Only show image ids")
    var quiet = false
    @Option(name: .long, help: "The image's platform: only this host's (linux/amd64 here), the only one box keeps")
    var platform: String?
    @Argument(help: "The image")
    var image: String

    static let titles: JSONValue = .object([
        ("ID", "IMAGE"), ("CreatedSince", "CREATED"), ("CreatedAt", "CREATED AT"), ("CreatedBy", "CREATED BY"),
        ("Size", "SIZE"), ("Comment", "COMMENT"),
    ].map { ($0.0, JSONValue.string($0.1)) })

    func run() throws {
        try platform.map(ImageConfig.checkPlatform)
        let store = try engine()
        // docker's NewHistoryFormat: -q is the format {{.ID}}, a row per step ("<missing>" below the image).
        let template = try listFormat(quiet ? "{{.ID}}" : format, defaultTable: "table {{.ID}}\t{{" + (human ? ".CreatedSince" : ".CreatedAt")
                                                            + "}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}")
        let img: Image
        do { img = try store.images.resolve(image) } catch let e as BoxError where e.message.hasPrefix("No such image") {
            throw BoxError.noSuchImage((try? ImageReference(parsing: image))?.description ?? image)
        }
        let history = img.config.history ?? []
        var layerDirs = try store.images.layerDirectories(img).makeIterator()
        var rows: [JSONValue] = []
        let now = Timestamp.now().seconds
        let id = noTrunc ? img.id : img.shortID
        for (i, h) in history.enumerated() {
            // docker's size of a step: its layer's unpacked size (0 for a step that made no layer).
            var size: Int64 = 0
            if h.empty_layer != true, let dir = layerDirs.next() { size = DiskUsage.size(of: dir) }
            let created = h.created.flatMap { Timestamp.parse($0) }
            let at = created.map(ListTime.seconds) ?? ""
            var by = (h.created_by ?? "").replacing("\t", with: " ")
            if !noTrunc && by.count > 45 { by = String(by.prefix(44)) + "…" }
            rows.append(.object([
                ("Comment", .string(h.comment ?? "")),
                ("CreatedAt", .string(at)),
                ("CreatedBy", .string(by)),
                ("CreatedSince", .string(human ? created.map { Units.humanDuration(now - $0.seconds) + " ago" } ?? "" : at)),
                // docker names a lower step by the parent image it recorded at commit or build; box records no
                // parent, and prints what docker prints for a pulled or loaded image.
                ("ID", .string(i == history.count - 1 ? id : "<missing>")),
                ("Size", .string(human ? Units.humanSize(size) : String(size))),
            ]))
        }
        rows.reverse()
        try printListing(template, rows, titles: Self.titles)
    }
}
