#!/usr/bin/env python3
"""horloge-launch and the daemons' refusal of bad configuration, on loopback only.

- A bad line stops horloge-launch and every daemon with `file:line: message`, exit 1 (also a
  `rundir` too long for its sockets' paths); a `driftfile` that is a device stops clockd with
  an error naming it (it used to read /dev/zero until std::bad_alloc).
- A daemon that keeps failing (monitord with a missing certificate) is restarted with back-off,
  then the launcher gives up on it alone, names it and the daemons still running, and those go
  on serving (NTP answered) until the launcher is stopped.
- Killed outright (SIGKILL), the launcher takes its sandboxed daemons with it: the kernel
  forgets the parent-death signal when they change user, so they set it again.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import daemon_pids, wait_for  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
DAEMONS = ["horloge-launch", "horloge-clockd", "horloge-netd", "horloge-refclockd",
           "horloge-monitord"]


def check_bad_config(tmp):
    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("clock observe\n\nlisten 127.0.0.1 port 70000\n")
    want = f"{bad}:3: port 70000 out of range [1, 65535]"
    for name in DAEMONS:
        r = subprocess.run([f"{BIN}/{name}", "-f", bad], capture_output=True, text=True, timeout=10)
        print(f"{name}: exit {r.returncode}: {r.stderr.strip()}")
        assert r.returncode == 1, name
        assert want in r.stderr, (name, r.stderr)
    r = subprocess.run([f"{BIN}/horlogectl", "-f", bad, "status"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 2 and want in r.stderr, r.stderr


def ntp_answered(port):
    """One mode-3 request to 127.0.0.1:port: whether a mode-4 reply came back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    try:
        s.sendto(bytes([0x23]) + bytes(47), ("127.0.0.1", port))
        data, _ = s.recvfrom(512)
        return len(data) >= 48 and data[0] & 7 == 4
    except OSError:
        return False
    finally:
        s.close()


def check_bad_files(tmp):
    long_rundir = "/" + "r" * 94
    conf = os.path.join(tmp, "long.conf")
    with open(conf, "w") as f:
        f.write(f"clock observe\nrundir {long_rundir}\n")
    want = f"{conf}:2: rundir is 95 characters long"
    for name in DAEMONS:
        r = subprocess.run([f"{BIN}/{name}", "-f", conf], capture_output=True, text=True, timeout=10)
        assert r.returncode == 1 and want in r.stderr, (name, r.stderr)
    print("rundir too long:", r.stderr.strip())

    conf = os.path.join(tmp, "drift.conf")
    with open(conf, "w") as f:
        f.write(f"""clock observe
rundir {tmp}/run-drift
statedir {tmp}/state-drift
driftfile /dev/zero
user nobody
""")
    r = subprocess.run([f"{BIN}/horloge-clockd", "-f", conf], capture_output=True, text=True,
                       timeout=20)
    print("driftfile /dev/zero:", r.returncode, r.stderr.strip().splitlines()[-1:])
    assert r.returncode == 1, r
    assert "driftfile /dev/zero: not a regular file" in r.stderr, r.stderr
    assert "bad_alloc" not in r.stderr, r.stderr


def check_gives_up(tmp):
    conf = os.path.join(tmp, "h.conf")
    with open(conf, "w") as f:
        f.write(f"""listen 127.0.0.1 port 21123
monitor listen 127.0.0.1 port 21443
monitor cert {tmp}/missing.pem key {tmp}/missing.key
refclock sim
clock observe
rundir {tmp}/run
statedir {tmp}/state
user nobody
seccomp kill
""")
    log = open(os.path.join(tmp, "h.log"), "w+")
    start = time.monotonic()
    launcher = subprocess.Popen([f"{BIN}/horloge-launch", "-f", conf], stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        def text():
            log.seek(0)
            return log.read()
        wait_for("the launcher giving up on monitord",
                 lambda: "failing repeatedly, giving up on it" in text(), 60)
        took = time.monotonic() - start
        out = text()
        print(out)
        assert "monitord exited with status 1; restarting in 500 ms" in out
        assert ("monitord exited with status 1; failing repeatedly, giving up on it; still "
                "running: clockd, refclockd, netd") in out, out
        assert took > 5, f"gave up without back-off after {took:.1f} s"
        # The others go on: the launcher too, and NTP is answered.
        time.sleep(2)
        assert launcher.poll() is None, "the launcher stopped with monitord"
        pids = daemon_pids(launcher.pid)
        assert {"clockd", "refclockd", "netd"} <= set(pids) and "monitord" not in pids, pids
        assert wait_for("netd answering", lambda: ntp_answered(21123), 10)
        print("gave up on monitord only: still running", sorted(pids), "and NTP answered")
    finally:
        launcher.send_signal(signal.SIGTERM)
        rc = launcher.wait(timeout=15)
    assert rc == 0, rc
    # Stopped, the launcher leaves nothing behind.
    left = subprocess.run(["pgrep", "-f", conf], capture_output=True, text=True).stdout
    assert left.strip() == "", left


def check_dies_with_launcher(tmp):
    conf = os.path.join(tmp, "k.conf")
    with open(conf, "w") as f:
        f.write(f"""listen 127.0.0.1 port 21124
refclock sim
clock observe
rundir {tmp}/run-k
statedir {tmp}/state-k
user nobody
seccomp kill
""")
    launcher = subprocess.Popen([f"{BIN}/horloge-launch", "-f", conf], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    try:
        def sandboxed():
            pids = daemon_pids(launcher.pid)
            if len(pids) < 3:
                return None
            for pid in pids.values():   # every one past its user change
                with open(f"/proc/{pid}/status") as st:
                    uid = next(line for line in st if line.startswith("Uid:")).split()[1]
                if os.geteuid() == 0 and uid == "0":
                    return None
            return pids
        pids = wait_for("three daemons in their sandbox", sandboxed, 20)
        launcher.send_signal(signal.SIGKILL)
        launcher.wait()
        left = lambda: not subprocess.run(["pgrep", "-f", conf], capture_output=True).stdout
        assert wait_for("the daemons gone", left, 10, fail=False), \
            subprocess.run(["pgrep", "-af", conf], capture_output=True, text=True).stdout
        print("launcher killed: daemons", sorted(pids), "gone with it")
    finally:
        subprocess.run(["pkill", "-KILL", "-f", conf])


def main():
    tmp = tempfile.mkdtemp(prefix="horloge-launch-")
    os.chmod(tmp, 0o755)
    check_bad_config(tmp)
    check_bad_files(tmp)
    check_gives_up(tmp)
    check_dies_with_launcher(tmp)
    print("launch: PASS")


if __name__ == "__main__":
    main()
