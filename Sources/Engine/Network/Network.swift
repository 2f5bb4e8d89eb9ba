#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// An IPv4 address, as a number.
public struct IPv4: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard let b = UInt8(p), String(b) == p else { return nil }
            v = v << 8 | UInt32(b)
        }
        value = v
    }

    public var description: String { "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)" }
    public static func < (a: IPv4, b: IPv4) -> Bool { a.value < b.value }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let ip = IPv4(text) else { throw BoxError(.network, "not an IPv4 address: \(text)") }
        self = ip
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An IPv4 subnet such as 172.17.0.0/16.
public struct Subnet: Sendable, Hashable, Codable, CustomStringConvertible {
    public var network: IPv4
    public var prefix: Int

    public init(_ network: IPv4, prefix: Int) {
        self.prefix = prefix
        self.network = IPv4(network.value & Subnet.mask(prefix))
    }

    /// Parses "172.18.0.0/16"; the address must be the network's first (docker refuses 172.18.0.5/16 too).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let ip = IPv4(String(parts[0])), let p = Int(parts[1]), (8...29).contains(p) else {
            throw BoxError(.network, "invalid subnet \"\(text)\": give an IPv4 network and a prefix from /8 to /29, e.g. 172.30.0.0/16")
        }
        guard ip.value & ~Subnet.mask(p) == 0 else {
            throw BoxError(.network, "invalid subnet \"\(text)\": \(ip) is not the first address of a /\(p) (did you mean \(IPv4(ip.value & Subnet.mask(p)))/\(p)?)")
        }
        self.init(ip, prefix: p)
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << (32 - UInt32(prefix)) }
    public var mask: UInt32 { Subnet.mask(prefix) }
    public var gateway: IPv4 { IPv4(network.value + 1) }
    public var broadcast: IPv4 { IPv4(network.value | ~mask) }
    public func contains(_ ip: IPv4) -> Bool { ip.value & mask == network.value }
    public func overlaps(_ other: Subnet) -> Bool {
        let m = Subnet.mask(min(prefix, other.prefix))
        return network.value & m == other.network.value & m
    }
    public var description: String { "\(network)/\(prefix)" }

    public init(from decoder: Decoder) throws { try self.init(parsing: try decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// A bridge network: a Linux bridge on the host with the gateway address, and a lease per container.
public struct Network: Codable, Sendable {
    public var Name: String
    public var Id: String
    public var Created: Timestamp
    public var Driver: String = "bridge"
    public var Subnet: Subnet
    public var Gateway: IPv4
    /// The bridge device on the host.
    public var Bridge: String
    /// Outbound NAT to the outside world (opt-in: `box network create --masquerade`).
    public var Masquerade: Bool = false
    /// Container ids by address.
    public var Leases: [String: String] = [:]
    /// Set by NetworkStore.load when the leases came from the definition itself, where a box before leases
    /// moved to the run directory kept them: the next lease change writes the definition again without them.
    var leasesInDefinition = false

    enum CodingKeys: String, CodingKey { case Name, Id, Created, Driver, Subnet, Gateway, Bridge, Masquerade, Leases }

    /// The default network's name, as docker's.
    public static let defaultName = "bridge"

    public init(Name: String, Id: String, Created: Timestamp, Subnet: Subnet, Gateway: IPv4, Bridge: String, Masquerade: Bool = false) {
        self.Name = Name
        self.Id = Id
        self.Created = Created
        self.Subnet = Subnet
        self.Gateway = Gateway
        self.Bridge = Bridge
        self.Masquerade = Masquerade
    }
    public var isDefault: Bool { Name == Network.defaultName }
}

/// What a running container has of a network: saved in its directory (`network.json`) while it runs.
public struct Attachment: Codable, Sendable, Equatable {
    public var Network: String
    public var NetworkID: String
    public var IPAddress: IPv4
    public var PrefixLen: Int
    public var Gateway: IPv4
    public var MacAddress: String
    public var Bridge: String
    /// The host's end of the container's veth pair.
    public var HostVeth: String
    public var Ports: [PortBinding] = []
    /// The container's end, for a network added by `network connect` (eth1, eth2…; nil: eth0).
    public var Interface: String? = nil
    /// `network connect --alias`: more names the network's other members know it by.
    public var Aliases: [String]? = nil
}

/// `-p [IP:]HOSTPORT:CONTAINERPORT[/tcp]`.
public struct PortBinding: Codable, Sendable, Equatable, CustomStringConvertible {
    public var HostIp: String
    public var HostPort: UInt16
    public var ContainerPort: UInt16

    public init(parsing text: String) throws {
        var spec = Substring(text)
        if let slash = spec.lastIndex(of: "/") {
            let proto = spec[spec.index(after: slash)...]
            guard proto == "tcp" else {
                throw BoxError(.usage, "invalid port \"\(text)\": box publishes tcp only")
            }
            spec = spec[..<slash]
        }
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let hostIP: String, host: String, container: String
        switch parts.count {
        case 2: (hostIP, host, container) = ("0.0.0.0", parts[0], parts[1])
        case 3: (hostIP, host, container) = (parts[0].isEmpty ? "0.0.0.0" : parts[0], parts[1], parts[2])
        default:
            throw BoxError(.usage, "invalid port \"\(text)\": use [IP:]HOSTPORT:CONTAINERPORT, e.g. -p 127.0.0.1:8080:80")
        }
        guard IPv4(hostIP) != nil else { throw BoxError(.usage, "invalid port \"\(text)\": \(hostIP) is not an IPv4 address") }
        guard let h = UInt16(host), h > 0, let c = UInt16(container), c > 0 else {
            throw BoxError(.usage, "invalid port \"\(text)\": ports are numbers from 1 to 65535")
        }
        HostIp = hostIP
        HostPort = h
        ContainerPort = c
    }

    /// "80/tcp -> 127.0.0.1:8080", as `docker port` prints it.
    public var description: String { "\(ContainerPort)/tcp -> \(HostIp):\(HostPort)" }
}

/// The networks of one engine root, their bridges on the host, and the leases of their addresses.
public struct NetworkStore: Sendable {
    public let root: EngineRoot

    public init(root: EngineRoot) { self.root = root }

    var directory: String { root.path + "/networks" }
    func path(_ name: String) -> String { directory + "/" + name + ".json" }

    /// The default network's bridge: box0 for the default engine root, a name derived from the root for
    /// others (tests run many roots at once, and interface names are global to the host).
    var defaultBridge: String {
        if root.path == "/var/lib/box" { return "box0" }
        var h: UInt32 = 2_166_136_261
        for b in root.path.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return "bx" + JSONValue.hex(h, width: 8)
    }

    public func list() throws -> [Network] {
        guard Files.isDirectory(directory) else { return [] }
        return try Files.list(directory).filter { $0.hasSuffix(".json") }.map {
            try load(directory + "/" + $0)
        }.sorted { $0.Name < $1.Name }
    }

    /// The network called `name` (or with that id prefix); the default one is made on first use.
    public func get(_ name: String) throws -> Network {
        if name == Network.defaultName && !Files.exists(path(name)) { return try root.locked { try ensureDefault() } }
        return try find(name)
    }

    /// Like `get`, but never makes the default network: safe under the engine lock (flock does not nest).
    func find(_ name: String) throws -> Network {
        if Files.exists(path(name)) { return try load(path(name)) }
        if name.count >= 3, let n = try list().first(where: { $0.Id.hasPrefix(name) }) { return n }
        if name == Network.defaultName {
            throw BoxError(.network, "network bridge does not exist now: box makes it at the next start on it", exitCode: 1)
        }
        throw BoxError(.network, "network \(name) not found (box network ls lists them)", exitCode: 1)
    }

    /// The definition, fsynced (a rename without fsync could leave it empty after a power cut on some
    /// filesystems, XFS among them), without its leases.
    func save(_ n: Network) throws {
        var definition = n
        definition.Leases = [:]
        try Files.mkdirs(directory)
        try Files.writeAtomically(path(n.Name), try Files.encode(definition, pretty: true))
    }

    /// Leases are runtime state, like the monitors' sockets: they live in the run directory and are written
    /// without fsync, two fewer per `box run`. By default that is /run/box, which a reboot empties as it stops
    /// every container; a BOX_RUN that outlives a reboot keeps them as the definition used to (a lease of a
    /// container that is gone is freed by the next lease). Named by the network's id: roots sharing a BOX_RUN
    /// each keep their own.
    func leasesPath(_ n: Network) -> String { root.runPath + "/leases/" + n.Id + ".json" }

    /// Kept beside the leases file for Files.replace: only writers holding the engine lock use it.
    func leasesSibling(_ n: Network) -> String { leasesPath(n) + ".next" }

    /// Under the engine lock. The file stays while the network does, `{}` with no lease, and is swapped with its
    /// sibling rather than renamed over: a container's start and end make and free no inode for its lease.
    /// (So does the directory: it stays, as the run directory does.)
    func saveLeases(_ n: Network) throws {
        try Files.mkdirs(root.runPath + "/leases", mode: 0o700)
        try Files.replace(leasesPath(n), try Files.encode(n.Leases), sibling: leasesSibling(n))
        if n.leasesInDefinition { try save(n) }  // once: else those leases would count again
    }

    /// A network's definition with its current leases, only those of containers that still exist. The leases of
    /// a definition from an older box count until they are first written to the run directory.
    func load(_ file: String) throws -> Network {
        var n = try Files.decode(Network.self, from: file)
        if let bytes = try? Files.read(leasesPath(n)), let leases = try? JSONTree.decode([String: String].self, from: bytes) {
            n.Leases = leases
        } else if !n.Leases.isEmpty {
            n.leasesInDefinition = true
        }
        n.Leases = n.Leases.filter { Files.isDirectory(root.containerDir($0.value)) }
        return n
    }

    /// Under the engine lock.
    func ensureDefault() throws -> Network {
        if Files.exists(path(Network.defaultName)) { return try load(path(Network.defaultName)) }
        return try create(Network.defaultName, subnet: nil, masquerade: false, locked: true)
    }

    /// Makes a network and its bridge. Without a subnet: 172.17.0.0/16 for the default network if the host
    /// does not use it, else the first free /16 from 172.18 to 172.31, then 10.200-10.254.
    public func create(_ name: String, subnet wanted: Subnet?, masquerade: Bool, locked: Bool = false) throws -> Network {
        guard Names.isValid(name), !["none", "host"].contains(name), !name.hasPrefix("container:") else {
            throw BoxError(.network, "invalid network name \"\(name)\": [a-zA-Z0-9][a-zA-Z0-9_.-], not none, host or container:…")
        }
        let body = { () throws -> Network in
            // Subnets are chosen under a host-wide lock: another engine root may be choosing one right now.
            try Lock.withLock(NetworkStore.hostLock) {
                if Files.exists(self.path(name)) {
                    throw BoxError(.network, "network with name \(name) already exists", exitCode: 1)
                }
                let used = NetworkStore.hostSubnets() + (try self.list()).map(\.Subnet)
                let subnet: Subnet
                if let wanted {
                    if let clash = used.first(where: { $0.overlaps(wanted) }) {
                        throw BoxError(.network, "subnet \(wanted) overlaps \(clash), which this host already routes: pick another")
                    }
                    subnet = wanted
                } else {
                    let candidates = (17...31).map { Subnet(IPv4(172 << 24 | UInt32($0) << 16), prefix: 16) }
                        + (200...254).map { Subnet(IPv4(10 << 24 | UInt32($0) << 16), prefix: 16) }
                    guard let free = candidates.first(where: { c in !used.contains { $0.overlaps(c) } }) else {
                        throw BoxError(.network, "no free /16 left in 172.17-31.0.0 and 10.200-254.0.0: give --subnet")
                    }
                    subnet = free
                }
                var rng = SystemRandomNumberGenerator()
                let id = randomID(using: &rng)
                let bridge = name == Network.defaultName ? self.defaultBridge : "br-" + String(id.prefix(12))
                let n = Network(Name: name, Id: id, Created: .now(), Subnet: subnet, Gateway: subnet.gateway,
                                Bridge: bridge, Masquerade: masquerade)
                // The definition first, then the bridge: a create killed in between leaves a network box lists,
                // whose bridge the first container on it makes (bridgeIndex) and `box network rm` removes. The
                // other way round, a kill left a bridge holding a /16 that no box command knew of.
                try self.save(n)
                do { try NetworkStore.makeBridge(n) } catch {
                    self.destroy(n)
                    throw error
                }
                EventJournal(root: self.root).record(Event(type: "network", action: "create", id: id, name: name))
                return n
            }
        }
        return try locked ? body() : root.locked(body)
    }

    /// Removes a network no container uses. The default one too (docker refuses): box makes it again, with its
    /// bridge, at the next start on it, so removing it only gives back its bridge and subnet meanwhile.
    public func remove(_ name: String) throws {
        try root.locked {
            let n = try find(name)
            if let (ip, owner) = n.Leases.min(by: { $0.key < $1.key }) {
                throw BoxError(.network, "error while removing network: network \(n.Name) id \(n.Id) has active endpoints (container \(owner.prefix(12)) at \(ip))", exitCode: 1)
            }
            destroy(n)
            EventJournal(root: root).record(Event(type: "network", action: "destroy", id: n.Id, name: n.Name))
        }
    }

    /// `box network prune` and `box system prune`: removes every network no container uses, and the default one
    /// too with `includingDefault` (`system prune --all`). Returns the names removed.
    public func prune(includingDefault: Bool) throws -> [String] {
        try root.locked {
            let unused = try list().filter { $0.Leases.isEmpty && (includingDefault || !$0.isDefault) }
            for n in unused {
                destroy(n)
                EventJournal(root: root).record(Event(type: "network", action: "destroy", id: n.Id, name: n.Name))
            }
            return unused.map(\.Name)
        }
    }

    /// Every network of this root, the default one included, with their bridges: for tests and selftest,
    /// whose engine roots are thrown away, leases and all.
    public func destroyAll() {
        for n in (try? list()) ?? [] { destroy(n) }
    }

    /// A network's masquerade rule, bridge, definition and leases (with the leases' sibling file).
    private func destroy(_ n: Network) {
        NetworkStore.removeMasquerade(n)
        NetworkStore.deleteLink(n.Bridge)
        unlink(path(n.Name))
        unlink(leasesPath(n))
        unlink(leasesSibling(n))
    }

    // MARK: leases

    /// Leases the lowest free address of `network` to `container`. Under the engine lock.
    func lease(_ networkName: String, to container: String) throws -> (Network, IPv4) {
        var n = try networkName == Network.defaultName ? ensureDefault() : find(networkName)
        // Leases of containers that are gone (a monitor killed, then the container removed by hand) are freed.
        n.Leases = n.Leases.filter { $0.value != container }  // load left out those of containers that are gone
        var ip = IPv4(n.Subnet.gateway.value + 1)
        while n.Leases[ip.description] != nil { ip = IPv4(ip.value + 1) }
        guard n.Subnet.contains(ip), ip != n.Subnet.broadcast else {
            throw BoxError(.network, "no free address left in \(n.Name) (\(n.Subnet))")
        }
        n.Leases[ip.description] = container
        try saveLeases(n)
        return (n, ip)
    }

    /// Gives back `container`'s address. Under the engine lock.
    func release(_ networkName: String, container: String) {
        guard var n = try? load(path(networkName)) else { return }
        n.Leases = n.Leases.filter { $0.value != container }
        try? saveLeases(n)
    }

    // MARK: the host

    /// In /run itself, which only root may write: a world-writable /run/lock would let any user hold it.
    static let hostLock = "/run/box-network.lock"

    /// Subnets the host routes (IPv4, /proc/net/route), so a new network never shadows one of them.
    static func hostSubnets() -> [Subnet] {
        let text = Files.readIfPresent("/proc/net/route") ?? ""
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard f.count >= 8, let dest = UInt32(f[1], radix: 16), let mask = UInt32(f[7], radix: 16), mask != 0 else { return nil }
            // /proc/net/route is in the host's byte order (little-endian here): swap to ours.
            let d = dest.byteSwapped, m = mask.byteSwapped
            return Subnet(IPv4(d), prefix: m.nonzeroBitCount)
        }
    }

    static func makeBridge(_ n: Network) throws {
        var link = try Netlink()
        defer { link.close() }
        _ = try? link.deleteLink(n.Bridge)  // a leftover of a crashed engine would make the add fail
        try link.addBridge(n.Bridge)
        try link.addAddress(n.Gateway, prefix: n.Subnet.prefix, to: n.Bridge)
        try link.setUp(n.Bridge)
        if n.Masquerade { try addMasquerade(n) }
    }

    /// The index of `n`'s bridge, made again first if it is gone: a reboot takes every bridge with it while
    /// the network's definition stays (as dockerd makes docker0 again when it starts), and so does an
    /// `ip link del` by hand. Under the host-wide lock, so that two starts do not both make it. Only a bridge
    /// the kernel says does not exist (ENODEV) is made again, as makeBridge deletes one of that name first;
    /// and not over a subnet the host has come to route meanwhile (another engine's bridge, after a reboot).
    func bridgeIndex(_ n: Network, link: inout Netlink) throws -> Int32 {
        func lookUp() throws -> Int32? {
            do { return try link.index(of: n.Bridge) } catch let e as BoxError where e.errno == ENODEV { return nil }
        }
        if let index = try lookUp() { return index }
        try Lock.withLock(NetworkStore.hostLock) {
            guard try lookUp() == nil else { return }
            if let clash = NetworkStore.hostSubnets().first(where: { $0.overlaps(n.Subnet) }) {
                let fix = n.isDefault
                    ? "free that subnet, or stop every container and delete \(path(n.Name)) for box to pick a free one"
                    : "free that subnet, or remove the network (box network rm \(n.Name)) and create it again"
                throw BoxError(.network, "network \(n.Name) lost its bridge \(n.Bridge) (a reboot?), and the host now routes \(clash), which overlaps its subnet \(n.Subnet): \(fix)")
            }
            try NetworkStore.makeBridge(n)
        }
        return try link.index(of: n.Bridge)
    }

    static func deleteLink(_ name: String) {
        guard var link = try? Netlink() else { return }
        defer { link.close() }
        _ = try? link.deleteLink(name)
    }

    /// Outbound NAT for a network created with --masquerade (never used by tests: no traffic leaves).
    static func addMasquerade(_ n: Network) throws {
        guard let iptables = Subprocess.which("iptables") else {
            throw BoxError(.network, "--masquerade needs iptables (sudo apt-get install iptables)")
        }
        try Files.writeAtomically("/proc/sys/net/ipv4/ip_forward", "1\n", durable: false)
        // Already there when only the bridge was gone (an `ip link del`), not after a reboot.
        if (try? Subprocess.run([iptables] + masqueradeRule(n, "-C"), stderrToStdout: true))?.0 == 0 { return }
        let (status, out) = try Subprocess.run([iptables] + masqueradeRule(n, "-A"), stderrToStdout: true)
        guard status == 0 else { throw BoxError(.network, "iptables: \(out)") }
    }

    static func removeMasquerade(_ n: Network) {
        guard n.Masquerade, let iptables = Subprocess.which("iptables") else { return }
        _ = try? Subprocess.run([iptables] + masqueradeRule(n, "-D"), stderrToStdout: true)
    }

    static func masqueradeRule(_ n: Network, _ op: String) -> [String] {
        ["-t", "nat", op, "POSTROUTING", "-s", n.Subnet.description, "!", "-o", n.Bridge, "-j", "MASQUERADE"]
    }
}
