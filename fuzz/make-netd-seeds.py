#!/usr/bin/python3
"""Writes fuzz/corpus/netd-packet-fuzz/: a datagram followed by the parameter tail that
netd-packet-fuzz.c++ reads with FuzzedDataProvider (integers consumed from the end, so the
tail holds them in reverse order, each little-endian)."""
import os, struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "netd-packet-fuzz")
S = 1_000_000_000

def tail(items):  # items: (nbytes, raw value) in consumption order
    return b"".join(v.to_bytes(n, "little") for n, v in reversed(items))

def params(pushed=1, leap=0, stratum=1, precision=-20, rx=1_700_000_000 * S, delta=50_000,
           src=0xC0000201, port=123):
    return tail([
        (1, pushed), (1, leap), (1, stratum), (1, precision + 32),
        (4, 0x47505300),                               # refid "GPS"
        (8, (1_700_000_000 - 10 + 2_208_988_800) << 32),  # reference time (NTP)
        (4, 0x10), (4, 0x20),                          # root delay, dispersion
        (8, 5 * S), (8, 6 * S), (8, 7200 * S),         # pushed, now (monotonic), maxholdover
        (8, rx + 2**63), (7, delta + 2**50),           # rx Unix ns, tx - rx
        (4, 0x12345678), (1, 1), (1, 1),               # random, not truncated, not own
        (1, 0), (2, port), (4, struct.unpack("<I", struct.pack(">I", src))[0]),  # AF_INET
    ])

def request(first=0x23, poll=6, xmt=0xE9A5_1234_89AB_CDEF, extra=b""):
    return bytes([first, 0, poll, 0xEC]) + bytes(36) + xmt.to_bytes(8, "big") + extra

os.makedirs(HERE, exist_ok=True)
seeds = {
    "v4-client": request() + params(),
    "v3-client": request(first=0x1B) + params(),
    "v4-extension": request(extra=bytes([0x01, 0x04, 0, 16]) + bytes(12)) + params(),
    "v4-unsynced": request() + params(pushed=0),
    "v4-after-2036": request() + params(rx=2_200_000_000 * S),
    "mode6-control": bytes([0x16, 2, 0, 1]) + bytes(44) + params(),
    "v4-mac": request(extra=bytes(20)) + params(),
}
for name, data in seeds.items():
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
