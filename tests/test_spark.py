"""The Spark engine gives the same sufficient statistics and metrics as the DuckDB engine.

Starts one local Spark session (``local[1]``, small memory, no UI) for the module; skipped with
the reason when pyspark or a Java runtime is missing. Both engines run the same SQL
(``vipquality.metrics.sufficient.response_stats_sql``), so the sums must be bit-identical: the weights
are put on a 1/64 grid so that even their sums are exact whatever the order of addition (visit
scores are not on a grid, so their sums are compared to 1e-13).
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from vipquality.config import load_workspace
from vipquality.data.sample import generate_responses
from vipquality.data.store.spark import store_frames
from vipquality.data.summary import summarise_workspace
from vipquality.metrics.summarise import sufficient_stats, summarise

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (pip install pyspark)")

# pyspark 4.3 warns once that it does not fully support pandas 3; the engine hands it Arrow tables
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning")


@pytest.fixture(scope="module")
def responses() -> pd.DataFrame:
    r = generate_responses(3000, seed=7, quarters=2)
    r["weight"] = np.round(r["weight"].to_numpy() * 64) / 64     # exact sums in any order
    return r


def _attributes(r: pd.DataFrame) -> list[str]:
    return [c.removeprefix("sat__") for c in r.columns if c.startswith("sat__")]


def _visits(r: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    k, items = 400, 5
    visit = np.repeat(np.arange(k), items)
    return pd.DataFrame({
        "quarter": np.repeat(rng.choice(r["quarter"].unique(), k), items),
        "segment": np.repeat(rng.choice(r["segment"].unique(), k), items),
        "visit_id": [f"V{v:04d}" for v in visit],
        "item_id": np.tile([f"i{j}" for j in range(items)], k),
        "result": rng.choice(["yes", "no", "na"], k * items, p=[0.8, 0.15, 0.05]),
        "weight": np.tile([1.0, 2.0, 1.0, 0.5, 1.0], k),
        "critical": np.tile([True, False, False, False, False], k),
    })


def test_spark_and_duckdb_engines_give_identical_sums_and_metrics(spark, responses):
    r = responses
    kw = dict(by=["quarter", "segment", "branch"], attributes=_attributes(r))
    duck = sufficient_stats(r, engine="duckdb", **kw)
    sprk = sufficient_stats(r, engine="spark", **kw)
    assert len(duck) > 20
    pd.testing.assert_frame_equal(sprk, duck, check_exact=True)
    bases = dict(base_suppress=5, base_small=10)
    pd.testing.assert_frame_equal(summarise(r, engine="spark", **bases, **kw),
                                  summarise(r, engine="duckdb", **bases, **kw), check_exact=True)


def test_spark_engine_with_memberships_and_visits(spark, responses):
    r = responses
    members = (r[["quarter", "client_id", "segment"]].drop_duplicates()
               .assign(segment=lambda d: np.where(d["client_id"].str[-1].isin(list("02468")),
                                                  "even", "odd")))
    members = pd.concat([members, members.assign(segment="all")], ignore_index=True)
    kw = dict(by=["quarter", "segment"], attributes=_attributes(r),
              memberships=members, visits=_visits(r.assign(segment="all")))
    data = r.drop(columns=["segment"])
    duck = sufficient_stats(data, engine="duckdb", **kw)
    sprk = sufficient_stats(data, engine="spark", **kw)
    assert duck["cmp_n"].sum() > 0 and duck["nps_n"].sum() > len(r)
    # visit scores are not integers: their sums may differ in the last bits with the order
    scores = ["cmp_sx", "cmp_sx2"]
    pd.testing.assert_frame_equal(sprk.drop(columns=scores), duck.drop(columns=scores),
                                  check_exact=True)
    pd.testing.assert_frame_equal(sprk[scores], duck[scores], check_exact=False, rtol=1e-13)
    pd.testing.assert_frame_equal(summarise(data, engine="spark", **kw),
                                  summarise(data, engine="duckdb", **kw), check_exact=False,
                                  rtol=1e-12)


def test_unknown_engine_names_spark_among_the_choices(responses):
    with pytest.raises(ValueError, match="'spark'"):
        sufficient_stats(responses, attributes=[], engine="polars")


# --------------------------------------------------------------------------------------------
# the store read by Spark where it lies (summarise_workspace(store=…), `report --store URL`)

GROUPINGS = (("quarter", "segment"), ("quarter", "segment", "branch"),
             ("quarter", "segment", "manager_id"))


@pytest.fixture(scope="module")
def moved_store(report_workspace, tmp_path_factory):
    """The report workspace's store written to a folder of its own, away from the workspace."""
    dst = tmp_path_factory.mktemp("elsewhere") / "store"
    shutil.copytree(report_workspace.root / "store", dst,
                    ignore=shutil.ignore_patterns(".lock", ".txn", ".ensure.lock"))
    return dst


def test_spark_reads_the_store_itself_and_gives_duckdbs_tables(spark, report_workspace,
                                                               moved_store, monkeypatch):
    ws = load_workspace(report_workspace.root)
    quarters = list(report_workspace.quarters[-2:])
    expected = {by: summarise_workspace(ws, quarters, by=by) for by in GROUPINGS}
    from vipquality.data import store

    def through_pandas(*args, **kwargs):
        raise AssertionError("the store was read through pandas")

    for name in ("load_responses", "load_memberships", "load_clients", "load_visits"):
        monkeypatch.setattr(store, name, through_pandas)
    for by in GROUPINGS:
        got = summarise_workspace(ws, quarters, by=by, engine="spark", store=str(moved_store))
        assert len(got) > 50 and set(got["quarter"]) == set(quarters)
        assert {"compliance", "nps", "csi"} <= set(got["metric"])
        pd.testing.assert_frame_equal(got, expected[by], check_exact=False, rtol=1e-10,
                                      obj=f"by {by}")
    one = summarise_workspace(ws, quarters, by=["quarter", "segment"], engine="spark",
                              store=moved_store.as_uri(), segments=["premium"])
    assert set(one["segment"]) == {"premium"}


def test_spark_scan_prunes_quarters_and_pushes_the_segment_filter(spark, report_workspace,
                                                                  moved_store):
    ws = load_workspace(report_workspace.root)
    q = report_workspace.quarters[-1]
    spec, frames = store_frames(ws, moved_store, [q], ["quarter", "segment"],
                                segments=["premium"])
    plan = frames["responses"]._jdf.queryExecution().executedPlan().toString()
    scans = [line for line in plan.splitlines() if "FileScan parquet" in line]
    assert len(scans) >= 2, plan  # responses, memberships (and raking weights), by Spark
    assert all("PartitionFilters: [isnotnull(quarter" in s and q in s for s in scans), plan
    members = [s for s in scans if "segment" in s.split("PushedFilters:")[1]]
    assert members and "premium" in members[0].split("PushedFilters:")[1], plan
    assert spec.visits and set(frames["visits"].columns) >= {"visit_id", "result", "segment"}


def test_spark_never_opens_the_partitions_of_other_quarters(spark, report_workspace, tmp_path):
    ws = load_workspace(report_workspace.root)
    copy = tmp_path / "store"
    shutil.copytree(report_workspace.root / "store", copy,
                    ignore=shutil.ignore_patterns(".lock", ".txn", ".ensure.lock"))
    for table in ("responses", "memberships", "clients", "visits"):
        bad = copy / table / "quarter=1999Q1"
        bad.mkdir()
        (bad / "part-0.parquet").write_bytes(b"not parquet at all")
    q = report_workspace.quarters[-1]
    got = summarise_workspace(ws, [q], by=["quarter", "segment", "branch"], engine="spark",
                              store=str(copy))
    assert set(got["quarter"]) == {q} and len(got) > 50


def test_a_store_url_needs_spark_and_an_existing_store(report_workspace, tmp_path):
    from vipquality.errors import StoreError

    ws = load_workspace(report_workspace.root)
    with pytest.raises(ValueError, match="engine='spark'"):
        summarise_workspace(ws, None, store=str(tmp_path))
    from vipquality.data.store.spark import store_url

    with pytest.raises(StoreError, match="no store at"):
        store_url(tmp_path / "missing")
    assert store_url("s3a://bucket/vq/store/") == "s3a://bucket/vq/store"
