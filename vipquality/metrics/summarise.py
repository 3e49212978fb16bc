"""The tidy metrics table for any grouping, computed for all groups at once.

Three steps, each vectorised over groups (no Python loop over groups anywhere):

1. :func:`~vipquality.metrics.sufficient.sufficient_stats`: one aggregation pass (DuckDB by default)
   producing mergeable counts, sums and sums of squares per group;
2. estimates from those statistics (:func:`summarise_stats`), with the interval formulas of
   :mod:`vipquality.metrics.intervals`, one numpy expression per metric across all groups;
3. base flags, change against the previous quarter of the same group, and the adjustment of the
   change p-values for the number of groups compared (Holm or Benjamini–Hochberg).

:func:`summarise` runs the three steps on frames; :func:`summarise_workspace` loads them from the
canonical store with the workspace's instrument and reporting settings. :func:`redact` blanks
what executive outputs must not show.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from vipquality.config import Reporting
from vipquality.errors import DataError
from vipquality.metrics.intervals import (
    bounded_mean_interval,
    degenerate,
    kish_n,
    nps_adjusted_wald,
    nps_from_counts,
    nps_pooled_se,
    t_interval,
    wilson,
    z_value,
)
from vipquality.metrics.sufficient import merge_stats, stat_columns, sufficient_stats

__all__ = [
    "summarise",
    "summarise_stats",
    "estimate_blocks",
    "tidy_blocks",
    "redact",
    "adjust_p",
    "sufficient_stats",
    "merge_stats",
    "stat_columns",
    "RESULT_COLUMNS",
    "REASON_COLUMN",
]

RESULT_COLUMNS = (
    "metric", "value", "ci_low", "ci_high", "se", "n", "deff", "base_flag", "prev_value", "change",
    "change_se", "p_value", "p_adjusted", "significant",
)
"""Columns of the tidy table after the grouping columns (``docs/architecture.md``)."""

#: Column :func:`redact` adds: why a row's value is blank for executives, so a page can say it
#: ("small_base": n under the base threshold; "complement": hidden so that a smaller group cannot
#: be derived by difference; "" when shown).
REASON_COLUMN = "suppressed_reason"

_BLANKED = ("value", "ci_low", "ci_high", "se", "deff", "prev_value", "change", "change_se", "p_value",
            "p_adjusted")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
#: The workspace's reporting settings when none are given (``vipquality.config.Reporting``):
#: the one source of the default base thresholds of a summary.
_REPORTING = Reporting()


def summarise(
    responses: pd.DataFrame | None,
    *,
    by: Sequence[str] = ("quarter", "segment"),
    attributes: Sequence[str],
    nps_scale: tuple[int, int] | None = (0, 10),
    ces_scale: tuple[int, int] | None = (1, 7),
    csi_scale: tuple[int, int] = (1, 10),
    importance_scale: tuple[int, int] | None = None,
    csi_weights: str | Mapping[str, float] = "stated",
    memberships: pd.DataFrame | None = None,
    visits: pd.DataFrame | None = None,
    confidence: float = 0.95,
    base_suppress: float = _REPORTING.base_suppress,
    base_small: float = _REPORTING.base_small,
    adjustment: str = "holm",
    compare: str | None = "previous_quarter",
    critical_fails_visit: bool = True,
    engine: str = "duckdb",
) -> pd.DataFrame:
    """Tidy metrics (NPS, CES, CSI, attribute performance, compliance) for every group.

    Parameters
    ----------
    responses : DataFrame or None
        Canonical responses (``docs/architecture.md``): the grouping columns, ``nps``, ``ces``,
        ``weight`` (optional), ``sat__<id>`` and ``imp__<id>`` (optional) per attribute.
        ``None`` computes compliance only.
    by : sequence of str, default ("quarter", "segment")
        Grouping columns. Responses must carry them all (``segment`` may come from
        ``memberships``); so must ``visits`` when given.
    attributes : sequence of str
        CSI attribute ids in instrument order (may be empty: no CSI).
    nps_scale, ces_scale : (int, int) or None
        Item scales; ``None`` leaves the metric out (e.g. an instrument without CES).
        NPS must be on 0–10.
    csi_scale, importance_scale : (int, int)
        Satisfaction scale of every attribute; importance scale (default: ``csi_scale``).
    csi_weights : {"stated", "equal"} or mapping of attribute id to weight
        ``stated``: each group's mean importance ratings, normalised to sum 1; ``equal``; or
        fixed non-negative numbers naming every attribute (normalised). An attribute nobody
        in a group rated is left out of that group's CSI and the other weights renormalised,
        as in :func:`vipquality.metrics.csi.csi`. ``derived`` weights need a regression per
        group and are not available here.
    memberships : DataFrame, optional
        ``quarter, client_id, segment``; used when ``"segment"`` is in ``by`` and the
        responses have no ``segment`` column. A response counts in every segment of its client.
    visits : DataFrame, optional
        Mystery-shopper visits (one row per visit × item) for the ``compliance`` metric.
    confidence : float, default 0.95
    base_suppress, base_small : float, default ``Reporting().base_suppress``, ``.base_small``
        ``n < base_suppress`` → ``"suppressed"``, ``n < base_small`` → ``"small"``, else ``"ok"``.
        A quarterly run passes the workspace's (``workspace.yaml``, ``reporting:``).
    adjustment : {"holm", "bh"}, default "holm"
        Multiplicity adjustment of the change p-values across the groups compared for the same
        quarter and metric.
    compare : {"previous_quarter", None}
        Change against the previous quarter of the same group (needs ``"quarter"`` in ``by``).
    critical_fails_visit : bool, default True
        A critical checklist item answered "no" scores the visit 0.
    engine : {"duckdb", "pandas", "spark"}
        Engine of the sufficient-statistics step (all give the same sums). ``spark`` runs the
        same SQL on Spark (:mod:`vipquality.metrics.sufficient.engine_spark`; needs pyspark
        and Java; ``$SPARK_MASTER`` names a cluster).

    Returns
    -------
    DataFrame
        One row per group × metric with the grouping columns, then :data:`RESULT_COLUMNS`:
        ``metric`` (``nps``, ``ces_mean``, ``ces_easy``, ``ces_net_easy``, ``csi``,
        ``attr:<id>``, ``imp:<id>``, ``compliance``), ``value``, ``ci_low``, ``ci_high``, ``se``,
        ``n`` (Kish effective base for weighted NPS and CES), ``deff`` (the design effect of
        the weights: answers ÷ ``n``; 1 when unweighted), ``base_flag``, ``prev_value``,
        ``change``, ``change_se``, ``p_value``, ``p_adjusted``, ``significant``. Sorted by the
        grouping columns, then metrics in the order above (attributes in instrument order).
        A metric with no observation in a group has no row. Full precision throughout.

    Notes
    -----
    Estimates (see ``shared/spec/metrics.md``), each from the group's sufficient statistics:

    - ``nps``: raw NPS on −100…100, SE = 100·√(v/n), adjusted-Wald interval (Rocks 2016);
      weighted shares with the Kish base n = (Σw)²/Σw² when the responses carry weights.
    - ``ces_mean`` (item scale, the bounded-mean interval of compliance on the item's
      scale), ``ces_easy`` (%, Wilson),
      ``ces_net_easy`` (% easy − % difficult, the NPS's adjusted-Wald interval), exactly as
      :func:`vipquality.metrics.ces.ces`; easy/net easy only for scales with an odd number of
      points.
    - ``attr:<id>``: s = 100·(x̄ − lo)/(hi − lo) with a t-interval (clipped to 0–100), over
      the respondents who rated it.
    - ``imp:<id>``: stated weight share in % (mean importance / sum of the means, over the
      respondents counted in the CSI); no interval.
    - ``csi`` = Σ w_i s_i, with a **delta-method** normal interval that treats the weights as
      fixed: Var = Σ_i Σ_k w_i w_k c_ik with c_ik = cov_ik · n_ik / (n_i n_k), cov_ik the
      covariance of attributes i and k over the n_ik respondents who rated both (c_ii = s_i²/n_i),
      all scaled to 0–100. It is computed from mergeable sums (cross-products and pairwise
      counts), so it works for any number of groups and partitions in one pass; the seeded
      bootstrap of :func:`vipquality.metrics.csi.csi` stays the single-group reference. With stated
      weights the bootstrap also re-estimates the weights, so its interval can be slightly
      wider. ``n`` is the number of respondents who rated at least one attribute.
    - ``compliance``: mean visit score (0–100) with the augmented-logit interval of
      :func:`vipquality.metrics.compliance.compliance` (one pseudo-visit at 0 and one at 100,
      normal on the logit scale; it stays on 0–100 and keeps 95 % with rare critical
      failures, where the t-interval did not); ``n`` = visits with a score.

    Degenerate groups, the rule of every metric: ``n`` under 2, or an interval of zero width
    (no spread: all answers equal), give NaN ``ci_low``/``ci_high``, never a zero-width
    interval. Every interval stays on its metric's scale.

    Respondent weights (a ``weight`` column) apply to NPS and CES, as in
    :func:`vipquality.metrics.nps.nps` and :func:`vipquality.metrics.ces.ces`; attribute
    performance, CSI and compliance are unweighted, as in :func:`vipquality.metrics.csi.csi` and
    :func:`vipquality.metrics.compliance.compliance`.

    Change: Δ = value − prev_value against the same group in the previous quarter,
    SE = √(se² + se_prev²), two-sided z-test; for ``nps`` and ``ces_net_easy`` (−1/0/+1
    scores) the SE is pooled under "no change" as in
    :func:`vipquality.metrics.nps.nps_difference`, which keeps the false-alarm rate at 5 %
    from n = 30 per quarter (the unpooled SE gave about 6 %); ``p_adjusted`` by Holm (or BH) within each
    (quarter, metric) across the groups with a test; ``significant`` = p_adjusted < 0.05.
    Nothing is compared when either side is suppressed (``prev_value`` is also blank when the
    previous quarter was suppressed). See :func:`redact` for executive outputs.

    Examples
    --------
    >>> r = pd.DataFrame({"quarter": ["2025Q1"] * 4 + ["2025Q2"] * 4, "segment": "A",
    ...                   "nps": [10, 9, 7, 3, 10, 9, 9, 8], "ces": [7, 6, 4, 2, 7, 7, 5, 6]})
    >>> t = summarise(r, attributes=[], base_suppress=2, base_small=3)
    >>> t[["quarter", "metric", "value", "n", "change"]]
      quarter        metric  value    n  change
    0  2025Q1           nps  25.00  4.0     NaN
    1  2025Q1      ces_mean   4.75  4.0     NaN
    2  2025Q1      ces_easy  50.00  4.0     NaN
    3  2025Q1  ces_net_easy  25.00  4.0     NaN
    4  2025Q2           nps  75.00  4.0   50.00
    5  2025Q2      ces_mean   6.25  4.0    1.50
    6  2025Q2      ces_easy 100.00  4.0   50.00
    7  2025Q2  ces_net_easy 100.00  4.0   75.00
    """
    stats = sufficient_stats(
        responses, by=by, attributes=attributes, nps_scale=nps_scale, ces_scale=ces_scale,
        csi_scale=csi_scale, importance_scale=importance_scale, memberships=memberships,
        visits=visits, critical_fails_visit=critical_fails_visit, engine=engine,
    )
    return summarise_stats(
        stats, ces_scale=ces_scale, csi_scale=csi_scale, csi_weights=csi_weights,
        confidence=confidence, base_suppress=base_suppress, base_small=base_small,
        adjustment=adjustment, compare=compare,
    )


def summarise_stats(
    stats: pd.DataFrame,
    *,
    ces_scale: tuple[int, int] | None = (1, 7),
    csi_scale: tuple[int, int] = (1, 10),
    csi_weights: str | Mapping[str, float] = "stated",
    confidence: float = 0.95,
    base_suppress: float = _REPORTING.base_suppress,
    base_small: float = _REPORTING.base_small,
    adjustment: str = "holm",
    compare: str | None = "previous_quarter",
) -> pd.DataFrame:
    """Steps 2 and 3 of :func:`summarise` on sufficient statistics (e.g. merged partitions).

    ``stats`` is the output of :func:`sufficient_stats` or :func:`merge_stats`; the metrics
    present follow from its columns. Parameters and result as in :func:`summarise`.
    """
    z_value(confidence)  # validates the level
    keys = stats.index.to_frame(index=False) if stats.index.names != [None] else pd.DataFrame(
        index=range(len(stats)))
    blocks = estimate_blocks(stats, ces_scale=ces_scale, csi_scale=csi_scale,
                             csi_weights=csi_weights, confidence=confidence)
    return tidy_blocks(keys, blocks, base_suppress=base_suppress, base_small=base_small,
                       adjustment=adjustment, compare=compare)


def tidy_blocks(
    keys: pd.DataFrame,
    blocks: Sequence[tuple[str, Mapping[str, np.ndarray]]],
    *,
    base_suppress: float = _REPORTING.base_suppress,
    base_small: float = _REPORTING.base_small,
    adjustment: str = "holm",
    compare: str | None = "previous_quarter",
) -> pd.DataFrame:
    """The tidy table from estimates already computed for every group (step 3 of :func:`summarise`).

    For a statistic computed elsewhere from sufficient statistics (e.g. the comment themes of
    :mod:`vipquality.metrics.themes`) to get exactly the same base flags, degenerate-group
    rule, change against the previous quarter and Holm/BH adjustment as the other metrics.

    Parameters
    ----------
    keys : DataFrame
        One row per group: the grouping columns (``quarter`` among them for the change).
    blocks : sequence of (metric, mapping)
        One block per metric, in the order the rows should sort in; each mapping holds arrays
        aligned with ``keys``: ``value``, ``n`` and optionally ``ci_low``, ``ci_high``, ``se``,
        and ``_p``, ``_d`` (shares on 0–1 of the +1 and −1 scores: the change of such a metric
        is tested with the SE pooled under "no change", :func:`~vipquality.metrics.intervals.
        nps_pooled_se`; a share with ``_d`` = 0 gets the pooled two-proportion test).
        Groups with ``n`` = 0 have no row.
    base_suppress, base_small, adjustment, compare
        As in :func:`summarise`.

    Returns
    -------
    DataFrame
        The grouping columns, then :data:`RESULT_COLUMNS`.

    Examples
    --------
    >>> keys = pd.DataFrame({"quarter": ["2025Q1", "2025Q2"], "segment": "A"})
    >>> t = tidy_blocks(keys, [("x", {"value": np.array([10.0, 30.0]), "se": np.array([4.0, 3.0]),
    ...                                "n": np.array([40.0, 200.0])})])
    >>> t[["quarter", "value", "base_flag", "change", "change_se"]]
      quarter  value base_flag  change  change_se
    0  2025Q1   10.0     small     NaN        NaN
    1  2025Q2   30.0        ok    20.0        5.0
    """
    if adjustment not in ("holm", "bh"):
        raise ValueError(f"adjustment must be one of 'holm', 'bh', got {adjustment!r}")
    if compare not in ("previous_quarter", None):
        raise ValueError(f"compare must be 'previous_quarter' or None, got {compare!r}")
    if not base_suppress <= base_small:
        raise ValueError(f"base_suppress ({base_suppress}) must not exceed base_small "
                         f"({base_small})")
    by = list(keys.columns)
    table = _rows(keys, blocks)
    table["base_flag"] = np.where(table["n"] < base_suppress, "suppressed",
                                  np.where(table["n"] < base_small, "small", "ok"))
    table = _compare(table, by, adjustment=adjustment,
                     enabled=compare == "previous_quarter" and "quarter" in by)
    table = table.sort_values([*by, "_order"], kind="mergesort", ignore_index=True)
    return table[[*by, *RESULT_COLUMNS]]


# --- step 2: estimates ------------------------------------------------------------------------

def estimate_blocks(stats: pd.DataFrame, *, ces_scale: tuple[int, int] | None = (1, 7),
                    csi_scale: tuple[int, int] = (1, 10),
                    csi_weights: str | Mapping[str, float] = "stated",
                    confidence: float = 0.95) -> list[tuple[str, dict]]:
    """Step 2 of :func:`summarise`: one block per metric present in ``stats``, each computed for
    all groups with array arithmetic; :func:`tidy_blocks` turns blocks into the tidy table.

    Each block is ``(metric, {"value", "ci_low", "ci_high", "se", "n"[, "_p", "_d"]})`` with
    arrays aligned with the rows of ``stats``. Parameters as in :func:`summarise_stats`.

    Examples
    --------
    >>> r = pd.DataFrame({"quarter": "2025Q1", "nps": [10, 9, 7, 3]})
    >>> st = sufficient_stats(r, by=["quarter"], ces_scale=None)
    >>> [(m, b["value"].tolist()) for m, b in estimate_blocks(st)]
    [('nps', [25.0])]
    """
    cols = set(stats.columns)
    col = {c: stats[c].to_numpy(dtype=float) for c in stats.columns}
    attributes = [c.split(":", 1)[1] for c in stats.columns if c.startswith("sat_n:")]
    importance = [a for a in attributes if f"imp_n:{a}" in cols]
    blocks: list[tuple[str, dict]] = []

    if "nps_n" in cols:
        blocks.append(("nps", _nps(col, confidence)))
    if "ces_n" in cols:
        blocks += _ces(col, ces_scale, confidence)
    perf = {a: _mean_block(col[f"sat_n:{a}"], col[f"sat_sx:{a}"], col[f"sat_sx2:{a}"],
                           confidence, scale=csi_scale) for a in attributes}
    means = _importance_means(col, importance)
    shares = _shares(means)
    if attributes:
        blocks.append(("csi", _csi(col, attributes, importance, perf, means, csi_scale,
                                   csi_weights, confidence)))
    blocks += [(f"attr:{a}", perf[a]) for a in attributes]
    blocks += [(f"imp:{a}", {"value": 100 * shares[:, i], "n": col[f"imp_n:{a}"]})
               for i, a in enumerate(importance)]
    if "cmp_n" in cols:
        block = _mean_block(col["cmp_n"], col["cmp_sx"], col["cmp_sx2"], confidence)
        block["ci_low"], block["ci_high"] = bounded_mean_interval(
            col["cmp_n"], col["cmp_sx"], col["cmp_sx2"], confidence=confidence)
        blocks.append(("compliance", block))
    return blocks


def _rows(keys: pd.DataFrame, blocks) -> pd.DataFrame:
    """The blocks as rows (grouping columns, metric, estimates), groups without a base dropped."""
    frames = []
    for order, (metric, b) in enumerate(blocks):  # one iteration per metric, not per group
        nan = np.full(len(keys), np.nan)
        f = keys.copy()
        f["metric"] = metric
        for name in ("value", "ci_low", "ci_high", "se", "_p", "_d"):
            f[name] = np.asarray(b.get(name, nan), dtype=float)
        f["n"] = np.asarray(b["n"], dtype=float)
        # the design effect of the weights (Kish): answers ÷ effective base; 1 unweighted
        f["deff"] = np.asarray(b.get("deff", np.ones(len(keys))), dtype=float)
        # the one rule for degenerate groups: no interval under a base of 2, never zero width
        gone = degenerate(f["n"].to_numpy()) | ~(f["ci_high"] > f["ci_low"]).to_numpy()
        f.loc[gone, ["ci_low", "ci_high"]] = np.nan
        f["_order"] = order
        frames.append(f[f["n"] > 0])
    if not frames:
        return keys.head(0).assign(metric=pd.Series(dtype=str), value=np.nan, ci_low=np.nan,
                                   ci_high=np.nan, se=np.nan, _p=np.nan, _d=np.nan, n=np.nan,
                                   deff=np.nan, _order=0)
    return pd.concat(frames, ignore_index=True)


def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(a, b)


def _nps(col: dict, confidence: float) -> dict:
    n = kish_n(col["nps_sw"], col["nps_sw2"])
    p, d = _div(col["nps_swp"], col["nps_sw"]), _div(col["nps_swd"], col["nps_sw"])
    value, se = nps_from_counts(p * n, d * n, n)
    low, high = nps_adjusted_wald(p * n, d * n, n, confidence=confidence)
    return {"value": value, "ci_low": low, "ci_high": high, "se": se, "n": n, "_p": p, "_d": d,
            "deff": _div(col["nps_n"], n)}


def _weighted_mean_sd(n_eff, sw, swx, swx2):
    """Weighted mean and sd as in :func:`vipquality.metrics.ces.ces`: Σw(x − x̄)²/Σw · n/(n − 1)."""
    mean = _div(swx, sw)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.clip(_div(swx2 - swx * mean, sw), 0, None) * n_eff / (n_eff - 1)
        sd = np.where(n_eff > 1, np.sqrt(var), np.nan)
    return mean, sd


def _ces(col: dict, scale, confidence: float) -> list[tuple[str, dict]]:
    n = kish_n(col["ces_sw"], col["ces_sw2"])
    deff = _div(col["ces_n"], n)
    mean, sd = _weighted_mean_sd(n, col["ces_sw"], col["ces_swx"], col["ces_swx2"])
    lo, hi = scale
    scaled = _div(n, col["ces_sw"])  # weights scaled to sum to the Kish base, as in ces()
    low, high = bounded_mean_interval(n, col["ces_swx"] * scaled, col["ces_swx2"] * scaled,
                                      confidence=confidence, scale=(lo, hi))
    blocks = [("ces_mean", {"value": mean, "ci_low": low, "ci_high": high,
                            "se": _div(sd, np.sqrt(n)), "n": n, "deff": deff})]
    if (hi - lo) % 2 == 0:  # easy / neutral / difficult needs an odd number of points
        e, d = _div(col["ces_swe"], col["ces_sw"]), _div(col["ces_swd"], col["ces_sw"])
        w_lo, w_hi = wilson(e * n, n, confidence=confidence)
        with np.errstate(invalid="ignore"):
            se_e = 100 * np.sqrt(e * (1 - e) / n)
        blocks.append(("ces_easy", {"value": 100 * e, "ci_low": 100 * w_lo,
                                    "ci_high": 100 * w_hi, "se": se_e, "n": n, "deff": deff}))
        net, se_net = nps_from_counts(e * n, d * n, n)
        n_lo, n_hi = nps_adjusted_wald(e * n, d * n, n, confidence=confidence)
        blocks.append(("ces_net_easy", {"value": net, "ci_low": n_lo, "ci_high": n_hi,
                                        "se": se_net, "n": n, "_p": e, "_d": d,
                                        "deff": deff}))
    return blocks


def _mean_block(n, sx, sx2, confidence: float, scale=None) -> dict:
    """Mean with a t-interval from n, Σx, Σx²; rescaled to 0–100 when ``scale`` is given."""
    mean, sd = _weighted_mean_sd(n, n, sx, sx2)
    low, high = t_interval(mean, sd, n, confidence=confidence)
    se = _div(sd, np.sqrt(n))
    if scale is None:
        return {"value": mean, "ci_low": low, "ci_high": high, "se": se, "n": n}
    lo, hi = scale
    k = 100 / (hi - lo)
    return {"value": k * (mean - lo), "ci_low": np.clip(k * (low - lo), 0, 100),
            "ci_high": np.clip(k * (high - lo), 0, 100), "se": k * se, "n": n}


def _importance_means(col: dict, importance: list[str]) -> np.ndarray:
    """Mean importance rating of each attribute (G × k)."""
    if not importance:
        return np.empty((len(next(iter(col.values()), ())), 0))
    return np.column_stack([_div(col[f"imp_sx:{a}"], col[f"imp_n:{a}"]) for a in importance])


def _shares(means: np.ndarray) -> np.ndarray:
    """Stated weight shares: each mean over the sum of the available means (G × k)."""
    return _div(means, np.nansum(means, axis=1, keepdims=True))


def _raw_csi_weights(csi_weights, attributes, importance, means, groups: int) -> np.ndarray:
    """Unnormalised weights (G × k) as :func:`vipquality.metrics.csi.csi` takes them; NaN = none."""
    k = len(attributes)
    if isinstance(csi_weights, Mapping):
        given = {str(key): val for key, val in csi_weights.items()}
        missing = [a for a in attributes if a not in given]
        extra = [key for key in given if key not in attributes]
        if missing or extra:
            raise DataError("fixed CSI weights must name every attribute exactly once"
                            + (f"; missing {missing}" if missing else "")
                            + (f"; unknown {extra}" if extra else ""))
        w = np.array([given[a] for a in attributes], dtype=float)
        if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
            raise DataError(f"fixed CSI weights must be numbers ≥ 0 with a positive sum, "
                            f"got {given}")
        return np.broadcast_to(w / w.sum(), (groups, k))
    if csi_weights == "equal":
        return np.full((groups, k), 1 / k)
    if csi_weights == "stated":
        if importance != attributes:
            missing = [a for a in attributes if a not in importance]
            raise DataError(f"stated CSI weights need importance ratings (imp__<id>) of every "
                            f"attribute; missing for {missing}")
        return means
    raise ValueError(f"csi_weights must be 'stated', 'equal' or a mapping of attribute to "
                     f"weight, got {csi_weights!r} ('derived' weights need a regression per "
                     f"group: use vipquality.metrics.drivers, then pass them as a mapping)")


def _csi(col, attributes, importance, perf, means, scale, csi_weights, confidence) -> dict:
    """CSI = Σ w_i s_i with a delta-method variance (weights fixed), for all groups at once.

    As in :func:`vipquality.metrics.csi.csi`, an attribute without a performance or a weight in a
    group is left out and the other weights are renormalised to sum to 1.
    """
    k = len(attributes)
    groups = len(col[f"sat_n:{attributes[0]}"])
    raw = _raw_csi_weights(csi_weights, attributes, importance, means, groups)
    s = np.column_stack([perf[a]["value"] for a in attributes])            # G × k, 0–100
    used = np.isfinite(s) & np.isfinite(raw)
    wu = np.where(used, raw, 0.0)
    total = wu.sum(axis=1)
    value = _div((wu * np.where(used, s, 0.0)).sum(axis=1), np.where(total > 0, total, np.nan))
    w = _div(wu, np.where(total > 0, total, np.nan)[:, None])

    # covariance matrix of the attribute means, G × k × k, on the 0–100 scale
    lo, hi = scale
    factor = (100 / (hi - lo)) ** 2
    n_i = np.column_stack([col[f"sat_n:{a}"] for a in attributes])
    se_i = np.column_stack([perf[a]["se"] for a in attributes])          # already 0–100
    cov = np.zeros((groups, k, k))
    cov[:, np.arange(k), np.arange(k)] = np.where(used, se_i, 0.0) ** 2
    for i, j in zip(*np.triu_indices(k, 1)):    # attribute pairs, never groups
        a, b = attributes[i], attributes[j]
        n_ab = col[f"pair_n:{a}:{b}"]
        sxy, sx, sy = (col[f"pair_{t}:{a}:{b}"] for t in ("sxy", "sx", "sy"))
        with np.errstate(divide="ignore", invalid="ignore"):
            c = (sxy - sx * sy / n_ab) / (n_ab - 1) * n_ab / (n_i[:, i] * n_i[:, j])
        cov[:, i, j] = cov[:, j, i] = np.where(n_ab > 1, c, 0.0) * factor
    var = np.einsum("gi,gij,gj->g", np.nan_to_num(w), cov, np.nan_to_num(w))
    undefined = (used & np.isnan(se_i)).any(axis=1) | np.isnan(value)
    se = np.where(undefined, np.nan, np.sqrt(np.clip(var, 0, None)))
    margin = z_value(confidence) * se
    return {"value": value, "ci_low": np.clip(value - margin, 0, 100),
            "ci_high": np.clip(value + margin, 0, 100), "se": se, "n": col["csi_n"]}


# --- step 3: change against the previous quarter, multiplicity adjustment ----------------------

def _previous_quarter(quarters: pd.Series) -> np.ndarray:
    """The quarter before each one (``"2025Q1"`` → ``"2024Q4"``), as an array of str.

    A table has a handful of distinct quarters over tens of thousands of rows: they are
    parsed once each (a regex per distinct value), then spread back by their codes.
    """
    codes, uniques = pd.factorize(pd.Series(quarters).astype(str), sort=False,
                                  use_na_sentinel=False)
    prev = []
    for value in uniques:
        match = _QUARTER.match(value) if isinstance(value, str) else None
        if match is None:
            raise DataError("quarter must look like YYYYQn", column="quarter", value=value)
        year, q = int(match.group(1)), int(match.group(2))
        prev.append(f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}")
    return np.asarray(prev, dtype=str)[codes]


def _compare(table: pd.DataFrame, by: list[str], *, adjustment: str,
             enabled: bool) -> pd.DataFrame:
    for c in ("prev_value", "change", "change_se", "p_value", "p_adjusted"):
        table[c] = np.nan
    table["significant"] = False
    if not enabled or table.empty:
        return table
    others = [c for c in by if c != "quarter"]
    table["_prev_quarter"] = _previous_quarter(table["quarter"])
    prev = table[[*others, "quarter", "metric", "value", "se", "base_flag", "n", "_p",
                  "_d"]].rename(columns={"quarter": "_prev_quarter", "value": "_pv", "se": "_pse",
                                         "base_flag": "_pflag", "n": "_pn", "_p": "_pp",
                                         "_d": "_pd"})
    merged = table.merge(prev, on=[*others, "_prev_quarter", "metric"], how="left",
                         validate="many_to_one")
    shown_prev = merged["_pflag"].notna() & (merged["_pflag"] != "suppressed")
    both = shown_prev & (merged["base_flag"] != "suppressed")
    merged["prev_value"] = np.where(shown_prev, merged["_pv"], np.nan)
    change = np.where(both, merged["value"] - merged["_pv"], np.nan)
    # NPS and net easy (−1/0/+1 scores): the pooled, score-type SE under "no change"
    # (nps_difference); the Wald √(se² + se_prev²) rejected ~6 % at n = 30 with no change
    pooled = nps_pooled_se(merged["_p"], merged["_d"], merged["n"], merged["_pp"],
                           merged["_pd"], merged["_pn"])
    unpooled = np.hypot(merged["se"], merged["_pse"])
    change_se = np.where(both, np.where(np.isfinite(pooled), pooled, unpooled), np.nan)
    z = _div(change, change_se)
    merged["change"], merged["change_se"] = change, change_se
    merged["p_value"] = np.where(np.isnan(z), np.nan, 2 * sps.norm.sf(np.abs(z)))
    merged["p_adjusted"] = adjust_p(merged["p_value"], merged[["quarter", "metric"]],
                                    method=adjustment)
    merged["significant"] = (merged["p_adjusted"] < 0.05).to_numpy()
    return merged.drop(columns=["_prev_quarter", "_pv", "_pse", "_pflag", "_pn", "_pp", "_pd"])


def adjust_p(p_values: pd.Series | np.ndarray, families: pd.DataFrame | None = None,
             method: str = "holm") -> np.ndarray:
    """Holm or Benjamini–Hochberg adjusted p-values within families, without a loop.

    Parameters
    ----------
    p_values : array-like
        Raw p-values; NaN ones are not tests (they stay NaN and do not count in a family).
    families : DataFrame, optional
        One row per p-value; rows with equal values form one family (e.g. quarter × metric).
        All p-values form one family when omitted.
    method : {"holm", "bh"}

    Returns
    -------
    ndarray
        Adjusted p-values, equal to ``statsmodels.stats.multitest.multipletests(p,
        method="holm" | "fdr_bh")[1]`` applied to each family.

    Notes
    -----
    With the m p-values of a family sorted, p₍₁₎ ≤ … ≤ p₍ₘ₎: Holm gives
    max_{i ≤ j} min(1, (m − i + 1) p₍ᵢ₎); BH gives min_{i ≥ j} min(1, m p₍ᵢ₎ / i).

    Examples
    --------
    >>> adjust_p([0.01, 0.04, 0.03, np.nan]).round(4).tolist()
    [0.03, 0.06, 0.06, nan]
    >>> adjust_p([0.01, 0.04, 0.03], method="bh").round(4).tolist()
    [0.03, 0.04, 0.04]
    """
    if method not in ("holm", "bh"):
        raise ValueError(f"method must be one of 'holm', 'bh', got {method!r}")
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    tested = ~np.isnan(p)
    if not tested.any():
        return out
    if families is None or families.shape[1] == 0:
        fam = np.zeros(p.size, dtype=np.int64)
    else:
        fam = families.groupby(list(families.columns), sort=False, dropna=False).ngroup()
        fam = fam.to_numpy()
    idx = np.flatnonzero(tested)
    order = idx[np.lexsort((p[idx], fam[idx]))]
    f, ps = fam[order], p[order]
    frame = pd.DataFrame({"f": f})
    rank = frame.groupby("f").cumcount().to_numpy() + 1
    m = frame.groupby("f")["f"].transform("size").to_numpy()
    if method == "holm":
        raw = np.minimum(1.0, (m - rank + 1) * ps)
        adj = pd.Series(raw).groupby(f).cummax().to_numpy()
    else:
        raw = np.minimum(1.0, ps * m / rank)
        adj = pd.Series(raw[::-1]).groupby(f[::-1]).cummin().to_numpy()[::-1]
    out[order] = adj
    return out


# --- executive outputs -------------------------------------------------------------------------

def redact(table: pd.DataFrame, families: Mapping[str, Mapping[str, str] | None] | None = None,
           *, by: Sequence[str] | None = None, hide: np.ndarray | None = None) -> pd.DataFrame:
    """A copy of a tidy table with value, interval and change blanked on suppressed rows, and, with
    ``families``, on the rows that would reveal them by difference (complementary suppression).

    ``n`` and ``base_flag`` stay, so a report can show "n<30". ``significant`` becomes False.
    The column :data:`REASON_COLUMN` (``suppressed_reason``) says why a row is blank:
    ``"small_base"`` (primary), ``"complement"`` (complementary) or ``""`` (shown).

    Parameters
    ----------
    table : DataFrame
        Tidy rows (grouping columns, then :data:`RESULT_COLUMNS`; ``metric`` may be absent).
    families : mapping, optional
        Grouping columns whose groups are published side by side, each mapped to the family of
        each of its values (``{"segment": {"premium": "tier", "luxury": "tier", ...}}``: rows of
        one family are *siblings*) or to ``None`` (every value is a sibling of every other, e.g.
        ``{"branch": None}``). Values missing from a mapping are nobody's sibling.
    by : sequence of str, optional
        The grouping columns (default: every column not in :data:`RESULT_COLUMNS`).
    hide : array of bool, optional
        Rows to hide as complements chosen elsewhere (the cross-table audit of
        :func:`vipquality.report.executive.executive_table`, which sees every table published
        together); they count as hidden before the ``families`` rule runs.

    Notes
    -----
    Primary suppression blanks every row flagged ``suppressed`` (n under the base threshold).

    Complementary suppression: siblings are rows equal in every other grouping column and in
    ``metric`` whose values in the ``families`` column belong to one family. When the family
    partitions a published total (the tiers partition all clients, branches partition a
    segment), the total minus the shown siblings would give a lone suppressed sibling's value
    (for NPS, shares and means exactly, through ``n``). So whenever exactly one sibling with a
    base (``n > 0``) is hidden, the shown sibling with the smallest ``n`` is hidden too (ties:
    the first value in sort order); this is repeated over every ``families`` column until every
    sibling set has no hidden row or at least two, which leaves only sums of two or more hidden
    groups derivable. It is applied to every family given, whether or not it covers a published
    total, so it may hide one group more than strictly needed. A row hidden this way keeps its
    ``base_flag`` (``ok``/``small``) and ``n``; the next quarter's row of the same group loses
    ``prev_value`` and the change columns (they would give the hidden value back). Not covered
    here: sums over groups of different tables, or that nest in other ways (a segment × branch
    cell against the segment's total, all − premium = luxury + private in one branch), and
    quarters outside ``table``: :func:`vipquality.report.executive.executive_table` audits the
    tables published together (:func:`vipquality.metrics.disclosure.protect`) and passes the
    cells it adds as ``hide``.

    Examples
    --------
    >>> t = pd.DataFrame({"metric": ["nps", "nps"], "value": [12.0, 40.0], "ci_low": 1.0,
    ...                   "ci_high": 50.0, "se": 5.0, "n": [20.0, 200.0],
    ...                   "base_flag": ["suppressed", "ok"], "prev_value": 1.0, "change": 1.0,
    ...                   "change_se": 1.0, "p_value": 0.5, "p_adjusted": 0.5,
    ...                   "significant": False})
    >>> redact(t)[["value", "n", "base_flag"]].to_dict("list")
    {'value': [nan, 40.0], 'n': [20.0, 200.0], 'base_flag': ['suppressed', 'ok']}
    >>> tiers = t.assign(segment=["private", "premium"])
    >>> redact(tiers, {"segment": {"private": "tier", "premium": "tier"}})[
    ...     ["value", "suppressed_reason"]].to_dict("list")
    {'value': [nan, nan], 'suppressed_reason': ['small_base', 'complement']}
    """
    out = table.copy()
    hidden = (out["base_flag"] == "suppressed").to_numpy(dtype=bool)
    reason = np.where(hidden, "small_base", "")
    keys = list(by) if by is not None else [c for c in out.columns
                                            if c not in RESULT_COLUMNS and c != REASON_COLUMN]
    extra = (np.zeros(len(out), dtype=bool) if hide is None
             else np.asarray(hide, dtype=bool) & ~hidden)
    if families and len(out):
        extra = extra | _complementary(out, hidden | extra, families, keys)
    if extra.any():
        hidden = hidden | extra
        reason = np.where(extra, "complement", reason)
        _blank_next_quarter(out, extra, keys)
    if REASON_COLUMN in out.columns:  # redacted before: keep the first reason given
        reason = np.where(out[REASON_COLUMN].fillna("").astype(str) != "",
                          out[REASON_COLUMN].fillna("").astype(str), reason)
    out[REASON_COLUMN] = reason
    for c in _BLANKED:
        if c in out.columns:
            out[c] = out[c].astype(float).where(~hidden)
    if "significant" in out.columns:
        out["significant"] = out["significant"].astype(bool) & ~hidden
    return out


def _complementary(table: pd.DataFrame, primary: np.ndarray,
                   families: Mapping[str, Mapping[str, str] | None], keys: list[str]) -> np.ndarray:
    """Rows to hide so that no sibling set has exactly one hidden row (see :func:`redact`)."""
    n = pd.to_numeric(table["n"], errors="coerce").fillna(0).to_numpy(dtype=float)
    has_value = table["value"].notna().to_numpy() if "value" in table.columns else \
        np.ones(len(table), dtype=bool)
    extra = np.zeros(len(table), dtype=bool)
    sets = []  # index arrays of sibling sets, each with the order to pick a complement in
    for column, mapping in families.items():
        if column not in table.columns:
            continue
        values = table[column].astype(str)
        family = values.map(mapping) if mapping is not None else pd.Series("*", table.index)
        frame = pd.DataFrame({"_family": family.to_numpy(), "_value": values.to_numpy(),
                              "_i": np.arange(len(table))})
        others = [k for k in keys if k != column and k in table.columns]
        others += ["metric"] if "metric" in table.columns and "metric" not in others else []
        for k in others:
            frame[k] = table[k].astype(str).to_numpy()
        frame = frame[frame["_family"].notna()]
        rows, names = frame["_i"].to_numpy(), frame["_value"].to_numpy()
        # positions of each sibling set, in the order the sets first appear
        found = frame.groupby([*others, "_family"], sort=False).indices.values()
        for ix in sorted((ix for ix in found if len(ix) > 1), key=lambda ix: ix[0]):
            sets.append((rows[ix], names[ix]))
    changed = True
    while changed:
        changed = False
        for idx, names in sets:
            gone = primary[idx] | extra[idx]
            if int((gone & (n[idx] > 0)).sum()) != 1:
                continue
            candidates = np.flatnonzero(~gone & has_value[idx])
            if not len(candidates):
                continue
            order = np.lexsort((names[candidates], n[idx][candidates]))
            extra[idx[candidates[order[0]]]] = True
            changed = True
    return extra & ~primary


def _blank_next_quarter(table: pd.DataFrame, extra: np.ndarray, keys: list[str]) -> None:
    """Blank prev_value and the change columns of the rows whose previous quarter is hidden by
    complementary suppression (in place)."""
    if "quarter" not in table.columns or not table["quarter"].astype(str).str.fullmatch(
            _QUARTER).all():
        return
    others = [k for k in keys if k != "quarter" and k in table.columns]
    others += ["metric"] if "metric" in table.columns and "metric" not in others else []
    ident = pd.Series("", index=table.index)
    for k in others:  # column by column: a row-wise join is slow on large tables
        ident = ident + table[k].astype(str) + "\x1f"
    gone = set(zip(ident[extra], table["quarter"].astype(str)[extra]))
    prev = _previous_quarter(table["quarter"].astype(str))
    hit = np.array([(i, q) in gone for i, q in zip(ident, prev)], dtype=bool)
    for c in ("prev_value", "change", "change_se", "p_value", "p_adjusted"):
        if c in table.columns:
            table[c] = table[c].astype(float).where(~hit)
    if "significant" in table.columns:
        table["significant"] = table["significant"].astype(bool) & ~hit


# --- from the workspace --------------------------------------------------------------------------

