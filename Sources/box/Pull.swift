import ArgumentParser

struct Pull: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download an image from a registry (box-registry pull)",
        discussion: """
          box pull localhost:5000/me/app:1    (box pull --help for its options: -q, --insecure-registry)
        Everything after `pull` goes to box-registry, installed beside box.
        """)
    @Argument(parsing: .captureForPassthrough, help: "box-registry pull's arguments")
    var arguments: [String] = []

    func run() throws {
        try RegistryHelper.exec("pull", arguments)
    }
}
