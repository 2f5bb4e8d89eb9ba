#!/usr/bin/env bash
# Tests/V2Guest/run.sh BINDIR — boots a small Debian guest on a pure cgroup v2 kernel under qemu and runs
# Tests/V2Guest/guest-tests.sh in it as init, with BINDIR's box and lab (a release build: static Swift runtime,
# nothing to load from the toolchain). The guest's console is printed as it comes; its results, one line a test
#   V2GUEST-RESULT <name> <pass|fail> <why>
# are printed again at the end, read from the guest's disk (a kernel message can cut a console line in two).
# Exit status: 0 every test passed, 1 one failed, 2 the guest could not be made or did not finish.
#   sudo Tests/V2Guest/run.sh .build/release              every test
#   sudo Tests/V2Guest/run.sh .build/release oom_kill     only those named
# Needs (apt): qemu-system-x86 linux-image-cloud-amd64 debootstrap e2fsprogs. The guest has no network (-net none).
#
# The guest: Debian's cloud kernel (6.1) booted with cgroup_no_v1=all, so every controller is on the v2 tree,
# as on Ubuntu 22.04+, Debian 12+ and Fedora; a minbase bookworm root made by debootstrap, cached in
# $BOX_V2_GUEST_CACHE (default /var/cache/boxlab-v2-guest) and made again when missing, or when the package list
# or the kernel below changes. Software emulation (TCG): nested KVM is not usable on these machines (it hangs).
# Adapted from the lead's recipe (shared/tools/v2-guest.sh, issue 24).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: run.sh BINDIR [TEST...]}
shift
cache=${BOX_V2_GUEST_CACHE:-/var/cache/boxlab-v2-guest}
timeout=${BOX_V2_GUEST_TIMEOUT:-1200}
say() { echo "v2-guest: $*" >&2; }

for tool in qemu-system-x86_64 debootstrap mkfs.ext4 debugfs; do
    command -v "$tool" >/dev/null || { say "$tool is missing (apt-get install qemu-system-x86 debootstrap e2fsprogs)"; exit 2; }
done
kver=$(ls /lib/modules 2>/dev/null | grep 'cloud-amd64$' | sort -V | tail -n 1 || true)
[[ -n $kver && -f /boot/vmlinuz-$kver && -f /boot/initrd.img-$kver ]] || { say "no cloud kernel (apt-get install linux-image-cloud-amd64)"; exit 2; }
for b in box lab; do [[ -x $bin/$b ]] || { say "$bin/$b is missing: build it first (swift build -c release --static-swift-stdlib --disable-local-rpath --product $b)"; exit 2; }; done

# What the guest's root holds: busybox-static is box's default image; iproute2 for the bridge; util-linux
# (losetup, nsenter, unshare), psmisc and procps for the labs; libarchive13 box loads for image layers.
# docker-registry and curl: the registry lab (its selftest runs here too, as every lab's does).
packages=busybox-static,iproute2,util-linux,psmisc,procps,libcap2,libarchive13,libnettle8,kmod,docker-registry,curl
stamp="suite=bookworm variant=minbase packages=$packages kernel=$kver"
mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9  # one build of the root at a time; the boot works on a copy
if [[ ! -x $cache/root/bin/busybox || "$(cat "$cache/stamp" 2>/dev/null)" != "$stamp" ]]; then
    say "making the guest's root in $cache/root (debootstrap, a few minutes; cached after)"
    rm -rf "$cache/root" "$cache/stamp"
    if ! debootstrap --variant=minbase --include="$packages" bookworm "$cache/root" >"$cache/debootstrap.log" 2>&1; then
        say "debootstrap failed: see $cache/debootstrap.log"; tail -n 5 "$cache/debootstrap.log" >&2; exit 2
    fi
    mkdir -p "$cache/root/lib/modules"
    cp -a "/lib/modules/$kver" "$cache/root/lib/modules/"
    rm -rf "$cache/root/var/cache/apt/archives/"*.deb
    echo "$stamp" >"$cache/stamp"
fi
work=$(mktemp -d /tmp/boxlab-v2-guest.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -a "$cache/root" "$work/root"
exec 9>&-
install -m 0755 "$bin/box" "$bin/lab" "$work/root/usr/local/bin/"
# box pull/push/login exec box-registry beside box (the registry lab).
[ -x "$bin/box-registry" ] && install -m 0755 "$bin/box-registry" "$work/root/usr/local/bin/"
# The engine-socket lab runs boxd, and the docker CLI against it: the host's, if it is a static one (docker's own
# releases are; Debian's docker.io client is not, and would need its libraries in the guest).
[ -x "$bin/boxd" ] && install -m 0755 "$bin/boxd" "$work/root/usr/local/bin/"
for cli in /usr/local/bin/docker /usr/bin/docker; do
    if [ -x "$cli" ] && ! ldd "$cli" >/dev/null 2>&1; then install -m 0755 "$cli" "$work/root/usr/local/bin/docker"; break; fi
done
install -m 0755 "$here/guest-tests.sh" "$work/root/guest-tests.sh"
printf '%s\n' "$@" >"$work/root/guest-tests.only"
cat >"$work/root/init.sh" <<'INIT'
#!/bin/sh
# PID 1 of the guest: the file systems a booted system has, then the tests, then power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
# The initramfs has mounted /proc, /sys and /dev already (and moved them here); without it, these do.
mountpoint -q /proc || mount -t proc proc /proc; mountpoint -q /sys || mount -t sysfs sys /sys
mountpoint -q /dev || mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
hostname v2guest
ip link set lo up
/guest-tests.sh $(cat /guest-tests.only) >/dev/console 2>&1
echo "GUEST-EXIT $?"
sync
echo o > /proc/sysrq-trigger
sleep 10
INIT
chmod +x "$work/root/init.sh"
truncate -s 4G "$work/disk.img"
mkfs.ext4 -q -d "$work/root" "$work/disk.img"
rm -rf "$work/root"

say "booting $kver (cgroup_no_v1=all) under qemu (TCG)"
start=$SECONDS
# loglevel=1: only emergencies on the console, so the OOM killer's reports do not cut the tests' lines.
timeout "$timeout" qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -nographic -no-reboot -net none \
    -kernel "/boot/vmlinuz-$kver" -initrd "/boot/initrd.img-$kver" \
    -append "console=ttyS0 root=/dev/vda rw init=/init.sh cgroup_no_v1=all panic=-1 loglevel=1" \
    -drive "file=$work/disk.img,format=raw,if=virtio" </dev/null 2>&1 |
    tr -d '\r' | sed -u 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' | grep -av --line-buffered -e 'SeaBIOS' -e '^Booting from ROM' -e '^$' || true
say "the guest ran $((SECONDS - start)) s"

debugfs -R "cat /guest-results" "$work/disk.img" 2>/dev/null >"$work/results" || true
code=$(debugfs -R "cat /guest-exit" "$work/disk.img" 2>/dev/null | tr -dc 0-9 || true)
echo "==> results (from the guest's disk)"
cat "$work/results"
if [[ -z $code ]]; then
    say "the guest did not finish (no /guest-exit on its disk: see the console above)"
    exit 2
fi
exit "$code"
