import ArgumentParser

struct Logout: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Log out from a registry (box-registry logout)",
        discussion: """
          box logout localhost:5000
        Everything after `logout` goes to box-registry, installed beside box.
        """)
    @Argument(parsing: .captureForPassthrough, help: "box-registry logout's arguments")
    var arguments: [String] = []

    func run() throws {
        try RegistryHelper.exec("logout", arguments)
    }
}
