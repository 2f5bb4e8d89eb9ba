#!/usr/bin/env bash
# Gets a Debian or Ubuntu machine ready for boxlab, builds box and lab, and starts the first lab.
#   sudo ./setup.sh              install what is missing, build, install /usr/local/bin/{box,boxd,lab}, start boxd, lab next
#   sudo ./setup.sh --no-start   the same, without starting anything
#   sudo ./setup.sh --deps-only  only install the packages and check Swift (CI)
# Running it again is safe: it installs nothing new, rebuilds and starts.
set -euo pipefail
cd "$(dirname "$0")"

start=1 build=1
for arg in "$@"; do
    case $arg in
        --no-start) start=0 ;;
        --deps-only) start=0 build=0 ;;
        -h | --help) sed -n '2,6s/^# //p' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh installs packages, /usr/local/bin/box and lab: run it with sudo (sudo ./setup.sh)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null; then
    echo "setup.sh knows apt only (Debian, Ubuntu). Elsewhere, install the packages listed in setup.sh by hand." >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive

apt_updated=0
apt_update_once() {
    [ "$apt_updated" = 1 ] && return
    echo "==> apt-get update"
    apt-get update -q
    apt_updated=1
}
apt_install() {
    apt_update_once
    echo "==> installing: $*"
    apt-get install -y -q --no-install-recommends "$@"
}

# want PACKAGE [TEST...]: PACKAGE is needed unless TEST succeeds (without a TEST: unless dpkg has it installed).
missing=()
want() {
    local package=$1
    shift
    if [ $# -gt 0 ]; then
        "$@" >/dev/null 2>&1 && return
    elif [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = "install ok installed" ]; then
        return
    fi
    missing+=("$package")
}
has_lib() { ldconfig -p | grep -F "$1" >/dev/null; }

echo "==> checking packages"
want build-essential    # libc, libgcc and libstdc++ to link against (the Swift toolchain brings its own clang)
want git                # SwiftPM fetches swift-argument-parser with it
want ca-certificates
want libcap-dev         # CSpawn: capability sets
want libseccomp-dev     # CSpawn: docker's seccomp profile as a BPF filter
want libarchive-dev     # image layers
want nettle-dev         # sha256 of layers and configs
want busybox-static     # box builds its busybox image from /bin/busybox
want util-linux         # nsenter, unshare
want iproute2           # ip
want psmisc             # pstree
want skopeo             # the image tests check box save/load against skopeo's docker-archive and OCI code
want docker-registry    # box push/pull (issue 20): the registry lab and the tests run Debian's distribution registry
want curl               # the registry lab and tests read the registry's API by hand
want apache2-utils      # htpasswd: the registry test of box login makes its password file with it
want umoci              # ... and against umoci's OCI layouts
want libsqlite3-dev     # lab-server (the classroom) keeps its room in SQLite, through GRDB
want chromium           # the classroom dashboard's test loads it in a headless browser
want chromium-driver
want postgresql         # lab-server --database: its tests initdb and start a cluster of their own (no service needed)
want python3-docker     # docker-py (Debian's): the boxd tests drive boxd from Python as from the docker CLI
# Shared libraries the toolchain's own tools load (swift-build links libcurl and libxml2 through Foundation);
# Swift's installers usually bring them, a bare VM may not. libcurl4 is libcurl4t64 on newer releases: apt picks it.
want libcurl4 has_lib libcurl.so.4
want libxml2 has_lib libxml2.so.2
want libsqlite3-0 has_lib libsqlite3.so.0
want libncurses6 has_lib libncurses.so.6
# The tests' cgroup v2 guest (Tests/V2Guest): qemu boots Debian's cloud kernel on a root debootstrap makes.
# CI's only (--deps-only): a learner's machine needs none of it. Debian's amd64 kernel package; elsewhere the
# suite skips, saying what is missing.
if [ "$build" = 0 ] && [ "$(dpkg --print-architecture)" = amd64 ]; then
    want qemu-system-x86
    want linux-image-cloud-amd64
    want debootstrap
    want e2fsprogs      # mkfs.ext4 -d makes the guest's disk, debugfs reads its results back
fi
# The reference the tests compare box with (a dockerd of each test's own, beside box): CI's only too.
if [ "$build" = 0 ]; then
    want docker.io
fi
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
    # Debian's docker-registry enables docker-registry.service at install: a registry without authentication on
    # :5000 of every interface. The tests and the registry lab start their own on loopback, so the one we just
    # installed is stopped and disabled (one the machine already had is left alone). Only where systemd runs:
    # a container or CI may have none, and there nothing started it.
    if printf '%s\n' "${missing[@]}" | grep -qx docker-registry && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        systemctl disable --now docker-registry || echo "    could not disable docker-registry.service: it may be listening on :5000" >&2
    fi
else
    echo "    all there"
fi

echo "==> looking for Swift 6"
# shellcheck source=scripts/swift-env.sh
. scripts/swift-env.sh
if ! swift_find; then
    apt_update_once
    if apt-cache show swiftlang >/dev/null 2>&1; then  # Debian 13+, Ubuntu 24.04+
        apt_install swiftlang
        swift_find || true
    fi
fi
if [ -z "$SWIFT_VERSION" ]; then
    swift_explain "Then run sudo ./setup.sh again."
    exit 1
fi
echo "    $SWIFT_VERSION ($(command -v swift))"

# boxd's socket group (issue 21), empty: as with docker's group, whoever is added to it is root on this machine.
if ! getent group box >/dev/null; then
    echo "==> creating the group box (boxd's socket is root:box 0660; the group starts empty)"
    groupadd --system box
fi

if [ "$build" = 0 ]; then
    echo "==> dependencies are in place"
    exit 0
fi

echo "==> building box, lab and lab-server (release, static Swift runtime)"
echo "    The first build compiles the packages too (lab-server's web server and SQLite): 5-10 minutes on a small VM."
# SWIFT_RELEASE_FLAGS (scripts/swift-env.sh): the static Swift runtime, no $ORIGIN RUNPATH.
swift build "${SWIFT_RELEASE_FLAGS[@]}"
install -m 0755 .build/release/box /usr/local/bin/box
install -m 0755 .build/release/lab /usr/local/bin/lab
install -m 0755 .build/release/lab-server /usr/local/bin/lab-server
install -m 0755 .build/release/box-registry /usr/local/bin/box-registry
install -m 0755 .build/release/boxd /usr/local/bin/boxd
echo "==> installed /usr/local/bin/box ($(/usr/local/bin/box version | head -1)), boxd, box-registry (box pull/push run it), lab and lab-server (lab serve runs it)"

# boxd: docker's Engine API on /run/box.sock. A systemd service where systemd runs (restarted, so a rebuilt boxd
# is the one serving), else started in the background unless one already answers.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    install -m 0644 scripts/boxd.service /etc/systemd/system/boxd.service
    systemctl daemon-reload
    systemctl enable boxd.service >/dev/null 2>&1
    if [ "$start" = 0 ]; then
        echo "==> boxd.service enabled (--no-start: not started; sudo systemctl start boxd)"
    else
        systemctl restart boxd.service
        echo "==> boxd.service enabled and started: export DOCKER_HOST=unix:///run/box.sock"
    fi
elif [ "$start" = 0 ]; then
    echo "==> boxd installed (--no-start: not started; sudo boxd & starts it)"
elif curl -sf --unix-socket /run/box.sock http://localhost/_ping >/dev/null 2>&1; then
    echo "==> boxd already answers on /run/box.sock (no systemd here: restart it yourself to run the new one)"
else
    nohup /usr/local/bin/boxd >>/var/log/boxd.log 2>&1 &
    echo "==> boxd started in the background (no systemd here; log: /var/log/boxd.log): export DOCKER_HOST=unix:///run/box.sock"
fi

if [ "$start" = 0 ] || [ ! -t 0 ]; then
    echo "Ready. Start the first lab with:  sudo lab next"
    exit 0
fi

# lab keeps progress for the user behind sudo; running it again goes on where they left off.
echo
exec /usr/local/bin/lab next
