"""The notebooks in notebooks/: their papermill parameter contract, how they are stored, and a
standalone run (no precomputed data, as a quality manager runs one in JupyterLab).

The quarterly run's execution of every notebook is in test_report_e2e.py; nbval
(``pytest --nbval-lax notebooks/``) runs them on the bundled sample workspace.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import nbformat
import pandas as pd
import papermill as pm
import pytest

from vipquality.report.build import NOTEBOOKS_DIR, report_jobs

#: the notebooks of the quarterly run (report_jobs) and their papermill parameters
REPORT_NOTEBOOKS = ("summary", "segment", "standards", "staff")
#: every notebook stored in notebooks/ (exploration notebooks too)
ALL_NOTEBOOKS = tuple(sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb")))
COMMON = {"workspace": "None", "quarter": "None", "data_dir": "None"}
CONTRACT = {"summary": COMMON, "standards": COMMON, "staff": COMMON,
            "segment": {**COMMON, "segment": '"all"'}}
MAX_CELL_LINES = 15


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)


def test_every_report_notebook_has_a_contract():
    assert set(REPORT_NOTEBOOKS) <= set(ALL_NOTEBOOKS)
    assert set(CONTRACT) == set(REPORT_NOTEBOOKS)


@pytest.mark.parametrize("name", REPORT_NOTEBOOKS)
def test_parameter_contract(name):
    params = pm.inspect_notebook(str(NOTEBOOKS_DIR / f"{name}.ipynb"))
    assert {k: v["default"] for k, v in params.items()} == CONTRACT[name]


def test_the_quarterly_run_passes_only_declared_parameters(tmp_path):
    data = SimpleNamespace(quarter="2026Q3", segments=pd.DataFrame(
        {"segment": ["all", "premium", "lapsing"], "report": [True, True, False]}))
    jobs = report_jobs(data, tmp_path / "ws", tmp_path / "data")
    names = [j.name for j in jobs]
    assert names[:4] == ["summary", "segment-all", "segment-premium", "standards"]
    assert "segment-lapsing" not in names
    assert {j.notebook.stem for j in jobs} == set(REPORT_NOTEBOOKS)
    for job in jobs:
        declared = pm.inspect_notebook(str(job.notebook))
        assert set(job.parameters) == set(declared), job.name
        assert job.parameters["quarter"] == "2026Q3"


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_stored_clean(name):
    nb = _read(name)
    assert nb.metadata.kernelspec.name == "python3"
    assert "papermill" not in nb.metadata
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {i} is stored with outputs"
            assert cell.execution_count is None, f"{name} cell {i} has an execution count"
        assert "execution" not in cell.metadata and "papermill" not in cell.metadata, (name, i)
        assert "attachments" not in cell or not cell.attachments


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_cells_stay_short(name):
    for i, cell in enumerate(_read(name).cells):
        if cell.cell_type == "code":
            lines = cell.source.strip().splitlines()
            assert len(lines) <= MAX_CELL_LINES, f"{name} cell {i}: {len(lines)} lines"


@pytest.mark.parametrize("name", REPORT_NOTEBOOKS)
def test_setup_never_reaches_a_page(name):
    code = [(i, c) for i, c in enumerate(_read(name).cells) if c.cell_type == "code"]
    # the first code cell is papermill's parameters cell; it and the set-up never reach a page
    first, setup = code[0][1], code[1][1]
    assert "parameters" in first.metadata.get("tags", [])
    assert "remove-cell" in first.metadata.get("tags", [])
    assert "report_data(" in setup.source and "remove-cell" in setup.metadata.get("tags", [])
    tagged = [i for i, c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1


def test_a_notebook_runs_standalone_on_a_workspace(report_workspace, tmp_path):
    """No data_dir: the notebook computes the report tables itself (JupyterLab use)."""
    out = tmp_path / "segment.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS_DIR / "segment.ipynb"), str(out), kernel_name="python3",
        parameters={"workspace": str(report_workspace.root), "segment": "premium"},
        progress_bar=False, cwd=str(NOTEBOOKS_DIR), execution_timeout=300)
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert f"Premium — {report_workspace.quarter}" in html
    charts = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(charts) == 4 + 5  # 4 trends, composition, drivers, CES, 2 compliance
    assert 'class="vq-kpis"' in html  # the headline KPI cards (HTML, not a chart)
    assert not Path(report_workspace.root, "store", ".txn").exists()


_ENSURE = """
import sys, time
from vipquality.data.ingest.refresh import ensure_store
from vipquality.config import load_workspace
ws = load_workspace(sys.argv[1])
while time.time() < float(sys.argv[2]):  # start together
    time.sleep(0.005)
print(",".join(ensure_store(ws)))
"""


def test_notebooks_started_together_share_one_ingest(report_workspace, tmp_path):
    """Notebooks run in parallel (nbval under xdist, a quarterly run) each call
    ``ensure_store`` on a fresh store: one imports, the others wait for it, none fails."""
    import shutil
    import subprocess
    import sys
    import time

    ws = tmp_path / "ws"
    shutil.copytree(report_workspace.root, ws, ignore=shutil.ignore_patterns("store"))
    start = str(time.time() + 3)
    procs = [subprocess.Popen([sys.executable, "-c", _ENSURE, str(ws), start],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-2000:] for _, err in results]
    ingested = [out.strip() for out, _ in results]
    assert sorted(ingested) == ["", "", ",".join(report_workspace.quarters)], ingested
    log = pd.read_csv(ws / "store" / "ingest_log.csv", encoding="utf-8-sig")
    assert sorted(log["quarter"].unique()) == list(report_workspace.quarters)
    assert not log.duplicated(["sha256", "table"]).any()
