#if canImport(Glibc)
import Glibc
#endif
import Engine

/// Where the map reads the kernel: a directory holding `proc/`, `sys/fs/cgroup/` and `sys/class/net/`, "/" on a
/// live host. A test hands it a fixture tree (issue 19's "recording fake" for the probes: the same reader, a
/// different root), so the whole picture is built and checked without root.
///
/// Every parser here is Engine's (HostProcess.parseStat, Mount.parse, CgroupMode): this type only decides which
/// file they read.
public struct KernelRoot: Sendable {
    public let path: String

    /// `path` without its trailing slash ("/" becomes "").
    private let prefix: String

    public init(_ path: String = "/") {
        self.path = path
        var p = path
        while p.hasSuffix("/") { p.removeLast() }
        prefix = p
    }

    public static let host = KernelRoot("/")
    public var isHost: Bool { prefix.isEmpty }

    /// The path of `absolute` ("/proc/1/stat") under this root.
    public func file(_ absolute: String) -> String { prefix + absolute }

    public func read(_ absolute: String) -> String? { Files.readIfPresent(file(absolute)) }

    // MARK: processes

    /// Every pid in proc/.
    public func pids() -> [Int32] { ((try? Files.list(file("/proc"))) ?? []).compactMap { Int32($0) } }

    public func stat(_ pid: Int32) -> HostProcess.Stat? { read("/proc/\(pid)/stat").flatMap(HostProcess.parseStat) }

    /// The NSpid line of proc/PID/status: the pid in each nested pid namespace, outermost (the host's) first.
    public func nsPids(_ pid: Int32) -> [Int32] { HostProcess.parseNSpid(status: read("/proc/\(pid)/status") ?? "") }

    /// The inode of a namespace, from the link proc/PID/ns/KIND ("net:[4026531840]"). A fixture may hold the same
    /// text in a symlink (which need not resolve) or in a plain file; on a live host readlink answers with it.
    public func namespace(_ pid: Int32, _ kind: NamespaceKind) -> UInt64? {
        let path = file("/proc/\(pid)/ns/\(kind.rawValue)")
        guard let text = Files.readLink(path) ?? Files.readIfPresent(path) else { return nil }
        return Self.inode(fromLink: text)
    }

    /// "net:[4026531840]" -> 4026531840.
    public static func inode(fromLink text: String) -> UInt64? {
        guard let open = text.firstIndex(of: "["), let close = text.lastIndex(of: "]"), open < close else { return nil }
        return UInt64(text[text.index(after: open)..<close])
    }

    public func commandLine(_ pid: Int32) -> [String] {
        guard let raw = try? Files.read(file("/proc/\(pid)/cmdline")) else { return [] }
        return raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// This process's mount table (proc/self/mountinfo): the host's mount namespace, where box mounts every
    /// container's overlay and where the cgroup hierarchies are.
    public func mountTable() -> [Mount] { Mount.parse(read("/proc/self/mountinfo") ?? "") }

    /// The IPv4 addresses local to the net namespace `pid` is in: the "/32 host LOCAL" leaves of
    /// proc/PID/net/fib_trie, which a process outside the namespace may read (no setns needed).
    public func localAddresses(of pid: Int32) -> [String] {
        var found: Set<String> = []
        var last = ""
        for line in (read("/proc/\(pid)/net/fib_trie") ?? "").split(separator: "\n") {
            let t = line.drop { $0 == " " || $0 == "|" }
            if line.contains("|-- ") { last = String(line.split(separator: " ").last ?? "") }
            if t.hasPrefix("/32 host LOCAL") { found.insert(last) }
        }
        return found.filter { $0 != "127.0.0.1" }.sorted()
    }

    // MARK: cgroups

    /// How cgroups are mounted under this root: statfs on a live host (as box does), proc/self/mountinfo in a
    /// fixture.
    public func cgroupMode() -> CgroupMode {
        isHost ? CgroupMode.detect() : CgroupMode.detect(mountinfo: read("/proc/self/mountinfo"))
    }

    /// A file of a cgroup: `controller`'s v1 hierarchy on a legacy or hybrid host, the v2 tree on a unified one.
    public func cgroupFile(_ name: String, cgroup: String, controller: String, mode: CgroupMode) -> String? {
        let dir = mode == .unified ? "/sys/fs/cgroup" : "/sys/fs/cgroup/" + controller
        return read(dir + cgroup + "/" + name).map { text in
            var t = text
            while t.last == "\n" { t.removeLast() }
            return t
        }
    }

    // MARK: network devices (the host's network namespace)

    /// True if the host has a network device called `name` (sys/class/net/NAME).
    public func hasDevice(_ name: String) -> Bool { Files.exists(file("/sys/class/net/" + name)) }

    /// The bridge a device is enslaved to (sys/class/net/NAME/master).
    public func master(of device: String) -> String? {
        Files.readLink(file("/sys/class/net/\(device)/master")).map { String($0.split(separator: "/").last ?? "") }
    }
}
