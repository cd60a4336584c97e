#!/usr/bin/env python3
"""An NTP client for the honesty checks: one mode-3 request every INTERVAL seconds to
SERVER:PORT for DURATION seconds, a JSON line per answer (or per timeout) on stdout. An answer
is awaited up to TIMEOUT seconds (default: the interval, at most 1 s).

    ntp_probe.py SERVER PORT INTERVAL DURATION [TIMEOUT]

Each line: t (host time of T4), leap, stratum, refid, root_delay, root_dispersion (s), offset
(server minus us) and delay (s). With `clock sim` every host namespace shares one kernel clock,
which is the true time, so `offset` is the server's true error give or take delay/2.
"""
import json
import random
import socket
import struct
import sys
import time

NTP_UNIX = 2208988800


def to_ntp(ns):
    s, frac = divmod(ns, 1_000_000_000)
    return ((s + NTP_UNIX) << 32) | (frac << 32) // 1_000_000_000


def from_ntp(v, near_ns):
    """NTP timestamp to Unix ns, in the era closest to near_ns."""
    s, frac = v >> 32, v & 0xffffffff
    ns = (s - NTP_UNIX) * 1_000_000_000 + (frac * 1_000_000_000 >> 32)
    era = 1 << 32
    while ns - near_ns > era * 500_000_000:
        ns -= era * 1_000_000_000
    while near_ns - ns > era * 500_000_000:
        ns += era * 1_000_000_000
    return ns


def short(v):
    return (v >> 16) + (v & 0xffff) / 65536


def probe(sock, addr, timeout):
    # Everything but the send before T1, so that T1 is not early (a bias of tens of µs).
    xmt = to_ntp(time.time_ns()) ^ random.getrandbits(32)   # the origin check is exact
    req = bytearray(48)
    req[0] = (4 << 3) | 3
    struct.pack_into("!Q", req, 40, xmt)
    sock.settimeout(timeout)
    t1 = time.time_ns()
    sock.sendto(req, addr)
    while True:
        try:
            data, _ = sock.recvfrom(512)
        except socket.timeout:
            return None
        t4 = time.time_ns()
        if len(data) >= 48 and struct.unpack_from("!Q", data, 24)[0] == xmt:
            break
    li, stratum = data[0] >> 6, data[1]
    rdelay, rdisp, refid = struct.unpack_from("!III", data, 4)
    t2 = from_ntp(struct.unpack_from("!Q", data, 32)[0], t1)
    t3 = from_ntp(struct.unpack_from("!Q", data, 40)[0], t1)
    offset = ((t2 - t1) + (t3 - t4)) / 2e9
    delay = ((t4 - t1) - (t3 - t2)) / 1e9
    return {"t": t4 / 1e9, "leap": li, "stratum": stratum, "refid": refid,
            "root_delay": short(rdelay), "root_dispersion": short(rdisp),
            "offset": offset, "delay": delay}


def main():
    server, port, interval, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else min(1.0, interval)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    end = time.monotonic() + duration
    next_at = time.monotonic()
    while time.monotonic() < end:
        r = probe(sock, (server, port), timeout)
        print(json.dumps(r if r else {"t": time.time(), "timeout": True}), flush=True)
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


if __name__ == "__main__":
    main()
