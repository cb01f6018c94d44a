#!/usr/bin/env bash
# System benchmarks of Orzo beside a real Gnocchi 4.7.1, measured in one run on
# this machine (docs/benchmarks.md has the results and how to read them).
# Not part of the tests: it takes minutes and its numbers depend on the load.
#
#   deploy/bench/system-bench.sh [--out DIR] [--rounds N] [--no-gnocchi] [--ceph] [--quick]
#                                [--only wide|million|ceph-osds|scaling|ceph-scaling|gnocchi-scaling|visibility|http-seed | --no-scaling]
#                                [--wide-sizes "10000 100000"]
#
# The scaling matrix (1,000 / 10,000 / 100,000 metrics x 1, 2, 4 workers) runs
# on files, on Ceph with --ceph, and for Gnocchi at the sizes it can drain in
# bounded time, unless --no-scaling; --only runs one of them alone.
#
# The wide workload (issue 15: the shape of real fleets) puts 1 measure into each
# of N metrics per round, in acknowledged puts of 1,000 metrics from 4 clients,
# 3 rounds (the first creates the metrics through a rule), on `orzo serve`; and
# the same measures in the same request sizes through Gnocchi's batch endpoint
# (its metrics created beforehand, untimed).
#
# Gnocchi: ../shared/tools/gnocchi-peer/start_gnocchi.sh must have started it
# (http://127.0.0.1:8041), unless --no-gnocchi. Every process here talks to
# 127.0.0.1 or ipc:// only, is started by this script, and is stopped by PID
# on exit. Each step is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=/tmp/orzo-system-bench
ONLY=""
SCALING=1
ROUNDS=3
GNOCCHI=1
CEPH=0
QUICK=0
WIDE_SIZES="10000 100000"
PEER=../shared/tools/gnocchi-peer
GNOCCHI_URL=http://127.0.0.1:8041
GNOCCHI_PY=${GNOCCHI_PY:-/tmp/gnocchi-peer/venv/bin/python}
while [ $# -gt 0 ]; do
    case "$1" in
    --out) OUT=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --no-gnocchi) GNOCCHI=0 ;;
    --ceph) CEPH=1 ;;
    --quick) QUICK=1; ROUNDS=1 ;;
    --only) ONLY=$2; shift ;;
    --no-scaling) SCALING=0 ;;
    --wide-sizes) WIDE_SIZES=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$OUT"
log() { printf '\n== %s\n' "$*" | tee -a "$OUT/log.txt" >&2; }

case "$ONLY" in ""|wide|million|ceph-osds|scaling|ceph-scaling|gnocchi-scaling|visibility|http-seed) ;; *) echo "unknown --only $ONLY" >&2; exit 2 ;; esac
[ "$ONLY" = ceph-scaling ] && CEPH=1
[ "$ONLY" = ceph-osds ] && CEPH=1
swift build -c release --product orzo >/dev/null
ORZO="$(swift build -c release --show-bin-path)/orzo"
WORK=$(mktemp -d /tmp/orzo-system-bench.XXXXXX)
cleanup() {
    # Every role this script started, by PID (recorded by start, which runs in a subshell).
    # SIGCONT too: a worker the bench paused (SIGSTOP) when it failed would not die.
    while read -r pid; do kill "$pid" 2>/dev/null || true; kill -CONT "$pid" 2>/dev/null || true; done <"$WORK/pids" 2>/dev/null || true
    [ "$GNOCCHI" = 1 ] && kill -CONT $(gnocchi_pids) 2>/dev/null || true
    sleep 0.5
    mountpoint -q "$WORK/million" 2>/dev/null && umount "$WORK/million" || true
    [ -n "${CEPH_DIR:-}" ] && deploy/ceph-dev.sh down "$CEPH_DIR" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
    echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
    echo "kernel: $(uname -r)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "orzo: $("$ORZO" info | head -1)"
} | tee "$OUT/machine.txt"

# Starts a role in the background and waits for its ready line.
start() {
    local name=$1; shift
    "$ORZO" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    echo $! >>"$WORK/pids"
    for _ in $(seq 1 200); do
        grep -q ready "$WORK/$name.out" 2>/dev/null && { echo $!; return 0; }
        sleep 0.05
    done
    echo "$name did not start: $(cat "$WORK/$name.err")" >&2
    return 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

endpoints() { echo --push-endpoint "ipc://$WORK/$1-push" --ack-endpoint "ipc://$WORK/$1-ack" --query-endpoint "ipc://$WORK/$1-query"; }

# Separate roles on one backend (`--data-dir D` or Ceph options), listening at
# `endpoints ID`: sets $ingest, $query and $metricd (WORKERS workers).
start_roles() { # ID WORKERS BACKEND-ARGS...
    local id=$1 workers=$2
    shift 2
    ingest=$(start "ingest-$id" ingest "$@" --push-endpoint "ipc://$WORK/$id-push" --ack-endpoint "ipc://$WORK/$id-ack")
    query=$(start "query-$id" query "$@" --query-endpoint "ipc://$WORK/$id-query")
    metricd=$(start "metricd-$id" metricd "$@" --workers "$workers")
}
stop_roles() { stop "$ingest"; stop "$query"; stop "$metricd"; }

# A fresh `orzo serve` on files for each measurement.
serve() {
    local id=$1
    start "serve-$id" serve --data-dir "$WORK/data-$id" $(endpoints "$id") --metrics-endpoint 127.0.0.1:0 --http-endpoint off
}

# A throwaway Ceph cluster (memstore) on this machine, started once.
ceph_up() {
    [ -n "${CEPH_CONF:-}" ] && return 0
    CEPH_DIR="$WORK/ceph"
    CEPH_CONF=$(deploy/ceph-dev.sh up "$CEPH_DIR")
}

# Gnocchi's processes (and their children) stopped while Orzo is measured, so
# that its idle metricd and PostgreSQL (about a third of a core here, and their
# writes, which Orzo's syncfs would flush with its own on the shared root
# filesystem) do not weigh on Orzo's figures; resumed after, and on exit.
gnocchi_pids() {
    local p
    for p in $(cat /tmp/gnocchi-peer/run/*.pid 2>/dev/null); do echo "$p"; pgrep -P "$p" || true; done
}
gnocchi_pause() { [ "$GNOCCHI" = 1 ] && kill -STOP $(gnocchi_pids) 2>/dev/null || true; }
gnocchi_resume() { [ "$GNOCCHI" = 1 ] && kill -CONT $(gnocchi_pids) 2>/dev/null || true; }

gnocchi() {
    [ "$GNOCCHI" = 1 ] || return 0
    timeout "${GNOCCHI_TIMEOUT:-900}" "$GNOCCHI_PY" "$PEER/seed_workload.py" "$@" --url "$GNOCCHI_URL" >>"$OUT/log.txt" 2>&1
}

if [ -z "$ONLY" ]; then
for round in $(seq 1 "$ROUNDS"); do
    log "round $round: seed workload (10 clients x 100 x (put 100 + get)), Orzo on files then Gnocchi"
    pid=$(serve "seed-$round")
    timeout 600 "$ORZO" bench $(endpoints "seed-$round") --label "orzo files" --output "$OUT/seed-orzo-$round" | tee -a "$OUT/log.txt"
    stop "$pid"
    gnocchi seed --out "$OUT/seed-gnocchi-$round.json"

    log "round $round: seed without reads"
    pid=$(serve "noread-$round")
    timeout 600 "$ORZO" bench $(endpoints "noread-$round") --no-read --label "orzo files" --output "$OUT/noread-orzo-$round" | tee -a "$OUT/log.txt"
    stop "$pid"
    gnocchi seed --no-get --out "$OUT/noread-gnocchi-$round.json"
done

log "batch: 1,000 metrics x 1,000 measures (10 rounds of 100 per metric, requests of 100 metrics), acknowledged"
for round in $(seq 1 "$ROUNDS"); do
    # Separate roles on one data directory, so that the worker can be paused.
    dir="$WORK/batch-$round"
    ingest=$(start "ingest-$round" ingest --data-dir "$dir" --push-endpoint "ipc://$WORK/b$round-push" --ack-endpoint "ipc://$WORK/b$round-ack")
    query=$(start "query-$round" query --data-dir "$dir" --query-endpoint "ipc://$WORK/b$round-query")
    metricd=$(start "metricd-$round" metricd --data-dir "$dir" --workers 1)
    timeout 900 "$ORZO" bench --push-endpoint "ipc://$WORK/b$round-push" --ack-endpoint "ipc://$WORK/b$round-ack" \
        --query-endpoint "ipc://$WORK/b$round-query" --clients 10 --metrics-per-client 100 --batches 10 \
        --measures 100 --no-read --label "orzo files, 1 worker running" --output "$OUT/batch-orzo-$round" | tee -a "$OUT/log.txt"
    timeout 900 "$ORZO" bench --push-endpoint "ipc://$WORK/b$round-push" --ack-endpoint "ipc://$WORK/b$round-ack" \
        --query-endpoint "ipc://$WORK/b$round-query" --clients 10 --metrics-per-client 100 --batches 10 \
        --measures 100 --no-read --pause-pid "$metricd" --label "orzo files, 1 worker paused then alone" \
        --output "$OUT/batch-paused-orzo-$round" | tee -a "$OUT/log.txt"
    timeout 900 "$ORZO" bench --push-endpoint "ipc://$WORK/b$round-push" --ack-endpoint "ipc://$WORK/b$round-ack" \
        --query-endpoint "ipc://$WORK/b$round-query" --clients 10 --metrics-per-client 100 --batches 10 \
        --measures 100 --no-read --push --label "orzo files, push" --output "$OUT/batch-push-orzo-$round" | tee -a "$OUT/log.txt"
    stop "$ingest"; stop "$query"; stop "$metricd"
    if [ "$GNOCCHI" = 1 ]; then
        gnocchi batch --out "$OUT/batch-gnocchi-$round.json"
        gpid=$(cat /tmp/gnocchi-peer/run/metricd.pid 2>/dev/null || true)
        # The processing worker is the child of gnocchi-metricd that processes; as the
        # reference run did, pause the whole metricd process group's worker.
        worker=$(pgrep -P "$gpid" -f "processing" | head -1 || true)
        [ -n "$worker" ] && gnocchi batch --pause-metricd-pid "$worker" --out "$OUT/batch-paused-gnocchi-$round.json"
    fi
done

log "query latency, one client, files (and Gnocchi)"
for points in 1440 86400; do
    pid=$(serve "query-$points")
    timeout 600 "$ORZO" bench $(endpoints "query-$points") --query-points "$points" --query-repeat 1000 \
        --label "orzo files" --output "$OUT/query-orzo" | tee -a "$OUT/log.txt"
    stop "$pid"
    if [ "$GNOCCHI" = 1 ]; then
        repeat=1000
        [ "$points" = 86400 ] && repeat=100  # about 1 s per read on Gnocchi
        timeout 900 "$GNOCCHI_PY" deploy/bench/gnocchi_query.py --url "$GNOCCHI_URL" --points "$points" \
            --repeat "$repeat" --out "$OUT/query-gnocchi-$points.json" | tee -a "$OUT/log.txt"
    fi
done

fi  # not --only

# The seed workload through Gnocchi's REST API: the same client
# (seed_workload.py: 10 clients x 100 x (POST 100 measures + GET)) against
# `orzo serve`'s REST API and against Gnocchi, alternating, each round on a
# fresh Orzo. Gnocchi is paused while Orzo is measured.
if [ -z "$ONLY" ] || [ "$ONLY" = http-seed ]; then
for round in $(seq 1 "$ROUNDS"); do
    log "round $round: seed workload over the REST API, Orzo (orzo serve) then Gnocchi"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    gnocchi_pause
    pid=$(start "httpseed-$round" serve --data-dir "$WORK/httpseed-$round" $(endpoints "httpseed-$round") \
        --metrics-endpoint 127.0.0.1:0 --http-endpoint "127.0.0.1:$port")
    # The CPU each side used: the client (Python, parsing every GET's rows) and
    # the server share the cores, so both bound the wall time.
    timeout 600 /usr/bin/time -f "client cpu: user %U s, system %S s" -o "$OUT/httpseed-cpu-$round.txt" \
        python3 "$PEER/seed_workload.py" seed --url "http://127.0.0.1:$port" \
        --out "$OUT/httpseed-orzo-$round.json" >>"$OUT/log.txt" 2>&1
    awk -v tick="$(getconf CLK_TCK)" '{printf "serve cpu: user %.2f s, system %.2f s\n", $14 / tick, $15 / tick}' \
        "/proc/$pid/stat" >>"$OUT/httpseed-cpu-$round.txt"
    tee -a "$OUT/log.txt" <"$OUT/httpseed-cpu-$round.txt"
    stop "$pid"
    gnocchi_resume
    gnocchi seed --out "$OUT/httpseed-gnocchi-$round.json"
    python3 - "$OUT/httpseed-orzo-$round.json" "$OUT/httpseed-gnocchi-$round.json" <<'PY' | tee -a "$OUT/log.txt"
import json, sys
def load(path):
    try:
        return json.load(open(path))
    except OSError:
        return None
orzo, gnocchi = load(sys.argv[1]), load(sys.argv[2])
def seed(result):
    return result["results"][0] if "results" in result else result
def get(result, key):
    return seed(result).get(key) or float("nan")
for key in ("wall_s_clients", "wall_s_until_processed"):
    line = f"REST seed {key}: orzo {get(orzo, key):.2f} s"
    if gnocchi:
        line += f", gnocchi {get(gnocchi, key):.2f} s, ratio {get(gnocchi, key) / get(orzo, key):.1f}x"
    print(line)
for name, result in (("orzo", orzo), ("gnocchi", gnocchi)):
    if result:
        result = seed(result)
        print(f"  {name}: errors {result.get('n_errors')}, POST p50 {result['post_latency'].get('p50_ms'):.1f} ms, "
              f"GET p50 {result['get_latency'].get('p50_ms'):.1f} ms")
PY
done
fi

if [ -z "$ONLY" ] || [ "$ONLY" = wide ]; then
    for metrics in $WIDE_SIZES; do
        log "wide: $metrics metrics x 1 measure per round, 3 rounds, acknowledged puts of 1,000 metrics, 4 clients"
        gnocchi_pause
        pid=$(serve "wide-$metrics")
        timeout 1200 "$ORZO" bench $(endpoints "wide-$metrics") --clients 4 --metrics-per-client $((metrics / 4)) \
            --metrics-per-put 1000 --batches 3 --measures 1 --no-read --create-by-rule --settle-seconds 900 \
            --label "orzo files, wide $metrics" --output "$OUT/wide-orzo-$metrics" | tee -a "$OUT/log.txt"
        echo "serve peak RSS: $(grep VmHWM /proc/"$pid"/status | awk '{print $2, $3}')" | tee -a "$OUT/wide-orzo-$metrics/rss.txt"
        stop "$pid"
        rm -rf "$WORK/data-wide-$metrics"
        # Queries under load: the same workload with one more client reading a
        # 1,440-point metric (get_measures at 1 s) again and again while the others write.
        pid=$(serve "wideq-$metrics")
        timeout 1200 "$ORZO" bench $(endpoints "wideq-$metrics") --clients 4 --metrics-per-client $((metrics / 4)) \
            --metrics-per-put 1000 --batches 3 --measures 1 --no-read --create-by-rule --settle-seconds 900 \
            --query-under-load 1440 --label "orzo files, wide $metrics, 1,440-point reads beside" \
            --output "$OUT/wide-query-orzo-$metrics" | tee -a "$OUT/log.txt"
        stop "$pid"
        rm -rf "$WORK/data-wideq-$metrics"
        gnocchi_resume
        # Gnocchi drains 10,000 one-measure metrics in minutes; 100,000 would take about an hour.
        if [ "$metrics" -le 10000 ]; then
            GNOCCHI_TIMEOUT=2400 gnocchi batch --metrics "$metrics" --measures 3 --rounds 3 --metrics-per-request 1000 --batch-clients 4 \
                --drain-timeout 1500 --out "$OUT/wide-gnocchi-$metrics.json"
        fi
    done
fi

if { [ -z "$ONLY" ] && [ "$CEPH" = 1 ]; } || [ "$ONLY" = ceph-osds ]; then
    # Issue 15, goal 3: metric updates per second on clusters of 1 and 3 OSDs, with
    # 1, 2 and 4 workers, beside the cluster's write IOPS (rados bench, 4 KiB, 16 in
    # flight) in the same run. 10,000 metrics x 1 measure are put with the workers
    # paused; their drain alone gives the updates per second (3 RADOS operations each).
    gnocchi_pause
    for osds in 1 3; do
        log "Ceph with $osds OSD(s): rados bench, then 10,000 one-measure metrics drained by 1, 2, 4 workers"
        dir="$WORK/ceph-$osds"
        conf=$(deploy/ceph-dev.sh up "$dir" --osds "$osds")
        ceph -c "$conf" osd pool create rados-bench 32 >/dev/null 2>&1 || true
        timeout 120 rados -c "$conf" -p rados-bench bench 10 write -b 4096 -t 16 --no-cleanup \
            | tail -12 | tee "$OUT/rados-bench-$osds-osds.txt" | grep -E "Average IOPS|Bandwidth" | tee -a "$OUT/log.txt"
        ceph -c "$conf" osd pool create orzo-bench 32 >/dev/null 2>&1 || true
        for workers in 1 2 4; do
            id="o$osds-w$workers"
            backend=(--ceph-conf "$conf" --pool orzo-bench --namespace "osds-$id-$$")
            start_roles "$id" "$workers" "${backend[@]}"
            timeout 1500 "$ORZO" bench $(endpoints "$id") --clients 4 --metrics-per-client 2500 --metrics-per-put 1000 \
                --batches 1 --measures 1 --no-read --create-by-rule --pause-pid "$metricd" --settle-seconds 1200 \
                --label "orzo ceph, $osds OSD(s), $workers worker(s), paused then alone" \
                --output "$OUT/ceph-osds-$osds-workers-$workers" | tee -a "$OUT/log.txt"
            stop_roles
        done
        deploy/ceph-dev.sh down "$dir" >/dev/null 2>&1 || true
    done
    gnocchi_resume
fi

if [ -z "$ONLY" ] && [ "$CEPH" = 1 ]; then
    log "Ceph: throwaway cluster (memstore) on this machine"
    ceph_up
    conf=$CEPH_CONF
    ceph -c "$conf" osd pool create rados-bench 32 >/dev/null 2>&1 || true
    timeout 120 rados -c "$conf" -p rados-bench bench 10 write -b 4096 -t 16 --no-cleanup | tail -12 | tee -a "$OUT/rados-bench.txt"
    backend=(--ceph-conf "$conf" --pool orzo-bench)
    ingest=$(start ceph-ingest ingest "${backend[@]}" --push-endpoint "ipc://$WORK/c-push" --ack-endpoint "ipc://$WORK/c-ack")
    query=$(start ceph-query query "${backend[@]}" --query-endpoint "ipc://$WORK/c-query")
    metricd=$(start ceph-metricd metricd "${backend[@]}" --workers 4)
    ce=(--push-endpoint "ipc://$WORK/c-push" --ack-endpoint "ipc://$WORK/c-ack" --query-endpoint "ipc://$WORK/c-query")
    timeout 900 "$ORZO" bench "${ce[@]}" --label "orzo ceph" --output "$OUT/seed-ceph" | tee -a "$OUT/log.txt"
    timeout 900 "$ORZO" bench "${ce[@]}" --clients 10 --metrics-per-client 100 --batches 10 --measures 100 --no-read \
        --label "orzo ceph, batch" --output "$OUT/batch-ceph" | tee -a "$OUT/log.txt"
    timeout 900 "$ORZO" bench "${ce[@]}" --clients 10 --metrics-per-client 100 --batches 10 --measures 100 --no-read \
        --pause-pid "$metricd" --label "orzo ceph, batch, workers paused then alone" --output "$OUT/batch-paused-ceph" | tee -a "$OUT/log.txt"
    for points in 1440 86400; do
        timeout 600 "$ORZO" bench "${ce[@]}" --query-points "$points" --query-repeat 300 \
            --label "orzo ceph" --output "$OUT/query-ceph" | tee -a "$OUT/log.txt"
    done
    stop "$ingest"; stop "$query"; stop "$metricd"
fi

if [ "$ONLY" = million ]; then
    # Issue 15, goal 5 (only on request: about 16 GB and 3 million inodes): one round
    # of 1,000,000 new metric names x 1 measure into `orzo serve`, on a journalled ext4
    # of its own (a loop device, when root may mount one), then reads and name pages.
    log "one million metrics: one round of new names x 1 measure, acknowledged puts of 1,000, 4 clients"
    mdir="$WORK/million"
    mkdir -p "$mdir"
    # cleanup unmounts it
    truncate -s 60G "$WORK/million.img" && mkfs.ext4 -q -F -i 8192 "$WORK/million.img" \
        && mount -o loop "$WORK/million.img" "$mdir" \
        || log "no loop device here: the data directory stays on $WORK's filesystem"
    pid=$(start serve-million serve --data-dir "$mdir/data" $(endpoints million))
    ( while kill -0 "$pid" 2>/dev/null; do echo "$(date +%T) $(grep VmRSS "/proc/$pid/status")"; sleep 10; done ) \
        >"$OUT/million-rss.txt" &
    timeout 3600 "$ORZO" bench $(endpoints million) --clients 4 --metrics-per-client 250000 --metrics-per-put 1000 \
        --batches 1 --measures 1 --no-read --create-by-rule --settle-seconds 2400 --timeout 60 \
        --label "orzo files, 1,000,000 new metrics" --output "$OUT/million" | tee -a "$OUT/log.txt" || true
    timeout 300 "$ORZO" bench $(endpoints million) --query-points 1440 --query-repeat 300 \
        --label "orzo files, 1,000,000 metrics" --output "$OUT/million" | tee -a "$OUT/log.txt" || true
    started=$(date +%s%N)
    for page in $(seq 10); do
        timeout 20 "$ORZO" metric list $(endpoints million) --limit 1000 --marker "bench.x.c$page" --format json >/dev/null
    done
    echo "a page of 1,000 names: $(( ($(date +%s%N) - started) / 10000000 )) ms per orzo metric list, process start included" \
        | tee -a "$OUT/log.txt"
    echo "serve peak RSS: $(grep VmHWM "/proc/$pid/status")" | tee -a "$OUT/log.txt"
    stop "$pid"
fi

if { [ -z "$ONLY" ] && [ "$SCALING" = 1 ]; } || [ "$ONLY" = scaling ]; then
    # How ingest and one worker's drain change with the number of metrics (1 M
    # measures in all, so fewer per metric as they grow) and with 1, 2 and 4
    # workers; the peak memory of the worker process. Files backend.
    log "scaling: 1,000 / 10,000 / 100,000 metrics x 1, 2, 4 workers (1 M measures each)"
    for metrics in 1000 10000 100000; do
        per=$((1000000 / metrics))
        batches=10
        [ "$per" -le 10 ] && batches=1
        for workers in 1 2 4; do
            [ "$QUICK" = 1 ] && [ "$workers" != 1 ] && continue
            dir="$WORK/scale-$metrics-$workers"
            id="s$metrics-$workers"
            start_roles "$id" "$workers" --data-dir "$dir"
            timeout 1200 "$ORZO" bench $(endpoints "$id") --clients 10 --metrics-per-client $((metrics / 10)) \
                --batches "$batches" --measures $((per / batches)) --no-read --pause-pid "$metricd" --settle-seconds 900 \
                --timeout 120 --label "orzo files, $metrics metrics, $workers workers" --output "$OUT/scale-$metrics-$workers" \
                | tee -a "$OUT/log.txt" || true
            grep -E 'VmHWM|VmRSS' "/proc/$metricd/status" | tr -s ' ' >"$OUT/scale-$metrics-$workers/metricd-memory.txt" || true
            stop_roles
        done
    done

    log "acknowledgement to queryable (low load), ingest and query rates in one process (orzo-service-bench)"
    swift build -c release --product orzo-service-bench >/dev/null
    timeout 600 "$(swift build -c release --show-bin-path)/orzo-service-bench" --data-dir "$WORK/service-bench" | tee "$OUT/service-bench.txt"
fi

if [ -z "$ONLY" ] || [ "$ONLY" = visibility ]; then
    # The time from an acknowledged put until a read without refresh returns the
    # point: a worker must find the metric, aggregate it and commit.
    log "acknowledgement to queryable: 100 probes of one measure, one at a time (files; Ceph with --ceph)"
    pid=$(serve visibility)
    timeout 600 "$ORZO" bench $(endpoints visibility) --visibility-probes 100 --label "orzo files" \
        --output "$OUT/visibility-orzo" | tee -a "$OUT/log.txt"
    stop "$pid"
    # Separate roles on one data directory: the worker learns of new measures
    # through inotify, not from the ingest in its own process.
    dir="$WORK/visibility-roles"
    start_roles vf 2 --data-dir "$dir"
    timeout 600 "$ORZO" bench $(endpoints vf) --visibility-probes 100 --label "orzo files, separate roles" \
        --output "$OUT/visibility-orzo-roles" | tee -a "$OUT/log.txt"
    # An idle fleet: CPU time each role uses in 30 s without traffic.
    idle_cpu() { # LABEL
        cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
        local tick before_w before_q before_i
        tick=$(getconf CLK_TCK)
        before_w=$(cpu "$metricd"); before_q=$(cpu "$query"); before_i=$(cpu "$ingest")
        sleep 30
        {
            echo "idle 30 s ($1), CPU seconds: metricd $(( $(cpu "$metricd") - before_w ))/$tick," \
                "query $(( $(cpu "$query") - before_q ))/$tick, ingest $(( $(cpu "$ingest") - before_i ))/$tick"
        } | tee "$OUT/idle-cpu-$1.txt" | tee -a "$OUT/log.txt"
    }
    idle_cpu files
    stop_roles
    if [ "$CEPH" = 1 ]; then
        ceph_up
        backend=(--ceph-conf "$CEPH_CONF" --pool orzo-bench --namespace "visibility-$$")
        start_roles vis 4 "${backend[@]}"
        timeout 600 "$ORZO" bench $(endpoints vis) --visibility-probes 100 --label "orzo ceph" \
            --output "$OUT/visibility-ceph" | tee -a "$OUT/log.txt"
        idle_cpu ceph
        stop_roles
    fi
fi

if { [ -z "$ONLY" ] && [ "$SCALING" = 1 ] && [ "$CEPH" = 1 ]; } || [ "$ONLY" = ceph-scaling ]; then
    # The same matrix on the throwaway Ceph: a namespace of its own per row, the
    # workers (one orzo metricd process) paused while the clients write.
    log "Ceph scaling: 1,000 / 10,000 / 100,000 metrics x 1, 2, 4 workers (1 M measures each)"
    ceph_up
    for metrics in 1000 10000 100000; do
        per=$((1000000 / metrics))
        batches=10
        [ "$per" -le 10 ] && batches=1
        for workers in 1 2 4; do
            [ "$QUICK" = 1 ] && [ "$workers" != 1 ] && continue
            id="c$metrics-$workers"
            backend=(--ceph-conf "$CEPH_CONF" --pool orzo-bench --namespace "scale-$metrics-$workers-$$")
            start_roles "$id" "$workers" "${backend[@]}"
            timeout 1500 "$ORZO" bench $(endpoints "$id") --clients 10 --metrics-per-client $((metrics / 10)) \
                --batches "$batches" --measures $((per / batches)) --no-read --pause-pid "$metricd" --settle-seconds 1200 --timeout 120 \
                --label "orzo ceph, $metrics metrics, $workers workers" --output "$OUT/ceph-scale-$metrics-$workers" | tee -a "$OUT/log.txt" || true
            grep -E 'VmHWM|VmRSS' "/proc/$metricd/status" | tr -s ' ' >"$OUT/ceph-scale-$metrics-$workers/metricd-memory.txt" || true
            stop_roles
        done
    done
fi

if { [ -z "$ONLY" ] && [ "$SCALING" = 1 ] && [ "$GNOCCHI" = 1 ]; } || [ "$ONLY" = gnocchi-scaling ]; then
    # Gnocchi at 10,000 metrics x 100 measures, its metricd paused while the
    # clients write, then alone (its 1,000-metric row is the batch above). One
    # metricd worker, as started by start_gnocchi.sh. 100,000 metrics would take
    # Gnocchi well over the time this script allows itself.
    log "Gnocchi scaling: 10,000 metrics x 100 measures, metricd paused then alone"
    gpid=$(cat /tmp/gnocchi-peer/run/metricd.pid 2>/dev/null || true)
    worker=$(pgrep -P "$gpid" -f "processing" | head -1 || true)
    [ -n "$worker" ] && gnocchi batch --metrics 10000 --measures 100 --rounds 1 --pause-metricd-pid "$worker" \
        --drain-timeout 1500 --out "$OUT/gnocchi-scale-10000-1.json"
fi

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"
log "results in $OUT"
