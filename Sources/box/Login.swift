import ArgumentParser

struct Login: RegistryVerb {
    static let configuration = passthrough("login", "Log in to a registry",
                                           example: "echo \"$PW\" | box login -u me --password-stdin localhost:5000    (box login --help for its options)")
    @Argument(parsing: .captureForPassthrough, help: "box-registry login's arguments (all go to it)")
    var arguments: [String] = []
}
