"""The checks of a case_updates file that need the cases themselves.

:func:`check_table` validates each cell (status, date, root-cause code; the note is scrubbed
like a comment). What it cannot know is whether the case exists and when it opened: an update
for a case no stored response opens is rejected with that reason, and so is an update dated
before its case opened or after the day of the import. Updates may arrive in any order (a late
file may carry an earlier contact); the history keeps every accepted update, and the state of a
case is read from it by date (:func:`vipquality.data.cases.case_status`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from vipquality.data.cases import open_cases
from vipquality.data.ingest._validate import Checked, empty_rejects
from vipquality.data.readers import REJECT_COLUMNS

__all__ = ["check_against_cases", "opened_cases"]


def opened_cases(workspace, responses: pd.DataFrame, clients: pd.DataFrame,
                 memberships: pd.DataFrame | None = None) -> pd.Series:
    """``case_id -> opened`` (date) of the cases the responses open, each response against its
    own quarter's CRM extract (``quarter`` column of both frames)."""
    if workspace.cases is None or responses.empty:
        return pd.Series(dtype="datetime64[s]")
    parts = []
    for q, r in responses.groupby("quarter", sort=True):
        c = clients[clients["quarter"] == q]
        parts.append(open_cases(r, c, workspace.cases)[["case_id", "opened"]])
    cases = pd.concat(parts, ignore_index=True)
    return pd.Series(pd.to_datetime(cases["opened"]).to_numpy(), index=cases["case_id"])


def check_against_cases(checked: Checked, opened: pd.Series,
                        today: dt.date | None = None) -> Checked:
    """``checked`` without the updates for an unknown case, dated before their case opened or
    after ``today``; each becomes a reject row naming the case or the dates."""
    frame = checked.frame
    if frame.empty:
        return checked
    today = today or dt.date.today()
    ids = frame["case_id"].astype(str)
    when = pd.to_datetime(frame["date"])
    known = ids.isin(opened.index).to_numpy()
    start = pd.to_datetime(ids.map(opened)).to_numpy()
    early = known & (when.to_numpy() < start)
    late = (when > pd.Timestamp(today)).to_numpy()
    bad = ~known | early | late
    if not bad.any():
        return checked
    col = checked.mapping
    rows = []
    for i in np.flatnonzero(bad):
        r = frame.iloc[i]
        day = when.iloc[i].date().isoformat()
        if not known[i]:
            rows.append((checked.source_file, int(r["source_row"]), col["case_id"], r["case_id"],
                         f"case {r['case_id']!r} is unknown: no stored response of {r['quarter']} "
                         "or before opens it (cases.yaml rules); not imported"))
        elif early[i]:
            rows.append((checked.source_file, int(r["source_row"]), col["date"], day,
                         f"update dated {day}, before case {r['case_id']} opened on "
                         f"{pd.Timestamp(start[i]).date().isoformat()}; not imported"))
        else:
            rows.append((checked.source_file, int(r["source_row"]), col["date"], day,
                         f"update dated {day}, after the day of the import ({today}); "
                         "not imported"))
    rejects = pd.DataFrame(rows, columns=REJECT_COLUMNS).astype(empty_rejects().dtypes.to_dict())
    return dataclasses.replace(
        checked, frame=frame[~bad].reset_index(drop=True),
        rejects=pd.concat([checked.rejects, rejects], ignore_index=True),
        n_rejected=checked.n_rejected + int(bad.sum()))
