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

extension String {
    func trimmingTrailingNewline() -> String {
        var s = self
        while s.last == "\n" { s.removeLast() }
        return s
    }
}
