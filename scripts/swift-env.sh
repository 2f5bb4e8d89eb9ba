# shellcheck shell=bash
# Finds a Swift 6 toolchain and puts it first on PATH. Sourced by setup.sh and test.sh, which run under sudo:
# sudo's PATH rarely has the user's Swift on it, so the usual install places are searched too.
#
#   swift_find           returns 0 once `swift` on PATH is Swift 6.0 or newer (SWIFT_VERSION says which),
#                        1 if there is none (SWIFT_TOO_OLD names an older one it saw, if any)
#   swift_explain NEXT   prints how to get Swift 6 on stderr, ending with NEXT (what to do then)

SWIFT_VERSION=""
SWIFT_TOO_OLD=""

# The release build's flags, for setup.sh's install and test.sh's binaries for the cgroup v2 guest.
# --disable-local-rpath: with the Swift runtime linked in, box loads no library of its own, and an $ORIGIN
# RUNPATH only makes the loader look for libc and libm next to it first (14 failed lookups at every start).
SWIFT_RELEASE_FLAGS=(-c release --static-swift-stdlib --disable-local-rpath)

# Where to look, in order: PATH, the tarball's usual place, swiftly (the invoking user's, then ours), and
# Debian's swiftlang package.
swift_candidates() {
    local home homes=()
    command -v swift 2>/dev/null || true
    echo /opt/swift/usr/bin/swift
    if [ -n "${SUDO_USER:-}" ] && home=$(getent passwd "$SUDO_USER" | cut -d: -f6) && [ -n "$home" ]; then
        homes+=("$home")
    fi
    homes+=("${HOME:-/root}")
    for home in "${homes[@]}"; do echo "$home/.local/share/swiftly/bin/swift"; done
    echo /usr/libexec/swift/bin/swift
}

swift_find() {
    local candidate dir out major
    while IFS= read -r candidate; do
        [ -x "$candidate" ] || continue
        dir=$(dirname "$candidate")
        # swiftly's `swift` is a proxy reading its configuration from SWIFTLY_HOME_DIR (by default
        # ~/.local/share/swiftly, which under sudo is root's): point it at the directory it was found in.
        if [ "$(basename "$(dirname "$dir")")" = swiftly ]; then
            export SWIFTLY_HOME_DIR="${dir%/bin}" SWIFTLY_BIN_DIR="$dir"
        fi
        out=$("$candidate" --version 2>&1) || continue
        [[ $out =~ Swift\ version\ ([0-9]+)\.([0-9]+)(\.[0-9]+)? ]] || continue
        major=${BASH_REMATCH[1]}
        if [ "$major" -ge 6 ]; then
            # shellcheck disable=SC2034  # read by the scripts that source this file
            SWIFT_VERSION="Swift ${BASH_REMATCH[0]#Swift version }"
            export PATH="$dir:$PATH"
            return 0
        fi
        [ -n "$SWIFT_TOO_OLD" ] || SWIFT_TOO_OLD="$candidate (${BASH_REMATCH[0]})"
    done < <(swift_candidates)
    return 1
}

swift_explain() {
    {
        if [ -n "$SWIFT_TOO_OLD" ]; then
            echo "box needs Swift 6.0 or newer, but the only Swift found is $SWIFT_TOO_OLD."
        else
            echo "box needs Swift 6.0 or newer, and none was found (looked on PATH, in /opt/swift/usr/bin,"
            echo "in ~/.local/share/swiftly/bin and in /usr/libexec/swift/bin)."
        fi
        echo "Install Swift 6 as https://www.swift.org/install/linux/ explains (swiftly is the quickest way),"
        echo "or unpack a toolchain so that /opt/swift/usr/bin/swift exists. $1"
    } >&2
}
