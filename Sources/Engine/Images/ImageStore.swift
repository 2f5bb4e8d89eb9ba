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

    public init(image: String, containerID: String, containerName: String, layerDirs: [String]) {
        self.image = image; self.containerID = containerID; self.containerName = containerName; self.layerDirs = layerDirs
    }
}

extension ImageStore {
    /// `box rmi`: removes a name; when an image has no name left (or is named by id), removes the image and
    /// every layer no other image or container uses. An image a container was created from is refused:
    /// the container's layers are that image's.
    public func remove(_ text: String, users: [ImageUser]) throws -> [String] {
        var report: [String] = []
        try root.locked {
            let image = try resolve(text)
            var repos = try loadRepositories()
            let names = repos.Repositories.values.flatMap { $0.filter { $0.value == image.id }.map(\.key) }
            let byName = (try? ImageReference(parsing: text)).map { names.contains($0.description) } ?? false
            if byName, let ref = try? ImageReference(parsing: text), names.count > 1 {
                repos.Repositories[ref.repository]?[ref.description] = nil
                try saveRepositories(repos)
                report.append("Untagged: \(ref.description)")
                return
            }
            if let user = users.first(where: { $0.image == image.id }) {
                throw BoxError(.image, "conflict: unable to remove image \(image.shortID): container \(user.containerID.prefix(12)) (\(user.containerName)) was created from it; remove the container first", exitCode: 1)
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
            // Layers still needed by another image or by a container's overlay stay.
            let used = Set(try list().flatMap { $0.config.rootfs.diff_ids.map(Digest.hex) })
                .union(users.flatMap { $0.layerDirs.map { URLLess.lastButOne($0) } })
            for diffID in image.config.rootfs.diff_ids where !used.contains(Digest.hex(diffID)) {
                try Files.removeTree(root.layerDir(diffID))
                unlink(root.blob(diffID))
                report.append("Deleted: \(diffID)")
            }
        }
        return report
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
