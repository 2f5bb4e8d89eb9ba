#if canImport(Glibc)
import Glibc
#endif

/// `box network connect` and `disconnect`: more networks for a running container. Each is one more veth pair,
/// as its first network's (see ContainerNetwork.configure): ethN inside, with an address of the network's subnet
/// (no route beyond it: the default route stays the first network's, as docker's), the other end on the
/// network's bridge. Kept in the container's directory, networks.json, while it runs; given back when it
/// stops (the pairs go with its namespace) or is disconnected (the pair deleted at once).
public enum NetworkConnect {
    static func extrasPath(_ store: ContainerStore, _ id: String) -> String { store.root.containerDir(id) + "/networks.json" }

    /// The networks connected to a running container after its first.
    public static func extras(_ store: ContainerStore, _ id: String) -> [Attachment] {
        (try? Files.decode([Attachment].self, from: extrasPath(store, id))) ?? []
    }

    static func saveExtras(_ list: [Attachment], _ id: String, store: ContainerStore) throws {
        if list.isEmpty { unlink(extrasPath(store, id)); return }
        try Files.writeAtomically(extrasPath(store, id), try Files.encode(list, pretty: true), durable: false)
    }

    /// Connects `c` (running, on a network of its own namespace) to the bridge network `name`, reachable there
    /// by its name and `aliases` (the other members' /etc/hosts).
    public static func connect(_ c: Container, network name: String, aliases: [String] = [], store: ContainerStore) throws -> Attachment {
        switch ContainerNetwork.Mode(c.spec.HostConfig.NetworkMode) {
        case .host:
            throw BoxError(.network, "container cannot be disconnected from host network or connected to host network", exitCode: 1)
        case .none:
            throw BoxError(.network, "container cannot be connected to multiple networks with one of the networks in private (none) mode", exitCode: 1)
        case .container:
            throw BoxError(.network, "container sharing network namespace with another container or host cannot be connected to any other network", exitCode: 1)
        case .network:
            break
        }
        if name == "host" || name == "none" {
            throw BoxError(.network, "container cannot be disconnected from host network or connected to host network", exitCode: 1)
        }
        let networks = NetworkStore(root: store.root)
        let n = try networks.get(name)
        guard c.state.Running, c.state.Pid > 0 else {
            throw BoxError(.network, "container \(c.name) is not running: box connects running containers only (docker also records a stopped one's)", exitCode: 1)
        }
        let current = (ContainerNetwork.attachment(store, c.id).map { [$0] } ?? []) + extras(store, c.id)
        if current.contains(where: { $0.NetworkID == n.Id }) {
            throw BoxError(.network, "endpoint with name \(c.name) already exists in network \(n.Name)", exitCode: 1)
        }
        let netns = open("/proc/\(c.state.Pid)/ns/net", O_RDONLY | O_CLOEXEC)
        guard netns >= 0 else { throw BoxError.sys(.network, "open the network namespace of \(c.name)") }
        defer { close(netns) }
        // eth0 is the first network's; the next free ethN, as docker names them.
        let used = Set(current.map { $0.Interface ?? "eth0" })
        var index = 1
        while used.contains("eth\(index)") { index += 1 }
        let (leased, ip) = try store.root.locked { try networks.lease(n.Name, to: c.id) }
        let macBytes: [UInt8] = [0x02, 0x42] + ip.bytes
        var a = Attachment(Network: leased.Name, NetworkID: leased.Id, IPAddress: ip, PrefixLen: leased.Subnet.prefix,
                           Gateway: leased.Gateway, MacAddress: macBytes.map { JSONValue.hex(UInt32($0), width: 2) }.joined(separator: ":"),
                           Bridge: leased.Bridge, HostVeth: "vx" + String(c.id.prefix(7)) + String(leased.Id.prefix(4)))
        a.Interface = "eth\(index)"
        a.Aliases = aliases.isEmpty ? nil : aliases
        do {
            var host = try Netlink()
            defer { host.close() }
            _ = try? host.deleteLink(a.HostVeth)
            try host.addVeth(a.HostVeth, master: try networks.bridgeIndex(leased, link: &host), peer: "eth\(index)",
                             peerNetns: netns, peerMAC: macBytes)
            var inside = try Netlink(netns: netns)
            defer { inside.close() }
            try inside.addAddress(ip, prefix: leased.Subnet.prefix, to: "eth\(index)")
            try inside.setUp("eth\(index)")
            try store.root.locked {
                try saveExtras(extras(store, c.id) + [a], c.id, store: store)
                ContainerNetwork.refreshHosts(leased.Name, store: store)
            }
        } catch {
            NetworkStore.deleteLink(a.HostVeth)
            try? store.root.locked { networks.release(leased.Name, container: c.id) }
            throw error
        }
        store.journal.record(Event(type: "network", action: "connect", id: a.NetworkID, name: a.Network, attributes: ["container": c.id]))
        return a
    }

    /// Takes `c` off a network `connect` added: its veth pair deleted, its address given back, the other
    /// members' /etc/hosts without it. (Its first network stays while it runs.)
    public static func disconnect(_ c: Container, network name: String, store: ContainerStore) throws {
        let networks = NetworkStore(root: store.root)
        let n = try networks.get(name)
        let list = extras(store, c.id)
        guard let a = list.first(where: { $0.NetworkID == n.Id }) else {
            if c.state.Running, ContainerNetwork.attachment(store, c.id)?.NetworkID == n.Id {
                throw BoxError(.network, "box disconnects only the networks added with network connect: \(n.Name) is \(c.name)'s first network, kept while it runs", exitCode: 1)
            }
            throw BoxError(.network, "container \(c.id) is not connected to network \(n.Name)", exitCode: 1)
        }
        NetworkStore.deleteLink(a.HostVeth)  // its peer, ethN in the container, goes with it
        try store.root.locked {
            try saveExtras(extras(store, c.id).filter { $0.NetworkID != n.Id }, c.id, store: store)
            networks.release(a.Network, container: c.id)
            ContainerNetwork.refreshHosts(a.Network, store: store)
            // c's own file, without the names of the network it left.
            let remaining = (ContainerNetwork.attachment(store, c.id).map { [$0] } ?? []) + extras(store, c.id)
            let userNetworks = Set(remaining.map(\.Network)).subtracting([Network.defaultName])
            for other in userNetworks { ContainerNetwork.refreshHosts(other, store: store) }
            if userNetworks.isEmpty, let own = remaining.first {
                ContainerNetwork.writeHosts(store.root.containerDir(c.id) + "/hosts",
                                            Rootfs.hostsFile(hostname: c.spec.Config.Hostname, name: c.name, address: own.IPAddress.description,
                                                             extra: c.spec.HostConfig.ExtraHosts))
            }
        }
        store.journal.record(Event(type: "network", action: "disconnect", id: a.NetworkID, name: a.Network, attributes: ["container": c.id]))
    }

    /// When the container stops: the leases given back (the pairs go with its namespace), the file removed.
    static func releaseAll(_ id: String, store: ContainerStore) {
        let list = extras(store, id)
        guard !list.isEmpty else { return }
        unlink(extrasPath(store, id))
        try? store.root.locked {
            for a in list {
                NetworkStore(root: store.root).release(a.Network, container: id)
                ContainerNetwork.refreshHosts(a.Network, store: store)
            }
        }
        for a in list {
            store.journal.record(Event(type: "network", action: "disconnect", id: a.NetworkID, name: a.Network, attributes: ["container": id]))
        }
    }
}
