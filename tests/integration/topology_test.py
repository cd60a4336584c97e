#!/usr/bin/env python3
"""Issue 8's topology (seed 000 plus one to vote), every appliance in its own namespace.

Three Stratum-1s (refclock sim, clock sim: netd serves the sim clock) and a relay with `server`
lines for the three, on one bridge; the relay starts on the default sim model (10 ms and 20 ppm
off, as a relay does). A client namespace queries the relay with ntpdig, python3-ntplib (each
answer checked for honesty) and chronyd -Q. Checked, each bounded in time:
  - the relay serves stratum 2 with the refid of a Stratum-1 and a small offset;
  - the Stratum-1 whose GPS is off by 50 ms is marked a falseticker (x) by the relay;
  - restarted with `noselect` peers, that Stratum-1 alarms (GPS suspected), stops claiming
    stratum 1, and the relay keeps following the two good ones;
  - killing one good Stratum-1 keeps the relay serving; killing all: holdover, then LI=3.
The relay polls C over IPv6 (refid: the MD5 rule), A and B over IPv4.
Every appliance runs behind the shipped firewall: the receive-only ruleset, and its relay
variant (packaging/nftables/horloge-relay.nft with `horlogectl firewall`'s elements) where the
config has `server` lines; the relay cannot send NTP to a host that is not one of its servers.
"""
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Lan, netns_exec, require_root, wait_for  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
NFT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packaging", "nftables")
S1 = {"a": "198.18.8.1", "b": "198.18.8.2", "c": "198.18.8.3"}
RELAY, CLIENT = "198.18.8.4", "198.18.8.9"
# The relay polls C over IPv6: its refid is then the first 4 bytes of the MD5 of the address.
C6 = "fd7e:8::3"
UPSTREAM = {"a": S1["a"], "b": S1["b"], "c": C6}


def refid_of(address):
    if ":" not in address:
        return address
    return ".".join(str(b) for b in hashlib.md5(socket.inet_pton(socket.AF_INET6, address)).digest()[:4])


class Topology:
    def __init__(self, tmp):
        self.tmp = tmp
        names = list(S1) + ["relay", "client"]
        addrs = dict(S1, relay=RELAY, client=CLIENT)   # 198.18.8.N and fd7e:8::N
        hosts = {name: int(a.rsplit(".", 1)[1]) for name, a in addrs.items()}
        self.lan = Lan("tp", names, subnet=8, hosts=hosts)
        self.ns = self.lan.ns
        self.launchers = {}

    x = staticmethod(netns_exec)

    def start(self, name, body):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        conf = os.path.join(d, "horloge.conf")
        with open(conf, "w") as f:
            f.write(body + f"\nrundir {d}/run\nstatedir {d}/state\nuser nobody\nseccomp kill\n")
        log = open(os.path.join(d, "launch.log"), "a")
        self.launchers[name] = (subprocess.Popen(
            ["ip", "netns", "exec", self.ns[name], f"{BIN}/horloge-launch", "-f", conf],
            stdout=log, stderr=subprocess.STDOUT), conf)

    def firewall(self, name):
        """The shipped ruleset, with the relay variant's elements from `horlogectl firewall`."""
        _, conf = self.launchers[name]
        elements = self.x(self.ns[name], f"{BIN}/horlogectl", "-f", conf, "firewall").stdout
        with open(os.path.join(NFT, "horloge-relay.nft")) as f:
            kept = [line for line in f.read().splitlines() if not line.startswith("add element")]
        text = "\n".join(kept).replace('include "/usr/share/horloge/horloge.nft"',
                                       f'include "{os.path.abspath(NFT)}/horloge.nft"')
        path = os.path.join(self.tmp, name, "firewall.nft")
        with open(path, "w") as f:
            f.write(text + "\n" + elements)
        self.x(self.ns[name], "nft", "-f", path)
        return elements

    def kill(self, name):
        # The daemons die with their horloge-launch (PDEATHSIG).
        p, _ = self.launchers.pop(name)
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)

    def status(self, name):
        _, conf = self.launchers[name]
        r = self.x(self.ns[name], f"{BIN}/horlogectl", "-f", conf, "status", "-j", check=False)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None

    def close(self):
        for p, _ in self.launchers.values():
            p.kill()
            p.wait()
        self.lan.close()


def stratum1(address, offset=0.0, peers=()):
    lines = [f"listen {address}", f"listen {address.replace('198.18.8.', 'fd7e:8::')}", f"refclock sim jitter 1e-6 offset {offset}",
             "clock sim offset 0 frequency 1 seed 7"]
    lines += [f"server {p} minpoll 0 maxpoll 1 iburst noselect" for p in peers]
    return "\n".join(lines)


RELAY_CONF = "\n".join([f"listen {RELAY}", "clock sim seed 9",
                        "maxholdover 8"] +
                       [f"server {a} minpoll 0 maxpoll 1 iburst" for a in UPSTREAM.values()])


def ntpdig(topo):
    r = topo.x(topo.ns["client"], "ntpdig", "-j", "-t", "1", RELAY, check=False)
    lines = (r.stdout or "").strip().splitlines()
    try:
        return json.loads(lines[-1]) if lines else {"error": r.stderr.strip()}
    except ValueError:
        return {"error": r.stdout + r.stderr}


NTPLIB = ("import json, ntplib, sys; r = ntplib.NTPClient().request(sys.argv[1], version=4, timeout=1); "
          "print(json.dumps(dict(stratum=r.stratum, leap=r.leap, offset=r.offset, delay=r.delay, "
          "root_delay=r.root_delay, root_dispersion=r.root_dispersion, "
          "refid=ntplib.ref_id_to_text(r.ref_id, r.stratum))))")


def ntplib_query(topo):
    """python3-ntplib, for what ntpdig's JSON leaves out: the refid, root delay and dispersion.
    Every synchronised answer must be honest: the relay's sim clock is off the host clock (which
    the client shares) by no more than it claims, give or take the client's own half round trip
    and the 2^-16 s of the NTP short format."""
    r = topo.x(topo.ns["client"], "/usr/bin/python3", "-c", NTPLIB, RELAY, check=False)
    try:
        q = json.loads(r.stdout)
    except ValueError:
        return {"error": r.stderr.strip()[-200:]}
    if q["leap"] != 3:
        bound = q["root_delay"] / 2 + q["root_dispersion"] + q["delay"] / 2 + 2 ** -16
        assert abs(q["offset"]) <= bound, f"dishonest answer: {q}"
    return q


# A UDP echo on port 123 in the client namespace, and a probe from another namespace.
ECHO = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 123))\n"
        "while True:\n    d, a = s.recvfrom(512); s.sendto(d, a)")
PROBE = ("import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)\n"
         "try:\n    s.sendto(b'x' * 48, (sys.argv[1], 123)); s.recvfrom(512); print('open')\n"
         "except OSError as e:\n    print('blocked:', e)")


def ntp_out(topo, name, host):
    return topo.x(topo.ns[name], "/usr/bin/python3", "-c", PROBE, host, check=False).stdout.strip()


def sources(status):
    return {s.get("name") or s.get("kind"): s for s in status.get("sources", [])} if status else {}


def main():
    require_root()
    tmp = tempfile.mkdtemp(prefix="horloge-topo-")
    os.chmod(tmp, 0o755)
    topo = Topology(tmp)
    t0 = time.monotonic()
    echo = None
    try:
        echo = subprocess.Popen(["ip", "netns", "exec", topo.ns["client"], "/usr/bin/python3",
                                 "-c", ECHO])
        topo.start("a", stratum1(S1["a"], offset=0.05))
        topo.start("b", stratum1(S1["b"]))
        topo.start("c", stratum1(S1["c"]))
        topo.start("relay", RELAY_CONF)
        wait_for("the probe's echo", lambda: ntp_out(topo, "relay", CLIENT) == "open", 10)
        for name in ("a", "b", "c"):
            assert topo.firewall(name) == "", name   # no server lines: receive-only
        print("relay firewall elements:", topo.firewall("relay").strip())
        got = ntp_out(topo, "relay", CLIENT)
        print("relay -> client:123 through the firewall:", got)
        assert got != "open", got

        def stratum2():
            j = ntpdig(topo)
            return j if j.get("stratum") == 2 else None
        j = wait_for("stratum 2 from the relay", stratum2, 60)
        print("ntpdig via relay:", j)

        seen = []
        def relay_marks():
            src = sources(topo.status("relay"))
            m = {a: (src.get(a, {}).get("mark"), src.get(a, {}).get("offset")) for a in UPSTREAM.values()}
            seen.append(m)
            ok = m[S1["a"]][0] == "x" and m[S1["b"]][0] in "*+" and m[C6][0] in "*+"
            return m if ok else None
        try:
            print("relay marks:", wait_for("A marked falseticker", relay_marks, 40))
        except AssertionError:
            print("relay marks seen:", *seen[-5:], sep="\n  ")
            print(json.dumps(topo.status("relay"), indent=1)[:6000])
            raise
        st = topo.status("relay")
        refid = st["clock"]["refid"] if st else None
        print("relay clock:", st["clock"]["state"], "stratum", st["clock"]["server"]["stratum"])
        def good_offset():
            j = ntpdig(topo)
            return j if j.get("stratum") == 2 and abs(j.get("offset", 1)) < 0.005 else None
        j = wait_for("offset within 5 ms", good_offset, 40)
        print("ntpdig offset", j["offset"], "status refid", refid)
        q = ntplib_query(topo)
        print("ntplib:", q)
        assert q.get("stratum") == 2 and q.get("refid") in (S1["b"], refid_of(C6)), q
        assert refid == q["refid"], (refid, q)

        r = topo.x(topo.ns["client"], "timeout", "20", "chronyd", "-Q", "-t", "15",
                   f"server {RELAY} iburst maxsamples 4", check=False)
        wrong = [line for line in (r.stdout + r.stderr).splitlines() if "System clock wrong by" in line]
        print("chronyd -Q:", wrong)
        # "System clock wrong by -0.000012 seconds (ignored)": the host clock against the relay.
        assert wrong and abs(float(wrong[0].split("wrong by")[1].split()[0])) < 0.005, r.stderr

        # A restarted with noselect peers B and C: its GPS is alarmed.
        topo.kill("a")
        topo.start("a", stratum1(S1["a"], offset=0.05, peers=(S1["b"], S1["c"])))
        print("A firewall elements:", topo.firewall("a").strip())
        def alarmed():
            s = topo.status("a")
            return s["clock"].get("gps_alarm") if s else None
        print("A alarm:", wait_for("A's GPS alarm", alarmed, 40))
        sa = topo.status("a")
        assert sa["clock"]["server"]["stratum"] == 16, sa["clock"]["server"]
        print("relay after A alarmed:", wait_for("relay still at stratum 2", stratum2, 10))

        topo.kill("b")
        time.sleep(4)
        def from_c():
            q = ntplib_query(topo)
            return q if q.get("stratum") == 2 and q.get("refid") == refid_of(C6) else None
        print("after killing B:", wait_for("relay serving from C", from_c, 30))

        topo.kill("c")
        topo.kill("a")
        def holdover():
            s = topo.status("relay")
            return s if s and s["clock"]["state"] == "holdover" else None
        wait_for("relay in holdover", holdover, 30)
        print("relay: holdover, ntpdig:", ntpdig(topo))
        def li3():
            q = ntplib_query(topo)
            return q if q.get("leap") == 3 and q.get("stratum") == 16 else None
        print("relay after maxholdover:", wait_for("LI=3, stratum 16", li3, 40))
        print("ntpdig:", ntpdig(topo))
        print(f"topology: PASS in {time.monotonic() - t0:.0f} s")
    finally:
        if echo is not None:
            echo.kill()
            echo.wait()
        topo.close()
        for n in ("a", "b", "c", "relay"):
            p = os.path.join(tmp, n, "launch.log")
            if os.path.exists(p):
                print(f"---- {n} launch log (tail) ----")
                print("".join(open(p).readlines()[-15:]))


if __name__ == "__main__":
    main()
