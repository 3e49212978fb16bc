"""Run notebooks with papermill in a pool of warm worker processes, and export each page.

:func:`run_notebooks` runs a set of jobs once. A run that has serial work of its own before the
notebooks can start (the quarterly run computes its shared tables first) opens a
:class:`NotebookPool` first: its worker processes start, import papermill and nbconvert and start
one kernel each while the caller works, and :meth:`NotebookPool.run` then takes the jobs, longest
first when their expected times are known (:func:`longest_first`). In a worker, each job is
executed, exported to HTML and checked (:func:`_run_one`).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from vipquality.errors import ReportError
from vipquality.report.run.export import check_html, count_charts, export_html, ship_plotly_js
from vipquality.report.run.jobs import (
    FAILED_DIR,
    NotebookJob,
    NotebookResult,
    RunResult,
    _cells_started,
    _execution_count,
    _source_cell,
    _validate_jobs,
)
from vipquality.report.run.kernels import (
    KERNEL_SETUP,
    _kernel_arguments,
    _noop,
    _preload_code,
    _Settings,
    _shutdown,
    _take_spare,
    _warm_worker,
    kernel_manager_class,
)

__all__ = [
    "NotebookPool",
    "longest_first",
    "run_notebooks",
]


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


_SCRATCH = "vipquality-run-"
_STALE = re.compile(rf"^{_SCRATCH}(?P<pid>\d+)-")


def _clean_stale_scratch(tmp: str | None = None) -> list[str]:
    """Remove the scratch folders of runs whose process is gone (a SIGKILL leaves its
    ``vipquality-run-<pid>-*`` folder in the temporary directory); return their names."""
    removed = []
    folder = Path(tmp or tempfile.gettempdir())
    for entry in folder.glob(f"{_SCRATCH}*"):
        m = _STALE.match(entry.name)
        if not m or not entry.is_dir():
            continue
        try:
            os.kill(int(m["pid"]), 0)
        except ProcessLookupError:  # no such process: the run that made it was killed
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
        except PermissionError:  # another user's live process
            pass
    return removed


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
        _clean_stale_scratch()
        self._scratch_dir = tempfile.TemporaryDirectory(prefix=f"{_SCRATCH}{os.getpid()}-")
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


# --------------------------------------------------------------------------------------------
# one job, in a worker


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
        ahead = ({"km": km} if km is not None and attempts == 1
                 else {"kernel_manager_class": kernel_manager_class()})
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
                # nbclient's graceful shutdown interrupts the kernel first, and ipykernel then
                # logs "KeyboardInterrupt caught in kernel." into a successful run's output; the
                # outputs are all collected by then, so the kernel is stopped at once instead
                shutdown_kernel="immediate",
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
