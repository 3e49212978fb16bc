"""SQL text of the aggregation pass, shared by every SQL engine (DuckDB, Spark).

The SQL is generated in one place (:func:`response_stats_sql`, :func:`visit_stats_sql`) from
the list of attributes; it uses only ``COUNT``, ``SUM``, ``CASE``, ``CAST … AS DOUBLE``,
``BETWEEN``, ``COALESCE`` and ``GROUP BY``, which DuckDB and Spark SQL share, and takes the
identifier quoting as a parameter (:func:`duckdb_quote`: double quotes; :func:`spark_quote`:
backticks). Only the in-pass checks (``checks=True``) use DuckDB functions of their own.

Examples
--------
>>> from vipquality.metrics.sufficient.spec import StatsSpec
>>> spark_quote("sat__speed"), duckdb_quote('odd"name')
('`sat__speed`', '"odd""name"')
>>> print(response_stats_sql(StatsSpec(by=("segment",), ces_scale=None), "responses"))
WITH _vq_r AS (
  SELECT "segment",
         CAST(1 AS DOUBLE) AS _vq_w,
         CASE WHEN "nps" BETWEEN 0.0 AND 10.0 THEN CAST("nps" AS DOUBLE) END AS _vq_nps
  FROM responses
  WHERE "segment" IS NOT NULL
)
SELECT "segment",
       COUNT(_vq_nps) AS "nps_n",
       COALESCE(SUM(_vq_w + 0 * _vq_nps), 0) AS "nps_sw",
       COALESCE(SUM(_vq_w * _vq_w + 0 * _vq_nps), 0) AS "nps_sw2",
       COALESCE(SUM(CASE WHEN _vq_nps >= 9 THEN _vq_w END), 0) AS "nps_swp",
       COALESCE(SUM(CASE WHEN _vq_nps <= 6 THEN _vq_w END), 0) AS "nps_swd"
FROM _vq_r
GROUP BY "segment"
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vipquality.metrics.sufficient.spec import (
    CES_COLUMN,
    NPS_COLUMN,
    WEIGHT_COLUMN,
    StatsSpec,
    visit_key_extra,
)

__all__ = ["duckdb_quote", "response_stats_sql", "spark_quote", "visit_stats_sql"]


def duckdb_quote(name: str) -> str:
    """Quote an identifier for DuckDB (and standard SQL)."""
    return '"' + str(name).replace('"', '""') + '"'


def spark_quote(name: str) -> str:
    """Quote an identifier for Spark SQL."""
    return "`" + str(name).replace("`", "``") + "`"


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
    :func:`~vipquality.metrics.sufficient.sufficient_stats` reject (an answer off its scale, a
    non-integer NPS/CES answer, a missing or negative weight) in an extra column ``_vq_bad``,
    and rows with a missing grouping value are kept as their own groups (so that they are
    checked too; the caller drops them). The source must then hold numeric columns with NULL
    for missing (DuckDB reads pandas NaN as NULL). ``integer_typed`` names columns of an
    integer type, whose integrality test is left out (it is true by type, and ``ROUND`` over
    them costs about as much as all the other checks together).
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
    checks of :func:`~vipquality.metrics.sufficient.sufficient_stats` reject (a result other
    than yes / no / na, a negative weight, an item checked twice in one visit when ``columns``
    has ``item_id``) in an extra column ``_vq_bad``, and visits with a missing grouping value
    are kept as their own groups (so that they are checked too; the caller drops them).
    """
    q = quote
    by = [q(c) for c in spec.by]
    keys = by + [q(c) for c in visit_key_extra(spec)]
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


def _num(x: float) -> str:
    """A numeric SQL literal (plain Python repr of a float, never ``np.float64(…)``)."""
    return repr(float(x))
