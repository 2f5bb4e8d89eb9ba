#if canImport(Glibc)
import Glibc
#endif
import Engine

/// Who sent which signal. The kernel keeps no record of a signal's sender once it is delivered, and a `kill`
/// from the host and the same `kill` through `box exec c1` end the same process the same way. So a step that
/// asks for a signal "from the host" records, while it runs, the kernel's own events in a tracefs instance of
/// its own: `signal/signal_generate` (emitted in the sender's context: its host PID and the target's) and
/// `sched/sched_process_fork` (who made each sender), and judges the sender by its ancestry.
///
/// The instance is made when the step begins and removed when it passes or the lab is reset.
public enum SignalTrace {
    /// A signal the kernel generated during the step.
    public struct Sent: Sendable, Equatable {
        /// The sending thread's host PID and command name.
        public var sender: Int32
        public var senderComm: String
        public var signal: Int32
        /// The target's host PID.
        public var target: Int32
        /// 0 delivered, 1 ignored (as SIGKILL to a PID 1 from its own namespace is), 2 already pending...
        public var result: Int
        /// CLOCK_BOOTTIME, seconds.
        public var time: Double
    }

    /// A fork the kernel made during the step: parent and child host PIDs with their command names.
    public struct Fork: Sendable, Equatable {
        public var parent: Int32
        public var parentComm: String
        public var child: Int32
        public var childComm: String
    }

    /// Signals that say nothing of a learner's intent (child exits, window changes, timers), left out.
    static let filter = "sig != 17 && sig != 28 && sig != 14 && sig != 26 && sig != 27 && sig != 23 && sig != 29"

    /// True if the kernel has tracefs (CONFIG_TRACING): what `TraceSignals` needs.
    public static var isSupported: Bool {
        (Files.readIfPresent("/proc/filesystems") ?? "").split(separator: "\n").contains { $0.hasSuffix("\ttracefs") }
    }

    /// Where tracefs is mounted. With `mounting`, it is mounted at its usual place, /sys/kernel/tracing, if it
    /// is nowhere (as systemd does at boot); only starting a trace does that. nil where the kernel has none.
    public static func root(mounting: Bool = false) -> String? {
        for m in Mount.table(of: getpid()) where m.fsType == "tracefs" { return m.mountPoint }
        let usual = "/sys/kernel/tracing"
        if mounting, Files.isDirectory(usual), mount("nodev", usual, "tracefs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), nil) == 0 {
            return usual
        }
        return nil
    }

    /// Starts recording into instance `name` (made anew). False where the kernel cannot trace.
    @discardableResult
    public static func start(_ name: String) -> Bool {
        guard let root = root(mounting: true) else { return false }
        let dir = root + "/instances/" + name
        if Files.isDirectory(dir) { rmdir(dir) }
        guard mkdir(dir, 0o700) == 0 || errno == EEXIST else { return false }
        write("boot", to: dir + "/trace_clock")
        write("1024", to: dir + "/buffer_size_kb")
        let ok = write(filter, to: dir + "/events/signal/signal_generate/filter")
            && write("1", to: dir + "/events/signal/signal_generate/enable")
            && write("1", to: dir + "/events/sched/sched_process_fork/enable")
        if !ok { stop(name) }
        return ok
    }

    /// Stops and removes instance `name` (and, with `prefix`, every instance whose name begins with it).
    public static func stop(_ name: String, prefix: Bool = false) {
        guard let root = root() else { return }
        let names = prefix ? ((try? Files.list(root + "/instances")) ?? []).filter { $0.hasPrefix(name) } : [name]
        for n in names {
            let dir = root + "/instances/" + n
            write("0", to: dir + "/events/enable")
            rmdir(dir)
        }
    }

    /// The instances whose name begins with `prefix` (what a selftest must not leave).
    public static func instances(prefix: String) -> [String] {
        guard let root = root() else { return [] }
        return ((try? Files.list(root + "/instances")) ?? []).filter { $0.hasPrefix(prefix) }
    }

    /// What instance `name` recorded; nil if it is not recording.
    public static func read(_ name: String) -> (signals: [Sent], forks: [Fork])? {
        guard let root = root(), let text = Files.readIfPresent(root + "/instances/" + name + "/trace") else { return nil }
        return parse(text)
    }

    /// Parses a tracefs `trace` file: lines such as
    ///     kill-4242    [001] ..... 1234.567890: signal_generate: sig=15 errno=0 code=0 comm=sleep pid=4200 grp=1 res=0
    ///     bash-4100    [000] ..... 1234.500000: sched_process_fork: comm=bash pid=4100 child_comm=bash child_pid=4242
    public static func parse(_ text: String) -> (signals: [Sent], forks: [Fork]) {
        var signals: [Sent] = []
        var forks: [Fork] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let colon = line.firstRange(of: ": signal_generate: ") ?? line.firstRange(of: ": sched_process_fork: ") else { continue }
            let head = line[..<colon.lowerBound]
            let fields = keyValues(line[colon.upperBound...])
            if line[colon].contains("fork") {
                guard let parent = fields["pid"].flatMap({ Int32($0) }), let child = fields["child_pid"].flatMap({ Int32($0) }) else { continue }
                forks.append(Fork(parent: parent, parentComm: fields["comm"] ?? "", child: child, childComm: fields["child_comm"] ?? ""))
                continue
            }
            // The head: "COMM-PID [CPU] FLAGS TIME"; COMM may hold spaces and dashes, PID follows the last dash
            // before the CPU column.
            let parts = head.split(separator: " ", omittingEmptySubsequences: true)
            guard let cpu = parts.firstIndex(where: { $0.hasPrefix("[") }), cpu > 0,
                  let time = parts.last.flatMap({ Double($0) }) else { continue }
            let task = parts[..<cpu].joined(separator: " ")
            guard let dash = task.lastIndex(of: "-"), let sender = Int32(task[task.index(after: dash)...]),
                  let sig = fields["sig"].flatMap({ Int32($0) }), let target = fields["pid"].flatMap({ Int32($0) }) else { continue }
            signals.append(Sent(sender: sender, senderComm: String(task[..<dash]), signal: sig, target: target,
                                result: fields["res"].flatMap { Int($0) } ?? 0, time: time))
        }
        return (signals, forks)
    }

    /// "a=1 b=two comm=x y" → [a: 1, b: two, comm: "x y"] (a value runs to the next " key=").
    static func keyValues(_ s: Substring) -> [String: String] {
        var out: [String: String] = [:]
        var key: String?
        var value = ""
        for word in s.split(separator: " ") {
            if let eq = word.firstIndex(of: "="), word[..<eq].allSatisfy({ $0.isLetter || $0 == "_" }) {
                if let key { out[key] = value }
                key = String(word[..<eq])
                value = String(word[word.index(after: eq)...])
            } else {
                value += " " + word
            }
        }
        if let key { out[key] = value }
        return out
    }

    @discardableResult
    static func write(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return (try? Files.writeAll(fd, Array(text.utf8), path: path)) != nil
    }
}
