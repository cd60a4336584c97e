#!/usr/bin/env python3
"""The IPC peers' lifecycle on the real daemons, with `clock sim` so that every error is measured.

The appliance runs in namespace A (horloge-launch as root, real sandbox, seccomp kill) on the
default sim model (10 ms and 20 ppm off at start); a client in namespace B asks netd for the
time every 0.5 s over veth. Under `clock sim` the host clock is the truth, so the client's offset
IS the served time's error, and each answer that claims synchronisation (LI != 3) must satisfy
|offset| <= root delay/2 + root dispersion + delay/2.

  1. A connection opened and closed on each IPC socket (netd.sock, refclock.sock, status.sock)
     changes nothing: clockd still counts netd and refclockd as connected, netd still follows
     clockd (its state stays fresh in the status; on the wire the reference time keeps moving).
  2. clockd killed (SIGKILL) while synchronised, restarted by horloge-launch: the clients never
     get LI=3, every answer stays within its root distance, and the new clockd continues the
     same virtual clock (statedir/sim-clock.state) and locks again.
  3. netd cut off from clockd (SIGSTOP): /health goes 503 naming netd, and 200 again after.
  4. Abuse of the sockets: a rundir left writable by others is repaired at start (with a
     warning); four connections announcing 64 MB messages (capnp's default limit) cost clockd
     nothing and are closed; connections past status.sock's cap are refused and silent ones
     closed, while monitord keeps reading; horlogectl refuses a status socket that another user
     serves (SO_PEERCRED).
"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Appliance, Pair, require_root, wait_for, daemon_pids  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
LEAPFILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packaging",
                        "leap-seconds.list")
URL = f"https://{Pair.SERVER4}"
TOLERANCE = 2e-6   # the client's own timestamps (Python floats, user-space reads)

# Runs in the client namespace: one NTP query every 0.5 s, one JSON line per answer.
QUERIER = r"""
import json, socket, struct, sys, time
NTP = 2208988800
def ts(b):
    s, f = struct.unpack("!II", b)
    return s - NTP + f / 2**32
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(0.4)
while True:
    now = time.time()
    xmt = struct.pack("!II", int(now) + NTP, int((now % 1) * 2**32))
    req = struct.pack("!B3x4x4x4x8x8x8x", 0x23) + xmt   # v4, mode 3
    t1 = time.time()   # read last: what follows is the kernel's send path
    sock.sendto(req, (sys.argv[1], 123))
    data = None
    deadline = t1 + 0.4
    while data is None and time.time() < deadline:
        try:
            sock.settimeout(max(0.01, deadline - time.time()))
            got, _ = sock.recvfrom(512)
            t4 = time.time()
        except socket.timeout:
            break
        # A late answer to an earlier request (its origin is not ours): dropped, as a client does.
        if len(got) >= 48 and got[24:32] == xmt:
            data = got
    if data is None:
        print(json.dumps({"mono": time.monotonic(), "lost": True}), flush=True)
        continue
    if len(data) >= 48:
        li = data[0] >> 6
        stratum = data[1]
        rdelay = struct.unpack("!I", data[4:8])[0] / 65536
        rdisp = struct.unpack("!I", data[8:12])[0] / 65536
        refid = data[12:16]
        ref, t2, t3 = ts(data[16:24]), ts(data[32:40]), ts(data[40:48])
        offset = ((t2 - t1) + (t3 - t4)) / 2      # server minus client: the served error
        delay = (t4 - t1) - (t3 - t2)
        print(json.dumps({"mono": time.monotonic(), "li": li, "stratum": stratum,
                          "refid": refid.rstrip(b"\0").decode("ascii", "replace"),
                          "rootdelay": rdelay, "rootdisp": rdisp, "ref": ref,
                          "offset": offset, "delay": delay}), flush=True)
    time.sleep(max(0, 0.5 - (time.time() - t1)))
"""


class Querier:
    """The client's answers, collected by a thread."""

    def __init__(self, net):
        self.proc = net.popen(net.client, [sys.executable, "-c", QUERIER, Pair.SERVER4],
                              stdout=subprocess.PIPE, text=True)
        self.answers = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        for line in self.proc.stdout:
            try:
                a = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.answers.append(a)

    def since(self, mono):
        with self.lock:
            return [a for a in self.answers if a["mono"] >= mono and not a.get("lost")]

    def last(self, n=1):
        with self.lock:
            good = [a for a in self.answers if not a.get("lost")]
        return good[-n:]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def excess(a):
    """How far an answer is beyond what it claims (<= 0: honest)."""
    bound = a["rootdelay"] / 2 + a["rootdisp"] + a["delay"] / 2
    return abs(a["offset"]) - bound - TOLERANCE


def status(net, conf):
    """horlogectl's JSON status (it exits non-zero, with the JSON, when a peer is down)."""
    r = net.exec(net.server, f"{BIN}/horlogectl", "-f", conf, "status", "-j", check=False,
                 timeout=5)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def find(obj, key):
    """The first value of `key` anywhere in horlogectl's JSON."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find(v, key)
            if r is not None:
                return r
    return None


def health(net):
    r = net.exec(net.client, "curl", "-sS", "-k", "--max-time", "5", "-w", "\n%{http_code}",
                 f"{URL}/health", check=False)
    body, _, code = r.stdout.rpartition("\n")
    return int(code or 0), body.strip()


def stray(path):
    """Opens and closes a connection, saying nothing: what a port scanner or a crashed client
    leaves behind."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


def closed_by_peer(s, timeout):
    """Whether the other end closed `s` within `timeout` s (EOF or a reset)."""
    s.settimeout(timeout)
    try:
        while s.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def impostor(path, uid):
    """A listener on `path` run as `uid`, accepting and keeping connections: what an
    unprivileged user would put in clockd's place. Returns its pid."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX)
            s.bind(path)
            s.listen(8)
            held = []
            while True:
                held.append(s.accept()[0])
        finally:
            os._exit(0)
    return pid


def abuse(net, app, rundir, tmp):
    """Step 4."""
    with open(app.log.name) as f:
        text = f.read()
    mode = os.stat(rundir).st_mode & 0o7777
    print(f"rundir mode {mode:04o} after starting on a 0777 one")
    assert mode == 0o755, oct(mode)
    assert f"rundir {rundir} was writable by others (mode 0777)" in text, "no warning"

    # 64 MB announced on four connections: capnp's default limit would have allocated it all.
    clockd = daemon_pids(app.pid)["clockd"]
    before = rss_kib(clockd)
    conns = []
    for _ in range(4):
        s = socket.socket(socket.AF_UNIX)
        s.connect(os.path.join(rundir, "status.sock"))
        s.sendall(struct.pack("<II", 0, 8 << 20) + b"\0" * 4096)
        conns.append(s)
    time.sleep(1)
    after = rss_kib(clockd)
    closed = sum(closed_by_peer(s, 3) for s in conns)
    for s in conns:
        s.close()
    print(f"four 64 MB messages announced: clockd RSS {before} -> {after} KiB, "
          f"{closed} of 4 connections closed by clockd")
    assert closed == 4, closed
    assert after - before < 4096, (before, after)

    # Past status.sock's cap (16): refused at once; the silent ones closed after 10 s; monitord
    # (connected before) reads on, horlogectl reads once there is room again.
    held = []
    for _ in range(20):
        s = socket.socket(socket.AF_UNIX)
        s.connect(os.path.join(rundir, "status.sock"))
        held.append(s)
    time.sleep(1)
    refused = sum(closed_by_peer(s, 0.2) for s in held)
    code, body = health(net)
    print(f"20 silent connections on status.sock: {refused} refused at once; /health {code}")
    assert refused >= 5, refused
    assert code == 200, (code, body)
    assert all(closed_by_peer(s, 15) for s in held), "silent connections kept"
    for s in held:
        s.close()
    assert status(net, app.conf) is not None, "horlogectl cannot read after the silent ones went"

    # A status socket served by another user: horlogectl (root) refuses it, says nothing to it.
    fake_dir = os.path.join(tmp, "impostor")
    os.mkdir(fake_dir)
    os.chown(fake_dir, 4242, 4242)
    fake = os.path.join(fake_dir, "status.sock")
    pid = impostor(fake, 4242)
    try:
        wait_for("the impostor listening", lambda: os.path.exists(fake), 5)
        r = net.exec(net.server, f"{BIN}/horlogectl", "-f", app.conf, "-s", fake, "status",
                     check=False, timeout=10)
        print("horlogectl on a socket served by uid 4242:", r.returncode, r.stderr.strip())
        assert r.returncode == 1, r
        assert "is served by uid 4242, which is neither clockd's user nor root" in r.stderr, r.stderr
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def main():
    require_root()
    tmp = tempfile.mkdtemp(prefix="horloge-lifecycle-")
    os.chmod(tmp, 0o755)
    # A rundir anyone may write to, as a careless install or a stray `chmod -R` leaves it.
    os.mkdir(f"{tmp}/run-lifecycle")
    os.chmod(f"{tmp}/run-lifecycle", 0o777)
    net = Pair("ipc")
    app = None
    querier = None
    stopped = []
    try:
        app = Appliance(net, net.server, BIN, tmp, "lifecycle", f"""
listen {Pair.SERVER4}
monitor listen {Pair.SERVER4} port 443
refclock sim
clock sim
leapfile {LEAPFILE}
""")
        rundir = f"{tmp}/run-lifecycle"
        querier = Querier(net)

        # 0. Synchronised and converged: five answers in a row honest and within 100 us.
        def converged():
            last = querier.last(5)
            return len(last) == 5 and all(a["li"] != 3 and a["stratum"] == 1 and
                                          abs(a["offset"]) < 100e-6 and excess(a) <= 0
                                          for a in last)
        t0 = time.monotonic()
        if not wait_for("synchronised and converged answers", converged, 120, fail=False):
            for a in querier.last(10):
                print("  ", a, "excess", excess(a))
            raise AssertionError("never converged")
        print(f"converged {time.monotonic() - t0:.1f} s after start:", querier.last()[0])
        st = wait_for("clockd locked", lambda: (lambda s: s if s and find(s, "state") == "locked"
                                                else None)(status(net, app.conf)), 20)
        pids = daemon_pids(app.pid)
        assert {"clockd", "refclockd", "netd", "monitord"} <= set(pids), pids
        code, body = wait_for("/health 200", lambda: (lambda h: h if h[0] == 200 else None)(health(net)), 20)
        print("health:", code, body)
        assert "warning" not in body, body

        # 1. Stray connections on each socket change nothing.
        log_mark = os.path.getsize(app.log.name)
        for name in ("netd.sock", "refclock.sock", "status.sock"):
            for _ in range(3):
                stray(os.path.join(rundir, name))
        time.sleep(3)
        st = status(net, app.conf)
        netd, refclockd = st["netd"], st["refclockd"]
        age = int(netd["body"]["state_age_ns"])
        print("after stray connections: netd connected", netd["connected"], "state age",
              age / 1e9, "s; refclockd connected", refclockd["connected"])
        assert netd["connected"] and refclockd["connected"], st
        assert 0 <= age < 3e9, age
        with open(app.log.name) as f:
            f.seek(log_mark)
            tail = f.read()
        assert "disconnected" not in tail, tail
        a = querier.last()[0]
        time.sleep(4)
        b = querier.last()[0]
        print("wire: reference time moved", f"{b['ref'] - a['ref']:.1f} s in 4 s; root dispersion",
              f"{a['rootdisp'] * 1e6:.0f} -> {b['rootdisp'] * 1e6:.0f} us")
        assert b["ref"] - a["ref"] >= 2.5, (a, b)
        assert b["li"] == 0 and b["stratum"] == 1, b
        code, body = health(net)
        assert code == 200, (code, body)

        # 2. clockd killed while synchronised.
        t_kill = time.monotonic()
        os.kill(pids["clockd"], signal.SIGKILL)
        print("clockd killed")

        def relocked():
            p = daemon_pids(app.pid).get("clockd")
            s = status(net, app.conf)
            return p and p != pids["clockd"] and s and find(s, "state") == "locked" and p
        new_clockd = wait_for("the new clockd locked", relocked, 60)
        t_locked = time.monotonic()
        time.sleep(10)
        window = querier.since(t_kill)
        expected = (time.monotonic() - t_kill) / 0.5
        unsynced = [a for a in window if a["li"] == 3]
        worst = max(window, key=excess)
        violations = [a for a in window if a["li"] != 3 and excess(a) > 0]
        print(f"after the kill: new clockd {new_clockd} locked after {t_locked - t_kill:.1f} s; "
              f"{len(window)} answers of ~{expected:.0f} asked, {len(unsynced)} with LI=3, "
              f"{len(violations)} beyond their root distance; worst |offset| "
              f"{abs(worst['offset']) * 1e6:.1f} us against a bound of "
              f"{(worst['rootdelay'] / 2 + worst['rootdisp'] + worst['delay'] / 2) * 1e6:.1f} us; "
              f"max root dispersion {max(a['rootdisp'] for a in window) * 1e6:.0f} us")
        far = max(window, key=lambda a: abs(a["offset"]))
        print(f"largest |offset| {abs(far['offset']) * 1e6:.1f} us, with a delay of "
              f"{far['delay'] * 1e6:.0f} us and a root dispersion of {far['rootdisp'] * 1e6:.0f} us")
        assert len(window) >= 0.8 * expected, (len(window), expected)
        assert not unsynced, unsynced[:3]
        assert not violations, violations[:3]
        with open(app.log.name) as f:
            text = f.read()
        assert "continuing the virtual clock" in text, "the sim clock was not continued"

        # 3. netd cut off from clockd: /health says so.
        os.kill(pids["netd"], signal.SIGSTOP)
        stopped.append(pids["netd"])
        t_stop = time.monotonic()
        code, body = wait_for("/health 503 naming netd",
                              lambda: (lambda h: h if h[0] == 503 and "netd" in h[1] else None)(health(net)), 20)
        print(f"netd stopped: /health {code} after {time.monotonic() - t_stop:.1f} s: {body}")
        os.kill(pids["netd"], signal.SIGCONT)
        stopped.remove(pids["netd"])
        code, body = wait_for("/health 200 again", lambda: (lambda h: h if h[0] == 200 else None)(health(net)), 20)
        print("netd continued: /health", code, body)

        # 4. Abuse of the sockets.
        abuse(net, app, rundir, tmp)

        assert app.running(), "launcher gave up"
        print("ipc_lifecycle: PASS")
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        if querier is not None:
            querier.stop()
        if app is not None:
            app.stop()
            app.dump(8000)
        net.close()


if __name__ == "__main__":
    main()
