#if canImport(Glibc)
import Glibc
#endif
import CSpawn
import Engine

/// Facts of a namespace that /proc/PID does not show per process: the probe joins it in a forked child
/// (CSpawn's box_ns_read) and reads the file there. Everything else comes from /proc/PID directly.
public enum Namespaces {
    /// Reads `file` as seen from inside the namespace `kind` of `pid`.
    public static func read(_ file: String, in kind: NamespaceKind, of pid: Int32) -> String? {
        var buf = [CChar](repeating: 0, count: 1 << 20)
        let n = box_ns_read("/proc/\(pid)/ns/\(kind.rawValue)", file, &buf, buf.count)
        guard n >= 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The hostname of the UTS namespace `pid` is in (what `hostname` prints there).
    public static func hostname(of pid: Int32) -> String? {
        read("/proc/sys/kernel/hostname", in: .uts, of: pid).map { $0.filter { !$0.isNewline } }
    }

    /// System V IPC objects of the IPC namespace `pid` is in (what `ipcs` prints there).
    public static func ipcObjects(of pid: Int32) -> [IPCObject] {
        var objects: [IPCObject] = []
        for (kind, file) in [("queue", "msg"), ("shm", "shm"), ("sem", "sem")] {
            guard let text = read("/proc/sysvipc/\(file)", in: .ipc, of: pid) else { continue }
            let lines = text.split(separator: "\n")
            guard let header = lines.first?.split(separator: " ").map(String.init) else { continue }
            for line in lines.dropFirst() {
                let values = line.split(separator: " ").map(String.init)
                var row: [String: String] = [:]
                for (k, v) in zip(header, values) { row[k] = v }
                guard let key = row["key"].flatMap({ Int64($0) }) else { continue }
                let id = row["msqid"] ?? row["shmid"] ?? row["semid"] ?? ""
                objects.append(IPCObject(kind: kind, key: key, id: Int(id) ?? -1,
                                         changed: row["ctime"].flatMap { Int64($0) } ?? 0))
            }
        }
        return objects
    }

    /// Network interfaces of the net namespace `pid` is in (/proc/PID/net/dev shows that namespace's).
    public static func interfaces(of pid: Int32) -> [String] {
        guard let dev = Files.readIfPresent("/proc/\(pid)/net/dev") else { return [] }
        return dev.split(separator: "\n").dropFirst(2).compactMap { line in
            line.split(separator: ":").first.map { String($0).filter { $0 != " " } }
        }.sorted()
    }

    /// The IPv4 addresses local to the net namespace `pid` is in (the "/32 host LOCAL" leaves of fib_trie).
    public static func addresses(of pid: Int32) -> [String] {
        guard let trie = Files.readIfPresent("/proc/\(pid)/net/fib_trie") else { return [] }
        var found: Set<String> = []
        var last = ""
        for line in trie.split(separator: "\n") {
            let t = line.trimmed
            if t.hasPrefix("|-- ") { last = String(t.dropFirst(4)) }
            if t.hasPrefix("/32 host LOCAL") { found.insert(last) }
        }
        return found.sorted()
    }

    /// TCP ports listening in the net namespace `pid` is in, with their local IPv4 address as /proc/PID/net/tcp
    /// writes it ("0100007F" is 127.0.0.1, "00000000" any address): what `ss -ltn` lists.
    public static func listeningTCP(in pid: Int32) -> [(address: String, port: Int)] {
        (Files.readIfPresent("/proc/\(pid)/net/tcp") ?? "").split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: " ")
            guard f.count > 3, f[3] == "0A" else { return nil }  // 0A: LISTEN
            let local = f[1].split(separator: ":")
            guard local.count == 2, let port = Int(local[1], radix: 16) else { return nil }
            return (String(local[0]), port)
        }
    }

    /// True if something listens on 127.0.0.1:`port` (or on every address) in the net namespace `pid` is in.
    public static func listensOnLoopback(_ port: Int, in pid: Int32) -> Bool {
        listeningTCP(in: pid).contains { $0.port == port && ($0.address == "0100007F" || $0.address == "00000000") }
    }

    /// Every process that shares the namespace `kind` with `pid` (an `lsns`-like view).
    public static func members(_ kind: NamespaceKind, of pid: Int32, among processes: [Proc] = Proc.all()) -> [Proc] {
        guard let ns = HostProcess.namespace(pid, kind) else { return [] }
        return processes.filter { $0.namespace(kind) == ns }
    }
}

/// A message queue, shared memory segment or semaphore set.
public struct IPCObject: Sendable, Equatable {
    public let kind: String
    public let key: Int64
    public let id: Int
    /// Last change (creation for a new object), Unix seconds.
    public let changed: Int64
}
