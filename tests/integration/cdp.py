"""Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON
messages separated by NUL on file descriptors 3 and 4), with nothing but the standard library:
load a page at a given window size, evaluate JavaScript in it, take a screenshot."""
import base64
import json
import os
import subprocess
import tempfile
import time


class Chromium:
    def __init__(self, prefix=(), extra=()):
        """`prefix`: what runs chromium (e.g. ["ip", "netns", "exec", NS])."""
        self.profile = tempfile.mkdtemp(prefix="chromium-cdp-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def fds():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.proc = subprocess.Popen(
            list(prefix) + ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                            "--remote-debugging-pipe", "--no-first-run", "--disable-quic",
                            "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", "--ignore-certificate-errors", "--hide-scrollbars",
                            f"--user-data-dir={self.profile}", *extra, "about:blank"],
            # Python's own descriptors are close-on-exec; the two dup2()ed here are not.
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)

    def _send(self, msg):
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")

    def _read(self, timeout):
        end = time.monotonic() + timeout
        while b"\0" not in self._buf:
            if time.monotonic() > end:
                raise TimeoutError("no message from chromium")
            import select
            r, _, _ = select.select([self._from_chrome], [], [], 0.5)
            if r:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise EOFError("chromium closed its pipe")
                self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, params=None, session=False, timeout=30):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        self._send(msg)
        while True:
            m = self._read(timeout)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def size(self, width, height, mobile=False):
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
                  session=True)

    def open(self, url):
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=True)

    def eval(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True}, session=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait(self, expression, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if self.eval(f"!!({expression})"):
                    return True
            except RuntimeError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"never true: {expression}")

    def screenshot(self, path, whole=True):
        """The whole page, or (whole=False) what the window shows."""
        params = {"format": "png", "captureBeyondViewport": whole}
        if whole:
            size = self.eval("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
        data = self.call("Page.captureScreenshot", params, session=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        subprocess.run(["rm", "-rf", self.profile], check=False)
