#!/usr/bin/env python3
"""kafka_ready.py PORT NODE: exit 0 when the Kafka broker on 127.0.0.1:PORT
answers ApiVersions and a Metadata request whose broker list includes NODE
itself (a KRaft broker serves requests only once it has caught up with the
metadata log and been unfenced, so this means "ready"); otherwise exit with
why. Spoken in Kafka's wire protocol, because a JVM client would cost
seconds of CPU on every check. Used by scripts/services."""
import socket, struct, sys

port, node = int(sys.argv[1]), int(sys.argv[2])

def recv(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data

def call(sock, api_key, version, body, correlation):
    client = b"parley-services"
    msg = struct.pack(">hhih", api_key, version, correlation, len(client)) + client + body
    sock.sendall(struct.pack(">i", len(msg)) + msg)
    (size,) = struct.unpack(">i", recv(sock, 4))
    data = recv(sock, size)
    assert struct.unpack(">i", data[:4])[0] == correlation
    return data[4:]

sock = socket.create_connection(("127.0.0.1", port), timeout=3)
sock.settimeout(5)
# ApiVersions v0: which Metadata versions the broker speaks.
r = call(sock, 18, 0, b"", 1)
error, count = struct.unpack(">hi", r[:6])
if error:
    sys.exit("ApiVersions error %d" % error)
versions = {}
for i in range(count):
    key, lo, hi = struct.unpack(">hhh", r[6 + 6 * i:12 + 6 * i])
    versions[key] = (lo, hi)
lo, hi = versions[3]
v = max(lo, 4)  # v4..v8: non-flexible encoding, throttle time first in the reply
if v > min(hi, 8):
    sys.exit("no Metadata version between 4 and 8 in %s" % (versions[3],))
body = struct.pack(">i", 0) + b"\x00"  # no topics; allow_auto_topic_creation=false
if v >= 8:
    body += b"\x00\x00"  # include cluster/topic authorized operations: false
r = call(sock, 3, v, body, 2)
off = 4  # throttle_time_ms
(brokers,) = struct.unpack(">i", r[off:off + 4])
off += 4
nodes = []
for _ in range(brokers):
    node_id, host_len = struct.unpack(">ih", r[off:off + 6])
    off += 6 + host_len
    _port, rack_len = struct.unpack(">ih", r[off:off + 6])
    off += 6 + max(rack_len, 0)
    nodes.append(node_id)
sys.exit(0 if node in nodes else "node %d not in %s" % (node, nodes))
