#if canImport(Glibc)
import Glibc
#endif

/// `box load`: images from a docker-archive or an OCI image layout, given as a tar (compressed or not, from a
/// file or standard input) or as a directory. Everything is checked before the store changes: each layer's
/// sha256 against the diff_id its config lists, each OCI blob against its descriptor's digest and size, every
/// file the manifest names must be in the archive (and inside it: symlinks are resolved within the archive).
/// The images keep their configs byte for byte, so their ids and history are the ones that were saved.
public struct ImageLoad {
    public let store: ImageStore
    public init(store: ImageStore) { self.store = store }

    public enum Source {
        case path(String)
        case fd(Int32, name: String)
    }

    /// What was loaded: one line per name ("Loaded image: busybox:latest"), or per unnamed image
    /// ("Loaded image ID: sha256:..."), preceded by docker's notes on names that moved.
    public func load(_ source: Source, staging: ImageStaging) throws -> [String] {
        let root: String, consume: Bool, name: String
        if case .path(let path) = source, !Files.exists(path) {
            throw BoxError(.image, "open \(path): no such file or directory", exitCode: 1)
        }
        switch source {
        case .path(let path) where Files.isDirectory(path):
            (root, consume, name) = (path, false, path)
        case .path(let path):
            root = staging.dir + "/archive"
            try Files.mkdirs(root)
            try LayerArchive.extract(path, into: root, mode: .plain)
            (consume, name) = (true, path)
        case .fd(let fd, let what):
            root = staging.dir + "/archive"
            try Files.mkdirs(root)
            try LayerArchive.extract(fd: fd, name: what, into: root, mode: .plain)
            (consume, name) = (true, what)
        }
        let reader = Reader(root: root, name: name, consume: consume, staging: staging)
        let loaded: [(id: String, tags: [String])]
        if Files.exists(root + "/manifest.json") {
            loaded = try reader.docker()
        } else if Files.exists(root + "/index.json") {
            loaded = try reader.oci()
        } else {
            throw BoxError(.image, "\(name) has neither manifest.json nor index.json: not a docker-archive or an OCI image layout")
        }
        for (id, tags) in loaded {
            for tag in tags { staging.tag(id, as: try ImageReference(parsing: tag)) }
        }
        var lines = try staging.commit()
        for (id, tags) in loaded {
            lines += tags.isEmpty ? ["Loaded image ID: \(id)"] : tags.map { "Loaded image: \($0)" }
        }
        return lines
    }

    struct Reader {
        let root: String
        let name: String
        let consume: Bool
        let staging: ImageStaging

        /// The host path of a file the archive's metadata names, which must be a regular file inside it.
        func file(_ path: String, namedBy what: String) throws -> String {
            if let why = LayerArchive.unsafeName(path) {
                throw BoxError(.image, "\(what) names \(path) in \(name): \(why)")
            }
            let host = try ScopedPath.resolve(path, in: root)
            var st = stat()
            guard stat(host, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw BoxError(.image, "\(what) names \(path), which is not a file in \(name)")
            }
            return host
        }

        func read(_ path: String, namedBy what: String) throws -> [UInt8] {
            try Files.read(try file(path, namedBy: what))
        }

        /// Checks the image's layers against its config, in order, staging each.
        func layers(_ paths: [String], config: ImageConfig, configName: String, namedBy what: String,
                    check: (Int, String) throws -> Void = { _, _ in }) throws {
            let diffIDs = config.rootfs.diff_ids
            guard diffIDs.count == paths.count else {
                throw BoxError(.image, "\(what) lists \(paths.count) layers for \(configName), whose rootfs lists \(diffIDs.count)")
            }
            for (i, path) in paths.enumerated() {
                let (blob, diffID) = try staging.addLayer(from: try file(path, namedBy: what), consume: consume,
                                                          label: "layer \(path) in \(name)")
                try check(i, blob)
                guard diffID == diffIDs[i] else {
                    throw BoxError(.image, "layer \(path) in \(name): its sha256 is \(diffID), but \(configName) says \(diffIDs[i])")
                }
            }
        }

        func docker() throws -> [(id: String, tags: [String])] {
            let entries = try ArchiveFormat.decode([ArchiveFormat.DockerManifestEntry].self,
                                                   try read("manifest.json", namedBy: "the archive"), name: "manifest.json in \(name)")
            var out: [(id: String, tags: [String])] = []
            for entry in entries {
                // Names first: an archive naming an image outside docker's grammar (../../etc:x) loads nothing.
                let tags = try (entry.RepoTags ?? []).map { try ImageReference(parsing: ImageLoad.shortName($0)).description }
                let bytes = try read(entry.Config, namedBy: "manifest.json")
                let (id, config) = try staging.addConfig(bytes, name: "\(entry.Config) in \(name)")
                // Docker names the config after its sha256 (<hex>.json, or blobs/sha256/<hex> since docker 25).
                let stem = entry.Config.split(separator: "/").last.map { String($0.hasSuffix(".json") ? $0.dropLast(5) : $0) } ?? ""
                if Digest.isValidHex(stem) && "sha256:" + stem != id {
                    throw BoxError(.image, "config \(entry.Config) in \(name): its sha256 is \(id), not the one its name says")
                }
                try layers(entry.Layers, config: config, configName: entry.Config, namedBy: "manifest.json")
                out.append((id, tags))
            }
            return out
        }

        /// A blob of the layout, checked against its descriptor: size, then sha256.
        func blob(_ d: ArchiveFormat.Descriptor, namedBy what: String) throws -> String {
            let hex = Digest.hex(d.digest)
            guard d.digest.hasPrefix("sha256:"), Digest.isValidHex(hex) else {
                throw BoxError(.image, "\(what) has a digest box cannot check: \(d.digest) (sha256 only)")
            }
            let path = try file("blobs/sha256/" + hex, namedBy: what)
            var st = stat()
            guard stat(path, &st) == 0, Int64(st.st_size) == d.size else {
                throw BoxError(.image, "blob \(d.digest) in \(name) is \(st.st_size) bytes, but \(what) says \(d.size)")
            }
            return path
        }

        func verified(_ d: ArchiveFormat.Descriptor, namedBy what: String) throws -> [UInt8] {
            let bytes = try Files.read(try blob(d, namedBy: what))
            let actual = LayerArchive.sha256(bytes)
            guard actual == d.digest else {
                throw BoxError(.image, "blob blobs/sha256/\(Digest.hex(d.digest)) in \(name): its sha256 is \(actual), not the one \(what) says")
            }
            return bytes
        }

        func oci() throws -> [(id: String, tags: [String])] {
            let index = try ArchiveFormat.decode(ArchiveFormat.OCIIndex.self,
                                                 try read("index.json", namedBy: "the layout"), name: "index.json in \(name)")
            var out: [(id: String, tags: [String])] = []
            func add(_ id: String, _ tag: String?) {
                if let i = out.firstIndex(where: { $0.id == id }) {
                    if let tag, !out[i].tags.contains(tag) { out[i].tags.append(tag) }
                } else {
                    out.append((id, tag.map { [$0] } ?? []))
                }
            }
            func walk(_ manifests: [ArchiveFormat.Descriptor], namedBy what: String, depth: Int) throws {
                guard depth < 4 else { throw BoxError(.image, "\(name): image indexes nested too deep") }
                for d in manifests {
                    if let p = d.platform, p.os != "linux" || p.architecture != ImageConfig.hostArchitecture { continue }
                    let bytes = try verified(d, namedBy: what)
                    let blobName = "blob " + d.digest
                    if d.mediaType == ArchiveFormat.ociIndex || d.mediaType == ArchiveFormat.dockerManifestList {
                        let nested = try ArchiveFormat.decode(ArchiveFormat.OCIIndex.self, bytes, name: "\(blobName) in \(name)")
                        try walk(nested.manifests, namedBy: blobName, depth: depth + 1)
                        continue
                    }
                    let manifest = try ArchiveFormat.decode(ArchiveFormat.OCIManifest.self, bytes, name: "\(blobName) in \(name)")
                    let configBytes = try verified(manifest.config, namedBy: blobName)
                    let (id, config) = try staging.addConfig(configBytes, name: "config \(manifest.config.digest) in \(name)")
                    let paths = manifest.layers.map { "blobs/sha256/" + Digest.hex($0.digest) }
                    for layer in manifest.layers { _ = try blob(layer, namedBy: blobName) }
                    try layers(paths, config: config, configName: "config " + manifest.config.digest, namedBy: blobName) { i, digest in
                        guard digest == manifest.layers[i].digest else {
                            throw BoxError(.image, "blob \(paths[i]) in \(name): its sha256 is \(digest), not the one \(blobName) says")
                        }
                    }
                    add(id, try ImageLoad.name(d.annotations))
                }
            }
            try walk(index.manifests, namedBy: "index.json", depth: 0)
            guard !out.isEmpty else { throw BoxError(.image, "\(name) holds no image for linux/\(ImageConfig.hostArchitecture)") }
            return out
        }
    }

    /// The name an OCI index entry gives its image: docker's and containerd's full name, or the OCI ref name
    /// when it is a whole reference (with a repository); a bare tag names nothing (docker loads it by id).
    static func name(_ annotations: [String: String]?) throws -> String? {
        if let full = annotations?[ArchiveFormat.nameAnnotation] {
            return try ImageReference(parsing: shortName(full)).description
        }
        if let ref = annotations?[ArchiveFormat.refAnnotation], ref.contains(":") || ref.contains("/") {
            return try ImageReference(parsing: shortName(ref)).description
        }
        return nil
    }

    /// "docker.io/library/busybox:latest" -> "busybox:latest", as docker shows it.
    static func shortName(_ name: String) -> String {
        for prefix in ["docker.io/library/", "docker.io/"] where name.hasPrefix(prefix) {
            return String(name.dropFirst(prefix.count))
        }
        return name
    }
}
