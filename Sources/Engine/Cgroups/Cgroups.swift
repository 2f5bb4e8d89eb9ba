#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// Resource limits, with docker's names and units (HostConfig in `docker inspect`). nil or 0: no limit.
public struct Resources: Codable, Sendable, Equatable {
    public var Memory: Int64 = 0          // bytes
    public var MemorySwap: Int64 = 0      // bytes of memory + swap; -1 unlimited swap
    public var CpuShares: Int64 = 0       // relative weight, 2..262144 (1024 is the default)
    public var NanoCpus: Int64 = 0        // --cpus 1.5 = 1_500_000_000
    public var CpusetCpus: String = ""    // "0-1,3"
    public var PidsLimit: Int64 = 0

    // docker's run flags beyond the first ones: optional, so the specs of containers created before them decode.
    public var CpuPeriod: Int64?          // µs, --cpu-period (CFS period; with --cpu-quota)
    public var CpuQuota: Int64?           // µs a period, --cpu-quota
    public var CpusetMems: String?        // memory nodes, --cpuset-mems "0"
    public var MemoryReservation: Int64?  // bytes, --memory-reservation (a soft limit: reclaimed first under pressure)
    public var MemorySwappiness: Int64?   // 0..100, --memory-swappiness (cgroup v1 only)
    public var OomKillDisable: Bool?      // --oom-kill-disable (cgroup v1 only)

    public init() {}
    public var isEmpty: Bool { self == Resources() }
}

/// One cgroup driver interface, with a v1 and a v2 implementation (youki's libcgroups has the same shape).
/// A container's cgroup is `box/<id>` below the hierarchy root(s); `root` is /sys/fs/cgroup unless a test
/// points it at a fake tree. The `box` parent stays when its last container goes, as docker's `docker` does:
/// made and removed with every container, it cost each start and stop a cgroup per hierarchy (about 0.5 ms on
/// a v1 host's six). `removeParent` removes it once empty, for tests and throw-away roots. (On v1 the kept
/// parent also keeps the CPUs and memory nodes it inherited when it was made, as docker's does: a CPU
/// brought online later reaches containers once the parent is made again.)
public protocol CgroupDriver: Sendable {
    var mode: CgroupMode { get }
    /// Creates the container's cgroup and writes its limits and its device rules: `devices` (DeviceRule.defaults,
    /// runc's list), or nil for every device (--privileged).
    func create(_ name: String, _ resources: Resources, devices: [DeviceRule]?) throws
    /// Writes limits to an existing cgroup (`box update`).
    func apply(_ name: String, _ resources: Resources) throws
    /// The files a single-threaded process (PID 1 while it is held, `box exec`'s nsexec) writes "0" to, to join
    /// the container's cgroup(s).
    func procsFiles(_ name: String) -> [String]
    /// The directory a process can be cloned straight into (cgroup v2, clone3 CLONE_INTO_CGROUP), or nil (v1).
    func cloneTarget(_ name: String) -> String?
    /// How many times the OOM killer killed a process in this cgroup.
    func oomKills(_ name: String) -> Int
    /// What `box stats` shows, read from the controller files.
    func stats(_ name: String) -> CgroupStats
    /// Freezes or thaws every process of the cgroup, and waits until the kernel says it is done.
    func freeze(_ name: String, _ frozen: Bool) throws
    /// Whether the cgroup is frozen or freezing (false if it does not exist).
    func isFrozen(_ name: String) -> Bool
    /// Removes the cgroup (its processes must be gone); retries while dying processes still hold it.
    func remove(_ name: String) throws
    /// Removes the parent of `name` (box/) in each hierarchy if no cgroup is left in it; never throws.
    func removeParent(_ name: String)
}

/// One rule of the device cgroup, in cgroup v1's devices.allow terms: `c 1:3 rwm`, `b *:* m`.
public struct DeviceRule: Sendable, Equatable {
    public var type: Character       // "c", "b", or "a" (both)
    public var major: Int32?         // nil: any
    public var minor: Int32?
    public var access: String        // "r", "w", "m" in any combination

    public init(_ type: Character, _ major: Int32?, _ minor: Int32?, _ access: String) {
        self.type = type
        self.major = major
        self.minor = minor
        self.access = access
    }

    /// `c 1:3 rwm`, as v1's devices.allow reads it.
    public var line: String {
        "\(type) \(major.map(String.init) ?? "*"):\(minor.map(String.init) ?? "*") \(access)"
    }

    /// For the v2 program: access as BPF_DEVCG_ACC_* bits (mknod 1, read 2, write 4), -1 for "any".
    var c: box_device_rule {
        let bits = (access.contains("m") ? 1 : 0) | (access.contains("r") ? 2 : 0) | (access.contains("w") ? 4 : 0)
        return box_device_rule(type: CChar(type.asciiValue ?? 97), major: major ?? -1, minor: minor ?? -1, access: UInt32(bits))
    }

    /// What a container may use: the devices docker's containers get, which is runc's AllowedDevices
    /// (libcontainer/specconv/spec_linux.go), appended by runc to docker's "deny all" (moby's
    /// oci/defaults.go): mknod of any node (it is opening one that counts); the nodes box puts in /dev (null,
    /// zero, full, random, urandom, tty); the ptys (/dev/pts/N, major 136, and /dev/ptmx, 5:2; /dev/console is
    /// one of them); and /dev/net/tun (10:200), which runc removed in 1.2.0-rc1 and put back for docker's users
    /// (opencontainers/runc#3468). Not /dev/console's 5:1, /dev/kvm, /dev/fuse, any block device: those need a
    /// rule the user asks for (box has no --device yet) or --privileged.
    public static let defaults: [DeviceRule] = [
        DeviceRule("c", nil, nil, "m"), DeviceRule("b", nil, nil, "m"),
        DeviceRule("c", 1, 3, "rwm"), DeviceRule("c", 1, 8, "rwm"), DeviceRule("c", 1, 7, "rwm"),
        DeviceRule("c", 5, 0, "rwm"), DeviceRule("c", 1, 5, "rwm"), DeviceRule("c", 1, 9, "rwm"),
        DeviceRule("c", 136, nil, "rwm"), DeviceRule("c", 5, 2, "rwm"), DeviceRule("c", 10, 200, "rwm"),
    ]
}

extension CgroupDriver {
    /// With the default device rules.
    public func create(_ name: String, _ resources: Resources) throws {
        try create(name, resources, devices: DeviceRule.defaults)
    }
}

public struct CgroupStats: Sendable, Equatable {
    public var cpuNanoseconds: UInt64 = 0  // CPU time used since the cgroup was made
    public var memoryBytes: Int64 = 0
    public var memoryLimit: Int64?         // nil: no limit of its own
    public var pids: Int = 0

    public init(cpuNanoseconds: UInt64 = 0, memoryBytes: Int64 = 0, memoryLimit: Int64? = nil, pids: Int = 0) {
        self.cpuNanoseconds = cpuNanoseconds
        self.memoryBytes = memoryBytes
        self.memoryLimit = memoryLimit
        self.pids = pids
    }
}

public enum Cgroups {
    static func number(_ path: String) -> Int64? {
        Files.readIfPresent(path).flatMap { Int64($0.trimmed) }
    }

    /// The driver for this host: v2 on a unified host, v1 otherwise (a hybrid host's v2 tree holds no
    /// controllers we use).
    public static func driver(root: String = "/sys/fs/cgroup") -> CgroupDriver {
        CgroupMode.detect() == .unified ? CgroupV2(root: root) : CgroupV1(root: root)
    }

    /// The `box` parents of the host's hierarchies, if empty: what tests and selftest leave once their
    /// containers are removed (a parent another start is using stays).
    public static func removeEmptyParents() {
        driver().removeParent("box/-")
    }

    /// runc's and crun's conversion of cpu.shares (2..262144) to cgroup v2's cpu.weight (1..10000).
    public static func weight(fromShares shares: Int64) -> Int64 {
        shares <= 0 ? 0 : 1 + ((max(2, min(shares, 262_144)) - 2) * 9999) / 262_142
    }

    static let period: Int64 = 100_000  // µs, docker's CFS period

    static func write(_ path: String, _ value: String) throws {
        // O_CREAT|O_TRUNC is harmless on cgroupfs (its files exist; a missing one is still an error) and lets
        // tests run the drivers against a fake tree in a plain directory.
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BoxError.sys(.cgroup, "open \(path)") }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else {
            throw BoxError.sys(.cgroup, "write \"\(value)\" to \(path)")
        }
    }

    /// Writes each value with a write(2) of its own on one open file: a v1 devices.allow takes one rule a write.
    static func writeEach(_ path: String, _ values: [String]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)  // O_CREAT: see write(_:_:)
        guard fd >= 0 else { throw BoxError.sys(.cgroup, "open \(path)") }
        defer { close(fd) }
        for value in values {
            let bytes = Array(value.utf8)
            guard Glibc.write(fd, bytes, bytes.count) == bytes.count else {
                throw BoxError.sys(.cgroup, "write \"\(value)\" to \(path)")
            }
        }
    }

    static func mkdir(_ path: String) throws {
        if Glibc.mkdir(path, 0o755) != 0 && errno != EEXIST { throw BoxError.sys(.cgroup, "create cgroup \(path)") }
    }

    /// mkdir of `path` below a parent that may be removed at any moment (a test's or selftest's clean-up
    /// removes the shared box/ parent once empty), even while `parentReady` is setting it up: recreate the
    /// parent and try again.
    static func mkdirBelowShared(_ path: String, parentReady: (String) throws -> Void = { _ in }) throws {
        let parent = String(path[..<path.lastIndex(of: "/")!])
        for _ in 0..<20 {
            try mkdir(parent)
            do {
                try parentReady(parent)
            } catch let e as BoxError where e.errno == ENOENT {
                continue
            }
            if Glibc.mkdir(path, 0o755) == 0 || errno == EEXIST { return }
            guard errno == ENOENT else { throw BoxError.sys(.cgroup, "create cgroup \(path)") }
        }
        throw BoxError(.cgroup, "create cgroup \(path): its parent kept being removed (20 tries)")
    }

    /// rmdir, retried for a moment: processes killed with their pid namespace may still be exiting.
    static func rmdir(_ path: String) throws {
        for attempt in 0..<50 {
            if Glibc.rmdir(path) == 0 || errno == ENOENT { return }
            guard errno == EBUSY else { break }
            usleep(UInt32(2_000 * (attempt + 1)))
        }
        throw BoxError.sys(.cgroup, "remove cgroup \(path)")
    }

    /// A "key value" line of a flat-keyed file (memory.events, memory.oom_control).
    /// Polls `done` for up to a second (freezing is asynchronous in both cgroup versions).
    static func settle(_ what: String, _ done: () -> Bool) throws {
        for _ in 0..<200 {
            if done() { return }
            usleep(5_000)
        }
        throw BoxError(.cgroup, "\(what) did not complete within a second")
    }

    static func counter(_ file: String, _ key: String) -> Int {
        guard let text = Files.readIfPresent(file) else { return 0 }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 && parts[0] == key { return Int(parts[1]) ?? 0 }
        }
        return 0
    }
}

/// cgroup v1: one directory per controller hierarchy (memory/box/<id>, pids/box/<id>, ...).
public struct CgroupV1: CgroupDriver {
    public let root: String
    public var mode: CgroupMode { .legacy }
    static let controllers = ["memory", "pids", "cpu", "cpuacct", "cpuset", "freezer", "devices"]
    /// Every v1 controller the kernel has (cgroup-v1 docs); what else a cgroup mount's options hold is not one.
    static let knownControllers: Set<String> = ["cpuset", "cpu", "cpuacct", "blkio", "memory", "devices", "freezer",
                                                "net_cls", "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc", "debug"]

    public init(root: String = "/sys/fs/cgroup") { self.root = root }

    func dirs(_ name: String) -> [(controller: String, path: String)] {
        CgroupV1.controllers.filter { Files.isDirectory(root + "/" + $0) }.map { ($0, root + "/" + $0 + "/" + name) }
    }

    public func create(_ name: String, _ resources: Resources, devices: [DeviceRule]?) throws {
        for (controller, path) in dirs(name) {
            // A new v1 cpuset has no CPUs or memory nodes: nothing could join it. Inherit the parent's, or the
            // root's if the parent has none yet (another start made it again a moment ago and is filling it in).
            func inherit(_ dir: String, from: String) throws {
                guard controller == "cpuset" else { return }
                for file in ["cpuset.cpus", "cpuset.mems"] where (Files.readIfPresent(dir + "/" + file) ?? "").trimmed.isEmpty {
                    var value = (Files.readIfPresent(from + "/" + file) ?? "").trimmed
                    if value.isEmpty { value = (Files.readIfPresent(root + "/cpuset/" + file) ?? "").trimmed }
                    try Cgroups.write(dir + "/" + file, value)
                }
            }
            try Cgroups.mkdirBelowShared(path) { parent in try inherit(parent, from: root + "/cpuset") }
            try inherit(path, from: String(path[..<path.lastIndex(of: "/")!]))
            // A new devices cgroup copies its parent's rules (box/ allows all, as the root does): deny all,
            // then allow the list, as runc's v1 devices manager writes them (cgroup-v1/devices.rst).
            if controller == "devices", let devices {
                try Cgroups.write(path + "/devices.deny", "a")
                try Cgroups.writeEach(path + "/devices.allow", devices.map(\.line))
            }
        }
        try apply(name, resources)
    }

    public func apply(_ name: String, _ r: Resources) throws {
        let base = { (controller: String) in root + "/" + controller + "/" + name }
        if r.Memory > 0 {
            let limit = base("memory") + "/memory.limit_in_bytes", swapLimit = base("memory") + "/memory.memsw.limit_in_bytes"
            // Without --memory-swap docker allows as much swap as memory (memsw = 2 × memory).
            let memsw = r.MemorySwap > 0 ? r.MemorySwap : r.MemorySwap == -1 ? -1 : 2 * r.Memory
            // The kernel keeps memory ≤ memory+swap at every write: a limit raised above the current memsw
            // (`box update -m` upwards) must raise memsw first, as runc does (setMemoryAndSwap), or it is EINVAL.
            let hasSwapLimit = Files.exists(swapLimit)
            let current = hasSwapLimit ? Cgroups.number(swapLimit) : nil
            let swapFirst = hasSwapLimit && (memsw == -1 || (current.map { r.Memory > $0 } ?? false))
            if swapFirst { try Cgroups.write(swapLimit, String(memsw)) }
            try Cgroups.write(limit, String(r.Memory))
            if hasSwapLimit && !swapFirst { try Cgroups.write(swapLimit, String(memsw)) }
        }
        if r.PidsLimit > 0 { try Cgroups.write(base("pids") + "/pids.max", String(r.PidsLimit)) }
        if r.CpuShares > 0 { try Cgroups.write(base("cpu") + "/cpu.shares", String(r.CpuShares)) }
        if r.NanoCpus > 0 {
            try Cgroups.write(base("cpu") + "/cpu.cfs_period_us", String(Cgroups.period))
            try Cgroups.write(base("cpu") + "/cpu.cfs_quota_us", String(r.NanoCpus * Cgroups.period / 1_000_000_000))
        }
        if !r.CpusetCpus.isEmpty { try Cgroups.write(base("cpuset") + "/cpuset.cpus", r.CpusetCpus) }
        if let mems = r.CpusetMems { try Cgroups.write(base("cpuset") + "/cpuset.mems", mems) }
        if let period = r.CpuPeriod { try Cgroups.write(base("cpu") + "/cpu.cfs_period_us", String(period)) }
        if let quota = r.CpuQuota { try Cgroups.write(base("cpu") + "/cpu.cfs_quota_us", String(quota)) }
        if let soft = r.MemoryReservation { try Cgroups.write(base("memory") + "/memory.soft_limit_in_bytes", String(soft)) }
        if let swappiness = r.MemorySwappiness { try Cgroups.write(base("memory") + "/memory.swappiness", String(swappiness)) }
        if r.OomKillDisable == true { try Cgroups.write(base("memory") + "/memory.oom_control", "1") }
    }

    /// `tasks`, not cgroup.procs: both move a single-threaded writer of "0" alone, but a write to cgroup.procs
    /// first takes the global cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period (6-13 ms
    /// here, per start), while a thread moving itself needs no such lock (kernel/cgroup/cgroup.c,
    /// cgroup_procs_write_start: "If the thread is `current`... we can skip the global lock"; 0.05-0.15 ms).
    public func procsFiles(_ name: String) -> [String] { dirs(name).map { $0.path + "/tasks" } }
    public func cloneTarget(_ name: String) -> String? { nil }

    public func oomKills(_ name: String) -> Int {
        Cgroups.counter(root + "/memory/" + name + "/memory.oom_control", "oom_kill")
    }

    public func stats(_ name: String) -> CgroupStats {
        var s = CgroupStats()
        s.cpuNanoseconds = UInt64(Cgroups.number(root + "/cpuacct/" + name + "/cpuacct.usage") ?? 0)
        s.memoryBytes = Cgroups.number(root + "/memory/" + name + "/memory.usage_in_bytes") ?? 0
        // v1 reports "no limit" as a huge page-rounded number.
        s.memoryLimit = Cgroups.number(root + "/memory/" + name + "/memory.limit_in_bytes").flatMap { $0 >= 1 << 62 ? nil : $0 }
        s.pids = Int(Cgroups.number(root + "/pids/" + name + "/pids.current") ?? 0)
        return s
    }

    /// The v1 freezer: freezer.state goes FREEZING -> FROZEN (cgroups/freezer-subsystem.rst).
    public func freeze(_ name: String, _ frozen: Bool) throws {
        let file = root + "/freezer/" + name + "/freezer.state"
        let want = frozen ? "FROZEN" : "THAWED"
        try Cgroups.write(file, want)
        try Cgroups.settle(frozen ? "freezing" : "thawing") { (Files.readIfPresent(file) ?? "").trimmed == want }
    }

    public func isFrozen(_ name: String) -> Bool {
        let state = (Files.readIfPresent(root + "/freezer/" + name + "/freezer.state") ?? "THAWED").trimmed
        return state == "FROZEN" || state == "FREEZING"
    }

    public func remove(_ name: String) throws {
        for (_, path) in dirs(name) { try Cgroups.rmdir(path) }
    }

    public func removeParent(_ name: String) {
        for (_, path) in dirs(name) { _ = Glibc.rmdir(String(path[..<path.lastIndex(of: "/")!])) }
    }
}

/// cgroup v2: one tree; controllers must be enabled in cgroup.subtree_control of every ancestor.
public struct CgroupV2: CgroupDriver {
    public let root: String
    public var mode: CgroupMode { .unified }

    public init(root: String = "/sys/fs/cgroup") { self.root = root }

    public func create(_ name: String, _ resources: Resources, devices: [DeviceRule]?) throws {
        // Enable in each parent what it has, then step down (cgroup-v2.rst, "Enabling and Disabling"). The
        // shared box/ parent may be removed and re-made under us, so enabling is part of making it ready.
        func enable(_ dir: String) throws {
            let wanted = ["cpu", "cpuset", "memory", "pids"]
            let available = Set((Files.readIfPresent(dir + "/cgroup.controllers") ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            let enable = wanted.filter { available.contains($0) }.map { "+" + $0 }.joined(separator: " ")
            if !enable.isEmpty { try Cgroups.write(dir + "/cgroup.subtree_control", enable) }
        }
        try enable(root)
        var dir = root
        for part in name.split(separator: "/") {
            dir += "/" + part
            try Cgroups.mkdirBelowShared(dir) { parent in if parent != root { try enable(parent) } }
        }
        if let devices { try CgroupV2.filterDevices(dir, devices) }
        try apply(name, resources)
    }

    /// v2's device controller is a BPF program on the cgroup (CSpawn devices.c), attached before anything
    /// joins it. Not on a tree that is not cgroupfs (tests' fake trees in a plain directory).
    static func filterDevices(_ dir: String, _ devices: [DeviceRule]) throws {
        var fs = statfs()
        guard statfs(dir, &fs) == 0 else { throw BoxError.sys(.cgroup, "statfs \(dir)") }
        guard fs.f_type == 0x6367_7270 else { return }  // CGROUP2_SUPER_MAGIC
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw BoxError.sys(.cgroup, "open \(dir)") }
        defer { close(fd) }
        let rules = devices.map(\.c)
        let rc = rules.withUnsafeBufferPointer { box_device_filter(fd, $0.baseAddress, $0.count) }
        guard rc == 0 else {
            throw BoxError.sys(.cgroup, "attach the device filter (a BPF_PROG_TYPE_CGROUP_DEVICE program) to \(dir); the kernel needs CONFIG_CGROUP_BPF (--privileged runs without device rules)", errno: -rc)
        }
    }

    public func apply(_ name: String, _ r: Resources) throws {
        let dir = root + "/" + name
        if r.Memory > 0 {
            try Cgroups.write(dir + "/memory.max", String(r.Memory))
            // v2 counts swap alone: docker's --memory-swap is memory + swap.
            let swap = r.MemorySwap == -1 ? "max" : String(max(0, (r.MemorySwap > 0 ? r.MemorySwap : 2 * r.Memory) - r.Memory))
            if Files.exists(dir + "/memory.swap.max") { try Cgroups.write(dir + "/memory.swap.max", swap) }
        }
        if r.PidsLimit > 0 { try Cgroups.write(dir + "/pids.max", String(r.PidsLimit)) }
        if r.CpuShares > 0 { try Cgroups.write(dir + "/cpu.weight", String(Cgroups.weight(fromShares: r.CpuShares))) }
        if r.NanoCpus > 0 {
            try Cgroups.write(dir + "/cpu.max", "\(r.NanoCpus * Cgroups.period / 1_000_000_000) \(Cgroups.period)")
        }
        if !r.CpusetCpus.isEmpty { try Cgroups.write(dir + "/cpuset.cpus", r.CpusetCpus) }
        if let mems = r.CpusetMems { try Cgroups.write(dir + "/cpuset.mems", mems) }
        if r.CpuQuota != nil || r.CpuPeriod != nil {
            // cpu.max is "QUOTA PERIOD" (runc's ConvertCPUQuotaCPUPeriodToCgroupV2Value): a quota of 0 or less is "max".
            let quota = r.CpuQuota.map { $0 > 0 ? String($0) : "max" } ?? "max"
            try Cgroups.write(dir + "/cpu.max", "\(quota) \(r.CpuPeriod ?? Cgroups.period)")
        }
        if let soft = r.MemoryReservation { try Cgroups.write(dir + "/memory.low", String(soft)) }
        // memory.swappiness and memory.oom_control have no v2 files: CreateOptions.resources refuses them there.
    }

    public func procsFiles(_ name: String) -> [String] { [root + "/" + name + "/cgroup.procs"] }
    public func cloneTarget(_ name: String) -> String? { root + "/" + name }

    public func oomKills(_ name: String) -> Int {
        Cgroups.counter(root + "/" + name + "/memory.events", "oom_kill")
    }

    public func stats(_ name: String) -> CgroupStats {
        let dir = root + "/" + name
        var s = CgroupStats()
        s.cpuNanoseconds = UInt64(Cgroups.counter(dir + "/cpu.stat", "usage_usec")) * 1000
        s.memoryBytes = Cgroups.number(dir + "/memory.current") ?? 0
        s.memoryLimit = Cgroups.number(dir + "/memory.max")  // "max" does not parse: no limit
        s.pids = Int(Cgroups.number(dir + "/pids.current") ?? 0)
        return s
    }

    /// cgroup.freeze, then cgroup.events says "frozen 1" (cgroup-v2.rst, "Core Interface Files").
    public func freeze(_ name: String, _ frozen: Bool) throws {
        let dir = root + "/" + name
        try Cgroups.write(dir + "/cgroup.freeze", frozen ? "1" : "0")
        try Cgroups.settle(frozen ? "freezing" : "thawing") {
            Cgroups.counter(dir + "/cgroup.events", "frozen") == (frozen ? 1 : 0)
        }
    }

    public func isFrozen(_ name: String) -> Bool {
        (Files.readIfPresent(root + "/" + name + "/cgroup.freeze") ?? "0").trimmed == "1"
    }

    public func remove(_ name: String) throws {
        try Cgroups.rmdir(root + "/" + name)
    }

    public func removeParent(_ name: String) {
        let dir = root + "/" + name
        _ = Glibc.rmdir(String(dir[..<dir.lastIndex(of: "/")!]))
    }
}

extension StringProtocol {
    /// Without leading and trailing whitespace.
    public var trimmed: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
