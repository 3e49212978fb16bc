"""Can the mystery shopper's verdict be trusted? Shopper calibration and appeals (restricted).

For the owner of the mystery-shopping programme, not for executives: shopper ids appear only in
the staff view (``reports/restricted/<quarter>/``). :func:`shopper_report` computes, over the
report's trend window,

- ``effects``: each shopper's leniency or severity against the other shoppers on comparable
  checks (:func:`vipquality.metrics.shoppers.shopper_effects`, on the results as the shoppers
  recorded them, before appeals), flagged after the workspace's multiplicity adjustment;
- ``by_standard``: each shopper's pass rate on each standard against the model's expectation;
- ``agreement``: Cohen's kappa per checklist item over the calibration visits (a second
  shopper's record of a visit, ``calibration_of``);
- ``appeals_by_branch`` and ``appeals_by_standard``: appeals per 100 visits (resp. per 1,000
  checks) and the share of decided appeals upheld, with Wilson intervals.

:func:`shopper_caveats` is the one thing executives see: the branches of the reported quarter
whose visits were made mostly (:data:`CAVEAT_SHARE` or more) by a flagged shopper, with a
sentence that names no shopper ("one shopper").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipquality.metrics.intervals import wilson
from vipquality.metrics.shoppers import rater_agreement, shopper_effects, shopper_standards

__all__ = ["shopper_report", "shopper_caveats", "quarter_caveats", "calibration_pairs", "appeal_rates",
           "CAVEAT_SHARE", "CAVEAT_COLUMNS"]

#: A branch gets a caveat when a flagged shopper made at least this share of its visits.
CAVEAT_SHARE = 0.5
CAVEAT_COLUMNS = ["quarter", "branch", "visits", "share", "direction", "caveat"]


def calibration_pairs(visits: pd.DataFrame) -> pd.DataFrame:
    """``item_id, visit_id, first, second``: each item of a calibration record beside the
    visit's own result (both as recorded, before appeals; n.a. is ``na``). ``visits`` as
    :func:`vipquality.data.store.load_visits` returns them with ``calibration=True,
    appeals=False``."""
    if "calibration_of" not in visits.columns:
        return pd.DataFrame(columns=["item_id", "visit_id", "first", "second"])
    second = visits[visits["calibration_of"].notna()]
    first = visits[visits["calibration_of"].isna()]
    pairs = second.merge(first[["visit_id", "item_id", "result"]],
                         left_on=["calibration_of", "item_id"], right_on=["visit_id", "item_id"],
                         suffixes=("_second", ""))
    return pd.DataFrame({"item_id": pairs["item_id"], "visit_id": pairs["calibration_of"],
                         "first": pairs["result"], "second": pairs["result_second"]}
                        ).reset_index(drop=True)


def appeal_rates(visits: pd.DataFrame, appeals: pd.DataFrame, by: str,
                 confidence: float = 0.95) -> pd.DataFrame:
    """Appeal and uphold rates by ``branch`` or ``standard_id``.

    Returns one row per group: ``visits``, ``checks`` (applicable, as recorded), ``appeals``,
    ``appeal_rate`` (per 100 visits for branches, per 1,000 checks for standards) with Wilson's
    interval on the visits (resp. checks), ``upheld``, ``uphold_rate`` (% of the appeals) with
    its Wilson interval.

    >>> v = pd.DataFrame({"visit_id": ["V1", "V1", "V2"], "item_id": ["a", "b", "a"],
    ...                   "branch": "B1", "standard_id": "S1", "result": ["no", "yes", "no"]})
    >>> a = pd.DataFrame({"visit_id": ["V1", "V2"], "item_id": ["a", "a"],
    ...                   "decision": ["upheld", "rejected"]})
    >>> r = appeal_rates(v, a, "branch").iloc[0]
    >>> int(r["visits"]), int(r["appeals"]), float(r["appeal_rate"]), float(r["uphold_rate"])
    (2, 2, 100.0, 50.0)
    """
    if by not in ("branch", "standard_id"):
        raise ValueError(f"by must be 'branch' or 'standard_id', got {by!r}")
    checks = visits[visits["result"].isin(["yes", "no"])]
    keyed = appeals.merge(visits[["visit_id", "item_id", by]].drop_duplicates(
        ["visit_id", "item_id"]), on=["visit_id", "item_id"], how="inner")
    out = pd.DataFrame({
        "visits": visits.groupby(by)["visit_id"].nunique(),
        "checks": checks.groupby(by).size(),
        "appeals": keyed.groupby(by).size(),
        "upheld": keyed[keyed["decision"] == "upheld"].groupby(by).size(),
    }).fillna(0).astype(int).rename_axis(by).reset_index()
    scale, base = (100, "visits") if by == "branch" else (1000, "checks")
    # an appeal names one item; a branch's rate counts the appealed visits' items over visits
    lo, hi = wilson(np.minimum(out["appeals"], out[base]), out[base], confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["appeal_rate"] = scale * out["appeals"] / out[base].where(out[base] > 0)
        out["appeal_ci_low"], out["appeal_ci_high"] = scale * np.asarray(lo), scale * np.asarray(hi)
        out["uphold_rate"] = 100 * out["upheld"] / out["appeals"].where(out["appeals"] > 0)
        ulo, uhi = wilson(out["upheld"], out["appeals"], confidence)
        out["uphold_ci_low"], out["uphold_ci_high"] = 100 * np.asarray(ulo), 100 * np.asarray(uhi)
    return out


def shopper_caveats(visits: pd.DataFrame, effects: pd.DataFrame, quarter: str,
                    share: float = CAVEAT_SHARE) -> pd.DataFrame:
    """The branches of ``quarter`` whose visits were made mostly by one flagged shopper.

    Returns :data:`CAVEAT_COLUMNS`: ``visits`` (the branch's visits), ``share`` (% made by the
    flagged shopper), ``direction`` (``lenient`` | ``severe``) and ``caveat``, a sentence for the
    executive pages that names no shopper.
    """
    flagged = effects.loc[effects["flag"] != "", ["shopper_id", "flag"]]
    v = visits[(visits["quarter"] == quarter) & visits["shopper_id"].notna()].drop_duplicates(
        "visit_id")
    if flagged.empty or v.empty:
        return pd.DataFrame(columns=CAVEAT_COLUMNS)
    total = v.groupby("branch")["visit_id"].size()
    rows = []
    for sid, flag in flagged.itertuples(index=False):
        made = v[v["shopper_id"] == sid].groupby("branch")["visit_id"].size()
        for branch, n in made.items():
            if n / total[branch] >= share:
                pct = 100 * n / total[branch]
                way = ("more leniently" if flag == "lenient" else "more severely")
                effect = "overstated" if flag == "lenient" else "understated"
                rows.append({"quarter": quarter, "branch": branch, "visits": int(total[branch]),
                             "share": pct, "direction": flag, "caveat": (
                                 f"{branch}: one shopper made {pct:.0f} % of the branch's "
                                 f"{int(total[branch])} visits this quarter and records results "
                                 f"{way} than the other shoppers on comparable visits; the "
                                 f"branch's compliance may be {effect}.")})
    return pd.DataFrame(rows, columns=CAVEAT_COLUMNS).sort_values("branch").reset_index(drop=True)


def quarter_caveats(workspace, quarters: list[str], quarter: str) -> pd.DataFrame:
    """:func:`shopper_caveats` of ``quarter`` with the shoppers flagged over ``quarters`` (the
    executive pages' caveat; one model fit, nothing else of :func:`shopper_report`)."""
    from vipquality.data.store import load_visits

    if "shopper_id" not in workspace.visit_columns:
        return pd.DataFrame(columns=CAVEAT_COLUMNS)
    rep = workspace.reporting
    primary = load_visits(workspace, quarters=list(quarters), appeals=False)
    effects = shopper_effects(primary, adjustment=rep.adjustment, confidence=rep.confidence)
    return shopper_caveats(primary, effects, quarter)


def shopper_report(workspace, quarters: list[str], quarter: str | None = None) -> dict:
    """Every table of the shopper calibration and the appeals over ``quarters`` (see the module
    docstring): ``effects``, ``by_standard``, ``agreement``, ``appeals_by_branch``,
    ``appeals_by_standard``, ``caveats`` (of ``quarter``, default the last of ``quarters``).
    ``workspace``: a Workspace, its folder, or None (the bundled sample). Without shopper ids
    in the visits the shopper tables are empty."""
    from vipquality.config import Workspace, load_workspace
    from vipquality.data.store import load_appeals, load_visits

    if not isinstance(workspace, Workspace):
        workspace = load_workspace(workspace) if workspace else load_workspace()
    quarters = list(quarters)
    rep = workspace.reporting
    recorded = load_visits(workspace, quarters=quarters, appeals=False, calibration=True)
    primary = recorded[recorded["calibration_of"].isna()]
    effects = shopper_effects(primary, adjustment=rep.adjustment, confidence=rep.confidence)
    by_standard = (shopper_standards(primary, effects) if len(effects)
                   else pd.DataFrame(columns=["shopper_id", "standard_id", "checks", "passed",
                                              "expected", "difference"]))
    agreement = rater_agreement(calibration_pairs(recorded), confidence=rep.confidence)
    appeals = load_appeals(workspace)
    appeals = appeals[appeals["visit_id"].isin(primary["visit_id"])]
    return {"effects": effects, "by_standard": by_standard, "agreement": agreement,
            "appeals_by_branch": appeal_rates(primary, appeals, "branch", rep.confidence),
            "appeals_by_standard": appeal_rates(primary, appeals, "standard_id",
                                                rep.confidence),
            "caveats": shopper_caveats(primary, effects, quarter or quarters[-1]),
            "quarters": list(quarters)}
