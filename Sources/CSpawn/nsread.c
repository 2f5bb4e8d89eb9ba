// Reading a file as a process inside another namespace sees it: the lab's probes use it for the few kernel
// facts that /proc/PID does not show per process. /proc/sys/kernel/hostname is the reader's UTS namespace's,
// /proc/sysvipc/* the reader's IPC namespace's. The read happens in a forked child that joins the
// namespace with setns(2) and sends the bytes back over a pipe, so the caller's own namespaces never change.
// (UTS and IPC can be joined by a multi-threaded process; the child has one thread anyway.)
#include "cspawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

ssize_t box_ns_read(const char *ns_path, const char *file, char *buf, size_t cap) {
    int ns = open(ns_path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) return -errno;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        int e = errno;
        close(ns);
        return -e;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(ns); close(fds[0]); close(fds[1]);
        return -e;
    }
    if (pid == 0) {
        // Only async-signal-safe calls here: the parent may have had other threads.
        close(fds[0]);
        if (setns(ns, 0) < 0) _exit(10);
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) _exit(11);
        char chunk[4096];
        ssize_t n;
        while ((n = read(fd, chunk, sizeof chunk)) > 0) {
            for (ssize_t off = 0; off < n;) {
                ssize_t w = write(fds[1], chunk + off, (size_t)(n - off));
                if (w < 0) _exit(12);
                off += w;
            }
        }
        _exit(n < 0 ? 13 : 0);
    }
    close(ns);
    close(fds[1]);
    size_t got = 0;
    for (;;) {
        char chunk[4096];
        ssize_t n = read(fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        for (ssize_t i = 0; i < n && got < cap; i++) buf[got++] = chunk[i];
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
        return code == 10 ? -EPERM : code == 11 ? -ENOENT : -EIO;
    }
    return (ssize_t)got;
}
