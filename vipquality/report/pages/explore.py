"""Questions of one's own, asked in ``notebooks/explore.ipynb``: each function answers one kind
of question from a workspace's store with a formatted table or a chart, so a notebook cell
stays a line or two.

- :func:`open_workspace`: the workspace with its store brought up to date;
- :func:`grouped` / :func:`grouped_table`: :func:`vipquality.summarise_workspace` by any grouping
  (segment × branch, manager, tier × product …) for one quarter, as a formatted table;
- :func:`drill_down`: a segment's branches, or one branch's personal managers (restricted);
- :func:`attribute_trend`: an attribute's performance over the quarters, per segment;
- :func:`drivers_chart`: what drives NPS in one segment (importance against performance);
- :func:`what_if`: the predicted change in NPS when an attribute moves, as a table;
- :func:`theme_comments`: what a segment's clients say, theme by theme, with the quotes the
  report's quote rules allow;
- :func:`controls`: dropdowns for quarter and segment that redraw an answer.

Every answer is an aggregate with its base: groups under the workspace's suppression base show
``n<30`` and no value, as on the pages. No client id, name or contact reaches an answer; the
manager tables show manager codes, which are staff data (restricted to the quality team).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from vipquality.config import ALL_SEGMENT, Workspace, load_workspace
from vipquality.errors import DataError
from vipquality.report.pages import charts, tables
from vipquality.report.pages.sections import HEADLINE

__all__ = [
    "RESTRICTED",
    "attribute_trend",
    "controls",
    "drill_down",
    "drivers_chart",
    "grouped",
    "grouped_table",
    "open_workspace",
    "quarters",
    "segments",
    "theme_comments",
    "what_if",
]

#: What the manager-level answers are, said once under each of them.
RESTRICTED = ("Restricted: figures by personal manager are staff data, shown by manager code "
              "only, for the quality team; do not forward them to executives.")


def open_workspace(workspace: str | Path | Workspace | None = None) -> Workspace:
    """The workspace (default the bundled sample) with every new or changed quarter ingested,
    and the chart theme set to its segments (one colour per segment, as on the pages).

    Examples
    --------
    >>> ws = open_workspace()               # doctest: +SKIP
    >>> quarters(ws)[-1]                    # doctest: +SKIP
    '2026Q3'
    """
    from vipquality.data.ingest.refresh import ensure_store

    ws = workspace if isinstance(workspace, Workspace) else (
        load_workspace(workspace) if workspace else load_workspace())
    ensure_store(ws)
    charts.apply_theme([ALL_SEGMENT, *ws.segments.segments])
    return ws


def quarters(ws: Workspace) -> list[str]:
    """The quarters in the store, oldest first."""
    from vipquality.data.store import stored_quarters

    return [str(q) for q in stored_quarters(ws)]


def segments(ws: Workspace) -> dict[str, str]:
    """Segment id → label, ``all`` first, in the workspace's order."""
    return {ALL_SEGMENT: "All VIP clients", **{s.id: s.label for s in ws.segments.segments}}


def grouped(ws: Workspace, by: Sequence[str], quarter: str | None = None, *,
            segment: str | None = None, split: Sequence[str] = ()) -> pd.DataFrame:
    """:func:`vipquality.summarise_workspace` by ``quarter`` + ``by`` for one quarter (with its
    change from the previous one), restricted to one segment when given.

    ``by`` may name ``segment``, any response column and any CRM column (``branch``,
    ``manager_id``, ``tier``…); ``split`` names the CRM columns that list several values
    (``products``: a client counts once under each product held).
    """
    from vipquality.data.summary import summarise_workspace

    quarter = quarter or quarters(ws)[-1]
    keys = list(dict.fromkeys(["quarter", *(["segment"] if segment else []), *by]))
    table = summarise_workspace(ws, [quarter], by=keys, split=split)
    if segment is not None:
        table = table[table["segment"] == segment]
    return table.reset_index(drop=True)


def grouped_table(table: pd.DataFrame, by: Sequence[str], ws: Workspace, *,
                  metrics: Sequence[str] = HEADLINE, caption: str | None = None,
                  table_id: str = "vq-explore") -> tables.HTMLTable:
    """A :func:`grouped` table as the quarter-at-a-glance table: one row per group (the values
    of ``by`` joined by " · "), per metric the value with its interval, base and change."""
    rows = table.assign(group=table[list(by)].astype(str).agg(" · ".join, axis=1))
    order = list(dict.fromkeys(rows.sort_values(list(by))["group"]))
    return tables.format_metrics_table(
        rows, metrics_shown=list(metrics), by="group", segment_order=order,
        caption=caption or " × ".join(by), table_id=table_id,
        confidence=ws.reporting.confidence, **_thresholds(ws))


def drill_down(ws: Workspace, quarter: str | None, segment: str, branch: str | None = None, *,
               metrics: Sequence[str] = HEADLINE) -> tables.HTMLTable:
    """A segment's branches; with ``branch``, that branch's personal managers (by code only,
    :data:`RESTRICTED`)."""
    by = ["branch"] if branch is None else ["branch", "manager_id"]
    table = grouped(ws, by, quarter, segment=segment)
    if branch is not None:
        table = table[table["branch"] == branch]
        if not len(table):
            raise DataError(f"no responses from branch {branch!r} in segment {segment!r}",
                            column="branch", value=branch)
    label = segments(ws).get(segment, segment)
    caption = (f"{label}: branches" if branch is None
               else f"{label}, branch {branch}: personal managers. {RESTRICTED}")
    return grouped_table(table, ["manager_id"] if branch else ["branch"], ws, metrics=metrics,
                         caption=caption, table_id=f"vq-drill-{segment}-{branch or 'all'}")


def attribute_trend(ws: Workspace, attribute: str, segment_ids: Sequence[str] | None = None
                    ) -> go.Figure:
    """An attribute's performance (0–100) over the stored quarters, a line per segment."""
    from vipquality.data.summary import summarise_workspace

    labels = {a.id: a.label for a in ws.instrument.attributes}
    if attribute not in labels:
        raise DataError(f"unknown attribute {attribute!r}; the instrument has "
                        f"{', '.join(labels)}", value=attribute)
    table = summarise_workspace(ws, by=["quarter", "segment"])
    names = segments(ws)
    shown = list(segment_ids or names)
    return charts.trend(table, f"attr:{attribute}", shown, quarters=len(quarters(ws)),
                        segment_order=list(names), segment_labels=names,
                        attribute_labels=labels, confidence=ws.reporting.confidence,
                        title=f"{labels[attribute]}: performance by quarter",
                        **_thresholds(ws))


def _responses(ws: Workspace, quarter: str, segment: str) -> pd.DataFrame:
    """The quarter's responses of one segment (row level: never shown as they are)."""
    from vipquality.report.data import segment_responses

    rows = segment_responses(ws, quarter)
    return rows[rows["segment"] == segment]


def drivers_chart(ws: Workspace, quarter: str | None, segment: str, *,
                  n_boot: int = 200) -> go.Figure:
    """What drives NPS in one segment: Johnson's relative weights (x) against the attributes'
    performance (y), as on the segment page."""
    from vipquality.metrics.drivers import key_drivers

    quarter = quarter or quarters(ws)[-1]
    drv = key_drivers(_responses(ws, quarter, segment), ws, n_boot=n_boot, ordinal=False)
    if not len(drv):
        raise DataError(f"segment {segment!r} has too few complete answers in {quarter} "
                        f"for the drivers (base {ws.reporting.base_suppress})")
    return charts.importance_performance(
        drv.rename(columns={"rescaled": "weight"}), n=float(drv["n"].iloc[0]),
        title=f"What drives NPS, {segments(ws).get(segment, segment)} ({quarter})",
        **_thresholds(ws))


def what_if(ws: Workspace, quarter: str | None, segment: str, attribute: str, *,
            by: float | None = None, to: float | None = None,
            n_boot: int = 200) -> tables.HTMLTable:
    """The predicted change in NPS when ``attribute``'s performance moves ``by`` points (or
    ``to`` a level) in one segment (:func:`vipquality.what_if`), with its assumptions."""
    from vipquality.metrics.whatif import what_if as simulate_what_if

    quarter = quarter or quarters(ws)[-1]
    result = simulate_what_if(_responses(ws, quarter, segment), ws, attribute=attribute, by=by,
                              to=to, segments=[segment], n_boot=n_boot)
    names = {a.id: a.label for a in ws.instrument.attributes}
    frame = pd.DataFrame({
        "Segment": [segments(ws).get(s, s) for s in result["segment"]],
        "Moved": [names.get(a, a) for a in result["attributes"]],
        "Performance now": result["current"], "To": result["target"],
        "NPS now": result["baseline"], "Predicted change": result["change"],
        "CI": [tables.format_interval(lo, hi, 1)
               for lo, hi in zip(result["ci_low"], result["ci_high"])],
        "Respondents": result["n"]})
    return tables.format_table(
        frame, {"Performance now": ".1f", "To": ".1f", "NPS now": ".1f",
                "Predicted change": "+.1f", "Respondents": ",.0f"},
        table_id=f"vq-what-if-{segment}", caption=f"What if, {quarter}",
        footnote=" ".join(result.attrs.get("assumptions", [])))


def theme_comments(ws: Workspace, quarter: str | None, segment: str,
                   theme: str | None = None) -> tables.HTMLTable:
    """What the segment's clients say: each theme's share of the comments (with its interval
    and change) and the quotes the report's quote rules allow (:mod:`vipquality.data.quotes`:
    a group and a branch over the suppression base, nothing the privacy scrubber would change),
    for one theme or all of them.

    The quarter's every comment by theme is in the run's restricted
    ``comments_by_theme.csv``; here, as on the pages, only the quotes."""
    from vipquality.report.themes import theme_tables

    if ws.themes is None or not len(ws.themes):
        raise DataError("the workspace has no themes.yaml: no comment is coded into themes")
    quarter = quarter or quarters(ws)[-1]
    if theme is not None:
        ws.themes.get(theme)  # KeyError naming the themes when unknown
    stored = quarters(ws)
    previous = stored[stored.index(quarter) - 1] if stored.index(quarter) else ""
    got = theme_tables(ws, quarter, previous, [segment])
    share = got["themes"]
    share = share[(share["quarter"] == quarter) & (share["metric"] == "theme_share")]
    quotes = got["theme_quotes"].groupby("theme")["quote"].agg(" · ".join)
    labels = {th.id: th.label for th in ws.themes}
    frame = pd.DataFrame({
        "Theme": share["theme"].map(labels), "Share of comments, %": share["value"],
        "CI": [tables.format_interval(lo, hi, 1)
               for lo, hi in zip(share["ci_low"], share["ci_high"])],
        "Change": share["change"], "Comments": share["n"],
        "Quotes": share["theme"].map(quotes).fillna(""), "base_flag": share["base_flag"]})
    if theme is not None:
        frame = frame[share["theme"].to_numpy() == theme]
    return tables.format_table(
        frame.sort_values("Share of comments, %", ascending=False),
        {"Share of comments, %": ".1f", "Change": "+.1f", "Comments": ",.0f"},
        table_id=f"vq-themes-{segment}",
        caption=f"What {segments(ws).get(segment, segment)} clients say, {quarter}",
        footnote="Quotes only where the quote rules allow; every comment by theme is in the "
                 "restricted comments_by_theme.csv of the run.", **_thresholds(ws))


def controls(show: Callable[[str, str], object], ws: Workspace, quarter: str | None = None,
             segment: str = ALL_SEGMENT):
    """Dropdowns for quarter and segment above ``show(quarter, segment)``'s answer, redrawn
    when either changes.

    The first answer is computed here, before any widget exists, so an error stops the cell
    (as papermill and nbval need); in a kernel without a front end the widgets simply stay
    unused.
    """
    import ipywidgets as widgets
    from IPython.display import display

    quarter = quarter or quarters(ws)[-1]
    first = show(quarter, segment)
    pick_q = widgets.Dropdown(options=quarters(ws), value=quarter, description="Quarter")
    pick_s = widgets.Dropdown(options=[(label, s) for s, label in segments(ws).items()],
                              value=segment, description="Segment")
    out = widgets.Output()
    with out:
        display(first)

    def redraw(_change=None) -> None:
        out.clear_output(wait=True)
        with out:
            display(show(pick_q.value, pick_s.value))

    pick_q.observe(redraw, names="value")
    pick_s.observe(redraw, names="value")
    return widgets.VBox([widgets.HBox([pick_q, pick_s]), out])


def _thresholds(ws: Workspace) -> dict[str, int]:
    return {"base_suppress": ws.reporting.base_suppress, "base_small": ws.reporting.base_small}
