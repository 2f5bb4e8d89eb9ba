#if canImport(Glibc)
import Glibc
#endif

/// `box image prune`: removes dangling images (no name left), or with `all` every image no container was
/// created from, each through `ImageStore.remove` (so a layer another image still uses stays).
public struct ImagePrune {
    public let store: ImageStore
    public init(store: ImageStore) { self.store = store }

    public struct Report {
        public var lines: [String] = []      // docker's "untagged: NAME" and "deleted: sha256:..."
        public var reclaimed: Int64 = 0       // bytes of the layer tars removed
    }

    public func run(all: Bool, users: [ImageUser]) throws -> Report {
        var report = Report()
        let used = Set(users.map(\.image))
        for image in try store.list() where !used.contains(image.id) && (all || image.names.isEmpty) {
            var sizes: [String: Int64] = [:]
            let diffIDs = image.config.rootfs.diff_ids
            for (diffID, chainID) in zip(diffIDs, ImageStore.chainIDs(diffIDs)) {
                if let size = Files.size(store.root.blob(diffID)) { sizes[chainID] = size }
            }
            for line in try store.remove(image.id, users: users, force: true) {
                // remove() speaks rmi's "Untagged: x" / "Deleted: y"; prune's lines are lower case.
                report.lines.append(line.prefix(1).lowercased() + line.dropFirst())
                if line.hasPrefix("Deleted: "), let size = sizes[String(line.dropFirst(9))] { report.reclaimed += size }
            }
        }
        return report
    }
}
