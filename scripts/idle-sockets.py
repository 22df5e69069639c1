#!/usr/bin/env python3
"""Memory per idle WebSocket session: opens N sessions (hello, ready) to a running
server and reports its RSS growth from /proc. Usage: idle-sockets.py PORT PID N.
A stopgap until parley-bench has its `idle` scenario."""
import asyncio, base64, json, os, struct, sys, urllib.request
port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"): return int(line.split()[1])
def post(path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), {"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))
token = post("/api/v1/auth/register", {"username": f"idle{os.getpid()}", "password": "long enough pw"})["token"]
def frame(text):
    data = text.encode(); mask = os.urandom(4)
    head = bytes([0x81]) + (bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + struct.pack(">H", len(data)))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))
async def connect():
    r, w = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    w.write(f"GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    await r.readuntil(b"\r\n\r\n")
    w.write(frame(json.dumps({"type": "hello", "token": token})))
    await r.read(2)  # the start of `ready`
    return r, w
async def main():
    before = rss()
    conns = []
    for i in range(0, n, 200):
        conns += await asyncio.gather(*[connect() for _ in range(min(200, n - i))])
    await asyncio.sleep(2)
    after = rss()
    print(f"{n} idle sessions: RSS {before} KiB -> {after} KiB, {(after - before) * 1024 / n / 1024:.1f} KiB per socket")
asyncio.run(main())
