#!/usr/bin/env python3
"""Issue 6: monitord's optional access control over real TLS: client certificates (`monitor
client-ca`) and the bearer token (`monitor token`), checked with curl.

openssl makes, in a temporary directory, a client CA, a client certificate signed by it and a
second, untrusted CA with its own client certificate. The appliance runs in namespace A
(horloge-launch as root, real sandbox, seccomp kill, `refclock sim`, `clock observe`) with
`monitor client-ca` and `monitor token`; curl runs in namespace B over veth:
  - no client certificate: the TLS handshake is refused (no HTTP status at all);
  - a certificate from the untrusted CA: refused the same way;
  - the trusted certificate, no token: /status and /metrics 401, /health not 401 (and 200 once
    locked: load balancers probe it without a token);
  - the trusted certificate with a wrong token: 401; with the right token: 200.
Skips (77) when not root or without curl/openssl.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Appliance, Pair, require_root, require_tools  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
URL = f"https://{Pair.SERVER4}"
TOKEN = "horloge-test-token-0123456789abcdef"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=cwd)


def make_pki(d):
    for ca in ("ca", "rogue-ca"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
                "-subj", f"/CN=horloge test {ca}", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n")
    for client, ca in (("client", "ca"), ("rogue", "rogue-ca")):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", f"{client}.key", "-out", f"{client}.csr", "-subj", f"/CN={client}", cwd=d)
        openssl("x509", "-req", "-in", f"{client}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-days", "2", "-extfile", "client.ext", "-out", f"{client}.pem",
                cwd=d)
    with open(os.path.join(d, "token"), "w") as f:
        f.write(TOKEN + "\n")
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644 if not name.endswith(".key") else 0o600)


def main():
    require_root()
    require_tools("curl", "openssl")
    tmp = tempfile.mkdtemp(prefix="horloge-monauth-")
    os.chmod(tmp, 0o755)
    pki = os.path.join(tmp, "pki")
    os.mkdir(pki)
    make_pki(pki)
    net = Pair("mau")
    app = None

    def curl(path, cert=None, token=None):
        args = ["curl", "-sS", "-k", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}"]
        if cert:
            args += ["--cert", f"{pki}/{cert}.pem", "--key", f"{pki}/{cert}.key"]
        if token:
            args += ["-H", f"Authorization: Bearer {token}"]
        r = net.exec(net.client, *args, f"{URL}{path}", check=False)
        return r.returncode, r.stdout.strip(), r.stderr.strip()

    try:
        app = Appliance(net, net.server, BIN, tmp, "monauth", f"""
listen {Pair.SERVER4}
monitor listen {Pair.SERVER4} port 443
monitor allow {Pair.CLIENT4}/32
monitor client-ca {pki}/ca.pem
monitor token {pki}/token
refclock sim jitter 1e-6
clock observe
""")
        deadline = time.monotonic() + 20
        while curl("/health", cert="client")[1] in ("", "000") and time.monotonic() < deadline:
            time.sleep(0.5)

        rc, code, err = curl("/health")
        print("no client certificate ->", rc, code, err)
        assert rc != 0 and code == "000", (rc, code, err)
        rc, code, err = curl("/health", cert="rogue")
        print("untrusted client certificate ->", rc, code, err)
        assert rc != 0 and code == "000", (rc, code, err)

        for path in ("/status", "/metrics", "/"):
            rc, code, err = curl(path, cert="client")
            print(f"client certificate, no token, {path} ->", code)
            assert code == "401", (path, code, err)
        rc, code, _ = curl("/status", cert="client", token="wrong-token-0123456789abcdef")
        print("wrong token ->", code)
        assert code == "401", code
        rc, code, _ = curl("/status", cert="client", token=TOKEN)
        print("right token ->", code)
        assert code == "200", code
        rc, code, _ = curl("/metrics", cert="client", token=TOKEN)
        assert code == "200", code

        rc, code, _ = curl("/health", cert="client")
        print("/health without token ->", code)
        assert code in ("200", "503"), code
        deadline = time.monotonic() + 40
        while code != "200" and time.monotonic() < deadline:
            time.sleep(0.5)
            code = curl("/health", cert="client")[1]
        print("/health without token, once locked ->", code)
        assert code == "200", code
        print("monitor_auth: PASS")
    finally:
        if app is not None:
            app.stop()
            app.dump(3000)
        net.close()


if __name__ == "__main__":
    main()
