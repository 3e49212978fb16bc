"""What clients say: the comment themes on the segment pages and the index.

Built from ``ReportData.themes`` as executives may see it (:func:`executive_table`: suppressed
bases blanked, their complements too) and ``ReportData.theme_quotes`` (quotes the rules of
:mod:`vipquality.data.quotes` allow). Nothing here computes a statistic; the themes are ranked
by the NPS points they cost (:func:`vipquality.metrics.themes.rank_themes`).
"""

from __future__ import annotations

import html

import pandas as pd

from vipquality.metrics.themes import rank_themes
from vipquality.report.data import ReportData
from vipquality.report.executive import executive_table
from vipquality.report.pages import tables

__all__ = ["QUOTES_CSS", "segment_themes", "themes_index"]

QUOTES_CSS = """\
.vq-themes .vq-table td:nth-child(-n+2),.vq-themes .vq-table th:nth-child(-n+2){text-align:left}
.vq-themes .vq-table{margin-bottom:0.4em}
.vq-themes p.vq-sub{font-size:13px;max-width:48rem;margin:0 0 1em 0}
.vq-quotes{margin:0.5em 0 1.5em 0;max-width:48rem}
.vq-quotes h4{margin:0.9em 0 0.3em 0;font-size:15px;font-weight:600}
.vq-quotes blockquote{margin:0.3em 0 0.3em 0;padding:0.2em 0 0.2em 0.8em;
border-left:3px solid #d0d7de;color:#1f2328;font-style:italic;overflow-wrap:anywhere}
"""


def _ranked(data: ReportData, segment: str | None = None, top: int | None = None) -> pd.DataFrame:
    """The quarter's themes ranked by the NPS they cost, on executive values (hidden: not ranked)."""
    shown = executive_table(data, "themes")
    if not len(shown):
        return shown
    shown = shown[shown["quarter"] == data.quarter]
    if segment is not None:
        shown = shown[shown["segment"] == segment]
    return rank_themes(shown.drop(columns=["quarter"]), top=top)


def _attribute_cells(data: ReportData, segment: str, theme: str) -> str:
    """The CSI attributes a theme relates to, each with its performance this quarter."""
    ids = data.settings.get("theme_attributes", {}).get(theme, [])
    labels = data.settings.get("attribute_labels", {})
    metrics = executive_table(data, "metrics")
    metrics = metrics[(metrics["quarter"] == data.quarter) & (metrics["segment"] == segment)]
    value = dict(zip(metrics["metric"], metrics["value"]))
    parts = []
    for a in ids:
        score = value.get(f"attr:{a}")
        text = labels.get(a, a)
        if not tables.is_missing(score):
            text += f" ({tables.format_number(score)}/100)"
        parts.append(text)
    return "; ".join(parts) or tables.DASH


def segment_themes(data: ReportData, segment: str, top: int = 5) -> str:
    """"What clients say": the themes that cost the segment most NPS this quarter, each beside
    the CSI attribute it relates to, with its share of comments, change, NPS impact, and up to
    three quotes (no manager, branch, date or id beside them)."""
    if not len(data.themes):
        return ("<p class='vq-story'>No comment themes: the workspace has no themes.yaml "
                "(see the README, “What clients say”).</p>")
    th = data.thresholds
    names = data.settings.get("theme_labels", {})
    all_rows = executive_table(data, "themes")
    share = all_rows[(all_rows["quarter"] == data.quarter) & (all_rows["segment"] == segment)
                     & (all_rows["metric"] == "theme_share")]
    comments = int(share["n"].max()) if len(share) else 0
    if comments < th["base_suppress"]:
        return (f"<p class='vq-story'>Fewer than {th['base_suppress']} clients of this segment "
                f"left a comment in {html.escape(data.quarter)}: no theme is shown.</p>")
    ranked = _ranked(data, segment, top)
    also = _also_mentioned(data, segment, exclude=set(ranked["theme"]) if len(ranked) else set())
    if ranked.empty:
        head = (f"<p class='vq-story'>{comments} clients left a comment in "
                f"{html.escape(data.quarter)}; no theme's cost in NPS can be shown (too few "
                f"clients mention it, under {th['base_suppress']}, or showing it would reveal "
                "a smaller segment's).</p>")
        return head + also + _quotes(data, segment, _also_themes(data, segment, set()))
    rows = []
    for r in ranked.itertuples(index=False):
        change, _ = tables.format_change(r.share_change, r.share_significant)
        rows.append({
            "Theme": names.get(r.theme, r.theme),
            "Relates to": _attribute_cells(data, segment, r.theme),
            "Mentioned in, %": tables.format_estimate(r.theme_share, r.share_low, r.share_high),
            f"Change vs {data.previous or 'previous'}, pts": change,
            "NPS: mention / others": (f"{tables.format_number(r.theme_nps)} / "
                                      f"{tables.format_number(r.theme_nps_other)}"),
            "Impact on NPS": tables.format_estimate(r.theme_impact, r.impact_low, r.impact_high),
            "Costs, NPS points": tables.format_number(r.theme_cost, 1),
        })
    frame = pd.DataFrame(rows)
    note = (f"{comments} clients of this segment left a comment in {data.quarter}; a comment "
            "can mention several themes. Impact: NPS of the clients who mention the theme minus "
            "NPS of those who commented without mentioning it, 95 % interval. Costs: how many "
            "points higher the commenters' NPS would be if those mentioning the theme scored like "
            "the others (the ranking). Change: percentage points of comments, arrow when "
            "significant after adjustment. Themes mentioned by fewer than "
            f"{th['base_suppress']} clients are not shown.")
    # the note below the table, not in it: on a phone the table scrolls in its box, the note wraps
    table = tables.format_table(frame, {c: str for c in frame.columns if c != "Theme"},
                                table_id=f"themes-{segment}",
                                caption=f"The themes that cost most NPS, {data.quarter}")
    themes = ranked["theme"].tolist() + _also_themes(data, segment, set(ranked["theme"]))
    return (f"<style>{QUOTES_CSS}</style><div class='vq-themes'>{table}"
            f"<p class='vq-sub'>{html.escape(note)}</p></div>" + also
            + _quotes(data, segment, themes))


def _also_themes(data: ReportData, segment: str, exclude: set[str], top: int = 3) -> list[str]:
    """The most mentioned themes (shown share above 0) whose NPS cost is not shown."""
    rows = executive_table(data, "themes")
    rows = rows[(rows["quarter"] == data.quarter) & (rows["segment"] == segment)]
    cost = rows[rows["metric"] == "theme_cost"].set_index("theme")["value"]
    share = rows[rows["metric"] == "theme_share"].set_index("theme")["value"]
    hidden = [t for t in share.index if t not in exclude and pd.isna(cost.get(t))]
    share = share[hidden]
    share = share[share > 0].sort_values(ascending=False, kind="mergesort")
    return share.index[:top].tolist()


def _also_mentioned(data: ReportData, segment: str, exclude: set[str]) -> str:
    """A line naming the most mentioned themes whose impact cannot be shown."""
    themes = _also_themes(data, segment, exclude)
    if not themes:
        return ""
    names = data.settings.get("theme_labels", {})
    rows = executive_table(data, "themes")
    rows = rows[(rows["quarter"] == data.quarter) & (rows["segment"] == segment)
                & (rows["metric"] == "theme_share")].set_index("theme")
    parts = []
    for t in themes:
        r = rows.loc[t]
        change, _ = tables.format_change(r["change"], r["significant"])
        change = "" if change == tables.DASH else f", {change} pts"
        parts.append(f"{html.escape(names.get(t, t))} "
                     f"({tables.format_number(r['value'])} % of comments{change})")
    return ("<p class='vq-story'>Also mentioned, with an NPS impact not shown (fewer than "
            f"{data.thresholds['base_suppress']} clients on one side, or it would reveal a "
            "smaller segment's): " + "; ".join(parts) + ".</p>")


def _quotes(data: ReportData, segment: str, themes: list[str]) -> str:
    quotes = data.theme_quotes
    if not len(quotes):
        return ""
    names = data.settings.get("theme_labels", {})
    mine = quotes[quotes["segment"] == segment]
    parts = []
    for theme in themes:
        said = mine.loc[mine["theme"] == theme, "quote"].tolist()[:3]
        if not said:
            continue
        parts.append(f"<h4>{html.escape(names.get(theme, theme))}</h4>"
                     + "".join(f"<blockquote>{html.escape(q)}</blockquote>" for q in said))
    if not parts:
        return ""
    return ("<div class='vq-quotes'>"
            "<p class='vq-sub'>In their words (shortened; only from groups large enough that "
            "no quote points to one client):</p>" + "".join(parts) + "</div>")


def themes_index(data: ReportData) -> str:
    """One line per reported segment naming the theme that cost it most NPS this quarter."""
    if not len(data.themes):
        return ""
    names = data.settings.get("theme_labels", {})
    labels = dict(zip(data.segments["segment"], data.segments["label"]))
    shown = data.segments.loc[data.segments["report"], "segment"].tolist()
    ranked = _ranked(data, top=1)
    first = {r.segment: r for r in ranked.itertuples(index=False)} if len(ranked) else {}
    items, hidden = [], False
    for segment in shown:
        label = html.escape(labels.get(segment, segment))
        link = f"<a href='segment-{html.escape(segment)}.html'>{label}</a>"
        r = first.get(segment)
        if r is not None:
            items.append(
                f"<li>{link}: <strong>{html.escape(names.get(r.theme, r.theme))}</strong> cost "
                f"most, {tables.format_number(r.theme_cost, 1)} NPS points; mentioned in "
                f"{tables.format_number(r.theme_share)} % of comments.</li>")
            continue
        most = _also_themes(data, segment, set(), top=1)
        if most:
            hidden = True
            items.append(f"<li>{link}: <strong>{html.escape(names.get(most[0], most[0]))}"
                         f"</strong> mentioned most; its NPS cost not shown*.</li>")
        else:
            items.append(f"<li>{link}: fewer than {data.thresholds['base_suppress']} "
                         "comments, or no theme mentioned.</li>")
    note = (f"<p class='vq-sub'>* Not shown when fewer than {data.thresholds['base_suppress']} "
            "clients mention the theme (or fewer comment without it), or when showing it would "
            "let a smaller segment's value be worked out.</p>" if hidden else "")
    return "<ul class='vq-links vq-themes-index'>" + "".join(items) + "</ul>" + note
