"""Test hosts in network namespaces made by the test itself, joined by veth, the waits
every integration test uses, and a GPS that feeds NMEA to gpsd through a FIFO.

Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking) and fd7e::/64: they exist only
inside the namespaces created here, and every namespace is deleted on exit.
"""
import datetime
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time


def run(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, text=True, capture_output=True, **kw)


def netns_exec(ns, *args, check=True, **kw):
    return run("ip", "netns", "exec", ns, *args, check=check, **kw)


def add_namespace(ns):
    run("ip", "netns", "add", ns)
    netns_exec(ns, "ip", "link", "set", "lo", "up")


def veth(ns_a, dev_a, ns_b, dev_b):
    """A veth pair: `dev_a` in `ns_a`, its peer `dev_b` in `ns_b`."""
    run("ip", "link", "add", dev_a, "netns", ns_a, "type", "veth", "peer", "name", dev_b,
        "netns", ns_b)


def address(ns, dev, a4, a6):
    """Brings `dev` up in `ns` with `a4`/24 and `a6`/64 (no duplicate address detection)."""
    netns_exec(ns, "ip", "addr", "add", f"{a4}/24", "dev", dev)
    netns_exec(ns, "ip", "-6", "addr", "add", f"{a6}/64", "dev", dev, "nodad")
    netns_exec(ns, "ip", "link", "set", dev, "up")


class Pair:
    """Two namespaces, `server` and `client`, on one veth link."""

    SERVER4, CLIENT4 = "198.18.0.1", "198.18.0.2"
    SERVER6, CLIENT6 = "fd7e::1", "fd7e::2"

    def __init__(self, tag):
        suffix = f"{tag}{os.getpid()}"
        self.server = f"hs{suffix}"[:15]
        self.client = f"hc{suffix}"[:15]
        veth_s, veth_c = f"vs{suffix}"[:15], f"vc{suffix}"[:15]
        for ns in (self.server, self.client):
            add_namespace(ns)
        veth(self.server, veth_s, self.client, veth_c)
        address(self.server, veth_s, self.SERVER4, self.SERVER6)
        address(self.client, veth_c, self.CLIENT4, self.CLIENT6)

    exec = staticmethod(netns_exec)

    def popen(self, ns, args, **kw):
        return subprocess.Popen(["ip", "netns", "exec", ns] + list(args), **kw)

    def close(self):
        for ns in (self.server, self.client):
            run("ip", "netns", "del", ns, check=False)


class Lan:
    """Namespaces `names` on one bridge (in a namespace of its own), host i at
    198.18.`subnet`.(i+1) and fd7e:`subnet`::(i+1), or at the host numbers `hosts` gives by
    name. Every Lan is its own network: several can run at once."""

    def __init__(self, tag, names, subnet=9, hosts=None):
        suffix = f"{tag}{os.getpid()}"
        self.bridge = f"lb{suffix}"[:15]
        self.ns, self.addr, self.addr6 = {}, {}, {}
        add_namespace(self.bridge)
        try:
            self.exec(self.bridge, "ip", "link", "add", "br0", "type", "bridge")
            self.exec(self.bridge, "ip", "link", "set", "br0", "up")
            for i, name in enumerate(names):
                ns = f"l{name[:4]}{i}{suffix}"[:15]
                add_namespace(ns)
                self.ns[name] = ns
                a, b = f"la{i}{suffix}"[:15], f"lb{i}{suffix}"[:15]
                veth(ns, a, self.bridge, b)
                self.exec(self.bridge, "ip", "link", "set", b, "master", "br0")
                self.exec(self.bridge, "ip", "link", "set", b, "up")
                host = (hosts or {}).get(name, i + 1)
                self.addr[name] = f"198.18.{subnet}.{host}"
                self.addr6[name] = f"fd7e:{subnet}::{host}"
                address(ns, a, self.addr[name], self.addr6[name])
        except Exception:
            self.close()
            raise

    exec = staticmethod(netns_exec)
    popen = Pair.popen

    def close(self):
        for ns in list(self.ns.values()) + [self.bridge]:
            run("ip", "netns", "del", ns, check=False)


# The leap-seconds.list the package ships (packaging/), fresh from the tz database.
LEAPFILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packaging",
                        "leap-seconds.list")


def leap_file(path, expires_unix, extra=()):
    """Writes the shipped leap-seconds.list with its expiry (#@) moved to `expires_unix` and its
    hash (#h: SHA-1 of the numbers, in order) made again: a valid file expiring then. `extra`:
    (Unix time, TAI - UTC) entries added after the shipped ones (a leap not yet decided)."""
    ntp = 2208988800
    out, numbers = [], ""
    with open(LEAPFILE) as f:
        lines = f.read().splitlines()
    if extra:
        last = max(i for i, line in enumerate(lines) if line.split() and not line.startswith("#"))
        lines[last + 1:last + 1] = [f"{unix + ntp}\t{tai}\t# added by the test" for unix, tai in extra]
    for line in lines:
        w = line.split()
        if w and w[0] == "#@":
            line = f"#@\t{expires_unix + ntp}"
            w = line.split()
        if w and w[0] == "#h":
            continue
        if w and w[0] in ("#$", "#@"):
            numbers += w[1]
        elif w and not w[0].startswith("#"):
            numbers += w[0] + w[1]
        out.append(line)
    digest = hashlib.sha1(numbers.encode()).hexdigest()
    out.append("#h\t" + " ".join(digest[i:i + 8] for i in range(0, 40, 8)))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path


def skip(why):
    """Ends the test as skipped (CTest's SKIP_RETURN_CODE 77)."""
    print("SKIP:", why)
    sys.exit(77)


def require_root():
    if os.geteuid() != 0:
        skip("needs root for network namespaces")


def require_tools(*tools):
    """Skips the test when one of `tools` is not installed."""
    for tool in tools:
        if shutil.which(tool) is None:
            skip(f"{tool} not installed (scripts/install-deps test)")


def python_in(ns, script, *args, **kw):
    """Runs the Python `script` (with `args`) in namespace `ns`."""
    return netns_exec(ns, "/usr/bin/python3", "-c", script, *args, **kw)


def netd_stats(ns, bindir, conf):
    """netd's counters as `horlogectl status -j` shows them (integers as ints), or None while
    netd is not connected to clockd."""
    r = netns_exec(ns, f"{bindir}/horlogectl", "-f", conf, "status", "-j", check=False,
                   timeout=10)
    # A peer other than netd may be down (exit 3): the JSON is printed all the same.
    try:
        netd = json.loads(r.stdout).get("netd", {})
    except ValueError:
        return None
    if not netd.get("connected"):
        return None
    return {k: int(v) if isinstance(v, str) and v.lstrip("-").isdigit() else v
            for k, v in netd.get("body", {}).items()}


def wait_for(what, fn, timeout, interval=0.3, fail=True):
    """Calls fn until it returns something true, and returns that. After `timeout` s: raises,
    or with fail=False says so and returns None (for a test that counts its failures)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    if not fail:
        print(f"timed out waiting for {what}; last: {last!r}", flush=True)
        return None
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def daemon_pids(launcher_pid):
    """The daemons horloge-launch started, by role: {"clockd": pid, ...}."""
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(launcher_pid)],
                         capture_output=True, text=True).stdout
    pids = {}
    for line in out.splitlines():
        pid, args = line.strip().split(None, 1)
        pids[os.path.basename(args.split()[0]).replace("horloge-", "")] = int(pid)
    return pids


class Appliance:
    """horloge-launch started in namespace `ns` on the test's own configuration `lines` plus
    what every test shares: a private rundir and statedir, user nobody, seccomp in kill mode."""

    def __init__(self, net, ns, bindir, tmp, name, lines):
        self.conf = os.path.join(tmp, f"{name}.conf")
        with open(self.conf, "w") as f:
            f.write(lines.strip("\n") + f"""
rundir {tmp}/run-{name}
statedir {tmp}/state-{name}
user nobody
seccomp kill
""")
        self.log = open(os.path.join(tmp, f"{name}.log"), "w+")
        self.proc = net.popen(ns, [f"{bindir}/horloge-launch", "-f", self.conf],
                              stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, as systemd would send; the launcher's exit status (None if it had to be
        killed, or was stopped already)."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.proc = None
        return rc

    def dump(self, tail=20000):
        self.log.seek(0)
        print(f"---- {self.conf} log ----")
        print(self.log.read()[-tail:])


def nmea(body):
    c = 0
    for ch in body:
        c ^= ord(ch)
    return f"${body}*{c:02X}\r\n"


class Feeder(threading.Thread):
    """A GPS on a FIFO: RMC, GGA, GSA, GSV, ZDA 100 ms after each second."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.stop = False

    def run(self):
        # Opened after gpsd opened its end: gpsd refuses a device another process holds.
        fd = os.open(self.path, os.O_WRONLY)
        try:
            while not self.stop:
                time.sleep(1.1 - time.time() % 1)
                t = datetime.datetime.fromtimestamp(int(time.time()), datetime.timezone.utc)
                hms, dmy = t.strftime("%H%M%S") + ".00", t.strftime("%d%m%y")
                out = (nmea(f"GPRMC,{hms},A,4807.038,N,01131.000,E,0.0,0.0,{dmy},,,A") +
                       nmea(f"GPGGA,{hms},4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") +
                       nmea("GPGSA,A,3,04,05,09,12,24,25,29,31,,,,,1.8,0.9,1.5") +
                       nmea("GPGSV,2,1,08,04,40,083,46,05,17,308,41,09,07,344,39,12,77,275,47") +
                       nmea("GPGSV,2,2,08,24,30,050,44,25,23,205,40,29,60,120,45,31,10,010,38") +
                       nmea(f"GPZDA,{hms},{t.day:02d},{t.month:02d},{t.year},00,00"))
                os.write(fd, out.encode())
        except OSError:
            pass   # gpsd went away
        finally:
            os.close(fd)


def ublox_second(t):
    """What a u-blox M8 sends by default after second `t` (an aware datetime): RMC, VTG, GGA,
    GSA (GPS and GLONASS), GSV, GLL; talker GN for the combined solution, no ZDA."""
    hms, dmy = t.strftime("%H%M%S") + ".00", t.strftime("%d%m%y")
    lat, lon = "4807.03810,N", "01131.00020,E"
    return (nmea(f"GNRMC,{hms},A,{lat},{lon},0.012,,{dmy},,,A") +
            nmea("GNVTG,,T,,M,0.012,N,0.022,K,A") +
            nmea(f"GNGGA,{hms},{lat},{lon},1,12,0.79,545.4,M,46.9,M,,") +
            nmea("GNGSA,A,3,04,05,09,12,24,25,29,31,,,,,1.41,0.79,1.17") +
            nmea("GNGSA,A,3,65,66,75,76,,,,,,,,,1.41,0.79,1.17") +
            nmea("GPGSV,2,1,08,04,40,083,46,05,17,308,41,09,07,344,39,12,77,275,47") +
            nmea("GPGSV,2,2,08,24,30,050,44,25,23,205,40,29,60,120,45,31,10,010,38") +
            nmea("GLGSV,1,1,04,65,35,140,40,66,70,300,42,75,20,030,37,76,45,090,41") +
            nmea(f"GNGLL,{lat},{lon},{hms},A,A"))


class SerialFeeder(threading.Thread):
    """A u-blox receiver on a serial line that is a Unix stream socket (a QEMU chardev wired to
    the guest's serial port): ublox_second() 100 ms after each second. Like a UART with nobody
    reading, it drops a second the other end has not taken (bytes still queued), so that a
    reader opening the port later gets the current second, not a backlog."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.stop = False
        self.sent = self.dropped = 0

    def run(self):
        import fcntl
        import socket
        import termios
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        s.connect(self.path)
        s.setblocking(False)
        queued = bytearray(4)
        try:
            while not self.stop:
                time.sleep(1.1 - time.time() % 1)
                fcntl.ioctl(s, termios.TIOCOUTQ, queued)
                if int.from_bytes(queued, sys.byteorder) > 0:
                    self.dropped += 1
                    continue
                t = datetime.datetime.fromtimestamp(int(time.time()), datetime.timezone.utc)
                try:
                    s.send(ublox_second(t).encode())
                    self.sent += 1
                except BlockingIOError:
                    self.dropped += 1
        except OSError:
            pass   # QEMU went away
        finally:
            s.close()
