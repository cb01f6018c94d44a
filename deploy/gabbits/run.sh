#!/usr/bin/env bash
# Gnocchi 4.7.1's functional tests (gabbits) against a live `orzo http`
# (docs/http-api.md). Downloads Gnocchi's wheel and gabbi from PyPI into
# a cache directory; runs the named files (default: those the API serves).
#
#   deploy/gabbits/run.sh ORZO_BINARY [FILE.yaml ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
ORZO=$1; shift
FILES=("$@")
[ ${#FILES[@]} -gt 0 ] || FILES=(archive.yaml archive-rule.yaml metric.yaml metric-list.yaml metric-granularity.yaml
    metric-timestamp-format.yaml metric-derived.yaml resample-calendar.yaml aggregates-with-metric-ids.yaml)
CACHE=${ORZO_GABBI_CACHE:-/tmp/orzo-gabbi-cache}
mkdir -p "$CACHE"
if [ ! -x "$CACHE/venv/bin/python" ]; then
    python3 -m venv "$CACHE/venv"
    "$CACHE/venv/bin/pip" install -q "gabbi>=3,<4"
fi
if [ ! -d "$CACHE/gnocchi/tests/functional/gabbits" ]; then
    "$CACHE/venv/bin/pip" download -q --no-deps gnocchi==4.7.1 -d "$CACHE/wheel"
    "$CACHE/venv/bin/python" -m zipfile -e "$CACHE"/wheel/gnocchi-4.7.1-*.whl "$CACHE/extracted"
    mkdir -p "$CACHE/gnocchi/tests/functional"
    cp -r "$CACHE/extracted/gnocchi/tests/functional/gabbits" "$CACHE/gnocchi/tests/functional/"
fi
exec timeout 600 "$CACHE/venv/bin/python" deploy/gabbits/run_gabbits.py "$ORZO" \
    "$CACHE/gnocchi/tests/functional/gabbits" docs/http-api.md "${FILES[@]}"
