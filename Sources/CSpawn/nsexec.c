// nsexec: how `box exec` enters a running container (runc's libcontainer/nsenter pattern).
//
// setns(2) into a mount namespace fails with EINVAL once a process has more than one thread, and the Swift
// runtime starts threads early. So `box exec` re-executes its own binary as
//
//     box __nsexec --pid=PID --start=TICKS --errfd=FD [--uid=N] [--gid=N] [--caps=HEX] [--cwd=DIR] [--tty]
//                  [--console-socket=FD] [--cgroup=FILE]... [--cgroup-dir=DIR] [--keyring=NAME]
//                  [--seccomp=FILE] -- CMD ARGS...
//
// with the command's environment as its own (not in argv, where any user could read it in /proc).
//
// and this constructor, which runs before Swift's main and before any thread exists, does the whole job:
//   1. join the container's v1 cgroups (--cgroup: each hierarchy's tasks file), or open its v2 cgroup
//      (--cgroup-dir); files are opened on the host, before the mount namespace changes;
//   2. setns into each namespace of PID that differs from ours (cgroup, ipc, uts, net, pid, mnt; mnt last:
//      after it, /proc is the container's);
//   3. fork (on v2 straight into the cgroup, clone3 CLONE_INTO_CGROUP): a pid namespace applies to children
//      only. The child becomes the command (box_exec_process), in a session of its own; the parent waits and
//      exits with the child's status, 128+N for a signal, as a shell would.
// The caller's terminal never reaches the command (runc/containerd's io pipes): without --tty, `box exec` gives
// this process pipes for stdio and relays them; with --tty, the command's stdio is a pty of the container's
// (--console-socket) and this process gets /dev/null. A command holding the admin's terminal could type into
// the admin's shell (TIOCSTI) after exec returns.
// A failure is written to --errfd as a struct box_failure; `box exec` reads it and prints the stage.
#include "cspawn.h"

#include <errno.h>
#include <limits.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ITEMS 512

static volatile pid_t nsexec_child = 0;

static void forward_signal(int sig) {
    if (nsexec_child > 0) kill(nsexec_child, sig);
}

static void report(int errfd, int err, const char *fmt, const char *arg) {
    struct box_failure f = {.err = err};
    snprintf(f.stage, sizeof f.stage, fmt, arg ? arg : "");
    if (errfd >= 0 && write(errfd, &f, sizeof f) < 0) { /* box exec sees the exit code alone */ }
    _exit(125);
}

static int same_namespace(const char *mine, const char *theirs) {
    struct stat a, b;
    return stat(mine, &a) == 0 && stat(theirs, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

// Field 22 of /proc/PID/stat: when the process started. Same pid and same start time: same process.
static unsigned long long start_time(long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

__attribute__((constructor)) static void box_nsexec(int argc, char **argv, char **envp) {
    if (argc < 2 || strcmp(argv[1], "__nsexec") != 0) return;
    // Not dumpable, before any namespace is joined: the child below is the box binary in the container's pid
    // namespace until it execs, and no process there may open its /proc/PID/exe (the host's box: CVE-2019-5736),
    // mem or environ, or ptrace it. execve makes the command dumpable again. `box exec` also runs us from a
    // sealed copy (box_sealed_self), so even a command that execs /proc/self/exe (a "#!/proc/self/exe" script)
    // runs the copy, never a file on the host.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

    static const char *cgroups[MAX_ITEMS + 1];
    size_t ncgroups = 0;
    const char *cgroup_dir = NULL, *seccomp = NULL;
    static uint32_t groups[MAX_ITEMS];
    unsigned long long started = 0;
    struct box_process p = {.cwd = "/", .caps = 0, .last_cap = box_cap_last(), .no_new_privs = 1,
                            .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .console_socket = -1};
    long pid = 0;
    int errfd = -1, i = 2;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--pid=", 6) == 0) pid = strtol(a + 6, NULL, 10);
        else if (strncmp(a, "--errfd=", 8) == 0) errfd = (int)strtol(a + 8, NULL, 10);
        else if (strncmp(a, "--start=", 8) == 0) started = strtoull(a + 8, NULL, 10);
        else if (strncmp(a, "--uid=", 6) == 0) p.uid = (uint32_t)strtoul(a + 6, NULL, 10);
        else if (strncmp(a, "--gid=", 6) == 0) p.gid = (uint32_t)strtoul(a + 6, NULL, 10);
        else if (strncmp(a, "--group=", 8) == 0 && p.ngroups < MAX_ITEMS) groups[p.ngroups++] = (uint32_t)strtoul(a + 8, NULL, 10);
        else if (strncmp(a, "--caps=", 7) == 0) p.caps = strtoull(a + 7, NULL, 16);
        else if (strncmp(a, "--cwd=", 6) == 0) p.cwd = a + 6;
        else if (strcmp(a, "--tty") == 0) p.tty = 1;
        else if (strncmp(a, "--console-socket=", 17) == 0) p.console_socket = (int)strtol(a + 17, NULL, 10);
        else if (strncmp(a, "--cgroup=", 9) == 0 && ncgroups < MAX_ITEMS) cgroups[ncgroups++] = a + 9;
        else if (strncmp(a, "--cgroup-dir=", 13) == 0) cgroup_dir = a + 13;
        else if (strncmp(a, "--keyring=", 10) == 0) p.session_keyring = a + 10;
        else if (strncmp(a, "--seccomp=", 10) == 0) seccomp = a + 10;
        else report(errfd, EINVAL, "nsexec: unknown argument %s", a);
    }
    if (errfd >= 0) fcntl(errfd, F_SETFD, FD_CLOEXEC);  // the command must not inherit it
    if (p.console_socket >= 0) fcntl(p.console_socket, F_SETFD, FD_CLOEXEC);
    if (pid <= 0 || i + 1 >= argc) report(errfd, EINVAL, "nsexec: %s", "usage: __nsexec --pid=PID ... -- CMD");
    p.groups = groups;
    p.envp = (const char *const *)envp;
    p.argv = (const char *const *)&argv[i + 1];

    // The container's seccomp filter (the BPF program box compiled, a file of root's in BOX_ROOT), read on the
    // host; the command loads it last before execve (box_exec_process). At most BPF_MAXINSNS instructions.
    static uint64_t filter[4096 + 1];  // one more: a file that fills it is too long
    if (seccomp) {
        int fd = open(seccomp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) report(errfd, errno, "open seccomp filter %s", seccomp);
        size_t have = 0;
        for (;;) {
            ssize_t n = read(fd, (char *)filter + have, sizeof filter - have);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) report(errfd, errno, "read seccomp filter %s", seccomp);
            if (n == 0 || (have += (size_t)n) == sizeof filter) break;
        }
        close(fd);
        if (have == 0 || have % sizeof filter[0] || have > 4096 * sizeof filter[0]) report(errfd, EINVAL, "seccomp filter %s", seccomp);
        p.seccomp_filter = filter;
        p.seccomp_len = (unsigned short)(have / sizeof filter[0]);
    }

    for (size_t c = 0; c < ncgroups; c++) {
        int fd = open(cgroups[c], O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) < 0) report(errfd, errno, "join cgroup %s", cgroups[c]);
        close(fd);
    }
    // cgroup v2: the command is cloned straight into the container's cgroup (writing cgroup.procs would wait for
    // an RCU grace period); its cgroup.procs is opened too, for a kernel without clone3. Both on the host, now.
    int cgroup_fd = -1, cgroup_procs = -1;
    if (cgroup_dir) {
        cgroup_fd = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgroup_fd < 0) report(errfd, errno, "open cgroup %s", cgroup_dir);
        cgroup_procs = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (cgroup_procs < 0) report(errfd, errno, "open cgroup.procs of %s", cgroup_dir);
    }

    // Open every namespace first: once we are in the container's mount namespace, /proc/PID is not ours.
    static const struct { const char *name; int type; } kinds[] = {
        {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
        {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS},
    };
    int fds[6];
    for (int k = 0; k < 6; k++) {
        char theirs[64], mine[64];
        snprintf(theirs, sizeof theirs, "/proc/%ld/ns/%s", pid, kinds[k].name);
        snprintf(mine, sizeof mine, "/proc/self/ns/%s", kinds[k].name);
        fds[k] = -1;
        if (same_namespace(mine, theirs)) continue;  // e.g. --network host: nothing to join
        fds[k] = open(theirs, O_RDONLY | O_CLOEXEC);
        if (fds[k] < 0) report(errfd, errno, "open %s (is the container running?)", theirs);
    }
    // The pid may have been recycled since `box exec` looked: only the process that started at --start will do.
    if (started && start_time(pid) != started) report(errfd, ESRCH, "the container's PID 1 (%s) is gone", argv[2] + 6);
    // With a v2 cgroup to join, the cgroup namespace is entered last, by the child once it is in that cgroup:
    // under nsdelegate (systemd's default) the kernel refuses a move by a process whose cgroup namespace does not
    // hold the source cgroup (ENOENT), and ours, here on the host, would not be inside the container's.
    int cgroup_ns = -1;
    if (cgroup_fd >= 0) { cgroup_ns = fds[0]; fds[0] = -1; }
    for (int k = 0; k < 6; k++) {
        if (fds[k] < 0) continue;
        if (setns(fds[k], kinds[k].type) < 0) report(errfd, errno, "setns into the %s namespace", kinds[k].name);
        close(fds[k]);
    }

    int joined = 0;
    pid_t child = cgroup_fd >= 0 ? box_fork_into_cgroup(cgroup_fd) : -1;
    if (child >= 0) joined = 1;
    else child = fork();  // no cgroup to be born in, or a kernel without clone3 (ENOSYS, E2BIG before 5.7)
    if (child < 0) report(errfd, errno, "fork%s", "");
    if (child == 0) {
        struct box_failure f = {0};
        if (cgroup_procs >= 0 && !joined && write(cgroup_procs, "0", 1) < 0)
            report(errfd, errno, "join cgroup %s", cgroup_dir);
        if (cgroup_ns >= 0 && setns(cgroup_ns, CLONE_NEWCGROUP) < 0)
            report(errfd, errno, "setns into the cgroup namespace%s", "");
        // A terminal from the container's own devpts (we are in its mount namespace now), as runc's exec does.
        if (p.console_socket < 0 || box_console("/dev/pts", NULL, p.console_socket, &f) == 0)
            box_exec_process(&p, &f);
        if (errfd >= 0 && write(errfd, &f, sizeof f) < 0) { /* exit code alone */ }
        _exit(f.err == ENOENT ? 127 : 126);
    }
    if (errfd >= 0) close(errfd);
    if (cgroup_ns >= 0) close(cgroup_ns);
    if (p.console_socket >= 0) close(p.console_socket);

    // Signals sent to us go to the command. With --tty, keyboard signals reach it through its own terminal
    // (`box exec` passes Ctrl-C on as a byte); without, the command is in a session of its own, away from the
    // caller's terminal, and `box exec` forwards Ctrl-C and Ctrl-\ to us like any other signal.
    nsexec_child = child;
    signal(SIGINT, p.tty ? SIG_IGN : forward_signal);
    signal(SIGQUIT, p.tty ? SIG_IGN : forward_signal);
    int forwarded[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
    for (size_t s = 0; s < sizeof forwarded / sizeof forwarded[0]; s++) signal(forwarded[s], forward_signal);

    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR) _exit(125);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

// This executable as no process may write it (CVE-2019-5736), for `box exec` to run nsexec from: what the
// container can reach through /proc/PID/exe of a process in it (nsexec's child, or a command that execs
// /proc/self/exe from a "#!/proc/self/exe" script) is then this, never box's file on the host. runc 1.2's
// way first (libcontainer/exeseal): the file through a private overlayfs of its directory, lower layers only
// and read-only, mounted with fsmount and attached nowhere, so nothing can remount it writable; it costs a
// mount, not a copy. Else runc's older way (libcontainer/nsenter/cloned_binary.c): a sealed memfd copy (tens
// of ms for box's size). `empty` is a directory for the overlay's second lower layer (it needs two).
// Returns a close-on-exec descriptor (posix_spawn it as /proc/self/fd/N, as fexecve does) or -1 with errno.
#ifndef SYS_fsopen
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif
static int sealed_overlay(const char *exe, const char *empty) {
    const char *slash = strrchr(exe, '/');
    if (!slash || slash == exe || strpbrk(exe, ":\\,") || strpbrk(empty, ":\\,")) return -1;
    char lower[2 * PATH_MAX + 2];
    if (snprintf(lower, sizeof lower, "%.*s:%s", (int)(slash - exe), exe, empty) >= (int)sizeof lower) return -1;
    if (mkdir(empty, 0700) < 0 && errno != EEXIST) return -1;
    int ctx = (int)syscall(SYS_fsopen, "overlay", 1 /* FSOPEN_CLOEXEC */);
    if (ctx < 0) return -1;
    int mnt = -1, fd = -1;
    if (syscall(SYS_fsconfig, ctx, 1 /* FSCONFIG_SET_STRING */, "lowerdir", lower, 0) == 0) {
        syscall(SYS_fsconfig, ctx, 1, "xino", "off", 0);  // not needed, and it would log when layers differ
        if (syscall(SYS_fsconfig, ctx, 6 /* FSCONFIG_CMD_CREATE */, NULL, NULL, 0) == 0)
            mnt = (int)syscall(SYS_fsmount, ctx, 1 /* FSMOUNT_CLOEXEC */, 0x1 | 0x2 | 0x4 /* MOUNT_ATTR_RDONLY|NOSUID|NODEV */);
    }
    close(ctx);
    if (mnt < 0) return -1;
    fd = openat(mnt, slash + 1, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    close(mnt);
    return fd;
}

int box_sealed_self(const char *empty) {
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        int fd = sealed_overlay(exe, empty);
        if (fd >= 0) return fd;
    }
    int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (src < 0) return -1;
    struct stat st;
    int fd = fstat(src, &st) == 0 ? memfd_create("box", MFD_CLOEXEC | MFD_ALLOW_SEALING) : -1;
    if (fd < 0) { int e = errno; close(src); errno = e; return -1; }
    off_t done = 0;
    while (done < st.st_size) {
        ssize_t n = sendfile(fd, src, &done, (size_t)(st.st_size - done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { int e = n < 0 ? errno : EIO; close(src); close(fd); errno = e; return -1; }
    }
    close(src);
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
        int e = errno; close(fd); errno = e; return -1;
    }
    return fd;
}
