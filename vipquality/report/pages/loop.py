"""The follow-up loop on the executive pages: its health in one line per segment, and the
recovery of last quarter's detractors (aggregates of :mod:`vipquality.standards.cases`; no
client, no manager). The managers' own lists are restricted pages (:mod:`.cases`).
"""

from __future__ import annotations

import html

import pandas as pd

from vipquality.metrics.loop import RECOVERY_CAVEAT
from vipquality.report.data import ReportData
from vipquality.report.pages import tables

__all__ = ["loop_branches", "loop_health", "loop_recovery"]


def _share(row: pd.Series, base_suppress: int) -> object:
    """The contact share with its interval, or ``None`` below the suppression base."""
    base = row["decided"] if "decided" in row.index else row["followed_up"]
    if base < base_suppress or pd.isna(row["contact_share"]):
        return None
    return tables.format_estimate(row["contact_share"], row["ci_low"], row["ci_high"], 0)


def loop_health(data: ReportData) -> tables.HTMLTable:
    """"Closing the loop": one line per reported segment — cases opened, share contacted within
    the SLA (with its interval; hidden below the suppression base), median working days to the
    first contact, resolved, overdue now and the most frequent root causes."""
    seg = data.loop_segments
    if not len(seg):
        return tables.HTMLTable("<p>No follow-up cases: the workspace names no cases.yaml, or "
                                "no response met its rules this quarter.</p>")
    th = data.thresholds
    target = data.settings.get("contact_target")
    labels = dict(zip(data.segments["segment"], data.segments["label"]))
    frame = pd.DataFrame({
        "Segment": [labels.get(s, s) for s in seg["segment"]],
        "Cases": seg["opened"].astype(int),
        "Contacted within SLA, %": [_share(r, th["base_suppress"]) for _, r in seg.iterrows()],
        "Median days to contact": seg["median_days_to_contact"],
        "Resolved": seg["resolved"].astype(int),
        "Overdue now": seg["overdue"].astype(int),
        "Top root causes": seg["top_root_causes"].fillna(""),
    })
    note = (f"Cases opened by the rules of cases.yaml in {data.quarter}. Contacted within SLA: "
            "share of the cases with the client's consent (the others are for the branch's "
            "learning only) that were contacted or are past their due date, 95 % Wilson "
            f"interval; hidden when fewer than "
            f"{th['base_suppress']} cases. Days are working days.")
    if target is not None:
        note += f" Target: {tables.format_number(target)} % within the SLA."
    frame["Contacted within SLA, %"] = frame["Contacted within SLA, %"].map(
        lambda v: tables.suppress_label(base_suppress=th["base_suppress"]) if pd.isna(v) else v)
    return tables.format_table(
        frame, {"Median days to contact": ".1f"},
        table_id="loop-health", caption=f"Closing the loop, {data.quarter}", footnote=note)


def loop_recovery(data: ReportData) -> str:
    """Of last quarter's detractors with a case who answered again: the share now passive or
    promoter after a completed follow-up, against those without one, with intervals and the
    caveat that this is not an experiment."""
    rec = data.loop_recovery
    if not len(rec) or not data.previous:
        return "<p>Recovery needs a previous quarter with follow-up cases.</p>"
    th = data.thresholds
    names = {"followed up": "with the case resolved", "not followed up": "without"}
    parts = []
    for _, r in rec.iterrows():
        n, who = int(r["answered_again"]), names.get(r["group"], r["group"])
        if n < th["base_suppress"]:
            parts.append(f"{html.escape(who)}, {n} answered again (fewer than "
                         f"{th['base_suppress']}: no share shown)")
        else:
            parts.append(f"{html.escape(who)}, "
                         f"{tables.format_estimate(r['share'], r['ci_low'], r['ci_high'], 0)} % "
                         f"of {n} are now passive or promoters")
    lead = (f"Detractors of {data.previous} with a case who answered again in {data.quarter}: ")
    return (f"<p>{lead}{'; '.join(parts)}.</p>"
            f"<p class='vq-note'>{html.escape(RECOVERY_CAVEAT)}</p>")


def loop_branches(data: ReportData) -> tables.HTMLTable:
    """The loop by branch: cases, contact within the SLA (hidden below the suppression base),
    overdue, and the root causes of the closed cases ranked (the first with its share of the
    branch's coded cases: a branch where one cause dominates stands out)."""
    br, causes = data.loop_branches, data.loop_causes
    if not len(br):
        return tables.HTMLTable("<p>No follow-up cases this quarter.</p>")
    th = data.thresholds
    first = causes[causes["rank"] == 1].set_index("branch") if len(causes) else None
    coded = causes.groupby("branch")["n"].sum() if len(causes) else None

    def cause(branch: str) -> str:
        if first is None or branch not in first.index:
            return ""
        r = first.loc[branch]
        return (f"{r['label']} ({tables.format_number(r['share'])} % of "
                f"{int(coded[branch])})")

    frame = pd.DataFrame({
        "Branch": br["branch"],
        "Cases": br["opened"].astype(int),
        "Contacted within SLA, %": [
            _share(r, th["base_suppress"]) or tables.suppress_label(
                base_suppress=th["base_suppress"]) for _, r in br.iterrows()],
        "Resolved": br["resolved"].astype(int),
        "Overdue now": br["overdue"].astype(int),
        "Most frequent root cause": [cause(b) for b in br["branch"]],
    })
    return tables.format_table(
        frame, table_id="loop-branches", caption=f"Closing the loop by branch, {data.quarter}",
        footnote="Root cause: of the branch's resolved cases with a code (cases.yaml "
                 "root_causes). Managers are shown only in the restricted views.")
