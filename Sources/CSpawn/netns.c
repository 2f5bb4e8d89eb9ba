// Network namespaces made before PID 1 is cloned, and netlink sockets inside them: the monitor gives a
// container its veth and address while PID 1 waits for its cgroups, before PID 1 joins the namespace.
#include "cspawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int box_make_netns(void) {
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) return -errno;
    // Only this thread moves (a network namespace is per thread), and only for the two calls below.
    if (unshare(CLONE_NEWNET) < 0) {
        int e = errno;
        close(self);
        return -e;
    }
    int made = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int e = errno;
    if (setns(self, CLONE_NEWNET) < 0) abort();  // a thread left in the wrong namespace must not go on
    close(self);
    return made < 0 ? -e : made;
}

int box_netlink_socket(int nsfd) {
    int self = -1;
    if (nsfd >= 0) {
        self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0) return -errno;
        if (setns(nsfd, CLONE_NEWNET) < 0) {
            int e = errno;
            close(self);
            return -e;
        }
    }
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    int e = errno;
    if (s >= 0) {
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        // The kernel answers a request while it is being sent; a reply that never comes (one this side failed to
        // recognise) must end as an error, never as a monitor blocked for ever: 10 s is far beyond any answer.
        struct timeval patience = {.tv_sec = 10};
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
        if (connect(s, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
            e = errno;
            close(s);
            s = -1;
        }
    }
    if (self >= 0) {
        if (setns(self, CLONE_NEWNET) < 0) abort();  // as in box_make_netns
        close(self);
    }
    return s < 0 ? -e : s;
}

int box_die_with_parent(void) { return prctl(PR_SET_PDEATHSIG, SIGKILL); }
