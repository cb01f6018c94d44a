#!/usr/bin/env python3
"""Markdown tables from a system-bench.sh result directory (docs/benchmarks.md).

    python3 deploy/bench/summarize.py /tmp/orzo-system-bench
"""
import glob
import json
import os
import statistics
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/orzo-system-bench"


def orzo(pattern):
    runs = []
    for path in sorted(glob.glob(os.path.join(out, pattern, "summary.json"))):
        runs.append(json.load(open(path)))
    return runs


def gnocchi(pattern):
    runs = []
    for path in sorted(glob.glob(os.path.join(out, pattern))):
        data = json.load(open(path))
        runs.extend(data.get("results", [data]))
    return runs


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def f(value, digits=2):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def latency(runs, key):
    """'mean / p50 / p99' of one kind of request, the median over runs."""
    return " / ".join(f(med(r[key][stat] for r in runs)) for stat in ("mean_ms", "p50_ms", "p99_ms"))


print("machine:")
print("```")
print(open(os.path.join(out, "machine.txt")).read().strip())
print("```\n")

def seed_table(title, name, reads):
    """Orzo's and Gnocchi's runs of one seed-shaped workload, and the wall time ratio."""
    print(f"### {title}\n")
    columns = ["wall (s), runs", "write mean / p50 / p99 (ms)"] + (["read mean / p50 / p99 (ms)"] if reads else [])
    columns.append("all aggregated after (s)")
    print("| | " + " | ".join(columns) + " |")
    print("| --- " * (len(columns) + 1) + "|")
    o = orzo(f"{name}-orzo-*")
    g = gnocchi(f"{name}-gnocchi-*.json")
    if o:
        print("| Orzo (files) | " + ", ".join(f(r["wall_seconds"]) for r in o)
              + f" | {latency(o, 'write')}"
              + (f" | {latency(o, 'read')}" if reads else "")
              + f" | {f(med(r.get('settled_seconds') for r in o))} |")
    if g:
        print("| Gnocchi 4.7.1 | " + ", ".join(f(r["wall_s_clients"]) for r in g)
              + f" | {latency(g, 'post_latency')}"
              + (f" | {latency(g, 'get_latency')}" if reads else "")
              + f" | {f(med(r.get('wall_s_until_processed') for r in g))} |")
    if o and g:
        ratio = med(r['wall_s_clients'] for r in g) / med(r['wall_seconds'] for r in o)
        label = "Wall time ratio (median Gnocchi / median Orzo)" if reads else "Wall time ratio"
        print(f"\n{label}: **{ratio:.1f}x**\n")


seed_table("Seed workload: 10 clients x 100 x (put 100 measures + read all back)", "seed", reads=True)
seed_table("Seed without reads: 10 clients x 100 x put 100 measures", "noread", reads=False)

print("### Batch: 1,000 metrics x 1,000 measures (10 rounds, requests of 100 metrics x 100 measures)\n")
print("| | accepted measures/s, runs | all aggregated after (s) | one worker alone: measures/s |")
print("| --- | --- | --- | --- |")
o = orzo("batch-orzo-*")
op = orzo("batch-paused-orzo-*")
ou = orzo("batch-push-orzo-*")
g = gnocchi("batch-gnocchi-*.json")
gp = gnocchi("batch-paused-gnocchi-*.json")
alone = [1_000_000 / (r["settled_seconds"] - r["wall_seconds"]) for r in op if r.get("settled_seconds")]
if o:
    print("| Orzo (files), acknowledged, worker running | " + ", ".join(f(r["measures_per_second"], 0) for r in o)
          + f" | {f(med(r.get('settled_seconds') for r in o))} | |")
if op:
    print("| Orzo (files), acknowledged, worker paused then alone | " + ", ".join(f(r["measures_per_second"], 0) for r in op)
          + f" | {f(med(r.get('settled_seconds') for r in op))} | " + ", ".join(f(a, 0) for a in alone) + " |")
if ou:
    print("| Orzo (files), PUSH (fire-and-forget; accepted = sent) | " + ", ".join(f(r["measures_per_second"], 0) for r in ou)
          + f" | {f(med(r.get('settled_seconds') for r in ou))} | |")
if g:
    print("| Gnocchi 4.7.1, metricd running | " + ", ".join(f(r["accepted_measures_per_s"], 0) for r in g)
          + f" | {f(med(r.get('wall_s_until_processed') for r in g))} | |")
if gp:
    print("| Gnocchi 4.7.1, metricd paused then alone | " + ", ".join(f(r["accepted_measures_per_s"], 0) for r in gp)
          + f" | {f(med(r.get('wall_s_until_processed') for r in gp))} | " + ", ".join(f(r.get("metricd_drain_measures_per_s"), 0) for r in gp) + " |")
if o and g:
    best_o = med([r["measures_per_second"] for r in o + op])
    print(f"\nAccepted measures/s ratio (median Orzo acknowledged / median Gnocchi): **{best_o / med(r['accepted_measures_per_s'] for r in g + gp):.1f}x**")
if alone and gp:
    print(f"One worker alone ratio: **{med(alone) / med(r.get('metricd_drain_measures_per_s') for r in gp):.1f}x**\n")

print("### Query latency, one client (get_measures at 1 s granularity)\n")
print("| | points | reads | mean | p50 | p95 | p99 | max (ms) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
def points_of(path):
    return int(path.split("-")[-1].split(".")[0])
rows = [("Orzo (files)", p) for p in glob.glob(os.path.join(out, "query-orzo", "query-*.json"))]
rows += [("Gnocchi 4.7.1", p) for p in glob.glob(os.path.join(out, "query-gnocchi-*.json"))]
rows += [("Orzo (Ceph)", p) for p in glob.glob(os.path.join(out, "query-ceph", "query-*.json"))]
for label, path in sorted(rows, key=lambda row: (points_of(row[1]), row[0])):
    r = json.load(open(path))
    print(f"| {label} | {r['points']:,} | {r.get('count', r.get('n'))} | {f(r['mean_ms'])} | {f(r['p50_ms'])} | {f(r['p95_ms'])} | {f(r['p99_ms'])} | {f(r['max_ms'])} |")

ceph = orzo("seed-ceph") + orzo("batch-ceph") + orzo("batch-paused-ceph")
if ceph:
    print("\n### Ceph (throwaway memstore cluster on the same 2 cores)\n")
    print("| run | wall (s) | measures/s | write mean / p99 (ms) | read mean / p99 (ms) | all aggregated after (s) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in ceph:
        read = r.get("read")
        print(f"| {r['label']} | {f(r['wall_seconds'])} | {f(r['measures_per_second'], 0)} | {f(r['write']['mean_ms'])} / {f(r['write']['p99_ms'])}"
              + (f" | {f(read['mean_ms'])} / {f(read['p99_ms'])}" if read else " | ")
              + f" | {f(r.get('settled_seconds'))} |")
    rb = os.path.join(out, "rados-bench.txt")
    if os.path.exists(rb):
        print("\n`rados bench` (4 KiB writes, 16 in flight, 10 s) on the same cluster:\n```")
        print(open(rb).read().strip())
        print("```")

def scaling_table(prefix, title):
    paths = sorted(glob.glob(os.path.join(out, prefix + "-*", "summary.json")),
                   key=lambda p: tuple(int(x) for x in p.split(os.sep)[-2].split("-")[-2:]))
    if not paths:
        return
    print(f"\n### Scaling: 1 M measures over more metrics, and more workers ({title})\n")
    print("| metrics | measures per metric | workers | accepted measures/s (acknowledged) | drain after the clients (s) | drained measures/s | worker peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for path in paths:
        r = json.load(open(path))
        metrics, workers = (int(x) for x in path.split(os.sep)[-2].split("-")[-2:])
        drain = r["settled_seconds"] - r["wall_seconds"] if r.get("settled_seconds") else None
        memory = os.path.join(os.path.dirname(path), "metricd-memory.txt")
        peak = ""
        if os.path.exists(memory):
            for line in open(memory):
                if line.startswith("VmHWM"):
                    peak = line.split(":")[1].strip()
        print(f"| {metrics:,} | {r['measures'] // metrics:,} | {workers} | {f(r['measures_per_second'], 0)} | {f(drain)}"
              + f" | {f(r['measures'] / drain if drain else None, 0)} | {peak} |")


scaling_table("scale", "files")
scaling_table("ceph-scale", "Ceph")
gs = gnocchi("gnocchi-scale-*.json")
if gs:
    print("\nGnocchi 4.7.1 in the same run (one metricd worker, paused while the clients write, then alone):\n")
    print("| metrics | measures per metric | accepted measures/s | metricd alone: measures/s |")
    print("| --- | --- | --- | --- |")
    for r in gs:
        metrics = r.get("metrics") or r.get("n_metrics")
        per = r.get("measures_per_metric") or r.get("measures")
        print(f"| {metrics} | {per} | {f(r.get('accepted_measures_per_s'), 0)} | {f(r.get('metricd_drain_measures_per_s'), 0)} |")

visibility = [("Orzo (files)", os.path.join(out, "visibility-orzo", "visibility.json")),
              ("Orzo (Ceph)", os.path.join(out, "visibility-ceph", "visibility.json"))]
visibility = [(label, json.load(open(path))) for label, path in visibility if os.path.exists(path)]
if visibility:
    print("\n### Acknowledgement to queryable (one measure per probe, read without refresh)\n")
    print("| | probes | mean | p50 | p95 | p99 | max (ms) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, r in visibility:
        print(f"| {label} | {r['count']} | {f(r['mean_ms'])} | {f(r['p50_ms'])} | {f(r['p95_ms'])} | {f(r['p99_ms'])} | {f(r['max_ms'])} |")

service = os.path.join(out, "service-bench.txt")
if os.path.exists(service):
    print("\n### One process (orzo-service-bench: files, in-process services over ipc)\n```")
    print(open(service).read().strip())
    print("```")
