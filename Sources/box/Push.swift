import ArgumentParser

struct Push: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Upload an image to a registry (box-registry push)",
        discussion: """
          box push localhost:5000/me/app:1    (box push --help for its options: -q, --insecure-registry)
        Everything after `push` goes to box-registry, installed beside box.
        """)
    @Argument(parsing: .captureForPassthrough, help: "box-registry push's arguments")
    var arguments: [String] = []

    func run() throws {
        try RegistryHelper.exec("push", arguments)
    }
}
