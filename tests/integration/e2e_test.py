#!/usr/bin/env python3
"""Issue 2's end-to-end path, with everything real but the GPS antenna and the host clock.

The appliance runs in namespace A, started by horloge-launch as root with the real sandbox in
seccomp kill mode. From namespace B, over veth: ntpdig sees LI=3 before lock and stratum 1 /
refid PPS after it; curl reads /status over TLS; horlogectl reads the same state. Each
daemon's /proc status shows its confinement. Killing one daemon leaves the others serving.
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
NOBODY = 65534
CAP_SYS_TIME = 1 << 25


def ntpdig(net):
    r = net.exec(net.client, "ntpdig", "-j", "-t", "1", Pair.SERVER4, check=False)
    return r.returncode, r.stdout + r.stderr


def ntplib_query(net):
    code = ("import ntplib,sys; r=ntplib.NTPClient().request(sys.argv[1], version=4, timeout=1);"
            "print(r.leap, r.stratum, r.ref_id.to_bytes(4, 'big').rstrip(b'\\0').decode('ascii', 'replace'))")
    r = net.exec(net.client, sys.executable, "-c", code, Pair.SERVER4, check=False)
    return r.stdout.split() if r.returncode == 0 else None


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def main():
    require_root()
    tmp = tempfile.mkdtemp(prefix="horloge-e2e-")
    os.chmod(tmp, 0o755)
    net = Pair("e2e")
    app = None
    try:
        app = Appliance(net, net.server, BIN, tmp, "e2e", f"""
listen {Pair.SERVER4}
listen {Pair.SERVER6}
monitor listen {Pair.SERVER4} port 443
refclock sim jitter 1e-6
clock observe
""")

        # Before lock: the first answer is unsynchronised, and ntpdig says so.
        first = wait_for("a first NTP answer", lambda: ntplib_query(net), 10)
        print("first answer (leap, stratum, refid):", first)
        assert first == ["3", "16", "INIT"], first
        rc, out = ntpdig(net)
        print("ntpdig before lock:", rc, out.strip())
        assert rc != 0 and ("stratum too high" in out or "leap not in sync" in out), out

        # After lock: stratum 1, refid PPS.
        def locked():
            rc, out = ntpdig(net)
            if rc != 0:
                return None
            j = json.loads(out.strip().splitlines()[-1])
            return j if j["stratum"] == 1 and j["leap"] == "no-leap" else None
        j = wait_for("stratum 1 from ntpdig", locked, 30)
        print("ntpdig after lock:", j)
        assert ntplib_query(net)[2] == "PPS"

        # The status over real TLS, from the client namespace.
        r = net.exec(net.client, "curl", "-sS", "-k", "--max-time", "5",
                     f"https://{Pair.SERVER4}/status")
        status = json.loads(r.stdout)
        print("status clock:", status["clock"]["state"], status["clock"]["reason"])
        assert status["clock"]["state"] == "locked"
        for role in ("refclockd", "netd"):
            assert status[role]["connected"], role
        assert status["monitord"]["seccomp"] == 2

        # horlogectl reads the same state over the read-only socket.
        r = net.exec(net.server, f"{BIN}/horlogectl", "-f", app.conf, "status", check=False)
        print(r.stdout)
        assert r.returncode == 0, r.stderr
        assert "locked" in r.stdout

        # Confinement as the kernel reports it.
        pids = daemon_pids(app.pid)
        assert set(pids) == {"clockd", "refclockd", "netd", "monitord"}, pids
        for name, pid in pids.items():
            s = proc_status(pid)
            print(name, "Uid", s["Uid"], "CapEff", s["CapEff"], "NoNewPrivs", s["NoNewPrivs"],
                  "Seccomp", s["Seccomp"])
            assert int(s["Uid"].split()[1]) == NOBODY, (name, s["Uid"])
            assert int(s["CapEff"], 16) == 0, (name, s["CapEff"])   # observe: no CAP_SYS_TIME
            assert s["NoNewPrivs"] == "1" and s["Seccomp"] == "2", name

        # A daemon that dies is restarted; the others keep going meanwhile.
        os.kill(pids["clockd"], signal.SIGKILL)
        time.sleep(0.2)
        assert ntplib_query(net) is not None, "netd stopped answering without clockd"
        wait_for("clockd back", lambda: daemon_pids(app.pid).get("clockd") not in
                 (None, pids["clockd"]), 10)
        wait_for("stratum 1 again", locked, 30)
        os.kill(pids["netd"], signal.SIGKILL)
        wait_for("netd answering again", lambda: ntplib_query(net), 10)
        assert app.running(), "launcher gave up"
        assert app.stop() == 0
        print("e2e: PASS")
    finally:
        if app is not None:
            app.stop()
            app.dump()
        net.close()


if __name__ == "__main__":
    main()
