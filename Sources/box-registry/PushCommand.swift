import ArgumentParser
import Engine
import Registry

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Upload an image to a registry",
        discussion: """
        The image's name says where it goes: box tag it first (box tag app localhost:5000/me/app:1). Each layer is \
        asked for first, and one the registry has is not sent again ("Layer already exists"). Layers go as box \
        keeps them, uncompressed, in an OCI manifest: the one box save --format oci writes for the same image.
          box push localhost:5000/me/app:1
        """)
    @Argument(help: "NAME[:TAG]") var name: String
    @Flag(name: [.short, .long], help: "Suppress the progress output") var quiet = false
    @Option(name: .customLong("chunk-size"),
            help: "Upload layers in chunks of at most this many bytes (PATCH requests), for a proxy that limits request sizes")
    var chunkSize: Int64?
    @OptionGroup var options: RegistryOptions
    @OptionGroup var transfer: TransferOptions

    func run() async throws {
        let ref: RemoteReference, image: Distribution.Pushable, sources: [String: [String]]
        transfer.check()
        do {
            ref = try RemoteReference(parsing: name)
            guard let local = ref.local else { throw BoxError(.usage, "push \(name): push a tag (NAME[:TAG]), not a digest", exitCode: 1) }
            do {
                let store = try imageStore()
                image = try store.pushable(local.description)
                sources = try store.repositories(holding: image.layers.map(\.digest), on: ref.registry)
            } catch let e as BoxError where e.exitCode == 1 && e.message.hasPrefix("No such image") {
                throw BoxError(.image, "An image does not exist locally with the tag: \(ref.name) (box tag IMAGE \(local) names one)", exitCode: 1)
            }
        } catch let e as BoxError { BoxRegistry.fail(e) }
        if !quiet { writeOut(1, "The push refers to repository [\(ref.fullName)]\n") }
        let lines = LayerLines(active: "Pushing", finished: "Pushed", existing: "Layer already exists", quiet: quiet)
        let result = try await withClient(ref.registry, options: options) { client in
            try await client.push(image, to: ref, mountFrom: sources, chunkSize: chunkSize, progress: { lines($0) })
        }
        writeOut(1, "\(ref.tag ?? "latest"): digest: \(result.manifestDigest) size: \(result.manifestSize)\n")
    }
}

extension ImageStore {
    /// Per layer digest, the other repositories of `registry` that box has an image with that layer under: where
    /// a push can ask the registry to mount the layer from instead of sending it (docker keeps the same knowledge
    /// per registry in its distribution metadata).
    func repositories(holding digests: [String], on registry: String) throws -> [String: [String]] {
        let wanted = Set(digests)
        var out: [String: [String]] = [:]
        for image in try list() {
            let repositories = image.names.compactMap { name -> String? in
                guard let ref = try? RemoteReference(parsing: name), ref.registry == registry else { return nil }
                return ref.repository
            }
            for diffID in image.config.rootfs.diff_ids where wanted.contains(diffID) {
                for repository in repositories where !(out[diffID]?.contains(repository) ?? false) {
                    out[diffID, default: []].append(repository)
                }
            }
        }
        return out
    }
}
