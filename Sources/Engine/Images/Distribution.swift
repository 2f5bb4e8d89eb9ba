#if canImport(Glibc)
import Glibc
#endif

/// The store's side of a registry push or pull (issue 20): the Registry library speaks HTTP, the engine says
/// what an image is made of and takes verified content in through ImageStaging, as `box load` does. So an
/// image pushed is described by the same OCI manifest `box save --format oci` writes (the same bytes, so the
/// same manifest digest), and an image pulled is stored exactly as a loaded or committed one.
public enum Distribution {
    public static let ociManifest = ArchiveFormat.ociManifest
    public static let ociIndex = ArchiveFormat.ociIndex
    public static let ociConfig = ArchiveFormat.ociConfig
    public static let ociLayer = ArchiveFormat.ociLayer
    public static let dockerManifestList = ArchiveFormat.dockerManifestList

    /// A blob of an image as the store holds it: config or uncompressed layer tar.
    public struct Blob: Sendable, Equatable {
        public var digest: String
        public var size: Int64
        public var path: String
        public var mediaType: String
    }

    /// An image ready to be pushed: its blobs (config last, as docker uploads it) and the manifest naming them.
    public struct Pushable: Sendable {
        public var image: Image
        public var layers: [Blob]
        public var config: Blob
        public var manifest: [UInt8]
        public var manifestDigest: String
        public var manifestMediaType: String
    }
}

extension ImageStore {
    /// The image `name` names, with its blobs checked to be in the store and its OCI manifest. Layers go
    /// uncompressed (application/vnd.oci.image.layer.v1.tar), as the store keeps them: their digest is their
    /// diff_id, so the same layer has the same digest in every push, and a registry that has it is not sent it
    /// again. (docker gzips each push again and remembers, per registry, which compressed digest a diff_id had.)
    public func pushable(_ name: String) throws -> Distribution.Pushable {
        let image = try resolve(name)
        let configPath = root.imageConfig(image.id)
        var layers: [Distribution.Blob] = []
        for diffID in image.config.rootfs.diff_ids {
            let path = root.blob(diffID)
            guard let size = Files.size(path) else {
                throw BoxError(.image, "layer \(diffID) of image \(image.shortID) is missing from \(root.blobs): remove the image and build, commit or load it again")
            }
            layers.append(.init(digest: diffID, size: size, path: path, mediaType: ArchiveFormat.ociLayer))
        }
        guard let configSize = Files.size(configPath) else { throw BoxError.noSuchImage(name) }
        let config = Distribution.Blob(digest: image.id, size: configSize, path: configPath, mediaType: ArchiveFormat.ociConfig)
        let manifest = try ArchiveFormat.encode(ociManifest(config: config, layers: layers))
        return .init(image: image, layers: layers, config: config, manifest: manifest,
                     manifestDigest: LayerArchive.sha256(manifest), manifestMediaType: ArchiveFormat.ociManifest)
    }

    /// The OCI image manifest of a stored image (`box save --format oci` and `box push` write the same).
    func ociManifest(config: Distribution.Blob, layers: [Distribution.Blob]) -> ArchiveFormat.OCIManifest {
        ArchiveFormat.OCIManifest(
            schemaVersion: 2, mediaType: ArchiveFormat.ociManifest,
            config: .init(mediaType: config.mediaType, digest: config.digest, size: config.size),
            layers: layers.map { .init(mediaType: $0.mediaType, digest: $0.digest, size: $0.size) })
    }

    /// Whether the store holds the unpacked layer with this diff_id (a pull skips downloading it).
    public func hasLayer(_ diffID: String) -> Bool {
        Digest.isValidHex(Digest.hex(diffID)) && Files.isDirectory(root.layerDir(diffID) + "/diff") && Files.exists(root.blob(diffID))
    }

    /// Whether the store holds the image with this id (the sha256 of its config).
    public func hasImage(_ id: String) -> Bool {
        Digest.isValidHex(Digest.hex(id)) && Files.exists(root.imageConfig(id))
    }

    /// The image id a name points at now, nil if none (a pull says whether it changed).
    public func id(named reference: ImageReference) -> String? {
        (try? loadRepositories())?.Repositories[reference.repository]?[reference.description]
    }
}
