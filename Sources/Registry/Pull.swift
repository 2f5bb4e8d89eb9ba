#if canImport(Glibc)
import Glibc
#endif
import AsyncHTTPClient
import Engine
import NIOCore

/// What `box pull` did.
public struct PullResult: Sendable {
    /// The image id (sha256 of its config), the same id the image had where it was pushed from.
    public var id: String
    /// The digest of the manifest the tag pointed at (of the list, for a multi-platform image), docker's "Digest:".
    public var manifestDigest: String
    /// Layers downloaded (0 when the store had every one).
    public var downloaded: Int
    /// The name tagged (nil for a pull by digest), and whether it pointed elsewhere (or nowhere) before.
    public var tagged: ImageReference?
    public var changed: Bool
}

extension RegistryClient {
    /// Pulls an image into the store. The manifest, the config and every layer are checked against their digests
    /// as they arrive, in a staging directory (ImageStaging, as `box load` uses); only when everything is there
    /// and right is it moved into the store and tagged. A failure anywhere leaves the store as it was. A layer the
    /// store already has (by its diff_id, which the verified config names) is not downloaded.
    public func pull(_ ref: RemoteReference, store: ImageStore, progress: @escaping TransferProgress) async throws -> PullResult {
        let what = "pull \(ref)"
        var (bytes, digest) = try await fetchManifest(ref.repository, reference: ref.manifestReference, expected: ref.digest, what: what)
        let topDigest = digest
        var manifest = try RegistryManifest.decode(bytes, what: "the manifest of \(ref)")
        if manifest.isList {
            let chosen = try manifest.pick(what: "\(ref) (a multi-platform image)")
            (bytes, digest) = try await fetchManifest(ref.repository, reference: chosen.digest, expected: chosen.digest, what: what)
            guard Int64(bytes.count) == chosen.size else {
                throw BoxError(.registry, "\(what): manifest \(chosen.digest) is \(bytes.count) bytes, the list says \(chosen.size): the registry's copy is damaged; nothing was stored")
            }
            manifest = try RegistryManifest.decode(bytes, what: "manifest \(chosen.digest) of \(ref)")
            guard !manifest.isList else { throw BoxError(.registry, "\(what): the list names another list (\(chosen.digest)); box pulls image manifests only") }
        }
        guard let configDescriptor = manifest.config, let layers = manifest.layers else {
            throw BoxError(.registry, "\(what): manifest \(digest) names no config or no layers: not an image manifest")
        }

        let staging = try ImageStaging(store: store, purpose: "pull")
        defer { staging.discard() }
        let configBytes: [UInt8]
        if store.hasImage(configDescriptor.digest) {
            configBytes = try Files.read(store.root.imageConfig(configDescriptor.digest))
        } else {
            configBytes = try await blob(ref.repository, configDescriptor, what: "\(what): its config")
        }
        let (id, config) = try staging.addConfig(configBytes, name: "config \(configDescriptor.digest) of \(ref)")
        guard id == configDescriptor.digest else {
            throw BoxError(.registry, "\(what): config \(configDescriptor.digest)'s sha256 is \(id): the registry's copy is damaged; nothing was stored")
        }
        let diffIDs = config.rootfs.diff_ids
        guard diffIDs.count == layers.count else {
            throw BoxError(.registry, "\(what): manifest \(digest) lists \(layers.count) layers, its config \(diffIDs.count): the image is broken where it was pushed from")
        }
        var downloaded = 0
        for (i, layer) in layers.enumerated() {
            if store.hasLayer(diffIDs[i]) {
                progress(.exists(layer.digest))
                continue
            }
            guard layer.digest.hasPrefix("sha256:"), Digest.isValidHex(Digest.hex(layer.digest)) else {
                throw BoxError(.registry, "\(what): layer \(i + 1) has a digest box cannot check: \(layer.digest) (sha256 only)")
            }
            let file = staging.dir + "/blob-\(i)"
            let kept = resumeDirectory(store) + "/" + Digest.hex(layer.digest)
            progress(.started(layer.digest, size: layer.size))
            if Files.exists(kept), (try? LayerArchive.sha256(file: kept)) == layer.digest, link(kept, file) == 0 {
                // Verified by a pull that failed later: not downloaded again (a retry resumes where it broke). A
                // second link, not a rename: the kept copy stays until the commit, for a retry that fails again.
                progress(.bytes(layer.digest, done: layer.size, total: layer.size))
            } else {
                try await download(ref.repository, layer, to: file, what: "\(what): layer \(Digest.hex(layer.digest).prefix(12))", progress: progress)
                // A verified layer is kept (a second link) until the pull is complete, for a retry after a failure.
                if (try? Files.mkdirs(resumeDirectory(store), mode: 0o700)) != nil { link(file, kept) }
            }
            let (_, diffID) = try staging.addLayer(from: file, consume: true, label: "layer \(layer.digest) of \(ref)")
            guard diffID == diffIDs[i] else {
                throw BoxError(.registry, "\(what): layer \(layer.digest) unpacks to \(diffID), but the config says \(diffIDs[i]): the image is broken where it was pushed from; nothing was stored")
            }
            downloaded += 1
            progress(.done(layer.digest))
        }
        let local = ref.local
        let before = local.flatMap { store.id(named: $0) }
        if let local { staging.tag(id, as: local) }
        try staging.commit()
        for layer in layers { unlink(resumeDirectory(store) + "/" + Digest.hex(layer.digest)) }
        return PullResult(id: id, manifestDigest: topDigest, downloaded: downloaded, tagged: local, changed: before != id)
    }

    /// Where the layers of pulls that failed after verifying them wait for the retry (removed when a pull of
    /// them completes, or by `box system prune`: it is in BOX_ROOT/tmp, outside the store).
    func resumeDirectory(_ store: ImageStore) -> String { store.root.tmp + "/pull-blobs" }

    /// A manifest and its digest, checked: against the digest asked for (a pull by digest, an entry of a list)
    /// and against the registry's own Docker-Content-Digest header when it sends one.
    func fetchManifest(_ repository: String, reference: String, expected: String?, what: String) async throws -> ([UInt8], String) {
        let response = try await send(.GET, "/v2/\(repository)/manifests/\(reference)",
                                      headers: [("Accept", RegistryManifest.accepted.joined(separator: ", "))], what: what)
        guard response.status == .ok else {
            throw await failure(response, what: what, notFound: "\(endpoint.registry) has no \(repository):\(reference): check the name and tag (box push it there first?)")
        }
        let bytes = try await collect(response.body, limit: 4 << 20, what: "the manifest of \(repository):\(reference)")
        let digest = Digest.sha256(bytes)
        if let expected, digest != expected {
            throw BoxError(.registry, "\(what): the manifest \(endpoint.registry) sent for \(expected) has sha256 \(digest): it is not the one asked for (damaged, or changed on the way); nothing was stored")
        }
        if let header = response.headers.first(name: "Docker-Content-Digest"), header.hasPrefix("sha256:"), header != digest {
            throw BoxError(.registry, "\(what): the manifest's sha256 is \(digest), but \(endpoint.registry) says \(header): damaged, or changed on the way; nothing was stored")
        }
        return (bytes, digest)
    }

    /// A small blob (a config), checked against its descriptor.
    func blob(_ repository: String, _ d: RegistryManifest.Descriptor, what: String) async throws -> [UInt8] {
        guard d.size <= 16 << 20 else { throw BoxError(.registry, "\(what): \(d.digest) is \(d.size) bytes: too large for an image config") }
        let response = try await send(.GET, "/v2/\(repository)/blobs/\(d.digest)", what: what)
        guard response.status == .ok else {
            throw await failure(response, what: what, notFound: "\(endpoint.registry) does not have blob \(d.digest), which the manifest names: push the image again")
        }
        let bytes = try await collect(response.body, limit: Int(d.size) + 1, what: "blob \(d.digest)")
        let actual = Digest.sha256(bytes)
        guard actual == d.digest, Int64(bytes.count) == d.size else {
            throw BoxError(.registry, "\(what): blob \(d.digest) arrived as \(bytes.count) bytes with sha256 \(actual): the registry's copy is damaged; nothing was stored")
        }
        return bytes
    }

    /// A layer blob to `path`, hashed as it arrives; its size and sha256 must be the descriptor's.
    func download(_ repository: String, _ d: RegistryManifest.Descriptor, to path: String, what: String,
                  progress: TransferProgress) async throws {
        let response = try await send(.GET, "/v2/\(repository)/blobs/\(d.digest)", what: what)
        guard response.status == .ok else {
            throw await failure(response, what: what, notFound: "\(endpoint.registry) does not have blob \(d.digest), which the manifest names: push the image again")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BoxError.sys(.registry, "create \(path)") }
        defer { close(fd) }
        var hasher = SHA256Stream()
        var count: Int64 = 0
        do {
            for try await buffer in response.body {
                count += Int64(buffer.readableBytes)
                guard count <= d.size else {
                    throw BoxError(.registry, "\(what): blob \(d.digest) is longer than the \(d.size) bytes the manifest says: the registry's copy is damaged; nothing was stored")
                }
                try buffer.withUnsafeReadableBytes { raw in
                    hasher.update(raw)
                    var offset = 0
                    while offset < raw.count {
                        let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                        if n < 0 { if errno == EINTR { continue }; throw BoxError.sys(.registry, "write \(path)") }
                        offset += n
                    }
                }
                progress(.bytes(d.digest, done: count, total: d.size))
            }
        } catch let error as BoxError {
            throw error
        } catch {
            throw BoxError(.registry, "\(what): the download broke after \(count) of \(d.size) bytes (\(Self.describe(error))): box pull again; nothing was stored")
        }
        guard count == d.size else {
            throw BoxError(.registry, "\(what): the download ended after \(count) of \(d.size) bytes (the connection was cut): box pull again; nothing was stored")
        }
        let actual = hasher.finish()
        guard actual == d.digest else {
            throw BoxError(.registry, "\(what): blob \(d.digest) arrived with sha256 \(actual): the registry's copy is damaged, or it was changed on the way; nothing was stored")
        }
    }
}
