#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// Route netlink (rtnetlink(7)): the few requests a bridge network needs, sent straight to the kernel.
///
/// These are the requests `ip link add ... master ... up type veth peer ...`, `ip link set ... up|down`,
/// `ip addr add` and `ip route add default via` send (iproute2's ip/iplink.c, ip/link_veth.c, ip/ipaddress.c,
/// ip/iproute.c); netavark does the same through its netlink crate. Sending them ourselves instead of running
/// `ip` (and `nsenter ip` for the container's side) saves three processes, about 15 ms, on every start.
/// Each request asks for an acknowledgement, so a failure comes back as the errno of exactly that request.
struct Netlink {
    let fd: Int32
    private var seq: UInt32 = 0

    /// A socket in the caller's network namespace, or in the one `netns` (an fd of /proc/PID/ns/net) names:
    /// a netlink socket stays in the namespace it was made in.
    init(netns: Int32? = nil) throws {
        let s = box_netlink_socket(netns ?? -1)
        guard s >= 0 else { throw BoxError.sys(.network, "open a netlink socket", errno: -s) }
        fd = s
    }

    func close() { _ = Glibc.close(fd) }

    // MARK: requests

    /// `ip link add HOST numtxqueues 1 numrxqueues 1 master BRIDGE type veth peer name PEER numtxqueues 1
    /// numrxqueues 1 netns NS address MAC`, then `ip link set HOST addrgenmode none up`: the pair, the host end
    /// on the bridge (its index), then up without an IPv6 address. The other end, in `ns`, is still down: the
    /// kernel cannot bring it up in the same request (it is configured before the two ends are paired, and
    /// veth_open answers ENOTCONN).
    ///
    /// One queue each way: the kernel would otherwise give each end a queue per CPU and then cut it to one
    /// (veth_init_queues), which waits for an expedited RCU grace period per end (netif_set_real_num_tx_queues)
    /// with the rtnl lock held; 0.3-0.8 ms of every start here. (More queues only help XDP spread over CPUs.)
    /// The master at creation needs Linux 4.10 (older kernels ignore it); the labs need 5.4 (`lab doctor`).
    mutating func addVeth(_ host: String, master: Int32, peer: String, peerNetns: Int32, peerMAC: [UInt8]) throws {
        let queues = Netlink.attr(IFLA_NUM_TX_QUEUES, UInt32(1)) + Netlink.attr(IFLA_NUM_RX_QUEUES, UInt32(1))
        var peerInfo = Netlink.ifinfomsg()
        peerInfo += Netlink.attr(IFLA_IFNAME, string: peer)
        peerInfo += Netlink.attr(IFLA_NET_NS_FD, UInt32(bitPattern: peerNetns))
        peerInfo += Netlink.attr(IFLA_ADDRESS, peerMAC)
        peerInfo += queues
        var body = Netlink.ifinfomsg()
        body += Netlink.attr(IFLA_IFNAME, string: host)
        body += Netlink.attr(IFLA_MASTER, UInt32(bitPattern: master))
        body += queues
        body += Netlink.attr(IFLA_LINKINFO, Netlink.attr(IFLA_INFO_KIND, string: "veth")
            + Netlink.attr(IFLA_INFO_DATA, Netlink.attr(VETH_INFO_PEER, peerInfo)))
        try request(RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL, body, "create the veth pair \(host)/\(peer)")
        // The host end, a bridge port, needs no IPv6 address of its own (eth0 keeps its fe80:: one, as the
        // seeds show): without it, bringing the end up and destroying it later skip the link-local address,
        // its duplicate address detection and multicast joins (0.2 ms a run in alternating runs). The mode
        // is set in a request of its own while the end is down (the kernel refuses it at creation), then up.
        var mode = Netlink.ifinfomsg()
        mode += Netlink.attr(IFLA_IFNAME, string: host)
        mode += Netlink.attr(IFLA_AF_SPEC, Netlink.attr(Int32(AF_INET6), Netlink.attr(IFLA_INET6_ADDR_GEN_MODE, [IN6_ADDR_GEN_MODE_NONE])))
        try request(RTM_NEWLINK, flags: 0, mode, "give \(host) no IPv6 link-local address")
        try setUp(host)
    }

    /// `ip link add NAME type bridge`.
    mutating func addBridge(_ name: String) throws {
        var body = Netlink.ifinfomsg()
        body += Netlink.attr(IFLA_IFNAME, string: name)
        body += Netlink.attr(IFLA_LINKINFO, Netlink.attr(IFLA_INFO_KIND, string: "bridge"))
        try request(RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL, body, "create the bridge \(name)")
    }

    /// `ip link set NAME up`.
    mutating func setUp(_ name: String) throws {
        var body = Netlink.ifinfomsg(flags: IFF_UP, change: IFF_UP)
        body += Netlink.attr(IFLA_IFNAME, string: name)
        try request(RTM_NEWLINK, flags: 0, body, "bring \(name) up")
    }

    /// `ip link set NAME down`: the link carries nothing more, without the grace periods a delete waits for.
    /// (Down, a veth forwards nothing to its peer, and a bridge forwards nothing to a port that is down.)
    mutating func setDown(_ name: String) throws {
        var body = Netlink.ifinfomsg(flags: 0, change: IFF_UP)
        body += Netlink.attr(IFLA_IFNAME, string: name)
        try request(RTM_NEWLINK, flags: 0, body, "bring \(name) down")
    }

    /// `ip link del NAME`; false if there was no such link. Unregistering a device waits for RCU grace
    /// periods: 15-25 ms on a small VM.
    @discardableResult
    mutating func deleteLink(_ name: String) throws -> Bool {
        var body = Netlink.ifinfomsg()
        body += Netlink.attr(IFLA_IFNAME, string: name)
        do {
            try request(RTM_DELLINK, flags: 0, body, "delete \(name)")
            return true
        } catch let e as BoxError where e.errno == ENODEV {
            return false
        }
    }

    /// `ip addr add ADDRESS/PREFIX dev NAME`.
    mutating func addAddress(_ address: IPv4, prefix: Int, to name: String) throws {
        let index = try self.index(of: name)
        var body: [UInt8] = [UInt8(AF_INET), UInt8(prefix), 0, UInt8(RT_SCOPE_UNIVERSE)]
        body += Netlink.le(UInt32(bitPattern: index))
        body += Netlink.attr(IFA_LOCAL, address.bytes)
        body += Netlink.attr(IFA_ADDRESS, address.bytes)
        try request(RTM_NEWADDR, flags: NLM_F_CREATE | NLM_F_EXCL, body, "add \(address)/\(prefix) to \(name)")
    }

    /// `ip route add default via GATEWAY`.
    mutating func addDefaultRoute(via gateway: IPv4) throws {
        // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type; flags.
        var body: [UInt8] = [UInt8(AF_INET), 0, 0, 0, UInt8(RT_TABLE_MAIN), UInt8(RTPROT_BOOT), UInt8(RT_SCOPE_UNIVERSE), UInt8(RTN_UNICAST)]
        body += Netlink.le(UInt32(0))
        body += Netlink.attr(RTA_GATEWAY, gateway.bytes)
        try request(RTM_NEWROUTE, flags: NLM_F_CREATE | NLM_F_EXCL, body, "add the default route via \(gateway)")
    }

    /// The interface index of `name` in this socket's namespace (RTM_GETLINK by name).
    mutating func index(of name: String) throws -> Int32 {
        let reply = try getLink(name)
        // The reply is an RTM_NEWLINK message: its ifinfomsg's index sits after the 16-byte header, at +4.
        guard reply.count >= 16 + 8 else { throw BoxError(.network, "look up \(name): a short netlink reply") }
        return reply.withUnsafeBytes { Int32(bitPattern: $0.loadUnaligned(fromByteOffset: 16 + 4, as: UInt32.self)) }
    }

    /// `ip -d link show NAME`, in part: its index, flags (IFF_*) and attributes (IFLA_* → payload).
    mutating func link(_ name: String) throws -> (index: Int32, flags: UInt32, attributes: [Int32: [UInt8]]) {
        let reply = try getLink(name)
        // The reply is an RTM_NEWLINK message: a 16-byte header, then ifinfomsg (16 bytes: index at +4, flags
        // at +8), then the attributes.
        guard reply.count >= 32 else { throw BoxError(.network, "look up \(name): a short netlink reply") }
        return reply.withUnsafeBytes { raw in
            var attributes: [Int32: [UInt8]] = [:]
            var offset = 32
            while offset + 4 <= raw.count {
                let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
                let type = Int32(raw.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self) & 0x3fff)  // less NLA_F_*
                guard length >= 4, offset + length <= raw.count else { break }
                attributes[type] = Array(raw[(offset + 4)..<(offset + length)])
                offset += (length + 3) & ~3
            }
            return (Int32(bitPattern: raw.loadUnaligned(fromByteOffset: 20, as: UInt32.self)),
                    raw.loadUnaligned(fromByteOffset: 24, as: UInt32.self), attributes)
        }
    }

    /// `ip link show NAME`: the kernel's RTM_NEWLINK reply, whole.
    private mutating func getLink(_ name: String) throws -> [UInt8] {
        var body = Netlink.ifinfomsg()
        body += Netlink.attr(IFLA_IFNAME, string: name)
        return try exchange(RTM_GETLINK, flags: 0, body, "look up \(name)")
    }

    // MARK: the wire

    private mutating func request(_ type: UInt16, flags: Int32, _ body: [UInt8], _ what: String) throws {
        _ = try exchange(type, flags: flags | NLM_F_ACK, body, what)
    }

    /// Sends one request and reads until its answer: the acknowledgement (an NLMSG_ERROR with error 0), an
    /// error, or (for a GET) the object, which is returned whole.
    private mutating func exchange(_ type: UInt16, flags: Int32, _ body: [UInt8], _ what: String) throws -> [UInt8] {
        seq &+= 1
        var message = Netlink.le(UInt32(16 + body.count)) + Netlink.le(type) + Netlink.le(UInt16(truncatingIfNeeded: NLM_F_REQUEST | flags))
        message += Netlink.le(seq) + Netlink.le(UInt32(0)) + body
        let sent = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }  // connected to the kernel
        guard sent == message.count else { throw BoxError.sys(.network, "\(what): send to netlink") }
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else {
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EAGAIN { throw BoxError(.network, "\(what): no answer from the kernel within 10 s") }
                throw BoxError.sys(.network, "\(what): read from netlink")
            }
            var offset = 0
            while offset + 16 <= n {
                let (length, kind, sequence) = buffer.withUnsafeBytes {
                    ($0.loadUnaligned(fromByteOffset: offset, as: UInt32.self),
                     $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self),
                     $0.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self))
                }
                guard length >= 16, offset + Int(length) <= n else { break }
                defer { offset += (Int(length) + 3) & ~3 }
                guard sequence == seq else { continue }
                if kind == UInt16(NLMSG_ERROR) {
                    let code = length >= 20 ? buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 16, as: Int32.self) } : -EPROTO
                    if code == 0 { return [] }
                    throw BoxError.sys(.network, what, errno: -code)
                }
                return Array(buffer[offset..<offset + Int(length)])
            }
        }
    }

    private static func ifinfomsg(flags: UInt32 = 0, change: UInt32 = 0) -> [UInt8] {
        // family, pad, type (u16), index (i32), flags, change
        [UInt8(AF_UNSPEC), 0, 0, 0] + le(UInt32(0)) + le(flags) + le(change)
    }

    /// One attribute (struct rtattr): length, type, payload, padded to 4 bytes.
    static func attr(_ type: Int32, _ payload: [UInt8]) -> [UInt8] {
        var a = le(UInt16(4 + payload.count)) + le(UInt16(type)) + payload
        while a.count % 4 != 0 { a.append(0) }
        return a
    }

    static func attr(_ type: Int32, _ value: UInt32) -> [UInt8] { attr(type, le(value)) }
    static func attr(_ type: Int32, string: String) -> [UInt8] { attr(type, Array(string.utf8) + [0]) }

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }
}

// linux/rtnetlink.h, linux/if_link.h, linux/veth.h, linux/if_addr.h: not in the Glibc module.
private let RTM_NEWLINK: UInt16 = 16, RTM_DELLINK: UInt16 = 17, RTM_GETLINK: UInt16 = 18
private let RTM_NEWADDR: UInt16 = 20, RTM_NEWROUTE: UInt16 = 24
private let NLM_F_REQUEST: Int32 = 0x1, NLM_F_ACK: Int32 = 0x4, NLM_F_EXCL: Int32 = 0x200, NLM_F_CREATE: Int32 = 0x400
private let NLMSG_ERROR: Int32 = 2
let IFLA_ADDRESS: Int32 = 1, IFLA_IFNAME: Int32 = 3, IFLA_MASTER: Int32 = 10, IFLA_LINKINFO: Int32 = 18
let IFLA_NET_NS_FD: Int32 = 28, IFLA_NUM_TX_QUEUES: Int32 = 31, IFLA_NUM_RX_QUEUES: Int32 = 32
let IFLA_AF_SPEC: Int32 = 26, IFLA_INET6_ADDR_GEN_MODE: Int32 = 8, IN6_ADDR_GEN_MODE_NONE: UInt8 = 1
private let IFLA_INFO_KIND: Int32 = 1, IFLA_INFO_DATA: Int32 = 2, VETH_INFO_PEER: Int32 = 1
private let IFA_ADDRESS: Int32 = 1, IFA_LOCAL: Int32 = 2, RTA_GATEWAY: Int32 = 5
private let IFF_UP: UInt32 = 0x1
private let RT_TABLE_MAIN: Int32 = 254, RTPROT_BOOT: Int32 = 3, RT_SCOPE_UNIVERSE: Int32 = 0, RTN_UNICAST: Int32 = 1

extension IPv4 {
    /// In network byte order, as netlink and sockaddr_in carry it.
    var bytes: [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 255), UInt8(value >> 8 & 255), UInt8(value & 255)] }
}
