#!/usr/bin/env python3
"""Generates golden cross-metric aggregation cases from the real Gnocchi 4.7.1 code.

Each case parses an operations string with Gnocchi's own schema
(gnocchi.rest.aggregates.api.OperationsSchema) and evaluates it with Gnocchi's
own gnocchi.rest.aggregates.processor.aggregated over stored aggregates given as
carbonara AggregatedTimeSerie objects, exactly what POST /v1/aggregates does
once the series are read. Every operator is combined with every fill mode.

Usage (the oracle's virtualenv, see ../shared/tools/gnocchi-peer/README.md):

    /tmp/gnocchi-peer/venv/bin/python Tests/TimeseriesTests/Fixtures/generate_operations_golden.py
"""

import json
import math
import os
import random
import warnings

warnings.filterwarnings("ignore")

import numpy  # noqa: E402

from gnocchi import carbonara  # noqa: E402
from gnocchi.rest.aggregates import api as aggregates_api  # noqa: E402
from gnocchi.rest.aggregates import exceptions  # noqa: E402
from gnocchi.rest.aggregates import processor  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SECOND = 1_000_000_000
T0 = 1_767_225_600


class Ref(object):
    """What processor.aggregated needs of a MetricReference."""

    def __init__(self, name, aggregation):
        self.name = name
        self.metric = name
        self.aggregation = aggregation
        self.resource = None
        self.lookup_key = [name, aggregation]

    def __eq__(self, other):
        return self.name == other.name and self.aggregation == other.aggregation


def encode(value):
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def make_series(rng, granularity_s, count, offset, gap_rate, kind):
    times, values = [], []
    level = rng.uniform(-10, 10)
    for i in range(count):
        if rng.random() < gap_rate:
            continue
        times.append((T0 + (i + offset) * granularity_s) * SECOND)
        if kind == "walk":
            level += rng.uniform(-3, 3)
            values.append(round(level, 2))
        elif kind == "positive":
            values.append(round(rng.uniform(0.5, 50), 2))
        else:
            values.append(float(rng.randint(-5, 5)))
    return times, values


def to_aggregated(times, values, granularity_s, method):
    return carbonara.AggregatedTimeSerie.from_data(
        carbonara.Aggregation(method, numpy.timedelta64(granularity_s, "s"), None),
        numpy.array(times, dtype="datetime64[ns]"), numpy.array(values, dtype=float))


OPERATIONS = [
    # leaves and selection
    "(metric a mean)",
    "(metric (a mean) (b mean))",
    "(metric (b mean) (a mean) (c max))",
    # aggregate with every method
    *["(aggregate %s (metric (a mean) (b mean) (c max)))" % m for m in
      ["mean", "median", "std", "min", "max", "sum", "var", "count"]],
    *["(aggregate rate:%s (metric (a mean) (b mean)))" % m for m in ["mean", "max", "sum", "count"]],
    # rolling
    "(rolling mean 3 (metric a mean))",
    "(rolling sum 2 (metric (a mean) (b mean)))",
    "(rolling max 4 (metric (a mean) (b mean)))",
    "(rolling std 3 (metric b mean))",
    "(rolling rate:mean 3 (metric a mean))",
    "(rolling mean 1000 (metric a mean))",
    # resample
    "(resample mean 120 (metric (a mean) (b mean)))",
    "(resample max 300 (metric a mean))",
    "(resample sum 180 (metric b mean))",
    "(resample count 120 (metric (a mean) (c max)))",
    "(resample std 240 (metric a mean))",
    "(resample median 180 (metric a mean))",
    "(resample rate:mean 120 (metric a mean))",
    # arithmetic and comparisons, scalar and series operands
    *["(%s (metric a mean) 2)" % op for op in
      ["+", "-", "*", "/", "%", "**", "=", "==", "<", ">", "<=", ">=", "!=", "≠", "≤", "≥",
       "add", "sub", "mul", "div", "mod", "pow", "eq", "ne", "lt", "gt", "le", "ge", "×", "÷", "^",
       "clip_min", "clip_max", "max"]],
    "(- 10 (metric a mean))",
    "(/ (metric a mean) 0)",
    "(+ (metric a mean) (metric b mean))",
    "(* (metric (a mean) (b mean)) (metric c max))",
    "(max (metric a mean) (metric b mean))",
    "(- (aggregate mean (metric (a mean) (b mean))) (metric c max))",
    # clip
    "(clip (metric a mean) -1 4)",
    "(clip (metric (a mean) (b mean)) 0)",
    # unary
    *["(%s (metric a mean))" % op for op in
      ["abs", "absolute", "neg", "negative", "cos", "sin", "tan", "floor", "ceil",
       "rateofchange", "rateofchangesec"]],
    "(abs (aggregate sum (metric (a mean) (b mean))))",
    "(rateofchangesec (aggregate mean (metric (a mean) (c max))))",
]

# Numeric fills are floats, as the API's FillSchema coerces them.
FILLS = [None, "null", "dropna", "ffill", "bfill", "full_ffill", "full_bfill", 0.0, -1.5]


def evaluate(operations_text, series_by_granularity, start, stop, needed_overlap, fill):
    operations = aggregates_api.OperationsSchema(operations_text)
    refs = list(aggregates_api.extract_references(operations))
    pairs = []
    for granularity_s, series in series_by_granularity.items():
        for name, aggregation in refs:
            times, values = series[(name, aggregation)]
            ts = to_aggregated(times, values, granularity_s, aggregation)
            # What storage.get_aggregated_measures returns after fetch(start, stop).
            pairs.append((Ref(name, aggregation), ts.fetch(
                None if start is None else numpy.datetime64(start, "ns"),
                None if stop is None else numpy.datetime64(stop, "ns"))))
    start64 = None if start is None else numpy.datetime64(start, "ns")
    stop64 = None if stop is None else numpy.datetime64(stop, "ns")
    return processor.aggregated(pairs, operations, start64, stop64, needed_overlap, fill)


def result_json(result):
    def points(rows):
        return [[int(numpy.datetime64(t, "ns").astype("int64")),
                 int(numpy.timedelta64(g, "ns").astype("int64")), encode(v)] for t, g, v in rows]

    if "aggregated" in result:
        return {"aggregated": points(result["aggregated"])}
    return {"per_reference": [[name, aggregation, points(rows)]
                              for name, aggs in result.items() for aggregation, rows in aggs.items()]}


def main():
    rng = random.Random(42)
    cases = []
    for index, operations_text in enumerate(OPERATIONS):
        for fill in FILLS:
            granularities = [60] if index % 3 else [60, 300]
            series_by_granularity = {}
            for granularity_s in granularities:
                count = rng.randint(8, 16)
                series_by_granularity[granularity_s] = {
                    ("a", "mean"): make_series(rng, granularity_s, count, 0, 0.15, "walk"),
                    ("b", "mean"): make_series(rng, granularity_s, count, rng.randint(0, 2), 0.2, "positive"),
                    ("c", "max"): make_series(rng, granularity_s, count, rng.randint(0, 1), 0.1, "small"),
                }
            start = stop = None
            if rng.random() < 0.3:
                start = (T0 + rng.randint(0, 3) * 60 + rng.randint(0, 59)) * SECOND
            if rng.random() < 0.3:
                stop = (T0 + rng.randint(8, 12) * 60) * SECOND
            needed_overlap = rng.choice([0.0, 50.0, 100.0]) if fill is None else 100.0
            try:
                expected = result_json(evaluate(
                    operations_text, series_by_granularity, start, stop, needed_overlap, fill))
            except exceptions.UnAggregableTimeseries as e:
                expected = {"error": "unaggregable", "message": str(e)}
            except Exception as e:  # Gnocchi fails in other ways on some inputs
                expected = {"error": type(e).__name__, "message": str(e)}
            cases.append({
                "name": "%s fill=%s" % (operations_text, fill),
                "operations": operations_text,
                "fill": None if fill is None else str(fill),
                "needed_overlap": needed_overlap,
                "start": start,
                "stop": stop,
                "series": [
                    {"granularity": g * SECOND, "metric": name, "aggregation": aggregation,
                     "points": [[t, v] for t, v in zip(*points)]}
                    for g, by_ref in series_by_granularity.items()
                    for (name, aggregation), points in by_ref.items()
                ],
                "expected": expected,
            })
    path = os.path.join(HERE, "golden-operations.json")
    with open(path, "w") as f:
        json.dump({"gnocchi_version": "4.7.1", "cases": cases}, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print("%d cases written to %s (%d bytes)" % (len(cases), path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
