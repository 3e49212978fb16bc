"""Generated sentences: exact wording for hand-built cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from vipquality.errors import DataError
from vipquality.report.pages.narrative import explain_changes

#: The base thresholds the expected texts assume (the reporting defaults: n<30 suppressed,
#: under 100 small). The pages have no defaults of their own: a report passes the workspace's
#: (``**ReportData.thresholds``).
T = {"base_suppress": 30, "base_small": 100}

NAN = math.nan
LABELS = {"response_speed": "Speed of response", "competence": "Manager's competence"}


def _m(metric, value, change=NAN, significant=False, n=412, flag="ok", prev=NAN):
    if math.isnan(prev) and not math.isnan(change) and not math.isnan(value):
        prev = value - change
    return dict(quarter="2026Q3", segment="premium", metric=metric, value=value, ci_low=NAN,
                ci_high=NAN, se=NAN, n=n, base_flag=flag, prev_value=prev, change=change,
                change_se=NAN, p_value=NAN, p_adjusted=NAN, significant=significant)


def _frame(*rows):
    return pd.DataFrame(list(rows))


def test_significant_fall():
    out = explain_changes(_frame(_m("nps", 31.2, -9.1, True)), n_compared=6, **T)
    assert out == ["NPS fell 9 points to 31 (significant after adjustment for 6 segments "
                   "compared)."]


def test_significant_rise_one_decimal_metrics_and_units():
    out = explain_changes(_frame(
        _m("csi", 74.14, 2.26, True),
        _m("compliance", 82.04, -4.46, True),
        _m("nps", 48.4, 6.2, True),
    ), n_compared=6, **T)
    assert out == [  # always NPS, CSI, CES, compliance order
        "NPS rose 6 points to 48 (significant after adjustment for 6 segments compared).",
        "CSI rose 2.3 points to 74.1 (significant after adjustment for 6 segments compared).",
        "Compliance fell 4.5 percentage points to 82.0% (significant after adjustment for 6 "
        "segments compared).",
    ]


def test_steady_and_without_the_number_of_comparisons():
    assert explain_changes(_frame(_m("nps", 42.3, 2.4, False)), **T) == [
        "NPS held steady at 42 (change +2, not significant)."]
    assert explain_changes(_frame(_m("nps", 42.3, -9.0, True)), **T) == [
        "NPS fell 9 points to 42 (significant after adjustment for multiple comparisons)."]
    assert explain_changes(_frame(_m("nps", 42.0, 0.2, pd.NA)), **T) == [
        "NPS held steady at 42 (change 0, not significant)."]


def test_singular_point_and_tiny_significant_change():
    assert explain_changes(_frame(_m("nps", 42.0, 1.2, True)), n_compared=1, **T) == [
        "NPS rose 1 point to 42 (significant)."]
    assert explain_changes(_frame(_m("nps", 42.0, -0.3, True)), n_compared=1, **T) == [
        "NPS fell less than 1 point to 42 (significant)."]


def test_suppressed_gives_no_number():
    rows = _frame(_m("nps", 77.7777, -5.5555, True, n=17, flag="suppressed"),
                  _m("csi", NAN, NAN, pd.NA, n=12, flag="suppressed"))
    out = explain_changes(rows, n_compared=6, **T)
    assert out == ["NPS: base too small to report (n<30).",
                   "CSI: base too small to report (n<30)."]
    assert not any(s in " ".join(out) for s in ("78", "77", "5.6", "6 points", "17"))


def test_small_base_and_no_previous_quarter():
    assert explain_changes(_frame(_m("nps", 42.3, 2.4, False, n=64, flag="small")), **T) == [
        "NPS held steady at 42 (change +2, not significant; small base, n=64)."]
    assert explain_changes(_frame(_m("nps", 42.3)), **T) == [
        "NPS is 42 this quarter; no comparable figure for the previous quarter."]
    assert explain_changes(_frame(_m("ces_mean", 5.63, n=64, flag="small")), **T) == [
        "CES is 5.6 this quarter; no comparable figure for the previous quarter "
        "(small base, n=64)."]


def test_largest_driver_fell():
    metrics = _frame(
        _m("nps", 31.2, -9.1, True),
        _m("attr:response_speed", 58.3, -12.6, True, prev=70.9),
        _m("attr:competence", 80.0, 1.0, False, prev=79.0),
    )
    drivers = pd.DataFrame({"attribute": ["competence", "response_speed"], "weight": [18.0, 31.5]})
    out = explain_changes(metrics, drivers, LABELS, n_compared=6, **T)
    assert out == [
        "NPS fell 9 points to 31 (significant after adjustment for 6 segments compared).",
        "The largest driver, Speed of response, fell from 71 to 58.",
    ]


def test_driver_wording_variants():
    drivers = pd.DataFrame({"attribute": ["response_speed"], "weight": [31.5]})
    rose = _frame(_m("attr:response_speed", 66.0, 5.0, True, prev=61.0))
    assert explain_changes(rose, drivers, LABELS, **T)[-1] == (
        "The largest driver, Speed of response, rose from 61 to 66.")
    ns = _frame(_m("attr:response_speed", 66.0, 5.0, False, prev=61.0))
    assert explain_changes(ns, drivers, LABELS, **T)[-1] == (
        "The largest driver, Speed of response, moved from 61 to 66 (not significant).")
    same = _frame(_m("attr:response_speed", 66.2, 0.3, False, prev=65.9))
    assert explain_changes(same, drivers, LABELS, **T)[-1] == (
        "The largest driver, Speed of response, held steady at 66.")
    hidden = _frame(_m("attr:response_speed", 77.7777, 5.0, True, n=20, flag="suppressed"))
    out = explain_changes(hidden, drivers, LABELS, **T)
    assert out == ["The largest driver, Speed of response, has a base too small to report "
                   "(n<30)."]
    assert explain_changes(hidden, drivers, **T)[-1].startswith(
        "The largest driver, response_speed,")


def test_driver_ties_are_broken_by_id_and_missing_columns_named():
    metrics = _frame(_m("attr:competence", 80.0, 1.0, False, prev=79.0),
                     _m("attr:response_speed", 58.0, -13.0, True, prev=71.0))
    tie = pd.DataFrame({"attribute": ["response_speed", "competence"], "weight": [25.0, 25.0]})
    assert "Manager's competence" in explain_changes(metrics, tie, LABELS, **T)[-1]
    with pytest.raises(DataError, match="weight"):
        explain_changes(metrics, pd.DataFrame({"attribute": ["competence"]}), LABELS, **T)


def test_deterministic_and_input_unchanged():
    metrics = _frame(_m("nps", 31.2, -9.1, True), _m("csi", 70.0, 0.4, False))
    before = metrics.copy()
    assert explain_changes(metrics, **T) == explain_changes(metrics.iloc[::-1], **T)
    pd.testing.assert_frame_equal(metrics, before)


def test_a_missing_value_with_a_sufficient_base_is_not_called_suppressed():
    assert explain_changes(_frame(_m("nps", NAN, n=300)), **T) == [
        "NPS: no value to report this quarter."]
    no_flag = _frame(_m("nps", 77.7777, 3.0, True, n=12)).drop(columns="base_flag")
    assert explain_changes(no_flag, **T) == ["NPS: base too small to report (n<30)."]


def test_significant_attribute_moves_are_named_after_the_driver_sentence():
    m = pd.DataFrame({
        "metric": ["nps", "attr:competence", "attr:response_speed", "attr:respect"],
        "value": [11.6, 81.0, 45.6, 80.0], "prev_value": [27.4, 81.2, 61.8, 79.0],
        "n": [800, 780, 771, 790], "base_flag": ["ok"] * 4,
        "change": [-15.8, -0.2, -16.2, 1.0], "significant": [True, False, True, False]})
    drivers = pd.DataFrame({"attribute": ["competence", "response_speed"], "weight": [20.0, 15.0]})
    out = explain_changes(m, drivers, {"competence": "Manager's competence",
                                       "response_speed": "Speed of response"}, n_compared=6, **T)
    assert out[0] == ("NPS fell 16 points to 12 "
                      "(significant after adjustment for 6 segments compared).")
    assert out[-1] == "Also significant: Speed of response fell from 62 to 46."


def test_no_attribute_sentence_when_nothing_moved_significantly():
    m = pd.DataFrame({"metric": ["attr:respect"], "value": [80.0], "prev_value": [79.0],
                      "n": [790], "base_flag": ["ok"], "change": [1.0], "significant": [False]})
    assert explain_changes(m, **T) == []


def test_a_group_hidden_to_protect_a_smaller_one_says_so():
    """Complementary suppression (base 195, suppressed_reason "complement"): not "too small"."""
    row = _frame(_m("nps", NAN, n=195)).assign(suppressed_reason="complement")
    assert explain_changes(row, **T) == [
        "NPS: not shown, to protect a smaller group (shown, it would let a group with a base "
        "under 30 be worked out by difference)."]
