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
    "wilson",
    "t_interval",
    "kish_n",
]


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


def wilson(successes, n, confidence: float = 0.95):
    """Wilson score interval for a proportion, returned on the 0–1 scale.

    Examples
    --------
    >>> lo, hi = wilson(8, 10)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.4902, 0.9433)
    """
    x, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    z = z_value(confidence)
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
