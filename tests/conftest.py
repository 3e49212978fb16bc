"""Shared fixtures.

``report_workspace``: a small generated workspace (3 quarters, 600 responses and 120 visits a
quarter, 1,500 clients) with one planted client whose personal data is easy to search for, built
once per test session (shared by the xdist workers through a file lock) and already ingested.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------
# the report test workspace


@dataclass(frozen=True)
class PlantedClient:
    """A client of the latest CRM extract with distinctive personal data (and a survey comment
    quoting it), which no report file may contain."""

    client_id: str = "C0987123"
    full_name: str = "Zebediah Quuxworth"
    email: str = "zebediah.quux@example.org"
    phone: str = "+7 999 123-45-67"
    address: str = "Quuxworth Lane 42, Zebedee"
    replaced_id: str = ""  # the generated client id the planted one took over

    @property
    def comment(self) -> str:
        return (f"Please call me, {self.full_name}, on {self.phone} or write to {self.email} "
                f"(client {self.client_id}, {self.address}).")

    def strings(self) -> list[str]:
        """Every fragment that must never appear in a report file."""
        return [self.client_id, self.full_name, "Zebediah", "Quuxworth", self.email,
                "zebediah.quux", self.phone, "999 123-45-67", "9991234567", "123-45-67",
                self.address, "Quuxworth Lane", self.comment[:40]]


@dataclass(frozen=True)
class ReportWorkspace:
    root: Path
    quarters: tuple[str, ...]
    planted: PlantedClient

    @property
    def quarter(self) -> str:
        """The latest quarter (the one a report defaults to)."""
        return self.quarters[-1]


SMALL_SAMPLE = dict(quarters=3, responses_per_quarter=600, visits_per_quarter=120, clients=1500)


def _only(folder: Path, patterns) -> Path:
    found = sorted({p for pattern in patterns for p in folder.glob(pattern)})
    assert len(found) == 1, f"expected one file matching {patterns} in {folder}, got {found}"
    return found[0]


def _plant(ws, quarter: str, planted: PlantedClient) -> PlantedClient:
    """Give one surveyed legal-entity client of ``quarter`` the planted identity, contact data
    and a comment quoting them (CRM extract and survey export, whatever their format)."""
    import pandas as pd

    folder = ws.quarter_dir(quarter)
    cols = ws.client_columns
    clients_path = _only(folder, ws.quarter_files["clients"])
    survey_path = _only(folder, ws.quarter_files["survey"])
    assert survey_path.suffix == ".csv", "the latest quarter's survey is written as CSV"
    clients = (pd.read_parquet(clients_path) if clients_path.suffix == ".parquet"
               else pd.read_csv(clients_path, dtype=str, keep_default_na=False))

    inst = ws.instrument
    id_col, comment_col = inst.columns["client_id"], inst.comment.column
    with open(survey_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    i_id, i_comment = header.index(id_col), header.index(comment_col)
    surveyed = {r[i_id] for r in body}

    cid = clients[cols["client_id"]].astype(str)
    legal = clients[cols["client_type"]].astype(str).eq("legal_entity")
    candidates = sorted(set(cid[legal]) & surveyed) or sorted(set(cid) & surveyed)
    old = candidates[0]
    assert planted.client_id not in set(cid), "the planted id must be new"

    row = cid == old
    clients.loc[row, cols["client_id"]] = planted.client_id
    for column, value in (("full_name", planted.full_name), ("email", planted.email),
                          ("phone", planted.phone), ("address", planted.address)):
        assert column in clients.columns, f"the CRM extract has no {column} column"
        clients.loc[row, column] = value
    if clients_path.suffix == ".parquet":
        clients.to_parquet(clients_path, index=False)
    else:
        clients.to_csv(clients_path, index=False, lineterminator="\n")

    for r in body:
        if r[i_id] == old:
            r[i_id] = planted.client_id
            r[i_comment] = planted.comment
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *body])
    survey_path.write_text(buffer.getvalue(), encoding="utf-8")
    return PlantedClient(replaced_id=old)


def _build_report_workspace(root: Path) -> dict:
    from vipquality.config import load_workspace
    from vipquality.data.ingest.refresh import ensure_store
    from vipquality.data.sample import generate_sample

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for config in sorted((REPO / "surveys").glob("*.yaml")):
        shutil.copy2(config, root / config.name)
    written = generate_sample(root, **SMALL_SAMPLE)
    ws = load_workspace(root)
    planted = _plant(ws, written["quarters"][-1], PlantedClient())
    ensure_store(ws)
    return {"quarters": written["quarters"], "replaced_id": planted.replaced_id}


@pytest.fixture(scope="session")
def report_workspace(tmp_path_factory) -> ReportWorkspace:
    """The small, generated, ingested workspace of the report tests (built once per session).

    Read-only for tests: copy it before changing anything.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this run (pytest-N/)
    root = base / "vq-report-workspace"
    ready = base / "vq-report-workspace.json"
    with open(base / "vq-report-workspace.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other worker waits while one builds
        if not ready.exists():
            ready.write_text(json.dumps(_build_report_workspace(root)))
        info = json.loads(ready.read_text())
    return ReportWorkspace(root, tuple(info["quarters"]),
                           PlantedClient(replaced_id=info["replaced_id"]))


@pytest.fixture(scope="session")
def sample_workspace(tmp_path_factory) -> Path:
    """The committed sample workspace (surveys/), copied without its store and ingested once
    per test process: tests that check the planted structure end to end read it."""
    from vipquality.config import load_workspace
    from vipquality.data.ingest.refresh import ensure_store
    from vipquality.paths import SAMPLE_WORKSPACE

    root = tmp_path_factory.mktemp("sample") / "surveys"
    shutil.copytree(SAMPLE_WORKSPACE, root, ignore=shutil.ignore_patterns("store", ".lock"))
    ensure_store(load_workspace(root))
    return root


# --------------------------------------------------------------------------------------------
# `make test-spark` (run by CI) sets VQ_REQUIRE_SPARK=1: there a skipped Spark test is a failure,
# so a missing pyspark or Java runtime cannot pass unnoticed.


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("VQ_REQUIRE_SPARK") and report.skipped and "spark" in item.nodeid.lower():
        report.outcome = "failed"
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"VQ_REQUIRE_SPARK is set but the Spark test was skipped: {reason}"


if os.environ.get("VQ_REQUIRE_SPARK"):
    import pyspark  # noqa: F401  (fails loudly here instead of skipping the Spark module)


# --------------------------------------------------------------------------------------------
# one local Spark session for the whole test session (tests/test_spark.py, test_report_engine.py)


def _java_problem() -> str | None:
    """Why Spark cannot start here (no Java 17+ runtime), or None."""
    import subprocess

    java = shutil.which("java")
    if java is None:
        return "no Java runtime on PATH (Spark needs Java 17+)"
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30,
                             check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"java -version failed: {err}"
    return f"java -version failed: {out.stderr.strip()[:200]}" if out.returncode else None


@pytest.fixture(scope="session")
def spark():
    """A small local Spark session (``local[1]``, no UI); skipped without pyspark or Java."""
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install pyspark)")
    problem = _java_problem()
    if problem:
        pytest.skip(problem)
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is not None:  # pragma: no cover - someone else's session
        yield SparkSession.getActiveSession()
        return
    session = (SparkSession.builder.master("local[1]").appName("vipquality-test")
               .config("spark.ui.enabled", "false")
               .config("spark.driver.memory", "512m")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.driver.extraJavaOptions", "-Xss4m")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
