"""Ingest of a large survey export: what ``vipquality ingest`` does today, measured.

A one-quarter workspace is generated (CRM extract of the sample's size, staff roster), and its
survey export is replaced by a CSV of N rows: the generated survey's rows repeated, each with a
unique response id (so every row is accepted; the clients exist in the CRM extract). ``vipquality
ingest`` then runs as its own process; its wall time and peak resident memory (``VmHWM`` of the
child, not ``ru_maxrss``, which on Linux keeps the parent's peak across fork and exec) are
measured at 50 and 200 thousand rows and at 2 million rows (skipped only when the linear
extrapolation exceeds the time limit or half the free memory).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from vipquality.data.readers import DEFAULT_BLOCK_ROWS

from ._common import ROOT, Section, cache_dir, log, mb, profile, secs, source_key

QUARTER = "2026Q3"

_CHILD = """
import json, resource, sys, time
t = time.perf_counter()
from vipquality.data.ingest import ingest_quarter
from vipquality.config import load_workspace
result = ingest_quarter(load_workspace(sys.argv[1]), sys.argv[2])
wall = time.perf_counter() - t
# VmHWM is this process's own peak: ru_maxrss keeps the parent's peak across fork and exec on
# Linux (the benchmark process, holding GBs of generated data, gave a fixed 4.5 GB "peak")
hwm = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM"))
print(json.dumps({"wall": wall, "maxrss": hwm, "summary": result.summary()}))
"""


def workspace(rows: int) -> Path:
    """A one-quarter workspace whose survey export has ``rows`` rows (cached)."""
    import pandas as pd

    key = source_key("vipquality/data/sample.py", "surveys/instrument.yaml")
    ws = cache_dir() / f"ingest-ws-{rows}-{key}"
    if (ws / ".ready").exists():
        shutil.rmtree(ws / "store", ignore_errors=True)
        return ws
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    for f in (ROOT / "surveys").glob("*.yaml"):
        shutil.copy(f, ws / f.name)
    log(f"building a {rows:,}-row survey export")
    code = ("import sys; from vipquality.data.sample import generate_sample; "
            "generate_sample(sys.argv[1], quarters=1, last_quarter=sys.argv[2])")
    subprocess.run([sys.executable, "-c", code, str(ws), QUARTER], check=True, cwd=ROOT)
    folder = ws / QUARTER
    survey = next(p for p in folder.iterdir() if p.name.startswith("survey"))
    if survey.suffix != ".csv":
        raise RuntimeError(f"expected a CSV survey export, got {survey.name}")
    base = pd.read_csv(survey, dtype=str, keep_default_na=False)
    id_col = base.columns[0]
    reps = -(-rows // len(base))
    big = pd.concat([base] * reps, ignore_index=True).iloc[:rows].copy()
    copy = (pd.RangeIndex(len(big)) // len(base)).astype(str)
    big[id_col] = big[id_col] + "-" + copy
    big.to_csv(survey, index=False)
    (ws / ".ready").write_text(f"{survey.name} {survey.stat().st_size}")
    return ws


def _measure(ws: Path, timeout: float) -> dict:
    t = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, str(ws), QUARTER],
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"timeout": True, "wall": time.perf_counter() - t}
    if done.returncode:
        return {"error": done.stderr[-1500:], "wall": time.perf_counter() - t}
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["maxrss"] *= 1024  # KiB on Linux
    out["process"] = time.perf_counter() - t
    return out


def run(small: tuple[int, ...] = (50_000, 200_000), large: int = 2_000_000,
        limit: float = 900) -> Section:
    """Measure the small sizes, then the large one only if the linear extrapolation of both
    time and memory fits (``limit`` seconds, half the memory available)."""
    import psutil

    sec = Section("Ingest")
    results: dict[int, dict] = {}
    for rows in (*small, large):
        ws = workspace(rows)
        survey = next(p for p in (ws / QUARTER).iterdir() if p.name.startswith("survey"))
        size = survey.stat().st_size
        big = rows == large
        if big:
            ok = [n for n in small if "wall" in results.get(n, {}) and "maxrss" in results[n]]
            if len(ok) >= 2:
                a, b = ok[-2], ok[-1]
                slope_t = (results[b]["wall"] - results[a]["wall"]) / (b - a)
                slope_m = (results[b]["maxrss"] - results[a]["maxrss"]) / (b - a)
                guess_t = results[b]["wall"] + slope_t * (large - b)
                guess_m = results[b]["maxrss"] + slope_m * (large - b)
                avail = psutil.virtual_memory().available
                sec.notes.append(
                    f"Linear extrapolation from {a:,} and {b:,} rows to {large:,}: "
                    f"{secs(guess_t)} and a peak of {mb(guess_m)} "
                    f"({mb(slope_m * 1e6)} per million rows; {mb(avail)} available now).")
                if guess_t > limit or guess_m > avail / 2:
                    why = []
                    if guess_t > limit:
                        why.append(f"over this benchmark's {limit:.0f} s limit")
                    if guess_m > avail / 2:
                        why.append("more than half the free memory of a shared machine")
                    sec.add(f"{large:,}-row export: validated and stored",
                            f"not run (≈ {secs(guess_t)} extrapolated)",
                            f"{b:,} rows: {secs(results[b]['wall'])}", "< 60 s", False,
                            "not run: " + " and ".join(why))
                    sec.add(f"{large:,}-row export: peak memory", f"≈ {mb(guess_m)} "
                            "extrapolated", f"{b:,} rows: {mb(results[b]['maxrss'])}",
                            "bounded (chunked)", slope_m * 1e6 < 100e6,
                            "memory grows with the rows: the export is read whole")
                    continue
        log(f"ingest of a {rows:,}-row survey export ({mb(size)} CSV)")
        r = _measure(ws, limit)
        results[rows] = r
        if r.get("timeout"):
            sec.add(f"{rows:,}-row export: validated and stored", f"> {secs(limit)} (stopped)",
                    "", "< 60 s" if big else "", False if big else None)
            continue
        if "error" in r:
            sec.notes.append(f"ingest of {rows:,} rows failed: {r['error']}")
            continue
        summary = " / ".join(" ".join(ln.split()) for ln in r["summary"].splitlines()
                             if ln.strip())
        sec.notes.append(f"`ingest_quarter` at {rows:,} rows reported: {summary[:600]}")
        sec.add(f"{rows:,}-row export ({mb(size)} CSV): validated and stored", secs(r["wall"]),
                f"{rows / r['wall']:,.0f} rows/s", "< 60 s" if big else "(for extrapolation)",
                (r["wall"] < 60) if big else None)
        sec.add(f"{rows:,}-row export: peak memory of the ingest process", mb(r["maxrss"]),
                f"CSV file {mb(size)}", "bounded: < 5× the CSV file" if big else "",
                (r["maxrss"] < 5 * size) if big else None,
                f"{r['maxrss'] / size:.1f}× the file; read in blocks of "
                f"{DEFAULT_BLOCK_ROWS:,} rows")
    if any(f.ok is False for f in sec.figures):
        rows = small[0]
        ws = workspace(rows)
        log(f"profiling ingest of {rows:,} rows")
        sec.profiles[f"ingest of {rows:,} rows"] = profile(lambda: _ingest(ws), lines=60)
        shutil.rmtree(ws / "store", ignore_errors=True)
    return sec


def _ingest(ws: Path) -> None:
    from vipquality.config import load_workspace
    from vipquality.data.ingest import ingest_quarter

    shutil.rmtree(ws / "store", ignore_errors=True)
    ingest_quarter(load_workspace(ws), QUARTER)
