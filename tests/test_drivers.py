"""Tests of vipquality.metrics.drivers.relative_weights.

The reference is Johnson (2000) implemented independently here, step by step, with
scipy.linalg.sqrtm (Λ = R_xx^{1/2}, β = Λ⁻¹ r_xy, ε = (Λ∘Λ)(β∘β)), and OLS R² from numpy lstsq.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import linalg

from vipquality.errors import DataError
from vipquality.metrics.drivers import _johnson, relative_weights


def correlated_data(n: int = 120, seed: int = 3) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    common = rng.normal(size=n)
    X = pd.DataFrame({
        "competence": common + rng.normal(size=n),
        "speed": 0.6 * common + rng.normal(size=n),
        "availability": rng.normal(size=n),
        "digital": 0.3 * common + 0.5 * rng.normal(size=n),
    })
    y = pd.Series(0.8 * X["competence"] + 0.3 * X["speed"] + 0.1 * X["digital"]
                  + rng.normal(size=n), name="overall")
    return X, y


def johnson_textbook(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    R = np.corrcoef(np.column_stack([X, y]), rowvar=False)
    k = X.shape[1]
    lam = np.real(linalg.sqrtm(R[:k, :k]))
    beta = np.linalg.solve(lam, R[:k, k])
    return (lam**2) @ (beta**2)


def ols_r2(X: np.ndarray, y: np.ndarray) -> float:
    A = np.column_stack([np.ones(len(y)), X])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    return 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))


def test_raw_weights_sum_to_ols_r2_and_match_textbook_steps():
    X, y = correlated_data()
    rw = relative_weights(X, y)
    assert list(rw.columns) == ["attribute", "raw_weight", "rescaled"]
    assert list(rw["attribute"]) == list(X.columns)
    assert rw["raw_weight"].sum() == pytest.approx(ols_r2(X.to_numpy(), y.to_numpy()), rel=1e-10)
    assert rw.attrs["r_squared"] == pytest.approx(rw["raw_weight"].sum())
    np.testing.assert_allclose(rw["raw_weight"], johnson_textbook(X.to_numpy(), y.to_numpy()),
                               rtol=1e-9)
    assert rw["rescaled"].sum() == pytest.approx(100)
    assert rw.attrs["n"] == 120


def test_orthogonal_predictors_get_their_squared_correlation():
    # Columns of a ±1 Hadamard design are exactly uncorrelated.
    x1 = np.array([1, 1, 1, 1, -1, -1, -1, -1], dtype=float)
    x2 = np.array([1, 1, -1, -1, 1, 1, -1, -1], dtype=float)
    x3 = np.array([1, -1, 1, -1, 1, -1, 1, -1], dtype=float)
    y = np.array([9, 7, 8, 4, 6, 5, 3, 1], dtype=float)
    X = pd.DataFrame({"a": x1, "b": x2, "c": x3})
    rw = relative_weights(X, y)
    r2 = [np.corrcoef(x, y)[0, 1] ** 2 for x in (x1, x2, x3)]
    np.testing.assert_allclose(rw["raw_weight"], r2, atol=1e-12)


def test_duplicated_predictor_shares_the_weight_equally():
    # R_xx = [[1, 1], [1, 1]] is singular; with the pseudo-inverse each copy gets r²/2.
    X, y = correlated_data()
    X2 = pd.DataFrame({"a": X["competence"], "b": 2 * X["competence"] + 1})
    rw = relative_weights(X2, y)
    r2 = np.corrcoef(X["competence"], y)[0, 1] ** 2
    np.testing.assert_allclose(rw["raw_weight"], [r2 / 2, r2 / 2], rtol=1e-8)


def test_listwise_deletion():
    X, y = correlated_data()
    X = X.copy()
    X.iloc[[0, 5], 1] = np.nan
    y = y.copy()
    y.iloc[7] = np.nan
    rw = relative_weights(X, y)
    keep = X.notna().all(axis=1) & y.notna()
    np.testing.assert_allclose(rw["raw_weight"],
                               johnson_textbook(X[keep].to_numpy(), y[keep].to_numpy()), rtol=1e-9)
    assert rw.attrs["n"] == 117


def test_frequency_weighted_core_equals_repeated_rows():
    # The bootstrap core with draw counts must equal the weights of the expanded resample.
    X, y = correlated_data(40)
    Z = np.column_stack([X.to_numpy(), y.to_numpy()])
    Zc = Z - Z.mean(axis=0)
    counts = np.random.default_rng(7).multinomial(40, np.full(40, 1 / 40), size=3).astype(float)
    raw = _johnson(counts, Zc)
    for b in range(3):
        rows = np.repeat(np.arange(40), counts[b].astype(int))
        np.testing.assert_allclose(raw[b], johnson_textbook(Z[rows, :4], Z[rows, 4]), rtol=1e-8)


def test_bootstrap_interval_reproducible_and_contains_estimate():
    X, y = correlated_data()
    a = relative_weights(X, y, n_boot=300, seed=11)
    b = relative_weights(X, y, n_boot=300, seed=11)
    c = relative_weights(X, y, n_boot=300, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ci_low"], c["ci_low"])
    assert ((a["ci_low"] <= a["rescaled"]) & (a["rescaled"] <= a["ci_high"])).all()
    assert a.attrs["n_boot_failed"] == 0


def test_errors():
    X, y = correlated_data(5)
    with pytest.raises(DataError, match="at least 6 complete rows"):
        relative_weights(X, y)
    X, y = correlated_data()
    with pytest.raises(DataError, match="'speed' is constant"):
        relative_weights(X.assign(speed=4.0), y)
    with pytest.raises(DataError, match="outcome y is constant"):
        relative_weights(X, np.ones(len(X)))
    with pytest.raises(DataError, match="different indexes"):
        relative_weights(X, y.reset_index(drop=True).set_axis(range(1, len(y) + 1)))
    with pytest.raises(DataError, match="one outcome per row"):
        relative_weights(X, y.to_numpy()[:-1])
    with pytest.raises(DataError, match="numeric"):
        relative_weights(X.assign(speed="fast"), y)


def test_input_not_mutated():
    X, y = correlated_data()
    X.iloc[0, 0] = np.nan
    X0, y0 = X.copy(), y.copy()
    relative_weights(X, y, n_boot=50)
    pd.testing.assert_frame_equal(X, X0)
    pd.testing.assert_series_equal(y, y0)


def test_bootstrap_counts_are_the_multinomial_resamples_of_the_seeded_index_draws():
    from vipquality.metrics.drivers import _bootstrap_counts

    n, b = 300, 50
    blocks = list(_bootstrap_counts(np.random.default_rng(8), n, b))
    counts = np.vstack(blocks)
    assert counts.dtype == np.float32 and counts.shape == (b, n)
    idx = np.random.default_rng(8).integers(0, n, size=(b, n), dtype=np.uint16)
    expected = np.stack([np.bincount(row, minlength=n) for row in idx])
    np.testing.assert_array_equal(counts, expected)
    assert (counts.sum(axis=1) == n).all()
    # moments of the multinomial(n, 1/n) cell: mean 1, variance (1 - 1/n)
    big = np.vstack(list(_bootstrap_counts(np.random.default_rng(1), 2000, 500)))
    assert big.mean() == pytest.approx(1.0)
    assert big.var() == pytest.approx(1 - 1 / 2000, rel=0.01)
