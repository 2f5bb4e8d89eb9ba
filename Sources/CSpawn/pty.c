// Terminal helpers for `box run -t`, `box exec -t` and `box attach`: ioctl is variadic and Swift cannot call it.
#include "cspawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int box_get_winsize(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0) return -1;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

int box_set_winsize(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    return ioctl(fd, TIOCSWINSZ, &ws);
}

static int console_fail(struct box_failure *f, int err, const char *what, const char *path) {
    f->err = err;
    snprintf(f->stage, sizeof f->stage, "%s %s", what, path);
    return -1;
}

// The container's terminal comes from its own devpts instance, so `tty` inside prints /dev/pts/0 and the
// path resolves there (a host pty would not exist in the container's /dev/pts). No allocation: this runs in
// the CLONE_VM child.
int box_console(const char *pts_dir, const char *console, int socket, struct box_failure *f) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/ptmx", pts_dir);
    int master = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return console_fail(f, errno, "open", path);
    int unlock = 0, n = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0) {
        close(master);
        return console_fail(f, errno, "unlock pty", path);
    }
    snprintf(path, sizeof path, "%s/%d", pts_dir, n);
    int slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) { close(master); return console_fail(f, errno, "open", path); }
    if (console && mount(path, console, NULL, MS_BIND, NULL) < 0) {
        close(master); close(slave);
        return console_fail(f, errno, "bind the terminal over", console);
    }
    char byte = 0;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &master, sizeof(int));
    ssize_t sent = sendmsg(socket, &msg, MSG_NOSIGNAL);
    int err = errno;
    close(master);
    if (sent < 0) { close(slave); return console_fail(f, err, "send the terminal to the monitor", ""); }
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0) { err = errno; close(slave); return console_fail(f, err, "dup2 terminal", ""); }
    close(slave);
    return 0;
}

int box_recv_fd(int socket) {
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    ssize_t n;
    do n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
    if (n <= 0) { if (n == 0) errno = EPIPE; return -1; }
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (!cm || cm->cmsg_type != SCM_RIGHTS) { errno = EBADMSG; return -1; }
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}
