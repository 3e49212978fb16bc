"""Key drivers: Johnson's (2000) relative weights of attribute ratings on an outcome.

The core (:func:`_johnson`) works on a stack of frequency-weight vectors at once, so a
bootstrap (here and in :func:`vipquality.metrics.csi.csi` with derived weights) is one batched
eigen-decomposition instead of a Python loop over resamples.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from vipquality._frames import stack
from vipquality.config import ALL_SEGMENT, Workspace, load_workspace
from vipquality.errors import DataError
from vipquality.metrics.intervals import z_value

__all__ = ["relative_weights", "ordinal_check", "key_drivers", "DRIVER_COLUMNS", "OUTCOMES"]

# Upper bound on the cells (resamples × respondents) of one block of bootstrap counts (~32 MB).
_MAX_CELLS = 1 << 22


def relative_weights(
    X: pd.DataFrame,
    y: pd.Series | np.ndarray | Sequence[float],
    n_boot: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Johnson's relative weights of the predictors in ``X`` on the outcome ``y``.

    Parameters
    ----------
    X : DataFrame
        One numeric column per attribute (e.g. satisfaction ratings), NaN = missing.
    y : Series or array-like
        The outcome (NPS item or overall satisfaction), one value per row of ``X``; a Series
        must carry the index of ``X``.
    n_boot : int, default 0
        Number of bootstrap resamples of the complete rows for percentile intervals of the
        rescaled weights; 0 = no interval.
    seed : int, default 0
        Seed of the bootstrap (same seed, same interval).
    confidence : float, default 0.95
        Confidence level of the bootstrap intervals.

    Returns
    -------
    DataFrame
        One row per column of ``X``, in order: ``attribute``, ``raw_weight`` (sums to the R² of
        the OLS regression of y on X), ``rescaled`` (% of R², sums to 100) and, when
        ``n_boot > 0``, ``ci_low`` and ``ci_high`` of ``rescaled``. ``attrs`` holds
        ``r_squared``, ``n`` (complete rows used) and, with a bootstrap, ``n_boot_failed``
        (resamples where a variable was constant, left out of the percentiles).

    Raises
    ------
    DataError
        A non-numeric column, ``y`` not aligned with ``X``, fewer complete rows than
        predictors + 2, or a constant predictor or outcome.

    Notes
    -----
    Rows with a missing value in any predictor or in ``y`` are dropped (listwise deletion), so
    all weights come from one correlation matrix; the number of rows used is ``attrs["n"]``.

    With R_xx the predictors' correlation matrix, r_xy their correlations with y and the
    eigen-decomposition R_xx = V diag(λ) Vᵀ (Johnson 2000):

    .. math::

        \\Lambda = R_{xx}^{1/2} = V\\,\\mathrm{diag}(\\sqrt{\\lambda})\\,V^\\top, \\qquad
        \\beta = \\Lambda^{-1} r_{xy}, \\qquad
        \\varepsilon_j = \\sum_k \\Lambda_{jk}^2\\,\\beta_k^2

    β are the standardised coefficients of y on the orthogonal counterparts Z of the
    predictors, Λ the coefficients of each X_j on Z; Σ_j ε_j = r_xyᵀ R_xx⁻¹ r_xy = R².
    Eigenvalues below 1e-12 · λ_max are treated as zero (pseudo-inverse), which keeps the
    weights defined for perfectly collinear predictors.

    Examples
    --------
    >>> X = pd.DataFrame({"speed": [1, 2, 3, 4, 5, 6], "respect": [2, 1, 4, 3, 6, 5]})
    >>> y = pd.Series([1, 3, 2, 5, 4, 6])
    >>> rw = relative_weights(X, y)
    >>> rw.round(4)
      attribute  raw_weight  rescaled
    0     speed      0.7648   77.9612
    1   respect      0.2162   22.0388
    >>> round(rw.attrs["r_squared"], 4)
    0.981
    """
    if not isinstance(X, pd.DataFrame):
        raise DataError(
            f"X must be a DataFrame with one column per predictor, got {type(X).__name__}"
        )
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ValueError(f"n_boot must be an integer ≥ 0, got {n_boot!r}")
    z_value(confidence)
    Z, complete = _design(X, y)
    columns = [str(c) for c in X.columns]
    Zc = Z[complete]
    m, k = Zc.shape[0], X.shape[1]
    if m < k + 2:
        raise DataError(
            f"relative weights need at least {k + 2} complete rows (predictors + 2), "
            f"got {m} after dropping rows with a missing value"
        )
    spread = Zc.std(axis=0)
    for j in np.flatnonzero(~(spread > 0)):
        what = f"predictor {columns[j]!r}" if j < k else "outcome y"
        raise DataError(f"{what} is constant over the {m} complete rows; it cannot explain "
                        "or be explained", column=columns[j] if j < k else None)

    Zc = Zc - Zc.mean(axis=0)
    raw = _johnson(np.ones((1, m)), Zc)[0]
    r2 = float(raw.sum())
    with np.errstate(invalid="ignore", divide="ignore"):  # R² = 0: rescaled undefined (NaN)
        rescaled = 100 * raw / r2
    out = pd.DataFrame({"attribute": columns, "raw_weight": raw, "rescaled": rescaled})
    out.attrs.update(r_squared=r2, n=int(m))
    if n_boot:
        rng = np.random.default_rng(seed)
        reps = np.vstack([_johnson(F, Zc) for F in _bootstrap_counts(rng, m, n_boot)])
        with np.errstate(invalid="ignore", divide="ignore"):
            rescaled = 100 * reps / reps.sum(axis=1, keepdims=True)
        out["ci_low"], out["ci_high"] = _percentile_interval(rescaled, confidence)
        out.attrs["n_boot_failed"] = int(np.isnan(rescaled).any(axis=1).sum())
    return out


def _design(X: pd.DataFrame, y) -> tuple[np.ndarray, np.ndarray]:
    """Predictors and outcome as one float matrix (outcome last) and the complete-row mask."""
    if isinstance(y, pd.DataFrame):
        raise DataError("y must be one column (a Series), got a DataFrame")
    if isinstance(y, pd.Series):
        if not y.index.equals(X.index):
            raise DataError("y and X have different indexes; align them first")
    else:
        arr = np.ravel(np.asarray(y))
        if arr.size != len(X):
            raise DataError(f"expected one outcome per row of X ({len(X)}), got {arr.size}")
        y = pd.Series(arr, index=X.index)
    cols = [X[c] for c in X.columns] + [y]
    names = [str(c) for c in X.columns] + [str(y.name) if y.name is not None else "y"]
    for col, name in zip(cols, names):
        if pd.api.types.is_bool_dtype(col.dtype) or not (
            pd.api.types.is_numeric_dtype(col.dtype) or col.dtype == object
        ):
            raise DataError(f"expected numeric ratings, got dtype {col.dtype}", column=name)
    try:
        Z = np.column_stack([pd.to_numeric(c).to_numpy(dtype=float, na_value=np.nan)
                             for c in cols])
    except (TypeError, ValueError) as exc:
        raise DataError(f"expected numeric ratings ({exc})") from None
    complete = np.isfinite(Z).all(axis=1)
    return Z, complete


def _johnson(F: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Raw relative weights for each row of frequency weights ``F`` (b × m) over rows of ``Z``.

    ``Z`` is m × (k + 1), predictors then outcome, preferably centred. Returns b × k raw weights;
    a row is NaN where a variable has no variance under those frequencies (or they are all 0).
    """
    m, p = Z.shape
    k = p - 1
    total = F.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (F @ Z) / total[:, None]
        outer = (Z[:, :, None] * Z[:, None, :]).reshape(m, p * p)
        cov = (F @ outer).reshape(-1, p, p) / total[:, None, None]
        cov -= mean[:, :, None] * mean[:, None, :]
    var = np.diagonal(cov, axis1=1, axis2=2)
    scale = np.maximum((Z**2).mean(axis=0), np.finfo(float).tiny)
    ok = (total > 0) & (var > 1e-12 * scale).all(axis=1)
    sd = np.sqrt(np.where(ok[:, None], var, 1.0))
    corr = cov / (sd[:, :, None] * sd[:, None, :])
    corr[~ok] = np.eye(p)

    lam, V = np.linalg.eigh(corr[:, :k, :k])
    lam = np.clip(lam, 0, None)
    keep = lam > 1e-12 * lam.max(axis=1, keepdims=True)
    root = np.sqrt(lam)
    inv_root = np.where(keep, 1 / np.where(keep, root, 1.0), 0.0)
    Vt = np.swapaxes(V, 1, 2)
    half = (V * root[:, None, :]) @ Vt                       # Λ = R_xx^{1/2}
    rxy = corr[:, :k, k]
    beta = np.einsum("bij,bj->bi", V * inv_root[:, None, :], np.einsum("bij,bj->bi", Vt, rxy))
    raw = np.einsum("bjk,bk->bj", half**2, beta**2)
    raw[~ok] = np.nan
    return raw


def _bootstrap_counts(rng: np.random.Generator, n: int, n_boot: int,
                      dtype: type = np.float32) -> Iterator[np.ndarray]:
    """How often each of ``n`` rows is drawn, for ``n_boot`` resamples, in blocks.

    Parameters
    ----------
    rng : numpy.random.Generator
        The seeded generator; the same seed gives the same counts.
    n : int
        Rows to resample (each resample draws ``n`` rows with replacement).
    n_boot : int
        Resamples.
    dtype : numpy dtype, default float32
        Dtype of the yielded blocks. float32 holds every count exactly (counts ≤ n < 2**24)
        and halves the memory traffic of the count-matrix products that follow.

    Yields
    ------
    ndarray
        Blocks of shape (b, n), b ≤ n_boot, rows summing to ``n``; blocks only bound memory
        for large n (one block while n_boot·n ≤ 4 M).

    Notes
    -----
    This is the exact nonparametric (multinomial) bootstrap: each resample is ``n`` uniform
    row indices drawn at once from ``rng`` (as ``rng.integers(0, n, size=(b, n))`` with the
    smallest unsigned dtype holding ``n - 1``), counted per row with ``bincount``. The
    Poisson(1) bootstrap would be cheaper to draw but only approximates this scheme (and fails
    for tiny groups, where a resample can be empty), and ``rng.multinomial`` draws one binomial
    per cell, about 8× slower; small-dtype indices plus a per-row ``bincount`` straight into
    the output avoid the int64 index matrix and the flattened ``bincount`` of the previous
    version (same distribution, different stream: the draws of a seed changed with it).
    """
    idx_dtype = np.uint16 if n <= 1 << 16 else (np.uint32 if n <= 1 << 32 else np.int64)
    block = max(1, min(n_boot, _MAX_CELLS // max(n, 1)))
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        idx = rng.integers(0, n, size=(b, n), dtype=idx_dtype)
        out = np.empty((b, n), dtype=dtype)
        for row in range(b):  # b bincounts of n: no b·n int64 temporaries
            out[row] = np.bincount(idx[row], minlength=n)
        yield out


def _percentile_interval(reps: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval per column of ``reps``; NaN replicates are left out."""
    alpha = 1 - confidence
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column -> NaN bounds
        low, high = np.nanquantile(reps, [alpha / 2, 1 - alpha / 2], axis=0)
    return low, high


# --------------------------------------------------------------------------------------------
# cross-check: an ordinal model


def ordinal_check(
    X: pd.DataFrame,
    y: pd.Series | np.ndarray | Sequence[float],
    *,
    min_per_parameter: int = 10,
    confidence: float = 0.95,
    agree_min: float = 0.7,
) -> pd.DataFrame:
    """Cross-check of the relative weights with a proportional-odds (ordered logit) model.

    Relative weights treat the outcome (the 0–10 NPS item, overall satisfaction) as interval
    data. The ordered logit only assumes its answers are ordered; when both rank the attributes
    alike, the driver ranking does not hinge on the interval assumption.

    Parameters
    ----------
    X : DataFrame
        One numeric column per attribute, NaN = missing (as for :func:`relative_weights`).
    y : Series or array-like
        The ordinal outcome, one value per row of ``X``; its observed values are the ordered
        categories.
    min_per_parameter : int, default 10
        The model is fitted only with at least this many complete rows per parameter (the
        attributes plus the category thresholds, categories − 1).
    confidence : float, default 0.95
        Confidence level of the coefficient intervals (Wald, from the observed information).
    agree_min : float, default 0.7
        The rankings *agree* when Spearman's ρ between the standardised ordinal coefficients
        and the rescaled relative weights is at least this.

    Returns
    -------
    DataFrame
        One row per column of ``X``, in order: ``attribute``, ``coef`` (log-odds of a higher
        answer per rating point), ``ci_low``, ``ci_high``, ``se``, ``p_value``, ``std_coef``
        (per standard deviation of the attribute: the coefficient that is ranked), ``rank``
        (1 = largest ``std_coef``), ``rescaled`` (relative weight, % of R² on the same rows)
        and ``rw_rank``. ``attrs``: ``n`` (complete rows), ``n_params``, ``n_required``
        (``min_per_parameter`` · ``n_params``), ``fitted`` (False when the base is too small or
        the fit did not converge: the model columns are then NaN), ``spearman``, ``agrees``
        (ρ ≥ ``agree_min``), ``same_top`` (both name the same first attribute) and ``note``
        (why nothing was fitted, else ``""``).

    Raises
    ------
    DataError
        As :func:`relative_weights` (non-numeric or constant columns, misaligned ``y``, fewer
        complete rows than predictors + 2).

    Notes
    -----
    statsmodels' ``OrderedModel`` with ``distr="logit"``: P(y ≤ c_j | x) = Λ(θ_j − xᵀβ),
    fitted by maximum likelihood (BFGS) on the attributes standardised to unit variance, so
    ``std_coef`` = β_j and ``coef`` = β_j / sd_j. Rows with any missing value are dropped, as
    for the relative weights, so both rankings come from the same respondents.
    """
    from scipy import stats
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    if not isinstance(min_per_parameter, (int, np.integer)) or min_per_parameter < 1:
        raise ValueError(f"min_per_parameter must be an integer ≥ 1, got {min_per_parameter!r}")
    if not -1 <= agree_min <= 1:
        raise ValueError(f"agree_min must lie in [-1, 1], got {agree_min!r}")
    rw = relative_weights(X, y, confidence=confidence)  # validates X and y
    z = z_value(confidence)
    Z, complete = _design(X, y)
    Zc = Z[complete]
    m, k = Zc.shape[0], X.shape[1]
    levels, codes = np.unique(Zc[:, k], return_inverse=True)
    n_params = k + len(levels) - 1
    out = pd.DataFrame({"attribute": rw["attribute"], "coef": np.nan, "ci_low": np.nan,
                        "ci_high": np.nan, "se": np.nan, "p_value": np.nan, "std_coef": np.nan,
                        "rank": np.nan, "rescaled": rw["rescaled"].to_numpy(),
                        "rw_rank": rw["rescaled"].rank(ascending=False, method="min")
                        .to_numpy()})
    out.attrs.update(n=int(m), n_params=int(n_params), n_required=int(min_per_parameter
                                                                       * n_params),
                     fitted=False, spearman=np.nan, agrees=False, same_top=False, note="")
    if m < min_per_parameter * n_params:
        out.attrs["note"] = (f"base too small for the ordinal model: {m} complete rows, "
                             f"{min_per_parameter * n_params} needed ({min_per_parameter} per "
                             f"parameter, {n_params} parameters)")
        return out
    x = Zc[:, :k]
    sd = x.std(axis=0, ddof=1)
    xs = (x - x.mean(axis=0)) / sd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and overflow warnings: checked below
        try:
            fit = OrderedModel(codes, xs, distr="logit").fit(method="bfgs", disp=False,
                                                             maxiter=2000)
        except (np.linalg.LinAlgError, ValueError) as exc:
            out.attrs["note"] = f"the ordinal model could not be fitted ({exc})"
            return out
    beta, se = np.asarray(fit.params)[:k], np.asarray(fit.bse)[:k]
    if not fit.mle_retvals.get("converged", False) or not np.all(np.isfinite(se)):
        out.attrs["note"] = "the ordinal model did not converge"
        return out
    out["std_coef"] = beta
    out["coef"] = beta / sd
    out["se"] = se / sd
    out["ci_low"] = (beta - z * se) / sd
    out["ci_high"] = (beta + z * se) / sd
    out["p_value"] = 2 * stats.norm.sf(np.abs(beta / se))
    out["rank"] = out["std_coef"].rank(ascending=False, method="min")
    rho = (float(stats.spearmanr(out["std_coef"], out["rescaled"]).statistic) if k > 1
           else 1.0)
    out.attrs.update(
        fitted=True, spearman=rho, agrees=bool(rho >= agree_min),
        same_top=bool(out["std_coef"].idxmax() == out["rescaled"].idxmax()))
    return out


#: The outcomes :func:`key_drivers` explains: the NPS item and overall satisfaction.
OUTCOMES = ("nps", "overall")


DRIVER_COLUMNS = [
    "outcome", "segment", "attribute", "label", "raw_weight", "rescaled", "ci_low", "ci_high",
    "performance", "n", "r_squared", "ord_coef", "ord_ci_low", "ord_ci_high", "ord_p_value",
    "ord_rank", "rw_rank", "ord_spearman", "ord_agrees", "ord_note",
]


def key_drivers(responses: pd.DataFrame, workspace, *, outcome: str = "nps",
                quarter: str | None = None, n_boot: int = 500, seed: int = 0,
                ordinal: bool = True) -> pd.DataFrame:
    """Johnson's relative weights of the CSI attributes on an outcome, per segment, with the
    ordinal model as a cross-check.

    Parameters
    ----------
    responses : DataFrame
        Survey responses (:func:`vipquality.data.store.load_responses`) with a ``segment`` column
        (one row per response × segment, as the responses merged with the memberships); without
        one every row counts for ``all``.
    workspace : Workspace or path
        The instrument (attributes, labels, satisfaction scale) and the reporting settings
        (suppression base, confidence).
    outcome : {"nps", "overall"}, default "nps"
        The NPS item or the overall-satisfaction item.
    quarter : str, optional
        Use only this quarter's responses (default: every row given).
    n_boot : int, default 500
        Bootstrap resamples for the intervals of the rescaled weights (0 = none).
    seed : int, default 0
    ordinal : bool, default True
        Fit :func:`vipquality.metrics.drivers.ordinal_check` in each segment where its base allows.

    Returns
    -------
    DataFrame
        One row per segment × attribute (segments in workspace order, ``all`` first;
        attributes in questionnaire order), columns :data:`DRIVER_COLUMNS` — the columns of
        ``ReportData.drivers`` (``segment, attribute, label, raw_weight, rescaled, ci_low,
        ci_high, performance, n, r_squared``; ``performance`` 0–100 over the segment's ratings
        of the attribute) plus ``outcome`` and the cross-check: ``ord_coef`` (ordered-logit
        log-odds per rating point) with ``ord_ci_low``, ``ord_ci_high``, ``ord_p_value``,
        ``ord_rank`` and the relative weights' ``rw_rank``, the segment's ``ord_spearman``
        (ρ between the two rankings), ``ord_agrees`` and ``ord_note`` (why there is no ordinal
        fit, e.g. a base under 10 respondents per parameter). Segments with fewer complete
        answers than the suppression base (or than attributes + 2) are left out.

    Raises
    ------
    DataError
        ``outcome`` is not a column of ``responses``.
    """
    from vipquality.errors import DataError

    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    if outcome not in responses.columns:
        raise DataError(f"responses have no {outcome!r} column; the instrument "
                        f"{'has no overall-satisfaction item' if outcome == 'overall' else ''}",
                        column=outcome)
    inst, rep = ws.instrument, ws.reporting
    lo, hi = inst.csi_scale
    ids = [a for a in inst.attribute_ids if f"sat__{a}" in responses.columns]
    columns = [f"sat__{a}" for a in ids]
    labels = {a.id: a.label for a in inst.attributes}
    frame = responses if quarter is None else responses[responses["quarter"] == str(quarter)]
    if "segment" not in frame.columns:
        frame = frame.assign(segment=ALL_SEGMENT)
    order = {s: i for i, s in enumerate([ALL_SEGMENT, *ws.segments.ids])}
    segments = sorted(frame["segment"].dropna().unique(),
                      key=lambda s: (order.get(s, len(order)), str(s)))
    frames = []
    # One regression per segment (a handful of groups), as in ReportData's drivers.
    for segment in segments:
        group = frame[frame["segment"] == segment]
        complete = group.dropna(subset=[*columns, outcome])
        if len(complete) < max(rep.base_suppress, len(columns) + 2):
            continue
        X = complete[columns].astype(float).rename(columns=lambda c: c.removeprefix("sat__"))
        y = complete[outcome].astype(float)
        try:
            rw = relative_weights(X, y, n_boot=n_boot, seed=seed, confidence=rep.confidence)
        except DataError:
            continue
        rw.insert(0, "segment", segment)
        rw.insert(0, "outcome", outcome)
        rw["label"] = rw["attribute"].map(labels)
        rw["performance"] = (100 * (group[columns].astype(float).mean().to_numpy() - lo)
                             / (hi - lo))
        rw["n"] = len(complete)
        rw["r_squared"] = rw.attrs.get("r_squared", np.nan)
        rw["rw_rank"] = rw["rescaled"].rank(ascending=False, method="min")
        if ordinal:
            oc = ordinal_check(X, y, confidence=rep.confidence)
            rw["ord_coef"], rw["ord_ci_low"] = oc["coef"].to_numpy(), oc["ci_low"].to_numpy()
            rw["ord_ci_high"], rw["ord_p_value"] = (oc["ci_high"].to_numpy(),
                                                    oc["p_value"].to_numpy())
            rw["ord_rank"] = oc["rank"].to_numpy()
            rw["ord_spearman"] = oc.attrs["spearman"]
            rw["ord_agrees"] = oc.attrs["agrees"] if oc.attrs["fitted"] else pd.NA
            rw["ord_note"] = oc.attrs["note"]
        else:
            rw["ord_note"] = "not fitted (ordinal=False)"
        frames.append(rw)
    if not frames:
        return pd.DataFrame(columns=DRIVER_COLUMNS)
    out = stack(frames, DRIVER_COLUMNS)  # a column no frame has is NaN
    out["ord_agrees"] = out["ord_agrees"].astype("boolean")
    out["ord_note"] = out["ord_note"].fillna("").astype(str)
    return out
