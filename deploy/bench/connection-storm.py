#!/usr/bin/python3
"""Connection storms against a running Orzo: bursts of short-lived connections
to its query endpoint, each sending one `status` query and closing; the
server's resident size (VmRSS) after each burst and after a quiet period.

    deploy/bench/connection-storm.py --pid PID --endpoint tcp://127.0.0.1:5582 \
        [--bursts 10] [--connections 5000] [--concurrent 5000] [--settle 2] [--quiet 60] [--json out.json]

Prints one line per burst and a summary; --json writes the figures. The
issue on hostile input asks: after 10 bursts of 5,000, RSS within 1.5× of
its value after the first burst, and within 64 MB of idle after a minute of
quiet (docs/reliability.md)."""
import argparse, json, resource, time
import zmq


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise SystemExit(f"no process {pid}")


def burst(context, endpoint, connections, batch):
    answered = 0
    for start in range(0, connections, batch):
        sockets = []
        for _ in range(min(batch, connections - start)):
            socket = context.socket(zmq.DEALER)
            socket.setsockopt(zmq.LINGER, 0)
            socket.connect(endpoint)
            socket.send_multipart([b"", b"orzo.v1.query", b'{"op":"status"}'])
            sockets.append(socket)
        poller = zmq.Poller()
        for socket in sockets:
            poller.register(socket, zmq.POLLIN)
        deadline = time.time() + 60
        pending = set(sockets)
        while pending and time.time() < deadline:
            for socket, _ in poller.poll(1000):
                if socket in pending:
                    socket.recv_multipart()
                    pending.discard(socket)
                    poller.unregister(socket)
                    answered += 1
        for socket in sockets:
            socket.close()
    return answered


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--concurrent", type=int, default=5000, help="connections open at once within a burst")
    parser.add_argument("--settle", type=float, default=2,
                        help="seconds after a burst's connections close before reading RSS")
    parser.add_argument("--quiet", type=float, default=60)
    parser.add_argument("--json")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    idle = rss_mb(args.pid)
    print(f"idle: {idle:.1f} MB")
    after = []
    for index in range(args.bursts):
        started = time.time()
        # A context per burst, terminated after it: closed sockets free their descriptors.
        context = zmq.Context()
        context.set(zmq.MAX_SOCKETS, args.concurrent + 100)
        answered = burst(context, args.endpoint, args.connections, args.concurrent)
        context.term()
        time.sleep(args.settle)  # the server sees the disconnects, frees their buffers
        after.append(rss_mb(args.pid))
        print(f"burst {index + 1}: {answered}/{args.connections} answered in {time.time() - started:.1f} s, "
              f"RSS {after[-1]:.1f} MB")
    time.sleep(args.quiet)
    quiet = rss_mb(args.pid)
    print(f"after {args.quiet:.0f} s of quiet: {quiet:.1f} MB")
    summary = {
        "idle_mb": idle, "after_bursts_mb": after, "quiet_mb": quiet,
        "last_over_first": after[-1] / after[0], "quiet_over_idle_mb": quiet - idle,
        "ok": after[-1] <= 1.5 * after[0] and quiet - idle <= 64,
    }
    print(f"last/first burst {summary['last_over_first']:.2f} (goal ≤ 1.5), quiet − idle "
          f"{summary['quiet_over_idle_mb']:.1f} MB (goal ≤ 64): {'met' if summary['ok'] else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(summary, out, indent=1)


if __name__ == "__main__":
    main()
