"""Mystery-shopper calibration: is a shopper more lenient or more severe than the others, and do
two shoppers rating the same visit agree?

:func:`shopper_effects` fits one logistic regression of every applicable check (passed or not)
on the checklist standard in its quarter, the branch, the scenario segment played and the
shopper, and tests each shopper's effect against the average shopper, adjusted for the number of
shoppers (Holm or Benjamini–Hochberg). :func:`shopper_standards` sets each shopper's pass rate on
each standard against what the model expects of the average shopper on the same checks.
:func:`rater_agreement` gives Cohen's kappa per checklist item over the calibration visits.

Why a fixed-effects GLM and not ``BinomialBayesMixedGLM``: a programme has a handful to a few
dozen shoppers and 10–40 branches, each with hundreds of checks, so fixed effects are well
estimated; the model gives each shopper a Wald test that the multiplicity adjustment of the rest
of the package can take (the variational-Bayes mixed GLM gives posterior means and deviations,
no p-values, and shrinks a lenient shopper towards the others precisely when the data are
thin). The checks of one visit share the visit's circumstances, so the covariance is
cluster-robust by visit (a model-based one would treat 20 checks of one visit as 20 independent
verdicts and flag shoppers far above the nominal rate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["shopper_effects", "shopper_standards", "rater_agreement", "SHOPPER_COLUMNS",
           "AGREEMENT_COLUMNS", "CHECK_COLUMNS"]

#: The columns of the checks the model needs (one row per visit × item).
CHECK_COLUMNS = ["visit_id", "shopper_id", "branch", "segment", "standard_id", "quarter",
                 "result"]

SHOPPER_COLUMNS = ["shopper_id", "visits", "checks", "passed", "expected", "difference",
                   "log_odds", "se", "ci_low", "ci_high", "p_value", "p_adjusted", "flag"]

AGREEMENT_COLUMNS = ["item_id", "pairs", "agreement", "kappa", "se", "ci_low", "ci_high"]


def _applicable(checks: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in CHECK_COLUMNS if c not in checks.columns]
    if missing:
        raise ValueError(f"checks has no column(s) {missing}; expected {CHECK_COLUMNS}")
    c = checks[checks["result"].isin(["yes", "no"]) & checks["shopper_id"].notna()]
    return c.assign(y=(c["result"] == "yes").astype(float)).reset_index(drop=True)


def _design(c: pd.DataFrame) -> tuple[np.ndarray, list[str], list[str]]:
    """Dummy-coded design: one column per standard × quarter cell (no intercept), branch and
    segment and shopper effects against their first level. Returns X, its column names and the
    shoppers in order (the first is the reference)."""
    cell = c["standard_id"].astype(str) + "@" + c["quarter"].astype(str)
    parts = [pd.get_dummies(cell, prefix="cell", dtype=float)]
    for name in ("branch", "segment"):
        d = pd.get_dummies(c[name].astype(str), prefix=name, dtype=float)
        parts.append(d.iloc[:, 1:])
    shoppers = sorted(c["shopper_id"].astype(str).unique())
    d = pd.get_dummies(pd.Categorical(c["shopper_id"].astype(str), categories=shoppers),
                       prefix="shopper", dtype=float)
    parts.append(d.iloc[:, 1:])
    x = pd.concat(parts, axis=1)
    return x.to_numpy(), list(x.columns), shoppers


def _fit(checks: pd.DataFrame):
    import statsmodels.api as sm

    c = _applicable(checks)
    x, names, shoppers = _design(c)
    visit = pd.factorize(c["quarter"].astype(str) + "\x1f" + c["visit_id"].astype(str))[0]
    model = sm.GLM(c["y"].to_numpy(), x, family=sm.families.Binomial())
    res = model.fit(cov_type="cluster", cov_kwds={"groups": visit})
    return c, names, shoppers, res


def shopper_effects(checks: pd.DataFrame, *, adjustment: str = "holm", alpha: float = 0.05,
                    confidence: float = 0.95) -> pd.DataFrame:
    """Each shopper's leniency (+) or severity (−) against the average shopper, with the same
    standards, quarters, branches and scenarios.

    Parameters
    ----------
    checks : DataFrame
        One row per visit × checklist item as recorded by the shopper (before appeals): columns
        :data:`CHECK_COLUMNS`. n.a. checks and checks without a shopper are left out.
    adjustment : {"holm", "bh"}
        Multiplicity adjustment over the shoppers.
    alpha : float
        A shopper is flagged when the adjusted p-value is below it.
    confidence : float
        Of the interval of the log-odds effect.

    Returns
    -------
    DataFrame
        One row per shopper, :data:`SHOPPER_COLUMNS`: ``visits``, ``checks`` (applicable),
        ``passed`` (% of the shopper's checks answered yes), ``expected`` (% the model expects
        of the average shopper on the same checks), ``difference`` (points, passed − expected),
        ``log_odds`` (the shopper's effect minus the mean effect of the other shoppers not
        flagged) with ``se``
        (cluster-robust by visit) and interval, ``p_value`` (Wald, on Student's t with the
        shopper's visits − 1 degrees of freedom), ``p_adjusted``, ``flag``
        (``lenient`` | ``severe`` | ``""``). Sorted by shopper id. ``attrs``: ``adjustment``,
        ``alpha``.

    Notes
    -----
    logit P(pass) = α(standard × quarter) + β(branch) + γ(segment) + δ(shopper); each shopper
    is tested on δ_s − δ̄₋ₛ = 0, δ̄₋ₛ the unweighted mean of the other shoppers' effects, with
    the contrast's Wald statistic. The most extreme significant shopper is then left out of
    the others' reference and the tests repeated, one shopper at a time, until no other is
    significant, so that one lenient shopper does not make all the others look severe. The expected rate replaces the shopper's δ_s by the reference
    mean in each of its checks' linear predictors.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> n = 3000
    >>> checks = pd.DataFrame({"visit_id": np.arange(n) // 10, "quarter": "2026Q1",
    ...     "branch": "B1", "segment": "all", "standard_id": "S1",
    ...     "shopper_id": np.where(np.arange(n) // 10 % 4 == 0, "X", "Y") + (np.arange(n) // 10
    ...                                                            % 4).astype(str)})
    >>> lenient = checks["shopper_id"].eq("X0")
    >>> checks["result"] = np.where(rng.random(n) < np.where(lenient, 0.9, 0.7), "yes", "no")
    >>> shopper_effects(checks).set_index("shopper_id").loc["X0", "flag"]
    'lenient'
    """
    from scipy.stats import t as student

    from vipquality.metrics.summarise import adjust_p

    if adjustment not in ("holm", "bh"):
        raise ValueError(f"adjustment must be 'holm' or 'bh', got {adjustment!r}")
    c = _applicable(checks)
    shoppers = sorted(c["shopper_id"].astype(str).unique())
    if len(shoppers) < 2:
        out = pd.DataFrame(columns=SHOPPER_COLUMNS)
        out.attrs.update(adjustment=adjustment, alpha=alpha)
        return out
    c, names, shoppers, res = _fit(checks)
    k = len(shoppers)
    params = np.asarray(res.params)
    cov = np.asarray(res.cov_params())
    first = names.index(f"shopper_{shoppers[1]}")
    code = pd.Categorical(c["shopper_id"].astype(str), categories=shoppers).codes
    visits = pd.Series(c["quarter"].astype(str) + "\x1f" + c["visit_id"].astype(str)).groupby(
        code).nunique().reindex(range(k)).to_numpy(dtype=float)
    # a shopper's effect rests on that shopper's visits, the clusters of the robust variance:
    # with a few dozen of them the Wald z is too liberal, so the reference is Student's t on
    # (visits − 1) degrees of freedom (the few-clusters correction of Cameron & Miller 2015)
    df = np.maximum(visits - 1, 1)
    # each shopper against the mean of the others not flagged: one lenient shopper would
    # otherwise make every other shopper look severe. Start with every other shopper as the
    # reference; take the most extreme significant shopper out of the reference, one at a time,
    # and test again, until no other shopper is significant (outliers removed stepwise, so that
    # with few shoppers one lenient shopper does not flag the others as severe)
    flagged = np.zeros(k, bool)
    for _ in range(k - 1):
        est, se, p = _contrasts(params, cov, first, k, flagged, df)
        adj = adjust_p(p, method=adjustment)
        new = (adj < alpha) & ~flagged
        if not new.any():
            break
        z = np.where(new, np.abs(est / se), -np.inf)
        flagged[int(np.argmax(z))] = True
    est, se, p = _contrasts(params, cov, first, k, flagged, df)
    adj = adjust_p(p, method=adjustment)
    q = student.ppf(0.5 + confidence / 2, df)
    eta = np.asarray(res.fittedvalues)
    eta = np.log(eta / (1 - eta))
    p0 = 1 / (1 + np.exp(-(eta - est[code])))
    g = pd.DataFrame({"s": code, "y": c["y"], "p0": p0,
                      "v": c["quarter"].astype(str) + "\x1f" + c["visit_id"].astype(str)})
    agg = g.groupby("s").agg(checks=("y", "size"), passed=("y", "mean"), expected=("p0", "mean"),
                             visits=("v", "nunique"))
    out = pd.DataFrame({
        "shopper_id": shoppers, "visits": agg["visits"].to_numpy(),
        "checks": agg["checks"].to_numpy(), "passed": 100 * agg["passed"].to_numpy(),
        "expected": 100 * agg["expected"].to_numpy(),
        "difference": 100 * (agg["passed"] - agg["expected"]).to_numpy(),
        "log_odds": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se,
        "p_value": p, "p_adjusted": adj,
        "flag": np.where(adj < alpha, np.where(est > 0, "lenient", "severe"), "")})
    out.attrs.update(adjustment=adjustment, alpha=alpha)
    return out


def _contrasts(params: np.ndarray, cov: np.ndarray, first: int, k: int, flagged: np.ndarray,
               df: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """δ_s − mean of δ_j over the reference shoppers j ≠ s (those not ``flagged``; all others
    when every other one is flagged), its standard error and two-sided p-value on t(df).
    δ = (0, δ_2, …, δ_k): the first shopper is the model's reference level."""
    from scipy.stats import t as student

    weights = np.zeros((k, k))
    for s in range(k):
        ref = np.flatnonzero(~flagged & (np.arange(k) != s))
        if ref.size == 0:
            ref = np.flatnonzero(np.arange(k) != s)
        weights[s, ref] = -1.0 / ref.size
        weights[s, s] = 1.0
    contrast = np.zeros((k, len(params)))
    contrast[:, first:first + k - 1] = weights[:, 1:]
    est = contrast @ params
    se = np.sqrt(np.einsum("ij,jk,ik->i", contrast, cov, contrast))
    return est, se, 2 * student.sf(np.abs(est / se), df)


def shopper_standards(checks: pd.DataFrame, effects: pd.DataFrame | None = None
                      ) -> pd.DataFrame:
    """Each shopper's pass rate on each standard against the average shopper on the same checks.

    Returns one row per shopper × standard: ``shopper_id, standard_id, checks, passed``
    (% yes), ``expected`` (% the model of :func:`shopper_effects` expects with the shopper's
    effect replaced by the average shopper's), ``difference`` (points). Descriptive: the test
    is the shopper's overall effect (``effects``, computed when not given).
    """
    effects = shopper_effects(checks) if effects is None else effects
    c = _applicable(checks)
    if c.empty or effects.empty:
        return pd.DataFrame(columns=["shopper_id", "standard_id", "checks", "passed",
                                     "expected", "difference"])
    c, _, _, res = _fit(checks)
    eta = np.asarray(res.fittedvalues)
    eta = np.log(eta / (1 - eta))
    shift = c["shopper_id"].astype(str).map(effects.set_index("shopper_id")["log_odds"])
    c = c.assign(p0=1 / (1 + np.exp(-(eta - shift.to_numpy(dtype=float)))))
    g = c.groupby(["shopper_id", "standard_id"], sort=True)
    out = g.agg(checks=("y", "size"), passed=("y", "mean"), expected=("p0", "mean")).reset_index()
    out["passed"] *= 100
    out["expected"] *= 100
    out["difference"] = out["passed"] - out["expected"]
    return out


def rater_agreement(pairs: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Agreement of two shoppers rating the same visits, per checklist item (Cohen's kappa).

    Parameters
    ----------
    pairs : DataFrame
        ``item_id, first, second``: the result (``yes``, ``no``, ``na``) of the visit's shopper
        and of the calibration shopper, one row per visit × item rated by both.

    Returns
    -------
    DataFrame
        :data:`AGREEMENT_COLUMNS`, one row per item: ``pairs``, ``agreement`` (% of pairs with
        the same result), ``kappa`` (Cohen's, on the categories yes / no / n.a.,
        :func:`statsmodels.stats.inter_rater.cohens_kappa`) with its ``se`` and the normal
        interval, clipped to [−1, 1].
        Kappa is NaN when chance agreement is 1 (both shoppers gave one and the same result
        throughout: agreement is then total, but kappa is undefined).

    Examples
    --------
    >>> pairs = pd.DataFrame({"item_id": "S01.1",
    ...                       "first":  ["yes"] * 6 + ["no"] * 4,
    ...                       "second": ["yes"] * 5 + ["no"] * 5})
    >>> round(float(rater_agreement(pairs)["kappa"].iloc[0]), 4)   # (0.9 − 0.5) / (1 − 0.5)
    0.8
    """
    from scipy.stats import norm
    from statsmodels.stats.inter_rater import cohens_kappa

    cats = ["yes", "no", "na"]
    q = norm.ppf(0.5 + confidence / 2)
    rows = []
    for item, g in pairs.groupby("item_id", sort=True):
        table = pd.crosstab(pd.Categorical(g["first"], categories=cats),
                            pd.Categorical(g["second"], categories=cats),
                            dropna=False).reindex(index=cats, columns=cats, fill_value=0)
        t = table.to_numpy(dtype=float)
        n = t.sum()
        agree = np.trace(t) / n if n else np.nan
        expected = float((t.sum(0) @ t.sum(1)) / n ** 2) if n else np.nan
        kappa = se = np.nan
        if n and expected < 1 - 1e-12:
            r = cohens_kappa(t)
            kappa, se = float(r.kappa), float(r.std_kappa)
        rows.append({"item_id": item, "pairs": int(n), "agreement": 100 * agree,
                     "kappa": kappa, "se": se, "ci_low": max(kappa - q * se, -1.0),
                     "ci_high": min(kappa + q * se, 1.0)})
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
