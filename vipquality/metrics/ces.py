"""Customer Effort Score (CES 2.0) of one group: mean, share "easy" and net easy."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from vipquality.metrics.estimate import Estimate
from vipquality.metrics.intervals import (
    DEGENERATE_BASE,
    bounded_mean_interval,
    degenerate,
    kish_n,
    nps_adjusted_wald,
    nps_from_counts,
    wilson,
    z_value,
)
from vipquality.metrics.nps import ArrayLike, _scores_array, _weights_array

__all__ = ["ces"]

_METRIC = {"mean": "ces_mean", "easy": "ces_easy", "net_easy": "ces_net_easy"}
_METHOD = {"mean": "augmented-logit", "easy": "wilson", "net_easy": "adjusted-wald"}


def ces(
    scores: ArrayLike,
    scale: tuple[int, int] = (1, 7),
    kind: Literal["mean", "easy", "net_easy"] = "mean",
    weights: ArrayLike | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Customer Effort Score as a mean, a share "easy" or net easy, with its interval.

    Parameters
    ----------
    scores : array-like or Series
        Answers to "[Company] made it easy for me to handle my issue", integers on ``scale``
        (higher = easier). Missing answers (NaN) are left out; anything else off the scale
        raises :class:`DataError` naming the value and its position.
    scale : (int, int), default (1, 7)
        The item's scale as declared by the instrument. ``"easy"`` and ``"net_easy"`` need an
        odd number of points (1–7 and 1–5 in practice).
    kind : {"mean", "easy", "net_easy"}, default "mean"
        Which CES to report (always label it on a chart).
    weights : array-like or Series, optional
        Non-negative respondent weights, one per score.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    Estimate
        ``metric`` is ``"ces_mean"`` (on the item's scale, ``method="augmented-logit"``),
        ``"ces_easy"`` (%,
        ``method="wilson"``) or ``"ces_net_easy"`` (−100…100, ``method="adjusted-wald"``).
        ``n`` is the number of respondents (Kish effective base when weighted); ``details`` holds
        ``scale``, ``mean``, ``sd``, ``easy_pct``, ``neutral_pct``, ``difficult_pct``,
        ``easy_points``, ``difficult_points``, ``respondents`` and, when the interval is NaN,
        ``interval`` (why).

    Raises
    ------
    DataError
        A score that is not an integer on the scale, or an invalid weight.
    ValueError
        An invalid ``scale``, ``kind`` or ``confidence`` argument.

    Notes
    -----
    With k = hi − lo + 1 scale points, "easy" is the top (k − 1)/2 points and "difficult" the
    bottom (k − 1)/2, the midpoint being neutral: on 1–7, easy = 5–7 and difficult = 1–3; on
    1–5, easy = 4–5 and difficult = 1–2.

    - mean: x̄ with the interval of a bounded mean
      (:func:`~vipquality.metrics.intervals.bounded_mean_interval`): one pseudo-answer at each
      end of the scale, normal interval on the logit of that mean rescaled to 0–1, mapped back
      to the scale. The t-interval x̄ ± t(n − 1)·s/√n left the scale for small n and covered
      91 % at n = 30 on a very skewed item (65 % answering 7); this one covers 93.8–97.5 % from
      n = 30 on symmetric and skewed items (``docs/validation.md``).
    - easy: e = share easy, ×100, Wilson score interval on n.
    - net easy: NE = 100 (e − d) with d the share difficult. It is the mean of a per-respondent
      score +1 (easy) / 0 / −1 (difficult); by the delta method on the multinomial shares,
      Var(ê − d̂) = [e(1 − e) + d(1 − d) + 2ed]/n = [(e + d) − (e − d)²]/n, so
      SE = 100·√([(e + d) − (e − d)²]/n), the variance of the NPS. The interval is the NPS's
      adjusted Wald (Rocks 2016: 3/4 added to the easy and difficult counts, 3/2 to the
      neutral, n + 3 in all; clipped to [−100, 100]). The plain Wald interval NE ± z·SE had
      zero width when every answer was easy and covered about 77 % at n = 30 on a skewed item
      (``docs/validation.md``).

    Degenerate groups, as for every metric: a base under 2 gives a NaN interval and
    ``details["interval"]`` says why, never a zero-width one. (Answers that are all equal
    still give a real interval here: the pseudo-answers carry the spread the sample lacks.)

    Weighted data: shares and the mean are weighted, n is the Kish effective base (Σw)²/Σw²
    and the weighted variance is Σw(x − x̄)²/Σw · n/(n − 1), which is the usual sample
    variance when all weights are equal (the mean's interval uses the weights scaled to sum
    to n, which gives that variance).

    Examples
    --------
    >>> x = [7, 6, 6, 5, 4, 3, 7, 2, 6, 5]
    >>> est = ces(x)
    >>> round(est.value, 2), round(est.ci_low, 4), round(est.ci_high, 4)
    (5.1, 3.687, 5.8801)
    >>> ces(x, kind="easy").value, ces(x, kind="net_easy").value
    (70.0, 50.0)
    """
    if kind not in _METRIC:
        raise ValueError(f"kind must be one of {sorted(_METRIC)}, got {kind!r}")
    lo, hi = _check_scale(scale, kind)
    z_value(confidence)  # validates the level before any work

    values, index, _ = _scores_array(scores, lo, hi, what="CES score")
    w = _weights_array(weights, values, index if isinstance(scores, pd.Series) else None)
    answered = ~np.isnan(values)
    values, w = values[answered], w[answered]

    half = (hi - lo) // 2
    easy, difficult = values > hi - half, values < lo + half
    sum_w, sum_w2 = w.sum(), (w**2).sum()
    n = float(kish_n(sum_w, sum_w2)) if weights is not None else float(values.size)
    details = {
        "scale": (lo, hi),
        "easy_points": (hi - half + 1, hi) if (hi - lo) % 2 == 0 else None,
        "difficult_points": (lo, lo + half - 1) if (hi - lo) % 2 == 0 else None,
        "respondents": int(values.size),
        "weighted": weights is not None,
    }
    if not (sum_w > 0 and n > 0):
        details.update(mean=np.nan, sd=np.nan, easy_pct=np.nan, neutral_pct=np.nan,
                       difficult_pct=np.nan)
        return Estimate(np.nan, np.nan, np.nan, n=0.0, se=np.nan, metric=_METRIC[kind],
                        method=_METHOD[kind], confidence=confidence, details=details)

    mean = float((w * values).sum() / sum_w)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (w * (values - mean) ** 2).sum() / sum_w * n / (n - 1)
    sd = float(np.sqrt(var)) if n > 1 else np.nan
    e, d = float(w[easy].sum() / sum_w), float(w[difficult].sum() / sum_w)
    details.update(mean=mean, sd=sd, easy_pct=100 * e, neutral_pct=100 * (1 - e - d),
                   difficult_pct=100 * d)

    if kind == "mean":
        value, se = mean, sd / np.sqrt(n)
        # Σx and Σx² with the weights scaled to sum to the (Kish) base n
        scaled = w * (n / sum_w)
        low, high = bounded_mean_interval(n, (scaled * values).sum(),
                                          (scaled * values**2).sum(), confidence=confidence,
                                          scale=(lo, hi))
    elif kind == "easy":
        value, se = 100 * e, 100 * np.sqrt(e * (1 - e) / n)
        low, high = (100 * b for b in wilson(e * n, n, confidence=confidence))
    else:
        value, se = nps_from_counts(e * n, d * n, n)
        low, high = nps_adjusted_wald(e * n, d * n, n, confidence=confidence)
    if degenerate(n):
        low = high = np.nan
        details["interval"] = DEGENERATE_BASE
    return Estimate(
        value=float(value), ci_low=float(low), ci_high=float(high), n=n, se=float(se),
        metric=_METRIC[kind], method=_METHOD[kind], confidence=confidence, details=details,
    )


def _check_scale(scale: tuple[int, int], kind: str) -> tuple[int, int]:
    try:
        lo, hi = scale
    except (TypeError, ValueError):
        raise ValueError(f"scale must be a pair (low, high), got {scale!r}") from None
    if not all(float(b).is_integer() for b in (lo, hi)) or not lo < hi:
        raise ValueError(f"scale must be two integers with low < high, got {scale!r}")
    lo, hi = int(lo), int(hi)
    if kind != "mean" and ((hi - lo) % 2 or hi - lo < 2):
        raise ValueError(
            f"CES {kind!r} needs a scale with an odd number of points (e.g. (1, 7) or (1, 5)) "
            f"to split into difficult / neutral / easy, got {scale!r}"
        )
    return lo, hi
