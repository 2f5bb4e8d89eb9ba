/// How the host mounts cgroups, detected as youki and crun do, from the filesystem type of /sys/fs/cgroup:
/// cgroup2 (unified), or tmpfs holding v1 hierarchies plus a v2 mount at unified/ (hybrid) or not (legacy).
public enum CgroupMode: Sendable, Equatable, CustomStringConvertible {
    case unified, hybrid, legacy

    public static func detect(mountinfo: String? = Files.readIfPresent("/proc/self/mountinfo")) -> CgroupMode {
        var types: [String: String] = [:]
        for line in (mountinfo ?? "").split(separator: "\n") {
            // "... mountpoint options [optional fields] - fstype source superoptions"
            let parts = line.split(separator: " - ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let before = parts[0].split(separator: " ")
            guard before.count > 4, let type = parts[1].split(separator: " ").first else { continue }
            types[String(before[4])] = String(type)
        }
        if types["/sys/fs/cgroup"] == "cgroup2" { return .unified }
        if types["/sys/fs/cgroup/unified"] == "cgroup2" { return .hybrid }
        return .legacy
    }

    public var description: String {
        switch self {
        case .unified: return "2 (unified)"
        case .hybrid: return "1 (hybrid: v1 controllers, v2 at /sys/fs/cgroup/unified)"
        case .legacy: return "1 (legacy)"
        }
    }
}
