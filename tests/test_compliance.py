"""Tests of vipquality.metrics.compliance: hand-checked visit scores, the bounded visit-score
interval and the visit-clustered share of checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vipquality.errors import DataError
from vipquality.metrics.compliance import compliance, standard_compliance, visit_scores


def frame(rows: list[tuple]) -> pd.DataFrame:
    cols = ["visit_id", "item_id", "standard_id", "result", "weight", "critical"]
    return pd.DataFrame(rows, columns=cols)


# v1: yes(1) no(1) na(5)                      -> 100·1/2 = 50 (n.a. leaves both sums)
# v2: yes(3) no(1)                            -> 100·3/4 = 75 (weights)
# v3: yes(1) yes(1) no on a critical item(1)  -> 0, critical failure (66.67 without the rule)
# v4: na na                                   -> no score, flagged
# v5: yes(2) missing result(1)                -> 100 (a missing answer is left out)
CHECKS = frame([
    ("v1", "greet", "welcome", "yes", 1.0, False),
    ("v1", "offer", "advice", "no", 1.0, False),
    ("v1", "coffee", "welcome", "na", 5.0, False),
    ("v2", "greet", "welcome", "yes", 3.0, False),
    ("v2", "offer", "advice", "no", 1.0, False),
    ("v3", "greet", "welcome", "yes", 1.0, False),
    ("v3", "offer", "advice", "yes", 1.0, False),
    ("v3", "privacy", "privacy", "no", 1.0, True),
    ("v4", "greet", "welcome", "na", 1.0, False),
    ("v4", "offer", "advice", "na", 1.0, False),
    ("v5", "greet", "welcome", "yes", 2.0, False),
    ("v5", "offer", "advice", None, 1.0, False),
])


def test_visit_scores_hand_checked():
    vs = visit_scores(CHECKS)
    assert list(vs["visit_id"]) == ["v1", "v2", "v3", "v4", "v5"]
    np.testing.assert_allclose(vs["score"], [50, 75, 0, np.nan, 100])
    assert list(vs["critical_failure"]) == [False, False, True, False, False]
    assert list(vs["no_score"]) == [False, False, False, True, False]
    assert list(vs["items"]) == [3, 2, 3, 2, 2]
    assert list(vs["applicable"]) == [2, 2, 3, 0, 1]
    np.testing.assert_allclose(vs["applicable_weight"], [2, 4, 3, 0, 2])


def test_critical_rule_is_configurable():
    vs = visit_scores(CHECKS, critical_fails_visit=False)
    assert vs.loc[vs["visit_id"] == "v3", "score"].item() == pytest.approx(200 / 3)
    assert vs["critical_failure"].sum() == 1  # still counted


def test_defaults_without_weight_and_critical_columns():
    checks = CHECKS[["visit_id", "item_id", "result"]]
    vs = visit_scores(checks)
    # unit weights, no critical items: v2 = 50, v3 = 66.67
    np.testing.assert_allclose(vs["score"], [50, 50, 200 / 3, np.nan, 100])
    assert not vs["critical_failure"].any()


def test_compliance_is_mean_visit_score_with_augmented_logit_interval():
    est = compliance(CHECKS)
    scores = np.array([50, 75, 0, 100.0])
    # by hand on 0–1: add one pseudo-visit at 0 and one at 1 -> 6 values, mean 2.25/6
    u = np.array([0.5, 0.75, 0, 1, 0, 1])
    ma, se = u.mean(), u.std(ddof=1) / np.sqrt(6)
    half = stats.norm.ppf(0.975) * se / (ma * (1 - ma))
    lo, hi = (100 / (1 + np.exp(-(np.log(ma / (1 - ma)) + s * half))) for s in (-1, 1))
    assert est.value == pytest.approx(56.25)
    assert (est.ci_low, est.ci_high) == (pytest.approx(lo), pytest.approx(hi))
    assert est.se == pytest.approx(stats.sem(scores))
    assert (est.n, est.metric, est.method) == (4.0, "compliance", "augmented-logit")
    d = est.details
    assert (d["visits"], d["critical_failures"], d["visits_without_score"]) == (5, 1, 1)
    assert "standards" not in d and "interval" not in d
    assert "standards" in compliance(CHECKS, by_standard=True).details


def test_compliance_interval_stays_on_the_scale_with_one_failed_visit():
    # the case: 30 visits, one zeroed by a critical failure; the t-interval reached 103.5
    rows = [(f"v{i}", "greet", "welcome", "yes", 1.0, False) for i in range(29)]
    rows.append(("v29", "privacy", "privacy", "no", 1.0, True))
    est = compliance(frame(rows))
    assert est.value == pytest.approx(2900 / 30)
    assert 0 <= est.ci_low < est.value < est.ci_high <= 100
    assert (round(est.ci_low, 2), round(est.ci_high, 2)) == (77.8, 98.47)


def test_compliance_all_perfect_visits_keep_a_real_interval_containing_the_value():
    rows = [(f"v{i}", "greet", "welcome", "yes", 1.0, False) for i in range(10)]
    est = compliance(frame(rows))
    assert est.value == 100 and est.ci_high == 100 and 50 < est.ci_low < 100


def test_compliance_of_one_visit_has_no_interval_and_says_why():
    est = compliance(CHECKS[CHECKS["visit_id"] == "v1"])
    assert est.value == 50 and np.isnan(est.ci_low) and np.isnan(est.ci_high)
    assert "fewer than 2" in est.details["interval"]


def test_compliance_without_any_score():
    est = compliance(CHECKS[CHECKS["visit_id"] == "v4"])
    assert np.isnan(est.value) and est.n == 0 and est.details["visits_without_score"] == 1


def test_standard_compliance_hand_checked_values():
    table = standard_compliance(CHECKS[["visit_id", "item_id", "standard_id", "result"]])
    assert list(table["standard_id"]) == ["advice", "privacy", "welcome"]
    # unit weights; applicable checks: advice no,no,yes (v4 na, v5 missing) -> 1/3;
    # privacy no -> 0/1; welcome yes ×4 (v1, v2, v3, v5; coffee and v4 are na) -> 4/4
    assert list(table["n"]) == [3, 1, 4]
    assert list(table["visits"]) == [3, 1, 4]
    np.testing.assert_allclose(table["value"], [100 / 3, 0, 100])
    # privacy: one visit -> no interval; welcome: all yes -> base = visits (4), Wilson with t(3)
    assert table["ci_low"].isna().tolist() == [False, True, False]
    t3 = stats.t.ppf(0.975, 3)
    assert table["ci_low"].iloc[2] == pytest.approx(100 * 4 / (4 + t3**2))
    assert table["ci_high"].iloc[2] == 100


def _checks_of(visits: list[tuple[int, int]], standard: str = "s") -> pd.DataFrame:
    """Checks of one standard: (yes, no) per visit."""
    rows = []
    for v, (yes, no) in enumerate(visits):
        rows += [(f"v{v}", f"i{j}", standard, "yes" if j < yes else "no", 1.0, False)
                 for j in range(yes + no)]
    return frame(rows)


def test_standard_compliance_treats_visits_as_clusters():
    # visits 2/2, 2/2, 0/2: p = 2/3, Var = 3/2·(8/3)/36 = 1/9 -> n_eff = 2 (not 6), deff 3
    table = standard_compliance(_checks_of([(2, 0), (2, 0), (0, 2)]))
    row = table.iloc[0]
    assert row["value"] == pytest.approx(200 / 3) and row["n"] == 6
    assert row["n_effective"] == pytest.approx(2) and row["deff"] == pytest.approx(3)
    assert row["se"] == pytest.approx(100 / 3)
    t2 = stats.t.ppf(0.975, 2)
    p, n = 2 / 3, 2.0
    centre = (p + t2**2 / (2 * n)) / (1 + t2**2 / n)
    half = t2 * np.sqrt(p * (1 - p) / n + t2**2 / (4 * n**2)) / (1 + t2**2 / n)
    assert row["ci_low"] == pytest.approx(100 * max(centre - half, 0))
    assert row["ci_high"] == pytest.approx(100 * min(centre + half, 1))


def test_standard_compliance_variance_is_the_cluster_robust_one_of_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    visits = [(3, 1), (4, 0), (1, 2), (2, 2), (5, 0), (0, 3), (3, 0), (2, 1)]
    checks = _checks_of(visits)
    row = standard_compliance(checks).iloc[0]
    y = (checks["result"] == "yes").astype(float).to_numpy()
    groups = pd.factorize(checks["visit_id"])[0]
    fit = sm.OLS(y, np.ones((len(y), 1))).fit(cov_type="cluster", cov_kwds={"groups": groups})
    assert row["value"] == pytest.approx(100 * fit.params[0])
    assert row["se"] == pytest.approx(100 * fit.bse[0])          # deff > 1: not capped
    assert row["deff"] > 1 and row["n_effective"] < row["n"]


def test_standard_compliance_weighted_share_uses_the_kish_base():
    # standard s: yes (w=3) vs no (w=1) in each of two visits -> 75 %, no spread between
    # visits; the base is capped at the Kish base of the 4 checks: (8)²/(2·(9+1)) = 3.2
    # standard t: only n.a. -> n = 0, no value
    checks = frame([("v1", "a", "s", "yes", 3.0, False), ("v1", "b", "s", "no", 1.0, False),
                    ("v2", "a", "s", "yes", 3.0, False), ("v2", "b", "s", "no", 1.0, False),
                    ("v3", "a", "t", "na", 1.0, False)])
    table = standard_compliance(checks)
    s, t = table.iloc[0], table.iloc[1]
    assert s["value"] == pytest.approx(75) and s["n"] == 4
    assert s["n_effective"] == pytest.approx(2)   # no spread: min(visits, Kish 3.2)
    assert t["n"] == 0 and np.isnan(t["value"]) and np.isnan(t["ci_low"])


@pytest.mark.parametrize("bad", ["Yes", "n.a.", "y", "N", " yes", "maybe"])
def test_non_canonical_results_are_rejected(bad):
    checks = CHECKS.copy()
    checks.loc[4, "result"] = bad
    with pytest.raises(DataError, match="result must be one of .* at position 4") as info:
        visit_scores(checks)
    assert info.value.value == bad and info.value.column == "result"


def test_error_located_by_source_file_and_row():
    checks = CHECKS.assign(source_file="2026Q1/mystery_shopper.csv", source_row=range(2, 14))
    checks.loc[3, "weight"] = -1
    with pytest.raises(DataError, match=r"mystery_shopper.csv, row 5, column 'weight'"):
        compliance(checks)


def test_other_errors():
    with pytest.raises(DataError, match="no column"):
        visit_scores(CHECKS.drop(columns="result"))
    with pytest.raises(DataError, match="no column.*standard_id"):
        standard_compliance(CHECKS.drop(columns="standard_id"))
    with pytest.raises(DataError, match="checked twice"):
        visit_scores(pd.concat([CHECKS, CHECKS.iloc[[0]]], ignore_index=True))
    with pytest.raises(DataError, match="critical must be"):
        visit_scores(CHECKS.assign(critical=[None] + [False] * 11))
    with pytest.raises(DataError, match="visit_id is missing"):
        visit_scores(CHECKS.assign(visit_id=[None] + ["v1"] * 11))


def test_input_not_mutated():
    checks = CHECKS.copy()
    compliance(checks, by_standard=True)
    visit_scores(checks, critical_fails_visit=False)
    pd.testing.assert_frame_equal(checks, CHECKS)
