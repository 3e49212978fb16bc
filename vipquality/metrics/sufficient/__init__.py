"""Mergeable sufficient statistics per group: the one step of ``summarise`` that grows with data.

One aggregation pass turns responses (and mystery-shopper visits) into one row per group of
counts, sums and sums of squares. Every column is a plain sum over rows (or, for compliance, over
visits), so the statistics of two disjoint partitions add up to those of their union
(:func:`merge_stats`): a quarter can be computed once and combined, 10 million responses can be
streamed in chunks, and a Spark engine only has to run the same SQL.

The SQL is generated in one place (:func:`response_stats_sql`, :func:`visit_stats_sql`) from the
list of attributes; it uses only ``COUNT``, ``SUM``, ``CASE``, ``CAST … AS DOUBLE``, ``BETWEEN``,
``COALESCE`` and ``GROUP BY``, which DuckDB and Spark SQL share, and takes the identifier quoting
as a parameter (double quotes for DuckDB, backticks for Spark). The ``spark`` engine
(:mod:`vipquality.metrics.sufficient.engine_spark`, optional pyspark) runs that same SQL on
Spark. The ``pandas`` engine computes the same columns with ``groupby().sum()`` and exists as an
independent cross-check.

Input checks. The ``duckdb`` engine checks the values in the aggregation pass itself
(``checks=True``: one extra count per group of the rows a check rejects, with ``ROUND`` for
integrality and the distinct hashes of each visit's items for duplicate checklist items) and
reads the caller's frames without copying them; only when that count is not zero does it run
the pandas checks, which raise the error naming the first bad row and column (if they find
nothing — a NaN that DuckDB reads as a number, a hash collision — the pandas-checked path
computes the statistics instead). The ``pandas`` and ``spark`` engines,
and columns of unusual dtypes (text ratings, object ``critical`` flags), go through the pandas
checks first, as before. Either way the same data raise the same error.

Modules (each imports only those below it; the engines do not import each other)
-----------------------------------------------------------------------------------
=======================  ======================================================================
:mod:`.aggregate`        :func:`sufficient_stats` (check, run the engine, join the tables) and
                         :func:`merge_stats`
:mod:`.engines`          the registry: :data:`ENGINES`, each engine's module, imported on first
                         use; what an engine module exposes
:mod:`.engine_duckdb`    the default engine: the SQL on DuckDB, values checked in the same pass
:mod:`.engine_pandas`    the same columns with numpy and ``groupby().sum()`` (a cross-check)
:mod:`.engine_spark`     the SQL on Spark (optional pyspark, imported only when it runs)
:mod:`.checks`           the required columns and the value checks (the error names the row)
:mod:`.sql`              the SQL text: :func:`response_stats_sql`, :func:`visit_stats_sql`,
                         :func:`duckdb_quote`, :func:`spark_quote`
:mod:`.spec`             :class:`StatsSpec`, :func:`stat_columns` and the table of the
                         statistics columns
=======================  ======================================================================

The public names below are imported on first use (PEP 562), so ``from
vipquality.metrics.sufficient.engines import ENGINES`` (the command line's ``--engine``
choices) loads neither pandas nor an engine.

Examples
--------
>>> from vipquality.metrics.sufficient import ENGINES, StatsSpec, stat_columns
>>> ENGINES
('duckdb', 'pandas', 'spark')
>>> stat_columns(StatsSpec(by=("quarter",), nps_scale=None, ces_scale=None, visits=True))
['cmp_n', 'cmp_sx', 'cmp_sx2']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names __getattr__ gives, for type checkers and editors
    from vipquality.metrics.sufficient.aggregate import merge_stats, sufficient_stats
    from vipquality.metrics.sufficient.engines import ENGINES
    from vipquality.metrics.sufficient.spec import StatsSpec, stat_columns
    from vipquality.metrics.sufficient.sql import (
        duckdb_quote,
        response_stats_sql,
        spark_quote,
        visit_stats_sql,
    )

__all__ = [
    "ENGINES",
    "StatsSpec",
    "duckdb_quote",
    "merge_stats",
    "response_stats_sql",
    "spark_quote",
    "stat_columns",
    "sufficient_stats",
    "visit_stats_sql",
]

#: Public name → the module of this package that holds it.
_HOMES = {
    "StatsSpec": "spec", "stat_columns": "spec",
    "response_stats_sql": "sql", "visit_stats_sql": "sql",
    "duckdb_quote": "sql", "spark_quote": "sql",
    "sufficient_stats": "aggregate", "merge_stats": "aggregate",
    "ENGINES": "engines",
}


def __getattr__(name: str):
    import importlib

    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
