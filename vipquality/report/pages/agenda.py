"""The quarter's standards agenda on a page: the top actions (index and standards review), the
whole agenda with its watch list, the what-if behind an expected impact and its assumptions.

Everything shown comes from ``ReportData.agenda`` (:func:`vipquality.standards.agenda.agenda`),
``ReportData.impacts`` and ``settings["agenda_assumptions"]``; nothing is computed here. The
agenda holds no client data: segments, standards, their owners (roles from the catalogue) and
aggregates only.

Examples
--------
>>> import vipquality as vq                                          # doctest: +SKIP
>>> data = vq.report_data()                                          # doctest: +SKIP
>>> vq.pages.agenda_top(data)          # the five first actions      # doctest: +SKIP
"""

from __future__ import annotations

import html

import pandas as pd

from vipquality.config import ALL_SEGMENT
from vipquality.errors import ReportError
from vipquality.report.data import ReportData
from vipquality.report.pages import tables
from vipquality.standards.agenda import ACTION_LABELS

__all__ = [
    "AGENDA_CSS",
    "agenda_assumptions",
    "agenda_focus",
    "agenda_table",
    "agenda_top",
    "what_if_table",
]

_IMPACT_NOTE = ("Expected impact: the change in NPS a what-if on the driver model predicts when "
                "the standard's compliance reaches its target (through the attributes it serves) "
                "or the attribute reaches its segment's mean performance, in the segment named, "
                "with a bootstrap interval. Associational, not causal, unless marked as measured "
                "by a revision; see the standards review for the assumptions.")


def _impact(r: pd.Series) -> str:
    if tables.is_missing(r["impact"]):
        return "not estimated (no NPS gain modelled for this action)"
    basis = "" if r["impact_basis"] in ("", "associational") else f", {r['impact_basis']}"
    return (f"NPS {tables.format_signed(r['impact'], 1)} "
            f"(CI {tables.format_signed(r['impact_low'], 1)} to "
            f"{tables.format_signed(r['impact_high'], 1)}) in {r['impact_segment']}{basis}")


def _what(r: pd.Series) -> str:
    action = ACTION_LABELS.get(r["action"], r["action"])
    return f"{r['standard_id']} {r['title']}: {action}" if r["standard_id"] else action


#: Styles of the agenda list (scoped to its class; the page's type scale applies inside).
AGENDA_CSS = """\
.vq-agenda-box ol.vq-agenda{list-style:none;margin:0 0 1em;padding:0;max-width:60rem}
.vq-agenda-box ol.vq-agenda > li{list-style:none;border-left:4px solid #0072B2;
  padding:.45em .8em;margin:.55em 0;background:#f7f9fb;overflow-wrap:anywhere;max-width:none}
.vq-agenda-box ol.vq-watch > li{border-left-color:#767676}
.vq-agenda .vq-rank{font-weight:700;margin-right:.4em}
.vq-agenda .vq-what{font-weight:600}
.vq-agenda .vq-meta,.vq-agenda .vq-note{color:#444;font-size:.92em}
.vq-agenda .vq-impact{font-weight:600}
.vq-agenda-box .vq-footnote{font-size:.85em;color:#555;max-width:60rem}
"""


def _items(rows: pd.DataFrame, watch: bool = False) -> str:
    """The agenda rows as an ordered list: action, owner and segments, evidence, impact."""
    out = []
    for _, r in rows.iterrows():
        owner = r["owner"] or "Standards owner"
        parts = [
            (f"<span class='vq-rank'>{int(r['rank'])}.</span>"
             f"<span class='vq-what'>{html.escape(_what(r))}</span>"),
            (f"<div class='vq-meta'>Owner: {html.escape(owner)} · Segments: "
             f"{html.escape(r['segments'])}</div>"),
            f"<div class='vq-evidence'>Evidence: {html.escape(r['evidence'])}</div>",
            f"<div class='vq-impact'>Expected impact: {html.escape(_impact(r))}</div>"]
        if watch and r["gate_note"]:
            parts.append(f"<div class='vq-note'>Why watch, not act: "
                         f"{html.escape(r['gate_note'])}</div>")
        out.append(f"<li>{''.join(parts)}</li>")
    cls = "vq-agenda vq-watch" if watch else "vq-agenda"
    return f"<ol class='{cls}'>{''.join(out)}</ol>"


def _section(caption: str, body: str, note: str) -> str:
    return (f"<style>{AGENDA_CSS}</style><div class='vq-agenda-box'>"
            f"<p class='vq-caption'><strong>{html.escape(caption)}</strong></p>{body}"
            f"<p class='vq-footnote'>{html.escape(note)}</p></div>")


def agenda_top(data: ReportData, n: int = 5) -> tables.HTMLTable:
    """"This quarter's agenda": the first ``n`` actions (gate "act") in rank order, each with
    its owner, segments, evidence in one line and expected impact."""
    agenda = data.agenda
    acts = agenda[agenda["gate"] == "act"].head(n) if len(agenda) else agenda
    if not len(acts):
        return tables.HTMLTable("<p>No action this quarter: no proposal has significant "
                                "evidence (see the watch list of the standards review).</p>")
    return tables.HTMLTable(_section(
        f"The {len(acts)} actions with the largest expected impact, {data.quarter}",
        _items(acts), _IMPACT_NOTE))


def agenda_table(data: ReportData) -> tables.HTMLTable:
    """The whole agenda: every action in rank order, then what to watch (evidence short of
    significant) with what falls short."""
    agenda = data.agenda
    if not len(agenda):
        return tables.HTMLTable("<p>No revision proposals this quarter.</p>")
    acts, watch = agenda[agenda["gate"] == "act"], agenda[agenda["gate"] == "watch"]
    parts = [_section(f"Actions, {data.quarter}", _items(acts), _IMPACT_NOTE) if len(acts)
             else "<p>No action this quarter.</p>"]
    if len(watch):
        parts.append(_section(
            "To watch: the rules fire but the evidence is not significant", _items(watch, True),
            "A compliance gap counts when its interval lies wholly below the target; a driver "
            "when its weight interval excludes the average share (100/k %)."))
    return tables.HTMLTable("".join(parts))


def agenda_assumptions(data: ReportData) -> str:
    """HTML list of what the expected impacts assume, with what the revision log shows."""
    items = data.settings.get("agenda_assumptions") or []
    if not items:
        return ""
    body = "".join(f"<li>{html.escape(str(s))}</li>" for s in items)
    return f"<ul class='vq-assumptions'>{body}</ul>"


def agenda_focus(data: ReportData) -> dict:
    """The top action's attributes and segments (ids), as keyword arguments of
    :func:`vipquality.what_if`: ``{"attribute": [...], "segments": [...]}``. Without an action,
    the heaviest NPS driver of all clients."""
    agenda, detail = data.agenda, data.proposals
    acts = agenda[agenda["gate"] == "act"] if len(agenda) else agenda
    if len(acts) and len(detail):
        top = acts.iloc[0]
        rows = detail[(detail["standard_id"] == top["standard_id"])
                      & (detail["action"] == top["action"]) & (detail["gate"] == "act")]
        if len(rows):
            return {"attribute": list(dict.fromkeys(rows["attribute"])),
                    "segments": list(dict.fromkeys(rows["segment"]))}
    drivers = data.drivers[data.drivers["segment"] == ALL_SEGMENT]
    if not len(drivers):
        raise ReportError("no key drivers for all clients this quarter: nothing to simulate")
    top = drivers.loc[drivers["rescaled"].idxmax(), "attribute"]
    return {"attribute": [str(top)], "segments": [ALL_SEGMENT]}


def what_if_table(data: ReportData, result: pd.DataFrame) -> tables.HTMLTable:
    """A :func:`vipquality.what_if` result as a table: per segment, the move, the outcome now
    and the predicted change with its interval; the assumptions in the footnote."""
    if not len(result):
        return tables.HTMLTable("<p>No segment has enough respondents for the what-if.</p>")
    labels = dict(zip(data.segments["segment"], data.segments["label"]))
    names = data.settings.get("attribute_labels", {})
    outcome = "NPS" if result["outcome"].iloc[0] == "nps" else "Overall satisfaction (0–100)"
    frame = pd.DataFrame({
        "Segment": result["segment"].map(labels).fillna(result["segment"]),
        "Moved": [", ".join(names.get(a.strip(), a.strip()) for a in s.split(","))
                  for s in result["attributes"]],
        "Now": result["current"], "To": result["target"],
        "Shift, points": result["shift"],
        f"{outcome}, respondents modelled": result["baseline"],
        "Predicted change": result["change"],
        "CI": [tables.format_interval(lo, hi, 1) for lo, hi in
               zip(result["ci_low"], result["ci_high"])],
        "Respondents": result["n"]})
    return tables.format_table(
        frame, {"Now": ".1f", "To": ".1f", "Shift, points": "+.1f", f"{outcome}, respondents modelled": ".1f",
                "Predicted change": "+.1f", "Respondents": ",.0f"},
        table_id="vq-what-if", caption=f"What if: {outcome} per segment",
        footnote=" ".join(result.attrs.get("assumptions", [])))
