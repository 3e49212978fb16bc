"""Tests of vipquality.metrics.csi: hand-checked index values and the vectorised bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vipquality.errors import DataError
from vipquality.metrics.csi import csi, csi_by_group
from vipquality.metrics.drivers import relative_weights

# Three respondents with missing ratings (scale 1–10), plus one who rated nothing:
#   a: 10, 7, –   mean 8.5 -> s = 100·7.5/9 = 83.333
#   b:  9, 8, 10  mean 9   -> s = 100·8/9   = 88.889
#   c:  –, –, 1   mean 1   -> s = 0
SAT = pd.DataFrame({"a": [10, 7, np.nan, np.nan], "b": [9, 8, 10, np.nan],
                    "c": [np.nan, np.nan, 1, np.nan]}, index=[11, 12, 13, 14])
S_A, S_B, S_C = 100 * 7.5 / 9, 100 * 8 / 9, 0.0
# importance means over the three respondents who rated something: a 9, b 5, c 2
# (respondent 14 rated importance only and is left out)
IMP = pd.DataFrame({"a": [10, 8, np.nan, 1], "b": [5, 5, 5, 1], "c": [np.nan, np.nan, 2, 1]},
                   index=SAT.index)


def test_equal_weights_hand_checked():
    est = csi(SAT, weights="equal", n_boot=0)
    assert est.value == pytest.approx((S_A + S_B + S_C) / 3)  # 57.407
    assert est.n == 3
    assert (est.metric, est.method) == ("csi", "none")
    assert np.isnan(est.ci_low) and np.isnan(est.se)
    attrs = est.details["attributes"]
    assert list(attrs.columns) == ["attribute", "n", "mean", "performance", "weight"]
    assert list(attrs["n"]) == [2, 3, 1]
    np.testing.assert_allclose(attrs["mean"], [8.5, 9, 1])
    np.testing.assert_allclose(attrs["performance"], [S_A, S_B, S_C])
    np.testing.assert_allclose(attrs["weight"], [1 / 3] * 3)


def test_stated_weights_hand_checked():
    est = csi(SAT, IMP, weights="stated", n_boot=0)
    assert est.value == pytest.approx((9 * S_A + 5 * S_B + 2 * S_C) / 16)
    np.testing.assert_allclose(est.details["attributes"]["weight"], [9 / 16, 5 / 16, 2 / 16])


def test_fixed_weights_and_scale():
    est = csi(SAT, weights={"a": 2, "b": 1, "c": 1}, n_boot=0)
    assert est.value == pytest.approx((2 * S_A + S_B + S_C) / 4)
    # on a 0–10 scale the same ratings perform differently: s_a = 85, s_b = 90, s_c = 10
    est = csi(SAT, weights="equal", scale=(0, 10), n_boot=0)
    assert est.value == pytest.approx((85 + 90 + 10) / 3)


def test_unrated_attribute_is_left_out_and_reported():
    sat = SAT.assign(d=np.nan)
    est = csi(sat, weights="equal", n_boot=0)
    assert est.value == pytest.approx((S_A + S_B + S_C) / 3)
    assert est.details["unrated_attributes"] == ["d"]
    assert est.details["attributes"]["weight"].iloc[3] == 0


def test_errors():
    with pytest.raises(DataError, match="need the importance"):
        csi(SAT, weights="stated")
    with pytest.raises(DataError, match="need the outcome"):
        csi(SAT, weights="derived")
    with pytest.raises(DataError, match=r"missing \['c'\]"):
        csi(SAT, weights={"a": 1, "b": 1})
    with pytest.raises(DataError, match="outside the scale 1–10 at position 1") as info:
        csi(SAT.assign(b=[9, 11, 10, np.nan]), weights="equal")
    assert info.value.column == "b"
    with pytest.raises(DataError, match="different indexes"):
        csi(SAT, IMP.reset_index(drop=True))
    with pytest.raises(DataError, match="below 0"):
        csi(SAT, IMP.assign(a=[-1, 8, np.nan, 1]))
    with pytest.raises(ValueError, match="weights must be"):
        csi(SAT, weights="importance")


def survey(n: int = 80, seed: int = 5):
    rng = np.random.default_rng(seed)
    base = rng.integers(4, 11, n)
    sat = pd.DataFrame({name: np.clip(base + rng.integers(-3, 3, n), 1, 10).astype(float)
                        for name in ("competence", "speed", "respect")})
    sat = sat.mask(rng.random(sat.shape) < 0.1)
    imp = pd.DataFrame(rng.integers(5, 11, sat.shape).astype(float), columns=sat.columns)
    outcome = pd.Series(np.clip(base + rng.integers(-1, 2, n), 1, 10).astype(float))
    return sat, imp, outcome


def naive_csi(sat: np.ndarray, imp: np.ndarray) -> float:
    """Stated-weights CSI of one (resampled) table, written plainly for the loop reference."""
    perf = 100 * (np.nanmean(sat, axis=0) - 1) / 9
    w = np.nanmean(imp, axis=0)
    return float((w * perf).sum() / w.sum())


def test_bootstrap_reproducible_contains_estimate_and_equals_naive_loop():
    sat, imp, _ = survey()
    est = csi(sat, imp, n_boot=400, seed=3)
    again = csi(sat, imp, n_boot=400, seed=3)
    other = csi(sat, imp, n_boot=400, seed=4)
    assert (est.ci_low, est.ci_high, est.se) == (again.ci_low, again.ci_high, again.se)
    assert (est.ci_low, est.ci_high) != (other.ci_low, other.ci_high)
    assert est.ci_low < est.value < est.ci_high
    assert est.method == "bootstrap-percentile" and est.details["n_boot_failed"] == 0
    # Same draws (one index matrix from the seeded generator over the respondents who rated
    # something, drawn as the smallest unsigned integers holding the row numbers; the survey
    # has one who rated nothing), computed one resample at a time with the stated weights
    # re-estimated in each: identical percentiles.
    kept = sat.notna().any(axis=1).to_numpy()
    assert est.n == kept.sum() == len(sat) - 1
    S, I = sat.to_numpy()[kept], imp.to_numpy()[kept]
    idx = np.random.default_rng(3).integers(0, len(S), size=(400, len(S)), dtype=np.uint16)
    reps = [naive_csi(S[i], I[i]) for i in idx]
    assert est.ci_low == pytest.approx(np.quantile(reps, 0.025), rel=1e-12)
    assert est.ci_high == pytest.approx(np.quantile(reps, 0.975), rel=1e-12)
    assert est.se == pytest.approx(np.std(reps, ddof=1), rel=1e-10)


def test_derived_weights_and_their_bootstrap():
    sat, _, outcome = survey()
    est = csi(sat, weights="derived", outcome=outcome, n_boot=60, seed=1)
    rw = relative_weights(sat, outcome)
    np.testing.assert_allclose(est.details["attributes"]["weight"], rw["rescaled"] / 100)
    perf = est.details["attributes"]["performance"].to_numpy()
    assert est.value == pytest.approx(float((rw["rescaled"] / 100 * perf).sum()))
    # reference: re-estimate the relative weights on each explicitly resampled table
    kept = sat.notna().any(axis=1).to_numpy()
    sat, outcome = sat[kept], outcome[kept]
    idx = np.random.default_rng(1).integers(0, len(sat), size=(60, len(sat)), dtype=np.uint16)
    reps = []
    for i in idx:
        s, y = sat.iloc[i].reset_index(drop=True), outcome.iloc[i].reset_index(drop=True)
        w = relative_weights(s, y)["raw_weight"].to_numpy()
        p = 100 * (s.mean().to_numpy() - 1) / 9
        reps.append((w * p).sum() / w.sum())
    assert est.ci_low == pytest.approx(np.quantile(reps, 0.025), rel=1e-9)
    assert est.ci_high == pytest.approx(np.quantile(reps, 0.975), rel=1e-9)


def test_derived_weights_need_enough_complete_rows():
    with pytest.raises(DataError, match="derived CSI weights: .*complete rows"):
        csi(SAT, weights="derived", outcome=pd.Series([1, 2, 3, 4], index=SAT.index))


def test_inputs_not_mutated():
    sat, imp, outcome = survey(40)
    copies = sat.copy(), imp.copy(), outcome.copy()
    csi(sat, imp, n_boot=50)
    csi(sat, weights="derived", outcome=outcome, n_boot=20)
    pd.testing.assert_frame_equal(sat, copies[0])
    pd.testing.assert_frame_equal(imp, copies[1])
    pd.testing.assert_series_equal(outcome, copies[2])


def test_non_integer_ratings_use_float64_and_match_the_loop():
    # half-points are not integers: the resample sums stay in float64 (no float32 shortcut)
    sat, imp, _ = survey(60, seed=9)
    sat = sat + 0.25
    est = csi(sat, imp, n_boot=100, seed=2, scale=(1, 10.25))
    kept = sat.notna().any(axis=1).to_numpy()
    S, I = sat.to_numpy()[kept], imp.to_numpy()[kept]
    idx = np.random.default_rng(2).integers(0, len(S), size=(100, len(S)), dtype=np.uint16)
    reps = [float((np.nanmean(I[i], axis=0) * 100 * (np.nanmean(S[i], axis=0) - 1) / 9.25).sum()
                  / np.nanmean(I[i], axis=0).sum()) for i in idx]
    assert est.ci_low == pytest.approx(np.quantile(reps, 0.025), rel=1e-12)
    assert est.se == pytest.approx(np.std(reps, ddof=1), rel=1e-10)


def test_csi_by_group_equals_csi_per_group_with_spawned_seeds_and_any_workers():
    sat, imp, outcome = survey(120, seed=7)
    groups = pd.Series(np.where(np.arange(120) % 3 == 0, "b", "a"))
    groups[5] = None  # a row without a group is left out
    out = csi_by_group(sat, groups, imp, n_boot=150, seed=4, workers=2)
    assert list(out) == ["a", "b"]
    children = np.random.SeedSequence(4).spawn(2)
    for child, (g, est) in zip(children, out.items()):
        rows = (groups == g).to_numpy()
        ref = csi(sat[rows], imp[rows], n_boot=150, seed=child)
        assert (est.value, est.ci_low, est.ci_high, est.se) == \
            (ref.value, ref.ci_low, ref.ci_high, ref.se)
    serial = csi_by_group(sat, groups, imp, n_boot=150, seed=4, workers=1)
    assert all(serial[g].ci_low == out[g].ci_low for g in out)
    derived = csi_by_group(sat, groups, weights="derived", outcome=outcome, n_boot=30)
    assert set(derived) == {"a", "b"}
    with pytest.raises(DataError, match="one value per row"):
        csi_by_group(sat, groups[:-1], imp)


def test_one_respondent_or_no_spread_gives_no_zero_width_interval():
    # the case: one respondent gave a zero-width bootstrap interval
    one = csi(pd.DataFrame({"a": [7.0], "b": [9.0]}), weights="equal", n_boot=200)
    assert one.value == pytest.approx(100 * (8 - 1) / 9)
    assert np.isnan(one.ci_low) and np.isnan(one.ci_high)
    assert "fewer than 2" in one.details["interval"]
    same = csi(pd.DataFrame({"a": [7.0] * 20, "b": [9.0] * 20}), weights="equal", n_boot=200)
    assert np.isnan(same.ci_low) and "same" in same.details["interval"]
    spread = csi(pd.DataFrame({"a": [7.0, 8.0] * 10, "b": [9.0] * 20}), weights="equal",
                 n_boot=200)
    assert spread.ci_low < spread.value < spread.ci_high and "interval" not in spread.details
