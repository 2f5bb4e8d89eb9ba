#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// How the host mounts cgroups, detected as youki and crun do, from the filesystem type of /sys/fs/cgroup:
/// cgroup2 (unified), or tmpfs holding v1 hierarchies plus a v2 mount at unified/ (hybrid) or not (legacy).
public enum CgroupMode: Sendable, Equatable, CustomStringConvertible {
    case unified, hybrid, legacy

    /// statfs of /sys/fs/cgroup and /sys/fs/cgroup/unified, as crun's libcrun_get_cgroup_mode does: two
    /// syscalls at every start instead of reading and parsing mountinfo.
    public static func detect() -> CgroupMode {
        func isCgroup2(_ path: String) -> Bool {
            var fs = statfs()
            return statfs(path, &fs) == 0 && fs.f_type == 0x6367_7270  // CGROUP2_SUPER_MAGIC
        }
        if isCgroup2("/sys/fs/cgroup") { return .unified }
        return isCgroup2("/sys/fs/cgroup/unified") ? .hybrid : .legacy
    }

    /// The same from mountinfo's text (what a test can hand it).
    public static func detect(mountinfo: String?) -> CgroupMode {
        // The last mount on a path is the one that counts.
        let types = Dictionary(Mount.parse(mountinfo ?? "").map { ($0.mountPoint, $0.fsType) }, uniquingKeysWith: { $1 })
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
