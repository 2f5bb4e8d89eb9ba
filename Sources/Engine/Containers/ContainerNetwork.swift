#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// A container's network, as its monitor sets it up before PID 1 starts and takes it down after it ends.
///
/// For a bridge network (runc leaves this to CNI; podman's netavark does the same steps): a new network
/// namespace is made first and held open by the monitor; a veth pair is created with one end, renamed eth0,
/// inside it and the other on the network's bridge; eth0 gets the leased address and a default route via the
/// bridge's gateway address; then PID 1 is cloned into that namespace. When the container ends, the host end is
/// brought down, the lease is given back, and the pair goes with the namespace.
public struct ContainerNetwork {
    public enum Mode: Equatable, Sendable {
        case host, none
        case container(String)
        case network(String)

        public init(_ text: String) {
            switch text {
            case "host": self = .host
            case "none": self = .none
            default: self = text.hasPrefix("container:") ? .container(String(text.dropFirst(10))) : .network(text)
            }
        }
    }

    /// The namespace PID 1 joins (-1: a new one of its own, or none with --network host).
    public private(set) var netnsFD: Int32 = -1
    public private(set) var attachment: Attachment?
    var listeners: [Int32] = []
    var proxies: [pid_t] = []

    public init() {}

    static func attachmentPath(_ store: ContainerStore, _ id: String) -> String { store.root.containerDir(id) + "/network.json" }

    /// The attachment of a running container, if it is on a bridge network.
    public static func attachment(_ store: ContainerStore, _ id: String) -> Attachment? {
        try? Files.decode(Attachment.self, from: attachmentPath(store, id))
    }

    static func save(_ a: Attachment, _ id: String, store: ContainerStore) throws {
        try Files.writeAtomically(attachmentPath(store, id), try Files.encode(a, pretty: true), durable: false)
    }

    /// Before PID 1 is cloned: the network namespace it will join (a new one for a bridge network, held by
    /// the monitor, or the one of the container named in container:NAME). On failure the caller's
    /// `tearDown` undoes what was done (the monitor's failStart), as after `configure`.
    public mutating func prepareNamespace(_ spec: ContainerSpec, store: ContainerStore) throws {
        switch Mode(spec.HostConfig.NetworkMode) {
        case .host, .none:
            return
        case .container(let name):
            let other = try store.resolve(name)
            guard other.state.Running else {
                throw BoxError(.network, "cannot join the network of container \(other.name): it is not running", exitCode: 125)
            }
            netnsFD = open("/proc/\(other.state.Pid)/ns/net", O_RDONLY | O_CLOEXEC)
            guard netnsFD >= 0 else { throw BoxError.sys(.network, "open the network namespace of \(other.name)") }
        case .network:
            let fd = box_make_netns()
            guard fd >= 0 else { throw BoxError.sys(.network, "create a network namespace", errno: -fd) }
            netnsFD = fd
        }
    }

    /// While PID 1 waits for its cgroups, before it joins the namespace: on a bridge network the veth pair,
    /// eth0's address and route, the published ports and the names in /etc/hosts.
    public mutating func configure(_ spec: ContainerSpec, store: ContainerStore) throws {
        guard case .network(let name) = Mode(spec.HostConfig.NetworkMode), netnsFD >= 0 else { return }
        let fd = netnsFD
        let networks = NetworkStore(root: store.root)
        let (n, ip) = try store.root.locked { try networks.lease(name, to: spec.ID) }
        let macBytes: [UInt8] = [0x02, 0x42] + ip.bytes
        let mac = macBytes.map { JSONValue.hex(UInt32($0), width: 2) }.joined(separator: ":")
        let a = Attachment(Network: n.Name, NetworkID: n.Id, IPAddress: ip, PrefixLen: n.Subnet.prefix, Gateway: n.Gateway,
                           MacAddress: mac, Bridge: n.Bridge, HostVeth: "veth" + String(spec.ID.prefix(7)),
                           Ports: spec.HostConfig.PortBindings ?? [])
        attachment = a
        var host = try Netlink()
        defer { host.close() }
        _ = try? host.deleteLink(a.HostVeth)  // a leftover of a crashed monitor would make the add fail
        try host.addVeth(a.HostVeth, master: try networks.bridgeIndex(n, link: &host), peer: "eth0", peerNetns: fd, peerMAC: macBytes)
        var inside = try Netlink(netns: fd)
        defer { inside.close() }
        try inside.setUp("lo")
        try inside.addAddress(ip, prefix: n.Subnet.prefix, to: "eth0")
        try inside.setUp("eth0")
        try inside.addDefaultRoute(via: n.Gateway)
        for port in a.Ports { try publish(port, to: ip, helper: try store.helperPath()) }
        if n.isDefault {
            // No names of others on the default network: only this container's own file changes, and nothing
            // reads its network.json before it has started (see record).
            ContainerNetwork.writeHosts(store.root.containerDir(spec.ID) + "/hosts",
                                        Rootfs.hostsFile(hostname: spec.Config.Hostname, name: spec.Name, address: ip.description,
                                                         extra: spec.HostConfig.ExtraHosts))
        } else {
            try ContainerNetwork.save(a, spec.ID, store: store)
            try? store.root.locked { ContainerNetwork.refreshHosts(n.Name, store: store) }
        }
    }

    /// While PID 1 execs, after configure: the container's network.json (on the default network; a user network's
    /// is written by configure, for the other members' /etc/hosts) and the connect event. Both are there before
    /// the start is reported. Never throws (PID 1 is already on its way): without network.json, inspect shows
    /// no address and a killed monitor's lease is freed by the next lease instead of by `box rm`.
    public func record(_ spec: ContainerSpec, store: ContainerStore) {
        guard let a = attachment else { return }
        if a.Network == Network.defaultName {
            try? ContainerNetwork.save(a, spec.ID, store: store)
        }
        store.journal.record(Event(type: "network", action: "connect", id: a.NetworkID, name: a.Network,
                                   attributes: ["container": spec.ID]))
    }

    /// Listens on the host port now (so a port in use fails the start), and leaves the copying to a proxy
    /// process (`HELPER __proxy`, like docker-proxy) that dies with the monitor.
    mutating func publish(_ port: PortBinding, to ip: IPv4, helper: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BoxError.sys(.network, "socket") }
        listeners.append(fd)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = PortProxy.address(IPv4(port.HostIp)!, port.HostPort)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let err = errno
            if err == EADDRINUSE {
                throw BoxError(.network, "Bind for \(port.HostIp):\(port.HostPort) failed: port is already allocated")
            }
            throw BoxError.sys(.network, "listen on \(port.HostIp):\(port.HostPort)", errno: err)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fd, 3)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let pid = try Subprocess.spawn([helper, "__proxy", "\(ip)", "\(port.ContainerPort)"], actions: &actions)
        proxies.append(pid)
    }

    /// Ends the proxies, brings the host's veth down, gives the address back and closes the namespace.
    public mutating func tearDown(_ spec: ContainerSpec, store: ContainerStore) {
        for pid in proxies {
            kill(pid, SIGKILL)
            _ = Subprocess.wait(pid)
        }
        proxies = []
        for fd in listeners { close(fd) }
        listeners = []
        if let a = attachment {
            // The kernel deletes the veth pair when the namespace goes (when this fd is its last holder),
            // asynchronously; deleting it here would add 15-25 ms of RCU grace periods to every stop, which
            // `box run --rm` waits for. Something else may still hold the namespace, though (a
            // container:NAME sidecar, an nsenter), with eth0 keeping the address given back below: with the host
            // end down first, that eth0 can no longer answer for the address on the network. (Down only: taking
            // it off the bridge as well would wait for one more expedited RCU grace period, about 0.1 ms; the
            // kernel takes it off when the namespace goes.)
            // A --rm container's network.json goes with its directory, after `box run` has its answer (on the
            // default network no other container's /etc/hosts names it, so nothing reads the file meanwhile).
            let goesWithDirectory = spec.HostConfig.AutoRemove && a.Network == Network.defaultName
            ContainerNetwork.release(a, id: spec.ID, store: store, downOnly: true, unlinkAttachment: !goesWithDirectory)
        }
        attachment = nil
        NetworkConnect.releaseAll(spec.ID, store: store)
        if netnsFD >= 0 { close(netnsFD) }
        netnsFD = -1
    }

    static func release(_ a: Attachment, id: String, store: ContainerStore, downOnly: Bool = false, unlinkAttachment: Bool = true) {
        if downOnly, var link = try? Netlink() {
            try? link.setDown(a.HostVeth)  // ENODEV: gone already
            link.close()
        } else {
            NetworkStore.deleteLink(a.HostVeth)
        }
        if unlinkAttachment { unlink(attachmentPath(store, id)) }
        try? store.root.locked {
            NetworkStore(root: store.root).release(a.Network, container: id)
            if a.Network != Network.defaultName { refreshHosts(a.Network, store: store) }
        }
        store.journal.record(Event(type: "network", action: "disconnect", id: a.NetworkID, name: a.Network,
                                   attributes: ["container": id]))
    }

    /// For `box rm` of a container whose monitor was killed: what the monitor could not undo.
    public static func cleanUpAfterMonitor(_ c: Container, store: ContainerStore) {
        NetworkConnect.releaseAll(c.id, store: store)
        guard let a = attachment(store, c.id) else { return }
        release(a, id: c.id, store: store)
    }

    /// Rewrites /etc/hosts of every running container on the user-defined `network`: each has its own name
    /// and the names of the others (on the default network each file has only its own, written once).
    /// (Docker answers names with an embedded DNS server; a hosts file does the same for busybox, needs no
    /// process, and is something a learner can `cat`.) The files are rewritten in place: each is bind-mounted
    /// into its container by inode. The caller holds the engine lock: a start and a stop on the same network
    /// must not write stale views last.
    static func refreshHosts(_ network: String, store: ContainerStore) {
        // Members with a live monitor only (one starting is not running yet): a container stopped by a reboot
        // keeps its network.json, but its address is free again (leases live in the run directory) and may be
        // another's by now.
        let live = ((try? store.list()) ?? []).filter { HostProcess.isAlive($0.state.MonitorPid, startTime: $0.state.MonitorStartTime) }
        // Each container's networks: its first, then those `network connect` added (NetworkConnect).
        let all: [(Container, [Attachment])] = live.map { c in
            (c, (attachment(store, c.id).map { [$0] } ?? []) + NetworkConnect.extras(store, c.id))
        }
        for (c, attachments) in all where attachments.contains(where: { $0.Network == network }) {
            guard let own = attachments.first else { continue }
            var text = Rootfs.hostsFile(hostname: c.spec.Config.Hostname, name: c.name, address: own.IPAddress.description,
                                        extra: c.spec.HostConfig.ExtraHosts)
            // The others on every user network it is on (on the default network names are not shared).
            for a in attachments where a.Network != Network.defaultName {
                for (other, theirs) in all where other.id != c.id {
                    for oa in theirs where oa.Network == a.Network {
                        text += "\(oa.IPAddress)\t" + ([other.name] + (oa.Aliases ?? [])).joined(separator: " ") + "\n"
                    }
                }
            }
            writeHosts(store.root.containerDir(c.id) + "/hosts", text)
        }
    }

    /// In place: the file is bind-mounted into the container by inode.
    /// Written over the old content, then cut to length: a reader never sees an empty file.
    static func writeHosts(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ pwrite(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else { return }
        _ = ftruncate(fd, off_t(bytes.count))
    }
}
