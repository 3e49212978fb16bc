"""The follow-up loop of one quarter: its cases with their state, the loop metrics, and the
managers' case lists.

:func:`quarter_cases` opens the quarter's cases (:mod:`vipquality.data.cases`) and reads their
state from the updates known by then (the case_updates of this quarter's folder and earlier
ones); :func:`loop_tables` turns them into the aggregates the pages show (no client id in any
of them); :func:`case_list` is the restricted list of one manager or branch, the one table with
client ids and names.

"Now" (``as_of``) is the day after the quarter ends, or the latest update known if later: a
report of a past quarter reads the same whenever it is run.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from vipquality.config import Workspace
from vipquality.data.cases import case_status, load_cases
from vipquality.metrics.loop import by_segment, loop_summary, recovery, root_causes

__all__ = ["LIST_COLUMNS", "as_of", "case_list", "loop_tables", "quarter_cases"]

#: Columns of a case list (restricted), in order.
LIST_COLUMNS = ["case_id", "due", "overdue", "status", "client_id", "client_name", "tier",
                "manager_id", "branch", "opened", "nps", "ces", "overall", "comment",
                "first_contact", "root_cause"]


def _updates_upto(ws: Workspace, quarter: str) -> pd.DataFrame:
    from vipquality.data.store import load_case_updates

    u = load_case_updates(ws)
    return u[u["quarter"] <= quarter].reset_index(drop=True)


def as_of(ws: Workspace, quarter: str, updates: pd.DataFrame | None = None) -> dt.date:
    """"Now" for a quarter's report: the day after it ends, or the latest update known then."""
    end = ws.quarter(quarter).end + dt.timedelta(days=1)
    if updates is None:
        updates = _updates_upto(ws, quarter)
    if len(updates):
        return max(end, pd.to_datetime(updates["date"]).max().date())
    return end


def quarter_cases(ws: Workspace, quarter: str) -> pd.DataFrame:
    """The cases opened in ``quarter`` with their state as of :func:`as_of` (see
    :func:`vipquality.data.cases.case_status`); empty without ``cases.yaml``."""
    cases = load_cases(ws, quarter)
    if ws.cases is None:
        return cases
    updates = _updates_upto(ws, quarter)
    return case_status(cases, updates, ws.cases, as_of(ws, quarter, updates))


def loop_tables(ws: Workspace, quarter: str, previous: str = "",
                segments: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The loop's aggregates for a quarter's pages.

    Returns
    -------
    dict of DataFrame
        ``loop_segments`` (:func:`~vipquality.metrics.loop.loop_summary` by ``segment``, the
        ``all`` segment first), ``loop_branches`` (by ``branch``), ``loop_managers`` (by
        ``branch, manager_id``: restricted views only), ``loop_causes`` (root causes ranked by
        ``branch``, and under ``all``) and ``loop_recovery`` (detractors of ``previous`` with a
        case, answering again in ``quarter``; empty without a previous quarter). No client id.
    """
    from vipquality.data.store import load_responses

    conf = ws.reporting.confidence
    status = quarter_cases(ws, quarter)
    empty = {k: pd.DataFrame() for k in ("loop_segments", "loop_branches", "loop_managers",
                                         "loop_causes", "loop_recovery")}
    if ws.cases is None or status.empty:
        return empty
    labels = dict(ws.cases.root_causes)
    seg = loop_summary(by_segment(status, segments), ["segment"], conf)
    order = {s: i for i, s in enumerate(["all", *(segments or sorted(set(seg["segment"])))])}
    seg = seg.assign(_o=seg["segment"].map(order)).sort_values("_o", kind="stable") \
        .drop(columns="_o").reset_index(drop=True)
    causes = pd.concat([root_causes(status.assign(branch="all"), ["branch"], labels),
                        root_causes(status, ["branch"], labels)], ignore_index=True)
    out = {"loop_segments": seg,
           "loop_branches": loop_summary(status, ["branch"], conf),
           "loop_managers": loop_summary(status, ["branch", "manager_id"], conf),
           "loop_causes": causes,
           "loop_recovery": pd.DataFrame()}
    if previous:
        prev = quarter_cases(ws, previous)
        # the state of last quarter's cases as known now, linked to the respondent by the
        # response (also without consent: the link never leaves this function)
        prev = case_status(prev.drop(columns=[c for c in prev.columns if c in (
            "status", "first_contact", "days_to_contact", "contacted_in_sla", "resolved",
            "resolved_on", "root_cause", "overdue", "updates")]), _updates_upto(ws, quarter),
            ws.cases, as_of(ws, quarter))
        who = load_responses(ws, previous)[["response_id", "client_id"]]
        prev = prev.drop(columns="client_id").merge(who, on="response_id", how="left")
        out["loop_recovery"] = recovery(prev, load_responses(ws, quarter), conf)
    return out


def case_list(status: pd.DataFrame, names: dict[str, str] | None = None, *,
              manager_id: str | None = None, branch: str | None = None) -> pd.DataFrame:
    """One manager's (or one branch's) case list: :data:`LIST_COLUMNS`, overdue cases first,
    then by due date.

    A manager's list holds only the cases of their own clients that they are asked to follow
    up (with consent); a branch's list holds every case of the branch, those without consent
    with no client id or name (for the branch's learning). ``names`` maps client id to the
    client's name from the CRM extract (the one place a name appears).
    """
    rows = status
    if manager_id is not None:
        rows = rows[(rows["manager_id"] == manager_id) & rows["consent"].astype(bool)]
    if branch is not None:
        rows = rows[rows["branch"] == branch]
    rows = rows.copy()
    rows["client_name"] = rows["client_id"].map(names or {}).where(rows["client_id"].notna(),
                                                                    None)
    rows = rows.sort_values(["overdue", "due", "case_id"], ascending=[False, True, True],
                            kind="stable")
    return rows[LIST_COLUMNS].reset_index(drop=True)
