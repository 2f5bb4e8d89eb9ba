#if canImport(Glibc)
import Glibc
#endif

/// `box system prune`: removes stopped containers (with their mounts and cgroups, also when their monitor
/// was killed), and what belongs to no container of this BOX_ROOT — writable layers, sockets, temp files.
public struct Prune: Sendable {
    public let store: ContainerStore
    public init(store: ContainerStore) { self.store = store }

    public struct Report: Sendable {
        public var containers: [String] = []
        public var leftovers: [String] = []
    }

    public func run() throws -> Report {
        var report = Report()
        // Not one being started: created, with its monitor (of `box run` or `box start`) alive.
        for c in try store.list() where !c.state.Running && c.state.Status != .restarting && !store.isStarting(c) {
            try store.remove(c, force: false)
            report.containers.append(c.id)
        }
        // Under the engine lock: a container being created has its directory before its layer and socket,
        // and create holds the lock until both exist.
        try store.root.locked {
            let live = Set(try Files.list(store.root.containers))
            // A container's writable layer is overlay2/<64 hex> with a merged/ directory; image layers have none.
            for name in try Files.list(store.root.overlay) where !live.contains(name) {
                let dir = store.root.overlay + "/" + name
                guard Files.isDirectory(dir + "/merged") else { continue }
                Rootfs.unmount(dir + "/merged")
                try Files.removeTree(dir)
                report.leftovers.append(dir)
            }
            // Cgroups are removed with their containers above (also after a killed monitor). A box/<id> cgroup
            // with no container here may belong to another BOX_ROOT on this host, so prune leaves those alone.
            for socket in try Files.list(store.root.runPath) where socket.hasSuffix(".sock") {
                if !live.contains(String(socket.dropLast(5))) {
                    unlink(store.root.runPath + "/" + socket)
                    report.leftovers.append(store.root.runPath + "/" + socket)
                }
            }
        }
        for entry in try Files.list(store.root.tmp) {
            try Files.removeTree(store.root.tmp + "/" + entry)
            report.leftovers.append(store.root.tmp + "/" + entry)
        }
        store.journal.record(Event(type: "engine", action: "prune", id: "",
                                   attributes: ["containers": String(report.containers.count),
                                                "leftovers": String(report.leftovers.count)]))
        return report
    }
}
