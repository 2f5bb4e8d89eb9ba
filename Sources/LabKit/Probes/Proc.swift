#if canImport(Glibc)
import Glibc
#endif
import CSpawn
import Engine

/// A process as /proc shows it, read once. Probes are read-only: nothing here changes the system.
public struct Proc: Sendable, Equatable {
    public let pid: Int32
    /// The command name (/proc/PID/comm, at most 15 characters).
    public let comm: String
    public let state: String
    public let ppid: Int32
    /// Clock ticks after boot at which it started: with the pid, what identifies this process over time.
    public let startTicks: UInt64
    /// The controlling terminal's device number (0: none).
    public let terminal: Int

    /// Reads /proc/PID/stat (Engine's one parser of it), or nil if there is no such process.
    public static func read(_ pid: Int32) -> Proc? {
        guard let s = HostProcess.read(pid) else { return nil }
        return Proc(pid: pid, comm: s.comm, state: s.state, ppid: s.ppid, startTicks: s.startTicks, terminal: s.terminal)
    }

    /// Every process now alive (zombies excluded).
    public static func all() -> [Proc] {
        HostProcess.all().compactMap { read($0) }.filter { $0.state != "Z" }
    }

    /// The reference for "the host": PID 1's namespaces when we may read them, else our own (a sandbox
    /// that hides PID 1 is itself the host the learner sees).
    public static func host() -> Proc {
        if let init1 = read(1), init1.namespace(.mnt) != nil { return init1 }
        return read(getpid())!
    }

    /// Still the same process: alive, not a zombie, and not a recycled pid.
    public var isAlive: Bool {
        guard let now = Proc.read(pid) else { return false }
        return now.startTicks == startTicks && now.state != "Z"
    }

    /// The inode of /proc/PID/ns/KIND: what identifies a namespace.
    public func namespace(_ kind: NamespaceKind) -> UInt64? { HostProcess.namespace(pid, kind) }

    /// Shares the namespace of `kind` with `other`.
    public func shares(_ kind: NamespaceKind, with other: Proc) -> Bool {
        guard let a = namespace(kind), let b = other.namespace(kind) else { return false }
        return a == b
    }

    public var commandLine: [String] { HostProcess.commandLine(pid) }

    /// The pid in each nested pid namespace, outermost (the host's) first; the last is what `ps` inside shows.
    public var nsPids: [Int32] { HostProcess.nsPids(pid) }

    /// A line of /proc/PID/status ("VmRSS", "CapEff", "NoNewPrivs"...), without its label.
    public func status(_ field: String) -> String? {
        guard let status = Files.readIfPresent("/proc/\(pid)/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.dropFirst(field.count + 1).trimmed
        }
        return nil
    }

    /// Resident memory in KiB.
    public var rssKiB: Int { Int(status("VmRSS")?.split(separator: " ").first ?? "0") ?? 0 }

    public var effectiveCapabilities: UInt64 { UInt64(status("CapEff") ?? "", radix: 16) ?? 0 }

    /// /proc/PID/cgroup lines: "hierarchy-id:controllers:path".
    public var cgroups: [String] {
        (Files.readIfPresent("/proc/\(pid)/cgroup") ?? "").split(separator: "\n").map(String.init)
    }

    /// The process's environment (root may read anyone's).
    public var environment: [String] {
        guard let raw = try? Files.read("/proc/\(pid)/environ") else { return [] }
        return raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The mount table of the process's mount namespace, as it sees it.
    public var mounts: [Mount] { Mount.table(of: pid) }

    /// True if it started at or after `clock` (a step's start).
    public func started(after clock: StepClock) -> Bool { clock.isBefore(processStartTicks: startTicks) }

    /// The lines of /proc/PID/uid_map: which uids of its user namespace are which outside.
    public var uidMap: [(inside: Int, outside: Int, count: Int)] {
        (Files.readIfPresent("/proc/\(pid)/uid_map") ?? "").split(separator: "\n").compactMap { line in
            let n = line.split(separator: " ").compactMap { Int($0) }
            return n.count == 3 ? (n[0], n[1], n[2]) : nil
        }
    }

    /// "1234 (sleep)"
    public var label: String { "\(pid) (\(comm))" }
}

