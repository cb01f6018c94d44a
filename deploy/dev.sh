#!/usr/bin/env bash
# The two commands a newcomer needs, on a fresh Debian 12 machine with Swift:
#
#   deploy/dev.sh run    install the build dependencies, build Orzo and run `orzo serve`
#                        (everything in one process, data in ./orzo-data; Ctrl-C stops it)
#   deploy/dev.sh test   install everything, start a throwaway Ceph, check the
#                        format, build with warnings as errors, run the whole
#                        test suite, stop Ceph again (also on failure), then
#                        build the fuzzers and run each for a short smoke
#
# CI runs `deploy/dev.sh test` through .ci/run. With CI set, the Ceph tests
# cannot be skipped: a green run that skipped them would prove nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*" >&2; }
now_ms() { date +%s%3N; }

# Debian packages: build (C headers of the two libraries Orzo binds), test
# (a real Ceph), and tools the tests use.
BUILD_PACKAGES=(librados-dev libzmq3-dev libsqlite3-dev)
TEST_PACKAGES=(ceph-mon ceph-osd ceph-common uuid-runtime python3 python3-zmq python3-venv procps systemd librsvg2-bin)

install_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing from Debian: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

cmd_run() {
    install_packages "${BUILD_PACKAGES[@]}"
    log "building orzo"
    swift build --product orzo
    "$(swift build --show-bin-path)/orzo" info
    log "running orzo serve (Ctrl-C to stop)"
    exec "$(swift build --show-bin-path)/orzo" serve --data-dir ./orzo-data
}

CEPH_DIR=""
stop_ceph() {
    if [ -n "$CEPH_DIR" ]; then
        log "stopping the throwaway Ceph"
        deploy/ceph-dev.sh down "$CEPH_DIR" || true
        CEPH_DIR=""
    fi
}

# One plain closing line from Swift Testing's summary: "N passed, M failed".
summarize() {
    local line total failed
    line=$(grep -E 'Test run with [0-9]+ tests?' "$1" | tail -1 || true)
    [ -n "$line" ] || { echo "no test summary found" >&2; return 0; }
    total=$(sed -E 's/.*Test run with ([0-9]+) tests?.*/\1/' <<<"$line")
    failed=0
    if grep -q 'failed after' <<<"$line"; then
        failed=$(grep -cE '^.{0,4}Test .* failed after' "$1" || true)
    fi
    echo "swift-test: $((total - failed)) passed, $failed failed"
}

cmd_test() {
    local t0; t0=$(now_ms)
    install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"

    log "checking the format (swift format lint --strict)"
    swift format lint --strict --recursive Sources Tests Package.swift

    log "building with warnings as errors (set in Package.swift), tests included"
    swift build --build-tests

    log "the systemd units pass systemd-analyze verify"
    deploy/tests/systemd-verify.sh "$(swift build --show-bin-path)/orzo"

    log "the throwaway Ceph starts and stops cleanly three times in a row"
    deploy/tests/ceph-dev-cycles.sh

    trap stop_ceph EXIT
    CEPH_DIR=$(mktemp -d /tmp/orzo-test-ceph.XXXXXX)
    rmdir "$CEPH_DIR"
    log "starting a throwaway Ceph in $CEPH_DIR"
    local t_ceph; t_ceph=$(now_ms)
    ORZO_TEST_CEPH_CONF=$(deploy/ceph-dev.sh up "$CEPH_DIR")
    export ORZO_TEST_CEPH_CONF
    echo "Ceph up in $(( $(now_ms) - t_ceph )) ms; conf $ORZO_TEST_CEPH_CONF" >&2

    log "running the test suite against it"
    local results; results=$(mktemp)
    # Swift Testing runs every test; the XCTest runner would only add an empty run.
    swift test --skip-build --disable-xctest 2>&1 | tee "$results"
    local status=${PIPESTATUS[0]}
    summarize "$results"
    rm -f "$results"
    # What the tests leave in /tmp: store directories and ipc socket files.
    rm -rf /tmp/orzo-storage-tests /tmp/orzo-e2e-* /tmp/orzo-fleet-* /tmp/orzo-zmq-test-*
    [ "$status" -eq 0 ] || exit "$status"
    stop_ceph
    trap - EXIT

    log "Gnocchi 4.7.1's own functional tests (gabbits) against orzo http (docs/http-api.md)"
    deploy/gabbits/run.sh "$(swift build --show-bin-path)/orzo"
    log "gnocchiclient 7.2.0's gnocchi command against orzo serve (docs/http-api.md)"
    deploy/gnocchiclient/run.sh "$(swift build --show-bin-path)/orzo"

    log "fuzz smoke: libFuzzer on each parser for 15 s (deploy/fuzz.sh; the long runs are in docs/reliability.md)"
    deploy/fuzz.sh build
    deploy/fuzz.sh smoke 15
    log "all checks passed in $(( ($(now_ms) - t0) / 1000 )) s"
}

case "${1:-}" in
    run) cmd_run ;;
    test) cmd_test ;;
    *) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
