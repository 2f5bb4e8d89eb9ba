#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// Images on their way into the store (`box load`, `box import`). Layers are unpacked and configs checked in a
/// directory of their own under BOX_ROOT/tmp; only when everything is there and verified does `commit` move it
/// into place, under the engine lock, undoing its own moves if one fails. So a load that fails leaves the store
/// as it was, and one that is killed leaves at most a directory in BOX_ROOT/tmp.
public final class ImageStaging {
    let store: ImageStore
    public let dir: String
    /// diff_id -> staged layer directory (holding `diff/`), for layers the store does not have yet.
    private var layers: [(diffID: String, dir: String, tar: String)] = []
    private var known: [String: (blob: String, diffID: String)] = [:]  // source path -> digests, for shared layers
    private var configs: [(id: String, bytes: [UInt8])] = []
    private var tags: [(ImageReference, String)] = []
    private var counter = 0
    /// Called with the bytes of layer content read, as they are read; and before a layer is read.
    public var onBytes: ((Int) -> Void)?
    public var onLayer: ((String) -> Void)?

    public init(store: ImageStore, purpose: String) throws {
        self.store = store
        try store.root.prepare()
        var template = Array((store.root.tmp + "/\(purpose)-pid\(getpid())-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw BoxError.sys(.store, "create a directory in \(store.root.tmp)") }
        dir = String(cString: made)
    }

    deinit { discard() }

    /// Removes what was staged (after a failure, or after `commit` moved it all away).
    public func discard() {
        try? Files.removeTree(dir)
    }

    /// Adds a layer from a tar, compressed or not, and returns the sha256 of the file as given (an OCI blob
    /// digest) and of its uncompressed tar (the diff_id). `consume`: the file is ours to move (it was unpacked
    /// into this staging directory). The layer is unpacked here, confined to its directory.
    /// `label` names the layer in errors ("layer 3f../layer.tar in notes.tar").
    public func addLayer(from path: String, consume: Bool, label: String? = nil) throws -> (blob: String, diffID: String) {
        if let seen = known[path] { return seen }
        counter += 1
        onLayer?(label ?? path)
        let tar = dir + "/layer-\(counter).tar"
        let blob: String, diffID: String
        if try LayerArchive.isCompressed(path) {
            blob = try LayerArchive.sha256(file: path)
            diffID = try LayerArchive.decompress(path, to: tar, onBytes: onBytes)
        } else if consume, rename(path, tar) == 0 {
            blob = try LayerArchive.sha256(file: tar)
            diffID = blob
            onBytes?(Int(Files.size(tar) ?? 0))
        } else {
            diffID = try LayerArchive.decompress(path, to: tar, onBytes: onBytes)
            blob = diffID
        }
        known[path] = (blob, diffID)
        if Files.isDirectory(store.root.layerDir(diffID) + "/diff") || layers.contains(where: { $0.diffID == diffID }) {
            unlink(tar)
            return (blob, diffID)
        }
        let layerDir = dir + "/" + Digest.hex(diffID)
        try Files.mkdirs(layerDir, mode: 0o700)  // renamed into overlay2/: root's alone (see EngineRoot.prepare)
        try Files.mkdirs(layerDir + "/diff")
        try LayerArchive.extract(tar, into: layerDir + "/diff", mode: .layer, label: label ?? path)
        layers.append((diffID, layerDir, tar))
        return (blob, diffID)
    }

    /// Adds an image config exactly as given (its sha256 is the image id, so not one byte may change) and
    /// returns the id and the parsed config.
    public func addConfig(_ bytes: [UInt8], name: String) throws -> (id: String, config: ImageConfig) {
        let config: ImageConfig
        do {
            // Read as `box run` will read it (ImageStore.config): a config it would refuse is refused here.
            config = try JSONTree.decode(ImageConfig.self, from: bytes)
        } catch {
            throw BoxError(.image, "\(name) is not a valid image config: \(error)")
        }
        let id = LayerArchive.sha256(bytes)
        if !configs.contains(where: { $0.id == id }) { configs.append((id, bytes)) }
        return (id, config)
    }

    public func tag(_ id: String, as reference: ImageReference) {
        tags.append((reference, id))
    }

    /// Moves everything into the store and names the images. Returns docker's notes for names that pointed
    /// at another image before ("The image busybox:latest already exists, renaming the old one ...").
    @discardableResult
    public func commit() throws -> [String] {
        let root = store.root
        var notes: [String] = []
        try root.locked {
            var moved: [String] = []  // undone in reverse if a later step fails
            do {
                for layer in layers where !Files.isDirectory(root.layerDir(layer.diffID) + "/diff") {
                    guard rename(layer.tar, root.blob(layer.diffID)) == 0 else { throw BoxError.sys(.layer, "store layer \(layer.diffID)") }
                    moved.append(root.blob(layer.diffID))
                    guard rename(layer.dir, root.layerDir(layer.diffID)) == 0 else {
                        throw BoxError.sys(.layer, "store layer directory \(root.layerDir(layer.diffID))")
                    }
                    moved.append(root.layerDir(layer.diffID))
                }
                for config in configs where !Files.exists(root.imageConfig(config.id)) {
                    try Files.writeAtomically(root.imageConfig(config.id), config.bytes)
                    moved.append(root.imageConfig(config.id))
                }
                var repos = try store.loadRepositories()
                for (ref, id) in tags {
                    if let old = repos.Repositories[ref.repository]?[ref.description], old != id {
                        notes.append("The image \(ref.description) already exists, renaming the old one with ID \(old) to empty string")
                    }
                    repos.Repositories[ref.repository, default: [:]][ref.description] = id
                }
                try store.saveRepositories(repos)
            } catch {
                for path in moved.reversed() { try? Files.removeTree(path) }
                throw error
            }
        }
        discard()
        return notes
    }
}
