#!/usr/bin/env python3
"""A leap midnight lived through by the whole daemon set, on the sim clock (never the host's).

The simulated world starts 90 s before 2027-07-01 00:00:00 UTC, where a leap second is
inserted: the simulated u-blox (`refclock sim ... start T leap insert 2027-06-30`) runs its
GNSS UTC that many whole seconds from the host clock, announces the leap in UBX-NAV-TIMELS (once
refclockd has asked, and acknowledged as an M8 does) and names 23:59:60 in its NMEA; the virtual
clock (`clock sim start T`) begins at the same date, as a board whose RTC says so. The leap file
knows the leap too. An NTP client in another namespace (python3-ntplib) asks netd twice a
second and the test checks, against the simulated true time (host + the GNSS's shift, one
second less after the leap):
  - the server is synchronised and announces the leap (LI=1) until midnight;
  - the served time steps back by the inserted second as the kernel's does (the design's
    kernel-like leap, no smear): after it the served time is the new UTC;
  - LI stays through the inserted second (still the day's last minute) and clears after it;
  - every synchronised reply's claim (root delay / 2 + root dispersion, plus the client's own
    delay / 2) covers its true error, the inserted second included (netd makes the leap at its
    instant from the model clockd pushed, not at clockd's next push); only an exchange that
    straddles the instant is left out;
  - the status says the leap knowledge comes from both the file and the receiver, without alarm,
    and `horlogectl gnss` shows the receiver's answers to the request (ACK and NAK).
About two and a half minutes; every wait is bounded.
"""
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Appliance, Pair, leap_file, python_in, require_root, wait_for  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
MIDNIGHT = 1_814_400_000            # 2027-07-01 00:00:00 UTC
START = "2027-06-30T23:58:30Z"      # 90 s before it
AFTER = 35                          # s of the new day watched

# The client: one ntplib request every 0.5 s for `duration` s, a JSON line per answer.
CLIENT = """
import json, ntplib, sys, time
c = ntplib.NTPClient()
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    t = time.monotonic()
    try:
        r = c.request(sys.argv[1], version=4, timeout=0.5)
        print(json.dumps({"host": r.dest_time, "leap": r.leap, "stratum": r.stratum,
                          "offset": r.offset, "delay": r.delay, "root_delay": r.root_delay,
                          "root_dispersion": r.root_dispersion, "tx": r.tx_time}), flush=True)
    except Exception as e:
        print(json.dumps({"host": time.time(), "error": str(e)}), flush=True)
    time.sleep(max(0.0, 0.5 - (time.monotonic() - t)))
"""


def status(net, app):
    r = net.exec(net.server, f"{BIN}/horlogectl", "-f", app.conf, "status", "-j", check=False,
                 timeout=5)
    try:
        return json.loads(r.stdout).get("clock") if r.returncode in (0, 3) else None
    except ValueError:
        return None


def shift_from_log(app):
    app.log.flush()
    app.log.seek(0)
    m = re.search(r"the simulated GNSS starts at \d+ \(Unix time\), (-?\d+) s from the host clock",
                  app.log.read())
    return int(m.group(1)) if m else None


def main():
    require_root()
    tmp = tempfile.mkdtemp(prefix="horloge-leapmid-")
    os.chmod(tmp, 0o755)
    net = Pair("lmid")
    app = None
    try:
        lf = leap_file(os.path.join(tmp, "leap.list"), MIDNIGHT + 180 * 86400, [(MIDNIGHT, 38)])
        app = Appliance(net, net.server, BIN, tmp, "midnight", f"""
listen {Pair.SERVER4}
refclock sim jitter 1e-6 start {START} leap insert 2027-06-30
clock sim start {START}
leapfile {lf}
""")
        shift = wait_for("refclockd's simulated GNSS", lambda: shift_from_log(app), 20)
        host_midnight = MIDNIGHT - shift
        print(f"GNSS shift {shift} s: the leap midnight at host time {host_midnight}, "
              f"in {host_midnight - time.time():.1f} s")
        assert host_midnight - time.time() > 45, "too late to see the announcement"
        c = wait_for("the leap source", lambda: (lambda c: c if c and c.get("leap_source") == "both"
                                                 else None)(status(net, app)), 30)
        print(f"before: leap_source={c['leap_source']} leap_pending_ns={c.get('leap_pending_ns')} "
              f"leap_valid_until_ns={c.get('leap_valid_until_ns')} alarm={c.get('leap_alarm', '')!r}")
        assert int(c["leap_pending_ns"]) == MIDNIGHT * 10**9, c
        assert c.get("leap_alarm", "") == "", c
        gnss = net.exec(net.server, f"{BIN}/horlogectl", "-f", app.conf, "gnss").stdout
        print(gnss)
        assert "NAV-TIMELS enabled" in gnss, gnss

        duration = host_midnight + AFTER - time.time()
        r = python_in(net.client, CLIENT, Pair.SERVER4, str(duration), timeout=duration + 30)
        replies = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        after = status(net, app)
        print(f"after: leap_source={after.get('leap_source')} "
              f"leap_pending_ns={after.get('leap_pending_ns')} alarm={after.get('leap_alarm', '')!r}")

        synced = [x for x in replies if "error" not in x and x["stratum"] == 1]
        print(f"{len(replies)} replies, {len(synced)} synchronised")
        worst, li_before, li_after, checked = 0.0, [], [], 0
        for x in synced:
            world = x["host"] + shift                 # the GNSS's UTC, counting no leap
            # The kernel's convention: the inserted second 23:59:60 reads 23:59:59 again, so
            # from the instant it begins the served time is one second behind the count.
            truth_offset = shift - (1 if world >= MIDNIGHT else 0)
            err = x["offset"] - truth_offset          # served minus true, give or take delay/2
            claim = x["root_delay"] / 2 + x["root_dispersion"] + x["delay"] / 2
            if world < MIDNIGHT - 1:
                li_before.append(x["leap"])
            elif world > MIDNIGHT + 3:
                li_after.append(x["leap"])
            if MIDNIGHT - 1 <= world < MIDNIGHT + 2:
                print(f"  at the leap: world {world - MIDNIGHT:+.2f} s  LI={x['leap']}  "
                      f"served - kernel UTC {err:+.6f} s  claim {claim:.6f} s")
            # Only an exchange that straddles the instant itself has no single truth.
            if abs(world - MIDNIGHT) < x["delay"] + 0.02:
                continue
            checked += 1
            worst = max(worst, abs(err) / claim)
            assert abs(err) <= claim, (x, err, claim)
        print(f"LI before midnight: {sorted(set(li_before))} ({len(li_before)} replies); "
              f"after: {sorted(set(li_after))} ({len(li_after)})")
        print(f"claim checked on {checked} replies; worst |error| / claim = {worst:.3f}")
        assert len(li_before) >= 10 and set(li_before) == {1}, li_before
        assert len(li_after) >= 10 and set(li_after) == {0}, li_after
        assert after.get("leap_alarm", "") == "", after
        assert int(after.get("leap_pending_ns", 0) or 0) == 0, after
        app.log.flush()
        app.log.seek(0)
        log = app.log.read()
        assert "leap second announced for" in log, "clockd's log names the announcement"
        print("leap_midnight: PASS")
    except BaseException:
        if app:
            app.dump()
        raise
    finally:
        if app:
            app.stop()
        net.close()


if __name__ == "__main__":
    main()
