import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport
@testable import Engine
@testable import HostMap
@testable import LabKit

/// A fake kernel root for the map: proc/ with stat, status (NSpid) and ns links, mountinfo, a cgroupfs of either
/// mode and /sys/class/net, plus an engine root with two containers' layers. Everything a picture reads, with no
/// root needed (except a whiteout, a character device 0/0, made only when the test runs as root).
final class MapFixture {
    let scratch: Scratch
    var root: String { scratch.base + "/kernel" }
    var engine: String { scratch.base + "/box" }
    let mode: CgroupMode
    let id1 = String(repeating: "1a", count: 32)
    let id2 = String(repeating: "2b", count: 32)
    var layers: [String] { [engine + "/overlay2/" + String(repeating: "c", count: 64) + "/diff", engine + "/overlay2/" + String(repeating: "d", count: 64) + "/diff"] }
    /// Whether the whiteout could be made (mknod needs CAP_MKNOD).
    var madeWhiteout = false

    static let host: [NamespaceKind: UInt64] = [.cgroup: 4026531835, .ipc: 4026531839, .mnt: 4026531841, .net: 4026531840,
                                                .pid: 4026531836, .time: 4026531834, .user: 4026531837, .uts: 4026531838]

    init(mode: CgroupMode) throws {
        self.mode = mode
        scratch = try Scratch(prefix: "maptest")
        let c1: [NamespaceKind: UInt64] = [.mnt: 4026532201, .pid: 4026532204, .net: 4026532206, .uts: 4026532202, .ipc: 4026532203]
        let c2: [NamespaceKind: UInt64] = [.mnt: 4026532301, .pid: 4026532304, .net: 4026532206, .uts: 4026532302, .ipc: 4026532303]
        let unshared: [NamespaceKind: UInt64] = [.mnt: 4026532402, .uts: 4026532401]
        try process(1, "init", ppid: 0, start: 1, nspids: [1], ns: [:])
        try process(2, "kthreadd", ppid: 0, start: 1, nspids: [2], ns: [:])
        try process(50, "box", ppid: 1, start: 500, nspids: [50], ns: [:])
        try process(100, "sh", ppid: 50, start: 1000, nspids: [100, 1], ns: c1, symlinks: true)
        try process(101, "sleep", ppid: 100, start: 1100, nspids: [101, 7], ns: c1, symlinks: true)
        try process(60, "box", ppid: 1, start: 1500, nspids: [60], ns: [:])
        try process(200, "sleep", ppid: 60, start: 2000, nspids: [200, 1], ns: c2, symlinks: false)
        try process(300, "unshare", ppid: 1, start: 3000, nspids: [300], ns: unshared)
        try process(301, "sh", ppid: 300, start: 3100, nspids: [301, 1], ns: unshared.merging([.pid: 4026532404]) { $1 })
        // A system service systemd sandboxed (PrivateTmp=): a mount namespace of its own, a .service cgroup. An
        // unshare left to PID 1 from a session scope is the learner's and is drawn.
        try process(400, "systemd-logind", ppid: 1, start: 40, nspids: [400], ns: [.mnt: 4026532500])
        try write("/proc/400/cgroup", "0::/system.slice/systemd-logind.service\n")
        try process(410, "unshare", ppid: 1, start: 4100, nspids: [410], ns: [.uts: 4026532510])
        try write("/proc/410/cgroup", "12:name=systemd:/user.slice/user-1000.slice/session-3.scope\n0::/user.slice/user-1000.slice/session-3.scope\n")
        try write("/proc/100/net/fib_trie", """
        Main:
          +-- 0.0.0.0/0 3 0 5
             |-- 0.0.0.0
                /0 universe UNICAST
             +-- 127.0.0.0/8 2 0 2
                |-- 127.0.0.1
                   /32 host LOCAL
             |-- 172.18.0.2
                /32 host LOCAL

        """)
        try link("/sys/class/net/vethc1/master", "../bxtest")
        try FileManager.default.createDirectory(atPath: root + "/sys/class/net/bxtest", withIntermediateDirectories: true)

        // Two image layers; c1's upper dir changed one file, added one and deleted one.
        try write(layers[0] + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n", absolute: true)
        try write(layers[0] + "/bin/sh", "", absolute: true)
        try write(layers[1] + "/etc/hostname", "image\n", absolute: true)
        let upper = engine + "/overlay2/" + id1 + "/diff"
        try write(upper + "/etc/passwd", "root:x:0:0::/root:/bin/sh\nlearner:x:1000:1000::/home:/bin/sh\n", absolute: true)
        try write(upper + "/hello", "hi\n", absolute: true)
        try FileManager.default.createDirectory(atPath: upper + "/bin", withIntermediateDirectories: true)
        madeWhiteout = mknod(upper + "/bin/sh", S_IFCHR | 0o600, 0) == 0

        var mountinfo = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        mountinfo += mode == .unified ? "30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw\n"
            : "30 22 0:25 / /sys/fs/cgroup ro shared:9 - tmpfs tmpfs ro,mode=755\n31 30 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
        mountinfo += "40 22 0:50 / \(engine)/overlay2/\(id1)/merged rw,nodev,nosuid - overlay overlay rw,lowerdir=\(layers[1]):\(layers[0]),upperdir=\(upper),workdir=\(engine)/overlay2/\(id1)/work\n"
        try write("/proc/self/mountinfo", mountinfo)
        if mode == .unified {
            try cgroup(id1, ["memory.current": "10485760", "memory.max": "67108864", "pids.current": "2", "pids.max": "100",
                             "cpu.max": "50000 100000", "cpu.weight": "100", "cpu.stat": "usage_usec 1500000\nuser_usec 1000000\n",
                             "cgroup.freeze": "0", "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"])
            try cgroup(id2, ["memory.current": "1048576", "memory.max": "max", "pids.current": "1", "pids.max": "max",
                             "cpu.max": "max 100000", "cpu.weight": "100", "cpu.stat": "usage_usec 2000\n", "cgroup.freeze": "1",
                             "memory.events": "oom_kill 0\n"])
        } else {
            try cgroup(id1, ["memory/memory.usage_in_bytes": "10485760", "memory/memory.limit_in_bytes": "67108864",
                             "memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
                             "pids/pids.current": "2", "pids/pids.max": "100", "cpu/cpu.cfs_quota_us": "50000",
                             "cpu/cpu.cfs_period_us": "100000", "cpu/cpu.shares": "512", "cpuacct/cpuacct.usage": "1500000000",
                             "freezer/freezer.state": "THAWED"])
            try cgroup(id2, ["memory/memory.usage_in_bytes": "1048576", "memory/memory.limit_in_bytes": "9223372036854771712",
                             "memory/memory.oom_control": "oom_kill 0\n", "pids/pids.current": "1", "pids/pids.max": "max",
                             "cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000", "cpu/cpu.shares": "1024",
                             "cpuacct/cpuacct.usage": "2000000", "freezer/freezer.state": "FROZEN"])
        }
    }

    deinit { try? Files.removeTree(scratch.base) }

    func write(_ path: String, _ text: String, absolute: Bool = false) throws {
        let full = absolute ? path : root + path
        try FileManager.default.createDirectory(atPath: String(full[..<full.lastIndex(of: "/")!]), withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: false, encoding: .utf8)
    }

    func link(_ path: String, _ target: String) throws {
        let full = root + path
        try FileManager.default.createDirectory(atPath: String(full[..<full.lastIndex(of: "/")!]), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: target)
    }

    /// proc/PID: stat, status with NSpid, and ns/KIND for every kind (the host's unless `ns` says otherwise), as
    /// dangling symlinks to "KIND:[INODE]" as the kernel shows them, or as plain files holding that text.
    func process(_ pid: Int32, _ comm: String, ppid: Int32, start: UInt64, nspids: [Int32], ns: [NamespaceKind: UInt64],
                 symlinks: Bool = true) throws {
        try write("/proc/\(pid)/stat", "\(pid) (\(comm)) S \(ppid) \(pid) \(pid) 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 \(start) 0 0\n")
        try write("/proc/\(pid)/status", "Name:\t\(comm)\nState:\tS (sleeping)\nNSpid:\t" + nspids.map(String.init).joined(separator: "\t") + "\n")
        for kind in NamespaceKind.allCases {
            let text = "\(kind.rawValue):[\(ns[kind] ?? Self.host[kind]!)]"
            if symlinks { try link("/proc/\(pid)/ns/\(kind.rawValue)", text) } else { try write("/proc/\(pid)/ns/\(kind.rawValue)", text) }
        }
    }

    /// A container's cgroup files: "FILE" in the v2 tree, or "CONTROLLER/FILE" in a v1 hierarchy.
    func cgroup(_ id: String, _ files: [String: String]) throws {
        for (name, value) in files {
            if mode == .unified {
                try write("/sys/fs/cgroup/box/\(id)/\(name)", value)
            } else {
                let parts = name.split(separator: "/")
                try write("/sys/fs/cgroup/\(parts[0])/box/\(id)/\(parts[1])", value)
            }
        }
    }

    func spec(_ id: String, _ name: String, network: String, created: String) throws -> ContainerSpec {
        let json = """
        {"ID": "\(id)", "Name": "\(name)", "Created": "\(created)", "Image": "sha256:\(String(repeating: "e", count: 64))",
         "Path": "sleep", "Args": ["600"], "LayerDirs": ["\(layers[0])", "\(layers[1])"], "Capabilities": 0,
         "Config": {"Hostname": "\(name)", "User": "", "Env": [], "Cmd": ["sleep", "600"], "Image": "busybox", "WorkingDir": "/",
                    "Labels": {}, "Tty": false, "OpenStdin": false, "StdinOnce": false},
         "HostConfig": {"Binds": [], "NetworkMode": "\(network)", "AutoRemove": false, "CapAdd": [], "CapDrop": [], "Privileged": false,
                        "PortBindings": [{"HostIp": "127.0.0.1", "HostPort": 8080, "ContainerPort": 80}]}}
        """
        return try JSONDecoder().decode(ContainerSpec.self, from: Data(json.utf8))
    }

    /// box's records for c1 (on the bridge, pid 100) and c2 (in c1's network namespace, pid 200, paused).
    func facts() throws -> EngineFacts {
        var s1 = ContainerState(), s2 = ContainerState()
        (s1.Status, s1.Pid, s1.PidStartTime) = (.running, 100, 1000)
        (s2.Status, s2.Pid, s2.PidStartTime) = (.paused, 200, 2000)
        let a = Attachment(Network: "bridge", NetworkID: "n1", IPAddress: IPv4("172.18.0.2")!, PrefixLen: 16, Gateway: IPv4("172.18.0.1")!,
                           MacAddress: "02:42:ac:12:00:02", Bridge: "bxtest", HostVeth: "vethc1",
                           Ports: [try PortBinding(parsing: "127.0.0.1:8080:80")])
        let net = Network(Name: "bridge", Id: "n1", Created: .now(), Subnet: try Subnet(parsing: "172.18.0.0/16"),
                          Gateway: IPv4("172.18.0.1")!, Bridge: "bxtest")
        return EngineFacts(containers: [Container(spec: try spec(id1, "c1", network: "bridge", created: "2026-12-07T10:00:00Z"), state: s1),
                                        Container(spec: try spec(id2, "c2", network: "container:c1", created: "2026-12-07T10:05:00Z"), state: s2)],
                           networks: [net], attachments: [id1: a], overlay: engine + "/overlay2")
    }

    func model() throws -> HostMapModel { MapReader(kernel: KernelRoot(root)).read(try facts()) }
}

@Suite("lab map / box map: the picture of the host, read from a kernel root")
struct MapTests {
    @Test("the model from a fixture tree: shared namespaces, both PIDs, cgroups of both modes, network, layers, unshare", arguments: [true, false])
    func modelFromFixture(unified: Bool) throws {
        let mode: CgroupMode = unified ? .unified : .hybrid
        let f = try MapFixture(mode: mode)
        let m = try f.model()
        #expect(m.cgroupMode == mode)
        #expect(m.hostNamespaces == MapFixture.host)
        let c1 = try #require(m.containers.first { $0.name == "c1" })
        let c2 = try #require(m.containers.first { $0.name == "c2" })
        func sharing(_ c: ContainerView, _ k: NamespaceKind) -> NamespaceView.Sharing? { c.namespaces.first { $0.kind == k }?.sharing }
        #expect(sharing(c1, .net) == .with("c2") && sharing(c2, .net) == .with("c1"))
        #expect(sharing(c1, .pid) == .own && sharing(c1, .user) == .host && sharing(c2, .mnt) == .own)
        #expect(c1.namespaces.first { $0.kind == .net }?.inode == 4026532206)

        // c1: sh (PID 1) with its child sleep (PID 7 inside, 101 on the host).
        let tree = try #require(c1.processes.first)
        #expect(c1.processes.count == 1 && tree.hostPid == 100 && tree.nsPid == 1 && tree.isInit)
        #expect(tree.children.map(\.hostPid) == [101] && tree.children.first?.nsPid == 7 && tree.children.first?.isInit == false)
        #expect(c2.processes.map(\.hostPid) == [200])

        let cg1 = try #require(c1.cgroup), cg2 = try #require(c2.cgroup)
        #expect(cg1.memoryUsage == 10 << 20 && cg1.memoryLimit == 64 << 20 && cg1.pidsCurrent == 2 && cg1.pidsLimit == 100)
        #expect(cg1.cpuQuota == 0.5 && cg1.cpuUsage == 1_500_000_000 && cg1.oomKills == 1 && !cg1.frozen)
        #expect(cg1.cpuWeight == CgroupView.Weight(file: mode == .unified ? "cpu.weight" : "cpu.shares", value: mode == .unified ? 100 : 512))
        #expect(cg2.memoryLimit == nil && cg2.pidsLimit == nil && cg2.cpuQuota == nil && cg2.frozen && cg2.oomKills == 0)

        #expect(c1.network.address == "172.18.0.2" && c1.network.kernelAddresses == ["172.18.0.2"])
        #expect(c1.network.hostVeth == "vethc1" && c1.network.vethMaster == "bxtest" && c1.network.subnet == "172.18.0.0/16")
        #expect(c1.network.ports == ["127.0.0.1:8080→80/tcp"])
        #expect(c2.network.mode == "container:c1" && c2.network.address == nil)

        // Lowerdirs from the mounted overlay's options (top first); box's record for c2, which is not mounted.
        #expect(c1.filesystem.mounted && c1.filesystem.lowerdirs == [f.layers[1], f.layers[0]])
        #expect(!c2.filesystem.mounted && c2.filesystem.lowerdirs == [f.layers[1], f.layers[0]])
        #expect(c1.filesystem.added == 1 && c1.filesystem.changed == 1 && c1.filesystem.whiteouts == (f.madeWhiteout ? 1 : 0))
        #expect(c2.filesystem.added + c2.filesystem.changed + c2.filesystem.whiteouts == 0)

        // unshare and its child in a new pid namespace: one group, the child PID 1 of its namespace.
        #expect(m.isolated.map(\.name) == ["unshare:300", "unshare:410"])
        #expect(m.services == ["systemd-logind"])
        let group = try #require(m.isolated.first)
        #expect(group.processes.first?.children.first.map { ($0.hostPid, $0.nsPid) } ?? (0, 0) == (301, 1))
        #expect(group.namespaces.filter { $0.sharing == .own }.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.mnt, .uts])
    }

    @Test("the terminal picture: boxes of one width, both PIDs on one row, the shared namespace drawn shared")
    func terminalLayout() throws {
        let f = try MapFixture(mode: .unified)
        let doc = try MapDocument(try f.model())
        let text = MapText.render(doc, width: 110, colour: false)
        let lines = text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("│") || $0.hasPrefix("╭") || $0.hasPrefix("╰") }
        #expect(!lines.isEmpty && lines.allSatisfy { $0.count == 110 }, "\(lines.filter { $0.count != 110 })")
        #expect(text.contains("c1  1a1a1a1a1a1a  running") && text.contains("c2  2b2b2b2b2b2b  paused"))
        #expect(lines.contains { $0.contains("4026532206 ⇆ c2") } && lines.contains { $0.contains("4026532206 ⇆ c1") })
        #expect(lines.contains { $0.range(of: #"^│\s+100\s+1  sh  ← PID 1"#, options: .regularExpression) != nil }, "\(text)")
        #expect(lines.contains { $0.range(of: #"^│\s+101\s+7  └─ sleep"#, options: .regularExpression) != nil }, "\(text)")
        #expect(text.contains("vethc1") && text.contains("bxtest"))
        #expect(text.contains("10.0 MiB of 64.0 MiB") && text.contains("2 of 100") && text.contains("1 killed by the OOM killer"))
        #expect(text.contains("unshare:300") && !text.contains("systemd-logind:400"))
        #expect(text.contains("left out: system services systemd keeps in namespaces of their own: systemd-logind"))
        #expect(!text.contains("\u{1B}["))
        let coloured = MapText.render(doc, width: 110, colour: true)
        #expect(coloured.contains("\u{1B}[1;35m4026532206"))  // a shared namespace in its colour

        // --focus: one container and the host.
        let focused = MapText.render(try MapDocument(try f.model(), focus: "c2"), width: 100, colour: false)
        #expect(focused.contains("c2  ") && !focused.contains("c1  1a1a") && !focused.contains("unshare:300"))
        #expect(throws: BoxError.self) { try MapDocument(try f.model(), focus: "nosuch") }
    }

    @Test("--plain says the same without line drawing, colour or bars, each line headed by what it is")
    func plainText() throws {
        let f = try MapFixture(mode: .hybrid)
        let plain = MapText.plain(try MapDocument(try f.model()))
        #expect(!plain.contains { "│╭╰─█░⇆\u{1B}".contains($0) }, "\(plain)")
        #expect(plain.contains("container c1 1a1a1a1a1a1a running"))
        #expect(plain.contains("namespaces: ipc 4026532203 mnt 4026532201 net 4026532206 shared with c2\n  namespaces: pid 4026532204 uts 4026532202\n"), "\(plain)")
        #expect(plain.contains("namespaces: the host's: cgroup, time, user"))
        #expect(!plain.contains("HOST PID"))
        #expect(plain.contains("processes: host pid 100, pid 1, sh (PID 1 of its pid namespace)"))
        #expect(plain.contains("processes: host pid 101, pid 7, child of host pid 100, sleep"))
        #expect(plain.contains("memory: 10.0 MiB of 64.0 MiB") && plain.contains("cpu: quota 0.5 CPU · cpu.shares 512"))
        #expect(plain.contains("upper (rw): ") && plain.contains("1 added, 1 changed"))
    }

    @Test("what changed is marked: new processes and containers by their start, settings against the first picture")
    func changes() throws {
        let f = try MapFixture(mode: .unified)
        var before = try f.model()
        before.containers.removeAll { $0.name == "c2" }
        before.containers[0].cgroup?.pidsLimit = 50
        let changes = MapChanges(since: Timestamp.parse("2026-12-07T10:01:00Z"), sinceTicks: 1050, baseline: before)
        let m = try f.model()
        let c1 = m.containers[0], c2 = m.containers[1]
        #expect(!changes.isNew(c1) && changes.isNew(c2))
        #expect(!changes.isNew(c1.processes[0]) && changes.isNew(c1.processes[0].children[0]))
        #expect(changes.cgroupChanged(c1) && !changes.filesChanged(c1))
        let plain = MapText.plain(try MapDocument(m, changes: changes))
        #expect(plain.contains("container c2 2b2b2b2b2b2b paused (new)"))
        #expect(plain.contains("sleep (new)") && plain.contains("pids: 2 of 100 (changed)"))
        #expect(plain.contains("marked: new or changed since 10:01:00 UTC"))
        #expect(MapText.render(try MapDocument(m, changes: changes), colour: true).contains("\u{1B}[30;43;1mc2"))
    }

    @Test("a process name with terminal escapes and a newline is drawn with ? for each control, in every output")
    func controlsInNames() throws {
        let f = try MapFixture(mode: .unified)
        // prctl(PR_SET_NAME) lets any process (a container's too) name itself so: an OSC title, BEL, a newline.
        let comm = "\u{1B}]0;pwned\u{7}x\ny"
        try f.write("/proc/101/stat", "101 (\(comm)) S 100 101 101 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1100 0 0\n")
        let m = try f.model()
        #expect(m.containers.first { $0.name == "c1" }?.processes.first?.children.first?.command == "?]0;pwned?x?y")
        let doc = try MapDocument(m)
        let controls: [Character] = ["\u{1B}", "\u{7}"]
        let terminal = MapText.render(doc, width: 110, colour: false)
        let plain = MapText.plain(doc)
        let svg = MapSVG.render(doc)
        for (name, text) in [("terminal", terminal), ("plain", plain), ("svg", svg)] {
            #expect(!text.contains { controls.contains($0) }, "\(name)")
            #expect(text.contains("?]0;pwned?x?y"), "\(name)")
            #expect(!text.split(separator: "\n").contains { $0.hasPrefix("y") || $0.contains("pwned\u{7}") }, "\(name)")
        }
        // The newline did not start a line of its own: the row with the name is one line of the box's width.
        #expect(terminal.split(separator: "\n").contains { $0.contains("?]0;pwned?x?y") && $0.count == 110 }, "\(terminal)")
        // Colour adds only the map's own SGR sequences, never the process's OSC.
        #expect(!MapText.render(doc, width: 110, colour: true).contains("\u{1B}]"))
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "\(parser.parserError.map(String.init(describing:)) ?? "")")
        // C1 controls (a CSI in one byte, 0x9b) and DEL too, in a container's name.
        #expect("a\u{9B}2Jb\u{7F}c\u{85}".withoutControls == "a?2Jb?c?")
        #expect("café ⇆ 名".withoutControls == "café ⇆ 名")
    }

    @Test("the classroom's map: box's containers only, no process groups of the learner's machine, no services line")
    func classroomMap() throws {
        let f = try MapFixture(mode: .unified)
        let m = try f.model()
        // The whole-host picture has them (the fixture's unshares and the sandboxed service) ...
        let whole = MapText.plain(try MapDocument(m))
        #expect(whole.contains("unshare:300") && whole.contains("unshare:410") && whole.contains("systemd-logind"))
        // ... the classroom's does not, and says so.
        let sent = try MapText.classroom(m)
        #expect(!sent.contains("unshare") && !sent.contains("systemd-logind") && !sent.contains("left out: system services"), "\(sent)")
        #expect(!sent.contains("host pid 300") && !sent.contains("host pid 301") && !sent.contains("host pid 410"), "\(sent)")
        #expect(sent.contains("container c1 1a1a1a1a1a1a running") && sent.contains("container c2 2b2b2b2b2b2b paused"))
        #expect(sent.contains("processes: host pid 101, pid 7, child of host pid 100, sleep"))
        #expect(sent.hasSuffix(MapText.classroomNote + "\n") && MapText.classroomNote.contains("processes outside containers are not sent"))
    }

    @Test("--svg: a valid SVG with the same words, rendered by headless chromium where it is installed")
    func svg() throws {
        let f = try MapFixture(mode: .unified)
        let svg = MapSVG.render(try MapDocument(try f.model(), changes: MapChanges(sinceTicks: 1050)))
        final class Collect: NSObject, XMLParserDelegate {
            var elements: [String: Int] = [:]
            var text = ""
            var root: String?
            func parser(_ p: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if root == nil { root = name }
                elements[name, default: 0] += 1
            }
            func parser(_ p: XMLParser, foundCharacters s: String) { text += s }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let collect = Collect()
        parser.delegate = collect
        #expect(parser.parse(), "\(parser.parserError.map(String.init(describing:)) ?? "")")
        #expect(collect.root == "svg")
        #expect(collect.elements["g"] == 5)  // host, c1, c2, unshare:300, unshare:410
        #expect((collect.elements["rect"] ?? 0) >= 5 && (collect.elements["tspan"] ?? 0) > 50)
        #expect(collect.text.contains("⇆ c2") && collect.text.contains("← PID 1") && collect.text.contains("unshare:300"))
        #expect(svg.contains(#"class="mark""#) && svg.contains(#"class="bar""#))

        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("MapTests: the SVG was not rendered: chromium is not installed")
            return
        }
        // Kept under the test's own directory (Tests/BoxTests/rendered/, ignored by git) for a person to look at.
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("rendered").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let svgPath = dir + "/map.svg", png = dir + "/map.png"
        try svg.write(toFile: svgPath, atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: png)
        let profile = f.scratch.base + "/chromium"
        let r = try Command.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile,
                                 "--screenshot=" + png, "--window-size=1300,1400", "file://" + svgPath], deadline: 90)
        #expect(r.status == 0 && FileManager.default.fileExists(atPath: png), "chromium: \(r.stderr.suffix(2000))")
        let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
        #expect(size > 10_000, "a screenshot of \(size) bytes is blank")
    }
}

@Suite("box map on the real kernel", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct LiveMapTests {
    @Test("two containers, one in the other's network namespace: drawn shared, and a process with both its PIDs")
    func sharedNetwork() throws {
        let s = try Sandbox()
        try s.detached("--name", "c1", "busybox", "sleep", "600")
        try s.detached("--name", "c2", "--network", "container:c1", "busybox", "sh", "-c", "sleep 601 & wait")
        let pid1 = try s.pid("c1"), pid2 = try s.pid("c2")
        let net = try #require(HostProcess.namespace(pid1, .net))
        #expect(HostProcess.namespace(pid2, .net) == net)
        // c2's sh and its child sleep: the child's pid on the host and inside.
        var child: Int32 = 0
        #expect(Sandbox.eventually(5) {
            child = Int32((Files.readIfPresent("/proc/\(pid2)/task/\(pid2)/children") ?? "").split(separator: " ").first ?? "") ?? 0
            return child > 0
        })
        let inside = try #require(HostProcess.nsPids(child).last)
        #expect(inside != child && HostProcess.nsPids(child).count == 2)

        let plain = try s.run("map", "--plain")
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout.contains("net \(net) shared with c2") && plain.stdout.contains("net \(net) shared with c1"), "\(plain.stdout)")
        #expect(plain.stdout.contains("host pid \(pid1), pid 1, sleep (PID 1 of its pid namespace)"), "\(plain.stdout)")
        #expect(plain.stdout.contains("host pid \(child), pid \(inside), child of host pid \(pid2), sleep"), "\(plain.stdout)")
        #expect(plain.stdout.contains("the network namespace of c1"))
        let upper = s.engineRoot.overlay + "/" + (try s.inspect("c1", "{{.Id}}"))
        #expect(plain.stdout.contains("merged: " + MapDocument.short(upper + "/merged") + " overlay, mounted"), "\(plain.stdout)")

        // A file written in c1 is counted in its upper dir.
        #expect(try s.run("exec", "c1", "sh", "-c", "echo hi > /new-file && rm /etc/group").status == 0)
        let model = MapReader().read(EngineFacts.read(s.store))
        let c1 = try #require(model.containers.first { $0.name == "c1" })
        #expect(c1.filesystem.added >= 1 && c1.filesystem.whiteouts == 1 && c1.filesystem.mounted)
        #expect(c1.cgroup?.pidsCurrent == 1 && c1.network.kernelAddresses == [c1.network.address ?? "-"])

        // The focused picture, once (stdout is no terminal): c2 only, its namespace drawn shared with c1.
        let once = try s.run("map", "--focus", "c2")
        let id1 = String(try s.inspect("c1", "{{.Id}}").prefix(12))
        #expect(once.stdout.contains("\(net) ⇆ c1") && !once.stdout.contains(id1) && !once.stdout.contains("\u{1B}["), "\(once.stdout)")
        #expect(try s.run("map", "--focus", "nosuch").status == 1)
    }

    @Test("live in a terminal (tmux): redrawn on the alternate screen, Ctrl-C gives the terminal back")
    func liveInTmux() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            print("LiveMapTests: not run in a terminal: tmux is not installed")
            return
        }
        let s = try Sandbox()
        try s.detached("--name", "c1", "busybox", "sleep", "600")
        let session = "boxmap-" + String(s.root.split(separator: "-").last ?? "x")
        // A server of its own (-L): other tmux sessions on this machine are not touched.
        let tmux = { (args: [String]) throws -> Sandbox.Result in try Sandbox.exec(["/usr/bin/tmux", "-L", session] + args) }
        defer { _ = try? tmux(["kill-server"]) }
        // The shell traps SIGINT so that Ctrl-C ends the map and not the shell that prints what comes after.
        #expect(try tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "60",
                          "trap 'echo interrupted' INT; env BOX_ROOT=\(s.root) \(s.box) map; echo map-ended; sleep 600"]).status == 0)
        var screen = ""
        #expect(Sandbox.eventually(10) {
            screen = (try? tmux(["capture-pane", "-p", "-t", session]).stdout) ?? ""
            return screen.contains("c1  ") && screen.contains("← PID 1")
        }, "\(screen)")
        #expect(try tmux(["display-message", "-p", "-t", session, "#{alternate_on}"]).out == "1")
        // A container started while the map runs appears at the next redraw.
        try s.detached("--name", "c9", "busybox", "sleep", "600")
        #expect(Sandbox.eventually(5) {
            screen = (try? tmux(["capture-pane", "-p", "-t", session]).stdout) ?? ""
            return screen.contains("c9  ")
        }, "\(screen)")
        #expect(try tmux(["send-keys", "-t", session, "C-c"]).status == 0)
        #expect(Sandbox.eventually(5) {
            screen = (try? tmux(["capture-pane", "-p", "-t", session]).stdout) ?? ""
            return screen.contains("map-ended")
        }, "\(screen)")
        #expect(try tmux(["display-message", "-p", "-t", session, "#{alternate_on}"]).out == "0")
        #expect(!screen.contains("← PID 1"), "the picture stayed on the user's screen: \(screen)")
    }
}
