#!/usr/bin/python3
"""netd against Debian's chronyd, side by side in one run, under horloge-loadgen.

Two network namespaces made here, joined by veth: `server` (198.18.0.1) runs both servers,
horloge's netd on port 123 (started by horloge-launch) and `chronyd -x` on port 11123, each
pinned to the same core (--server-cpu); `client` (198.18.0.2) runs the generator pinned to
the other core (--gen-cpu) and sends from 198.19.0.0/16, an AnyIP route (`ip route add local
... dev lo`), so any of those addresses can be a source. Addresses are from 198.18.0.0/15
(RFC 2544) and exist only inside these namespaces, which are deleted on exit.

Phases, each alternating A (netd) B (chronyd) A B ..., --runs runs per server:
  1. max:   the generator sends as fast as it can; the reply rate is the server's highest.
  2. fixed: paced at --load (default 0.5) x chronyd's median max reply rate: CPU us per
            request (from /proc/<pid>/task/*/schedstat) and T3-T2 p50/p99 from the replies.
Prints medians and the ratio netd/chronyd, and one JSON line (also written to --json FILE).

With --nts both serve NTS with the same self-signed certificate (netd's key exchange by ntskd on
TCP 4460, chronyd's on 14460): before each run the generator makes one key exchange, then sends
NTS requests reusing its cookies (bench/loadgen.c++), as ntpperf does.

chronyd always runs with -x: it never touches the clock. Needs root (exit 77 otherwise).
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from netns import wait_for  # noqa: E402
SERVER4, CLIENT4 = "198.18.0.1", "198.18.0.2"
SOURCES_NET = "198.19.0.0/16"
NETD_PORT, CHRONY_PORT = 123, 11123
NETD_NTSKE_PORT, CHRONY_NTSKE_PORT = 4460, 14460


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(*args, check=True, timeout=30, **kw):
    return subprocess.run(list(args), check=check, text=True, capture_output=True,
                          timeout=timeout, **kw)


class Netns:
    def __init__(self):
        tag = str(os.getpid())
        self.server, self.client = f"hbs{tag}"[:15], f"hbc{tag}"[:15]
        vs, vc = f"vbs{tag}"[:15], f"vbc{tag}"[:15]
        self.made = []
        for ns in (self.server, self.client):
            run("ip", "netns", "add", ns)
            self.made.append(ns)
        run("ip", "link", "add", vs, "netns", self.server, "type", "veth",
            "peer", "name", vc, "netns", self.client)
        for ns, dev, a in ((self.server, vs, SERVER4), (self.client, vc, CLIENT4)):
            self.exec(ns, "ip", "link", "set", "lo", "up")
            self.exec(ns, "ip", "addr", "add", f"{a}/24", "dev", dev)
            self.exec(ns, "ip", "link", "set", dev, "up")
        # Receive processing (the veth backlog softirq) runs where the receiver is, as it would
        # on two machines: the server's kernel work on the server core, the generator's on the
        # generator core. Without RPS it runs on the sending CPU, and the generator's core would
        # do the server's receive work (and the generator's busy core would delay it).
        self.vs, self.vc = vs, vc

    def steer(self, server_cpu, gen_cpu):
        for ns, dev, cpu in ((self.server, self.vs, server_cpu), (self.client, self.vc, gen_cpu)):
            self.exec(ns, "sh", "-c",
                      f"echo {1 << cpu:x} > /sys/class/net/{dev}/queues/rx-0/rps_cpus")

    def route_sources(self):
        # Every address of SOURCES_NET is local in the client namespace (AnyIP) ...
        self.exec(self.client, "ip", "route", "add", "local", SOURCES_NET, "dev", "lo")
        # ... and routed there from the server namespace.
        self.exec(self.server, "ip", "route", "add", SOURCES_NET, "via", CLIENT4)

    def exec(self, ns, *args, check=True, timeout=30):
        return run("ip", "netns", "exec", ns, *args, check=check, timeout=timeout)

    def popen(self, ns, args, **kw):
        return subprocess.Popen(["ip", "netns", "exec", ns] + list(args), **kw)

    def close(self):
        for ns in self.made:
            run("ip", "netns", "del", ns, check=False)


def ensure_chrony():
    if shutil.which("chronyd"):
        return shutil.which("chronyd")
    # No service may start (and touch the host clock) while the package installs.
    policy = "/usr/sbin/policy-rc.d"
    if not os.path.exists(policy):
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
        log(f"created {policy} (exit 101) so that installing chrony starts no chronyd; "
            "left in place")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "chrony"], check=True, env=env, timeout=600)
    path = shutil.which("chronyd")
    if not path:
        raise SystemExit("chronyd still missing after apt-get install chrony")
    return path


def threads(pid):
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:
        return []


def cpu_ns(pid):
    """CPU time of every thread of pid, in ns (schedstat), and utime+stime in ns (stat)."""
    sched = 0
    for t in threads(pid):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                sched += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            pass
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])   # utime, stime (fields 14, 15)
    return sched, ticks * 1e9 / os.sysconf("SC_CLK_TCK")


NICE = 0   # set from --nice


def wakeups(pid):
    """Context switches of every thread of pid (voluntary: it blocked, e.g. in recvmmsg)."""
    total = 0
    for t in threads(pid):
        try:
            with open(f"/proc/{pid}/task/{t}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def pin(pid, cpu):
    """Pins every thread of pid to cpu and gives each the benchmark's nice value, so that
    other work on a shared machine (compilers...) gets little of that core."""
    run("taskset", "-apc", str(cpu), str(pid))
    for t in threads(pid):
        try:
            os.setpriority(os.PRIO_PROCESS, t, NICE)
        except (ProcessLookupError, PermissionError):
            pass


def children(pid):
    out = run("ps", "-o", "pid=,comm=", "--ppid", str(pid), check=False).stdout
    res = {}
    for line in out.splitlines():
        p, comm = line.split(None, 1)
        res[comm.strip()] = int(p)
    return res


class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = os.path.abspath(args.bin)
        self.loadgen = os.path.join(self.bin, "horloge-loadgen")
        for exe in (self.loadgen, os.path.join(self.bin, "horloge-launch")):
            if not os.access(exe, os.X_OK):
                raise SystemExit(f"missing {exe}: build first (ninja -C build)")
        self.tmp = tempfile.mkdtemp(prefix="horloge-bench-")
        os.chmod(self.tmp, 0o755)
        self.net = None
        self.launcher = None
        self.chronyd = None
        self.logs = []
        self.cert = self.key = None
        if args.nts:
            self.cert, self.key = os.path.join(self.tmp, "cert.pem"), os.path.join(self.tmp, "key.pem")
            run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=horloge.test",
                "-addext", f"subjectAltName=IP:{SERVER4}", "-keyout", self.key, "-out", self.cert)
            os.chmod(self.key, 0o644)   # chronyd reads it after dropping to its own user

    # --- servers ---------------------------------------------------------------------------

    def start_horloge(self):
        conf = os.path.join(self.tmp, "horloge.conf")
        with open(conf, "w") as f:
            f.write(f"""listen {SERVER4} port {NETD_PORT}
refclock sim
clock observe
rundir {self.tmp}/run
statedir {self.tmp}/state
user nobody
workers 1
""" + (f"nts cert {self.cert} key {self.key}\n" if self.args.nts else ""))
        out = open(os.path.join(self.tmp, "horloge.log"), "w+")
        self.logs.append(("horloge", out))
        self.launcher = self.net.popen(self.net.server,
                                       [os.path.join(self.bin, "horloge-launch"), "-f", conf],
                                       stdout=out, stderr=subprocess.STDOUT)
        self.wait_answering("netd", NETD_PORT)

    def netd_pid(self):
        """netd's pid, pinned (all threads) to the server core; the other daemons to the
        generator core, so that the server core runs only the server under test."""
        # `ip netns exec` execs, so the launcher is the Popen's pid.
        kids = children(self.launcher.pid)
        pid = kids.get("horloge-netd")
        if pid is None:
            raise RuntimeError(f"no horloge-netd under the launcher: {kids}")
        if pid != getattr(self, "_pinned_netd", None):
            pin(pid, self.args.server_cpu)
            for name, p in kids.items():
                if p != pid:
                    pin(p, self.args.gen_cpu)
            pin(self.launcher.pid, self.args.gen_cpu)
            if getattr(self, "_pinned_netd", None) is not None:
                log(f"WARNING: netd restarted (pid {self._pinned_netd} -> {pid})")
            self._pinned_netd = pid
        return pid

    def start_chronyd(self, chronyd):
        conf = os.path.join(self.tmp, "chrony.conf")
        with open(conf, "w") as f:
            f.write(f"""# horloge bench: a local stratum-1 server, no sources, never touching the clock (-x)
port {CHRONY_PORT}
local stratum 1
allow
pidfile {self.tmp}/chronyd.pid
bindcmdaddress /
cmdport 0
""" + (f"ntsservercert {self.cert}\nntsserverkey {self.key}\nntsport {CHRONY_NTSKE_PORT}\n"
       if self.args.nts else ""))
        out = open(os.path.join(self.tmp, "chronyd.log"), "w+")
        self.logs.append(("chronyd", out))
        self.chronyd = self.net.popen(self.net.server, [chronyd, "-x", "-d", "-f", conf],
                                      stdout=out, stderr=subprocess.STDOUT)
        self.wait_answering("chronyd", CHRONY_PORT)
        pin(self.chronyd.pid, self.args.server_cpu)

    def wait_answering(self, name, port):
        def answered():
            r = self.generate(port, rate=200, duration=0.3, drain_ms=100, pin_cpu=False)
            return r if r and r["replies"] > 0 else None
        wait_for(f"{name} to answer on port {port}", answered, 20)

    def server_pid(self, which):
        return self.netd_pid() if which == "netd" else self.chronyd.pid

    # --- generator -------------------------------------------------------------------------

    def generate(self, port, rate, duration, drain_ms=200, pin_cpu=True):
        cmd = ["nice", "-n", str(NICE), "taskset", "-c", str(self.args.gen_cpu)] if pin_cpu else []
        cmd += [self.loadgen, "--server", SERVER4, "--port", str(port), "--src", "198.19.0.1",
                "--sources", str(self.args.sources), "--ports", str(self.args.ports),
                "--rate", str(rate), "--duration", str(duration), "--drain-ms", str(drain_ms)]
        if self.args.nts:
            cmd += ["--nts-ke-port", str(NETD_NTSKE_PORT if port == NETD_PORT else CHRONY_NTSKE_PORT)]
        r = self.net.exec(self.net.client, *cmd, check=False, timeout=duration + 30)
        if r.returncode != 0:
            log(f"loadgen failed ({r.returncode}): {r.stderr.strip()}")
            return None
        return json.loads(r.stdout.strip().splitlines()[-1])

    def measure(self, which, rate, duration):
        port = NETD_PORT if which == "netd" else CHRONY_PORT
        pid = self.server_pid(which)
        s0, t0 = cpu_ns(pid)
        w0 = wakeups(pid)
        r = self.generate(port, rate, duration)
        s1, t1 = cpu_ns(pid)
        w1 = wakeups(pid)
        if r is None:
            return None
        r["server"] = which
        r["cpu_ms"] = (s1 - s0) / 1e6
        r["cpu_ms_stat"] = (t1 - t0) / 1e6
        r["cpu_us_per_reply"] = (s1 - s0) / 1e3 / r["replies"] if r["replies"] else None
        # Replies per time the server blocked: about its mean batch size.
        r["replies_per_wakeup"] = r["replies"] / (w1 - w0) if w1 > w0 else None
        return r

    # --- the run ---------------------------------------------------------------------------

    def phase(self, name, rate_of, results):
        a = self.args
        for i in range(a.runs):
            for which in ("netd", "chronyd"):   # A B A B ...
                if time.monotonic() > self.deadline:
                    log(f"time limit ({a.time_limit}s) reached: stopping phase {name}")
                    return
                rate = rate_of(which)
                r = self.measure(which, rate, a.duration)
                results[which].append(r)
                if r:
                    log(f"{name} run {i + 1}/{a.runs} {which:7s}: sent {r['send_rate']:9.0f}/s "
                        f"replies {r['reply_rate']:9.0f}/s  cpu {r['cpu_us_per_reply'] or 0:6.2f} "
                        f"us/reply  T3-T2 p50 {r['t3_t2_ns']['p50']:7.0f} ns "
                        f"p99 {r['t3_t2_ns']['p99']:8.0f} ns")
                time.sleep(a.settle)

    def main(self):
        a = self.args
        self.deadline = time.monotonic() + a.time_limit
        chronyd = ensure_chrony()
        self.net = Netns()
        self.net.route_sources()
        if not a.no_rps:
            self.net.steer(a.server_cpu, a.gen_cpu)
        self.start_horloge()
        self.start_chronyd(chronyd)
        self.netd_pid()
        log(f"netd pid {self._pinned_netd}, chronyd pid {self.chronyd.pid}, both on cpu "
            f"{a.server_cpu}; generator on cpu {a.gen_cpu}; {a.sources} source addresses x "
            f"{a.ports} ports; {a.runs} runs x {a.duration}s per server and phase")

        maxr = {"netd": [], "chronyd": []}
        self.phase("max", lambda which: 0, maxr)
        med = lambda xs: statistics.median(xs) if xs else None
        chrony_max = med([r["reply_rate"] for r in maxr["chronyd"] if r])
        if not chrony_max:
            raise RuntimeError("chronyd gave no replies in the max phase")
        fixed_rate = a.fixed_rate or round(a.load * chrony_max)

        fixed = {"netd": [], "chronyd": []}
        self.phase("fixed", lambda which: fixed_rate, fixed)
        return self.report(maxr, fixed, fixed_rate)

    def report(self, maxr, fixed, fixed_rate):
        def med(rs, f):
            xs = [f(r) for r in rs if r and f(r) is not None]
            return statistics.median(xs) if xs else None

        metrics = [
            ("max reply rate (/s)", maxr, lambda r: r["reply_rate"], "higher"),
            ("max: generator send rate (/s)", maxr, lambda r: r["send_rate"], "info"),
            ("max: CPU us per reply", maxr, lambda r: r["cpu_us_per_reply"], "lower"),
            ("max: replies per server wakeup", maxr, lambda r: r["replies_per_wakeup"], "info"),
            (f"CPU us per request @ {fixed_rate}/s", fixed, lambda r: r["cpu_us_per_reply"], "lower"),
            (f"replies per server wakeup @ {fixed_rate}/s", fixed,
             lambda r: r["replies_per_wakeup"], "info"),
            (f"T3-T2 p50 ns @ {fixed_rate}/s", fixed, lambda r: r["t3_t2_ns"]["p50"], "lower"),
            (f"T3-T2 p99 ns @ {fixed_rate}/s", fixed, lambda r: r["t3_t2_ns"]["p99"], "lower"),
            (f"RTT p50 ns @ {fixed_rate}/s", fixed, lambda r: r["rtt_ns"]["p50"], "lower"),
            (f"reply ratio @ {fixed_rate}/s", fixed,
             lambda r: r["replies"] / r["sent"] if r["sent"] else None, "info"),
        ]
        summary = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": self.args.runs,
                   "nts": bool(self.args.nts),
                   "duration_s": self.args.duration, "fixed_rate": fixed_rate, "metrics": {}}
        print(f"\n{'metric':40s} {'netd':>12s} {'chronyd':>12s} {'netd/chronyd':>13s}")
        for name, rs, f, _ in metrics:
            n, c = med(rs["netd"], f), med(rs["chronyd"], f)
            ratio = n / c if n is not None and c else None
            summary["metrics"][name] = {"netd": n, "chronyd": c, "ratio": ratio}
            fmt = lambda v: f"{v:12.2f}" if isinstance(v, float) and v < 100 else (
                f"{v:12.0f}" if v is not None else f"{'-':>12s}")
            print(f"{name:40s} {fmt(n)} {fmt(c)} {ratio if ratio is None else f'{ratio:13.3f}'}")
        summary["runs_detail"] = {"max": maxr, "fixed": fixed}
        replies = {w: sum(r["replies"] for ph in (maxr, fixed) for r in ph[w] if r)
                   for w in ("netd", "chronyd")}
        summary["total_replies"] = replies
        line = json.dumps(summary)
        print(json.dumps({k: v for k, v in summary.items() if k != "runs_detail"}))
        if self.args.json:
            with open(self.args.json, "w") as f:
                f.write(line + "\n")
        if self.args.smoke:
            ok = all(replies[w] > 0 for w in replies) and all(
                r and r["replies"] > 0 for ph in (maxr, fixed) for w in ph for r in ph[w])
            print("bench-smoke:", "PASS" if ok else f"FAIL (replies {replies})")
            return 0 if ok else 1
        return 0

    def close(self):
        for p in (self.chronyd, self.launcher):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
        if self.net:
            self.net.close()
        if self.args.show_logs:
            for name, f in self.logs:
                f.seek(0)
                log(f"---- {name} log ----\n{f.read()[-4000:]}")
        for _, f in self.logs:
            f.close()
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--bin", default=os.path.join(HERE, "..", "build", "bin"),
                   help="directory with horloge-launch, the daemons and horloge-loadgen")
    p.add_argument("--runs", type=int, default=5, help="runs per server and phase (>= 5 for figures)")
    p.add_argument("--duration", type=float, default=8.0, help="seconds per run")
    p.add_argument("--settle", type=float, default=0.5, help="pause between runs, seconds")
    p.add_argument("--load", type=float, default=0.5,
                   help="fixed rate as a share of chronyd's median max reply rate")
    p.add_argument("--fixed-rate", type=int, default=0, help="fixed rate in requests/s (overrides --load)")
    p.add_argument("--sources", type=int, default=4096, help="source addresses (198.19.x.y)")
    p.add_argument("--ports", type=int, default=4, help="source ports (one socket each)")
    p.add_argument("--server-cpu", type=int, default=1)
    p.add_argument("--gen-cpu", type=int, default=0)
    p.add_argument("--nice", type=int, default=-20,
                   help="nice value of both servers and the generator (0: leave as is)")
    p.add_argument("--no-rps", action="store_true",
                   help="leave receive processing on the sending CPU (no RPS steering)")
    p.add_argument("--time-limit", type=float, default=330, help="stop starting runs after this (s)")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 runs x 1.5 s (~1 min)")
    p.add_argument("--smoke", action="store_true", help="exit 1 unless both servers replied")
    p.add_argument("--json", help="write the full results (every run) to this file")
    p.add_argument("--nts", action="store_true",
                   help="NTS requests (one key exchange per run, cookies reused) to both servers")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--show-logs", action="store_true", help="print the servers' logs at the end")
    args = p.parse_args()
    if args.quick:
        args.runs, args.duration, args.settle, args.time_limit = 2, 1.5, 0.2, 60
    if not 1 <= args.runs <= 50 or not 0 < args.duration <= 60:
        p.error("--runs must be 1..50 and --duration 0..60")
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces")
        return 77
    if os.cpu_count() < 2:
        log("WARNING: fewer than 2 CPUs: server and generator share a core")
    global NICE
    NICE = args.nice
    bench = Bench(args)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return bench.main()
    finally:
        bench.close()


if __name__ == "__main__":
    sys.exit(main())
