"""Net Promoter Score of one group of respondents, and the change between two groups.

The arithmetic is that of ``shared/spec/metrics.md`` (Rocks 2016); the interval formulas live in
:mod:`vipquality.metrics.intervals` and are only called from here.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from vipquality.errors import DataError
from vipquality.metrics.estimate import Estimate
from vipquality.metrics.intervals import (
    DEGENERATE_BASE,
    degenerate,
    kish_n,
    nps_adjusted_wald,
    nps_from_counts,
    nps_pooled_se,
)

__all__ = ["nps", "nps_difference"]

ArrayLike = pd.Series | np.ndarray | Sequence[float]


def nps(scores: ArrayLike, weights: ArrayLike | None = None, confidence: float = 0.95) -> Estimate:
    """Net Promoter Score with its adjusted-Wald confidence interval.

    Parameters
    ----------
    scores : array-like or Series
        "Likelihood to recommend" answers, integers 0–10. Missing answers (NaN, None, ``pd.NA``)
        are left out; anything else that is not an integer from 0 to 10 raises :class:`DataError`.
    weights : array-like or Series, optional
        Non-negative respondent weights, one per score (a Series must share the index of
        ``scores``). A respondent whose score is missing is left out with their weight.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    Estimate
        ``metric="nps"``, ``method="adjusted-wald"``; ``value`` on −100…100 (NaN when no
        respondent answered), ``n`` the number of respondents (Kish effective base when
        weighted), ``se`` the Wald standard error of the raw NPS. ``details`` holds
        ``promoters_pct``, ``passives_pct``, ``detractors_pct`` (weighted shares, %),
        ``promoters``, ``passives``, ``detractors`` (respondent counts, unweighted),
        ``respondents``, ``weighted`` and, when the interval is NaN, ``interval`` (why).

    Raises
    ------
    DataError
        A score that is not a number, not an integer or outside 0–10 (the message gives its
        position), or an invalid weight.

    Notes
    -----
    Detractors answer 0–6, passives 7–8, promoters 9–10. With shares p (promoters) and d
    (detractors) of n respondents:

    .. math::

        \\mathrm{NPS} = 100 (p - d), \\qquad v = (p + d) - (p - d)^2, \\qquad
        \\mathrm{SE} = 100 \\sqrt{v / n}

    The interval is Rocks' (2016) adjusted Wald: 3/4 is added to the promoter and detractor
    counts and 3/2 to the passive count (n + 3 in all), NPS* and v* are computed from the
    adjusted counts and the interval is NPS* ± z·100·sqrt(v*/(n + 3)), clipped to [−100, 100].
    The reported value stays the raw NPS (which the interval contains whenever n ≥ 2 at the 95 %
    level).

    Weighted data: p and d are weighted shares and n is the Kish effective base
    (Σw)²/Σw²; the counts entering the interval are the shares times that base.

    A base under 2 gives a NaN interval (``details["interval"]`` says why), the rule for
    degenerate groups of every metric.

    Examples
    --------
    >>> est = nps([10] * 50 + [8] * 30 + [3] * 20)
    >>> round(est.value, 4), round(est.se, 5), round(est.ci_low, 4), round(est.ci_high, 4)
    (30.0, 7.81025, 14.0511, 44.2013)
    >>> est.details["promoters_pct"], est.n
    (50.0, 100.0)
    """
    values, index, name = _scores_array(scores, 0, 10, what="NPS score")
    w = _weights_array(weights, values, index if isinstance(scores, pd.Series) else None)
    answered = ~np.isnan(values)
    values, w = values[answered], w[answered]

    promoter, detractor = values >= 9, values <= 6
    passive = ~(promoter | detractor)
    sum_w, sum_w2 = w.sum(), (w**2).sum()
    n = float(kish_n(sum_w, sum_w2)) if weights is not None else float(values.size)
    details = {
        "promoters": int(promoter.sum()),
        "passives": int(passive.sum()),
        "detractors": int(detractor.sum()),
        "respondents": int(values.size),
        "weighted": weights is not None,
    }
    if not (sum_w > 0 and n > 0):
        details.update(promoters_pct=np.nan, passives_pct=np.nan, detractors_pct=np.nan)
        return Estimate(np.nan, np.nan, np.nan, n=0.0, se=np.nan, metric="nps",
                        method="adjusted-wald", confidence=confidence, details=details)

    p, d = w[promoter].sum() / sum_w, w[detractor].sum() / sum_w
    details.update(promoters_pct=float(100 * p),
                   passives_pct=float(100 * w[passive].sum() / sum_w),
                   detractors_pct=float(100 * d))
    value, se = nps_from_counts(p * n, d * n, n)
    low, high = nps_adjusted_wald(p * n, d * n, n, confidence=confidence)
    if degenerate(n):
        low = high = np.nan
        details["interval"] = DEGENERATE_BASE
    return Estimate(
        value=float(value), ci_low=float(low), ci_high=float(high), n=n, se=float(se),
        metric="nps", method="adjusted-wald", confidence=confidence, details=details,
    )


def nps_difference(a: Estimate, b: Estimate) -> dict[str, float]:
    """Change of NPS between two independent groups, with a two-sided z-test.

    Parameters
    ----------
    a, b : Estimate
        Results of :func:`nps` for the two groups (e.g. this quarter and the previous one).

    Returns
    -------
    dict
        ``change`` = a − b (sign kept, on NPS points), ``se`` (the standard error of the test,
        pooled under "no change"), ``se_unpooled`` (√(SE_a² + SE_b²)), ``z`` and ``p_value``.

    Notes
    -----
    .. math::

        \\Delta = \\mathrm{NPS}_a - \\mathrm{NPS}_b, \\quad
        \\mathrm{SE}_0 = 100 \\sqrt{v_0 (1/n_a + 1/n_b)}, \\quad
        z = \\Delta / \\mathrm{SE}_0, \\quad p = 2\\,(1 - \\Phi(|z|))

    with v₀ = (p + d) − (p − d)² from the promoter and detractor shares of both groups
    together (weighted shares with Kish bases when weighted): a score-type test, whose
    variance is estimated under the null hypothesis it tests. The Wald version with
    √(SE_a² + SE_b²) (the R package ``NPS``, ``nps_test``) rejected about 6 % of the time at
    n = 30 per group when nothing changed; this one keeps the nominal 5 %
    (``docs/validation.md``). When SE₀ is 0 (both groups all promoters, say) the test is
    undefined: ``z`` and ``p_value`` are NaN if the change is 0, otherwise ±inf and 0.

    Examples
    --------
    >>> a = nps([10] * 50 + [8] * 30 + [3] * 20)
    >>> b = nps([10] * 40 + [8] * 30 + [3] * 30)
    >>> res = nps_difference(a, b)
    >>> round(res["change"], 2), round(res["se"], 4), round(res["p_value"], 4)
    (20.0, 11.4891, 0.0817)
    """
    for label, est in (("a", a), ("b", b)):
        if not isinstance(est, Estimate) or est.metric != "nps":
            got = getattr(est, "metric", type(est).__name__)
            raise DataError(f"nps_difference needs two NPS estimates; {label} is {got!r}")
    change = a.value - b.value
    shares = [(e.details.get("promoters_pct", np.nan) / 100,
               e.details.get("detractors_pct", np.nan) / 100, e.n) for e in (a, b)]
    se = float(nps_pooled_se(*shares[0], *shares[1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = float(np.divide(change, se))
    p_value = float(2 * stats.norm.sf(abs(z))) if not np.isnan(z) else np.nan
    return {"change": float(change), "se": se, "se_unpooled": float(np.hypot(a.se, b.se)),
            "z": z, "p_value": p_value}


# --- input checks shared with ces.py ---------------------------------------------------------

def _scores_array(
    values: ArrayLike, lo: float, hi: float, *, what: str, integer: bool = True
) -> tuple[np.ndarray, pd.Index, str | None]:
    """One column of ratings as floats (NaN = missing), after checking every answer.

    Returns the values, the index of the input (a RangeIndex for plain sequences) and its name.
    Raises DataError naming the first offending value and its position.
    """
    if isinstance(values, pd.DataFrame) or np.ndim(values) > 1:
        raise DataError(f"expected one column of {what}s, got {np.ndim(values)}-dimensional data")
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    name = s.name if isinstance(s.name, str) else None
    if pd.api.types.is_bool_dtype(s.dtype):
        raise DataError(f"expected numeric {what}s, got booleans", column=name)
    if pd.api.types.is_numeric_dtype(s.dtype):
        arr = s.to_numpy(dtype=float, na_value=np.nan)
    else:
        obj = s.astype(object)
        is_number = obj.map(
            lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool), na_action="ignore"
        )
        bad = np.flatnonzero((obj.notna() & (is_number != True)).to_numpy())  # noqa: E712
        if bad.size:
            _raise_at(s, bad[0], f"{what} is not a number", name)
        arr = pd.to_numeric(obj).to_numpy(dtype=float, na_value=np.nan)
    present = ~np.isnan(arr)
    if integer:
        bad = np.flatnonzero(present & (arr != np.round(arr)) & np.isfinite(arr))
        if bad.size:
            _raise_at(s, bad[0], f"{what} must be an integer from {lo:g} to {hi:g}", name)
    bad = np.flatnonzero(present & ~np.isfinite(arr))
    if bad.size:
        _raise_at(s, bad[0], f"{what} is not a finite number", name)
    bad = np.flatnonzero(present & ((arr < lo) | (arr > hi)))
    if bad.size:
        scale = f"outside the scale {lo:g}–{hi:g}" if np.isfinite(hi) else f"below {lo:g}"
        _raise_at(s, bad[0], f"{what} is {scale}", name)
    return arr, s.index, name


def _raise_at(s: pd.Series, pos: int, problem: str, column: str | None) -> None:
    label = s.index[pos]
    where = f" at position {pos}" + (f" (index {label!r})" if label != pos else "")
    raise DataError(problem + where, column=column, value=s.iloc[pos])


def _weights_array(
    weights: ArrayLike | None, values: np.ndarray, index: pd.Index | None
) -> np.ndarray:
    """Respondent weights as floats (ones when not given), checked where a value is present.

    ``index`` is the index of the scores when they came as a Series: a weights Series must
    then carry the same index (no silent positional matching of two labelled inputs).
    """
    if weights is None:
        return np.ones(values.size)
    if isinstance(weights, pd.Series):
        if index is not None and not weights.index.equals(index):
            raise DataError("weights and scores have different indexes; align them first")
        weights = weights.to_numpy(dtype=float, na_value=np.nan)
    try:
        w = np.asarray(weights, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise DataError(f"weights must be numbers ({exc})") from None
    if w.size != values.size:
        raise DataError(f"expected one weight per score ({values.size}), got {w.size}")
    used = ~np.isnan(values)
    bad = np.flatnonzero(used & ~(np.isfinite(w) & (w >= 0)))
    if bad.size:
        raise DataError(f"weight at position {bad[0]} must be a finite number ≥ 0",
                        column="weight", value=w[bad[0]])
    return w
