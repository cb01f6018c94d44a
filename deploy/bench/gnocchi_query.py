#!/usr/bin/env python3
"""Query latency of a real Gnocchi, as `orzo bench --query-points N` measures
Orzo's: write N measures 1 s apart into one metric (policy peer-1s-1m: 1 s x
86400 and 60 s x 10080), wait until metricd has processed them, then time R
GETs of the metric at 1 s granularity from one client. Loopback only.

    gnocchi_query.py --points 1440 --repeat 1000 --out /tmp/query-gnocchi-1440.json

Uses seed_workload.py's client (../shared/tools/gnocchi-peer), unchanged.
"""
import argparse
import json
import os
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "tools", "gnocchi-peer"))
import seed_workload as peer  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--url", default="http://127.0.0.1:8041")
ap.add_argument("--points", type=int, default=1440)
ap.add_argument("--repeat", type=int, default=1000)
ap.add_argument("--max-seconds", type=float, default=600)
ap.add_argument("--out")
args = ap.parse_args()
deadline = time.monotonic() + args.max_seconds

c = peer.Client(args.url)
peer.ensure_archive_policy(c, "peer-1s-1m", [1.0, 60.0], [86400, 10080], None)
name = "query-%s" % uuid.uuid4().hex[:8]
st, p, _ = c.req("POST", "/v1/metric", {"name": name, "archive_policy_name": "peer-1s-1m"})
if st != 201:
    raise SystemExit("cannot create metric: %s %s" % (st, p))
metric = json.loads(p)["id"]
for start in range(0, args.points, 10000):
    body = [{"timestamp": peer.iso(i), "value": float(i % 97)} for i in range(start, min(start + 10000, args.points))]
    st, p, _ = c.req("POST", "/v1/metric/%s/measures" % metric, body)
    if st != 202:
        raise SystemExit("cannot post measures: %s %s" % (st, p))
path = "/v1/metric/%s/measures?granularity=1" % metric
while True:  # until metricd has processed everything
    st, p, _ = c.req("GET", path)
    if st == 200 and len(json.loads(p)) == min(args.points, 86400):
        break
    if time.monotonic() > deadline:
        raise SystemExit("metricd did not process the measures in time")
    time.sleep(0.25)
latencies = []
for _ in range(args.repeat):
    if time.monotonic() > deadline:
        break
    st, p, dt = c.req("GET", path)
    if st != 200:
        raise SystemExit("GET failed: %s" % st)
    latencies.append(dt)
result = dict(peer.stats(latencies), points=min(args.points, 86400), label="gnocchi 4.7.1")
print(json.dumps(result))
if args.out:
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
