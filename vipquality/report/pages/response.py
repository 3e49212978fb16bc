"""The "Who answered" section of the standards review: response rates by segment and branch
with intervals, contact fatigue, responders against non-responders on the CRM's
characteristics (standardised mean differences) and what the weighting did to the headline NPS.
Aggregates of :func:`vipquality.data.weighting.who_answered`; no client id, no manager.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from vipquality.metrics.response import SMD_NOTE
from vipquality.report.data import ReportData
from vipquality.report.pages import tables

__all__ = ["weighting_note", "who_answered"]

_CHARACTERISTICS = {"tier": "Tier", "client_type": "Client type",
                    "lifetime_value": "Lifetime value", "last_transaction": "Recency",
                    "products": "Products"}


def _workspace(workspace):
    from vipquality.config import Workspace, load_workspace

    if isinstance(workspace, Workspace):
        return workspace
    return load_workspace(workspace) if workspace else load_workspace()


def _rates(frame: pd.DataFrame, key: str, label: str, labels: dict, base_suppress: int,
           caption: str, table_id: str) -> tables.HTMLTable:
    shown = []
    for _, r in frame.iterrows():
        hidden = r["invited"] < base_suppress
        shown.append({label: labels.get(r[key], r[key]),
                      "Invited": tables.format_number(r["invited"], 0, thousands=True),
                      "Answered": tables.format_number(r["responded"], 0, thousands=True),
                      "Response rate, %": tables.suppress_label(base_suppress=base_suppress)
                      if hidden else tables.format_estimate(r["rate"], r["ci_low"],
                                                            r["ci_high"], 0)})
    return tables.format_table(
        pd.DataFrame(shown), table_id=table_id, caption=caption,
        footnote=f"Clients invited this quarter (a client invited twice counts once) and the "
                 f"share who answered, 95 % Wilson interval; hidden when fewer than "
                 f"{base_suppress} were invited.")


def _note(w: dict) -> str:
    if not w.get("enabled"):
        return ("<p class='vq-note'>Figures are unweighted: each answer counts once "
                "(workspace.yaml weighting is off).</p>")
    target = ("the clients invited this quarter" if w["target"] == "invited"
              else "the whole VIP book")
    variables = ", ".join(v.replace("_", " ") for v in w["variables"])
    return (f"<p class='vq-note'>Weighted figures: the answers are weighted (raked) to the mix "
            f"of {html.escape(target)} by {html.escape(variables)}, weights "
            f"capped at {tables.format_number(w['trim'], 1)} × their mean. NPS of all VIP "
            f"clients {tables.format_estimate(w['nps_weighted'], w['ci_low'], w['ci_high'], 1)} "
            f"weighted, {tables.format_number(w['nps_unweighted'], 1)} unweighted; "
            f"{tables.format_number(w['n'], 0, thousands=True)} answers count as an effective "
            f"base of {tables.format_number(w['kish_n'], 0, thousands=True)} (Kish; design "
            f"effect {tables.format_number(w['deff'], 2)}). Every base n on the pages is this "
            "effective base for NPS and CES; CSI, attributes and compliance are unweighted.</p>")


def weighting_note(data: ReportData, workspace: str | Path | None = None) -> str:
    """One paragraph saying whether the quarter's figures are weighted and, if so, to what,
    with the headline NPS weighted and unweighted, the Kish effective base and the design
    effect (:func:`vipquality.data.weighting.weighting_summary`)."""
    from vipquality.data.weighting import weighting_summary

    return _note(weighting_summary(_workspace(workspace), data.quarter))


def who_answered(data: ReportData, workspace: str | Path | None = None) -> str:
    """The "Who answered" section as HTML: the weighting note, response rates by segment and
    by branch, contact fatigue and the standardised differences of responders against
    non-responders (no client id)."""
    from vipquality.data.weighting import who_answered as tables_of

    ws = _workspace(workspace)
    info = tables_of(ws, data.quarter)
    parts = [_note(info["weighting"])]
    if not info["invited"]:
        parts.append(f"<p>No invitations file for {html.escape(data.quarter)}: response rates "
                     "and non-response need the list of clients invited "
                     "(<code>invitations*.csv</code>, surveys/README.md).</p>")
        return "\n".join(parts)
    th = data.thresholds
    labels = dict(zip(data.segments["segment"], data.segments["label"]))
    seg = info["segments"][info["segments"]["segment"].isin(list(data.segments["segment"]))]
    order = {s: i for i, s in enumerate(data.segments["segment"])}
    seg = seg.sort_values("segment", key=lambda s: s.map(order), kind="mergesort")
    parts.append(_rates(seg, "segment", "Segment", labels, th["base_suppress"],
                        f"Response rate by segment, {data.quarter}", "response-segments"))
    if info.get("branches") is not None:
        parts.append(_rates(info["branches"], "branch", "Branch", {}, th["base_suppress"],
                            f"Response rate by branch, {data.quarter}", "response-branches"))
    f = info["fatigue"]
    tiers = ", ".join(f"{html.escape(str(k))} {v}" for k, v in f["by_tier"].items())
    parts.append(f"<p>Contact fatigue: {f['clients']:,} of the {f['invited']:,} clients invited "
                 f"this quarter were invited more than {f['limit']} times in the last 12 months"
                 + (f" ({tiers})" if tiers else "") + ".</p>")
    smd = info["smd"].copy()
    smd["Characteristic"] = smd["characteristic"].map(lambda c: _CHARACTERISTICS.get(c, c))
    unit = {"share": "%", "mean": "", "days": "days", "count": ""}
    smd["Level"] = [lv if lv else "" for lv in smd["level"]]
    smd["Unit"] = smd["kind"].map(unit)
    decimals = smd["kind"].map({"share": 1, "mean": 0, "days": 0, "count": 1})
    for col in ("responders", "non_responders"):
        smd[col] = [tables.format_number(v, int(d), thousands=True)
                    for v, d in zip(smd[col], decimals)]
    frame = smd[["Characteristic", "Level", "Unit", "responders", "non_responders", "smd"]].rename(
        columns={"responders": "Answered", "non_responders": "Did not answer",
                 "smd": "Standardised difference"})
    big = frame["Standardised difference"].abs() > 0.1
    frame["Standardised difference"] = [
        f"{tables.format_signed(v, 2)}{' ◆' if b else ''}"
        for v, b in zip(frame["Standardised difference"], big)]
    parts.append(tables.format_table(
        frame, table_id="response-smd",
        caption=f"Who answered: clients who answered against those invited who did not, "
                f"{data.quarter}",
        footnote=SMD_NOTE + " ◆: |SMD| above 0.1. Means of lifetime value in the "
                 "workspace's currency; recency in days since the last transaction at the "
                 "quarter's end; products: the number held and the share holding each."))
    return "\n".join(parts)


def response_by_manager(data: ReportData, workspace: str | Path | None = None) -> tables.HTMLTable:
    """Restricted (staff view): the response rate of each personal manager's invited clients,
    by branch and manager code, with its Wilson interval (hidden under the suppression base)."""
    from vipquality.data.weighting import who_answered as tables_of

    info = tables_of(_workspace(workspace), data.quarter)
    frame = info.get("managers")
    if not info["invited"] or frame is None or not len(frame):
        return tables.HTMLTable(f"<p>No invitations file for {html.escape(data.quarter)}.</p>")
    frame = frame.assign(key=frame["branch"].astype(str) + " · " + frame["manager_id"].astype(str))
    return _rates(frame, "key", "Branch · manager", {}, data.thresholds["base_suppress"],
                  f"Response rate by personal manager, {data.quarter}", "response-managers")
