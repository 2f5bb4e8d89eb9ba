import FoundationEssentials

/// The JSON of the two image archive formats the rest of the world reads and writes.
///
/// docker-archive (`docker save` before docker 25, skopeo's `docker-archive:`):
///
///     manifest.json            [{"Config": "<hex>.json", "RepoTags": ["busybox:latest"], "Layers": ["<id>/layer.tar"]}]
///     <hex>.json               the image config, byte for byte (its sha256 is the image id)
///     <id>/layer.tar           one uncompressed layer tar per layer (its sha256 is the layer's diff_id)
///     <id>/VERSION, <id>/json  the legacy v1 metadata docker wrote next to each layer
///     repositories             {"busybox": {"latest": "<id of the top layer>"}}
///
/// OCI image layout (image-spec image-layout.md; skopeo's `oci:`, umoci):
///
///     oci-layout               {"imageLayoutVersion": "1.0.0"}
///     index.json               an image index: one descriptor per image manifest (annotations name it)
///     blobs/sha256/<hex>       every manifest, config and layer, named by the sha256 of its bytes
public enum ArchiveFormat: String, Sendable, CaseIterable {
    case docker = "docker-archive"
    case oci

    struct DockerManifestEntry: Codable {
        var Config: String
        var RepoTags: [String]?
        var Layers: [String]
    }

    struct Descriptor: Codable {
        var mediaType: String?
        var digest: String
        var size: Int64
        var annotations: [String: String]?
        var platform: Platform?
    }

    struct Platform: Codable {
        var architecture: String
        var os: String
    }

    struct OCIManifest: Codable {
        var schemaVersion: Int
        var mediaType: String?
        var config: Descriptor
        var layers: [Descriptor]
    }

    struct OCIIndex: Codable {
        var schemaVersion: Int
        var mediaType: String?
        var manifests: [Descriptor]
    }

    struct OCILayout: Codable {
        var imageLayoutVersion: String
    }

    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let ociConfig = "application/vnd.oci.image.config.v1+json"
    static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    /// The annotation docker and containerd put the full image name in; OCI's own holds only the tag.
    static let nameAnnotation = "io.containerd.image.name"
    static let refAnnotation = "org.opencontainers.image.ref.name"

    /// JSON as the formats' own tools write it: sorted keys, and "/" not escaped (media types stay readable).
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], name: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw BoxError(.image, "\(name) is not valid: \(error)")
        }
    }
}
