"""Closing the loop: the standards scorecard and rule-based revision proposals.

:func:`scorecard` puts, per standard × segment for the reported quarter, the standard's
compliance (with its interval, base and trend) next to the performance and driver weight of the
CSI attributes it serves. :func:`propose` turns a scorecard into revision proposals by the
transparent rules of :class:`RevisionRules`, each with its evidence and a generated sentence;
:func:`write_proposals` writes them as working documents for the standards owner.

The rules (all thresholds are fields of :class:`RevisionRules`)
---------------------------------------------------------------
Within a segment with k attributes in its driver table, the average driver share is 100/k % (the
importance–performance split of the metric spec); the segment's mean attribute performance is
the mean of its attributes' performance (0–100) in the quarter.

- an attribute **matters** when its rescaled driver weight ≥ ``high_weight_ratio`` · 100/k;
- it has **little weight** when its weight < ``low_weight_ratio`` · 100/k;
- it **performs poorly** when its performance < segment mean − ``low_performance_margin``;
- a standard is **below target** when compliance < target, **at or above** when compliance ≥
  target (with ``use_interval``: the interval's upper bound < target, resp. lower bound ≥ target;
  in between nothing is proposed).

Actions (one row per segment × standard × attribute that fires):

``reinforce``
    below target and the served attribute matters (training, coaching, staffing).
``revise_content``
    at or above target, yet the served attribute matters and performs poorly.
``simplify_or_retire``
    at or above target and ≥ ``high_compliance``, and *every* attribute it serves has little
    weight (one row per served attribute).
``new_standard``
    an attribute that matters and performs poorly and that no standard of the catalogue serves
    (``standard_id`` is ``""``).
``segment_variant``
    a segment (not ``all``) where an attribute's driver weight differs from its all-clients
    weight by ≥ ``variant_min_difference`` points and, with ``variant_requires_interval``, the
    all-clients weight lies outside the segment's bootstrap interval (when the drivers carry one):
    one row per non-suppressed standard serving that attribute in the segment (``""`` when no
    standard serves it).

Suppressed groups never produce proposals: a standard × segment whose compliance base is under
the threshold, a segment without driver weights (the drivers table leaves out segments under the
base), and an attribute whose performance row is suppressed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from vipquality.config import ALL_SEGMENT
from vipquality.standards.scorecard import SCORECARD_COLUMNS, attribute_table, catalogue

__all__ = ["RevisionRules", "propose", "ACTIONS", "GATES", "PROPOSAL_COLUMNS"]

#: The proposal actions, in the order they are listed.
ACTIONS = ("reinforce", "revise_content", "simplify_or_retire", "new_standard",
           "segment_variant")


PROPOSAL_COLUMNS = [
    "quarter", "segment", "standard_id", "title", "attribute", "action", "reason",
    "compliance", "ci_low", "ci_high", "target", "gap", "performance", "mean_performance",
    "weight", "mean_weight", "weight_all", "n", "n_survey", "weight_overall",
    "w_low", "w_high", "gate", "gate_note",
]

#: The evidence gate: ``act`` when every piece of evidence the action rests on is significant,
#: else ``watch`` (see :func:`propose`).
GATES = ("act", "watch")


# --------------------------------------------------------------------------------------------
# inputs


# --------------------------------------------------------------------------------------------
# scorecard


# --------------------------------------------------------------------------------------------
# key drivers on the NPS item and on overall satisfaction


# --------------------------------------------------------------------------------------------
# rules


@dataclass(frozen=True)
class RevisionRules:
    """Thresholds of the revision rules (see the module docstring for the rules themselves).

    Attributes
    ----------
    high_weight_ratio : float, default 1.0
        An attribute *matters* when its rescaled driver weight is at least this multiple of
        the segment's average share 100/k (1.0 = the importance–performance split at the mean).
    low_weight_ratio : float, default 0.75
        An attribute has *little weight* below this multiple of 100/k.
    low_performance_margin : float, default 2.0
        An attribute *performs poorly* when its performance (0–100) is more than this many
        points below the segment's mean attribute performance.
    high_compliance : float, default 90.0
        Simplify/retire needs compliance at or above both the target and this level (%).
    use_interval : bool, default False
        Judge "below target" by the upper bound of the compliance interval and "at or above" by
        its lower bound instead of the point estimate (conservative; in between nothing fires).
    variant_min_difference : float, default 5.0
        A segment's attribute weight must differ from the all-clients weight by at least this
        many points (rescaled %) for a segment variant.
    variant_requires_interval : bool, default True
        Also require the all-clients weight to lie outside the segment's bootstrap interval
        (ignored when the drivers carry no interval).
    """

    high_weight_ratio: float = 1.0
    low_weight_ratio: float = 0.75
    low_performance_margin: float = 2.0
    high_compliance: float = 90.0
    use_interval: bool = False
    variant_min_difference: float = 5.0
    variant_requires_interval: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("bool", bool):
                if not isinstance(value, bool):
                    raise ValueError(f"RevisionRules.{f.name} must be True or False, "
                                     f"got {value!r}")
            elif (isinstance(value, bool) or not isinstance(value, (int, float))
                  or not math.isfinite(value) or value < 0):
                raise ValueError(f"RevisionRules.{f.name} must be a finite number ≥ 0, "
                                 f"got {value!r}")
        if self.low_weight_ratio > self.high_weight_ratio:
            raise ValueError("RevisionRules.low_weight_ratio must not exceed high_weight_ratio "
                             f"({self.low_weight_ratio} > {self.high_weight_ratio})")


def propose(scorecard: pd.DataFrame, drivers: pd.DataFrame, metrics: pd.DataFrame, standards,
            rules: RevisionRules = RevisionRules(), *,
            drivers_overall: pd.DataFrame | None = None) -> pd.DataFrame:
    """Revision proposals from a :func:`scorecard`, by the rules of :class:`RevisionRules`.

    Parameters
    ----------
    scorecard : DataFrame
        :func:`scorecard` output (one quarter).
    drivers : DataFrame
        ``ReportData.drivers`` of the same quarter (``segment, attribute, label, rescaled,
        ci_low, ci_high, n``).
    metrics : DataFrame
        ``ReportData.metrics`` (rows ``attr:<id>`` of the scorecard's quarter are used).
    standards : Standards, Workspace or path
        The catalogue (which attributes each standard serves).
    rules : RevisionRules
    drivers_overall : DataFrame, optional
        The drivers of overall satisfaction (:func:`key_drivers` with ``outcome="overall"``):
        evidence only (``weight_overall`` and a clause of the reason); the rules use the NPS
        drivers.

    Returns
    -------
    DataFrame
        One row per proposal, columns :data:`PROPOSAL_COLUMNS`: ``segment``, ``standard_id``
        (``""`` for a new standard), ``title``, ``attribute``, ``action`` (one of
        :data:`ACTIONS`), ``reason`` (a sentence with the numbers) and the evidence:
        ``compliance``, its interval, ``target``, ``gap``, the attribute's ``performance`` and
        the segment's ``mean_performance``, its driver ``weight``, the segment's average share
        ``mean_weight`` (100/k), its all-clients weight ``weight_all``, ``n`` (checks) and
        ``n_survey`` (respondents behind the weights), ``weight_overall`` (the attribute's share
        of the overall-satisfaction drivers, NaN without ``drivers_overall``). Ordered by
        standard (catalogue order, new standards last), segment (scorecard order), action
        (:data:`ACTIONS` order), attribute (driver order).
    """
    cat = catalogue(standards)
    if not len(scorecard):
        scorecard = pd.DataFrame(columns=SCORECARD_COLUMNS)
    if len(scorecard):
        quarter = str(scorecard["quarter"].iloc[0])
    elif len(metrics):
        quarter = str(metrics["quarter"].max())
    else:
        return pd.DataFrame(columns=PROPOSAL_COLUMNS)

    attrs = attribute_table(metrics, drivers, quarter, drivers_overall)
    if not len(attrs):
        return pd.DataFrame(columns=PROPOSAL_COLUMNS)
    attrs["label"] = attrs["label"].fillna(attrs["attribute"]).astype(str)
    per_seg = attrs.groupby("segment")
    attrs["mean_weight"] = 100.0 / per_seg["attribute"].transform("size")
    attrs["mean_performance"] = per_seg["performance"].transform("mean")
    all_w = attrs.loc[attrs["segment"] == ALL_SEGMENT].set_index("attribute")["weight"]
    attrs["weight_all"] = attrs["attribute"].map(all_w)
    attrs["matters"] = attrs["weight"] >= rules.high_weight_ratio * attrs["mean_weight"]
    attrs["little"] = attrs["weight"] < rules.low_weight_ratio * attrs["mean_weight"]
    attrs["poor"] = attrs["performance"] < (attrs["mean_performance"]
                                            - rules.low_performance_margin)
    attr_order = {a: i for i, a in enumerate(dict.fromkeys(attrs["attribute"]))}
    seg_order = {s: i for i, s in enumerate(dict.fromkeys(
        [*scorecard["segment"], *attrs["segment"]]))}

    served = pd.DataFrame([(s.id, a) for s in cat for a in s.attributes],
                          columns=["standard_id", "attribute"])
    sc = scorecard[~scorecard["suppressed"].astype(bool) & scorecard["compliance"].notna()]
    sc = sc[["quarter", "segment", "standard_id", "title", "compliance", "ci_low", "ci_high",
             "target", "gap", "n"]]
    linked = sc.merge(served, on="standard_id").merge(attrs, on=["segment", "attribute"])
    if rules.use_interval:
        below = linked["ci_high"] < linked["target"]
        met = linked["ci_low"] >= linked["target"]
    else:
        below = linked["compliance"] < linked["target"]
        met = linked["compliance"] >= linked["target"]
    # simplify needs every served attribute to have little weight (all of them known)
    k_served = served.groupby("standard_id").size()
    little_all = linked.groupby(["segment", "standard_id"])["little"].transform("sum").eq(
        linked["standard_id"].map(k_served))
    high = linked["compliance"] >= np.maximum(linked["target"], rules.high_compliance)
    # the gate of simplify: every served attribute's weight interval lies below 1/k
    linked["all_below"] = (linked["w_high"] < linked["mean_weight"]).groupby(
        [linked["segment"], linked["standard_id"]]).transform("all")

    frames = [
        linked[below & linked["matters"]].assign(action="reinforce"),
        linked[met & linked["matters"] & linked["poor"]].assign(action="revise_content"),
        linked[met & high & little_all].assign(action="simplify_or_retire"),
    ]

    # attributes no standard serves
    orphan = attrs[~attrs["attribute"].isin(served["attribute"]) & attrs["matters"]
                   & attrs["poor"]]
    frames.append(orphan.assign(action="new_standard", quarter=quarter, standard_id="",
                                title=""))

    # segments whose drivers differ from all clients'
    diff = attrs[(attrs["segment"] != ALL_SEGMENT) & attrs["weight_all"].notna()].copy()
    differs = (diff["weight"] - diff["weight_all"]).abs() >= rules.variant_min_difference
    if rules.variant_requires_interval:
        has_ci = diff["w_low"].notna() & diff["w_high"].notna()
        outside = (diff["weight_all"] < diff["w_low"]) | (diff["weight_all"] > diff["w_high"])
        differs &= ~has_ci | outside
    diff = diff[differs]
    if len(diff):
        with_std = diff.merge(served, on="attribute").merge(
            sc, on=["segment", "standard_id"])
        no_std = diff[~diff["attribute"].isin(served["attribute"])].assign(
            quarter=quarter, standard_id="", title="")
        frames += [with_std.assign(action="segment_variant"),
                   no_std.assign(action="segment_variant")]

    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=PROPOSAL_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    for c in PROPOSAL_COLUMNS:
        if c not in out:
            out[c] = np.nan
    out["title"] = out["title"].fillna("").astype(str)
    out["reason"] = [_reason(r) for r in out.itertuples(index=False)]
    out["all_below"] = (out["all_below"] if "all_below" in out else pd.Series(
        False, index=out.index)).astype("boolean").fillna(False).astype(bool)
    gates = [_gate(r) for r in out.itertuples(index=False)]
    out["gate"] = [g for g, _ in gates]
    out["gate_note"] = [note for _, note in gates]

    std_order = {s: i for i, s in enumerate(cat.ids)}
    act_order = {a: i for i, a in enumerate(ACTIONS)}
    out = out.assign(
        _t=out["standard_id"].map(std_order).fillna(len(std_order)),
        _s=out["segment"].map(seg_order), _a=out["action"].map(act_order),
        _r=out["attribute"].map(attr_order))
    out = out.sort_values(["_t", "standard_id", "_s", "segment", "_a", "_r", "attribute"],
                          kind="stable")
    out = out[PROPOSAL_COLUMNS].reset_index(drop=True)
    out["n"] = out["n"].astype("Int64")
    out["n_survey"] = out["n_survey"].astype("Int64")
    return out


def _gate(r) -> tuple[str, str]:
    """``("act", "")`` when the evidence an action rests on is significant, else ``("watch",
    what falls short)``.

    A compliance gap counts when its interval lies wholly on the side of the target the action
    needs (below for ``reinforce``; at or above for ``simplify_or_retire``); a driver counts
    when its weight interval excludes the segment's average share 100/k (above for an attribute
    that matters, below for one of little weight); a segment variant needs the all-clients
    weight outside the segment's interval. Without an interval nothing counts as significant.
    """
    short = []
    gap_below = r.ci_high < r.target
    driver_up = r.w_low > r.mean_weight
    if r.action == "reinforce":
        if not gap_below:
            short.append(f"compliance gap not significant (CI {_f(r.ci_low)}–{_f(r.ci_high)} "
                         f"reaches the target {_f(r.target, 'g')})")
    if r.action in ("reinforce", "revise_content", "new_standard") and not driver_up:
        short.append(f"driver weight not significantly above the average share (CI "
                     f"{_f(r.w_low)}–{_f(r.w_high)} vs {_f(r.mean_weight)})")
    if r.action == "simplify_or_retire":
        if not r.ci_low >= r.target:
            short.append(f"compliance not significantly at target (CI {_f(r.ci_low)}–"
                         f"{_f(r.ci_high)} vs {_f(r.target, 'g')})")
        if not r.all_below:
            short.append("a served attribute's weight interval reaches the average share "
                         f"{_f(r.mean_weight)}")
    if r.action == "segment_variant" and not (r.weight_all < r.w_low or r.weight_all > r.w_high):
        short.append(f"all-clients weight {_f(r.weight_all)} within the segment's CI "
                     f"{_f(r.w_low)}–{_f(r.w_high)}")
    return ("watch", "; ".join(short)) if short else ("act", "")


def _f(x: float, spec: str = ".1f") -> str:
    return "n/a" if x is None or pd.isna(x) else format(float(x), spec)


def _reason(r) -> str:
    """The generated sentence of one proposal, with its numbers."""
    attr = f"{r.label} ({r.attribute})"
    overall = ("" if pd.isna(getattr(r, "weight_overall", np.nan))
               else f" and {_f(r.weight_overall)}% of the overall-satisfaction drivers")
    matters = (f"{attr} carries {_f(r.weight)}% of the NPS drivers{overall} (average share "
               f"{_f(r.mean_weight)}%)")
    perf = (f"performs at {_f(r.performance)}/100 against a segment mean of "
            f"{_f(r.mean_performance)}")
    comp = (f"compliance with {r.standard_id} is {_f(r.compliance)}% "
            f"(CI {_f(r.ci_low)}–{_f(r.ci_high)}, n = {_f(r.n, '.0f')} checks) against a target "
            f"of {_f(r.target, 'g')}%")
    seg = f"In {r.segment}"
    if r.action == "reinforce":
        return (f"{seg}, {comp} ({_f(r.gap, '+.1f')} points), and {matters}: reinforce the "
                "standard through training, coaching or staffing.")
    if r.action == "revise_content":
        return (f"{seg}, {comp}, yet {attr} still {perf} while it carries {_f(r.weight)}% of "
                "the NPS drivers: the standard is followed but does not satisfy clients; "
                "revise its content.")
    if r.action == "simplify_or_retire":
        return (f"{seg}, {comp}, and {attr} carries only {_f(r.weight)}% of the NPS drivers "
                f"(average share {_f(r.mean_weight)}%): candidate to simplify or retire.")
    if r.action == "new_standard":
        return (f"{seg}, {matters} and {perf}, and no standard serves it: propose a new "
                f"standard (n = {_f(r.n_survey, '.0f')} respondents).")
    if r.action == "segment_variant":
        where = (f"; {comp}" if r.standard_id else "; no standard serves it")
        return (f"{seg}, {attr} carries {_f(r.weight)}% of the NPS drivers against "
                f"{_f(r.weight_all)}% for all clients{where}: consider a segment-specific "
                "target or variant.")
    raise ValueError(f"unknown action {r.action!r}")


# --------------------------------------------------------------------------------------------
# output


