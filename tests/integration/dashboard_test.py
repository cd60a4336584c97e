#!/usr/bin/env python3
"""The dashboard and /metrics as an operator meets them, in headless Chromium (DevTools protocol
over a pipe, tests/integration/cdp.py) at two window sizes, a desktop (1280x900) and a phone
(390x844):

  1. the real daemons in a namespace (simulated GPS, a second receiver on a PPS device that does
     not exist, an expired leap file, a client that has queried): the banner shows the state,
     the leap alarm and the receiver's fault in words; host name, version and uptimes; a
     daemon panel (pid, user, capabilities, seccomp, restarts for all four); the request rate
     and the top clients; the 1 h / 6 h / 24 h buttons change the charts' window;
  2. the same page fed an extreme status by a local server: a GPS alarm, texts of 300
     characters, a receiver that reports no HDOP (NaN), forty satellites;
and at each size: nothing written runs out of its card, the page never scrolls sideways, no
"NaN", "undefined" or "[object" is shown, the desktop lays the cards in two columns and the
phone in one. Screenshots of both sizes are kept (ARTIFACTS/dashboard-*.png).
/metrics passes promtool and has horloge_build_info and the per-source families.
Skips (77) when not root or without chromium, promtool or curl.
"""
import copy
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from cdp import Chromium  # noqa: E402
from netns import Appliance, leap_file, Pair, require_root, require_tools, wait_for  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
ARTIFACTS = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else tempfile.mkdtemp()
URL = f"https://{Pair.SERVER4}"
SIZES = ((1280, 900, False), (390, 844, True))
LONG_DIR = "/tmp/" + "a-very-long-directory-name-for-a-receiver-" * 3
MISSING_PPS = "/dev/pps-missing7"   # a second receiver whose PPS device does not exist

# Everything written must stay inside its card; the page must not scroll sideways.
LAYOUT = r"""(() => {
  const out = {pageOverflow: document.documentElement.scrollWidth - innerWidth, escaped: [],
               text: document.body.innerText,
               columns: new Set([...document.querySelectorAll("main > section")].map(
                   (s) => Math.round(s.getBoundingClientRect().left))).size};
  for (const e of document.querySelectorAll("header h1, header p, header li, td, th, td div")) {
    const t = (e.textContent || "").trim();
    if (t.length < 30) continue;
    const card = e.closest("section, header").getBoundingClientRect(), r = e.getBoundingClientRect();
    if (r.right > card.right + 1 || r.right > innerWidth + 1) out.escaped.push(t.slice(0, 60));
  }
  return out;
})()"""


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">II", head[16:24])


def curl(net, *args, check=False):
    return net.exec(net.client, "curl", "-sS", "-k", "--max-time", "5", *args, check=check)


def check_layout(chrome, label, width):
    lay = chrome.eval(LAYOUT)
    print(f"{label}: page overflow {lay['pageOverflow']} px, {lay['columns']} column(s), "
          f"escaped {lay['escaped']}")
    assert lay["pageOverflow"] <= 1, (label, lay["pageOverflow"])
    assert not lay["escaped"], (label, lay["escaped"])
    for bad in ("NaN", "undefined", "[object", "Infinity"):
        assert bad not in lay["text"], (label, bad, lay["text"][:3000])
    assert lay["columns"] == (1 if width < 600 else 2), (label, lay["columns"])
    return lay


def shoot(chrome, name):
    chrome.screenshot(os.path.join(ARTIFACTS, name.replace(".png", "-screen.png")), whole=False)
    path = chrome.screenshot(os.path.join(ARTIFACTS, name))
    w, h = png_size(path)
    print("screenshot:", path, f"{w}x{h}", os.path.getsize(path), "bytes")
    assert os.path.getsize(path) > 10000
    return w, h


# A server for the dashboard's two files as monitord serves them and a status we choose, run
# in the client namespace: sys.argv[1] is a JSON file {path: [body, content type]}.
FAKE_SERVER = r"""
import http.server, json, sys
files = json.load(open(sys.argv[1]))
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body, kind = files.get(self.path.split("?")[0], ["not found", "text/plain"])
        body = body.encode()
        self.send_response(200 if self.path.split("?")[0] in files else 404)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", 18080), Handler).serve_forever()
"""


def extreme(status):
    """The real status made as hard to show as it can be."""
    s = copy.deepcopy(status)
    long = "the receiver reported something unusual, " * 7
    s["clock"]["gpsAlarm"] = "GPS disagrees with 2 of 3 noselect peers by 1.2 s: " + long
    s["clock"]["leapAlarm"] = "leap file expired on 2026-06-28 (" + LONG_DIR + "leap-seconds.list)"
    rc = s["refclockd"]["body"][0]
    rc["name"] = "nmea:" + LONG_DIR + "ttyUSB0"
    rc["fault"] = "only unreadable bytes from " + LONG_DIR + "ttyUSB0: wrong baud rate? " + long
    rc["hdop"] = "NaN"
    rc["pdop"] = "NaN"
    rc["satellites"] = [{"system": "GP", "prn": i, "elevation": 10 + i, "azimuth": 9 * i, "snr": 20 + i}
                        for i in range(1, 41)]
    for src in s.get("sources", []):
        src["name"] = "pps:" + LONG_DIR + "pps0"
    s["netd"]["body"]["topClients"] = [
        {"address": f"2001:db8:{i:x}:ffff::/64", "requests": str(10 ** 9 + i), "rateLimited": "12",
         "kodSent": "3", "lastAgoNs": "1500000000"} for i in range(16)]
    return s


def main():
    require_root()
    require_tools("chromium", "promtool", "curl", "sntp")
    os.makedirs(ARTIFACTS, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="horloge-dashboard-")
    os.chmod(tmp, 0o755)
    net = Pair("dash")
    app = chrome = server = None
    try:
        app = Appliance(net, net.server, BIN, tmp, "dashboard", f"""
listen {Pair.SERVER4}
monitor listen {Pair.SERVER4} port 443
monitor history 2
refclock sim jitter 1e-6
refclock pps {MISSING_PPS}
clock observe
leapfile {leap_file(os.path.join(tmp, "expired.list"), int(time.time()) - 86400)}
""")
        wait_for("locked", lambda: "locked" in curl(net, f"{URL}/status").stdout, 40)
        # A client, so that the top clients and the request rate have something.
        for _ in range(3):
            net.exec(net.client, "sntp", "-t", "1", Pair.SERVER4, check=False, timeout=10)
        wait_for("3 history samples",
                 lambda: len(json.loads(curl(net, f"{URL}/history.json").stdout or "{}").get("samples", [])) >= 3, 20)

        # /metrics through promtool.
        metrics = curl(net, f"{URL}/metrics", check=True).stdout
        with open(os.path.join(ARTIFACTS, "dashboard-metrics.txt"), "w") as f:
            f.write(metrics)
        p = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, text=True)
        print("promtool:", p.returncode, (p.stdout + p.stderr).strip() or "clean")
        assert p.returncode == 0, p.stdout + p.stderr
        for needle in ('horloge_build_info{version="', 'ntp_source_poll_seconds{source="sim",kind="pps"} 1',
                       'ntp_source_reach{source="sim",kind="pps"}', "ntp_source_stratum{",
                       'ntp_daemon_restarts_total{daemon="refclockd"} 0',
                       "ntp_system_frequency_offset_ratio ", "ntp_system_rms_offset_seconds "):
            assert needle in metrics, needle

        chrome = Chromium(prefix=["ip", "netns", "exec", net.client])
        hostname = socket.gethostname()
        for width, height, mobile in SIZES:
            label = f"{width}x{height}"
            chrome.size(width, height, mobile)
            chrome.open(f"{URL}/")
            chrome.wait("document.body.dataset.refreshed && document.querySelector('#daemons tbody tr')"
                        " && document.querySelector('#clients tbody tr')")
            banner = chrome.eval("document.getElementById('banner').className")
            alarms = chrome.eval("[...document.querySelectorAll('#alarms li')].map((l) => l.textContent)")
            meta = chrome.eval("document.getElementById('meta').textContent")
            print(label, "banner:", banner, alarms, "|", meta)
            assert banner == "locked warning", banner
            assert any(a.startswith("warning: leap seconds: leap file expired on ") for a in alarms), alarms
            assert any(a.startswith(f"pps:{MISSING_PPS}: PPS device {MISSING_PPS} is missing: is "
                                    "dtoverlay=pps-gpio in /boot/firmware/config.txt") for a in alarms), alarms
            assert meta.startswith(hostname + " · horloge ") and "host up " in meta and "clockd up " in meta, meta
            daemons = chrome.eval("[...document.querySelectorAll('#daemons tbody tr')].map("
                                  "(r) => [...r.cells].map((c) => c.textContent))")
            print(label, "daemons:", daemons)
            assert [d[0] for d in daemons] == ["clockd", "refclockd", "netd", "monitord"], daemons
            for d in daemons:
                assert d[1] == "up" and d[3] == "nobody (65534)" and d[4] == "none" and d[5] == "filter", d
            assert [d[6] for d in daemons] == ["0", "0", "0", "-"], daemons
            clients = chrome.eval("[...document.querySelectorAll('#clients tbody tr')].map((r) => r.cells[0].textContent)")
            rate = chrome.eval("[...document.querySelectorAll('#server tr')].find((r) => r.cells[0].textContent === 'requests/s').cells[1].textContent")
            print(label, "clients:", clients, "requests/s:", rate)
            assert Pair.CLIENT4 in clients, clients
            assert rate != "-" and float(rate) >= 0, rate
            hdop = chrome.eval("document.querySelector('#gnss').textContent")
            assert "HDOP -" in hdop or "HDOP 1" in hdop or "HDOP 0" in hdop, hdop
            # The window buttons: 6 h relabels and redraws the charts.
            points = chrome.eval("document.getElementById('chart-offset').getAttribute('data-points')")
            chrome.eval("document.querySelector('#window button[data-seconds=\"21600\"]').click()")
            assert chrome.wait("document.body.dataset.window === '21600'")
            heading = chrome.eval("document.querySelector('h2 .span').textContent")
            ticks = chrome.eval("[...document.querySelectorAll('#chart-offset text')].map((t) => t.textContent).slice(-5)")
            print(label, "6 h window:", heading, ticks, "points", points)
            assert heading == "(6 h)" and ticks == ["-6h", "-4.5h", "-3h", "-1.5h", "now"], (heading, ticks)
            assert int(points) >= 3
            chrome.eval("document.querySelector('#window button[data-seconds=\"3600\"]').click()")
            check_layout(chrome, label, width)
            w, h = shoot(chrome, f"dashboard-{label}.png")
            assert w == width, (w, width)

        # The same page fed an extreme status from a local server in the client namespace.
        real = json.loads(curl(net, f"{URL}/status", check=True).stdout)
        files = {
            "/": [curl(net, f"{URL}/", check=True).stdout, "text/html"],
            "/dashboard.js": [curl(net, f"{URL}/dashboard.js", check=True).stdout, "text/javascript"],
            "/status": [json.dumps(extreme(real)), "application/json"],
            "/history.json": [curl(net, f"{URL}/history.json", check=True).stdout, "application/json"],
        }
        with open(os.path.join(tmp, "fake.json"), "w") as f:
            json.dump(files, f)
        server = net.popen(net.client, [sys.executable, "-c", FAKE_SERVER, os.path.join(tmp, "fake.json")])
        wait_for("the fake server", lambda: net.exec(net.client, "curl", "-s", "-o", "/dev/null",
                                                      "http://127.0.0.1:18080/status", check=False).returncode == 0, 10)
        for width, height, mobile in SIZES:
            label = f"extreme-{width}x{height}"
            chrome.size(width, height, mobile)
            chrome.open("http://127.0.0.1:18080/")
            chrome.wait("document.body.dataset.refreshed && document.querySelector('#alarms li')")
            banner = chrome.eval("document.getElementById('banner').className")
            alarms = chrome.eval("[...document.querySelectorAll('#alarms li')].map((l) => l.textContent.slice(0, 50))")
            print(label, "banner:", banner, alarms)
            assert banner.startswith("alarm"), banner
            assert alarms[0].startswith("GPS alarm: GPS disagrees"), alarms
            assert "HDOP -" in chrome.eval("document.querySelector('#gnss').textContent")
            check_layout(chrome, label, width)
            shoot(chrome, f"dashboard-{label}.png")
        print("dashboard: PASS")
    except BaseException:
        if app is not None:
            app.dump(6000)
        raise
    finally:
        if server is not None:
            server.kill()
            server.wait()
        if chrome is not None:
            chrome.close()
        if app is not None:
            app.stop()
        net.close()


if __name__ == "__main__":
    main()
