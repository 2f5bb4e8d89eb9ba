// Process identity helpers for the monitor, which is forked from `box` rather than re-executed (an exec of the
// Swift binary costs ~10 ms of a container's start; a fork well under one).
#include "cspawn.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static char *arg_start = NULL;
static size_t arg_size = 0;

// glibc passes argc/argv to constructors; remember where the argument strings live.
__attribute__((constructor)) static void box_remember_args(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc < 1 || !argv || !argv[0]) return;
    arg_start = argv[0];
    char *end = argv[argc - 1] + strlen(argv[argc - 1]);
    arg_size = (size_t)(end - arg_start);  // without the final NUL
}

pid_t box_fork(void) { return fork(); }

// Running apart. A start is split so that box's processes work side by side: the monitor makes the cgroups and
// the network namespace while `box` writes the container's files, and PID 1 builds its root filesystem while the
// monitor sets up the network. An ordinary kernel puts a new process on an idle CPU (SD_BALANCE_FORK); this
// project's VM keeps it on its parent's CPU until the parent blocks, and the parts then run one after the other
// (README, Performance). So a parent moves its new child off its own CPU, and the child takes its CPUs back
// once its side-by-side part is over.
//
// Only a process that may run on every online CPU does this. Since Linux 6.2 a sched_setaffinity mask is kept
// as the task's own request, inherited by its children and applied on top of every later cpuset, so taking
// back means asking for all CPUs, which leaves the cgroup's cpuset the only limit, as if nothing had moved.
// A process held to fewer CPUs, by taskset or by its cgroup's cpuset (which sched_getaffinity cannot tell
// apart), moves nothing: any mask it asked for would outlive the start in the container's processes. A failed
// move only costs the overlap; a failed taking back leaves the process one CPU short. Neither stops a start.
static cpu_set_t given_cpus;  // set before the fork or clone, so the child has its own copy
static int may_move;          // given every online CPU: a child may be moved, and asks for all CPUs back
static int took_back;
static pthread_once_t given_cpus_once = PTHREAD_ONCE_INIT;  // a test process clones from many threads

static void remember(void) {
    may_move = sched_getaffinity(0, sizeof given_cpus, &given_cpus) == 0 && CPU_COUNT(&given_cpus) >= 2 &&
               CPU_COUNT(&given_cpus) == sysconf(_SC_NPROCESSORS_ONLN);
}

void box_cpus_remember(void) {
    pthread_once(&given_cpus_once, remember);
    // A monitor that has taken its CPUs back clones PID 1 again at a restart: with what it has now (after a
    // `taskset -p`, say). It runs one thread, so this read races with nothing.
    if (took_back) remember();
}

void box_cpus_move_off(pid_t child) {
    int here = sched_getcpu();
    if (!may_move || here < 0 || !CPU_ISSET(here, &given_cpus)) return;
    cpu_set_t elsewhere = given_cpus;
    CPU_CLR(here, &elsewhere);
    (void)sched_setaffinity(child, sizeof elsewhere, &elsewhere);
}

void box_cpus_restore(void) {
    if (!may_move) return;
    cpu_set_t all;
    memset(&all, 0xff, sizeof all);
    (void)sched_setaffinity(0, sizeof all, &all);
    took_back = 1;
}

int box_thread_count(void) {
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 20; field++) p = strchr(p + 1, ' ');  // field 20: num_threads
    return p ? atoi(p + 1) : -1;
}

void box_set_process_title(const char *title) {
    prctl(PR_SET_NAME, "box-monitor", 0, 0, 0);
    if (!arg_start || arg_size == 0) return;
    size_t n = strlen(title);
    if (n > arg_size) n = arg_size;
    memcpy(arg_start, title, n);
    memset(arg_start + n, 0, arg_size - n + 1);
}
