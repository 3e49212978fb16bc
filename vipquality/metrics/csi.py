"""Customer Satisfaction Index of one group (:func:`csi`) or of every group of a table
(:func:`csi_by_group`): weighted attribute performance, bootstrap interval."""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
import pandas as pd

from vipquality.errors import DataError
from vipquality.metrics.drivers import (
    _bootstrap_counts,
    _design,
    _johnson,
    _percentile_interval,
    relative_weights,
)
from vipquality.metrics.estimate import Estimate
from vipquality.metrics.intervals import DEGENERATE_BASE, NO_VARIANCE, z_value
from vipquality.metrics.nps import _scores_array

__all__ = ["csi", "csi_by_group"]


def csi(
    satisfaction: pd.DataFrame,
    importance: pd.DataFrame | None = None,
    weights: Literal["stated", "equal", "derived"] | Mapping[str, float] = "stated",
    scale: tuple[float, float] = (1, 10),
    outcome: pd.Series | None = None,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | np.random.SeedSequence = 0,
) -> Estimate:
    """Customer Satisfaction Index (0–100) with a percentile bootstrap interval.

    Parameters
    ----------
    satisfaction : DataFrame
        One column per attribute (column name = attribute id), one row per respondent,
        satisfaction ratings on ``scale``; NaN = not rated ("cannot judge" already mapped to NaN).
    importance : DataFrame, optional
        Importance ratings (≥ 0) with the same index and at least the same columns; required
        for ``weights="stated"``.
    weights : {"stated", "equal", "derived"} or mapping, default "stated"
        ``"stated"``: mean importance of each attribute, normalised; ``"equal"``: 1/k each;
        ``"derived"``: Johnson relative weights of the attributes on ``outcome``, normalised
        (see :func:`vipquality.metrics.drivers.relative_weights`); a mapping ``{attribute: number ≥ 0}``
        covering every attribute: fixed weights, normalised.
    scale : (lo, hi), default (1, 10)
        Satisfaction scale of the instrument.
    outcome : Series, optional
        Overall satisfaction or the NPS item, same index as ``satisfaction``; required for
        ``weights="derived"``.
    confidence : float, default 0.95
        Confidence level of the interval.
    n_boot : int, default 2000
        Bootstrap resamples of respondents; 0 = no interval.
    seed : int or numpy.random.SeedSequence, default 0
        Seed of the bootstrap: the same data and seed give the same interval.

    Returns
    -------
    Estimate
        ``metric="csi"``, ``method="bootstrap-percentile"`` (``"none"`` when ``n_boot=0``),
        ``n`` = respondents with at least one satisfaction rating, ``se`` = standard deviation
        of the bootstrap replicates. ``details``: ``attributes`` (DataFrame with ``attribute``,
        ``n``, ``mean``, ``performance``, ``weight``), ``weights`` (the rule used),
        ``unrated_attributes``, ``n_boot_failed``, for derived weights
        ``relative_weights`` (the drivers table) and, when the interval is NaN although
        resamples were asked for, ``interval`` (why: one respondent, or no spread at all —
        never a zero-width interval).

    Raises
    ------
    DataError
        Ratings off the scale or not numeric, misaligned importance/outcome, missing
        importance or outcome for the chosen weights, invalid fixed weights, or too few
        complete rows for derived weights.
    ValueError
        An unknown ``weights`` rule or invalid ``scale``, ``n_boot`` or ``confidence``.

    Notes
    -----
    Performance of attribute i, over the m_i respondents who rated it:

    .. math::

        s_i = 100\\,\\frac{\\bar x_i - lo}{hi - lo}, \\qquad
        \\mathrm{CSI} = \\sum_i w_i s_i, \\quad w_i \\ge 0, \\ \\sum_i w_i = 1

    - Only respondents with at least one satisfaction rating count (also for stated weights).
    - An attribute nobody in the group rated (or, for stated weights, nobody rated for
      importance) has no performance: it is left out and the other weights are renormalised to
      sum to 1; it is listed in ``details["unrated_attributes"]`` with weight 0. The same rule
      applies inside every resample, so the bootstrap describes the same estimator.
    - Derived weights use the respondents who rated every attribute and the outcome (listwise
      deletion) while each s_i uses everyone who rated attribute i.

    Interval: respondents are resampled with replacement ``n_boot`` times; in each resample the
    attribute means — and the weights when they are estimated from the data (stated, derived) —
    are recomputed, and the interval is the (α/2, 1 − α/2) percentiles of the replicate CSIs.
    All resamples are computed at once from a matrix of draw counts (resamples × respondents)
    with one matrix product (in float32 when that is exact: integer ratings and fewer than
    2**24 / (highest rating) respondents); derived weights use a batched eigen-decomposition,
    so there is no Python loop over resamples (only over memory-bounded blocks for very large
    groups).

    Examples
    --------
    >>> sat = pd.DataFrame({"speed": [10, 7, None], "respect": [9, 8, 10]})
    >>> est = csi(sat, weights="equal", n_boot=200)
    >>> round(est.value, 4), est.n
    (86.1111, 3.0)
    >>> est.details["attributes"].round(2)
      attribute  n  mean  performance  weight
    0     speed  2   8.5        83.33     0.5
    1   respect  3   9.0        88.89     0.5
    """
    if not isinstance(satisfaction, pd.DataFrame) or satisfaction.shape[1] == 0:
        raise DataError("satisfaction must be a DataFrame with one column per attribute")
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ValueError(f"n_boot must be an integer ≥ 0, got {n_boot!r}")
    z_value(confidence)
    lo, hi = _check_scale(scale)
    attributes = [str(c) for c in satisfaction.columns]
    if len(set(attributes)) != len(attributes):
        raise DataError("satisfaction has duplicate attribute columns")
    rule = weights if isinstance(weights, str) else "fixed"
    if isinstance(weights, str) and weights not in ("stated", "equal", "derived"):
        raise ValueError(
            f"weights must be 'stated', 'equal', 'derived' or a mapping, got {weights!r}"
        )

    S_all = _matrix(satisfaction, lo, hi, "satisfaction rating")
    kept = ~np.isnan(S_all).all(axis=1)
    S = S_all[kept]
    n, k = S.shape
    rated = ~np.isnan(S)
    S0 = np.where(rated, S, 0.0)
    R = rated.astype(float)

    details: dict = {"weights": rule}
    # resample sums come from one product of the count matrix with the columns below (b × n
    # @ n × 2k or 4k); derived weights also need the counts of the complete rows
    columns = [S0, R]
    boot_derived = None  # (b × n counts) -> (b × k) unnormalised weights
    if rule == "equal":
        w = np.full(k, 1.0 / k)
    elif rule == "fixed":
        w = _fixed_weights(weights, attributes)
    elif rule == "stated":
        imp = _importance(importance, satisfaction, attributes)[kept]
        imp_rated = ~np.isnan(imp)
        I0, RI = np.where(imp_rated, imp, 0.0), imp_rated.astype(float)
        w = _ratio(I0.sum(axis=0), RI.sum(axis=0))
        columns += [I0, RI]
    else:
        table, Zc, complete = _derived(satisfaction, outcome, kept)
        details["relative_weights"] = table
        w = table["raw_weight"].to_numpy()
        boot_derived = lambda C: _johnson(C[:, complete], Zc)  # noqa: E731

    count = rated.sum(axis=0)
    perf = 100 * (_ratio(S0.sum(axis=0), R.sum(axis=0)) - lo) / (hi - lo)
    value, used = _combine(perf[None, :], w[None, :])
    unrated = [a for a, u in zip(attributes, used[0]) if not u]
    w_used = np.where(used[0], w, 0.0)
    w_used = w_used / w_used.sum() if w_used.sum() > 0 else w_used * np.nan
    details["attributes"] = pd.DataFrame({
        "attribute": attributes,
        "n": count.astype(int),
        "mean": lo + perf * (hi - lo) / 100,
        "performance": perf,
        "weight": w_used,
    })
    details["unrated_attributes"] = unrated

    low = high = se = np.nan
    details["n_boot_failed"] = 0
    if n_boot and n > 0:
        rng = np.random.default_rng(seed)
        M = np.hstack(columns)
        dtype = _exact_dtype(M, n)
        M = M.astype(dtype)
        reps = []
        for C in _bootstrap_counts(rng, n, n_boot, dtype=dtype):
            P = (C @ M).astype(float)          # resample sums, one column per block × attribute
            perf_b = 100 * (_ratio(P[:, :k], P[:, k:2 * k]) - lo) / (hi - lo)
            if rule == "stated":
                w_b = _ratio(P[:, 2 * k:3 * k], P[:, 3 * k:])
            elif boot_derived is not None:
                w_b = boot_derived(C)
            else:
                w_b = np.broadcast_to(w, perf_b.shape)
            reps.append(_combine(perf_b, w_b)[0])
        reps = np.concatenate(reps)
        low, high = _percentile_interval(reps, confidence)
        finite = reps[np.isfinite(reps)]
        se = float(finite.std(ddof=1)) if finite.size > 1 else np.nan
        details["n_boot_failed"] = int(reps.size - finite.size)
    # the one rule for degenerate groups: no zero-width interval (one respondent, or every
    # resample giving the same index because all ratings are equal)
    if n_boot and n < 2:
        low = high = np.nan
        details["interval"] = DEGENERATE_BASE
    elif n_boot and n > 0 and not (high > low):
        low = high = np.nan
        details["interval"] = NO_VARIANCE
    return Estimate(
        value=float(value[0]), ci_low=float(low), ci_high=float(high), n=float(n), se=se,
        metric="csi", method="bootstrap-percentile" if n_boot else "none",
        confidence=confidence, details=details,
    )


def csi_by_group(
    satisfaction: pd.DataFrame,
    groups: pd.Series | np.ndarray,
    importance: pd.DataFrame | None = None,
    weights: Literal["stated", "equal", "derived"] | Mapping[str, float] = "stated",
    scale: tuple[float, float] = (1, 10),
    outcome: pd.Series | None = None,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    workers: int | None = None,
) -> dict[Hashable, Estimate]:
    """:func:`csi` with its bootstrap interval for every group (e.g. segment) of one table.

    Parameters
    ----------
    satisfaction, importance, outcome
        As for :func:`csi`, for all groups together (same index).
    groups : Series or array
        The group of each row (same length as ``satisfaction``); rows whose group is missing
        are left out.
    weights, scale, confidence, n_boot
        As for :func:`csi`, applied within each group.
    seed : int, default 0
        One seed for the whole call: group i (in sorted group order) gets the i-th child of
        ``numpy.random.SeedSequence(seed)``, so the result does not depend on ``workers``
        or on the order the groups finish in, and each group equals
        ``csi(<its rows>, …, seed=numpy.random.SeedSequence(seed).spawn(G)[i])``.
    workers : int, optional
        Threads computing groups side by side (default: the CPUs available, at most the
        number of groups). The draws and the count-matrix products run in numpy without the
        GIL, so threads use several cores without copying the data into processes.

    Returns
    -------
    dict
        Group value → :class:`~vipquality.metrics.estimate.Estimate`, in sorted group order.

    Raises
    ------
    DataError
        As :func:`csi`, or when ``groups`` does not have one value per row.

    Examples
    --------
    >>> sat = pd.DataFrame({"speed": [10, 7, 8, 6], "respect": [9, 8, 10, 5]})
    >>> est = csi_by_group(sat, pd.Series(["a", "a", "b", "b"]), weights="equal", n_boot=50)
    >>> {g: round(e.value, 2) for g, e in est.items()}
    {'a': 83.33, 'b': 69.44}
    """
    if not isinstance(satisfaction, pd.DataFrame):
        raise DataError("satisfaction must be a DataFrame with one column per attribute")
    keys = pd.Series(np.asarray(groups, dtype=object) if not isinstance(groups, pd.Series)
                     else groups.to_numpy(dtype=object))
    if len(keys) != len(satisfaction):
        raise DataError(f"groups must give one value per row: {len(keys)} values for "
                        f"{len(satisfaction)} rows")
    present = keys.notna().to_numpy()
    codes, uniques = pd.factorize(keys[present], sort=True)
    rows = np.flatnonzero(present)
    members = [rows[codes == g] for g in range(len(uniques))]
    children = np.random.SeedSequence(seed).spawn(len(uniques))

    def one(g: int) -> Estimate:
        take = members[g]
        return csi(satisfaction.iloc[take],
                   None if importance is None else importance.iloc[take],
                   weights=weights, scale=scale,
                   outcome=None if outcome is None else outcome.iloc[take],
                   confidence=confidence, n_boot=n_boot, seed=children[g])

    if workers is None:
        workers = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                   else os.cpu_count() or 1)
    n_workers = min(len(uniques), max(1, int(workers)))
    if n_workers <= 1:
        results = [one(g) for g in range(len(uniques))]
    else:
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            results = list(pool.map(one, range(len(uniques))))
    return dict(zip(uniques.tolist(), results))


def _exact_dtype(M: np.ndarray, n: int) -> type:
    """float32 when every resample sum of ``M`` is exact in it, else float64.

    A resample sum is Σ c_i m_i with counts c_i summing to n; with integer m_i every partial
    sum is an integer of magnitude ≤ n·max|m|, exact in float32 below 2**24 (ratings of
    a few thousand respondents). float32 halves the memory the count matrix and its product
    move, and gives the same bits as float64 here; non-integer ratings keep float64.
    """
    if M.size == 0:
        return np.float64
    top = float(np.abs(M).max())
    if n * top < 2**24 and bool((M == np.round(M)).all()):
        return np.float32
    return np.float64


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _combine(perf: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ w·s / Σ w over the attributes with a performance and a weight (rows = resamples)."""
    used = np.isfinite(perf) & np.isfinite(w)
    wu = np.where(used, w, 0.0)
    total = wu.sum(axis=1)
    return _ratio((wu * np.where(used, perf, 0.0)).sum(axis=1), total), used


def _check_scale(scale: tuple[float, float]) -> tuple[float, float]:
    try:
        lo, hi = (float(b) for b in scale)
    except (TypeError, ValueError):
        raise ValueError(f"scale must be a pair (low, high), got {scale!r}") from None
    if not lo < hi:
        raise ValueError(f"scale must have low < high, got {scale!r}")
    return lo, hi


def _matrix(frame: pd.DataFrame, lo: float, hi: float, what: str) -> np.ndarray:
    """Columns of ratings as a float matrix, each checked (numeric, within [lo, hi])."""
    cols = []
    for c in frame.columns:
        col = frame[c]
        col = col.rename(str(c))
        cols.append(_scores_array(col, lo, hi, what=what, integer=False)[0])
    return np.column_stack(cols) if cols else np.empty((len(frame), 0))


def _fixed_weights(weights: Mapping[str, float], attributes: list[str]) -> np.ndarray:
    given = {str(key): val for key, val in weights.items()}
    missing = [a for a in attributes if a not in given]
    extra = [key for key in given if key not in attributes]
    if missing or extra:
        raise DataError(
            "fixed CSI weights must name every attribute exactly once"
            + (f"; missing {missing}" if missing else "") + (f"; unknown {extra}" if extra else "")
        )
    w = np.array([given[a] for a in attributes], dtype=float)
    if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
        raise DataError(f"fixed CSI weights must be numbers ≥ 0 with a positive sum, got {given}")
    return w / w.sum()


def _importance(importance, satisfaction: pd.DataFrame, attributes: list[str]) -> np.ndarray:
    if importance is None:
        raise DataError("stated CSI weights need the importance ratings (importance=...)")
    if not isinstance(importance, pd.DataFrame):
        raise DataError(f"importance must be a DataFrame, got {type(importance).__name__}")
    imp = importance.rename(columns=str)
    missing = [a for a in attributes if a not in imp.columns]
    if missing:
        raise DataError(f"importance has no column for attribute(s) {missing}")
    if not imp.index.equals(satisfaction.index):
        raise DataError("importance and satisfaction have different indexes; align them first")
    return _matrix(imp[attributes], 0, np.inf, "importance rating")


def _derived(satisfaction: pd.DataFrame, outcome, kept: np.ndarray):
    """Relative-weights table, centred complete rows and their positions among kept rows."""
    if outcome is None:
        raise DataError("derived CSI weights need the outcome (outcome=...), e.g. overall "
                        "satisfaction or the NPS item")
    try:
        table = relative_weights(satisfaction, outcome)
    except DataError as exc:
        raise DataError(f"derived CSI weights: {exc}") from exc
    Z, complete_all = _design(satisfaction, outcome)
    complete = np.flatnonzero(complete_all[kept])  # complete rows always have ratings
    Zc = Z[complete_all]
    return table, Zc - Zc.mean(axis=0), complete
