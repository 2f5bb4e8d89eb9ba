import ArgumentParser
import Engine

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Create an image of one layer from a filesystem tar (a file, or - for standard input)",
        discussion: """
        Unlike load, import keeps no history: the image has one layer and an empty config, unless -c sets one.
          box import c1.tar flat:v1
          box export c1 | box import -c 'CMD ["sh"]' - flat:v2
        """)
    @Option(name: [.short, .long], help: "Commit message for the imported image")
    var message: String = ""
    @Option(name: [.short, .customLong("change")], help: "Apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL")
    var change: [String] = []
    @Option(name: .long, help: "The platform of the new image: only the host's (linux/amd64 here), which it is")
    var platform: String?
    @Argument(help: "The tar file, or - for standard input")
    var file: String
    @Argument(help: "Name for the new image: REPOSITORY[:TAG]")
    var reference: String?

    func run() throws {
        try platform.map(ImageConfig.checkPlatform)
        let store = try engine()
        let ref = try reference.map { try ImageReference(parsing: $0) }
        let staging = try ImageStaging(store: store.images, purpose: "import")
        let id = try ImageImport(store: store.images).run(file == "-" ? nil : file, reference: ref, message: message,
                                                          changes: change, staging: staging)
        say(id)
    }
}
