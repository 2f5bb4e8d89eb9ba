#if canImport(Glibc)
import Glibc
#endif
import Engine

/// containers/{id}/stats and /update, containers/prune, and system/df (moby's router/container and
/// router/system).
extension API {
    /// The container endpoints of this file and Archive.swift (the others are Containers.swift's).
    enum ContainerFileEndpoint {
        case prune, changes, export, archive, stats, update

        init?(_ r: Request, _ parts: [String]) {
            switch (r.method, parts.count, parts.last ?? "") {
            case ("POST", 2, "prune"): self = .prune
            case ("GET", 3, "changes"): self = .changes
            case ("GET", 3, "export"): self = .export
            case (_, 3, "archive"): self = .archive
            case ("GET", 3, "stats"): self = .stats
            case ("POST", 3, "update"): self = .update
            default: return nil
            }
        }
    }

    func containerFiles(_ endpoint: ContainerFileEndpoint, _ r: Request, _ parts: [String], _ c: Connection) throws {
        switch endpoint {
        case .prune: c.json(200, try pruneContainers(r))
        case .changes: try changes(parts[1], c)
        case .export: try export(parts[1], c)
        case .archive: try archive(r, id: parts[1], c)
        case .stats: try stats(r, id: parts[1], c)
        case .update: c.json(200, try update(r, id: parts[1]))
        }
    }

    // MARK: stats

    /// The host's CPU time in nanoseconds, as docker's system_cpu_usage: the `cpu` line of /proc/stat.
    static func systemCPU() -> UInt64 {
        guard let line = Files.readIfPresent("/proc/stat")?.split(separator: "\n").first, line.hasPrefix("cpu ") else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }.reduce(0, +)
        return ticks * (1_000_000_000 / UInt64(max(1, sysconf(Int32(_SC_CLK_TCK)))))
    }

    /// One sample of docker's StatsJSON (the fields the CLI reads: cpu, memory, pids).
    func statsJSON(_ container: Container, _ now: CgroupStats, system: UInt64, previous: (CgroupStats, UInt64, String)?) -> JSONValue {
        let cpus = Int64(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let hostMemory = Files.readIfPresent("/proc/meminfo")?.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(separator: " ").dropFirst().first.flatMap { Int64($0) } }.map { $0 * 1024 } ?? 0
        func cpu(_ s: CgroupStats, _ system: UInt64) -> JSONValue {
            ["cpu_usage": ["total_usage": .int(Int64(s.cpuNanoseconds)), "usage_in_kernelmode": 0, "usage_in_usermode": 0],
             "system_cpu_usage": .int(Int64(system)), "online_cpus": .int(cpus),
             "throttling_data": ["periods": 0, "throttled_periods": 0, "throttled_time": 0]]
        }
        return [
            "read": .string(Timestamp.now().rfc3339), "preread": .string(previous?.2 ?? Timestamp.zero.rfc3339),
            "pids_stats": ["current": .int(Int64(now.pids))],
            "blkio_stats": ["io_service_bytes_recursive": .null],
            "num_procs": 0, "storage_stats": [:],
            "cpu_stats": cpu(now, system),
            "precpu_stats": previous.map { cpu($0.0, $0.1) } ?? cpu(CgroupStats(), 0),
            "memory_stats": ["usage": .int(now.memoryBytes), "limit": .int(now.memoryLimit.map { min($0, hostMemory) } ?? hostMemory),
                             "stats": [:]],
            "name": .string("/" + container.name), "id": .string(container.id),
        ]
    }

    /// GET /containers/{id}/stats: a sample a second, streamed until the client leaves (stream=1, the default),
    /// or one answer (stream=0) with the CPU use over half a second, or at once with one-shot=1.
    func stats(_ r: Request, id: String, _ c: Connection) throws {
        let container = try resolve(id)
        let driver = Cgroups.driver()
        func sample() throws -> (CgroupStats, UInt64, String) {
            let current = try store.load(container.id)
            return (current.state.Running ? driver.stats(container.spec.cgroup) : CgroupStats(), API.systemCPU(), Timestamp.now().rfc3339)
        }
        var previous = try sample()
        if !r.flag("stream", default: true) {
            if r.flag("one-shot") {
                return c.json(200, statsJSON(container, previous.0, system: previous.1, previous: nil))
            }
            usleep(500_000)
            let now = try sample()
            return c.json(200, statsJSON(container, now.0, system: now.1, previous: previous))
        }
        c.startStream(contentType: "application/json")
        var first = true
        while true {
            let now = try sample()
            let json = statsJSON(container, now.0, system: now.1, previous: first ? nil : previous)
            if !c.chunk(Array((json.compact(escapeHTML: false) + "\n").utf8)) { return }
            previous = now
            first = false
            for _ in 0..<10 {
                if c.peerGone() { return }
                usleep(100_000)
            }
        }
    }

    // MARK: update, prune

    /// POST /containers/{id}/update: the CLI sends every resource field, zero for those not given (docker:
    /// zero leaves the limit as it is). Checked with box update's rules before anything changes.
    func update(_ r: Request, id: String) throws -> JSONValue {
        let body = try r.json()
        let container = try resolve(id)
        if let policy = body["RestartPolicy"]?["Name"]?.string, !policy.isEmpty {
            throw APIError(400, "boxd cannot change a restart policy after create (box update changes resource limits)")
        }
        var given = CreateOptions(image: "")
        func positive(_ key: String) -> Int64? { body[key]?.int.flatMap { $0 == 0 ? nil : $0 } }
        given.memory = positive("Memory").map { String($0) }
        given.memorySwap = positive("MemorySwap").map { String($0) }
        given.cpuShares = positive("CpuShares")
        given.cpus = positive("NanoCpus").map { Double($0) / 1e9 }
        given.cpusetCpus = body["CpusetCpus"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        given.pidsLimit = positive("PidsLimit")
        _ = try given.resources(allowSwapAlone: true)  // bad limits: a 400 before anything changes
        try life.update(container) { try given.update(&$0) }
        return ["Warnings": []]
    }

    /// POST /containers/prune: every stopped container, docker's ContainersPruneReport.
    func pruneContainers(_ r: Request) throws -> JSONValue {
        let filters = try Filters(r.query["filters"])
        try filters.check([])
        let before = try store.list().reduce(into: [String: Int64]()) { $0[$1.id] = writableSize($1) }
        let report = try Prune(store: store).run()
        return ["ContainersDeleted": .array(report.containers.map(JSONValue.string)),
                "SpaceReclaimed": .int(report.containers.reduce(0) { $0 + (before[$1] ?? 0) })]
    }

    // MARK: system/df

    /// The bytes a container wrote: its overlay upper directory.
    func writableSize(_ c: Container) -> Int64 { API.treeSize(store.layerPath(c.id) + "/diff") }

    static func treeSize(_ path: String) -> Int64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return (st.st_mode & S_IFMT) == S_IFREG ? Int64(st.st_size) : 0 }
        return ((try? Files.list(path)) ?? []).reduce(0) { $0 + treeSize(path + "/" + $1) }
    }

    /// GET /system/df: images, containers and their sizes (docker's DiskUsage); box has no volumes or
    /// build cache of docker's kinds.
    func diskUsage() throws -> JSONValue {
        let images = try store.images.list()
        let users = try store.imageUsers()
        var layers: [String: Int64] = [:]
        for image in images { for d in image.config.rootfs.diff_ids { layers[d] = Files.size(store.root.blob(d)) ?? 0 } }
        let imageJSON: [JSONValue] = images.map { image in
            let shared = image.config.rootfs.diff_ids.filter { d in images.filter { $0.config.rootfs.diff_ids.contains(d) }.count > 1 }
            return imageSummary(image, users: users, shared: shared.reduce(0) { $0 + (layers[$1] ?? 0) })
        }
        let containerJSON: [JSONValue] = try store.list().map { x in
            let image = images.first { $0.id == x.spec.Image }
            return [
                "Id": .string(x.id), "Names": [.string("/" + x.name)], "Image": .string(x.spec.Config.Image),
                "ImageID": .string(x.spec.Image), "Command": .string(([x.spec.Path] + x.spec.Args).joined(separator: " ")),
                "Created": .int(x.spec.Created.seconds), "State": .string(x.state.Status.rawValue),
                "Status": .string(x.state.Status.rawValue), "SizeRw": .int(writableSize(x)),
                "SizeRootFs": .int(writableSize(x) + (image.map(imageSize) ?? 0)), "Labels": API.labels(x.spec.Config.Labels),
                "Mounts": [], "Ports": [], "HostConfig": ["NetworkMode": .string(x.spec.HostConfig.NetworkMode)],
            ]
        }
        return ["LayersSize": .int(layers.values.reduce(0, +)), "Images": .array(imageJSON),
                "Containers": .array(containerJSON), "Volumes": [], "BuildCache": []]
    }
}
