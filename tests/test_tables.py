"""Display formatting of the tidy metrics: exact strings for hand-built rows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from vipquality.errors import DataError
from vipquality.report.pages.tables import (
    HTMLTable,
    format_change,
    format_estimate,
    format_interval,
    format_metrics_table,
    format_number,
    format_signed,
    format_table,
    metrics_display_frame,
)

#: The base thresholds the expected texts assume (the reporting defaults: n<30 suppressed,
#: under 100 small). The pages have no defaults of their own: a report passes the workspace's
#: (``**ReportData.thresholds``).
T = {"base_suppress": 30, "base_small": 100}

NAN = math.nan
PLANTED = "77.7777"  # the value of a suppressed group: must never be shown


def _row(segment, metric, value, lo, hi, n, flag, change, significant, quarter="2026Q3"):
    return dict(quarter=quarter, segment=segment, metric=metric, value=value, ci_low=lo,
                ci_high=hi, se=NAN, n=n, base_flag=flag, prev_value=NAN, change=change,
                change_se=NAN, p_value=NAN, p_adjusted=NAN, significant=significant)


@pytest.fixture
def metrics() -> pd.DataFrame:
    return pd.DataFrame([
        _row("premium", "nps", 31.2, 22.4, 40.1, 412, "ok", -9.3, True),
        _row("premium", "csi", 72.44, 70.1, 74.8, 412, "ok", 1.24, False),
        _row("premium", "ces_mean", 5.63, 5.51, 5.76, 400, "ok", NAN, pd.NA),
        _row("premium", "compliance", 87.46, 84.0, 90.91, 300, "ok", 3.1, True),
        _row("luxury", "nps", -5.2, -14.2, 4.4, 64, "small", 2.0, False),
        _row("luxury", "csi", 70.0, 66.0, 74.0, 64, "small", 4.26, True),
        # a suppressed row that was not redacted: its numbers must not leak
        _row("luxury", "compliance", 77.7777, 66.6666, 88.8888, 12, "suppressed", 5.5555, True),
        _row("private", "nps", NAN, NAN, NAN, 17, "suppressed", NAN, pd.NA),
        # an older quarter, ignored
        _row("premium", "nps", 40.5, 31.0, 50.0, 390, "ok", NAN, False, quarter="2026Q2"),
    ])


# --------------------------------------------------------------------------- number helpers
def test_numbers_round_half_away_from_zero_with_a_real_minus():
    assert format_number(30.5) == "31"
    assert format_number(72.45, 1) == "72.5"
    assert format_number(-2.5) == "\u22123"
    assert format_number(-0.2) == "0"  # no "-0"
    assert format_number(NAN) == "\u2013"
    assert format_number(1204.4, 0, thousands=True) == "1,204"
    assert format_signed(2.2) == "+2" and format_signed(-9.4) == "\u22129"
    assert format_signed(0.4) == "0"


def test_estimate_and_interval_strings():
    assert format_estimate(31.2, 22.4, 40.1) == "31 [22\u201340]"
    assert format_estimate(87.46, 84.0, 90.91, 1, "%") == "87.5% [84.0\u201390.9]"
    assert format_interval(-14.2, 4.4) == "[\u221214 to 4]"
    assert format_estimate(5.0, NAN, NAN, 1) == "5.0"


def test_change_has_an_arrow_only_when_significant():
    assert format_change(-9.3, True) == ("\u25bc \u22129", "vq-down")
    assert format_change(5.2, True) == ("\u25b2 +5", "vq-up")
    assert format_change(2.0, False) == ("+2", "vq-ns")
    assert format_change(2.0, pd.NA) == ("+2", "vq-ns")
    assert format_change(NAN, True) == ("\u2013", "vq-na")


# --------------------------------------------------------------------------- metrics table
def test_display_frame_exact_cells(metrics):
    df = metrics_display_frame(metrics, **T).set_index("segment")
    assert list(df.index) == ["premium", "luxury", "private"]
    p = df.loc["premium"]
    assert (p["nps"], p["nps_n"], p["nps_change"]) == ("31 [22\u201340]", "412", "\u25bc \u22129")
    assert (p["csi"], p["csi_change"]) == ("72.4 [70.1\u201374.8]", "+1.2")
    assert (p["ces_mean"], p["ces_mean_change"]) == ("5.6 [5.5\u20135.8]", "\u2013")
    assert (p["compliance"], p["compliance_change"]) == ("87.5% [84.0\u201390.9]", "\u25b2 +3.1")
    lux = df.loc["luxury"]
    assert lux["nps"] == "\u22125 [\u221214 to 4]" and bool(lux["nps_small"])
    assert lux["csi_change"] == "\u25b2 +4.3"
    assert (lux["compliance"], lux["compliance_n"], lux["compliance_change"]) == (
        "n<30", "\u2013", "\u2013")
    assert lux["ces_mean"] == "\u2013"  # no row at all
    assert df.loc["private", "nps"] == "n<30"
    assert not bool(p["nps_small"])


def test_segment_order_comes_from_the_configuration(metrics):
    df = metrics_display_frame(metrics, segment_order=["private", "premium", "luxury"], **T)
    assert list(df["segment"]) == ["private", "premium", "luxury"]


def test_html_table_structure_and_no_suppressed_value(metrics):
    html = format_metrics_table(
        metrics, segment_labels={"premium": "Premium", "luxury": "Luxury"},
        links={"premium": "premium.html"}, table_id="glance", **T)
    assert isinstance(html, HTMLTable) and html._repr_html_() == str(html)
    assert '<table class="vq-table vq-metrics" id="glance">' in html
    assert '<tr id="glance-premium">' in html
    assert '<th scope="row"><a href="premium.html">Premium</a></th>' in html
    assert '<td class="vq-value">31 [22\u201340]</td>' in html
    assert '<td class="vq-change vq-down">\u25bc \u22129</td>' in html
    assert '<td class="vq-change vq-ns">+1.2</td>' in html
    assert '<td class="vq-value vq-suppressed" title="Base under 30: too small to report.">n&lt;30</td>' in html
    assert '\u22125 [\u221214 to 4]<span class="vq-small" title="small base">\u2020</span>' in html
    assert "\u2020 Small base (30\u201399)" in html  # the footnote
    assert "NPS (\u2212100 to 100)" in html and "Compliance, %" in html
    for planted in (PLANTED, "77.8", "66.7", "88.9", "+5.6", ">12<", ">17<"):
        assert planted not in html
    assert "<th></th>" not in html  # no index column
    assert html == format_metrics_table(
        metrics, segment_labels={"premium": "Premium", "luxury": "Luxury"},
        links={"premium": "premium.html"}, table_id="glance", **T)


def test_custom_labels_and_a_chosen_quarter(metrics):
    html = format_metrics_table(metrics, {"nps": "Net Promoter Score"}, quarter="2026Q2",
                                include_css=False, **T)
    assert "Net Promoter Score" in html and "<style>" not in html
    assert "41 [31\u201350]" in html  # 2026Q2's value, half up
    assert "31 [22\u201340]" not in html


def test_input_is_not_changed(metrics):
    before = metrics.copy()
    format_metrics_table(metrics, **T)
    pd.testing.assert_frame_equal(metrics, before)


def test_two_rows_for_one_segment_and_metric_is_an_error(metrics):
    twice = pd.concat([metrics, metrics.iloc[[0]]])
    with pytest.raises(DataError, match="more than one row"):
        format_metrics_table(twice, **T)


def test_missing_columns_are_named():
    with pytest.raises(DataError, match="missing \\['n'\\]"):
        format_metrics_table(pd.DataFrame({"segment": [], "metric": [], "value": []}), **T)


# --------------------------------------------------------------------------- general helper
def test_format_table():
    df = pd.DataFrame({
        "branch": ["B1", "B2", "B3"],
        "compliance": [87.46, 77.7777, NAN],
        "share": [0.4567, 0.5, 0.1],
        "n": [120, 12, 64],
        "base_flag": ["ok", "suppressed", "small"],
    }, index=[10, 11, 12])
    html = format_table(df, {"compliance": ".1f", "share": ".0%", "n": ",.0f"},
                        labels={"compliance": "Compliance, %"}, table_id="branches",
                        include_css=False, **T)
    assert '<th scope="col">Compliance, %</th>' in html
    assert "base_flag" not in html and ">10<" not in html  # flag column and index not shown
    assert '<tr id="branches-0"><td>B1</td><td>87.5</td><td>46%</td><td>120</td></tr>' in html
    assert '<td class="vq-suppressed" title="Base under 30: too small to report.">n&lt;30</td>' in html and PLANTED not in html
    assert 'B3<span class="vq-small" title="small base">\u2020</span>' in html
    assert '<td class="vq-na" title="Not available.">\u2013</td>' in html  # missing value
    assert "\u2013: Not available." in html  # ... and its footnote
    assert "Small base" in html


def test_format_table_thresholds_are_the_callers():
    """No default thresholds: a table with a base flag needs the workspace's; one without does
    not use them."""
    plain = pd.DataFrame({"branch": ["B1"], "compliance": [87.46]})
    assert "<td>87.5</td>" in format_table(plain, {"compliance": ".1f"}, include_css=False)
    flagged = plain.assign(n=[12], base_flag=[None])
    with pytest.raises(TypeError, match="base_suppress= and base_small="):
        format_table(flagged, {"compliance": ".1f"})
    hidden = format_table(flagged, {"compliance": ".1f"}, **T)
    assert "n&lt;30" in hidden and "87.5" not in hidden  # n=12 is under 30
    strict = format_table(flagged, {"compliance": ".1f"}, base_suppress=10, base_small=20)
    assert "87.5" in strict and "\u2020" in strict  # 12 is a small base under these thresholds


def test_without_a_flag_column_the_base_decides_and_a_missing_value_is_a_dash():
    frame = pd.DataFrame({"segment": ["a", "b", "c", "d"], "metric": ["nps"] * 4,
                          "value": [77.7777, 40.0, 30.0, NAN], "ci_low": [70.0, 30.0, 20.0, NAN],
                          "ci_high": [85.0, 50.0, 40.0, NAN], "n": [12, 64, 500, 300]})
    df = metrics_display_frame(frame, ["nps"], **T).set_index("segment")
    assert df["nps"].tolist() == ["n<30", "40 [30\u201350]", "30 [20\u201340]", "\u2013"]
    assert df["nps_small"].tolist() == [False, True, False, False]
    assert df.loc["d", "nps_n"] == "300"


def test_every_blank_cell_says_why_in_a_tooltip_and_a_footnote():
    """A group hidden to protect a smaller one (complementary suppression, base 195) shows
    "–‡" with its reason, not a bare dash that reads as a bug; n<30 says it is a small base."""
    rows = pd.DataFrame({
        "segment": ["le_medium", "le_corporate", "premium"], "metric": "nps",
        "value": [NAN, NAN, 35.0], "ci_low": [NAN, NAN, 31.0], "ci_high": [NAN, NAN, 39.0],
        "n": [195, 12, 1374], "base_flag": ["ok", "suppressed", "ok"],
        "change": [NAN, NAN, NAN], "significant": False,
        "suppressed_reason": ["complement", "small_base", ""]})
    html = format_metrics_table(rows, metrics_shown=["nps"], include_css=False, **T)
    complement = ('<td class="vq-value vq-na" title="Hidden to protect a smaller group: shown, '
                  'it would let the value of a group with a base under 30 be worked out by '
                  'difference.">\u2013<span class="vq-mark">\u2021</span></td>')
    assert complement in html
    assert '<td class="vq-n">195</td>' in html  # the base is shown: it is not a small group
    assert "\u2013\u2021 Hidden to protect a smaller group" in html  # the footnote
    assert 'title="Base under 30: too small to report.">n&lt;30</td>' in html
    # a change with nothing to compare with says so too
    assert 'title="No comparable value for the previous quarter' in html
    assert metrics_display_frame(rows, ["nps"], **T)["nps"].tolist() == [
        "\u2013\u2021", "n<30", "35 [31\u201339]"]
    table = format_table(rows[["segment", "value", "n", "suppressed_reason"]],
                         {"value": ".0f"}, include_css=False, **T)
    assert "suppressed_reason" not in table and "\u2021" in table
