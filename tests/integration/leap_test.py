#!/usr/bin/env python3
"""Leap seconds from the receiver (u-blox UBX-NAV-TIMELS), on the real daemons.

The simulated GPS is a u-blox (`refclock sim ... leap insert`): it sends TIMELS once refclockd
has asked for it over the pty (CFG-MSG / CFG-VALSET), and announces a leap second at the end of
the current month, which is always within the announcement window. Two appliances in turn:
  1. the leap file is valid and knows no such leap: the server's replies carry LI=1 (ntplib
     from another namespace), the status says the knowledge comes from the receiver, and the
     disagreement alarm is in `horlogectl status` and in clockd's log;
  2. the leap file has expired (as Debian 12's did on 2026-06-28): LI=1 all the same, the
     knowledge comes from the receiver, valid until a day after its last report, and no alarm.
The host clock is never touched (`clock observe`). Every wait is bounded; about a minute.
"""
import calendar
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Appliance, Pair, leap_file, require_root, wait_for  # noqa: E402

BIN = os.path.abspath(sys.argv[1])


def query(net):
    """(leap, stratum) from netd, or None."""
    code = ("import ntplib,sys; r=ntplib.NTPClient().request(sys.argv[1], version=4, timeout=1);"
            "print(r.leap, r.stratum)")
    r = net.exec(net.client, sys.executable, "-c", code, Pair.SERVER4, check=False)
    if r.returncode != 0:
        return None
    leap, stratum = r.stdout.split()
    return int(leap), int(stratum)


def clock(net, app):
    r = net.exec(net.server, f"{BIN}/horlogectl", "-f", app.conf, "status", "-j", check=False,
                 timeout=5)
    if r.returncode != 0:
        return None
    try:
        return json.loads(r.stdout).get("clock")
    except ValueError:
        return None


def end_of_month():
    t = time.gmtime()
    y, m = (t.tm_year + 1, 1) if t.tm_mon == 12 else (t.tm_year, t.tm_mon + 1)
    return calendar.timegm((y, m, 1, 0, 0, 0))


def run(net, tmp, name, leapfile):
    app = Appliance(net, net.server, BIN, tmp, name, f"""
listen {Pair.SERVER4}
refclock sim jitter 1e-6 leap insert
clock observe
leapfile {leapfile}
""")
    try:
        got = wait_for("LI=1 from a synchronised server",
                       lambda: (lambda q: q if q and q[0] == 1 and q[1] == 1 else None)(query(net)), 40)
        print(f"{name}: ntplib (leap, stratum): {got}")
        c = wait_for("the receiver as the leap source",
                     lambda: (lambda c: c if c and c.get("leap_source") == "receiver" else None)(clock(net, app)), 10)
        print(f"{name}: leap_source={c.get('leap_source')} leap_valid_until_ns={c.get('leap_valid_until_ns')} "
              f"leap_pending_ns={c.get('leap_pending_ns')} leap_alarm={c.get('leap_alarm', '')!r}")
        assert int(c["leap_pending_ns"]) == end_of_month() * 10**9, c
        until = int(c["leap_valid_until_ns"]) / 1e9
        assert time.time() + 86400 - 30 < until <= time.time() + 86400 + 5, c
        text = net.exec(net.server, f"{BIN}/horlogectl", "-f", app.conf, "status").stdout
        gnss = net.exec(net.server, f"{BIN}/horlogectl", "-f", app.conf, "gnss").stdout
        print(text)
        print(gnss)
        assert any("eap" in line and "receiver" in line for line in text.splitlines()), text
        assert "insert" in gnss and "UBX frames" in gnss, gnss
        return app, c, text
    except BaseException:
        app.dump()
        app.stop()
        raise


def main():
    require_root()
    tmp = tempfile.mkdtemp(prefix="horloge-leap-")
    os.chmod(tmp, 0o755)
    net = Pair("leap")
    try:
        valid = leap_file(os.path.join(tmp, "valid.list"), int(time.time()) + 200 * 86400)
        app, c, text = run(net, tmp, "disagree", valid)
        try:
            alarm = c.get("leap_alarm", "")
            want = (f"leap file ({valid}) and receiver disagree: the receiver announces an inserted "
                    f"leap second before {time.strftime('%Y-%m-%d', time.gmtime(end_of_month()))} "
                    "00:00 UTC, the leap file none; following the receiver")
            assert alarm == want, (alarm, want)
            assert "disagree" in text, text
            app.log.flush()
            app.log.seek(0)
            assert "leap seconds: leap file (" in app.log.read(), "the alarm in clockd's log"
        finally:
            app.stop()

        expired = leap_file(os.path.join(tmp, "expired.list"), int(time.time()) - 86400)
        app, c, text = run(net, tmp, "expired", expired)
        try:
            assert c.get("leap_alarm", "") == "", c
            assert "disagree" not in text and "expired" not in text, text
        finally:
            app.stop()
        print("leap: PASS")
    finally:
        net.close()


if __name__ == "__main__":
    main()
