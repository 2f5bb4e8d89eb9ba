#if canImport(Glibc)
import Glibc
#endif

/// Facts about host processes, read from /proc.
public enum HostProcess {
    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or nil if the process is gone.
    public static func startTime(_ pid: Int32) -> UInt64? {
        guard pid > 0, let stat = Files.readIfPresent("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name start at field 3 (state); the start time is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// True if `pid` is alive and is the same process that had `startTime` (not a recycled pid), and not a zombie.
    public static func isAlive(_ pid: Int32, startTime: UInt64) -> Bool {
        guard pid > 0, let now = Self.startTime(pid), now == startTime || startTime == 0 else { return false }
        return state(pid) != "Z"
    }

    /// The one-letter state of a process (R, S, D, Z, T...).
    public static func state(_ pid: Int32) -> String? {
        guard let stat = Files.readIfPresent("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first.map(String.init)
    }

    /// The inode of /proc/PID/ns/KIND: what identifies a namespace.
    public static func namespace(_ pid: Int32, _ kind: String) -> UInt64? {
        var st = stat()
        guard stat("/proc/\(pid)/ns/\(kind)", &st) == 0 else { return nil }
        return UInt64(st.st_ino)
    }

    /// Every pid in /proc.
    public static func all() -> [Int32] {
        ((try? Files.list("/proc")) ?? []).compactMap { Int32($0) }
    }

    /// The NSpid line of /proc/PID/status: the pid in each nested pid namespace, outermost first.
    public static func nsPids(_ pid: Int32) -> [Int32] {
        guard let status = Files.readIfPresent("/proc/\(pid)/status") else { return [] }
        for line in status.split(separator: "\n") where line.hasPrefix("NSpid:") {
            return line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int32($0) }
        }
        return []
    }

    public static func commandLine(_ pid: Int32) -> [String] {
        guard let raw = try? Files.read("/proc/\(pid)/cmdline") else { return [] }
        return raw.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }
}
