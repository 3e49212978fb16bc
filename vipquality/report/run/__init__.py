"""Quarterly report machinery: run notebooks with papermill, export code-free offline HTML,
publish ``reports/<quarter>/`` atomically and record what the run ran on.

The notebooks themselves live in ``notebooks/``; this package only runs them.
"""

from vipquality.report.run.export import check_html, count_charts, export_html, ship_plotly_js
from vipquality.report.run.manifest import write_manifest
from vipquality.report.run.pool import (
    NotebookJob,
    NotebookPool,
    NotebookResult,
    RunResult,
    new_staging,
    publish,
    report_lock,
    run_notebooks,
)

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
    "ship_plotly_js",
    "write_manifest",
]
