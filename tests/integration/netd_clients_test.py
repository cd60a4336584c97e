#!/usr/bin/env python3
"""netd against real clients and against abuse (issue 3), in network namespaces.

The appliance runs in the server namespace (horloge-launch as root, real sandbox, seccomp kill,
`clock observe`, `refclock sim`, port 123). From the client namespace, over veth only:
  1. ntpdig, sntp (Debian 12: the transitional package, ntpdig under that name) and
     python3-ntplib each get stratum 1, refid PPS and a sane offset;
  2. raw UDP: an ntpq (mode 6) and a monlist (mode 7) packet get no reply; a 200-byte v4
     request gets a reply no longer than 48 bytes (amplification <= 1);
  3. with `ratelimit interval 1 burst 4 leak 2 kod` and `deny 198.18.0.0/24`: a burst of 200
     requests from one IPv6 client gets fewer answers than requests, at least one answer and at
     least one RATE kiss-o'-death; the denied IPv4 client gets nothing;
  4. `horlogectl clients` lists that IPv6 client (by its /64) with its rate-limited and KoD
     counts, and not the denied one.
netd's counters are read with `horlogectl -j status` in the server namespace.
Every loop is bounded in count and time.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Appliance, Pair, netd_stats, python_in, require_root, wait_for  # noqa: E402

BIN = os.path.abspath(sys.argv[1])

# Runs in the client namespace: sends datagrams, reports what came back as JSON.
PROBE = r'''
import json, socket, struct, sys, time
host, kind = sys.argv[1], sys.argv[2]
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.connect((host, 123))

def request(version=4, mode=3, tx=0):
    return struct.pack("!B B b b 9I Q", (version << 3) | mode, 0, 6, -20, *([0] * 9), tx)

def collect(seconds, limit):
    s.settimeout(0.05)
    out, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline and len(out) < limit:
        try:
            out.append(s.recv(4096))
        except socket.timeout:
            pass
    return out

if kind == "control":
    s.send(bytes([0x16, 0x02, 0x00, 0x01]) + bytes(8))        # ntpq readvar, 12 bytes
    s.send(bytes([0x16, 0x02, 0x00, 0x02]) + bytes(44))       # mode 6, padded to 48
    s.send(bytes([0x17, 0x00, 0x03, 0x2a]) + bytes(44))       # ntpdc monlist, mode 7
    print(json.dumps({"replies": len(collect(1.5, 10))}))
elif kind == "amplify":
    # 48 bytes + one well-formed unknown extension field of 152 bytes: 200 bytes.
    ext = struct.pack("!HH", 0x7777, 152) + bytes(148)
    s.send(request(tx=0x1234567890abcdef) + ext)
    r = collect(1.5, 5)
    print(json.dumps({"sizes": [len(x) for x in r]}))
elif kind == "burst":
    for i in range(200):
        s.send(request(tx=0x1000 + i))
    r = collect(2.0, 400)
    kods = sum(1 for x in r if len(x) >= 16 and x[1] == 0 and x[12:16] == b"RATE")
    print(json.dumps({"replies": len(r), "kods": kods}))
'''


def probe(net, host, kind):
    return json.loads(python_in(net.client, PROBE, host, kind, timeout=30).stdout)


def ntpdig_json(net, host=Pair.SERVER4):
    try:
        r = net.exec(net.client, "ntpdig", "-j", "-t", "1", host, check=False, timeout=10)
    except subprocess.TimeoutExpired:   # a loaded machine: the caller asks again
        return None
    if r.returncode != 0:
        return None
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def sntp(net):
    # "2024-01-01 12:00:00.123456 (+0000) +0.000123 +/- 0.000456 198.18.0.1 s1 no-leap"
    r = net.exec(net.client, "sntp", "-t", "1", Pair.SERVER4, check=False, timeout=10)
    m = re.search(r"\(\+?-?\d+\)\s+([+-][0-9.]+)\s+\+/-\s+[0-9.]+\s+\S+\s+s(\d+)\s+(\S+)", r.stdout)
    return (float(m.group(1)), int(m.group(2)), m.group(3)) if m else (r.returncode, r.stdout + r.stderr)


def ntplib_query(net, host=Pair.SERVER4):
    code = ("import ntplib,sys; r=ntplib.NTPClient().request(sys.argv[1], version=4, timeout=1);"
            "print(r.leap, r.stratum, r.ref_id.to_bytes(4, 'big').rstrip(b'\\0').decode('ascii', 'replace'), r.offset)")
    r = net.exec(net.client, "/usr/bin/python3", "-c", code, host, check=False, timeout=10)
    return r.stdout.split() if r.returncode == 0 else None


def counters(net, conf):
    stats = netd_stats(net.server, BIN, conf)
    assert stats is not None, "netd is not connected to clockd"
    return stats


def appliance(net, tmp, name, extra):
    return Appliance(net, net.server, BIN, tmp, name, f"""
listen {Pair.SERVER4}
listen {Pair.SERVER6}
refclock sim jitter 1e-6
clock observe
{extra}
""")


def clients_and_protocol(net, tmp):
    app = appliance(net, tmp, "plain", "")
    try:
        locked = wait_for("stratum 1 from ntpdig",
                          lambda: (lambda j: j if j and j["stratum"] == 1 else None)(ntpdig_json(net)),
                          40)
        print("ntpdig:", locked)
        assert abs(float(locked["offset"])) < 0.1, locked

        offset, stratum, leap = wait_for("sntp", lambda: (lambda r: r if isinstance(r[0], float) else None)(sntp(net)), 10)
        print("sntp: offset", offset, "stratum", stratum, leap)
        assert stratum == 1 and abs(offset) < 0.1 and leap == "no-leap"

        q = wait_for("ntplib", lambda: ntplib_query(net), 10)
        print("ntplib (leap, stratum, refid, offset):", q)
        assert q[:3] == ["0", "1", "PPS"] and abs(float(q[3])) < 0.1, q
        q6 = ntplib_query(net, Pair.SERVER6)
        assert q6 and q6[1:3] == ["1", "PPS"], q6

        before = counters(net, app.conf)
        control = probe(net, Pair.SERVER4, "control")
        print("mode 6 / mode 7:", control)
        assert control["replies"] == 0
        amp = probe(net, Pair.SERVER4, "amplify")
        print("200-byte request, reply sizes:", amp)
        assert len(amp["sizes"]) == 1 and amp["sizes"][0] <= 48, (amp, counters(net, app.conf))

        def counted():
            s = counters(net, app.conf)
            return s if s.get("dropped_mode", 0) >= before.get("dropped_mode", 0) + 2 else None
        stats = wait_for("netd counters", counted, 5)
        print("netd counters:", json.dumps(stats, sort_keys=True))
        assert stats.get("dropped_length", 0) >= 1          # the 12-byte ntpq packet
        assert stats.get("requests_v4", 0) >= 3
        assert stats.get("dropped_own_address", 0) == 0 and stats.get("rate_limited", 0) == 0
    except BaseException:
        app.dump()
        raise
    finally:
        app.stop()


def rate_limit_and_deny(net, tmp):
    app = appliance(net, tmp, "limited",
                    "ratelimit interval 1 burst 4 leak 2 kod\ndeny 198.18.0.0/24\n")
    try:
        wait_for("an answer over IPv6", lambda: ntplib_query(net, Pair.SERVER6), 15)
        time.sleep(2.5)   # the probe above spent credit: let the bucket refill (2 s per token)
        burst = probe(net, Pair.SERVER6, "burst")
        print("burst of 200 from one client:", burst)
        assert 0 < burst["replies"] < 200, burst
        assert burst["kods"] >= 1, burst

        assert ntplib_query(net, Pair.SERVER4) is None, "a denied client got an answer"
        assert ntpdig_json(net, Pair.SERVER4) is None

        stats = wait_for("netd counters", lambda: (lambda s: s if s.get("dropped_denied", 0) >= 2
                                                   else None)(counters(net, app.conf)), 5)
        print("netd counters:", json.dumps(stats, sort_keys=True))
        assert stats["rate_limited"] >= 200 - burst["replies"]
        assert stats["kod_sent"] >= burst["kods"]

        # `horlogectl clients`: netd's top talkers, the IPv6 client keyed by its /64.
        def client_row():
            r = net.exec(net.server, f"{BIN}/horlogectl", "-f", app.conf, "clients", "-j",
                         check=False, timeout=10)
            rows = json.loads(r.stdout) if r.stdout.strip() else []
            row = next((c for c in rows if c["address"] == "fd7e::/64"), None)
            return (rows, row) if row and row["rate_limited"] >= 200 - burst["replies"] else None
        rows, row = wait_for("the client in `horlogectl clients`", client_row, 5)
        print("horlogectl clients:", rows)
        assert row["requests"] >= 201, row                       # the burst and the first query
        assert row["kod_sent"] >= burst["kods"] and row["kod_sent"] <= row["rate_limited"], row
        assert row["last"] < 30, row
        # Denied requests never reach the table; the text view lists the same client.
        assert all(not c["address"].startswith("198.18.0.") for c in rows), rows
        text = net.exec(net.server, f"{BIN}/horlogectl", "-f", app.conf, "clients").stdout
        print(text)
        assert "fd7e::/64" in text
    except BaseException:
        app.dump()
        raise
    finally:
        app.stop()


def main():
    require_root()
    for tool in ("ntpdig", "sntp"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            print(f"SKIP: {tool} not installed")
            sys.exit(77)
    if subprocess.run(["/usr/bin/python3", "-c", "import ntplib"]).returncode != 0:
        print("SKIP: python3-ntplib not installed")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="horloge-netd-")
    os.chmod(tmp, 0o755)
    net = Pair("nc")
    try:
        clients_and_protocol(net, tmp)
        rate_limit_and_deny(net, tmp)
        print("netd_clients: PASS")
    finally:
        net.close()


if __name__ == "__main__":
    main()
