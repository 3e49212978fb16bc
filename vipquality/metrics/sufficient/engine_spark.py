"""The Spark engine of the sufficient-statistics step (``engine="spark"``).

The only step of :func:`vipquality.metrics.summarise.summarise` whose cost grows with the data
is one ``GROUP BY`` of counts and sums (:mod:`vipquality.metrics.sufficient`). This module runs
the **same SQL** (:func:`~vipquality.metrics.sufficient.sql.response_stats_sql`,
:func:`~vipquality.metrics.sufficient.sql.visit_stats_sql` with
:func:`~vipquality.metrics.sufficient.sql.spark_quote`) on Apache Spark, so the statistics — and
every metric computed from them — equal the DuckDB engine's.

Where Spark runs
----------------
:func:`spark_session` returns the active session when there is one (e.g. in a notebook on a
cluster, or one the caller configured), else builds one for ``master``: the argument, then the
``SPARK_MASTER`` environment variable (``spark://host:7077``, ``yarn``, ``k8s://…``), then
``local[*]``. Extra settings come from its ``conf`` argument or the usual
``spark-defaults.conf`` / ``spark-submit --conf``.

How the data gets there
-----------------------
The frames given to :func:`spark_stats` are validated in pandas first (the DuckDB engine checks
inside its aggregation pass instead; both raise the same errors), converted to Arrow and shipped
to Spark; only the group statistics (one row per group) come back.
For data that already sits in Parquet on object storage, :func:`spark_stats_sql` runs the same
aggregation over any Spark table or view without passing through pandas; the data layer reads a
whole workspace store that way (``summarise_workspace(engine="spark", store=URL)``,
``vipquality report --engine spark --store URL``).

pyspark is optional: nothing here is imported by ``vipquality`` unless ``engine="spark"`` is
asked for (the engine registry, :mod:`vipquality.metrics.sufficient.engines`, imports this module
on first use, and this module imports pyspark only when a session is needed), and a clear error
says how to install it otherwise.

Examples
--------
Over Parquet files, on a cluster (``$SPARK_MASTER``) or locally:

>>> from vipquality.metrics.sufficient.spec import StatsSpec
>>> spec = StatsSpec(by=("quarter", "segment"), attributes=("speed", "respect"))
>>> session = spark_session()                                       # doctest: +SKIP
>>> view = session.read.parquet("s3a://bucket/store/responses")      # doctest: +SKIP
>>> view.createOrReplaceTempView("responses")                       # doctest: +SKIP
>>> rows = spark_stats_sql(spec, "responses", "responses", session)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
import uuid
import warnings
from collections.abc import Mapping

import pandas as pd

from vipquality.metrics.sufficient.spec import StatsSpec
from vipquality.metrics.sufficient.sql import response_stats_sql, spark_quote, visit_stats_sql

__all__ = ["SPARK_MASTER_ENV", "spark_session", "spark_stats", "spark_stats_sql", "table_stats"]

#: Environment variable naming the Spark master URL when no session is active.
SPARK_MASTER_ENV = "SPARK_MASTER"

_LOCK = threading.Lock()


def _pyspark():
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "engine='spark' needs pyspark (pip install pyspark) and a Java 17+ runtime; "
            f"the default engine 'duckdb' needs neither ({err})") from None
    return SparkSession


def spark_session(master: str | None = None, *, app_name: str = "vipquality",
                  conf: Mapping[str, str] | None = None):
    """The active Spark session, or a new one on ``master`` (argument, ``$SPARK_MASTER``, local).

    Parameters
    ----------
    master : str, optional
        Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn``, ``k8s://…``). Ignored
        when a session is already active: Spark allows one per process.
    app_name : str
        Shown in the cluster's UI.
    conf : mapping, optional
        Extra Spark settings for a new session (e.g. ``{"spark.driver.memory": "2g"}``).

    Returns
    -------
    pyspark.sql.SparkSession
    """
    SparkSession = _pyspark()
    with _LOCK:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        builder = SparkSession.builder.appName(app_name).master(
            master or os.environ.get(SPARK_MASTER_ENV) or "local[*]")
        # Arrow moves the frames to the JVM in columnar batches instead of pickled rows
        builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
        for key, value in (conf or {}).items():
            builder = builder.config(key, str(value))
        return builder.getOrCreate()


def _to_spark(session, frame: pd.DataFrame):
    """A Spark DataFrame from a pandas frame, through Arrow (strings, nullable ints, floats)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    # Spark has no large_string / dictionary types on every version: plain strings travel best
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_large_string(t) or pa.types.is_dictionary(t) or pa.types.is_string_view(t):
            t = pa.string()
        fields.append(pa.field(f.name, t))
    table = table.cast(pa.schema(fields))
    with warnings.catch_warnings():
        # pyspark checks the pandas version even for an Arrow table; no pandas code runs here
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas",
                                FutureWarning)
        return session.createDataFrame(table)


def spark_stats_sql(spec: StatsSpec, table: str, source: str, session=None, *,
                    columns=None) -> pd.DataFrame:
    """Run the statistics SQL of ``table`` (``"responses"`` or ``"visits"``) over a Spark source.

    ``source`` is a FROM-clause fragment naming Spark tables or temporary views (e.g. a view
    over ``spark.read.parquet("s3a://bucket/store/responses")``) with the columns the SQL
    reads; for visits, ``columns`` (the columns the source has) lets it read the stored table
    as it is (a missing result is n.a., a missing weight 1: see
    :func:`~vipquality.metrics.sufficient.sql.visit_stats_sql`). Returns the group rows as
    pandas (one row per group), not yet indexed (:func:`vipquality.data.store.spark` reads a
    whole store this way).
    """
    session = session or spark_session()
    sql = (response_stats_sql(spec, source, quote=spark_quote) if table == "responses"
           else visit_stats_sql(spec, source, quote=spark_quote, columns=columns))
    result = session.sql(sql)
    if hasattr(result, "toArrow"):  # pyspark >= 4: no detour through pyspark's pandas layer
        return result.toArrow().to_pandas()
    return result.toPandas()  # pragma: no cover - pyspark 3


def spark_stats(spec: StatsSpec, table: str, frame: pd.DataFrame,
                memberships: pd.DataFrame | None = None, session=None) -> pd.DataFrame:
    """The statistics of a pandas frame computed by Spark SQL (what ``engine="spark"`` runs).

    ``frame`` and ``memberships`` are the checked frames of
    :func:`vipquality.metrics.sufficient.sufficient_stats`; they are registered as temporary views
    with unique names (so concurrent calls do not collide) and dropped afterwards.
    """
    session = session or spark_session()
    tag = uuid.uuid4().hex[:12]
    data, members = f"_vq_data_{tag}", f"_vq_members_{tag}"
    views = [data]
    try:
        _to_spark(session, frame).createOrReplaceTempView(data)
        source = data
        if memberships is not None:
            _to_spark(session, memberships).createOrReplaceTempView(members)
            views.append(members)
            source = f"{data} JOIN {members} USING (quarter, client_id)"
        return spark_stats_sql(spec, table, source, session)
    finally:
        for view in views:
            session.catalog.dropTempView(view)


def table_stats(spec: StatsSpec, table: str, frame: pd.DataFrame,
                memberships: pd.DataFrame | None) -> pd.DataFrame:
    """The statistics of ``table`` (``"responses"`` or ``"visits"``) of checked frames on the
    active or a new Spark session (:func:`spark_session`): one row per group, not yet indexed
    (the function every engine module exposes)."""
    return spark_stats(spec, table, frame, memberships)
