"""What the booted-package tests (package_test.py, arm_package_test.py) share: this machine's
Debian mirror and the units the package runs."""
import glob
import os
import re

# The package's services (horloge-NAME.service) and the sockets that are always enabled.
SERVICES = ["clockd", "netd", "refclockd", "monitord"]
SOCKETS = ["horloge-netd.socket", "horloge-monitord.socket", "horloge-clockd-refclock.socket",
           "horloge-clockd-netd.socket", "horloge-clockd-status.socket"]


def mirror():
    """The Debian mirror this machine's apt uses for bookworm."""
    texts = []
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*")):
        if path.endswith((".list", ".sources")) and os.path.isfile(path):
            texts.append(open(path).read())
    for t in texts:
        for m in re.finditer(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", t, re.M):
            if "security" not in m.group(1):
                return m.group(1)
        for stanza in t.split("\n\n"):
            if re.search(r"^Suites:.*\bbookworm\b", stanza, re.M) and \
                    not re.search(r"^Enabled:\s*no", stanza, re.M):
                m = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
                if m and "security" not in m.group(1):
                    return m.group(1)
    return "http://deb.debian.org/debian"
