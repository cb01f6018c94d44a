#!/usr/bin/env bash
# libFuzzer on Orzo's parsers (docs/reliability.md, "Fuzzing").
#
#   deploy/fuzz.sh build                  build .build-fuzz/release/orzo-fuzz (libFuzzer + AddressSanitizer)
#   deploy/fuzz.sh run TARGET [ARGS...]   fuzz one target from its committed seeds (Fuzz/corpus/TARGET);
#                                         new inputs go to .build-fuzz/corpus/TARGET, crashes to
#                                         .build-fuzz/crashes/TARGET; ARGS go to libFuzzer (-runs=N,
#                                         -max_total_time=S, -jobs=N …)
#   deploy/fuzz.sh smoke [SECONDS]        every target for SECONDS (default 10) each; fails on a crash
#
# Leaks are not checked (detect_leaks=0): LeakSanitizer reports Foundation's own
# allocations from Swift code as leaks. Traps, memory errors, timeouts (10 s) and
# memory over 2 GB are crashes.
# Targets: put query operations blobs state statsd config. A crash found becomes a
# regression input under Fuzz/regressions/TARGET (replayed by the test suite).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(put query operations blobs state statsd config)
BIN=.build-fuzz/release/orzo-fuzz

build() {
    # Warnings from gold about ASan's local symbols are harmless (swift-stack.md §10).
    swift build -c release --scratch-path .build-fuzz --product orzo-fuzz \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | grep -v "Cannot export local symbol" >&2
    [ -x "$BIN" ]
}

run() {
    local target=$1
    shift
    mkdir -p ".build-fuzz/corpus/$target" ".build-fuzz/crashes/$target"
    local seeds=("Fuzz/corpus/$target")
    [ -d "Fuzz/regressions/$target" ] && seeds+=("Fuzz/regressions/$target")
    ASAN_OPTIONS=detect_leaks=0 ORZO_FUZZ_TARGET=$target "$BIN" ".build-fuzz/corpus/$target" "${seeds[@]}" \
        -artifact_prefix=".build-fuzz/crashes/$target/" -max_len=16384 -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
        -print_final_stats=1 "$@"
}

case "${1:-}" in
    build) build ;;
    run)
        [ -n "${2:-}" ] || { echo "usage: deploy/fuzz.sh run TARGET [ARGS...]" >&2; exit 2; }
        [ -x "$BIN" ] || build
        target=$2
        shift 2
        run "$target" "$@"
        ;;
    smoke)
        seconds=${2:-10}
        [ -x "$BIN" ] || build
        for target in "${TARGETS[@]}"; do
            log=$(mktemp)
            if ! run "$target" -max_total_time="$seconds" >"$log" 2>&1; then
                tail -40 "$log" >&2
                echo "fuzz smoke: $target FAILED (inputs in .build-fuzz/crashes/$target)" >&2
                rm -f "$log"
                exit 1
            fi
            runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
            echo "fuzz smoke: $target ok, $runs executions in ${seconds} s"
            rm -f "$log"
        done
        ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
