#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DockerFormat
import Engine

struct Commit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commit",
        abstract: "Create a new image from a container's changes (its writable layer becomes a new layer)",
        discussion: """
        The base image stays as it was; the new one shares its layers and adds one. A running container is
        frozen for the moment of the copy.
          box commit c1 busybox-notes
          box commit -m "added a note" -c 'CMD ["cat", "/root/note"]' c1 notes:v2
        """)
    @Option(name: [.short, .long], help: "Commit message (shown by box history)")
    var message: String = ""
    @Option(name: [.short, .customLong("change")], help: "Apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL")
    var change: [String] = []
    @Option(name: [.short, .long], help: "Author (e.g. \"Ada <ada@example.org>\"), kept in the image's config")
    var author: String?
    @Option(name: [.short, .long], help: "Freeze a running container during the copy (default true; --pause=false copies it running)")
    var pause: Bool = true
    @Argument(help: "The container")
    var container: String
    @Argument(help: "Name for the new image: REPOSITORY[:TAG]")
    var reference: String?

    func run() throws {
        let store = try engine()
        let ref = try reference.map { try ImageReference(parsing: $0) }
        let progress = Progress("Committing", bytes: 0, layers: 0)
        let id = try Engine.Commit(store: store).run(try store.resolve(container), reference: ref, message: message,
                                                     changes: change, author: author, pause: pause, onBytes: progress.add)
        progress.finish()
        say(id)
    }
}

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "List what changed in a container's filesystem: A added, C changed, D deleted")
    @Argument(help: "The container")
    var container: String

    func run() throws {
        let store = try engine()
        for (kind, path) in try Engine.Commit(store: store).changes(try store.resolve(container)) {
            say("\(kind.rawValue) \(path)")
        }
    }
}

struct Tag: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Give an image another name: box tag SOURCE TARGET")
    @Argument(help: "The image (name or id)")
    var source: String
    @Argument(help: "The new name: REPOSITORY[:TAG]")
    var target: String

    func run() throws {
        let store = try engine()
        let image = try store.images.resolve(source)
        let ref = try ImageReference(parsing: target)
        try store.root.locked { try store.images.tag(image.id, as: ref) }
    }
}
