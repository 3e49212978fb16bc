"""Open report pages in headless Chromium: the rendered DOM and the JavaScript errors.

Debian's ``chromium`` package (``/usr/bin/chromium``). :func:`chromium` finds it, installs it
with apt-get when running as root in CI (``CI=true``) and otherwise skips the calling test with
the reason. :func:`open_page` loads one page from disk with every network feature off, lets
its scripts run (``--virtual-time-budget``), and returns the DOM as rendered
(``--dump-dom``) together with the console messages Chromium logged on stderr.

Used by ``tests/test_report_e2e.py``; not collected itself (no ``test_`` prefix).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CHROMIUM", "chromium", "open_page", "PageLoad", "chart_render_problems"]

CHROMIUM = "/usr/bin/chromium"

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--enable-logging=stderr", "--v=0",
)

# [pid:tid:date/time.us:INFO:CONSOLE:12] "message", source: file:///.../page.html (12)
# (older builds: ...:INFO:CONSOLE(12)] ...)
_CONSOLE = re.compile(r":(?P<level>[A-Z]+):CONSOLE(?:[:(]\d+\)?)?\]\s*(?P<message>.*)$")


def _find() -> str | None:
    for candidate in (CHROMIUM, shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def chromium() -> str:
    """Path of the Chromium binary; installs Debian's package in CI, else skips the test."""
    import pytest

    found = _find()
    if found:
        return found
    in_ci = os.environ.get("CI", "").lower() == "true"
    if in_ci and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]):
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
            if done.returncode:
                pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}): "
                            f"{(done.stderr or done.stdout)[-2000:]}")
        found = _find()
        if found:
            return found
        pytest.fail("apt-get installed chromium but no chromium binary was found")
    pytest.skip(f"headless Chromium not found at {CHROMIUM}: install Debian's `chromium` package "
                "(the tests install it themselves only as root with CI=true)")


@dataclass
class PageLoad:
    """What loading one page produced."""

    dom: str
    returncode: int
    console: list[tuple[str, str]] = field(default_factory=list)  # (level, message)
    stderr: str = ""

    @property
    def js_errors(self) -> list[str]:
        """Uncaught exceptions, console.error calls and scripts that failed to load."""
        return [message for level, message in self.console
                if level in ("ERROR", "FATAL") or "Uncaught" in message
                or "Failed to load resource" in message]


def open_page(page: Path, *, binary: str | None = None, budget_ms: int = 10000,
              timeout: float = 120) -> PageLoad:
    """Load ``page`` (a file) in headless Chromium and return the rendered DOM and console.

    ``budget_ms`` is Chromium's virtual time budget: scripts and timers run for that much
    virtual time before the DOM is dumped (plotly draws synchronously once plotly.js loaded).
    """
    binary = binary or _find() or CHROMIUM
    with tempfile.TemporaryDirectory(prefix="vq-chromium-") as profile:
        cmd = [binary, *FLAGS, f"--user-data-dir={profile}",
               f"--virtual-time-budget={budget_ms}", "--dump-dom",
               Path(page).resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env={**os.environ, "LANG": "C.UTF-8"})
    console = []
    for line in done.stderr.splitlines():
        m = _CONSOLE.search(line)
        if m:
            console.append((m["level"], m["message"]))
    return PageLoad(done.stdout, done.returncode, console, done.stderr)


_CHART_DIV = re.compile(r"<div\b[^>]*\bclass=\"[^\"]*\bplotly-graph-div\b[^\"]*\"[^>]*>")
_ID = re.compile(r"\bid=\"([^\"]*)\"")


def chart_render_problems(dom: str) -> tuple[int, list[str]]:
    """Charts in a dumped DOM and the ones plotly did not draw.

    Charts are never nested, so the markup from one ``plotly-graph-div`` to the next belongs to
    the first: a drawn chart has plotly's ``svg-container`` and ``main-svg`` in it.
    """
    starts = list(_CHART_DIV.finditer(dom))
    problems = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(dom)
        inside = dom[m.end():end]
        ident = _ID.search(m.group(0))
        name = ident.group(1) if ident else f"chart #{i + 1}"
        if "main-svg" not in inside or "svg-container" not in inside:
            problems.append(f"{name}: not rendered (no plotly svg inside)")
    return len(starts), problems
