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

int box_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

// close_range(lo, hi), or one close at a time below the descriptor limit where it fails (a kernel before 5.9,
// or a seccomp filter that answers EPERM). Only system calls: a cloned child may call it.
void box_close_span(unsigned lo, unsigned hi) {
    if (syscall(SYS_close_range, lo, hi, 0) == 0) return;
    struct rlimit r;
    unsigned limit = getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < (1u << 20) ? (unsigned)r.rlim_cur : 1u << 20;
    for (unsigned fd = lo; fd <= hi && fd < limit; fd++) close((int)fd);
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
