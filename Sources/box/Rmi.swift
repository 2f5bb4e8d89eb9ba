import ArgumentParser
import Engine

struct Rmi: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rmi",
        abstract: "Remove image names, and images (with their unshared layers) once no name is left",
        discussion: """
        An image a container was created from keeps its layers until the container is removed. As docker's: \
        removing its last name, or the image by id, is refused unless -f; with -f a stopped container's image \
        goes (its layers stay for the container), a running container's never does.
        """)
    @Flag(name: [.short, .long], help: "Force removal of the image (all its names, and when only stopped containers use it)")
    var force = false
    @Flag(name: .customLong("no-prune"), help: "Do not delete untagged parents (box's images have no parent images: accepted, no effect)")
    var noPrune = false
    @Option(name: .long, help: "The image's platform: only this host's (linux/amd64 here), the only one box keeps")
    var platform: String?
    @Argument(help: "Images (name or id)")
    var images: [String]

    func run() throws {
        try platform.map(ImageConfig.checkPlatform)
        let store = try engine()
        var failed = false
        for name in images {
            do {
                for line in try store.images.remove(name, users: try store.imageUsers(), force: force) { say(line) }
            } catch let e as BoxError {
                writeErr("box: \(e)\n")
                // docker's CLI: with -f, an image that is not there is reported but is no failure.
                if !(force && e.message.hasPrefix("No such image")) { failed = true }
            }
        }
        if failed { throw ExitCode(1) }
    }
}
