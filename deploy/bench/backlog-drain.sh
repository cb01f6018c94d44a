#!/usr/bin/env bash
# How fast workers alone drain a large backlog of new metrics on files
# (docs/benchmarks.md, "A large backlog, profiled"): N new metrics x 1 measure
# are put through `orzo ingest` while `orzo metricd --workers 2` is SIGSTOPped,
# on a fresh journalled ext4 on a loop device (as the million-metric row);
# then the worker is resumed and, after 2 s, profiled with `perf record -g` for
# PROFILE seconds; the pending files counted before and after give its rate.
# Needs root (mount) and perf. Every process here is started by this script,
# talks to ipc:// only and is stopped by PID on exit.
#
#   deploy/bench/backlog-drain.sh N [PROFILE_SECONDS]     # e.g. 200000 30
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:?number of metrics}
PROFILE=${2:-30}
swift build -c release --product orzo >/dev/null
ORZO="$(swift build -c release --show-bin-path)/orzo"
WORK=$(mktemp -d /tmp/orzo-backlog.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    mountpoint -q "$WORK/mnt" && umount "$WORK/mnt"
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir "$WORK/mnt"
truncate -s 20G "$WORK/fs.img"
mkfs.ext4 -q -F -i 8192 "$WORK/fs.img"
mount -o loop "$WORK/fs.img" "$WORK/mnt"
DATA="$WORK/mnt/data"
start() { # NAME ARGS...
    local name=$1; shift
    "$ORZO" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PIDS+=($!)
    for _ in $(seq 1 200); do grep -q ready "$WORK/$name.out" 2>/dev/null && return 0; sleep 0.05; done
    echo "$name did not start: $(cat "$WORK/$name.err")" >&2
    return 1
}
start ingest ingest --data-dir "$DATA" --push-endpoint "ipc://$WORK/push" --ack-endpoint "ipc://$WORK/ack"
start query query --data-dir "$DATA" --query-endpoint "ipc://$WORK/query"
start metricd metricd --data-dir "$DATA" --workers 2
metricd=${PIDS[2]}
kill -STOP "$metricd"
timeout 1800 "$ORZO" bench --push-endpoint "ipc://$WORK/push" --ack-endpoint "ipc://$WORK/ack" \
    --query-endpoint "ipc://$WORK/query" --clients 4 --metrics-per-client $((N / 4)) --metrics-per-put 1000 \
    --batches 1 --measures 1 --no-read --create-by-rule --settle-seconds 1 --label "backlog $N" >/dev/null 2>&1 || true
pending() { find "$DATA/incoming" -mindepth 2 -maxdepth 2 -type f | wc -l; }
echo "pending before: $(pending)"
kill -CONT "$metricd"
sleep 2
before=$(pending)
perf record -g -p "$metricd" -o "$WORK/perf.data" -- sleep "$PROFILE" >/dev/null 2>&1
after=$(pending)
echo "pending $before -> $after in $PROFILE s: $(( (before - after) / PROFILE )) metrics/s"
perf report -i "$WORK/perf.data" --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12
