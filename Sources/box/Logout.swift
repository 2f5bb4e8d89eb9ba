import ArgumentParser

struct Logout: RegistryVerb {
    static let configuration = passthrough("logout", "Log out from a registry",
                                           example: "box logout localhost:5000")
    @Argument(parsing: .captureForPassthrough, help: "box-registry logout's arguments (all go to it)")
    var arguments: [String] = []
}
