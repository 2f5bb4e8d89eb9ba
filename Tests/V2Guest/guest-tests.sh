#!/bin/bash
# guest-tests.sh [TEST...] — runs inside the v2 guest (Tests/V2Guest/run.sh boots it): box's cgroup v2 driver on
# a real pure-v2 kernel, each behaviour that the host suite (hybrid v1 here) checks only on v1 or on a fake tree.
# Every expected value is read from the guest kernel's own files (/sys/fs/cgroup/box/<id>/...), never from box's
# own account of it. One line per test, for the Swift suite (Tests/V2GuestTests) to parse:
#   V2GUEST-RESULT <name> <pass|fail> <why, one line>
# The lines also go to /guest-results, and the exit status (0, or 1 if any failed) to /guest-exit.
set -u
export BOX_ROOT=/var/lib/box
cg=/sys/fs/cgroup
results=/guest-results
: >"$results"
failed=0

# Each test is a function t_NAME; `fail WHY` ends it (in its subshell) as failed.
fail() { echo "FAIL: $*" >&3; exit 1; }
expect_eq() { [ "$2" = "$3" ] || fail "$1: expected '$3', got '$2'"; }
file() { tr -d '\n' <"$cg/box/$1/$2" 2>/dev/null || echo "<no $cg/box/$1/$2>"; }
id_of() { box inspect --format '{{.Id}}' "$1"; }
inspect() { box inspect --format "$2" "$1"; }
cleanup() { box rm -f $(box ps -aq) >/dev/null 2>&1 || true; }
# CPU time the kernel counts for a cgroup, in µs (cpu.stat's usage_usec).
usage() { sed -n 's/^usage_usec //p' "$cg/box/$1/cpu.stat"; }

t_v2_host() {
    # The premise: a pure v2 kernel, every controller box uses on the one tree, no v1 hierarchy.
    expect_eq "cgroup fs type" "$(stat -f -c %T $cg)" cgroup2fs
    local c; for c in cpu cpuset memory pids; do
        grep -qw $c $cg/cgroup.controllers || fail "$c is not in $cg/cgroup.controllers: $(cat $cg/cgroup.controllers)"
    done
    ! grep -q ' cgroup ' /proc/mounts || fail "a v1 hierarchy is mounted: $(grep ' cgroup ' /proc/mounts)"
    box info 2>&1 | grep -q 'Cgroup Version: 2' || fail "box info does not say v2: $(box info 2>&1 | grep -i cgroup)"
    echo "$(uname -r), $(cat /proc/cmdline | grep -o 'cgroup_no_v1=[a-z]*'), controllers: $(cat $cg/cgroup.controllers)"
}

t_oom_kill() {
    local out rc
    out=$(box run --name hog -m 32m busybox dd if=/dev/zero of=/dev/null bs=100M count=1 2>&1); rc=$?
    expect_eq "exit status of a container over its limit" "$rc" 137
    expect_eq "inspect" "$(inspect hog '{{.State.OOMKilled}} {{.State.ExitCode}}')" "true 137"
    # The kernel's own count, in a cgroup that lives on: a child is killed, the shell goes on.
    box run -d --name hog2 -m 32m busybox sh -c 'dd if=/dev/zero of=/dev/null bs=100M count=1; echo dd=$?; sleep 1000' >/dev/null || fail "run -d"
    local id; id=$(id_of hog2)
    local i; for i in $(seq 50); do box logs hog2 | grep -q dd= && break; sleep 0.2; done
    expect_eq "the shell saw dd killed" "$(box logs hog2)" "dd=137"
    expect_eq "memory.max" "$(file $id memory.max)" 33554432
    local kills; kills=$(sed -n 's/^oom_kill //p' $cg/box/$id/memory.events)
    [ "${kills:-0}" -ge 1 ] || fail "memory.events oom_kill is '${kills}'"
    out=$(box run --name ok -m 64m busybox dd if=/dev/zero of=/dev/null bs=1M count=8 2>&1) || fail "under its limit: $out"
    expect_eq "inspect of one under its limit" "$(inspect ok '{{.State.OOMKilled}}')" false
    echo "137, OOMKilled true; memory.events oom_kill $kills in a 32m cgroup"
}

t_pids_limit() {
    box run -d --name c1 --pids-limit 20 busybox sleep 1000 >/dev/null || fail "run -d"
    local id; id=$(id_of c1)
    expect_eq "pids.max" "$(file $id pids.max)" 20
    grep -qx "$(inspect c1 '{{.State.Pid}}')" $cg/box/$id/cgroup.procs || fail "PID 1 is not in $cg/box/$id/cgroup.procs"
    expect_eq "the container's own view of its cgroup" "$(box exec c1 cat /proc/self/cgroup)" "0::/"
    # An exec'd process joins the cgroup (nsexec's clone3 CLONE_INTO_CGROUP): the kernel counts it.
    box exec c1 sleep 3 & local i n=0
    for i in $(seq 20); do n=$(file $id pids.current); [ "$n" = 2 ] && break; sleep 0.1; done
    wait
    expect_eq "pids.current while an exec runs" "$n" 2
    local err; err=$(box run --rm --pids-limit 20 busybox sh -c 'for i in $(seq 1 40); do sleep 5 & echo $i; done' 2>&1 >/tmp/started)
    local started; started=$(tail -n 1 /tmp/started)
    echo "$err" | grep -q "can't fork" || fail "no fork was refused: $err"
    [ "$started" -ge 15 ] && [ "$started" -lt 20 ] || fail "$started sleeps started under --pids-limit 20"
    box rm -f c1 >/dev/null
    [ ! -e $cg/box/$id ] || fail "$cg/box/$id outlived its container"
    echo "pids.max 20; a fork loop stopped after $started; the cgroup went with the container"
}

t_pause() {
    box run -d --name busy busybox sh -c 'while true; do :; done' >/dev/null || fail "run -d"
    local id; id=$(id_of busy)
    box pause busy || fail "pause"
    expect_eq "cgroup.freeze" "$(file $id cgroup.freeze)" 1
    grep -qx 'frozen 1' $cg/box/$id/cgroup.events || fail "cgroup.events: $(cat $cg/box/$id/cgroup.events)"
    expect_eq "inspect" "$(inspect busy '{{.State.Status}} {{.State.Paused}}')" "paused true"
    local a b; a=$(usage $id); sleep 1; b=$(usage $id)
    expect_eq "CPU time of a frozen cgroup" "$b" "$a"
    box exec busy true 2>/dev/null && fail "exec into a paused container ran"
    box unpause busy || fail "unpause"
    grep -qx 'frozen 0' $cg/box/$id/cgroup.events || fail "after unpause cgroup.events: $(cat $cg/box/$id/cgroup.events)"
    local i; for i in $(seq 30); do sleep 0.2; b=$(usage $id); [ "$b" -gt $((a + 100000)) ] && break; done
    [ "$b" -gt $((a + 100000)) ] || fail "the loop did not resume: usage_usec $a -> $b in 6 s"
    box pause busy && box stop -t 1 busy >/dev/null || fail "stop of a paused container"
    expect_eq "stopped while paused" "$(inspect busy '{{.State.Status}} {{.State.ExitCode}}')" "exited 137"
    echo "cgroup.freeze 1 and frozen 1: usage_usec stayed $a; thawed it grew to $b"
}

t_cpu_weight() {
    # runc's and crun's conversion of shares (2..262144) to cpu.weight (1..10000).
    local shares want id
    for shares in 256 1024 2; do
        box run -d --name w$shares --cpu-shares $shares busybox sleep 1000 >/dev/null || fail "run --cpu-shares $shares"
        want=$((1 + (shares - 2) * 9999 / 262142)); id=$(id_of w$shares)
        expect_eq "cpu.weight for --cpu-shares $shares" "$(file $id cpu.weight)" $want
    done
    expect_eq "cpu.weight for 256" "$(file $(id_of w256) cpu.weight)" 10
    echo "shares 256, 1024, 2 -> cpu.weight $(file $(id_of w256) cpu.weight), $(file $(id_of w1024) cpu.weight), $(file $(id_of w2) cpu.weight)"
}

t_cpu_max() {
    box run -d --name half --cpus 0.5 busybox sh -c 'while true; do :; done' >/dev/null || fail "run --cpus 0.5"
    box run -d --name more --cpus 1.5 busybox sleep 1000 >/dev/null || fail "run --cpus 1.5"
    local id; id=$(id_of half)
    expect_eq "cpu.max for --cpus 0.5" "$(file $id cpu.max)" "50000 100000"
    expect_eq "cpu.max for --cpus 1.5" "$(file $(id_of more) cpu.max)" "150000 100000"
    # The kernel enforces it: a busy loop gets about half a CPU (throttled), not a whole one.
    local a b; a=$(usage $id); sleep 2; b=$(usage $id)
    local used=$(( (b - a) / 20000 ))  # percent of one CPU over 2 s
    [ "$used" -le 65 ] || fail "a loop under --cpus 0.5 used $used% of a CPU"
    grep -q '^nr_throttled [1-9]' $cg/box/$id/cpu.stat || fail "never throttled: $(cat $cg/box/$id/cpu.stat)"
    echo "cpu.max '50000 100000' and '150000 100000'; the loop used $used% of a CPU, throttled"
}

t_memory_max() {
    box run -d --name m1 -m 64m --memory-swap 96m busybox sleep 1000 >/dev/null || fail "run -m 64m --memory-swap 96m"
    box run -d --name m2 -m 32m busybox sleep 1000 >/dev/null || fail "run -m 32m"
    box run -d --name m3 -m 32m --memory-swap=-1 busybox sleep 1000 >/dev/null || fail "run --memory-swap=-1"
    box run -d --name m4 busybox sleep 1000 >/dev/null || fail "run"
    local id1 id2 id3 id4; id1=$(id_of m1); id2=$(id_of m2); id3=$(id_of m3); id4=$(id_of m4)
    [ -e $cg/box/$id1/memory.swap.max ] || fail "this kernel has no memory.swap.max"
    expect_eq "memory.max for -m 64m" "$(file $id1 memory.max)" 67108864
    # docker's --memory-swap is memory + swap; v2's memory.swap.max is swap alone.
    expect_eq "memory.swap.max for --memory-swap 96m" "$(file $id1 memory.swap.max)" 33554432
    expect_eq "memory.swap.max for -m 32m alone (docker: as much swap as memory)" "$(file $id2 memory.swap.max)" 33554432
    expect_eq "memory.swap.max for --memory-swap -1" "$(file $id3 memory.swap.max)" max
    expect_eq "memory.max without -m" "$(file $id4 memory.max)" max
    expect_eq "inspect" "$(inspect m1 '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}')" "67108864 100663296"
    echo "memory.max 67108864, memory.swap.max 33554432 / 33554432 / max; no -m: max"
}

t_update() {
    box run -d --name c1 -m 32m busybox sleep 1000 >/dev/null || fail "run -d"
    local id; id=$(id_of c1)
    box update --memory 64m --pids-limit 50 --cpus 0.25 --cpu-shares 512 c1 >/dev/null || fail "update"
    expect_eq "memory.max" "$(file $id memory.max)" 67108864
    expect_eq "memory.swap.max" "$(file $id memory.swap.max)" 67108864
    expect_eq "pids.max" "$(file $id pids.max)" 50
    expect_eq "cpu.max" "$(file $id cpu.max)" "25000 100000"
    expect_eq "cpu.weight" "$(file $id cpu.weight)" $((1 + (512 - 2) * 9999 / 262142))
    expect_eq "inspect" "$(inspect c1 '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}')" "67108864 50"
    box update --memory 200m c1 >/dev/null || fail "update up to 200m"
    expect_eq "memory.max up" "$(file $id memory.max)" 209715200
    box update --memory 16m c1 >/dev/null || fail "update down to 16m"
    expect_eq "memory.max down" "$(file $id memory.max)" 16777216
    box update c1 >/dev/null 2>&1; expect_eq "update with nothing to change" "$?" 125
    echo "memory.max 64m -> 200m -> 16m, pids.max 50, cpu.max 25000, cpu.weight $(file $id cpu.weight)"
}

t_stats() {
    box run -d --name busy -m 64m busybox sh -c 'while true; do :; done' >/dev/null || fail "run -d"
    local id; id=$(id_of busy)
    sleep 1
    local row; row=$(box stats --no-stream busy | tail -n 1)
    echo "$row" | grep -q ' 64.00MiB ' || fail "no 64.00MiB limit (memory.max $(file $id memory.max)): $row"
    local cpu; cpu=$(echo "$row" | awk '{print $3}' | tr -d %)
    [ "${cpu%.*}" -gt 10 ] || fail "a busy loop at $cpu% CPU: $row"
    expect_eq "PIDS column" "$(echo "$row" | awk '{print $NF}')" "$(file $id pids.current)"
    local all; all=$(box stats -a --no-stream)
    echo "$all" | grep -q busy || fail "stats -a: $all"
    echo "$row"
}

t_restart_policy() {
    box run -d --name r1 --restart on-failure:3 busybox sh -c 'echo run; exit 1' >/dev/null || fail "run -d"
    local id; id=$(id_of r1)
    expect_eq "wait" "$(box wait r1)" 1
    expect_eq "inspect" "$(inspect r1 '{{.State.Status}} {{.RestartCount}}')" "exited 3"
    expect_eq "runs" "$(box logs r1 | grep -c run)" 4
    [ ! -e $cg/box/$id ] || fail "$cg/box/$id is left after the last run"
    box run -d --name r2 --restart always -m 32m busybox sleep 0.2 >/dev/null || fail "run --restart always"
    local i n=0; for i in $(seq 50); do n=$(inspect r2 '{{.RestartCount}}'); [ "$n" -ge 2 ] && break; sleep 0.2; done
    [ "$n" -ge 2 ] || fail "--restart always: RestartCount $n after 10 s"
    # Each run is in a cgroup with the limits (the monitor makes it again).
    local id2; id2=$(id_of r2)
    for i in $(seq 20); do [ -e $cg/box/$id2/memory.max ] && break; sleep 0.1; done
    expect_eq "memory.max of a restarted run" "$(file $id2 memory.max)" 33554432
    box stop -t 1 r2 >/dev/null || fail "stop"
    expect_eq "stopped" "$(inspect r2 '{{.State.Status}}')" exited
    echo "on-failure:3 ran 4 times; always restarted $n times with memory.max 32m, then stopped"
}

t_device_cgroup() {
    # A host block device of the test's own: a loop device on a file, with contents only it knows.
    modprobe loop 2>/dev/null
    local secret=BOXLAB-LOOP-SECRET-0123456789
    head -c 1048576 /dev/zero | tr '\0' . >/tmp/loopfile; printf %s "$secret" | dd of=/tmp/loopfile conv=notrunc 2>/dev/null
    local loop; loop=$(losetup -f --show /tmp/loopfile) || fail "losetup"
    local minor=$((0x$(stat -c %T "$loop")))
    mkdir -p /tmp/vol
    local read="rm -f /vol/blk; mknod /vol/blk b 7 $minor || exit 9; head -c ${#secret} /vol/blk"
    local out rc
    out=$(box run --rm -v /tmp/vol:/vol:dev busybox sh -c "$read" 2>&1); rc=$?
    case $out in *$secret*) losetup -d "$loop"; fail "PID 1 read the loop device";; esac
    [ $rc = 1 ] && [[ $out == *"Operation not permitted"* ]] || { losetup -d "$loop"; fail "run: status $rc: $out"; }
    box run -d --name c1 -v /tmp/vol:/vol:dev busybox sleep 1000 >/dev/null
    out=$(box exec c1 sh -c "$read" 2>&1); rc=$?
    [ $rc = 1 ] && [[ $out == *"Operation not permitted"* ]] || { losetup -d "$loop"; fail "exec: status $rc: $out"; }
    out=$(box exec c1 sh -c 'echo x | dd of=/vol/blk conv=notrunc 2>&1'); rc=$?
    [ $rc != 0 ] && [[ $out == *"Operation not permitted"* ]] || { losetup -d "$loop"; fail "write: status $rc: $out"; }
    # What a container needs still opens.
    out=$(box run --rm busybox sh -c 'echo x > /dev/null && head -c 3 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c && : </dev/ptmx && echo fine' 2>&1)
    [ "$out" = "$(printf '3\n4\nfine')" ] || { losetup -d "$loop"; fail "allowed devices: $out"; }
    # The refusal is the cgroup's: --privileged (no device program) reads the same node.
    out=$(box run --rm --privileged -v /tmp/vol:/vol:dev busybox sh -c "$read" 2>&1)
    losetup -d "$loop"
    [ "$out" = "$secret" ] || fail "--privileged did not read the loop device: $out"
    echo "mknod + open of loop $minor refused (EPERM) in run and exec, write too; null/zero/urandom/ptmx open; --privileged reads it"
}

t_bridge_network() {
    box run -d --name a busybox sleep 600 >/dev/null || fail "run a"
    box run -d --name b busybox sleep 600 >/dev/null || fail "run b"
    local ip; ip=$(inspect b '{{.NetworkSettings.IPAddress}}')
    [ -n "$ip" ] || fail "b has no address"
    box exec a ping -c 1 -W 2 "$ip" >/dev/null || fail "a cannot ping b at $ip"
    box network create --subnet 10.251.0.0/24 pod >/dev/null || fail "network create"
    box run -d --name web --network pod busybox sh -c 'mkdir /www && echo served-by-web > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null || fail "run web"
    box run -d --name client --network pod busybox sleep 600 >/dev/null || fail "run client"
    local page="" i; for i in $(seq 25); do page=$(box exec client wget -qO- http://web/ 2>/dev/null) && [ "$page" = served-by-web ] && break; sleep 0.2; done
    expect_eq "page from web, by name" "$page" served-by-web
    local bridge; bridge=$(ip -o link show type bridge | awk -F': ' '{print $2}' | tr '\n' ' ')
    cleanup; box network rm pod >/dev/null || fail "network rm"
    echo "ping $ip on the default bridge; wget http://web/ on pod; bridges: $bridge"
}

# lab selftest, one test per lab: lab_selftest_<id>.
lab_ids() { lab list 2>/dev/null | awk '$1 ~ /^[a-z0-9-]+$/ && $1 != "lab" {print $1}'; }
t_lab_selftest() {
    local out; out=$(lab selftest "$1" 2>&1) && { echo "$(echo "$out" | grep -c '^ok ') steps ok; $(echo "$out" | tail -n 1)"; return 0; }
    fail "$(echo "$out" | grep -v '^ok ' | tr '\n' ' ' | cut -c1-600)"
}

all=(v2_host oom_kill pids_limit pause cpu_weight cpu_max memory_max update stats restart_policy device_cgroup bridge_network)
for l in $(lab_ids); do all+=("lab_selftest_$l"); done
[ $# -gt 0 ] && all=("$@")

echo "V2GUEST-TESTS ${all[*]}" | tee -a "$results"
for name in "${all[@]}"; do
    start=$(date +%s)
    if [[ $name == lab_selftest_* ]]; then
        out=$( (t_lab_selftest "${name#lab_selftest_}") 3>&1 2>&1); rc=$?
    else
        out=$( (t_$name) 3>&1 2>&1); rc=$?
    fi
    cleanup
    why=$(echo "$out" | grep '^FAIL: ' | tail -n 1 | sed 's/^FAIL: //')
    [ -n "$why" ] || why=$(echo "$out" | tail -n 1)
    why=$(echo "$why" | tr -s '\t ' '  ' | cut -c1-800)
    if [ $rc = 0 ]; then verdict=pass; else verdict=fail; failed=1; echo "$out" | sed "s/^/  $name| /"; fi
    echo "V2GUEST-RESULT $name $verdict $(( $(date +%s) - start ))s: ${why:-no output}" | tee -a "$results"
done
box network prune -f >/dev/null 2>&1 || true
echo $failed >/guest-exit
sync
exit $failed
