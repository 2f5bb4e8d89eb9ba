import CSpawn
import Glibc
import Testing
@testable import Engine

// PID 1 is cloned before the rootfs is mounted and held until told to go on; by then it must be in its
// cgroups. These tests hold such a child (with a pid namespace of its own, in cgroups the test makes and
// removes), look at /proc/PID/cgroup, and give it up: it exits having run nothing.

@Suite("A held PID 1 is in its cgroups before it goes on", .enabled(if: geteuid() == 0, "making cgroups needs root"))
struct SpawnTests {
    /// The cgroup v2 hierarchy of this host: /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid).
    static var v2Root: String? {
        switch CgroupMode.detect() {
        case .unified: return "/sys/fs/cgroup"
        case .hybrid: return "/sys/fs/cgroup/unified"
        case .legacy: return nil
        }
    }

    static func hold(cgroupFD: Int32, procs: [String]) throws -> box_pending {
        let strings = CStrings()
        defer { strings.free() }
        var c = box_container()
        c.namespaces = Int32(BOX_CLONE_NEWPID)
        c.netns_fd = -1
        c.cgroup_fd = cgroupFD
        c.cgroup_procs = UnsafePointer(strings.array(procs))
        c.process.stdin_fd = -1; c.process.stdout_fd = -1; c.process.stderr_fd = -1; c.process.console_socket = -1
        var pending = box_pending(), failure = box_failure()
        guard box_clone_container(&c, &pending, &failure) == 0 else { throw Spawner.error(failure) }
        return pending
    }

    static func cgroupLines(_ pid: pid_t) -> [String] {
        (Files.readIfPresent("/proc/\(pid)/cgroup") ?? "").split(separator: "\n").map(String.init)
    }

    @Test("cgroup v2: cloned straight into its cgroup (clone3 CLONE_INTO_CGROUP), before it is told to go on",
          .enabled(if: SpawnTests.v2Root != nil, "no cgroup v2 hierarchy on this host"))
    func cloneIntoV2() throws {
        let name = "box-spawntest-\(getpid())"
        let dir = SpawnTests.v2Root! + "/" + name
        #expect(mkdir(dir, 0o755) == 0)
        defer { rmdir(dir) }
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(fd) }
        var pending = try Self.hold(cgroupFD: fd, procs: [])
        // At once: no cgroup.procs write, so nothing to wait for.
        #expect(Self.cgroupLines(pending.pid).contains("0::/\(name)"), "\(Self.cgroupLines(pending.pid))")
        box_abandon_container(&pending)
        #expect(rmdir(dir) == 0, "the abandoned child is still in \(dir)")
    }

    @Test("cgroup v1: joins each of its cgroups while held, through the driver's files (tasks: no grace period)",
          .enabled(if: CgroupMode.detect() != .unified, "no cgroup v1 hierarchy on this host"))
    func joinV1() throws {
        let name = "box/spawntest-\(getpid())"
        let v1 = CgroupV1()
        try v1.create(name, Resources())
        defer { try? v1.remove(name); v1.removeParent(name) }
        let files = v1.procsFiles(name)
        #expect(!files.isEmpty && files.allSatisfy { $0.hasSuffix("/tasks") })
        var pending = try Self.hold(cgroupFD: -1, procs: files)
        // A v1 line is "ID:CONTROLLERS:/PATH", CONTROLLERS as the hierarchy has them ("cpu,cpuacct" on some hosts).
        func inCgroup(_ controller: String) -> Bool {
            Self.cgroupLines(pending.pid).contains { line in
                let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                return f.count == 3 && f[1].split(separator: ",").contains(Substring(controller)) && f[2] == "/" + name
            }
        }
        let controllers = v1.dirs(name).map(\.controller)
        var joined = false
        for _ in 0..<500 where !joined {
            joined = controllers.allSatisfy(inCgroup)
            if !joined { usleep(10_000) }
        }
        #expect(joined, "\(Self.cgroupLines(pending.pid))")
        box_abandon_container(&pending)
        #expect(throws: Never.self, "the abandoned child has left every cgroup") { try v1.remove(name) }
    }
}

@Suite("Held children of one process do not hold each other", .enabled(if: geteuid() == 0, "clone with a pid namespace needs root"))
struct ConcurrentHoldTests {
    /// Gives up a held child and waits at most `seconds` for it to exit; a child that does not is killed,
    /// and the answer is false. (box_abandon_container would wait for ever.)
    static func abandon(_ p: inout box_pending, within seconds: Int32) -> Bool {
        close(p.go_fd); p.go_fd = -1
        var poller = pollfd(fd: p.pidfd, events: Int16(POLLIN), revents: 0)
        let exited = poll(&poller, 1, seconds * 1000) == 1
        if !exited { kill(p.pid, SIGKILL) }
        box_abandon_container(&p)
        return exited
    }

    @Test("children held at the same time from many threads each exit when given up, whatever the others do")
    func manyThreads() async throws {
        let (held, stuck) = await withTaskGroup(of: (Int, Int).self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var held = 0, stuck = 0
                    for _ in 0..<100 {
                        guard var p = try? SpawnTests.hold(cgroupFD: -1, procs: []) else { continue }
                        held += 1
                        usleep(UInt32.random(in: 0..<300))
                        if !Self.abandon(&p, within: 5) { stuck += 1 }
                    }
                    return (held, stuck)
                }
            }
            return await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
        }
        try #require(held == 400, "only \(held) of 400 children could be held")
        #expect(stuck == 0, "\(stuck) held children did not exit when given up: another child held their go pipe")
    }
}
