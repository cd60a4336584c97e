#!/usr/bin/env python3
"""Issue 6: monitord's HTTPS endpoint and horlogectl, against the real daemons.

The appliance runs in namespace A (horloge-launch as root, real sandbox, seccomp kill, the
simulated GPS losing PPS for good a while after start). From namespace B over veth:
  - /health is 503 "unsynchronised" before lock, 200 once locked, 503 "holdover" after PPS goes;
    the leap file has expired: every /health answer carries a "warning: leap seconds" line and
    the dashboard's banner is amber (`locked warning`) while locked;
  - TLS 1.2 and 1.3 are served, 1.0 and 1.1 refused (openssl s_client and curl);
  - POST is 405, an oversized header is refused, `monitor allow` closes a host outside it;
  - /metrics passes `promtool check metrics`;
  - headless Chromium renders the dashboard: the sources table and the four charts exist
    after the script ran (--dump-dom), and a screenshot is kept in the build directory.
horlogectl's subcommands are run against the same daemons. Skips (77) when not root or when
chromium/promtool/curl/openssl are missing.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Appliance, leap_file, Pair, require_root, require_tools, wait_for  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
ARTIFACTS = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else tempfile.mkdtemp()
URL = f"https://{Pair.SERVER4}"
PPS_LOST_AFTER = 45   # seconds after start: the simulator stops the PPS for good


def curl(net, *args, ns=None, check=False):
    r = net.exec(ns or net.client, "curl", "-sS", "-k", "--max-time", "5", *args, check=check)
    return r


def health(net):
    r = curl(net, "-w", "\n%{http_code}", f"{URL}/health")
    body, _, code = r.stdout.rpartition("\n")
    return int(code or 0), body.strip()


def s_client(net, version):
    r = net.exec(net.client, "openssl", "s_client", "-connect", f"{Pair.SERVER4}:443", version,
                 "-brief", check=False, input="", timeout=10)
    return r.returncode, r.stdout + r.stderr


def main():
    require_root()
    require_tools("chromium", "promtool", "curl", "openssl")
    os.makedirs(ARTIFACTS, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="horloge-monitor-")
    os.chmod(tmp, 0o755)
    net = Pair("mon")
    app = None
    started = time.monotonic()
    try:
        app = Appliance(net, net.server, BIN, tmp, "monitor", f"""
listen {Pair.SERVER4}
monitor listen {Pair.SERVER4} port 443
monitor allow {Pair.CLIENT4}/32
monitor allow fd7e::2
monitor history 2
refclock sim jitter 1e-6 dropout pps {PPS_LOST_AFTER} 0
clock observe
leapfile {leap_file(os.path.join(tmp, "expired.list"), int(time.time()) - 86400)}
""")
        warning = "warning: leap seconds: leap file expired on "

        # Before lock: 503 with the state in one line.
        code, body = wait_for("a first /health", lambda: (lambda h: h if h[0] else None)(health(net)), 15)
        print("health before lock:", code, body)
        assert code == 503 and body.startswith("unsynchronised"), (code, body)
        # The state in one line, then the warnings.
        assert body.split("\n")[1].startswith(warning), body

        code, body = wait_for("locked /health", lambda: (lambda h: h if h[0] == 200 else None)(health(net)), 40)
        print("health locked:", code, body)
        assert body.startswith("ok: synchronised to PPS"), body
        assert body.split("\n")[1].startswith(warning), body

        # TLS versions.
        for version, ok in (("-tls1_2", True), ("-tls1_3", True), ("-tls1_1", False), ("-tls1", False)):
            rc, out = s_client(net, version)
            print("s_client", version, "->", rc, out.strip().splitlines()[:2])
            assert (rc == 0) == ok, (version, out)
            if ok:
                assert "Protocol version: TLSv1." + version[-1] in out, out
        for args, ok in ((["--tlsv1.2", "--tls-max", "1.2"], True), (["--tlsv1.0", "--tls-max", "1.1"], False)):
            r = curl(net, *args, "-o", "/dev/null", "-w", "%{http_code}", f"{URL}/health")
            print("curl", args, "->", r.returncode, r.stdout, r.stderr.strip())
            assert (r.returncode == 0) == ok, (args, r.stderr)

        # Methods, oversized header, unknown path.
        r = curl(net, "-X", "POST", "-d", "x=1", "-o", "/dev/null", "-w", "%{http_code}", f"{URL}/status")
        print("POST ->", r.stdout)
        assert r.stdout == "405", r.stdout
        r = curl(net, "-H", "X-Big: " + "a" * 70000, "-o", "/dev/null", "-w", "%{http_code}", f"{URL}/status")
        print("oversized header ->", r.returncode, r.stdout)
        assert r.stdout in ("431", "400", "000"), r.stdout
        assert r.stdout != "200"
        r = curl(net, "-I", "-o", "/dev/null", "-w", "%{http_code}", f"{URL}/metrics")
        assert r.stdout == "200", r.stdout   # HEAD

        # `monitor allow`: the server's own address is not in it.
        r = curl(net, "-o", "/dev/null", "-w", "%{http_code}", f"{URL}/health", ns=net.server)
        print("from outside `monitor allow` ->", r.returncode, r.stdout, r.stderr.strip())
        assert r.returncode != 0 and r.stdout == "000", r.stdout

        # /metrics through promtool.
        r = curl(net, f"{URL}/metrics", check=True)
        metrics = r.stdout
        with open(os.path.join(ARTIFACTS, "metrics.txt"), "w") as f:
            f.write(metrics)
        p = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, text=True)
        print("promtool:", p.returncode, (p.stdout + p.stderr).strip() or "clean")
        assert p.returncode == 0, p.stdout + p.stderr
        for needle in ("ntp_system_synchronised 1", "ntp_source_selection{", 'mark="*"',
                       "ntp_server_received_packets_total", "ntp_gnss_satellites_used{",
                       "ntp_gnss_satellite_snr_dbhz{", 'ntp_daemon_seccomp_mode{daemon="netd"} 2',
                       'ntp_daemon_uid{daemon="monitord"} 65534'):
            assert needle in metrics, needle

        # /status is capnp JSON; /history.json fills.
        status = json.loads(curl(net, f"{URL}/status", check=True).stdout)
        assert status["clock"]["state"] == "locked"
        wait_for("3 history samples", lambda: len(json.loads(curl(net, f"{URL}/history.json").stdout)["samples"]) >= 3, 20)

        # The dashboard, rendered by Chromium in the client namespace.
        profile = tempfile.mkdtemp(prefix="chromium-")
        shot = os.path.join(ARTIFACTS, "dashboard.png")
        common = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", f"--user-data-dir={profile}", "--ignore-certificate-errors",
                  "--window-size=1280,1600", "--virtual-time-budget=5000"]
        r = net.exec(net.client, *common, "--dump-dom", f"{URL}/", check=False, timeout=60)
        dom = r.stdout
        with open(os.path.join(ARTIFACTS, "dashboard.html"), "w") as f:
            f.write(dom)
        rows = re.findall(r'<td class="mark">([*+\-x?])</td>', dom)
        print("dashboard source marks:", rows)
        assert "*" in rows, dom[:2000]
        for chart in ("offset", "jitter", "frequency", "rate"):
            m = re.search(rf'<svg id="chart-{chart}"[^>]*data-points="(\d+)"', dom)
            assert m and int(m.group(1)) >= 2 if chart != "rate" else m, (chart, m)
            assert re.search(rf'<svg id="chart-{chart}"[^>]*>.*?<path d="M', dom, re.S), chart
        assert 'id="banner" class="locked warning"' in dom, "state banner: amber (leap file)"
        assert "warning: leap seconds: leap file expired" in dom
        assert "<td>GP</td>" in dom or "<td>GL</td>" in dom or "<td>GA</td>" in dom, "satellites"
        net.exec(net.client, *common, f"--screenshot={shot}", f"{URL}/", check=False, timeout=60)
        assert os.path.getsize(shot) > 10000, "screenshot"
        print("screenshot:", shot)

        # horlogectl: every subcommand against the live daemons.
        for cmd in ("status", "sources", "sourcestats", "tracking", "serverstats", "clients", "gnss",
                    "satellites", "daemons"):
            for fmt in ([], ["-j"], ["-c"]):
                r = net.exec(net.server, f"{BIN}/horlogectl", "-f", app.conf, cmd, *fmt, check=False)
                assert r.returncode == 0, (cmd, fmt, r.stderr)
                if fmt == ["-j"]:
                    json.loads(r.stdout)
            print(f"horlogectl {cmd}:\n" + net.exec(net.server, f"{BIN}/horlogectl", "-f", app.conf, cmd).stdout)
        r = net.exec(net.server, f"{BIN}/horlogectl", "-h", check=False)
        assert r.returncode == 0 and r.stdout.startswith("usage: horlogectl"), (r.returncode, r.stderr)
        r = net.exec(net.server, f"{BIN}/horlogectl", "-f", app.conf, "-v", "sources", check=False)
        assert r.returncode == 0 and "MS: mode" in r.stdout and "Last sample" in r.stdout, r.stdout

        # Holdover once the PPS is gone.
        left = PPS_LOST_AFTER - (time.monotonic() - started)
        code, body = wait_for("holdover /health", lambda: (lambda h: h if h[0] == 503 and h[1].startswith("holdover") else None)(health(net)), max(left, 0) + 60)
        print("health in holdover:", code, body)

        app.stop()
        # clockd down: horlogectl says so and fails.
        r = net.exec(net.server, f"{BIN}/horlogectl", "-f", app.conf, "sources", check=False)
        print("horlogectl with clockd down:", r.returncode, r.stderr.strip())
        assert r.returncode == 1 and "clockd is not running" in r.stderr
        print("monitor: PASS")
    finally:
        if app is not None:
            app.stop()
            app.dump(6000)
        net.close()


if __name__ == "__main__":
    main()
