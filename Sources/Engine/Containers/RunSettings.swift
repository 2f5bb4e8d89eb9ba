#if canImport(Glibc)
import Glibc
#endif

/// docker's run/create flags beyond the first ones, checked with docker's rules (and, where docker has one, its
/// message) before anything is written, and recorded in the spec (ContainerSpec's "run flags" blocks). The
/// start applies them: the /etc files (ContainerStore.create), the mounts and PID 1's own settings (Spawner),
/// `box stop` (Lifecycle.stop).
enum RunSettings {
    /// Checks the flags and records them in `spec` (its Config and HostConfig "run flags" blocks).
    static func fill(_ spec: inout ContainerSpec, from o: CreateOptions) throws {
        spec.HostConfig.ExtraHosts = try o.addHosts.map(RunSettings.extraHost).nonEmpty
        for ip in o.dns where !RunSettings.isIP(ip) { throw BoxError(.usage, "\(ip) is not an ip address (--dns)") }
        spec.HostConfig.Dns = o.dns.nonEmpty
        spec.HostConfig.DnsSearch = o.dnsSearch.nonEmpty
        spec.HostConfig.DnsOptions = o.dnsOptions.nonEmpty
        if let d = o.domainname {
            guard d.utf8.count <= 64, !d.contains("/") else { throw BoxError(.usage, "invalid domainname \"\(d)\": at most 64 characters, no slash") }
            spec.Config.Domainname = d
        }
        spec.HostConfig.ReadonlyRootfs = o.readOnly ? true : nil
        if let shm = o.shmSize {
            let bytes = try CreateOptions.bytes(shm, flag: "--shm-size")
            guard bytes > 0 else { throw BoxError(.usage, "invalid --shm-size \"\(shm)\": it must be more than 0 bytes") }
            spec.HostConfig.ShmSize = bytes
        }
        if let s = o.stopSignal {
            guard Signals.number(s) != nil else { throw BoxError(.usage, "invalid signal: \(s) (--stop-signal)") }
            spec.Config.StopSignal = s
        }
        if let t = o.stopTimeout {
            guard t >= -1 else { throw BoxError(.usage, "invalid --stop-timeout \(t): seconds, or -1 to wait for ever") }
            spec.Config.StopTimeout = t
        }
        var sysctls: [String: String] = [:]
        for item in o.sysctls {
            let (key, value) = try RunSettings.sysctl(item, network: o.network)
            sysctls[key] = value
        }
        spec.HostConfig.Sysctls = sysctls.isEmpty ? nil : sysctls
        spec.HostConfig.Ulimits = try o.ulimits.map(Ulimit.init(parsing:)).nonEmpty
        for g in o.groupAdd { _ = try RunSettings.groupID(g, layers: spec.LayerDirs) }
        spec.HostConfig.GroupAdd = o.groupAdd.nonEmpty
        spec.Config.ExposedPorts = try o.expose.flatMap(RunSettings.exposed).nonEmpty
        if let adj = o.oomScoreAdj {
            guard (-1000...1000).contains(adj) else { throw BoxError(.usage, "Invalid value \(adj), range for oom score adj is [-1000, 1000]") }
            spec.HostConfig.OomScoreAdj = adj
        }
        spec.Config.Healthcheck = o.noHealthcheck ? ["NONE"] : nil
        spec.HostConfig.ContainerIDFile = o.cidfile
        spec.HostConfig.Devices = try o.devices.map(DeviceMapping.init(parsing:)).nonEmpty
        if o.uts == "host" {
            // docker's messages; the host's name is the container's (its /etc/hostname and /etc/hosts say so too).
            guard o.hostname == nil else { throw BoxError(.usage, "Conflicting options: hostname and the UTS mode") }
            guard o.domainname == nil else { throw BoxError(.usage, "Conflicting options: domainname and the UTS mode") }
            var name = [CChar](repeating: 0, count: 256)
            let size = name.count - 1
            gethostname(&name, size)
            spec.Config.Hostname = String(cString: name)
            spec.HostConfig.UTSMode = "host"
        }
        if o.ipc == "host" {
            if let key = spec.HostConfig.Sysctls?.keys.sorted().first(where: { !$0.hasPrefix("net.") }) {
                throw BoxError(.usage, "sysctl \"\(key)\" is not allowed in host IPC namespace: it would change the host's")
            }
            spec.HostConfig.IpcMode = "host"
        }
        if let driver = o.logDriver {
            guard ["json-file", "none"].contains(driver) else {
                throw BoxError(.usage, "--log-driver: box logs to json-file (box logs reads it) or to none only")
            }
            spec.HostConfig.LogDriver = driver == "none" ? driver : nil
        }
    }

    /// --add-host NAME:IP (or NAME=IP, docker 25's form), kept as docker records it: "NAME:IP".
    static func extraHost(_ text: String) throws -> String {
        let sep = text.firstIndex(of: "=") ?? text.firstIndex(of: ":")
        guard let sep else { throw BoxError(.usage, "bad format for add-host: \"\(text)\" (use NAME:IP)") }
        let name = String(text[..<sep]), ip = String(text[text.index(after: sep)...])
        if ip == "host-gateway" {
            throw BoxError(.usage, "--add-host \(text): host-gateway is not supported: box has no daemon-wide host gateway address (give the bridge's gateway address instead)")
        }
        guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "\t" }) else {
            throw BoxError(.usage, "invalid hostname in --add-host \"\(text)\"")
        }
        guard isIP(ip) else { throw BoxError(.usage, "invalid IP address in add-host: \"\(ip)\"") }
        return name + ":" + ip
    }

    static func isIP(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// The container's resolv.conf: the host's (Rootfs.resolvConf), with its name servers, search domains and
    /// options replaced by --dns, --dns-search and --dns-option where given, as docker builds it. "." as a
    /// search domain means none.
    static func resolvConf(dns: [String]?, search: [String]?, options: [String]?) -> String {
        let host = Rootfs.resolvConf()
        guard dns != nil || search != nil || options != nil else { return host }
        let lines = host.split(separator: "\n").map(String.init)
        func field(_ key: String) -> [String] {
            lines.filter { $0.hasPrefix(key + " ") || $0.hasPrefix(key + "\t") }
                 .flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().map(String.init) }
        }
        var out = ""
        for ns in dns ?? field("nameserver") { out += "nameserver \(ns)\n" }
        let domains = (search ?? field("search")).filter { $0 != "." }
        if !domains.isEmpty { out += "search " + domains.joined(separator: " ") + "\n" }
        let opts = options ?? field("options")
        if !opts.isEmpty { out += "options " + opts.joined(separator: " ") + "\n" }
        return out
    }

    /// --sysctl KEY=VALUE: only the namespaced ones, as docker allows (its opts.ValidateSysctl): the IPC ones and
    /// net.* (not with the host's network: they would be the host's).
    static func sysctl(_ text: String, network: String) throws -> (String, String) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[0].contains("/"), !parts[1].contains("\n") else {
            throw BoxError(.usage, "invalid argument \"\(text)\" for \"--sysctl\" flag: use KEY=VALUE")
        }
        let key = parts[0]
        let ipc = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
                   "kernel.shmmni", "kernel.shm_rmid_forced"]
        if ipc.contains(key) || key.hasPrefix("fs.mqueue.") {
            return (key, parts[1])
        }
        if key.hasPrefix("net.") {
            guard network != "host" else {
                throw BoxError(.usage, "sysctl \"\(key)\" not allowed in host network namespace: it would change the host's")
            }
            guard !network.hasPrefix("container:") else {
                throw BoxError(.usage, "sysctl \"\(key)\" not allowed with --network \(network): it would change that container's")
            }
            return (key, parts[1])
        }
        throw BoxError(.usage, "sysctl '\(text)' is not allowed: only the namespaced ones (net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*) can be set for one container")
    }

    /// /proc/sys path and value pairs for the C child.
    static func sysctlPairs(_ sysctls: [String: String]?) -> [String] {
        (sysctls ?? [:]).sorted { $0.key < $1.key }.flatMap { ["/proc/sys/" + $0.key.replacingDots(), $0.value] }
    }

    /// A --group-add group: a number, or a name of the image's /etc/group (the topmost layer that has one).
    static func groupID(_ text: String, layers: [String]) throws -> UInt32 {
        if let n = UInt32(text) { return n }
        for layer in layers.reversed() {
            guard let content = Files.readIfPresent(layer + "/etc/group") else { continue }
            for line in content.split(separator: "\n") {
                let f = line.split(separator: ":", omittingEmptySubsequences: false)
                if f.count > 2, f[0] == text, let gid = UInt32(f[2]) { return gid }
            }
            break
        }
        throw BoxError(.usage, "Unable to find group \(text): no matching entries in group file")
    }

    /// --expose PORT[/PROTO] or START-END[/PROTO] -> "80/tcp" for each port.
    static func exposed(_ text: String) throws -> [String] {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
        let bounds = (parts.first ?? "").split(separator: "-", maxSplits: 1).map { UInt16($0) }
        guard ["tcp", "udp", "sctp"].contains(proto), !bounds.isEmpty, let low = bounds[0], low > 0,
              let high = bounds.count > 1 ? bounds[1] : low, high >= low else {
            throw BoxError(.usage, "invalid range format for --expose: \(text)")
        }
        return (low...high).map { "\($0)/\(proto)" }
    }
}

/// --device HOST[:CONTAINER][:PERMISSIONS], as docker's HostConfig.Devices records it. The host's node is bound
/// into the container's /dev (as -v would, without nodev) and its major:minor added to the device rules.
public struct DeviceMapping: Codable, Sendable, Equatable {
    public var PathOnHost: String
    public var PathInContainer: String
    public var CgroupPermissions: String

    public init(parsing text: String) throws {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        // docker's parseDevice: a last part of only r, w and m is the permissions.
        var permissions = "rwm"
        if parts.count > 1, let last = parts.last, !last.isEmpty, last.allSatisfy({ "rwm".contains($0) }) {
            permissions = last
            parts.removeLast()
        }
        guard (1...2).contains(parts.count), parts[0].hasPrefix("/"), parts.count == 1 || parts[1].hasPrefix("/") else {
            throw BoxError(.usage, "invalid device specification: \(text) (use /dev/HOST[:/dev/CONTAINER][:rwm])")
        }
        PathOnHost = parts[0]
        PathInContainer = parts.count > 1 ? parts[1] : parts[0]
        CgroupPermissions = permissions
        guard rule() != nil else {
            throw BoxError(.usage, "error gathering device information while adding custom device \"\(PathOnHost)\": not a device node")
        }
    }

    /// The device rule of the host's node as it is now (nil if it is gone or no device).
    public func rule() -> DeviceRule? {
        var st = stat()
        guard stat(PathOnHost, &st) == 0 else { return nil }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFCHR || kind == S_IFBLK else { return nil }
        // glibc's gnu_dev_major/gnu_dev_minor.
        let rdev = UInt64(st.st_rdev)
        let major = Int32(((rdev >> 8) & 0xfff) | ((rdev >> 32) & ~UInt64(0xfff)))
        let minor = Int32((rdev & 0xff) | ((rdev >> 12) & ~UInt64(0xff)))
        return DeviceRule(kind == S_IFCHR ? "c" : "b", major, minor, CgroupPermissions)
    }
}

/// --ulimit NAME=SOFT[:HARD], as docker's HostConfig.Ulimits records it.
public struct Ulimit: Codable, Sendable, Equatable {
    public var Name: String
    public var Hard: Int64
    public var Soft: Int64

    /// RLIMIT_* of Linux (asm-generic/resource.h), by docker's names.
    static let resources: [String: Int32] = [
        "cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6, "nofile": 7, "memlock": 8,
        "as": 9, "locks": 10, "sigpending": 11, "msgqueue": 12, "nice": 13, "rtprio": 14, "rttime": 15,
    ]

    public init(parsing text: String) throws {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw BoxError(.usage, "invalid ulimit argument: \(text) (use NAME=SOFT[:HARD], e.g. nofile=1024:2048)") }
        guard Ulimit.resources[parts[0]] != nil else { throw BoxError(.usage, "invalid ulimit type: \(parts[0])") }
        let limits = parts[1].split(separator: ":", omittingEmptySubsequences: false).map { Int64($0) }
        guard (1...2).contains(limits.count), let soft = limits[0], let hard = limits.count > 1 ? limits[1] : soft,
              soft >= -1, hard >= -1 else {
            throw BoxError(.usage, "invalid ulimit argument: \(text) (limits are numbers, -1 for unlimited)")
        }
        // -1 is unlimited: the largest of all.
        if hard != -1 && (soft == -1 || soft > hard) {
            throw BoxError(.usage, "ulimit soft limit must be less than or equal to hard limit: \(soft) > \(hard)")
        }
        Name = parts[0]
        Soft = soft
        Hard = hard
    }

    var resource: Int32 { Ulimit.resources[Name] ?? -1 }
    static func rlim(_ v: Int64) -> UInt64 { v < 0 ? UInt64.max : UInt64(v) }  // RLIM_INFINITY
}

/// Signal names as docker's --stop-signal takes them: "SIGUSR1", "USR1", or a number.
public enum Signals {
    /// Linux's numbers (x86_64, arm64 and the other asm-generic ports).
    static let names: [String: Int32] = [
        "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
        "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17, "CONT": 18,
        "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27,
        "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
    ]

    public static func number(_ text: String) -> Int32? {
        if let n = Int32(text) { return n > 0 && n < 65 ? n : nil }
        let upper = text.uppercased()
        return names[upper.hasPrefix("SIG") ? String(upper.dropFirst(3)) : upper]
    }
}

extension CreateOptions {
    /// The cgroup flags beyond the first ones, with docker's rules and messages (daemon/daemon_unix.go).
    func moreResources(_ r: inout Resources) throws {
        let v2 = (cpuPeriod != nil || cpuQuota != nil || memorySwappiness != nil || oomKillDisable)
            && CgroupMode.detect() == .unified
        if let p = cpuPeriod {
            guard p == 0 || (1000...1_000_000).contains(p) else {
                throw BoxError(.usage, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
            }
            if p > 0 { r.CpuPeriod = p }
        }
        if let q = cpuQuota {
            guard q <= 0 || q >= 1000 else { throw BoxError(.usage, "CPU cfs quota can not be less than 1ms (i.e. 1000)") }
            if q != 0 { r.CpuQuota = q }
        }
        if r.NanoCpus > 0 && r.CpuPeriod != nil {
            throw BoxError(.usage, "Conflicting options: Nano CPUs and CPU Period cannot both be set")
        }
        if r.NanoCpus > 0 && r.CpuQuota != nil {
            throw BoxError(.usage, "Conflicting options: Nano CPUs and CPU Quota cannot both be set")
        }
        if let mems = cpusetMems {
            guard !mems.isEmpty, mems.allSatisfy({ $0.isNumber || $0 == "," || $0 == "-" }) else {
                throw BoxError(.usage, "invalid --cpuset-mems \"\(mems)\": use a list like 0-1,3")
            }
            r.CpusetMems = mems
        }
        if let reservation = memoryReservation {
            let bytes = try CreateOptions.bytes(reservation, flag: "--memory-reservation")
            guard bytes >= 6 << 20 else { throw BoxError(.usage, "Minimum memory reservation allowed is 6MB") }
            guard r.Memory == 0 || bytes <= r.Memory else {
                throw BoxError(.usage, "Minimum memory limit can not be less than memory reservation limit, see usage")
            }
            r.MemoryReservation = bytes
        }
        if let s = memorySwappiness, s != -1 {
            guard (0...100).contains(s) else { throw BoxError(.usage, "Invalid value: \(s), valid memory swappiness range is 0-100") }
            guard !v2 else { throw BoxError(.usage, "--memory-swappiness: cgroup v2 (this host's) has no per-cgroup swappiness") }
            r.MemorySwappiness = s
        }
        if oomKillDisable {
            guard !v2 else { throw BoxError(.usage, "--oom-kill-disable: cgroup v2 (this host's) cannot turn the OOM killer off for a cgroup") }
            r.OomKillDisable = true
        }
    }
}

extension Array {
    /// nil for an empty array: the spec records a flag only when it was given.
    var nonEmpty: [Element]? { isEmpty ? nil : self }
}

extension String {
    func replacingDots() -> String { String(map { $0 == "." ? "/" : $0 }) }
}
