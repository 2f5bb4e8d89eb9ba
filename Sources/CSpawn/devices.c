// The cgroup v2 device controller: a BPF_PROG_TYPE_CGROUP_DEVICE program, attached to the container's cgroup
// (cgroup-v2.rst, "Device controller": v2 has no devices.allow; the kernel asks a program instead). Its
// instructions are written here by hand, as runc's libcontainer/cgroups/devices/devicefilter.go and crun's
// src/libcrun/ebpf.c generate them: no libbpf, no compiler, one bpf(2) load and one attach.

#include "cspawn.h"

#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    struct bpf_insn i = {.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
    return i;
}

// The program for `rules` (an allow-list: whatever no rule allows is refused), or -1 if it would not fit.
// The kernel calls it with struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } in r1, the low
// 16 bits of access_type the device type (BPF_DEVCG_DEV_BLOCK/CHAR), the high 16 the access asked for
// (BPF_DEVCG_ACC_MKNOD/READ/WRITE, one or more); it returns 1 to allow, 0 to refuse (EPERM).
static int build(const struct box_device_rule *rules, size_t n, struct bpf_insn *out, size_t cap) {
    size_t len = 0;
    if (cap < 6) return -1;
    out[len++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);  // r2 = access_type
    out[len++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF);      // r2 = type
    out[len++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0);  // r3 = access_type
    out[len++] = insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);         // r3 = access asked for
    out[len++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);  // r4 = major
    out[len++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);  // r5 = minor
    const uint32_t all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
    for (size_t r = 0; r < n; r++) {
        const struct box_device_rule *rule = &rules[r];
        int has_type = rule->type == 'b' || rule->type == 'c';
        int has_access = (rule->access & all) != all;
        int has_major = rule->major >= 0, has_minor = rule->minor >= 0;
        // One block per rule: each test jumps to the next block when it does not match; the block's end allows.
        size_t size = (size_t)has_type + (has_access ? 3 : 0) + (size_t)has_major + (size_t)has_minor + 2;
        if (len + size + 2 > cap) return -1;
        size_t next = len + size;
#define TO_NEXT ((int16_t)(next - (len + 1)))
        if (has_type)
            out[len] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, TO_NEXT,
                            rule->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR), len++;
        if (has_access) {
            // Every access asked for must be one the rule gives: (r3 & access) == r3 (r1 is free by now).
            out[len] = insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0), len++;
            out[len] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int32_t)(rule->access & all)), len++;
            out[len] = insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, TO_NEXT, 0), len++;
        }
        if (has_major) out[len] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, TO_NEXT, rule->major), len++;
        if (has_minor) out[len] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, TO_NEXT, rule->minor), len++;
#undef TO_NEXT
        out[len++] = insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);  // allow
        out[len++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    }
    out[len++] = insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);  // no rule matched: refuse
    out[len++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    return (int)len;
}

int box_device_filter(int cgroup_fd, const struct box_device_rule *rules, size_t n) {
    struct bpf_insn prog[512];
    int len = build(rules, n, prog, sizeof prog / sizeof prog[0]);
    if (len < 0) return -E2BIG;
    union bpf_attr load;
    memset(&load, 0, sizeof load);
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = (uint64_t)(uintptr_t)prog;
    load.insn_cnt = (uint32_t)len;
    load.license = (uint64_t)(uintptr_t)"GPL";  // only gates GPL-only helpers; the program calls none
    int prog_fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
    if (prog_fd < 0) return -errno;
    union bpf_attr attach;
    memset(&attach, 0, sizeof attach);
    attach.target_fd = (uint32_t)cgroup_fd;
    attach.attach_bpf_fd = (uint32_t)prog_fd;
    attach.attach_type = BPF_CGROUP_DEVICE;
    // ALLOW_MULTI, as runc: a program on an ancestor still runs too (the kernel allows only what all allow).
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    int rc = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof attach);
    int err = errno;
    close(prog_fd);  // the attachment holds the program; it goes with the cgroup
    return rc < 0 ? -err : 0;
}
