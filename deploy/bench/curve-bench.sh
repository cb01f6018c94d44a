#!/usr/bin/env bash
# The cost of CURVE (docs/security.md): the seed workload and the batch workload
# against `orzo serve` without keys and with CURVE on every socket, interleaved
# in one run on one machine (docs/benchmarks.md, "CURVE").
#
#   deploy/bench/curve-bench.sh [--rounds 3] [--orzo .build/release/orzo] [--out /tmp/orzo-curve-bench]
#
# Prints one line per run and a summary of median wall times and their ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."

rounds=3
orzo=.build/release/orzo
out=/tmp/orzo-curve-bench
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --orzo) orzo=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: $0 [--rounds N] [--orzo PATH] [--out DIR]" >&2; exit 2 ;;
    esac
done
[ -x "$orzo" ] || { echo "no $orzo: swift build -c release --product orzo" >&2; exit 2; }
rm -rf "$out"
mkdir -p "$out/keys"
chmod 700 "$out/keys"
"$orzo" keys generate "$out/keys/server" >/dev/null
client_key=$("$orzo" keys generate "$out/keys/client")
echo "$client_key admin bench" >"$out/keys/allowed-keys"

server_pid=
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=
}
trap stop_server EXIT

# start_server MODE DIR: orzo serve on ipc endpoints in DIR, with CURVE when MODE is curve.
start_server() {
    local mode=$1 dir=$2 extra=()
    [ "$mode" = curve ] && extra=(--server-secret-key-file "$out/keys/server.secret" --allowed-keys-file "$out/keys/allowed-keys")
    mkdir -p "$dir"
    "$orzo" serve --data-dir "$dir/data" --push-endpoint "ipc://$dir/push" --ack-endpoint "ipc://$dir/ack" \
        --query-endpoint "ipc://$dir/query" --http-endpoint off "${extra[@]}" >"$dir/serve.out" 2>"$dir/serve.log" &
    server_pid=$!
    for _ in $(seq 1 200); do
        grep -q ready "$dir/serve.out" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "orzo serve did not start: $(cat "$dir/serve.log")" >&2
    exit 1
}

# bench MODE WORKLOAD DIR: one orzo bench run, its summary in DIR/WORKLOAD.
bench() {
    local mode=$1 workload=$2 dir=$3 keys=() args=()
    [ "$mode" = curve ] && keys=(--server-key "$out/keys/server.public" --client-key "$out/keys/client.secret")
    case "$workload" in
        seed) args=(--clients 10 --batches 100 --measures 100) ;;
        batch) args=(--clients 10 --metrics-per-client 100 --batches 10 --measures 100 --no-read) ;;
    esac
    "$orzo" bench "${args[@]}" --push-endpoint "ipc://$dir/push" --ack-endpoint "ipc://$dir/ack" \
        --query-endpoint "ipc://$dir/query" "${keys[@]}" --label "$mode-$workload" --output "$dir/$workload" \
        >"$dir/$workload.out" 2>&1
    python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print('%.3f' % s['wall_seconds'])" \
        "$dir/$workload/summary.json"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
for round in $(seq 1 "$rounds"); do
    for mode in plain curve; do
        dir="$out/$mode-$round"
        start_server "$mode" "$dir"
        for workload in seed batch; do
            wall=$(bench "$mode" "$workload" "$dir")
            echo "$round $mode $workload $wall" | tee -a "$out/results.txt"
        done
        stop_server
    done
done

python3 - "$out/results.txt" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    _, mode, workload, wall = line.split()
    runs.setdefault((mode, workload), []).append(float(wall))
for workload in ("seed", "batch"):
    plain = statistics.median(runs[("plain", workload)])
    curve = statistics.median(runs[("curve", workload)])
    print(f"{workload}: plain {runs[('plain', workload)]} curve {runs[('curve', workload)]} "
          f"median {plain:.3f} s vs {curve:.3f} s: CURVE costs {100 * (curve / plain - 1):+.1f}%")
EOF
