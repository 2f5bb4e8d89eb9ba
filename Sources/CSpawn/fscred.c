// The calling thread's filesystem identity: `lab` runs as root but writes the learner's files as the learner,
// so the kernel's own permission checks stop a symlink or hard link the learner planted from reaching a file
// only root may write.
#define _GNU_SOURCE
#include "cspawn.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

// The identity saved by box_fs_enter, per thread (the credentials these calls change are the thread's own).
static __thread int saved_depth;
static __thread uid_t saved_fsuid;
static __thread gid_t saved_fsgid;
static __thread gid_t *saved_groups;
static __thread int saved_ngroups;

int box_fs_enter(uid_t uid, gid_t gid, const char *user) {
    if (saved_depth > 0) { saved_depth++; return 0; }
    int n = getgroups(0, NULL);
    if (n < 0) return -errno;
    gid_t *mine = malloc(sizeof(gid_t) * (size_t)(n + 1));
    if (!mine) return -ENOMEM;
    n = getgroups(n, mine);
    if (n < 0) { int e = errno; free(mine); return -e; }
    // The learner's own groups (getgrouplist includes `gid`); at most 256, else just `gid`.
    gid_t theirs[256];
    int m = 256;
    if (!user || getgrouplist(user, gid, theirs, &m) < 0) { theirs[0] = gid; m = 1; }
    // Raw syscalls: glibc's setgroups changes every thread of the process; this one alone must change.
    if (syscall(SYS_setgroups, (size_t)m, theirs) != 0) { int e = errno; free(mine); return -e; }
    saved_fsgid = (gid_t)setfsgid(gid);
    saved_fsuid = (uid_t)setfsuid(uid);
    saved_groups = mine;
    saved_ngroups = n;
    saved_depth = 1;
    // setfsuid reports no error: check that it took.
    if ((uid_t)setfsuid((uid_t)-1) != uid || (gid_t)setfsgid((gid_t)-1) != gid) { box_fs_leave(); return -EPERM; }
    return 0;
}

void box_fs_leave(void) {
    if (saved_depth == 0) return;
    if (--saved_depth > 0) return;
    setfsuid(saved_fsuid);
    setfsgid(saved_fsgid);
    syscall(SYS_setgroups, (size_t)saved_ngroups, saved_groups);
    free(saved_groups);
    saved_groups = NULL;
}
