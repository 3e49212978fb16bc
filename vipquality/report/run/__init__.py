"""Quarterly report machinery: run notebooks with papermill, export code-free offline HTML,
publish ``reports/<quarter>/`` atomically and record what the run ran on.

The notebooks themselves live in ``notebooks/``; this package only runs them.

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

The modules, each importing only those listed after it (the ``report.run`` contract in
``pyproject.toml``):

* :mod:`.pool`: :class:`NotebookPool`, :func:`run_notebooks`; one job executed and exported;
* :mod:`.kernels`: the kernels' start-up code and arguments, the warm worker and its spare kernel;
* :mod:`.publication`: :func:`report_lock`, :func:`new_staging`, :func:`publish`;
* :mod:`.jobs`: :class:`NotebookJob`, :class:`NotebookResult`, :class:`RunResult`;
* :mod:`.export`: executed notebook -> checked, code-free offline HTML page;
* :mod:`.manifest`: ``run.json``.

The worker processes import only this package: nothing in it imports pandas, scipy or plotly
at module level.
"""

from vipquality.report.run.export import check_html, count_charts, export_html, ship_plotly_js
from vipquality.report.run.jobs import NotebookJob, NotebookResult, RunResult
from vipquality.report.run.manifest import write_manifest
from vipquality.report.run.pool import NotebookPool, run_notebooks
from vipquality.report.run.publication import new_staging, publish, report_lock, short_pages

__all__ = [
    "NotebookJob",
    "NotebookPool",
    "NotebookResult",
    "RunResult",
    "check_html",
    "count_charts",
    "export_html",
    "new_staging",
    "publish",
    "report_lock",
    "run_notebooks",
    "short_pages",
    "ship_plotly_js",
    "write_manifest",
]
