"""Shared helpers: figures, timing, peak memory, profiles, the machine, the data cache."""

from __future__ import annotations

import hashlib
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    """One measured figure, its baseline and its target; ``ok`` is None when there is none."""

    section: str
    name: str
    value: str
    baseline: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""


@dataclass
class Section:
    """What one benchmark module reports: figures, free text and profiles of missed targets."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, name: str, value: str, baseline: str = "", target: str = "",
            ok: bool | None = None, note: str = "") -> Figure:
        fig = Figure(self.title, name, value, baseline, target, ok, note)
        self.figures.append(fig)
        mark = {True: "pass", False: "MISS", None: "-"}[ok]
        print(f"  [{mark}] {name}: {value}" + (f" (baseline {baseline})" if baseline else "")
              + (f" target {target}" if target else ""), flush=True)
        return fig


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def median_times(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Run the callables round-robin ``repeat`` times (interleaved, so that load on the shared
    machine hits every contender alike); return each one's wall times in seconds."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return times


def med(xs: list[float]) -> float:
    return statistics.median(xs)


class PeakRSS:
    """Peak resident memory of this process while the block runs, sampled every 2 ms.

    ``extra`` is the peak above the RSS at entry (bytes): the working memory of the block,
    whatever allocates it (numpy, Arrow, DuckDB's threads), which tracemalloc would not see.
    """

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.proc = psutil.Process()
        self.start = self.peak = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> "PeakRSS":
        self.start = self.peak = self.proc.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def extra(self) -> int:
        return self.peak - self.start


def profile(fn: Callable[[], object], lines: int = 45) -> str:
    """A pyinstrument profile of one call of ``fn``, as text (the top ``lines`` lines)."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return "(no profile: pyinstrument is not installed; pip install pyinstrument)"

    prof = Profiler(interval=0.005)
    prof.start()
    try:
        fn()
    finally:
        prof.stop()
    text = prof.output_text(unicode=False, color=False, show_all=False)
    body = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(body[:lines])


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def secs(t: float) -> str:
    return f"{t:.2f} s" if t < 100 else f"{t:.0f} s"


def cache_dir() -> Path:
    path = Path(os.environ.get("VQ_BENCH_CACHE", Path.home() / ".cache" / "vipquality-bench"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def source_key(*modules: str) -> str:
    """A short digest of the source of the given modules (the data cache's key)."""
    h = hashlib.sha256()
    for m in modules:
        h.update((ROOT / m).read_bytes())
    return h.hexdigest()[:10]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> list[str]:
    """Lines describing the machine and the software the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = psutil.virtual_memory()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    pkgs = ", ".join(f"{p} {_version(p)}" for p in (
        "pandas", "numpy", "duckdb", "pyarrow", "scipy", "papermill", "plotly", "pyspark",
        "pyinstrument", "psutil"))
    return [
        f"- CPU: {cpu}; {cores} cores usable (os.cpu_count() = {os.cpu_count()})",
        f"- RAM: {mem.total / 2**30:.1f} GiB total, {mem.available / 2**30:.1f} GiB available "
        "at start",
        f"- Load average at start (1, 5, 15 min): {load} — the machine is shared with other "
        "sessions, so absolute times are noisy; targets are ratios against baselines measured "
        "interleaved in the same run wherever the issue allows",
        f"- OS: {platform.platform()}; Python {platform.python_version()}",
        f"- Packages: {pkgs}",
    ]
