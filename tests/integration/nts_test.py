#!/usr/bin/env python3
"""NTS (RFC 8915) end to end, with chrony from Debian as the client.

The appliance (horloge-launch as root, real sandbox, seccomp kill, simulated receiver,
`clock sim`: nothing touches the host clock) serves NTS with a self-signed certificate made
here. `chronyd -Q` (measures, never sets the clock) with `server ... nts` and `ntstrustedcerts`
in the client namespace must get authenticated time:
  1. after a key exchange (ntskd counts it, netd counts NTS requests);
  2. with the cookies it saved (ntsdumpdir) after a key rotation (`nts rotate 10`): no new key
     exchange, the old key still opens them;
  3. after the whole appliance (every daemon) restarted: the keys persisted in statedir;
  4. over IPv6 (key exchange and NTP to fd7e::1), in interleaved mode (`xleave`): chronyd's
     measurements are marked interleaved ("4I"), netd counts interleaved NTS replies.
Then bad NTS-KE input, each refused and counted by ntskd while chronyd still gets time:
wrong ALPN, TLS 1.2, a truncated request, an oversized one, an unknown critical record, more
idle connections than `nts maxconnections`; and malformed NTS fields to netd, dropped silently.
Then a certificate replaced on disk is served without a restart. Last, `nts ratelimit`: a
burst of key exchanges from one address is refused beyond its burst (closed before TLS,
counted as `refused_rate`), while another address and IPv6 still get cookies.
"""
import glob
import hashlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Appliance, Pair, require_root, wait_for  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
SERVER = Pair.SERVER4


def locked(net):
    r = net.exec(net.client, "ntpdig", "-j", "-t", "1", SERVER, check=False)
    if r.returncode != 0:
        return None
    j = json.loads(r.stdout.strip().splitlines()[-1])
    return j if j["stratum"] == 1 and j["leap"] == "no-leap" else None


def status(net, conf):
    r = net.exec(net.server, f"{BIN}/horlogectl", "-f", conf, "status", "-j", check=False)
    return json.loads(r.stdout) if r.stdout.strip() else None


def body(st, peer):
    p = (st or {}).get(peer, {})
    return p.get("body", {}) if p.get("connected") else {}


def chrony_nts(net, workdir, cert, dumpdir, server=SERVER, options=""):
    """chronyd -Q over NTS; returns (exit code, output, measurement lines)."""
    os.makedirs(workdir, exist_ok=True)
    for f in glob.glob(os.path.join(workdir, "*.log")):
        os.unlink(f)
    directives = [
        f"server {server} iburst nts minpoll -2 maxpoll -2 {options}",
        f"ntstrustedcerts {cert}",
        f"ntsdumpdir {dumpdir}",
        f"pidfile {workdir}/chronyd.pid",
        "cmdport 0",
        "bindcmdaddress /",
        f"logdir {workdir}",
        "log measurements",
    ]
    r = net.exec(net.client, "timeout", "40", "chronyd", "-Q", "-t", "25", "-u", "root",
                 "-L", "0", "-f", "/dev/null", *directives, check=False)
    lines = []
    path = os.path.join(workdir, "measurements.log")
    if os.path.exists(path):
        with open(path) as f:
            lines = [l for l in f if not l.startswith(("=", " ")) and server in l]
    return r.returncode, r.stdout + r.stderr, lines


def must_measure(net, tmp, name, cert, dumpdir, server=SERVER, options=""):
    code, out, lines = chrony_nts(net, os.path.join(tmp, name), cert, dumpdir, server, options)
    print(f"chronyd -Q ({name}): exit {code}\n{out.strip()}\n{''.join(lines[-3:])}", flush=True)
    assert lines, f"{name}: chronyd logged no authenticated measurement"
    assert "System clock wrong by" in out, f"{name}: chronyd got no time: {out}"
    return lines


KE_CLIENT = r'''
import socket, ssl, sys, json, time
host, port, cert, what = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
source = None   # ("198.18.0.3", 0): connect from another of the client's addresses
def rec(c, t, b): return bytes([(0x80 if c else 0) | t >> 8, t & 255, len(b) >> 8, len(b) & 255]) + b
GOOD = rec(1, 1, b"\0\0") + rec(1, 4, b"\0\x0f")
END = rec(1, 0, b"")
def connect(alpn=("ntske/1",), tls12=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cert)
    ctx.check_hostname = False
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    s = socket.create_connection((host, port), timeout=5, source_address=source)
    return ctx.wrap_socket(s)
def answer(t):
    data = b""
    try:
        while True:
            d = t.recv(4096)
            if not d: break
            data += d
    except (ssl.SSLError, OSError):
        pass
    return data
out = {}
if what == "alpn":
    try:
        connect(alpn=("http/1.1",)); out["refused"] = False
    except (ssl.SSLError, OSError) as e:
        out["refused"] = True; out["error"] = str(e)
elif what == "tls12":
    try:
        connect(tls12=True); out["refused"] = False
    except (ssl.SSLError, OSError) as e:
        out["refused"] = True; out["error"] = str(e)
elif what == "truncated":
    t = connect(); t.sendall(GOOD[:7]); t.close(); out["sent"] = 7
elif what == "oversized":
    t = connect(); t.sendall(GOOD + rec(0, 0x1234, b"x" * 1500) + END); out["answer"] = answer(t).hex()
elif what == "critical":
    t = connect(); t.sendall(GOOD + rec(1, 0x1234, b"abcd") + END); out["answer"] = answer(t).hex()
elif what == "good":
    t = connect(); t.sendall(GOOD + END); a = answer(t); out["answer"] = a.hex()
elif what == "burst":
    # N key exchanges in a row: True for each that got 8 cookies, False for each refused
    # (closed before or during the handshake).
    n = int(sys.argv[5])
    if len(sys.argv) > 6: source = (sys.argv[6], 0)
    out["got"] = []
    for i in range(n):
        try:
            t = connect(); t.sendall(GOOD + END); a = answer(t)
            types, off = [], 0
            while off + 4 <= len(a):
                types.append(int.from_bytes(a[off:off + 2], "big") & 0x7fff)
                off += 4 + int.from_bytes(a[off + 2:off + 4], "big")
            out["got"].append(types.count(5) == 8)   # New Cookie records
        except (ssl.SSLError, OSError):
            out["got"].append(False)
elif what == "cert":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["ntske/1"])
    t = ctx.wrap_socket(socket.create_connection((host, port), timeout=5))
    import hashlib
    out["sha256"] = hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()
    t.sendall(GOOD + END); answer(t)
elif what == "idle":
    n = int(sys.argv[5]); socks = []
    for i in range(n):
        try: socks.append(socket.create_connection((host, port), timeout=2))
        except OSError: break
    out["opened"] = len(socks)
    def closed():
        n = 0
        for s in socks:
            s.settimeout(0.01)
            try:
                if s.recv(1) == b"": n += 1
            except socket.timeout: pass
            except OSError: n += 1
        return n
    time.sleep(1.5)
    out["closed_at_once"] = closed()     # over maxconnections
    time.sleep(5)
    out["closed_later"] = closed()       # the session timeout (5 s)
print(json.dumps(out))
'''


def ke(net, tmp, cert, what, *args, host=SERVER):
    script = os.path.join(tmp, "ke_client.py")
    with open(script, "w") as f:
        f.write(KE_CLIENT)
    r = net.exec(net.client, "python3", script, host, "4460", cert, what, *map(str, args),
                 check=False)
    print(f"NTS-KE {what}: {r.stdout.strip()} {r.stderr.strip()[-300:]}", flush=True)
    return json.loads(r.stdout) if r.returncode == 0 else {}


def records(hexdata):
    b = bytes.fromhex(hexdata)
    out, off = [], 0
    while off + 4 <= len(b):
        t, n = int.from_bytes(b[off:off + 2], "big"), int.from_bytes(b[off + 2:off + 4], "big")
        out.append((t & 0x7fff, b[off + 4:off + 4 + n]))
        off += 4 + n
    return out


def make_cert(cert, key, name):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    f"/CN={name}", "-addext", f"subjectAltName=IP:{SERVER},IP:{Pair.SERVER6},DNS:{name}",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)


def main():
    require_root()
    if shutil.which("chronyd") is None or shutil.which("ntpdig") is None:
        print("SKIP: needs chronyd (chrony) and ntpdig (ntpsec-ntpdig)")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="horloge-nts-")
    os.chmod(tmp, 0o755)
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    make_cert(cert, key, "horloge.test")
    dumpdir = os.path.join(tmp, "chrony-cookies")
    os.makedirs(dumpdir)
    conf = f"""
listen {SERVER}
listen {Pair.SERVER6}
refclock sim jitter 1e-6
clock sim
nts cert {cert} key {key}
nts rotate 10
nts maxconnections 20
"""
    net = Pair("nt")
    app = None
    try:
        app = Appliance(net, net.server, BIN, tmp, "nts", conf)
        wait_for("stratum 1 from ntpdig", lambda: locked(net), 60)

        # 1. A key exchange, then authenticated time.
        must_measure(net, tmp, "first", cert, dumpdir)
        st = wait_for("ntskd and netd counters", lambda: (lambda s: s if int(body(s, "ntskd").get(
            "completed", 0)) and int(body(s, "netd").get("nts_requests", 0)) else None)(
                status(net, app.conf)), 10)
        ke1 = int(body(st, "ntskd")["completed"])
        print("ntskd:", body(st, "ntskd"), "\nnts:", st.get("nts"),
              "\nnetd nts:", {k: v for k, v in body(st, "netd").items() if "ts" in k.lower()})
        assert int(body(st, "ntskd")["cookies_issued"]) == 8 * ke1
        assert os.listdir(dumpdir), "chronyd saved no cookies"
        keyfile = os.path.join(tmp, "state-nts", "nts-keys")
        assert oct(os.stat(keyfile).st_mode & 0o777) == "0o600", oct(os.stat(keyfile).st_mode)
        with open(keyfile) as f:
            secret = f.read().split()[-1]
        assert json.dumps(st).find(secret) < 0, "key material in the status"

        # 2. After a rotation: the saved cookies (sealed under the previous key) still work,
        # without a new key exchange.
        rotations = int(st["nts"].get("rotations", 0))
        wait_for("a key rotation", lambda: int((status(net, app.conf) or {}).get("nts", {}).get(
            "rotations", 0)) > rotations, 20)
        must_measure(net, tmp, "rotated", cert, dumpdir)
        time.sleep(1.5)   # ntskd and netd push their counters every second
        st = status(net, app.conf)
        assert int(body(st, "ntskd")["completed"]) == ke1, "chronyd made a new key exchange"
        naks = int(body(st, "netd").get("nts_naks", 0))
        print("after rotation: keys", st["nts"], "NAKs", naks)

        # 3. Every daemon restarted (the whole appliance): keys from statedir, old cookies good.
        app.stop()
        app = Appliance(net, net.server, BIN, tmp, "nts", conf)
        wait_for("stratum 1 again", lambda: locked(net), 60)
        must_measure(net, tmp, "restarted", cert, dumpdir)
        st = wait_for("counters after restart", lambda: (lambda s: s if int(body(s, "netd").get(
            "nts_requests", 0)) else None)(status(net, app.conf)), 10)
        assert int(body(st, "ntskd").get("sessions", 0)) == 0, "a key exchange after restart"
        print("after restart: netd", {k: v for k, v in body(st, "netd").items() if "ts" in k.lower()})

        # 3b. IPv6 (key exchange on [fd7e::1]:4460, NTP to fd7e::1) with interleaved mode: a new
        # key exchange (no saved cookies), then authenticated replies chronyd marks "4I".
        before = body(st, "netd")
        v6 = os.path.join(tmp, "v6-cookies")
        os.makedirs(v6)
        lines = must_measure(net, tmp, "ipv6-xleave", cert, v6, Pair.SERVER6, "xleave maxsamples 8")
        modes = [l.split()[-3] for l in lines]   # "4I" / "4B", then TX and RX stamp sources
        print("NTS over IPv6, reply modes:", modes)
        assert "4I" in modes, f"no interleaved NTS reply over IPv6: {modes}"

        def v6_counted():
            s = status(net, app.conf)
            n, k = body(s, "netd"), body(s, "ntskd")
            return s if (int(k.get("completed", 0)) >= 1 and
                         int(n.get("interleaved", 0)) > int(before.get("interleaved", 0)) and
                         int(n.get("nts_requests", 0)) >= int(before.get("nts_requests", 0)) +
                         len(lines)) else None
        st = wait_for("an IPv6 key exchange, interleaved NTS replies", v6_counted, 10)
        print("after IPv6 + xleave: ntskd", body(st, "ntskd"), "\nnetd",
              {k: v for k, v in body(st, "netd").items() if "ts" in k.lower() or "inter" in k})

        # 4. Bad NTS-KE input: refused and counted, by reason.
        assert ke(net, tmp, cert, "alpn").get("refused"), "wrong ALPN accepted"
        assert ke(net, tmp, cert, "tls12").get("refused"), "TLS 1.2 accepted"
        ke(net, tmp, cert, "truncated")
        over = records(ke(net, tmp, cert, "oversized").get("answer", ""))
        assert (2, b"\0\x01") in over, f"oversized: no Bad Request error: {over}"
        crit = records(ke(net, tmp, cert, "critical").get("answer", ""))
        assert (2, b"\0\x00") in crit, f"unknown critical: no error 0: {crit}"
        good = records(ke(net, tmp, cert, "good").get("answer", ""))
        assert sum(1 for t, _ in good if t == 5) == 8, f"not 8 cookies: {good}"
        idle = ke(net, tmp, cert, "idle", 60)
        assert idle.get("opened") == 60, idle
        assert idle.get("closed_at_once") == 40, idle   # 20 may stay, the rest go at once
        assert idle.get("closed_later") == 60, idle     # and those 20 time out

        def refused():
            s = body(status(net, app.conf), "ntskd")
            want = ("failed_alpn", "failed_handshake", "failed_truncated", "failed_oversized",
                    "failed_unknown_critical", "refused_busy", "failed_timeout")
            return s if all(int(s.get(k, 0)) > 0 for k in want) and int(
                s.get("open_connections", 1)) == 0 else None
        s = wait_for("ntskd's failure counters", refused, 10, fail=False)
        print("ntskd after bad input:", s or body(status(net, app.conf), "ntskd"))
        assert s, "a failure was not counted"

        # 5. Malformed NTS fields to netd: no reply, counted.
        pkt = bytearray(48)
        pkt[0] = 0x23
        uid = (0x0104).to_bytes(2, "big") + (36).to_bytes(2, "big") + b"u" * 32
        auth = (0x0404).to_bytes(2, "big") + (40).to_bytes(2, "big") + b"\0\x10\0\x10" + b"n" * 32
        bad = bytes(pkt) + uid + auth   # no cookie
        probe = (f"import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                 f"s.settimeout(1);s.sendto(bytes.fromhex('{bad.hex()}'),('{SERVER}',123));\n"
                 f"try:\n  print(len(s.recv(2048)))\nexcept socket.timeout:\n  print('none')")
        r = net.exec(net.client, "python3", "-c", probe, check=False)
        assert r.stdout.strip() == "none", f"malformed NTS got a reply: {r.stdout}"
        wait_for("dropped_nts", lambda: int(body(status(net, app.conf), "netd").get(
            "dropped_nts", 0)) > 0, 5)

        # chronyd still gets authenticated time after all that.
        must_measure(net, tmp, "after-abuse", cert, dumpdir)

        # 6. A certificate replaced on disk (a renewal) is served without a restart.
        new_cert, new_key = cert + ".new", key + ".new"
        make_cert(new_cert, new_key, "horloge-renewed.test")
        der = subprocess.run(["openssl", "x509", "-in", new_cert, "-outform", "DER"], check=True,
                             capture_output=True).stdout
        want = hashlib.sha256(der).hexdigest()
        # ntskd reads it as its own user (nobody here) once locked down: the operator's renewal
        # gives that user the key (in the package, group _horloge-ntskd).
        nobody = pwd.getpwnam("nobody")
        os.chown(new_key, nobody.pw_uid, nobody.pw_gid)
        os.replace(new_key, key)
        os.replace(new_cert, cert)
        wait_for("the renewed certificate served", lambda: ke(net, tmp, cert, "cert").get(
            "sha256") == want, 25)
        fresh = os.path.join(tmp, "fresh-cookies")   # no cookies: a new key exchange
        os.makedirs(fresh)
        must_measure(net, tmp, "renewed", cert, fresh)
        assert app.running(), "the appliance died (seccomp?)"
        app.stop()

        # 7. `nts ratelimit`: from one address a burst of 4, then one per 64 s (leak 4: one
        # limited connection in 16 still let through at random); another address of the same
        # client host, and IPv6, are not affected.
        app = Appliance(net, net.server, BIN, tmp, "nts", conf + "nts ratelimit interval 6 burst 4 leak 4\n")
        wait_for("stratum 1 with nts ratelimit", lambda: locked(net), 60)
        wait_for("ntskd has keys", lambda: int(body(status(net, app.conf), "ntskd").get(
            "key_age_ns", -1)) >= 0, 10)
        other = "198.18.0.3"
        dev = net.exec(net.client, "ip", "-o", "link", "show", "type", "veth").stdout.split(":")[1].strip()
        net.exec(net.client, "ip", "addr", "add", f"{other}/24", "dev", dev.split("@")[0])
        got = ke(net, tmp, cert, "burst", 20).get("got", [])
        refused = got.count(False)
        print(f"a burst of 20 from {Pair.CLIENT4}: {got.count(True)} key exchanges, {refused} refused")
        assert len(got) == 20 and all(got[:4]), got
        assert refused >= 10, f"nts ratelimit let most of a burst through: {got}"
        assert all(ke(net, tmp, cert, "burst", 4, other).get("got", [])), "another address limited"
        assert all(ke(net, tmp, cert, "burst", 2, host=Pair.SERVER6).get("got", [])), "IPv6 limited"

        def rate_counted():
            k = body(status(net, app.conf), "ntskd")
            return k if (int(k.get("refused_rate", -1)) == refused and
                         int(k.get("completed", 0)) == 20 - refused + 6 and
                         int(k.get("open_connections", 1)) == 0) else None
        k = wait_for("refused_rate counted", rate_counted, 10, fail=False)
        print("ntskd with nts ratelimit:", k or body(status(net, app.conf), "ntskd"))
        assert k, "the refused key exchanges were not counted as refused_rate"
        assert int(k.get("refused_busy", 0)) == 0 and int(k.get("failed_io", 0)) == 0, k
        assert app.running(), "the appliance died (seccomp?)"
        app.stop()
        print("nts: PASS")
    finally:
        if app is not None:
            app.stop()
            app.dump(6000)
        net.close()


if __name__ == "__main__":
    main()
