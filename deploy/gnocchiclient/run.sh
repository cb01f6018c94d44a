#!/usr/bin/env bash
# gnocchiclient 7.2.0's `gnocchi` command against a live `orzo serve`
# (docs/http-api.md). Installs gnocchiclient from PyPI into a cache directory.
#
#   deploy/gnocchiclient/run.sh ORZO_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
ORZO=$1
CACHE=${ORZO_GNOCCHICLIENT_CACHE:-/tmp/orzo-gnocchiclient-cache}
mkdir -p "$CACHE"
if [ ! -x "$CACHE/venv/bin/gnocchi" ]; then
    python3 -m venv "$CACHE/venv"
    "$CACHE/venv/bin/pip" install -q "gnocchiclient==7.2.0"
fi
exec timeout 600 "$CACHE/venv/bin/python" deploy/gnocchiclient/run_gnocchiclient.py "$ORZO" "$CACHE/venv/bin/gnocchi"
