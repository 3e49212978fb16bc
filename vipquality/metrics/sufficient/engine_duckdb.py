"""The DuckDB engine of the sufficient-statistics step (``engine="duckdb"``, the default).

DuckDB runs the SQL of :mod:`vipquality.metrics.sufficient.sql` over the pandas frames where they
are (registered as views, no copy), one query per table whatever the number of groups.

It is also the one engine that checks the values inside its aggregation pass
(:func:`checked_stats`: ``checks=True`` of the SQL builders, one extra count per group of the
rows a check rejects), so good data is read once; the pandas checks of
:mod:`vipquality.metrics.sufficient.checks` run only to name the first bad row.

Examples
--------
>>> import pandas as pd
>>> from vipquality.metrics.sufficient.spec import StatsSpec
>>> spec = StatsSpec(by=("segment",), ces_scale=None)
>>> r = pd.DataFrame({"segment": ["A", "A", "B"], "nps": [10, 3, 9]})
>>> stats = table_stats(spec, "responses", r, None).sort_values("segment")
>>> stats[["segment", "nps_n", "nps_swp", "nps_swd"]].to_dict("records")
[{'segment': 'A', 'nps_n': 2, 'nps_swp': 1.0, 'nps_swd': 1.0},
 {'segment': 'B', 'nps_n': 1, 'nps_swp': 1.0, 'nps_swd': 0.0}]
>>> stats, bad = checked_stats(spec, "responses", r.assign(nps=[10, 3, 12]), None)
>>> bad
1
"""

from __future__ import annotations

import os
import threading

import pandas as pd

from vipquality.metrics.sufficient.checks import prepare_visits
from vipquality.metrics.sufficient.spec import CES_COLUMN, NPS_COLUMN, StatsSpec
from vipquality.metrics.sufficient.sql import response_stats_sql, visit_stats_sql

__all__ = ["checked_stats", "cursor", "query", "table_stats"]


def table_stats(spec: StatsSpec, table: str, frame: pd.DataFrame,
                memberships: pd.DataFrame | None) -> pd.DataFrame:
    """The statistics of ``table`` (``"responses"`` or ``"visits"``) of checked frames: one row
    per group, not yet indexed (the function every engine module exposes)."""
    return query(spec, table, frame, memberships)


def checked_stats(spec: StatsSpec, table: str, frame: pd.DataFrame,
                  memberships: pd.DataFrame | None) -> tuple[pd.DataFrame, int]:
    """The DuckDB pass with the checks: group statistics and the number of rejected rows."""
    try:
        out = query(spec, table, frame, memberships, checks=True)
    except Exception as exc:
        if table == "visits" and type(exc).__module__.split(".")[0] == "duckdb":
            # values DuckDB cannot read as text (an object column of mixed types): the
            # pandas checks name the row; anything else is DuckDB's own error
            prepare_visits(spec, frame)
        raise
    bad = int(out.pop("_vq_bad").fillna(0).sum())
    if spec.by:
        # rows with a missing grouping value were only kept to be checked
        out = out.dropna(subset=list(spec.by), ignore_index=True)
    return out, bad


def query(spec: StatsSpec, table: str, frame: pd.DataFrame,
          memberships: pd.DataFrame | None, checks: bool = False) -> pd.DataFrame:
    """Run the statistics SQL of ``table`` over ``frame`` (joined to ``memberships``)."""
    con = cursor()
    try:
        con.register("_vq_data", frame)
        source = "_vq_data"
        if memberships is not None:
            con.register("_vq_members", memberships)
            # with the checks, responses of clients without a membership stay (segment NULL,
            # dropped afterwards) so that they are checked as before
            join = "LEFT JOIN" if checks else "JOIN"
            source = f"_vq_data {join} _vq_members USING (quarter, client_id)"
        if table == "responses":
            integer_typed = [c for c in (NPS_COLUMN, CES_COLUMN) if c in frame.columns
                             and pd.api.types.is_integer_dtype(frame[c].dtype)]
            sql = response_stats_sql(spec, source, checks=checks, integer_typed=integer_typed)
        else:
            sql = visit_stats_sql(spec, source, checks=checks,
                                  columns=list(frame.columns) if checks else None)
        return con.execute(sql).df()
    finally:
        con.close()


_DUCKDB: dict[int, object] = {}
_DUCKDB_LOCK = threading.Lock()


def cursor():
    """A fresh cursor on this process's in-memory DuckDB database.

    Opening a database costs tens of milliseconds, a cursor a few; each call gets its own
    cursor (its own registered views), so concurrent calls from threads do not interfere, and a
    forked process opens its own database.
    """
    import duckdb

    with _DUCKDB_LOCK:
        con = _DUCKDB.get(os.getpid())
        if con is None:
            _DUCKDB.clear()
            con = _DUCKDB[os.getpid()] = duckdb.connect()
        return con.cursor()
