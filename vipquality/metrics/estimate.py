"""The result type every single-group metric returns."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Estimate"]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval and base.

    Attributes
    ----------
    value : float
        The estimate at full precision (NaN when the base is empty).
    ci_low, ci_high : float
        Confidence interval bounds.
    n : float
        Base: respondents (or visits / checks) used; Kish effective base when weighted.
    se : float
        Standard error used for comparisons (NaN when not defined).
    metric : str
        What was estimated, e.g. ``"nps"``, ``"ces_mean"``, ``"csi"``, ``"compliance"``.
    method : str
        Interval method, e.g. ``"adjusted-wald"``, ``"t"``, ``"wilson"``, ``"bootstrap-percentile"``.
    confidence : float
        Confidence level of the interval.
    details : dict
        Metric-specific extras (shares, per-attribute tables, counts); never needed to read the
        four headline fields.

    Examples
    --------
    >>> e = Estimate(value=20.0, ci_low=5.1, ci_high=33.9, n=120, se=7.5, metric="nps")
    >>> e.value, e.n
    (20.0, 120)
    """

    value: float
    ci_low: float
    ci_high: float
    n: float
    se: float = float("nan")
    metric: str = ""
    method: str = ""
    confidence: float = 0.95
    details: dict = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self) -> dict:
        """The headline fields as a plain dict (for building tidy tables)."""
        return {
            "metric": self.metric,
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "se": self.se,
            "method": self.method,
            "confidence": self.confidence,
        }
