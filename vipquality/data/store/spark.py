"""The store read by Spark where it lies, for the sufficient statistics of a group-wide run.

A banking group's or an operator's whole premium base outgrows one machine only in the first
step of a report, the sufficient statistics (:mod:`vipquality.metrics.sufficient`). Here Spark
reads the store's Parquet partitions itself — a local folder or any URL the session can read
(``s3a://bucket/vq/store``, ``abfss://…``, ``hdfs://…``; credentials are the session's
configuration) — so the responses never pass through the driver:

- the quarter filter selects the partitions (``quarter=YYYYQn`` folders: partition pruning) and
  the segment filter is pushed into the Parquet scan of the memberships and the visits;
- the memberships (for ``segment``) and the clients (for ``branch``, ``manager_id``, …) are
  joined in Spark, and, as :func:`vipquality.data.store.load_responses` and
  :func:`~vipquality.data.store.load_visits` do, the raking weights (when the workspace weights)
  and the upheld appeals are applied there too (calibration records left out);
- the statistics SQL (the same text as DuckDB's) runs over the joined views and only one row
  per group comes back (:func:`vipquality.metrics.sufficient.engine_spark.spark_stats_sql`).

The store's values were checked at ingest (:mod:`vipquality.data.ingest`), so the pandas checks
of :func:`vipquality.metrics.sufficient.sufficient_stats` are not repeated here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from vipquality.config import Workspace
from vipquality.errors import StoreError
from vipquality.metrics.sufficient.aggregate import finish_stats
from vipquality.metrics.sufficient.engine_spark import spark_session, spark_stats_sql
from vipquality.metrics.sufficient.spec import WEIGHT_COLUMN, StatsSpec

__all__ = ["spark_store_stats", "store_frames", "store_url"]

#: The response columns the statistics read (besides the grouping columns).
_ANSWERS = ("nps", "ces", WEIGHT_COLUMN)


def store_url(store: str | Path) -> str:
    """The store's location as Spark reads it: a URL as it is, a local path made absolute."""
    text = str(store)
    if "://" in text:
        return text.rstrip("/")
    path = Path(text).expanduser().resolve()
    if not path.is_dir():
        raise StoreError(f"no store at {path} (give the store folder, e.g. <workspace>/store, "
                         "or a URL such as s3a://bucket/store)")
    return path.as_uri()


def spark_store_stats(workspace: Workspace, store: str | Path, quarters: Sequence[str] | None,
                      by: Sequence[str], *, segments: Sequence[str] | None = None,
                      visits: bool = True, session=None) -> pd.DataFrame:
    """Sufficient statistics by ``by`` of the store's responses (and visits) read by Spark.

    Parameters
    ----------
    workspace : Workspace
        The instrument (attributes, scales), the segments and the settings (weighting,
        critical items) of the store.
    store : str or path
        The store folder or URL (the folder with ``responses/quarter=…/``).
    quarters : sequence of str, optional
        Quarters to read (default: every stored one).
    by : sequence of str
        Grouping columns, as for :func:`vipquality.data.summary.summarise_workspace`.
    segments : sequence of str, optional
        With ``segment`` in ``by``: the segments to compute (default every segment of the
        workspace, ``all`` included); the filter is pushed into the scans.
    visits : bool, default True
        Include the compliance statistics when the visits carry every grouping column.
    session : pyspark.sql.SparkSession, optional
        Default the active session, else a new one
        (:func:`~vipquality.metrics.sufficient.engine_spark.spark_session`).

    Returns
    -------
    DataFrame
        As :func:`vipquality.metrics.sufficient.sufficient_stats` returns it (indexed by
        ``by``), ready for :func:`vipquality.metrics.summarise.summarise_stats`.

    Examples
    --------
    >>> stats = spark_store_stats(ws, "s3a://bucket/vq/store", ["2026Q3"],
    ...                           ["quarter", "segment"])                  # doctest: +SKIP
    """
    session = session or spark_session()
    spec, frames = store_frames(workspace, store, quarters, by, segments=segments,
                                visits=visits, session=session)
    tag = uuid.uuid4().hex[:12]
    views: list[str] = []
    try:
        parts = []
        for table, frame in frames.items():
            view = f"_vq_{table}_{tag}"
            frame.createOrReplaceTempView(view)
            views.append(view)
            parts.append(spark_stats_sql(spec, table, view, session,
                                         columns=frame.columns if table == "visits" else None))
    finally:
        for view in views:
            session.catalog.dropTempView(view)
    return finish_stats(spec, parts)


def store_frames(workspace: Workspace, store: str | Path, quarters: Sequence[str] | None,
                 by: Sequence[str], *, segments: Sequence[str] | None = None,
                 visits: bool = True, session=None):
    """The lazy Spark DataFrames :func:`spark_store_stats` aggregates, and their spec.

    Returns ``(spec, frames)``: the :class:`~vipquality.metrics.sufficient.spec.StatsSpec` and
    ``{"responses": …, "visits": …}`` (visits only when they carry every grouping column),
    each with the grouping columns and what the statistics read. Nothing is read until an
    action runs; ``frames["responses"].explain()`` shows the pruned partitions and the pushed
    filters. Parameters as for :func:`spark_store_stats`.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    from vipquality.data.schema import table_schema

    session = session or spark_session()
    url = store_url(store)
    by = list(by)
    wanted = None if quarters is None else sorted({str(q) for q in quarters})
    inst = workspace.instrument
    shown = [str(s) for s in segments] if segments is not None else _segments(workspace)

    def read(table: str, required: bool = True, by_quarter: bool = True):
        path = f"{url}/{table}"
        # the canonical schema, so that no file footer is read to infer one: the partitions
        # of other quarters are never opened
        schema = from_arrow_schema(table_schema(table, workspace))
        try:
            frame = session.read.schema(schema).option("basePath", path).parquet(path)
        except Exception as err:  # noqa: BLE001 - AnalysisException (pyspark's, imported late)
            if not required:
                return None
            raise StoreError(f"cannot read {table} from {url} with Spark "
                             f"({str(err).splitlines()[0][:300]})") from None
        # the partition folders' quarter: pruned before any file is opened
        if wanted is None or not by_quarter:
            return frame
        return frame.where(F.col("quarter").isin(wanted))

    responses = read("responses")
    have = set(responses.columns)
    attributes = [a for a in inst.attribute_ids if f"sat__{a}" in have]
    importance = [a for a in attributes if f"imp__{a}" in have]
    if getattr(getattr(workspace, "weighting", None), "enabled", False):
        weights = read("weights", required=False)
        if weights is not None:  # as load_responses: design weight × the quarter's raking
            factor = weights.select("quarter", "response_id", F.col("weight").alias("_vq_rake"))
            responses = (responses.join(factor, ["quarter", "response_id"], "left")
                         .withColumn("weight", F.col("weight")
                                     * F.coalesce(F.col("_vq_rake"), F.lit(1.0))))
    if "segment" in by and "segment" not in have:
        members = read("memberships").select("quarter", "client_id", "segment")
        responses = responses.join(members.where(F.col("segment").isin(shown)),
                                   ["quarter", "client_id"])
    from_clients = [c for c in by if c not in have and c != "segment"]
    if from_clients:
        clients = read("clients")
        missing = [c for c in from_clients if c not in clients.columns]
        if missing:
            raise StoreError(f"cannot group by {missing}: neither the responses nor the clients "
                             "table has them")
        clients = clients.select("quarter", "client_id", *from_clients).dropDuplicates(
            ["quarter", "client_id"])
        responses = responses.join(clients, ["quarter", "client_id"], "left")
    keep = [*by, *(c for c in _ANSWERS if c in responses.columns),
            *(f"sat__{a}" for a in attributes), *(f"imp__{a}" for a in importance)]
    frames = {"responses": responses.select(*dict.fromkeys(keep))}
    v = read("visits", required=False) if visits else None
    if v is not None and set(by) <= set(v.columns):
        if "calibration_of" in v.columns:  # a second shopper's record: not a visit of its own
            v = v.where(F.col("calibration_of").isNull())
        if "segment" in by:
            v = v.where(F.col("segment").isin(shown))
        # an appeal counts whatever quarter's folder it came in (as apply_appeals)
        v = _with_appeals(v, read("appeals", required=False, by_quarter=False), F)
        frames["visits"] = v.select(*(c for c in dict.fromkeys(
            [*by, "quarter", "visit_id", "item_id", "result", "weight", "critical"])
            if c in v.columns))
    visit_columns = frames["visits"].columns if "visits" in frames else []
    spec = StatsSpec(
        by=tuple(by), attributes=tuple(attributes), importance=tuple(importance),
        nps_scale=tuple(inst.nps.scale),
        ces_scale=tuple(inst.ces.scale) if inst.ces is not None else None,
        csi_scale=tuple(inst.csi_scale),
        importance_scale=tuple(inst.importance_scale) if inst.importance_scale else None,
        weighted=WEIGHT_COLUMN in responses.columns, responses=True,
        visits="visits" in frames, critical_fails_visit=workspace.critical_item_fails_visit,
        visit_key=tuple(c for c in ("quarter", "visit_id") if c in visit_columns))
    return spec, frames


def _segments(workspace: Workspace) -> list[str]:
    """Every segment the workspace defines (``all`` included): the memberships worth reading."""
    from vipquality.config import ALL_SEGMENT

    return [ALL_SEGMENT, *(s.id for s in workspace.segments.segments)]


def _with_appeals(visits, appeals, F):
    """``result`` after the upheld appeals, as :func:`vipquality.data.store.apply_appeals`."""
    if appeals is None or "decision" not in appeals.columns:
        return visits
    upheld = (appeals.where(F.col("decision") == "upheld")
              .select("visit_id", "item_id", F.col("claimed_result").alias("_vq_claim"))
              .dropDuplicates(["visit_id", "item_id"]))
    return (visits.join(upheld, ["visit_id", "item_id"], "left")
            .withColumn("result", F.coalesce(F.col("_vq_claim"), F.col("result")))
            .drop("_vq_claim"))
