"""The 2 × 2 difference in differences with cluster-robust standard errors.

``y ~ treated + after + treated:after`` fitted by least squares (weighted with ``weights``) has
four parameters for four cells, so its fitted values are the cell means and the interaction
coefficient is (treated after − treated before) − (control after − control before). Its
cluster-robust (CR1) variance is statsmodels' ``fit(cov_type="cluster")``: the sandwich
``(XᵀWX)⁻¹ (Σ_g s_g s_gᵀ) (XᵀWX)⁻¹`` with the score sums ``s_g = Σ_{i∈g} w_i x_i e_i`` of the
clusters, times the small-sample factor ``G/(G − 1) · (N − 1)/(N − K)``, and a normal interval.

Written out rather than calling statsmodels: the revision log fits this model for every revision
(and again per check of :func:`vipquality.standards.revisions.revision_robustness`) on up to
millions of checks and ratings; building the N × 4 design matrix, its pseudo-inverse and the
N × 4 score matrix took most of the 1-million-response report's shared step. In the cell-mean
parametrisation the bread is diagonal (1 / W_c), and the sandwich is invariant under the
reparametrisation back to ``X``, so the variance of the interaction is

    V = G/(G − 1) · (N − 1)/(N − 4) · Σ_g (Σ_{i∈g} k_{c(i)} w_i e_i / W_{c(i)})²

with k = (+1, −1, −1, +1) for (control before, control after, treated before, treated after):
one pass of sums (``bincount``) over the rows. ``tests/test_did.py`` checks it equal to the
statsmodels fit to 1e-8. With covariates the cells no longer determine the fit, and the
regression is kept (statsmodels).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special

from vipquality.errors import DataError
from vipquality.metrics.intervals import z_value

__all__ = ["CELLS", "did_2x2"]

#: The four cells in the order of ``2 · treated + after``.
CELLS = ("control_before", "control_after", "treated_before", "treated_after")

_CONTRAST = np.array([1.0, -1.0, -1.0, 1.0])


def did_2x2(y, treated, after, cluster, *, weights=None, covariates=None,
            confidence: float = 0.95) -> dict:
    """Difference in differences of a 2 × 2 design with cluster-robust (CR1) standard errors.

    Parameters
    ----------
    y : array-like of float
        The outcome per row (e.g. 1.0 for a check passed, a rating on 0–1).
    treated, after : array-like of bool or 0/1
        The row's group (treated or comparison) and period (after or before).
    cluster : array-like
        The row's cluster (a visit, a respondent, a branch); any hashable codes.
    weights : array-like of float, optional
        Non-negative row weights (weighted least squares); default every row counts once.
    covariates : array-like (N × p), optional
        Extra regressors; the model is then fitted by statsmodels (the cells no longer
        determine the fit).
    confidence : float, default 0.95
        Confidence level of the normal interval.

    Returns
    -------
    dict
        ``did`` (the interaction coefficient, on the scale of ``y``), ``se``, ``ci_low``,
        ``ci_high``, ``p_value`` (two-sided, normal), ``n`` (rows), ``clusters`` and the
        weighted cell means under the names of :data:`CELLS` (NaN for an empty cell). The
        estimate is NaN when a cell has no weight; the standard error (and interval, p-value)
        is NaN with fewer than two clusters or fewer than five rows, where CR1 is undefined.

    Raises
    ------
    DataError
        Inputs of different lengths, or a negative or non-finite weight.

    Examples
    --------
    >>> r = did_2x2([0, 1, 0, 1, 1, 1, 0, 0], treated=[0, 0, 0, 0, 1, 1, 1, 1],
    ...             after=[0, 0, 1, 1, 0, 1, 0, 1], cluster=[1, 2, 1, 2, 3, 4, 3, 4])
    >>> r["did"], r["treated_after"], r["control_after"]
    (0.0, 0.5, 0.5)
    """
    z = z_value(confidence)
    y = np.asarray(y, dtype=float)
    t = np.asarray(treated).astype(bool)
    a = np.asarray(after).astype(bool)
    n = len(y)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if not len(t) == len(a) == len(w) == len(cluster) == n:
        raise DataError(f"did_2x2: y, treated, after, cluster and weights need the same length "
                        f"(got {n}, {len(t)}, {len(a)}, {len(cluster)}, {len(w)})")
    if n and (not np.all(np.isfinite(w)) or w.min() < 0):
        raise DataError("did_2x2: weights must be finite and non-negative")
    group, groups = _codes(cluster)
    cell = 2 * t.astype(np.intp) + a.astype(np.intp)
    sw = np.bincount(cell, weights=w, minlength=4)
    swy = np.bincount(cell, weights=w * y, minlength=4)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(sw > 0, swy / sw, np.nan)
    out = {name: float(m) for name, m in zip(CELLS, means)}
    out.update(n=n, clusters=groups)
    nan = {"did": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    if not np.all(sw > 0):
        return {**out, **nan}
    if covariates is not None:
        return {**out, **_regression(y, t, a, w, group, groups, covariates, z)}
    did = float(_CONTRAST @ means)
    if groups < 2 or n <= 4:
        return {**out, **nan, "did": did}
    # row contributions to the interaction's score, summed per cluster (see the module notes)
    u = (_CONTRAST / sw)[cell] * w * (y - means[cell])
    scores = np.bincount(group, weights=u)  # 0 for a code no row has
    var = groups / (groups - 1.0) * (n - 1.0) / (n - 4.0) * float(scores @ scores)
    return {**out, **_inference(did, np.sqrt(var), z)}


def _inference(did: float, se: float, z: float) -> dict:
    """Normal interval and two-sided p-value, as statsmodels computes them (0/0 gives NaN)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.float64(did) / np.float64(se)
    return {"did": did, "se": float(se), "ci_low": did - z * se, "ci_high": did + z * se,
            "p_value": float(2 * special.ndtr(-abs(stat)))}


def _codes(cluster) -> tuple[np.ndarray, int]:
    """Non-negative integer codes of the clusters (not necessarily 0…G−1) and G.

    Codes that are already small non-negative integers (the revision log's visit and
    respondent codes, a subset of them) are counted with ``bincount``; anything else is
    factorised (``pandas.factorize``: a hash, not a sort).
    """
    arr = np.asarray(cluster)
    if arr.dtype.kind in "iu" and len(arr) and arr.min() >= 0 and arr.max() < 4 * len(arr) + 1024:
        return arr, int(np.count_nonzero(np.bincount(arr)))
    import pandas as pd

    codes, uniques = pd.factorize(arr, use_na_sentinel=False)
    return codes, len(uniques)


def _regression(y, t, a, w, group, groups, covariates, z) -> dict:
    """The same model with covariates, fitted by statsmodels (cluster-robust by ``group``)."""
    from statsmodels.regression import linear_model as sm  # not statsmodels.api: ~1 s of imports

    extra = np.asarray(covariates, dtype=float).reshape(len(y), -1)
    tf, af = t.astype(float), a.astype(float)
    X = np.column_stack([np.ones_like(y), tf, af, tf * af, extra])
    model = sm.OLS(y, X) if np.all(w == 1) else sm.WLS(y, X, weights=w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if groups < 2 or len(y) <= X.shape[1]:  # CR1 undefined (statsmodels divides by 0)
            return {"did": float(model.fit().params[3]), "se": np.nan, "ci_low": np.nan,
                    "ci_high": np.nan, "p_value": np.nan}
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": group})
    return _inference(float(fit.params[3]), float(fit.bse[3]), z)
