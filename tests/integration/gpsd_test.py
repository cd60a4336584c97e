#!/usr/bin/env python3
"""Issue 4: refclockd fed by the real gpsd from Debian, through NTP SHM and chrony's SOCK.

Everything runs in private namespaces made by the test (`unshare --ipc --mount --net`), so the
NTP SHM keys, /run/chrony.*.sock and gpsd's ports never meet a real gpsd, chronyd or ntpd:
  - IPC: gpsd's NTP0..NTP7 segments are private;
  - mount: /run and /dev are fresh tmpfs; /dev/pps0 is /dev/null bind-mounted, which
    build/tests/pps-shim.so (LD_PRELOAD into gpsd, HORLOGE_FAKE_PPS_CHARDEV=1) answers as an
    RFC 2783 device pulsing at every second of CLOCK_REALTIME;
  - net: netd listens on 127.0.0.1 of an empty network namespace.
gpsd 3.22 (-n -N, private control socket) reads NMEA from a FIFO (a pty is "the test harness"
to gpsd: it writes no SHM at all for one) and /dev/pps0. It writes SHM unit 0 (NMEA time of
the FIFO), unit 1 (the PPS edges numbered by that NMEA) and, for the PPS only, the datagrams
of chrony's SOCK protocol to /run/chrony.pps0.sock, if that socket exists when gpsd activates
the device: gpsd connects once and never retries.

refclockd runs under horloge-launch (real sandbox, `clock observe`) with
`refclock shm 0`, `refclock shm 1`, `refclock sock /run/chrony.pps0.sock` (the launcher binds
that socket and hands it to refclockd, as a systemd .socket unit would). Two orders:
  1. refclockd first, then gpsd: all three sources deliver samples that clockd accepts
     (`horlogectl -j status`: the sample count of each source in clockd's `sources` grows);
     then refclockd is killed and restarted by the launcher: all three still deliver (gpsd's
     connection to the handed socket survives);
  2. gpsd first, then refclockd: SHM 0 and 1 deliver (either may create the segment); SOCK
     delivers nothing while gpsd keeps its device (it found no socket at activation), and
     delivers once gpsd re-activates the device: here gpsd restarts (removing the PPS device
     through gpsd 3.22's control socket aborts gpsd).
Exits 77 (skip) when not root or without gpsd (Debian: gpsd).
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Feeder, skip  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
SHIM = os.path.join(os.path.dirname(BIN), "tests", "pps-shim.so")
SOCK = "/run/chrony.pps0.sock"
INSIDE = "HORLOGE_GPSD_TEST_INSIDE"


def sh(*args):
    subprocess.run(list(args), check=True)


def private_mounts(tmp):
    sh("mount", "--make-rprivate", "/")
    sh("mount", "-t", "tmpfs", "horloge-run", "/run")
    old = os.path.join(tmp, "olddev")
    os.mkdir(old)
    sh("mount", "--bind", "/dev", old)
    sh("mount", "-t", "tmpfs", "horloge-dev", "/dev")
    for name in ("null", "zero", "urandom", "random", "pps0"):
        open(f"/dev/{name}", "w").close()
        sh("mount", "--bind", os.path.join(old, "null" if name == "pps0" else name), f"/dev/{name}")
    sh("ip", "link", "set", "lo", "up")


class Gpsd:
    def __init__(self, tmp, fifo):
        control = os.path.join(tmp, "gpsd.sock")   # private: never /run/gpsd.sock
        self.log = open(os.path.join(tmp, "gpsd.log"), "a+")
        env = dict(os.environ, LD_PRELOAD=SHIM, HORLOGE_FAKE_PPS_CHARDEV="1")
        self.proc = subprocess.Popen(["gpsd", "-n", "-N", "-D", "4", "-F", control, fifo,
                                      "/dev/pps0"], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        time.sleep(1)
        self.feeder = Feeder(fifo)
        self.feeder.start()

    def stop(self):
        self.feeder.stop = True
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.feeder.join(timeout=5)   # its write fails (EPIPE) within a second: FIFO free again


class Appliance:
    def __init__(self, tmp, name):
        self.conf = os.path.join(tmp, f"{name}.conf")
        with open(self.conf, "w") as f:
            f.write(f"""listen 127.0.0.1
refclock shm 0
refclock shm 1
refclock sock {SOCK}
clock observe
rundir {tmp}/run-{name}
statedir {tmp}/state-{name}
user nobody
seccomp kill
""")
        self.log = open(os.path.join(tmp, f"{name}.log"), "w+")
        self.proc = subprocess.Popen([f"{BIN}/horloge-launch", "-f", self.conf],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def status(self):
        r = subprocess.run([f"{BIN}/horlogectl", "-f", self.conf, "status", "-j"],
                           capture_output=True, text=True, timeout=10)
        if not r.stdout.strip():
            return None
        return json.loads(r.stdout)

    def counts(self):
        """{refclockd source name: samples clockd accepted from it} and clockd's total."""
        s = self.status()
        if not s or not s.get("refclockd", {}).get("connected"):
            return {}, 0
        accepted = {int(src.get("source_id", 0)): int(src.get("samples", 0))
                    for src in s.get("sources", [])}
        per = {rc["name"]: accepted.get(int(rc.get("source_id", 0)), 0)
               for rc in s["refclockd"].get("body", [])}
        return per, sum(per.values())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def dump(self):
        self.log.seek(0)
        print(f"---- {self.conf} log ----")
        print(self.log.read()[-5000:])


NAMES = ("shm:0", "shm:1", f"sock:{SOCK}")


def wait_growth(app, names, seconds):
    """Waits until every source in `names` and clockd's total have grown twice; returns them."""
    per0, total0 = app.counts()
    deadline = time.monotonic() + seconds
    per, total = per0, total0
    while time.monotonic() < deadline:
        time.sleep(1)
        per, total = app.counts()
        if all(per.get(n, 0) >= per0.get(n, 0) + 2 for n in names):
            return per, total
    raise AssertionError(f"no sample growth for {names}: before {per0} {total0}, after {per} {total}")


def refclockd_first(tmp, fifo):
    app = Appliance(tmp, "first")
    gpsd = None
    try:
        deadline = time.monotonic() + 15
        while not os.path.exists(SOCK) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert os.path.exists(SOCK), "refclockd did not create the SOCK socket"
        gpsd = Gpsd(tmp, fifo)
        per, total = wait_growth(app, NAMES, 40)
        print("refclockd first, then gpsd: samples", per, "clockd", total)
        # refclockd restarts (the launcher holds the SOCK socket and hands it over again): gpsd,
        # still connected to that socket, keeps feeding it.
        pid = int(app.status()["refclockd"]["info"]["pid"])
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            s = app.status()
            if s and s["refclockd"].get("connected") and int(s["refclockd"]["info"]["pid"]) != pid:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("refclockd did not come back")
        per, total = wait_growth(app, NAMES, 40)
        print("after a refclockd restart: samples", per, "clockd", total)
    except BaseException:
        app.dump()
        raise
    finally:
        if gpsd:
            gpsd.stop()
        app.stop()


def gpsd_first(tmp, fifo):
    if os.path.exists(SOCK):
        os.unlink(SOCK)
    gpsd = Gpsd(tmp, fifo)
    app = None
    try:
        time.sleep(4)   # gpsd activated both devices and found no chrony socket
        app = Appliance(tmp, "second")
        per, total = wait_growth(app, NAMES[:2], 40)
        print("gpsd first, then refclockd: SHM samples", per, "clockd", total)
        time.sleep(3)
        per, _ = app.counts()
        print("SOCK before gpsd re-activates its device:", per.get(NAMES[2]))
        assert per.get(NAMES[2], 0) == 0, per   # gpsd connects only at activation
        # gpsd 3.22 aborts (FD_SETSIZE fortify check) when its control socket removes the PPS
        # device, so the device is re-activated the way operators do it: gpsd restarts.
        gpsd.stop()
        gpsd = Gpsd(tmp, fifo)
        per, total = wait_growth(app, NAMES, 40)
        print("after gpsd restarted (device re-activated): samples", per, "clockd", total)
    except BaseException:
        if app:
            app.dump()
        gpsd.log.seek(0)
        print("---- gpsd log (tail) ----")
        print(gpsd.log.read()[-3000:])
        raise
    finally:
        gpsd.stop()
        if app:
            app.stop()


def inside():
    tmp = tempfile.mkdtemp(prefix="horloge-gpsd-")
    os.chmod(tmp, 0o755)
    private_mounts(tmp)
    fifo = os.path.join(tmp, "gps.fifo")
    os.mkfifo(fifo)
    refclockd_first(tmp, fifo)
    gpsd_first(tmp, fifo)
    print("gpsd: PASS")


def main():
    if os.environ.get(INSIDE):
        inside()
        return
    if os.geteuid() != 0:
        skip("needs root for private IPC, mount and network namespaces")
    if subprocess.run(["sh", "-c", "command -v gpsd"], capture_output=True).returncode != 0:
        skip("gpsd not installed (Debian package gpsd)")
    if not os.path.exists(SHIM):
        skip(f"{SHIM} not built")
    env = dict(os.environ, **{INSIDE: "1"})
    r = subprocess.run(["unshare", "--ipc", "--mount", "--net", "--fork", sys.executable,
                        os.path.abspath(__file__), BIN], env=env, timeout=240)
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
