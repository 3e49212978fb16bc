"""Notebook jobs and what came of them.

:class:`NotebookJob` is one notebook to execute and export; :class:`NotebookResult` says how it
went and :class:`RunResult` holds a run's results in job order. The run checks its jobs before
anything starts (:func:`_validate_jobs`), and a failure is located in the *source* notebook
(:func:`_source_cell`): papermill counts the cells of the executed copy, which has its
injected-parameters cell too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vipquality.errors import ReportError

__all__ = [
    "NotebookJob",
    "NotebookResult",
    "RunResult",
]

FAILED_DIR = "_failed"
RESTRICTED_DIR = "restricted"


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
# checking the jobs, locating a failure


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
