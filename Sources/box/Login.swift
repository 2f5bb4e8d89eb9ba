import ArgumentParser

struct Login: RegistryVerb {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in to a registry (box-registry login)",
        discussion: """
          echo "$PW" | box login -u me --password-stdin localhost:5000    (box login --help for its options)
        """)
    @Argument(parsing: .captureForPassthrough, help: "box-registry login's arguments (all go to it)")
    var arguments: [String] = []
}
