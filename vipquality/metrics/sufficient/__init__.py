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
(:mod:`vipquality.metrics.sufficient.engine_spark`, optional pyspark) runs that same SQL on Spark. The ``pandas`` engine
computes the same columns with ``groupby().sum()`` and exists as an independent cross-check.

Input checks. The ``duckdb`` engine checks the values in the aggregation pass itself
(``checks=True``: one extra count per group of the rows a check rejects, with ``ROUND`` for
integrality and the distinct hashes of each visit's items for duplicate checklist items) and
reads the caller's frames without copying them; only when that count is not zero does it run
the pandas checks, which raise the error naming the first bad row and column (if they find
nothing — a NaN that DuckDB reads as a number, a hash collision — the pandas-checked path
computes the statistics instead). The ``pandas`` and ``spark`` engines,
and columns of unusual dtypes (text ratings, object ``critical`` flags), go through the pandas
checks first, as before. Either way the same data raise the same error.

Statistics columns (``a``, ``b`` are attribute ids)
-----------------------------------------------------
========================  =====================================================================
``nps_n``                 respondents with a valid NPS answer
``nps_sw``, ``nps_sw2``   Σw and Σw² over them (w = 1 without a ``weight`` column)
``nps_swp``, ``nps_swd``  Σw over promoters (9–10) and detractors (0–6)
``ces_n``                 respondents with a CES answer; ``ces_sw``, ``ces_sw2``: Σw, Σw²;
                          ``ces_swx``, ``ces_swx2``: Σw·x, Σw·x²
``ces_swe``, ``ces_swd``  Σw over "easy" and "difficult" answers: the top and bottom
                          (k − 1)/2 of k scale points (5–7 and 1–3 of 1–7; 4–5 and 1–2 of
                          1–5), as in :func:`vipquality.metrics.ces.ces`
``csi_n``                 respondents who rated at least one attribute
``sat_n:a``               respondents who rated ``a``; ``sat_sx:a``, ``sat_sx2:a``: Σx, Σx²
``imp_n:a``, ``imp_sx:a``  importance ratings of ``a`` by respondents counted in ``csi_n``:
                          count and Σ (as :func:`vipquality.metrics.csi.csi` estimates stated weights)
``pair_n:a:b``            respondents who rated both ``a`` and ``b`` (one column per pair a < b
                          in attribute order); ``pair_sxy:a:b`` = Σ x_a·x_b, ``pair_sx:a:b`` =
                          Σ x_a and ``pair_sy:a:b`` = Σ x_b over those respondents (the pairwise
                          means needed for an exact pairwise covariance)
``cmp_n``                 mystery-shopper visits with a score; ``cmp_sx``, ``cmp_sx2``: Σ, Σ²
========================  =====================================================================

Counts are ``int64``; sums are ``float64``. Sums of integer ratings are exact in float64 (below
2**53), so both engines and every partitioning give bit-identical integer-valued sums; sums of
non-integer weights or visit scores can differ in the last bits with the order of addition.
Compliance statistics merge correctly only when no visit is split between the partitions.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from vipquality.errors import DataError

__all__ = [
    "StatsSpec",
    "sufficient_stats",
    "merge_stats",
    "stat_columns",
    "response_stats_sql",
    "visit_stats_sql",
    "duckdb_quote",
    "spark_quote",
]

NPS_COLUMN, CES_COLUMN, WEIGHT_COLUMN = "nps", "ces", "weight"
ENGINES = ("duckdb", "pandas", "spark")
RESULTS = ("yes", "no", "na")


def duckdb_quote(name: str) -> str:
    """Quote an identifier for DuckDB (and standard SQL)."""
    return '"' + str(name).replace('"', '""') + '"'


def spark_quote(name: str) -> str:
    """Quote an identifier for Spark SQL."""
    return "`" + str(name).replace("`", "``") + "`"


@dataclass(frozen=True)
class StatsSpec:
    """What to aggregate: grouping columns, instrument scales and which blocks are present.

    ``nps_scale``/``ces_scale`` of ``None`` leave that block out; ``importance`` lists the
    attributes that have an importance column; ``weighted`` says whether responses carry a
    ``weight`` column; ``visits`` whether compliance statistics are computed.
    """

    by: tuple[str, ...]
    attributes: tuple[str, ...] = ()
    importance: tuple[str, ...] = ()
    nps_scale: tuple[float, float] | None = (0, 10)
    ces_scale: tuple[float, float] | None = (1, 7)
    csi_scale: tuple[float, float] = (1, 10)
    importance_scale: tuple[float, float] | None = None
    weighted: bool = False
    responses: bool = True
    visits: bool = False
    critical_fails_visit: bool = True
    visit_key: tuple[str, ...] = ("quarter", "visit_id")

    def __post_init__(self) -> None:
        if self.nps_scale is not None and tuple(self.nps_scale) != (0, 10):
            raise ValueError(f"nps_scale must be (0, 10) (detractors 0–6, promoters 9–10), "
                             f"got {self.nps_scale!r}")
        for name in ("ces_scale", "csi_scale", "importance_scale"):
            scale = getattr(self, name)
            if scale is not None and not (len(scale) == 2 and scale[0] < scale[1]):
                raise ValueError(f"{name} must be (low, high) with low < high, got {scale!r}")
        unknown = set(self.importance) - set(self.attributes)
        if unknown:
            raise ValueError(f"importance given for unknown attributes {sorted(unknown)}")
        if len(set(self.attributes)) != len(self.attributes):
            raise ValueError(f"attributes must be unique, got {list(self.attributes)}")
        names = stat_columns(self)
        if len(set(names)) != len(names):
            raise ValueError("attribute ids give clashing statistics names; avoid ':' in ids")

    @property
    def imp_scale(self) -> tuple[float, float]:
        return tuple(self.importance_scale or self.csi_scale)

    @property
    def ces_cuts(self) -> tuple[float, float]:
        """(easy if x > first, difficult if x < second), as in :func:`vipquality.metrics.ces.ces`."""
        lo, hi = self.ces_scale
        half = (hi - lo) // 2
        return hi - half, lo + half

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return list(combinations(self.attributes, 2))


def stat_columns(spec: StatsSpec) -> list[str]:
    """The statistics columns ``spec`` produces, in their fixed order."""
    cols: list[str] = []
    if spec.responses:
        if spec.nps_scale is not None:
            cols += ["nps_n", "nps_sw", "nps_sw2", "nps_swp", "nps_swd"]
        if spec.ces_scale is not None:
            cols += ["ces_n", "ces_sw", "ces_sw2", "ces_swx", "ces_swx2", "ces_swe", "ces_swd"]
        if spec.attributes:
            cols.append("csi_n")
        for a in spec.attributes:
            cols += [f"sat_n:{a}", f"sat_sx:{a}", f"sat_sx2:{a}"]
            if a in spec.importance:
                cols += [f"imp_n:{a}", f"imp_sx:{a}"]
        for a, b in spec.pairs:
            cols += [f"pair_n:{a}:{b}", f"pair_sxy:{a}:{b}", f"pair_sx:{a}:{b}",
                     f"pair_sy:{a}:{b}"]
    if spec.visits:
        cols += ["cmp_n", "cmp_sx", "cmp_sx2"]
    return cols


def _is_count(column: str) -> bool:
    return column.endswith("_n") or column.startswith(("sat_n:", "imp_n:", "pair_n:"))


# --- SQL generation (shared by every SQL engine) ---------------------------------------------

def response_stats_sql(spec: StatsSpec, source: str,
                       quote: Callable[[str], str] = duckdb_quote, *,
                       checks: bool = False, integer_typed: Sequence[str] = ()) -> str:
    """One ``SELECT … GROUP BY`` computing every response statistic of ``spec``.

    ``source`` is a FROM-clause fragment (a table name, or a join such as
    ``responses JOIN memberships USING (quarter, client_id)``) holding the grouping columns,
    ``nps``, ``ces``, ``weight``, ``sat__<id>`` and ``imp__<id>``. Answers outside their scale
    (and NaN, which sorts above every number in DuckDB and Spark) count as missing; check the
    data before (``summarise`` does). Cross-products are computed inside the aggregates, so
    nothing of size k² is materialised.

    With ``checks=True`` the same pass also counts, per group, the rows that the checks of
    :func:`sufficient_stats` reject (an answer off its scale, a non-integer NPS/CES answer, a
    missing or negative weight) in an extra column ``_vq_bad``, and rows with a missing
    grouping value are kept as their own groups (so that they are checked too; the caller
    drops them). The source must then hold numeric columns with NULL for missing (DuckDB reads
    pandas NaN as NULL). ``integer_typed`` names columns of an integer type, whose integrality
    test is left out (it is true by type, and ``ROUND`` over them costs about as much as all
    the other checks together).
    """
    q = quote
    by = [q(c) for c in spec.by]
    proj = list(by)

    def rated(column: str, scale, alias: str) -> str:
        lo, hi = scale
        return (f"CASE WHEN {q(column)} BETWEEN {_num(lo)} AND {_num(hi)} "
                f"THEN CAST({q(column)} AS DOUBLE) END AS {alias}")

    proj.append(f"CAST({q(WEIGHT_COLUMN)} AS DOUBLE) AS _vq_w" if spec.weighted
                else "CAST(1 AS DOUBLE) AS _vq_w")
    if spec.nps_scale is not None:
        proj.append(rated(NPS_COLUMN, spec.nps_scale, "_vq_nps"))
    if spec.ces_scale is not None:
        proj.append(rated(CES_COLUMN, spec.ces_scale, "_vq_ces"))
    sat = {a: f"_vq_s{i}" for i, a in enumerate(spec.attributes)}
    imp = {a: f"_vq_i{i}" for i, a in enumerate(spec.attributes)}
    for a in spec.attributes:
        proj.append(rated(f"sat__{a}", spec.csi_scale, sat[a]))
        if a in spec.importance:
            proj.append(rated(f"imp__{a}", spec.imp_scale, imp[a]))

    bad = []  # row conditions the checks reject (NULL never matches: missing is allowed)
    if checks:
        # An answer is off its scale exactly when it is present but its in-scale projection
        # above is NULL: testing that reuses the projected CASE instead of comparing every
        # column with both bounds again (about half the cost of the checks, measured at 1 M).
        raw: list[str] = []

        def off_scale(column: str, rated_alias: str, integer: bool) -> str:
            raw.append(f"{q(column)} AS _vq_raw{len(raw)}")
            cond = f"_vq_raw{len(raw) - 1} IS NOT NULL AND {rated_alias} IS NULL"
            if integer and column not in integer_typed:
                cond += f" OR {rated_alias} <> ROUND({rated_alias})"
            return f"({cond})"

        if spec.nps_scale is not None:
            bad.append(off_scale(NPS_COLUMN, "_vq_nps", True))
        if spec.ces_scale is not None:
            bad.append(off_scale(CES_COLUMN, "_vq_ces", True))
        bad += [off_scale(f"sat__{a}", sat[a], False) for a in spec.attributes]
        bad += [off_scale(f"imp__{a}", imp[a], False) for a in spec.importance]
        if spec.weighted:
            bad.append("(_vq_w IS NULL OR _vq_w < 0)")
        proj += raw

    def s(expr: str) -> str:
        return f"COALESCE(SUM({expr}), 0)"

    def where(value: str, present: str) -> str:
        """``value`` where ``present`` is not NULL, else NULL: ``value + 0 * present`` gives
        the same bits as ``CASE WHEN present IS NOT NULL THEN value END`` for finite
        ``present`` (x + 0 = x, also x + (−0)) and is cheaper to evaluate in bulk."""
        return f"{value} + 0 * {present}"

    agg: list[tuple[str, str]] = []
    if spec.nps_scale is not None:
        agg += [
            ("nps_n", "COUNT(_vq_nps)"),
            ("nps_sw", s(where("_vq_w", "_vq_nps"))),
            ("nps_sw2", s(where("_vq_w * _vq_w", "_vq_nps"))),
            ("nps_swp", s("CASE WHEN _vq_nps >= 9 THEN _vq_w END")),
            ("nps_swd", s("CASE WHEN _vq_nps <= 6 THEN _vq_w END")),
        ]
    if spec.ces_scale is not None:
        easy, difficult = spec.ces_cuts
        agg += [
            ("ces_n", "COUNT(_vq_ces)"),
            ("ces_sw", s(where("_vq_w", "_vq_ces"))),
            ("ces_sw2", s(where("_vq_w * _vq_w", "_vq_ces"))),
            ("ces_swx", s("_vq_w * _vq_ces")),
            ("ces_swx2", s("_vq_w * _vq_ces * _vq_ces")),
            ("ces_swe", s(f"CASE WHEN _vq_ces > {_num(easy)} THEN _vq_w END")),
            ("ces_swd", s(f"CASE WHEN _vq_ces < {_num(difficult)} THEN _vq_w END")),
        ]
    # a respondent enters the CSI (and its stated weights) when they rated any attribute
    any_sat = (f"COALESCE({', '.join(sat.values())})" if len(sat) > 1
               else next(iter(sat.values()), "NULL"))
    if spec.attributes:
        agg.append(("csi_n", f"COUNT({any_sat})"))
    for a in spec.attributes:
        x = sat[a]
        agg += [(f"sat_n:{a}", f"COUNT({x})"), (f"sat_sx:{a}", s(x)),
                (f"sat_sx2:{a}", s(f"{x} * {x}"))]
        if a in spec.importance:
            i = f"CASE WHEN {any_sat} IS NOT NULL THEN {imp[a]} END"
            agg += [(f"imp_n:{a}", f"COUNT({i})"), (f"imp_sx:{a}", s(i))]
    for a, b in spec.pairs:
        x, y = sat[a], sat[b]
        agg += [
            (f"pair_n:{a}:{b}", f"COUNT({x} * {y})"),
            (f"pair_sxy:{a}:{b}", s(f"{x} * {y}")),
            (f"pair_sx:{a}:{b}", s(where(x, y))),
            (f"pair_sy:{a}:{b}", s(where(y, x))),
        ]
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in by) or "TRUE"
    if checks:
        agg.append(("_vq_bad", "COUNT(_vq_bad)"))
        flag = f"CASE WHEN {' OR '.join(bad)} THEN 1 END" if bad else "CAST(NULL AS INTEGER)"
        return (
            "WITH _vq_p AS (\n  SELECT " + ",\n         ".join(proj)
            + f"\n  FROM {source}\n),\n_vq_r AS (\n  SELECT *, {flag} AS _vq_bad FROM _vq_p\n)\n"
            + "SELECT " + ",\n       ".join(by + [f"{e} AS {q(n)}" for n, e in agg])
            + "\nFROM _vq_r" + (f"\nGROUP BY {', '.join(by)}" if by else "")
        )
    return (
        "WITH _vq_r AS (\n  SELECT " + ",\n         ".join(proj)
        + f"\n  FROM {source}\n  WHERE {not_null}\n)\n"
        + "SELECT " + ",\n       ".join(by + [f"{e} AS {q(n)}" for n, e in agg])
        + "\nFROM _vq_r" + (f"\nGROUP BY {', '.join(by)}" if by else "")
    )


def visit_stats_sql(spec: StatsSpec, source: str,
                    quote: Callable[[str], str] = duckdb_quote, *,
                    checks: bool = False, columns: Sequence[str] | None = None) -> str:
    """Compliance statistics: visit scores first, then n, Σscore, Σscore² per group.

    ``source`` holds one row per visit × checklist item with the grouping columns,
    ``visit_id``, ``result`` (``yes``/``no``/``na``), ``weight`` and ``critical``. A visit is
    identified by the grouping columns, ``quarter`` (when present) and ``visit_id``.
    Visit score = 100·Σw[yes]/Σw over applicable (yes/no) items; no applicable item → no score;
    a critical item answered "no" → 0 when ``spec.critical_fails_visit``.

    With ``columns`` (the columns ``source`` has), the raw visits table can be read as it
    is: a missing ``result`` counts as n.a. (it is neither yes nor no), a missing ``weight``
    as 1 (no ``weight`` column: every item 1), a missing ``critical`` as not critical.
    With ``checks=True`` (DuckDB SQL) the same pass also counts, per group, the rows that the
    checks of :func:`sufficient_stats` reject (a result other than yes / no / na, a negative
    weight, an item checked twice in one visit when ``columns`` has ``item_id``) in an extra
    column ``_vq_bad``, and visits with a missing grouping value are kept as their own groups
    (so that they are checked too; the caller drops them).
    """
    q = quote
    by = [q(c) for c in spec.by]
    keys = by + [q(c) for c in _visit_key_extra(spec)]
    have = None if columns is None else set(columns)
    result = q("result")
    if have is None or "weight" in have:
        w = f"CAST({q('weight')} AS DOUBLE)"
        w = w if have is None else f"COALESCE({w}, 1.0)"
    else:
        w = "1.0"
    critical = q("critical") if have is None or "critical" in have else None
    crit = (f"CASE WHEN COUNT(CASE WHEN {critical} AND {result} = 'no' THEN 1 END) > 0 "
            "THEN 1 ELSE 0 END" if spec.critical_fails_visit and critical is not None else "0")
    bad = ""
    if checks:
        counts = [f"COUNT(CASE WHEN {result} NOT IN ('yes', 'no', 'na') THEN 1 END)"]
        if have is None or "weight" in have:
            counts.append(f"COUNT(CASE WHEN {q('weight')} < 0 THEN 1 END)")
        if have is not None and "item_id" in have:
            # items checked more than once: rows − distinct item hashes. COUNT(DISTINCT
            # item_id) costs 3× the whole visits query in DuckDB (measured at 1 M checks); the
            # distinct 64-bit hashes of a visit's list cost a fifth of that. hash(NULL) is a
            # value, so missing ids are one item, as in pandas' duplicated(); a collision can
            # only raise a false alarm, which the pandas checks then clear.
            item = q("item_id")
            counts.append(f"COUNT(*) - list_unique(list(hash({item})))")
        bad = f",\n         {' + '.join(counts)} AS _vq_bad"
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in by) or "TRUE"
    outer = [
        f"COUNT(_vq_score) AS {q('cmp_n')}",
        f"COALESCE(SUM(_vq_score), 0) AS {q('cmp_sx')}",
        f"COALESCE(SUM(_vq_score * _vq_score), 0) AS {q('cmp_sx2')}",
    ]
    if checks:
        outer.append(f"SUM(_vq_bad) AS {q('_vq_bad')}")
    return (
        "WITH _vq_v AS (\n"
        f"  SELECT {', '.join(keys)},\n"
        f"         COALESCE(SUM(CASE WHEN {result} = 'yes' THEN {w} END), 0) AS _vq_yes,\n"
        f"         COALESCE(SUM(CASE WHEN {result} IN ('yes', 'no') THEN {w} END), 0)"
        " AS _vq_app,\n"
        f"         {crit} AS _vq_crit{bad}\n"
        f"  FROM {source}" + ("" if checks else f"\n  WHERE {not_null}") + "\n"
        f"  GROUP BY {', '.join(keys)}\n"
        "), _vq_s AS (\n"
        f"  SELECT {', '.join(by + [''])}CASE WHEN _vq_crit = 1 THEN CAST(0 AS DOUBLE) "
        "WHEN _vq_app > 0 THEN 100 * _vq_yes / _vq_app END AS _vq_score"
        + (", _vq_bad" if checks else "") + "\n"
        "  FROM _vq_v\n)\n"
        "SELECT " + ", ".join(by + outer) + "\nFROM _vq_s"
        + (f"\nGROUP BY {', '.join(by)}" if by else "")
    )


def _visit_key_extra(spec: StatsSpec) -> list[str]:
    return [c for c in spec.visit_key if c not in spec.by]


def _num(x: float) -> str:
    """A numeric SQL literal (plain Python repr of a float, never ``np.float64(…)``)."""
    return repr(float(x))


# --- input preparation and checks ------------------------------------------------------------

def _check_numeric(df: pd.DataFrame, column: str, scale, *, integer: bool) -> np.ndarray:
    """A rating column as float64 (NaN = missing) after a vectorised check of every answer."""
    s = df[column]
    if pd.api.types.is_bool_dtype(s.dtype):
        raise DataError(f"{column} must be numeric, got booleans", column=column)
    if not pd.api.types.is_numeric_dtype(s.dtype):
        converted = pd.to_numeric(s, errors="coerce")
        bad = np.flatnonzero((converted.isna() & s.notna()).to_numpy())
        if bad.size:
            _raise_at(df, int(bad[0]), column, f"{column} must be numeric", s.iloc[bad[0]])
        s = converted
    x = s.to_numpy(dtype=float, na_value=np.nan)
    present = ~np.isnan(x)
    lo, hi = scale
    bad = present & ((x < lo) | (x > hi))
    if integer:
        bad |= present & (x != np.round(x))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        kind = "an integer" if integer else "a number"
        _raise_at(df, pos, column, f"{column} must be {kind} from {lo:g} to {hi:g}", x[pos])
    return x


def _raise_at(df: pd.DataFrame, pos: int, column: str, problem: str, value) -> None:
    file = row = None
    if "source_row" in df.columns:
        row = df["source_row"].iloc[pos]
        row = None if pd.isna(row) else int(row)
    if "source_file" in df.columns:
        file = df["source_file"].iloc[pos]
        file = None if pd.isna(file) else str(file)
    if row is None:
        problem += f" (row {pos} of the frame)"
    raise DataError(problem, file=file, row=row, column=column, value=value)


def _require(df: pd.DataFrame, columns: Sequence[str], what: str, hint: str = "") -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{what} lack the column(s) {missing}{hint}; "
                        f"they have {list(df.columns)}")


def _prepare_responses(
    spec: StatsSpec, responses: pd.DataFrame, memberships: pd.DataFrame | None, *,
    check: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Check the responses (and memberships) and keep only the columns ``spec`` reads.

    ``check=False`` leaves the value checks to the DuckDB pass (``checks=True`` of
    :func:`response_stats_sql`) and returns the responses as they are, without a copy.
    """
    needed = []
    if spec.nps_scale is not None:
        needed.append(NPS_COLUMN)
    if spec.ces_scale is not None:
        needed.append(CES_COLUMN)
    needed += [f"sat__{a}" for a in spec.attributes] + [f"imp__{a}" for a in spec.importance]
    _require(responses, needed, "responses",
             " (pass nps_scale=None / ces_scale=None to leave a metric out)")
    if check:
        _check_responses(spec, responses)

    from_members = memberships is not None
    if from_members:
        _require(memberships, ["quarter", "client_id", "segment"], "memberships")
        _require(responses, ["quarter", "client_id"], "responses",
                 " (needed to join the segment memberships)")
        memberships = memberships[["quarter", "client_id", "segment"]].drop_duplicates()
    keys = [c for c in spec.by if not (from_members and c == "segment")]
    _require(responses, keys, "responses")
    if not check:
        return responses, memberships
    extra = ["client_id"] if from_members and "client_id" not in keys else []
    keep = list(dict.fromkeys(keys + extra + needed + ([WEIGHT_COLUMN] if spec.weighted else [])))
    return responses[keep], memberships


def _checked_columns(spec: StatsSpec) -> list[tuple[str, tuple[float, float], bool]]:
    """(column, scale, integer) of every response column the checks read, in check order."""
    out = []
    if spec.nps_scale is not None:
        out.append((NPS_COLUMN, spec.nps_scale, True))
    if spec.ces_scale is not None:
        out.append((CES_COLUMN, spec.ces_scale, True))
    out += [(f"sat__{a}", spec.csi_scale, False) for a in spec.attributes]
    out += [(f"imp__{a}", spec.imp_scale, False) for a in spec.importance]
    if spec.weighted:
        out.append((WEIGHT_COLUMN, (0, np.inf), False))
    return out


def _plain_numeric(series: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(series.dtype)
            and not pd.api.types.is_bool_dtype(series.dtype))


def _sql_checkable_responses(spec: StatsSpec, responses: pd.DataFrame) -> bool:
    """Whether the checks can run inside the DuckDB pass: every checked column is numeric
    (booleans and text go through the pandas checks, which convert or reject them)."""
    return all(c in responses.columns and _plain_numeric(responses[c])
               for c, _, _ in _checked_columns(spec))


def _sql_checkable_visits(visits: pd.DataFrame) -> bool:
    """Whether the DuckDB pass can read and check the visits as they are: text results,
    numeric weights and boolean critical flags (anything else is converted in pandas)."""
    result = visits["result"].dtype
    if not (result == object or pd.api.types.is_string_dtype(result)
            or isinstance(result, pd.CategoricalDtype)):
        return False
    if "weight" in visits.columns and not _plain_numeric(visits["weight"]):
        return False
    return "critical" not in visits.columns or pd.api.types.is_bool_dtype(
        visits["critical"].dtype)


def _check_responses(spec: StatsSpec, responses: pd.DataFrame) -> None:
    """The pandas checks of every response column (raise at the first bad row)."""
    if spec.nps_scale is not None:
        _check_numeric(responses, NPS_COLUMN, spec.nps_scale, integer=True)
    if spec.ces_scale is not None:
        _check_numeric(responses, CES_COLUMN, spec.ces_scale, integer=True)
    for a in spec.attributes:
        _check_numeric(responses, f"sat__{a}", spec.csi_scale, integer=False)
    for a in spec.importance:
        _check_numeric(responses, f"imp__{a}", spec.imp_scale, integer=False)
    if spec.weighted:
        w = _check_numeric(responses, WEIGHT_COLUMN, (0, np.inf), integer=False)
        if np.isnan(w).any():
            pos = int(np.flatnonzero(np.isnan(w))[0])
            _raise_at(responses, pos, WEIGHT_COLUMN, "weight is missing", None)


def _require_visits(spec: StatsSpec, visits: pd.DataFrame) -> None:
    _require(visits, [*spec.by, "visit_id", "result"], "visits",
             " (compliance needs every grouping column in the visits table)")


def _prepare_visits(spec: StatsSpec, visits: pd.DataFrame) -> pd.DataFrame:
    """The checked visits (result, weight, critical as the SQL reads them); raise at the first
    bad row."""
    _require_visits(spec, visits)
    keys = [*spec.by, *_visit_key_extra(spec)]
    out = visits[list(dict.fromkeys([*keys, "result"]))].copy()
    result = out["result"].astype(object)
    bad = np.flatnonzero((~result.isin(RESULTS) & result.notna()).to_numpy())
    if bad.size:
        _raise_at(visits, int(bad[0]), "result", "result must be one of yes / no / na",
                  result.iloc[bad[0]])
    out["result"] = result.fillna("na").astype(str)   # a missing answer counts as n.a.
    if "item_id" in visits.columns:
        dup = np.flatnonzero(visits.duplicated([*keys, "item_id"]).to_numpy())
        if dup.size:
            _raise_at(visits, int(dup[0]), "item_id",
                      "the same item is checked twice in one visit", visits["item_id"].iloc[dup[0]])
    if "weight" in visits.columns:
        w = _check_numeric(visits, "weight", (0, np.inf), integer=False)
        out["weight"] = np.where(np.isnan(w), 1.0, w)
    else:
        out["weight"] = 1.0
    if "critical" in visits.columns:
        out["critical"] = visits["critical"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    else:
        out["critical"] = False
    return out


# --- engines ---------------------------------------------------------------------------------

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
        ``duckdb`` runs :func:`response_stats_sql` / :func:`visit_stats_sql` over the frames;
        ``spark`` runs the same SQL (:func:`spark_quote`) on the active or a new Spark session
        (:func:`vipquality.metrics.sufficient.engine_spark.spark_session`: ``$SPARK_MASTER`` or local; needs pyspark
        and Java); ``pandas`` computes the same columns with ``groupby().sum()`` (a
        cross-check).

    Returns
    -------
    DataFrame
        Indexed by the grouping columns (sorted), one column per statistic
        (:func:`stat_columns`); groups present in only one table get 0 for the other's counts.

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
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of 'duckdb', 'pandas', 'spark', got {engine!r}")
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
    # DuckDB checks the values in the aggregation pass itself (one extra count per group) and
    # reads the caller's frames without copies; the pandas checks run only when that count
    # is not zero, to raise the same error naming the first bad row and column. The other
    # engines (and unusual dtypes) check in pandas first.
    if responses is not None:
        if engine == "duckdb" and _sql_checkable_responses(spec, responses):
            r, m = _prepare_responses(spec, responses, memberships, check=False)
            stats, bad = _run_checked(spec, "responses", r, m)
            if bad:
                _check_responses(spec, responses)  # raises, naming the first bad row
                # not reproduced in pandas (a NaN that DuckDB reads as a number, e.g. from an
                # Arrow-backed column): the checked pandas path decides, as before
                r, m = _prepare_responses(spec, responses, memberships)
                stats = _run(engine, spec, "responses", r, m)
            parts.append(stats)
        else:
            r, m = _prepare_responses(spec, responses, memberships)
            parts.append(_run(engine, spec, "responses", r, m))
    if visits is not None:
        _require_visits(spec, visits)
        if engine == "duckdb" and _sql_checkable_visits(visits):
            try:
                stats, bad = _run_checked(spec, "visits", visits, None)
            except Exception as exc:
                if type(exc).__module__.split(".")[0] != "duckdb":
                    raise
                # values DuckDB cannot read as text (an object column of mixed types): the
                # pandas checks name the row; anything else is DuckDB's own error
                _prepare_visits(spec, visits)
                raise
            if bad:
                prepared = _prepare_visits(spec, visits)  # raises, naming the first bad row
                stats = _run(engine, spec, "visits", prepared, None)  # see the responses
            parts.append(stats)
        else:
            parts.append(_run(engine, spec, "visits", _prepare_visits(spec, visits), None))
    return _finish(spec, parts)


def _run(engine: str, spec: StatsSpec, table: str, frame: pd.DataFrame,
         memberships: pd.DataFrame | None) -> pd.DataFrame:
    if engine == "pandas":
        return (_pandas_response_stats(spec, frame, memberships) if table == "responses"
                else _pandas_visit_stats(spec, frame))
    if engine == "spark":
        from vipquality.metrics.sufficient.engine_spark import spark_stats  # lazy: pyspark is optional

        return spark_stats(spec, table, frame, memberships)
    return _duckdb_query(spec, table, frame, memberships)


def _run_checked(spec: StatsSpec, table: str, frame: pd.DataFrame,
                 memberships: pd.DataFrame | None) -> tuple[pd.DataFrame, int]:
    """The DuckDB pass with the checks: group statistics and the number of rejected rows."""
    out = _duckdb_query(spec, table, frame, memberships, checks=True)
    bad = int(out.pop("_vq_bad").fillna(0).sum())
    if spec.by:
        # rows with a missing grouping value were only kept to be checked
        out = out.dropna(subset=list(spec.by), ignore_index=True)
    return out, bad


def _duckdb_query(spec: StatsSpec, table: str, frame: pd.DataFrame,
                  memberships: pd.DataFrame | None, checks: bool = False) -> pd.DataFrame:
    con = _duckdb_cursor()
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


def _duckdb_cursor():
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


def _pandas_response_stats(spec: StatsSpec, r: pd.DataFrame,
                           memberships: pd.DataFrame | None) -> pd.DataFrame:
    if memberships is not None:
        r = r.merge(memberships, on=["quarter", "client_id"], how="inner")

    def rated(column: str, scale) -> np.ndarray:
        x = r[column].to_numpy(dtype=float, na_value=np.nan)
        return np.where((x >= scale[0]) & (x <= scale[1]), x, np.nan)

    cols: dict[str, np.ndarray] = {}
    w = (r[WEIGHT_COLUMN].to_numpy(dtype=float, na_value=np.nan) if spec.weighted
         else np.ones(len(r)))
    if spec.nps_scale is not None:
        x = rated(NPS_COLUMN, spec.nps_scale)
        ok = ~np.isnan(x)
        cols.update(nps_n=ok.astype(np.int64), nps_sw=np.where(ok, w, 0.0),
                    nps_sw2=np.where(ok, w * w, 0.0), nps_swp=np.where(ok & (x >= 9), w, 0.0),
                    nps_swd=np.where(ok & (x <= 6), w, 0.0))
    if spec.ces_scale is not None:
        x = rated(CES_COLUMN, spec.ces_scale)
        ok = ~np.isnan(x)
        easy, difficult = spec.ces_cuts
        cols.update(ces_n=ok.astype(np.int64), ces_sw=np.where(ok, w, 0.0),
                    ces_sw2=np.where(ok, w * w, 0.0), ces_swx=np.where(ok, w * x, 0.0),
                    ces_swx2=np.where(ok, w * x * x, 0.0),
                    ces_swe=np.where(ok & (x > easy), w, 0.0),
                    ces_swd=np.where(ok & (x < difficult), w, 0.0))
    sat = {a: rated(f"sat__{a}", spec.csi_scale) for a in spec.attributes}
    any_sat = np.zeros(len(r), dtype=bool)
    for x in sat.values():
        any_sat |= ~np.isnan(x)
    if spec.attributes:
        cols["csi_n"] = any_sat.astype(np.int64)
    for a in spec.attributes:
        x = sat[a]
        ok = ~np.isnan(x)
        cols[f"sat_n:{a}"] = ok.astype(np.int64)
        cols[f"sat_sx:{a}"] = np.where(ok, x, 0.0)
        cols[f"sat_sx2:{a}"] = np.where(ok, x * x, 0.0)
        if a in spec.importance:
            y = np.where(any_sat, rated(f"imp__{a}", spec.imp_scale), np.nan)
            cols[f"imp_n:{a}"] = (~np.isnan(y)).astype(np.int64)
            cols[f"imp_sx:{a}"] = np.where(np.isnan(y), 0.0, y)
    for a, b in spec.pairs:
        x, y = sat[a], sat[b]
        ok = ~(np.isnan(x) | np.isnan(y))
        cols[f"pair_n:{a}:{b}"] = ok.astype(np.int64)
        cols[f"pair_sxy:{a}:{b}"] = np.where(ok, x * y, 0.0)
        cols[f"pair_sx:{a}:{b}"] = np.where(ok, x, 0.0)
        cols[f"pair_sy:{a}:{b}"] = np.where(ok, y, 0.0)
    frame = pd.DataFrame(cols, index=r.index)
    return _group_sum(frame, r, spec.by)


def _pandas_visit_stats(spec: StatsSpec, v: pd.DataFrame) -> pd.DataFrame:
    keys = [*spec.by, *_visit_key_extra(spec)]
    result = v["result"].to_numpy()
    w = v["weight"].to_numpy(dtype=float)
    parts = pd.DataFrame({
        "yes": np.where(result == "yes", w, 0.0),
        "app": np.where(np.isin(result, ["yes", "no"]), w, 0.0),
        "crit": (v["critical"].to_numpy(dtype=bool) & (result == "no")).astype(np.int64)
        if spec.critical_fails_visit else np.zeros(len(v), dtype=np.int64),
    }, index=v.index)
    for k in keys:
        parts[k] = v[k].to_numpy()
    per_visit = parts.groupby(keys, sort=False, dropna=True).agg(
        yes=("yes", "sum"), app=("app", "sum"), crit=("crit", "max")).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(per_visit["crit"].to_numpy() > 0, 0.0,
                         np.where(per_visit["app"].to_numpy() > 0,
                                  100 * per_visit["yes"].to_numpy() / per_visit["app"].to_numpy(),
                                  np.nan))
    ok = ~np.isnan(score)
    frame = pd.DataFrame({"cmp_n": ok.astype(np.int64), "cmp_sx": np.where(ok, score, 0.0),
                          "cmp_sx2": np.where(ok, score * score, 0.0)})
    return _group_sum(frame, per_visit, spec.by)


def _group_sum(frame: pd.DataFrame, keys_from: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    if not by:
        return frame.sum().to_frame().T
    for k in by:
        frame[k] = keys_from[k].to_numpy()
    return frame.groupby(list(by), sort=True, dropna=True).sum().reset_index()


def _finish(spec: StatsSpec, parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Index by the grouping columns, outer-join the tables, fix dtypes and column order."""
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
    out = out.astype({c: np.int64 if _is_count(c) else np.float64 for c in out.columns})
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
