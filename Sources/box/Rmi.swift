import ArgumentParser
import Engine

struct Rmi: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rmi",
        abstract: "Remove image names, and images (with their unshared layers) once no name is left",
        discussion: "An image a container was created from cannot be removed: remove the container first.")
    @Argument(help: "Images (name or id)")
    var images: [String]

    func run() throws {
        let store = try engine()
        try forEach(images) { name in
            for line in try store.images.remove(name, users: try store.imageUsers()) { say(line) }
        }
    }
}
