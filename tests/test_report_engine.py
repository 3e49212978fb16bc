"""``vipquality report --engine``: the shared aggregation's sufficient statistics on DuckDB (the
default), pandas or Spark give the same tables, and the engine is recorded in ``run.json``.

The command-line test runs the real command in-process with one stub notebook (the engine only
changes the shared tables, which the executive CSVs are written from), so it costs two kernel
starts, not two full reports. The Spark test is skipped without pyspark and Java (as
``tests/test_spark.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from vipquality.cli import main
from vipquality.errors import ReportError
from vipquality.report import build as quarterly
from vipquality.report.data import compute_report_data

SUMMED = ("metrics", "branches", "managers")
CSVS = ("metrics.csv", "metrics_by_branch.csv", "standards_compliance.csv")


def _stub_notebooks(folder: Path) -> Path:
    """A notebooks folder whose summary is one parameters cell and one line of text."""
    folder.mkdir(parents=True, exist_ok=True)
    params = new_code_cell("workspace = None\nquarter = None\ndata_dir = None\nsegment = 'all'",
                           metadata={"tags": ["parameters", "remove-cell"]})
    for name in ("summary", "segment", "standards", "staff"):
        nb = new_notebook(cells=[params, new_markdown_cell(f"stub {name}")], metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"}})
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


@pytest.fixture(scope="module")
def cli_runs(report_workspace, tmp_path_factory):
    """``vipquality report`` with --engine duckdb and --engine pandas (summary page only)."""
    notebooks = _stub_notebooks(tmp_path_factory.mktemp("stub") / "notebooks")
    real_jobs = quarterly.report_jobs
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(quarterly, "report_jobs",  # the summary job only, on the stub notebook
                   lambda data, ws, data_dir, _nbs: real_jobs(data, ws, data_dir, notebooks)[:1])
        for engine in ("duckdb", "pandas"):
            out = tmp_path_factory.mktemp(f"engine-{engine}") / "reports"
            result = CliRunner().invoke(main, [
                "report", "--workspace", str(report_workspace.root), "--out", str(out),
                "--workers", "1", "--no-progress", "--engine", engine])
            runs[engine] = (result, out / report_workspace.quarter)
    return runs


def test_report_accepts_engine_pandas_and_writes_the_same_tables(cli_runs):
    for engine, (result, folder) in cli_runs.items():
        assert result.exit_code == 0, (engine, result.output, result.exception)
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        assert record["parameters"]["engine"] == engine
        assert [nb["status"] for nb in record["notebooks"]] == ["ok"]
    duck, pand = cli_runs["duckdb"][1], cli_runs["pandas"][1]
    for name in CSVS:
        a = pd.read_csv(duck / name)
        b = pd.read_csv(pand / name)
        assert len(a) > 0, name
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-9)


def test_an_unknown_engine_is_a_clear_error_without_traceback(report_workspace, tmp_path):
    result = CliRunner().invoke(main, ["report", "--workspace", str(report_workspace.root),
                                       "--out", str(tmp_path / "reports"), "--engine", "nope"])
    assert result.exit_code == 2
    assert "Invalid value for '--engine'" in result.output
    assert "duckdb" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "reports").exists()  # refused before anything ran
    # the same through a subprocess, as a scheduler sees it
    proc = subprocess.run([sys.executable, "-m", "vipquality.cli", "report", "--engine", "nope"],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "'nope' is not one of 'duckdb', 'pandas', 'spark'" in proc.stderr
    with pytest.raises(ReportError, match="unknown engine 'nope'"):
        quarterly.build_report(report_workspace.root, out=tmp_path / "r2", engine="nope")


def test_a_store_url_without_spark_is_a_clear_error(report_workspace, tmp_path):
    result = CliRunner().invoke(main, ["report", "--workspace", str(report_workspace.root),
                                       "--out", str(tmp_path / "reports"),
                                       "--store", "s3a://bucket/vq/store"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--store is read by Spark: give --engine spark" in result.output
    assert not (tmp_path / "reports").exists()
    with pytest.raises(ReportError, match="give --engine spark"):
        quarterly.build_report(report_workspace.root, out=tmp_path / "r2", store="s3a://b/s")


def _assert_same_tables(a, b) -> None:
    for name in SUMMED:
        left = getattr(a, name).reset_index(drop=True)
        right = getattr(b, name).reset_index(drop=True)
        assert len(left) > 0, name
        pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-9, atol=1e-9,
                                      obj=name)
    for name in ReportDataTables:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)


# tables that do not come from summarise: the engine must not change them at all
ReportDataTables = ("composition", "ces_counts", "drivers", "standards", "scorecard")


def test_report_data_is_the_same_on_pandas_and_duckdb(report_workspace):
    duck = compute_report_data(report_workspace.root, n_boot=20, ordinal=False)
    pand = compute_report_data(report_workspace.root, n_boot=20, ordinal=False, engine="pandas")
    _assert_same_tables(duck, pand)


def test_report_data_skips_only_the_ordinal_cross_check_when_asked(report_workspace):
    with_ord = compute_report_data(report_workspace.root, n_boot=20)
    without = compute_report_data(report_workspace.root, n_boot=20, ordinal=False)
    ord_cols = [c for c in with_ord.drivers.columns if c.startswith("ord_")]
    assert ord_cols and with_ord.drivers["ord_coef"].notna().any()
    assert without.drivers["ord_coef"].isna().all()
    assert (without.drivers["ord_note"] == "not fitted (ordinal=False)").all()
    pd.testing.assert_frame_equal(with_ord.drivers.drop(columns=ord_cols),
                                  without.drivers.drop(columns=ord_cols))
    for name in ("metrics", "standards", "scorecard", "proposals", "revisions"):
        pd.testing.assert_frame_equal(getattr(with_ord, name), getattr(without, name), obj=name)


# --------------------------------------------------------------------------------------------
# Spark (pyspark is in the development environment only, not in CI)


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_report_data_on_spark_is_the_same_as_on_duckdb(report_workspace, spark):
    on_spark = compute_report_data(report_workspace.root, n_boot=20, ordinal=False,
                                   engine="spark")
    duck = compute_report_data(report_workspace.root, n_boot=20, ordinal=False)
    _assert_same_tables(duck, on_spark)


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_report_data_with_spark_reading_the_store_is_the_same(report_workspace, spark,
                                                             tmp_path):
    """``report --engine spark --store URL``: Spark reads a copy of the store, elsewhere."""
    import shutil

    store = tmp_path / "store"
    shutil.copytree(report_workspace.root / "store", store,
                    ignore=shutil.ignore_patterns(".lock", ".txn", ".ensure.lock"))
    direct = compute_report_data(report_workspace.root, n_boot=20, ordinal=False,
                                 engine="spark", store=store.as_uri())
    duck = compute_report_data(report_workspace.root, n_boot=20, ordinal=False)
    _assert_same_tables(duck, direct)
