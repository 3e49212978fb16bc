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

__all__ = ["CHROMIUM", "chromium", "open_page", "PageLoad", "chart_render_problems",
           "LAYOUT_CHECK", "layout_problems", "pdftotext"]

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


# --------------------------------------------------------------------------------------------
# layout, through the DevTools protocol (vipquality.report.run.chromium)

#: What a reader would see as broken, measured in the laid-out page (one string per problem):
#: the document scrolls sideways; an element runs past the right edge outside a box of its own
#: that scrolls; a chart's title or subtitle is cut off at the chart's edge or has anything
#: drawn over it (legend, annotations, tick labels, axis titles, the plot area, a visible
#: mode bar); two point labels of a chart collide; a chart was not drawn.
LAYOUT_CHECK = r"""
(() => {
  const problems = [];
  const de = document.documentElement, vw = de.clientWidth;
  const name = el => {
    const id = el.id ? '#' + el.id : '';
    const cls = (el.getAttribute('class') || '').split(/\s+/).filter(Boolean).slice(0, 2);
    return el.tagName.toLowerCase() + id + cls.map(c => '.' + c).join('');
  };
  const text = el => (el.textContent || '').trim().slice(0, 60);
  if (de.scrollWidth > de.clientWidth)
    problems.push(`the page scrolls sideways: ${de.scrollWidth} > ${de.clientWidth} px`);
  const inScrollBox = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p).overflowX;
      if (s === 'auto' || s === 'scroll') return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('svg') || el.closest('.plotly-graph-div') && !el.matches('.plotly-graph-div'))
      continue;
    const r = el.getBoundingClientRect(), st = getComputedStyle(el);
    if (!r.width || st.visibility === 'hidden' || st.display === 'none') continue;
    if (r.right > vw + 1 && !inScrollBox(el))
      problems.push(`${name(el)} runs past the right edge (${Math.round(r.right)} > ${vw} px)`);
  }
  const boxes = (root, sel) => [...root.querySelectorAll(sel)].filter(e => {
    const st = getComputedStyle(e);
    return st.display !== 'none' && st.visibility !== 'hidden' && +st.opacity !== 0;
  }).map(e => [e, e.getBoundingClientRect()]).filter(([, r]) => r.width > 0 && r.height > 0);
  const meets = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 &&
                          a.top < b.bottom - 1 && b.top < a.bottom - 1;
  let charts = 0;
  for (const chart of document.querySelectorAll('.plotly-graph-div')) {
    charts += 1;
    const id = chart.id || `chart #${charts}`;
    if (!chart.querySelector('.main-svg')) { problems.push(`${id}: not drawn`); continue; }
    const box = chart.getBoundingClientRect();
    const figure = chart.closest('figure.vq-chart');  // titles written as HTML above it
    const titles = boxes(chart, '.gtitle, .gtitle-subtitle').concat(
        figure ? boxes(figure, '.vq-chart-title, .vq-chart-sub') : []);
    const others = boxes(chart, '.legend, .annotation, .xtick text, .ytick text, .g-xtitle text, ' +
                                '.g-ytitle text, .nsewdrag, .modebar-container .modebar');
    for (const [t, tr] of titles) {
      if (tr.right > box.right + 1 || tr.left < box.left - 1)
        problems.push(`${id}: title "${text(t)}" is cut off at the chart's edge`);
      for (const [o, or] of others)
        if (meets(tr, or))
          problems.push(`${id}: ${name(o)} "${text(o)}" is drawn over the title "${text(t)}"`);
    }
    // point labels (plotly text or annotations, the quadrant names included)
    const labels = boxes(chart, '.scatterlayer .textpoint text, .annotation-text-g');
    labels.forEach(([a, ar], i) => labels.slice(i + 1).forEach(([b, br]) => {
      if (meets(ar, br)) problems.push(`${id}: labels "${text(a)}" and "${text(b)}" collide`);
    }));
  }
  return problems;
})()
"""


def layout_problems(tab) -> list[str]:
    """:data:`LAYOUT_CHECK` run in a loaded :class:`~vipquality.report.run.chromium.Tab`."""
    return list(tab.evaluate(LAYOUT_CHECK))


def pdftotext(pdf: Path) -> str:
    """The text of a PDF, page by page (form feeds between pages), by poppler's ``pdftotext``
    (Debian's ``poppler-utils``): found on PATH, installed with apt-get in CI as root, else the
    calling test is skipped."""
    import pytest

    binary = shutil.which("pdftotext")
    if binary is None and os.environ.get("CI", "").lower() == "true" and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                     "poppler-utils"]):
            subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        binary = shutil.which("pdftotext")
    if binary is None:
        pytest.skip("pdftotext not found: install Debian's `poppler-utils` package")
    done = subprocess.run([binary, "-layout", str(pdf), "-"], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-2000:]
    return done.stdout.decode("utf-8")
