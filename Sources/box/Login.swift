import ArgumentParser

struct Login: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in to a registry (box-registry login)",
        discussion: """
          echo "$PW" | box login -u me --password-stdin localhost:5000    (box login --help for its options)
        Everything after `login` goes to box-registry, installed beside box.
        """)
    @Argument(parsing: .captureForPassthrough, help: "box-registry login's arguments")
    var arguments: [String] = []

    func run() throws {
        try RegistryHelper.exec("login", arguments)
    }
}
