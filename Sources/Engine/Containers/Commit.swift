#if canImport(Glibc)
import Glibc
#endif

/// `box commit`: a container's writable layer becomes a new image layer on top of its image, as docker commit
/// does (the base image is untouched; the new image shares its layers).
public struct Commit: Sendable {
    public let store: ContainerStore
    public init(store: ContainerStore) { self.store = store }

    /// Returns the new image id. `changes` are Dockerfile instructions applied to the config: CMD, ENTRYPOINT,
    /// ENV, WORKDIR, USER, LABEL. `onBytes` hears of the file content as it is archived (a progress bar).
    /// `createdBy` replaces the container's command in the history entry (what a build step did); `event`
    /// false leaves the journal to the caller (a build records one event for all its steps).
    /// `author` goes in the config and its history entry (docker commit --author); `pause` false copies a
    /// running container without freezing it (--pause=false: the layer may then be no single moment).
    public func run(_ c: Container, reference: ImageReference?, message: String = "", changes: [String] = [],
                    author: String? = nil, pause: Bool = true,
                    createdBy: String? = nil, event: Bool = true, onBytes: ((Int) -> Void)? = nil) throws -> String {
        var config = try store.images.config(c.spec.Image)
        for change in changes { try config.config.apply(change) }  // bad input: before any work

        try store.root.prepare()
        let tar = store.root.tmp + "/commit-\(c.spec.shortID)-pid\(getpid()).tar"
        defer { unlink(tar) }
        // Freeze a running container for the copy, so the layer is one consistent moment (docker pauses too).
        // Under the freeze lock: if this process dies mid-copy, the next verb on the container thaws it.
        try store.withFreezeLock(c) {
            let current = try store.load(c.id)
            let freeze = pause && current.state.Status == .running
            let cgroups = Cgroups.driver()
            if freeze { try cgroups.freeze(c.spec.cgroup, true) }
            defer { if freeze { try? cgroups.freeze(c.spec.cgroup, false) } }
            try LayerArchive.writeLayer(from: store.layerPath(c.id) + "/diff", to: tar, onBytes: onBytes)
        }
        let diffID = try store.images.addLayer(tarAt: tar)

        let now = Timestamp.now().rfc3339
        config.created = now
        if let author { config.author = author }
        config.rootfs.diff_ids.append(diffID)
        let command = createdBy ?? ([c.spec.Path] + c.spec.Args).joined(separator: " ")
        config.history = (config.history ?? []) + [
            ImageConfig.History(created: now, created_by: command, author: author, comment: message.isEmpty ? nil : message, empty_layer: nil),
        ]
        let id = try store.images.addConfig(config)
        if let reference { try store.root.locked { try store.images.tag(id, as: reference) } }
        if event {
            var attributes: [String: String] = ["imageID": id]
            attributes["ref"] = reference?.description
            store.journal.record(Event(action: "commit", id: c.id, name: c.name, image: c.spec.Config.Image, attributes: attributes))
        }
        return id
    }

    public enum Change: String, Sendable { case added = "A", changed = "C", deleted = "D" }

    /// `box diff`: what the container's writable layer holds, against its image's layers.
    public func changes(_ c: Container) throws -> [(Change, String)] {
        let lowers = c.spec.LayerDirs
        var out: [(Change, String)] = []
        func walk(_ dir: String, _ path: String) throws {
            for name in try Files.list(dir).sorted() {
                let full = dir + "/" + name, inside = path + "/" + name
                var st = stat()
                guard lstat(full, &st) == 0 else { continue }
                if (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0 { out.append((.deleted, inside)); continue }
                var lower = stat()
                let existed = lowers.contains { lstat($0 + inside, &lower) == 0 }
                out.append((existed ? .changed : .added, inside))
                if (st.st_mode & S_IFMT) == S_IFDIR { try walk(full, inside) }
            }
        }
        try walk(store.layerPath(c.id) + "/diff", "")
        return out
    }
}
