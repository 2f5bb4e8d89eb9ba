import CSpawn
import Glibc
import Testing
@testable import Engine

// The netlink requests box sends instead of running `ip`, checked against the kernel inside two network
// namespaces this test makes and closes: nothing is created on the host.

@Suite("Netlink: the requests a bridge network sends, in namespaces of the test's own")
struct NetlinkTests {
    @Test("a reply that never comes is an error after 10 s, not a wait for ever")
    func patience() throws {
        let s = box_netlink_socket(-1)  // this process's own namespace: nothing is sent
        try #require(s >= 0)
        defer { close(s) }
        var tv = timeval()
        var len = socklen_t(MemoryLayout<timeval>.size)
        #expect(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) == 0)
        #expect(tv.tv_sec == 10)
    }

    @Test("bridge, veth pair across namespaces, address, route; errors carry the request and errno",
          .enabled(if: geteuid() == 0, "making network namespaces needs root"))
    func requests() throws {
        let a = box_make_netns(), b = box_make_netns()
        #expect(a >= 0 && b >= 0)
        defer { close(a); close(b) }
        var inA = try Netlink(netns: a)
        defer { inA.close() }
        var inB = try Netlink(netns: b)
        defer { inB.close() }

        #expect(try inA.index(of: "lo") == 1)  // LOOPBACK_IFINDEX in every namespace
        try inA.addBridge("br-test")
        try inA.addAddress(IPv4("10.99.0.1")!, prefix: 24, to: "br-test")
        try inA.setUp("br-test")
        let bridge = try inA.index(of: "br-test")
        try inA.addVeth("vtest", master: bridge, peer: "eth0", peerNetns: b, peerMAC: [0x02, 0x42, 10, 99, 0, 2])
        try inB.setUp("lo")
        try inB.addAddress(IPv4("10.99.0.2")!, prefix: 24, to: "eth0")
        try inB.setUp("eth0")
        try inB.addDefaultRoute(via: IPv4("10.99.0.1")!)

        // The one request brought the host end up on the bridge and gave each end one queue each way.
        let host = try inA.link("vtest"), eth0 = try inB.link("eth0")
        #expect(host.flags & UInt32(IFF_UP) != 0 && eth0.flags & UInt32(IFF_UP) != 0)
        #expect(host.attributes[IFLA_MASTER] == Netlink.le(UInt32(bitPattern: bridge)))
        #expect(eth0.attributes[IFLA_MASTER] == nil)
        #expect(eth0.attributes[IFLA_ADDRESS] == [0x02, 0x42, 10, 99, 0, 2])
        for end in [host, eth0] {
            #expect(end.attributes[IFLA_NUM_TX_QUEUES] == Netlink.le(UInt32(1)))
            #expect(end.attributes[IFLA_NUM_RX_QUEUES] == Netlink.le(UInt32(1)))
        }

        // What the kernel now holds, read the way the lab reads it: /proc/PID/net of a process in each namespace.
        let viewA = try Self.read(in: a, "/proc/self/net/dev")
        #expect(viewA.contains("br-test:") && viewA.contains("vtest:"))
        let viewB = try Self.read(in: b, "/proc/self/net/dev") + Self.read(in: b, "/proc/self/net/route")
        // eth0's default route (destination 0) via 10.99.0.1, as /proc/net/route prints it: the address's
        // bytes 0A 63 00 01 read as one little-endian word.
        #expect(viewB.split(separator: "\n").contains { $0.hasPrefix("eth0\t00000000\t0100630A") })
        #expect(try Self.read(in: b, "/proc/self/net/fib_trie").contains("10.99.0.2"))
        #expect(!viewB.contains("br-test"))

        // Errors name the request and the kernel's errno; a missing link is not an error to delete.
        let again = #expect(throws: BoxError.self) { try inB.addAddress(IPv4("10.99.0.2")!, prefix: 24, to: "eth0") }
        #expect(again?.errno == EEXIST)
        #expect(again?.description.contains("add 10.99.0.2/24 to eth0") == true)
        let missing = #expect(throws: BoxError.self) { try inA.index(of: "nope0") }
        #expect(missing?.errno == ENODEV)
        #expect(try inA.deleteLink("nope0") == false)
        #expect(try inA.deleteLink("vtest") == true)  // and its peer, eth0 in b, goes with it
        #expect(!(try Self.read(in: b, "/proc/self/net/dev")).contains("eth0:"))
    }

    /// A file as a process in the namespace `ns` sees it (a forked child joins it; the test's threads stay).
    static func read(in ns: Int32, _ path: String) throws -> String {
        var buf = [CChar](repeating: 0, count: 1 << 16)
        let n = box_ns_read("/proc/\(getpid())/fd/\(ns)", path, &buf, buf.count - 1)
        guard n >= 0 else { throw BoxError(.network, "read \(path) in the namespace", errno: Int32(-n)) }
        return String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
