"""Tests of vipquality.metrics.compliance: hand-checked visit scores, t and Wilson intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

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


def test_compliance_is_mean_visit_score_with_t_interval():
    est = compliance(CHECKS)
    scores = np.array([50, 75, 0, 100.0])
    lo, hi = stats.t.interval(0.95, df=3, loc=scores.mean(), scale=stats.sem(scores))
    assert est.value == pytest.approx(56.25)
    assert (est.ci_low, est.ci_high) == (pytest.approx(lo), pytest.approx(hi))
    assert est.se == pytest.approx(stats.sem(scores))
    assert (est.n, est.metric, est.method) == (4.0, "compliance", "t")
    d = est.details
    assert (d["visits"], d["critical_failures"], d["visits_without_score"]) == (5, 1, 1)
    assert "standards" not in d
    assert "standards" in compliance(CHECKS, by_standard=True).details


def test_compliance_without_any_score():
    est = compliance(CHECKS[CHECKS["visit_id"] == "v4"])
    assert np.isnan(est.value) and est.n == 0 and est.details["visits_without_score"] == 1


def test_standard_compliance_hand_checked_and_wilson():
    table = standard_compliance(CHECKS[["visit_id", "item_id", "standard_id", "result"]])
    assert list(table["standard_id"]) == ["advice", "privacy", "welcome"]
    # unit weights; applicable checks: advice no,no,yes (v4 na, v5 missing) -> 1/3;
    # privacy no -> 0/1; welcome yes ×4 (v1, v2, v3, v5; coffee and v4 are na) -> 4/4
    assert list(table["n"]) == [3, 1, 4]
    np.testing.assert_allclose(table["value"], [100 / 3, 0, 100])
    for (_, row), yes in zip(table.iterrows(), [1, 0, 4]):
        lo, hi = proportion_confint(yes, row["n"], alpha=0.05, method="wilson")
        assert row["ci_low"] == pytest.approx(100 * lo)
        assert row["ci_high"] == pytest.approx(100 * hi)


def test_standard_compliance_weighted_share():
    # standard s: yes (w=3) vs no (w=1) -> 75 %, Kish n = (3+1)²/(9+1) = 1.6;
    # standard t: only n.a. -> n = 0, no value
    checks = frame([("v1", "a", "s", "yes", 3.0, False), ("v1", "b", "s", "no", 1.0, False),
                    ("v2", "a", "t", "na", 1.0, False)])
    table = standard_compliance(checks)
    s, t = table.iloc[0], table.iloc[1]
    assert s["value"] == pytest.approx(75) and s["n"] == 2
    assert s["n_effective"] == pytest.approx(1.6)
    assert t["n"] == 0 and np.isnan(t["value"])


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
