// Thin wrappers for GNU interfaces that Swift's Glibc module does not expose (it is imported without
// _GNU_SOURCE).
#include "cspawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

int box_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int box_close_from(int lowfd) { return (int)syscall(SYS_close_range, lowfd, ~0U, 0); }

int box_accept_cloexec(int listener) { return accept4(listener, NULL, NULL, SOCK_CLOEXEC); }

int box_signalfd_cloexec(const void *mask) { return signalfd(-1, (const sigset_t *)mask, SFD_CLOEXEC); }

int box_set_opaque(const char *dir) { return setxattr(dir, "trusted.overlay.opaque", "y", 1, 0); }

int box_is_opaque(const char *dir) {
    char value[2] = {0};
    return getxattr(dir, "trusted.overlay.opaque", value, sizeof value) == 1 && value[0] == 'y';
}
