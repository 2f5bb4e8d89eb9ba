#if canImport(Glibc)
import Glibc
#endif
import Engine

/// Users and groups as the system's databases have them (/etc/passwd and /etc/group, through NSS), and the
/// unix sockets the kernel has listening (/proc/net/unix): the facts of a lab about who may reach a daemon.
public enum Accounts {
    /// The uid of user `name`, nil if there is no such user.
    public static func uid(of name: String) -> UInt32? { getpwnam(name)?.pointee.pw_uid }

    /// The gid of group `name`, nil if there is no such group.
    public static func gid(ofGroup name: String) -> UInt32? { getgrnam(name)?.pointee.gr_gid }

    /// The supplementary members of group `name` (the fourth field of its /etc/group line), nil if there is no such group.
    public static func members(ofGroup name: String) -> [String]? {
        guard let group = getgrnam(name) else { return nil }
        var out: [String] = []
        var member = group.pointee.gr_mem
        while let m = member?.pointee {
            out.append(String(cString: m))
            member = member?.advanced(by: 1)
        }
        return out
    }
}

public enum UnixSockets {
    /// Whether a socket bound to `path` is listening: a line of /proc/net/unix with that path and the
    /// listening flag (__SO_ACCEPTCON, 0x10000). A socket file left behind by a daemon that died is not.
    public static func listening(_ path: String) -> Bool {
        guard let table = Files.readIfPresent("/proc/net/unix") else { return false }
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 8, fields[7] == path, let flags = UInt32(fields[3], radix: 16) else { continue }
            if flags & 0x10000 != 0 { return true }
        }
        return false
    }
}
