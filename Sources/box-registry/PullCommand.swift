import ArgumentParser
import Engine
import Registry

struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download an image from a registry",
        discussion: """
        NAME is [REGISTRY/]REPOSITORY[:TAG|@DIGEST]; a first component with a "." or ":" (or localhost) is the \
        registry, otherwise Docker Hub. Plain HTTP for loopback registries (or --insecure-registry), HTTPS otherwise. \
        Every manifest, config and layer is checked against its digest; nothing is stored, and no tag moves, unless \
        all of it is right. Layers box has already are not downloaded.
          box pull localhost:5000/me/app:1
          box pull localhost:5000/me/app@sha256:...
        """)
    @Argument(help: "NAME[:TAG|@DIGEST]") var name: String
    @Flag(name: [.short, .long], help: "Suppress the progress output") var quiet = false
    @OptionGroup var options: RegistryOptions
    @OptionGroup var transfer: TransferOptions

    func run() async throws {
        let ref: RemoteReference, store: ImageStore
        transfer.check()
        do {
            ref = try RemoteReference(parsing: name)
            store = try imageStore()
        } catch let e as BoxError { BoxRegistry.fail(e) }
        // A tag follows the last "/" (localhost:5000/me/app has a port, not a tag).
        let last = name.split(separator: "/").last ?? ""
        if !last.contains(":") && !name.contains("@") && !quiet { writeOut(1, "Using default tag: latest\n") }
        if !quiet { writeOut(1, "\(ref.digest ?? ref.tag ?? "latest"): Pulling from \(ref.repository)\n") }
        let lines = LayerLines(active: "Downloading", finished: "Pull complete", existing: "Already exists", quiet: quiet)
        let result = try await withClient(ref.registry, options: options) { client in
            try await client.pull(ref, store: store, progress: { lines($0) })
        }
        let shown = ref.local?.description ?? "\(ref.name)@\(result.manifestDigest)"
        if !quiet {
            writeOut(1, "Digest: \(result.manifestDigest)\n")
            writeOut(1, result.downloaded > 0 || result.changed
                     ? "Status: Downloaded newer image for \(shown)\n" : "Status: Image is up to date for \(shown)\n")
        }
        writeOut(1, shown + "\n")
    }
}
