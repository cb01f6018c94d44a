#!/usr/bin/env bash
# Checks the unit files of deploy/systemd with `systemd-analyze verify`. The
# units start /usr/local/bin/orzo, which verify requires to exist; the copies
# checked here point at the orzo just built instead (argument 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
orzo="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[ -x "$orzo" ] || { echo "systemd-verify: no orzo executable at $1" >&2; exit 1; }
work=$(mktemp -d /tmp/orzo-systemd-verify.XXXXXX)
trap 'rm -rf "$work"' EXIT
for unit in deploy/systemd/*.service deploy/systemd/*.target; do
    name=$(basename "$unit")
    case "$name" in *@.service) name="${name%@.service}@4.service" ;; esac
    sed "s|/usr/local/bin/orzo|$orzo|g" "$unit" >"$work/$name"
done
failed=0
for unit in "$work"/*; do
    if output=$(cd "$work" && systemd-analyze verify --man=no "$unit" 2>&1) && [ -z "$output" ]; then
        echo "systemd-verify: $(basename "$unit") ok" >&2
    else
        echo "systemd-verify: $(basename "$unit") FAILED: $output" >&2
        failed=$((failed + 1))
    fi
done
echo "systemd-verify: $(( $(ls "$work" | wc -l) - failed )) passed, $failed failed" >&2
[ "$failed" -eq 0 ]
