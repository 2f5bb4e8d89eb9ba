import Foundation
import Testing
import TestSupport
import CSpawn
@testable import Engine

/// A loop device on a file of the test's own, with contents it knows: the host block device the attacks aim at
/// (never one of the host's disks). Detached, and its file removed, when the test lets go of it.
final class TestLoopDevice {
    static let secret = "BOXLAB-LOOP-SECRET-0123456789"
    let file: String
    let path: String   // /dev/loopN
    let minor: UInt32

    init() throws {
        var template = Array("/tmp/boxtest-loop-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw BoxError.sys(.store, "mkstemp") }
        file = String(cString: template)
        var contents = Array(TestLoopDevice.secret.utf8)
        contents += [UInt8](repeating: UInt8(ascii: "."), count: (1 << 20) - contents.count)
        _ = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let r = try Command.run(["/usr/sbin/losetup", "-f", "--show", file])
        guard r.status == 0, r.out.hasPrefix("/dev/loop") else {
            unlink(file)
            throw BoxError(.store, "losetup -f --show \(file): \(r.stderr)")
        }
        path = r.out
        var st = stat()
        guard stat(path, &st) == 0 else { throw BoxError.sys(.store, "stat \(path)") }
        minor = UInt32(st.st_rdev & 0xff) | UInt32((st.st_rdev >> 12) & 0xffff_ff00)  // glibc's gnu_dev_minor
    }

    /// The command that makes a node for this device at `node` and prints its first bytes (or head's error).
    func readThrough(_ node: String) -> String {
        "rm -f \(node); mknod \(node) b 7 \(minor) || exit 9; head -c \(TestLoopDevice.secret.utf8.count) \(node)"
    }

    deinit {
        _ = try? Command.run(["/usr/sbin/losetup", "-d", path])
        unlink(file)
    }
}

@Suite("Security: devices (the hardening issue, item 2)", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct DeviceSecurityTests {
    // Issue 17, security 2: `mknod /vol/blk b 7 0` in a -v directory read and wrote a host loop device.
    @Test("a device node made in a volume does not open: volumes are nodev")
    func volumeIsNodev() throws {
        let box = try Sandbox()
        let loop = try TestLoopDevice()
        let dir = try box.scratch("vol")
        let r = try box.run("run", "--rm", "-v", dir + ":/vol", "busybox", "sh", "-c", loop.readThrough("/vol/blk"))
        #expect(!r.stdout.contains(TestLoopDevice.secret), "the container read the host's loop device through a volume")
        #expect(r.status == 1 && r.stderr.contains("Permission denied"), "status \(r.status): \(r.stdout) \(r.stderr)")
    }

    @Test("the device cgroup refuses a host block device even where nodes open (a :dev volume), in run and exec")
    func deviceCgroup() throws {
        let box = try Sandbox()
        let loop = try TestLoopDevice()
        let dir = try box.scratch("vol")
        let r = try box.run("run", "--rm", "-v", dir + ":/vol:dev", "busybox", "sh", "-c", loop.readThrough("/vol/blk"))
        #expect(!r.stdout.contains(TestLoopDevice.secret), "PID 1 read the host's loop device")
        // EPERM: the device cgroup said no (nodev's answer would be EACCES, Permission denied).
        #expect(r.status == 1 && r.stderr.contains("Operation not permitted"), "status \(r.status): \(r.stdout) \(r.stderr)")

        _ = try box.detached("--name", "c1", "-v", dir + ":/vol:dev", "busybox", "sleep", "1000")
        let e = try box.run("exec", "c1", "sh", "-c", loop.readThrough("/vol/blk2"))
        #expect(!e.stdout.contains(TestLoopDevice.secret), "box exec read the host's loop device")
        #expect(e.status == 1 && e.stderr.contains("Operation not permitted"), "status \(e.status): \(e.stdout) \(e.stderr)")
        // Writing is refused as well (the attack wrote the loop device too).
        let w = try box.run("exec", "c1", "sh", "-c", "echo x | dd of=/vol/blk2 conv=notrunc 2>&1")
        #expect(w.status != 0 && w.stdout.contains("Operation not permitted"), "status \(w.status): \(w.stdout) \(w.stderr)")
        #expect(try String(contentsOfFile: loop.file, encoding: .utf8).hasPrefix(TestLoopDevice.secret))
    }

    @Test("a device node made in the container's own filesystem does not open")
    func ownFilesystem() throws {
        let box = try Sandbox()
        let loop = try TestLoopDevice()
        let r = try box.run("run", "--rm", "busybox", "sh", "-c", loop.readThrough("/tmp/blk"))
        #expect(!r.stdout.contains(TestLoopDevice.secret), "the container read the host's loop device")
        #expect(r.status == 1, "status \(r.status): \(r.stdout) \(r.stderr)")
    }

    @Test("the devices a container needs still work: null, zero, full, random, urandom, tty, ptmx and pts")
    func allowedDevicesWork() throws {
        let box = try Sandbox()
        let script = """
            echo x > /dev/null && head -c 3 /dev/zero | wc -c && head -c 5 /dev/urandom | wc -c && \
            head -c 2 /dev/random | wc -c && (echo x > /dev/full) 2>&1 | grep -q "No space" && \
            : < /dev/ptmx && echo on-tty > /dev/tty && echo on-pts > "$(tty)" && echo all-ok
            """
        let command = [box.box, "run", "-t", "--rm", "busybox", "sh", "-c", script].map { "'\($0)'" }.joined(separator: " ")
        let r = try Sandbox.exec(["/usr/bin/timeout", "60", "/usr/bin/script", "-q", "-e", "-c", command, "/dev/null"],
                                 environment: ["BOX_ROOT": box.root])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        for word in ["on-tty", "on-pts", "all-ok"] { #expect(r.stdout.contains(word), "\(r.stdout)") }
        #expect(r.stdout.replacingOccurrences(of: "\r", with: "").contains("3\n5\n2\n"), "\(r.stdout)")
        // Without a terminal too (exec's relay): /dev/null and friends.
        let plain = try box.run("run", "--rm", "busybox", "sh", "-c", "head -c 4 /dev/urandom > /dev/null && cat /dev/null && echo fine")
        #expect(plain.out == "fine", "\(plain.stdout) \(plain.stderr)")
    }

    @Test("--privileged keeps every device, as docker's: its :dev volume opens the loop device (what the flag gives away)")
    func privilegedKeepsDevices() throws {
        let box = try Sandbox()
        let loop = try TestLoopDevice()
        let dir = try box.scratch("vol")
        let r = try box.run("run", "--rm", "--privileged", "-v", dir + ":/vol:dev", "busybox", "sh", "-c", loop.readThrough("/vol/blk"))
        #expect(r.status == 0 && r.stdout == TestLoopDevice.secret, "status \(r.status): \(r.stdout) \(r.stderr)")
        #expect(try box.run("run", "--rm", "-v", dir + ":/vol:nodev,ro,dev", "busybox", "true").stderr.contains("dev or nodev, once"))
    }

    /// cgroup v2's device program, on this host's v2 hierarchy (hybrid hosts have one at /sys/fs/cgroup/unified,
    /// the kernel's default hierarchy, which is the one BPF device programs are run for): a shell in a cgroup with
    /// box's program may open /dev/zero and make nodes, but not open the loop device (host /dev is not nodev).
    @Test("cgroup v2: the BPF device program allows runc's list and refuses the rest",
          .enabled(if: DeviceSecurityTests.v2Root != nil, "no cgroup v2 hierarchy on this host"))
    func bpfDeviceProgram() throws {
        let loop = try TestLoopDevice()
        let root = DeviceSecurityTests.v2Root!
        let name = "box-devtest-\(getpid())/c1"
        let v2 = CgroupV2(root: root)
        try v2.create(name, Resources(), devices: DeviceRule.defaults)
        defer { try? v2.remove(name); v2.removeParent(name) }
        let node = "/tmp/boxtest-node-\(getpid())"
        defer { unlink(node) }
        let script = """
            echo $$ > \(root)/\(name)/cgroup.procs || exit 9
            head -c 3 /dev/zero | wc -c
            mknod \(node) b 7 \(loop.minor) && echo made
            head -c \(TestLoopDevice.secret.utf8.count) \(loop.path)
            """
        let r = try Sandbox.exec(["/bin/sh", "-c", script])
        #expect(r.stdout == "3\nmade\n", "\(r.stdout) \(r.stderr)")
        #expect(r.status == 1 && r.stderr.contains("Operation not permitted"), "status \(r.status): \(r.stderr)")
        // Without the program (--privileged) the same shell reads it.
        let open = "box-devtest-\(getpid())/c2"
        try v2.create(open, Resources(), devices: nil)
        defer { try? v2.remove(open) }
        let p = try Sandbox.exec(["/bin/sh", "-c", "echo $$ > \(root)/\(open)/cgroup.procs && head -c \(TestLoopDevice.secret.utf8.count) \(loop.path)"])
        #expect(p.stdout == TestLoopDevice.secret, "\(p.stdout) \(p.stderr)")
    }

    /// A cgroup v2 mount to make cgroups in: the unified root, or a hybrid host's v2 mount.
    static var v2Root: String? {
        for dir in ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
            var fs = statfs()
            if statfs(dir, &fs) == 0 && fs.f_type == 0x6367_7270, access(dir + "/cgroup.procs", W_OK) == 0 { return dir }
        }
        return nil
    }
}
