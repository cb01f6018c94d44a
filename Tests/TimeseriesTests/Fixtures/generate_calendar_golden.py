#!/usr/bin/env python3
"""Generates calendar resampling cases (resample=Y|H|Q|M|W) from the real
Gnocchi 4.7.1 code, through ../shared/tools/gnocchi-peer/oracle.py's Oracle
(its metricd processing, split storage and read path), and writes what
Gnocchi returns to golden-calendar.json. CalendarGoldenTests replays them.

oracle.run() writes a granularity as a float, which a calendar period is
not, so this drives the Oracle class directly.

    /tmp/gnocchi-peer/venv/bin/python Tests/TimeseriesTests/Fixtures/generate_calendar_golden.py
"""

import json
import os
import random
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared", "tools", "gnocchi-peer"))
sys.path.insert(0, ORACLE_DIR)

import oracle  # noqa: E402

SECOND = 1_000_000_000
DAY = 86_400
T0 = 1_420_070_400  # 2015-01-01T00:00:00Z
METHODS = ["mean", "sum", "min", "max", "count", "last", "first", "median", "std"]


def cases():
    rng = random.Random(1601)
    out = []
    for index, period in enumerate(["Y", "H", "Q", "M", "W"] * 3):
        # Days over about three years, some months and weeks empty; values of several kinds.
        n = rng.randint(60, 400)
        days = sorted(rng.sample(range(0, 3 * 366), n))
        if index >= 10:  # hours, at a finer granularity, around a year boundary
            points = sorted(rng.sample(range(-2000, 2000), n))
            timestamps = [(T0 + 365 * DAY + h * 3600) * SECOND for h in points]
            granularity = 3600
        else:
            timestamps = [(T0 + d * DAY + rng.randint(0, DAY - 1)) * SECOND for d in days]
            granularity = DAY
        values = [round(rng.uniform(-100, 100), 2) for _ in range(n)]
        policy = {"aggregation_methods": METHODS,
                  "definition": [{"granularity": granularity, "points": 5000}]}
        out.append({"name": f"calendar-{period}-{index}", "period": period, "policy": policy,
                    "batches": [[[t, v] for t, v in zip(timestamps, values)]]})
    return out


def main():
    fixtures = []
    for case in cases():
        ap = oracle.build_archive_policy(case["policy"])
        workdir = tempfile.mkdtemp(prefix="gnocchi-calendar-")
        try:
            o = oracle.Oracle(ap, workdir)
            for batch in case["batches"]:
                o.post([[t / SECOND, v] for t, v in batch])
            o.process()
            expected = {}
            for method in sorted(ap.aggregation_methods):
                granularity = ap.definition[0].granularity
                rows = o.get(method, granularity, None, None, case["period"])
                expected[method] = [[oracle.fmt_ts(ts, "ns"), oracle.fmt_value(value)] for ts, _, value in rows]
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        fixtures.append({
            "name": case["name"], "period": case["period"],
            "granularity": int(case["policy"]["definition"][0]["granularity"] * SECOND),
            "methods": sorted(ap.aggregation_methods), "batches": case["batches"], "expected": expected,
        })
    path = os.path.join(HERE, "golden-calendar.json")
    with open(path, "w") as f:
        json.dump({"gnocchi_version": "4.7.1", "generator": "generate_calendar_golden.py", "cases": fixtures}, f,
                  separators=(",", ":"))
        f.write("\n")
    print(f"{len(fixtures)} cases written to {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
