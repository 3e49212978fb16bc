"""The quarter's standards agenda: one proposal per standard and action, gated by evidence and
ranked by the NPS gain a what-if on the driver model expects from it.

:func:`proposal_impacts` runs :func:`vipquality.metrics.whatif.what_if` for every detailed
proposal of :func:`vipquality.standards.proposals.propose` (one per segment × standard ×
attribute): ``reinforce`` moves the standard's compliance to its target (through the attributes
it serves), ``revise_content`` and ``new_standard`` move the attribute's performance to the
segment's mean attribute performance (the level under which it "performs poorly"), the others
have no expected NPS gain. :func:`agenda` groups the detailed proposals into one row per
standard × action naming the segments it concerns, and ranks them: actions (``gate`` "act")
before watch items, each by expected impact. :func:`revision_evidence` reads the revision log
(difference in differences) to tell whether the step from compliance to the attributes is
measured (causal evidence) or assumed (associational).

Example
-------
>>> import pandas as pd
>>> detail = pd.DataFrame({"quarter": "2026Q3", "segment": ["all", "luxury"],
...     "standard_id": "S04", "title": "Deadlines", "attribute": "response_speed",
...     "action": "revise_content", "gate": ["act", "act"], "gate_note": "",
...     "label": "Speed of response", "compliance": [88.3, 93.6], "ci_low": [84.9, 87.7],
...     "ci_high": [91.0, 96.7], "target": 85.0, "performance": [64.4, 45.6],
...     "mean_performance": [75.9, 73.9], "weight": [18.3, 15.6], "w_low": [16.2, 13.1],
...     "w_high": [20.5, 18.4], "mean_weight": 12.5, "weight_all": 18.3, "n": [700, 202]})
>>> impacts = pd.DataFrame({"segment": ["all", "luxury"], "standard_id": "S04",
...     "action": "revise_content", "attribute": "response_speed", "change": [8.3, 23.6],
...     "ci_low": [6.9, 15.3], "ci_high": [9.6, 32.8], "basis": "associational"})
>>> a = agenda(detail, impacts, owners={"S04": "Head of operations"})
>>> a[["rank", "gate", "standard_id", "segments", "impact", "impact_segment"]]
   rank gate standard_id     segments  impact impact_segment
0     1  act         S04  all, luxury    23.6         luxury
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from vipquality.config import Workspace, load_workspace
from vipquality.metrics.whatif import ASSUMPTIONS, what_if
from vipquality.standards.proposals import ACTIONS

__all__ = [
    "ACTION_LABELS",
    "AGENDA_COLUMNS",
    "IMPACT_COLUMNS",
    "agenda",
    "assumptions",
    "proposal_impacts",
    "revision_evidence",
]

AGENDA_COLUMNS = [
    "rank", "gate", "quarter", "standard_id", "title", "owner", "action", "segments",
    "watch_segments", "attributes", "evidence", "impact", "impact_low", "impact_high",
    "impact_segment", "impact_basis", "gate_note", "n_detail",
]

IMPACT_COLUMNS = ["segment", "standard_id", "action", "attribute", "change", "ci_low",
                  "ci_high", "shift", "basis"]

#: Actions whose expected NPS gain the what-if estimates.
_SIMULATED = ("reinforce", "revise_content", "new_standard")

#: What each action is called on an agenda.
ACTION_LABELS = {
    "reinforce": "Reinforce (training, coaching, staffing)",
    "revise_content": "Revise the standard's content",
    "simplify_or_retire": "Simplify or retire",
    "new_standard": "Propose a new standard",
    "segment_variant": "Segment-specific target or variant",
}


def revision_evidence(revisions: pd.DataFrame | None, standard_id: str) -> tuple[float | None,
                                                                                  str]:
    """The pass-through from compliance to the served attributes measured by the revision log,
    and a sentence saying what the log shows.

    Returns ``(attr_did / did, sentence)`` when a revision of ``standard_id`` raised compliance
    significantly *and* moved the attributes it serves significantly upwards (both difference
    in differences intervals above 0): then the what-if's step from compliance to attributes is
    supported by a quasi-experiment. Otherwise ``(None, sentence)`` (``""`` when the log has no
    revision of that standard): the step is an assumption and the impact associational.
    """
    if revisions is None or not len(revisions) or "standard_id" not in revisions:
        return None, ""
    rows = revisions[revisions["standard_id"] == standard_id]
    if not len(rows):
        return None, ""
    r = rows.iloc[-1]
    f = "{:.1f}".format
    what = (f"The {standard_id} revision of {r['effective']} changed compliance by "
            f"{f(r['did'])} points (CI {f(r['ci_low'])} to {f(r['ci_high'])}) against the other "
            "standards")
    if pd.isna(r.get("attr_did")):
        return None, what + "; the log has no estimate for the attributes it serves."
    what += (f", and the attributes it serves by {f(r['attr_did'])} points (CI "
             f"{f(r['attr_ci_low'])} to {f(r['attr_ci_high'])}) against the others")
    if r["ci_low"] > 0 and r["attr_ci_low"] > 0:
        ratio = float(r["attr_did"] / r["did"])
        return ratio, (what + f": a measured pass-through of {ratio:.2f} attribute points per "
                       "compliance point (difference in differences, causal under parallel "
                       "trends).")
    return None, (what + ": the log does not support a causal step from compliance to "
                  "these attributes, so the expected impact is associational.")


def proposal_impacts(proposals: pd.DataFrame, responses: pd.DataFrame, workspace, *,
                     revisions: pd.DataFrame | None = None, outcome: str = "nps",
                     n_boot: int = 500, seed: int = 0) -> pd.DataFrame:
    """Expected change in NPS (or overall satisfaction) of each detailed proposal.

    Parameters
    ----------
    proposals : DataFrame
        :func:`vipquality.standards.proposals.propose` output.
    responses : DataFrame
        The quarter's survey responses with a ``segment`` column (one row per response ×
        segment), as :func:`vipquality.metrics.whatif.what_if` takes them.
    workspace : Workspace or path
    revisions : DataFrame, optional
        :func:`vipquality.standards.revisions.revision_effects`: a measured pass-through from
        compliance to attributes replaces the default assumption (:func:`revision_evidence`).
    outcome : {"nps", "overall"}, default "nps"
    n_boot, seed : int
        Bootstrap of the what-if interval.

    Returns
    -------
    DataFrame
        One row per simulated proposal (``reinforce``, ``revise_content``, ``new_standard``),
        columns :data:`IMPACT_COLUMNS`: ``change`` (NPS points) with ``ci_low``, ``ci_high``,
        ``shift`` (performance points applied to each moved attribute) and ``basis``
        (``"associational"`` or ``"revision DiD"``). Segments the what-if cannot fit (under
        the base) are left out.
    """
    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    rows = []
    if not len(proposals):
        return pd.DataFrame(columns=IMPACT_COLUMNS)
    sim = proposals[proposals["action"].isin(_SIMULATED)]
    cache: dict[tuple, pd.Series | None] = {}
    for r in sim.itertuples(index=False):
        if r.action == "reinforce":
            ratio, _ = revision_evidence(revisions, r.standard_id)
            key = ("std", r.segment, r.standard_id)
            kwargs = {"standard": r.standard_id, "compliance": float(r.compliance),
                      "to": float(r.target), "pass_through": ratio}
            basis = "associational" if ratio is None else "revision DiD"
        else:
            key = ("attr", r.segment, r.attribute)
            kwargs = {"attribute": r.attribute, "to": float(r.mean_performance)}
            basis = "associational"
        if key not in cache:
            res = what_if(responses, ws, segments=[r.segment], outcome=outcome, n_boot=n_boot,
                          seed=seed, **kwargs)
            cache[key] = res.iloc[0] if len(res) else None
        res = cache[key]
        if res is None:
            continue
        rows.append({"segment": r.segment, "standard_id": r.standard_id, "action": r.action,
                     "attribute": r.attribute, "change": res["change"],
                     "ci_low": res["ci_low"], "ci_high": res["ci_high"], "shift": res["shift"],
                     "basis": basis})
    return pd.DataFrame(rows, columns=IMPACT_COLUMNS)


def _evidence(r) -> str:
    """One line of evidence for a detailed proposal row."""
    f = "{:.1f}".format
    label = r.label
    driver = (f"{label} weighs {f(r.weight)}% of the NPS drivers (CI {f(r.w_low)}–"
              f"{f(r.w_high)}, average {f(r.mean_weight)}%)")
    comp = (f"compliance {f(r.compliance)}% (CI {f(r.ci_low)}–{f(r.ci_high)}) vs target "
            f"{r.target:g}%") if pd.notna(r.compliance) else ""
    perf = f"{label} at {f(r.performance)}/100 vs segment mean {f(r.mean_performance)}"
    if r.action == "reinforce":
        parts = [comp, driver]
    elif r.action in ("revise_content", "new_standard"):
        parts = [perf, driver.replace(f"{label} weighs", "weighing"), comp]
    elif r.action == "simplify_or_retire":
        parts = [comp, driver]
    else:
        parts = [(f"{label} weighs {f(r.weight)}% here vs {f(r.weight_all)}% for all clients "
                  f"(CI {f(r.w_low)}–{f(r.w_high)})")]
    return f"{r.segment}: " + "; ".join(p for p in parts if p)


def agenda(proposals: pd.DataFrame, impacts: pd.DataFrame | None = None, *,
           owners: dict[str, str] | None = None, labels: dict[str, str] | None = None,
           attribute_labels: dict[str, str] | None = None,
           personal_names: Iterable[str] = ()) -> pd.DataFrame:
    """One proposal per standard × action, gated, with its expected impact, ranked.

    Parameters
    ----------
    proposals : DataFrame
        :func:`vipquality.standards.proposals.propose` output (with ``gate``).
    impacts : DataFrame, optional
        :func:`proposal_impacts` output; without it every impact is NaN.
    owners : dict, optional
        Standard id → owner (from the catalogue); a new standard's owner is "Standards owner".
    labels : dict, optional
        Segment id → display label, used in ``segments`` and the evidence.
    attribute_labels : dict, optional
        Attribute id → label (the instrument's), used in ``attributes`` and the evidence.
    personal_names : iterable of str
        Names of people (e.g. the staff roster's ``manager_name``): an owner that contains one
        is shown as "Standards owner", so the agenda, an executive output, names roles only.

    Returns
    -------
    DataFrame
        Columns :data:`AGENDA_COLUMNS`, one row per standard × action: ``gate`` "act" when at
        least one segment's evidence is significant, else "watch"; ``segments`` the segments
        where it acts (where it is watched, for a watch item) and ``watch_segments`` the
        others; ``attributes`` those concerned; ``impact`` the largest expected NPS gain among
        ``segments`` (points) with ``impact_low``, ``impact_high`` and ``impact_segment`` (the
        segment it is in), ``impact_basis`` (associational or revision DiD); ``evidence`` one
        line for that segment; ``gate_note`` what falls short for watch items; ``n_detail``
        the detailed proposals grouped. Ranked: actions first, then by impact (largest first,
        none last), then catalogue order; ``rank`` 1, 2, …
    """
    owners, labels = dict(owners or {}), labels or {}
    names = [n.strip().casefold() for n in personal_names if n and str(n).strip()]
    for sid, owner in owners.items():
        if any(n in str(owner).casefold() for n in names):
            owners[sid] = "Standards owner"  # a person's name: executives see roles only
    if proposals is None or not len(proposals):
        return pd.DataFrame(columns=AGENDA_COLUMNS)
    detail = proposals.copy()
    names = attribute_labels or {}
    detail["label"] = [str(names.get(a, a)) for a in detail["attribute"]]
    if impacts is not None and len(impacts):
        imp = impacts.rename(columns={"change": "impact", "ci_low": "impact_low",
                                      "ci_high": "impact_high", "basis": "impact_basis"})
        detail = detail.merge(imp[["segment", "standard_id", "action", "attribute", "impact",
                                   "impact_low", "impact_high", "impact_basis"]],
                              on=["segment", "standard_id", "action", "attribute"], how="left")
    else:
        detail = detail.assign(impact=np.nan, impact_low=np.nan, impact_high=np.nan,
                               impact_basis="")
    detail["_order"] = range(len(detail))

    def name(segment: str) -> str:
        return labels.get(segment, segment)

    rows = []
    for (sid, action), grp in detail.groupby(["standard_id", "action"], sort=False):
        acting = grp[grp["gate"] == "act"]
        gate = "act" if len(acting) else "watch"
        chosen = acting if len(acting) else grp
        segs = list(dict.fromkeys(chosen["segment"]))
        watch = [s for s in dict.fromkeys(grp["segment"]) if s not in segs]
        best = (chosen.loc[chosen["impact"].idxmax()] if chosen["impact"].notna().any()
                else chosen.iloc[0])
        rows.append({
            "gate": gate, "quarter": str(grp["quarter"].iloc[0]), "standard_id": sid,
            "title": str(grp["title"].iloc[0]) if sid else "",
            "owner": owners.get(sid, "") if sid else "Standards owner",
            "action": action, "segments": ", ".join(map(name, segs)),
            "watch_segments": ", ".join(map(name, watch)),
            "attributes": ", ".join(dict.fromkeys(chosen["label"])),
            "evidence": _evidence(best).replace(f"{best['segment']}:",
                                                f"{name(best['segment'])}:", 1),
            "impact": best["impact"], "impact_low": best["impact_low"],
            "impact_high": best["impact_high"],
            "impact_segment": name(best["segment"]) if pd.notna(best["impact"]) else "",
            "impact_basis": best["impact_basis"] if pd.notna(best["impact"]) else "",
            "gate_note": "" if gate == "act" else "; ".join(dict.fromkeys(
                f"{name(s)}: {n}" for s, n in zip(grp["segment"], grp["gate_note"]) if n)),
            "n_detail": len(grp), "_order": grp["_order"].min(),
            "_a": ACTIONS.index(action) if action in ACTIONS else len(ACTIONS),
        })
    out = pd.DataFrame(rows)
    out["_g"] = (out["gate"] != "act").astype(int)
    out["_i"] = -out["impact"].fillna(-np.inf)
    out = out.sort_values(["_g", "_i", "_order", "_a"], kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out[AGENDA_COLUMNS]


def assumptions(revisions: pd.DataFrame | None = None, standards=()) -> list[str]:
    """The sentences an agenda's reader needs: the what-if's assumptions, the default
    pass-through from compliance to attributes, and what the revision log shows for each of
    ``standards`` that it has a revision of."""
    out = [*ASSUMPTIONS,
           ("A standard's compliance gap reaches NPS through the attributes it serves: closing "
            "one point of compliance is assumed to raise their performance by one point in all, "
            "shared evenly among them, unless the revision log measured it.")]
    for sid in dict.fromkeys(standards):
        _, sentence = revision_evidence(revisions, sid)
        if sentence:
            out.append(sentence)
    return out

