"""Vectorised interval formulas shared by the single-group metrics and :func:`summarise`.

Every function takes scalars or numpy arrays (one element per group) and returns arrays, so
``summarise`` can compute all groups in one pass from sufficient statistics. The formulas are
those of ``shared/spec/metrics.md``; they are written out here (rather than taken from
statsmodels) because they must run on aggregated counts and sums for millions of groups at once,
and the NPS adjusted-Wald interval is not in any maintained Python package.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "z_value",
    "nps_from_counts",
    "nps_adjusted_wald",
    "nps_pooled_se",
    "wilson",
    "t_interval",
    "bounded_mean_interval",
    "clustered_share",
    "kish_n",
    "degenerate",
    "DEGENERATE_BASE",
    "NO_VARIANCE",
]

#: ``details["interval"]`` of an estimate whose base is under 2 (the one rule for every metric).
DEGENERATE_BASE = "no interval: fewer than 2 observations (a single answer says nothing of its spread)"
#: ``details["interval"]`` of an estimate whose observations are all equal (t-interval, bootstrap).
NO_VARIANCE = "no interval: every observation is the same, so the data give no spread to measure"



def z_value(confidence: float = 0.95) -> float:
    """Two-sided normal quantile, e.g. 1.959964 for 0.95."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def nps_from_counts(promoters, detractors, n):
    """NPS (−100…100) and its standard error from (possibly weighted) counts.

    SE = 100·sqrt(v/n) with v = (p + d) − (p − d)² (Rocks 2016). ``n`` may be the Kish
    effective base while promoters/detractors are weighted totals scaled to it.

    Examples
    --------
    >>> nps, se = nps_from_counts(50, 20, 100)
    >>> round(float(nps), 6), round(float(se), 6)
    (30.0, 7.81025)
    """
    promoters, detractors, n = (np.asarray(a, dtype=float) for a in (promoters, detractors, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        p, d = promoters / n, detractors / n
        v = (p + d) - (p - d) ** 2
        return 100 * (p - d), 100 * np.sqrt(v / n)


def nps_adjusted_wald(promoters, detractors, n, confidence: float = 0.95):
    """Adjusted-Wald interval for NPS (Rocks 2016): add 3/4, 3/4 and 3/2 pseudo-counts.

    Returns ``(low, high)`` clipped to [−100, 100]; NaN where ``n`` is 0.

    Examples
    --------
    >>> lo, hi = nps_adjusted_wald(50, 20, 100)
    >>> round(float(lo), 4), round(float(hi), 4)
    (14.0511, 44.2013)
    """
    promoters, detractors, n = (np.asarray(a, dtype=float) for a in (promoters, detractors, n))
    z = z_value(confidence)
    n_adj = n + 3
    p, d = (promoters + 0.75) / n_adj, (detractors + 0.75) / n_adj
    v = (p + d) - (p - d) ** 2
    centre = 100 * (p - d)
    half = z * 100 * np.sqrt(v / n_adj)
    lo = np.clip(centre - half, -100, 100)
    hi = np.clip(centre + half, -100, 100)
    empty = ~(n > 0)
    return np.where(empty, np.nan, lo), np.where(empty, np.nan, hi)


def nps_pooled_se(p_a, d_a, n_a, p_b, d_b, n_b):
    """Standard error of NPS_a − NPS_b under "no change", from the pooled shares (0–1 scale).

    v₀ = (p + d) − (p − d)² with p, d the shares of both groups together; SE₀ =
    100·sqrt(v₀·(1/n_a + 1/n_b)). The score-type test z = Δ/SE₀ keeps its false-alarm rate at
    the nominal level from n = 30 per group (the unpooled Wald SE rejects about 6 % of the time
    there; see ``docs/validation.md``).

    Examples
    --------
    >>> round(float(nps_pooled_se(0.5, 0.2, 100, 0.4, 0.3, 100)), 4)
    11.4891
    """
    p_a, d_a, n_a, p_b, d_b, n_b = (np.asarray(a, dtype=float)
                                    for a in (p_a, d_a, n_a, p_b, d_b, n_b))
    with np.errstate(invalid="ignore", divide="ignore"):
        total = n_a + n_b
        p, d = (n_a * p_a + n_b * p_b) / total, (n_a * d_a + n_b * d_b) / total
        v = (p + d) - (p - d) ** 2
        return 100 * np.sqrt(v * (1 / n_a + 1 / n_b))


def wilson(successes, n, confidence: float = 0.95, df=None):
    """Wilson score interval for a proportion, returned on the 0–1 scale.

    ``df`` (optional, per group) replaces the normal quantile by Student's t with ``df``
    degrees of freedom, as for a share whose variance is estimated from ``df + 1`` clusters
    (Korn & Graubard 1998); NaN where ``df < 1``.

    Examples
    --------
    >>> lo, hi = wilson(8, 10)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.4902, 0.9433)
    """
    x, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    z = z_value(confidence)
    if df is not None:
        df = np.asarray(df, dtype=float)
        z = stats.t.ppf(0.5 + confidence / 2, np.where(df >= 1, df, np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def t_interval(mean, sd, n, confidence: float = 0.95):
    """Student-t interval ``mean ± t(n−1)·sd/sqrt(n)``; NaN where ``n < 2``.

    Examples
    --------
    >>> lo, hi = t_interval(5.0, 1.0, 25)
    >>> round(float(lo), 4), round(float(hi), 4)
    (4.5872, 5.4128)
    """
    mean, sd, n = (np.asarray(a, dtype=float) for a in (mean, sd, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        df = np.where(n >= 2, n - 1, np.nan)
        t = stats.t.ppf(0.5 + confidence / 2, df)
        half = t * sd / np.sqrt(n)
        return mean - half, mean + half


def bounded_mean_interval(n, sum_x, sum_x2, confidence: float = 0.95, scale=(0.0, 100.0)):
    """Interval for the mean of a bounded score (e.g. visit scores on 0–100 with mass at 0 and 100).

    One pseudo-observation is added at each end of the scale (n + 2 observations), the mean
    and its standard error are computed from the augmented sums, and a normal interval is built
    on the logit of the augmented mean, then mapped back and widened, if needed, to contain the
    raw mean. NaN where ``n < 2``.

    Why this interval (chosen by simulation, ``docs/validation.md``): the t-interval leaves the
    scale (30 visits with one critical failure reach 103.5 %) and, with rare critical failures,
    most small samples contain no zero-scored visit, so its coverage falls to 85–92 % at 30–100
    visits. The two pseudo-observations put the possibility of a 0 (and a 100) into every
    sample, and the logit keeps the interval inside the scale with the right asymmetry near
    100 %. Coverage 94.7–97.7 % over 10–100 visits, critical-failure rates of 0–15 % and visit
    effects; pseudo-counts of 2 (as Agresti–Coull) over-cover on the raw scale and under-cover
    on the logit one, a bootstrap over visits cannot see the zeros a sample lacks, and neither
    of them works from the mergeable sums :func:`~vipquality.metrics.summarise.summarise` has.

    Parameters
    ----------
    n, sum_x, sum_x2 : array-like
        Observations, Σx and Σx² per group (x on ``scale``).
    confidence : float, default 0.95
    scale : (low, high), default (0, 100)

    Returns
    -------
    (low, high) : arrays on ``scale``

    Examples
    --------
    30 visits, one of them scored 0 (critical failure), the others 100: mean 96.7, interval
    inside the scale (the t-interval gives 89.8–103.5).

    >>> lo, hi = bounded_mean_interval(30, 29 * 100.0, 29 * 100.0**2)
    >>> round(float(lo), 2), round(float(hi), 2)
    (77.8, 98.47)
    """
    n, sx, sx2 = (np.asarray(a, dtype=float) for a in (n, sum_x, sum_x2))
    lo_s, hi_s = (float(b) for b in scale)
    width = hi_s - lo_s
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        # on 0–1: u = (x − lo)/width; Σu and Σu² from Σx and Σx²
        su = (sx - n * lo_s) / width
        su2 = (sx2 - 2 * lo_s * sx + n * lo_s**2) / width**2
        mean = su / n
        na = n + 2
        ma = (su + 1) / na
        var = np.clip((su2 + 1 - (su + 1) * ma) / (na - 1), 0, None)
        se_logit = np.sqrt(var / na) / (ma * (1 - ma))
        centre = np.log(ma / (1 - ma))
        low = 1 / (1 + np.exp(-(centre - z * se_logit)))
        high = 1 / (1 + np.exp(-(centre + z * se_logit)))
        low, high = np.minimum(low, mean), np.maximum(high, mean)
    ok = n >= 2
    return (np.where(ok, lo_s + width * low, np.nan), np.where(ok, lo_s + width * high, np.nan))


def clustered_share(clusters, sum_y, sum_n, sum_yy, sum_yn, sum_nn, sum_w2,
                    confidence: float = 0.95):
    """Share of checks passed with visits as clusters: ratio estimator, Wilson on n/deff.

    Each cluster v (a visit) contributes Y_v (weight of its checks answered yes) and N_v
    (weight of its applicable checks). p = ΣY/ΣN and its cluster-robust (linearised) variance is
    Var = m/(m − 1)·Σ_v (Y_v − p N_v)² / (ΣN)² over the m clusters, computed here from the
    mergeable sums ΣY², ΣYN, ΣN². The effective base is n_eff = p(1 − p)/Var (i.e. the Kish
    base of the check weights divided by the design effect), capped at the Kish base
    (Σw)²/Σw² (a design effect under 1 is not trusted) and, when Var is 0 (p is 0 or 1), taken as
    min(m, Kish base) (also the base shown for a single cluster). The interval is Wilson's on p·n_eff successes out of n_eff with the t
    quantile on m − 1 degrees of freedom (Korn & Graubard 1998); NaN with fewer than 2 clusters.

    Why: checks of one visit share the shopper, the branch, the manager and the day. A Wilson
    interval on the check count treats them as independent and covers about 83 % with a
    realistic visit effect; this one covers 94–97 % (``docs/validation.md``).

    Parameters
    ----------
    clusters : array-like
        m, clusters with an applicable check, per group.
    sum_y, sum_n, sum_yy, sum_yn, sum_nn : array-like
        ΣY_v, ΣN_v, ΣY_v², ΣY_vN_v, ΣN_v² over the clusters.
    sum_w2 : array-like
        Σw² over the applicable checks (equals ΣN with unit weights).
    confidence : float, default 0.95

    Returns
    -------
    dict of arrays
        ``value`` (p, 0–1), ``se`` (√(p(1 − p)/n_eff)), ``n_effective``, ``deff`` (Kish base /
        n_eff), ``ci_low``, ``ci_high`` (0–1).

    Examples
    --------
    Three visits of two checks each, answered 2/2, 2/2 and 0/2: p = 4/6, Σ(Y − pN)² = 8/3,
    Var = 3/2 · (8/3) / 36 = 1/9, n_eff = (2/9) / (1/9) = 2 (not the 6 checks), deff = 3.

    >>> r = clustered_share(3, 4.0, 6.0, 8.0, 8.0, 12.0, 6.0)
    >>> round(float(r["value"]), 4), round(float(r["n_effective"]), 4), round(float(r["deff"]), 4)
    (0.6667, 2.0, 3.0)
    """
    m, sy, sn, syy, syn, snn, sw2 = (np.asarray(a, dtype=float) for a in (
        clusters, sum_y, sum_n, sum_yy, sum_yn, sum_nn, sum_w2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(sn > 0, sy / sn, np.nan)
        resid = np.clip(syy - 2 * p * syn + p**2 * snn, 0, None)
        var = m / (m - 1) * resid / sn**2
        kish = np.where(sw2 > 0, sn**2 / sw2, 0.0)
        spread = p * (1 - p)
        tiny = 1e-12 * np.maximum(spread, 1e-12)
        usable = (m >= 2) & (var > tiny)  # a variance from ≥ 2 clusters that is not 0
        n_eff = np.where(usable, np.minimum(kish, spread / np.where(usable, var, 1.0)),
                         np.minimum(kish, m))
        low, high = wilson(p * n_eff, n_eff, confidence=confidence, df=m - 1)
        se = np.sqrt(spread / n_eff)
        ok = (m >= 2) & (sn > 0)
        deff = kish / n_eff
    nan = np.nan
    return {"value": p, "se": np.where(sn > 0, se, nan),
            "n_effective": np.where(sn > 0, n_eff, nan), "deff": np.where(sn > 0, deff, nan),
            "ci_low": np.where(ok, low, nan), "ci_high": np.where(ok, high, nan)}


def degenerate(n, sd=None):
    """Where an interval is not defined by the one rule for degenerate groups: base under 2, or
    (when ``sd`` is given, for t-intervals) no spread at all.

    Returns a boolean array; the metrics put NaN there and say why in ``details["interval"]``
    (:data:`DEGENERATE_BASE`, :data:`NO_VARIANCE`), never a zero-width interval.

    Examples
    --------
    >>> degenerate([1, 2, 30], [np.nan, 0.0, 1.5]).tolist()
    [True, True, False]
    """
    n = np.asarray(n, dtype=float)
    out = ~(n >= 2 - 1e-9)
    if sd is not None:
        out = out | ~(np.asarray(sd, dtype=float) > 0)
    return out


def kish_n(sum_w, sum_w2):
    """Kish effective base (Σw)²/Σw².

    Examples
    --------
    >>> float(kish_n(4.0, 4.0)), float(kish_n(4.0, 8.0))
    (4.0, 2.0)
    """
    sum_w, sum_w2 = np.asarray(sum_w, dtype=float), np.asarray(sum_w2, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sum_w2 > 0, sum_w**2 / sum_w2, 0.0)
