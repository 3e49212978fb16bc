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
from pathlib import Path

import numpy as np
import pandas as pd

from ._files import atomic_write_text, safe_csv
from .workspace import ALL_SEGMENT, Standards, Workspace, load_workspace

__all__ = ["scorecard", "RevisionRules", "propose", "write_proposals", "key_drivers", "ACTIONS",
           "SCORECARD_COLUMNS", "PROPOSAL_COLUMNS", "DRIVER_COLUMNS", "OUTCOMES"]

#: The proposal actions, in the order they are listed.
ACTIONS = ("reinforce", "revise_content", "simplify_or_retire", "new_standard",
           "segment_variant")

SCORECARD_COLUMNS = [
    "quarter", "segment", "standard_id", "title", "version", "attributes", "compliance",
    "ci_low", "ci_high", "se", "n", "target", "gap", "prev_compliance", "trend", "trend_se",
    "performance", "weight", "n_survey", "suppressed", "weight_overall",
]

PROPOSAL_COLUMNS = [
    "quarter", "segment", "standard_id", "title", "attribute", "action", "reason",
    "compliance", "ci_low", "ci_high", "target", "gap", "performance", "mean_performance",
    "weight", "mean_weight", "weight_all", "n", "n_survey", "weight_overall",
]

#: The outcomes :func:`key_drivers` explains: the NPS item and overall satisfaction.
OUTCOMES = ("nps", "overall")

DRIVER_COLUMNS = [
    "outcome", "segment", "attribute", "label", "raw_weight", "rescaled", "ci_low", "ci_high",
    "performance", "n", "r_squared", "ord_coef", "ord_ci_low", "ord_ci_high", "ord_p_value",
    "ord_rank", "rw_rank", "ord_spearman", "ord_agrees", "ord_note",
]


# --------------------------------------------------------------------------------------------
# inputs


def _catalogue(standards) -> Standards:
    """A :class:`Standards` catalogue from itself, a Workspace or a workspace path."""
    if isinstance(standards, Standards):
        return standards
    if isinstance(standards, Workspace):
        return standards.standards
    if isinstance(standards, (str, Path)):
        return load_workspace(standards).standards
    raise TypeError(f"expected a Standards catalogue, a Workspace or a workspace path, "
                    f"got {type(standards).__name__}")


# --------------------------------------------------------------------------------------------
# scorecard


def scorecard(data, workspace) -> pd.DataFrame:
    """Per standard × segment for the reported quarter: compliance against target, its trend,
    and the performance and driver weight of the attributes the standard serves.

    Parameters
    ----------
    data : ReportData
        The quarter's shared tables (``standards``, ``metrics``, ``drivers``, ``segments``).
    workspace : Workspace, path or Standards
        For the standards catalogue (served attributes) and the suppression base when
        ``data.settings`` does not carry it (30 with a bare catalogue).

    Returns
    -------
    DataFrame
        One row per segment × standard (segments in report order, standards in catalogue
        order), columns :data:`SCORECARD_COLUMNS`: ``compliance``, ``ci_low``, ``ci_high``,
        ``se`` (0–100) and ``n`` (applicable checks) from ``data.standards``; ``target``; ``gap``
        = compliance − target (points); ``prev_compliance``, ``trend`` = change vs the previous
        quarter (points; NaN when there is none or its base is suppressed) and ``trend_se``;
        ``performance`` = mean performance (0–100) of the served attributes in the segment (NaN
        when one of them is missing or suppressed); ``weight`` = sum of their rescaled driver
        weights (% of R²; NaN when the segment has no drivers); ``n_survey`` = respondents behind
        the driver weights; ``suppressed`` = ``n`` < the base threshold; ``weight_overall`` = the
        same sum for the drivers of overall satisfaction (``data.drivers_overall``, from
        :func:`key_drivers`; NaN when ``data`` has no such table). Suppressed rows keep
        their numbers (for the owner's working view); redact them before showing executives.
    """
    cat = _catalogue(workspace)
    base = data.settings.get("base_suppress")
    if base is None:
        base = (workspace.reporting.base_suppress if isinstance(workspace, Workspace)
                else load_workspace(workspace).reporting.base_suppress
                if isinstance(workspace, (str, Path)) else 30)
    std = data.standards
    keys = ["segment", "standard_id"]
    cur = std[std["quarter"] == data.quarter].copy()
    prev = std[std["quarter"] == data.previous] if data.previous else std.iloc[0:0]
    prev = prev[prev["n"] >= base][[*keys, "value", "se"]].rename(
        columns={"value": "prev_compliance", "se": "prev_se"})
    out = cur.rename(columns={"value": "compliance"}).merge(prev, on=keys, how="left")
    out["gap"] = out["compliance"] - out["target"]
    out["trend"] = out["compliance"] - out["prev_compliance"]
    out["trend_se"] = np.sqrt(out["se"] ** 2 + out["prev_se"] ** 2)
    out["suppressed"] = out["n"] < base
    if "title" not in out or out["title"].isna().any():
        out["title"] = out["standard_id"].map({s.id: s.title for s in cat})

    # served attributes: performance (unsuppressed) and driver weight, per segment
    attrs = _attribute_table(data.metrics, data.drivers, data.quarter,
                             getattr(data, "drivers_overall", None))
    served = pd.DataFrame([(s.id, a) for s in cat for a in s.attributes],
                          columns=["standard_id", "attribute"])
    served["k"] = served.groupby("standard_id")["attribute"].transform("size")
    long = out[keys].merge(served, on="standard_id").merge(
        attrs[["segment", "attribute", "weight", "performance", "weight_overall"]],
        on=["segment", "attribute"], how="left")
    agg = long.groupby(keys).agg(k=("k", "first"), perf_sum=("performance", "sum"),
                                 perf_count=("performance", "count"),
                                 weight=("weight", lambda w: w.sum(min_count=1)),
                                 weight_overall=("weight_overall",
                                                 lambda w: w.sum(min_count=1)))
    agg["performance"] = np.where(agg["perf_count"] == agg["k"],
                                  agg["perf_sum"] / agg["perf_count"].where(
                                      agg["perf_count"] > 0, 1), np.nan)
    out = out.merge(agg[["performance", "weight", "weight_overall"]].reset_index(), on=keys,
                    how="left")
    n_survey = data.drivers.groupby("segment")["n"].first() if len(data.drivers) else {}
    out["n_survey"] = out["segment"].map(n_survey)
    out["attributes"] = out["standard_id"].map({s.id: ", ".join(s.attributes) for s in cat})

    seg_order = {s: i for i, s in enumerate(data.segments["segment"])}
    std_order = {s: i for i, s in enumerate(cat.ids)}
    out = out.assign(_s=out["segment"].map(seg_order).fillna(len(seg_order)),
                     _t=out["standard_id"].map(std_order).fillna(len(std_order)))
    out = out.sort_values(["_s", "segment", "_t", "standard_id"], kind="stable")
    for c in SCORECARD_COLUMNS:
        if c not in out:
            out[c] = np.nan
    out = out[SCORECARD_COLUMNS].reset_index(drop=True)
    out["n"] = out["n"].astype(int)
    out["suppressed"] = out["suppressed"].astype(bool)
    return out


def _attribute_table(metrics: pd.DataFrame, drivers: pd.DataFrame, quarter: str,
                     drivers_overall: pd.DataFrame | None = None) -> pd.DataFrame:
    """``segment, attribute, label, weight, w_low, w_high, n_survey, performance, perf_n,
    weight_overall`` for the segments with driver weights; performance NaN where its row is
    suppressed; ``weight_overall`` the attribute's overall-satisfaction driver weight."""
    cols = ["segment", "attribute", "label", "weight", "w_low", "w_high", "n_survey",
            "performance", "perf_n", "weight_overall"]
    if drivers is None or not len(drivers):
        return pd.DataFrame(columns=cols)
    d = drivers.rename(columns={"rescaled": "weight", "ci_low": "w_low", "ci_high": "w_high",
                                "n": "n_survey"})
    for c in ("label", "w_low", "w_high", "n_survey"):
        if c not in d:
            d[c] = np.nan
    d = d[["segment", "attribute", "label", "weight", "w_low", "w_high", "n_survey"]]
    m = metrics[(metrics["quarter"] == quarter) & metrics["metric"].str.startswith("attr:")]
    if "base_flag" in m:
        m = m.assign(value=m["value"].where(m["base_flag"] != "suppressed"))
    m = m.assign(attribute=m["metric"].str.removeprefix("attr:"))[
        ["segment", "attribute", "value", "n"]].rename(
        columns={"value": "performance", "n": "perf_n"})
    out = d.merge(m, on=["segment", "attribute"], how="left")
    if drivers_overall is not None and len(drivers_overall):
        o = drivers_overall[["segment", "attribute", "rescaled"]].rename(
            columns={"rescaled": "weight_overall"})
        out = out.merge(o, on=["segment", "attribute"], how="left")
    else:
        out["weight_overall"] = np.nan
    return out[cols]


# --------------------------------------------------------------------------------------------
# key drivers on the NPS item and on overall satisfaction


def key_drivers(responses: pd.DataFrame, workspace, *, outcome: str = "nps",
                quarter: str | None = None, n_boot: int = 500, seed: int = 0,
                ordinal: bool = True) -> pd.DataFrame:
    """Johnson's relative weights of the CSI attributes on an outcome, per segment, with the
    ordinal model as a cross-check.

    Parameters
    ----------
    responses : DataFrame
        Survey responses (:func:`vipquality.store.load_responses`) with a ``segment`` column
        (one row per response × segment, as the responses merged with the memberships); without
        one every row counts for ``all``.
    workspace : Workspace or path
        The instrument (attributes, labels, satisfaction scale) and the reporting settings
        (suppression base, confidence).
    outcome : {"nps", "overall"}, default "nps"
        The NPS item or the overall-satisfaction item.
    quarter : str, optional
        Use only this quarter's responses (default: every row given).
    n_boot : int, default 500
        Bootstrap resamples for the intervals of the rescaled weights (0 = none).
    seed : int, default 0
    ordinal : bool, default True
        Fit :func:`vipquality.drivers.ordinal_check` in each segment where its base allows.

    Returns
    -------
    DataFrame
        One row per segment × attribute (segments in workspace order, ``all`` first;
        attributes in questionnaire order), columns :data:`DRIVER_COLUMNS` — the columns of
        ``ReportData.drivers`` (``segment, attribute, label, raw_weight, rescaled, ci_low,
        ci_high, performance, n, r_squared``; ``performance`` 0–100 over the segment's ratings
        of the attribute) plus ``outcome`` and the cross-check: ``ord_coef`` (ordered-logit
        log-odds per rating point) with ``ord_ci_low``, ``ord_ci_high``, ``ord_p_value``,
        ``ord_rank`` and the relative weights' ``rw_rank``, the segment's ``ord_spearman``
        (ρ between the two rankings), ``ord_agrees`` and ``ord_note`` (why there is no ordinal
        fit, e.g. a base under 10 respondents per parameter). Segments with fewer complete
        answers than the suppression base (or than attributes + 2) are left out.

    Raises
    ------
    DataError
        ``outcome`` is not a column of ``responses``.
    """
    from .drivers import ordinal_check, relative_weights
    from .errors import DataError

    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    if outcome not in responses.columns:
        raise DataError(f"responses have no {outcome!r} column; the instrument "
                        f"{'has no overall-satisfaction item' if outcome == 'overall' else ''}",
                        column=outcome)
    inst, rep = ws.instrument, ws.reporting
    lo, hi = inst.csi_scale
    ids = [a for a in inst.attribute_ids if f"sat__{a}" in responses.columns]
    columns = [f"sat__{a}" for a in ids]
    labels = {a.id: a.label for a in inst.attributes}
    frame = responses if quarter is None else responses[responses["quarter"] == str(quarter)]
    if "segment" not in frame.columns:
        frame = frame.assign(segment=ALL_SEGMENT)
    order = {s: i for i, s in enumerate([ALL_SEGMENT, *ws.segments.ids])}
    segments = sorted(frame["segment"].dropna().unique(),
                      key=lambda s: (order.get(s, len(order)), str(s)))
    frames = []
    # One regression per segment (a handful of groups), as in ReportData's drivers.
    for segment in segments:
        group = frame[frame["segment"] == segment]
        complete = group.dropna(subset=[*columns, outcome])
        if len(complete) < max(rep.base_suppress, len(columns) + 2):
            continue
        X = complete[columns].astype(float).rename(columns=lambda c: c.removeprefix("sat__"))
        y = complete[outcome].astype(float)
        try:
            rw = relative_weights(X, y, n_boot=n_boot, seed=seed, confidence=rep.confidence)
        except DataError:
            continue
        rw.insert(0, "segment", segment)
        rw.insert(0, "outcome", outcome)
        rw["label"] = rw["attribute"].map(labels)
        rw["performance"] = (100 * (group[columns].astype(float).mean().to_numpy() - lo)
                             / (hi - lo))
        rw["n"] = len(complete)
        rw["r_squared"] = rw.attrs.get("r_squared", np.nan)
        rw["rw_rank"] = rw["rescaled"].rank(ascending=False, method="min")
        if ordinal:
            oc = ordinal_check(X, y, confidence=rep.confidence)
            rw["ord_coef"], rw["ord_ci_low"] = oc["coef"].to_numpy(), oc["ci_low"].to_numpy()
            rw["ord_ci_high"], rw["ord_p_value"] = (oc["ci_high"].to_numpy(),
                                                    oc["p_value"].to_numpy())
            rw["ord_rank"] = oc["rank"].to_numpy()
            rw["ord_spearman"] = oc.attrs["spearman"]
            rw["ord_agrees"] = oc.attrs["agrees"] if oc.attrs["fitted"] else pd.NA
            rw["ord_note"] = oc.attrs["note"]
        else:
            rw["ord_note"] = "not fitted (ordinal=False)"
        frames.append(rw)
    if not frames:
        return pd.DataFrame(columns=DRIVER_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    for c in DRIVER_COLUMNS:
        if c not in out:
            out[c] = np.nan
    out = out[DRIVER_COLUMNS]
    out["ord_agrees"] = out["ord_agrees"].astype("boolean")
    out["ord_note"] = out["ord_note"].fillna("").astype(str)
    return out


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
    cat = _catalogue(standards)
    if not len(scorecard):
        scorecard = pd.DataFrame(columns=SCORECARD_COLUMNS)
    if len(scorecard):
        quarter = str(scorecard["quarter"].iloc[0])
    elif len(metrics):
        quarter = str(metrics["quarter"].max())
    else:
        return pd.DataFrame(columns=PROPOSAL_COLUMNS)

    attrs = _attribute_table(metrics, drivers, quarter, drivers_overall)
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


def write_proposals(proposals: pd.DataFrame, out_dir: str | Path) -> dict[str, Path]:
    """Write ``standards_proposals.csv`` (CSV-injection safe) and ``standards_proposals.md``
    (a working document grouped by standard) into ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = safe_csv(proposals, out_dir / "standards_proposals.csv")
    md_path = atomic_write_text(out_dir / "standards_proposals.md", _markdown(proposals))
    return {"csv": csv_path, "md": md_path}


def _md(text) -> str:
    """Plain text safe inside Markdown (no markup, no HTML)."""
    text = "" if text is None or (not isinstance(text, str) and pd.isna(text)) else str(text)
    for ch in "\\`*_[]<>#|":
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


def _markdown(proposals: pd.DataFrame) -> str:
    quarters = sorted(set(proposals["quarter"].dropna().astype(str))) if len(proposals) else []
    head = "# Standards revision proposals" + (f" — {', '.join(quarters)}" if quarters else "")
    lines = [head, "",
             "Working document for the standards owner, generated by the revision rules "
             "(vipquality.proposals). Each proposal states its evidence; compliance is the "
             "share of applicable checks answered yes, weight the attribute's share of the "
             "NPS drivers.", ""]
    if not len(proposals):
        return "\n".join([*lines, "No proposals this quarter.", ""])
    for sid, group in proposals.groupby("standard_id", sort=False):
        title = str(group["title"].iloc[0]) if sid else ""
        lines.append(f"## {_md(sid)} — {_md(title)}" if sid else "## New standards")
        lines.append("")
        for action, rows in group.groupby("action", sort=False):
            lines.append(f"### {action.replace('_', ' ')}")
            lines.append("")
            for r in rows.itertuples(index=False):
                lines.append(f"- **{_md(r.segment)}**, {_md(r.attribute)}: {_md(r.reason)}")
            lines.append("")
    return "\n".join(lines)
