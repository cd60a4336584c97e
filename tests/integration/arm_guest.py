"""An emulated ARM machine running Debian 12, for the booted-package test on arm64 and armhf.

Everything comes from Debian packages: the root file system is debootstrap'd for the
architecture (the second stage runs under qemu-user-static through binfmt_misc), Debian's own
kernel and initrd come out of it, and QEMU boots them (TCG) with systemd as PID 1. The image is
cached outside any source tree, in $HORLOGE_ARM_CACHE (default /var/cache/horloge-arm-test)/ARCH,
and made again when it is missing or when the recipe below changes (its hash is the stamp).
Each boot writes to a throw-away overlay (QEMU's snapshot=on): the cached image never changes.

The guest runs inside a network namespace made here, on QEMU's user-mode network with
restrict=on (it reaches nothing), forwarded to that namespace's loopback: ssh (22) for the test's
commands, NTP (UDP 123) and HTTPS (TCP 443) for the real clients. Its GPS is a QEMU socket
character device wired to a serial port of the guest (see MACHINES).

    arm_guest.py build ARCH      makes (or checks) the cached image and prints where it is
"""
import fcntl
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from debian import mirror  # noqa: E402

CACHE = os.environ.get("HORLOGE_ARM_CACHE", "/var/cache/horloge-arm-test")
HOSTNAME = "horloge-arm"
LABEL = "horloge-root"
IMAGE_SIZE = "2G"          # a power of two, as QEMU wants for an SD card image

# The guest's packages: a minimal Debian 12 with systemd, its kernel, sshd for the test's
# commands, and everything the horloge .deb depends on (apt installs it without a network).
COMMON = ["systemd", "systemd-sysv", "dbus", "udev", "kmod", "iproute2", "procps", "openssl",
          "openssh-server", "initramfs-tools", "libcapnp-0.9.2", "libseccomp2", "libcap2",
          "libssl3", "libsystemd0"]


class Arch:
    def __init__(self, name, kernel, binfmt, qemu, uname, machine):
        self.name, self.kernel, self.binfmt, self.qemu = name, kernel, binfmt, qemu
        self.uname, self.machine = uname, machine


# QEMU's `virt` board for both. The GPS is QEMU's usb-serial (an FTDI FT232 on an xHCI
# controller): the guest's ftdi_sio driver and tty layer give /dev/ttyUSB0, termios and all, as
# with the USB GPS receivers people plug into a Pi; `virt` has a single PL011, which is the
# console, and a virtio-serial port is not a tty at all (hvc has no termios speed and is not a
# serial device class the unit allows).
ARCHS = {
    "arm64": Arch("arm64", "linux-image-arm64", "qemu-aarch64", "qemu-system-aarch64",
                  "aarch64", ["-M", "virt", "-cpu", "cortex-a72"]),
    "armhf": Arch("armhf", "linux-image-armmp-lpae", "qemu-arm", "qemu-system-arm",
                  "armv7l", ["-M", "virt,highmem=off", "-cpu", "cortex-a7"]),
}
GPS_DEVICE = "/dev/ttyUSB0"

# Written into the root before it becomes an image.
FILES = {
    "etc/hostname": f"{HOSTNAME}\n",
    "etc/hosts": f"127.0.0.1 localhost\n127.0.1.1 {HOSTNAME}\n::1 localhost\n",
    "etc/fstab": f"LABEL={LABEL} / ext4 defaults,noatime 0 1\n",
    "etc/systemd/network/80-dhcp.network": "[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n",
    "etc/ssh/sshd_config.d/horloge-test.conf": "PermitRootLogin prohibit-password\nUseDNS no\n",
}
# The initrd holds only what mounts the root: the virtio disk (virt) or the SD card (raspi3b),
# and ext4 (MODULES=list; `most` takes mkinitramfs over ten minutes under qemu-user). In place
# before the second stage, so that the kernel's postinst makes it once, in files dpkg leaves
# alone (neither is any package's conffile).
INITRAMFS = {
    "etc/initramfs-tools/conf.d/horloge-test.conf": "MODULES=list\nCOMPRESS=gzip\n",
    "usr/share/initramfs-tools/modules.d/horloge-test":
        "virtio_pci\nvirtio_blk\nmmc_block\nsdhci_iproc\nbcm2835\next4\n",
}
# Nothing that would spend the emulated CPU on its own schedule, no login on a VT.
MASK = ["apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer",
        "e2scrub_all.timer", "fstrim.timer", "getty@tty1.service",
        "systemd-networkd-wait-online.service"]
ENABLE = ["systemd-networkd.service"]
RECIPE = 1   # bump when the steps in build() change in a way the lists above do not show


def recipe_hash(arch):
    text = json.dumps([RECIPE, arch.kernel, COMMON, FILES, INITRAMFS, MASK, ENABLE],
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def log(*args):
    print("arm:", *args, flush=True)


def run(args, **kw):
    kw.setdefault("check", True)
    return subprocess.run(args, text=True, **kw)


def ensure_binfmt(arch):
    """qemu-user-static registered for ARCH (mounting binfmt_misc where nothing did, as on a
    machine whose PID 1 is not systemd). Returns an error text, or None."""
    base = "/proc/sys/fs/binfmt_misc"
    if not os.path.exists(os.path.join(base, "register")):
        r = run(["mount", "-t", "binfmt_misc", "binfmt_misc", base], check=False,
                capture_output=True)
        if r.returncode != 0:
            return f"cannot mount binfmt_misc: {r.stderr.strip()}"
    entry = os.path.join(base, arch.binfmt)
    conf = f"/usr/lib/binfmt.d/{arch.binfmt}.conf"
    if not os.path.exists(entry):
        if not os.path.exists(conf):
            return f"{conf} missing (apt-get install qemu-user-static)"
        run(["/lib/systemd/systemd-binfmt", conf], check=False)
    if not os.path.exists(entry):
        return f"binfmt_misc entry {arch.binfmt} not registered"
    return None


class Image:
    """The cached image of ARCH: root file system, kernel, initrd and the test's ssh key."""

    def __init__(self, arch):
        self.arch = arch
        self.dir = os.path.join(CACHE, arch.name)
        self.root = os.path.join(self.dir, "root.img")
        self.kernel = os.path.join(self.dir, "vmlinuz")
        self.initrd = os.path.join(self.dir, "initrd.img")
        self.key = os.path.join(self.dir, "id_ed25519")
        self.stamp = os.path.join(self.dir, "stamp")

    def fresh(self):
        try:
            return open(self.stamp).read().strip() == recipe_hash(self.arch)
        except OSError:
            return False

    def ensure(self):
        """Builds the image unless a fresh one is cached; returns the seconds spent."""
        os.makedirs(CACHE, exist_ok=True)
        with open(os.path.join(CACHE, f"{self.arch.name}.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)   # one builder at a time
            if self.fresh():
                return 0.0
            start = time.monotonic()
            self.build()
            return time.monotonic() - start

    def build(self):
        arch = self.arch
        err = ensure_binfmt(arch)
        if err:
            raise RuntimeError(err)
        # An interrupted build may have left the second stage's /proc and /sys mounted.
        for m in reversed(open("/proc/mounts").read().splitlines()):
            if m.split()[1].startswith(self.dir + "/"):
                run(["umount", "-l", m.split()[1]], check=False)
        run(["rm", "-rf", "--one-file-system", self.dir])
        os.makedirs(self.dir)
        tree = os.path.join(self.dir, "tree")
        include = ",".join(COMMON + [arch.kernel])
        url = mirror()
        log(f"debootstrap {arch.name} (first stage) from {url}")
        t0 = time.monotonic()
        run(["debootstrap", "--foreign", f"--arch={arch.name}", "--variant=minbase",
             f"--include={include}", "bookworm", tree, url], stdout=subprocess.DEVNULL)
        for path, text in INITRAMFS.items():
            os.makedirs(os.path.dirname(os.path.join(tree, path)), exist_ok=True)
            with open(os.path.join(tree, path), "w") as f:
                f.write(text)
        log(f"debootstrap {arch.name} second stage under {arch.binfmt} (binfmt_misc)")
        t1 = time.monotonic()
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
               "DEBIAN_FRONTEND": "noninteractive"}
        r = run(["chroot", tree, "/debootstrap/debootstrap", "--second-stage"], env=env,
                check=False, capture_output=True)
        if r.returncode != 0:
            for f in glob.glob(os.path.join(tree, "debootstrap", "debootstrap.log")):
                print(open(f).read()[-5000:])
            raise RuntimeError(f"second stage failed: {r.stdout[-2000:]} {r.stderr[-2000:]}")
        t2 = time.monotonic()
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "horloge-arm-test",
             "-f", self.key])
        files = dict(FILES)
        files["root/.ssh/authorized_keys"] = open(self.key + ".pub").read()
        for path, text in files.items():
            full = os.path.join(tree, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)
        os.chmod(os.path.join(tree, "root/.ssh"), 0o700)
        for unit in MASK:
            link = os.path.join(tree, "etc/systemd/system", unit)
            if not os.path.lexists(link):
                os.symlink("/dev/null", link)
        chroot = ["chroot", tree]
        run(chroot + ["systemctl", "enable"] + ENABLE, env=env, capture_output=True)
        run(chroot + ["apt-get", "clean"], env=env)   # no package cache in the image
        kernels = sorted(glob.glob(os.path.join(tree, "boot", "vmlinuz-*")))
        initrds = sorted(glob.glob(os.path.join(tree, "boot", "initrd.img-*")))
        if len(kernels) != 1 or len(initrds) != 1:
            raise RuntimeError(f"expected one kernel and initrd: {kernels} {initrds}")
        shutil.copy(kernels[0], self.kernel)
        shutil.copy(initrds[0], self.initrd)
        with open(os.path.join(self.dir, "kernel-version"), "w") as f:
            f.write(os.path.basename(kernels[0])[len("vmlinuz-"):] + "\n")
        for m in open("/proc/mounts").read().splitlines():
            if m.split()[1].startswith(tree):
                raise RuntimeError(f"still mounted in the tree: {m}")
        log(f"mkfs.ext4 -d: {IMAGE_SIZE} image")
        run(["mkfs.ext4", "-q", "-L", LABEL, "-d", tree, self.root + ".part", IMAGE_SIZE])
        os.rename(self.root + ".part", self.root)
        run(["rm", "-rf", "--one-file-system", tree])
        t3 = time.monotonic()
        with open(self.stamp, "w") as f:
            f.write(recipe_hash(arch) + "\n")
        log(f"image {arch.name}: first stage {t1 - t0:.0f} s, second stage {t2 - t1:.0f} s, "
            f"kernel/initrd/image {t3 - t2:.0f} s")


class Guest:
    """ARCH's image booted by QEMU in network namespace `ns`, reached over ssh."""

    def __init__(self, image, work, ns, smp=2, memory=1024, extra=()):
        self.image, self.work, self.ns = image, work, ns
        arch = image.arch
        self.console = os.path.join(work, "console.log")
        self.gps = os.path.join(work, "gps.sock")
        self.control = f"/tmp/horloge-arm-{os.getpid()}-{arch.name}.ssh"
        for p in (self.gps, self.control):
            if os.path.exists(p):
                os.unlink(p)
        fwd = "hostfwd=tcp:127.0.0.1:22-:22,hostfwd=udp:127.0.0.1:123-:123," \
              "hostfwd=tcp:127.0.0.1:443-:443"
        self.argv = [
            arch.qemu, *arch.machine, "-smp", str(smp), "-m", str(memory),
            "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", image.kernel, "-initrd", image.initrd,
            "-append", f"root=LABEL={LABEL} rw console=ttyAMA0 panic=-1 quiet",
            "-drive", f"file={image.root},format=raw,if=none,id=disk,snapshot=on",
            "-device", "virtio-blk-pci,drive=disk",
            "-netdev", f"user,id=net,{fwd}",
            "-device", "virtio-net-pci,netdev=net,romfile=",   # no PXE: the kernel is given
            "-device", "virtio-rng-pci",
            "-chardev", f"file,id=console,path={self.console}",
            "-serial", "chardev:console",
            "-chardev", f"socket,id=gps,path={self.gps},server=on,wait=off",
            "-device", "qemu-xhci", "-device", "usb-serial,chardev=gps",
            *extra]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns] + self.argv,
                                     stdout=open(os.path.join(work, "qemu.log"), "w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def ssh_argv(self, timeout=10):
        return ["ip", "netns", "exec", self.ns, "ssh", "-i", self.image.key,
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", f"ConnectTimeout={timeout}",
                "-o", "ControlMaster=auto", "-o", f"ControlPath={self.control}",
                "-o", "ControlPersist=900", "-o", "ServerAliveInterval=10",
                "root@127.0.0.1"]

    def sh(self, command, timeout=120, check=False, stdin=None):
        r = subprocess.run(self.ssh_argv() + ["--", command], text=stdin is None,
                           input=stdin, capture_output=True, timeout=timeout)
        if stdin is not None:
            r = subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode(),
                                            r.stderr.decode())
        if check and r.returncode != 0:
            raise AssertionError(f"{command}: {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def put(self, local, remote):
        with open(local, "rb") as f:
            self.sh(f"cat > {remote}", stdin=f.read(), check=True, timeout=300)

    def alive(self):
        return self.proc.poll() is None

    def wait_ssh(self, timeout):
        """Seconds from QEMU's start until sshd answered, or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            try:
                if self.sh("true", timeout=30).returncode == 0:
                    return time.monotonic() - self.started
            except subprocess.TimeoutExpired:
                pass
            time.sleep(2)
        return None

    def console_tail(self, n=4000):
        try:
            return open(self.console, errors="replace").read()[-n:]
        except OSError:
            return ""

    def stop(self):
        if self.alive():
            try:
                self.sh("systemctl poweroff", timeout=20)
            except subprocess.TimeoutExpired:
                pass
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        subprocess.run(["ssh", "-o", f"ControlPath={self.control}", "-O", "exit", "x"],
                       capture_output=True)
        if os.path.exists(self.control):
            os.unlink(self.control)


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "build" or sys.argv[2] not in ARCHS:
        raise SystemExit(f"usage: {sys.argv[0]} build {'|'.join(ARCHS)}")
    image = Image(ARCHS[sys.argv[2]])
    spent = image.ensure()
    print(f"{image.dir}: {'built in %.0f s' % spent if spent else 'cached'}")


if __name__ == "__main__":
    main()
