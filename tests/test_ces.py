"""Tests of vipquality.metrics.ces against scipy / statsmodels and hand arithmetic."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from vipquality.errors import DataError
from vipquality.metrics.ces import ces

X = [7, 6, 6, 5, 4, 3, 7, 2, 6, 5, 1, 7]  # easy (5–7): 8, neutral (4): 1, difficult (1–3): 3


def test_mean_and_its_bounded_interval_by_hand():
    x = np.array(X, dtype=float)
    est = ces(X)
    # on 0–1: u = (x − 1)/6, plus one pseudo-answer at 0 and one at 1; normal on the logit
    u = np.r_[(x - 1) / 6, 0.0, 1.0]
    ma, se_u = u.mean(), u.std(ddof=1) / np.sqrt(u.size)
    half = stats.norm.ppf(0.975) * se_u / (ma * (1 - ma))
    lo, hi = (1 + 6 / (1 + np.exp(-(np.log(ma / (1 - ma)) + k * half))) for k in (-1, 1))
    assert est.value == pytest.approx(x.mean())
    assert est.se == pytest.approx(stats.sem(x))
    assert (est.ci_low, est.ci_high) == (pytest.approx(lo), pytest.approx(hi))
    assert (est.metric, est.method, est.n) == ("ces_mean", "augmented-logit", 12.0)
    assert est.details["sd"] == pytest.approx(x.std(ddof=1))


def test_mean_interval_stays_on_the_scale_where_t_leaves_it():
    # t-interval of (1, 2): 1.5 ± 12.706·0.5 -> (−4.85, 7.85); the bounded one stays in 1–7
    est = ces([1, 2])
    assert 1 <= est.ci_low < est.value < est.ci_high <= 7


def test_easy_share_matches_statsmodels_wilson():
    est = ces(X, kind="easy", confidence=0.9)
    lo, hi = proportion_confint(8, 12, alpha=0.1, method="wilson")
    assert est.value == pytest.approx(100 * 8 / 12)
    assert (est.ci_low, est.ci_high) == (pytest.approx(100 * lo), pytest.approx(100 * hi))
    assert est.se == pytest.approx(100 * math.sqrt(8 / 12 * 4 / 12 / 12))
    assert (est.metric, est.method) == ("ces_easy", "wilson")


def test_net_easy_adjusted_wald_hand_checked():
    # e = 8/12, d = 3/12: NE = 100·5/12 = 41.667; v = (e + d) - (e - d)² = 11/12 - 25/144
    # SE = 100·sqrt(v/12) (reported); the interval is the NPS's adjusted Wald (Rocks 2016):
    # easy 8 + 3/4, difficult 3 + 3/4 of 12 + 3, centre ± z·100·sqrt(v*/15)
    e, d = 8 / 12, 3 / 12
    se = 100 * math.sqrt(((e + d) - (e - d) ** 2) / 12)
    z = NormalDist().inv_cdf(0.975)
    ea, da = 8.75 / 15, 3.75 / 15
    centre, half = 100 * (ea - da), z * 100 * math.sqrt(((ea + da) - (ea - da) ** 2) / 15)
    est = ces(X, kind="net_easy")
    assert est.value == pytest.approx(100 * (e - d))
    assert est.se == pytest.approx(se)
    assert est.ci_low == pytest.approx(centre - half)
    assert est.ci_high == pytest.approx(centre + half)
    assert (est.metric, est.method) == ("ces_net_easy", "adjusted-wald")
    assert est.details["neutral_pct"] == pytest.approx(100 / 12)


def test_net_easy_all_easy_has_a_real_interval_on_the_scale():
    # the case: the plain Wald interval gave (100, 100)
    est = ces([7] * 10, kind="net_easy")
    assert est.value == 100 and est.ci_high == 100 and 40 < est.ci_low < 100


@pytest.mark.parametrize("kind", ["mean", "easy", "net_easy"])
def test_one_respondent_gives_no_interval_and_says_why(kind):
    est = ces([6], kind=kind)
    assert np.isnan(est.ci_low) and np.isnan(est.ci_high)
    assert "fewer than 2" in est.details["interval"]


def test_mean_of_identical_answers_keeps_a_real_interval():
    # no spread in the sample, but the pseudo-answers at 1 and 7 keep a non-zero width
    est = ces([5] * 40)
    assert est.value == 5 and est.ci_low < 5 < est.ci_high and "interval" not in est.details


def test_five_point_scale_splits_top2_bottom2():
    est = ces([5, 4, 3, 2, 1, 4], scale=(1, 5), kind="net_easy")
    assert est.details["easy_pct"] == pytest.approx(50.0)        # 5, 4, 4
    assert est.details["difficult_pct"] == pytest.approx(100 / 3)  # 2, 1
    assert est.details["easy_points"] == (4, 5)
    assert est.details["difficult_points"] == (1, 2)


def test_scores_off_the_scale_are_rejected():
    with pytest.raises(DataError, match="outside the scale 1–7 at position 1"):
        ces([7, 8])
    with pytest.raises(DataError, match="outside the scale 1–5"):
        ces([5, 6], scale=(1, 5))
    with pytest.raises(DataError, match="integer from 1 to 7 at position 0"):
        ces([4.5])


def test_invalid_arguments():
    with pytest.raises(ValueError, match="kind"):
        ces(X, kind="median")
    with pytest.raises(ValueError, match="odd number of points"):
        ces([1, 6], scale=(1, 6), kind="easy")
    assert ces([1, 6], scale=(1, 6)).value == 3.5  # a mean needs no split


def test_missing_left_out_and_weights():
    assert ces([7, np.nan, 1]).value == 4.0
    # weighted mean (7·3 + 1·1)/4 = 5.5; Kish n = 16/10
    est = ces([7, 1], weights=[3, 1])
    assert est.value == pytest.approx(5.5) and est.n == pytest.approx(1.6)
    plain, equal = ces(X, kind="mean"), ces(X, kind="mean", weights=[0.3] * len(X))
    for field in ("value", "se", "ci_low", "ci_high", "n"):
        assert getattr(equal, field) == pytest.approx(getattr(plain, field), rel=1e-12)


def test_single_and_empty():
    one = ces([5])
    assert one.value == 5 and np.isnan(one.ci_low) and np.isnan(one.se)
    none = ces([np.nan], kind="easy")
    assert np.isnan(none.value) and none.n == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.integers(1, 7), st.just(np.nan)), min_size=1, max_size=60),
       st.sampled_from(["mean", "easy", "net_easy"]))
def test_properties(values, kind):
    s = pd.Series(values, dtype=float)
    before = s.copy()
    est = ces(s, kind=kind)
    pd.testing.assert_series_equal(s, before)  # never mutates the caller's data
    if s.notna().sum() == 0:
        assert np.isnan(est.value)
        return
    bounds = {"mean": (1, 7), "easy": (0, 100), "net_easy": (-100, 100)}[kind]
    assert bounds[0] <= est.value <= bounds[1]
    if s.notna().sum() < 2:
        assert np.isnan(est.ci_low) and np.isnan(est.ci_high) and "interval" in est.details
    else:
        assert bounds[0] <= est.ci_low < est.ci_high <= bounds[1]   # on the scale, never zero width
        assert est.ci_low - 1e-9 <= est.value <= est.ci_high + 1e-9
