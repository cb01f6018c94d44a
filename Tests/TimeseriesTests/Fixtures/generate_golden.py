#!/usr/bin/env python3
"""Generates golden aggregation cases from the real Gnocchi 4.7.1 code.

Runs every case through ../shared/tools/gnocchi-peer/oracle.py (Gnocchi's own
archive-policy validation, measure parsing, metricd processing, split storage
and read path) and writes what Gnocchi returns to golden-aggregation.json.
The Swift tests replay each case through the Timeseries engine and compare.

Usage (from the repository root; the oracle's virtualenv must exist, see
../shared/tools/gnocchi-peer/README.md):

    /tmp/gnocchi-peer/venv/bin/python Tests/TimeseriesTests/Fixtures/generate_golden.py

Cases avoid Orzo's documented differences (docs/semantics.md): no two
measures of one processing pass share a timestamp (Orzo keeps the last
received, Gnocchi the smallest), no timestamp lies within a microsecond below
a bucket boundary (Gnocchi rounds in floating point), and every granularity
divides the coarsest one (Orzo refuses other policies).
"""

import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared", "tools", "gnocchi-peer"))
sys.path.insert(0, ORACLE_DIR)

import oracle  # noqa: E402

SECOND = 1_000_000_000
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, in seconds

BASE_METHODS = ["mean", "sum", "min", "max", "first", "last", "count", "median", "std"]
PERCENTILES = ["1pct", "5pct", "10pct", "25pct", "33pct", "50pct", "66pct", "75pct", "90pct", "95pct", "99pct"]
DEFAULTS = ["mean", "min", "max", "sum", "std", "count"]


def values(rng, kind, n):
    if kind == "gauge":
        return [round(rng.uniform(-100, 100), 2) for _ in range(n)]
    if kind == "counter":
        total, out = 0.0, []
        for _ in range(n):
            total += rng.randint(0, 50)
            out.append(total)
        return out
    if kind == "random":
        return [rng.uniform(-1e6, 1e6) for _ in range(n)]
    if kind == "small":
        return [float(rng.randint(0, 5)) for _ in range(n)]
    if kind == "constant":
        return [42.0] * n
    if kind == "wide":
        return [rng.choice([-1, 1]) * 10 ** rng.uniform(-12, 12) for _ in range(n)]
    raise ValueError(kind)


def timestamps(rng, start_s, n, step_ms_range, jitter=True):
    """n increasing timestamps in ns, on whole milliseconds."""
    out, t = [], start_s * 1000
    for _ in range(n):
        t += rng.randint(*step_ms_range) if jitter else step_ms_range[0]
        out.append(t * 1_000_000)
    return out


def batch(ts, vs):
    return [[t / SECOND, v] for t, v in zip(ts, vs)]


def ns_batch(ts, vs):
    return [[t, v] for t, v in zip(ts, vs)]


class Case:
    def __init__(self, name, policy, batches, passes=None, query=None, description=""):
        self.name = name
        self.policy = policy
        self.batches = batches  # lists of [ns, value]
        self.passes = passes
        self.query = query or {}
        self.description = description

    def spec(self):
        spec = {
            "archive_policy": self.policy,
            # Epoch seconds with millisecond precision are exact in a float.
            "batches": [[[t / SECOND, v] for t, v in b] for b in self.batches],
            "options": {"timestamp_format": "ns"},
        }
        if self.passes is not None:
            spec["passes"] = self.passes
        for key in ("start", "stop"):
            if key in self.query:
                spec["options"][key] = self.query[key] / SECOND
        if "resample" in self.query:
            spec["options"]["resample"] = self.query["resample"] / SECOND
        return spec


def split_batches(rng, points, count):
    """Splits a list of points into `count` consecutive batches."""
    cuts = sorted(rng.sample(range(1, len(points)), count - 1)) if count > 1 else []
    out, last = [], 0
    for cut in cuts + [len(points)]:
        out.append(points[last:cut])
        last = cut
    return out


def cases():
    rng = random.Random(20261124)
    out = []

    # 1. Every base method and a spread of percentiles, on several data shapes.
    for method in BASE_METHODS + PERCENTILES:
        for kind in ["gauge", "counter", "random", "small", "wide"]:
            n = rng.randint(40, 160)
            ts = timestamps(rng, T0, n, (500, 9000))
            pts = ns_batch(ts, values(rng, kind, n))
            out.append(Case(
                f"method-{method}-{kind}",
                {"aggregation_methods": [method], "definition": [{"granularity": 10, "points": 1000}, {"granularity": 60, "points": 100}]},
                split_batches(rng, pts, rng.randint(1, 3)),
                description=f"{method} over {kind} values, 10 s and 60 s"))

    # 2. rate: with each base method and some percentiles.
    for method in BASE_METHODS + ["5pct", "50pct", "95pct"]:
        for kind in ["counter", "gauge"]:
            n = rng.randint(60, 200)
            ts = timestamps(rng, T0, n, (1000, 20000))
            pts = ns_batch(ts, values(rng, kind, n))
            out.append(Case(
                f"rate-{method}-{kind}",
                {"aggregation_methods": [f"rate:{method}", "mean"], "definition": [{"granularity": 60, "points": 500}, {"granularity": 300, "points": 100}]},
                split_batches(rng, pts, rng.randint(1, 4)),
                description=f"rate:{method}: differences attributed to the later point's bucket"))

    # 3. Multi-granularity policies with the default methods, many batches.
    policies = [
        [{"granularity": 1, "points": 600}, {"granularity": 60, "points": 60}],
        [{"granularity": 5, "points": 720}, {"granularity": 60, "points": 120}, {"granularity": 3600, "points": 24}],
        [{"granularity": 60, "timespan": 86400}, {"granularity": 3600, "timespan": 7 * 86400}],
        [{"granularity": 15, "points": 100}, {"granularity": 300, "points": 20}, {"granularity": 900, "points": 10}],
        [{"points": 120, "timespan": 7200}, {"granularity": 600, "points": 12}],
    ]
    for index, definition in enumerate(policies):
        for kind in ["gauge", "counter", "random"]:
            for batches in [1, 3, 6]:
                n = rng.randint(100, 400)
                ts = timestamps(rng, T0, n, (800, 30000))
                pts = ns_batch(ts, values(rng, kind, n))
                out.append(Case(
                    f"policy{index}-{kind}-{batches}batches",
                    {"definition": definition},
                    split_batches(rng, pts, batches),
                    description="default methods over several granularities, in-order batches"))

    # 4. back_window 0, 1, 2 with late measures (within the window) and too-old
    #    ones (dropped), over several passes.
    for back_window in [0, 1, 2]:
        for variant in range(8):
            definition = [{"granularity": 60, "points": 600}, {"granularity": 300, "points": 200}]
            methods = ["mean", "count", "last", "max"] + (["rate:sum"] if variant % 3 == 2 else [])
            n = rng.randint(80, 200)
            ts = timestamps(rng, T0 + 3600, n, (2000, 15000))
            vs = values(rng, "gauge", n)
            pts = ns_batch(ts, vs)
            batches = split_batches(rng, pts, 3)
            # Late measures: inside the current block, and blocks back (some too old).
            last_ns = batches[1][-1][0]
            late = []
            used = {p[0] for p in pts}
            for blocks_back in [0, 1, 2, 3, 5]:
                t = last_ns - blocks_back * 300 * SECOND - rng.randint(1, 250) * SECOND - rng.randint(0, 999) * 1_000_000
                if t not in used:
                    used.add(t)
                    late.append([t, round(rng.uniform(-50, 50), 2)])
            late.sort()
            out.append(Case(
                f"backwindow{back_window}-v{variant}",
                {"back_window": back_window, "aggregation_methods": methods, "definition": definition},
                [batches[0], batches[1], late, batches[2]],
                description="late and too-old measures: too-old ones are dropped at processing"))

    # 5. Duplicates across passes: the later batch wins.
    for variant in range(6):
        n = 60
        ts = timestamps(rng, T0, n, (1000, 5000))
        first = ns_batch(ts, values(rng, "gauge", n))
        again = [[t, round(v + rng.uniform(1, 10), 2)] for t, v in rng.sample(first[-30:], 10)]
        again.sort()
        out.append(Case(
            f"duplicates-across-passes-{variant}",
            {"back_window": 1, "aggregation_methods": ["mean", "sum", "count", "first", "last", "min", "max"], "definition": [{"granularity": 30, "points": 100}, {"granularity": 300, "points": 10}]},
            [first, again],
            description="a measure repeated in a later pass replaces the earlier one"))

    # 6. Split boundaries: more than 3600 buckets at 1 s, several splits.
    for variant in range(4):
        n = rng.randint(4000, 8000)
        ts = timestamps(rng, T0 + 3000, n, (1000, 1000), jitter=False)
        pts = ns_batch(ts, values(rng, "gauge", n))
        out.append(Case(
            f"split-boundaries-{variant}",
            {"aggregation_methods": ["mean", "max"], "definition": [{"granularity": 1, "points": 10000}, {"granularity": 60, "points": 1000}]},
            split_batches(rng, pts, 3),
            description="aggregates spanning several 3600-point splits"))

    # 7. Timespan truncation: few points kept, long input.
    for variant in range(10):
        points = rng.choice([3, 5, 10, 24])
        n = rng.randint(100, 300)
        ts = timestamps(rng, T0, n, (5000, 60000))
        pts = ns_batch(ts, values(rng, "gauge", n))
        out.append(Case(
            f"timespan-truncation-{variant}",
            {"definition": [{"granularity": 60, "points": points * 10}, {"granularity": 600, "points": points}]},
            split_batches(rng, pts, rng.randint(1, 5)),
            description="only the last `points` buckets are returned"))

    # 8. Queries: start/stop and resample.
    for variant in range(20):
        n = rng.randint(200, 500)
        ts = timestamps(rng, T0, n, (1000, 20000))
        pts = ns_batch(ts, values(rng, rng.choice(["gauge", "counter"]), n))
        methods = rng.choice([DEFAULTS, ["mean", "last", "median", "95pct"], ["rate:mean", "sum", "count"]])
        first, last = ts[0], ts[-1]
        query = {}
        if variant % 4 != 3:
            query["start"] = first + rng.randint(0, (last - first) // 2 // SECOND) * SECOND + rng.randint(0, 999) * 1_000_000
        if variant % 4 != 2:
            query["stop"] = last - rng.randint(0, (last - first) // 3 // SECOND) * SECOND
        if variant % 2 == 0:
            query["resample"] = rng.choice([120, 300, 600]) * SECOND
        out.append(Case(
            f"query-{variant}",
            {"aggregation_methods": methods, "definition": [{"granularity": 60, "points": 1000}]},
            split_batches(rng, pts, 2),
            query=query,
            description="start floored and inclusive, stop exclusive, resample re-aggregates"))

    # 9. Several batches processed in one pass.
    for variant in range(6):
        n = rng.randint(100, 300)
        ts = timestamps(rng, T0, n, (1000, 10000))
        pts = ns_batch(ts, values(rng, "gauge", n))
        batches = split_batches(rng, pts, 4)
        out.append(Case(
            f"multi-batch-pass-{variant}",
            {"aggregation_methods": ["mean", "count", "median", "std", "rate:last"], "definition": [{"granularity": 30, "points": 1000}, {"granularity": 300, "points": 100}]},
            batches, passes=[[0, 1], [2, 3]],
            description="two POSTs picked up by one metricd pass"))

    # 10. Default policies, by name, and the aggregation_methods forms.
    forms = [["*"], ["*", "-mean"], ["-mean", "-last"], ["+12pct"], ["+rate:last"], ["-std", "+median", "+first"]]
    for index, form in enumerate(forms):
        n = rng.randint(100, 200)
        ts = timestamps(rng, T0, n, (1000, 20000))
        pts = ns_batch(ts, values(rng, "counter", n))
        out.append(Case(
            f"methods-form-{index}",
            {"aggregation_methods": form, "definition": [{"granularity": 60, "points": 200}, {"granularity": 300, "points": 50}]},
            split_batches(rng, pts, 2),
            description=f"aggregation_methods {form}"))
    return out


def main():
    fixtures = []
    for case in cases():
        result = oracle.run(case.spec())
        expected = {}
        for series in result["series"]:
            g = int(round(series["granularity"] * SECOND))
            expected.setdefault(series["method"], {})[str(g)] = [[row[0], row[2]] for row in series["measures"]]
        policy = result["archive_policy"]
        fixtures.append({
            "name": case.name,
            "description": case.description,
            "policy": {
                "back_window": policy["back_window"],
                "aggregation_methods": policy["aggregation_methods"],
                "requested_methods": case.policy.get("aggregation_methods"),
                "definition": [
                    {"granularity": int(round(d["granularity"] * SECOND)), "points": d["points"]}
                    for d in policy["definition"]
                ],
            },
            "batches": case.batches,
            "passes": case.passes,
            "query": case.query,
            "dropped": [p.get("dropped_by_back_window", 0) for p in result["passes"]],
            "expected": expected,
        })
    path = os.path.join(HERE, "golden-aggregation.json")
    with open(path, "w") as f:
        json.dump({"gnocchi_version": "4.7.1", "generator": "generate_golden.py", "cases": fixtures}, f,
                  separators=(",", ":"))
        f.write("\n")
    print(f"{len(fixtures)} cases written to {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
