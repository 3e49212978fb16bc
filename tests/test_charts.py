"""Figures built from small synthetic tidy frames: data, titles, colours, and the base rules."""

from __future__ import annotations

import math

import pandas as pd
import plotly.io as pio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vipquality.errors import DataError
from vipquality.report.pages import charts

#: The base thresholds the expected texts assume (the reporting defaults: n<30 suppressed,
#: under 100 small). The pages have no defaults of their own: a report passes the workspace's
#: (``**ReportData.thresholds``).
T = {"base_suppress": 30, "base_small": 100}

NAN = math.nan
QUARTERS = [f"{y}Q{q}" for y in (2024, 2025, 2026) for q in (1, 2, 3, 4)][:11]  # ..2026Q3
LAST8 = QUARTERS[-8:]
CONFIG_ORDER = ["premium", "luxury", "private", "le_sme"]
# planted numbers of suppressed groups: none may appear anywhere in a figure's JSON
SECRET, SECRET_LO, SECRET_HI = 77.7777, 66.6666, 88.8888


@pytest.fixture(autouse=True)
def _clean_theme(monkeypatch):
    """Each test starts with no configured segment order and plotly's default template."""
    monkeypatch.setattr(charts, "_SEGMENT_ORDER", ())
    monkeypatch.setattr(charts, "_SEGMENT_LABELS", {})
    default = pio.templates.default
    yield
    pio.templates.default = default


def _secret_free(fig) -> bool:
    text = fig.to_json()
    return not any(str(x) in text for x in (SECRET, SECRET_LO, SECRET_HI))


def _metrics() -> pd.DataFrame:
    """NPS of three segments over 11 quarters: premium 2026Q1 suppressed, 2025Q3 small."""
    rows = []
    for s, seg in enumerate(["premium", "luxury", "private"]):
        for i, q in enumerate(QUARTERS):
            value = 10.0 * (s + 1) + i
            n, flag = 400 + i, "ok"
            if seg == "premium" and q == "2026Q1":
                value, n, flag = SECRET, 17, "suppressed"
            elif seg == "premium" and q == "2025Q3":
                n, flag = 64, "small"
            lo, hi = (SECRET_LO, SECRET_HI) if flag == "suppressed" else (value - 8, value + 8)
            rows.append(dict(quarter=q, segment=seg, metric="nps", value=value, ci_low=lo,
                             ci_high=hi, se=4.0, n=n, base_flag=flag, prev_value=NAN,
                             change=NAN, change_se=NAN, p_value=NAN, p_adjusted=NAN,
                             significant=False))
    return pd.DataFrame(rows)


def _markers(fig, name_start):
    return next(t for t in fig.data if t.mode == "markers" and t.name.startswith(name_start))


def _line(fig, name_start):
    return next(t for t in fig.data if t.mode == "lines" and t.name.startswith(name_start))


# --------------------------------------------------------------------------- trend
def test_trend_data_titles_and_axes():
    fig = charts.trend(_metrics(), "nps", segment_order=CONFIG_ORDER, **T)
    assert len(fig.data) == 6  # a line and a marker trace per segment
    assert fig.layout.title.text == "NPS, last 8 quarters"
    assert "95% confidence interval" in fig.layout.title.subtitle.text
    assert fig.layout.yaxis.title.text == "NPS (\u2212100 to 100)"
    assert fig.layout.xaxis.title.text == "Quarter"
    assert list(fig.layout.xaxis.categoryarray) == LAST8
    lux = _markers(fig, "luxury")
    assert list(lux.x) == LAST8
    assert list(lux.y) == [20.0 + i for i in range(3, 11)]
    assert list(_line(fig, "luxury").error_y.array) == [8.0] * 8
    # bases readable without hovering: the latest quarter's n in the legend
    assert _line(fig, "luxury").name == "luxury (n=410)"
    assert fig.layout.meta["id"] == "vq-trend-nps"


def test_trend_suppressed_point_is_not_drawn_and_not_in_hover_or_json():
    fig = charts.trend(_metrics(), "nps", segment_order=CONFIG_ORDER, **T)
    prem, line = _markers(fig, "premium"), _line(fig, "premium")
    k = LAST8.index("2026Q1")
    assert prem.y[k] is None and line.y[k] is None
    assert line.error_y.array[k] is None and line.error_y.arrayminus[k] is None
    assert prem.hovertext[k] == ""
    assert _secret_free(fig)


def test_trend_small_base_is_hollow_and_named_in_hover():
    fig = charts.trend(_metrics(), "nps", segment_order=CONFIG_ORDER, **T)
    prem = _markers(fig, "premium")
    k = LAST8.index("2025Q3")
    assert prem.marker.symbol[k] == "circle-open"
    assert "small base" in prem.hovertext[k] and "n=64" in prem.hovertext[k]
    assert [s for i, s in enumerate(prem.marker.symbol) if i != k] == ["circle"] * 7
    assert "small base" not in prem.hovertext[k + 1]


def test_trend_single_segment_shows_bases_under_the_quarters():
    fig = charts.trend(_metrics(), "nps", segments=["premium"], quarters=4, **T)
    assert fig.layout.title.text == "NPS, last 4 quarters: premium"
    assert list(fig.layout.xaxis.ticktext) == [
        "2025Q4<br>n=407", "2026Q1<br>n<30", "2026Q2<br>n=409", "2026Q3<br>n=410"]
    assert fig.layout.meta["id"] == "vq-trend-nps-premium"
    assert _secret_free(fig)


def test_trend_explicit_quarters_and_unknown_metric_rows():
    fig = charts.trend(_metrics(), "nps", quarters=["2025Q1", "2025Q3"],
                       segment_order=CONFIG_ORDER, **T)
    assert list(_markers(fig, "private").y) == [34.0, 36.0]
    empty = charts.trend(_metrics(), "csi", **T)
    assert empty.layout.annotations[0].text == "No value to report for this selection."


def test_trend_duplicate_rows_and_missing_columns_are_errors():
    m = _metrics()
    with pytest.raises(DataError, match="more than one"):
        charts.trend(pd.concat([m, m.iloc[[-1]]]), "nps", **T)
    with pytest.raises(DataError, match="missing \\['ci_low'"):
        charts.trend(m.drop(columns="ci_low"), "nps", **T)


def test_segment_colours_are_stable_across_data_order_and_subsets():
    m = _metrics()
    a = charts.trend(m, "nps", segment_order=CONFIG_ORDER, **T)
    b = charts.trend(m.sample(frac=1, random_state=3), "nps", segment_order=CONFIG_ORDER, **T)
    c = charts.trend(m[m["segment"] != "premium"], "nps", segment_order=CONFIG_ORDER, **T)
    colour = {fig_name: _line(f, "luxury").line.color for fig_name, f in
              (("a", a), ("b", b), ("c", c))}
    assert colour == {"a": charts.PALETTE[1], "b": charts.PALETTE[1], "c": charts.PALETTE[1]}
    assert _line(c, "private").line.color == charts.PALETTE[2]
    assert a.to_json() == b.to_json()


def test_apply_theme_sets_order_labels_and_template():
    class Seg:  # what workspace.segments.segments holds
        def __init__(self, id, label):
            self.id, self.label = id, label

    assert charts.apply_theme([Seg(s, s.title()) for s in CONFIG_ORDER]) == "vipquality"
    assert pio.templates.default == "vipquality"
    assert charts.segment_colors() == dict(zip(CONFIG_ORDER, charts.PALETTE))
    fig = charts.trend(_metrics(), "nps", **T)
    assert _line(fig, "Private").line.color == charts.PALETTE[2]
    assert fig.layout.template.layout.colorway == charts.PALETTE


def test_more_segments_than_colours_change_the_dash():
    order = [f"s{i}" for i in range(10)]
    assert charts.segment_style("s1", order) == {"color": charts.PALETTE[1], "dash": "solid"}
    assert charts.segment_style("s9", order) == {"color": charts.PALETTE[1], "dash": "dash"}
    with pytest.raises(DataError):
        charts.segment_style("other", order)


def test_without_configured_order_segments_are_ordered_by_id():
    fig = charts.trend(_metrics().iloc[::-1], "nps", **T)
    assert [t.name for t in fig.data if t.mode == "lines"] == [
        "luxury (n=410)", "premium (n=410)", "private (n=410)"]
    assert _line(fig, "luxury").line.color == charts.PALETTE[0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flags=st.lists(st.sampled_from(["ok", "small", "suppressed"]), min_size=8, max_size=8))
def test_no_suppressed_value_ever_reaches_the_figure(flags):
    rows = []
    for i, (q, flag) in enumerate(zip(LAST8, flags)):
        v = SECRET + i if flag == "suppressed" else 10.0 + i
        rows.append(dict(quarter=q, segment="premium", metric="nps", value=v, ci_low=v - 1.5,
                         ci_high=v + 2.5, n=50 if flag == "small" else 500, base_flag=flag))
    fig = charts.trend(pd.DataFrame(rows), "nps", segments=["premium"], **T)
    text = fig.to_json()
    for i, flag in enumerate(flags):
        if flag == "suppressed":
            assert str(SECRET + i) not in text and str(SECRET + i - 1.5) not in text
    marks = _markers(fig, "premium")
    assert [y is None for y in marks.y] == [f == "suppressed" for f in flags]


# --------------------------------------------------------------------------- NPS composition
def _shares():
    return pd.DataFrame({
        "group": ["premium", "luxury", "private"],
        "promoters": [45.5, 50.0, SECRET],
        "passives": [30.0, 30.0, 100 - SECRET - 10.0],
        "detractors": [24.5, 20.0, 10.0],
        "n": [412, 64, 12],
    })


def test_nps_composition_bars():
    fig = charts.nps_composition(_shares(), labels={"premium": "Premium"}, **T)
    assert [t.name for t in fig.data] == ["Detractors (0\u20136)", "Passives (7\u20138)",
                                          "Promoters (9\u201310)"]
    assert [t.marker.color for t in fig.data] == [charts.NPS_COLORS[k] for k in
                                                  ("detractors", "passives", "promoters")]
    assert fig.layout.barmode == "stack"
    assert list(fig.data[0].y) == ["Premium \u00b7 n=412", "luxury \u00b7 n=64\u2020",
                                   "private \u00b7 n<30"]
    assert list(fig.data[2].x) == [45.5, 50.0, None]
    assert list(fig.data[2].text) == ["46%", "50%", ""]
    assert fig.layout.xaxis.title.text == "Share of respondents, %"
    assert fig.layout.title.text.startswith("NPS composition")
    assert fig.layout.annotations[0].text == "base too small to report"
    assert _secret_free(fig)


def test_nps_composition_accepts_counts_and_fractions():
    counts = pd.DataFrame({"group": ["2026Q2", "2026Q3"], "promoters": [50, 0.5],
                           "passives": [30, 0.3], "detractors": [20, 0.2], "n": [100, 200]})
    fig = charts.nps_composition(counts, **T)
    assert list(fig.data[2].x) == [50.0, 50.0]
    bad = counts.assign(promoters=[70, 0.5])
    with pytest.raises(DataError, match="add up to 120"):
        charts.nps_composition(bad, **T)


# --------------------------------------------------------------------------- importance–performance
def test_importance_performance_points_labels_and_quadrants():
    frame = pd.DataFrame({
        "attribute": ["competence", "response_speed", "availability", "privileges"],
        "label": ["Manager's competence", "Speed of response", "Availability", "Privileges"],
        "weight": [30.0, 40.0, 20.0, 10.0],
        "performance": [80.0, 58.0, 72.0, SECRET],
        "n": [400, 390, 410, 20],
        "base_flag": ["ok", "ok", "ok", "suppressed"],
    })
    fig = charts.importance_performance(frame, **T)
    (pts,) = fig.data
    assert list(pts.x) == [30.0, 40.0, 20.0] and list(pts.y) == [80.0, 58.0, 72.0]
    # labels visible without hovering: annotations at the points, wrapped at 16 characters,
    # offset so that they do not collide (place_labels)
    labels = [a for a in fig.layout.annotations if a.name == "label"]
    assert [(a.text, a.x, a.y) for a in labels] == [
        ("Manager's<br>competence", 30.0, 80.0), ("Speed of<br>response", 40.0, 58.0),
        ("Availability", 20.0, 72.0)]
    v, h = fig.layout.shapes
    assert v.x0 == pytest.approx(30.0) and h.y0 == pytest.approx(70.0)  # means of those shown
    assert {a.text for a in fig.layout.annotations} >= {"Key strengths: keep",
                                                         "Priorities: improve"}
    assert fig.layout.xaxis.title.text == "Driver weight, % of explained variance"
    assert fig.layout.yaxis.title.text == "Performance (0\u2013100)"
    assert fig.layout.title.subtitle.text.startswith("n=20\u2013410")
    assert "Not shown (n<30): Privileges." in fig.layout.title.subtitle.text
    assert _secret_free(fig)


# --------------------------------------------------------------------------- CES distribution
def test_ces_distribution_shares_and_bands():
    counts = pd.DataFrame({"point": [1, 2, 3, 4, 5, 6, 7],
                           "count": [4, 4, 12, 20, 40, 80, 40]})
    fig = charts.ces_distribution(counts, **T)
    assert [t.name for t in fig.data] == ["Difficult (1\u20133)", "Neutral (4)", "Easy (5\u20137)"]
    shares = [y for t in fig.data for y in t.y]
    assert shares == pytest.approx([2, 2, 6, 10, 20, 40, 20])
    assert list(fig.data[2].text) == ["20%", "40%", "20%"]
    assert fig.layout.yaxis.title.text == "Share of respondents, %"
    assert fig.layout.xaxis.title.text.startswith("Answer (1 = strongly disagree")
    assert fig.layout.title.subtitle.text.startswith("n=200")


def test_ces_distribution_suppressed_and_five_point_scale():
    few = pd.DataFrame({"point": [1, 5], "count": [7, 13]})
    fig = charts.ces_distribution(few, scale=(1, 5), **T)
    assert len(fig.data) == 0 and "n<30" in fig.layout.annotations[0].text
    assert '"13' not in fig.to_json()
    five = charts.ces_distribution(pd.DataFrame({"point": [1, 3, 5], "count": [10, 40, 50]}),
                                   scale=(1, 5), **T)
    assert [t.name for t in five.data] == ["Difficult (1\u20132)", "Neutral (3)", "Easy (4\u20135)"]
    assert list(five.data[2].y) == [0.0, 50.0]  # the point nobody chose still has its bar


# --------------------------------------------------------------------------- compliance
def _standards():
    return pd.DataFrame({
        "standard": ["S01", "S02", "S03"],
        "title": ["Greeting by name, without a queue", "A dedicated line answered fast",
                  "No promise that cannot be kept"],
        "value": [92.5, SECRET, 70.0],
        "ci_low": [88.0, SECRET_LO, 61.0],
        "ci_high": [95.5, SECRET_HI, 78.0],
        "n": [300, 12, 80],
        "base_flag": ["ok", "suppressed", "small"],
    })


def test_compliance_by_standard():
    fig = charts.compliance_by_standard(_standards(), {"S01": 95, "S02": 90, "S03": 90}, **T)
    bars, targets = fig.data
    assert list(bars.y) == [92.5, None, 70.0]
    assert list(bars.error_y.array) == [3.0, None, 8.0]
    assert list(bars.error_y.arrayminus) == [4.5, None, 9.0]
    assert list(targets.y) == [95.0, 90.0, 90.0] and targets.name == "Target"
    assert bars.x[0].startswith("<b>S01</b>") and bars.x[0].endswith("n=300")
    assert bars.x[1].endswith("n<30") and bars.x[2].endswith("n=80\u2020")
    assert list(bars.text) == ["92.5%", "", "70.0%"]
    assert fig.layout.yaxis.title.text == "Compliance, %"
    assert fig.layout.xaxis.title.text == "Service standard"
    assert bars.marker.color == charts.METRIC_COLORS["compliance"]
    assert _secret_free(fig)


def test_compliance_by_branch_sorted_with_target_line():
    frame = pd.DataFrame({"branch": ["Arbat", "Nevsky", "Tverskaya", "Kutuzovsky"],
                          "value": [81.5, SECRET, 91.0, 88.0], "ci_low": [75, SECRET_LO, 86, 80],
                          "ci_high": [87, SECRET_HI, 95, 94], "n": [150, 10, 120, 60],
                          "base_flag": ["ok", "suppressed", "ok", "small"]})
    fig = charts.compliance_by_branch(frame, target=90, **T)
    (bars,) = fig.data
    assert list(bars.y) == ["Tverskaya \u00b7 n=120", "Kutuzovsky \u00b7 n=60\u2020",
                            "Arbat \u00b7 n=150", "Nevsky \u00b7 n<30"]
    assert list(bars.x) == [91.0, 88.0, 81.5, None]
    assert bars.orientation == "h"
    (target,) = fig.layout.shapes
    assert target.x0 == 90 and target.x1 == 90
    assert fig.layout.xaxis.title.text == "Compliance, %"
    assert _secret_free(fig)


# --------------------------------------------------------------------------- tiles and common rules
def test_headline_tiles():
    frame = pd.DataFrame({"metric": ["nps", "csi", "compliance"], "value": [31.2, 72.44, SECRET],
                          "ci_low": [22.4, 70.1, SECRET_LO], "ci_high": [40.1, 74.8, SECRET_HI],
                          "n": [412, 412, 12], "base_flag": ["ok", "ok", "suppressed"],
                          "change": [-9.3, 1.2, 5.0], "significant": [True, False, True]})
    fig = charts.headline_tiles(frame, **T)
    assert [t.value for t in fig.data] == [31.0, 72.4]
    assert "\u25bc \u22129" in fig.data[0].title.text and "n=412" in fig.data[0].title.text
    assert "+1.2, not significant" in fig.data[1].title.text
    assert "n<30" in fig.layout.annotations[0].text
    assert _secret_free(fig)


def _all_figures():
    m = _metrics()
    return [
        charts.trend(m, "nps", **T),
        charts.nps_composition(_shares(), **T),
        charts.importance_performance(pd.DataFrame({"attribute": ["a", "b"], "weight": [60, 40],
                                                    "performance": [70, 80]}), **T),
        charts.ces_distribution(pd.DataFrame({"point": [1, 7], "count": [50, 50]}), **T),
        charts.compliance_by_standard(_standards(), {"S01": 90}, **T),
        charts.compliance_by_branch(pd.DataFrame({"branch": ["A"], "value": [90.0], "ci_low": [85],
                                                  "ci_high": [94], "n": [200]}), **T),
    ]


def test_every_chart_has_title_axis_titles_template_and_id():
    ids = set()
    for fig in _all_figures():
        assert fig.layout.title.text
        assert fig.layout.xaxis.title.text or fig.layout.yaxis.title.text
        assert fig.layout.template.layout.font.family.startswith("system-ui")
        ids.add(fig.layout.meta["id"])
    assert len(ids) == 6


def test_to_html_is_a_stable_fragment_without_plotlyjs():
    fig = charts.trend(_metrics(), "nps", segments=["luxury"], **T)
    a, b = charts.to_html(fig), charts.to_html(charts.trend(_metrics(), "nps",
                                                            segments=["luxury"], **T))
    assert a == b
    assert '<div id="vq-trend-nps-luxury"' in a
    assert "<html" not in a and "cdn.plot.ly" not in a and len(a) < 100_000
    assert 'id="mine"' in charts.to_html(fig, "mine")
    with pytest.raises(DataError, match="div_id"):
        charts.to_html(__import__("plotly.graph_objects").graph_objects.Figure())


def test_to_html_writes_the_title_and_subtitle_as_html_above_the_chart():
    """No legend or mode bar can be drawn over a title that is not in the SVG, and it wraps."""
    fig = charts.trend(_metrics(), "nps", segments=["luxury", "premium"], **T)
    out = charts.to_html(fig)
    head, chart = out.split('<div id="vq-trend-nps', 1)
    assert head.startswith('<figure class="vq-chart"><h3 class="vq-chart-title">NPS, last 8 '
                           'quarters</h3><p class="vq-chart-sub">Bars: 95% confidence interval.')
    assert '"title":{"text":""}' in chart.replace(" ", "")  # not drawn a second time by plotly
    assert fig.layout.title.text == "NPS, last 8 quarters"  # the figure itself is unchanged


def _contrast(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    def lum(h: str) -> float:
        c = [int(h.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted([lum(fg), lum(bg)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_helper_against_known_ratios():
    assert _contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert _contrast("#ffffff", "#D55E00") == pytest.approx(3.87, abs=0.01)


def test_text_on_coloured_bars_passes_wcag_aa():
    """Shares written in the NPS composition bars and compliance values in the compliance bars
    contrast at least 4.5:1 with their bar (WCAG AA for normal text)."""
    figs = [charts.nps_composition(_shares(), **T),
            charts.compliance_by_standard(_standards(), {"S01": 90}, **T)]
    checked = 0
    for fig in figs:
        for trace in fig.data:
            if trace.type == "bar" and trace.text is not None and any(trace.text):
                assert _contrast(trace.textfont.color, trace.marker.color) >= 4.5, trace.name
                checked += 1
    assert checked == 4


def test_importance_performance_labels_do_not_collide():
    """The sample's crowded pair ("Promises and deadlines kept" just above "Manager's
    availability") gets labels on different sides, and no two label boxes meet each other or a
    marker, on a phone-sized plot."""
    xs, ys = [14.1, 14.6, 14.3, 9.0, 20.0], [71.2, 70.4, 70.0, 60.0, 75.0]
    texts = ["Promises and<br>deadlines kept", "Manager's<br>availability", "Respect without<br>fawning",
             "Speed of<br>response", "Competence"]
    offsets = charts.place_labels(xs, ys, texts, [5, 25], [55, 80])
    assert offsets[0] != offsets[1]
    sx, sy = 240 / 20, 380 / 25
    boxes, markers = [], []
    for x, y, t, (ox, oy) in zip(xs, ys, texts, offsets):
        px, py = (x - 5) * sx, (y - 55) * sy
        w, h = charts._text_size(t)
        cx, cy = px + ox, py - oy
        boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        markers.append((px - 5, py - 5, px + 5, py + 5))

    def meet(a, b):
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

    for i, a in enumerate(boxes):
        assert not any(meet(a, b) for b in boxes[i + 1:]), (i, offsets)
        assert not any(meet(a, m) for m in markers), (i, offsets)
