"""Reading the canonical store back: loaders, quarters, fingerprints, and the on-disk contract."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

from vipquality.config import load_workspace
from vipquality.data.ingest import ingest_quarter
from vipquality.data.schema import TABLES, table_schema
from vipquality.data.store import (
    fingerprint,
    load_clients,
    load_memberships,
    load_responses,
    load_visits,
    stored_quarters,
)
from vipquality.errors import StoreError
from vipquality.paths import SAMPLE_WORKSPACE

DATA = Path(__file__).parent / "data"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The hand-written 2026Q2 quarter, and a 2026Q1 made from it (ids and dates moved)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    for y in SAMPLE_WORKSPACE.glob("*.yaml"):
        shutil.copy(y, ws / y.name)
    shutil.copytree(DATA / "2026Q2", ws / "2026Q2")
    q1 = ws / "2026Q1"
    q1.mkdir()
    shutil.copy(DATA / "2026Q2" / "clients.csv", q1 / "clients.csv")
    survey = pd.read_csv(DATA / "2026Q2" / "survey.csv", dtype=str, keep_default_na=False)
    survey["ResponseId"] = survey["ResponseId"].str.replace("R0", "Q1-R0")
    survey["SubmittedAt"] = "2026-02-01 10:00"
    survey.to_csv(q1 / "survey.csv", index=False)
    visits = pd.read_csv(DATA / "2026Q2" / "mystery_shopper.csv", dtype=str,
                         keep_default_na=False)
    visits["visit_id"] = "Q1-" + visits["visit_id"]
    visits["visit_date"] = "2026-02-02"
    visits.to_csv(q1 / "mystery_shopper.csv", index=False)
    return ws


@pytest.fixture
def ws(root: Path):
    workspace = load_workspace(root)
    for q in ("2026Q1", "2026Q2"):
        ingest_quarter(workspace, q)
    return workspace


def test_missing_store_tells_the_user_to_run_ingest(root: Path):
    workspace = load_workspace(root)
    for call in (load_responses, load_visits, load_clients, load_memberships, stored_quarters,
                 fingerprint):
        with pytest.raises(StoreError, match="run `vipquality ingest"):
            call(workspace)


def test_loaders_return_the_canonical_columns_and_dtypes(ws):
    r = load_responses(ws)
    assert list(r.columns) == table_schema("responses", ws).names
    assert list(r.columns[:8]) == ["quarter", "response_id", "client_id", "submitted_at",
                                   "weight", "nps", "ces", "overall"]
    assert [c for c in r.columns if c.startswith("sat__")] == \
        [f"sat__{a}" for a in ws.instrument.attribute_ids]
    assert r["nps"].dtype == "Int8" and r["ces"].dtype == "Int8"
    assert r["sat__respect"].dtype == np.float32 and r["imp__respect"].dtype == np.float32
    assert r["submitted_at"].dtype == "datetime64[us]" and r["weight"].dtype == np.float64
    assert r["source_row"].dtype == np.int64 and r["quarter"].dtype == "str"

    v = load_visits(ws)
    assert list(v.columns) == ["quarter", "visit_id", "visit_date", "branch", "manager_id",
                               "segment", "item_id", "standard_id", "result", "weight",
                               "critical", "shopper_id", "calibration_of", "source_file",
                               "source_row"]
    assert v["critical"].dtype == bool and str(v["visit_date"].dtype).startswith("datetime64")

    c = load_clients(ws)
    assert list(c.columns) == ["quarter", *ws.client_columns, "source_file", "source_row"]
    assert c["lines"].dtype == "Int32" and c["balance"].dtype == np.float64
    assert not set(ws.personal_columns) & set(c.columns)

    m = load_memberships(ws)
    assert list(m.columns) == ["quarter", "client_id", "segment"]


def test_quarters_select_partitions(ws):
    assert stored_quarters(ws) == ["2026Q1", "2026Q2"]
    assert len(load_responses(ws)) == 8
    q1 = load_responses(ws, "2026Q1")
    assert set(q1["quarter"]) == {"2026Q1"} and q1["response_id"].str.startswith("Q1-").all()
    assert len(load_visits(ws, ["2026Q2"])) == 6
    assert set(load_clients(ws, ["2026Q1", "2026Q2"])["quarter"]) == {"2026Q1", "2026Q2"}
    with pytest.raises(StoreError, match=r"2026Q3 not in the store.*vipquality ingest"):
        load_responses(ws, ["2026Q2", "2026Q3"])
    with pytest.raises(StoreError, match="not a quarter"):
        load_responses(ws, "Q3-2026")


def test_table_without_partitions_loads_empty_with_columns(root: Path):
    workspace = load_workspace(root)
    (root / "2026Q2" / "mystery_shopper.csv").unlink()
    ingest_quarter(workspace, "2026Q2")
    visits = load_visits(workspace)
    assert visits.empty and list(visits.columns) == table_schema("visits", workspace).names


def test_fingerprint_tracks_the_stored_bytes(ws, root: Path):
    whole, q1 = fingerprint(ws), fingerprint(ws, ["2026Q1"])
    assert len(whole) == 64 and whole != q1
    assert fingerprint(ws, ["2026Q2", "2026Q1"]) == whole
    ingest_quarter(ws, "2026Q2")                               # same export again
    assert fingerprint(ws) == whole
    with (root / "2026Q2" / "survey.csv").open("a", encoding="utf-8") as fh:
        fh.write("R005,C004,2026-05-05 10:00,web,9,6,8" + ",7" * 16 + ",\n")
    ingest_quarter(ws, "2026Q2")
    assert fingerprint(ws) != whole
    assert fingerprint(ws, "2026Q1") == q1
    with pytest.raises(StoreError, match="2026Q4 not in the store"):
        fingerprint(ws, ["2026Q4"])


def test_response_ids_are_unique_across_quarters(ws, root: Path):
    late = pd.read_csv(DATA / "2026Q2" / "survey.csv", dtype=str, keep_default_na=False).iloc[:1]
    late["SubmittedAt"] = "2026-03-01 10:00"                # R001 again, but in 2026Q1
    late.to_csv(root / "2026Q1" / "survey_late.csv", index=False)
    result = ingest_quarter(ws, "2026Q1", files=["survey_late.csv"])
    assert (result.tables["responses"].read, result.tables["responses"].rejected) == (1, 1)
    assert "already at the store (2026Q2" in result.rejects.loc[0, "reason"]
    assert "R001" not in set(load_responses(ws, "2026Q1")["response_id"])


def test_the_store_reads_as_hive_partitions_with_duckdb_and_pyarrow(ws):
    store = ws.store_path.as_posix()
    for table in TABLES:
        if table in ("case_updates", "appeals", "invitations", "weights") \
                and not (ws.store_path / table).exists():
            continue  # optional: no follow-up updates, appeals, invitations or weights here
        got = duckdb.sql(
            f"select quarter, count(*) as n from read_parquet('{store}/{table}/*/*.parquet', "
            "hive_partitioning = true) group by quarter order by quarter").fetchall()
        assert [q for q, _ in got] == ["2026Q1", "2026Q2"]
        dataset = ds.dataset(f"{store}/{table}", format="parquet", partitioning="hive")
        assert dataset.count_rows() == sum(n for _, n in got)
    rows = duckdb.sql(f"select response_id from read_parquet('{store}/responses/*/*.parquet', "
                      "hive_partitioning = true) where quarter = '2026Q2' order by 1").fetchall()
    assert [r[0] for r in rows] == ["R001", "R002", "R003", "R004"]


def test_rows_are_sorted_by_id_in_each_file(ws):
    import pyarrow.parquet as pq

    path = ws.store_path / "visits" / "quarter=2026Q2" / "part-0.parquet"
    keys = pq.read_table(path, columns=["visit_id", "item_id"]).to_pylist()
    assert keys == sorted(keys, key=lambda r: (r["visit_id"], r["item_id"]))


def test_loaders_do_not_depend_on_the_working_directory(ws, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert len(load_responses(ws)) == 8
