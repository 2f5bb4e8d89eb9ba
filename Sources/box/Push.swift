import ArgumentParser

struct Push: RegistryVerb {
    static let configuration = passthrough("push", "Upload an image to a registry",
                                           example: "box push localhost:5000/me/app:1    (box push --help for its options: -q, --insecure-registry)")
    @Argument(parsing: .captureForPassthrough, help: "box-registry push's arguments (all go to it)")
    var arguments: [String] = []
}
