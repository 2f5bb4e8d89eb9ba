// Process identity helpers for the monitor, which is forked from `box` rather than re-executed (an exec of the
// Swift binary costs ~10 ms of a container's start; a fork well under one).
#include "cspawn.h"

#include <fcntl.h>
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
