"""The restricted case lists: each personal manager's own list, each branch head's list, and
the loop by manager.

:func:`write_case_lists` writes, into the run's restricted folder (``restricted/`` of the
staging folder, published with the staff page to the restricted root, never linked from the
executive index):

- ``cases/<manager_id>.html`` and ``.csv``: the manager's own clients whose case they are asked
  to follow up (consent given), with the client's id and name (the one place a name appears),
  overdue first, then by due date;
- ``cases/branch-<branch>.html`` and ``.csv``: every case of the branch (cases without consent
  with no client id or name: for the branch's learning);
- ``cases/managers.html`` and ``.csv``: the loop metrics by branch and manager code.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

from vipquality._files import atomic_write_text, safe_csv
from vipquality.config import Workspace
from vipquality.report.pages import tables

__all__ = ["CASES_DIR", "write_case_lists"]

#: Folder of the case lists inside the restricted folder.
CASES_DIR = "cases"

_LABELS = {"case_id": "Case", "due": "Due", "overdue": "Overdue", "status": "Status",
           "client_id": "Client", "client_name": "Client's name", "tier": "Tier",
           "manager_id": "Manager", "branch": "Branch", "opened": "Opened", "nps": "NPS",
           "ces": "CES", "overall": "Overall", "comment": "Comment (masked)",
           "first_contact": "First contact", "root_cause": "Root cause"}


def _safe_name(code: str) -> str:
    """A manager or branch code as a file name (anything but letters, digits, - and _ → _)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(code)) or "_"


def _display(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in ("due", "opened", "first_contact"):
        if c in out:
            out[c] = pd.to_datetime(out[c]).dt.strftime("%Y-%m-%d").fillna("")
    if "overdue" in out and "case_id" in out:  # a list, not the counts by manager
        out["overdue"] = out["overdue"].map({True: "OVERDUE", False: ""})
    return out.astype(object).where(out.notna(), "")


def _page(title: str, intro: str, frame: pd.DataFrame, table_id: str) -> str:
    body = tables.format_table(_display(frame), labels=_LABELS, table_id=table_id,
                               missing_note="Not given.") if len(frame) else \
        "<p>No case.</p>"
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<meta name='robots' content='noindex'><title>{html.escape(title)}</title>"
            "</head><body style='font-family:system-ui,sans-serif;margin:1rem'>"
            f"<h1>{html.escape(title)}</h1><p><strong>Restricted: client data. Do not forward."
            f"</strong> {html.escape(intro)}</p>{body}</body></html>")


def write_case_lists(ws: Workspace, quarter: str, restricted: str | Path,
                     loop_managers: pd.DataFrame | None = None) -> list[Path]:
    """Write the quarter's case lists into ``restricted/cases/`` (see the module docstring);
    returns the files written (none without cases.yaml or cases)."""
    from vipquality.data.cases import client_names
    from vipquality.standards.cases import case_list, quarter_cases

    if ws.cases is None:
        return []
    status = quarter_cases(ws, quarter)
    if status.empty:
        return []
    folder = Path(restricted) / CASES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    names = client_names(ws, quarter, status.loc[status["consent"].astype(bool), "client_id"])
    written: list[Path] = []

    def write(stem: str, title: str, intro: str, frame: pd.DataFrame) -> None:
        written.append(safe_csv(frame, folder / f"{stem}.csv"))
        written.append(atomic_write_text(folder / f"{stem}.html",
                                         _page(title, intro, frame, f"cases-{stem}")))

    for manager in sorted(status["manager_id"].dropna().unique()):
        own = case_list(status, names, manager_id=manager)
        if len(own):
            write(_safe_name(manager), f"Follow-up cases of {manager}, {quarter}",
                  "Your clients who asked to be contacted about their answers: call by the due "
                  "date (working days from the answer), then record the outcome in the "
                  "case_updates file. Overdue cases first.", own)
    for branch in sorted(status["branch"].dropna().unique()):
        write(f"branch-{_safe_name(branch)}", f"Follow-up cases of branch {branch}, {quarter}",
              "Every case of the branch; cases without the client's consent carry no client "
              "and are for the branch's learning only.",
              case_list(status, names, branch=branch))
    if loop_managers is not None and len(loop_managers):
        safe_csv(loop_managers, folder / "managers.csv")
        atomic_write_text(folder / "managers.html", _page(
            f"The follow-up loop by manager, {quarter}",
            "Cases opened, contacted within the SLA (share of the cases with consent, Wilson "
            "interval), median working days to the first contact, resolved, overdue now.",
            loop_managers, "cases-managers"))
        written += [folder / "managers.csv", folder / "managers.html"]
    return written
