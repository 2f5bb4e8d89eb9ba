import Glibc
import Testing
@testable import Engine

// Pure logic, no root needed.

@Suite("Timestamps as docker prints and parses them")
struct TimestampTests {
    @Test("RFC 3339 with nanoseconds round-trips")
    func roundTrip() {
        let t = Timestamp(seconds: 1_795_794_575, nanoseconds: 123_456_789)
        #expect(t.rfc3339 == "2026-11-27T15:49:35.123456789Z")
        #expect(Timestamp.parse(t.rfc3339) == t)
    }

    @Test("docker's zero time prints as year 1")
    func zero() {
        #expect(Timestamp.zero.rfc3339 == "0001-01-01T00:00:00Z")
        #expect(Timestamp(seconds: 0).rfc3339 == "1970-01-01T00:00:00.000000000Z")
    }

    @Test("--since accepts Unix seconds and durations back from now")
    func relative() {
        let now = Timestamp(seconds: 10_000)
        #expect(Timestamp.parse("10m", now: now) == Timestamp(seconds: 9_400))
        #expect(Timestamp.parse("2h", now: now) == Timestamp(seconds: 2_800))
        #expect(Timestamp.parse("1764258575", now: now) == Timestamp(seconds: 1_764_258_575))
        #expect(Timestamp.parse("yesterday", now: now) == nil)
        #expect(Timestamp.parse("2026-13", now: now) == nil)
    }
}

@Suite("Parsing what users type")
struct ParsingTests {
    @Test("volumes: HOST:CONTAINER[:ro|rw]")
    func volumes() throws {
        let v = try Volume(parsing: "/srv/www:/www:ro")
        #expect(v == Volume(host: "/srv/www", container: "/www", readOnly: true))
        #expect(try Volume(parsing: "/a:/b").readOnly == false)
        for bad in ["relative:/x", "/a:relative", "/a:/", "/a:/b:rx", "/a", "/a:/b/../../etc"] {
            #expect(throws: BoxError.self, "\(bad) was accepted") { try Volume(parsing: bad) }
        }
    }

    @Test("volumes are nodev unless :dev (podman's option names), options separated by commas")
    func volumeDevices() throws {
        #expect(try Volume(parsing: "/a:/b").devices == false)
        #expect(try Volume(parsing: "/a:/b:rw").devices == false)
        #expect(try Volume(parsing: "/a:/b:dev") == Volume(host: "/a", container: "/b", readOnly: false, devices: true))
        #expect(try Volume(parsing: "/a:/b:ro,dev") == Volume(host: "/a", container: "/b", readOnly: true, devices: true))
        #expect(try Volume(parsing: "/a:/b:nodev,ro") == Volume(host: "/a", container: "/b", readOnly: true, devices: false))
        for bad in ["/a:/b:ro,rw", "/a:/b:dev,nodev", "/a:/b:ro,", "/a:/b:suid", "/a:/b:"] {
            #expect(throws: BoxError.self, "\(bad) was accepted") { try Volume(parsing: bad) }
        }
        let mounts = Rootfs.mounts(rootfs: "/r", containerDir: "/c", volumes: [try Volume(parsing: "/a:/x"), try Volume(parsing: "/b:/y:dev")],
                                   cgroups: .unified)
        #expect(mounts.first { $0.target == "/r/x" }.map { $0.flags & UInt(MS_NODEV) != 0 } == true)
        #expect(mounts.first { $0.target == "/r/y" }.map { $0.flags & UInt(MS_NODEV) == 0 } == true)
    }

    @Test("image references: name[:tag], lowercase")
    func references() throws {
        #expect(try ImageReference(parsing: "busybox").description == "busybox:latest")
        #expect(try ImageReference(parsing: "lab/web:1.0").description == "lab/web:1.0")
        for bad in ["Busybox", "", "a:", "/x", "x/", "a b"] {
            #expect(throws: BoxError.self, "\(bad) was accepted") { try ImageReference(parsing: bad) }
        }
        // docker's grammar (distribution/reference): components joined by one "." "_" "__" or dashes, an optional
        // registry domain[:port], a tag [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
        for bad in ["../../etc:x", "..", "a/../b", "./a", ".a", "a.", "a..b", "a___b", "a_-b", "x-", "_x", "a//b",
                    "x:.t", "x:-t", "x:a/b", "x:t!", "a:b:c", "[zz]:5000/a", "host:port/a", "-h/a",
                    "x:" + String(repeating: "t", count: 129), String(repeating: "a", count: 256), "bus\u{e9}box", "x:t\u{e9}"] {
            #expect(throws: BoxError.self, "\(bad) was accepted") { try ImageReference(parsing: bad) }
        }
        for good in ["a__b.c--d_e", "x:_t", "x:T.1-a", "localhost/a", "localhost:5000/team/app-2:v1.2_rc", "Reg.Example-1.com/a",
                     "[::1]:5000/a:1", "x:" + String(repeating: "t", count: 128), String(repeating: "a", count: 255)] {
            #expect(throws: Never.self, "\(good) was refused") { try ImageReference(parsing: good) }
        }
        #expect(try ImageReference(parsing: "localhost:5000/app").description == "localhost:5000/app:latest")
    }

    @Test("capabilities: docker's default 14, plus and minus, ALL, any spelling")
    func capabilities() throws {
        let base = try Capabilities.mask(add: [], drop: [])
        #expect(base == 0xa80425fb)
        #expect(Capabilities.names(base).count == 14)
        #expect(try Capabilities.mask(add: ["net_admin"], drop: []) == base | (1 << 12))
        #expect(try Capabilities.mask(add: [], drop: ["CAP_CHOWN"]) == base & ~1)
        #expect(try Capabilities.mask(add: [], drop: ["ALL"]) == 0)
        #expect(try Capabilities.mask(add: ["ALL"], drop: []) == Capabilities.all)
        #expect(throws: BoxError.self) { try Capabilities.mask(add: ["FLY"], drop: []) }
    }

    @Test("users: numbers, or names looked up in the image's passwd and group; supplementary groups as runc's")
    func users() throws {
        #expect(try UserSpec.resolve("", layers: []) == UserSpec(uid: 0, gid: 0, groups: [0]))
        #expect(try UserSpec.resolve("1000:1001", layers: []) == UserSpec(uid: 1000, gid: 1001, groups: [1001]))
        #expect(throws: BoxError.self) { try UserSpec.resolve("nobody", layers: []) }

        let layer = "/tmp/box-users-\(getpid())"
        defer { try? Files.removeTree(layer) }
        try Files.mkdirs(layer + "/etc")
        try Files.writeAtomically(layer + "/etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n")
        try Files.writeAtomically(layer + "/etc/group", "root:x:0:\nwheel:x:10:root,app\naudio:x:29:app\napp:x:1000:\n")
        #expect(try UserSpec.resolve("app", layers: [layer]) == UserSpec(uid: 1000, gid: 1000, groups: [1000, 10, 29]))
        #expect(try UserSpec.resolve("1000", layers: [layer]) == UserSpec(uid: 1000, gid: 1000, groups: [1000, 10, 29]))
        #expect(try UserSpec.resolve("", layers: [layer]) == UserSpec(uid: 0, gid: 0, groups: [0, 10]))
        #expect(try UserSpec.resolve("app:audio", layers: [layer]) == UserSpec(uid: 1000, gid: 29, groups: [29]))
        #expect(try UserSpec.resolve("4242", layers: [layer]) == UserSpec(uid: 4242, gid: 0, groups: [0]))
    }

    @Test("container names follow docker's rule")
    func names() {
        #expect(Names.isValid("c1") && Names.isValid("web.1_a-b"))
        #expect(!Names.isValid("-x") && !Names.isValid("a/b") && !Names.isValid("") && !Names.isValid("é"))
        var rng = SystemRandomNumberGenerator()
        #expect(Names.isValid(Names.random(using: &rng)))
    }
}

@Suite("Kernel facts read from text")
struct KernelTextTests {
    @Test("cgroup mode from mountinfo: unified, hybrid, legacy")
    func cgroupMode() {
        let v2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n"
        let hybrid = "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n41 31 0:38 / /sys/fs/cgroup/unified rw shared:9 - cgroup2 cgroup2 rw\n"
        let legacy = "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
        #expect(CgroupMode.detect(mountinfo: v2) == .unified)
        #expect(CgroupMode.detect(mountinfo: hybrid) == .hybrid)
        #expect(CgroupMode.detect(mountinfo: legacy) == .legacy)
        // statfs (what box uses at each start) and this host's mountinfo agree.
        #expect(CgroupMode.detect() == CgroupMode.detect(mountinfo: Files.readIfPresent("/proc/self/mountinfo")))
    }

    @Test("cgroup mounts for a container: one cgroup2, or v1's hierarchies with the host's controller sets")
    func cgroupMounts() {
        let v2 = Rootfs.cgroupMounts("/r/sys/fs/cgroup", .unified)
        #expect(v2.map(\.fstype) == ["cgroup2"] && v2[0].flags & UInt(MS_RDONLY) != 0)
        let hybrid = """
        31 23 0:28 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
        32 31 0:29 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate
        33 31 0:30 / /sys/fs/cgroup/systemd rw,nosuid shared:10 - cgroup cgroup rw,xattr,name=systemd
        34 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:11 - cgroup cgroup rw,cpu,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:12 - cgroup cgroup rw,memory
        36 31 0:34 / /sys/fs/cgroup/cpuset rw,nosuid shared:13 - cgroup cgroup rw,cpuset,noprefix,release_agent=/x
        37 31 0:35 / /sys/fs/cgroup/blkio rw,nosuid shared:14 - cgroup cgroup rw,blkio
        38 23 0:33 / /sys/kernel/tracing rw - tracefs tracefs rw
        """
        // Only what PID 1 joins (not systemd, blkio or unified: those would show the monitor's cgroup), and
        // only controller names as mount data.
        let v1 = Rootfs.cgroupMounts("/r/sys/fs/cgroup", .hybrid, mountinfo: hybrid)
        #expect(v1.map(\.target) == ["/r/sys/fs/cgroup", "/r/sys/fs/cgroup/cpu,cpuacct", "/r/sys/fs/cgroup/memory",
                                     "/r/sys/fs/cgroup/cpuset", "/r/sys/fs/cgroup/cpu", "/r/sys/fs/cgroup/cpuacct",
                                     "/r/sys/fs/cgroup"])
        #expect(v1.map { $0.data ?? "" } == ["mode=755", "cpu,cpuacct", "memory", "cpuset", "", "", "mode=755"])
        // The co-mounted hierarchy is reached by each controller's name too, as on the host (and before the tmpfs
        // goes read-only).
        #expect(v1.filter(\.symlink).map { "\($0.target) -> \($0.source)" }
                == ["/r/sys/fs/cgroup/cpu -> cpu,cpuacct", "/r/sys/fs/cgroup/cpuacct -> cpu,cpuacct"])
        // The links follow the hierarchy's controllers, whatever its mount point is called.
        let atCpu = "34 31 0:31 / /sys/fs/cgroup/cpu rw,nosuid shared:11 - cgroup cgroup rw,cpu,cpuacct\n"
        #expect(Rootfs.cgroupMounts("/r/sys/fs/cgroup", .legacy, mountinfo: atCpu).filter(\.symlink)
                    .map { "\($0.target) -> \($0.source)" } == ["/r/sys/fs/cgroup/cpuacct -> cpu"])
        #expect(v1.last!.flags & UInt(MS_REMOUNT | MS_RDONLY) == UInt(MS_REMOUNT | MS_RDONLY))  // read-only last
    }

    @Test("mountinfo escapes are undone")
    func unescape() {
        #expect(Mount.unescape("/tmp/with\\040space") == "/tmp/with space")
        #expect(Mount.unescape("/plain") == "/plain")
    }

    @Test("/etc/hosts names the container; resolv.conf never points at the host's loopback")
    func etcFiles() {
        #expect(Rootfs.hostsFile(hostname: "c1", name: "c1", address: "127.0.1.1").contains("127.0.1.1\tc1\n"))
        #expect(Rootfs.hostsFile(hostname: "3f4e5a6b7c8d", name: "web", address: "172.17.0.2").contains("172.17.0.2\t3f4e5a6b7c8d web\n"))
        #expect(!Rootfs.resolvConf().contains("nameserver 127."))
    }
}

@Suite("Network arithmetic and parsing")
struct NetworkUnitTests {
    @Test("leases kept in a definition by an older box count until first written to the run directory, and then are gone from it")
    func legacyLeases() throws {
        var template = Array("/tmp/netlegacy-XXXXXX".utf8CString)
        let dir = String(cString: mkdtemp(&template)!)
        defer { try? Files.removeTree(dir) }
        let store = NetworkStore(root: EngineRoot(path: dir))
        try Files.mkdirs(dir + "/containers/c1")
        try Files.mkdirs(dir + "/networks")
        var old = Network(Name: "net1", Id: String(repeating: "a", count: 64), Created: .now(), Subnet: try Subnet(parsing: "172.30.0.0/16"),
                          Gateway: try #require(IPv4("172.30.0.1")), Bridge: "br-test")
        old.Leases = ["172.30.0.2": "c1", "172.30.0.3": "gone"]  // the second one's container no longer exists
        try Files.writeAtomically(store.path("net1"), try Files.encode(old, pretty: true))
        #expect(try store.find("net1").Leases == ["172.30.0.2": "c1"])
        store.release("net1", container: "c1")
        #expect(try store.find("net1").Leases.isEmpty, "the old definition's lease came back")
        #expect(try Files.decode(Network.self, from: store.path("net1")).Leases.isEmpty)
        #expect(try Files.decode([String: String].self, from: dir + "/run/leases/" + old.Id + ".json").isEmpty)
    }

    @Test("subnets: parse, contain, overlap, gateway; docker's refusals")
    func subnets() throws {
        let s = try Subnet(parsing: "172.17.0.0/16")
        #expect(s.gateway.description == "172.17.0.1" && s.broadcast.description == "172.17.255.255")
        #expect(s.contains(IPv4("172.17.3.4")!) && !s.contains(IPv4("172.18.0.1")!))
        let inside = try Subnet(parsing: "172.17.5.0/24"), next = try Subnet(parsing: "172.18.0.0/16")
        #expect(s.overlaps(inside) && !s.overlaps(next))
        for bad in ["172.17.0.1/16", "1.2.3/8", "10.0.0.0/7", "x/16", "256.0.0.0/8"] {
            #expect(throws: BoxError.self) { try Subnet(parsing: bad) }
        }
    }

    @Test("ports: [IP:]HOST:CONTAINER[/tcp]")
    func ports() throws {
        let p = try PortBinding(parsing: "127.0.0.1:8080:80/tcp")
        #expect(p.HostIp == "127.0.0.1" && p.HostPort == 8080 && p.ContainerPort == 80)
        #expect(try PortBinding(parsing: "8080:80").HostIp == "0.0.0.0")
        for bad in ["80", "x:80", "0:80", "70000:80", "8080:80/udp", "1.2.3:1:1"] {
            #expect(throws: BoxError.self) { try PortBinding(parsing: bad) }
        }
    }

    @Test("the host's routes are read from /proc/net/route")
    func hostRoutes() {
        // Every machine that runs the tests has some route, usually the default one (a /0, skipped) and a link's.
        let routes = NetworkStore.hostSubnets()
        #expect(routes.allSatisfy { $0.prefix > 0 })
    }
}

@Suite("The monitor's frame protocol")
struct FrameTests {
    @Test("frames survive being split and joined arbitrarily")
    func framing() {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let stream = Frame.encode(.stdout, Array("hello".utf8)) + Frame.encode(.exited, Array("42".utf8))
            + Frame.encode(.stderr, [UInt8]())
        // Write it in two uneven pieces.
        _ = stream.withUnsafeBytes { write(fds[1], $0.baseAddress, 3) }
        var reader = FrameReader()
        var filled = reader.fill(from: fds[0])
        #expect(filled)
        var frame = reader.next()
        #expect(frame == nil, "a frame from 3 bytes")
        _ = stream.withUnsafeBytes { write(fds[1], $0.baseAddress! + 3, $0.count - 3) }
        filled = reader.fill(from: fds[0])
        #expect(filled)
        frame = reader.next()
        #expect(frame?.0 == .stdout && frame?.1 == Array("hello".utf8))
        frame = reader.next()
        #expect(frame?.0 == .exited && frame.map { String(decoding: $0.1, as: UTF8.self) } == "42")
        frame = reader.next()
        #expect(frame?.0 == .stderr && frame?.1.isEmpty == true)
        frame = reader.next()
        #expect(frame == nil)
    }

    @Test("log lines are valid JSON strings for any output")
    func logQuoting() throws {
        let raw = "tab\there \"quoted\" back\\slash \u{01} é\n"
        let parsed = try JSONValue.parse(jsonQuote(raw))
        #expect(parsed == .string(raw))
    }
}

@Suite("Content addresses")
struct DigestTests {
    @Test("sha256 matches the FIPS 180-2 test vectors")
    func vectors() {
        #expect(LayerArchive.sha256(Array("abc".utf8)) == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(LayerArchive.sha256([]) == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}

@Suite("cgroup v2 driver against a fake cgroupfs tree")
struct CgroupV2FakeTests {
    func fakeRoot() throws -> String {
        var template = Array("/tmp/fakecg-XXXXXX".utf8CString)
        let root = String(cString: mkdtemp(&template)!)
        try Files.writeAtomically(root + "/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n")
        try Files.writeAtomically(root + "/cgroup.subtree_control", "")
        return root
    }

    @Test("create enables controllers down the path and writes limits in v2 units")
    func create() throws {
        let root = try fakeRoot()
        defer { try? Files.removeTree(root) }
        let v2 = CgroupV2(root: root)
        var r = Resources()
        r.Memory = 32 << 20
        r.CpuShares = 256
        r.NanoCpus = 1_500_000_000
        r.PidsLimit = 20
        try Files.mkdirs(root + "/box")
        try Files.writeAtomically(root + "/box/cgroup.controllers", "cpuset cpu memory pids\n")
        try v2.create("box/c1", r)
        #expect(try Files.readString(root + "/cgroup.subtree_control") == "+cpu +cpuset +memory +pids")
        #expect(try Files.readString(root + "/box/cgroup.subtree_control") == "+cpu +cpuset +memory +pids")
        #expect(try Files.readString(root + "/box/c1/memory.max") == "33554432")
        #expect(try Files.readString(root + "/box/c1/cpu.weight") == "10")  // runc: 1 + (256-2)*9999/262142
        #expect(try Files.readString(root + "/box/c1/cpu.max") == "150000 100000")
        #expect(try Files.readString(root + "/box/c1/pids.max") == "20")
        #expect(v2.procsFiles("box/c1") == [root + "/box/c1/cgroup.procs"])
        #expect(v2.cloneTarget("box/c1") == root + "/box/c1")  // PID 1 is cloned straight into it
        #expect(CgroupV1(root: root).cloneTarget("box/c1") == nil)
        try Files.mkdirs(root + "/pids")
        #expect(CgroupV1(root: root).procsFiles("box/c1") == [root + "/pids/box/c1/tasks"])  // v1: no grace period
    }

    @Test("v1 devices: deny all, then runc's allow-list, one rule a write; none with --privileged")
    func v1Devices() throws {
        let root = try fakeRoot()
        defer { try? Files.removeTree(root) }
        try Files.mkdirs(root + "/devices")
        let v1 = CgroupV1(root: root)
        try v1.create("box/c1", Resources())
        #expect(try Files.readString(root + "/devices/box/c1/devices.deny") == "a")
        // A plain file keeps the writes end to end; cgroupfs takes each write as one rule.
        #expect(try Files.readString(root + "/devices/box/c1/devices.allow") == DeviceRule.defaults.map(\.line).joined())
        #expect(DeviceRule.defaults.map(\.line).prefix(3) == ["c *:* m", "b *:* m", "c 1:3 rwm"])
        #expect(v1.procsFiles("box/c1").contains(root + "/devices/box/c1/tasks"))
        try v1.create("box/c2", Resources(), devices: nil)
        #expect(!Files.exists(root + "/devices/box/c2/devices.deny"))
    }

    @Test("a shared parent removed by another container's rm while it is being set up is made again")
    func parentRemovedMeanwhile() throws {
        let root = try fakeRoot()
        defer { try? Files.removeTree(root) }
        var removals = 0
        try Cgroups.mkdirBelowShared(root + "/box/c1") { parent in
            if removals == 0 {  // the last other container goes, and rmdir's the parent, just after our mkdir
                removals += 1
                #expect(rmdir(parent) == 0)
            } else {
                try Files.writeAtomically(parent + "/cpuset.mems", "")
            }
            try Cgroups.write(parent + "/cpuset.mems", "0")  // as v1's cpuset inheritance does
        }
        #expect(removals == 1 && Files.isDirectory(root + "/box/c1"))
    }

    @Test("oom_kill is read from memory.events")
    func oomEvents() throws {
        let root = try fakeRoot()
        defer { try? Files.removeTree(root) }
        try Files.mkdirs(root + "/box/c1")
        try Files.writeAtomically(root + "/box/c1/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n")
        #expect(CgroupV2(root: root).oomKills("box/c1") == 1)
        #expect(CgroupV2(root: root).oomKills("box/none") == 0)
    }

    @Test("shares convert to weights as runc and crun do")
    func weights() {
        #expect(Cgroups.weight(fromShares: 2) == 1)
        #expect(Cgroups.weight(fromShares: 1024) == 39)
        #expect(Cgroups.weight(fromShares: 262_144) == 10000)
    }

    @Test("docker's size units")
    func sizes() throws {
        #expect(try CreateOptions.bytes("32m", flag: "-m") == 32 << 20)
        #expect(try CreateOptions.bytes("1G", flag: "-m") == 1 << 30)
        #expect(try CreateOptions.bytes("512kb", flag: "-m") == 512 << 10)
        #expect(try CreateOptions.bytes("4096", flag: "-m") == 4096)
        #expect(throws: BoxError.self) { try CreateOptions.bytes("lots", flag: "-m") }
    }
}

@Suite("cgroup v2 freezer and stats against a fake tree")
struct CgroupV2FakeFreezeTests {
    @Test("freeze writes cgroup.freeze and waits for cgroup.events to say frozen; stats reads v2 files")
    func freezeAndStats() throws {
        var template = Array("/tmp/fakecg-XXXXXX".utf8CString)
        let root = String(cString: mkdtemp(&template)!)
        defer { try? Files.removeTree(root) }
        let dir = root + "/box/c1"
        try Files.mkdirs(dir)
        // The kernel flips cgroup.events once every task is frozen; the fake tree says so up front.
        try Files.writeAtomically(dir + "/cgroup.events", "populated 1\nfrozen 1\n")
        let v2 = CgroupV2(root: root)
        try v2.freeze("box/c1", true)
        #expect(try Files.readString(dir + "/cgroup.freeze") == "1")
        // Thawing waits for "frozen 0", which this fake never reports: an error, not a hang.
        #expect(throws: BoxError.self) { try v2.freeze("box/c1", false) }

        try Files.writeAtomically(dir + "/cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n")
        try Files.writeAtomically(dir + "/memory.current", "1048576\n")
        try Files.writeAtomically(dir + "/memory.max", "max\n")
        try Files.writeAtomically(dir + "/pids.current", "3\n")
        let s = v2.stats("box/c1")
        #expect(s == CgroupStats(cpuNanoseconds: 2_500_000, memoryBytes: 1_048_576, memoryLimit: nil, pids: 3))
    }
}

@Suite("Files rewritten in place")
struct ReplaceTests {
    static func inode(_ path: String) -> ino_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_ino : 0
    }

    @Test("replace swaps the file with its sibling: always the whole new content, and after the first write no inode is made or freed")
    func replaceSwaps() throws {
        try HandReadTests.withRoot { root in
            try Files.mkdirs(root.path)
            let path = root.path + "/state.json", sibling = path + ".monitor"
            // No file yet: a plain rename.
            try Files.replace(path, Array("first, a long one\n".utf8), sibling: sibling)
            #expect(Files.readIfPresent(path) == "first, a long one\n")
            #expect(!Files.exists(sibling))
            // Then swaps: the old content goes to the sibling, and the two inodes stay the same two.
            try Files.replace(path, Array("second\n".utf8), sibling: sibling)
            let pair = Set([Self.inode(path), Self.inode(sibling)])
            #expect(Files.readIfPresent(path) == "second\n" && Files.readIfPresent(sibling) == "first, a long one\n")
            for text in ["third, longer than the second\n", "4\n", "fifth\n"] {
                let before = Self.inode(path)
                try Files.replace(path, Array(text.utf8), sibling: sibling)
                #expect(Files.readIfPresent(path) == text, "a shorter write left the longer one's tail")
                #expect(Self.inode(path) != before, "written in place, not swapped: a reader could see it half written")
                #expect(Set([Self.inode(path), Self.inode(sibling)]) == pair)
            }
        }
    }

    @Test("a container whose state.json cannot be read (a power cut in a write) is read from the sibling, the record before")
    func stateFallsBack() throws {
        try HandReadTests.withRoot { root in
            let store = ContainerStore(root: root)
            let id = String(repeating: "c", count: 64)
            try Files.mkdirs(root.containerDir(id))
            var before = ContainerState()
            before.Status = .exited
            before.ExitCode = 3
            try Files.writeAtomically(store.monitorStatePath(id), try Files.encode(before, pretty: true))
            try Files.writeAtomically(store.statePath(id), "{\"Status\": \"runn")
            let state = try store.loadState(id)
            #expect(state.Status == .exited && state.ExitCode == 3)
            unlink(store.monitorStatePath(id))
            #expect(throws: BoxError.self) { try store.loadState(id) }
        }
    }
}
