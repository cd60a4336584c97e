#!/usr/bin/env python3
"""The .deb on its real platform: arm64 or armhf, booted on an emulated ARM machine.

    arm_package_test.py ARCH SOURCE_DIR WORK_DIR [CROSS_TREE]

1. Cross-builds horloge_*_ARCH.deb with packaging/build-deb (or takes $HORLOGE_DEB).
2. Takes the Debian 12 image for ARCH from arm_guest.py (debootstrap, second stage under
   qemu-user-static; Debian's kernel and initrd), made once and cached outside the tree.
3. Boots it with QEMU (TCG, `virt` board), systemd as PID 1, in a network namespace made here.
4. Installs the .deb with apt inside, over a configuration put in place first and kept:
   `refclock nmea /dev/ttyUSB0`, `clock observe` (nothing adjusts any clock), `seccomp kill`.
   The units are the package's own: clockd drops CAP_SYS_TIME itself with `clock observe`.
5. The GPS: u-blox-like NMEA written here into the QEMU character device of the guest's
   usb-serial port; refclockd reads it through the guest's ftdi_sio driver and tty layer until
   the appliance is synchronised.
6. Checks from inside what package_test.py checks on amd64: the services and sockets active,
   each daemon's Uid, CapEff, NoNewPrivs and Seccomp (every thread), the watchdog, each
   service killed and restarted while the others keep running, `horlogectl status`; and from
   this host through QEMU's forwarded ports, real clients: ntpdig and python3-ntplib get a
   synchronised answer (stratum 1, no leap alarm), curl gets /health.
7. The guest's journal and kernel log for the whole test: no SIGSYS, no seccomp record.
8. With CROSS_TREE (tests/cross-unit.sh's tree for ARCH): unit tests on the guest's ARM kernel:
   those qemu-user cannot run, sandbox-test (the seccomp filters, kill mode included) and
   netd-test (UDP sockets with kernel receive and transmit stamps), and common-test (a time
   past 2038 through the kernel).

HORLOGE_ARM_SECCOMP=log runs the daemons with `seccomp log` instead and lists every call the
kernel logged (audit type 1326) by daemon and name: how the ARM allowlists were found.
Exits 77 (skipped) when not root or a tool is missing.
"""
import glob
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import netns  # noqa: E402
from arm_guest import ARCHS, GPS_DEVICE, Guest, Image, ensure_binfmt  # noqa: E402
from debian import SERVICES, SOCKETS  # noqa: E402
from netns import require_root, require_tools, SerialFeeder, skip  # noqa: E402

ARCH = ARCHS.get(sys.argv[1]) if len(sys.argv) in (4, 5) else None
if ARCH is None:
    raise SystemExit(f"usage: {sys.argv[0]} {'|'.join(ARCHS)} SOURCE_DIR WORK_DIR [CROSS_TREE]")
SRC = os.path.abspath(sys.argv[2])
WORK = os.path.abspath(sys.argv[3])
CROSS_TREE = os.path.abspath(sys.argv[4]) if len(sys.argv) == 5 else None
# Unit tests run again on the guest's kernel: those qemu-user cannot run (tests/cross-unit.sh
# says which), and common-test, whose platform cases then take a time past 2038 through the
# ARM kernel's own 64-bit time calls (utimensat_time64 and statx on armhf).
KERNEL_UNIT_TESTS = ["sandbox-test", "netd-test", "common-test"]
SECCOMP = os.environ.get("HORLOGE_ARM_SECCOMP", "kill")

CONFIG = f"""# horloge on emulated ARM: a u-blox receiver on USB serial, a clock that is never adjusted.
refclock nmea {GPS_DEVICE} baud 9600
clock observe
monitor cert /etc/horloge/tls/horloge.crt key /run/credentials/horloge-monitord.service/tls.key
seccomp {SECCOMP}
"""

failures = []
# What the test found, printed together at its end ("arm summary:" lines).
summary = []


def check(what, ok, detail=""):
    """Counts a failure; `detail` is shown when it failed, or when it is one short line."""
    detail = str(detail)
    show = detail and (not ok or (len(detail) < 160 and "\n" not in detail.strip()))
    print(("ok   " if ok else "FAIL ") + what + (f": {detail}" if show else ""), flush=True)
    if not ok:
        failures.append(what)
    return ok


def wait_for(what, fn, timeout, interval=1.0):
    return netns.wait_for(what, fn, timeout, interval, fail=False)


def build_deb():
    if os.environ.get("HORLOGE_DEB"):
        return os.path.abspath(os.environ["HORLOGE_DEB"])
    out = os.path.join(WORK, "deb")
    start = time.monotonic()
    r = subprocess.run([os.path.join(SRC, "packaging", "build-deb"), "-o", out, ARCH.name],
                       text=True, capture_output=True)
    if r.returncode != 0:
        print(r.stdout[-5000:], r.stderr[-5000:])
        raise SystemExit(f"packaging/build-deb {ARCH.name} failed")
    print(f"packaging/build-deb {ARCH.name}: {time.monotonic() - start:.0f} s", flush=True)
    summary.append(f"packaging/build-deb {ARCH.name}: {time.monotonic() - start:.0f} s")
    debs = glob.glob(os.path.join(out, f"horloge_*_{ARCH.name}.deb"))
    assert len(debs) == 1, debs
    with open(os.path.join(out, f"lintian-{ARCH.name}.txt")) as f:
        bad = [line for line in f if line[:2] in ("E:", "W:")]
    check(f"lintian ({ARCH.name}) shows no errors or warnings", not bad, "".join(bad))
    return debs[0]


def seccomp_records(guest):
    """The kernel's seccomp audit records of this boot (type 1326), from the journal (audit
    transport or kernel log): [(comm, signal, syscall number)]."""
    text = guest.sh("journalctl -b -q --no-pager -o cat _AUDIT_TYPE=1326; "
                    "journalctl -b -q --no-pager -o cat -k | grep -E 'type=1326'; "
                    "dmesg | grep -E 'type=1326'", timeout=60).stdout
    found = set()
    for line in text.splitlines():
        m = re.search(r'comm="?([^" ]+)"?.*?\bsig=(\d+).*?\bsyscall=(\d+)', line)
        if m:
            found.add((m.group(1), int(m.group(2)), int(m.group(3))))
    return sorted(found)


def syscall_name(number):
    arch = {"arm64": "aarch64", "armhf": "arm"}[ARCH.name]
    r = subprocess.run(["scmp_sys_resolver", "-a", arch, str(number)], text=True,
                       capture_output=True)
    return r.stdout.strip() or f"#{number}"


def run_kernel_unit_tests(guest):
    binaries = [os.path.join(CROSS_TREE or "", "tests", t) for t in KERNEL_UNIT_TESTS]
    if not CROSS_TREE or not all(os.path.exists(b) for b in binaries):
        print(f"SKIP (part): no cross-built {KERNEL_UNIT_TESTS} (tests/cross-unit.sh "
              f"{ARCH.name}) for the guest's kernel", flush=True)
        return
    guest.sh("mkdir -p /var/tmp/unit", check=True)
    for name, binary in zip(KERNEL_UNIT_TESTS, binaries):
        guest.put(binary, f"/var/tmp/unit/{name}")
        t = time.monotonic()
        r = guest.sh(f"cd /var/tmp/unit && chmod +x {name} && ./{name} 2>&1", timeout=900)
        summary = [line for line in r.stdout.splitlines() if "test cases:" in line]
        print(f"{name} on the {ARCH.name} guest's kernel ({time.monotonic() - t:.0f} s): "
              f"{summary[-1] if summary else r.stdout[-3000:]}", flush=True)
        check(f"{name} passes on the guest's ARM kernel", r.returncode == 0, r.stdout[-4000:])
    # sandbox-test's log- and kill-mode cases make records on purpose: the search for them in
    # step 7 would have seen the daemons' too.
    own = [r for r in seccomp_records(guest) if r[0].startswith("sandbox")]
    check("the kernel's seccomp records reach this test (sandbox-test's own)", len(own) > 0,
          str(own))


def main():
    total_start = time.monotonic()
    require_root()
    require_tools(ARCH.qemu, "debootstrap", "ssh", "ssh-keygen", "ntpdig", "curl", "mkfs.ext4", "scmp_sys_resolver")
    err = ensure_binfmt(ARCH)
    if err:
        skip(f"qemu-user-static through binfmt_misc: {err}")
    os.makedirs(WORK, exist_ok=True)
    deb = build_deb()
    print("package:", deb, flush=True)
    image = Image(ARCH)
    spent = image.ensure()
    print(f"image: {image.dir} ({'built in %.0f s' % spent if spent else 'cached'})", flush=True)
    summary.append(f"Debian 12 image {image.dir}: {'built in %.0f s' % spent if spent else 'cached'}")

    ns = f"harm{ARCH.name}{os.getpid()}"[:15]
    netns.run("ip", "netns", "add", ns)
    guest = None
    feeder = None
    try:
        netns.run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        guest = Guest(image, WORK, ns)
        boot = guest.wait_ssh(900)
        if not check(f"{ARCH.name} guest booted, sshd answering", boot is not None,
                     "" if boot else guest.console_tail()):
            raise SystemExit(1)
        print(f"boot: sshd answered {boot:.0f} s after QEMU started", flush=True)
        state = wait_for("systemd up", lambda: (lambda s: s if s in ("running", "degraded")
                                                else None)(
            guest.sh("systemctl is-system-running").stdout.strip()), 300)
        boot_done = time.monotonic() - guest.started
        check("systemd as PID 1 finished booting", state is not None, str(state))
        print(f"boot: system {state} {boot_done:.0f} s after QEMU started", flush=True)
        print(guest.sh("systemd-analyze time; systemctl --failed --no-legend").stdout)
        machine = guest.sh("uname -m").stdout.strip()
        kernel = guest.sh("uname -r").stdout.strip()
        print(f"uname -m (guest): {machine}; uname -r: {kernel}", flush=True)
        summary.append(f"uname -m in the guest: {machine} (kernel {kernel}, "
                       f"QEMU {' '.join(ARCH.machine)}); booted in {boot_done:.0f} s")
        check(f"the guest is {ARCH.uname}", machine == ARCH.uname, machine)
        pid1 = guest.sh("cat /proc/1/comm").stdout.strip()
        check("PID 1 is systemd", pid1 == "systemd", pid1)

        # The receiver talks from now on, whether anyone listens or not.
        feeder = SerialFeeder(guest.gps)
        feeder.start()
        # USB enumerates after userspace is up (xhci_pci and ftdi_sio load from udev).
        wait_for(GPS_DEVICE, lambda: guest.sh(f"test -c {GPS_DEVICE}").returncode == 0, 120)
        tty = guest.sh(f"ls -l {GPS_DEVICE}; "
                       f"readlink -f /sys/class/tty/{os.path.basename(GPS_DEVICE)}/device/driver")
        check(f"{GPS_DEVICE} from the guest's ftdi_sio driver", "ftdi_sio" in tty.stdout,
              tty.stdout + tty.stderr)
        print(tty.stdout.strip())

        # Install as an administrator would; the configuration above is kept.
        guest.sh("mkdir -p /etc/horloge", check=True)
        guest.sh("cat > /etc/horloge/horloge.conf", stdin=CONFIG.encode(), check=True)
        remote = f"/var/tmp/{os.path.basename(deb)}"
        guest.put(deb, remote)
        t = time.monotonic()
        r = guest.sh("DEBIAN_FRONTEND=noninteractive apt-get install -y "
                     "-o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef "
                     f"{remote} 2>&1", timeout=900)
        print(r.stdout[-3000:])
        if not check("apt-get install of the .deb", r.returncode == 0):
            raise SystemExit(1)
        print(f"apt-get install: {time.monotonic() - t:.0f} s", flush=True)
        conf = guest.sh("cat /etc/horloge/horloge.conf").stdout
        check("the test configuration was kept", "clock observe" in conf and GPS_DEVICE in conf)
        check("postinst made a TLS certificate",
              guest.sh("test -s /etc/horloge/tls/horloge.crt && "
                       "stat -c '%a %U' /etc/horloge/tls/horloge.key").stdout.strip()
              == "600 root")

        def all_active():
            return guest.sh("systemctl is-active " + " ".join(f"horloge-{s}" for s in SERVICES)
                            + " " + " ".join(SOCKETS)).returncode == 0
        ok = wait_for("the services active", all_active, 120)
        active_since = time.monotonic()
        installed = time.monotonic()
        check("the four services and five sockets active", ok)
        print(guest.sh("systemctl list-units --no-pager 'horloge-*'").stdout)
        listening = guest.sh("ss -Hlnup; ss -Hlntp; ss -Hlxp").stdout
        check("UDP 123 listening (IPv4)", re.search(r"0\.0\.0\.0:123\b", listening) is not None)
        check("UDP 123 listening (IPv6)", re.search(r"\[::\]:123\b", listening) is not None)
        check("TCP 443 listening", re.search(r"[:*]443\b", listening) is not None)
        for sock in ("refclock", "netd", "status"):
            check(f"/run/horloge/{sock}.sock listening", f"/run/horloge/{sock}.sock" in listening)

        def main_pid(service):
            r = guest.sh(f"systemctl show -P MainPID horloge-{service}")
            return int(r.stdout.strip() or 0)

        # Confinement, as the guest's ARM kernel reports it.
        for s in SERVICES:
            pid = main_pid(s)
            status = guest.sh(f"cat /proc/{pid}/status").stdout
            fields = {k: v.strip() for k, v in
                      (line.split(":", 1) for line in status.splitlines() if ":" in line)}
            uid = guest.sh(f"id -u _horloge-{s}").stdout.strip()
            line = f"{s} pid {pid}: " + "; ".join(
                f"{k}: {' '.join(fields.get(k, '').split())}"
                for k in ("Uid", "Gid", "CapEff", "CapBnd", "NoNewPrivs", "Seccomp", "Threads"))
            print(f"{ARCH.name} {line}", flush=True)
            summary.append(f"/proc/PID/status of {line}")
            check(f"{s} runs as _horloge-{s}", fields.get("Uid", "").split() == [uid] * 4,
                  fields.get("Uid"))
            check(f"{s} CapEff 0 (observe clock)", int(fields.get("CapEff", "1"), 16) == 0)
            check(f"{s} NoNewPrivs 1", fields.get("NoNewPrivs") == "1")
            check(f"{s} Seccomp 2", fields.get("Seccomp") == "2")
            threads = guest.sh(f"grep -h Seccomp: /proc/{pid}/task/*/status").stdout.split()
            check(f"{s}: every thread in seccomp mode 2",
                  threads and all(t in ("Seccomp:", "2") for t in threads))

        # The receiver through the guest's serial driver until the appliance is synchronised.
        def clock_state():
            r = guest.sh("horlogectl status -j", timeout=30)
            try:
                return json.loads(r.stdout)
            except ValueError:
                return None

        def locked():
            st = clock_state()
            return st if st and st.get("clock", {}).get("state") == "locked" else None
        st = wait_for("clockd locked on the NMEA of ttyUSB0", locked, 180)
        check("clockd locked on the receiver's NMEA (refclock nmea through the tty layer)",
              st is not None, json.dumps(clock_state())[:3000] if st is None else "")
        if st:
            print(f"locked {time.monotonic() - installed:.0f} s after the services were active "
                  f"or sooner ({feeder.sent} seconds of NMEA taken by the guest, "
                  f"{feeder.dropped} dropped unread before refclockd opened the port)")
        r = guest.sh("horlogectl status; horlogectl sources; horlogectl gnss", timeout=60)
        print(r.stdout)
        check("horlogectl status", r.returncode == 0 and "locked" in r.stdout,
              r.stdout[-1500:] + r.stderr[-500:])

        # Real clients on this host, through QEMU's user network forwarded to loopback.
        def ntpdig():
            r = netns.run("ip", "netns", "exec", ns, "ntpdig", "-j", "-t", "2", "127.0.0.1",
                          check=False)
            if r.returncode != 0:
                return None
            j = json.loads(r.stdout.strip().splitlines()[-1])
            return j if j.get("stratum") == 1 and j.get("leap") == "no-leap" else None
        j = wait_for("a synchronised answer to ntpdig", ntpdig, 60)
        check("ntpdig on the host: a synchronised answer (stratum 1, no leap alarm)",
              j is not None, str(j))
        print(f"ntpdig -j 127.0.0.1 (forwarded to the {ARCH.name} guest): {json.dumps(j)}",
              flush=True)
        summary.append(f"ntpdig on the host: {json.dumps(j)}")
        r = netns.run("ip", "netns", "exec", ns, "/usr/bin/python3", "-c",
                      "import ntplib; r = ntplib.NTPClient().request('127.0.0.1', version=4, "
                      "timeout=3); print(r.leap, r.stratum, ntplib.ref_id_to_text(r.ref_id), "
                      "'%+.6f' % r.offset)", check=False)
        print(f"python3-ntplib (leap, stratum, refid, offset): {r.stdout.strip()}", flush=True)
        summary.append(f"python3-ntplib on the host (leap, stratum, refid, offset): "
                       f"{r.stdout.strip()}")
        check("python3-ntplib: leap 0, stratum 1", r.stdout.split()[:2] == ["0", "1"],
              r.stdout + r.stderr)
        r = netns.run("ip", "netns", "exec", ns, "curl", "-sS", "-k", "--max-time", "20",
                      "-w", "\n%{http_code}", "https://127.0.0.1/health", check=False)
        print("curl https://127.0.0.1/health:", " ".join(r.stdout.split()))
        summary.append(f"curl https://127.0.0.1/health: {' '.join(r.stdout.split())}")
        check("curl /health over TLS: 200", r.stdout.strip().endswith("200"),
              r.stdout + r.stderr)

        # The watchdog: WatchdogSec=30s has passed without a restart.
        time.sleep(max(0, 35 - (time.monotonic() - active_since)))
        for s in SERVICES:
            props = guest.sh(f"systemctl show -p NRestarts -p WatchdogUSec horloge-{s}").stdout
            check(f"{s}: watchdog set, no restart after 35 s",
                  "NRestarts=0" in props and "WatchdogUSec=30s" in props, props.split())

        # Kill each in turn: it comes back, the others keep their PIDs, NTP keeps answering.
        def answered():
            r = netns.run("ip", "netns", "exec", ns, "ntpdig", "-j", "-t", "2", "127.0.0.1",
                          check=False)
            out = r.stdout + r.stderr
            return r.returncode == 0 or "leap not in sync" in out or "stratum" in out
        for s in SERVICES:
            before = {t: main_pid(t) for t in SERVICES}
            guest.sh(f"systemctl kill -s KILL horloge-{s}", check=True)
            if s != "netd":
                check(f"NTP answered while {s} is down", answered())

            def back():
                pid = main_pid(s)
                active = guest.sh(f"systemctl is-active horloge-{s}").stdout.strip()
                return pid if pid and pid != before[s] and active == "active" else None
            pid = wait_for(f"{s} back", back, 120)
            check(f"{s} restarted after SIGKILL", pid is not None, f"{before[s]} -> {pid}")
            others = {t: main_pid(t) for t in SERVICES if t != s}
            check(f"the others kept running while {s} restarted",
                  all(others[t] == before[t] for t in others), f"{before} -> {others}")
            check(f"NTP answered after {s} came back", wait_for("NTP", answered, 60))
        j = wait_for("stratum 1 again", ntpdig, 180)
        check("ntpdig: synchronised again after the restarts", j is not None, str(j))

        # The whole test in the guest's journal and kernel log.
        records = seccomp_records(guest)
        named = [(comm, sig, syscall_name(nr)) for comm, sig, nr in records]
        if SECCOMP == "log":
            print(f"seccomp log ({ARCH.name}): calls outside the allowlists, by daemon:")
            for comm, sig, name in named:
                print(f"  {comm}: {name}")
            check("no call outside the allowlists was logged", not named, str(named))
        else:
            check("no seccomp record in the kernel log", not named, str(named))
        sigsys = guest.sh("journalctl -b -q --no-pager -o cat | "
                          "grep -E 'SIGSYS|status=31/SYS|code=killed.*SYS' | tail -20").stdout
        check("no SIGSYS in the journal for the whole test", sigsys.strip() == "", sigsys)
        print(guest.sh("journalctl --no-pager -q -u 'horloge-*' | tail -25").stdout)
        r = guest.sh("dpkg --purge horloge 2>&1", timeout=300)
        check("dpkg --purge horloge", r.returncode == 0, r.stdout[-2000:])
        # Last: sandbox-test's kill-mode case makes SIGSYS on purpose.
        run_kernel_unit_tests(guest)
    finally:
        if feeder:
            feeder.stop = True
        if guest is not None:
            if failures and guest.alive():
                print(guest.sh("journalctl --no-pager -q -b | tail -120", timeout=60).stdout)
            if failures:
                print("---- console ----")
                print(guest.console_tail(6000))
            guest.stop()
        netns.run("ip", "netns", "del", ns, check=False)
    summary.append(f"total {time.monotonic() - total_start:.0f} s")
    for line in summary:
        print(f"arm summary: {ARCH.name}: {line}")
    if failures:
        print(f"arm package {ARCH.name}: FAIL:", ", ".join(failures))
        sys.exit(1)
    print(f"arm package {ARCH.name}: PASS")


if __name__ == "__main__":
    main()
