// CSpawn: the only C in boxlab. It holds what must not run on a multi-threaded Swift runtime (namespace entry for
// `box exec`, in a constructor that runs before Swift starts) and what Swift cannot call well (clone with a child
// function, variadic syscalls). Everything here works on memory the caller prepared: a cloned child must not
// allocate (a raw clone of a multi-threaded parent may inherit a malloc lock another thread held).
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/statfs.h>  // statfs(2) for Swift (filesystem types: cgroup2 or not), which Glibc's module lacks
#include <sys/types.h>

/// One mount the container's child makes in its new mount namespace, before pivot_root.
struct box_mount {
    const char *source;
    const char *target;     ///< absolute host path (already below the rootfs), resolved inside the rootfs (symlinks
                            ///< included); created if missing: a file for a bind of a file, else a directory
    const char *fstype;     ///< NULL for a bind mount
    unsigned long flags;
    const char *data;
    int readonly;           ///< remount read-only afterwards (a bind mount ignores MS_RDONLY on its first call)
    int symlink;            ///< no mount: a symlink at `target` to `source` (v1's cpu -> cpu,cpuacct)
};

/// The process to exec: PID 1 of a container, or a process joining one (`box exec`).
struct box_process {
    const char *const *argv;  ///< argv[0] without a slash is looked up in the PATH of envp, as execvp would
    const char *const *envp;
    const char *cwd;          ///< inside the container
    uint32_t uid, gid;
    const uint32_t *groups;   ///< supplementary groups: the primary one and those of the image's /etc/group
    size_t ngroups;           ///< that list the user (see UserSpec); none if ngroups is 0
    uint64_t caps;            ///< capability bits kept in the bounding, permitted and effective sets
    int last_cap;             ///< /proc/sys/kernel/cap_last_cap
    int no_new_privs;
    int stdin_fd, stdout_fd, stderr_fd;
    int tty;                  ///< stdin is a terminal: make it the controlling terminal (a session of its
                              ///< own the process gets in any case)
    int console_socket;       ///< -1, or a socket: open a pty in the container's own devpts, make its slave
                              ///< stdio, and send the master back over this socket (runc's --console-socket)
    const char *session_keyring;  ///< NULL, or the session keyring to join ("_ses.<id>"), so that the
                                  ///< process never holds the host's (runc's JoinSessionKeyring)
    const void *seccomp_filter;   ///< a BPF program (struct sock_filter[seccomp_len]) to load last before
    unsigned short seccomp_len;   ///< execve; 0: no filter (seccomp=unconfined)
};

/// One --ulimit: a resource (RLIMIT_*) with its soft and hard limits (RLIM_INFINITY for -1).
struct box_rlimit {
    int resource;
    uint64_t soft, hard;
};

/// Everything the child needs to become a container.
struct box_container {
    struct box_process process;
    const char *rootfs;                  ///< the merged overlay directory on the host
    const char *hostname;
    int namespaces;                      ///< CLONE_NEW* flags (mount and cgroup ones are unshared when PID 1 goes on)
    int netns_fd;                        ///< -1, or a network namespace to join instead of a new one
    const struct box_mount *mounts;
    size_t nmounts;
    const char *const *masked_paths;     ///< inside the container, NULL-terminated (runc's maskedPaths)
    const char *const *readonly_paths;   ///< inside the container, NULL-terminated (runc's readonlyPaths)
    const char *const *cgroup_procs;     ///< files to write 0 to, to join the cgroups (v1: each hierarchy's
                                         ///< tasks file), NULL-terminated (may be NULL)
    int cgroup_fd;                       ///< -1, or a cgroup v2 directory to clone PID 1 straight into
                                         ///< (clone3 CLONE_INTO_CGROUP, Linux 5.7); then cgroup_procs is only
                                         ///< the fallback for a kernel without it
    int init;                            ///< --init: PID 1 is a tiny init that runs the process as its child,
                                         ///< forwards signals to it and reaps zombies (what tini is to docker)
    int user_dev;                        ///< a volume is mounted at /dev: no device node, link or console is
                                         ///< made in it (it is a host directory)
    // docker's run flags that PID 1 applies to itself (RunFlags): all zero/NULL when not given.
    const char *domainname;              ///< --domainname: setdomainname in the new UTS namespace
    const char *const *sysctls;          ///< --sysctl: NULL-terminated pairs of a /proc/sys path and its value,
                                         ///< written in the container's own namespaces (net, ipc) after the
                                         ///< parent has finished its network, before /proc/sys is made read-only
    int readonly_rootfs;                 ///< --read-only: the root mount read-only (its submounts stay as they are)
    const struct box_rlimit *rlimits;    ///< --ulimit: set before exec, while PID 1 may still raise hard limits
    size_t nrlimits;
    int set_oom_score_adj;               ///< --oom-score-adj: write oom_score_adj to /proc/self/oom_score_adj
    int oom_score_adj;
};


/// What failed in a child, carried back over a pipe: the stage ("pivot_root(/var/lib/...)") and errno.
struct box_failure {
    int err;
    char stage[496];
};

/// A container's PID 1, cloned and held back (see box_clone_container).
struct box_pending {
    pid_t pid;      ///< on the host
    int pidfd;      ///< readable when it exits
    int go_fd;      ///< a first byte lets it build its root filesystem, a second lets it exec; closing it
                    ///< makes it exit, having run nothing of the container's
    int error_fd;   ///< a box_failure, or EOF once it has exec'd
    int went;       ///< the first byte was sent (box_go_container)
};

/// Clones the container's PID 1, which joins its cgroups at once (or is cloned into its v2 cgroup) and then waits
/// while the caller mounts the root filesystem. The child makes its mount namespace only when it goes on, so it
/// sees those mounts.
/// 0, or -1 with `failure` filled in.
int box_clone_container(const struct box_container *c, struct box_pending *p, struct box_failure *failure);
/// fork(), but the child is born in the cgroup v2 directory `cgroup_fd` (clone3 CLONE_INTO_CGROUP, Linux 5.7):
/// no cgroup.procs write, so no RCU grace period. -1 with errno if the kernel cannot. For C only (nsexec): a
/// Swift process must not fork.
pid_t box_fork_into_cgroup(int cgroup_fd);
/// This executable as no one can write it, for `box exec` to run nsexec from (CVE-2019-5736): through a private
/// read-only overlayfs (runc 1.2), `empty` an empty directory for its second layer, else a sealed memfd copy.
/// A close-on-exec descriptor, or -1 with errno.
int box_sealed_self(const char *empty);
/// Lets a held PID 1 build its root filesystem (mounts, pivot_root) while the caller finishes what only the
/// command itself needs (the network); it then waits for box_release_container before it execs.
void box_go_container(struct box_pending *p);
/// Lets a held PID 1 go on to exec (release), and returns 0 once it has exec'd, or -1 with `failure` filled in (the
/// child reaped) (await; it releases first if the caller did not). A caller may do work between the two, while
/// PID 1 execs. The caller must ignore SIGPIPE (the monitor does): a child that already failed has closed its end.
void box_release_container(struct box_pending *p);
int box_await_container(struct box_pending *p, struct box_failure *failure);
/// Gives up on a held PID 1: it exits without running anything, and is reaped here.
void box_abandon_container(struct box_pending *p);

/// Turns the calling process into `p` (stdio, session, cwd, capabilities, ids, exec). Returns only on failure,
/// with `failure` filled in. Used by the container child and by nsexec.
void box_exec_process(const struct box_process *p, struct box_failure *failure);

/// The capability and no_new_privs part of box_exec_process, without changing ids or exec'ing (for --init).
int box_restrict_process(const struct box_process *p, struct box_failure *failure);

/// Writes the BPF program of docker's default seccomp profile for a container whose bounding set is `caps` to
/// `out_fd` (seccomp.c; the profile is seccomp_profile.h, generated from moby's default.json). 0, or -errno, with
/// the syscall that failed in `failed` (if given).
int box_seccomp_compile(uint64_t caps, int out_fd, char *failed, size_t failed_cap);
/// What the generated profile is (moby's default.json, by its sha256) and which libseccomp compiles it: part of
/// the name of a compiled filter kept for reuse. The string is static.
const char *box_seccomp_default_id(void);
/// The libseccomp box compiles filters with ("libseccomp2.5.4"): part of a kept filter's name. Static.
const char *box_seccomp_library(void);
/// One condition on a syscall's argument, as docker's profiles write it: `op` is libseccomp's SCMP_CMP_* (1 NE,
/// 2 LT, 3 LE, 4 EQ, 5 GE, 6 GT, 7 MASKED_EQ: `value` is then the mask, `value_two` what the masked argument
/// must equal).
struct box_seccomp_arg { uint32_t index, op; uint64_t value, value_two; };
/// One rule of a profile of the user's (--security-opt seccomp=FILE), already chosen for the container (its
/// includes/excludes read by the caller): the syscall, its action (a SECCOMP_RET_* value with its data), and
/// conditions that must all hold.
struct box_seccomp_call { const char *name; uint32_t action; const struct box_seccomp_arg *args; uint32_t nargs; };
/// Writes the BPF program of such a profile to `out_fd`: `default_action` for every other syscall, the
/// architectures in `arches` (libseccomp's names, "x86_64", "x86", "x32"; NULL-terminated) besides the native
/// one. 0, or -errno, with the name that failed in `failed`.
int box_seccomp_compile_calls(uint32_t default_action, const char *const *arches, const struct box_seccomp_call *calls,
                              size_t ncalls, int out_fd, char *failed, size_t failed_cap);
/// Loads `p`'s seccomp filter into the calling thread (nothing if it has none). 0, or -1 with `failure` filled.
int box_seccomp_load(const struct box_process *p, struct box_failure *failure);
/// Joins `p`'s session keyring (nothing if it names none). 0, or -1 with `failure` filled.
int box_join_session_keyring(const struct box_process *p, struct box_failure *failure);

/// Capability number for a name such as "NET_ADMIN" or "CAP_NET_ADMIN", or -1.
int box_cap_from_name(const char *name);
/// Name (without "CAP_") for a capability number, or NULL. The string is static.
const char *box_cap_name(int cap);
/// The highest capability this kernel knows.
int box_cap_last(void);

/// pidfd_open(2), for a process the caller did not clone.
int box_pidfd_open(pid_t pid);
/// pidfd_send_signal(2): signals exactly the process the pidfd names, never a recycled pid.
int box_pidfd_signal(int pidfd, int sig);

/// Opens a pty in the devpts mounted at `pts_dir` (the container's), makes the slave fds 0-2, binds it over
/// `console` if given, and sends the master over `socket`. Returns 0, or -1 with `failure` filled.
int box_console(const char *pts_dir, const char *console, int socket, struct box_failure *failure);
/// Receives one file descriptor sent with SCM_RIGHTS; -1 with errno on failure.
int box_recv_fd(int socket);

/// TIOCGWINSZ / TIOCSWINSZ (ioctl is variadic, so Swift cannot call it).
int box_get_winsize(int fd, unsigned short *rows, unsigned short *cols);
int box_set_winsize(int fd, unsigned short rows, unsigned short cols);

/// Namespace flags (sched.h hides them without _GNU_SOURCE, which Swift's importer does not set).
enum {
    BOX_CLONE_NEWNS = 0x00020000,
    BOX_CLONE_NEWCGROUP = 0x02000000,
    BOX_CLONE_NEWUTS = 0x04000000,
    BOX_CLONE_NEWIPC = 0x08000000,
    BOX_CLONE_NEWPID = 0x20000000,
    BOX_CLONE_NEWNET = 0x40000000,
};

/// GNU calls Swift's Glibc module does not show: pipe2(O_CLOEXEC), accept4(SOCK_CLOEXEC),
/// signalfd(SFD_CLOEXEC) over `mask`.
int box_pipe_cloexec(int fds[2]);
/// overlayfs's opaque-directory mark (the trusted.overlay.opaque xattr): set it, or ask whether it is set.
int box_set_opaque(const char *dir);
int box_is_opaque(const char *dir);
/// flistxattr(fd, NULL, 0): the size of the list of a file's extended attribute names (0: it has none), or -1.
long box_xattr_list_size(int fd);
/// Closes every descriptor from `lowfd` up (close_range, or one at a time where that fails).
int box_close_from(int lowfd);
/// Closes descriptors lo..hi (close_range, or one at a time below the descriptor limit where that fails).
void box_close_span(unsigned lo, unsigned hi);
/// Marks every descriptor from `lo` up close-on-exec (close_range with CLOSE_RANGE_CLOEXEC, or one at a time).
void box_cloexec_from(unsigned lo);
int box_accept_cloexec(int listener);
int box_signalfd_cloexec(const void *mask);
/// renameat2(RENAME_EXCHANGE): swaps the files at `a` and `b` atomically. 0, or -1 with errno (ENOENT: one is
/// missing; EINVAL: a filesystem that cannot exchange).
int box_rename_exchange(const char *a, const char *b);

/// fork(2), which Swift marks unavailable. Only for a process with a single thread (the caller checks).
pid_t box_fork(void);
/// Running apart (title.c): remember this process's allowed CPUs before a fork or clone (the first time, and
/// again once it has taken its own back; the child gets the copy), move the new child off the caller's CPU,
/// and, in the child, take all CPUs back. Only where the process may run on every online CPU.
void box_cpus_remember(void);
void box_cpus_move_off(pid_t child);
void box_cpus_restore(void);
/// Number of threads of the calling process (from /proc/self/stat), or -1.
int box_thread_count(void);
/// Rewrites what `ps` shows for this process (its comm and, as far as it fits, its command line), as
/// setproctitle does: a forked monitor shows `box-monitor ID`, not the command that started it.
void box_set_process_title(const char *title);

/// Reads `file` (up to `cap` bytes into `buf`) as a child that has joined the namespace `ns_path`
/// (/proc/PID/ns/uts, /proc/PID/ns/ipc): the lab's probe for hostnames and IPC objects of other namespaces.
/// Returns the number of bytes read, or -errno.
ssize_t box_ns_read(const char *ns_path, const char *file, char *buf, size_t cap);

/// A new, empty network namespace, returned as an open descriptor (O_CLOEXEC); the calling thread stays in
/// its own. -errno on failure.
int box_make_netns(void);

// A route netlink socket (NETLINK_ROUTE, connected to the kernel) made in the network namespace `nsfd`
// names, or in the caller's with -1; the calling thread returns to its own namespace. fd, or -errno.
int box_netlink_socket(int nsfd);
/// prctl(PR_SET_PDEATHSIG, SIGKILL): the caller dies with its parent (a port proxy with its monitor).
int box_die_with_parent(void);

/// One device cgroup rule: `type` 'c' (char), 'b' (block) or 'a' (both); `major`/`minor` -1 for any;
/// `access` the BPF_DEVCG_ACC_* bits: 1 mknod, 2 read, 4 write.
struct box_device_rule {
    char type;
    int32_t major, minor;
    uint32_t access;
};
/// cgroup v2's device controller: loads a BPF_PROG_TYPE_CGROUP_DEVICE program that allows what one of `rules`
/// allows and refuses the rest, and attaches it to the cgroup directory `cgroup_fd` (BPF_CGROUP_DEVICE,
/// BPF_F_ALLOW_MULTI). 0, or -errno.
int box_device_filter(int cgroup_fd, const struct box_device_rule *rules, size_t n);

/// Makes the calling thread (only it) open, create and rename files as `uid`/`gid` with `user`'s groups
/// (setfsuid, setfsgid, and the raw setgroups syscall); box_fs_leave restores root's identity. Nested calls
/// count. 0, or -errno (then nothing changed).
int box_fs_enter(uid_t uid, gid_t gid, const char *user);
void box_fs_leave(void);
