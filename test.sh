#!/usr/bin/env bash
# Builds boxlab with its tests and runs them all (every test is Swift Testing). Extra arguments go to `swift test`:
#   sudo ./test.sh
#   sudo ./test.sh --filter Template
# The kernel tests start real containers and need root. BOX_ALLOW_NONROOT=1 ./test.sh runs as a normal user:
# those tests then skip themselves.
set -euo pipefail
cd "$(dirname "$0")"

if [ "$(id -u)" -ne 0 ]; then
    if [ "${BOX_ALLOW_NONROOT:-}" != 1 ]; then
        echo "test.sh: the tests start real containers: run it with sudo (sudo ./test.sh)," >&2
        echo "or set BOX_ALLOW_NONROOT=1 to run as yourself and skip the kernel tests." >&2
        exit 1
    fi
    echo "test.sh: not root (BOX_ALLOW_NONROOT=1): the kernel tests will skip themselves" >&2
fi

# shellcheck source=scripts/swift-env.sh
. scripts/swift-env.sh
if ! swift_find; then
    swift_explain "Or run sudo ./setup.sh first: it installs what is missing."
    exit 1
fi

# The cgroup v2 guest (Tests/V2Guest, issue 24) runs a release box and lab (static Swift runtime: nothing to
# load from the toolchain in the guest); the suite finds them in BOX_V2_GUEST_BIN, and skips, saying why, without.
# BOX_V2_GUEST=0 leaves it out; so does a run filtered to other tests.
v2_guest_wanted() {
    [ "${BOX_V2_GUEST:-1}" != 0 ] && [ -z "${BOX_V2_GUEST_BIN:-}" ] && [ "$(id -u)" -eq 0 ] || return 1
    command -v qemu-system-x86_64 >/dev/null || { echo "==> no qemu-system-x86_64: the cgroup v2 guest suite will skip"; return 1; }
    [ $# -eq 0 ] && return 0
    case " $* " in *V2Guest*) return 0 ;; esac
    return 1
}
if v2_guest_wanted "$@"; then
    echo "==> swift build ${SWIFT_RELEASE_FLAGS[*]} --product box, lab, box-registry, boxd (for the cgroup v2 guest)"
    swift build "${SWIFT_RELEASE_FLAGS[@]}" --product box
    swift build "${SWIFT_RELEASE_FLAGS[@]}" --product lab
    swift build "${SWIFT_RELEASE_FLAGS[@]}" --product box-registry
    swift build "${SWIFT_RELEASE_FLAGS[@]}" --product boxd
    BOX_V2_GUEST_BIN=$(swift build "${SWIFT_RELEASE_FLAGS[@]}" --show-bin-path)
    export BOX_V2_GUEST_BIN
fi

echo "==> swift build --build-tests ($SWIFT_VERSION)"
swift build --build-tests

# The guest suite runs after the others, alone: qemu's emulation takes both cores for about three minutes, and
# the host's timing-sensitive tests (signal traces, CPU shares, stop's grace periods) must not share them with it.
runs=("$*")
if [ -n "${BOX_V2_GUEST_BIN:-}" ] && [ $# -eq 0 ]; then
    runs=("--skip V2GuestTests" "--skip-build --filter V2GuestTests")
fi
if [ -t 1 ] && [ -z "${CI:-}" ]; then
    # At a terminal: Ctrl-C ends a hang, and swift test keeps its colours.
    status=0
    for run in "${runs[@]}"; do
        echo "==> swift test $run"
        if [ "$run" = "$*" ]; then swift test "$@" || status=$?; else swift test $run || status=$?; fi
    done
    exit "$status"
fi

# Unattended (CI, a log file): a hang must end as a failure that says what hung, not as a job killed from
# outside with nothing to go on. Every command a test runs has its own deadline (Tests/TestSupport); this one
# covers the rest. After BOX_TEST_TIMEOUT seconds (default 1200; the suite takes about a minute) it prints the
# tests that started and never ended and every process with where it sleeps in the kernel, then stops the run.
limit=${BOX_TEST_TIMEOUT:-1200}
log=""

# What a stopped run leaves: the containers, networks and roots of the tests it cut short (made after $log).
clean_up_stopped_run() {
    local box root r ids
    box=$(swift build --show-bin-path 2>/dev/null)/box || return 0
    for root in $(find /tmp -maxdepth 1 \( -name 'boxtest-*' -o -name 'labsandbox-*' \) -newer "$log"); do
        r=$root
        [ -d "$root/box" ] && r=$root/box
        ids=$(BOX_ROOT=$r "$box" ps -aq --no-trunc 2>/dev/null || true)
        [ -z "$ids" ] || BOX_ROOT=$r "$box" rm -f $ids >/dev/null 2>&1 || true
        for bridge in $(sed -n 's/.*"Bridge" *: *"\([^"]*\)".*/\1/p' "$r"/networks/*.json 2>/dev/null); do
            ip link del "$bridge" 2>/dev/null || true
        done
        rm -rf "$root" || true
    done
}

# run_watched ARGS: swift test ARGS, stopped and reported if it hangs (each run has the whole limit); returns
# its status.
run_watched() {
    log=$(mktemp /tmp/boxlab-test-XXXXXX.log)
    setsid swift test "$@" >"$log" 2>&1 &  # a process group of its own (the test binary included), to stop
    tests=$!
    # Ctrl-C or a kill of test.sh stops the tests too: in their own process group they would not get it.
    trap 'kill -TERM -- "-$tests" 2>/dev/null; exit 130' INT TERM
    tail -n +1 -f --pid="$tests" "$log" &
    printer=$!
    waited=0
    while kill -0 "$tests" 2>/dev/null; do
        sleep 2
        waited=$((waited + 2))
        [ "$waited" -ge "$limit" ] || continue
        sleep 2  # let tail print what came last, then stop it: what follows must not be interleaved
        kill "$printer" 2>/dev/null || true
        {
            echo
            echo "test.sh: the tests had not finished after ${limit} s."
            echo "Tests that started and never ended (as far as the log shows: the test binary's output is buffered):"
            comm -23 <(sed -n 's/^◇ Test \(".*"\) started\.$/\1/p' "$log" | sort) \
                     <(sed -n 's/^\(✔\|✘\) Test \(".*"\) \(passed\|failed\) after .*$/\2/p' "$log" | sort) | sed 's/^/  /' || true
            echo "Processes (wchan: where each sleeps in the kernel):"
            ps -eo pid,ppid,stat,etimes,wchan:28,args --forest | grep -v ' \[[^]]*\]$' || true
            echo "Threads of the test binary:"
            ps -L -o tid,stat,wchan:28,comm -p "$(pgrep -d, -f 'PackageTests.xctest' || echo 0)" || true
        } >&2
        kill -TERM -- "-$tests" 2>/dev/null || true
        sleep 10
        kill -KILL -- "-$tests" 2>/dev/null || true
        break
    done
    local status=0
    wait "$tests" || status=$?
    wait "$printer" 2>/dev/null || true
    if [ "$waited" -ge "$limit" ]; then
        clean_up_stopped_run
        rm -f "$log"
        exit 124
    fi
    rm -f "$log"
    return "$status"
}

status=0
for run in "${runs[@]}"; do
    echo "==> swift test $run"
    if [ "$run" = "$*" ]; then run_watched "$@" || status=$?; else run_watched $run || status=$?; fi
done
exit "$status"
