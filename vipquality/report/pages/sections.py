"""What each report page shows, built from :class:`~vipquality.report.data.ReportData`.

The notebooks in ``notebooks/`` call one function per section and display what it returns
(plotly figures and HTML tables), so a page's content is library code with tests, and a
notebook cell stays a line or two. Nothing here computes statistics: it selects rows of the
shared tables and hands them to :mod:`vipquality.report.pages.charts`, :mod:`vipquality.report.pages.tables` and
:mod:`vipquality.report.pages.narrative`. Executive tables are redacted first (:func:`executive`).

Examples
--------
>>> import vipquality as vq                                          # doctest: +SKIP
>>> data = vq.report_data()                                          # doctest: +SKIP
>>> for fig in vq.pages.segment_trends(data, "luxury"):             # doctest: +SKIP
...     fig.show()
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from vipquality.config import ALL_SEGMENT
from vipquality.report.data import ReportData
from vipquality.report.executive import executive_table
from vipquality.report.pages import charts, narrative, tables
from vipquality.standards.agenda import ACTION_LABELS

__all__ = [
    "setup", "page_title", "quarter_table", "segment_links",
    "segment_headline", "kpi_cards",
    "segment_story", "segment_trends", "overview_trends", "highlights", "segment_composition",
    "segment_drivers",
    "segment_effort", "segment_compliance", "segment_branches", "shopper_caveat",
    "segment_managers",
    "standards_table", "standards_proposals", "standards_revisions", "standards_chart",
    "standards_revision_details", "overall_drivers",
    "HEADLINE",
]

HEADLINE = ("nps", "csi", "ces_mean", "compliance")


def _current(data: ReportData, name: str, segment: str | None = None) -> pd.DataFrame:
    """:func:`executive_table` rows of the reported quarter (and one segment)."""
    frame = executive_table(data, name)
    frame = frame[frame["quarter"] == data.quarter]
    if segment is not None:
        frame = frame[frame["segment"] == segment]
    return frame.reset_index(drop=True)


def _hidden_groups(data: ReportData, metric: str) -> set[tuple[str, str]]:
    """(quarter, segment) pairs whose ``metric`` executives may not see."""
    m = executive_table(data, "metrics")
    rows = m[(m["metric"] == metric) & m["value"].isna()]
    return set(zip(rows["quarter"].astype(str), rows["segment"].astype(str)))


def setup(data: ReportData) -> None:
    """Register the chart theme with the configured segment order (stable colours per segment)."""
    segs = data.segments
    charts.apply_theme(
        [type("S", (), {"id": r.segment, "label": r.label}) for r in segs.itertuples()])


def page_title(data: ReportData, title: str) -> str:
    """An HTML heading with the workspace name and quarter."""
    name = html.escape(str(data.settings.get("workspace_name", "")))
    return (f"<h1>{html.escape(title)} — {html.escape(data.quarter)}</h1>"
            f"<p class='vq-sub'>{name}. Compared with {html.escape(data.previous or 'no earlier quarter')}. "
            f"Bases under {data.thresholds['base_suppress']} are not shown; "
            f"under {data.thresholds['base_small']} they are marked as small.</p>")


def _labels(data: ReportData) -> dict[str, str]:
    return dict(zip(data.segments["segment"], data.segments["label"]))


def _shown(data: ReportData) -> list[str]:
    return data.segments.loc[data.segments["report"], "segment"].tolist()


def _n_compared(data: ReportData) -> int:
    return max(1, len(_shown(data)) - 1)


def quarter_table(data: ReportData, links: bool = True) -> tables.HTMLTable:
    """The quarter at a glance: one row per segment, headline metrics with intervals and change."""
    current = _current(data, "metrics")
    page_links = ({s: f"segment-{s}.html" for s in _shown(data)} if links else None)
    return tables.format_metrics_table(
        current, metrics_shown=HEADLINE, segment_labels=_labels(data),
        segment_order=_shown(data), links=page_links, quarter=data.quarter,
        caption=f"Headline metrics, {data.quarter} (95 % intervals; change vs {data.previous})",
        confidence=data.settings.get("confidence", 0.95), **data.thresholds)


def segment_links(data: ReportData) -> str:
    """HTML list of links to every segment page and the standards review."""
    items = "".join(f"<li><a href='segment-{s}.html'>{html.escape(_labels(data)[s])}</a></li>"
                    for s in _shown(data))
    return (f"<ul class='vq-links'>{items}<li><a href='standards_review.html'>"
            "Service standards review</a></li></ul>")


def highlights(data: ReportData) -> str:
    """The segments whose headline metrics changed significantly this quarter, one line each
    (HTML list), so the summary says where to look first."""
    current = data.current("metrics")
    moved = current[current["metric"].isin(HEADLINE) & current["significant"].astype(bool)
                    & (current["base_flag"] != "suppressed")
                    & (current["segment"] != ALL_SEGMENT)]
    if moved.empty:
        return "<p class='vq-story'>No segment's headline metric changed significantly.</p>"
    items = []
    for segment in [s for s in _shown(data) if s in set(moved["segment"])]:
        rows = moved[moved["segment"] == segment]
        sentences = narrative.explain_changes(rows, n_compared=_n_compared(data),
                                              **data.thresholds)
        link = f"<a href='segment-{segment}.html'>{html.escape(data.segment_label(segment))}</a>"
        items.append(f"<li>{link}: {html.escape(' '.join(sentences))}</li>")
    return "<ul class='vq-highlights'>" + "".join(items) + "</ul>"


def kpi_cards(data: ReportData, segment: str = ALL_SEGMENT) -> tables.HTMLTable:
    """Headline KPI cards of one segment (default: all clients) for the quarter: value,
    interval, change arrow and base per headline metric; a hidden value says why."""
    rows = _current(data, "metrics", segment)
    return tables.format_kpi_cards(
        rows, HEADLINE, colors={m: charts.metric_color(m) for m in HEADLINE},
        confidence=data.settings.get("confidence", 0.95), card_id=f"vq-kpi-{segment}",
        **data.thresholds)


def segment_headline(data: ReportData, segment: str) -> tables.HTMLTable:
    """Headline KPI cards of one segment for the quarter (:func:`kpi_cards`)."""
    return kpi_cards(data, segment)


def segment_story(data: ReportData, segment: str) -> str:
    """A few generated sentences: what changed and why it matters (HTML paragraph list)."""
    rows = _current(data, "metrics", segment)
    drivers = data.drivers[data.drivers["segment"] == segment].rename(
        columns={"rescaled": "weight"})
    sentences = narrative.explain_changes(
        rows, drivers if len(drivers) else None, data.settings.get("attribute_labels"),
        n_compared=_n_compared(data), **data.thresholds)
    return "".join(f"<p class='vq-story'>{html.escape(s)}</p>" for s in sentences)


def segment_trends(data: ReportData, segment: str) -> list[go.Figure]:
    """NPS, CSI, CES and compliance over the trend window, this segment against all clients."""
    segments = [segment] if segment == ALL_SEGMENT else [ALL_SEGMENT, segment]
    metrics = executive_table(data, "metrics")
    return [charts.trend(metrics, m, segments=segments, quarters=data.quarters,
                         fig_id=f"trend-{m}-{segment}", **data.thresholds)
            for m in HEADLINE if (metrics["metric"] == m).any()]


def overview_trends(data: ReportData) -> list[go.Figure]:
    """NPS and CSI over the trend window, one line per reported segment."""
    metrics = executive_table(data, "metrics")
    return [charts.trend(metrics, m, segments=_shown(data), quarters=data.quarters,
                         fig_id=f"overview-{m}", **data.thresholds)
            for m in ("nps", "csi") if (metrics["metric"] == m).any()]


def segment_composition(data: ReportData, segment: str) -> go.Figure:
    """Promoters / passives / detractors per quarter for the segment."""
    comp = data.composition[data.composition["segment"] == segment].copy()
    hidden = _hidden_groups(data, "nps")  # shares × n would give a hidden NPS back
    gone = [(q, segment) in hidden for q in comp["quarter"].astype(str)]
    comp["base_flag"] = [tables.base_flag_of({"n": n}, **data.thresholds) if not g
                         else "suppressed" for g, n in zip(gone, comp["n"])]
    comp = comp.rename(columns={"quarter": "group"})
    return charts.nps_composition(comp, group="group", fig_id=f"composition-{segment}",
                                  title=f"NPS composition, {data.segment_label(segment)}",
                                  **data.thresholds)


def segment_drivers(data: ReportData, segment: str) -> go.Figure:
    """Importance–performance chart: driver weight (x) against attribute performance (y)."""
    drv = data.drivers[data.drivers["segment"] == segment].rename(columns={"rescaled": "weight"})
    if (data.quarter, segment) in _hidden_groups(data, "csi"):
        drv = drv.assign(performance=float("nan"))  # attribute performance is hidden there
    n = float(drv["n"].iloc[0]) if len(drv) else None
    return charts.importance_performance(
        drv, n=n, fig_id=f"ipa-{segment}",
        title=f"What drives NPS, {data.segment_label(segment)} ({data.quarter})",
        **data.thresholds)


def segment_effort(data: ReportData, segment: str) -> go.Figure:
    """Distribution of the CES answers for the quarter."""
    counts = data.ces_counts[data.ces_counts["segment"] == segment].rename(
        columns={"score": "point"})
    scale = tuple(data.settings.get("ces_scale", (1, 7)))
    hidden = (data.quarter, segment) in _hidden_groups(data, "ces_mean")
    return charts.ces_distribution(counts, scale=scale,
                                   n=0.0 if hidden else float(counts["count"].sum()),
                                   fig_id=f"ces-{segment}", **data.thresholds)


def _standards_now(data: ReportData, segment: str) -> pd.DataFrame:
    st = executive_table(data, "standards")  # a complement hidden here has no value
    st = st[(st["quarter"] == data.quarter) & (st["segment"] == segment)].copy()
    st["base_flag"] = pd.cut(st["n"], [-1, data.thresholds["base_suppress"] - 1e-9,
                                       data.thresholds["base_small"] - 1e-9, float("inf")],
                             labels=["suppressed", "small", "ok"]).astype(str)
    return st.rename(columns={"standard_id": "standard"})


def segment_compliance(data: ReportData, segment: str) -> go.Figure:
    """Mystery-shopper compliance by standard against the segment's targets."""
    st = _standards_now(data, segment)
    return charts.compliance_by_standard(
        st, dict(zip(st["standard"], st["target"])), titles=dict(zip(st["standard"], st["title"])),
        fig_id=f"standards-{segment}",
        title=f"Compliance by standard, {data.segment_label(segment)}", **data.thresholds)


def segment_branches(data: ReportData, segment: str) -> tuple[go.Figure, tables.HTMLTable]:
    """Compliance by branch (chart) and the branch table of headline metrics."""
    rows = _current(data, "branches", segment)
    comp = rows[rows["metric"] == "compliance"]
    fig = charts.compliance_by_branch(comp, fig_id=f"branches-{segment}",
                                      title=f"Compliance by branch, {data.segment_label(segment)}",
                                      **data.thresholds)
    table = tables.format_metrics_table(rows, metrics_shown=HEADLINE, by="branch",
                                        quarter=data.quarter, table_id=f"vq-branches-{segment}",
                                        caption="Branches", **data.thresholds)
    return fig, tables.HTMLTable(table + shopper_caveat(data, rows["branch"]))


def shopper_caveat(data: ReportData, branches=None) -> str:
    """A note under the branch figures when a flagged mystery shopper (lenient or severe
    against the others) made most of a branch's visits this quarter; the shopper is not named
    ("one shopper"). ``branches``: only these branches (default: all). ``""`` when none."""
    cav = data.shopper_caveats
    if cav is None or cav.empty:
        return ""
    cav = cav[cav["quarter"] == data.quarter]
    if branches is not None:
        cav = cav[cav["branch"].isin(set(branches))]
    return "".join(f"<p class='vq-note'>Caveat: {html.escape(str(t))}</p>" for t in cav["caveat"])


def segment_managers(data: ReportData, segment: str) -> tables.HTMLTable:
    """Headline metrics by personal-manager code (no names: those are in the staff view)."""
    rows = _current(data, "managers", segment)
    return tables.format_metrics_table(rows, metrics_shown=HEADLINE, by="manager_id",
                                       quarter=data.quarter, table_id=f"vq-managers-{segment}",
                                       caption="Personal managers (by code)", **data.thresholds)


def standards_table(data: ReportData) -> tables.HTMLTable:
    """Standards scorecard: per standard and segment, compliance against target, its trend, and
    the linked attributes' performance and driver weight (:func:`vipquality.standards.scorecard.scorecard`).
    Suppressed bases show no value."""
    card = data.scorecard.copy()
    if card.empty:
        return tables.HTMLTable("<p>No mystery-shopper checks this quarter.</p>")
    hidden = card["suppressed"].astype(bool)
    card.loc[hidden, ["compliance", "ci_low", "ci_high", "gap", "trend"]] = float("nan")
    card["Standard"] = card["standard_id"] + " " + card["title"]
    card["Segment"] = card["segment"].map(_labels(data)).fillna(card["segment"])
    frame = card[["Standard", "Segment", "version", "compliance", "target", "gap", "trend", "n",
                  "performance", "weight"]].rename(columns={
        "version": "Version", "compliance": "Compliance, %", "target": "Target, %",
        "gap": "Gap, points", "trend": "Change, points", "n": "Checks",
        "performance": "Attribute performance", "weight": "Driver weight, %"})
    return tables.format_table(
        frame, {"Compliance, %": ".1f", "Target, %": ".0f", "Gap, points": "+.1f",
                "Change, points": "+.1f", "Attribute performance": ".1f",
                "Driver weight, %": ".1f", "Checks": ",.0f", "Version": ".0f"},
        table_id="vq-standards", caption=f"Service standards by segment, {data.quarter}",
        footnote="Compliance: weighted share of applicable checklist items answered yes, with "
                 "an interval that treats the checks of one visit as one cluster (they share "
                 "the shopper, the branch and the day) "
                 f"(blank when under {data.thresholds['base_suppress']} checks). Attribute "
                 "performance 0–100 for the CSI attributes the standard serves; driver weight: "
                 "their share of explained NPS variance.")


def _p_value(p: object) -> str:
    """p-values for reading: "<0.001" rather than scientific notation."""
    if tables.is_missing(p):
        return ""
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def standards_proposals(data: ReportData) -> tables.HTMLTable:
    """Revision proposals segment by segment with the evidence behind each and its gate (act /
    watch) (:func:`vipquality.standards.proposals.propose`); the agenda groups them."""
    props = data.proposals
    if props.empty:
        return tables.HTMLTable("<p>No revision proposals this quarter.</p>")
    frame = pd.DataFrame({
        "Gate": props["gate"] if "gate" in props else "",
        "Proposal": props["action"].map(ACTION_LABELS).fillna(props["action"]),
        "Standard": (props["standard_id"].fillna("") + " " + props["title"].fillna("")).str.strip(),
        "Segment": props["segment"].map(_labels(data)).fillna(props["segment"]),
        "Attribute": props["attribute"].map(data.settings.get("attribute_labels", {}))
                     .fillna(props["attribute"]),
        "Evidence": props["reason"]})
    return tables.format_table(frame, {}, table_id="vq-proposals",
                               caption=f"Proposals for the standards owners, {data.quarter}",
                               footnote="Rules: vipquality.standards.proposals.RevisionRules. Act: the "
                                        "evidence is significant; watch: it is not. The working "
                                        "documents are standards_proposals.csv and .md.")


def standards_revisions(data: ReportData) -> tables.HTMLTable:
    """Effect of each recorded standard revision: compliance before and after, against the other
    standards over the same periods (difference in differences, with its interval)."""
    rev = data.revisions
    if rev.empty:
        return tables.HTMLTable("<p>No standard revision falls inside the reported quarters.</p>")
    frame = pd.DataFrame({
        "Standard": rev["standard_id"] + " v" + rev["version"].astype(str) + " " + rev["title"],
        "Effective": rev["effective"].astype(str), "What changed": rev["change"].fillna(""),
        "Before, %": rev["treated_before"], "After, %": rev["treated_after"],
        "Others before, %": rev["control_before"], "Others after, %": rev["control_after"],
        "Effect, points": rev["did"],
        "95% CI": [tables.format_interval(lo, hi, 1) for lo, hi in zip(rev["ci_low"], rev["ci_high"])],
        "p": rev["p_value"]})
    return tables.format_table(
        frame, {"Before, %": ".1f", "After, %": ".1f", "Others before, %": ".1f",
                "Others after, %": ".1f", "Effect, points": "+.1f", "p": _p_value},
        table_id="vq-revisions", caption="Did the revisions work?",
        footnote="Effect: change in the revised standard's compliance minus the change in the "
                 "other standards' compliance over the same periods (difference in differences, "
                 "linear probability model, standard errors clustered by visit).")


def standards_revision_details(data: ReportData) -> tables.HTMLTable:
    """For each revision: its linked attributes before and after, and the robustness checks of
    the compliance effect (other clusterings, branch-level estimate, placebo date)."""
    attrs, checks = data.revision_attributes, data.revision_checks
    parts = []
    if len(attrs):
        frame = pd.DataFrame({
            "Standard": attrs["standard_id"] + " v" + attrs["version"].astype(str),
            "Linked attribute": attrs["label"].fillna(attrs["attribute"]),
            "Before": attrs["before"], "After": attrs["after"],
            "Effect, points": attrs["did"],
            "95% CI": [tables.format_interval(lo, hi, 1)
                       for lo, hi in zip(attrs["ci_low"], attrs["ci_high"])],
            "p": attrs["p_value"], "Respondents": attrs["respondents"]})
        parts.append(tables.format_table(
            frame, {"Before": ".1f", "After": ".1f", "Effect, points": "+.1f", "p": _p_value,
                    "Respondents": ",.0f"},
            table_id="vq-revision-attributes",
            caption="What clients say about what the revised standard serves (performance 0–100)",
            footnote="Effect: change in the attribute minus the change in the other attributes "
                     "over the same periods."))
    if len(checks):
        frame = pd.DataFrame({
            "Standard": checks["standard_id"] + " v" + checks["version"].astype(str),
            "Check": checks["label"], "Effect, points": checks["did"],
            "95% CI": [tables.format_interval(lo, hi, 1)
                       for lo, hi in zip(checks["ci_low"], checks["ci_high"])],
            "p": checks["p_value"], "Note": checks["note"].fillna("")})
        parts.append(tables.format_table(
            frame, {"Effect, points": "+.1f", "p": _p_value}, table_id="vq-revision-checks",
            caption="How robust is the compliance effect?"))
    if not parts:
        return tables.HTMLTable("<p>No standard revision falls inside the reported quarters.</p>")
    return tables.HTMLTable("".join(parts))


def overall_drivers(data: ReportData, segment: str = ALL_SEGMENT) -> go.Figure | None:
    """Importance–performance of the attributes for overall satisfaction (None without it)."""
    drv = data.drivers_overall
    if drv.empty or "segment" not in drv:
        return None
    drv = drv[drv["segment"] == segment].rename(columns={"rescaled": "weight"})
    n = float(drv["n"].iloc[0]) if len(drv) and "n" in drv else None
    return charts.importance_performance(
        drv, n=n, fig_id=f"ipa-overall-{segment}",
        title=f"What drives overall satisfaction, {data.segment_label(segment)} ({data.quarter})",
        **data.thresholds)


def standards_chart(data: ReportData, segment: str = ALL_SEGMENT) -> go.Figure:
    """Compliance by standard for one segment (default: all clients)."""
    return segment_compliance(data, segment)
