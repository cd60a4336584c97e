#!/usr/bin/env python3
"""Issue 5's holdover path, on the real daemons in a network namespace.

refclockd frozen (SIGSTOP: horloge-launch would restart a killed daemon) drives clockd into
HOLDOVER, and netd's advertised root dispersion grows (the sim's jitter is large, 200 us, so that
the growth of the predicted error shows within seconds at the 15 us resolution of NTP's format). Then clockd frozen: netd degrades on its
own (the dispersion grows by at least 15 ppm of the time since clockd's last push, and past
`maxholdover` it answers LI=3, stratum 16) and recovers when clockd comes back (SIGCONT).
Every wait is bounded; the whole test takes about a minute.
"""
import json
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Appliance, Pair, require_root, wait_for, daemon_pids  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
MAXHOLDOVER = 20          # seconds; clockd's holdover and netd's own grace
RATE = 15e-6              # netd's dispersion growth without clockd (DISPERSION_RATE_PPM)
UNIT = 1 / 65536          # NTP short format resolution


def query(net):
    """(leap, stratum, refid, root dispersion in s) from netd, or None."""
    code = ("import ntplib,sys; r=ntplib.NTPClient().request(sys.argv[1], version=4, timeout=1);"
            "print(r.leap, r.stratum, r.ref_id.to_bytes(4, 'big').rstrip(b'\\0')"
            ".decode('ascii', 'replace') or '-', repr(r.root_dispersion))")
    r = net.exec(net.client, sys.executable, "-c", code, Pair.SERVER4, check=False)
    if r.returncode != 0:
        return None
    leap, stratum, refid, disp = r.stdout.split()
    return int(leap), int(stratum), refid, float(disp)


def find_state(obj):
    """The clock's state anywhere in horlogectl's JSON (e.g. clock.state)."""
    if isinstance(obj, dict):
        if isinstance(obj.get("clock"), dict) and "state" in obj["clock"]:
            return obj["clock"]["state"]
        for v in obj.values():
            s = find_state(v)
            if s:
                return s
    elif isinstance(obj, list):
        for v in obj:
            s = find_state(v)
            if s:
                return s
    return None


def clock_state(net, conf):
    r = net.exec(net.server, f"{BIN}/horlogectl", "-f", conf, "status", "-j", check=False,
                 timeout=5)
    if r.returncode != 0:
        return None
    try:
        return str(find_state(json.loads(r.stdout))).lower()
    except ValueError:
        return None


def main():
    require_root()
    tmp = tempfile.mkdtemp(prefix="horloge-holdover-")
    os.chmod(tmp, 0o755)
    net = Pair("hold")
    app = None
    stopped = []
    try:
        app = Appliance(net, net.server, BIN, tmp, "holdover", f"""
listen {Pair.SERVER4}
refclock sim jitter 2e-4
clock observe
maxholdover {MAXHOLDOVER}
""")
        locked = lambda: (lambda q: q if q and q[0] == 0 and q[1] == 1 else None)(query(net))
        print("locked:", wait_for("stratum 1", locked, 40))
        wait_for("clock state locked", lambda: clock_state(net, app.conf) == "locked", 10)
        pids = daemon_pids(app.pid)
        assert {"clockd", "refclockd", "netd"} <= set(pids), pids

        # 1. No reference clock: clockd goes to holdover, still stratum 1, dispersion growing.
        os.kill(pids["refclockd"], signal.SIGSTOP)
        stopped.append(pids["refclockd"])
        t0 = time.monotonic()
        wait_for("holdover", lambda: clock_state(net, app.conf) == "holdover", 12)
        print(f"holdover after {time.monotonic() - t0:.1f} s without refclockd")
        a = query(net)
        time.sleep(4)
        b = query(net)
        print("holdover answers:", a, b)
        assert a and b and a[:2] == (0, 1) and b[:2] == (0, 1), (a, b)
        # clockd keeps pushing; the dispersion grows with the predicted error (3 sigma of the
        # frequency's uncertainty times the age, plus the wander), visible here because the
        # sim's 200 us jitter leaves the frequency uncertain to ~10 ppm after a few samples.
        assert b[3] > a[3], ("dispersion did not grow in holdover", a, b)
        assert time.monotonic() - t0 < MAXHOLDOVER, "too slow: holdover would have ended"
        # Past maxholdover, clockd itself says unsynchronised.
        wait_for("clockd unsynchronised past maxholdover",
                 lambda: (lambda q: q if q and q[0] == 3 and q[1] == 16 else None)(query(net)),
                 MAXHOLDOVER + 10)
        os.kill(pids["refclockd"], signal.SIGCONT)
        stopped.remove(pids["refclockd"])
        print("relocked:", wait_for("stratum 1 again", locked, 30))

        # 2. No clockd: netd keeps serving its last state, the dispersion growing by itself.
        os.kill(pids["clockd"], signal.SIGSTOP)
        stopped.append(pids["clockd"])
        t1 = time.monotonic()
        time.sleep(1.5)
        a, ta = query(net), time.monotonic()
        time.sleep(4)
        b, tb = query(net), time.monotonic()
        print("without clockd:", a, b)
        assert a and b and a[:2] == (0, 1) and b[:2] == (0, 1), (a, b)
        grew = b[3] - a[3]
        # ta/tb bracket the answers within the query time (< 1 s each).
        assert grew >= RATE * (tb - ta - 1) - 2 * UNIT, (grew, tb - ta)
        print(f"dispersion grew {grew * 1e6:.0f} us in {tb - ta:.1f} s "
              f"({grew / (tb - ta) * 1e6:.1f} ppm)")
        q = wait_for("LI=3 stratum 16 from netd alone",
                     lambda: (lambda q: q if q and q[0] == 3 and q[1] == 16 else None)(query(net)),
                     MAXHOLDOVER + 10)
        print(f"netd degraded after {time.monotonic() - t1:.1f} s without clockd:", q)
        # Counted from clockd's last push, at most a second or so before t1.
        assert time.monotonic() - t1 >= MAXHOLDOVER - 1.5

        # 3. clockd back: netd follows.
        os.kill(pids["clockd"], signal.SIGCONT)
        stopped.remove(pids["clockd"])
        t2 = time.monotonic()
        print("recovered:", wait_for("stratum 1 after clockd returns", locked, 30),
              f"after {time.monotonic() - t2:.1f} s")
        assert daemon_pids(app.pid)["clockd"] == pids["clockd"], "clockd was restarted"
        assert app.running(), "launcher gave up"
        assert app.stop() == 0
        print("holdover: PASS")
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        if app is not None:
            app.stop()
            app.dump()
        net.close()


if __name__ == "__main__":
    main()
