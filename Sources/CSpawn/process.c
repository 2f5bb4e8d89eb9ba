// The last steps before exec, shared by a container's PID 1 and by `box exec`: stdio, session, working directory,
// capabilities, user, then exec with a PATH lookup in the container's own environment.
#include "cspawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void fail(struct box_failure *f, int err, const char *fmt, const char *arg) {
    f->err = err;
    snprintf(f->stage, sizeof f->stage, fmt, arg ? arg : "");
}

int box_cap_last(void) {
    int last = CAP_LAST_CAP;
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[16] = {0};
        if (read(fd, buf, sizeof buf - 1) > 0) last = atoi(buf);
        close(fd);
    }
    return last > 63 ? 63 : last;
}

int box_cap_from_name(const char *name) {
    if (strncasecmp(name, "CAP_", 4) == 0) name += 4;
    for (int cap = 0; cap <= 63; cap++) {
        const char *known = box_cap_name(cap);
        if (known && strcasecmp(known, name) == 0) return cap;
    }
    return -1;
}

const char *box_cap_name(int cap) {
    // libcap's cap_to_name allocates; a static table keeps this usable anywhere.
    static const char *const names[] = {
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE",
    };
    if (cap < 0 || cap >= (int)(sizeof names / sizeof names[0])) return NULL;
    return names[cap];
}

// runc's order (libcontainer/init_linux.go finalizeNamespace): bounding set first, while CAP_SETPCAP is still
// held (for uid 0 exec recomputes permitted from the bounding set, so capset alone would be undone); then
// change ids with PR_SET_KEEPCAPS so a --cap-drop ALL -u 1000 still works; then permitted/effective, with
// nothing inheritable or ambient. Raw syscalls: glibc's setuid family signals every thread of a process it
// believes multi-threaded, and this may run in a CLONE_VM child whose parent has threads.
static int drop_bounding_set(const struct box_process *p, struct box_failure *f) {
    for (int cap = 0; cap <= p->last_cap; cap++) {
        if (p->caps & (1ULL << cap)) continue;
        if (cap_drop_bound((cap_value_t)cap) < 0 && errno != EINVAL) {
            fail(f, errno, "drop capability %s from the bounding set", box_cap_name(cap));
            return -1;
        }
    }
    return 0;
}

static int set_ids(const struct box_process *p, struct box_failure *f) {
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) { fail(f, errno, "set keepcaps%s", ""); return -1; }
    if (syscall(SYS_setgroups, p->ngroups, p->groups) < 0) { fail(f, errno, "setgroups%s", ""); return -1; }
    if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0) { fail(f, errno, "setgid %s", ""); return -1; }
    if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0) { fail(f, errno, "setuid %s", ""); return -1; }
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) { fail(f, errno, "clear keepcaps%s", ""); return -1; }
    return 0;
}

static int apply_capabilities(const struct box_process *p, struct box_failure *f) {
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
        fail(f, errno, "clear ambient capabilities%s", "");
        return -1;
    }
    // capset(2) directly: cap_init() would allocate.
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {{0}};
    data[0].effective = data[0].permitted = (uint32_t)p->caps;
    data[1].effective = data[1].permitted = (uint32_t)(p->caps >> 32);
    if (syscall(SYS_capset, &header, data) < 0) {
        fail(f, errno, "set capabilities%s", "");
        return -1;
    }
    return 0;
}

static int setup_stdio(const struct box_process *p, struct box_failure *f) {
    int fds[3] = {p->stdin_fd, p->stdout_fd, p->stderr_fd};
    for (int i = 0; i < 3; i++) {
        if (fds[i] < 0 || fds[i] == i) continue;
        if (dup2(fds[i], i) < 0) { fail(f, errno, "dup2 stdio%s", ""); return -1; }
    }
    // Always a session of its own (runc's nsexec does the same): without one, a `box exec` command would share
    // the session of the admin's shell, with the admin's terminal as its controlling terminal (/dev/tty, and
    // TIOCSTI to type commands into that shell once exec returns).
    if (setsid() < 0 && getsid(0) != getpid()) { fail(f, errno, "setsid%s", ""); return -1; }
    // With -t, the pty becomes its controlling terminal: Ctrl-C then reaches the container's foreground job.
    if (p->tty && ioctl(0, TIOCSCTTY, 0) < 0) { fail(f, errno, "set controlling terminal%s", ""); return -1; }
    return 0;
}

// execvp's search, but in the PATH of the process's own environment, and without allocating.
static void exec_in_path(const struct box_process *p, struct box_failure *f) {
    const char *file = p->argv[0];
    char *const *argv = (char *const *)p->argv;
    char *const *envp = (char *const *)p->envp;
    if (strchr(file, '/')) {
        execve(file, argv, envp);
        fail(f, errno, "exec %s", file);
        return;
    }
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const char *const *e = p->envp; e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
    int saw_eacces = 0;
    char candidate[PATH_MAX];
    while (*path) {
        const char *end = strchrnul(path, ':');
        size_t len = (size_t)(end - path);
        if (len == 0) len = 1, path = ".";  // an empty entry means the current directory
        if (len + 1 + strlen(file) < sizeof candidate) {
            memcpy(candidate, path, len);
            candidate[len] = '/';
            strcpy(candidate + len + 1, file);
            execve(candidate, argv, envp);
            if (errno == EACCES) saw_eacces = 1;
            // Found, but not something the kernel runs (a script without #!): that is the answer (execvp
            // would hand it to /bin/sh; runc and docker do not).
            if (errno == ENOEXEC) { fail(f, ENOEXEC, "exec %s", candidate); return; }
        }
        path = *end ? end + 1 : end;
    }
    // Docker's wording, and its exit codes: 127 for not found, 126 for found but not executable.
    fail(f, saw_eacces ? EACCES : ENOENT, "exec: \"%s\": executable file not found in $PATH", file);
}

void box_exec_process(const struct box_process *p, struct box_failure *f) {
    // Default actions first, then unblock: the parent's handlers must never run here (glibc's spawni.c order).
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);

    if (setup_stdio(p, f) < 0) return;
    // A session keyring of the container's own, before the filter forbids keyctl: without it the process would
    // hold the session keyring of whoever ran box (root's own keys, or root's user-session one, _uid_ses.0).
    if (box_join_session_keyring(p, f) < 0) return;
    if (p->cwd && chdir(p->cwd) < 0) { fail(f, errno, "chdir to working directory %s", p->cwd); return; }
    if (drop_bounding_set(p, f) < 0) return;
    if (set_ids(p, f) < 0) return;
    if (apply_capabilities(p, f) < 0) return;
    if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) { fail(f, errno, "set no_new_privs%s", ""); return; }
    // Nothing but stdio may cross into the container: whatever fds box, the monitor or the user's shell
    // had open are closed at exec (runc's CloseExecFrom, crun's mark_or_close_fds_ge_than).
    box_cloexec_from(3);
    // The seccomp filter last, so that nothing box does itself needs the profile's leave (runc sets it "as close
    // to execve as possible"): after it, only execve (allowed by docker's profile) and, if that fails, a write
    // of the failure.
    if (box_seccomp_load(p, f) < 0) return;
    exec_in_path(p, f);
}

int box_restrict_process(const struct box_process *p, struct box_failure *f) {
    if (drop_bounding_set(p, f) < 0 || apply_capabilities(p, f) < 0) return -1;
    if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) { fail(f, errno, "set no_new_privs%s", ""); return -1; }
    return box_seccomp_load(p, f);
}

int box_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int box_pidfd_signal(int pidfd, int sig) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }
