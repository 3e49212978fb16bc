"""The quarterly run on the sample workspace, the pages it writes, and Chromium drawing them.

The sample workspace (``generate_sample`` defaults: 8 quarters × 2,500 responses) is generated
into the benchmark cache and ingested once (ingest is measured by :mod:`benchmarks.ingest`);
then ``vipquality report`` runs as a separate process, exactly as a user runs it, into a fresh
reports folder (so no previous ``run.json`` orders the jobs: the static order is used), and its
wall time is compared with the sum of the notebooks' own execution times recorded in
``run.json`` (the baseline: the same notebooks run one after the other). A notebook's time
there is its kernel's start, its execution and its page's export, as before; a kernel the
worker started ahead (while the shared tables were computed) is counted in its notebook's time.

The 1-million-response workspace (8 quarters × 125,000 responses, ``generate_sample``'s
``responses_per_quarter``) is generated and ingested once into the benchmark cache (the build
takes a while; its times are recorded beside it), then ``vipquality report`` runs on it.

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
    key = source_key("vipquality/data/sample.py", "surveys/workspace.yaml", "surveys/instrument.yaml",
                     "surveys/segments.yaml", "surveys/standards.yaml")
    ws = cache_dir() / f"sample-ws-{key}"
    if (ws / ".ready").exists():
        return ws
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    for f in (ROOT / "surveys").glob("*.yaml"):
        shutil.copy(f, ws / f.name)
    log("generating the sample workspace")
    code = ("import sys; from vipquality.data.sample import generate_sample; "
            "generate_sample(sys.argv[1])")
    subprocess.run([sys.executable, "-c", code, str(ws)], check=True, cwd=ROOT)
    log("ingesting the sample workspace")
    done = _vq("ingest", "--workspace", str(ws), "--all")
    if done.returncode:
        raise RuntimeError(f"ingest failed: {done.stderr[-2000:]}")
    (ws / ".ready").write_text("ok")
    return ws


#: The 1-million-response workspace: 8 quarters × 125,000 responses (generate_sample's
#: ``responses_per_quarter``), the sample's configuration, clients, visits and formats otherwise.
#: The client base stays at the sample's 6,000 (a client answers about 20 times a quarter):
#: with 60,000 clients ingest did not finish its first quarter in 16 minutes (the CRM's names
#: and addresses feed the comment scrubber; see the report of this benchmark's owner).
MILLION = {"quarters": 8, "responses_per_quarter": 125_000, "clients": 6_000}


def million_workspace() -> tuple[Path, dict]:
    """The 1-million-response workspace with its store, generated and ingested once (cached
    under the bench cache, keyed on the generator and the configuration). Returns the folder
    and what building it took (seconds to generate and to ingest, from its ``.ready`` file)."""
    key = source_key("vipquality/data/sample.py", "surveys/workspace.yaml", "surveys/instrument.yaml",
                     "surveys/segments.yaml", "surveys/standards.yaml")
    ws = cache_dir() / f"million-ws-{key}"
    ready = ws / ".ready"
    if ready.exists():
        return ws, json.loads(ready.read_text() or "{}")
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    for f in (ROOT / "surveys").glob("*.yaml"):
        shutil.copy(f, ws / f.name)
    log("generating the 1-million-response workspace")
    t = time.perf_counter()
    code = ("import sys, json; from vipquality.data.sample import generate_sample; "
            "generate_sample(sys.argv[1], **json.loads(sys.argv[2]))")
    subprocess.run([sys.executable, "-c", code, str(ws), json.dumps(MILLION)], check=True,
                   cwd=ROOT)
    built = {"generate_seconds": round(time.perf_counter() - t, 1), **MILLION}
    log("ingesting the 1-million-response workspace (vipquality ingest --all)")
    t = time.perf_counter()
    done = _vq("ingest", "--workspace", str(ws), "--all", timeout=4 * 3600)
    if done.returncode:
        raise RuntimeError(f"ingest failed: {done.stderr[-2000:]}")
    built["ingest_seconds"] = round(time.perf_counter() - t, 1)
    ready.write_text(json.dumps(built))
    return ws, built


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


def _timed_report(ws: Path, out: Path, timeout: float, what: str):
    """Run ``vipquality report`` on ``ws`` into ``out``: (process, wall seconds, published
    quarter folder or None)."""
    log(f"quarterly run (vipquality report) on {what}")
    t = time.perf_counter()
    done = _vq("report", "--workspace", str(ws), "--out", str(out), "--no-progress",
               timeout=timeout)
    wall = time.perf_counter() - t
    folder = next((p for p in out.iterdir() if re.fullmatch(r"\d{4}Q\d", p.name)), None)
    return done, wall, folder


def run(timeout: float = 1800) -> Section:
    sec = Section("Quarterly run and pages")
    ws = sample_workspace()
    out = Path(tempfile.mkdtemp(prefix="vq-bench-reports-"))
    try:
        done, wall, folder = _timed_report(ws, out, timeout, "the sample workspace")
        if done.returncode:
            sec.notes.append(f"`vipquality report` exited with {done.returncode}: "
                             f"{(done.stderr or done.stdout)[-1500:]}")
        if folder is None:
            sec.notes.append("no report folder was published")
            return sec
        run_json = json.loads((folder / "run.json").read_text())
        nb = run_json["notebooks"]
        total = sum(n["duration"] for n in nb)
        ahead = sum(n.get("kernel_prestarted", 0.0) for n in nb)
        cores = len(os.sched_getaffinity(0))
        sec.add(f"sample workspace ({len(nb)} notebooks, {cores} cores): wall time of "
                "`vipquality report`", secs(wall),
                f"sum of notebook times {secs(total)}", "≤ 0.6× the sum", wall <= 0.6 * total,
                f"ratio {wall / total:.2f}; run.json duration {run_json['duration_seconds']:.1f}"
                f" s; kernels started ahead {ahead:.1f} s of the sum (without them: ratio "
                f"{wall / max(total - ahead, 1e-9):.2f}); notebooks: "
                + ", ".join(f"{n['name']} {n['duration']:.1f}" for n in nb))
        sec.add("sample workspace: wall time", secs(wall), "", "< 60 s", wall < 60)
        shared = _shared_seconds(ws)
        if shared is not None:
            phase = max(wall - shared, 0.0)
            sec.add("sample workspace: shared aggregation (compute_report_data as the run calls "
                    "it, alone in a fresh process; in the run it overlaps the workers' start-up)",
                    secs(shared), f"run wall time {secs(wall)}", "", None,
                    f"wall − shared step ≈ {secs(phase)}, {phase / total:.2f}× the sum of the "
                    f"notebook times (0.5× is the floor on {cores} cores)")
        sec.notes.append(
            "A notebook's time in run.json (the baseline's terms) is its kernel's start, its "
            "execution and its page's export, measured in its worker as before; a kernel the "
            "worker started ahead, while the shared tables were computed, is counted in the "
            "time of the notebook that used it (run.json `kernel_prestarted`). The workers' "
            "one-time imports of papermill and nbconvert, which were inside the first "
            "notebook's time of each worker before, are now in no notebook's time (that makes "
            "the sum smaller, the ratio harder). The reports folder is fresh, so the jobs run "
            "in the static order (summary and segment-all first), not by a previous run.json.")
        if wall > 0.6 * total or wall >= 60:
            sec.profiles["shared aggregation of a quarterly run (compute_report_data)"] = \
                profile(lambda: _compute(ws))

        _million(sec, timeout)

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


def _million(sec: Section, timeout: float) -> None:
    """``vipquality report`` on the 1-million-response workspace: wall time, target < 3 min."""
    try:
        ws, built = million_workspace()
    except Exception as err:  # noqa: BLE001 - a benchmark reports, it does not stop
        sec.notes.append(f"1-million-response workspace: not built ({err})")
        return
    out = Path(tempfile.mkdtemp(prefix="vq-bench-million-"))
    try:
        done, wall, folder = _timed_report(ws, out, timeout, "the 1-million-response workspace")
        if done.returncode or folder is None:
            sec.notes.append(f"1-million-response workspace: `vipquality report` exited with "
                             f"{done.returncode}: {(done.stderr or done.stdout)[-1500:]}")
            return
        run_json = json.loads((folder / "run.json").read_text())
        nb = run_json["notebooks"]
        total = sum(n["duration"] for n in nb)
        n_rows = built.get("quarters", 8) * built.get("responses_per_quarter", 125_000)
        shared = _shared_seconds(ws)
        sec.add(f"1-million-response workspace ({n_rows:,} responses, {len(nb)} notebooks): "
                "wall time of `vipquality report`", secs(wall),
                f"sum of notebook times {secs(total)}", "< 3 min", wall < 180,
                f"ratio {wall / total:.2f}; shared aggregation in a fresh process "
                + (f"{secs(shared)}" if shared is not None else "not measured")
                + "; notebooks: " + ", ".join(f"{n['name']} {n['duration']:.1f}" for n in nb)
                + f"; workspace built once (cached): generated in "
                f"{built.get('generate_seconds', float('nan')):.0f} s, `vipquality ingest --all` "
                f"{built.get('ingest_seconds', float('nan')):.0f} s")
        if wall >= 180:
            sec.profiles["shared aggregation on the 1-million-response workspace "
                         "(compute_report_data)"] = profile(lambda: _compute(ws))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _shared_seconds(ws: Path) -> float | None:
    # as the run computes it: without the ordinal cross-check, which no page shows
    code = ("import sys, time; t = time.perf_counter(); "
            "from vipquality.report.data import compute_report_data; "
            "compute_report_data(sys.argv[1], ordinal=False); print(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code, str(ws)],
                          capture_output=True, text=True, cwd=ROOT, timeout=1800)
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def _compute(ws: Path) -> None:
    from vipquality.report.data import compute_report_data

    compute_report_data(ws, ordinal=False)  # as the run does
