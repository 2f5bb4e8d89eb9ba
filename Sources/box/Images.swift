import ArgumentParser
import Engine

struct Images: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List images")
    @Flag(name: [.short, .long], help: "Only show image ids")
    var quiet = false

    func run() throws {
        let store = try engine()
        _ = try DefaultImage.ensure(store.images)
        let images = try store.images.list()
        if quiet { images.forEach { say($0.shortID) }; return }
        var rows = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED"]]
        let now = Timestamp.now().seconds
        for image in images {
            let created = image.config.created.flatMap { Timestamp.parse($0) }
                .map { Timestamp.humanDuration(now - $0.seconds) + " ago" } ?? ""
            let names = image.names.isEmpty ? ["<none>:<none>"] : image.names
            for name in names {
                let i = name.lastIndex(of: ":")!
                rows.append([String(name[..<i]), String(name[name.index(after: i)...]), image.shortID, created])
            }
        }
        say(table(rows))
    }
}
