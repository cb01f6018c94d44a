#!/usr/bin/env python3
"""Queries Orzo over ZeroMQ (wire protocol v1) and prints the JSON reply.

    python3 query.py [--query tcp://127.0.0.1:5582] '{"op": "get_measures", "metric": "web-01.cpu", "refresh": true}'

Exits 1 with the error code and message if the server refuses the request.
Needs pyzmq (Debian: python3-zmq).
"""
import argparse
import json
import sys

import zmq


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
    parser.add_argument("--query", default="tcp://127.0.0.1:5582")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--server-key", help="the server's CURVE public key, Z85 or a .public file")
    parser.add_argument("--client-key", help="this client's CURVE secret key file")
    parser.add_argument("request", help="a JSON object with \"op\"")
    args = parser.parse_args()

    socket = zmq.Context().socket(zmq.REQ)
    curve(socket, args.server_key, args.client_key)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(args.query)
    socket.send_multipart([b"orzo.v1.query", json.dumps(json.loads(args.request)).encode()])
    if not socket.poll(int(args.timeout * 1000)):
        print("no reply from %s" % args.query, file=sys.stderr)
        return 1
    verb, body = socket.recv_multipart()
    reply = json.loads(body)
    if verb != b"orzo.v1.ok":
        print("%(code)s: %(message)s" % reply, file=sys.stderr)
        return 1
    print(json.dumps(reply, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
