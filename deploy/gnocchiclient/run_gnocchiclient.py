"""gnocchiclient 7.2.0's real `gnocchi` command against a live `orzo serve`.

Every subcommand Gnocchi's users script (archive policies and rules, metrics,
measures, batch, aggregates, status) runs as a user would run it, and its
output (`-f json`) is checked. Exits non-zero on the first mismatch.

    python3 run_gnocchiclient.py ORZO_BINARY GNOCCHI_COMMAND
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    orzo, gnocchi = sys.argv[1], sys.argv[2]
    directory = tempfile.mkdtemp(prefix="orzo-gnocchiclient-")
    port = free_port()
    server = subprocess.Popen(
        [orzo, "serve", "--data-dir", os.path.join(directory, "data"),
         "--push-endpoint", f"ipc://{directory}/push", "--ack-endpoint", f"ipc://{directory}/ack",
         "--query-endpoint", f"ipc://{directory}/query", "--http-endpoint", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=open(os.path.join(directory, "serve.log"), "w"), text=True)
    try:
        line = server.stdout.readline()
        if "ready" not in line:
            raise SystemExit(f"orzo serve did not start: {line!r}")
        run_scenario(gnocchi, port, directory)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(directory, ignore_errors=True)
    print("gnocchiclient: every command gave the expected output")


def run_scenario(gnocchi, port, directory):
    checks = 0

    def cli(*args, user="admin", expect_failure=False, parse=True):
        command = [gnocchi, "--os-auth-type", "gnocchi-basic", "--user", user,
                   "--endpoint", f"http://127.0.0.1:{port}", *args]
        if parse:
            command += ["-f", "json"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if expect_failure:
            if result.returncode == 0:
                raise SystemExit(f"FAIL {' '.join(args)}: expected a failure, got {result.stdout}")
            return result.stderr
        if result.returncode != 0:
            raise SystemExit(f"FAIL {' '.join(args)}: exit {result.returncode}: {result.stderr}")
        return json.loads(result.stdout) if parse and result.stdout.strip() else result.stdout

    def check(label, actual, expected):
        nonlocal checks
        checks += 1
        if actual != expected:
            raise SystemExit(f"FAIL {label}: expected {expected!r}, got {actual!r}")
        print(f"ok    {label}")

    # Archive policies.
    created = cli("archive-policy", "create", "-d", "granularity:1s,points:3600", "-d",
                  "granularity:1m,points:60", "-m", "mean", "-m", "max", "one")
    check("archive-policy create", (created["name"], created["back_window"]), ("one", 0))
    check("archive-policy create: definition", created["definition"],
          [{"granularity": "0:00:01", "points": 3600, "timespan": "1:00:00"},
           {"granularity": "0:01:00", "points": 60, "timespan": "1:00:00"}])
    check("archive-policy list", sorted(p["name"] for p in cli("archive-policy", "list")),
          ["bool", "high", "low", "medium", "one"])
    shown = cli("archive-policy", "show", "one")
    check("archive-policy show", sorted(shown["aggregation_methods"]), ["max", "mean"])
    updated = cli("archive-policy", "update", "-d", "granularity:1s,points:7200", "-d",
                  "granularity:1m,points:60", "one")
    check("archive-policy update", updated["definition"][0],
          {"granularity": "0:00:01", "points": 7200, "timespan": "2:00:00"})
    error = cli("archive-policy", "update", "-d", "granularity:5s,points:10", "one", expect_failure=True)
    check("archive-policy update: granularities kept",
          "Archive policy one does not support change: Cannot add or drop granularities" in error, True)
    cli("archive-policy", "create", "-d", "granularity:1h,points:24", "doomed")
    cli("archive-policy", "delete", "doomed", parse=False)
    check("archive-policy delete",
          "doomed" in [p["name"] for p in cli("archive-policy", "list")], False)
    error = cli("archive-policy", "create", "-d", "granularity:1h,points:24", "nope", user="alice",
                expect_failure=True)
    check("archive-policy create as a non-admin: 403", "Access was denied" in error or "403" in error, True)

    # Archive policy rules.
    rule = cli("archive-policy-rule", "create", "-a", "one", "-m", "disk.*", "disks")
    check("archive-policy-rule create", (rule["name"], rule["metric_pattern"], rule["archive_policy_name"]),
          ("disks", "disk.*", "one"))
    check("archive-policy-rule list", sorted(r["name"] for r in cli("archive-policy-rule", "list")),
          ["default", "disks"])
    check("archive-policy-rule show", cli("archive-policy-rule", "show", "disks")["metric_pattern"], "disk.*")
    renamed = cli("archive-policy-rule", "update", "disks", "--name", "disk-rule")
    check("archive-policy-rule update (rename)", renamed["name"], "disk-rule")
    cli("archive-policy-rule", "create", "-a", "one", "-m", "tmp.*", "tmp")
    cli("archive-policy-rule", "delete", "tmp", parse=False)
    check("archive-policy-rule delete", sorted(r["name"] for r in cli("archive-policy-rule", "list")),
          ["default", "disk-rule"])

    # Metrics.
    by_policy = cli("metric", "create", "-a", "one", "-u", "B/s", "net.rx", user="alice")
    check("metric create", (by_policy["name"], by_policy["archive_policy_name"], by_policy["unit"],
                            by_policy["creator"]), ("net.rx", "one", "B/s", "alice"))
    by_rule = cli("metric", "create", "disk.io", user="alice")
    check("metric create by rule", by_rule["archive_policy_name"], "one")
    nameless = cli("metric", "create", "-a", "one", user="alice")
    check("metric create without a name", nameless["name"], None)
    listed = cli("metric", "list", user="alice")
    check("metric list", sorted(m["id"] for m in listed),
          sorted([by_policy["id"], by_rule["id"], nameless["id"]]))
    check("metric list: nested policy", {m["archive_policy/name"] for m in listed}, {"one"})
    paged = cli("metric", "list", "--limit", "2", "--sort", "name:asc", user="alice")
    check("metric list --limit --sort", [m["name"] for m in paged], [None, "disk.io"])
    shown = cli("metric", "show", by_policy["id"], user="alice")
    check("metric show", (shown["name"], shown["archive_policy/name"], shown["unit"]), ("net.rx", "one", "B/s"))
    error = cli("metric", "show", by_policy["id"], user="bob", expect_failure=True)
    check("metric show as another user: 403", "Access was denied" in error or "403" in error, True)
    cli("metric", "delete", nameless["id"], user="alice", parse=False)
    error = cli("metric", "show", nameless["id"], user="alice", expect_failure=True)
    check("metric delete", f"Metric {nameless['id']} does not exist" in error, True)

    # Measures.
    cli("measures", "add", "-m", "2015-03-06T14:33:57@43.1", "-m", "2015-03-06T14:34:12@12",
        "-m", "2015-03-06T14:34:15@16", by_policy["id"], user="alice", parse=False)
    measures = cli("measures", "show", "--refresh", "--granularity", "1", by_policy["id"], user="alice")
    check("measures add, show --refresh", [(m["timestamp"], m["granularity"], m["value"]) for m in measures],
          [("2015-03-06T14:33:57+00:00", 1.0, 43.1), ("2015-03-06T14:34:12+00:00", 1.0, 12.0),
           ("2015-03-06T14:34:15+00:00", 1.0, 16.0)])
    measures = cli("measures", "show", "--refresh", "--aggregation", "max", "--granularity", "60",
                   by_policy["id"], user="alice")
    check("measures show --aggregation max --granularity 60",
          [(m["timestamp"], m["value"]) for m in measures],
          [("2015-03-06T14:33:00+00:00", 43.1), ("2015-03-06T14:34:00+00:00", 16.0)])
    batch = os.path.join(directory, "batch.json")
    with open(batch, "w") as handle:
        json.dump({by_rule["id"]: [{"timestamp": "2015-03-06T14:33:57", "value": 1},
                                   {"timestamp": "2015-03-06T14:34:12", "value": 2}],
                   by_policy["id"]: [{"timestamp": "2015-03-06T14:35:00", "value": 5}]}, handle)
    cli("measures", "batch-metrics", batch, user="alice", parse=False)
    measures = cli("measures", "show", "--refresh", "--granularity", "1", by_rule["id"], user="alice")
    check("measures batch-metrics", [m["value"] for m in measures], [1.0, 2.0])

    # Aggregates.
    aggregated = cli("aggregates", "--granularity", "1",
                     f"(aggregate mean (metric ({by_policy['id']} mean) ({by_rule['id']} mean)))", user="alice")
    check("aggregates (aggregate mean …)", [(m["timestamp"], m["value"]) for m in aggregated],
          [("2015-03-06T14:33:57+00:00", 22.05), ("2015-03-06T14:34:12+00:00", 7.0),
           ("2015-03-06T14:34:15+00:00", 16.0), ("2015-03-06T14:35:00+00:00", 5.0)])
    per_metric = cli("aggregates", "--granularity", "60", f"(metric {by_policy['id']} max)", user="alice")
    check("aggregates (metric … max)", [(m["name"], m["timestamp"], m["value"]) for m in per_metric],
          [(f"{by_policy['id']}/max", "2015-03-06T14:33:00+00:00", 43.1),
           (f"{by_policy['id']}/max", "2015-03-06T14:34:00+00:00", 16.0),
           (f"{by_policy['id']}/max", "2015-03-06T14:35:00+00:00", 5.0)])

    # Status.
    status = cli("status")
    check("status", status["storage/total number of measures to process"], 0)
    print(f"gnocchiclient: {checks} checks passed")


if __name__ == "__main__":
    main()
