import Foundation
import Testing
import TestSupport
@testable import Engine

/// The probe the container runs: each syscall of the hardening review's item 5 tried in a child of its own, its
/// answer printed as `name=ok` or `name=ERRNO` (EPERM is what docker's profile answers). On the host it also
/// makes the key the container must not see (`addkey`: in a session keyring of its own, never root's real
/// ones, then it execs box), and inside it looks for that key (`findkey`).
private let probeSource = #"""
#define _GNU_SOURCE
#include <errno.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
// Each probe runs in a child of its own, so that a namespace or a personality it gets stays there; the child
// exits 0 if the call succeeded, else with its errno.
static int try(int which) {
    pid_t pid = fork();
    if (pid == 0) {
        long r = -1;
        struct perf_event_attr attr;
        unsigned char params[120];
        switch (which) {
        case 0: r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* @s */, 0); break;
        case 1: r = unshare(CLONE_NEWUSER); break;
        case 2: r = unshare(CLONE_NEWNS); break;
        case 3:
            memset(&attr, 0, sizeof attr);
            attr.size = sizeof attr; attr.type = PERF_TYPE_SOFTWARE; attr.config = PERF_COUNT_SW_TASK_CLOCK;
            attr.exclude_kernel = 1; attr.exclude_hv = 1;
            r = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0); break;
        case 4: memset(params, 0, sizeof params); r = syscall(425 /* io_uring_setup */, 4, params); break;
        case 5: r = personality(0x0400000 /* READ_IMPLIES_EXEC */); break;
        case 6: r = socket(40 /* AF_VSOCK */, SOCK_STREAM, 0); break;
        case 7: r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0); if (r == 0) _exit(0); break;
#if defined(__x86_64__)
        // The i386 entry point (int 0x80) of a 64-bit process: seccomp sees AUDIT_ARCH_I386 and i386 numbers.
        case 8: __asm__ volatile("int $0x80" : "=a"(r) : "a"(20 /* getpid */) : "memory"); break;
        case 9: __asm__ volatile("int $0x80" : "=a"(r) : "a"(288 /* keyctl */), "b"(0), "c"(-3), "d"(0) : "memory"); break;
#endif
        }
        if (which >= 8 && r < 0 && r > -4096) { errno = (int)-r; r = -1; }
        _exit(r < 0 ? errno : 0);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}
int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "syscalls") == 0) {
        static const char *names[] = {"keyctl", "unshare-user", "unshare-mount", "perf_event_open", "io_uring_setup",
                                      "personality-read-implies-exec", "socket-vsock", "clone-newuser",
                                      "i386-getpid", "i386-keyctl"};
        for (int i = 0; i < 10; i++) {
            int e = try(i);
            printf("%s=%s\n", names[i], e == 0 ? "ok" : e == EPERM ? "EPERM" : e == 255 ? "killed"
                                         : strerrorname_np(e) ? strerrorname_np(e) : "other");
        }
        return 0;
    }
    // addkey DESC SECRET CMD...: a new session keyring for us (the host side of the test, never root's own
    // keyrings), a user key in it, then CMD, which inherits that keyring.
    if (argc >= 5 && strcmp(argv[1], "addkey") == 0) {
        if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL) < 0) { perror("join"); return 2; }
        if (syscall(SYS_add_key, "user", argv[2], argv[3], strlen(argv[3]), -3) < 0) { perror("add_key"); return 2; }
        execv(argv[4], argv + 4);
        perror("exec");
        return 2;
    }
    // findkey DESC: look for the key in our session keyring and print its secret.
    if (argc == 3 && strcmp(argv[1], "findkey") == 0) {
        long id = syscall(SYS_keyctl, 10 /* KEYCTL_SEARCH */, -3, "user", argv[2], 0);
        if (id < 0) { printf("nokey=%s\n", strerrorname_np(errno)); return 0; }
        char secret[256] = {0};
        long n = syscall(SYS_keyctl, 11 /* KEYCTL_READ */, id, secret, sizeof secret - 1);
        printf(n >= 0 ? "key=%s\n" : "key-unreadable\n", secret);
        return 0;
    }
    fprintf(stderr, "usage: probe syscalls | addkey DESC SECRET CMD... | findkey DESC\n");
    return 2;
}
"""#

/// The syscalls the probe tries, in its order.
private let probed = ["keyctl", "unshare-user", "unshare-mount", "perf_event_open", "io_uring_setup",
                      "personality-read-implies-exec", "socket-vsock", "clone-newuser", "i386-getpid", "i386-keyctl"]

@Suite("Security: seccomp and the session keyring (the hardening issue, item 5)", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct SeccompTests {
    /// A sandbox with the probe built (static) in a directory the container gets as the volume /p.
    func sandbox() throws -> (Sandbox, String) {
        let box = try Sandbox()
        let dir = try box.scratch("seccomp")
        try String(probeSource).write(toFile: dir + "/probe.c", atomically: true, encoding: .utf8)
        let cc = try Command.run(["/usr/bin/gcc", "-static", "-O2", "-o", dir + "/probe", dir + "/probe.c"])
        try #require(cc.status == 0, "gcc: \(cc.stderr)")
        return (box, dir)
    }

    /// The probe's answers, by syscall name.
    static func answers(_ output: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { out[parts[0]] = parts[1] }
        }
        return out
    }

    func probe(_ box: Sandbox, _ dir: String, _ flags: [String]) throws -> [String: String] {
        let r = try box.run(["run", "--rm", "--network", "none", "-v", dir + ":/p"] + flags + ["busybox", "/p/probe", "syscalls"])
        #expect(r.status == 0, "box run \(flags): \(r.stderr)")
        return Self.answers(r.stdout)
    }

    @Test("docker's default profile: keyctl, unshare -U, perf_event_open, io_uring_setup, personality(READ_IMPLIES_EXEC) get EPERM, in run and in exec")
    func defaultProfileRefuses() throws {
        let (box, dir) = try sandbox()
        defer { box.cleanUp() }
        let refused = try probe(box, dir, [])
        for name in probed where name != "i386-getpid" {
            #expect(refused[name] == "EPERM", "\(name) under the default profile: \(refused[name] ?? "no answer")")
        }
        // The i386 entry point is filtered by the same profile (docker's arch map), not killed as a foreign
        // architecture: getpid through int 0x80 works, keyctl through it gets EPERM.
        #expect(refused["i386-getpid"] == "ok", "getpid through int 0x80: \(refused["i386-getpid"] ?? "-")")
        // The review's own command.
        let unshare = try box.run("run", "--rm", "busybox", "unshare", "-U", "-r", "true")
        #expect(unshare.status != 0, "unshare -U -r ran in the container")
        // Under --init the command (and box-init itself) is filtered too; with -t, the process that joins the
        // keyring and loads the filter is the one with the pty.
        let underInit = try probe(box, dir, ["--init"])
        #expect(underInit == refused, "--init: \(underInit)")
        let tty = try box.run("run", "--rm", "-t", "busybox", "sh", "-c", "grep Seccomp: /proc/1/status")
        #expect(tty.status == 0 && tty.stdout.contains("2"), "-t: \(tty.stdout) \(tty.stderr)")

        // `box exec` runs under the container's filter too, and so does a restarted PID 1.
        _ = try box.detached("--name", "c", "-v", dir + ":/p", "busybox", "sleep", "1000")
        let exec = try box.run("exec", "c", "/p/probe", "syscalls")
        #expect(exec.status == 0, "\(exec.stderr)")
        #expect(Self.answers(exec.stdout) == refused, "box exec: \(exec.stdout)")
        #expect(try box.run("restart", "-t", "0", "c").status == 0)
        let again = try box.run("exec", "c", "/p/probe", "syscalls")
        #expect(Self.answers(again.stdout) == refused, "box exec after a restart: \(again.stdout)")
        // What docker shows for a container without the option.
        #expect(try box.inspect("c", "{{json .HostConfig.SecurityOpt}}") == "null")
    }

    @Test("--cap-add SYS_ADMIN allows what docker's profile gives that capability (unshare, clone with namespace flags), no more")
    func capAddSysAdmin() throws {
        let (box, dir) = try sandbox()
        defer { box.cleanUp() }
        let got = try probe(box, dir, ["--cap-add", "SYS_ADMIN"])
        for name in ["unshare-user", "unshare-mount", "clone-newuser", "perf_event_open"] {
            #expect(got[name] == "ok", "\(name) with SYS_ADMIN: \(got[name] ?? "-")")
        }
        for name in ["keyctl", "personality-read-implies-exec", "io_uring_setup", "socket-vsock", "i386-keyctl"] {
            #expect(got[name] == "EPERM", "\(name) with SYS_ADMIN: \(got[name] ?? "-")")
        }
    }

    @Test("seccomp=unconfined and --privileged run without the filter, and inspect shows the option as docker does")
    func unconfined() throws {
        let (box, dir) = try sandbox()
        defer { box.cleanUp() }
        let got = try probe(box, dir, ["--security-opt", "seccomp=unconfined"])
        for name in ["keyctl", "unshare-user", "perf_event_open", "io_uring_setup", "personality-read-implies-exec", "clone-newuser",
                     "i386-keyctl"] {
            #expect(got[name] != "EPERM", "\(name) unconfined: \(got[name] ?? "-")")
        }
        // Without CAP_SYS_ADMIN the kernel itself still refuses a mount namespace.
        #expect(got["unshare-mount"] == "EPERM")
        let privileged = try probe(box, dir, ["--privileged"])
        #expect(privileged["personality-read-implies-exec"] == "ok" && privileged["keyctl"] == "ok", "--privileged: \(privileged)")

        _ = try box.detached("--name", "u", "--security-opt", "seccomp=unconfined", "-v", dir + ":/p", "busybox", "sleep", "1000")
        #expect(try box.inspect("u", "{{json .HostConfig.SecurityOpt}}") == #"["seccomp=unconfined"]"#)
        let exec = Self.answers(try box.run("exec", "u", "/p/probe", "syscalls").stdout)
        #expect(exec["personality-read-implies-exec"] == "ok", "box exec in an unconfined container: \(exec)")
    }

    /// A profile of the user's, in docker's format: everything allowed but mkdir (EACCES), chmod (EPERM, the
    /// default errno), personality(READ_IMPLIES_EXEC) (an argument condition) and, with CAP_SYS_ADMIN only,
    /// sethostname (EINVAL).
    static let profileText = """
    {
      "defaultAction": "SCMP_ACT_ALLOW",
      "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
      "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "comment": "EACCES"},
        {"names": ["chmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 4194304, "op": "SCMP_CMP_EQ"}]},
        {"names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22, "includes": {"caps": ["CAP_SYS_ADMIN"]}}
      ]
    }
    """
    static let customCommand = ["sh", "-c", "mkdir /x; echo mkdir $?; chmod 600 /tmp; echo chmod $?; /p/probe syscalls"]

    @Test("--security-opt seccomp=FILE: a profile in docker's format, kept in the container's config, in run and exec")
    func customProfile() throws {
        let (box, dir) = try sandbox()
        defer { box.cleanUp() }
        let file = dir + "/profile.json"
        try Self.profileText.write(toFile: file, atomically: true, encoding: .utf8)
        let r = try box.run(["run", "--rm", "-v", dir + ":/p", "--security-opt", "seccomp=" + file, "busybox"] + Self.customCommand)
        #expect(r.stdout.contains("mkdir 1") && r.stderr.contains("Permission denied"), "mkdir: \(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("chmod 1") && r.stderr.contains("Operation not permitted"), "chmod: \(r.stdout) \(r.stderr)")
        let got = Self.answers(r.stdout)
        #expect(got["personality-read-implies-exec"] == "EPERM" && got["keyctl"] == "ok" && got["unshare-user"] == "ok", "\(got)")

        // The text is kept (a later change of the file changes nothing), and exec runs under it too.
        _ = try box.detached("--name", "p", "-v", dir + ":/p", "--security-opt", "seccomp=" + file, "busybox", "sleep", "1000")
        try "{}".write(toFile: file, atomically: true, encoding: .utf8)
        let opt = try box.inspect("p", "{{index .HostConfig.SecurityOpt 0}}")
        #expect(opt.hasPrefix("seccomp={") && opt.contains("mkdirat"), "\(opt)")
        let exec = try box.run("exec", "p", "sh", "-c", "mkdir /y; echo $?")
        #expect(exec.out == "1" && exec.stderr.contains("Permission denied"), "exec: \(exec.stdout) \(exec.stderr)")
        // --privileged keeps a profile it names (as moby's WithSeccomp), and includes.caps holds with SYS_ADMIN:
        // sethostname gets the profile's EINVAL, where without the capability the kernel answers EPERM.
        try Self.profileText.write(toFile: file, atomically: true, encoding: .utf8)
        let admin = try box.run("run", "--rm", "--privileged", "--security-opt", "seccomp=" + file, "busybox", "sh", "-c",
                                "mkdir /z; echo $?; hostname x; echo $?")
        #expect(admin.out == "1\n1" && admin.stderr.contains("Invalid argument"), "--privileged with a profile: \(admin.stdout) \(admin.stderr)")
        let plain = try box.run("run", "--rm", "--security-opt", "seccomp=" + file, "busybox", "hostname", "x")
        #expect(plain.status != 0 && !plain.stderr.contains("Invalid argument"), "\(plain.stderr)")
    }

    @Test("a missing or malformed profile, an action box cannot give and an unknown option are refused at create")
    func refusedOptions() throws {
        let (box, dir) = try sandbox()
        defer { box.cleanUp() }
        let missing = try box.run("create", "--security-opt", "seccomp=" + dir + "/none.json", "busybox", "true")
        #expect(missing.status != 0 && missing.stderr.contains("no such profile file"), "\(missing.stderr)")
        try "{\"defaultAction\": ".write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        let bad = try box.run("create", "--security-opt", "seccomp=" + dir + "/bad.json", "busybox", "true")
        #expect(bad.status != 0 && bad.stderr.contains("JSON"), "\(bad.stderr)")
        try #"{"defaultAction": "SCMP_ACT_NOTIFY"}"#.write(toFile: dir + "/notify.json", atomically: true, encoding: .utf8)
        let notify = try box.run("create", "--security-opt", "seccomp=" + dir + "/notify.json", "busybox", "true")
        #expect(notify.status != 0 && notify.stderr.contains("SCMP_ACT_NOTIFY"), "\(notify.stderr)")
        let other = try box.run("create", "--security-opt", "apparmor=x", "busybox", "true")
        #expect(other.status != 0 && other.stderr.contains("apparmor=x"), "\(other.stderr)")
        #expect(try box.run("ps", "-aq").out.isEmpty, "a refused create left a container")
    }

    // Issue 17, security 5: a container held the session keyring of whoever started it (host root's _uid_ses.0),
    // and read a key root had added to it. Here the host side is a process with a session keyring of its own
    // holding a key: box run and box exec are started from it.
    @Test("the host's session keyring stays out of the container, even unconfined, in run and in exec")
    func sessionKeyring() throws {
        let (box, dir) = try sandbox()
        defer { box.cleanUp() }
        let probe = dir + "/probe"
        let env = ["BOX_ROOT": box.root]
        // The control: a process in that session finds the key.
        let host = try Sandbox.exec([probe, "addkey", "boxtest-key", "s3cret", probe, "findkey", "boxtest-key"])
        try #require(host.out == "key=s3cret", "the host side cannot make its key: \(host.stdout) \(host.stderr)")

        let run = try Sandbox.exec([probe, "addkey", "boxtest-key", "s3cret", box.box, "run", "--rm", "--security-opt",
                                    "seccomp=unconfined", "-v", dir + ":/p", "busybox", "/p/probe", "findkey", "boxtest-key"], environment: env)
        #expect(run.out == "nokey=ENOKEY", "box run: \(run.stdout) \(run.stderr)")

        _ = try box.detached("--name", "k", "--security-opt", "seccomp=unconfined", "-v", dir + ":/p", "busybox", "sleep", "1000")
        let exec = try Sandbox.exec([probe, "addkey", "boxtest-key", "s3cret", box.box, "exec", "k", "/p/probe", "findkey", "boxtest-key"],
                                    environment: env)
        #expect(exec.out == "nokey=ENOKEY", "box exec: \(exec.stdout) \(exec.stderr)")
        // The container's processes share one keyring of its own, named as runc names it: "_ses.<id>".
        let id = try box.inspect("k", "{{.Id}}")
        let held = try Sandbox.exec(["/bin/sh", "-c", "grep -c '_ses.\(id)' /proc/keys || true"]).out
        #expect(held == "1", "keyrings named _ses.\(id) in /proc/keys: \(held)")
    }

    @Test("the probe gets the same answers under box and under a real dockerd: default profile, SYS_ADMIN, unconfined, a profile file")
    func sameAsDocker() throws {
        let (box, dir) = try sandbox()
        defer { box.cleanUp() }
        guard let dockerd = Dockerd(purpose: "seccomp") else {
            print("skipped the docker comparison: docker.io is not installed here")
            return
        }
        defer { dockerd.stop() }
        #expect(try box.run("save", "-o", dir + "/busybox.tar", "busybox").status == 0)
        let load = try dockerd.docker(["load", "-i", dir + "/busybox.tar"])
        try #require(load.status == 0, "docker load: \(load.stderr)")
        // docker's profile allowed io_uring until moby 891241e7e7 (docker 25.0) and AF_VSOCK sockets until
        // 57b229012a (docker 24.0): an older dockerd (Debian 12's is 20.10) answers those from its older profile,
        // not from today's, which box follows; the defaultProfileRefuses test holds box to today's.
        let major = dockerd.majorVersion
        let compared = probed.filter { !($0 == "io_uring_setup" && major < 25) && !($0 == "socket-vsock" && major < 24) }
        let file = dir + "/profile.json"
        try Self.profileText.write(toFile: file, atomically: true, encoding: .utf8)
        let custom = ["--security-opt", "seccomp=" + file]
        let ours = try box.run(["run", "--rm", "--network", "none", "-v", dir + ":/p"] + custom + ["busybox"] + Self.customCommand)
        let theirs = try dockerd.docker(["run", "--rm", "--network", "none", "-v", dir + ":/p"] + custom + ["busybox"] + Self.customCommand)
        #expect(ours.stdout == theirs.stdout, "a profile file: box \(ours.stdout) \(ours.stderr), docker \(theirs.stdout) \(theirs.stderr)")
        for flags in [[], ["--cap-add", "SYS_ADMIN"], ["--security-opt", "seccomp=unconfined"]] {
            let ours = try probe(box, dir, flags)
            let r = try dockerd.docker(["run", "--rm", "--network", "none", "-v", dir + ":/p"] + flags + ["busybox", "/p/probe", "syscalls"])
            try #require(r.status == 0, "docker run \(flags): \(r.stderr)")
            let theirs = Self.answers(r.stdout)
            for name in compared { #expect(ours[name] == theirs[name], "\(name) with \(flags): box \(ours[name] ?? "-"), docker \(theirs[name] ?? "-")") }
        }
    }
}
