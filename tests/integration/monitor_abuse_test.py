#!/usr/bin/env python3
"""monitord's connection slots under real connection-exhaustion attacks, from a namespace.

The appliance (horloge-launch as root, real sandbox) serves HTTPS with `monitor allow all` and
one narrower `monitor allow` for the insider host: everyone may connect, the insider keeps a
reserve. Three hosts on one bridge besides it: the attacker, the insider and an outsider (a
health checker outside the narrower prefix). While the attacker runs each attack for PHASE
seconds (tests/integration/https_attack.py), the insider and the outsider each ask /health with
curl every 0.5 s:

  1. one address, 100 idle TCP connections, each reopened as soon as it is closed;
  2. one address, 200 slow TLS clients (a ClientHello byte every 5 s);
  3. 16 addresses, 64 idle connections (4 each, the per-source share: more than the 56 slots
     outside the reserve), reopened at once;
  4. 64 addresses, 256 slow TLS clients (more addresses than slots).

Required: against one address (1, 2) both the insider and the outsider get /health answered
(>= 95 %), since one source holds at most 4 slots; against 16 (3) both too, since the
attacker's sources level out and a host holding no slot takes one from the fullest; against
more addresses than slots (4) the insider does (its reserve); the outsider's share is printed.
monitord's refusals and cuts by reason are read from /metrics at the end and must be non-zero.

    monitor_abuse_test.py BINDIR [--only N,...]   (attacks by number, for a closer look)
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Appliance, Lan, require_root, wait_for  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
PHASE = 30
SOURCES = "198.19.0.1"   # the attacker's extra addresses (routed to it from the server)


class Prober(threading.Thread):
    """curl /health every 0.5 s from one host; counts answers per phase."""

    def __init__(self, lan, host, url):
        super().__init__(daemon=True)
        self.lan, self.host, self.url = lan, host, url
        self.phase = None
        self.counts = {}
        self.stop = False

    def run(self):
        while not self.stop:
            t = time.monotonic()
            r = self.lan.exec(self.lan.ns[self.host], "curl", "-sS", "-k", "--max-time", "3",
                              "-o", "/dev/null", "-w", "%{http_code}", self.url, check=False)
            phase = self.phase
            if phase is not None:
                ok, total = self.counts.get(phase, (0, 0))
                self.counts[phase] = (ok + (r.stdout == "200"), total + 1)
            time.sleep(max(0, 0.5 - (time.monotonic() - t)))


def metrics(lan, url):
    r = lan.exec(lan.ns["insider"], "curl", "-sS", "-k", "--max-time", "5", f"{url}/metrics",
                 check=False)
    out = {}
    for line in r.stdout.splitlines():
        if line.startswith("ntp_monitor_connections"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def main():
    require_root()
    tmp = tempfile.mkdtemp(prefix="horloge-monitor-abuse-")
    os.chmod(tmp, 0o755)
    lan = Lan("ma", ["server", "attacker", "insider", "outsider"])
    app = None
    probers = []
    try:
        server = lan.addr["server"]
        url = f"https://{server}"
        app = Appliance(lan, lan.ns["server"], BIN, tmp, "abuse", f"""
listen {server}
monitor listen {server} port 443
monitor allow all
monitor allow {lan.addr["insider"]}/32
refclock sim
clock observe
""")
        # The attacker's extra addresses: local to it, routed to it from the server.
        lan.exec(lan.ns["attacker"], "ip", "route", "add", "local", "198.19.0.0/16", "dev", "lo")
        lan.exec(lan.ns["server"], "ip", "route", "add", "198.19.0.0/16", "via",
                 lan.addr["attacker"])

        def healthy():
            r = lan.exec(lan.ns["insider"], "curl", "-sS", "-k", "--max-time", "3", "-o",
                         "/dev/null", "-w", "%{http_code}", f"{url}/health", check=False)
            return r.stdout == "200"
        wait_for("/health 200 before the attacks", healthy, 60)

        probers = [Prober(lan, h, f"{url}/health") for h in ("insider", "outsider")]
        for p in probers:
            p.start()
        attacks = [
            ("one address, 100 idle TCP", ["idle", server, "443", "100"]),
            ("one address, 200 slow TLS", ["slowtls", server, "443", "200"]),
            ("16 addresses, 64 idle TCP", ["idle", server, "443", "64",
                                           "--sources", SOURCES, "16"]),
            ("64 addresses, 256 slow TLS", ["slowtls", server, "443", "256",
                                            "--sources", SOURCES, "64"]),
        ]
        if "--only" in sys.argv:
            keep = [int(n) - 1 for n in sys.argv[sys.argv.index("--only") + 1].split(",")]
            attacks = [a if i in keep else None for i, a in enumerate(attacks)]
        rows = []
        for attack in attacks:
            if attack is None:
                rows.append(None)
                continue
            name, args = attack
            for p in probers:
                p.phase = name
            cmd = [sys.executable, os.path.join(HERE, "https_attack.py")] + args[:4] + \
                [str(PHASE)] + args[4:]
            r = lan.exec(lan.ns["attacker"], *cmd, check=False, timeout=PHASE + 30)
            for p in probers:
                p.phase = None
            attack = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else {}
            if r.returncode != 0:
                print(r.stderr)
            rows.append((name, probers[0].counts.get(name, (0, 0)),
                         probers[1].counts.get(name, (0, 0)), attack))
            time.sleep(2)
        for p in probers:
            p.stop = True
        m = metrics(lan, url)

        print("| attack | insider /health | outsider /health | attacker: opened, closed by "
              "monitord, most open |")
        print("|---|---|---|---|")
        for name, (iok, itot), (ook, otot), a in filter(None, rows):
            print(f"| {name} | {iok}/{itot} | {ook}/{otot} | {a.get('opened')}, "
                  f"{a.get('closed_by_server')}, {a.get('max_open')} |")
        print("monitord's counters:")
        for k, v in sorted(m.items()):
            print(f"  {k} {v:.0f}")

        problems = []
        for i, row in enumerate(rows):
            if row is None:
                continue
            name, (iok, itot), (ook, otot), a = row
            if not a:
                problems.append(f"{name}: the attack did not run")
            if itot == 0 or iok < 0.95 * itot:
                problems.append(f"{name}: insider {iok}/{itot}")
            if i < 3 and (otot == 0 or ook < 0.95 * otot):
                problems.append(f"{name}: outsider {ook}/{otot}")
        if m.get('ntp_monitor_connections_refused_total{reason="source_share"}', 0) == 0:
            problems.append("no refusal counted for the per-source share")
        cuts = sum(v for k, v in m.items() if k.startswith("ntp_monitor_connections_cut_total"))
        if cuts == 0:
            problems.append("no connection cut counted")
        if problems:
            app.dump(6000)
            raise AssertionError("; ".join(problems))
        assert app.running(), "the launcher stopped"
        print("monitor_abuse: PASS")
    finally:
        for p in probers:
            p.stop = True
        if app is not None:
            app.stop()
        lan.close()


if __name__ == "__main__":
    main()
