import CSpawn

/// Capability sets as bit masks (bit N = capability N).
public enum Capabilities {
    /// Docker's default set of 14 (moby's oci/caps/defaults.go), the one the seeds' containers ran with.
    public static let dockerDefault = [
        "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
        "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
    ]

    public static func number(_ name: String) -> Int32? {
        let n = box_cap_from_name(name)
        return n >= 0 ? n : nil
    }

    public static func name(_ cap: Int32) -> String {
        box_cap_name(cap).map { String(cString: $0) } ?? "CAP_\(cap)"
    }

    public static var all: UInt64 {
        let last = box_cap_last()
        return last >= 63 ? UInt64.max : (UInt64(1) << UInt64(last + 1)) - 1
    }

    /// The capabilities box itself holds (its permitted set, /proc/self/status CapPrm): all a container can be
    /// given (capset(2) refuses more). --privileged means these; on a host whose root lacks one
    /// (a sandbox without CAP_SYS_RESOURCE, say) the container goes without it instead of failing to start.
    public static var held: UInt64 {
        for line in (Files.readIfPresent("/proc/self/status") ?? "").split(separator: "\n") where line.hasPrefix("CapPrm:") {
            return UInt64(line.dropFirst("CapPrm:".count).trimmed, radix: 16) ?? all
        }
        return all
    }

    /// The default set with `add` and `drop` applied, as `docker run --cap-add/--cap-drop` does: "ALL" is
    /// allowed in either, names with or without "CAP_", any case. An unknown name is an error, not ignored.
    /// `privileged` (--privileged) starts from every capability instead, as moby's TweakCapabilities does.
    public static func mask(add: [String], drop: [String], privileged: Bool = false) throws -> UInt64 {
        func bits(_ names: [String]) throws -> UInt64 {
            try names.reduce(UInt64(0)) { acc, name in
                if name.uppercased() == "ALL" { return all }
                guard let n = number(name) else {
                    throw BoxError(.usage, "unknown capability: \"\(name)\" (names look like NET_ADMIN or CAP_NET_ADMIN)")
                }
                return acc | (UInt64(1) << UInt64(n))
            }
        }
        var mask = privileged ? all & held : try bits(dockerDefault)
        mask &= ~(try bits(drop))
        mask |= try bits(add)
        return mask & all
    }

    /// Names of the bits in `mask`, "CAP_"-prefixed, in number order.
    public static func names(_ mask: UInt64) -> [String] {
        (0..<64).filter { mask & (UInt64(1) << UInt64($0)) != 0 }.map { "CAP_" + name(Int32($0)) }
    }
}
