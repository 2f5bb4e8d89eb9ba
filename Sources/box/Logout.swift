import ArgumentParser

struct Logout: RegistryVerb {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Log out from a registry (box-registry logout)",
        discussion: """
          box logout localhost:5000
        """)
    @Argument(parsing: .captureForPassthrough, help: "box-registry logout's arguments (all go to it)")
    var arguments: [String] = []
}
