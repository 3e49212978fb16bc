"""The engine registry: each engine's name and the module that computes the statistics.

The modules are imported on first use (:func:`engine_module`), so naming the engines
(:data:`ENGINES`, e.g. for the ``--engine`` choices of the command line) costs no import of
pandas, DuckDB or pyspark, and an optional engine's dependencies are needed only when it runs.

Every engine module exposes the same function::

    table_stats(spec: StatsSpec, table: str, frame: DataFrame,
                memberships: DataFrame | None) -> DataFrame

the statistics of ``table`` (``"responses"`` or ``"visits"``) of frames checked by
:mod:`~vipquality.metrics.sufficient.checks` (``prepare_responses``, ``prepare_visits``;
``memberships`` is joined on ``quarter, client_id``): one row per group, the grouping columns
then the statistics columns, not yet indexed. An engine whose aggregation pass checks the values
itself (DuckDB) also exposes::

    checked_stats(spec, table, frame, memberships) -> tuple[DataFrame, int]

which reads the caller's frames as they are (when ``checks.sql_checkable_responses`` /
``sql_checkable_visits`` accept their dtypes) and returns the number of rejected rows besides;
:func:`~vipquality.metrics.sufficient.sufficient_stats` then runs the pandas checks only to name
the first bad row. An engine module imports only ``spec``, ``sql`` and ``checks`` of this
package, never another engine, this registry or the package itself (contracts in
``pyproject.toml``). A new engine is one module ``engine_<name>.py`` and one line in
:data:`ENGINE_MODULES`.

Examples
--------
>>> ENGINES
('duckdb', 'pandas', 'spark')
>>> engine_module("pandas").__name__
'vipquality.metrics.sufficient.engine_pandas'
>>> engine_module("polars")
Traceback (most recent call last):
...
ValueError: engine must be one of 'duckdb', 'pandas', 'spark', got 'polars'
"""

from __future__ import annotations

import importlib
from types import MappingProxyType, ModuleType

__all__ = ["ENGINES", "ENGINE_MODULES", "check_engine", "engine_module"]

#: Engine name → module path, in the order the choices are listed (the default first).
ENGINE_MODULES = MappingProxyType({
    "duckdb": "vipquality.metrics.sufficient.engine_duckdb",
    "pandas": "vipquality.metrics.sufficient.engine_pandas",
    "spark": "vipquality.metrics.sufficient.engine_spark",
})
#: The registered engine names (``summarise(..., engine=)``, ``vipquality … --engine``).
ENGINES: tuple[str, ...] = tuple(ENGINE_MODULES)


def check_engine(name: str) -> str:
    """``name`` when it is a registered engine, else a :class:`ValueError` listing them."""
    if name not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))}, got {name!r}")
    return name


def engine_module(name: str) -> ModuleType:
    """The module of engine ``name``, imported on first use (see the module's docstring)."""
    module = importlib.import_module(ENGINE_MODULES[check_engine(name)])
    if not callable(getattr(module, "table_stats", None)):
        raise TypeError(f"engine {name!r}: {module.__name__} has no table_stats function")
    return module
