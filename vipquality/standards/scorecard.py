"""The standards scorecard: compliance with each service standard, by segment, beside the
attributes it serves and their importance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vipquality.config import Standards, Workspace, load_workspace

__all__ = ["scorecard", "catalogue", "attribute_table", "SCORECARD_COLUMNS"]

SCORECARD_COLUMNS = [
    "quarter", "segment", "standard_id", "title", "version", "attributes", "compliance",
    "ci_low", "ci_high", "se", "n", "target", "gap", "prev_compliance", "trend", "trend_se",
    "performance", "weight", "n_survey", "suppressed", "weight_overall",
]


def catalogue(standards) -> Standards:
    """A :class:`Standards` catalogue from itself, a Workspace or a workspace path."""
    if isinstance(standards, Standards):
        return standards
    if isinstance(standards, Workspace):
        return standards.standards
    if isinstance(standards, (str, Path)):
        return load_workspace(standards).standards
    raise TypeError(f"expected a Standards catalogue, a Workspace or a workspace path, "
                    f"got {type(standards).__name__}")


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
    cat = catalogue(workspace)
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
    attrs = attribute_table(data.metrics, data.drivers, data.quarter,
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


def attribute_table(metrics: pd.DataFrame, drivers: pd.DataFrame, quarter: str,
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
