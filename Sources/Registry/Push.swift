#if canImport(Glibc)
import Glibc
#endif
import AsyncHTTPClient
import Engine
import NIOCore

/// What `box push` did.
public struct PushResult: Sendable {
    public var manifestDigest: String
    public var manifestSize: Int
    /// Layers uploaded, and layers the registry had already.
    public var uploaded: Int
    public var existed: Int
}

extension RegistryClient {
    /// Pushes a stored image: each blob (layers, then the config) is asked for first (HEAD) and uploaded only if
    /// the registry does not have it, in one PUT (the distribution spec's monolithic upload: POST for a
    /// session, PUT its Location with ?digest=), then the manifest is put under the tag. The registry checks
    /// every digest itself; box checks the manifest digest it answers with.
    ///
    /// `mountFrom` names, per layer digest, other repositories of the same registry that may have it (box's names
    /// for images holding the layer): the upload first asks the registry to mount it from one of them (a
    /// cross-repository blob mount, POST ?mount=D&from=REPO, 201), which sends nothing; a registry that cannot
    /// answers 202 with an upload session, used as is.
    /// `chunkSize`: upload each layer in PATCH requests of at most this many bytes (the spec's chunked upload, for
    /// a proxy that limits a request's size) instead of one PUT.
    public func push(_ image: Distribution.Pushable, to ref: RemoteReference, mountFrom: [String: [String]] = [:],
                     chunkSize: Int64? = nil, progress: @escaping TransferProgress) async throws -> PushResult {
        guard let tag = ref.tag, ref.digest == nil else {
            throw BoxError(.usage, "push \(ref): push a tag (NAME[:TAG]), not a digest", exitCode: 1)
        }
        let what = "push \(ref)"
        var uploaded = 0, existed = 0
        for layer in image.layers {
            if try await hasBlob(ref.repository, layer.digest, what: what) {
                progress(.exists(layer.digest))
                existed += 1
                continue
            }
            let layerWhat = "\(what): layer \(Digest.hex(layer.digest).prefix(12))"
            // One mount attempt: a registry that cannot mount opens an upload session instead, which the upload uses.
            var session: String? = nil
            if let source = mountFrom[layer.digest]?.first(where: { $0 != ref.repository }) {
                switch try await mount(ref.repository, layer.digest, from: source, what: layerWhat) {
                case .mounted:
                    progress(.mounted(layer.digest, from: source))
                    existed += 1
                    continue
                case .session(let location):
                    session = location
                }
            }
            progress(.started(layer.digest, size: layer.size))
            try await upload(ref.repository, layer, session: session, chunkSize: chunkSize, what: layerWhat, progress: progress)
            uploaded += 1
            progress(.done(layer.digest))
        }
        let hasConfig = try await hasBlob(ref.repository, image.config.digest, what: what)
        if !hasConfig {
            try await upload(ref.repository, image.config, what: "\(what): its config", progress: { _ in })
        }
        let manifest = image.manifest
        let response = try await send(.PUT, "/v2/\(ref.repository)/manifests/\(tag)",
                                      headers: [("Content-Type", image.manifestMediaType)],
                                      body: { .bytes(manifest) }, what: "\(what): the manifest")
        guard response.status == .created || response.status == .ok else {
            throw await failure(response, what: "\(what): the manifest")
        }
        _ = try? await response.body.collect(upTo: 1 << 20)
        if let said = response.headers.first(name: "Docker-Content-Digest"), said != image.manifestDigest {
            throw BoxError(.registry, "\(what): \(endpoint.registry) stored the manifest as \(said), but its sha256 is \(image.manifestDigest): the registry changed it")
        }
        return PushResult(manifestDigest: image.manifestDigest, manifestSize: manifest.count, uploaded: uploaded, existed: existed)
    }

    /// HEAD /v2/NAME/blobs/DIGEST: 200 if the registry has the blob, 404 if not.
    func hasBlob(_ repository: String, _ digest: String, what: String) async throws -> Bool {
        let response = try await send(.HEAD, "/v2/\(repository)/blobs/\(digest)", what: what)
        switch response.status {
        case .ok: return true
        case .notFound: return false
        default: throw await failure(response, what: what)
        }
    }

    enum MountOutcome { case mounted, session(String) }

    /// POST /v2/NAME/blobs/uploads/?mount=DIGEST&from=OTHER: 201 if the registry linked the blob, 202 and an
    /// upload session's Location if it did not (distribution spec, "Mounting a blob from another repository").
    func mount(_ repository: String, _ digest: String, from source: String, what: String) async throws -> MountOutcome {
        let response = try await send(.POST, "/v2/\(repository)/blobs/uploads/?mount=\(Self.percentEncoded(digest))&from=\(Self.percentEncoded(source))",
                                      headers: [("Content-Length", "0")], what: what)
        _ = try? await response.body.collect(upTo: 1 << 20)
        if response.status == .created { return .mounted }
        guard response.status == .accepted, let location = response.headers.first(name: "Location") else {
            throw await failure(response, what: "\(what): mounting it from \(source)")
        }
        return .session(location)
    }

    /// POST /v2/NAME/blobs/uploads/ for an upload session (202 and a Location) unless one is given, then PUT
    /// LOCATION?digest=D with the whole blob (201). The registry refuses a blob whose sha256 is not D.
    func upload(_ repository: String, _ blob: Distribution.Blob, session: String? = nil, chunkSize: Int64? = nil,
                what: String, progress: @escaping TransferProgress) async throws {
        let opened: String
        if let session {
            opened = session
        } else {
            let start = try await send(.POST, "/v2/\(repository)/blobs/uploads/", headers: [("Content-Length", "0")], what: what)
            guard start.status == .accepted, let given = start.headers.first(name: "Location") else {
                throw await failure(start, what: "\(what): starting the upload")
            }
            _ = try? await start.body.collect(upTo: 1 << 20)
            opened = given
        }
        let path = blob.path, size = blob.size, digest = blob.digest
        var location = Self.resolve(opened, against: url("/v2/"))
        var sent: Int64 = 0
        // Chunked: PATCH LOCATION with Content-Range START-END (inclusive), 202 and the next Location each time;
        // the PUT that closes the session then carries no body.
        if let chunkSize, chunkSize > 0 {
            while sent < size {
                let start = sent, length = Swift.min(chunkSize, size - sent)
                let response = try await send(.PATCH, location, headers: [("Content-Type", "application/octet-stream"),
                                                                          ("Content-Range", "\(start)-\(start + length - 1)")],
                                              body: { .stream(FileChunks(path: path, digest: digest, size: size, offset: start, length: length, progress: progress),
                                                              length: .known(length)) },
                                              what: what)
                guard response.status == .accepted, let next = response.headers.first(name: "Location") else {
                    throw await failure(response, what: "\(what): the chunk at byte \(start)")
                }
                _ = try? await response.body.collect(upTo: 1 << 20)
                location = Self.resolve(next, against: location)
                sent += length
            }
        }
        let target = location + (location.contains("?") ? "&" : "?") + "digest=" + Self.percentEncoded(digest)
        let from = sent, rest = size - sent
        let response = try await send(.PUT, target, headers: [("Content-Type", "application/octet-stream")],
                                      body: { rest == 0 ? .bytes(ByteBuffer())
                                                        : .stream(FileChunks(path: path, digest: digest, size: size, offset: from, length: rest, progress: progress), length: .known(rest)) },
                                      what: what)
        guard response.status == .created else {
            throw await failure(response, what: "\(what): the upload")
        }
        _ = try? await response.body.collect(upTo: 1 << 20)
    }
}

/// `length` bytes of a file from `offset`, as a request body, 1 MiB at a time, reporting the bytes of the whole
/// blob (`size`) sent so far.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let digest: String
    let size: Int64
    let offset: Int64
    let length: Int64
    let progress: TransferProgress

    final class Descriptor: Sendable {
        let fd: Int32
        init(_ fd: Int32) { self.fd = fd }
        deinit { if fd >= 0 { close(fd) } }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let file: Descriptor
        let owner: FileChunks
        var sent: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            guard file.fd >= 0 else { throw BoxError.sys(.registry, "open \(owner.path)") }
            let want = Int(Swift.min(Int64(1 << 20), owner.length - sent))
            guard want > 0 else { return nil }
            var buffer = ByteBufferAllocator().buffer(capacity: want)
            let at = owner.offset + sent
            let n = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { raw in
                while true {
                    let n = pread(file.fd, raw.baseAddress, want, off_t(at))
                    if n < 0 && errno == EINTR { continue }
                    if n < 0 { throw BoxError.sys(.registry, "read \(owner.path)") }
                    return n
                }
            }
            guard n > 0 else { return nil }
            sent += Int64(n)
            owner.progress(.bytes(owner.digest, done: owner.offset + sent, total: owner.size))
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(file: Descriptor(open(path, O_RDONLY | O_CLOEXEC)), owner: self)
    }
}
