#if canImport(Glibc)
import Glibc
#endif
import Engine

/// `lab doctor`: what the labs need from this machine, each with what to do when it is missing.
public enum Doctor {
    public struct Finding: Sendable, Codable {
        public var name: String
        public var ok: Bool
        public var observed: String
        /// What to do about it (empty when ok).
        public var fix: String
    }

    public static func examine(engineRoot: EngineRoot = .fromEnvironment(), boxPath: String = Runner.findBox()) -> [Finding] {
        var out: [Finding] = []
        func add(_ name: String, _ ok: Bool, _ observed: String, _ fix: String) {
            out.append(Finding(name: name, ok: ok, observed: observed, fix: ok ? "" : fix))
        }
        add("root", geteuid() == 0, geteuid() == 0 ? "yes" : "no (uid \(geteuid()))", "run lab with sudo")

        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(separator: ".").prefix(2).compactMap { Int($0.prefix { $0.isNumber }) }
        let recent = parts.count == 2 && (parts[0], parts[1]) >= (5, 4)
        add("kernel", recent, release, "the labs are tested on Linux 5.4 and later: use a newer VM image")

        add("cgroups", Files.exists("/sys/fs/cgroup"), "v\(CgroupMode.detect())", "mount cgroupfs at /sys/fs/cgroup (v2 preferred)")

        let filesystems = Files.readIfPresent("/proc/filesystems") ?? ""
        add("overlayfs", filesystems.contains("\toverlay\n"), filesystems.contains("\toverlay\n") ? "available" : "not in /proc/filesystems",
            "load it: sudo modprobe overlay")

        let maxUserNS = Files.readIfPresent("/proc/sys/user/max_user_namespaces").map { $0.filter(\.isNumber) } ?? "0"
        add("user namespaces", (Int(maxUserNS) ?? 0) > 0, "max_user_namespaces = \(maxUserNS)",
            "sudo sysctl user.max_user_namespaces=15000")

        let busybox = (["/bin/busybox", "/usr/bin/busybox"] as [String]).first { access($0, X_OK) == 0 }
        add("busybox-static", busybox != nil, busybox ?? "missing", "sudo apt-get install busybox-static")

        let box = access(boxPath, X_OK) == 0
        add("box", box, box ? boxPath : "not found", "build and install it: sudo ./setup.sh")

        for tool in ["ip", "nsenter", "unshare", "ipcs", "ipcmk", "pstree"] {
            // ip (which the labs have learners type) may be in an sbin directory a user's PATH lacks.
            let path = Subprocess.which(tool) ?? (tool == "ip" ? ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].first { access($0, X_OK) == 0 } : nil)
            let package = tool == "pstree" ? "psmisc" : tool == "ip" ? "iproute2" : "util-linux"
            add(tool, path != nil, path ?? "missing", "sudo apt-get install \(package)")
        }

        var fs = statvfs()
        let dir = Files.exists(engineRoot.path) ? engineRoot.path : "/"
        if statvfs(dir, &fs) == 0 {
            let free = Int64(fs.f_bavail) * Int64(fs.f_frsize) / (1 << 20)
            add("free disk", free >= 512, "\(free) MiB free at \(dir)", "free at least 512 MiB (box system prune removes unused containers)")
        }
        return out
    }
}
