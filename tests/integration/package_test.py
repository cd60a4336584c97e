#!/usr/bin/env python3
"""Issue 7: the real .deb on a booted Debian 12 with systemd as PID 1.

    package_test.py SOURCE_DIR WORK_DIR

1. Builds horloge_*_amd64.deb with packaging/build-deb (or takes $HORLOGE_DEB).
2. debootstraps a Debian 12 root from the mirror in this machine's apt sources, once: the root
   is cached as WORK_DIR/bookworm-base.tar and unpacked afresh for every run.
3. Boots it with `systemd-nspawn --register=no --keep-unit -b` inside a network namespace made
   here, joined by veth to a client namespace.
4. Installs the .deb with apt inside the booted system (the container's configuration, put in
   place first and kept: `refclock sim` and `clock observe`; the container has no
   CAP_SYS_TIME either, and a drop-in says so to clockd's unit).
5. Checks from inside: the four services active, the sockets listening, each daemon's uid,
   CapEff, NoNewPrivs and Seccomp in /proc/PID/status, no watchdog restart; from the client
   namespace: ntpdig gets an answer (stratum 1 once the simulated GPS locks) and curl gets
   /health over TLS; then `systemctl kill -s KILL` on each service in turn: it comes back
   while the others keep their PIDs and NTP keeps being answered.
6. chrony's SOCK input (issue 4): horloge-refclock-sock@pps0.socket enabled with refclockd
   stopped, its socket /run/chrony.pps0.sock there (0660 root:dialout, ordered before gpsd and
   refclockd); a writer that is not in dialout is refused; one that is (a process of this test,
   as gpsd would) connects once while refclockd is down, its datagrams start refclockd, which
   adopts the handed socket and counts them, and they keep arriving over the same connection
   after refclockd is killed and restarted. Then, when this machine's apt cache has gpsd's
   .debs and PPS_SHIM is given, Debian's gpsd itself (NMEA from a FIFO fed from here, /dev/pps0
   answered by the shim) is installed and started with refclockd running: its SOCK datagrams
   reach refclockd. Last, `dpkg --purge horloge` leaves no SOCK socket or unit link.
7. NTS (before 6): a certificate made with openssl, the `nts cert` line, horloge-ntskd.socket
   enabled; openssl s_client completes a TLS 1.3 handshake with ALPN ntske/1 on TCP 4460,
   ntskd runs confined as its own user, chronyd -Q `server ... nts` gets time; then off again.
Exits 77 (skipped) when not root or without systemd-nspawn or debootstrap.

    package_test.py SOURCE_DIR WORK_DIR [PPS_SHIM]
"""
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import netns  # noqa: E402
from netns import Feeder, Pair, require_root, require_tools  # noqa: E402
from debian import SERVICES, SOCKETS, mirror  # noqa: E402

SRC = os.path.abspath(sys.argv[1])
WORK = os.path.abspath(sys.argv[2])
PPS_SHIM = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else None
# Everything the package needs from the archive, so that apt installs it without a network.
INCLUDE = ["systemd", "systemd-sysv", "dbus", "iproute2", "procps", "openssl", "udev",
           "libcapnp-0.9.2", "libseccomp2", "libcap2", "libssl3", "libsystemd0",
           # What docs/raspberry-pi.md and ntp-pool.md have the administrator use.
           "nftables", "man-db"]

CONFIG = """# horloge package test: simulated GPS, a clock that is never adjusted.
refclock sim jitter 1e-6
clock observe
monitor cert /etc/horloge/tls/horloge.crt key /run/credentials/horloge-monitord.service/tls.key
seccomp kill
"""
# `clock observe`: clockd needs no CAP_SYS_TIME (and the container could not grant it).
OBSERVE_DROPIN = """[Service]
CapabilityBoundingSet=
AmbientCapabilities=
"""

# chrony's SOCK protocol, as gpsd 3.22 speaks it for its /dev/pps0.
SOCK_DEVICE = "pps0"
SOCK_PATH = f"/run/chrony.{SOCK_DEVICE}.sock"
SOCK_UNIT = f"horloge-refclock-sock@{SOCK_DEVICE}.socket"
# A writer run from the host as USER:GROUPS, through the container's /run (its working
# directory): connects once, then sends chrony's struct sock_sample (struct timeval tv; double
# offset; int pulse, leap, _pad, magic) every second. Exits 3 when connect() is refused.
SOCK_WRITER = r"""
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.connect(sys.argv[1])
except PermissionError as e:
    print("refused:", e, flush=True)
    sys.exit(3)
print("connected", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    time.sleep(1.05 - time.time() % 1)
    now = time.time()
    s.send(struct.pack("qqdiiii", int(now), int(now % 1 * 1e6), 0.0, 0, 0, 0, 0x534f434b))
"""
# The gpsd .debs (and the libraries the Debian 12 root lacks) from this machine's apt cache.
GPSD_DEBS = ["gpsd", "libgps28", "libbluetooth3", "libusb-1.0-0"]

failures = []


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + (f": {detail}" if detail else ""), flush=True)
    if not ok:
        failures.append(what)
    return ok


def wait_for(what, fn, timeout, interval=0.5):
    return netns.wait_for(what, fn, timeout, interval, fail=False)


def base_tarball():
    # Named for what it holds: a new INCLUDE makes a new root.
    tag = hashlib.sha256(" ".join(INCLUDE).encode()).hexdigest()[:8]
    tar = os.path.join(WORK, f"bookworm-base-{tag}.tar")
    if os.path.exists(tar):
        return tar
    tmp = os.path.join(WORK, "debootstrap.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    url = mirror()
    print("debootstrap from", url, flush=True)
    r = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(INCLUDE),
                        "bookworm", tmp, url], text=True, capture_output=True)
    if r.returncode != 0:
        print(r.stdout[-3000:], r.stderr[-3000:])
        raise SystemExit("debootstrap failed")
    subprocess.run(["tar", "-C", tmp, "-cf", tar + ".part", "."], check=True)
    os.rename(tar + ".part", tar)
    shutil.rmtree(tmp, ignore_errors=True)
    return tar


def build_deb():
    if os.environ.get("HORLOGE_DEB"):
        return os.path.abspath(os.environ["HORLOGE_DEB"])
    out = os.path.join(WORK, "deb")
    r = subprocess.run([os.path.join(SRC, "packaging", "build-deb"), "-o", out, "amd64"],
                       text=True, capture_output=True)
    if r.returncode != 0:
        print(r.stdout[-5000:], r.stderr[-5000:])
        raise SystemExit("packaging/build-deb failed")
    debs = [d for d in glob.glob(os.path.join(out, "horloge_*_amd64.deb"))]
    assert len(debs) == 1, debs
    # lintian: no errors and no warnings (informational tags are allowed).
    report = os.path.join(out, "lintian-amd64.txt")
    if shutil.which("lintian"):
        with open(report) as f:
            bad = [l for l in f if l[:2] in ("E:", "W:")]
        check("lintian shows no errors or warnings", not bad, "".join(bad))
    return debs[0]


def check_unit_exposure():
    """Each service scores 1.0 or lower in systemd-analyze security --offline=true."""
    for name in ("clockd", "netd", "refclockd", "monitord"):
        unit = os.path.join(SRC, "packaging", "systemd", f"horloge-{name}.service")
        r = subprocess.run(["systemd-analyze", "security", "--offline=true", unit],
                           text=True, capture_output=True)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
        ok = m is not None and float(m.group(1)) <= 1.0
        check(f"horloge-{name}.service exposure {m.group(1) if m else '?'} <= 1.0", ok,
              "" if ok else r.stdout[-2000:])


def own_cgroups(name):
    """Fresh cgroups named `name` under this process's own, in the hierarchies a container's
    systemd uses (name=systemd and the unified one), for the container to live in. nspawn with
    --keep-unit and no host systemd puts the container in its caller's cgroup, where the
    container's systemd makes system.slice/horloge-*.service: two package tests at once on one
    machine then share those cgroups, and systemctl in one fails on the other's processes
    (EIO). Paths that cannot be made are left out: the container then shares, as before."""
    made = []
    for line in open("/proc/self/cgroup"):
        hid, controllers, path = line.rstrip("\n").split(":", 2)
        if controllers == "name=systemd":
            base = "/sys/fs/cgroup/systemd"
        elif hid == "0" and controllers == "":
            base = next((b for b in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")
                         if os.path.exists(os.path.join(b, "cgroup.procs"))), None)
        else:
            continue
        if base is None:
            continue
        own = os.path.join(base + path, name)
        try:
            os.makedirs(own, exist_ok=True)
            made.append(own)
        except OSError:
            pass
    return made


class Container:
    def __init__(self, root, net):
        self.root, self.net = root, net
        self.log = open(os.path.join(WORK, "nspawn.log"), "w+")
        env = dict(os.environ, SYSTEMD_NSPAWN_TMPFS_TMP="0")
        self.cgroups = own_cgroups(f"horloge-pkgtest-{os.getpid()}")

        def enter_cgroups():
            for cg in self.cgroups:
                try:
                    with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                        f.write(str(os.getpid()))
                except OSError:
                    pass
        self.proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{net.server}", "systemd-nspawn", "--register=no",
             "--keep-unit", "-b", "-q", "-D", root, "--machine=horloge-pkgtest",
             # The guide's firewall step: nft in the container's own network namespace.
             "--capability=CAP_NET_ADMIN", "--console=passive"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            preexec_fn=enter_cgroups)
        self.leader = None

    def find_leader(self):
        # nspawn's child is the container's PID 1 (systemd), maybe after an intermediate.
        # (nsenter --net, not `ip netns exec`: that remounts /sys, hiding the cgroup mounts
        # nspawn needs.)
        def descendants(pid):
            out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)],
                                 capture_output=True, text=True).stdout.split("\n")
            return [(int(l.split()[0]), l.split()[1]) for l in out if l.strip()]
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop()
            for child, comm in descendants(pid):
                if comm == "systemd":
                    return child
                todo.append(child)
        return None

    def sh(self, command, check=False, timeout=120):
        r = subprocess.run(["nsenter", "-t", str(self.leader), "-m", "-u", "-i", "-n", "-p",
                            "--", "/bin/sh", "-c", command],
                           text=True, capture_output=True, timeout=timeout,
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
        if check and r.returncode != 0:
            raise AssertionError(f"{command}: {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def stop(self):
        if self.proc.poll() is None:
            # SIGRTMIN+3 to the container's systemd: halt; nspawn then exits.
            if self.leader:
                try:
                    os.kill(self.leader, signal.SIGRTMIN + 3)
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for cg in self.cgroups:   # the container's systemd left its tree there: empty now
            for d, _, _ in sorted(os.walk(cg), key=lambda w: -len(w[0])):
                try:
                    os.rmdir(d)
                except OSError:
                    pass


NTS_LINE = "nts cert /etc/horloge/nts/nts.crt key /run/credentials/horloge-ntskd.service/nts.key"
NTS_KE_REQUEST = bytes.fromhex("80010002" "0000" "80040002" "000f" "80000000")   # NTPv4, AES-SIV


def check_nts(box, root, net):
    """NTS turned on as packaging/horloge.conf says: a certificate and key made with openssl in
    /etc/horloge/nts/ (the key root's, 0600), the `nts cert` line, clockd and netd restarted,
    horloge-ntskd.socket enabled. From the client namespace: a TLS 1.3 handshake with ALPN
    ntske/1 on TCP 4460 (openssl s_client, verified against that certificate) starts ntskd
    through its socket, then chronyd -Q `server ... nts` gets authenticated time. Undone after."""
    r = box.sh("mkdir -p /etc/horloge/nts && cd /etc/horloge/nts && "
               "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
               f"-subj /CN=horloge-pkgtest -addext subjectAltName=IP:{Pair.SERVER4} "
               "-keyout nts.key -out nts.crt 2>&1 && chmod 600 nts.key && "
               f"echo '{NTS_LINE}' >> /etc/horloge/horloge.conf && "
               "systemctl restart horloge-clockd horloge-netd && "
               "systemctl enable --now horloge-ntskd.socket 2>&1")
    check("NTS on: certificate made, clockd and netd restarted, ntskd's socket enabled",
          r.returncode == 0, r.stdout[-1000:])
    listening = box.sh("ss -Hlntp").stdout
    check("TCP 4460 listening", re.search(r"[:*]4460\b", listening) is not None, listening)
    cert = os.path.join(root, "etc/horloge/nts/nts.crt")

    def handshake():
        r = subprocess.run(["ip", "netns", "exec", net.client, "timeout", "10", "openssl",
                            "s_client", "-connect", f"{Pair.SERVER4}:4460", "-alpn", "ntske/1",
                            "-tls1_3", "-CAfile", cert, "-verify_return_error", "-ign_eof"],
                           input=NTS_KE_REQUEST, capture_output=True)
        out = r.stdout.decode(errors="replace")
        ok = "ALPN protocol: ntske/1" in out and "Verify return code: 0 (ok)" in out
        return out if ok else None
    out = wait_for("an NTS-KE handshake", handshake, 20) or handshake() or ""
    check("openssl s_client: TLS 1.3, ALPN ntske/1, certificate verified", bool(out),
          out[-600:])

    def completed():
        st = json.loads(box.sh("horlogectl status -j", timeout=20).stdout or "{}")
        ke = st.get("ntskd", {})
        n = int(ke.get("body", {}).get("completed", 0)) if ke.get("connected") else 0
        return st if n > 0 else None
    # The first connection starts ntskd; one made before clockd's keys reached it gets an
    # Internal Server Error record: try again until a key exchange completes.
    st = wait_for("a completed key exchange", lambda: completed() or (handshake() and None), 30)
    check("ntskd counts a completed key exchange", st is not None,
          (st or {}).get("ntskd", {}).get("body"))
    pid = box.sh("systemctl show -P MainPID horloge-ntskd").stdout.strip()
    fields = dict(l.split(":", 1) for l in box.sh(f"cat /proc/{pid}/status").stdout.splitlines()
                  if ":" in l)
    uid = box.sh("id -u _horloge-ntskd").stdout.strip()
    check("ntskd runs as _horloge-ntskd, CapEff 0, Seccomp 2",
          fields.get("Uid", "").split() == [uid] * 4 and int(fields.get("CapEff", "1"), 16) == 0
          and fields.get("Seccomp", "").strip() == "2",
          {k: fields.get(k, "").strip() for k in ("Uid", "CapEff", "Seccomp")})

    work = os.path.join(WORK, "chrony-nts")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    r = net.exec(net.client, "timeout", "40", "chronyd", "-Q", "-t", "30", "-u", "root", "-L",
                 "0", "-f", "/dev/null", f"server {Pair.SERVER4} iburst nts",
                 f"ntstrustedcerts {cert}", f"ntsdumpdir {work}", f"pidfile {work}/chronyd.pid",
                 "cmdport 0", "bindcmdaddress /", check=False)
    out = r.stdout + r.stderr
    check("chronyd -Q over NTS gets time from the package", "System clock wrong by" in out,
          out[-600:])

    r = box.sh("sed -i '\\|^nts cert |d' /etc/horloge/horloge.conf && "
               "systemctl disable --now horloge-ntskd.socket horloge-ntskd.service 2>&1 && "
               "systemctl restart horloge-clockd horloge-netd")
    check("NTS off again", r.returncode == 0, r.stdout[-500:])


def gpsd_debs():
    """gpsd's .debs from this machine's apt cache, or None."""
    found = []
    for name in GPSD_DEBS:
        debs = sorted(glob.glob(f"/var/cache/apt/archives/{name}_*_amd64.deb"))
        if not debs:
            return None
        found.append(debs[-1])
    return found


def refclockd_sock(box):
    """(refclockd's PID, the samples it counted from SOCK_PATH), from `horlogectl status -j`."""
    r = box.sh("horlogectl status -j", timeout=20)
    try:
        rc = json.loads(r.stdout).get("refclockd", {})
    except ValueError:
        return None
    if not rc.get("connected"):
        return None
    for src in rc.get("body", []):
        if src.get("name") == f"sock:{SOCK_PATH}":
            return int(rc["info"]["pid"]), int(src.get("samples", 0))
    return None


def sock_samples(box, what, more_than=0, pid=None, not_pid=None, timeout=20):
    """Waits until refclockd (PID `pid`, or any but `not_pid`, when given) counts at least
    `more_than` + 3 SOCK samples; returns (pid, samples) or None."""
    def grown():
        r = refclockd_sock(box)
        return r if r and pid in (None, r[0]) and r[0] != not_pid and r[1] >= more_than + 3 \
            else None
    return wait_for(what, grown, timeout)


def sock_writer(box, uid, gid, seconds):
    """SOCK_WRITER as uid:gid (no other group), connected through the container's /run."""
    return subprocess.Popen(
        [sys.executable, "-c", SOCK_WRITER, os.path.basename(SOCK_PATH), str(seconds)],
        cwd=f"/proc/{box.leader}/root/run", user=uid, group=gid, extra_groups=[gid],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def check_sock(box, root):
    """Step 6: `refclock sock` through horloge-refclock-sock@.socket, writer first."""
    print("---- refclock sock", SOCK_PATH, flush=True)
    dialout = int(next(l.split(":")[2] for l in open(os.path.join(root, "etc/group"))
                       if l.startswith("dialout:")))
    rules = box.sh("cat /lib/udev/rules.d/60-horloge.rules").stdout
    check("udev rule gives /dev/pps* to dialout, 0660",
          'SUBSYSTEM=="pps"' in rules and 'GROUP="dialout"' in rules and 'MODE="0660"' in rules,
          rules)
    pid = box.sh("systemctl show -P MainPID horloge-refclockd").stdout.strip()
    groups = box.sh(f"grep ^Groups: /proc/{pid}/status").stdout.split()[1:]
    check("refclockd runs with group dialout (serial, PPS)", str(dialout) in groups, groups)

    box.sh("systemctl stop horloge-refclockd", check=True)
    box.sh(f"echo 'refclock sock {SOCK_PATH}' >> /etc/horloge/horloge.conf", check=True)
    r = box.sh(f"systemctl enable --now {SOCK_UNIT} 2>&1")
    check(f"systemctl enable --now {SOCK_UNIT}", r.returncode == 0, r.stdout)
    st = box.sh(f"stat -c '%F %a %U %G' {SOCK_PATH}").stdout.strip()
    check(f"{SOCK_PATH}: socket 0660 root:dialout", st == "socket 660 root dialout", st)
    state = box.sh("systemctl is-active horloge-refclockd").stdout.strip()
    check("... while refclockd is not running", state == "inactive", state)
    props = dict(l.split("=", 1) for l in box.sh(
        f"systemctl show -p Before -p Triggers {SOCK_UNIT}").stdout.splitlines() if "=" in l)
    check(f"{SOCK_UNIT} is ordered before gpsd and refclockd and triggers refclockd",
          {"gpsd.service", "horloge-refclockd.service"} <= set(props.get("Before", "").split())
          and "horloge-refclockd.service" in props.get("Triggers", ""), props)

    w = sock_writer(box, 65534, 65534, 0)
    out = w.communicate(timeout=20)[0]
    check("a writer outside group dialout is refused", w.returncode == 3, out.strip())
    # gpsd first: connected once, while refclockd is down (as gpsd at its device activation).
    w = sock_writer(box, 64001, dialout, 60)
    try:
        line = w.stdout.readline().strip()
        check("a writer in group dialout connects while refclockd is down", line == "connected",
              line)
        first = sock_samples(box, "refclockd started by the datagrams, counting them", 0)
        check("its datagrams start refclockd (socket activation), which counts them", first,
              first)
        log = box.sh("journalctl -q --no-pager -u horloge-refclockd -g 'handed socket'").stdout
        check("refclockd adopted the socket systemd handed it", SOCK_PATH in log, log.strip())
        if first:
            box.sh("systemctl kill -s KILL horloge-refclockd", check=True)
            again = sock_samples(box, "SOCK samples after refclockd's restart",
                                 not_pid=first[0], timeout=30)
            check("after refclockd is killed and restarted the same connection still feeds it",
                  again and w.poll() is None, f"{first} -> {again}")
    finally:
        w.kill()
        w.wait()
    check_gpsd(box, root)


def check_gpsd(box, root):
    """Debian's gpsd in the container, started while refclockd runs: its SOCK datagrams for
    /dev/pps0 reach refclockd, also across a refclockd restart."""
    if not os.path.isdir(os.path.join(root, "var/tmp/gpsd")):
        print("SKIP (part): gpsd's .debs not in /var/cache/apt/archives or no PPS shim", flush=True)
        return
    r = box.sh("dpkg -i --force-depends /var/tmp/gpsd/*.deb 2>&1", timeout=120)
    status = box.sh("dpkg-query -W -f '${Status}' gpsd").stdout
    # --force-depends: gpsd's python3 dependency (its Python clients) is not in the root.
    if not check("gpsd installed from the apt cache", status == "install ok installed",
                 r.stdout[-2000:]):
        return
    # As a time server runs it: the devices on its command line, activated at start (-n), as
    # root. NMEA from a FIFO fed from here; /dev/pps0 is /dev/null, answered by the shim.
    with open(os.path.join(root, "etc/default/gpsd"), "w") as f:
        f.write('DEVICES="/var/tmp/gps.fifo /dev/pps0"\nGPSD_OPTIONS="-n"\nUSBAUTO="false"\n')
    dropin = os.path.join(root, "etc/systemd/system/gpsd.service.d")
    os.makedirs(dropin, exist_ok=True)
    with open(os.path.join(dropin, "pps-shim.conf"), "w") as f:
        f.write("[Service]\nEnvironment=LD_PRELOAD=/var/tmp/gpsd/pps-shim.so "
                "HORLOGE_FAKE_PPS_CHARDEV=1\n")
    fifo = os.path.join(root, "var/tmp/gps.fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    box.sh("touch /dev/pps0 && mount --bind /dev/null /dev/pps0 && systemctl daemon-reload",
           check=True)
    before = refclockd_sock(box)
    r = box.sh("systemctl restart gpsd.service 2>&1")
    check("gpsd.service started", r.returncode == 0, r.stdout)
    feeder = Feeder(fifo)
    feeder.start()
    try:
        got = before and sock_samples(box, "gpsd's SOCK samples", before[1], pid=before[0],
                                            timeout=40)
        check("gpsd (started after refclockd) feeds refclockd through the socket", got,
              f"{before} -> {got}")
        if got:
            box.sh("systemctl kill -s KILL horloge-refclockd", check=True)
            again = sock_samples(box, "gpsd's SOCK samples after refclockd's restart",
                                 not_pid=got[0], timeout=30)
            check("gpsd keeps feeding refclockd across its restart", again, f"{got} -> {again}")
    finally:
        if failures:
            print(box.sh("journalctl -q --no-pager -u gpsd | tail -30").stdout)
        box.sh("systemctl stop gpsd.service gpsd.socket")
        feeder.stop = True


def doc_lines(name):
    """The command lines of docs/NAME's ```sh blocks, as an administrator would type them."""
    lines, inside = [], False
    with open(os.path.join(SRC, "docs", name)) as f:
        for line in f:
            if line.startswith("```"):
                inside = line.strip() == "```sh"
                continue
            if inside and line.strip():
                lines.append(line.rstrip("\n"))
    return lines


def guide(box, lines, line, ok_codes=(0,), timeout=120):
    """Runs `line` from a guide in the container (as root: no sudo there), after checking it is
    in the guide word for word, so that what is tested is what the guide says."""
    check(f"the guide says `{line}`", line in lines)
    r = box.sh(line.replace("sudo ", ""), timeout=timeout)
    check(f"`{line}`", r.returncode in ok_codes, (r.stdout + r.stderr)[-800:])
    return r


def doctor(box, config=None):
    """horlogectl doctor -j in the container: {check: [(result, message, fix)]}."""
    r = box.sh(f"horlogectl {'-f ' + config + ' ' if config else ''}doctor -j", timeout=60)
    print(box.sh(f"horlogectl {'-f ' + config + ' ' if config else ''}doctor", timeout=60).stdout)
    found = {}
    for f in json.loads(r.stdout or "[]"):
        found.setdefault(f["check"], []).append((f["result"], f["message"], f["fix"]))
    return r.returncode, found


def check_guides(box, net, deb):
    """docs/raspberry-pi.md and ntp-pool.md followed in the container as far as a machine
    without a Pi allows (no GPIO, UART, device tree or raspi-config here; docs/raspberry-pi.md,
    "What was tested"), and the man pages, doctor and import as the administrator meets them."""
    print("---- the guides, doctor, man pages", flush=True)
    pi = doc_lines("raspberry-pi.md")
    pool = doc_lines("ntp-pool.md")
    # The manual pages, made from docs/ at build time, as man shows them.
    for page, needle in (("horlogectl", "horlogectl - show the state of the horloge NTP server"),
                         ("horloge.conf", "refclock pps DEVICE"), ("horloge", "horloge-refclockd"),
                         ("horloge-launch", "LISTEN_FDNAMES")):
        r = box.sh(f"MANWIDTH=80 man -P cat {page} 2>&1")
        check(f"man {page}", r.returncode == 0 and needle in r.stdout, r.stdout[:300])
    r = box.sh("for p in /usr/share/man/man*/horlogectl.1.gz /usr/share/man/man*/horloge*.[58].gz; do "
               "LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z $p >/dev/null; done 2>&1")
    check("the man pages render without a warning", r.stdout.strip() == "", r.stdout[:500])
    check("horloge-launch is installed", box.sh("test -x /usr/libexec/horloge/horloge-launch").returncode == 0)
    r = box.sh("horlogectl -h")
    check("horlogectl -h: exit 0, usage on stdout", r.returncode == 0 and r.stdout.startswith("usage:"))
    r = box.sh("ls /usr/share/doc/horloge/")
    check("the guides are installed as the configuration names them",
          all(f in r.stdout.split() for f in ("raspberry-pi.md", "ntp-pool.md", "horlogectl.md")),
          r.stdout)

    # Step 2.
    r = guide(box, pi, '. /etc/os-release && echo "$VERSION_CODENAME"')
    check("the system is bookworm", r.stdout.strip() == "bookworm", r.stdout)
    guide(box, pi, "dpkg --print-architecture")
    # Steps 3 and 4 by hand, on the files Raspberry Pi OS Bookworm ships (made here: no Pi).
    box.sh("mkdir -p /boot/firmware && printf '[all]\\ndtparam=audio=on\\n' > /boot/firmware/config.txt && "
           "echo 'console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 "
           "fsck.repair=yes rootwait' > /boot/firmware/cmdline.txt", check=True)
    guide(box, pi, "echo 'enable_uart=1' | sudo tee -a /boot/firmware/config.txt")
    guide(box, pi, "sudo sed -i 's/console=serial0,[0-9]* //' /boot/firmware/cmdline.txt")
    guide(box, pi, "echo 'dtoverlay=disable-bt' | sudo tee -a /boot/firmware/config.txt")
    guide(box, pi, "sudo systemctl disable --now serial-getty@ttyAMA0.service serial-getty@ttyS0.service")
    guide(box, pi, "echo 'dtoverlay=pps-gpio,gpiopin=18' | sudo tee -a /boot/firmware/config.txt")
    cmdline = box.sh("cat /boot/firmware/cmdline.txt").stdout
    config = box.sh("cat /boot/firmware/config.txt").stdout.split()
    check("cmdline.txt: the serial console is gone, the rest kept",
          "console=serial0" not in cmdline and "console=tty1" in cmdline and "rootwait" in cmdline,
          cmdline)
    check("config.txt: enable_uart, disable-bt, pps-gpio",
          {"enable_uart=1", "dtoverlay=disable-bt", "dtoverlay=pps-gpio,gpiopin=18"} <= set(config),
          config)
    # Step 6.
    guide(box, pi, "systemctl --no-pager status 'horloge-*.service'")
    guide(box, pi, "horlogectl status")
    r = guide(box, pi, "systemctl is-active systemd-timesyncd", ok_codes=(3, 4))
    check("no systemd-timesyncd", r.stdout.strip() != "active", r.stdout)
    # Step 7a on the configuration the package ships (this container runs its own, simulated).
    guide(box, pi, "sudo systemctl disable --now gpsd.socket gpsd.service", ok_codes=(0, 1, 5))
    box.sh(f"dpkg-deb --fsys-tarfile /var/tmp/{os.path.basename(deb)} | "
           "tar -xO ./etc/horloge/horloge.conf > /etc/horloge/guide.conf", check=True)
    # The guide's sed, on the shipped file (a copy: this container keeps its simulated GPS).
    line = next((l for l in pi if l.startswith("sudo sed -i 's|^#refclock nmea")), "")
    check("the guide uncomments the shipped refclock lines", bool(line))
    r = box.sh(line.replace("sudo ", "").replace("/etc/horloge/horloge.conf", "/etc/horloge/guide.conf"))
    conf = box.sh("grep '^refclock' /etc/horloge/guide.conf").stdout.split("\n")
    check("the shipped configuration with the guide's two lines uncommented",
          r.returncode == 0 and conf[:2] == ["refclock nmea /dev/serial0 baud 9600", "refclock pps /dev/pps0"],
          conf)
    # No Pi, no receiver: doctor says what is missing and how to fix it, as on a Pi before
    # steps 3 and 4.
    rc, found = doctor(box, "/etc/horloge/guide.conf")
    check("doctor on the guide's configuration: FAIL (exit 1)", rc == 1, rc)
    serial = found.get("serial device", [("?", "", "")])[0]
    pps = found.get("pps device", [("?", "", "")])[0]
    check("doctor: /dev/serial0 missing, fix: enable_uart=1",
          serial[0] == "FAIL" and serial[1] == "serial device /dev/serial0 is missing"
          and "enable_uart=1" in serial[2], serial)
    check("doctor: /dev/pps0 missing, fix: dtoverlay=pps-gpio",
          pps[0] == "FAIL" and "dtoverlay=pps-gpio,gpiopin=18" in pps[2], pps)
    guide(box, pi, "horlogectl gnss")
    r = guide(box, pi, "horlogectl sources")
    check("horlogectl sources: the simulated receiver selected", re.search(r"^#  \*  sim ", r.stdout, re.M)
          is not None, r.stdout)
    # Step 8, before the firewall.
    rc, found = doctor(box)
    want = {"config": "PASS", "users": "PASS", "leap file": "PASS", "certificate": "PASS",
            "clock": "PASS", "receiver": "PASS", "time daemons": "PASS", "firewall": "WARN",
            "pps overlay": "SKIP", "power": "SKIP"}
    got = {k: found.get(k, [("none",)])[0][0] for k in want}
    check("doctor on the running container: each check as expected", got == want, got)
    r = guide(box, pi, "horlogectl tracking")
    check("tracking: refid PPS, stratum 1", "Reference ID    : 50505300 (PPS)" in r.stdout and
          "Stratum         : 1" in r.stdout, r.stdout)
    # Step 9: the receive-only firewall, the management network set to the test's client.
    guide(box, pi, "sudo cp /usr/share/horloge/horloge.nft /etc/nftables.conf")
    check("the guide edits the management networks by hand", "sudo nano /etc/nftables.conf" in pi)
    box.sh(f"sed -i 's|^define mgmt_v4 = .*|define mgmt_v4 = {{ {Pair.CLIENT4}/32 }}|; "
           f"s|^define mgmt_v6 = .*|define mgmt_v6 = {{ {Pair.CLIENT6}/128 }}|' /etc/nftables.conf",
           check=True)
    guide(box, pi, "sudo nft -c -f /etc/nftables.conf && sudo systemctl enable --now nftables")
    rc, found = doctor(box)
    check("doctor after step 9: the firewall PASSes, nothing FAILs",
          found.get("firewall", [("none",)])[0][0] == "PASS" and rc == 0, found.get("firewall"))
    r = net.exec(net.client, "curl", "-sS", "-k", "--max-time", "5", "-o", "/dev/null", "-w",
                 "%{http_code}", f"https://{Pair.SERVER4}/health", check=False)
    check("behind the firewall: /health from the management network", r.stdout == "200", r.stdout)
    r = net.exec(net.client, "ntpdig", "-t", "2", Pair.SERVER4, check=False)
    check("behind the firewall: NTP answered", r.returncode == 0, r.stdout + r.stderr)
    # ntp-pool.md: rate limiting.
    guide(box, pool, "echo 'ratelimit interval 3 burst 8 leak 2 kod' | sudo tee -a /etc/horloge/horloge.conf")
    guide(box, pool, "sudo systemctl restart horloge-netd")
    ok = wait_for("NTP after the rate limit", lambda: net.exec(net.client, "ntpdig", "-t", "2",
                  Pair.SERVER4, check=False).returncode == 0, 20)
    check("NTP answered with the pool's rate limiting", ok)
    r = box.sh("horlogectl serverstats -j")
    check("serverstats -j: typed counters", '"rate_limited":0' in r.stdout or '"rate_limited":' in r.stdout,
          r.stdout[:300])
    # Coming from chrony: the guide's chrony.conf translated, and the result parses.
    with open(os.path.join(SRC, "ctl", "testdata", "pi-gpsd-chrony.conf")) as f:
        chrony = f.read()
    box.sh("mkdir -p /etc/chrony && cat > /etc/chrony/chrony.conf <<'EOF'\n" + chrony + "EOF", check=True)
    r = box.sh("horlogectl import /etc/chrony/chrony.conf > /tmp/imported.conf && "
               "horlogectl -f /tmp/imported.conf firewall && grep -c '^refclock' /tmp/imported.conf")
    check("horlogectl import /etc/chrony/chrony.conf: a configuration that parses, 3 refclocks",
          r.returncode == 0 and r.stdout.strip().endswith("3"), r.stdout + r.stderr)
    box.sh("systemctl disable --now nftables; nft flush ruleset")


def main():
    require_root()
    require_tools("systemd-nspawn", "debootstrap", "nsenter", "ntpdig", "curl")
    os.makedirs(WORK, exist_ok=True)
    check_unit_exposure()
    deb = build_deb()
    print("package:", deb, flush=True)
    tar = base_tarball()

    root = os.path.join(WORK, "root")
    if os.path.exists(root):
        subprocess.run(["rm", "-rf", "--one-file-system", root], check=True)
    os.makedirs(root)
    subprocess.run(["tar", "-C", root, "-xf", tar], check=True)
    shutil.copy(deb, os.path.join(root, "var/tmp", os.path.basename(deb)))
    os.makedirs(os.path.join(root, "etc/horloge"), exist_ok=True)
    with open(os.path.join(root, "etc/horloge/horloge.conf"), "w") as f:
        f.write(CONFIG)
    dropin = os.path.join(root, "etc/systemd/system/horloge-clockd.service.d")
    os.makedirs(dropin, exist_ok=True)
    with open(os.path.join(dropin, "observe.conf"), "w") as f:
        f.write(OBSERVE_DROPIN)
    with open(os.path.join(root, "etc/hostname"), "w") as f:
        f.write("horloge-pkgtest\n")
    debs = gpsd_debs()
    if debs and PPS_SHIM and os.path.exists(PPS_SHIM):
        os.makedirs(os.path.join(root, "var/tmp/gpsd"))
        for f in debs + [PPS_SHIM]:
            shutil.copy(f, os.path.join(root, "var/tmp/gpsd"))
    # No getty on the console, nothing to wait for on a network.
    for unit in ("console-getty.service", "getty@tty1.service", "systemd-networkd-wait-online.service"):
        link = os.path.join(root, "etc/systemd/system", unit)
        if not os.path.exists(link):
            os.symlink("/dev/null", link)

    net = Pair("pkg")
    box = None
    try:
        box = Container(root, net)
        box.leader = wait_for("the container's systemd", box.find_leader, 30)
        assert box.leader, "systemd-nspawn did not start systemd"
        state = wait_for("boot", lambda: (lambda s: s if s in ("running", "degraded") else None)(
            box.sh("systemctl is-system-running").stdout.strip()), 120)
        check("container booted with systemd as PID 1", state is not None, str(state))
        print(box.sh("systemctl --failed --no-legend").stdout)

        # Install as an administrator would; the configuration above is kept.
        r = box.sh("cd /var/tmp && DEBIAN_FRONTEND=noninteractive apt-get install -y "
                   "-o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef "
                   f"./{os.path.basename(deb)} 2>&1", timeout=300)
        print(r.stdout[-3000:])
        if not check("apt-get install of the .deb", r.returncode == 0):
            raise SystemExit(1)
        conf = box.sh("cat /etc/horloge/horloge.conf").stdout
        check("the test configuration was kept (clock observe)", "clock observe" in conf)
        check("postinst made a TLS certificate",
              box.sh("test -s /etc/horloge/tls/horloge.crt && "
                     "stat -c '%a %U' /etc/horloge/tls/horloge.key").stdout.strip() == "600 root")

        def all_active():
            r = box.sh("systemctl is-active " + " ".join(f"horloge-{s}" for s in SERVICES) +
                       " " + " ".join(SOCKETS))
            return r.returncode == 0
        ok = wait_for("the services active", all_active, 60)
        active_since = time.monotonic()
        print(box.sh("systemctl status --no-pager 'horloge-*' 2>&1 | head -80").stdout)
        check("the four services and five sockets active", ok)
        listening = box.sh("ss -Hlnup; ss -Hlntp; ss -Hlxp").stdout
        check("UDP 123 listening (IPv4)", re.search(r"0\.0\.0\.0:123\b", listening) is not None)
        check("UDP 123 listening (IPv6)", re.search(r"\[::\]:123\b", listening) is not None)
        check("TCP 443 listening", re.search(r"[:*]443\b", listening) is not None)
        for sock in ("refclock", "netd", "status"):
            check(f"/run/horloge/{sock}.sock listening", f"/run/horloge/{sock}.sock" in listening)

        def main_pid(service):
            r = box.sh(f"systemctl show -P MainPID horloge-{service}")
            return int(r.stdout.strip() or 0)

        # Confinement, as the kernel reports it inside the container.
        for s in SERVICES:
            pid = main_pid(s)
            status = box.sh(f"cat /proc/{pid}/status").stdout
            fields = dict(l.split(":", 1) for l in status.splitlines() if ":" in l)
            fields = {k: v.strip() for k, v in fields.items()}
            uid = box.sh(f"id -u _horloge-{s}").stdout.strip()
            print(s, pid, "Uid", fields.get("Uid"), "CapEff", fields.get("CapEff"),
                  "NoNewPrivs", fields.get("NoNewPrivs"), "Seccomp", fields.get("Seccomp"))
            check(f"{s} runs as _horloge-{s}",
                  fields.get("Uid", "").split() == [uid] * 4, fields.get("Uid"))
            check(f"{s} CapEff 0 (observe clock)", int(fields.get("CapEff", "1"), 16) == 0)
            check(f"{s} NoNewPrivs 1", fields.get("NoNewPrivs") == "1")
            check(f"{s} Seccomp 2", fields.get("Seccomp") == "2")
            threads = box.sh(f"grep -h Seccomp: /proc/{pid}/task/*/status").stdout.split()
            check(f"{s}: every thread in seccomp mode 2",
                  threads and all(t in ("Seccomp:", "2") for t in threads))

        # From the client namespace: NTP and HTTPS.
        def ntp():
            r = net.exec(net.client, "ntpdig", "-j", "-t", "1", Pair.SERVER4, check=False)
            out = r.stdout + r.stderr
            return r.returncode == 0 or "leap not in sync" in out or "stratum" in out

        def locked():
            r = net.exec(net.client, "ntpdig", "-j", "-t", "1", Pair.SERVER4, check=False)
            if r.returncode != 0:
                return None
            j = json.loads(r.stdout.strip().splitlines()[-1])
            return j if j.get("stratum") == 1 else None
        check("ntpdig gets an answer", wait_for("an NTP answer", ntp, 20))
        j = wait_for("stratum 1", locked, 60)
        check("ntpdig: stratum 1 once the simulated GPS locks", j is not None, str(j))
        def health():
            r = net.exec(net.client, "curl", "-sS", "-k", "--max-time", "5", "-w",
                         "\n%{http_code}", f"https://{Pair.SERVER4}/health", check=False)
            body, _, code = r.stdout.rpartition("\n")
            return code.strip(), body

        # 200 once netd's report (every second) shows it serving what clockd locked to.
        code, body = wait_for("/health 200", lambda: (lambda h: h if h[0] == "200" else None)(
            health()), 10) or health()
        check("curl /health over TLS: 200", code == "200", f"{code} {body}")
        # The leap second table: the package's own copy (fresher than Debian 12's tzdata), no
        # alarm, no warning line on /health.
        st = json.loads(box.sh("horlogectl status -j", timeout=20).stdout or "{}")
        clock = st.get("clock", {})
        print("leap table expires", int(clock.get("leap_expires_ns", 0)) // 10**9,
              "alarm:", repr(clock.get("leap_alarm", "")))
        check("no leap alarm on a fresh install", not clock.get("leap_alarm"), clock.get("leap_alarm"))
        check("the leap table expires in the future",
              int(clock.get("leap_expires_ns", 0)) > time.time() * 1e9, clock.get("leap_expires_ns"))
        check("/health: no warning line", "warning" not in body, body)
        print(box.sh("journalctl --no-pager -q -u horloge-clockd | grep 'leap seconds'").stdout)
        r = net.exec(net.client, "curl", "-sS", "-k", "--max-time", "5",
                     f"https://[{Pair.SERVER6}]/health", check=False)
        check("curl /health over TLS (IPv6)", r.returncode == 0, (r.stdout + r.stderr)[:80])

        # The watchdog: WatchdogSec=30s has passed without a restart.
        time.sleep(max(0, 35 - (time.monotonic() - active_since)))
        for s in SERVICES:
            props = box.sh(f"systemctl show -p NRestarts -p WatchdogUSec horloge-{s}").stdout
            check(f"{s}: watchdog set, no restart after 35 s",
                  "NRestarts=0" in props and "WatchdogUSec=30s" in props, props.split())

        # Kill each in turn: it comes back, the others keep their PIDs.
        for s in SERVICES:
            before = {t: main_pid(t) for t in SERVICES}
            box.sh(f"systemctl kill -s KILL horloge-{s}", check=True)
            if s != "netd":
                time.sleep(0.5)
                check(f"NTP answered while {s} is down", ntp())

            def back():
                pid = main_pid(s)
                active = box.sh(f"systemctl is-active horloge-{s}").stdout.strip()
                return pid if pid and pid != before[s] and active == "active" else None
            pid = wait_for(f"{s} back", back, 60)
            check(f"{s} restarted after SIGKILL", pid is not None, f"{before[s]} -> {pid}")
            others = {t: main_pid(t) for t in SERVICES if t != s}
            check(f"the others kept running while {s} restarted",
                  all(others[t] == before[t] for t in others), f"{before} -> {others}")
            check(f"NTP answered after {s} came back", wait_for("NTP", ntp, 20))
        check("stratum 1 again after the restarts", wait_for("stratum 1", locked, 60) is not None)
        code, body = wait_for("/health 200", lambda: (lambda h: h if h[0] == "200" else None)(
            health()), 20) or health()
        check("curl /health after the restarts", code == "200", f"{code} {body}")
        # The guides first: the SOCK and gpsd steps after them add a receiver and a /dev/pps0.
        check_guides(box, net, deb)
        if shutil.which("chronyd"):
            check_nts(box, root, net)
        else:
            print("NTS in the package: skipped (no chronyd on this machine)")
        check_sock(box, root)
        # Removal stops the administrator's SOCK socket too; purge forgets it was enabled.
        r = box.sh("dpkg --purge horloge 2>&1", timeout=120)
        check("dpkg --purge horloge", r.returncode == 0, r.stdout[-2000:])
        left = box.sh(f"ls -d {SOCK_PATH} /etc/systemd/system/*/horloge-* 2>/dev/null; "
                      f"systemctl is-active {SOCK_UNIT}").stdout.split()
        check(f"no {SOCK_PATH}, unit or symlink left after purge", left == ["inactive"], left)
        print(box.sh("journalctl --no-pager -q -u 'horloge-*' | tail -40").stdout)
    finally:
        if box is not None:
            if failures and box.leader:
                print(box.sh("journalctl --no-pager -q -b | tail -150").stdout)
            box.stop()
            box.log.seek(0)
            if failures:
                print("---- nspawn ----")
                print(box.log.read()[-5000:])
        net.close()
    if failures:
        print("package: FAIL:", ", ".join(failures))
        sys.exit(1)
    print("package: PASS")


if __name__ == "__main__":
    main()
