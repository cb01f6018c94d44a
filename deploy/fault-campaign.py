#!/usr/bin/python3
"""A fleet fault campaign (docs/reliability.md, "Fault campaign").

Separate role processes (1 query, 2 ingest, 2 metricd) on a Ceph namespace; an
acknowledged writer puts measures round after round while faults hit the
fleet, then checks that every acknowledged measure is aggregated exactly once.

    deploy/fault-campaign.py --ceph-conf CONF [--ceph-dir DIR] [--rounds 40] [--metrics 12]
        [--faults kill-ingest,kill-metricd,kill-query,pause-metricd,recreate,kill-osd]
        [--soak-seconds 0] [--orzo .build/debug/orzo] [--seed N] [--json out.json]

Faults, one per round, in turn:
  kill-ingest    SIGKILL an ingest process with a put in flight, restart it
  kill-metricd   SIGKILL a metricd process, restart it
  kill-query     SIGKILL the query process, restart it
  pause-metricd  SIGSTOP a metricd past its lease (3 s) for two rounds, then SIGCONT
  recreate       delete a metric and create it again (through the query process)
                 while the ingest processes know the old one
  kill-osd       SIGKILL the OSD and start it again (needs --ceph-dir of a
                 deploy/ceph-dev.sh cluster with --store bluestore: memstore
                 loses everything when its OSD dies)

The writer retries a put that was not acknowledged (a new socket, the other
ingest), as agents do; resending is harmless, a measure is identified by its
metric and timestamp. Expected: for each metric, the acknowledged timestamps
since its last re-creation; found: the sum of its `count` aggregates. Lost is
expected minus found where positive, duplicated found minus expected.

With --soak-seconds S the writer then goes on for S seconds without faults,
and the resident size, open descriptors and threads of every role process and
the backlog are sampled every 10 s.

Exit status 0 when nothing was lost or duplicated. Needs python3-zmq.
"""
import argparse, json, os, random, select, signal, struct, subprocess, sys, threading, time
import zmq

T0 = 1_767_225_600 * 1_000_000_000
PUT, QUERY, OK = b"orzo.v1.put", b"orzo.v1.query", b"orzo.v1.ok"


class Role:
    """One role process; restartable with the same arguments."""

    def __init__(self, kind, arguments):
        self.kind, self.arguments, self.process = kind, arguments, None
        self.start()

    def start(self):
        self.process = subprocess.Popen(self.arguments, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        line = b""
        while time.time() < deadline and b"\n" not in line:
            ready, _, _ = select.select([self.process.stdout], [], [], 1)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 4096)
                if not chunk:
                    break
                line += chunk
        if b"ready" not in line:
            raise SystemExit(f"{self.kind} did not become ready: {line!r}")

    @property
    def pid(self):
        return self.process.pid

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def sample(pid):
    """Resident size (MB), open descriptors and threads of a process."""
    rss = threads = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return {"rss_mb": round(rss, 1), "fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": threads}


class Campaign:
    def __init__(self, args):
        self.args = args
        self.random = random.Random(args.seed)
        self.context = zmq.Context()
        run = f"{os.getpid()}-{self.random.randrange(1 << 30)}"
        self.endpoint = lambda name: f"ipc:///tmp/orzo-campaign-{run}-{name}"
        backend = ["--ceph-conf", args.ceph_conf, "--pool", "orzo-campaign", "--namespace", f"campaign-{run}"]
        orzo = args.orzo
        self.query = Role("query", [orzo, "query", *backend, "--query-endpoint", self.endpoint("query")])
        self.ingests = [
            Role("ingest", [orzo, "ingest", *backend, "--push-endpoint", self.endpoint(f"push{i}"),
                            "--ack-endpoint", self.endpoint(f"ack{i}")])
            for i in range(2)
        ]
        self.metricds = [
            Role("metricd", [orzo, "metricd", *backend, "--workers", "2", "--lease-seconds", "3"]) for _ in range(2)
        ]
        self.metrics = [f"campaign.host-{i}.load" for i in range(args.metrics)]
        self.expected = {metric: set() for metric in self.metrics}
        self.next_second = {metric: 0 for metric in self.metrics}
        self.kills = {"ingest": 0, "metricd": 0, "query": 0, "osd": 0}
        self.faults_run = {}
        self.acknowledged = 0
        self.retries = 0
        self.paused = None  # (role, rounds left)

    def roles(self):
        return [self.query, *self.ingests, *self.metricds]

    def ask(self, request, timeout=30):
        """A query; returns the decoded answer (or raises on an error reply)."""
        deadline = time.time() + timeout
        while True:
            socket = self.context.socket(zmq.REQ)
            socket.setsockopt(zmq.LINGER, 0)
            socket.connect(self.endpoint("query"))
            socket.send_multipart([QUERY, json.dumps(request).encode()])
            if socket.poll(5000):
                reply = socket.recv_multipart()
                socket.close()
                body = json.loads(reply[1])
                if reply[0] != OK:
                    if body.get("code") == "unavailable" and time.time() < deadline:
                        time.sleep(0.2)
                        continue
                    raise RuntimeError(f"{request['op']}: {body}")
                return body
            socket.close()
            if time.time() > deadline:
                raise RuntimeError(f"{request['op']}: no answer in {timeout} s")

    def put(self, batch, kill_ingest=False):
        """Puts until acknowledged; with kill_ingest, the first ingest tried is
        killed (and restarted) right after the put was sent, reply unseen."""
        frames = [PUT, b"id"]
        for metric, seconds in batch.items():
            records = b"".join(struct.pack("<qd", T0 + s * 1_000_000_000, float(s % 97)) for s in seconds)
            frames += [metric.encode(), records]
        attempt = 0
        while True:
            ingest = self.ingests[attempt % 2]
            socket = self.context.socket(zmq.DEALER)
            socket.setsockopt(zmq.LINGER, 0)
            socket.connect(self.endpoint(f"ack{attempt % 2}"))
            frames[1] = f"put-{attempt}".encode()
            socket.send_multipart(frames)
            if kill_ingest and attempt == 0:
                time.sleep(self.random.uniform(0, 0.02))  # a random moment of the put
                ingest.kill()
                self.kills["ingest"] += 1
                ingest.start()
            # The killed ingest's reply never comes: give up on it sooner.
            answered = socket.poll(1_000 if kill_ingest and attempt == 0 else 10_000)
            reply = socket.recv_multipart() if answered else None
            socket.close()
            if reply and reply[0] == OK:
                for metric, seconds in batch.items():
                    self.expected[metric].update(seconds)
                self.acknowledged += sum(len(s) for s in batch.values())
                return
            attempt += 1
            self.retries += 1
            if attempt > 30:
                raise RuntimeError(f"a put was never acknowledged: {reply}")
            time.sleep(0.2)

    def batch(self, per_metric):
        batch = {}
        for metric in self.metrics:
            start = self.next_second[metric]
            batch[metric] = list(range(start, start + per_metric))
            self.next_second[metric] = start + per_metric
        return batch

    def fault(self, name):
        self.faults_run[name] = self.faults_run.get(name, 0) + 1
        if name == "kill-metricd":
            role = self.random.choice([m for m in self.metricds if self.paused is None or m is not self.paused[0]])
            role.kill()
            self.kills["metricd"] += 1
            role.start()
        elif name == "kill-query":
            self.query.kill()
            self.kills["query"] += 1
            self.query.start()
        elif name == "pause-metricd" and self.paused is None:
            role = self.random.choice(self.metricds)
            role.process.send_signal(signal.SIGSTOP)
            self.paused = (role, 2)
        elif name == "recreate":
            metric = self.random.choice(self.metrics)
            self.ask({"op": "delete_metric", "name": metric})
            self.ask({"op": "create_metric", "name": metric})
            self.expected[metric] = set()  # what was acknowledged before went with the old metric
        elif name == "kill-osd":
            subprocess.run(["deploy/ceph-dev.sh", "kill-osd", self.args.ceph_dir], check=True,
                           stdout=subprocess.DEVNULL)
            self.kills["osd"] += 1
            # A put while the OSD is down waits, or times out and is retried, until the
            # OSD is back (started again two seconds later, meanwhile).
            restart = threading.Timer(2, lambda: subprocess.run(
                ["deploy/ceph-dev.sh", "start-osd", self.args.ceph_dir], check=True, stdout=subprocess.DEVNULL))
            restart.start()
            self.put(self.batch(self.args.per_round), kill_ingest=False)
            restart.join()

    def found(self, metric):
        """The sum of the metric's counts at its finest granularity."""
        rows = self.ask({"op": "get_measures", "metric": metric, "aggregation": "count"})["measures"]
        finest = min((row[1] for row in rows), default=0)
        return int(sum(row[2] or 0 for row in rows if row[1] == finest))

    def drain(self, timeout=180):
        """Waits until every metric's counts reach what was acknowledged (or the timeout)."""
        started = time.time()
        while time.time() - started < timeout:
            if all(self.found(m) >= len(self.expected[m]) for m in self.metrics):
                break
            time.sleep(0.5)
        time.sleep(2)  # then once more, for anything counted twice arriving late
        return time.time() - started

    def run(self):
        faults = self.args.faults
        for round_number in range(self.args.rounds):
            name = faults[round_number % len(faults)]
            if self.paused is not None:
                role, left = self.paused
                if left == 0:
                    role.process.send_signal(signal.SIGCONT)
                    self.paused = None
                else:
                    self.paused = (role, left - 1)
                    time.sleep(2)  # past its 3 s lease over the two rounds
            self.put(self.batch(self.args.per_round), kill_ingest=(name == "kill-ingest"))
            if name == "kill-ingest":
                self.faults_run[name] = self.faults_run.get(name, 0) + 1
            else:
                self.fault(name)
        if self.paused is not None:
            self.paused[0].process.send_signal(signal.SIGCONT)
            self.paused = None
        soak = self.soak(self.args.soak_seconds) if self.args.soak_seconds > 0 else None
        drain_seconds = self.drain()
        lost = duplicated = 0
        per_metric = {}
        for metric in self.metrics:
            expected, found = len(self.expected[metric]), self.found(metric)
            per_metric[metric] = {"expected": expected, "found": found}
            lost += max(0, expected - found)
            duplicated += max(0, found - expected)
        return {
            "rounds": self.args.rounds, "metrics": len(self.metrics), "faults": self.faults_run, "kills": self.kills,
            "acknowledged_measures": self.acknowledged, "put_retries": self.retries,
            "expected_measures": sum(len(s) for s in self.expected.values()),
            "lost": lost, "duplicated": duplicated, "drain_seconds": round(drain_seconds, 1),
            "per_metric": per_metric, "soak": soak,
        }

    def soak(self, seconds):
        samples = []
        started = time.time()
        next_sample = started
        while time.time() - started < seconds:
            self.put(self.batch(self.args.per_round))
            if time.time() >= next_sample:
                status = self.ask({"op": "status"})
                samples.append({
                    "t": round(time.time() - started),
                    "backlog_metrics": status["backlog"]["metrics"],
                    "roles": {f"{r.kind}-{r.pid}": sample(r.pid) for r in self.roles()},
                })
                next_sample += 10
            time.sleep(0.05)
        return samples

    def stop(self):
        for role in self.roles():
            role.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ceph-conf", required=True)
    parser.add_argument("--ceph-dir", help="the deploy/ceph-dev.sh cluster directory (enables kill-osd)")
    parser.add_argument("--orzo", default=".build/debug/orzo")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--metrics", type=int, default=12)
    parser.add_argument("--per-round", type=int, default=20, help="measures per metric per round")
    parser.add_argument("--faults", default="kill-ingest,kill-metricd,recreate,pause-metricd,kill-query,kill-osd")
    parser.add_argument("--soak-seconds", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    args.faults = [f for f in args.faults.split(",") if f and (f != "kill-osd" or args.ceph_dir)]
    campaign = Campaign(args)
    try:
        result = campaign.run()
    finally:
        campaign.stop()
    summary = {k: v for k, v in result.items() if k not in ("per_metric", "soak")}
    print(json.dumps(summary, indent=1))
    if result["soak"]:
        first, last = result["soak"][0], result["soak"][-1]
        print(f"soak: {len(result['soak'])} samples; backlog {first['backlog_metrics']} → {last['backlog_metrics']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=1)
    sys.exit(0 if result["lost"] == 0 and result["duplicated"] == 0 else 1)


if __name__ == "__main__":
    main()
