// Container creation: clone the child, build its root filesystem, pivot into it, drop privileges, exec.
// The order mirrors runc's libcontainer/rootfs_linux.go and crun's linux.c, one guarded syscall per step; every
// failure names its stage and is carried back to the parent over a close-on-exec pipe.
#include "cspawn.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define BOX_CLONE_INTO_CGROUP 0x200000000ULL

// struct clone_args of linux/sched.h (version 2, with .cgroup), spelled out: that header and <sched.h> clash.
struct box_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static int fail(struct box_failure *f, int err, const char *fmt, const char *arg) {
    f->err = err;
    snprintf(f->stage, sizeof f->stage, fmt, arg ? arg : "");
    return -1;
}

// Mount targets are resolved inside the rootfs, never through it: a container may have replaced any directory
// of its own layer with a symlink (to a host path: "/vol -> /etc"), and box mounts again at every restart. Each
// target is opened with openat2 RESOLVE_IN_ROOT (every symlink and ".." on the way resolved as if the rootfs
// were /, runc's securejoin and crun's openat2 do the same), missing directories are made one component at a
// time below what was resolved, and the mount goes onto the descriptor (/proc/self/fd/N: the host's /proc,
// until pivot_root), not onto a path the kernel would walk again.
struct box_open_how { uint64_t flags, mode, resolve; };
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define BOX_RESOLVE_NO_MAGICLINKS 0x02
#define BOX_RESOLVE_IN_ROOT 0x10

static int rootfs_fd = -1;       // the rootfs, O_PATH (container_child opens it)
static size_t rootfs_len = 0;

// `target` below the rootfs, as a path relative to it ("." for the rootfs itself).
static const char *relative(const char *target) {
    const char *rel = target + rootfs_len;
    while (*rel == '/') rel++;
    return *rel ? rel : ".";
}

static int open_in_root(const char *rel, int flags) {
    struct box_open_how how = {.flags = (uint64_t)(O_PATH | O_CLOEXEC | flags),
                               .resolve = BOX_RESOLVE_IN_ROOT | BOX_RESOLVE_NO_MAGICLINKS};
    long fd;
    do fd = syscall(SYS_openat2, rootfs_fd, rel, &how, sizeof how); while (fd < 0 && errno == EAGAIN);
    return (int)fd;
}

// Opens `rel` in the rootfs, making what is missing (directories, and the last component as a file when
// `file`); O_PATH. -1 with f filled in.
static int make_in_root(const char *rel, int file, struct box_failure *f) {
    int fd = open_in_root(rel, 0);
    if (fd >= 0 || errno != ENOENT) return fd >= 0 ? fd : fail(f, errno, "resolve mount target /%s in the container", rel);
    char buf[PATH_MAX];
    size_t n = strlen(rel);
    if (n >= sizeof buf) return fail(f, ENAMETOOLONG, "mount target /%s", rel);
    memcpy(buf, rel, n + 1);
    int parent = open_in_root(".", 0);
    if (parent < 0) return fail(f, errno, "open the rootfs%s", "");
    for (size_t i = 0; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        if (i == 0 || buf[i - 1] == '/') continue;
        char saved = buf[i];
        buf[i] = '\0';
        int next = open_in_root(buf, 0);
        if (next < 0 && errno == ENOENT) {
            const char *name = strrchr(buf, '/');
            name = name ? name + 1 : buf;
            int rc;
            if (file && saved == '\0') {
                rc = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (rc >= 0) close(rc);
            } else {
                rc = mkdirat(parent, name, 0755);
            }
            if (rc < 0 && errno != EEXIST) { int e = errno; close(parent); return fail(f, e, "make mount target /%s", buf); }
            next = open_in_root(buf, 0);
            // Still missing: a symlink there leads to nothing (in the rootfs); not followed, not made.
            if (next < 0 && errno == ENOENT) {
                close(parent);
                return fail(f, ELOOP, "refusing to mount on /%s: it is a dangling symlink in the container", buf);
            }
        }
        if (next < 0) { int e = errno; close(parent); return fail(f, e, "resolve mount target /%s in the container", buf); }
        close(parent);
        parent = next;
        buf[i] = saved;
    }
    return parent;
}

static int do_mount(const struct box_mount *m, struct box_failure *f) {
    const char *rel = relative(m->target);
    if (m->symlink) {
        // Its directory is a tmpfs box mounted (v1's /sys/fs/cgroup): resolved in the rootfs all the same.
        char dir[PATH_MAX];
        const char *slash = strrchr(rel, '/');
        if (!slash || (size_t)(slash - rel) >= sizeof dir) return fail(f, EINVAL, "symlink %s", m->target);
        memcpy(dir, rel, (size_t)(slash - rel));
        dir[slash - rel] = '\0';
        int d = open_in_root(dir, O_DIRECTORY);
        if (d < 0) return fail(f, errno, "symlink %s", m->target);
        int rc = symlinkat(m->source, d, slash + 1);
        int e = errno;
        close(d);
        if (rc < 0 && e != EEXIST) return fail(f, e, "symlink %s", m->target);
        return 0;
    }
    // A bind of a file (the /etc files, a file volume) gets a file to cover; everything else a directory.
    struct stat src;
    int file = (m->flags & MS_BIND) && stat(m->source, &src) == 0 && !S_ISDIR(src.st_mode);
    int fd = (m->flags & MS_REMOUNT) ? open_in_root(rel, 0) : make_in_root(rel, file, f);
    if (fd < 0) return (m->flags & MS_REMOUNT) ? fail(f, errno, "open %s", m->target) : -1;
    char at[64];
    snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
    int rc = mount(m->source, at, m->fstype, m->flags, m->data);
    int e = errno;
    close(fd);
    if (rc < 0) return fail(f, e, "mount %s", m->target);
    // A bind mount ignores every flag but MS_REC on its first call: read-only and nodev (a volume's) are set
    // afterwards, all the way down (crun linux.c, runc rootfs_linux.go use mount_setattr for this), on the new
    // mount (resolved again: the descriptor above is the directory under it).
    unsigned long wanted = m->flags & (MS_NODEV | MS_NOSUID | MS_NOEXEC);
    if ((m->flags & MS_BIND) && (m->readonly || wanted)) {
        struct { uint64_t set, clr, prop, userns; } attr = {
            .set = (m->readonly ? 0x1 /* MOUNT_ATTR_RDONLY */ : 0) | (wanted & MS_NOSUID ? 0x2 /* MOUNT_ATTR_NOSUID */ : 0) |
                   (wanted & MS_NODEV ? 0x4 /* MOUNT_ATTR_NODEV */ : 0) | (wanted & MS_NOEXEC ? 0x8 /* MOUNT_ATTR_NOEXEC */ : 0)};
        fd = open_in_root(rel, 0);
        if (fd < 0) return fail(f, errno, "open %s", m->target);
        snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
        if (syscall(SYS_mount_setattr, fd, "", 0x8000 /* AT_RECURSIVE */ | AT_EMPTY_PATH, &attr, sizeof attr) == 0) {
            close(fd);
            return 0;
        }
        // Older kernels (before 5.12): remount the top one, keeping what its source mount had.
        struct statvfs sv;
        unsigned long keep = wanted | MS_BIND | MS_REMOUNT | (m->readonly ? MS_RDONLY : 0);
        if (statvfs(at, &sv) == 0)
            keep |= (sv.f_flag & ST_RDONLY ? MS_RDONLY : 0) | (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) |
                    (sv.f_flag & ST_NODEV ? MS_NODEV : 0) | (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
        rc = mount(NULL, at, NULL, keep, NULL);
        e = errno;
        close(fd);
        if (rc < 0) return fail(f, e, "remount %s", m->target);
    }
    return 0;
}

// The overlay is nosuid on the host (Rootfs.mountOverlay: no user there may run a setuid file a container
// planted), and a bind mount copies its flags. The container's own root is docker's: setuid bits and file
// capabilities count (su, ping; not under no_new_privs, which ignores both). Every other flag stays, nodev too.
static int allow_setuid(const char *rootfs, struct box_failure *f) {
    struct { uint64_t set, clr, prop, userns; } attr = {.clr = 0x2 /* MOUNT_ATTR_NOSUID */};
    if (syscall(SYS_mount_setattr, AT_FDCWD, rootfs, 0, &attr, sizeof attr) == 0) return 0;
    // Older kernels (before 5.12): a remount of the bind with the flags it has, but nosuid.
    struct statvfs sv;
    if (statvfs(rootfs, &sv) < 0) return fail(f, errno, "statvfs %s", rootfs);
    if (!(sv.f_flag & ST_NOSUID)) return 0;
    unsigned long keep = MS_BIND | MS_REMOUNT | (sv.f_flag & ST_NODEV ? MS_NODEV : 0)
        | (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0) | (sv.f_flag & ST_RDONLY ? MS_RDONLY : 0);
    if (mount(NULL, rootfs, NULL, keep, NULL) < 0) return fail(f, errno, "remount %s with setuid", rootfs);
    return 0;
}

// The device nodes docker and runc create in a container's /dev (runc's AllowedDevices defaults).
static const struct { const char *name; mode_t mode; unsigned major, minor; } devices[] = {
    {"null", 0666, 1, 3}, {"zero", 0666, 1, 5}, {"full", 0666, 1, 7},
    {"random", 0666, 1, 8}, {"urandom", 0666, 1, 9}, {"tty", 0666, 5, 0},
};
static const struct { const char *target, *name; } dev_links[] = {
    {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
    {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
};

// /dev is a nodev tmpfs (a device node made with CAP_MKNOD does not open there, whatever the device cgroup
// allows), and each allowed node is the host's own, bind-mounted (runc's bindMountDeviceNode).
static int make_devices(const char *rootfs, struct box_failure *f) {
    char path[PATH_MAX], host[64];
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        snprintf(path, sizeof path, "%s/dev/%s", rootfs, devices[i].name);
        snprintf(host, sizeof host, "/dev/%s", devices[i].name);
        struct stat st;
        if (stat(host, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != devices[i].major ||
            minor(st.st_rdev) != devices[i].minor)
            return fail(f, ENODEV, "host device %s is not the expected character device", host);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return fail(f, errno, "create %s", path);
        close(fd);
        if (mount(host, path, NULL, MS_BIND, NULL) < 0) return fail(f, errno, "bind %s", path);
    }
    for (size_t i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++) {
        snprintf(path, sizeof path, "%s/dev/%s", rootfs, dev_links[i].name);
        if (symlink(dev_links[i].target, path) < 0 && errno != EEXIST)
            return fail(f, errno, "symlink %s", path);
    }
    return 0;
}

// runc's maskPath: a directory gets an empty read-only tmpfs, a file gets /dev/null bound over it.
static int mask_path(const char *path, struct box_failure *f) {
    struct stat st;
    if (stat(path, &st) < 0) return 0;  // not on this kernel: nothing to hide
    int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0")
                                 : mount("/dev/null", path, NULL, MS_BIND, NULL);
    if (rc < 0) return fail(f, errno, "mask %s", path);
    return 0;
}

// runc's readonlyPath: bind the path onto itself, then remount that bind read-only.
static int readonly_path(const char *path, struct box_failure *f) {
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
        if (errno == ENOENT) return 0;
        return fail(f, errno, "bind %s", path);
    }
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return fail(f, errno, "remount read-only %s", path);
    return 0;
}

// --read-only: the root mount read-only, as runc's Readonlyfs (its submounts, /dev, /proc, the /etc files and the
// volumes, keep their own flags).
static int readonly_root(struct box_failure *f) {
    struct { uint64_t set, clr, prop, userns; } attr = {.set = 0x1 /* MOUNT_ATTR_RDONLY */};
    if (syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, &attr, sizeof attr) == 0) return 0;
    // Older kernels (before 5.12): a remount of the bind with the flags it has, and read-only.
    struct statvfs sv;
    if (statvfs("/", &sv) < 0) return fail(f, errno, "statvfs %s", "/");
    unsigned long keep = MS_BIND | MS_REMOUNT | MS_RDONLY | (sv.f_flag & ST_NODEV ? MS_NODEV : 0)
        | (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0) | (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0);
    if (mount(NULL, "/", NULL, keep, NULL) < 0) return fail(f, errno, "remount %s read-only", "/");
    return 0;
}

// --sysctl: each path written in the container's own /proc (its net and ipc namespaces are ours by now).
static int write_sysctls(const char *const *pairs, struct box_failure *f) {
    for (; pairs && pairs[0] && pairs[1]; pairs += 2) {
        int fd = open(pairs[0], O_WRONLY | O_CLOEXEC);
        if (fd < 0) return fail(f, errno, "sysctl %s", pairs[0]);
        ssize_t len = (ssize_t)strlen(pairs[1]);
        ssize_t n = write(fd, pairs[1], (size_t)len);
        int err = errno;
        close(fd);
        if (n != len) return fail(f, n < 0 ? err : EIO, "sysctl %s", pairs[0]);
    }
    return 0;
}

// --ulimit and --oom-score-adj, set by PID 1 on itself while it still has every capability: the command (and
// with --init, init and its child) inherits them across execve.
static int apply_limits(const struct box_container *c, struct box_failure *f) {
    for (size_t i = 0; i < c->nrlimits; i++) {
        struct rlimit rl = {.rlim_cur = c->rlimits[i].soft, .rlim_max = c->rlimits[i].hard};
        if (setrlimit(c->rlimits[i].resource, &rl) < 0) return fail(f, errno, "setrlimit %s", "(--ulimit)");
    }
    if (c->set_oom_score_adj) {
        char value[16];
        int len = snprintf(value, sizeof value, "%d", c->oom_score_adj);
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0) return fail(f, errno, "open %s", "/proc/self/oom_score_adj");
        ssize_t n = write(fd, value, (size_t)len);
        int err = errno;
        close(fd);
        if (n != len) return fail(f, n < 0 ? err : EIO, "write %s", "/proc/self/oom_score_adj");
    }
    return 0;
}

static int join_cgroups(const char *const *procs, struct box_failure *f) {
    for (; procs && *procs; procs++) {
        int fd = open(*procs, O_WRONLY | O_CLOEXEC);
        if (fd < 0) return fail(f, errno, "open %s", *procs);
        // "0" moves the writing process itself (cgroup-v2.rst, cgroups.txt).
        ssize_t n = write(fd, "0", 1);
        int err = errno;
        close(fd);
        if (n < 0) return fail(f, err, "join cgroup %s", *procs);
    }
    return 0;
}

// A new network namespace starts with lo down; docker's containers have it up (runc network_linux.go).
static int loopback_up(struct box_failure *f) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(f, errno, "socket for lo%s", "");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) { ifr.ifr_flags |= IFF_UP | IFF_RUNNING; rc = ioctl(fd, SIOCSIFFLAGS, &ifr); }
    int err = errno;
    close(fd);
    return rc < 0 ? fail(f, err, "bring lo up%s", "") : 0;
}

// Reads the failure a child may have written before it exec'd (EOF: it exec'd). On failure the child has
// exited or is about to: reap it. Returns 1 and fills `out` if a failure came.
static int collect_failure(int readfd, pid_t child, struct box_failure *out) {
    struct box_failure reported;
    ssize_t n;
    do n = read(readfd, &reported, sizeof reported); while (n < 0 && errno == EINTR);
    close(readfd);
    if (n != (ssize_t)sizeof reported) return 0;
    *out = reported;
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
    return 1;
}

// --init: PID 1 stays ours. It starts the command as its only child, passes on the signals it is sent
// (PID 1 of a pid namespace only gets signals it has a handler for: this is the handler), reaps every
// orphan that is reparented to it, and exits with the command's status. tini does the same.
static volatile pid_t init_child = 0;
static void init_forward(int sig) { if (init_child > 0) kill(init_child, sig); }

static int run_init(const struct box_container *c, struct box_failure *f) {
    // box-init holds the container's session keyring too, not the monitor's (the command joins the same one).
    if (box_join_session_keyring(&c->process, f) < 0) return -1;
    int sync[2];
    if (pipe2(sync, O_CLOEXEC) < 0) return fail(f, errno, "pipe for init%s", "");
    pid_t child = fork();
    if (child < 0) return fail(f, errno, "fork the command under init%s", "");
    if (child == 0) {
        close(sync[0]);
        box_exec_process(&c->process, f);
        if (write(sync[1], f, sizeof *f) < 0) { /* the exit code alone */ }
        _exit(127);
    }
    close(sync[1]);
    if (collect_failure(sync[0], child, f)) return -1;
    // The command runs. Keep nothing of the monitor (no fd, no capability beyond the container's), and
    // tell the monitor the start succeeded by closing the error pipe with the rest.
    box_close_span(0, ~0U);
    box_set_process_title("box-init");
    prctl(PR_SET_NAME, "box-init", 0, 0, 0);
    struct box_failure ignored;
    if (box_restrict_process(&c->process, &ignored) < 0) { kill(child, SIGKILL); _exit(125); }
    init_child = child;
    int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) signal(forwarded[i], init_forward);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (;;) {
        int status;
        pid_t done = waitpid(-1, &status, 0);
        if (done == child) _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        if (done < 0 && errno == ECHILD) _exit(0);
    }
}

struct child_args {
    const struct box_container *c;
    int error_fd;   // write end: a box_failure, or nothing (close-on-exec) once we exec
    int go_fd;      // read end: a byte to build the rootfs, a second to exec; EOF if the parent gave up
    int in_cgroup;  // cloned straight into its cgroup (v2): nothing to join
    struct box_failure failure;
};

// Closes every descriptor but those in `keep` (-1 entries ignored).
static void keep_only(int *keep, size_t n) {
    for (size_t i = 1; i < n; i++)  // insertion sort: a handful of entries, and no malloc in a cloned child
        for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) { int t = keep[j]; keep[j] = keep[j - 1]; keep[j - 1] = t; }
    unsigned from = 0;
    for (size_t i = 0; i < n; i++) {
        if (keep[i] < 0 || (unsigned)keep[i] < from) continue;
        if ((unsigned)keep[i] > from) box_close_span(from, (unsigned)keep[i] - 1);
        from = (unsigned)keep[i] + 1;
    }
    box_close_span(from, ~0U);
}

static int container_child(void *arg) {
    struct child_args *a = arg;
    const struct box_container *c = a->c;
    struct box_failure *f = &a->failure;
    // Not dumpable until it execs the command (execve makes it dumpable again): until then it is the box
    // binary in the container's pid namespace, and a process there must not open its /proc/PID/exe (the host's
    // box, CVE-2019-5736), mem or environ, nor ptrace it. box-init stays so for good.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    // The parent's death or box_abandon_container must read as EOF here: no copy of its write end may stay open,
    // here or in any other held child. Like fork, this clone copied every descriptor of the parent, and in a
    // parent with threads that can include the parent's ends of another child held at the same moment: kept,
    // each would wait for the other's EOF for ever. So keep only what this child uses, first thing. (The
    // monitor has one thread and one container; a test process holding children from many threads does not.)
    int keep[] = {0, 1, 2, a->error_fd, a->go_fd, c->netns_fd, c->process.stdin_fd, c->process.stdout_fd,
                  c->process.stderr_fd, c->process.console_socket};
    keep_only(keep, sizeof keep / sizeof keep[0]);

    // Join the resource cgroups first (PID 1 never runs a moment without its limits): on v1 through the `tasks`
    // files the caller gives, where a thread moving itself takes no global lock and waits for no RCU grace period
    // (cgroup.procs would, 5-25 ms). The parent mounts the root filesystem meanwhile, and says when we may go on.
    if (!a->in_cgroup && join_cgroups(c->cgroup_procs, f) < 0) goto out;
    char go;
    ssize_t n;
    do n = read(a->go_fd, &go, 1); while (n < 0 && errno == EINTR);
    if (n != 1) _exit(0);  // abandoned: the start failed before we ran anything

    // Our mount namespace is copied now, not at clone: it must hold the overlay the parent mounted since.
    if (unshare(CLONE_NEWNS) < 0) { fail(f, errno, "unshare mount namespace%s", ""); goto out; }
    // Then a cgroup namespace: its root is the cgroup we are in now, so the container sees its own as "/".
    if ((c->namespaces & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) { fail(f, errno, "unshare cgroup namespace%s", ""); goto out; }
    if (c->netns_fd >= 0 && setns(c->netns_fd, CLONE_NEWNET) < 0) { fail(f, errno, "join network namespace%s", ""); goto out; }
    if ((c->namespaces & CLONE_NEWNET) && c->netns_fd < 0 && loopback_up(f) < 0) goto out;

    // Nothing we mount may propagate back to the host, and no host mount event may reach us.
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) { fail(f, errno, "make / private%s", ""); goto out; }
    // pivot_root needs the new root to be a mount point of its own.
    if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) { fail(f, errno, "bind rootfs %s", c->rootfs); goto out; }
    if (allow_setuid(c->rootfs, f) < 0) goto out;

    // /proc, /sys, /dev and the user's volumes, in the order the caller listed them (proc before pivot_root),
    // each resolved inside the rootfs (do_mount).
    rootfs_len = strlen(c->rootfs);
    rootfs_fd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfs_fd < 0) { fail(f, errno, "open rootfs %s", c->rootfs); goto out; }
    for (size_t i = 0; i < c->nmounts; i++)
        if (do_mount(&c->mounts[i], f) < 0) goto out;
    close(rootfs_fd);
    // A /dev the user mounted (-v DIR:/dev) is theirs: no device node, link or console of ours is made in it
    // (they would land in DIR on the host).
    if (!c->user_dev && make_devices(c->rootfs, f) < 0) goto out;
    if (c->process.console_socket >= 0 && c->user_dev) {
        // A terminal from the user's /dev/pts, if it holds one; nothing is bound over their /dev/console.
        char pts[PATH_MAX];
        snprintf(pts, sizeof pts, "%s/dev/pts", c->rootfs);
        if (box_console(pts, NULL, c->process.console_socket, f) < 0) goto out;
    } else if (c->process.console_socket >= 0) {
        // The terminal comes from the container's own devpts and is bound over /dev/console, as runc does.
        char pts[PATH_MAX], console[PATH_MAX];
        snprintf(pts, sizeof pts, "%s/dev/pts", c->rootfs);
        snprintf(console, sizeof console, "%s/dev/console", c->rootfs);
        int fd = open(console, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) { fail(f, errno, "create %s", console); goto out; }
        close(fd);
        if (box_console(pts, console, c->process.console_socket, f) < 0) goto out;
    }

    // runc's maskedPaths, in the container's own /proc and /sys (mounted above), before pivot_root: a file is
    // covered with the host's /dev/null (the container's /dev may be a volume of the user's without one).
    for (const char *const *p = c->masked_paths; p && *p; p++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s%s", c->rootfs, *p);
        if (mask_path(path, f) < 0) goto out;
    }

    if (c->hostname && (c->namespaces & CLONE_NEWUTS) && sethostname(c->hostname, strlen(c->hostname)) < 0) {
        fail(f, errno, "sethostname %s", c->hostname); goto out;
    }
    if (c->domainname && (c->namespaces & CLONE_NEWUTS) && setdomainname(c->domainname, strlen(c->domainname)) < 0) {
        fail(f, errno, "setdomainname %s", c->domainname); goto out;
    }

    // pivot_root(".", ".") then detach the old root: runc's trick, no temporary directory needed.
    if (chdir(c->rootfs) < 0) { fail(f, errno, "chdir %s", c->rootfs); goto out; }
    if (syscall(SYS_pivot_root, ".", ".") < 0) { fail(f, errno, "pivot_root %s", c->rootfs); goto out; }
    if (umount2(".", MNT_DETACH) < 0) { fail(f, errno, "detach old root%s", ""); goto out; }
    if (chdir("/") < 0) { fail(f, errno, "chdir /%s", ""); goto out; }

    if (c->readonly_rootfs && readonly_root(f) < 0) goto out;
    // With --sysctl, /proc/sys stays writable until they are written: a net.* one may name the interface the
    // parent is still adding.
    int late = c->sysctls && c->sysctls[0];
    if (!late)
        for (const char *const *p = c->readonly_paths; p && *p; p++)
            if (readonly_path(*p, f) < 0) goto out;

    // The root filesystem is built while the parent configures the network; the second byte says it is ready.
    // EOF: the start failed meanwhile, and nothing of the container's has run.
    do n = read(a->go_fd, &go, 1); while (n < 0 && errno == EINTR);
    if (n != 1) _exit(0);
    close(a->go_fd);
    if (late) {
        if (write_sysctls(c->sysctls, f) < 0) goto out;
        for (const char *const *p = c->readonly_paths; p && *p; p++)
            if (readonly_path(*p, f) < 0) goto out;
    }
    if (apply_limits(c, f) < 0) goto out;
    box_cpus_restore();  // moved off the monitor's CPU for the part above (title.c)

    if (c->init) {
        for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
        run_init(c, f);
    } else {
        box_exec_process(&c->process, f);
    }
out:
    // The parent reads this in box_await_container, after it has let us go on.
    if (write(a->error_fd, f, sizeof *f) < 0) { /* nothing left to tell */ }
    _exit(127);
}

int box_clone_container(const struct box_container *c, struct box_pending *p, struct box_failure *failure) {
    memset(failure, 0, sizeof *failure);
    *p = (struct box_pending){.pid = -1, .pidfd = -1, .go_fd = -1, .error_fd = -1, .went = 0};
    int errors[2], go[2];
    if (pipe2(errors, O_CLOEXEC) < 0) return fail(failure, errno, "pipe%s", "");
    if (pipe2(go, O_CLOEXEC) < 0) {
        int e = errno;
        close(errors[0]); close(errors[1]);
        return fail(failure, e, "pipe%s", "");
    }

    // The child's stack, with a guard page below it so an overflow faults.
    const size_t stack_size = 1 << 20, guard = 4096;
    char *stack = mmap(NULL, stack_size + guard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        int e = errno;
        close(errors[0]); close(errors[1]); close(go[0]); close(go[1]);
        return fail(failure, e, "mmap stack%s", "");
    }
    mprotect(stack, guard, PROT_NONE);

    box_cpus_remember();  // for the child to take back (a re-executed monitor has not yet)
    // No signal handler of ours may run in the child before it has reset them (glibc's spawni.c does this).
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);

    struct child_args args = {.c = c, .error_fd = errors[1], .go_fd = go[0]};
    // A fork-like clone, not CLONE_VM|CLONE_VFORK: we go on (mounting, networking) while the child waits and
    // then builds its root filesystem, so it needs memory of its own; everything it reads was set up before this
    // call. Its mount and cgroup namespaces are unshared when it goes on; pid, UTS, IPC and network ones are
    // made here.
    int flags = (c->namespaces & ~(CLONE_NEWNS | CLONE_NEWCGROUP)) | CLONE_PIDFD | SIGCHLD;
    if (c->netns_fd >= 0) flags &= ~CLONE_NEWNET;
    int fd = -1;
    pid_t pid = -1;
    if (c->cgroup_fd >= 0) {
        // cgroup v2: born in its cgroup (as crun does with clone3), so it has nothing to join and no grace period
        // to wait for. Like fork, the child goes on from here on its copy of our stack. Any failure (ENOSYS,
        // E2BIG or EINVAL before Linux 5.7, EPERM from a seccomp filter) falls back to clone and joining.
        struct box_clone_args ca = {.flags = (uint64_t)(flags & ~0xff) | BOX_CLONE_INTO_CGROUP, .pidfd = (uint64_t)(uintptr_t)&fd,
                                    .exit_signal = SIGCHLD, .cgroup = (uint64_t)c->cgroup_fd};
        pid = syscall(SYS_clone3, &ca, sizeof ca);
        if (pid == 0) {
            args.in_cgroup = 1;
            container_child(&args);  // never returns
            _exit(127);
        }
    }
    if (pid < 0) pid = clone(container_child, stack + guard + stack_size, flags, &args, &fd);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, stack_size + guard);
    close(errors[1]);
    close(go[0]);
    if (pid < 0) {
        close(errors[0]); close(go[1]);
        return fail(failure, clone_errno, "clone%s", "");
    }
    box_cpus_move_off(pid);  // it builds its root filesystem while we set up the network (title.c)
    *p = (struct box_pending){.pid = pid, .pidfd = fd, .go_fd = go[1], .error_fd = errors[0]};
    return 0;
}

pid_t box_fork_into_cgroup(int cgroup_fd) {
    struct box_clone_args ca = {.flags = BOX_CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup_fd};
    return (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
}

void box_go_container(struct box_pending *p) {
    if (p->went || p->go_fd < 0) return;
    // A child that failed already (joining its cgroups) is gone: EPIPE here, and its failure waits in the pipe
    // for box_await_container.
    ssize_t n;
    do n = write(p->go_fd, "g", 1); while (n < 0 && errno == EINTR);
    p->went = 1;
}

void box_release_container(struct box_pending *p) {
    if (p->go_fd < 0) return;
    // A child that failed already (joining its cgroups, building its root) is gone: EPIPE here, and its failure
    // in the pipe.
    ssize_t n;
    do n = write(p->go_fd, p->went ? "e" : "ge", p->went ? 1 : 2); while (n < 0 && errno == EINTR);
    close(p->go_fd);
    p->go_fd = -1;
}

int box_await_container(struct box_pending *p, struct box_failure *failure) {
    memset(failure, 0, sizeof *failure);
    box_release_container(p);  // if the caller did not
    int failed = collect_failure(p->error_fd, p->pid, failure);  // closes error_fd
    p->error_fd = -1;
    if (failed) {
        if (p->pidfd >= 0) close(p->pidfd);
        p->pidfd = -1;
        return -1;
    }
    return 0;
}

void box_abandon_container(struct box_pending *p) {
    if (p->go_fd >= 0) close(p->go_fd);  // the child reads EOF and exits without running anything
    if (p->error_fd >= 0) close(p->error_fd);
    if (p->pidfd >= 0) close(p->pidfd);
    if (p->pid > 0) while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR) {}
    *p = (struct box_pending){.pid = -1, .pidfd = -1, .go_fd = -1, .error_fd = -1};
}
