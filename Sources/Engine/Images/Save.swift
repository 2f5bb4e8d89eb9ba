#if canImport(Glibc)
import Glibc
#endif

/// `box save`: images as one tar, in docker-archive or OCI layout form (see ArchiveFormat). The layer tars
/// and configs go in exactly as the store holds them, so the digests in the archive are the store's, and a
/// save -> load -> save gives the same bytes. Every file in the archive has mtime 0, as docker's do.
public struct ImageSave {
    public let store: ImageStore
    public init(store: ImageStore) { self.store = store }

    /// An image to save and the names it is saved under.
    public struct Item {
        var image: Image
        var tags: [String]
    }

    /// Resolves every name before anything is written, so a typo fails with nothing half-saved.
    /// What `names` resolve to, each image once: a name that resolves to nothing throws here, before any file.
    public func items(_ names: [String]) throws -> [Item] {
        var items: [Item] = []
        for name in names {
            let image = try store.resolve(name)
            // Named by id: no tag goes with it (docker's RepoTags: null).
            let tag = (try? ImageReference(parsing: name)).flatMap { ref in image.names.contains(ref.description) ? ref.description : nil }
            if let i = items.firstIndex(where: { $0.image.id == image.id }) {
                if let tag, !items[i].tags.contains(tag) { items[i].tags.append(tag) }
            } else {
                items.append(Item(image: image, tags: tag.map { [$0] } ?? []))
            }
        }
        return items
    }

    /// The total size of the layers that will be written (for a progress bar).
    public func layerBytes(_ items: [Item]) -> (bytes: Int64, layers: Int) {
        var seen = Set<String>(), bytes: Int64 = 0
        for item in items {
            for diffID in item.image.config.rootfs.diff_ids where seen.insert(diffID).inserted {
                bytes += Files.size(store.root.blob(diffID)) ?? 0
            }
        }
        return (bytes, seen.count)
    }

    /// Writes the images to `tar` (and closes it). `onLayer` is called before each layer is written.
    public func write(_ items: [Item], format: ArchiveFormat, to tar: TarWriter, onLayer: ((String) -> Void)? = nil) throws {
        for item in items {
            for diffID in item.image.config.rootfs.diff_ids where !Files.exists(store.root.blob(diffID)) {
                throw BoxError(.image, "layer \(diffID) of image \(item.image.shortID) is missing from \(store.root.blobs)")
            }
        }
        switch format {
        case .docker: try writeDocker(items, to: tar, onLayer: onLayer)
        case .oci: try writeOCI(items, to: tar, onLayer: onLayer)
        }
        try tar.close()
    }

    /// The id docker-archive gives a layer's directory: its chain id (the sha256 of the parent's chain id, a
    /// space and its own diff_id; the bottom layer's is its diff_id), so a layer on the same stack of parents
    /// gets the same directory in every archive.
    static func chainIDs(_ diffIDs: [String]) -> [String] {
        var out: [String] = []
        for diffID in diffIDs {
            out.append(out.last.map { LayerArchive.sha256(Array(($0 + " " + diffID).utf8)) } ?? diffID)
        }
        return out
    }

    func writeDocker(_ items: [Item], to tar: TarWriter, onLayer: ((String) -> Void)?) throws {
        var manifest: [ArchiveFormat.DockerManifestEntry] = []
        var repositories: [String: [String: String]] = [:]
        var written = Set<String>()
        for item in items {
            let configName = Digest.hex(item.image.id) + ".json"
            if written.insert(configName).inserted {
                try tar.bytes(configName, try Files.read(store.root.imageConfig(item.image.id)), mtime: 0)
            }
            let diffIDs = item.image.config.rootfs.diff_ids
            let ids = ImageSave.chainIDs(diffIDs).map(Digest.hex)
            for (i, diffID) in diffIDs.enumerated() where written.insert(ids[i]).inserted {
                onLayer?(diffID)
                try tar.directory(ids[i], mtime: 0)
                try tar.bytes(ids[i] + "/VERSION", Array("1.0".utf8), mtime: 0)
                var legacy = ["id": ids[i], "created": "1970-01-01T00:00:00Z", "os": item.image.config.os]
                if i > 0 { legacy["parent"] = ids[i - 1] }
                try tar.bytes(ids[i] + "/json", try ArchiveFormat.encode(legacy), mtime: 0)
                try tar.file(ids[i] + "/layer.tar", from: store.root.blob(diffID), mtime: 0)
            }
            manifest.append(.init(Config: configName, RepoTags: item.tags.isEmpty ? nil : item.tags,
                                  Layers: ids.map { $0 + "/layer.tar" }))
            for tag in item.tags {
                let ref = try ImageReference(parsing: tag)
                if let top = ids.last { repositories[ref.repository, default: [:]][ref.tag] = top }
            }
        }
        try tar.bytes("manifest.json", try ArchiveFormat.encode(manifest), mtime: 0)
        try tar.bytes("repositories", try ArchiveFormat.encode(repositories), mtime: 0)
    }

    func writeOCI(_ items: [Item], to tar: TarWriter, onLayer: ((String) -> Void)?) throws {
        try tar.bytes("oci-layout", try ArchiveFormat.encode(ArchiveFormat.OCILayout(imageLayoutVersion: "1.0.0")), mtime: 0)
        try tar.directory("blobs", mtime: 0)
        try tar.directory("blobs/sha256", mtime: 0)
        var written = Set<String>()
        func blob(_ digest: String, _ write: () throws -> Void) throws {
            if written.insert(digest).inserted { try write() }
        }
        var index: [ArchiveFormat.Descriptor] = []
        for item in items {
            let configBytes = try Files.read(store.root.imageConfig(item.image.id))
            try blob(item.image.id) { try tar.bytes("blobs/sha256/" + Digest.hex(item.image.id), configBytes, mtime: 0) }
            var layers: [Distribution.Blob] = []
            for diffID in item.image.config.rootfs.diff_ids {
                let path = store.root.blob(diffID)
                guard let size = Files.size(path) else { throw BoxError.sys(.image, "stat \(path)") }
                layers.append(.init(digest: diffID, size: size, path: path, mediaType: ArchiveFormat.ociLayer))
                try blob(diffID) {
                    onLayer?(diffID)
                    try tar.file("blobs/sha256/" + Digest.hex(diffID), from: path, mtime: 0)
                }
            }
            // The manifest `box push` sends for the same image (ImageStore.pushable): one digest in both.
            let config = Distribution.Blob(digest: item.image.id, size: Int64(configBytes.count),
                                           path: store.root.imageConfig(item.image.id), mediaType: ArchiveFormat.ociConfig)
            let manifest = store.ociManifest(config: config, layers: layers)
            let manifestBytes = try ArchiveFormat.encode(manifest)
            let manifestDigest = LayerArchive.sha256(manifestBytes)
            try blob(manifestDigest) { try tar.bytes("blobs/sha256/" + Digest.hex(manifestDigest), manifestBytes, mtime: 0) }
            let descriptor = ArchiveFormat.Descriptor(mediaType: ArchiveFormat.ociManifest, digest: manifestDigest,
                                                      size: Int64(manifestBytes.count))
            if item.tags.isEmpty { index.append(descriptor) }
            for tag in item.tags {
                // docker's way: the full name for docker and containerd, the tag alone for OCI tools
                // (skopeo's oci:DIR:TAG, umoci's --image DIR:TAG).
                var named = descriptor
                named.annotations = [ArchiveFormat.nameAnnotation: tag,
                                     ArchiveFormat.refAnnotation: try ImageReference(parsing: tag).tag]
                index.append(named)
            }
        }
        let indexJSON = ArchiveFormat.OCIIndex(schemaVersion: 2, mediaType: ArchiveFormat.ociIndex, manifests: index)
        try tar.bytes("index.json", try ArchiveFormat.encode(indexJSON), mtime: 0)
    }
}
