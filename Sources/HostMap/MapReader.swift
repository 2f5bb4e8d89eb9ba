#if canImport(Glibc)
import Glibc
#endif
import Engine

/// What box's own state says, read once per picture: the containers (with their specs), the networks and the
/// attachments of running containers. A test builds one from fixtures; a verb reads it from the store.
public struct EngineFacts: Sendable {
    public var containers: [Container]
    public var networks: [Network]
    /// network.json of each running container on a bridge network, by container id.
    public var attachments: [String: Attachment]
    /// The engine's overlay2 directory (each container's upper and merged directories are under it).
    public var overlay: String

    public init(containers: [Container], networks: [Network], attachments: [String: Attachment], overlay: String) {
        self.containers = containers
        self.networks = networks
        self.attachments = attachments
        self.overlay = overlay
    }

    /// The store's containers (reconciled with the kernel, as `box ps` reads them), networks and attachments.
    public static func read(_ store: ContainerStore) -> EngineFacts {
        let containers = (try? store.list()) ?? []
        var attachments: [String: Attachment] = [:]
        for c in containers where c.state.Running {
            attachments[c.id] = ContainerNetwork.attachment(store, c.id)
        }
        return EngineFacts(containers: containers, networks: (try? NetworkStore(root: store.root).list()) ?? [],
                           attachments: attachments, overlay: store.root.overlay)
    }
}

/// Builds a HostMapModel from a kernel root and the engine's facts. Read-only: it changes nothing, enters no
/// namespace (everything a picture needs is readable from the host's /proc, or recorded by box).
public struct MapReader: Sendable {
    public let kernel: KernelRoot

    public init(kernel: KernelRoot = .host) { self.kernel = kernel }

    /// One process's facts, read once for the whole picture.
    struct Entry {
        var pid: Int32
        var stat: HostProcess.Stat
        var namespaces: [NamespaceKind: UInt64]
    }

    public func read(_ facts: EngineFacts) -> HostMapModel {
        var entries: [Int32: Entry] = [:]
        for pid in kernel.pids() {
            guard let stat = kernel.stat(pid), stat.state != "Z" else { continue }
            var ns: [NamespaceKind: UInt64] = [:]
            for kind in NamespaceKind.allCases { ns[kind] = kernel.namespace(pid, kind) }
            entries[pid] = Entry(pid: pid, stat: stat, namespaces: ns)
        }
        // The host is PID 1's namespaces where they may be read, else this process's (a sandbox that hides PID 1's
        // is itself the host the learner sees), as LabKit's Proc.host.
        let host = entries[1].flatMap { $0.namespaces.isEmpty ? nil : $0.namespaces } ?? entries[getpid()]?.namespaces ?? [:]
        let mode = kernel.cgroupMode()
        let mounts = kernel.mountTable()

        // Each running container's namespaces, by the pid of its PID 1 (which must be the process box started).
        var owners: [(name: String, namespaces: [NamespaceKind: UInt64])] = []
        var containerPidNS: Set<UInt64> = []
        for c in facts.containers where c.state.Running {
            guard let e = entries[c.state.Pid], c.state.PidStartTime == 0 || e.stat.startTicks == c.state.PidStartTime else { continue }
            owners.append((c.name, e.namespaces))
            if let pidNS = e.namespaces[.pid], pidNS != host[.pid] { containerPidNS.insert(pidNS) }
        }

        func views(_ ns: [NamespaceKind: UInt64], of name: String, among others: [(name: String, namespaces: [NamespaceKind: UInt64])]) -> [NamespaceView] {
            NamespaceKind.allCases.compactMap { kind in
                guard let inode = ns[kind] else { return nil }
                if inode == host[kind] { return NamespaceView(kind: kind, inode: inode, sharing: .host) }
                if let other = others.first(where: { $0.name != name && $0.namespaces[kind] == inode }) {
                    return NamespaceView(kind: kind, inode: inode, sharing: .with(other.name))
                }
                return NamespaceView(kind: kind, inode: inode, sharing: .own)
            }
        }

        var containers: [ContainerView] = []
        for c in facts.containers {
            let running = owners.contains { $0.name == c.name }
            let e = running ? entries[c.state.Pid] : nil
            var processes: [ProcessView] = []
            if let e, let pidNS = e.namespaces[.pid] {
                processes = trees(entries.values.filter { $0.namespaces[.pid] == pidNS })
            }
            containers.append(ContainerView(
                name: c.name, id: c.id, status: c.state.Status.rawValue, created: c.spec.Created, startedAt: c.state.StartedAt,
                namespaces: e.map { views($0.namespaces, of: c.name, among: owners) } ?? [],
                processes: processes, cgroup: e.map { _ in cgroup(c.spec.cgroup, mode: mode) },
                network: network(c, facts: facts, pid: e?.pid),
                filesystem: filesystem(c, overlay: facts.overlay, mounts: mounts)))
        }

        // Host processes in namespaces of their own, outside every container's pid namespace: grouped by the set
        // of namespaces in which they differ from the host, each group's processes as trees.
        var groups: [[NamespaceKind: UInt64]: [Entry]] = [:]
        for e in entries.values where e.stat.ppid != 2 && e.pid != 2 {
            guard let pidNS = e.namespaces[.pid], !containerPidNS.contains(pidNS) else { continue }
            let different = e.namespaces.filter { host[$0.key] != nil && host[$0.key] != $0.value }
            if different.isEmpty { continue }
            groups[different, default: []].append(e)
        }
        // A group whose first process is the child of another group's joins it: `unshare --pid --fork` stays
        // in the host's pid namespace and its child is PID 1 of the new one, one picture for the two.
        var merged: [[Entry]] = groups.values.sorted { ($0.map(\.pid).min() ?? 0) < ($1.map(\.pid).min() ?? 0) }
        func parentGroup(of j: Int) -> Int? {
            let own = Set(merged[j].map(\.pid))
            let parents = Set(merged[j].filter { !own.contains($0.stat.ppid) }.map(\.stat.ppid))
            return merged.indices.first { $0 != j && merged[$0].contains { parents.contains($0.pid) } }
        }
        while let j = merged.indices.first(where: { parentGroup(of: $0) != nil }), let i = parentGroup(of: j) {
            merged[i] += merged[j]
            merged.remove(at: j)
        }
        var isolated: [IsolatedGroup] = []
        var services: [String] = []
        for members in merged {
            let processes = trees(members)
            guard let first = processes.first, let e = entries[first.hostPid] else { continue }
            if processes.allSatisfy({ isService($0.hostPid, parent: entries[$0.hostPid]?.stat.ppid) }) {
                services.append(first.command)
                continue
            }
            let name = "\(first.command):\(first.hostPid)"
            isolated.append(IsolatedGroup(name: name, namespaces: views(e.namespaces, of: name, among: owners), processes: processes))
        }
        isolated.sort { ($0.processes.first?.hostPid ?? 0) < ($1.processes.first?.hostPid ?? 0) }

        let bridges = facts.networks.map {
            BridgeView(network: $0.Name, device: $0.Bridge, subnet: $0.Subnet.description, gateway: $0.Gateway.description,
                       present: kernel.hasDevice($0.Bridge))
        }
        return HostMapModel(cgroupMode: mode, hostNamespaces: host, bridges: bridges,
                            containers: containers.sorted { $0.name < $1.name }, isolated: isolated,
                            services: services.sorted(), readAt: .now()).withoutControls()
    }

    /// A process systemd started for a system service: a child of PID 1 whose own cgroup is a `.service` (in
    /// the v2 tree or systemd's v1 name=systemd hierarchy). A learner's commands run in a session's `.scope`
    /// (or a container's cgroup), even when they were left to PID 1.
    func isService(_ pid: Int32, parent: Int32?) -> Bool {
        guard parent == 1 else { return false }
        for line in (kernel.read("/proc/\(pid)/cgroup") ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "0" || parts[1] == "name=systemd" else { continue }
            return parts[2].split(separator: "/").last?.hasSuffix(".service") ?? false
        }
        return false
    }

    /// Processes as trees: each one whose parent is not among them is a root; children in pid order.
    func trees(_ members: [Entry]) -> [ProcessView] {
        let pids = Set(members.map(\.pid))
        var children: [Int32: [Entry]] = [:]
        for e in members { children[e.stat.ppid, default: []].append(e) }
        func view(_ e: Entry, _ depth: Int) -> ProcessView {
            let nsPid = kernel.nsPids(e.pid).last ?? e.pid
            let kids = depth > 32 ? [] : (children[e.pid] ?? []).sorted { $0.pid < $1.pid }.map { view($0, depth + 1) }
            return ProcessView(hostPid: e.pid, nsPid: nsPid, command: e.stat.comm, state: e.stat.state,
                               startTicks: e.stat.startTicks, children: kids)
        }
        return members.filter { !pids.contains($0.stat.ppid) }.sorted { $0.pid < $1.pid }.map { view($0, 0) }
    }

    /// A container's cgroup: use, OOM kills and frozen from Engine's own driver for the host's mode (pointed at
    /// this root's cgroupfs), and the limits it does not read (pids.max, the CPU quota and weight) beside it.
    func cgroup(_ name: String, mode: CgroupMode) -> CgroupView {
        let root = kernel.file("/sys/fs/cgroup")
        let driver: CgroupDriver = mode == .unified ? CgroupV2(root: root) : CgroupV1(root: root)
        let stats = driver.stats(name)
        func file(_ file: String, _ controller: String) -> String? {
            kernel.cgroupFile(file, cgroup: "/" + name, controller: controller, mode: mode)
        }
        func number(_ name: String, _ controller: String) -> Int64? { file(name, controller).flatMap { Int64($0.trimmed) } }
        var view = CgroupView(path: name, memoryUsage: stats.memoryBytes, memoryLimit: stats.memoryLimit,
                              pidsCurrent: Int64(stats.pids), pidsLimit: number("pids.max", "pids"),
                              cpuUsage: stats.cpuNanoseconds, frozen: driver.isFrozen(name), oomKills: Int64(driver.oomKills(name)))
        if mode == .unified {
            let max = (file("cpu.max", "cpu") ?? "").split(separator: " ")
            if max.count == 2, let q = Double(max[0]), let p = Double(max[1]), p > 0 { view.cpuQuota = q / p }
            view.cpuWeight = number("cpu.weight", "cpu").map { CgroupView.Weight(file: "cpu.weight", value: $0) }
        } else {
            if let q = number("cpu.cfs_quota_us", "cpu"), let p = number("cpu.cfs_period_us", "cpu"), q > 0, p > 0 {
                view.cpuQuota = Double(q) / Double(p)
            }
            view.cpuWeight = number("cpu.shares", "cpu").map { CgroupView.Weight(file: "cpu.shares", value: $0) }
        }
        return view
    }

    func network(_ c: Container, facts: EngineFacts, pid: Int32?) -> NetworkView {
        let a = facts.attachments[c.id]
        var view = NetworkView(mode: c.spec.HostConfig.NetworkMode, kernelAddresses: [],
                               ports: (a?.Ports ?? c.spec.HostConfig.PortBindings ?? []).map { "\($0.HostIp):\($0.HostPort)→\($0.ContainerPort)/tcp" })
        if let pid, view.mode != "host" { view.kernelAddresses = kernel.localAddresses(of: pid) }
        guard let a else { return view }
        view.address = a.IPAddress.description
        view.prefix = a.PrefixLen
        view.mac = a.MacAddress
        view.hostVeth = a.HostVeth
        view.vethMaster = kernel.master(of: a.HostVeth)
        view.bridge = a.Bridge
        view.subnet = facts.networks.first { $0.Name == a.Network }?.Subnet.description
        return view
    }

    func filesystem(_ c: Container, overlay: String, mounts: [Mount]) -> FilesystemView {
        let layer = overlay + "/" + c.id
        let merged = layer + "/merged"
        let mount = mounts.last { $0.mountPoint == merged && $0.fsType == "overlay" }
        // The kernel's word for the layers when the overlay is mounted; box's record otherwise.
        var lower = Array(c.spec.LayerDirs.reversed())
        if let mount, let option = mount.superOptions.split(separator: ",").first(where: { $0.hasPrefix("lowerdir=") }) {
            lower = option.dropFirst(9).split(separator: ":").map { Mount.unescape(String($0)) }
        }
        let counts = UpperCounts.count(upper: layer + "/diff", lowers: lower)
        return FilesystemView(lowerdirs: lower, upperdir: layer + "/diff", merged: merged, mounted: mount != nil,
                              added: counts.added, changed: counts.changed, whiteouts: counts.whiteouts)
    }
}
