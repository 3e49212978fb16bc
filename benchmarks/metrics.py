"""The metric engine: ``summarise`` at 100 thousand, 1 million and 10 million responses.

Grouping quarter × segment × branch × manager; NPS, CES, CSI with 8 attributes (stated weights,
delta-method interval), attribute performance, and compliance over checklist checks (one check
per five responses: 2 million at 10 million responses). Baselines measured in the same run:

- **DuckDB sums**: a hand-written DuckDB query over the same pandas frames computing the same
  counts and sums (checked equal to the library's sufficient statistics), and nothing else — no
  validation, no estimates, no change test. Run interleaved with ``summarise``.
- **naive pandas**: ``groupby().apply()`` with a per-group function computing the same metrics
  (what a notebook author writes), run once per size.
"""

from __future__ import annotations

import gc

import duckdb
import numpy as np
import pandas as pd

from vipquality.metrics.summarise import sufficient_stats, summarise

from . import data
from ._common import PeakRSS, Section, log, mb, med, median_times, profile, secs

BY = data.BY


# --- baseline 1: hand-written DuckDB SQL of the same sums -------------------------------------

def hand_sql(attrs: list[str]) -> tuple[str, str, list[str]]:
    """The responses query, the visits query and the names of the responses query's sums."""
    s = {a: f"s{i}" for i, a in enumerate(attrs)}
    m = {a: f"m{i}" for i, a in enumerate(attrs)}
    anys = "COALESCE(" + ", ".join(s.values()) + ")"
    cols = [
        ("nps_n", "COUNT(nps)"),
        ("nps_sw", "SUM(CASE WHEN nps IS NOT NULL THEN w END)"),
        ("nps_sw2", "SUM(CASE WHEN nps IS NOT NULL THEN w * w END)"),
        ("nps_swp", "SUM(CASE WHEN nps >= 9 THEN w END)"),
        ("nps_swd", "SUM(CASE WHEN nps <= 6 THEN w END)"),
        ("ces_n", "COUNT(ces)"),
        ("ces_sw", "SUM(CASE WHEN ces IS NOT NULL THEN w END)"),
        ("ces_sw2", "SUM(CASE WHEN ces IS NOT NULL THEN w * w END)"),
        ("ces_swx", "SUM(w * ces)"),
        ("ces_swx2", "SUM(w * ces * ces)"),
        ("ces_swe", "SUM(CASE WHEN ces > 4 THEN w END)"),
        ("ces_swd", "SUM(CASE WHEN ces < 4 THEN w END)"),
        ("csi_n", f"COUNT({anys})"),
    ]
    for a in attrs:
        x, i = s[a], f"CASE WHEN {anys} IS NOT NULL THEN {m[a]} END"
        cols += [(f"sat_n:{a}", f"COUNT({x})"), (f"sat_sx:{a}", f"SUM({x})"),
                 (f"sat_sx2:{a}", f"SUM({x} * {x})"), (f"imp_n:{a}", f"COUNT({i})"),
                 (f"imp_sx:{a}", f"SUM({i})")]
    for j, a in enumerate(attrs):
        for b in attrs[j + 1:]:
            x, y = s[a], s[b]
            cols += [(f"pair_n:{a}:{b}", f"COUNT({x} * {y})"),
                     (f"pair_sxy:{a}:{b}", f"SUM({x} * {y})"),
                     (f"pair_sx:{a}:{b}", f"SUM(CASE WHEN {y} IS NOT NULL THEN {x} END)"),
                     (f"pair_sy:{a}:{b}", f"SUM(CASE WHEN {x} IS NOT NULL THEN {y} END)")]
    keys = ", ".join(BY)
    proj = [keys, "CAST(weight AS DOUBLE) AS w", "CAST(nps AS DOUBLE) AS nps",
            "CAST(ces AS DOUBLE) AS ces"]
    proj += [f'CAST("sat__{a}" AS DOUBLE) AS {s[a]}' for a in attrs]
    proj += [f'CAST("imp__{a}" AS DOUBLE) AS {m[a]}' for a in attrs]
    responses = (f"WITH r AS (SELECT {', '.join(proj)} FROM responses)\n"
                 f"SELECT {keys}, " + ", ".join(f'{e} AS "{n}"' for n, e in cols)
                 + f"\nFROM r GROUP BY {keys}")
    visits = (
        f"WITH v AS (SELECT {keys}, visit_id,"
        " SUM(CASE WHEN result = 'yes' THEN weight ELSE 0 END) AS yes,"
        " SUM(CASE WHEN result IN ('yes', 'no') THEN weight ELSE 0 END) AS app,"
        " BOOL_OR(critical AND result = 'no') AS crit"
        f" FROM visits GROUP BY {keys}, visit_id),\n"
        f"s AS (SELECT {keys}, CASE WHEN crit THEN 0.0 WHEN app > 0 THEN 100 * yes / app END"
        " AS score FROM v)\n"
        f"SELECT {keys}, COUNT(score) AS cmp_n, SUM(score) AS cmp_sx,"
        f" SUM(score * score) AS cmp_sx2 FROM s GROUP BY {keys}")
    return responses, visits, [n for n, _ in cols]


def duckdb_sums(responses: pd.DataFrame, visits: pd.DataFrame, attrs: list[str]):
    sql_r, sql_v, _ = hand_sql(attrs)
    con = duckdb.connect()
    try:
        con.register("responses", responses)
        con.register("visits", visits)
        return con.execute(sql_r).df(), con.execute(sql_v).df()
    finally:
        con.close()


# --- baseline 2: the naive pandas groupby().apply() --------------------------------------------

def naive(responses: pd.DataFrame, visits: pd.DataFrame, attrs: list[str]) -> pd.DataFrame:
    """Per-group metrics the way a notebook author would write them."""
    sat = [f"sat__{a}" for a in attrs]
    imp = [f"imp__{a}" for a in attrs]

    def group_metrics(g: pd.DataFrame) -> pd.Series:
        out = {}
        w, nps, ces = g["weight"], g["nps"].astype(float), g["ces"].astype(float)
        ok = nps.notna()
        out["nps"] = 100 * (w[nps >= 9].sum() - w[nps <= 6].sum()) / w[ok].sum()
        out["nps_n"] = w[ok].sum() ** 2 / (w[ok] ** 2).sum()
        ok = ces.notna()
        out["ces_mean"] = (w[ok] * ces[ok]).sum() / w[ok].sum()
        out["ces_easy"] = 100 * w[ces >= 5].sum() / w[ok].sum()
        out["ces_net_easy"] = out["ces_easy"] - 100 * w[ces <= 3].sum() / w[ok].sum()
        rated = g[sat].notna().any(axis=1)
        perf = 100 * (g[sat].mean() - 1) / 9
        weights = g.loc[rated, imp].mean().to_numpy()
        weights = weights / weights.sum()
        out["csi"] = float((perf.to_numpy() * weights).sum())
        cov = g[sat].cov().to_numpy() * (100 / 9) ** 2 / rated.sum()
        out["csi_se"] = float(np.sqrt(weights @ cov @ weights))
        for a, col in zip(attrs, sat):
            out[f"attr:{a}"] = perf[col]
            out[f"attr_se:{a}"] = 100 / 9 * g[col].std() / np.sqrt(g[col].count())
        return pd.Series(out)

    def visit_score(v: pd.DataFrame) -> float:
        if (v["critical"] & (v["result"] == "no")).any():
            return 0.0
        app = v[v["result"].isin(["yes", "no"])]
        return 100 * app.loc[app["result"] == "yes", "weight"].sum() / app["weight"].sum()

    table = responses.groupby(BY).apply(group_metrics)
    scores = visits.groupby([*BY, "visit_id"]).apply(visit_score).rename("score")
    compliance = scores.groupby(level=list(range(len(BY)))).agg(["mean", "std", "count"])
    return table.join(compliance, how="outer")


# --- the benchmark -----------------------------------------------------------------------------

def _library(responses, visits, attrs, by=BY):
    return summarise(responses, by=by, attributes=attrs, visits=visits)


def _check_same_sums(responses, visits, attrs) -> None:
    """The hand-written baseline computes exactly the library's statistics."""
    lib = sufficient_stats(responses, by=BY, attributes=attrs, visits=visits)
    hr, hv = duckdb_sums(responses, visits, attrs)
    hand = hr.set_index(BY).join(hv.set_index(BY), how="outer").sort_index()
    hand = hand.reindex(columns=lib.columns).fillna(0)
    np.testing.assert_allclose(hand.to_numpy(float), lib.to_numpy(float), rtol=1e-9)
    assert list(hand.index) == list(lib.index)


def run(sizes: list[int], repeat: int = 3, naive_max: int | None = None) -> Section:
    sec = Section("Metric engine (summarise)")
    per_row: dict[int, float] = {}
    largest = max(sizes)
    results = {}
    for n in sizes:
        log(f"metric engine: {n:,} responses")
        r = data.responses(n)
        v = data.visits(r, n // 5)
        attrs = data.attributes(r)
        size = int(r.memory_usage(deep=True).sum() + v.memory_usage(deep=True).sum())
        if n == min(sizes):
            _check_same_sums(r, v, attrs)
            sec.notes.append(f"The hand-written DuckDB baseline was checked equal (rtol 1e-9) to "
                             f"the library's sufficient statistics at {n:,} responses.")
        groups = r.groupby(BY, observed=True).ngroups
        gc.collect()
        with PeakRSS() as peak:
            out = _library(r, v, attrs)
        times = median_times({
            "summarise": lambda: _library(r, v, attrs),
            "duckdb": lambda: duckdb_sums(r, v, attrs),
        }, repeat)
        t_lib, t_duck = med(times["summarise"]), med(times["duckdb"])
        per_row[n] = t_lib / n
        t_naive = t_around = None
        if naive_max is None or n <= naive_max:
            # one naive run (it is slow), compared with the summarise runs just before and
            # just after it, so that a change of load on the shared machine hits both sides
            log(f"naive pandas groupby().apply() at {n:,}")
            t_naive = median_times({"naive": lambda: naive(r, v, attrs)}, 1)["naive"][0]
            t_after = median_times({"s": lambda: _library(r, v, attrs)}, 1)["s"][0]
            t_around = (times["summarise"][-1] + t_after) / 2
        results[n] = dict(lib=t_lib, duck=t_duck, naive=t_naive, mem=peak.extra, size=size,
                          groups=groups, rows=len(out), times=times)
        label = f"{n:,} responses, {n // 5:,} checks, {groups:,} groups"
        big = n == largest
        sec.add(f"{label}: summarise (median of {repeat})", secs(t_lib),
                f"DuckDB sums {secs(t_duck)}",
                "≤ 1.5× DuckDB" + ("" if big else " (target at 10 M)"),
                (t_lib <= 1.5 * t_duck) if big else None,
                f"ratio {t_lib / t_duck:.2f}×; runs "
                f"{', '.join(f'{t:.2f}' for t in times['summarise'])} vs "
                f"{', '.join(f'{t:.2f}' for t in times['duckdb'])} s")
        if t_naive is not None:
            sec.add(f"{label}: speed-up over naive pandas", f"{t_naive / t_around:.1f}×",
                    f"naive {secs(t_naive)}", "≥ 10×" + ("" if big else " (target at 10 M)"),
                    (t_naive >= 10 * t_around) if big else None,
                    f"naive {secs(t_naive)} against the mean of the summarise runs just before "
                    f"and after it ({secs(t_around)}); the DuckDB sums alone are "
                    f"{t_naive / t_duck:.1f}× faster than naive")
        sec.add(f"{label}: peak working memory of summarise", mb(peak.extra),
                f"data in memory {mb(size)}", "< 3× the data" if big else "",
                (peak.extra < 3 * size) if big else None,
                f"{peak.extra / size:.2f}× the data; process peak RSS {mb(peak.peak)}")
        if big and any(f.ok is False for f in sec.figures):
            sec.profiles[f"summarise at {n:,} responses"] = profile(
                lambda: _library(r, v, attrs))
        if n == 1_000_000 or (n == largest and 1_000_000 not in sizes):
            times_g = median_times({
                "few": lambda: _library(r, v, attrs, by=["quarter", "segment"]),
                "many": lambda: _library(r, v, attrs),
            }, repeat)
            few, many = med(times_g["few"]), med(times_g["many"])
            g_few = r.groupby(["quarter", "segment"], observed=True).ngroups
            sec.add(f"{n:,} responses: time with {groups:,} groups vs {g_few} groups",
                    f"{many / few:.2f}×", f"{secs(many)} vs {secs(few)}", "≤ 1.5× (grows "
                    "with rows, not groups)", many <= 1.5 * few)
        del r, v, out
        gc.collect()
    if len(per_row) >= 2:
        ns = sorted(per_row)
        lo, hi = ns[-2], ns[-1]
        growth = (per_row[hi] * hi) / (per_row[lo] * lo)
        sec.add(f"time growth {lo:,} → {hi:,} responses", f"{growth:.2f}× for "
                f"{hi / lo:.0f}× the rows", "linear would be "
                f"{hi / lo:.0f}×", f"≤ {1.25 * hi / lo:.1f}× (per-row cost within 25 %)",
                growth <= 1.25 * hi / lo,
                "per-row cost " + ", ".join(f"{n:,}: {per_row[n] * 1e6:.2f} µs" for n in ns))
    sec.results = results
    return sec
