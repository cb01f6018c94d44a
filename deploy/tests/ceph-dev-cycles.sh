#!/usr/bin/env bash
# Checks deploy/ceph-dev.sh: a memstore cluster starts, serves a write, and
# stops with nothing left running, three times in a row; then a BlueStore
# (tmpfs) cluster keeps its data across a SIGKILL and restart of its OSD.
# Prints the start-up time of each cycle.
set -euo pipefail
cd "$(dirname "$0")/../.."
script=deploy/ceph-dev.sh
now_ms() { date +%s%3N; }
fail() { echo "ceph-dev-cycles: FAIL: $*" >&2; exit 1; }

gone() { # PID...: every one finished (absent or a zombie with no threads left)
    for pid in "$@"; do
        local state
        state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || continue
        [ "$state" = Z ] && [ "$(ls "/proc/$pid/task" 2>/dev/null | wc -l)" -le 1 ] && continue
        return 1
    done
}

cycle() { # STORE
    local dir conf pids t0 up_ms
    dir=$(mktemp -d /tmp/orzo-ceph-cycle.XXXXXX); rmdir "$dir"
    t0=$(now_ms)
    conf=$($script up "$dir" --store "$1")
    up_ms=$(( $(now_ms) - t0 ))
    pids=$($script status "$dir" | awk '{print $2}')
    [ "$(echo "$pids" | wc -w)" -eq 2 ] || fail "expected a mon and an osd, got: $pids"
    echo "payload-$1" | timeout 20 rados -c "$conf" -p orzo put cycle-object - || fail "write failed"
    if [ "$1" = bluestore ]; then
        $script kill-osd "$dir"
        $script start-osd "$dir"
        [ "$(timeout 30 rados -c "$conf" -p orzo get cycle-object -)" = "payload-$1" ] || fail "data lost across OSD restart"
        pids=$($script status "$dir" | awk '{print $2}')
    fi
    $script down "$dir"
    gone $pids || fail "daemons still running after down: $pids"
    [ ! -e "$dir" ] || fail "$dir left behind"
    ! grep -q " $dir" /proc/mounts || fail "a mount under $dir left behind"
    echo "ceph-dev-cycles: $1 cluster up in $up_ms ms, stopped, nothing left running" >&2
}

for _ in 1 2 3; do cycle memstore; done
if [ "$(id -u)" -eq 0 ]; then
    cycle bluestore
else
    echo "ceph-dev-cycles: not root, so the BlueStore-on-tmpfs variant was not checked" >&2
fi
echo "ceph-dev-cycles: 4 passed, 0 failed" >&2
