"""The quarterly run on the sample workspace, the pages it writes, and Chromium drawing them.

The sample workspace (``generate_sample`` defaults: 8 quarters × 2,500 responses) is generated
into the benchmark cache and ingested once (ingest is measured by :mod:`benchmarks.ingest`);
then ``vipquality report`` runs as a separate process, exactly as a user runs it, and its wall
time is compared with the sum of the notebooks' own execution times recorded in ``run.json``
(the baseline: the same notebooks run one after the other).

Chart drawing: each page is copied next to its ``plotly.min.js`` with a small script that wraps
``Plotly.newPlot`` and records how long each call takes; headless Chromium loads the copy
(every network feature off) and the timings are read back from the dumped DOM.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._common import ROOT, Section, cache_dir, log, mb, profile, secs, source_key

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--allow-file-access-from-files")


def _vq(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("vipquality")
    cmd = [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else
                                                           ["-m", "vipquality.cli"]), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def sample_workspace() -> Path:
    """The sample workspace with its store, generated and ingested once (cached)."""
    key = source_key("vipquality/sample.py", "surveys/workspace.yaml", "surveys/instrument.yaml",
                     "surveys/segments.yaml", "surveys/standards.yaml")
    ws = cache_dir() / f"sample-ws-{key}"
    if (ws / ".ready").exists():
        return ws
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    for f in (ROOT / "surveys").glob("*.yaml"):
        shutil.copy(f, ws / f.name)
    log("generating the sample workspace")
    code = ("import sys; from vipquality.sample import generate_sample; "
            "generate_sample(sys.argv[1])")
    subprocess.run([sys.executable, "-c", code, str(ws)], check=True, cwd=ROOT)
    log("ingesting the sample workspace")
    done = _vq("ingest", "--workspace", str(ws), "--all")
    if done.returncode:
        raise RuntimeError(f"ingest failed: {done.stderr[-2000:]}")
    (ws / ".ready").write_text("ok")
    return ws


# --- chart drawing in headless Chromium --------------------------------------------------------

_PROBE = """<script>
(function () {
  var times = [], start = performance.now();
  function wrap() {
    if (!window.Plotly || Plotly.__vqWrapped) return;
    var orig = Plotly.newPlot;
    Plotly.newPlot = function () {
      var t = performance.now();
      var p = orig.apply(this, arguments);
      times.push(performance.now() - t);
      return p;
    };
    Plotly.__vqWrapped = true;
  }
  wrap();
  document.addEventListener('DOMContentLoaded', wrap);
  window.addEventListener('load', function () {
    var el = document.createElement('pre');
    el.id = 'vq-bench';
    el.textContent = JSON.stringify({times: times, load: performance.now(),
      charts: document.querySelectorAll('.js-plotly-plot').length});
    document.body.appendChild(el);
  });
})();
</script>"""


def draw_times(page: Path) -> dict:
    """Load ``page`` in headless Chromium; per-chart ``Plotly.newPlot`` times (ms) and more."""
    with tempfile.TemporaryDirectory(prefix="vq-draw-") as tmp:
        tmp = Path(tmp)
        for js in page.parent.glob("*.js"):
            shutil.copy(js, tmp / js.name)
        html = page.read_text(encoding="utf-8")
        # the probe goes right after the plotly.js script tag (or at the top of <head>)
        m = re.search(r"<script[^>]*plotly[^>]*\.js[^>]*>\s*</script>", html)
        at = m.end() if m else html.find("<head>") + len("<head>")
        (tmp / page.name).write_text(html[:at] + _PROBE + html[at:], encoding="utf-8")
        profile_dir = tmp / "profile"
        t = time.perf_counter()
        done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile_dir}",
                               "--dump-dom", (tmp / page.name).as_uri()],
                              capture_output=True, text=True, timeout=180)
        wall = time.perf_counter() - t
    m = re.search(r'<pre id="vq-bench">(.*?)</pre>', done.stdout, re.S)
    if not m:
        return {"error": (done.stderr or "no timings in the DOM")[-500:], "wall": wall}
    out = json.loads(m.group(1).replace("&quot;", '"'))
    out["wall"] = wall
    return out


def run(timeout: float = 1800) -> Section:
    sec = Section("Quarterly run and pages")
    ws = sample_workspace()
    out = Path(tempfile.mkdtemp(prefix="vq-bench-reports-"))
    try:
        log("quarterly run (vipquality report) on the sample workspace")
        t = time.perf_counter()
        done = _vq("report", "--workspace", str(ws), "--out", str(out), "--no-progress",
                   timeout=timeout)
        wall = time.perf_counter() - t
        if done.returncode:
            sec.notes.append(f"`vipquality report` exited with {done.returncode}: "
                             f"{(done.stderr or done.stdout)[-1500:]}")
        folder = next((p for p in out.iterdir() if re.fullmatch(r"\d{4}Q\d", p.name)), None)
        if folder is None:
            sec.notes.append("no report folder was published")
            return sec
        run_json = json.loads((folder / "run.json").read_text())
        nb = run_json["notebooks"]
        total = sum(n["duration"] for n in nb)
        cores = len(os.sched_getaffinity(0))
        sec.add(f"sample workspace ({len(nb)} notebooks, {cores} cores): wall time of "
                "`vipquality report`", secs(wall),
                f"sum of notebook times {secs(total)}", "≤ 0.6× the sum", wall <= 0.6 * total,
                f"ratio {wall / total:.2f}; run.json duration {run_json['duration_seconds']:.1f}"
                " s; notebooks: " + ", ".join(f"{n['name']} {n['duration']:.1f}" for n in nb))
        sec.add("sample workspace: wall time", secs(wall), "", "< 60 s", wall < 60)
        shared = _shared_seconds(ws)
        if shared is not None:
            phase = max(wall - shared, 0.0)
            sec.add("sample workspace: shared aggregation (compute_report_data, serial, fresh "
                    "process)", secs(shared), f"run wall time {secs(wall)}", "", None,
                    f"what is left for the notebooks ≈ {secs(phase)}, {phase / total:.2f}× the "
                    f"sum of their times (0.5× is the floor on {cores} cores)")
        sec.notes.append(
            "The 1-million-response workspace was not run: building it means ingesting 8 "
            "quarters of 125 k survey rows, which at the ingest throughput and memory measured "
            "below takes about 10 minutes and several GB per quarter today; it is to be added "
            "once ingest is chunked (see the Ingest plan). The parts of the run that grow with "
            "the data are the `summarise` calls (see the metric engine) and the per-segment "
            "driver models in the profile below.")
        if wall > 0.6 * total or wall >= 60:
            sec.profiles["shared aggregation of a quarterly run (compute_report_data)"] = \
                profile(lambda: _compute(ws))

        # pages
        pages = sorted(folder.rglob("*.html"))
        js = sorted(folder.rglob("*.js"))
        folder_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        largest = max(p.stat().st_size for p in pages)
        shared = bool(js)
        limit = 500_000 if shared else 5_000_000
        sec.add(f"pages: largest of {len(pages)} pages", mb(largest),
                "plotly.js shared beside the pages" if shared else "plotly.js embedded",
                f"each < {mb(limit)}", all(p.stat().st_size < limit for p in pages),
                "; ".join(f"{p.relative_to(folder)} {p.stat().st_size / 1e3:,.0f} KB"
                          for p in pages))
        sec.add("pages: whole report folder", mb(folder_bytes), "", "",
                None, "; ".join(f"{p.relative_to(folder)} {mb(p.stat().st_size)}" for p in js))

        # chart drawing
        if not os.access(CHROMIUM, os.X_OK):
            sec.notes.append(f"Chart drawing not measured: no Chromium at {CHROMIUM}.")
            return sec
        segs = [p for p in pages if p.name.startswith("segment-")]
        targets = [folder / "index.html"]
        if segs:
            targets.append(max(segs, key=lambda p: p.stat().st_size))
        for page in targets:
            log(f"drawing {page.name} in headless Chromium")
            d = draw_times(page)
            if "error" in d:
                sec.notes.append(f"{page.name}: no chart timings ({d['error']})")
                continue
            times = d["times"]
            worst = max(times) / 1000 if times else float("nan")
            sec.add(f"{page.name}: slowest of {len(times)} charts drawn (Plotly.newPlot)",
                    secs(worst), f"page loaded in {d['load'] / 1000:.2f} s; Chromium process "
                    f"{secs(d['wall'])}", "every chart < 2 s", bool(times) and worst < 2,
                    f"{d['charts']} plot divs; per chart ms: "
                    + ", ".join(f"{x:.0f}" for x in times))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return sec


def _shared_seconds(ws: Path) -> float | None:
    code = ("import sys, time; t = time.perf_counter(); "
            "from vipquality.reportdata import compute_report_data; "
            "compute_report_data(sys.argv[1]); print(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code, str(ws)],
                          capture_output=True, text=True, cwd=ROOT, timeout=1800)
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def _compute(ws: Path) -> None:
    from vipquality.reportdata import compute_report_data

    compute_report_data(ws)
