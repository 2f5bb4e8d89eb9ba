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

echo "==> swift build --build-tests ($SWIFT_VERSION)"
swift build --build-tests
echo "==> swift test $*"
exec swift test "$@"
