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
        // Nor one a `box commit` is copying: it holds the container's freeze lock for the copy.
        for c in try store.list() where !c.state.Running && c.state.Status != .restarting && !store.isStarting(c) {
            let removed = try Lock.withLockIfFree(store.freezeLock(c.id)) { try store.remove(c, force: false) }
            if removed != nil { report.containers.append(c.id) }
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
        // Work in progress (a commit, a load, a cp) names its owner: `-pidN` in tmp/, `.tmp-N` beside a file
        // written atomically. Only what a dead process left is removed; a live one's work is its own.
        for entry in try Files.list(store.root.tmp) {
            if let owner = Prune.owner(tmpEntry: entry), Prune.alive(owner) { continue }
            try Files.removeTree(store.root.tmp + "/" + entry)
            report.leftovers.append(store.root.tmp + "/" + entry)
        }
        for dir in [store.root.path, store.root.imagedb, store.root.path + "/imagedb", store.root.path + "/networks",
                    store.root.blobs] {
            for name in (try? Files.list(dir)) ?? [] {
                guard let owner = Prune.owner(atomicTemp: name), !Prune.alive(owner) else { continue }
                unlink(dir + "/" + name)
                report.leftovers.append(dir + "/" + name)
            }
        }
        // A `box save -o FILE` or `box export -o FILE` killed before its rename left FILE.tmp-PID, wherever FILE
        // is: each writes its intent (that path) to run/, and takes it out when done.
        for intent in (try? Files.list(store.root.runPath)) ?? [] where intent.hasPrefix("output-") {
            guard let owner = Int32(intent.dropFirst(7)), !Prune.alive(owner) else { continue }
            let file = store.root.runPath + "/" + intent
            if let partial = Files.readIfPresent(file)?.trimmed, Prune.owner(atomicTemp: partial) == owner {
                if unlink(partial) == 0 { report.leftovers.append(partial) }
            }
            unlink(file)
        }
        store.journal.record(Event(type: "engine", action: "prune", id: "",
                                   attributes: ["containers": String(report.containers.count),
                                                "leftovers": String(report.leftovers.count)]))
        return report
    }

    /// The pid in a tmp/ entry's name: `commit-ID-pid123.tar`, `load-pid123-Ab12Cd`; nil for a name without one.
    static func owner(tmpEntry name: String) -> Int32? {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard let tagged = parts.first(where: { $0.hasPrefix("pid") }) else { return nil }
        return Int32(tagged.dropFirst(3).prefix { $0.isNumber })
    }

    /// The pid of a `Files.writeAtomically` or `box save -o` temporary: `NAME.tmp-123`.
    static func owner(atomicTemp name: String) -> Int32? {
        let digits = name.reversed().prefix { $0.isNumber }
        guard !digits.isEmpty, name.dropLast(digits.count).hasSuffix(".tmp-") else { return nil }
        return Int32(String(digits.reversed()))
    }

    static func alive(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM) && HostProcess.state(pid) != "Z"
    }
}
