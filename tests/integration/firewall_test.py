#!/usr/bin/env python3
"""Issue 7's receive-only firewall (packaging/nftables/horloge.nft), on the real daemons.

Three namespaces on two veth links: the appliance, a management host (inside the ruleset's
management subnet) and an outside host. The appliance runs horloge-launch (simulated GPS,
observe clock, seccomp kill) with the ruleset loaded. Checked:
  - ntpdig from the outside host gets an answer (NTP from anywhere);
  - curl gets /health over TLS from the management host, and is refused from the outside;
  - the appliance cannot open a TCP connection, nor send DNS, to a host that is listening
    (and could, before the ruleset was loaded).
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from netns import (Appliance, Pair, add_namespace, address, netns_exec,  # noqa: E402
                   python_in, require_root, run, skip, veth, wait_for)

BIN = os.path.abspath(sys.argv[1])
RULESET = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packaging",
                       "nftables", "horloge.nft")
APP_M, MGMT = "198.18.1.1", "198.18.1.2"      # management link, 198.18.1.0/24
APP_O, OUTSIDE = "198.18.2.1", "198.18.2.2"   # outside link
APP_M6, MGMT6 = "fd7e:1::1", "fd7e:1::2"
APP_O6, OUTSIDE6 = "fd7e:2::1", "fd7e:2::2"


class Net:
    """The appliance between two hosts, each on a veth link of its own."""

    def __init__(self):
        s = str(os.getpid())
        self.app, self.mgmt, self.out = f"fwa{s}", f"fwm{s}", f"fwo{s}"
        for ns in (self.app, self.mgmt, self.out):
            add_namespace(ns)
        for peer, a4, p4, a6, p6 in ((self.mgmt, APP_M, MGMT, APP_M6, MGMT6),
                                     (self.out, APP_O, OUTSIDE, APP_O6, OUTSIDE6)):
            va, vp = f"va{peer}"[:15], f"vp{peer}"[:15]
            veth(self.app, va, peer, vp)
            address(self.app, va, a4, a6)
            address(peer, vp, p4, p6)

    x = staticmethod(netns_exec)
    popen = Pair.popen

    def close(self):
        for ns in (self.app, self.mgmt, self.out):
            run("ip", "netns", "del", ns, check=False)


def answered(net, server, ns=None):
    """An NTP answer, synchronised or not (ntpdig exits 1 on LI=3 but still prints it)."""
    r = net.x(ns or net.out, "ntpdig", "-j", "-t", "2", server, check=False)
    out = r.stdout + r.stderr
    return r.returncode == 0 or "stratum" in out or "leap not in sync" in out


def https(net, ns, server):
    r = net.x(ns, "curl", "-sS", "-k", "--max-time", "3", f"https://{server}/health",
              check=False)
    return r.returncode, (r.stdout + r.stderr).strip()


# Run from the appliance namespace: try to reach the outside host. Prints "open" or the error.
PROBE = r"""
import socket, sys
host, kind = sys.argv[1], sys.argv[2]
try:
    if kind == "tcp":
        s = socket.create_connection((host, 8080), timeout=2)
        s.close()
    else:   # a DNS query; the outside host's responder answers it
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01", (host, 53))
        s.recvfrom(512)
    print("open")
except OSError as e:
    print("blocked:", e)
"""

# On the outside host: a TCP listener on 8080 and a UDP echo on 53.
LISTENER = r"""
import socket, threading
def tcp(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 8080)); s.listen(8)
    while True:
        c, _ = s.accept(); c.close()
def udp(fam, addr):
    s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((addr, 53))
    while True:
        d, a = s.recvfrom(512); s.sendto(d, a)
for f in (tcp, udp):
    threading.Thread(target=f, args=(socket.AF_INET, "0.0.0.0"), daemon=True).start()
    threading.Thread(target=f, args=(socket.AF_INET6, "::"), daemon=True).start()
threading.Event().wait(120)
"""


def probe(net, host, kind):
    return python_in(net.app, PROBE, host, kind, check=False).stdout.strip()


def main():
    require_root()
    if shutil.which("nft") is None:
        skip("nft (package nftables) not installed")
    tmp = tempfile.mkdtemp(prefix="horloge-fw-")
    os.chmod(tmp, 0o755)
    # The shipped ruleset with this test's management subnets, as an operator would edit it.
    with open(RULESET) as f:
        rules = f.read()
    assert "define mgmt_v4 = " in rules and "define mgmt_v6 = " in rules
    lines = []
    for line in rules.splitlines():
        if line.startswith("define mgmt_v4 = "):
            line = "define mgmt_v4 = { 198.18.1.0/24 }"
        elif line.startswith("define mgmt_v6 = "):
            line = "define mgmt_v6 = { fd7e:1::/64 }"
        lines.append(line)
    ruleset = os.path.join(tmp, "horloge.nft")
    with open(ruleset, "w") as f:
        f.write("\n".join(lines) + "\n")

    net = Net()
    app = listener = None
    failures = []

    def check(what, ok, detail=""):
        print(("ok   " if ok else "FAIL ") + what + (f": {detail}" if detail else ""))
        if not ok:
            failures.append(what)

    try:
        app = Appliance(net, net.app, BIN, tmp, "fw", """
listen 0.0.0.0
listen ::
monitor listen 0.0.0.0 port 443
refclock sim jitter 1e-6
clock observe
""")
        listener = net.popen(net.out, [sys.executable, "-c", LISTENER])
        wait_for("HTTPS up", lambda: https(net, net.mgmt, APP_M)[0] == 0, 20)
        wait_for("NTP up", lambda: answered(net, APP_O), 20)

        # Control: without the ruleset the appliance can reach the outside host, and the
        # outside host can reach HTTPS. So what follows is the ruleset's doing.
        check("without the ruleset, outbound TCP opens", probe(net, OUTSIDE, "tcp") == "open")
        check("without the ruleset, outbound DNS gets through", probe(net, OUTSIDE, "dns") == "open")
        check("without the ruleset, HTTPS from outside works", https(net, net.out, APP_O)[0] == 0)

        net.x(net.app, "nft", "-f", ruleset)
        print(net.x(net.app, "nft", "list", "ruleset").stdout)

        # NTP from anywhere, IPv4 and IPv6.
        check("NTP answered through the firewall (IPv4, outside host)",
              wait_for("NTP v4", lambda: answered(net, APP_O), 15))
        check("NTP answered through the firewall (IPv6, outside host)",
              wait_for("NTP v6", lambda: answered(net, APP_O6), 15))
        check("NTP answered through the firewall (IPv4, management host)",
              wait_for("NTP mgmt", lambda: answered(net, APP_M, net.mgmt), 15))

        rc, out = https(net, net.mgmt, APP_M)
        check("HTTPS /health from the management subnet (IPv4)", rc == 0, out[:80])
        rc, out = https(net, net.out, APP_O)
        # curl 7: could not connect (the ruleset answers with a TCP reset), not 28 (timeout).
        check("HTTPS from outside the management subnet refused (IPv4)", rc == 7,
              f"curl {rc}: {out[:90]}")

        for host in (OUTSIDE, OUTSIDE6, MGMT):
            for kind in ("tcp", "dns"):
                got = probe(net, host, kind)
                check(f"outbound {kind} from the appliance to {host} fails", got != "open", got)

        check("horloge-launch still running", app.running())
        if failures:
            print("firewall: FAIL:", ", ".join(failures))
            sys.exit(1)
        print("firewall: PASS")
    finally:
        if listener is not None:
            listener.kill()
            listener.wait()
        if app is not None:
            app.stop()
            if failures:
                app.dump()
        net.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
