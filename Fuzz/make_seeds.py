#!/usr/bin/env python3
"""Writes the text seeds of the fuzz corpora (query, operations, statsd, config,
put). The binary seeds of blobs and state come from the real encoders:
`orzo-fuzz --write-seeds Fuzz/corpus`. Run from the repository root; the output
is committed, so regenerate only on purpose."""
import json, os, struct, sys

root = sys.argv[1] if len(sys.argv) > 1 else "Fuzz/corpus"

def write(target, name, data):
    os.makedirs(f"{root}/{target}", exist_ok=True)
    with open(f"{root}/{target}/{name}", "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

# Operations: unique expressions of the golden cases, and some at the limits.
golden = json.load(open("Tests/TimeseriesTests/Fixtures/golden-operations.json"))
expressions = sorted({case["operations"] for case in golden["cases"]})
for index, text in enumerate(expressions):
    write("operations", f"golden-{index:03}", text)
write("operations", "resample-huge", "(resample mean 9500000000 (metric a mean))")
write("operations", "nested-32", "(abs " * 31 + "(metric a mean)" + ")" * 31)
write("operations", "rolling", "(rolling mean 3 (metric (a mean) (b max)))")

# Queries: one per op, and the crash classes of the hostile-input issue.
queries = [
    {"op": "capabilities"}, {"op": "status"},
    {"op": "create_archive_policy", "name": "p", "back_window": 2, "aggregation_methods": ["mean", "+95pct", "rate:last"],
     "definition": [{"granularity": 60, "points": 1440}, {"granularity": 3600, "timespan": 86400 * 30}]},
    {"op": "create_archive_policy", "name": "q", "definition": [{"points": 10, "timespan": 600}]},
    {"op": "create_archive_policy", "name": "big", "definition": [{"granularity": 2419200, "points": 3000}], "back_window": 1000},
    {"op": "get_archive_policy", "name": "low"}, {"op": "list_archive_policies"}, {"op": "delete_archive_policy", "name": "p"},
    {"op": "create_archive_policy_rule", "name": "r", "metric_pattern": "web.*", "archive_policy_name": "low"},
    {"op": "list_archive_policy_rules"}, {"op": "delete_archive_policy_rule", "name": "r"},
    {"op": "create_metric", "name": "m", "archive_policy_name": "low", "unit": "ms"}, {"op": "get_metric", "name": "m"},
    {"op": "delete_metric", "name": "m"}, {"op": "list_metrics", "prefix": "web.", "limit": 10, "marker": "web.a"},
    {"op": "get_measures", "metric": "m", "aggregation": "max", "granularity": 60, "start": "2026-01-01T00:00:00Z",
     "stop": 1767312000, "resample": 3600, "refresh": True},
    {"op": "get_measures", "metric": "m", "granularity": 60, "resample": 1e-9, "start": 0, "stop": 9214646399.999},
    {"op": "aggregates", "operations": "(aggregate mean (metric (a mean) (b mean)))", "start": 1767225600,
     "stop": "2026-01-02T00:00:00+02:00", "granularity": 60, "needed_overlap": 50, "fill": "ffill"},
    {"op": "aggregates", "operations": "(metric a mean)", "fill": -1.5},
    {"op": "release_quarantine", "metric": "m"},
]
for index, query in enumerate(queries):
    write("query", f"op-{index:02}", json.dumps(query))
write("query", "granularity-9.5e9", '{"op":"create_archive_policy","name":"x","definition":[{"granularity":9.5e9,"points":1}]}')
write("query", "points-overflow", '{"op":"create_archive_policy","name":"x","definition":[{"granularity":3600,"points":9000000000000000}]}')

# statsd datagrams.
write("statsd", "kinds", "hits:1|c\nhits:2|c|@0.5\nload:15|g\nload:-6|g\nrt:10|ms\nrt:30|ms|@0.1\nu:a|s\nu:b|s\n")
write("statsd", "tags", "api.latency:12.5|ms|#env:prod,host:a\n")

# Configuration files: the first byte's parity chooses YAML (even) or JSON (odd).
write("config", "yaml", b"\x00" + b"ingest:\n  ack_endpoint: tcp://127.0.0.1:5581\nmetricd:\n  workers: 4\n  lease_seconds: 30\nstorage:\n  data_dir: /var/lib/orzo\n")
write("config", "json", b"\x01" + json.dumps({"query": {"endpoint": "tcp://127.0.0.1:5582"}, "metricd": {"workers": 2}}).encode())

# Put frames: each a 1-byte length then its bytes; 255 takes the rest.
def frame(data):
    return bytes([len(data)]) + data if len(data) < 255 else b"\xff" + data
def measures(*pairs):
    return b"".join(struct.pack("<qd", t, v) for t, v in pairs)
t0 = 1767225600 * 10**9
write("put", "one-metric", frame(b"web-01.cpu") + frame(measures((t0, 1.0), (t0 + 60 * 10**9, 2.0))))
write("put", "two-metrics", frame(b"a") + frame(measures((t0, 1.0))) + frame(b"b") + frame(measures((t0, float("nan")), (-1, 3.0))))
write("put", "acknowledged", frame(b"orzo.v1.put") + frame(b"req-1") + frame(b"m") + b"\xff" + measures((t0, 4.0)))
