import Engine

/// Cgroup files of the cgroup a process is in, on a v1, hybrid or v2 host: what the kernel enforces, as a
/// check reads it (`memory.max` or `memory.limit_in_bytes`, `pids.current`, `memory.events`...).
public enum CgroupFiles {
    /// The cgroup path of `pid` for `controller` ("memory", "pids", "cpu"...), or of the v2 tree ("").
    public static func path(of pid: Int32, controller: String = "") -> String? {
        for line in (Files.readIfPresent("/proc/\(pid)/cgroup") ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let controllers = parts[1].split(separator: ",").map(String.init)
            if controller.isEmpty ? parts[0] == "0" : controllers.contains(controller) { return String(parts[2]) }
        }
        return nil
    }

    /// The cgroup v2 `cpu.weight` that box (as runc) writes for `--cpu-shares` (v1's `cpu.shares`).
    public static func weight(fromShares shares: Int64) -> Int64 { Cgroups.weight(fromShares: shares) }

    /// Reads `file` of `pid`'s cgroup: first from the controller's v1 hierarchy, then from the v2 tree.
    public static func read(_ file: String, of pid: Int32, controller: String) -> String? {
        if let v1 = path(of: pid, controller: controller),
           let text = Files.readIfPresent("/sys/fs/cgroup/\(controller)\(v1)/\(file)") {
            return text.trimmingTrailingNewline()
        }
        if let v2 = path(of: pid) {
            for mount in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
                if let text = Files.readIfPresent("\(mount)\(v2)/\(file)") { return text.trimmingTrailingNewline() }
            }
        }
        return nil
    }
}

extension CgroupFiles {
    /// True on a pure cgroup v2 host (most learners' VMs); false on v1 and hybrid hosts, where the controllers
    /// are v1's (the v2 tree beside them holds none that box uses).
    public static var isUnified: Bool { CgroupMode.detect() == .unified }

    /// The file that holds the memory limit, and the freezer's file with its frozen value, in this host's mode.
    public static var memoryLimitFile: String { isUnified ? "memory.max" : "memory.limit_in_bytes" }
    public static var freezer: (file: String, frozen: String) { isUnified ? ("cgroup.freeze", "1") : ("freezer.state", "FROZEN") }

    /// CPU time used by `pid`'s cgroup, in nanoseconds: cpuacct.usage (v1) or cpu.stat's usage_usec (v2).
    public static func cpuUsage(of pid: Int32) -> UInt64? {
        if !isUnified { return read("cpuacct.usage", of: pid, controller: "cpuacct").flatMap { UInt64($0.trimmed) } }
        for line in (read("cpu.stat", of: pid, controller: "cpu") ?? "").split(separator: "\n") {
            let p = line.split(separator: " ")
            if p.count == 2, p[0] == "usage_usec", let n = UInt64(p[1]) { return n * 1000 }
        }
        return nil
    }

    /// cpu.shares (v1) or cpu.weight (v2) of `pid`'s cgroup, with the file's name.
    public static func cpuWeight(of pid: Int32) -> (file: String, value: Int64)? {
        let file = isUnified ? "cpu.weight" : "cpu.shares"
        return read(file, of: pid, controller: "cpu").flatMap { Int64($0.trimmed) }.map { (file, $0) }
    }

    /// The CPUs `pid`'s cgroup may run on (cpuset.effective_cpus on v1, cpuset.cpus.effective on v2).
    public static func cpusetCPUs(of pid: Int32) -> [Int] {
        let list = read(isUnified ? "cpuset.cpus.effective" : "cpuset.effective_cpus", of: pid, controller: "cpuset") ?? ""
        var cpus: [Int] = []
        for part in list.trimmed.split(separator: ",") {
            let ends = part.split(separator: "-").compactMap { Int($0) }
            if ends.count == 1 { cpus.append(ends[0]) } else if ends.count == 2, ends[0] <= ends[1] { cpus += Array(ends[0]...ends[1]) }
        }
        return cpus
    }

    /// The CPUs `pid`'s cgroup may use per period (cpu.cfs_quota_us / cpu.cfs_period_us on v1, cpu.max on v2),
    /// or nil if it has no quota (-1, "max").
    public static func cpuQuota(of pid: Int32) -> Double? {
        let quota: Int64?, period: Int64?
        if !isUnified {
            quota = read("cpu.cfs_quota_us", of: pid, controller: "cpu").flatMap { Int64($0.trimmed) }
            period = read("cpu.cfs_period_us", of: pid, controller: "cpu").flatMap { Int64($0.trimmed) }
        } else {
            let max = (read("cpu.max", of: pid, controller: "cpu") ?? "").split(separator: " ")
            quota = max.first.flatMap { Int64($0) }
            period = max.count > 1 ? Int64(max[1]) : nil
        }
        guard let quota, let period, quota > 0, period > 0 else { return nil }
        return Double(quota) / Double(period)
    }

    /// Where `file` of `pid`'s cgroup is on this host (the first place `read` looks that has it).
    public static func filePath(_ file: String, of pid: Int32, controller: String) -> String? {
        var candidates: [String] = []
        if let v1 = path(of: pid, controller: controller) { candidates.append("/sys/fs/cgroup/\(controller)\(v1)/\(file)") }
        if let v2 = path(of: pid) { candidates += ["/sys/fs/cgroup\(v2)/\(file)", "/sys/fs/cgroup/unified\(v2)/\(file)"] }
        return candidates.first { Files.exists($0) }
    }
}

extension String {
    func trimmingTrailingNewline() -> String {
        var s = self
        while s.last == "\n" { s.removeLast() }
        return s
    }
}
