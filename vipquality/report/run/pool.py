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

A run that has serial work of its own before the notebooks can start (the quarterly run
computes its shared tables first) opens a :class:`NotebookPool` first: its worker processes
start, import papermill and nbconvert and start one kernel each while the caller works, and
:meth:`NotebookPool.run` then takes the jobs, longest first when their expected times are known.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import multiprocessing.util
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from vipquality._files import exclusive_lock, fsync_dir
from vipquality.errors import LockBusy, ReportBusy, ReportError

from vipquality.report.run.export import check_html, count_charts, export_html, ship_plotly_js

__all__ = [
    "KERNEL_SETUP",
    "NotebookJob",
    "NotebookPool",
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

    ``duration`` covers starting the notebook's kernel, executing it and exporting its page.
    ``kernel_prestarted`` is non-zero when the kernel was started ahead of the job, while the
    worker waited for its first job (:class:`NotebookPool`): the seconds that start took, which
    are included in ``duration``. The worker process's own one-time imports (papermill,
    nbconvert) are in no notebook's duration.
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
    kernel_prestarted: float = 0.0

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
    import nbformat

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
    expected: Mapping[str, float] | None = None,
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
    To start the workers before the jobs are known (while the caller computes what the
    notebooks read), use :class:`NotebookPool`; this function is one pool used once.

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
    expected : mapping, optional
        Expected seconds per job name (e.g. the previous run's): jobs are started longest
        first, so that no long notebook is left running alone at the end; jobs without an
        estimate go first, in their order. The results keep the order of ``jobs``.

    Returns
    -------
    RunResult
    """
    jobs = list(jobs)
    _validate_jobs(jobs)
    if not jobs:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        return RunResult(Path(out_dir), ())
    folders = {Path(job.notebook).resolve().parent for job in jobs}
    with NotebookPool(workers=max(1, min(workers or os.cpu_count() or 1, len(jobs))),
                      timeout=timeout, start_timeout=start_timeout, kernel_name=kernel_name,
                      kernel_cwd=folders.pop() if len(folders) == 1 else None) as pool:
        return pool.run(jobs, out_dir, progress=progress, expected=expected)


class NotebookPool:
    """Worker processes that get ready to run notebooks while the caller is still busy.

    Opening the pool starts ``workers`` spawned processes at once; each imports papermill and
    nbconvert, warms the HTML exporter and, when ``kernel_cwd`` is given, starts one kernel
    there (with the run's kernel set-up and the ``preload`` modules imported) for its first
    job. :meth:`run` (once per pool) then runs the jobs as :func:`run_notebooks` does. The
    kernel started ahead is counted in its notebook's duration
    (:attr:`NotebookResult.kernel_prestarted`). Closing the pool stops the workers and any
    kernel they still hold.

    Use it as a context manager::

        with NotebookPool(kernel_cwd=notebooks_dir, preload=["vipquality"]) as pool:
            data = compute_shared_tables()          # the workers warm up meanwhile
            result = pool.run(jobs, staging)
    """

    def __init__(self, *, workers: int | None = None, timeout: int = 600,
                 start_timeout: int = 60, kernel_name: str = "python3",
                 kernel_cwd: Path | str | None = None, preload: Sequence[str] = ()) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._scratch_dir = tempfile.TemporaryDirectory(prefix="vipquality-run-")
        scratch = self._scratch_dir.name
        setup = Path(scratch, "kernel_setup.py")
        setup.write_text(KERNEL_SETUP + _preload_code(preload), encoding="utf-8")
        self.settings = _Settings("", scratch, str(setup), timeout, start_timeout, kernel_name,
                                  str(Path(kernel_cwd).resolve()) if kernel_cwd else "")
        # spawn: workers start clean (no forked threads or zmq contexts from the caller)
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_warm_worker, initargs=(self.settings, os.getpid()))
        # the pool spawns a worker per submitted task: one no-op each starts them all now
        self._warming = [self._pool.submit(_noop) for _ in range(self.workers)]
        self._used = False

    def __enter__(self) -> NotebookPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (and the kernels they started ahead); remove the scratch folder.
        Closing twice is harmless."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._scratch_dir is not None:
            self._scratch_dir.cleanup()
            self._scratch_dir = None

    def run(self, jobs: Sequence[NotebookJob], out_dir: Path, *, progress: bool = True,
            expected: Mapping[str, float] | None = None,
            meanwhile: Callable[[], object] | None = None) -> RunResult:
        """Run ``jobs`` into ``out_dir``, as :func:`run_notebooks` (which documents the
        arguments); longest first when ``expected`` seconds per job name are given.

        ``meanwhile`` is called in this process once the jobs are submitted, before waiting for
        them: the caller's own remaining work (e.g. writing tables) overlaps the notebooks. If
        it raises, the jobs already running finish and the error is raised."""
        from tqdm.auto import tqdm

        if self._used:
            raise ReportError("a NotebookPool runs one set of jobs; open another pool")
        self._used = True
        jobs = list(jobs)
        _validate_jobs(jobs)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        if not jobs:
            return RunResult(out_dir, ())
        for folder in sorted({(out_dir / job.html_path).parent for job in jobs}):
            ship_plotly_js(folder)
        settings = dataclasses.replace(self.settings, out_dir=str(out_dir))
        results: dict[str, NotebookResult] = {}
        with tqdm(total=len(jobs), desc="notebooks", unit="nb", disable=not progress,
                  file=sys.stderr) as bar:
            started = {job.name: time.monotonic() for job in jobs}
            futures = {self._pool.submit(_run_one, job, settings): job
                       for job in longest_first(jobs, expected)}
            if meanwhile is not None:
                try:
                    meanwhile()
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
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


def longest_first(jobs: Sequence[NotebookJob],
                  expected: Mapping[str, float] | None = None) -> list[NotebookJob]:
    """``jobs`` in the order to start them: by expected seconds, longest first; jobs with no
    estimate first, in their given order (a stable sort)."""
    expected = expected or {}

    def key(job: NotebookJob) -> float:
        seconds = expected.get(job.name)
        return -float("inf") if seconds is None else -float(seconds)

    return sorted(jobs, key=key)


def _preload_code(modules: Sequence[str]) -> str:
    """Kernel set-up lines importing ``modules`` (a module that fails to import is left for
    the notebook to report)."""
    if not modules:
        return ""
    return ("\n\ndef _vipquality_preload(names):\n"
            "    import importlib\n"
            "    for name in names:\n"
            "        try:\n"
            "            importlib.import_module(name)\n"
            "        except Exception:\n"
            "            pass\n\n\n"
            f"_vipquality_preload({list(modules)!r})\n"
            "del _vipquality_preload\n")


@dataclass(frozen=True)
class _Settings:
    out_dir: str
    scratch: str
    setup_file: str
    timeout: int
    start_timeout: int
    kernel_name: str
    kernel_cwd: str = ""  # where the worker starts a kernel ahead of its first job ("" = none)


def _kernel_arguments(s: _Settings) -> list[str]:
    return [
        f"--IPKernelApp.exec_files={s.setup_file}",
        "--IPKernelApp.log_level=ERROR",  # not "running over TCP without encryption"
    ]


# a worker's kernel started ahead of its first job: {"km", "seconds", "cwd"} (worker processes)
_spare: dict[str, Any] = {}


def _noop() -> None:
    return None


def _exit_with_parent(parent: int) -> None:
    """A worker whose run was killed (SIGKILL of the main process alone) would wait for jobs
    forever, holding the run's output pipes: it exits once its parent is gone (its kernels,
    started with ``JPY_PARENT_PID``, follow it)."""
    import threading

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="vipquality-parent-watch", daemon=True).start()


def _warm_worker(s: _Settings, parent: int | None = None) -> None:
    """Pool initializer: the imports and template loading every job needs, and one kernel
    started ahead. Never raises (a failing initializer would break the pool): whatever did not
    work is simply done by the job."""
    if parent is not None:
        _exit_with_parent(parent)
    # jsonschema (imported by nbformat) imports rfc3987_syntax when installed, to check the
    # "iri" string format: that builds a grammar, about 1 s of CPU per process. nbformat
    # validates notebooks without format checks, so this process (a worker of ours) does not
    # need it; jsonschema skips the format when the import fails.
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
    try:
        import papermill  # noqa: F401
        from jupyter_client.manager import AsyncKernelManager  # noqa: F401

        from vipquality.report.run.export import _warm_exporter

        _warm_exporter(Path(s.scratch))
    except Exception:
        return
    if s.kernel_cwd:
        _start_spare(s)


def _start_spare(s: _Settings) -> None:
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    km = None
    try:
        t0 = time.monotonic()
        km = AsyncKernelManager(kernel_name=s.kernel_name)
        run_sync(km.start_kernel)(extra_arguments=_kernel_arguments(s), cwd=s.kernel_cwd)
        kc = km.client()
        kc.start_channels()
        try:
            run_sync(kc.wait_for_ready)(timeout=s.start_timeout)
        finally:
            kc.stop_channels()
        _spare.update(km=km, seconds=time.monotonic() - t0, cwd=s.kernel_cwd)
        # the worker exits through multiprocessing (os._exit: no atexit): a finalizer then
        multiprocessing.util.Finalize(None, _stop_spare, exitpriority=10)
    except Exception:
        if km is not None:
            _shutdown(km)


def _shutdown(km) -> None:
    """Stop a kernel this module started: a shutdown request, a kill if it is still there
    after a second (jupyter_client's ``shutdown_kernel`` without its interrupt first, which
    makes ipykernel log a KeyboardInterrupt into the run's output)."""
    from jupyter_core.utils import run_sync

    try:
        if run_sync(km.is_alive)():
            km.shutting_down = True  # no restart by jupyter_client's restarter
            run_sync(km.request_shutdown)()
            run_sync(km.finish_shutdown)(waittime=1.0)
        run_sync(km.cleanup_resources)()
    except Exception:
        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:
            pass


def _stop_spare() -> None:
    km = _spare.pop("km", None)
    _spare.clear()
    if km is not None:
        _shutdown(km)


def _take_spare(job: NotebookJob) -> tuple[Any, float]:
    """The kernel started ahead, when it suits ``job`` and is alive; else ``(None, 0.0)``."""
    if "km" not in _spare:
        return None, 0.0
    from jupyter_core.utils import run_sync

    if _spare["cwd"] != str(Path(job.notebook).resolve().parent):
        return None, 0.0
    km, seconds = _spare.pop("km"), _spare.pop("seconds")
    _spare.clear()
    try:
        alive = run_sync(km.is_alive)()
    except Exception:
        alive = False
    if not alive:
        _shutdown(km)
        return None, 0.0
    return km, seconds


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
    km, prestarted = _take_spare(job)
    # papermill's and nbclient's warnings ("Passed unknown parameter", "Kernel died...") go into
    # the result rather than through the progress bar
    messages: list[str] = []
    collect = _Collect(messages)
    pm_log = logging.getLogger("papermill")
    pm_log.addHandler(collect)
    pm_log.propagate = False
    try:
        result = _execute_and_export(job, s, km=km)
    finally:
        pm_log.removeHandler(collect)
        if km is not None:
            _shutdown(km)
    # a kernel started ahead counts in the notebook's time, as a kernel started here would
    return dataclasses.replace(result, duration=time.monotonic() - t0 + prestarted,
                               kernel_prestarted=prestarted,
                               warnings=tuple(dict.fromkeys(messages)))


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage().strip())


def _execute_and_export(job: NotebookJob, s: _Settings, km: Any = None) -> NotebookResult:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    out_dir = Path(s.out_dir)
    executed = Path(s.scratch, f"{job.name}.ipynb")
    failure: dict[str, Any] | None = None
    attempts = 0
    for attempts in (1, 2):
        executed.unlink(missing_ok=True)
        # a kernel started ahead is used by the first attempt only (a retry starts afresh)
        ahead = {"km": km} if km is not None and attempts == 1 else {}
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
                extra_arguments=_kernel_arguments(s),
                **ahead,
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

_held_locks: dict[Path, Path] = {}  # reports dir (resolved) -> its held .lock, this process
_rename = os.rename                # a seam for the crash tests
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>staging|old)-\d+-[0-9a-f]+$")


@contextmanager
def report_lock(reports_dir: Path) -> Iterator[Path]:
    """Hold ``reports_dir/.lock`` (:func:`~vipquality._files.exclusive_lock`) for the duration
    of a run.

    A second run on the same reports folder (another process, or a nested call) is refused at
    once with a :class:`~vipquality.errors.ReportBusy` naming the holder; the lock goes with its
    process, so a killed run never leaves a stale lock. Yields the lock file's path.
    """
    reports_dir = Path(reports_dir)
    lock_path = reports_dir / LOCK_NAME
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        held = exclusive_lock(lock_path, note=f"pid {os.getpid()} since {stamp}")
        held.__enter__()
    except LockBusy as busy:
        raise ReportBusy(
            f"{reports_dir} is being written by another vipquality report run ({busy.holder}): "
            f"wait for it to finish, or write to another --out folder"
        ) from None
    key = reports_dir.resolve()
    try:
        _held_locks[key] = lock_path
        yield lock_path
    finally:
        _held_locks.pop(key, None)
        held.__exit__(None, None, None)


def _require_lock(reports_dir: Path, what: str) -> None:
    if reports_dir.resolve() not in _held_locks:
        raise ReportError(f"{what} needs the lock on {reports_dir}: call it inside "
                          f"`with report_lock({str(reports_dir)!r}):`")


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
        fsync_dir(reports_dir)
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
    fsync_dir(final.parent)
    if had_old:
        shutil.rmtree(aside, ignore_errors=True)
