#!/usr/bin/env python3
"""The fault-and-load soak: the whole appliance under load and abuse for a long while, with its
daemons killed and stopped at random, and the GPS going and coming back.

horloge-launch (as root, real sandbox, seccomp kill) serves NTP and HTTPS in namespace `server`
of a Lan, with `clock sim` (so every answer's true error is measured: the host clock is the
truth), `ratelimit ... kod`, `monitor allow all` plus the insider's own prefix. Meanwhile:

  - pool-like load: bench's horloge-loadgen from 4096 source addresses at 2000 requests/s, and
    a heavy hitter from 4 addresses at 1000/s (rate limited: RATE kisses);
  - well-behaved clients: three hosts each asking every 3 s (tests/integration/ntp_probe.py);
  - the insider asks /health every 2 s (curl, 10 s at most);
  - slow and idle HTTPS clients (tests/integration/https_attack.py): 100 idle connections from
    one address, 200 slow TLS clients from 16, each reopened when closed (200 a second at most);
  - every 15 s or so a stray connection on a random IPC socket: connect-and-close, silent and
    held, 64 MB announced, or garbage;
  - each daemon SIGKILLed or SIGSTOPped (0.5 to 4 s) at random, at least 65 s apart for one
    daemon (5 failures in a minute would make the launcher give up on it);
  - the simulated GPS (PPS and NMEA) gone from 25 % to 40 % of the run and from 60 % to 65 %.

Asserted at the end:
  - no answer beyond its claimed root distance: |offset| - delay/2 <= root delay/2 + root
    dispersion for every answer not LI=3 (with `clock sim` the offset is the server's true
    error give or take delay/2; the check of tests/integration/honesty_test.py);
  - >= 99.9 % of the well-behaved clients' requests answered;
  - /health answered (any HTTP status) every time the insider asked, but for a request cut by
    a SIGKILL of monitord while in flight and answered when asked again at once;
  - every daemon's RSS and fd count flat after warm-up: the largest in the last quarter of the
    run at most that of the first quarter after warm-up plus 4 MiB and 16 fds;
  - no daemon killed by SIGSYS, the launcher still running and every daemon up at the end.
The figures are printed as a table.

    soak_test.py BINDIR [--minutes N] [--seed N]

In CTest (label `soak`) it runs HORLOGE_SOAK_MINUTES (a CMake cache variable, 10 by default)
minutes; longer runs: docs/soak.md.
"""
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Appliance, Lan, daemon_pids, require_root, wait_for  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
LOADGEN = os.path.join(BIN, "horloge-loadgen")
DAEMONS = ("clockd", "netd", "refclockd", "monitord")
WARMUP = 90          # seconds: synchronised, caches and tables filled
PROBE_INTERVAL = 3   # well-behaved clients: one request per 3 s (the limit is one per 2 s)
POOL_SOURCES = "198.19.0.1"    # 4096 addresses of the pool-like load
ATTACK_SOURCES = "198.19.128.1"
REFUSED = 'ntp_monitor_connections_refused_total{{reason="{}"}}'


def arg(name, default):
    if name in sys.argv:
        return type(default)(sys.argv[sys.argv.index(name) + 1])
    return default


class Probe(threading.Thread):
    """ntp_probe.py in one client namespace; its answers, with their time since the start."""

    def __init__(self, lan, host, server, duration, t0):
        super().__init__(daemon=True)
        self.host, self.t0 = host, t0
        self.answers = []
        self.proc = lan.popen(lan.ns[host], ["/usr/bin/python3", os.path.join(HERE, "ntp_probe.py"),
                                             server, "123", str(PROBE_INTERVAL), str(duration),
                                             "2.5"], stdout=subprocess.PIPE, text=True)

    def run(self):
        for line in self.proc.stdout:
            a = json.loads(line)
            a["since"] = time.monotonic() - self.t0
            self.answers.append(a)


class Health(threading.Thread):
    """curl /health every 2 s from the insider. A failed request is asked again at once, as a
    monitor would: a request monitord was serving when it was SIGKILLed is cut (the kernel resets
    the connection), and only the next one shows whether /health is reachable."""

    def __init__(self, lan, url, t0):
        super().__init__(daemon=True)
        self.lan, self.url, self.t0 = lan, url, t0
        self.results = []   # (since, HTTP status or 0, error, ended, status of the retry)
        self.stop = False

    def ask(self):
        r = self.lan.exec(self.lan.ns["insider"], "curl", "-sS", "-k", "--max-time", "10",
                          "-o", "/dev/null", "-w", "%{http_code}", f"{self.url}/health",
                          check=False)
        return int(r.stdout) if r.stdout.isdigit() else 0, r.stderr.strip()[:200]

    def run(self):
        while not self.stop:
            t = time.monotonic()
            code, err = self.ask()
            ended = time.monotonic()
            retry = self.ask()[0] if code == 0 else None
            self.results.append((t - self.t0, code, err, ended - self.t0, retry))
            time.sleep(max(0, 2 - (time.monotonic() - t)))

    def cut_by_kill(self, events):
        """The failed requests answered on retry that a SIGKILL of monitord cut, and the others."""
        kills = [t for t, what in events if what.startswith("SIGKILL monitord")]
        failed = [h for h in self.results if h[1] == 0]
        cut = [h for h in failed if h[4] and any(h[0] - 1 <= k <= h[3] + 0.5 for k in kills)]
        return cut, [h for h in failed if h not in cut]


class Sampler(threading.Thread):
    """Each daemon's RSS (KiB) and open fds every 5 s."""

    def __init__(self, launcher_pid, t0):
        super().__init__(daemon=True)
        self.launcher, self.t0 = launcher_pid, t0
        self.samples = []   # (since, daemon, pid, rss KiB, fds)
        self.stop = False

    def run(self):
        while not self.stop:
            for name, pid in daemon_pids(self.launcher).items():
                try:
                    with open(f"/proc/{pid}/status") as f:
                        rss = int(next(l for l in f if l.startswith("VmRSS:")).split()[1])
                    fds = len(os.listdir(f"/proc/{pid}/fd"))
                except (OSError, StopIteration):
                    continue
                self.samples.append((time.monotonic() - self.t0, name, pid, rss, fds))
            time.sleep(5)


class Chaos(threading.Thread):
    """Random kills, stops and stray IPC connections until told to stop."""

    def __init__(self, app, rundir, rng, t0, end):
        super().__init__(daemon=True)
        self.app, self.rundir, self.rng, self.t0, self.end = app, rundir, rng, t0, end
        self.events = []   # (since, what)
        self.stop = False
        self.stopped = set()
        self.held = []

    def log(self, what):
        self.events.append((time.monotonic() - self.t0, what))
        print(f"  {time.monotonic() - self.t0:6.1f} s  {what}", flush=True)

    def signal_daemon(self, name):
        pids = daemon_pids(self.app.pid)
        if name not in pids:
            return False
        pid = pids[name]
        if self.rng.random() < 0.5:
            os.kill(pid, signal.SIGKILL)
            self.log(f"SIGKILL {name} ({pid})")
        else:
            pause = self.rng.uniform(0.5, 1.0 if name == "netd" else 4.0)
            os.kill(pid, signal.SIGSTOP)
            self.stopped.add(pid)
            time.sleep(pause)
            os.kill(pid, signal.SIGCONT)
            self.stopped.discard(pid)
            self.log(f"SIGSTOP {name} ({pid}) for {pause:.1f} s")
        return True

    def stray(self):
        name = self.rng.choice(["netd.sock", "refclock.sock", "status.sock"])
        kind = self.rng.choice(["close", "silent", "64MB", "garbage"])
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(os.path.join(self.rundir, name))
            if kind == "silent":
                self.held.append((time.monotonic() + 15, s))
            elif kind == "64MB":
                s.sendall(struct.pack("<II", 0, 8 << 20) + bytes(1024))
                self.held.append((time.monotonic() + 5, s))
            elif kind == "garbage":
                s.sendall(bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 4096))))
                self.held.append((time.monotonic() + 5, s))
            else:
                s.close()
            self.log(f"stray {kind} on {name}")
        except OSError as e:
            s.close()
            self.log(f"stray {kind} on {name}: {e}")

    def run(self):
        next_signal = {d: WARMUP / 2 + self.rng.uniform(0, 60) for d in DAEMONS}
        next_stray = WARMUP / 2
        while not self.stop:
            now = time.monotonic() - self.t0
            if now < self.end - 30:   # the last 30 s: everything settles before the checks
                for d in DAEMONS:
                    if now >= next_signal[d]:
                        self.signal_daemon(d)
                        next_signal[d] = now + self.rng.uniform(65, 140)
                if now >= next_stray:
                    self.stray()
                    next_stray = now + self.rng.uniform(8, 22)
            for deadline, s in list(self.held):
                if time.monotonic() >= deadline:
                    s.close()
                    self.held.remove((deadline, s))
            time.sleep(0.2)
        for pid in list(self.stopped):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        for _, s in self.held:
            s.close()


def excess(a):
    return abs(a["offset"]) - a["delay"] / 2 - (a["root_delay"] / 2 + a["root_dispersion"])


def resources(samples, duration):
    """Per daemon: the largest RSS and fd count in the first quarter after warm-up and in the
    last quarter of the run."""
    out = {}
    span = duration - WARMUP
    for d in DAEMONS:
        early = [s for s in samples if s[1] == d and WARMUP <= s[0] < WARMUP + span / 4]
        late = [s for s in samples if s[1] == d and s[0] >= duration - span / 4]
        if early and late:
            out[d] = (max(s[3] for s in early), max(s[3] for s in late),
                      max(s[4] for s in early), max(s[4] for s in late))
    return out


def main():
    require_root()
    minutes = arg("--minutes", float(os.environ.get("HORLOGE_SOAK_MINUTES", "10")))
    seed = arg("--seed", int(time.time()) % 100000)
    duration = minutes * 60
    rng = random.Random(seed)
    print(f"soak: {minutes:g} min, seed {seed}", flush=True)
    if not os.access(LOADGEN, os.X_OK):
        print(f"SKIP: {LOADGEN} missing")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="horloge-soak-")
    os.chmod(tmp, 0o755)
    lan = Lan("sk", ["server", "load", "insider", "c1", "c2", "c3"])
    app = None
    threads = []
    procs = []
    try:
        server = lan.addr["server"]
        gps = (f"dropout pps {duration * 0.25:.0f} {duration * 0.15:.0f} "
               f"dropout nmea {duration * 0.25:.0f} {duration * 0.15:.0f} "
               f"dropout pps {duration * 0.60:.0f} {duration * 0.05:.0f} "
               f"dropout nmea {duration * 0.60:.0f} {duration * 0.05:.0f}")
        app = Appliance(lan, lan.ns["server"], BIN, tmp, "soak", f"""
listen {server}
monitor listen {server} port 443
monitor allow all
monitor allow {lan.addr["insider"]}/32
refclock sim {gps}
clock sim
ratelimit interval 1 burst 16 leak 2 kod
""")
        rundir = f"{tmp}/run-soak"
        t0 = time.monotonic()
        # The load host's addresses: local to it, routed to it from the server.
        lan.exec(lan.ns["load"], "ip", "route", "add", "local", "198.19.0.0/16", "dev", "lo")
        lan.exec(lan.ns["server"], "ip", "route", "add", "198.19.0.0/16", "via", lan.addr["load"])
        wait_for("every daemon running", lambda: set(DAEMONS) <= set(daemon_pids(app.pid)), 30)

        load = lan.popen(lan.ns["load"], [LOADGEN, "--server", server, "--src", POOL_SOURCES,
                                          "--sources", "4096", "--ports", "4", "--rate", "2000",
                                          "--duration", str(duration - 10)],
                         stdout=subprocess.PIPE, text=True)
        heavy = lan.popen(lan.ns["load"], [LOADGEN, "--server", server, "--src", "198.19.64.1",
                                           "--sources", "4", "--ports", "2", "--base-port", "30000",
                                           "--rate", "1000", "--duration", str(duration - 10)],
                          stdout=subprocess.PIPE, text=True)
        attack = [sys.executable, os.path.join(HERE, "https_attack.py")]
        # Paced (a few hundred connections a second): abuse, not a benchmark of the accept loop.
        idle = lan.popen(lan.ns["load"], attack + ["idle", server, "443", "100", str(duration - 10),
                                                   "--rate", "200"],
                         stdout=subprocess.PIPE, text=True)
        slow = lan.popen(lan.ns["load"], attack + ["slowtls", server, "443", "200",
                                                   str(duration - 10), "--sources",
                                                   ATTACK_SOURCES, "16", "--rate", "200"],
                         stdout=subprocess.PIPE, text=True)
        procs = [load, heavy, idle, slow]

        probes = [Probe(lan, h, server, duration - 5, t0) for h in ("c1", "c2", "c3")]
        health = Health(lan, f"https://{server}", t0)
        sampler = Sampler(app.pid, t0)
        chaos = Chaos(app, rundir, rng, t0, duration)
        threads = probes + [health, sampler, chaos]
        for t in threads:
            t.start()
        while time.monotonic() - t0 < duration:
            time.sleep(5)
            if not app.running():
                break
        chaos.stop = health.stop = sampler.stop = True
        for p in probes:
            p.proc.wait(timeout=30)
            p.join(timeout=10)
        outputs = {}
        for name, p in zip(("pool", "heavy", "idle", "slowtls"), procs):
            try:
                out, _ = p.communicate(timeout=60)
                outputs[name] = json.loads(out.strip().splitlines()[-1])
            except (subprocess.TimeoutExpired, ValueError, IndexError):
                outputs[name] = {}
        chaos.join(timeout=10)
        health.join(timeout=15)
        r = lan.exec(lan.ns["insider"], "curl", "-sS", "-k", "--max-time", "10",
                     f"https://{server}/metrics", check=False)
        metrics = {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1]) for l in r.stdout.splitlines()
                   if l.startswith(("ntp_monitor_", "ntp_server_", "ntp_system_rejected"))}
        pids = daemon_pids(app.pid)
        with open(app.log.name) as f:
            log = f.read()

        # ---- figures ----
        answers = [a for p in probes for a in p.answers]
        asked = len(answers)
        answered = [a for a in answers if not a.get("timeout")]
        synced = [a for a in answered if a["leap"] != 3 and 0 < a["stratum"] < 16]
        violations = [a for a in synced if excess(a) > 0]
        worst = max((excess(a) for a in synced), default=None)
        reached = [h for h in health.results if h[1] != 0]
        cut, unreached = health.cut_by_kill(chaos.events)
        res = resources(sampler.samples, duration)
        sigsys = log.count("Bad system call")
        kills = [e for e in chaos.events if e[1].startswith("SIGKILL")]
        stops = [e for e in chaos.events if e[1].startswith("SIGSTOP")]
        strays = [e for e in chaos.events if e[1].startswith("stray")]

        print("\n| figure | value |\n|---|---|")
        rows = [
            ("duration, seed", f"{minutes:g} min, {seed}"),
            ("well-behaved NTP requests answered", f"{len(answered)}/{asked} "
             f"({100 * len(answered) / max(asked, 1):.3f} %)"),
            ("answers checked (not LI=3), beyond their root distance",
             f"{len(synced)}, {len(violations)}"),
            ("worst excess (negative: smallest margin)",
             "-" if worst is None else f"{worst * 1e6:.1f} µs"),
            ("/health answered from the insider", f"{len(reached)}/{len(health.results)} "
             f"({sum(h[1] == 200 for h in health.results)} with 200)"),
            ("/health cut by a SIGKILL of monitord, answered when asked again", str(len(cut))),
            ("pool load: sent, replies, RATE kisses",
             f"{outputs['pool'].get('sent')}, {outputs['pool'].get('replies')}, "
             f"{outputs['pool'].get('kod')}"),
            ("heavy hitter: sent, replies, RATE kisses",
             f"{outputs['heavy'].get('sent')}, {outputs['heavy'].get('replies')}, "
             f"{outputs['heavy'].get('kod')}"),
            ("netd: rate limited (since its last start)",
             f"{metrics.get('ntp_server_rate_limited_packets_total', 0):.0f}"),
            ("HTTPS attackers: connections opened (idle, slow TLS)",
             f"{outputs['idle'].get('opened')}, {outputs['slowtls'].get('opened')}"),
            ("monitord refusals since its last start (source share, full)",
             f"{metrics.get(REFUSED.format('source_share'), 0):.0f}, "
             f"{metrics.get(REFUSED.format('full'), 0):.0f}"),
            ("SIGKILLs, SIGSTOPs, stray IPC connections", f"{len(kills)}, {len(stops)}, {len(strays)}"),
            ("clockd's rejected messages (since its last start)",
             f"{metrics.get('ntp_system_rejected_messages_total', 0):.0f}"),
            ("SIGSYS", str(sigsys)),
        ]
        for d, (r0, r1, f0, f1) in sorted(res.items()):
            rows.append((f"{d}: RSS max early -> late, fds max early -> late",
                         f"{r0 / 1024:.1f} -> {r1 / 1024:.1f} MiB, {f0} -> {f1}"))
        for k, v in rows:
            print(f"| {k} | {v} |")

        problems = []
        if violations:
            problems.append(f"{len(violations)} answers beyond their root distance, e.g. " +
                            "; ".join(f"t={a['since']:.0f}s offset={a['offset'] * 1e6:+.0f}µs "
                                      f"claim={(a['root_delay'] / 2 + a['root_dispersion']) * 1e6:.0f}µs"
                                      for a in violations[:5]))
        if asked == 0 or len(answered) < 0.999 * asked:
            lost = [a["since"] for a in answers if a.get("timeout")]
            problems.append(f"well-behaved requests answered {len(answered)}/{asked}; lost at "
                            + ", ".join(f"{t:.0f}s" for t in lost[:20]))
        if not synced:
            problems.append("never synchronised")
        if not health.results or unreached:
            problems.append("/health unanswered at " + ", ".join(
                f"{h[0]:.0f}s ({h[2]}; asked again: {h[4]})" for h in unreached))
        for d in DAEMONS:
            if d not in res:
                problems.append(f"no resource samples for {d}")
                continue
            r0, r1, f0, f1 = res[d]
            if r1 > r0 + 4096 or f1 > f0 + 16:
                problems.append(f"{d} grew: RSS {r0} -> {r1} KiB, fds {f0} -> {f1}")
        if sigsys:
            problems.append(f"{sigsys} SIGSYS")
        if not app.running():
            problems.append("the launcher stopped")
        if not set(DAEMONS) <= set(pids):
            problems.append(f"daemons missing at the end: {sorted(set(DAEMONS) - set(pids))}")
        if "giving up" in log:
            problems.append("the launcher gave up on a daemon")
        if not outputs["pool"].get("replies"):
            problems.append("the pool load got no replies")
        if problems:
            app.dump(20000)
            print("\nFAIL:\n  " + "\n  ".join(problems))
            return 1
        print("\nsoak: PASS")
        return 0
    finally:
        for t in threads:
            if hasattr(t, "stop"):
                t.stop = True
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for t in threads:
            if isinstance(t, Probe) and t.proc.poll() is None:
                t.proc.kill()
                t.proc.wait()
        if app is not None:
            app.stop()
        lan.close()


if __name__ == "__main__":
    sys.exit(main())
