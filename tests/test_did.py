"""The closed-form 2 × 2 difference in differences against the statsmodels fit it replaces.

The reference is ``OLS`` / ``WLS`` of ``y ~ treated + after + treated:after`` with
``fit(cov_type="cluster")`` (CR1 with statsmodels' small-sample factor, normal interval): the
estimate, its standard error, interval and p-value must agree to 1e-8.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.regression import linear_model as sm

from vipquality.errors import DataError
from vipquality.metrics.did import did_2x2


def _statsmodels(y, t, a, g, w=None, extra=None, alpha=0.05):
    cols = [np.ones(len(y)), t, a, t * a] + ([] if extra is None else [extra])
    X = np.column_stack(cols)
    model = sm.OLS(y, X) if w is None else sm.WLS(y, X, weights=w)
    fit = model.fit(cov_type="cluster", cov_kwds={"groups": g})
    low, high = fit.conf_int(alpha=alpha)[3]
    return {"did": fit.params[3], "se": fit.bse[3], "ci_low": low, "ci_high": high,
            "p_value": fit.pvalues[3]}


def _agree(mine, ref):
    for k in ("did", "se", "ci_low", "ci_high", "p_value"):
        np.testing.assert_allclose(mine[k], ref[k], rtol=1e-8, atol=1e-10, err_msg=k,
                                   equal_nan=False)


def _design(rng, n, clusters, sizes="equal", binary=True):
    """Rows in clusters of equal or very unequal sizes; treatment varies within a cluster (the
    checks of one visit belong to several standards), the period is the cluster's."""
    if sizes == "equal":
        g = np.repeat(np.arange(clusters), n // clusters)
    else:  # a few big clusters and many small ones
        size = np.maximum(1, rng.pareto(1.2, clusters) * 3).astype(int)
        g = np.repeat(np.arange(clusters), size)
    rng.shuffle(g)
    n = len(g)
    a = (rng.random(clusters) < 0.5).astype(float)[g]
    t = (rng.random(n) < 0.3).astype(float)
    p = 0.6 + 0.1 * a + 0.08 * t * a + rng.normal(0, 0.1, clusters)[g]
    y = (rng.random(n) < np.clip(p, 0, 1)).astype(float) if binary else rng.normal(p, 0.3)
    return y, t, a, g


@pytest.mark.parametrize("seed,n,clusters,sizes,binary,weighted", [
    (1, 2_000, 100, "equal", True, False),
    (2, 5_000, 50, "unequal", True, False),
    (3, 1_000, 400, "unequal", False, False),
    (4, 3_000, 30, "equal", True, True),
    (5, 800, 200, "unequal", False, True),
])
def test_closed_form_equals_statsmodels_cluster_fit(seed, n, clusters, sizes, binary, weighted):
    rng = np.random.default_rng(seed)
    y, t, a, g = _design(rng, n, clusters, sizes, binary)
    w = rng.uniform(0.2, 3.0, len(y)) if weighted else None
    mine = did_2x2(y, t, a, g, weights=w, confidence=0.9)
    _agree(mine, _statsmodels(y, t, a, g, w, alpha=0.1))
    assert mine["clusters"] == len(np.unique(g)) and mine["n"] == len(y)
    # the cell means reproduce the estimate
    cells = mine["treated_after"] - mine["treated_before"] - (
        mine["control_after"] - mine["control_before"])
    assert mine["did"] == pytest.approx(cells, abs=1e-12)


def test_hand_checked_small_design():
    # cells (control before, control after, treated before, treated after) = (0, .5, .5, 1)
    y = [0, 0, 1, 0, 1, 1, 1]
    t = [0, 0, 0, 1, 1, 1, 1]
    a = [0, 1, 1, 0, 0, 1, 1]
    g = ["v1", "v2", "v3", "v1", "v2", "v3", "v3"]
    r = did_2x2(y, t, a, g)
    assert r["did"] == 0.0  # (1 − .5) − (.5 − 0)
    # by hand: residuals ∓.5 in the two half cells; k/W = (1, −½, −½, ½); cluster sums of
    # k w e / W: v1 = .25, v2 = 0, v3 = −.25; factor 3/2 · 6/3 = 3; V = 3 · (.0625 + .0625)
    assert r["se"] == pytest.approx(np.sqrt(3 * 0.125), rel=1e-12)
    assert (r["control_before"], r["control_after"], r["treated_before"],
            r["treated_after"]) == (0.0, 0.5, 0.5, 1.0)
    assert r["clusters"] == 3 and r["n"] == 7
    _agree(r, _statsmodels(np.array(y, float), np.array(t, float), np.array(a, float),
                           np.array([1, 2, 3, 1, 2, 3, 3])))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), clusters=st.integers(2, 40),
       rows=st.integers(8, 300), weighted=st.booleans(), binary=st.booleans())
def test_property_equal_to_statsmodels(seed, clusters, rows, weighted, binary):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, clusters, rows)
    t = rng.integers(0, 2, rows).astype(float)
    a = rng.integers(0, 2, rows).astype(float)
    y = rng.integers(0, 2, rows).astype(float) if binary else rng.normal(size=rows)
    w = rng.uniform(0.1, 5, rows) if weighted else None
    mine = did_2x2(y, t, a, g, weights=w)
    cells = 2 * t + a
    if len(np.unique(cells)) < 4:
        assert np.isnan(mine["did"]) and np.isnan(mine["se"])
        return
    if len(np.unique(g)) < 2:
        assert np.isnan(mine["se"]) and np.isfinite(mine["did"])
        return
    ref = _statsmodels(y, t, a, g, w)
    if ref["se"] < 1e-12:  # a degenerate fit: both say the residuals are zero
        assert mine["se"] < 1e-12
        return
    _agree(mine, ref)


def test_relabelling_clusters_or_rows_changes_nothing():
    rng = np.random.default_rng(7)
    y, t, a, g = _design(rng, 1_200, 60, "unequal", True)
    base = did_2x2(y, t, a, g)
    order = rng.permutation(len(y))
    labels = np.array([f"visit-{i}" for i in rng.permutation(g.max() + 1)])[g]
    moved = did_2x2(y[order], t[order], a[order], labels[order])
    for k in ("did", "se", "p_value"):
        assert moved[k] == pytest.approx(base[k], rel=1e-12)


def test_covariates_keep_the_regression():
    rng = np.random.default_rng(11)
    y, t, a, g = _design(rng, 2_000, 80, "equal", False)
    x = rng.normal(size=len(y))
    y = y + 0.5 * x
    mine = did_2x2(y, t, a, g, covariates=x)
    _agree(mine, _statsmodels(y, t, a, g, extra=x))
    assert mine["se"] < did_2x2(y, t, a, g)["se"]  # the covariate explains variance


def test_empty_cell_single_cluster_and_bad_input():
    r = did_2x2([1, 0, 1], [0, 0, 1], [0, 1, 0], [1, 2, 3])
    assert np.isnan(r["did"]) and np.isnan(r["treated_after"]) and r["n"] == 3
    one = did_2x2([1, 0, 1, 0, 1, 1], [0, 0, 1, 1, 0, 1], [0, 1, 0, 1, 0, 1], [5] * 6)
    assert np.isfinite(one["did"]) and np.isnan(one["se"]) and one["clusters"] == 1
    with pytest.raises(DataError, match="same length"):
        did_2x2([1, 0], [0, 1], [0], [1, 2])
    with pytest.raises(DataError, match="non-negative"):
        did_2x2([1, 0], [0, 1], [0, 1], [1, 2], weights=[1, -1])
