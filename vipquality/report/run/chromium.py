"""Headless Chromium driven over the DevTools protocol: print a page to PDF, look at a page.

Debian's ``chromium`` (``/usr/bin/chromium``) is started with ``--remote-debugging-pipe``: it
reads protocol commands on file descriptor 3 and answers on 4, one JSON message per
NUL-terminated frame. The board pack (:func:`print_pdf`) needs the protocol rather than the
``--print-to-pdf`` switch because only ``Page.printToPDF`` takes a footer template (page numbers
and the quarter). The client is written here, on the standard library, because the libraries
that wrap the protocol either download a browser build of their own at install time or ship a
Node.js driver (Playwright, ~40 MB) for the three commands a run needs; nothing in it imports
pandas or plotly, as for the rest of :mod:`vipquality.report.run`.

Examples
--------
>>> from vipquality.report.run.chromium import find_chromium, print_pdf     # doctest: +SKIP
>>> print_pdf("reports/2026Q3/board-pack.html", "board-pack.pdf",           # doctest: +SKIP
...           footer="VIP service quality · 2026Q3")
"""

from __future__ import annotations

import base64
import html
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vipquality._files import atomic_write_bytes
from vipquality.errors import ReportError

__all__ = ["CHROMIUM", "Browser", "Tab", "find_chromium", "print_pdf", "browser"]

#: Where Debian's package puts the browser.
CHROMIUM = "/usr/bin/chromium"

_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    "--remote-debugging-pipe",
)

#: Resolves once every plotly chart of the page has drawn its SVG (or after ``ms``).
_CHARTS_DRAWN = """
new Promise(resolve => {
  const t0 = Date.now();
  const done = () => [...document.querySelectorAll('.plotly-graph-div')]
      .every(d => d.querySelector('.main-svg'));
  const wait = () => (done() || Date.now() - t0 > %d) ? resolve(done()) : setTimeout(wait, 50);
  wait();
})
"""


def find_chromium() -> str | None:
    """The Chromium binary (Debian's ``/usr/bin/chromium``, else on ``PATH``), or None."""
    for candidate in (CHROMIUM, shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class Browser:
    """One headless Chromium process and its protocol pipe (use :func:`browser`).

    :meth:`call` sends a command and waits for its answer; events arrive in :attr:`events`
    (a list of ``(session_id, method, params)``), in order.
    """

    def __init__(self, binary: str, profile: str, timeout: float = 60.0) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def fds() -> None:  # in the child, before exec: the pipe ends on 3 and 4
            # (through fresh copies: an end that already is 3 or 4 would stay close-on-exec)
            read_end, write_end = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        try:
            self.proc = subprocess.Popen(
                [binary, *_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                preexec_fn=fds, close_fds=False, env={**os.environ, "LANG": "C.UTF-8"})
        except OSError as err:
            for fd in (to_browser_r, self._to_browser, self._from_browser, from_browser_w):
                os.close(fd)
            raise ReportError(f"headless Chromium could not be started ({binary}): "
                              f"{err.strerror}") from None
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.timeout = timeout
        self.events: list[tuple[str | None, str, dict]] = []
        self._answers: queue.Queue = queue.Queue()
        self._next = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._stderr: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        with open(self._from_browser, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 16):
                buffer += chunk
                *frames, buffer = buffer.split(b"\0")
                for frame in frames:
                    message = json.loads(frame)
                    if "id" in message:
                        self._answers.put(message)
                    else:
                        self.events.append((message.get("sessionId"), message["method"],
                                            message.get("params", {})))
        self._answers.put(None)  # the browser closed its end

    def _drain_stderr(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self._stderr.append(line.decode("utf-8", "replace"))
            del self._stderr[:-50]

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float | None = None) -> dict:
        """Send one command and return its ``result``; :class:`ReportError` on an error answer,
        a closed browser or no answer within ``timeout`` seconds."""
        self._next += 1
        message: dict = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                answer = self._answers.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise ReportError(f"Chromium did not answer {method} within "
                                  f"{timeout or self.timeout:.0f} s") from None
            if answer is None:
                raise ReportError(f"Chromium closed while running {method}: "
                                  + "".join(self._stderr[-5:]).strip())
            if answer.get("id") == self._next:
                break
        if "error" in answer:
            raise ReportError(f"Chromium refused {method}: {answer['error'].get('message')}")
        return answer.get("result", {})

    def new_tab(self, width: int = 1400, height: int = 900) -> Tab:
        """A new page of ``width`` × ``height`` CSS pixels, with its events enabled."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"]
        tab = Tab(self, session)
        for domain in ("Page", "Runtime", "Log"):
            tab.call(f"{domain}.enable")
        tab.resize(width, height)
        return tab

    def close(self) -> None:
        try:
            os.write(self._to_browser, json.dumps(
                {"id": 0, "method": "Browser.close", "params": {}}).encode() + b"\0")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)


class Tab:
    """One page of a :class:`Browser`: load a file, evaluate JavaScript, print, screenshot."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser, self.session = browser, session

    def call(self, method: str, params: dict | None = None, timeout: float | None = None) -> dict:
        return self.browser.call(method, params, self.session, timeout)

    def resize(self, width: int, height: int) -> None:
        """Lay the page out for a ``width`` × ``height`` window (CSS pixels)."""
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def open(self, page: str | Path, *, charts_ms: int = 15000) -> bool:
        """Load a local page, wait for its load event and for its plotly charts to be drawn.
        Returns True when every chart drew within ``charts_ms``."""
        url = Path(page).resolve().as_uri()
        start = len(self.browser.events)
        self.call("Page.navigate", {"url": url})
        deadline = time.monotonic() + self.browser.timeout
        while not any(s == self.session and m == "Page.loadEventFired"
                      for s, m, _ in self.browser.events[start:]):
            if time.monotonic() > deadline:
                raise ReportError(f"{Path(page).name} did not finish loading in Chromium")
            time.sleep(0.05)
        return bool(self.evaluate(_CHARTS_DRAWN % charts_ms))

    def evaluate(self, expression: str) -> object:
        """The value of a JavaScript expression (promises awaited), as JSON."""
        answer = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True})
        if "exceptionDetails" in answer:
            raise ReportError(f"JavaScript failed: {answer['exceptionDetails'].get('text')}")
        return answer["result"].get("value")

    def errors(self) -> list[str]:
        """Uncaught exceptions, ``console.error`` calls and failed loads seen so far."""
        found = []
        for session, method, params in self.browser.events:
            if session != self.session:
                continue
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                found.append(details.get("exception", {}).get("description")
                             or details.get("text", "exception"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(" ".join(str(a.get("value", a.get("description", "")))
                                      for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(params["entry"].get("text", ""))
        return found

    def screenshot(self, path: str | Path, *, full_page: bool = True) -> Path:
        """A PNG of the page (the whole document with ``full_page``)."""
        params: dict = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                              "scale": 1}
        data = self.call("Page.captureScreenshot", params, timeout=120)["data"]
        return atomic_write_bytes(Path(path), base64.b64decode(data))

    def pdf(self, *, footer: str = "", landscape: bool = False) -> bytes:
        """The page printed on A4 (print stylesheet, backgrounds), with ``footer`` and the page
        number at the foot of every page."""
        foot = (f"<div style=\"font:8px system-ui,Arial,sans-serif;color:#444;width:100%;"
                f"margin:0 12mm;display:flex;justify-content:space-between\">"
                f"<span>{html.escape(footer)}</span><span>Page <span class=\"pageNumber\">"
                f"</span> of <span class=\"totalPages\"></span></span></div>")
        answer = self.call("Page.printToPDF", {
            "landscape": landscape, "printBackground": True, "displayHeaderFooter": True,
            "headerTemplate": "<span></span>", "footerTemplate": foot,
            "paperWidth": 8.27, "paperHeight": 11.69,  # A4, inches
            "marginTop": 0.5, "marginBottom": 0.6, "marginLeft": 0.47, "marginRight": 0.47,
            "preferCSSPageSize": False}, timeout=300)
        return base64.b64decode(answer["data"])


@contextmanager
def browser(binary: str | None = None, timeout: float = 60.0) -> Iterator[Browser]:
    """A headless Chromium for the block, with a throw-away profile; closed on exit.

    Raises
    ------
    ReportError
        No Chromium binary was found.
    """
    binary = binary or find_chromium()
    if binary is None:
        raise ReportError(f"headless Chromium not found ({CHROMIUM}): install Debian's "
                          "`chromium` package")
    with tempfile.TemporaryDirectory(prefix="vq-chromium-") as profile:
        b = Browser(binary, profile, timeout)
        try:
            yield b
        finally:
            b.close()


#: Width in CSS pixels of the printable area of A4 portrait with the margins of :meth:`Tab.pdf`
#: (210 mm − 2 × 12 mm at 96 px per inch): the page is laid out at that width before printing,
#: so charts are drawn for the paper, not for a window.
A4_PRINT_WIDTH = 703


def print_pdf(page: str | Path, pdf: str | Path, *, footer: str = "",
              binary: str | None = None, timeout: float = 120.0) -> Path:
    """Print a local HTML page to ``pdf`` (A4 portrait, page numbers and ``footer`` at the foot).

    The page is loaded at the printable width, every plotly chart is drawn first, and the PDF is
    written whole or not at all.

    Raises
    ------
    ReportError
        No Chromium, a chart that never drew, or Chromium failing.
    """
    with browser(binary, timeout) as b:
        tab = b.new_tab(A4_PRINT_WIDTH, 1000)
        if not tab.open(page):
            raise ReportError(f"{Path(page).name}: a chart was not drawn before printing")
        data = tab.pdf(footer=footer)
    return atomic_write_bytes(Path(pdf), data)
