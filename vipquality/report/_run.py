"""Run the quarter's notebooks with papermill, in parallel, and publish the pages atomically.

A run, as the command line does it::

    final = reports_dir / str(quarter)
    with report_lock(reports_dir):                # a second run on reports_dir is refused
        staging = new_staging(final)              # cleans what a killed run left behind
        result = run_notebooks(jobs, staging)     # pages + plotly.min.js + _failed/*.ipynb
        write_manifest(staging / "run.json", ...)
        publish(staging, final)                   # old quarter swapped out by renames
    if not result.ok:
        raise ReportError(result.summary(failed_only=True))
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import multiprocessing
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import nbformat

from vipquality.errors import ReportError

from ._export import check_html, count_charts, export_html, ship_plotly_js

__all__ = [
    "KERNEL_SETUP",
    "NotebookJob",
    "NotebookResult",
    "RunResult",
    "new_staging",
    "publish",
    "report_lock",
    "run_notebooks",
]

FAILED_DIR = "_failed"
RESTRICTED_DIR = "restricted"
LOCK_NAME = ".lock"

#: Run by every kernel at start-up (IPython ``exec_files``), before the notebook's first cell.
#:
#: Recent plotly picks the ``plotly_mimetype`` renderer inside a papermill kernel, which
#: nbconvert cannot draw (plotly.py#5365, nbconvert#2235); ``notebook`` embeds plotly.js in the
#: first output and ``notebook_connected`` fetches it from a CDN, and both add a MathJax script
#: from a CDN to every figure. This renderer writes the chart's ``<div>`` and its
#: ``Plotly.newPlot`` call only (plotly.js comes from the copy shipped beside the pages), with
#: stable ids ``vq-fig-1, 2, ...`` in output order, and keeps plotly's JSON in the bundle so the
#: executed notebook still shows the chart in JupyterLab (nbconvert prefers ``text/html``).
#: plotly.js 3 shows a "Share chart..." (upload to Plotly Cloud) button by default: turned off.
KERNEL_SETUP = '''\
def _vipquality_plotly_setup():
    try:
        import plotly.io as pio
        from plotly.io.base_renderers import MimetypeRenderer, PlotlyRenderer
    except ImportError:  # a notebook that draws no chart needs no plotly
        return

    class VipqualityOfflineRenderer(MimetypeRenderer):
        """Chart div + Plotly.newPlot; plotly.js comes from the page (offline, no CDN)."""

        # plotly copies the renderer on every show(), so the counter lives on the class
        shown = [0]

        def __init__(self):
            self.config = {}  # set by fig.show(config={...}), as for plotly's own renderers

        def to_mimebundle(self, fig_dict):
            self.shown[0] += 1
            meta = (fig_dict.get("layout") or {}).get("meta")
            own = meta.get("id") if isinstance(meta, dict) else None
            div_id = "vq-fig-%d" % self.shown[0] + ("-" + str(own) if own else "")
            bundle = PlotlyRenderer().to_mimebundle(fig_dict)
            bundle["text/html"] = pio.to_html(
                fig_dict,
                include_plotlyjs=False,
                include_mathjax=False,
                full_html=False,
                div_id=div_id,
                default_width="100%",
                default_height=480,
                validate=False,
                # never a "Share chart..." button: it would upload client data to Plotly's cloud
                config={"displaylogo": False, "responsive": True, **(self.config or {}),
                        "showSendToCloud": False},
            )
            return bundle

    pio.renderers["vipquality"] = VipqualityOfflineRenderer()
    pio.renderers.default = "vipquality"


_vipquality_plotly_setup()
del _vipquality_plotly_setup
'''


# --------------------------------------------------------------------------------------------
# jobs and results


@dataclass(frozen=True)
class NotebookJob:
    """One notebook to execute and export.

    Parameters
    ----------
    name : str
        Unique within a run; names the kept ``_failed/<name>.ipynb`` and the progress lines.
    notebook : Path
        The source notebook (never modified); its folder is the kernel's working directory.
    parameters : dict
        Injected by papermill after the cell tagged ``parameters``.
    html_name : str
        The page's path relative to the output folder, e.g. ``"segment-private.html"``.
    restricted : bool
        A page for a restricted audience (e.g. staff names): written under ``restricted/``, a
        folder with its own ``plotly.min.js`` that can be shared or withheld as a whole.
    """

    name: str
    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    html_name: str = ""
    restricted: bool = False

    @property
    def html_path(self) -> Path:
        """The page's path relative to the output folder."""
        html = self.html_name or f"{self.name}.html"
        return Path(RESTRICTED_DIR, html) if self.restricted else Path(html)


@dataclass(frozen=True)
class NotebookResult:
    """How one notebook of a run went. Paths are relative to :attr:`RunResult.out_dir`.

    ``cell_index`` is the 0-based index of the failing cell in the source notebook (the kept
    executed copy in ``_failed/`` has papermill's injected-parameters cell and error banners
    too: look for its ``In [n]``, ``exec_count``); ``ename``/``evalue`` are the error's name and message.
    ``warnings`` are papermill's warnings for the job (e.g. ``Passed unknown parameter: x``).
    """

    name: str
    status: Literal["ok", "failed"]
    duration: float
    parameters: dict[str, Any] = field(default_factory=dict)
    html: Path | None = None
    charts: int = 0
    attempts: int = 1
    cell_index: int | None = None
    exec_count: int | None = None
    ename: str | None = None
    evalue: str | None = None
    failed_notebook: Path | None = None
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        """One line: what happened, where and with which error."""
        if self.ok:
            noted = f"; {len(self.warnings)} warning(s)" if self.warnings else ""
            return (f"ok      {self.name} ({self.duration:.1f} s): {self.html} "
                    f"({self.charts} chart(s)){noted}")
        where = ""
        if self.cell_index is not None:
            where = f" at cell {self.cell_index}"
            if self.exec_count is not None:
                where += f" (In [{self.exec_count}])"
        kept = f"; executed notebook kept as {self.failed_notebook}" if self.failed_notebook else ""
        return (f"FAILED  {self.name} ({self.duration:.1f} s){where}: "
                f"{self.ename}: {self.evalue}{kept}")


@dataclass(frozen=True)
class RunResult:
    """The outcome of :func:`run_notebooks`, one :class:`NotebookResult` per job, in job order."""

    out_dir: Path
    notebooks: tuple[NotebookResult, ...]

    @property
    def ok(self) -> bool:
        """True when every notebook ran and exported cleanly."""
        return all(r.ok for r in self.notebooks)

    @property
    def failed(self) -> tuple[NotebookResult, ...]:
        return tuple(r for r in self.notebooks if not r.ok)

    def __getitem__(self, name: str) -> NotebookResult:
        for r in self.notebooks:
            if r.name == name:
                return r
        raise KeyError(name)

    def summary(self, *, failed_only: bool = False) -> str:
        """A few lines for the end of a run: counts, then one line per notebook."""
        n_failed = len(self.failed)
        head = f"{len(self.notebooks) - n_failed} of {len(self.notebooks)} notebook(s) ok"
        if n_failed:
            head += f", {n_failed} failed"
        rows = [r.describe() for r in self.notebooks if not (failed_only and r.ok)]
        return "\n".join([head, *rows])


# --------------------------------------------------------------------------------------------
# running


def _validate_jobs(jobs: Sequence[NotebookJob]) -> None:
    problems = []
    seen_names: set[str] = set()
    seen_pages: set[Path] = set()
    for job in jobs:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", job.name or ""):
            problems.append(f"job name {job.name!r}: expected letters, digits, '.', '_' or '-'")
        if job.name in seen_names:
            problems.append(f"job name {job.name!r} is used twice")
        seen_names.add(job.name)
        page = job.html_path
        if page.is_absolute() or ".." in page.parts or page.suffix != ".html":
            problems.append(f"{job.name}: html_name {job.html_name!r}: expected a relative "
                            "path ending in .html inside the output folder")
        if page in seen_pages:
            problems.append(f"{job.name}: page {page} is written by another job too")
        seen_pages.add(page)
        if not Path(job.notebook).is_file():
            problems.append(f"{job.name}: notebook {job.notebook} does not exist")
    if problems:
        raise ReportError("cannot start the run:\n  " + "\n  ".join(problems))


def _source_cell(job: NotebookJob, executed_index: int | None) -> int | None:
    """The failing cell's index in the *source* notebook: papermill counts the executed copy,
    which has its injected-parameters cell after the ``parameters`` cell."""
    if executed_index is None or not job.parameters:
        return executed_index
    try:
        cells = nbformat.read(str(job.notebook), as_version=4).cells
    except Exception:  # an unreadable source fails elsewhere; keep papermill's index
        return executed_index
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    injected_at = (tagged[0] + 1) if tagged else 0
    return executed_index - 1 if executed_index > injected_at else executed_index


def run_notebooks(
    jobs: Sequence[NotebookJob],
    out_dir: Path,
    *,
    workers: int | None = None,
    timeout: int = 600,
    progress: bool = True,
    start_timeout: int = 60,
    kernel_name: str = "python3",
) -> RunResult:
    """Execute notebooks with papermill in parallel and export each to a code-free HTML page.

    Each job runs in a process pool sized to the cores: papermill starts a kernel (waiting up to
    ``start_timeout`` s, and retrying once when the kernel never got to run a cell, e.g. on a
    port collision, papermill#239), runs the notebook with ``parameters`` injected, then the
    page is exported (:func:`export_html`) and checked (:func:`check_html`). A failing notebook
    does not stop the others: its result names the cell and the error and its executed
    notebook is kept in ``out_dir/_failed/<name>.ipynb``; a page that fails the check is moved
    to ``out_dir/_failed/<name>.html`` (never published in place) and its job counts as failed.
    Executed notebooks of successful jobs are not kept.

    Workers are *spawned* processes (no fork of the caller's threads): a calling script needs
    the usual ``if __name__ == "__main__":`` guard, and code piped to ``python -`` cannot use it.

    Parameters
    ----------
    jobs : sequence of NotebookJob
        Names and pages must be unique; notebooks must exist (checked before anything starts).
    out_dir : Path
        Receives the pages (``job.html_path``), ``plotly.min.js`` beside them and ``_failed/``.
        Normally a staging folder from :func:`new_staging`.
    workers : int, optional
        Notebooks run at once; default ``os.cpu_count()``, never more than there are jobs.
    timeout : int
        Seconds one cell may run (papermill's ``execution_timeout``) before it counts as failed.
    progress : bool
        Show a tqdm progress bar on stderr.
    start_timeout : int
        Seconds to wait for a kernel to start.
    kernel_name : str
        Kernel spec to run every notebook with (the environment's ``python3`` by default, whatever
        kernel the notebook was saved with).

    Returns
    -------
    RunResult
    """
    from tqdm.auto import tqdm

    jobs = list(jobs)
    _validate_jobs(jobs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not jobs:
        return RunResult(out_dir, ())
    for folder in sorted({(out_dir / job.html_path).parent for job in jobs}):
        ship_plotly_js(folder)

    n_workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    results: dict[str, NotebookResult] = {}
    with tempfile.TemporaryDirectory(prefix="vipquality-run-") as scratch:
        setup = Path(scratch, "kernel_setup.py")
        setup.write_text(KERNEL_SETUP, encoding="utf-8")
        settings = _Settings(str(out_dir), scratch, str(setup), timeout, start_timeout, kernel_name)
        # spawn: workers start clean (no forked threads or zmq contexts from the caller)
        context = multiprocessing.get_context("spawn")
        with (
            tqdm(total=len(jobs), desc="notebooks", unit="nb", disable=not progress,
                 file=sys.stderr) as bar,
            ProcessPoolExecutor(max_workers=n_workers, mp_context=context) as pool,
        ):
            started = {job.name: time.monotonic() for job in jobs}
            futures = {pool.submit(_run_one, job, settings): job for job in jobs}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # the worker itself died (BrokenProcessPool, ...)
                    result = NotebookResult(
                        job.name, "failed", time.monotonic() - started[job.name],
                        parameters=dict(job.parameters),
                        ename=type(exc).__name__, evalue=str(exc) or repr(exc),
                    )
                results[job.name] = result
                bar.update(1)
                if not result.ok:
                    bar.write(result.describe(), file=sys.stderr)
                    bar.set_postfix(failed=sum(not r.ok for r in results.values()))
    return RunResult(out_dir, tuple(results[job.name] for job in jobs))


@dataclass(frozen=True)
class _Settings:
    out_dir: str
    scratch: str
    setup_file: str
    timeout: int
    start_timeout: int
    kernel_name: str


def _cells_started(nb_path: Path) -> list[int]:
    """Indexes of the cells papermill started, from its metadata in the saved notebook."""
    import nbformat

    try:
        nb = nbformat.read(str(nb_path), as_version=4)
    except Exception:
        return []
    return [
        i for i, cell in enumerate(nb.cells)
        if cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]


def _execution_count(nb_path: Path, index: int | None) -> int | None:
    import nbformat

    if index is None:
        return None
    try:
        return nbformat.read(str(nb_path), as_version=4).cells[index].get("execution_count")
    except Exception:
        return None


def _run_one(job: NotebookJob, s: _Settings) -> NotebookResult:
    """Execute, export and check one notebook (in a worker process). Never raises."""
    t0 = time.monotonic()
    # papermill's and nbclient's warnings ("Passed unknown parameter", "Kernel died...") go into
    # the result rather than through the progress bar
    messages: list[str] = []
    collect = _Collect(messages)
    pm_log = logging.getLogger("papermill")
    pm_log.addHandler(collect)
    pm_log.propagate = False
    try:
        result = _execute_and_export(job, s)
    finally:
        pm_log.removeHandler(collect)
    return dataclasses.replace(result, duration=time.monotonic() - t0,
                               warnings=tuple(dict.fromkeys(messages)))


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage().strip())


def _execute_and_export(job: NotebookJob, s: _Settings) -> NotebookResult:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    out_dir = Path(s.out_dir)
    executed = Path(s.scratch, f"{job.name}.ipynb")
    failure: dict[str, Any] | None = None
    attempts = 0
    for attempts in (1, 2):
        executed.unlink(missing_ok=True)
        try:
            pm.execute_notebook(
                str(job.notebook),
                str(executed),
                parameters=dict(job.parameters),
                kernel_name=s.kernel_name,
                progress_bar=False,
                start_timeout=s.start_timeout,
                execution_timeout=s.timeout,
                cwd=str(Path(job.notebook).resolve().parent),
                extra_arguments=[
                    f"--IPKernelApp.exec_files={s.setup_file}",
                    "--IPKernelApp.log_level=ERROR",  # not "running over TCP without encryption"
                ],
            )
            failure = None
            break
        except PapermillExecutionError as exc:
            failure = dict(cell_index=_source_cell(job, exc.cell_index),
                           exec_count=exc.exec_count, ename=exc.ename, evalue=exc.evalue)
            break
        except Exception as exc:  # kernel died or never started, cell timeout, bad notebook...
            started = _cells_started(executed)
            failure = dict(
                cell_index=_source_cell(job, started[-1]) if started else None,
                exec_count=_execution_count(executed, started[-1] if started else None),
                ename=type(exc).__name__,
                evalue=str(exc).strip() or repr(exc),
            )
            if started:
                break
            # no cell ever ran: the kernel did not start (port collision, slow start): retry
            # once, after a random pause so that kernels started together do not collide again
            time.sleep(random.uniform(0.5, 2.0))

    html = None
    charts = 0
    if failure is None:
        page = out_dir / job.html_path
        try:
            export_html(executed, page, title=job.name)  # loads page.parent / plotly.min.js
            html = job.html_path
            charts = count_charts(page)
            problems = check_html(page)
            if problems:  # never publish a page that shows code or needs the network
                failure = dict(ename="ReportCheckError", evalue="; ".join(problems))
                (out_dir / FAILED_DIR).mkdir(parents=True, exist_ok=True)
                os.replace(page, out_dir / FAILED_DIR / f"{job.name}.html")
                html = None
        except Exception as exc:
            failure = dict(ename=type(exc).__name__, evalue=f"HTML export failed: {exc}")

    kept = None
    if failure is not None and executed.exists():
        kept = Path(FAILED_DIR, f"{job.name}.ipynb")
        (out_dir / FAILED_DIR).mkdir(parents=True, exist_ok=True)
        shutil.move(str(executed), str(out_dir / kept))
    executed.unlink(missing_ok=True)

    return NotebookResult(
        name=job.name,
        status="ok" if failure is None else "failed",
        duration=0.0,
        parameters=dict(job.parameters),
        html=html,
        charts=charts,
        attempts=attempts,
        failed_notebook=kept,
        **(failure or {}),
    )


# --------------------------------------------------------------------------------------------
# lock, staging and atomic publication

_held_locks: dict[Path, int] = {}  # reports dir (resolved) -> fd of its flocked .lock, this process
_rename = os.rename                # a seam for the crash tests
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>staging|old)-\d+-[0-9a-f]+$")


@contextmanager
def report_lock(reports_dir: Path) -> Iterator[Path]:
    """Hold ``reports_dir/.lock`` (``fcntl.flock``) for the duration of a run.

    A second run on the same reports folder (another process, or a nested call) is refused at
    once with a :class:`ReportError` naming the holder; the lock goes with its process, so a
    killed run never leaves a stale lock. Yields the lock file's path.
    """
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    lock_path = reports_dir / LOCK_NAME
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
        os.close(fd)
        raise ReportError(
            f"{reports_dir} is being written by another vipquality report run ({holder}): "
            f"wait for it to finish, or write to another --out folder"
        ) from None
    key = reports_dir.resolve()
    try:
        os.ftruncate(fd, 0)
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        os.pwrite(fd, f"pid {os.getpid()} since {stamp}\n".encode(), 0)
        _held_locks[key] = fd
        yield lock_path
    finally:
        _held_locks.pop(key, None)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _require_lock(reports_dir: Path, what: str) -> None:
    if reports_dir.resolve() not in _held_locks:
        raise ReportError(f"{what} needs the lock on {reports_dir}: call it inside "
                          f"`with report_lock({str(reports_dir)!r}):`")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _clean_leftovers(reports_dir: Path, keep: Path | None = None) -> list[str]:
    """Undo what a killed run left in ``reports_dir`` (the lock must be held).

    Staging folders are removed. An old quarter set aside (``.<q>.old-*``) is renamed back when
    the new one never arrived (killed between the two renames), else removed. Returns what was
    done, one line each.
    """
    done = []
    if not reports_dir.is_dir():
        return done
    for entry in sorted(reports_dir.iterdir(), key=lambda p: p.name):
        m = _LEFTOVER.match(entry.name)
        if not m or not entry.is_dir() or (keep is not None and entry.name == keep.name):
            continue
        final = reports_dir / m["name"]
        if m["kind"] == "old" and not final.exists():
            _rename(entry, final)
            done.append(f"restored {final.name} from an interrupted publication")
        else:
            shutil.rmtree(entry, ignore_errors=True)
            done.append(f"removed leftover {entry.name}")
    if done:
        _fsync_dir(reports_dir)
    return done


def new_staging(final: Path) -> Path:
    """A new, empty staging folder beside ``final`` (same filesystem, so renames are atomic).

    Must be called inside :func:`report_lock` on ``final.parent``; first cleans the staging
    folders and half-swapped quarters a killed run left behind. The folder is hidden
    (``.<quarter>.staging-<pid>-<random>``) so nobody browsing the reports opens it.
    """
    final = Path(final)
    _require_lock(final.parent, "new_staging")
    _clean_leftovers(final.parent)
    staging = final.parent / f".{final.name}.staging-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    return staging


def publish(staging: Path, final: Path) -> None:
    """Atomically replace ``final`` (e.g. ``reports/2026Q3``) by the finished ``staging`` folder.

    The old folder is renamed aside, the staging one renamed in, then the old one removed: a
    reader sees the old quarter or the new one, never a half-written one. If anything fails
    between the renames the old quarter is put back; if the process is killed there, the next
    :func:`new_staging` (or ``publish``) puts it back. Takes the reports lock unless this
    process already holds it.

    Raises
    ------
    ReportError
        ``staging`` is not a folder beside ``final``, or another run holds the lock.
    """
    staging, final = Path(staging), Path(final)
    if not staging.is_dir():
        raise ReportError(f"cannot publish {staging}: it is not a folder")
    if staging.resolve().parent != final.parent.resolve():
        raise ReportError(
            f"cannot publish {staging} as {final}: the staging folder must be in {final.parent} "
            "(same filesystem) for the swap to be a rename; create it with new_staging()"
        )
    if final.parent.resolve() not in _held_locks:
        with report_lock(final.parent):
            return publish(staging, final)

    _clean_leftovers(final.parent, keep=staging)
    aside = final.parent / f".{final.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
    had_old = final.exists()
    if had_old:
        _rename(final, aside)
    try:
        _rename(staging, final)
    except BaseException:
        if had_old and not final.exists():
            _rename(aside, final)
        raise
    _fsync_dir(final.parent)
    if had_old:
        shutil.rmtree(aside, ignore_errors=True)
