#!/usr/bin/env python3
"""Interleaved mode (RFC 9769) end to end, with chrony from Debian as the client.

The appliance runs in a server namespace (horloge-launch as root, real sandbox, seccomp kill,
simulated receiver, clock observe). Once ntpdig sees stratum 1, `chronyd -Q` (query only: it
never touches the clock) polls it with `xleave` from the client namespace and logs every
measurement; at least one must be marked interleaved ("4I"), and netd's own counters (through
`horlogectl -j status`) must show interleaved replies and kernel TX timestamps.
"""
import glob
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from netns import Appliance, Pair, netd_stats, require_root, wait_for  # noqa: E402

BIN = os.path.abspath(sys.argv[1])


def locked(net):
    r = net.exec(net.client, "ntpdig", "-j", "-t", "1", Pair.SERVER4, check=False)
    if r.returncode != 0:
        return None
    j = json.loads(r.stdout.strip().splitlines()[-1])
    return j if j["stratum"] == 1 and j["leap"] == "no-leap" else None


def chrony_xleave(net, workdir, server):
    """Runs chronyd -Q with xleave; returns (exit code, output, measurement lines)."""
    os.makedirs(workdir, exist_ok=True)
    directives = [
        f"server {server} iburst xleave minpoll -2 maxpoll -2 maxsamples 8",
        f"pidfile {workdir}/chronyd.pid",
        "cmdport 0",                     # no command socket on UDP
        "bindcmdaddress /",              # nor on a Unix socket
        f"logdir {workdir}",
        "log rawmeasurements",
    ]
    # -Q: measure and print the offset, never set the clock. -u root: write its own logdir.
    r = net.exec(net.client, "timeout", "40", "chronyd", "-Q", "-t", "25", "-u", "root",
                 "-L", "0", "-f", "/dev/null", *directives, check=False)
    lines = []
    for path in glob.glob(os.path.join(workdir, "measurements.log")):
        with open(path) as f:
            lines = [l for l in f if not l.startswith(("=", " ")) and server in l]
    return r.returncode, r.stdout + r.stderr, lines


def main():
    require_root()
    if shutil.which("chronyd") is None or shutil.which("ntpdig") is None:
        print("SKIP: needs chronyd (chrony) and ntpdig (ntpsec-ntpdig)")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="horloge-xleave-")
    os.chmod(tmp, 0o755)
    net = Pair("xl")
    app = None
    try:
        app = Appliance(net, net.server, BIN, tmp, "xleave", f"""
listen {Pair.SERVER4}
listen {Pair.SERVER6}
refclock sim jitter 1e-6
clock observe
""")
        j = wait_for("stratum 1 from ntpdig", lambda: locked(net), 40)
        print("ntpdig:", j)

        for server in (Pair.SERVER4, Pair.SERVER6):
            code, out, lines = chrony_xleave(net, os.path.join(tmp, f"chrony-{server}"), server)
            print(f"chronyd -Q {server}: exit {code}")
            print(out.strip())
            print("".join(lines))
            modes = [l.split()[-3] for l in lines]   # "4I" / "4B", then TX and RX stamp sources
            print("reply modes:", modes)
            assert lines, "chronyd logged no measurement"
            assert "4I" in modes, f"no interleaved reply from {server}: {modes}"

        # netd pushes its counters to clockd every second or so.
        def counted():
            s = netd_stats(net.server, BIN, app.conf)
            return s if s and int(s.get("interleaved", 0)) > 0 else None
        s = wait_for("netd's interleaved counter", counted, 10)
        print("netd: interleaved", s.get("interleaved"), "kernel_tx_stamps", s.get("kernel_tx_stamps"))
        if "kernel_tx_stamps" in s:
            assert int(s["kernel_tx_stamps"]) > 0, s
        assert app.running(), "the appliance died (seccomp?)"
        app.stop()
        print("xleave: PASS")
    finally:
        if app is not None:
            app.stop()
            app.dump(4000)
        net.close()

if __name__ == "__main__":
    main()
