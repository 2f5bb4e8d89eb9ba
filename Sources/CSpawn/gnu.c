// Thin wrappers for GNU interfaces that Swift's Glibc module does not expose (it is imported without
// _GNU_SOURCE).
#include "cspawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int box_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

long box_xattr_list_size(int fd) { return (long)flistxattr(fd, NULL, 0); }

int box_rename_exchange(const char *a, const char *b) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

// Calls `act` on each open descriptor in lo..hi, listed from /proc/self/fd with plain system calls (a cloned
// child may call this: no malloc, no stdio); or, without /proc, on every number below the descriptor limit.
static void each_fd(unsigned lo, unsigned hi, void (*act)(int)) {
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        struct rlimit r;
        unsigned limit = getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < (1u << 20) ? (unsigned)r.rlim_cur : 1u << 20;
        for (unsigned fd = lo; fd <= hi && fd < limit; fd++) act((int)fd);
        return;
    }
    char buf[4096] __attribute__((aligned(8)));
    long n;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct { unsigned long long ino; long long off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(buf + off);
            off += d->reclen;
            if (d->name[0] < '0' || d->name[0] > '9') continue;  // . and ..
            unsigned fd = 0;
            for (const char *c = d->name; *c >= '0' && *c <= '9'; c++) fd = fd * 10 + (unsigned)(*c - '0');
            if (fd >= lo && fd <= hi && (int)fd != dir) act((int)fd);
        }
    }
    close(dir);
}

static void close_one(int fd) { close(fd); }

static void cloexec_one(int fd) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

// close_range(lo, hi), or the open ones one at a time where it fails (a kernel before 5.9, or a seccomp
// filter that answers EPERM).
void box_close_span(unsigned lo, unsigned hi) {
    if (syscall(SYS_close_range, lo, hi, 0) == 0) return;
    each_fd(lo, hi, close_one);
}

// close_range(lo, ~0, CLOSE_RANGE_CLOEXEC), or FD_CLOEXEC set one at a time where it fails (before 5.11).
void box_cloexec_from(unsigned lo) {
    if (syscall(SYS_close_range, lo, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    each_fd(lo, ~0U, cloexec_one);
}

int box_close_from(int lowfd) {
    box_close_span((unsigned)lowfd, ~0U);
    return 0;
}

int box_accept_cloexec(int listener) { return accept4(listener, NULL, NULL, SOCK_CLOEXEC); }

int box_signalfd_cloexec(const void *mask) { return signalfd(-1, (const sigset_t *)mask, SFD_CLOEXEC); }

int box_set_opaque(const char *dir) { return setxattr(dir, "trusted.overlay.opaque", "y", 1, 0); }

int box_is_opaque(const char *dir) {
    char value[2] = {0};
    return getxattr(dir, "trusted.overlay.opaque", value, sizeof value) == 1 && value[0] == 'y';
}
