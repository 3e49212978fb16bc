"""What needs attention after a run: ``alerts.json``, the run summary's alert lines, and their
optional delivery by e-mail.

:func:`compute_alerts` reads a quarter's :class:`~vipquality.report.data.ReportData` (and, for
the managers' detractors, the store):

- ``metric_fell``: a segment's (or a branch's) NPS, CSI, CES or compliance fell significantly
  since the previous quarter (the change test adjusted across groups, as on the pages);
- ``compliance_below_target``: a standard's compliance interval lies wholly below its target;
- ``contact_below_target``: the share of cases contacted within the SLA lies wholly below
  ``contact_target`` of cases.yaml;
- ``cases_overdue``: a branch's cases past their SLA without a first contact;
- ``manager_detractors``: a manager's share of detractors is unusually high against the other
  managers' (one-sided test, adjusted across managers). The executive alerts name the branch
  and count such managers; their codes go only to the restricted alerts.

:func:`send_alerts` mails them (``alerts.email`` of workspace.yaml, :mod:`smtplib`): executives
get the executive alerts (no client, no manager), each branch head the branch's overdue case
ids, each manager only their own open cases. A failed delivery is one line of the run's summary
and never fails the publication.
"""

from __future__ import annotations

import json
import os
import smtplib
from email.message import EmailMessage
from pathlib import Path

import numpy as np
import pandas as pd

from vipquality._files import atomic_write_text
from vipquality.config import Workspace
from vipquality.report.data import ReportData

__all__ = ["ALERTS_FILE", "alert_lines", "compute_alerts", "send_alerts", "write_alerts"]

ALERTS_FILE = "alerts.json"
_FELL = {"nps": "NPS", "csi": "CSI", "ces_mean": "CES (mean)", "compliance": "compliance"}


def _num(x: object, digits: int = 1) -> float | None:
    return None if x is None or pd.isna(x) else round(float(x), digits)


def _fell(table: pd.DataFrame, quarter: str, by: str) -> list[dict]:
    if not len(table) or "significant" not in table:
        return []
    now = table[(table["quarter"] == quarter) & table["metric"].isin(list(_FELL))
                & table["significant"].fillna(False).astype(bool)
                & (table["change"] < 0) & (table["base_flag"] != "suppressed")]
    if by == "branch":
        now = now[now["segment"] == "all"]
    return [{"kind": "metric_fell", by: str(r[by]), "metric": str(r["metric"]),
             "value": _num(r["value"]), "change": _num(r["change"]),
             "p_adjusted": _num(r["p_adjusted"], 4)} for _, r in now.iterrows()]


def _manager_detractors(ws: Workspace, quarter: str) -> pd.DataFrame:
    """Managers whose share of detractors is unusually high (restricted: manager codes)."""
    from vipquality.data.store import load_clients, load_responses
    from vipquality.metrics.loop import unusual_shares

    r = load_responses(ws, quarter)[["client_id", "nps"]].dropna()
    c = load_clients(ws, quarter)[["client_id", "manager_id", "branch"]]
    g = (r.merge(c, on="client_id").assign(det=lambda d: d["nps"].astype(float) <= 6)
         .groupby(["branch", "manager_id"])["det"].agg(["sum", "size"]).reset_index())
    g = g[g["size"] >= ws.reporting.base_suppress].reset_index(drop=True)
    if g.empty:
        return g.assign(unusual=pd.Series(dtype=bool))
    test = unusual_shares(g["sum"], g["size"], ws.reporting.adjustment)
    return pd.concat([g.rename(columns={"sum": "detractors", "size": "n"}), test], axis=1)


def compute_alerts(data: ReportData, ws: Workspace) -> tuple[dict, dict]:
    """The executive alerts (``alerts.json``) and the restricted ones (manager codes).

    Returns two dicts ``{"quarter", "alerts": [...]}``; each alert has a ``kind`` (see the
    module docstring) and the numbers behind it.
    """
    q = data.quarter
    alerts: list[dict] = []
    if data.previous:
        alerts += _fell(data.metrics, q, "segment") + _fell(data.branches, q, "branch")
    st = data.standards
    if len(st):
        low = st[(st["quarter"] == q) & (st["ci_high"] < st["target"])]
        alerts += [{"kind": "compliance_below_target", "segment": str(r["segment"]),
                    "standard_id": str(r["standard_id"]), "value": _num(r["value"]),
                    "ci_high": _num(r["ci_high"]), "target": _num(r["target"])}
                   for _, r in low.iterrows()]
    target = data.settings.get("contact_target")
    seg = data.loop_segments
    if target is not None and len(seg):
        base = seg["decided"] if "decided" in seg else seg["followed_up"]
        low = seg[(seg["ci_high"] < target) & (base >= ws.reporting.base_suppress)]
        alerts += [{"kind": "contact_below_target", "segment": str(r["segment"]),
                    "value": _num(r["contact_share"]), "ci_high": _num(r["ci_high"]),
                    "target": _num(target)} for _, r in low.iterrows()]
    br = data.loop_branches
    if len(br):
        alerts += [{"kind": "cases_overdue", "branch": str(r["branch"]),
                    "overdue": int(r["overdue"])} for _, r in br[br["overdue"] > 0].iterrows()]
    restricted: list[dict] = []
    md = _manager_detractors(ws, q)
    if len(md):
        flagged = md[md["unusual"]]
        for branch, g in flagged.groupby("branch"):
            alerts.append({"kind": "manager_detractors", "branch": str(branch),
                           "managers": int(len(g))})
        restricted = [{"kind": "manager_detractors", "branch": str(r["branch"]),
                       "manager_id": str(r["manager_id"]), "n": int(r["n"]),
                       "share": _num(r["share"]), "rest": _num(r["rest"]),
                       "p_adjusted": _num(r["p_adjusted"], 4)} for _, r in flagged.iterrows()]
    return {"quarter": q, "alerts": alerts}, {"quarter": q, "alerts": restricted}


def _p(p: float | None) -> str:
    return "n/a" if p is None else "< 0.0001" if p < 0.0001 else f"= {p}"


def _text(a: dict) -> str:
    kind = a["kind"]
    where = f"segment {a['segment']}" if "segment" in a else f"branch {a.get('branch')}"
    if kind == "metric_fell":
        return (f"{_FELL.get(a['metric'], a['metric'])} fell by {abs(a['change'])} in {where} "
                f"(now {a['value']}; adjusted p {_p(a['p_adjusted'])})")
    if kind == "compliance_below_target":
        return (f"standard {a['standard_id']} in {where}: compliance {a['value']} % (interval up "
                f"to {a['ci_high']}) below the target {a['target']} %")
    if kind == "contact_below_target":
        return (f"{where}: {a['value']} % of cases contacted within the SLA (interval up to "
                f"{a['ci_high']}) below the target {a['target']} %")
    if kind == "cases_overdue":
        return f"{where}: {a['overdue']} case(s) past the SLA without a first contact"
    if kind == "manager_detractors":
        if "manager_id" in a:
            return (f"manager {a['manager_id']} ({where}): {a['share']} % detractors against "
                    f"{a['rest']} % for the others (n = {a['n']}; adjusted p "
                    f"{_p(a['p_adjusted'])})")
        return (f"{where}: {a['managers']} manager(s) with an unusual share of detractors "
                "(see the restricted staff view)")
    return json.dumps(a, sort_keys=True)


def alert_lines(alerts: dict, limit: int = 12) -> list[str]:
    """The run summary's section: one line per alert (at most ``limit``, then a count)."""
    items = alerts.get("alerts", [])
    if not items:
        return [f"alerts: none for {alerts.get('quarter')}"]
    lines = [f"alerts ({len(items)}; see {ALERTS_FILE}):"]
    lines += [f"  - {_text(a)}" for a in items[:limit]]
    if len(items) > limit:
        lines.append(f"  … and {len(items) - limit} more")
    return lines


def write_alerts(data: ReportData, ws: Workspace, folder: str | Path,
                 restricted: str | Path) -> dict:
    """Write ``alerts.json`` (executive) into ``folder`` and ``alerts-managers.json`` into the
    ``restricted`` folder; return the executive alerts."""
    executive, managers = compute_alerts(data, ws)
    atomic_write_text(Path(folder) / ALERTS_FILE,
                      json.dumps(executive, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    if managers["alerts"]:
        Path(restricted).mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(restricted) / "alerts-managers.json",
                          json.dumps(managers, indent=1, sort_keys=True, ensure_ascii=False)
                          + "\n")
    return executive


def _messages(ws: Workspace, quarter: str, alerts: dict, status: pd.DataFrame
              ) -> list[EmailMessage]:
    mail = ws.alert_mail
    out = []

    def message(to: tuple[str, ...], subject: str, body: str) -> None:
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = mail.sender, ", ".join(to), subject
        m.set_content(body)
        out.append(m)

    if mail.executives:
        message(mail.executives, f"VIP quality {quarter}: {len(alerts['alerts'])} alert(s)",
                "\n".join(alert_lines(alerts, limit=100)) + "\n")
    open_cases = status[status["status"] != "resolved"] if len(status) else status
    for branch, to in sorted(mail.branches.items()):
        rows = open_cases[(open_cases["branch"] == branch) & open_cases["overdue"]] \
            if len(open_cases) else open_cases
        lines = [f"{r.case_id}: due {pd.Timestamp(r.due).date()}" for r in rows.itertuples()]
        message(to, f"Branch {branch}, {quarter}: {len(lines)} overdue case(s)",
                ("Cases past the SLA without a first contact:\n" + "\n".join(lines)
                 if lines else "No overdue case.") + "\n")
    for manager, to in sorted(mail.managers.items()):
        rows = open_cases[(open_cases["manager_id"] == manager)
                          & open_cases["consent"].astype(bool)] if len(open_cases) \
            else open_cases
        rows = rows.sort_values(["overdue", "due"], ascending=[False, True], kind="stable") \
            if len(rows) else rows
        lines = [f"{r.case_id} (client {r.client_id}): due {pd.Timestamp(r.due).date()}"
                 f"{' OVERDUE' if r.overdue else ''}, {r.status}" for r in rows.itertuples()]
        message(to, f"Your follow-up cases, {quarter}: {len(lines)} open",
                ("Your clients waiting for your call (full list in your restricted case "
                 "list):\n" + "\n".join(lines) if lines else "No open case.") + "\n")
    return out


def send_alerts(ws: Workspace, quarter: str, alerts: dict,
                status: pd.DataFrame | None = None, *, timeout: float = 20.0) -> list[str]:
    """E-mail the alerts (``alerts.email`` of workspace.yaml); return one line for the run's
    summary (``[]`` without mail settings). Never raises for a delivery problem."""
    mail = ws.alert_mail
    if mail is None:
        return []
    if status is None:
        from vipquality.standards.cases import quarter_cases

        status = quarter_cases(ws, quarter) if ws.cases is not None else pd.DataFrame()
    messages = _messages(ws, quarter, alerts, status)
    if not messages:
        return ["alerts e-mail: no recipient in workspace.yaml alerts.email.recipients"]
    try:
        with smtplib.SMTP(mail.host, mail.port, timeout=timeout) as smtp:
            if mail.starttls:
                smtp.starttls()
            if mail.password_env:
                password = os.environ.get(mail.password_env)
                if password is None:
                    return [f"alerts e-mail not sent: environment variable "
                            f"{mail.password_env} (alerts.email.password_env) is not set"]
                smtp.login(mail.username or mail.sender, password)
            for m in messages:
                smtp.send_message(m)
    except (OSError, smtplib.SMTPException) as err:
        return [f"alerts e-mail not sent ({type(err).__name__}: {err}); the report is "
                "published all the same"]
    n = int(np.sum([len(m["To"].split(",")) for m in messages]))
    return [f"alerts e-mailed: {len(messages)} message(s) to {n} address(es)"]
