import ArgumentParser

struct Pull: RegistryVerb {
    static let configuration = passthrough("pull", "Download an image from a registry",
                                           example: "box pull localhost:5000/me/app:1    (box pull --help for its options: -q, --insecure-registry)")
    @Argument(parsing: .captureForPassthrough, help: "box-registry pull's arguments (all go to it)")
    var arguments: [String] = []
}
