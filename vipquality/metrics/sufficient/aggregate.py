"""The aggregation step: :func:`sufficient_stats` (check, run the engine, join the tables) and
:func:`merge_stats` (the statistics of a union of partitions).

:func:`sufficient_stats` builds the :class:`~vipquality.metrics.sufficient.spec.StatsSpec` from
its arguments, takes the engine from the registry
(:func:`~vipquality.metrics.sufficient.engines.engine_module`), runs it once per table on frames
checked by :mod:`~vipquality.metrics.sufficient.checks` (or on the caller's frames, for an engine
that checks in its own pass), and indexes, joins and types the result.

Examples
--------
>>> r = pd.DataFrame({"quarter": ["2025Q1"] * 3, "segment": ["A", "A", "B"],
...                   "nps": [10, 3, 9]})
>>> sufficient_stats(r, attributes=[], ces_scale=None, engine="pandas")
                nps_n  nps_sw  nps_sw2  nps_swp  nps_swd
quarter segment
2025Q1  A           2     2.0      2.0      1.0      1.0
        B           1     1.0      1.0      1.0      0.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vipquality.errors import DataError
from vipquality.metrics.sufficient.checks import (
    check_responses,
    prepare_responses,
    prepare_visits,
    require_visits,
    sql_checkable_responses,
    sql_checkable_visits,
)
from vipquality.metrics.sufficient.engines import engine_module
from vipquality.metrics.sufficient.spec import WEIGHT_COLUMN, StatsSpec, is_count, stat_columns

__all__ = ["finish_stats", "merge_stats", "sufficient_stats"]


def sufficient_stats(
    responses: pd.DataFrame | None = None,
    *,
    by: Sequence[str] = ("quarter", "segment"),
    attributes: Sequence[str] = (),
    nps_scale: tuple[float, float] | None = (0, 10),
    ces_scale: tuple[float, float] | None = (1, 7),
    csi_scale: tuple[float, float] = (1, 10),
    importance_scale: tuple[float, float] | None = None,
    memberships: pd.DataFrame | None = None,
    visits: pd.DataFrame | None = None,
    critical_fails_visit: bool = True,
    engine: str = "duckdb",
) -> pd.DataFrame:
    """Sufficient statistics per group, in one aggregation pass per table.

    Parameters
    ----------
    responses : DataFrame, optional
        Canonical responses (``nps``, ``ces``, ``weight``, ``sat__<id>``, ``imp__<id>`` and the
        grouping columns). ``imp__<id>`` columns are used where present.
    by : sequence of str
        Grouping columns. Rows with a missing grouping value are left out.
    attributes : sequence of str
        CSI attribute ids, in instrument order.
    nps_scale, ces_scale, csi_scale, importance_scale : (low, high)
        Scales; ``None`` for NPS or CES leaves that block out; ``importance_scale`` defaults
        to ``csi_scale``.
    memberships : DataFrame, optional
        ``quarter, client_id, segment``: joined on (quarter, client_id) when ``"segment"`` is
        in ``by`` and the responses have no ``segment`` column. A response counts once in each
        segment of its client; responses of clients without a membership are left out.
    visits : DataFrame, optional
        Canonical visits (one row per visit × item) for the compliance statistics.
    critical_fails_visit : bool, default True
        A critical item answered "no" scores the visit 0.
    engine : {"duckdb", "pandas", "spark"}
        One of :data:`~vipquality.metrics.sufficient.engines.ENGINES`. ``duckdb`` runs
        :func:`~vipquality.metrics.sufficient.sql.response_stats_sql` /
        :func:`~vipquality.metrics.sufficient.sql.visit_stats_sql` over the frames; ``spark``
        runs the same SQL (:func:`~vipquality.metrics.sufficient.sql.spark_quote`) on the active
        or a new Spark session (:func:`vipquality.metrics.sufficient.engine_spark.spark_session`:
        ``$SPARK_MASTER`` or local; needs pyspark and Java); ``pandas`` computes the same
        columns with ``groupby().sum()`` (a cross-check).

    Returns
    -------
    DataFrame
        Indexed by the grouping columns (sorted), one column per statistic
        (:func:`~vipquality.metrics.sufficient.spec.stat_columns`); groups present in only one
        table get 0 for the other's counts.

    Examples
    --------
    >>> r = pd.DataFrame({"quarter": ["2025Q1"] * 3, "segment": ["A"] * 3,
    ...                   "nps": [10, 8, 3], "sat__speed": [9.0, None, 7.0]})
    >>> st = sufficient_stats(r, attributes=["speed"], ces_scale=None)
    >>> st[["nps_n", "nps_swp", "nps_swd", "sat_n:speed", "sat_sx:speed"]].to_dict("records")
    [{'nps_n': 3, 'nps_swp': 1.0, 'nps_swd': 1.0, 'sat_n:speed': 2, 'sat_sx:speed': 16.0}]
    """
    if responses is None and visits is None:
        raise ValueError("give responses, visits or both")
    run = engine_module(engine)  # a ValueError naming the registered engines if unknown
    by = tuple(by)
    if len(set(by)) != len(by):
        raise ValueError(f"grouping columns must be unique, got {list(by)}")
    if "segment" in by and responses is not None and "segment" in responses.columns:
        memberships = None
    elif memberships is not None and "segment" not in by:
        memberships = None
    elif "segment" in by and responses is not None and memberships is None:
        raise DataError("responses have no 'segment' column: pass memberships "
                        "(quarter, client_id, segment) to group by segment")
    attributes = tuple(attributes)
    importance = tuple(a for a in attributes
                       if responses is not None and f"imp__{a}" in responses.columns)
    spec = StatsSpec(
        by=by, attributes=attributes, importance=importance, nps_scale=nps_scale,
        ces_scale=ces_scale, csi_scale=tuple(csi_scale), importance_scale=importance_scale,
        weighted=responses is not None and WEIGHT_COLUMN in responses.columns,
        responses=responses is not None, visits=visits is not None,
        critical_fails_visit=critical_fails_visit,
        visit_key=tuple(c for c in ("quarter", "visit_id")
                        if visits is not None and c in visits.columns),
    )
    parts = []
    # DuckDB checks the values in the aggregation pass itself (``checked_stats``: one extra
    # count per group) and reads the caller's frames without copies; the pandas checks run
    # only when that count is not zero, to raise the same error naming the first bad row and
    # column. The other engines (and unusual dtypes) check in pandas first.
    checked = getattr(run, "checked_stats", None)
    if responses is not None:
        if checked is not None and sql_checkable_responses(spec, responses):
            r, m = prepare_responses(spec, responses, memberships, check=False)
            stats, bad = checked(spec, "responses", r, m)
            if bad:
                check_responses(spec, responses)  # raises, naming the first bad row
                # not reproduced in pandas (a NaN that DuckDB reads as a number, e.g. from an
                # Arrow-backed column): the checked pandas path decides, as before
                r, m = prepare_responses(spec, responses, memberships)
                stats = run.table_stats(spec, "responses", r, m)
            parts.append(stats)
        else:
            r, m = prepare_responses(spec, responses, memberships)
            parts.append(run.table_stats(spec, "responses", r, m))
    if visits is not None:
        require_visits(spec, visits)
        if checked is not None and sql_checkable_visits(visits):
            # values the engine cannot read (an object column of mixed types) raise the
            # pandas checks' error naming the row, inside checked_stats
            stats, bad = checked(spec, "visits", visits, None)
            if bad:
                prepared = prepare_visits(spec, visits)  # raises, naming the first bad row
                stats = run.table_stats(spec, "visits", prepared, None)  # see the responses
            parts.append(stats)
        else:
            parts.append(run.table_stats(spec, "visits", prepare_visits(spec, visits), None))
    return finish_stats(spec, parts)


def finish_stats(spec: StatsSpec, parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The engines' group rows of each table (``table_stats`` results, or
    :func:`~vipquality.metrics.sufficient.engine_spark.spark_stats_sql` over a store read in
    Spark) as :func:`sufficient_stats` returns them: indexed by the grouping columns, the
    tables outer-joined, dtypes and column order fixed."""
    by = list(spec.by)
    indexed = []
    for p in parts:
        p = p.copy()
        if by:
            p = p.set_index(by)
        else:
            p.index = pd.RangeIndex(len(p))
        indexed.append(p)
    out = indexed[0]
    for p in indexed[1:]:
        out = out.join(p, how="outer")
    out = out.reindex(columns=stat_columns(spec)).fillna(0)
    out = out.astype({c: np.int64 if is_count(c) else np.float64 for c in out.columns})
    return out.sort_index() if by else out


def merge_stats(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Statistics of the union of two disjoint partitions: the group-wise sum of ``a`` and ``b``.

    Both must come from :func:`sufficient_stats` with the same grouping and instrument.
    Groups present in only one of them are kept as they are.

    Examples
    --------
    >>> r = pd.DataFrame({"quarter": ["2025Q1"] * 4, "segment": ["A", "A", "B", "B"],
    ...                   "nps": [10, 3, 9, 7]})
    >>> kw = dict(attributes=[], ces_scale=None)
    >>> whole = sufficient_stats(r, **kw)
    >>> merged = merge_stats(sufficient_stats(r.iloc[:1], **kw), sufficient_stats(r.iloc[1:], **kw))
    >>> merged.equals(whole)
    True
    """
    if list(a.columns) != list(b.columns) or list(a.index.names) != list(b.index.names):
        raise ValueError("merge_stats needs statistics with the same columns and grouping; got "
                         f"{list(a.index.names)}×{len(a.columns)} and "
                         f"{list(b.index.names)}×{len(b.columns)}")
    both = pd.concat([a, b])
    if a.index.names == [None]:
        out = both.sum().to_frame().T
    else:
        out = both.groupby(level=list(range(a.index.nlevels)), sort=True).sum()
    return out.astype(a.dtypes.to_dict())
