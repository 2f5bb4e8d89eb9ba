#if canImport(Glibc)
import Glibc
#endif

/// A kind of Linux namespace: the name of its file in /proc/PID/ns.
public enum NamespaceKind: String, CaseIterable, Sendable, Codable {
    case cgroup, ipc, mnt, net, pid, time, user, uts
}

/// Facts about host processes, read from /proc. The one parser of /proc/PID/stat: the engine's liveness checks
/// and the labs' probes (LabKit's Proc) both read it here.
public enum HostProcess {
    /// The fields of /proc/PID/stat that the engine and the labs use.
    public struct Stat: Sendable, Equatable {
        /// The command name (at most 15 characters; it may hold spaces and parentheses).
        public var comm: String
        /// The one-letter state (R, S, D, Z, T...).
        public var state: String
        public var ppid: Int32
        /// The controlling terminal's device number (0: none).
        public var terminal: Int
        /// Clock ticks after boot at which it started: with the pid, what identifies a process over time.
        public var startTicks: UInt64
    }

    /// Parses /proc/PID/stat, or nil if there is no such process.
    public static func read(_ pid: Int32) -> Stat? {
        guard pid > 0, let text = Files.readIfPresent("/proc/\(pid)/stat") else { return nil }
        return parseStat(text)
    }

    /// Parses the text of a /proc/PID/stat file. The command name is between the first "(" and the last ")";
    /// the fields after it start at field 3 (state): ppid is field 4, tty_nr 7, starttime 22.
    public static func parseStat(_ text: String) -> Stat? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ppid = Int32(fields[1]), let start = UInt64(fields[19]) else { return nil }
        return Stat(comm: String(text[text.index(after: open)..<close]), state: String(fields[0]), ppid: ppid,
                    terminal: Int(fields[4]) ?? 0, startTicks: start)
    }

    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or nil if the process is gone.
    public static func startTime(_ pid: Int32) -> UInt64? { read(pid)?.startTicks }

    /// True if `pid` is alive and is the same process that had `startTime` (not a recycled pid), and not a zombie.
    public static func isAlive(_ pid: Int32, startTime: UInt64) -> Bool {
        guard pid > 0, let now = Self.startTime(pid), now == startTime || startTime == 0 else { return false }
        return state(pid) != "Z"
    }

    /// The one-letter state of a process (R, S, D, Z, T...).
    public static func state(_ pid: Int32) -> String? { read(pid)?.state }

    /// The inode of /proc/PID/ns/KIND: what identifies a namespace.
    public static func namespace(_ pid: Int32, _ kind: NamespaceKind) -> UInt64? {
        var st = stat()
        guard stat("/proc/\(pid)/ns/\(kind.rawValue)", &st) == 0 else { return nil }
        return UInt64(st.st_ino)
    }

    /// Every pid in /proc.
    public static func all() -> [Int32] {
        ((try? Files.list("/proc")) ?? []).compactMap { Int32($0) }
    }

    /// The NSpid line of /proc/PID/status: the pid in each nested pid namespace, outermost first.
    public static func nsPids(_ pid: Int32) -> [Int32] {
        parseNSpid(status: Files.readIfPresent("/proc/\(pid)/status") ?? "")
    }

    /// The NSpid line of the text of a /proc/PID/status file (empty if it has none).
    public static func parseNSpid(status: String) -> [Int32] {
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
