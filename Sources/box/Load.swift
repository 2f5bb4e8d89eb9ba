#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load images from a tar archive or directory (docker-archive or OCI image layout)",
        discussion: """
        Reads standard input unless -i is given. Names, history and ids are kept; every layer and blob is
        checked against its digest, and nothing is stored unless all of it is right.
          box load -i busybox.tar
          skopeo copy docker-archive:busybox.tar oci:layout:latest && box load -i layout
        """)
    @Option(name: [.short, .long], help: "Read from a tar archive file or a directory, instead of standard input")
    var input: String?
    @Flag(name: [.short, .long], help: "Suppress the load progress")
    var quiet = false
    @Option(name: .long, help: "The platform to load: only the host's (linux/amd64 here), the one box runs")
    var platform: String?

    func run() throws {
        try platform.map(ImageConfig.checkPlatform)
        let store = try engine()
        let source: ImageLoad.Source
        if let input {
            source = .path(input)
        } else {
            guard isatty(0) == 0 else {
                throw BoxError(.usage, "requested load from stdin, but stdin is empty", exitCode: 1)
            }
            source = .fd(0, name: "standard input")
        }
        let staging = try ImageStaging(store: store.images, purpose: "load")
        let progress = Progress("Loading", bytes: 0, layers: 0, quiet: quiet)
        staging.onBytes = progress.add
        staging.onLayer = progress.layer
        let lines = try ImageLoad(store: store.images).load(source, staging: staging)
        progress.finish()
        lines.forEach(say)
    }
}
