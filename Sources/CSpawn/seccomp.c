// seccomp: docker's default profile as a BPF program, and its loading as the last step before execve.
//
// The filter is built where allocation is allowed: by box (or the monitor) before the clone, with libseccomp, from
// the table scripts/seccomp/generate.py made of moby's default.json (seccomp_profile.h), and written out as the raw
// BPF program (seccomp_export_bpf). The container's child and nsexec's child only hand that program to the kernel
// (seccomp(2) SECCOMP_SET_MODE_FILTER), which allocates nothing in the process. crun does the same split
// (src/libcrun/seccomp.c: libcrun_generate_seccomp writes the BPF, libcrun_apply_seccomp loads it); runc builds the
// filter in `runc init` itself (libcontainer/seccomp/seccomp_linux.go, InitSeccomp) and loads it as close to execve
// as it can, after the capabilities and no_new_privs (standard_init_linux.go), as box does (process.c).
#include "cspawn.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/// One rule of a profile, as moby's JSON has it: the syscalls it names, its action, its argument conditions (all
/// must hold), and when it applies (moby's setupSeccomp): every capability of `caps_all` in the container's
/// bounding set and none of `caps_none`; the native architecture among `arches_in` (if any) and not among
/// `arches_out`; the kernel at least `kernel_in` (major*1000+minor, if any) and below `kernel_out` (if any).
struct box_seccomp_rule {
    const char *const *names;
    uint32_t action;
    const struct scmp_arg_cmp *args;
    unsigned nargs;
    uint64_t caps_all, caps_none;
    unsigned arches_in, arches_out;
    unsigned kernel_in, kernel_out;
};

enum {
    BOX_SECCOMP_AMD64 = 1, BOX_SECCOMP_X86 = 2, BOX_SECCOMP_X32 = 4, BOX_SECCOMP_ARM64 = 8, BOX_SECCOMP_ARM = 16,
    BOX_SECCOMP_OTHER = 32,
};
#if defined(__x86_64__)
#define BOX_SECCOMP_NATIVE BOX_SECCOMP_AMD64
#elif defined(__aarch64__)
#define BOX_SECCOMP_NATIVE BOX_SECCOMP_ARM64
#else
#define BOX_SECCOMP_NATIVE BOX_SECCOMP_OTHER
#endif

#include "seccomp_profile.h"

const char *box_seccomp_library(void) {
    static char name[48];
    const struct scmp_version *v = seccomp_version();
    snprintf(name, sizeof name, "libseccomp%u.%u.%u", v->major, v->minor, v->micro);
    return name;
}

const char *box_seccomp_default_id(void) {
    // The libseccomp that compiles it too: a newer one knows more of the profile's syscalls.
    static char id[96];
    snprintf(id, sizeof id, "%s-%s", BOX_SECCOMP_DEFAULT_ID, box_seccomp_library());
    return id;
}

static unsigned running_kernel(void) {
    struct utsname u;
    if (uname(&u) < 0) return 0;
    unsigned major = 0, minor = 0;
    sscanf(u.release, "%u.%u", &major, &minor);
    return major * 1000 + minor;
}

static int applies(const struct box_seccomp_rule *r, uint64_t caps, unsigned kernel) {
    if ((r->caps_all & caps) != r->caps_all) return 0;
    if (r->caps_none & caps) return 0;
    if (r->arches_in && !(r->arches_in & BOX_SECCOMP_NATIVE)) return 0;
    if (r->arches_out & BOX_SECCOMP_NATIVE) return 0;
    if (r->kernel_in && kernel < r->kernel_in) return 0;
    if (r->kernel_out && kernel >= r->kernel_out) return 0;
    return 1;
}

int box_seccomp_compile(uint64_t caps, int out_fd, char *unknown, size_t unknown_cap) {
    if (unknown && unknown_cap) unknown[0] = '\0';
    scmp_filter_ctx ctx = seccomp_init(BOX_SECCOMP_DEFAULT_ACTION);
    if (!ctx) return -ENOMEM;
    // box sets no_new_privs itself, before the filter (process.c); runc asks libseccomp not to either.
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    for (size_t i = 0; rc == 0 && i < sizeof box_seccomp_default_arches / sizeof box_seccomp_default_arches[0]; i++) {
        uint32_t arch = box_seccomp_default_arches[i];
        if (arch == SCMP_ARCH_NATIVE || arch == seccomp_arch_native()) continue;
        rc = seccomp_arch_add(ctx, arch);
        if (rc == -EEXIST) rc = 0;
    }
    unsigned kernel = running_kernel();
    for (size_t i = 0; rc == 0 && i < sizeof box_seccomp_default_rules / sizeof box_seccomp_default_rules[0]; i++) {
        const struct box_seccomp_rule *r = &box_seccomp_default_rules[i];
        if (!applies(r, caps, kernel) || r->action == BOX_SECCOMP_DEFAULT_ACTION) continue;
        for (const char *const *name = r->names; rc == 0 && *name; name++) {
            int nr = seccomp_syscall_resolve_name(*name);
            // A syscall this libseccomp does not know stays refused, as runc and crun skip one (it has no number).
            if (nr == __NR_SCMP_ERROR) continue;
            rc = seccomp_rule_add_array(ctx, r->action, nr, r->nargs, r->args);
            if (rc < 0 && unknown && unknown_cap) snprintf(unknown, unknown_cap, "%s", *name);
        }
    }
    if (rc == 0) rc = seccomp_export_bpf(ctx, out_fd);
    seccomp_release(ctx);
    return rc;
}

int box_seccomp_compile_calls(uint32_t default_action, const char *const *arches, const struct box_seccomp_call *calls,
                              size_t ncalls, int out_fd, char *failed, size_t failed_cap) {
    if (failed && failed_cap) failed[0] = '\0';
    scmp_filter_ctx ctx = seccomp_init(default_action);
    if (!ctx) {
        if (failed && failed_cap) snprintf(failed, failed_cap, "defaultAction");
        return -EINVAL;
    }
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    for (const char *const *name = arches; rc == 0 && name && *name; name++) {
        uint32_t arch = seccomp_arch_resolve_name(*name);
        if (arch == 0) rc = -EINVAL;
        else if (arch != seccomp_arch_native()) rc = seccomp_arch_add(ctx, arch);
        if (rc == -EEXIST) rc = 0;
        if (rc < 0 && failed && failed_cap) snprintf(failed, failed_cap, "%s", *name);
    }
    for (size_t i = 0; rc == 0 && i < ncalls; i++) {
        const struct box_seccomp_call *c = &calls[i];
        // libseccomp refuses a rule whose action is the default one; runc and crun leave such a rule out too.
        if (c->action == default_action) continue;
        int nr = seccomp_syscall_resolve_name(c->name);
        if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp: refused by the default, as runc does
        struct scmp_arg_cmp cmp[6];
        if (c->nargs > 6) rc = -EINVAL;
        for (uint32_t a = 0; rc == 0 && a < c->nargs; a++)
            cmp[a] = (struct scmp_arg_cmp){.arg = c->args[a].index, .op = (enum scmp_compare)c->args[a].op,
                                           .datum_a = c->args[a].value, .datum_b = c->args[a].value_two};
        if (rc == 0) rc = seccomp_rule_add_array(ctx, c->action, nr, c->nargs, cmp);
        if (rc < 0 && failed && failed_cap) snprintf(failed, failed_cap, "%s", c->name);
    }
    if (rc == 0) rc = seccomp_export_bpf(ctx, out_fd);
    seccomp_release(ctx);
    return rc;
}

int box_seccomp_load(const struct box_process *p, struct box_failure *f) {
    if (p->seccomp_len == 0) return 0;
    struct sock_fprog prog = {.len = p->seccomp_len, .filter = (struct sock_filter *)p->seccomp_filter};
    // No flags, as runc loads docker's profile (crun's default adds SPEC_ALLOW, which turns off the speculative
    // store bypass mitigation the kernel gives a filtered process).
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        f->err = errno;
        snprintf(f->stage, sizeof f->stage, "load the seccomp filter");
        return -1;
    }
    return 0;
}

int box_join_session_keyring(const struct box_process *p, struct box_failure *f) {
    if (!p->session_keyring) return 0;
    // KEYCTL_JOIN_SESSION_KEYRING (1) with a name: a new keyring of that name, or the one that exists (a `box
    // exec` joins its container's). Then KEYCTL_SETPERM (5): the possessor everything, the owner view, read,
    // link and search, as runc makes its "_ses.<id>" (ModKeyringPerm(id, 0xffffffff, 0x080000): search added).
    // A kernel without keys (ENOSYS) goes without, as runc's does.
    long id = syscall(SYS_keyctl, 1, p->session_keyring);
    if (id < 0) {
        if (errno == ENOSYS) return 0;
        f->err = errno;
        snprintf(f->stage, sizeof f->stage, "join session keyring %s", p->session_keyring);
        return -1;
    }
    // 0: we hold that keyring already (box-init joined it before forking the command): nothing to change.
    if (id > 0 && syscall(SYS_keyctl, 5, id, 0x3f1b0000) < 0) {
        f->err = errno;
        snprintf(f->stage, sizeof f->stage, "set permissions of session keyring %s", p->session_keyring);
        return -1;
    }
    return 0;
}
