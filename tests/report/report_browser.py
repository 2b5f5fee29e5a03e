"""A headless Chromium page loader for the tests, driven over the DevTools protocol.

A minimal stdlib websocket client (no extra package) lets a test see every console message and every
network request a page makes, take a screenshot, read the DOM and print to PDF.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

A4_CONTENT_PX = 710  # 210 mm - 2 x 11 mm margins, at 96 CSS px per inch
A4_CONTENT_HEIGHT_PX = 1024  # 297 mm - 12 mm top - 14 mm bottom margin = 271 mm, at 96 px per inch

_LAYOUT_JS = """JSON.stringify({
  summary: (() => {
    const s = document.getElementById('summary');
    if (!s) return null;
    const r = s.getBoundingClientRect();
    return {top: r.top + window.scrollY, height: r.height,
            breakAfter: getComputedStyle(s).breakAfter,
            keys: Array.from(s.querySelectorAll('[data-key]')).map(e => e.dataset.key)};
  })(),
  svgs: Array.from(document.querySelectorAll('svg')).map(svg => {
    const b = svg.getBoundingClientRect();
    return {title: (svg.querySelector('title') || {}).textContent || '',
            box: [b.left, b.top, b.right, b.bottom],
            texts: Array.from(svg.querySelectorAll('text')).map(t => {
              const r = t.getBoundingClientRect();
              return {text: t.textContent, box: [r.left, r.top, r.right, r.bottom]};
            })};
  })
})"""


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


class _WebSocket:
    """Just enough RFC 6455 client for the DevTools protocol (text frames, no extensions)."""

    def __init__(self, url: str, timeout: float = 20.0) -> None:
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.fh = self.sock.makefile("rb")
        status = self.fh.readline()
        if b" 101 " not in status:
            raise ConnectionError(f"websocket handshake failed: {status!r}")
        while self.fh.readline() not in (b"\r\n", b""):
            pass

    def send(self, text: str) -> None:
        data, mask = text.encode(), os.urandom(4)
        n = len(data)
        head = bytes([0x81]) + (
            bytes([0x80 | n])
            if n < 126
            else bytes([0x80 | 126]) + struct.pack(">H", n)
            if n < 65536
            else bytes([0x80 | 127]) + struct.pack(">Q", n)
        )
        masked = (
            int.from_bytes(data, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        ).to_bytes(n, "big")
        self.sock.sendall(head + mask + masked)

    def recv(self) -> str:
        parts = []
        while True:
            b0, b1 = self.fh.read(2)
            n = b1 & 0x7F
            n = (
                struct.unpack(">H", self.fh.read(2))[0]
                if n == 126
                else struct.unpack(">Q", self.fh.read(8))[0]
                if n == 127
                else n
            )
            payload = self.fh.read(n)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise ConnectionError("websocket closed")
            if opcode in (0x9, 0xA):
                continue
            parts.append(payload)
            if b0 & 0x80:
                return b"".join(parts).decode()

    def close(self) -> None:
        self.sock.close()


@dataclass
class PageResult:
    """What a page did when loaded in the browser."""

    dom: str
    screenshot: bytes
    pdf: bytes
    print_width: dict = field(default_factory=dict)
    print_layout: dict = field(default_factory=dict)
    console: list[dict] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class Browser:
    """One headless Chromium process, driven over the DevTools protocol."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="netoutcomes-chromium-")
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--mute-audio",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                "--window-size=1280,1800",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = _WebSocket(f"ws://127.0.0.1:{port}{path}")
        self.next_id = 0

    def call(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        events: list | None = None,
    ) -> dict:
        """Send one command and return its result; events seen meanwhile go to `events`."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            if events is not None and "method" in reply:
                events.append(reply)

    def drain(self, events: list, session: str, seconds: float) -> None:
        """Collect events for a short while (late requests, console messages)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.call("Runtime.evaluate", {"expression": "1"}, session, events)
            time.sleep(0.05)

    def measure_print_width(self, session: str, events: list) -> dict:
        """Lay the page out as printed on A4 and return its widest box (CSS px) and the page width.

        A4 minus the report's 11 mm side margins is 188 mm = 710 CSS px; anything wider is cut.
        """
        self.call("Emulation.setEmulatedMedia", {"media": "print"}, session, events)
        metrics = {"width": A4_CONTENT_PX, "height": 1000, "deviceScaleFactor": 1, "mobile": False}
        self.call("Emulation.setDeviceMetricsOverride", metrics, session, events)
        expr = (
            "JSON.stringify({page: document.documentElement.scrollWidth, widest: Math.max(0, "
            "...Array.from(document.querySelectorAll('svg, img, table, figure'))"
            ".map(e => e.getBoundingClientRect().right))})"
        )
        value = self.call(
            "Runtime.evaluate", {"expression": expr, "returnByValue": True}, session, events
        )["result"]["value"]
        return json.loads(value)

    def measure_print_layout(self, session: str, events: list) -> dict:
        """In print layout (after `measure_print_width`): the first page's box and data keys, and
        every SVG's box with the boxes of its text elements (CSS px, page coordinates)."""
        value = self.call(
            "Runtime.evaluate", {"expression": _LAYOUT_JS, "returnByValue": True}, session, events
        )["result"]["value"]
        return json.loads(value)

    def load(self, path: Path) -> PageResult:
        """Open a local file, wait for load; return DOM, screenshot, PDF, console, requests."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        events: list = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", {}, session, events)
        self.call("Page.navigate", {"url": path.resolve().as_uri()}, session, events)
        deadline = time.monotonic() + 20
        while not any(e["method"] == "Page.loadEventFired" for e in events):
            if time.monotonic() > deadline:
                raise TimeoutError("page did not load")
            events.append(json.loads(self.ws.recv()))
        self.drain(events, session, 0.3)
        shot = self.call("Page.captureScreenshot", {"format": "png"}, session, events)["data"]
        dom = self.call(
            "Runtime.evaluate",
            {"expression": "document.documentElement.outerHTML", "returnByValue": True},
            session,
            events,
        )["result"]["value"]
        pdf = self.call(
            "Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True}, session, events
        )["data"]
        print_width = self.measure_print_width(session, events)
        print_layout = self.measure_print_layout(session, events)
        self.call("Target.closeTarget", {"targetId": target})
        console = [
            e["params"]
            for e in events
            if e["method"] in ("Runtime.consoleAPICalled", "Runtime.exceptionThrown")
        ]
        console += [e["params"]["entry"] for e in events if e["method"] == "Log.entryAdded"]
        requests = [
            e["params"]["request"]["url"]
            for e in events
            if e["method"] == "Network.requestWillBeSent"
        ]
        return PageResult(
            dom=dom,
            screenshot=base64.b64decode(shot),
            pdf=base64.b64decode(pdf),
            print_width=print_width,
            print_layout=print_layout,
            console=console,
            requests=requests,
        )

    def close(self) -> None:
        """Stop the browser and remove its profile."""
        try:
            if hasattr(self, "ws"):
                self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


def is_error(entry: dict) -> bool:
    """True for console errors, uncaught exceptions and error-level log entries."""
    return (
        entry.get("type") in ("error", "assert")
        or entry.get("level") == "error"
        or "exceptionDetails" in entry
    )


def is_network(url: str) -> bool:
    """True for a request that would leave the machine (not file:, data:, about: or blob:)."""
    return urlparse(url).scheme not in ("file", "data", "about", "blob")


def _intersection(a: list[float], b: list[float]) -> tuple[float, float]:
    """Width and height of the overlap of two boxes (left, top, right, bottom); <= 0 if none."""
    return min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])


def text_problems(layout: dict, tolerance: float = 0.5) -> list[str]:
    """Overlapping text boxes within one SVG, and text boxes reaching outside their SVG."""
    problems = []
    for svg in layout.get("svgs", []):
        texts = [t for t in svg["texts"] if t["text"].strip()]
        for i, a in enumerate(texts):
            w, h = _intersection(a["box"], svg["box"])
            left, top, right, bottom = a["box"]
            if w < right - left - tolerance or h < bottom - top - tolerance:
                problems.append(f"{svg['title']}: {a['text']!r} is cut by the chart's edge")
            for b in texts[i + 1:]:
                w, h = _intersection(a["box"], b["box"])
                if w > tolerance and h > tolerance:
                    problems.append(f"{svg['title']}: {a['text']!r} overlaps {b['text']!r}")
    return problems
