import Engine
import Foundation

/// The JSON a registry serves for an image: an image manifest (docker schema 2 or OCI), or a list of them per
/// platform (a docker manifest list or an OCI index). Both kinds decode into one shape: `manifests` is set for
/// a list, `config` and `layers` for an image manifest.
struct RegistryManifest: Decodable {
    struct Platform: Decodable {
        var architecture: String
        var os: String
        var variant: String?
    }
    struct Descriptor: Decodable {
        var mediaType: String?
        var digest: String
        var size: Int64
        var platform: Platform?
        var urls: [String]?
    }
    var schemaVersion: Int
    var mediaType: String?
    var config: Descriptor?
    var layers: [Descriptor]?
    var manifests: [Descriptor]?

    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let dockerList = Distribution.dockerManifestList
    static let ociManifest = Distribution.ociManifest
    static let ociIndex = Distribution.ociIndex
    /// What a pull accepts, in the order containerd's resolver asks for them.
    static let accepted = [dockerManifest, dockerList, ociManifest, ociIndex]

    var isList: Bool { manifests != nil || mediaType == Self.dockerList || mediaType == Self.ociIndex }

    static func decode(_ bytes: [UInt8], what: String) throws -> RegistryManifest {
        if let head = try? JSONDecoder().decode(Head.self, from: Data(bytes)), head.schemaVersion == 1 {
            throw BoxError(.registry, "\(what) is a docker schema 1 manifest, which box (like docker since 2019) does not pull: push the image again with a newer tool", exitCode: 1)
        }
        let manifest: RegistryManifest
        do {
            manifest = try JSONDecoder().decode(RegistryManifest.self, from: Data(bytes))
        } catch {
            throw BoxError(.registry, "\(what) is not a valid manifest: \(error)")
        }
        // Sizes bound what is read (a config is collected up to its size): a negative one is a hostile manifest,
        // refused here before any size is used (the OCI image spec: size is the blob's length in bytes).
        for descriptor in [manifest.config].compactMap({ $0 }) + (manifest.layers ?? []) + (manifest.manifests ?? [])
        where descriptor.size < 0 {
            throw BoxError(.registry, "\(what) says \(descriptor.digest) is \(descriptor.size) bytes: not a valid manifest; nothing was stored")
        }
        return manifest
    }
    private struct Head: Decodable { var schemaVersion: Int? }

    /// The image for this machine in a list: linux and the host's architecture (arm64's variant v8 if named).
    func pick(what: String) throws -> Descriptor {
        let arch = ImageConfig.hostArchitecture
        let candidates = (manifests ?? []).filter { $0.platform?.os == "linux" && $0.platform?.architecture == arch }
        if let chosen = candidates.first(where: { $0.platform?.variant == nil || $0.platform?.variant == "v8" }) ?? candidates.first {
            return chosen
        }
        let offered = (manifests ?? []).compactMap { $0.platform.map { "\($0.os)/\($0.architecture)" + ($0.variant.map { "/" + $0 } ?? "") } }
        throw BoxError(.registry, "\(what) has no image for linux/\(arch) (it has: \(offered.isEmpty ? "none named" : offered.joined(separator: ", ")))", exitCode: 1)
    }
}
