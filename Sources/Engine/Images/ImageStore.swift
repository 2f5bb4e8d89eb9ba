#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// Images and layers under BOX_ROOT: content-addressed blobs, unpacked layers, and the name -> id table.
public struct ImageStore: Sendable {
    public let root: EngineRoot

    public init(root: EngineRoot) { self.root = root }

    /// docker's repositories.json: {"Repositories": {"busybox": {"busybox:latest": "sha256:..."}}}
    struct Repositories: Codable, Equatable {
        var Repositories: [String: [String: String]] = [:]
    }

    func loadRepositories() throws -> Repositories {
        guard Files.exists(root.repositories) else { return Repositories() }
        return try Files.decode(Repositories.self, from: root.repositories)
    }

    func saveRepositories(_ r: Repositories) throws {
        try Files.writeAtomically(root.repositories, try Files.encode(r, pretty: true))
    }

    /// All images, with their names, newest first.
    public func list() throws -> [Image] {
        let repos = try loadRepositories()
        var names: [String: [String]] = [:]
        for (_, tags) in repos.Repositories { for (name, id) in tags { names[id, default: []].append(name) } }
        var images: [Image] = []
        for file in try Files.list(root.imagedb) where Digest.isValidHex(file) {
            let id = "sha256:" + file
            let config = try config(id)
            images.append(Image(id: id, config: config, names: (names[id] ?? []).sorted()))
        }
        return images.sorted { ($0.config.created ?? "") > ($1.config.created ?? "") }
    }

    /// Parses the config blob of an image id.
    public func config(_ id: String) throws -> ImageConfig {
        let path = root.imageConfig(id)
        guard Files.exists(path) else { throw BoxError.noSuchImage(id) }
        let bytes = try Files.read(path)
        do {
            return try JSONTree.decode(ImageConfig.self, from: bytes)
        } catch {
            throw BoxError(.image, "image config \(path) is not valid: \(error)")
        }
    }

    /// Finds an image by name[:tag], full id, or a unique id prefix.
    public func resolve(_ text: String) throws -> Image {
        let repos = try loadRepositories()
        if let ref = try? ImageReference(parsing: text), let id = repos.Repositories[ref.repository]?[ref.description] {
            return Image(id: id, config: try config(id), names: [ref.description])
        }
        let hex = Digest.hex(text).lowercased()
        if hex.count >= 4, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) {
            let matches = try Files.list(root.imagedb).filter { $0.hasPrefix(hex) }
            if matches.count == 1 {
                let id = "sha256:" + matches[0]
                return Image(id: id, config: try config(id), names: [])
            }
            if matches.count > 1 { throw BoxError(.image, "image id prefix \(text) is ambiguous", exitCode: 1) }
        }
        throw BoxError.noSuchImage(text)
    }

    /// Points `reference` at image `id` (replacing what it pointed at). Call it holding `root.locked`.
    public func tag(_ id: String, as reference: ImageReference) throws {
        var repos = try loadRepositories()
        repos.Repositories[reference.repository, default: [:]][reference.description] = id
        try saveRepositories(repos)
    }

    /// The unpacked directories of an image's layers, bottom layer first.
    public func layerDirectories(_ image: Image) throws -> [String] {
        try image.config.rootfs.diff_ids.map { diffID in
            let dir = root.layerDir(diffID) + "/diff"
            guard Files.isDirectory(dir) else {
                throw BoxError(.image, "layer \(diffID) of image \(image.shortID) is missing from \(root.overlay)")
            }
            return dir
        }
    }

    /// Stores a layer tar: moves it to blobs/sha256/<diff_id> and unpacks it once into overlay2/<hex>/diff.
    /// Unpacking happens in a temporary directory renamed into place, so a crash leaves no half layer.
    @discardableResult
    public func addLayer(tarAt path: String) throws -> String {
        let diffID = try LayerArchive.sha256(file: path)
        let dir = root.layerDir(diffID)
        if Files.isDirectory(dir + "/diff") {
            unlink(path)
            return diffID
        }
        let staging = root.tmp + "/layer-" + Digest.hex(diffID).prefix(16) + "-pid\(getpid())"
        try? Files.removeTree(staging)
        try Files.mkdirs(staging, mode: 0o700)  // renamed into overlay2/: root's alone (see EngineRoot.prepare)
        try Files.mkdirs(staging + "/diff")
        do {
            try LayerArchive.extract(path, into: staging + "/diff")
            guard rename(path, root.blob(diffID)) == 0 else { throw BoxError.sys(.layer, "store layer \(diffID)") }
            if rename(staging, dir) != 0 {
                // Another commit or load of the same content stored it first (ENOTEMPTY, EEXIST): the layer
                // is there, which is all this one wanted.
                let e = errno
                guard (e == ENOTEMPTY || e == EEXIST) && Files.isDirectory(dir + "/diff") else {
                    throw BoxError.sys(.layer, "store layer directory \(dir)", errno: e)
                }
                try? Files.removeTree(staging)
            }
        } catch {
            try? Files.removeTree(staging)
            throw error
        }
        return diffID
    }

    /// Stores an image config and returns the image id.
    public func addConfig(_ config: ImageConfig) throws -> String {
        let bytes = try Files.encodeBlob(config)
        let id = LayerArchive.sha256(bytes)
        let path = root.imageConfig(id)
        if !Files.exists(path) { try Files.writeAtomically(path, bytes) }
        return id
    }
}

/// A container created from an image, whose layers are the container's: rmi refuses to remove that image, and
/// prune keeps it; no layer it mounts is deleted. (The image store knows containers by these facts only:
/// ContainerStore.imageUsers.)
public struct ImageUser: Sendable {
    public var image: String           // the image id, sha256:...
    public var containerID: String
    public var containerName: String
    public var layerDirs: [String]     // the overlay lowerdirs it mounts
    /// Running (or paused, restarting): docker's rmi refuses such an image even with -f.
    public var running: Bool

    public init(image: String, containerID: String, containerName: String, layerDirs: [String], running: Bool = false) {
        self.image = image; self.containerID = containerID; self.containerName = containerName; self.layerDirs = layerDirs
        self.running = running
    }
}

extension ImageStore {
    /// `box rmi`, with the daemon's rules (moby daemon/images/image_delete.go). By name: the name goes; the image
    /// goes with its last name, unless a container uses it (refused without `force`; with it, a running
    /// container's image is kept without a name). By id: every name goes with the image when they are all of one
    /// repository; without `force`, names in several repositories or a container refuse it; a running container
    /// refuses it even with `force`. Layers that another image or a container's overlay uses stay. Returns
    /// docker's lines: `Untagged: NAME`, `Deleted: IMAGE ID`, `Deleted: LAYER CHAIN ID`.
    public func remove(_ text: String, users: [ImageUser], force: Bool = false) throws -> [String] {
        var report: [String] = []
        try root.locked {
            let image = try resolve(text)
            var repos = try loadRepositories()
            var names = repos.Repositories.values.flatMap { $0.filter { $0.value == image.id }.map(\.key) }.sorted()
            let using = users.filter { $0.image == image.id }
            let short = image.shortID
            var removedName = false
            if let ref = try? ImageReference(parsing: text), names.contains(ref.description) {
                if !force && names.count == 1, let user = using.first {
                    throw BoxError(.image, "conflict: unable to remove repository reference \"\(text)\" (must force) - container \(user.containerID.prefix(12)) is using its referenced image \(short)", exitCode: 1)
                }
                repos.Repositories[ref.repository]?[ref.description] = nil
                if repos.Repositories[ref.repository]?.isEmpty == true { repos.Repositories[ref.repository] = nil }
                try saveRepositories(repos)
                report.append("Untagged: \(ref.description)")
                names.removeAll { $0 == ref.description }
                if !names.isEmpty { return }
                removedName = true
            }
            func conflict(_ hard: Bool, _ why: String) -> BoxError {
                BoxError(.image, "conflict: unable to delete \(short) (\(hard ? "cannot be forced" : "must be forced")) - \(why)", exitCode: 1)
            }
            if let running = using.first(where: \.running) {
                if removedName { return }  // the name is gone, the image stays for its container
                throw conflict(true, "image is being used by running container \(running.containerID.prefix(12))")
            }
            if !force && !removedName {
                let repositories = Set(names.compactMap { try? ImageReference(parsing: $0).repository })
                if repositories.count > 1 { throw conflict(false, "image is referenced in multiple repositories") }
                if let stopped = using.first { throw conflict(false, "image is being used by stopped container \(stopped.containerID.prefix(12))") }
            }
            for name in names {
                let ref = try ImageReference(parsing: name)
                repos.Repositories[ref.repository]?[name] = nil
                if repos.Repositories[ref.repository]?.isEmpty == true { repos.Repositories[ref.repository] = nil }
                report.append("Untagged: \(name)")
            }
            try saveRepositories(repos)
            unlink(root.imageConfig(image.id))
            report.append("Deleted: \(image.id)")
            // Layers still needed by another image or by a container's overlay stay; docker names a deleted layer
            // by its chain id, top layer first.
            let used = Set(try list().flatMap { $0.config.rootfs.diff_ids.map(Digest.hex) })
                .union(users.flatMap { $0.layerDirs.map { URLLess.lastButOne($0) } })
            let diffIDs = image.config.rootfs.diff_ids
            for (diffID, chainID) in zip(diffIDs, Self.chainIDs(diffIDs)).reversed() where !used.contains(Digest.hex(diffID)) {
                try Files.removeTree(root.layerDir(diffID))
                unlink(root.blob(diffID))
                report.append("Deleted: \(chainID)")
            }
        }
        return report
    }
}

extension ImageStore {
    /// The OCI chain ids of a stack of layers: the first layer's diff id, then sha256("CHAIN DIFFID") of each
    /// one above; docker names layers by these (rmi's `Deleted:` lines).
    public static func chainIDs(_ diffIDs: [String]) -> [String] {
        var chain: [String] = []
        for diffID in diffIDs { chain.append(chain.last.map { LayerArchive.sha256(Array("\($0) \(diffID)".utf8)) } ?? diffID) }
        return chain
    }
}

/// Path helpers without Foundation's URL.
enum URLLess {
    /// "/a/b/<hex>/diff" -> "<hex>"
    static func lastButOne(_ path: String) -> String {
        let parts = path.split(separator: "/")
        return parts.count >= 2 ? String(parts[parts.count - 2]) : path
    }
}
