"""PLS path modelling (Wold/Lohmöller) and the ACSI/ECSI-style satisfaction index.

:func:`pls_path_model` estimates a path model with latent variables by partial least squares,
the way R's ``plspm`` package (G. Sanchez, version 0.4.x–0.5.x, ``plspm()``) does for metric
data, so that its published results can be reproduced to many decimals;
:func:`satisfaction_index` turns the outer weights of the satisfaction block into the 0–100
index of the metric spec (``../shared/spec/metrics.md``, "ACSI/ECSI-style index");
:func:`pls_by_segment` repeats the model in each segment with a large enough base.

Why a small implementation and not the ``plspm`` package of PyPI (GoogleCloudPlatform's
plspm-python, 0.5.7, the port of R plspm): it fails under pandas 3 (``Plspm(...)`` raises
``ValueError: zip() argument 2 is longer than argument 1`` from a ``path.loc[dv,]`` lookup
in ``inner_model.py``) and would bring scikit-learn in for one regression. The algorithm
is a page of numpy, checked in ``tests/test_pls.py`` against R plspm's outputs.

The algorithm (Lohmöller 1989; Tenenhaus et al. 2005, CSDA 48, 159–205), as in R plspm:

1. X = the block items, centred (``scaled=False``) or standardised with the population
   standard deviation (``scaled=True``). Rows with a missing item are dropped (listwise).
2. Start with unit weights per block, scaled so each outer estimate Y_j = X_j w_j has
   population variance 1.
3. Repeat until Σ(|w_old| − |w_new|)² < ``tol``: inner weights e_jk between adjacent latent
   variables — centroid: sign(cor(Y_j, Y_k)); factorial: cor(Y_j, Y_k); path: the regression
   coefficients of Y_j on its predecessors and cor(Y_j, Y_k) for its successors — inner
   estimates Z_j = Σ_k e_jk Y_k, then new outer weights: Mode A w_j = X_jᵀ Z_j / n
   (covariances), Mode B w_j = (X_jᵀ X_j)⁻¹ X_jᵀ Z_j (regression), and Y_j = X_j w_j
   standardised again.
4. Final weights scaled so that every latent variable score has population variance 1; a
   block whose items correlate negatively with its score in the majority is sign-flipped.
5. Path coefficients and R²: OLS of each endogenous score on its predecessors' scores.
   Loadings: cor(item, own score); communality = loading²; redundancy = communality · R².
   GoF = sqrt(mean communality of the items of blocks with more than one item × mean R² of
   the endogenous blocks).
6. Bootstrap (``n_boot > 0``): resample respondents with replacement, re-estimate, and report
   mean, standard error and percentile interval of every weight, loading, path and R²
   (resamples in which the algorithm does not converge are redrawn, as in R).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from vipquality.config import Reporting
from vipquality.errors import DataError
from vipquality.metrics.estimate import Estimate

__all__ = ["PLSResult", "pls_path_model", "satisfaction_index", "pls_by_segment"]

_SCHEMES = ("centroid", "factorial", "path")
_MODES = ("A", "B")


@dataclass(frozen=True)
class PLSResult:
    """A fitted PLS path model (see :func:`pls_path_model`).

    Attributes
    ----------
    blocks, paths : dict
        The model as given: block → items, target block → predecessor blocks.
    modes : dict
        Measurement mode per block (``"A"`` reflective, ``"B"`` formative).
    scheme : str
        Inner weighting scheme.
    scaled : bool
        Whether items were standardised before estimation.
    n : int
        Respondents used (complete on every item of the model).
    n_dropped : int
        Respondents left out because an item was missing.
    iterations : int
        Iterations of the outer-weight loop.
    outer : DataFrame
        One row per item (index ``item``): ``block``, ``weight``, ``loading``,
        ``communality``, ``redundancy``, ``mean`` (raw item mean), ``sd`` (population sd).
    paths_table : DataFrame
        One row per arrow: ``source``, ``target``, ``coefficient``, ``std_error``,
        ``t_value``, ``p_value`` (OLS of the target's score on its predecessors' scores);
        with a bootstrap also ``boot_mean``, ``boot_se``, ``ci_low``, ``ci_high``.
    inner_summary : DataFrame
        One row per block: ``type`` (Exogenous/Endogenous), ``r_squared``,
        ``block_communality``, ``mean_redundancy``, ``ave`` (as R plspm's
        ``inner_summary``); with a bootstrap also ``r2_ci_low``, ``r2_ci_high``.
    gof : float
        Goodness of fit (Tenenhaus et al. 2004), NaN when no block has more than one item.
    scores : DataFrame
        Latent variable scores (mean 0, population variance 1), indexed like the rows used.
    bootstrap : dict
        Empty without a bootstrap; else ``weights``, ``loadings``, ``paths``, ``r_squared``:
        DataFrames with ``original``, ``boot_mean``, ``boot_se``, ``ci_low``, ``ci_high``,
        plus ``n_boot``, ``confidence``, ``seed``.
    """

    blocks: dict[str, tuple[str, ...]]
    paths: dict[str, tuple[str, ...]]
    modes: dict[str, str]
    scheme: str
    scaled: bool
    n: int
    n_dropped: int
    iterations: int
    outer: pd.DataFrame
    paths_table: pd.DataFrame
    inner_summary: pd.DataFrame
    gof: float
    scores: pd.DataFrame = field(repr=False)
    bootstrap: dict = field(default_factory=dict, repr=False)
    # replicate outer weights, item means and sds (n_boot × items), for derived numbers
    _boot_weights: np.ndarray | None = field(default=None, repr=False)
    _boot_means: np.ndarray | None = field(default=None, repr=False)
    _boot_sds: np.ndarray | None = field(default=None, repr=False)

    @property
    def r_squared(self) -> pd.Series:
        """R² of each endogenous block."""
        s = self.inner_summary
        return s.loc[s["type"] == "Endogenous", "r_squared"]

    def path_coefficients(self, target: str | None = None) -> pd.Series:
        """Path coefficients as a Series indexed ``(source, target)``, or by source for one
        ``target`` (what drives it)."""
        t = self.paths_table
        if target is None:
            return t.set_index(["source", "target"])["coefficient"]
        if target not in self.paths:
            raise KeyError(f"{target!r} is not an endogenous block; endogenous blocks: "
                           f"{', '.join(self.paths)}")
        return t.loc[t["target"] == target].set_index("source")["coefficient"]


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


def pls_path_model(
    data: pd.DataFrame,
    blocks: Mapping[str, Sequence[str]],
    paths: Mapping[str, Sequence[str]],
    *,
    mode: str | Mapping[str, str] = "A",
    scheme: str = "centroid",
    scaled: bool = False,
    n_boot: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
    tol: float = 1e-6,
    max_iter: int = 100,
) -> PLSResult:
    """Estimate a PLS path model (Lohmöller's algorithm, as R ``plspm``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent; the items of ``blocks`` must be numeric columns.
    blocks : mapping
        Latent variable (block) name → its item columns, e.g.
        ``{"SAT": ["sat1", "sat2", "sat3"], ...}``. Each item belongs to one block.
    paths : mapping
        Target block → the blocks with an arrow into it, e.g. ``{"SAT": ["IMAG", "QUAL"]}``.
        Blocks that are no key are exogenous. The model must be recursive (no cycles).
    mode : "A", "B" or mapping, default "A"
        Measurement mode: ``"A"`` (reflective, weights from covariances), ``"B"`` (formative,
        weights from a multiple regression); one for all blocks or one per block.
    scheme : {"centroid", "factorial", "path"}, default "centroid"
        Inner weighting scheme (R plspm's default is centroid).
    scaled : bool, default False
        Standardise the items first. ``False`` (items on a common rating scale) is what
        ACSI/ECSI indices use and what R plspm's ``satisfaction`` example runs; note that R
        plspm's own default is ``scaled = TRUE``.
    n_boot : int, default 0
        Bootstrap resamples of respondents for intervals; 0 = none.
    seed : int, default 0
        Seed of the bootstrap.
    confidence : float, default 0.95
        Level of the percentile intervals.
    tol, max_iter : float, int
        Convergence tolerance on Σ(|w_old| − |w_new|)² and the iteration cap (R: 1e-6, 100).

    Returns
    -------
    PLSResult
        Outer weights, loadings, path coefficients, R² per endogenous block, GoF, scores and,
        with ``n_boot``, bootstrap intervals.

    Raises
    ------
    DataError
        A missing or non-numeric item column, a constant item, too few complete rows, or an
        algorithm that does not converge within ``max_iter``.
    ValueError
        A malformed model (unknown block in ``paths``, an item in two blocks, a cycle, an
        unknown mode or scheme).

    Notes
    -----
    See the module docstring for the algorithm. The result reproduces R plspm 0.5 on its
    ``satisfaction`` data (``tests/test_pls.py``). Missing values are handled by listwise
    deletion over the model's items (``n_dropped`` says how many rows went).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> q = rng.normal(size=300); s = 0.8 * q + rng.normal(scale=0.6, size=300)
    >>> df = pd.DataFrame({f"q{i}": q + rng.normal(scale=0.5, size=300) for i in (1, 2, 3)}
    ...                   | {f"s{i}": s + rng.normal(scale=0.5, size=300) for i in (1, 2)})
    >>> fit = pls_path_model(df, {"QUAL": ["q1", "q2", "q3"], "SAT": ["s1", "s2"]},
    ...                      {"SAT": ["QUAL"]})
    >>> round(float(fit.r_squared["SAT"]), 3), fit.n
    (0.509, 300)
    """
    model = _Model.build(blocks, paths, mode, scheme)
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ValueError(f"n_boot must be an integer ≥ 0, got {n_boot!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    raw, index, n_dropped = _matrix(data, model)

    fit = _fit(raw, model, scaled, tol, max_iter)
    if fit is None:
        raise DataError(f"the PLS algorithm did not converge in {max_iter} iterations "
                        f"(tolerance {tol}); check the model or raise max_iter")
    outer, paths_table, summary, gof, scores = _tables(fit, model, raw, index)

    boot: dict = {}
    boot_w = boot_m = boot_s = None
    if n_boot:
        boot, boot_w, boot_m, boot_s = _bootstrap(raw, model, scaled, tol, max_iter, n_boot, seed,
                                          confidence, fit)
        pb = boot["paths"]
        for col in ("boot_mean", "boot_se", "ci_low", "ci_high"):
            paths_table[col] = pb[col].to_numpy()
        rb = boot["r_squared"]
        summary["r2_ci_low"] = rb["ci_low"].reindex(summary.index)
        summary["r2_ci_high"] = rb["ci_high"].reindex(summary.index)

    return PLSResult(
        blocks={b: tuple(v) for b, v in model.blocks.items()},
        paths={t: tuple(v) for t, v in model.paths.items()},
        modes=dict(model.modes), scheme=scheme, scaled=bool(scaled), n=raw.shape[0],
        n_dropped=n_dropped, iterations=fit["iter"], outer=outer, paths_table=paths_table,
        inner_summary=summary, gof=gof, scores=scores, bootstrap=boot,
        _boot_weights=boot_w, _boot_means=boot_m, _boot_sds=boot_s)


@dataclass
class _Model:
    """The model in matrix form: blocks in topological order, items in block order."""

    blocks: dict[str, list[str]]
    paths: dict[str, list[str]]
    modes: dict[str, str]
    scheme: str
    names: list[str]            # block names
    items: list[str]            # item columns, block by block
    block_of: np.ndarray        # item → block index
    P: np.ndarray               # P[i, j] = 1 when block j → block i

    @classmethod
    def build(cls, blocks, paths, mode, scheme) -> _Model:
        if not isinstance(blocks, Mapping) or not blocks:
            raise ValueError("blocks must be a non-empty mapping {block: [item columns]}")
        if not isinstance(paths, Mapping) or not paths:
            raise ValueError("paths must be a non-empty mapping {target block: [predecessors]}")
        if scheme not in _SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(_SCHEMES)}, got {scheme!r}")
        names = [str(b) for b in blocks]
        seen: dict[str, str] = {}
        for b, cols in blocks.items():
            if isinstance(cols, str) or not isinstance(cols, Sequence) or not cols:
                raise ValueError(f"block {b!r}: expected a non-empty list of item columns, "
                                 f"got {cols!r}")
            for c in cols:
                if c in seen:
                    raise ValueError(f"item {c!r} is in blocks {seen[c]!r} and {b!r}; "
                                     "each item belongs to one block")
                seen[c] = b
        for t, preds in paths.items():
            for b in [t, *preds]:
                if b not in blocks:
                    raise ValueError(f"paths mention block {b!r}, which is not in blocks "
                                     f"({', '.join(names)})")
            if isinstance(preds, str) or not preds:
                raise ValueError(f"paths[{t!r}]: expected a non-empty list of blocks, "
                                 f"got {preds!r}")
        if isinstance(mode, str):
            modes = {b: mode for b in names}
        else:
            modes = {b: mode.get(b, "A") for b in names}
        for b, m in modes.items():
            if m not in _MODES:
                raise ValueError(f"mode of block {b!r} must be 'A' or 'B', got {m!r}")
        # topological order (R needs a lower-triangular path matrix; any order works here,
        # but a fixed order keeps outputs stable)
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(b: str) -> None:
            if state.get(b) == 1:
                raise ValueError(f"the paths contain a cycle through {b!r}; PLS path models "
                                 "must be recursive")
            if state.get(b) == 2:
                return
            state[b] = 1
            for p in paths.get(b, ()):
                visit(p)
            state[b] = 2
            order.append(b)

        for b in names:
            visit(b)
        idx = {b: i for i, b in enumerate(order)}
        P = np.zeros((len(order), len(order)))
        for t, preds in paths.items():
            for p in preds:
                P[idx[t], idx[p]] = 1
        items = [c for b in order for c in blocks[b]]
        block_of = np.array([idx[b] for b in order for _ in blocks[b]])
        return cls({b: list(blocks[b]) for b in order},
                   {t: list(paths[t]) for t in order if t in paths},
                   {b: modes[b] for b in order}, scheme, order, items, block_of, P)


def _matrix(data: pd.DataFrame, model: _Model) -> tuple[np.ndarray, pd.Index, int]:
    """The items as a float matrix of complete rows, their index and the rows dropped."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a DataFrame, got {type(data).__name__}")
    missing = [c for c in model.items if c not in data.columns]
    if missing:
        raise DataError(f"item columns not in the data: {', '.join(map(str, missing))}",
                        column=str(missing[0]))
    cols = []
    for c in model.items:
        s = data[c]
        if s.dtype == bool or not (pd.api.types.is_numeric_dtype(s)):
            raise DataError(f"item {c!r} must be numeric, got dtype {s.dtype}", column=str(c))
        cols.append(s.astype("float64").to_numpy(na_value=np.nan))
    X = np.column_stack(cols)
    ok = np.isfinite(X).all(axis=1)
    X = X[ok]
    n_items = max(len(v) for v in model.blocks.values())
    if X.shape[0] < max(10, n_items + 2):
        raise DataError(f"PLS path modelling needs at least {max(10, n_items + 2)} complete "
                        f"rows, got {X.shape[0]} after dropping rows with a missing item")
    sd = X.std(axis=0)
    for j in np.flatnonzero(~(sd > 0)):
        raise DataError(f"item {model.items[j]!r} is constant over the {X.shape[0]} complete "
                        "rows; it cannot measure anything", column=str(model.items[j]))
    return X, data.index[ok], int((~ok).sum())


def _treat(raw: np.ndarray, scaled: bool) -> np.ndarray:
    X = raw - raw.mean(axis=0)
    if scaled:
        X = X / X.std(axis=0)          # population sd, as R plspm
    return X


def _std(Y: np.ndarray) -> np.ndarray:
    """Columns centred to mean 0 and population variance 1."""
    Y = Y - Y.mean(axis=0)
    return Y / Y.std(axis=0)


def _weights(X: np.ndarray, model: _Model, tol: float,
             max_iter: int) -> tuple[np.ndarray, int] | None:
    """Outer weight matrix W (items × blocks) by Lohmöller's iteration; None if no convergence."""
    n = X.shape[0]
    k = len(model.names)
    ODM = np.zeros((X.shape[1], k))
    ODM[np.arange(X.shape[1]), model.block_of] = 1.0
    W = ODM / (X @ ODM).std(axis=0)
    adj = model.P + model.P.T
    w_old = W.sum(axis=1)
    it = 1
    while True:
        Y = _std(X @ W)
        if model.scheme == "centroid":
            E = np.sign(np.corrcoef(Y, rowvar=False) * adj)
        elif model.scheme == "factorial":
            E = np.corrcoef(Y, rowvar=False) * adj
        else:
            E = _path_scheme(model.P, Y)
        Z = Y @ E
        for j in range(k):
            sel = model.block_of == j
            if model.modes[model.names[j]] == "A":
                W[sel, j] = Z[:, j] @ X[:, sel] / n
            else:
                W[sel, j] = np.linalg.lstsq(X[:, sel], Z[:, j], rcond=None)[0]
        w_new = W.sum(axis=1)
        diff = float(np.sum((np.abs(w_old) - np.abs(w_new)) ** 2))
        if diff < tol or it == max_iter:
            break
        w_old = w_new
        it += 1
    if it == max_iter:
        return None
    W = W / (X @ W).std(axis=0)
    return W, it


def _path_scheme(P: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Inner weights of the path scheme (R plspm ``get_path_scheme``)."""
    k = P.shape[0]
    E = P.copy()
    for j in range(k):
        pred = np.flatnonzero(P[j] == 1)
        if pred.size:
            E[pred, j] = np.linalg.lstsq(Y[:, pred], Y[:, j], rcond=None)[0]
        succ = np.flatnonzero(P[:, j] == 1)
        if succ.size:
            E[succ, j] = [np.corrcoef(Y[:, j], Y[:, s])[0, 1] for s in succ]
    return E


def _fit(raw: np.ndarray, model: _Model, scaled: bool, tol: float, max_iter: int) -> dict | None:
    """Weights, scores, paths and R² on one data matrix (the full sample or a resample)."""
    X = _treat(raw, scaled)
    res = _weights(X, model, tol, max_iter)
    if res is None:
        return None
    W, it = res
    LV = X @ W
    k = len(model.names)
    # sign ambiguity: a block whose items mostly correlate negatively with it is flipped
    C = _corr(X, LV)
    ODM = (W != 0).astype(float)
    sign = np.sign((np.sign(C) * ODM).sum(axis=0))
    sign[sign == 0] = -1
    if (sign < 0).any():
        LV = LV * sign
        W = W * sign
    w = W.sum(axis=1)
    B = np.zeros((k, k))
    r2 = np.zeros(k)
    for j in range(k):
        pred = np.flatnonzero(model.P[j] == 1)
        if pred.size:
            coef, r2[j] = _ols(LV[:, pred], LV[:, j])
            B[j, pred] = coef
    loadings = _corr(X, LV)[np.arange(X.shape[1]), model.block_of]
    return {"X": X, "W": W, "w": w, "LV": LV, "B": B, "r2": r2, "loadings": loadings,
            "iter": it}


def _corr(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Correlations of the columns of A with those of B."""
    A = _std(A)
    B = _std(B)
    return A.T @ B / A.shape[0]


def _ols(Xp: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Slopes (with an intercept) and R² of y on the columns of Xp."""
    D = np.column_stack([np.ones(len(y)), Xp])
    beta = np.linalg.lstsq(D, y, rcond=None)[0]
    resid = y - D @ beta
    r2 = 1 - resid @ resid / np.sum((y - y.mean()) ** 2)
    return beta[1:], float(r2)


def _tables(fit: dict, model: _Model, raw: np.ndarray, index: pd.Index):
    k = len(model.names)
    n = raw.shape[0]
    r2 = fit["r2"]
    endo = model.P.sum(axis=1) > 0
    loadings = fit["loadings"]
    communality = loadings ** 2
    redundancy = communality * r2[model.block_of]
    outer = pd.DataFrame({
        "block": [model.names[j] for j in model.block_of],
        "weight": fit["w"], "loading": loadings, "communality": communality,
        "redundancy": redundancy, "mean": raw.mean(axis=0), "sd": raw.std(axis=0),
    }, index=pd.Index(model.items, name="item"))

    rows = []
    LV = fit["LV"]
    for j in range(k):
        pred = np.flatnonzero(model.P[j] == 1)
        if not pred.size:
            continue
        D = np.column_stack([np.ones(n), LV[:, pred]])
        beta = fit["B"][j, pred]
        resid = LV[:, j] - D @ np.r_[LV[:, j].mean() - LV[:, pred].mean(axis=0) @ beta, beta]
        dof = n - D.shape[1]
        sigma2 = resid @ resid / dof
        se = np.sqrt(np.diag(sigma2 * np.linalg.pinv(D.T @ D)))[1:]
        tval = beta / se
        pval = 2 * stats.t.sf(np.abs(tval), dof)
        for p, b, s, tv, pv in zip(pred, beta, se, tval, pval):
            rows.append((model.names[p], model.names[j], b, s, tv, pv))
    paths_table = pd.DataFrame(rows, columns=["source", "target", "coefficient", "std_error",
                                              "t_value", "p_value"])

    summary = pd.DataFrame(index=pd.Index(model.names, name="block"))
    summary["type"] = np.where(endo, "Endogenous", "Exogenous")
    summary["r_squared"] = r2
    summary["block_communality"] = [communality[model.block_of == j].mean() for j in range(k)]
    summary["mean_redundancy"] = [redundancy[model.block_of == j].mean() for j in range(k)]
    summary["ave"] = [
        communality[model.block_of == j].sum() / np.sum(
            communality[model.block_of == j] + 1 - communality[model.block_of == j])
        if model.modes[model.names[j]] == "A" else np.nan for j in range(k)]

    multi = np.array([np.sum(model.block_of == j) > 1 for j in range(k)])
    mv_in_multi = multi[model.block_of]
    if mv_in_multi.any() and endo.any():
        gof = float(np.sqrt(communality[mv_in_multi].mean() * r2[endo].mean()))
    else:
        gof = float("nan")
    scores = pd.DataFrame(LV, index=index, columns=model.names)
    return outer, paths_table, summary, gof, scores


def _bootstrap(raw, model, scaled, tol, max_iter, n_boot, seed, confidence, fit):
    rng = np.random.default_rng(seed)
    n = raw.shape[0]
    k = len(model.names)
    arrows = [(i, j) for i in range(k) for j in range(k) if model.P[i, j]]
    # order the arrows like paths_table (by target, then source)
    arrows.sort(key=lambda a: (a[0], a[1]))
    endo = np.flatnonzero(model.P.sum(axis=1) > 0)
    W_, L_, P_, R_, M_, S_ = [], [], [], [], [], []
    tries = 0
    while len(W_) < n_boot:
        tries += 1
        if tries > 10 * n_boot + 100:
            raise DataError(f"the bootstrap failed: only {len(W_)} of {n_boot} resamples "
                            "converged")
        rows = rng.integers(0, n, size=n)
        sample = raw[rows]
        if not (sample.std(axis=0) > 0).all():
            continue
        f = _fit(sample, model, scaled, tol, max_iter)
        if f is None:
            continue
        W_.append(f["w"])
        L_.append(f["loadings"])
        P_.append([f["B"][i, j] for i, j in arrows])
        R_.append(f["r2"][endo])
        M_.append(sample.mean(axis=0))
        S_.append(sample.std(axis=0))
    alpha = (1 - confidence) / 2

    def table(reps, original, index):
        reps = np.asarray(reps)
        return pd.DataFrame({
            "original": original, "boot_mean": reps.mean(axis=0),
            "boot_se": reps.std(axis=0, ddof=1),
            "ci_low": np.quantile(reps, alpha, axis=0),
            "ci_high": np.quantile(reps, 1 - alpha, axis=0)}, index=index)

    items = pd.Index(model.items, name="item")
    arrow_index = pd.MultiIndex.from_tuples(
        [(model.names[j], model.names[i]) for i, j in arrows], names=["source", "target"])
    boot = {
        "weights": table(W_, fit["w"], items),
        "loadings": table(L_, fit["loadings"], items),
        "paths": table(P_, [fit["B"][i, j] for i, j in arrows], arrow_index),
        "r_squared": table(R_, fit["r2"][endo],
                           pd.Index([model.names[i] for i in endo], name="block")),
        "n_boot": n_boot, "confidence": confidence, "seed": seed,
    }
    return boot, np.asarray(W_), np.asarray(M_), np.asarray(S_)


# --------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------


def satisfaction_index(
    result: PLSResult,
    block: str = "SAT",
    items_scale: tuple[float, float] = (1, 10),
) -> Estimate:
    """ACSI/ECSI-style satisfaction index (0–100) from a fitted PLS path model.

    Parameters
    ----------
    result : PLSResult
        From :func:`pls_path_model`; with ``n_boot > 0`` the index gets a bootstrap interval.
    block : str, default "SAT"
        The satisfaction block.
    items_scale : (lo, hi), default (1, 10)
        The rating scale of the block's items (ACSI: 1–10; the bank data: 0–10).

    Returns
    -------
    Estimate
        ``value`` the index; ``ci_low``/``ci_high`` and ``se`` from the bootstrap replicates
        (percentile; NaN without a bootstrap); ``n`` respondents used; ``metric``
        ``"acsi_index"``; ``details``: ``weights`` (normalised, per item), ``item_means``,
        ``item_performance`` (0–100 per item), ``block``, ``scale``,
        ``negative_weights`` (items with a negative weight; the index is then questionable).

    Notes
    -----
    Index = Σ_j w̃_j (x̄_j − lo) / (hi − lo) · 100 with w̃_j = w_j / Σ_k w_k the normalised
    outer weights of the block (metric spec; Fornell et al. 1996, Tenenhaus et al. 2005). The
    weights are those of the unstandardised items: from a model fitted with
    ``scaled=False`` they are used as they are; from ``scaled=True`` they are first divided
    by each item's standard deviation. In each bootstrap resample the index is recomputed
    from that resample's weights, item means (and sds).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> s = rng.normal(7, 1.5, size=200)
    >>> df = pd.DataFrame({f"s{i}": np.clip(np.round(s + rng.normal(size=200)), 1, 10)
    ...                    for i in (1, 2, 3)} | {"q1": s + rng.normal(size=200),
    ...                                           "q2": s + rng.normal(size=200)})
    >>> fit = pls_path_model(df, {"Q": ["q1", "q2"], "SAT": ["s1", "s2", "s3"]},
    ...                      {"SAT": ["Q"]})
    >>> round(satisfaction_index(fit, "SAT", (1, 10)).value, 1)
    64.6
    """
    if not isinstance(result, PLSResult):
        raise TypeError(f"result must be a PLSResult from pls_path_model, got "
                        f"{type(result).__name__}")
    if block not in result.blocks:
        raise KeyError(f"no block {block!r}; the model has: {', '.join(result.blocks)}")
    lo, hi = (float(x) for x in items_scale)
    if not hi > lo:
        raise ValueError(f"items_scale must be (lo, hi) with hi > lo, got {items_scale!r}")
    items = list(result.blocks[block])
    outer = result.outer.loc[items]
    means = outer["mean"].to_numpy()
    if ((means < lo) | (means > hi)).any():
        raise DataError(f"item means of block {block!r} fall outside items_scale "
                        f"{[lo, hi]}: {dict(zip(items, means.round(3)))}; check the scale")
    unstd = outer["weight"].to_numpy()
    if result.scaled:
        unstd = unstd / outer["sd"].to_numpy()
    w = unstd / unstd.sum()
    perf = (means - lo) / (hi - lo) * 100
    value = float(w @ perf)

    ci_low = ci_high = se = float("nan")
    method = ""
    conf = result.bootstrap.get("confidence", 0.95)
    if result._boot_weights is not None and len(result._boot_weights):
        cols = [result.outer.index.get_loc(c) for c in items]
        bw = result._boot_weights[:, cols]
        if result.scaled:
            bw = bw / result._boot_sds[:, cols]
        bm = result._boot_means[:, cols]
        reps = (bw / bw.sum(axis=1, keepdims=True) * (bm - lo) / (hi - lo) * 100).sum(axis=1)
        a = (1 - conf) / 2
        ci_low, ci_high = (float(x) for x in np.quantile(reps, [a, 1 - a]))
        se = float(reps.std(ddof=1))
        method = "bootstrap-percentile"
    return Estimate(
        value=value, ci_low=ci_low, ci_high=ci_high, n=float(result.n), se=se,
        metric="acsi_index", method=method, confidence=conf,
        details={"block": block, "scale": (lo, hi),
                 "weights": pd.Series(w, index=items, name="weight"),
                 "item_means": pd.Series(means, index=items, name="mean"),
                 "item_performance": pd.Series(perf, index=items, name="performance"),
                 "negative_weights": [c for c, x in zip(items, w) if x < 0]})


def pls_by_segment(
    data: pd.DataFrame,
    by: str,
    blocks: Mapping[str, Sequence[str]],
    paths: Mapping[str, Sequence[str]],
    *,
    min_n: int = Reporting().base_small,
    **kwargs,
) -> dict[str, PLSResult | None]:
    """:func:`pls_path_model` in each segment of column ``by``, where the base allows.

    Returns ``{segment: PLSResult}`` in sorted segment order; a segment with fewer than
    ``min_n`` complete rows maps to ``None`` (base too small for a path model; the default is
    the "small base" threshold of the reporting rules, ``Reporting().base_small``). ``kwargs`` go to
    :func:`pls_path_model` (``mode``, ``scheme``, ``scaled``, ``n_boot``, ``seed`` …).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> q = rng.normal(size=240); s = q + rng.normal(size=240)
    >>> df = pd.DataFrame({"q1": q + rng.normal(size=240), "q2": q + rng.normal(size=240),
    ...                    "s1": s + rng.normal(size=240), "s2": s + rng.normal(size=240),
    ...                    "seg": ["a"] * 200 + ["b"] * 40})
    >>> fits = pls_by_segment(df, "seg", {"Q": ["q1", "q2"], "S": ["s1", "s2"]}, {"S": ["Q"]})
    >>> {k: (v.n if v else None) for k, v in fits.items()}
    {'a': 200, 'b': None}
    """
    if by not in data.columns:
        raise DataError(f"segment column {by!r} is not in the data", column=str(by))
    items = [c for cols in blocks.values() for c in cols]
    out: dict[str, PLSResult | None] = {}
    for seg, part in data.groupby(by, sort=True, dropna=True):
        complete = part[[c for c in items if c in part.columns]].notna().all(axis=1).sum()
        out[str(seg)] = (pls_path_model(part, blocks, paths, **kwargs)
                         if complete >= min_n else None)
    return out
