"""The restricted staff view's presentation: summary sentence, chart and table of compliance by
personal manager (names appear only here, on the restricted page)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from vipquality.config import Reporting

__all__ = ["staff_summary", "staff_chart", "staff_table", "shopper_summary", "shopper_table",
           "agreement_table", "appeals_table"]


def _settings(table: pd.DataFrame) -> dict:
    """``base_suppress``, ``base_small`` and ``confidence`` the table was computed with
    (:func:`~vipquality.standards.staff.staff_compliance` keeps them in ``table.attrs``); the
    reporting defaults for a table that lost them."""
    default = Reporting()
    return {"base_suppress": int(table.attrs.get("base_suppress", default.base_suppress)),
            "base_small": int(table.attrs.get("base_small", default.base_small)),
            "confidence": float(table.attrs.get("confidence", default.confidence))}


def _window_text(table: pd.DataFrame) -> str:
    q = table.attrs.get("quarters") or []
    return f"{q[0]}\u2013{q[-1]}" if len(q) > 1 else (q[0] if q else "")


def staff_summary(table: pd.DataFrame) -> str:
    """A short HTML paragraph: how many managers are ranked, below target, untrained."""
    base = _settings(table)["base_suppress"]
    ranked = int(table["rank"].notna().sum())
    below = int(table["below_target"].fillna(False).sum())
    untrained = int(table["not_trained_12m"].fillna(False).sum())
    uncertified = int((table["certified"] == False).fillna(False).sum())  # noqa: E712
    as_of = table.attrs.get("as_of")
    text = (f"{len(table)} personal managers, visits pooled over {_window_text(table)}. "
            f"{ranked} have at least {base} scored visits and are ranked; the others are "
            f"listed with their visit count only. Below their target: {below} of the ranked "
            f"managers. Not trained in the 12 months to {as_of}: {untrained}. Not certified: "
            f"{uncertified}.")
    return f"<p class='vq-story'>{html.escape(text)}</p>"


def _name(row) -> str:
    return f"{row['manager_name']} ({row['manager_id']})" if row["manager_name"] else str(
        row["manager_id"])


def staff_chart(table: pd.DataFrame, *, fig_id: str = "staff-compliance"):
    """Share of checks passed by the ranked managers (highest first), with intervals, against
    the target of all visits (each manager's own target is in :func:`staff_table`)."""
    from vipquality.report.pages import charts

    shown = table[table["rank"].notna()]
    frame = pd.DataFrame({"manager": shown["manager_id"], "value": shown["checks_passed"],
                          "ci_low": shown["checks_ci_low"], "ci_high": shown["checks_ci_high"],
                          "n": shown["visits"], "base_flag": shown["base_flag"]})
    target = table.attrs.get("target")
    hidden = len(table) - len(shown)
    settings = _settings(table)
    base = settings["base_suppress"]
    return charts.compliance_by_branch(
        frame, None if target is None or pd.isna(target) else float(target), branch="manager",
        labels={r["manager_id"]: _name(r) for _, r in shown.iterrows()},
        title=(f"Checklist items passed by personal manager, {_window_text(table)} "
               f"({hidden} with fewer than {base} visits not shown)"),
        fig_id=fig_id, **settings)


def staff_table(table: pd.DataFrame, *, table_id: str = "vq-staff"):
    """The staff table, furthest below target first (where training is needed), unranked last."""
    from vipquality.report.pages import tables

    def day(x) -> str:
        return "" if pd.isna(x) else pd.Timestamp(x).date().isoformat()

    def flag(x) -> str:
        return "" if x is pd.NA or pd.isna(x) else ("yes" if x else "")

    order = table.assign(_g=table["gap"].fillna(np.inf)).sort_values(
        ["_g", "manager_id"], kind="stable")
    frame = pd.DataFrame({
        "Manager": order["manager_name"].where(order["manager_name"] != "", "(not in roster)"),
        "Code": order["manager_id"], "Branch": order["branch"],
        "Visits": order["visits"].astype(int).astype(str),
        "Visit score, %": list(zip(order["compliance"], order["ci_low"], order["ci_high"])),
        "Rank": order["rank"],
        "Checks passed, %": list(zip(order["checks_passed"], order["checks_ci_low"],
                                     order["checks_ci_high"])),
        "Target, %": [tables.format_number(t, 1) for t in order["target"]],
        "Gap, points": order["gap"],
        "Below target": order["below_target"].map(flag),
        "Certified": [("" if c is pd.NA else "yes" if c else "no") + (f" ({day(d)})" if day(d)
                      else "") for c, d in zip(order["certified"], order["certified_on"])],
        "Last trained": order["last_trained"].map(day),
        "Not trained in 12 months": order["not_trained_12m"].map(flag),
        "base_flag": order["base_flag"],
    })
    settings = _settings(table)
    base, conf = settings["base_suppress"], settings["confidence"]
    return tables.format_table(
        frame, {"Visit score, %": lambda v: tables.format_estimate(*v, 1),
                "Checks passed, %": lambda v: tables.format_estimate(*v, 1),
                "Gap, points": lambda v: tables.format_signed(v, 1),
                "Rank": lambda v: tables.format_number(v, 0), "Below target": str},
        table_id=table_id, base_suppress=base, base_small=settings["base_small"],
        caption=f"Personal managers, {_window_text(table)} (furthest below target first)",
        footnote=(f"Visit score: mean mystery-shopper visit score (a critical failure scores "
                  f"the visit 0) with its {conf:.0%} interval; rank by visit score. Checks "
                  f"passed: share of applicable checklist items answered yes (its interval "
                  f"counts the checks of one visit as one cluster), against the "
                  f"targets of the standards checked for the segments the shoppers played. "
                  f"Managers with fewer than {base} scored visits are not ranked and show no "
                  f"value. Training recency at {table.attrs.get('as_of')}."))


# --------------------------------------------------------------------------------------------
# shopper calibration and appeals (:func:`vipquality.standards.shoppers.shopper_report`)


def _quarters_text(report: dict) -> str:
    q = report.get("quarters") or []
    return f"{q[0]}\u2013{q[-1]}" if len(q) > 1 else (q[0] if q else "")


def shopper_summary(report: dict) -> str:
    """A short HTML paragraph: shoppers compared, flagged, calibration pairs, appeals upheld."""
    e, agree = report["effects"], report["agreement"]
    by_branch = report["appeals_by_branch"]
    if e.empty:
        text = ("The visits carry no shopper id (workspace.yaml visits.columns.shopper_id), so "
                "shoppers cannot be compared.")
    else:
        flagged = e[e["flag"] != ""]
        named = ", ".join(f"{r.shopper_id} ({r.flag}, {r.difference:+.1f} points)"
                          for r in flagged.itertuples()) or "none"
        adj = {"holm": "Holm", "bh": "Benjamini–Hochberg"}.get(e.attrs.get("adjustment"), "")
        text = (f"{len(e)} shoppers compared over {_quarters_text(report)} on the checks they "
                f"recorded (before appeals), against the other shoppers on the same standards "
                f"and quarters, branches and scenarios. Flagged after {adj} adjustment: {named}.")
    pairs = int(agree["pairs"].max()) if len(agree) else 0
    text += (f" Calibration visits (a second shopper on the same visit): {pairs} per item."
             if pairs else " No calibration visits in the window.")
    n, up = int(by_branch["appeals"].sum()), int(by_branch["upheld"].sum())
    visits = int(by_branch["visits"].sum())
    if visits:
        text += (f" Appeals: {n} on {visits} visits ({100 * n / visits:.1f} per 100), "
                 f"{up} upheld.")
    return f"<p class='vq-story'>{html.escape(text)}</p>"


def shopper_table(report: dict, *, table_id: str = "vq-shoppers"):
    """Each shopper's pass rate against the other shoppers', most lenient first."""
    from vipquality.report.pages import tables

    e = report["effects"].sort_values(["difference", "shopper_id"], ascending=[False, True],
                                      kind="stable")
    frame = pd.DataFrame({
        "Shopper": e["shopper_id"], "Visits": e["visits"].astype(int).astype(str),
        "Checks": e["checks"].astype(int).astype(str),
        "Passed, %": e["passed"], "Expected, %": e["expected"],
        "Difference, points": e["difference"],
        "Effect (log-odds)": list(zip(e["log_odds"], e["ci_low"], e["ci_high"])),
        "p (adjusted)": e["p_adjusted"], "Flag": e["flag"]})
    return tables.format_table(
        frame, {"Passed, %": ".1f", "Expected, %": ".1f",
                "Difference, points": lambda v: tables.format_signed(v, 1),
                "Effect (log-odds)": lambda v: tables.format_estimate(*v, 2),
                "p (adjusted)": ".3f", "Flag": str},
        table_id=table_id,
        caption=f"Mystery shoppers, {_quarters_text(report)} (most lenient first)",
        footnote=("Passed: share of the shopper's applicable checks recorded as passed, before "
                  "appeals. Expected: what the other shoppers would record on the same checks, "
                  "from a logistic model of each check on the standard in its quarter, the "
                  "branch, the scenario played and the shopper (its interval counts the checks "
                  "of one visit as one cluster). Flag: the effect differs from the other "
                  "shoppers' after adjustment for the number of shoppers."))


def agreement_table(report: dict, *, table_id: str = "vq-agreement"):
    """Agreement of two shoppers on the calibration visits, per checklist item."""
    from vipquality.report.pages import tables

    a = report["agreement"].sort_values(["kappa", "item_id"], kind="stable", na_position="last")
    frame = pd.DataFrame({"Item": a["item_id"], "Pairs": a["pairs"].astype(int).astype(str),
                          "Same result, %": a["agreement"],
                          "Cohen's kappa": list(zip(a["kappa"], a["ci_low"], a["ci_high"]))})
    return tables.format_table(
        frame, {"Same result, %": ".0f",
                "Cohen's kappa": lambda v: tables.format_estimate(*v, 2)},
        table_id=table_id, caption=f"Calibration visits, {_quarters_text(report)} (least "
                                   "agreement first)",
        missing_note="Kappa is undefined when both shoppers gave one and the same result on "
                     "every pair.",
        footnote=("Each calibration visit is rated by a second shopper; kappa is the agreement "
                  "beyond chance on yes / no / n.a. (1 = perfect, 0 = no better than chance), "
                  "with its interval. Items below about 0.6 need clearer checklist wording or "
                  "shopper training."))


def appeals_table(report: dict, by: str = "branch", *, table_id: str | None = None):
    """Appeal and uphold rates by branch or by standard (``by="standard_id"``)."""
    from vipquality.report.pages import tables

    t = report["appeals_by_branch" if by == "branch" else "appeals_by_standard"]
    per = "per 100 visits" if by == "branch" else "per 1,000 checks"
    t = t.sort_values(["appeal_rate", by], ascending=[False, True], kind="stable")
    frame = pd.DataFrame({
        "Branch" if by == "branch" else "Standard": t[by],
        "Visits" if by == "branch" else "Checks": t["visits" if by == "branch" else "checks"]
        .astype(int).astype(str),
        "Appeals": t["appeals"].astype(int).astype(str),
        f"Appeals {per}": list(zip(t["appeal_rate"], t["appeal_ci_low"], t["appeal_ci_high"])),
        "Upheld": t["upheld"].astype(int).astype(str),
        "Upheld, % of appeals": list(zip(t["uphold_rate"], t["uphold_ci_low"],
                                         t["uphold_ci_high"]))})
    return tables.format_table(
        frame, {f"Appeals {per}": lambda v: tables.format_estimate(*v, 1),
                "Upheld, % of appeals": lambda v: tables.format_estimate(*v, 0)},
        table_id=table_id or f"vq-appeals-{'branch' if by == 'branch' else 'standard'}",
        caption=f"Appeals by {'branch' if by == 'branch' else 'standard'}, "
                f"{_quarters_text(report)}",
        missing_note="No appeal: no uphold rate.",
        footnote=("An appeal disputes one checked item of a visit; an upheld appeal replaces "
                  "the shopper's result in every compliance figure (the recorded result stays "
                  "in the store). Intervals: Wilson."))
