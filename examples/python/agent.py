#!/usr/bin/env python3
"""An Orzo agent: pushes measures over ZeroMQ (wire protocol v1).

    python3 agent.py [--ack tcp://127.0.0.1:5581] [--push tcp://127.0.0.1:5580] NAME VALUE [NAME VALUE ...]

Each NAME gets VALUE at the current time, in one acknowledged put (the reply
says how many measures were accepted), and the same measures are also sent
fire-and-forget over the push socket, as a lossy high-rate agent would.
Needs pyzmq (Debian: python3-zmq).
"""
import argparse
import json
import struct
import sys
import time

import zmq


def measures_frame(points):
    """16-byte records: int64 nanoseconds since the epoch, float64 value, little-endian."""
    return b"".join(struct.pack("<qd", timestamp_ns, value) for timestamp_ns, value in points)


def curve(socket, server_key, client_key):
    """CURVE towards a server with keys (docs/security.md): its public key (Z85
    text or a .public file) and this client's secret key file (orzo keys generate)."""
    if not server_key and not client_key:
        return
    if not (server_key and client_key):
        raise SystemExit("CURVE needs both --server-key and --client-key")
    if len(server_key) != 40:
        server_key = open(server_key).read().strip()
    secret = open(client_key).read().strip().encode()
    socket.curve_serverkey = server_key.encode()
    socket.curve_secretkey = secret
    socket.curve_publickey = zmq.curve_public(secret)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ack", default="tcp://127.0.0.1:5581")
    parser.add_argument("--push", default="tcp://127.0.0.1:5580")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--server-key", help="the server's CURVE public key, Z85 or a .public file")
    parser.add_argument("--client-key", help="this client's CURVE secret key file")
    parser.add_argument("pairs", nargs="+", help="NAME VALUE ...")
    args = parser.parse_args()
    if len(args.pairs) % 2:
        parser.error("give NAME VALUE pairs")

    now = time.time_ns()
    frames = []
    for name, value in zip(args.pairs[0::2], args.pairs[1::2]):
        frames += [name.encode(), measures_frame([(now, float(value))])]

    context = zmq.Context()
    dealer = context.socket(zmq.DEALER)
    curve(dealer, args.server_key, args.client_key)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(args.ack)
    dealer.send_multipart([b"orzo.v1.put", b"agent-%d" % now] + frames)
    if not dealer.poll(int(args.timeout * 1000)):
        print("no acknowledgement from %s" % args.ack, file=sys.stderr)
        return 1
    verb, _request_id, body = dealer.recv_multipart()
    reply = json.loads(body)
    if verb != b"orzo.v1.ok":
        print("refused: %(code)s: %(message)s" % reply, file=sys.stderr)
        return 1
    print("accepted %d, rejected %d" % (reply["accepted"], reply["rejected"]))

    push = context.socket(zmq.PUSH)
    curve(push, args.server_key, args.client_key)
    push.setsockopt(zmq.LINGER, 1000)
    push.connect(args.push)
    push.send_multipart([b"orzo.v1.put"] + frames)
    push.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
