"""The unattended quarterly run: shared tables once, notebooks in parallel, pages published whole.

``vipquality report`` (and ``make report``) call :func:`build_report`:

1. load and validate the workspace; start the notebook workers
   (:class:`~vipquality.report.NotebookPool`: they import papermill and nbconvert and start one
   kernel each meanwhile); ingest any quarter folder the store lacks;
2. compute the shared aggregates once (:func:`vipquality.report.data.compute_report_data`, its
   sufficient statistics on the chosen ``engine``) into the staging folder, so no notebook
   repeats the aggregation;
3. execute the summary, one page per reported segment and the standards review with papermill,
   in parallel (longest first, by the previous run's times), and export each to code-free
   offline HTML (:mod:`vipquality.report`);
4. write the tidy CSVs meant for executives (redacted: suppressed bases carry no value) and
   ``run.json`` (what the run ran on);
5. with ``pdf=True`` (``--pdf``), print the board pack to ``board-pack.pdf`` with headless
   Chromium inside the staging folder (without Chromium the run says so in one line);
6. publish ``reports/<quarter>/`` atomically, and the restricted pages (staff names) to the
   sibling root ``reports/restricted/<quarter>/``, so that copying a quarter's folder for
   executives never copies a staff-level page. Executed notebooks of failures are kept in
   ``reports/_failed/<quarter>/`` for debugging, outside the folder executives read.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from vipquality._version import __version__
from vipquality.config import Workspace, load_workspace
from vipquality.errors import ReportError
from vipquality.metrics.sufficient.engines import ENGINES  # the summarise(engine=) choices
from vipquality.paths import PROJECT_ROOT, SAMPLE_WORKSPACE
from vipquality.report.executive import settle_suppression, write_executive_tables
from vipquality.report.run import (
    NotebookJob,
    NotebookPool,
    RunResult,
    new_staging,
    publish,
    report_lock,
    short_pages,
)
from vipquality.report.run.jobs import RESTRICTED_DIR
from vipquality.report.run.manifest import write_manifest

if TYPE_CHECKING:
    from vipquality.report.data import ReportData

__all__ = ["build_report", "report_jobs", "ReportOutcome", "NOTEBOOKS_DIR", "ENGINES"]

#: Imported by every notebook kernel at start-up (they all begin with ``import vipquality``).
_PRELOAD = ("vipquality", "vipquality.report.pages")

#: The notebooks a quarterly run executes.
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
_DATA_DIR = "_data"


@dataclass(frozen=True)
class ReportOutcome:
    """What :func:`build_report` did: the published folder and each notebook's result."""

    quarter: str
    folder: Path
    run: RunResult
    restricted: Path | None = None  #: ``<out>/restricted/<quarter>/`` when the run wrote one
    notes: tuple[str, ...] = ()     #: one line each, e.g. why no board pack was printed

    @property
    def ok(self) -> bool:
        return self.run.ok

    def summary(self) -> str:
        state = "complete" if self.ok else "published WITH FAILURES"
        where = f"{self.quarter}: {state} -> {self.folder / 'index.html'}"
        if self.restricted is not None:
            where += f"\n  restricted pages (staff names; do not forward) -> {self.restricted}"
        where += "".join(f"\n  {note}" for note in self.notes)
        return f"{where}\n{self.run.summary()}"


def segment_page(segment: str) -> str:
    """File name of a segment's page."""
    return f"segment-{segment}.html"


def report_jobs(data: ReportData, workspace: Path, data_dir: Path,
                notebooks: Path = NOTEBOOKS_DIR) -> list[NotebookJob]:
    """The notebooks of one quarterly run, with their papermill parameters.

    The workspace goes in as an absolute path: each kernel runs in the notebooks' folder, so a
    path relative to where ``vipquality report`` was started (``--workspace surveys``) would
    name another folder there."""
    common = {"workspace": str(Path(workspace).resolve()), "quarter": data.quarter,
              "data_dir": str(Path(data_dir).resolve())}
    jobs = [NotebookJob("summary", notebooks / "summary.ipynb", dict(common), "index.html")]
    shown = data.segments.loc[data.segments["report"], "segment"]
    for segment in shown:
        jobs.append(NotebookJob(f"segment-{segment}", notebooks / "segment.ipynb",
                                {**common, "segment": segment}, segment_page(segment)))
    jobs.append(NotebookJob("standards", notebooks / "standards.ipynb", dict(common),
                            "standards_review.html"))
    # Restricted: names personal managers. Under restricted/, never linked from the index.
    jobs.append(NotebookJob("staff", notebooks / "staff.ipynb", dict(common), "staff.html",
                            restricted=True))
    return jobs


def _relocated(run: RunResult, staging: Path, failed_dst: Path) -> RunResult:
    """The run's results as they are after publication: kept notebooks under
    ``reports/_failed/<quarter>/`` (absolute paths) and no reference to the removed staging
    folder's shared tables."""
    import dataclasses

    results = []
    for r in run.notebooks:
        params = {k: ("<this run's shared tables>" if k == "data_dir" else v)
                  for k, v in r.parameters.items()}
        kept = (failed_dst / Path(r.failed_notebook).name) if r.failed_notebook else None
        results.append(dataclasses.replace(r, parameters=params, failed_notebook=kept))
    return dataclasses.replace(run, notebooks=tuple(results))


def previous_durations(out: Path, quarter: str) -> dict[str, float]:
    """Seconds each notebook took in the last run published in ``out`` (the same quarter's
    ``run.json`` when there is one, else the latest quarter's); ``{}`` when there is none.
    Only notebooks that succeeded count (a failure can stop early)."""
    out = Path(out)
    candidates = [out / quarter / "run.json"]
    if out.is_dir():
        candidates += sorted(out.glob("*/run.json"), key=lambda p: p.parent.name, reverse=True)
    for path in candidates:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            return {str(nb["name"]): float(nb["duration"]) for nb in record["notebooks"]
                    if nb.get("status") == "ok"}
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return {}


def _as_recorded(root: Path) -> str:
    """The workspace as run.json records it: relative to the working directory when it lies
    below it (an absolute path would name the user's home folder on every page copied around)."""
    root, here = Path(root).resolve(), Path.cwd().resolve()
    return os.path.relpath(root, here) if root.is_relative_to(here) else str(root)


def build_report(workspace: str | Path | Workspace | None = None, quarter: str | None = None,
                 out: str | Path = "reports", *, workers: int | None = None,
                 progress: bool = True, timeout: int = 600,
                 notebooks: Path = NOTEBOOKS_DIR, engine: str = "duckdb",
                 pdf: bool = False, store: str | None = None) -> ReportOutcome:
    """Run the full quarterly report and publish ``<out>/<quarter>/`` atomically.

    Parameters
    ----------
    workspace : path or Workspace, optional
        Default: the bundled sample workspace.
    quarter : str, optional
        Default: the latest quarter in the workspace.
    out : path
        The reports folder; the quarter's pages go to ``out/<quarter>/``.
    workers : int, optional
        Notebooks run at once (default: the machine's cores).
    engine : {"duckdb", "pandas", "spark"}, default "duckdb"
        Engine of the shared aggregation's sufficient statistics (all give the same tables;
        ``spark`` needs pyspark and Java, and ``$SPARK_MASTER`` names a cluster). Recorded in
        ``run.json``.
    store : str, optional
        With ``engine="spark"``: the store's folder or URL (``s3a://bucket/vq/store``) that
        Spark reads itself in the shared step (:func:`compute_report_data`); recorded in
        ``run.json``.
    pdf : bool
        Also print the board pack (:mod:`vipquality.report.pages.board`) to
        ``<quarter>/board-pack.pdf`` with headless Chromium, inside the staging folder before the
        swap. Without Chromium (or when printing fails) the pages are published all the same and
        :meth:`ReportOutcome.summary` says why in one line.

    Returns
    -------
    ReportOutcome
        ``ok`` is False when any notebook failed; the pages that succeeded are published and
        the failures are named in :meth:`ReportOutcome.summary`.
    """
    started = datetime.now(timezone.utc)
    if engine not in ENGINES:
        raise ReportError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if store is not None and engine != "spark":
        raise ReportError(f"--store {store} is read by Spark: give --engine spark with it")
    ws = workspace if isinstance(workspace, Workspace) else load_workspace(
        workspace or SAMPLE_WORKSPACE)
    out = Path(out)
    # The workers start now and get ready (imports, one kernel each) while this process
    # ingests and computes the shared tables: that work is no longer serial before the pages.
    # (vipquality.report.data, which loads pandas, scipy and statsmodels, is imported after the
    # workers are started, so they start about a second earlier)
    pool = NotebookPool(workers=workers, timeout=timeout, kernel_cwd=notebooks, preload=_PRELOAD)
    try:
        from vipquality.data.ingest.refresh import ensure_store
        from vipquality.report.data import compute_report_data

        ensure_store(ws)
        # ordinal=False: the ordinal cross-check of the key drivers is shown on no page and in
        # no CSV of the run (see compute_report_data)
        data = compute_report_data(ws, quarter, engine=engine, ordinal=False, store=store)
        final = out / data.quarter
        with report_lock(out):
            staging = new_staging(final)
            try:
                settle_suppression(data)  # the cross-table audit once, not in every notebook
                data_dir = data.save(staging / _DATA_DIR)
                jobs = report_jobs(data, ws.root, data_dir.resolve(), notebooks)
                from vipquality.data.store import fingerprint

                digest, notes, alerts = [], [], []
                board = staging / BOARD_PACK_HTML

                def meanwhile() -> None:  # this process's own work, while the notebooks run
                    write_executive_tables(data, staging)
                    digest.append(fingerprint(ws, data.quarters))
                    # the managers' own case lists: restricted, published with the staff page
                    from vipquality.report.pages.cases import write_case_lists

                    write_case_lists(ws, data.quarter, staging / RESTRICTED_DIR,
                                     data.loop_managers)
                    from vipquality.report.alerts import write_alerts

                    alerts.append(write_alerts(data, ws, staging, staging / RESTRICTED_DIR))
                    # what clients say: every comment by theme and the emerging themes
                    from vipquality.report.themes import write_theme_files

                    write_theme_files(ws, data.quarter, data.previous,
                                      data.segments.loc[data.segments["report"],
                                                        "segment"].tolist(),
                                      staging / RESTRICTED_DIR, engine=engine)
                    if pdf:
                        from vipquality.report.pages.board import write_board_pack

                        write_board_pack(data, board)

                run = pool.run(jobs, staging, progress=progress,
                               expected=previous_durations(out, data.quarter),
                               meanwhile=meanwhile)
                pool.close()  # no worker or kernel of the run outlives its notebooks
                shutil.rmtree(data_dir)
                failed_src = staging / "_failed"
                failed_dst = out / "_failed" / data.quarter
                if failed_src.exists():
                    shutil.rmtree(failed_dst, ignore_errors=True)
                    failed_dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(failed_src), failed_dst)
                run = _relocated(run, staging, failed_dst)
                if pdf:
                    notes.append(_print_board_pack(data, board, staging / BOARD_PACK))
                write_manifest(
                    staging / "run.json", package_version=__version__,
                    workspace=_as_recorded(ws.root),
                    data_fingerprint=digest[0],
                    parameters={"quarter": data.quarter, "previous": data.previous,
                                "quarters": data.quarters, **data.settings,
                                "engine": engine, **({"store": store} if store else {}),
                                "segments": data.segments.loc[data.segments["report"],
                                                              "segment"].tolist()},
                    started=started, finished=datetime.now(timezone.utc),
                    notebooks=run.notebooks)
                short = short_pages(staging / r.html for r in run.notebooks
                                    if r.status == "ok" and r.html)
                if short:  # a full disk, say: keep the previous quarter whole
                    raise ReportError(
                        f"{final} was not published (the previous version, if any, is kept): "
                        + "; ".join(short))
                restricted = _publish_restricted(staging / RESTRICTED_DIR, out, data.quarter)
                publish(staging, final)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        if alerts:  # after publication: a failed delivery is a line of the summary, no more
            from vipquality.report.alerts import alert_lines, send_alerts

            notes += alert_lines(alerts[0]) + send_alerts(ws, data.quarter, alerts[0])
    finally:
        pool.close()
    return ReportOutcome(data.quarter, final, run, restricted, tuple(n for n in notes if n))


#: The board pack printed by ``--pdf`` and the hidden document it is printed from (removed).
BOARD_PACK = "board-pack.pdf"
BOARD_PACK_HTML = ".board-pack.html"


def _print_board_pack(data: ReportData, page: Path, pdf: Path) -> str:
    """Print the board pack document to ``pdf`` and remove it; a one-line note when no PDF
    could be printed (no Chromium, or Chromium failing), else ``""``."""
    from vipquality.report.pages.board import board_pack_footer
    from vipquality.report.run.chromium import find_chromium, print_pdf
    from vipquality.report.run.export import ship_plotly_js

    try:
        if find_chromium() is None:
            return (f"{BOARD_PACK} not written: headless Chromium not found (install Debian's "
                    "`chromium` package); the HTML pages are published")
        ship_plotly_js(page.parent)
        print_pdf(page, pdf, footer=board_pack_footer(data))
        return ""
    except ReportError as err:
        pdf.unlink(missing_ok=True)
        return f"{BOARD_PACK} not written: {err}; the HTML pages are published"
    finally:
        page.unlink(missing_ok=True)


def _publish_restricted(pages: Path, out: Path, quarter: str) -> Path | None:
    """Move the run's restricted pages (staged in ``pages``) to ``out/restricted/<quarter>/``,
    atomically like the quarter itself (own lock, staging folder and swap). Returns the
    published folder, or None when the run wrote no restricted page (the previous restricted
    folder, if any, is then left as it is). Called with the executive pages checked whole and
    not yet published: a failure here keeps both previous versions."""
    if not pages.is_dir():
        return None
    root = out / RESTRICTED_DIR
    root.mkdir(exist_ok=True)
    final = root / quarter
    with report_lock(root):
        staging = new_staging(final)
        try:
            for entry in sorted(pages.iterdir()):
                entry.rename(staging / entry.name)  # same filesystem: renames
            pages.rmdir()
            publish(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return final


