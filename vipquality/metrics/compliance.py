"""Mystery-shopper compliance: visit scores, group compliance and compliance per standard."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipquality.errors import DataError
from vipquality.metrics.estimate import Estimate
from vipquality.metrics.intervals import (
    DEGENERATE_BASE,
    bounded_mean_interval,
    clustered_share,
    z_value,
)

__all__ = ["visit_scores", "compliance", "standard_compliance", "cluster_sums"]

RESULTS = ("yes", "no", "na")
_METHOD = "augmented-logit"


def visit_scores(checks: pd.DataFrame, critical_fails_visit: bool = True) -> pd.DataFrame:
    """Score of every visit (0–100) from its checklist answers.

    Parameters
    ----------
    checks : DataFrame
        One row per visit × checklist item with columns ``visit_id``, ``item_id`` and
        ``result`` (exactly ``"yes"``, ``"no"`` or ``"na"``; a missing result is left out like
        ``"na"``), optionally ``weight`` (≥ 0, default 1) and ``critical`` (bool, default
        False). Columns ``source_file`` / ``source_row``, when present, locate errors.
    critical_fails_visit : bool, default True
        Whether a critical item answered "no" sets the visit's score to 0.

    Returns
    -------
    DataFrame
        One row per visit, in order of first appearance: ``visit_id``, ``items`` (rows),
        ``applicable`` (items answered yes/no), ``yes_weight``, ``applicable_weight``,
        ``critical_failure`` (a critical item answered "no"; flagged whatever
        ``critical_fails_visit`` says), ``score`` (NaN when the visit has no score) and
        ``no_score`` (True for such visits).

    Raises
    ------
    DataError
        A missing column, an unknown result, a missing visit or item id, a duplicated
        visit × item, or an invalid weight or critical flag.

    Notes
    -----
    .. math::

        \\mathrm{score} = 100\\,\\frac{\\sum_j w_j [\\text{yes}_j]}{\\sum_j w_j [\\text{yes}_j \\lor
        \\text{no}_j]}

    "na" items leave numerator and denominator. A visit whose applicable weight is 0 (all items
    "na" or missing) has no score: NaN, flagged in ``no_score``, never 0. With
    ``critical_fails_visit`` a critical failure scores 0.

    Examples
    --------
    >>> checks = pd.DataFrame({
    ...     "visit_id": ["v1", "v1", "v1", "v2", "v2", "v3"],
    ...     "item_id": ["greet", "offer", "privacy", "greet", "privacy", "greet"],
    ...     "result": ["yes", "no", "na", "yes", "no", "na"],
    ...     "critical": [False, False, True, False, True, False],
    ... })
    >>> visit_scores(checks)[["visit_id", "score", "critical_failure", "no_score"]]
      visit_id  score  critical_failure  no_score
    0       v1   50.0             False     False
    1       v2    0.0              True     False
    2       v3    NaN             False      True
    """
    df = _prepare(checks)
    g = df.groupby("visit_id", sort=False)
    out = g.agg(
        items=("item_id", "size"),
        applicable=("applicable", "sum"),
        yes_weight=("yes_weight", "sum"),
        applicable_weight=("applicable_weight", "sum"),
        critical_failure=("critical_failure", "any"),
    ).reset_index()
    app_w = out["applicable_weight"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(app_w > 0, 100 * out["yes_weight"].to_numpy(dtype=float) / app_w, np.nan)
    if critical_fails_visit:
        score = np.where(out["critical_failure"].to_numpy(dtype=bool), 0.0, score)
    out["applicable"] = out["applicable"].astype(int)
    out["critical_failure"] = out["critical_failure"].astype(bool)
    out["score"] = score
    out["no_score"] = np.isnan(score)
    return out


def compliance(
    checks: pd.DataFrame,
    by_standard: bool = False,
    critical_fails_visit: bool = True,
    confidence: float = 0.95,
) -> Estimate:
    """Compliance of a group of visits: the mean visit score with an interval kept on 0–100.

    Parameters
    ----------
    checks : DataFrame
        The group's checklist answers, as for :func:`visit_scores`.
    by_standard : bool, default False
        Also compute :func:`standard_compliance` and put it in ``details["standards"]``
        (needs a ``standard_id`` column).
    critical_fails_visit : bool, default True
        Whether a critical item answered "no" sets the visit's score to 0.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    Estimate
        ``metric="compliance"``, ``method="augmented-logit"``, ``value`` on 0–100 (NaN when no
        visit has a score), ``n`` = scored visits, ``se`` = s/√n. ``details``: ``visits`` (all
        visits), ``critical_failures`` (visits with a critical item answered "no"),
        ``visits_without_score``, ``visit_scores`` (the :func:`visit_scores` table), with
        ``by_standard`` ``standards``, and ``interval`` (why it is NaN, when it is).

    Notes
    -----
    Over the n visits with a score, value = x̄. The interval is
    :func:`~vipquality.metrics.intervals.bounded_mean_interval`: one pseudo-visit at 0 and one
    at 100 are added, and a normal interval is built on the logit of that augmented mean, then
    widened if needed to contain x̄. It never leaves 0–100 and it keeps its 95 % where the
    t-interval x̄ ± t(n − 1)·s/√n did not: visit scores pile up at 100 and at 0 (a critical
    failure zeroes a visit), and with rare critical failures most samples of 30 visits contain
    no zero, so the t-interval covered 85–92 % (and reached 103.5 % with one failed visit in
    30). The choice was made by simulation against logit/arcsine variants with other
    pseudo-counts and the bootstrap over visits (``docs/validation.md``,
    :mod:`vipquality.metrics.validation`). NaN for n < 2 (``details["interval"]`` says so).
    Visits without a score are left out of the mean and counted in ``visits_without_score``.

    Examples
    --------
    >>> checks = pd.DataFrame({
    ...     "visit_id": ["v1", "v1", "v2", "v2", "v3", "v3", "v4"],
    ...     "item_id": ["greet", "offer"] * 3 + ["greet"],
    ...     "result": ["yes", "yes", "yes", "no", "no", "no", "na"],
    ... })
    >>> est = compliance(checks)
    >>> est.value, est.n, est.details["visits_without_score"]
    (50.0, 3.0, 1)
    """
    z_value(confidence)
    visits = visit_scores(checks, critical_fails_visit=critical_fails_visit)
    scores = visits["score"].dropna().to_numpy(dtype=float)
    n = scores.size
    details = {
        "visits": len(visits),
        "critical_failures": int(visits["critical_failure"].sum()),
        "visits_without_score": int(visits["no_score"].sum()),
        "visit_scores": visits,
    }
    if by_standard:
        details["standards"] = standard_compliance(checks, confidence=confidence)
    if n < 2:
        details["interval"] = DEGENERATE_BASE
    if n == 0:
        return Estimate(np.nan, np.nan, np.nan, n=0.0, se=np.nan, metric="compliance",
                        method=_METHOD, confidence=confidence, details=details)
    mean = float(scores.mean())
    sd = float(scores.std(ddof=1)) if n > 1 else np.nan
    low, high = bounded_mean_interval(n, scores.sum(), (scores**2).sum(), confidence=confidence)
    return Estimate(
        value=mean, ci_low=float(low), ci_high=float(high), n=float(n), se=sd / np.sqrt(n),
        metric="compliance", method=_METHOD, confidence=confidence, details=details,
    )


def standard_compliance(checks: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Compliance of each service standard: weighted share of its applicable checks answered yes.

    Parameters
    ----------
    checks : DataFrame
        Checklist answers as for :func:`visit_scores`, with a ``standard_id`` column.
    confidence : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        One row per ``standard_id`` (sorted): ``n`` (applicable checks), ``n_effective``
        (the checks' effective base: their Kish base divided by the design effect of the
        clustering in visits), ``value`` (% yes), ``ci_low``, ``ci_high`` (on 0–100), ``se``,
        ``visits`` (visits with an applicable check of the standard) and ``deff``. A standard
        whose checks were all "na" has ``n`` 0 and NaN value; one seen in a single visit has
        a NaN interval.

    Notes
    -----
    With weights w_j over the applicable checks (answered yes or no) of a standard, visit v
    contributes Y_v = Σ w_j [yes_j] and N_v = Σ w_j over its checks; p = Σ Y_v / Σ N_v (a ratio
    estimator), value = 100 p. Visits are clusters: checks of one visit share the shopper,
    the branch, the manager and the day, so the variance is the cluster-robust one and the
    interval is Wilson's on the effective base n/deff with a t quantile on visits − 1 degrees
    of freedom (:func:`~vipquality.metrics.intervals.clustered_share`). Treating the checks as
    independent (the Wilson interval on the check count, used before) covered about 83 % with
    a realistic visit effect (``docs/validation.md``). Critical items do not change a
    standard's share.

    Examples
    --------
    >>> checks = pd.DataFrame({
    ...     "visit_id": ["v1", "v1", "v2", "v2", "v3"],
    ...     "item_id": ["greet", "offer", "greet", "offer", "greet"],
    ...     "standard_id": ["welcome", "advice", "welcome", "advice", "welcome"],
    ...     "result": ["yes", "no", "yes", "na", "no"],
    ... })
    >>> standard_compliance(checks)[["standard_id", "n", "value"]].round(2)
      standard_id  n  value
    0      advice  1   0.00
    1     welcome  3  66.67
    """
    z_value(confidence)
    df = _prepare(checks, need_standard=True)
    df["applicable_weight2"] = df["applicable_weight"] * df["weight"]
    out = cluster_sums(df, ["standard_id"])
    r = clustered_share(out["visits"], out["sum_y"], out["sum_n"], out["sum_yy"],
                        out["sum_yn"], out["sum_nn"], out["sum_w2"], confidence=confidence)
    return pd.DataFrame({
        "standard_id": out["standard_id"],
        "n": out["n"].astype(int),
        "n_effective": r["n_effective"],
        "value": 100 * r["value"],
        "ci_low": 100 * r["ci_low"],
        "ci_high": 100 * r["ci_high"],
        "se": 100 * r["se"],
        "visits": out["visits"].astype(int),
        "deff": r["deff"],
    })


def cluster_sums(prepared: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of ``by``: the sums :func:`~vipquality.metrics.intervals.clustered_share`
    needs, with visits as clusters.

    ``prepared`` has one row per check with ``visit_id``, the ``by`` columns, ``applicable``,
    ``yes_weight``, ``applicable_weight`` and ``applicable_weight2`` (w² of applicable checks).
    Returns ``by``, ``n`` (applicable checks), ``visits`` (visits with an applicable check),
    ``sum_y``, ``sum_n``, ``sum_yy``, ``sum_yn``, ``sum_nn``, ``sum_w2``; sorted by ``by``.
    """
    per_visit = prepared.groupby([*by, "visit_id"], sort=True, observed=True).agg(
        n=("applicable", "sum"), y=("yes_weight", "sum"), a=("applicable_weight", "sum"),
        w2=("applicable_weight2", "sum")).reset_index()
    per_visit["used"] = (per_visit["a"] > 0).astype(int)
    per_visit["yy"], per_visit["yn"] = per_visit["y"] ** 2, per_visit["y"] * per_visit["a"]
    per_visit["nn"] = per_visit["a"] ** 2
    out = per_visit.groupby(by, sort=True, observed=True).agg(
        n=("n", "sum"), visits=("used", "sum"), sum_y=("y", "sum"), sum_n=("a", "sum"),
        sum_yy=("yy", "sum"), sum_yn=("yn", "sum"), sum_nn=("nn", "sum"),
        sum_w2=("w2", "sum")).reset_index()
    return out


def _prepare(checks: pd.DataFrame, need_standard: bool = False) -> pd.DataFrame:
    """Validated working columns (never the caller's frame)."""
    if not isinstance(checks, pd.DataFrame):
        raise DataError(f"checks must be a DataFrame, got {type(checks).__name__}")
    required = ["visit_id", "item_id", "result"] + (["standard_id"] if need_standard else [])
    missing = [c for c in required if c not in checks.columns]
    if missing:
        raise DataError(f"checks has no column(s) {missing}; expected {required} and "
                        "optionally weight, critical")
    for col in required:
        if col != "result":
            _fail_where(checks, checks[col].isna().to_numpy(), col, f"{col} is missing")

    result = checks["result"]
    known = result.isin(RESULTS).to_numpy() | result.isna().to_numpy()
    _fail_where(checks, ~known, "result", f"result must be one of {list(RESULTS)}")

    dup = checks.duplicated(["visit_id", "item_id"]).to_numpy()
    _fail_where(checks, dup, "item_id", "the same item is checked twice in one visit")

    if "weight" in checks.columns:
        try:
            weight = pd.to_numeric(checks["weight"]).to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            weight = np.full(len(checks), np.nan)
        _fail_where(checks, ~(np.isfinite(weight) & (weight >= 0)), "weight",
                    "weight must be a finite number ≥ 0")
    else:
        weight = np.ones(len(checks))

    if "critical" in checks.columns:
        crit = checks["critical"]
        ok = crit.isin([True, False]).to_numpy() & crit.notna().to_numpy()
        _fail_where(checks, ~ok, "critical", "critical must be True or False")
        critical = crit.astype(bool).to_numpy()
    else:
        critical = np.zeros(len(checks), dtype=bool)

    res = result.to_numpy(dtype=object)
    yes, no = res == "yes", res == "no"
    applicable = yes | no
    df = pd.DataFrame({
        "visit_id": checks["visit_id"].to_numpy(),
        "item_id": checks["item_id"].to_numpy(),
        "weight": weight,
        "applicable": applicable,
        "yes_weight": weight * yes,
        "applicable_weight": weight * applicable,
        "critical_failure": critical & no,
    })
    if need_standard:
        df["standard_id"] = checks["standard_id"].to_numpy()
    return df


def _fail_where(checks: pd.DataFrame, bad: np.ndarray, column: str, problem: str) -> None:
    """Raise DataError for the first row flagged in ``bad``, located as precisely as known."""
    hits = np.flatnonzero(bad)
    if not hits.size:
        return
    pos = int(hits[0])
    file = row = None
    if "source_row" in checks.columns and pd.notna(checks["source_row"].iloc[pos]):
        row = int(checks["source_row"].iloc[pos])
        if "source_file" in checks.columns:
            file = str(checks["source_file"].iloc[pos])
    else:
        label = checks.index[pos]
        problem += f" at position {pos}" + (f" (index {label!r})" if label != pos else "")
    if hits.size > 1:
        problem += f" ({hits.size} rows like this)"
    value = checks[column].iloc[pos]
    raise DataError(problem, file=file, row=row, column=column,
                    value=None if pd.isna(value) else value)
