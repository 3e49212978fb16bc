"""The pandas engine of the sufficient-statistics step (``engine="pandas"``).

The same columns as the SQL engines, computed with numpy per row and ``groupby().sum()`` per
group: an independent cross-check of the SQL (no SQL, no DuckDB). Its frames are checked in
pandas first (:mod:`vipquality.metrics.sufficient.checks`).

Examples
--------
>>> import pandas as pd
>>> from vipquality.metrics.sufficient.spec import StatsSpec
>>> spec = StatsSpec(by=("segment",), ces_scale=None)
>>> r = pd.DataFrame({"segment": ["A", "A", "B"], "nps": [10, 3, 9]})
>>> stats = table_stats(spec, "responses", r, None)
>>> stats[["segment", "nps_n", "nps_swp", "nps_swd"]].to_dict("records")
[{'segment': 'A', 'nps_n': 2, 'nps_swp': 1.0, 'nps_swd': 1.0},
 {'segment': 'B', 'nps_n': 1, 'nps_swp': 1.0, 'nps_swd': 0.0}]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vipquality.metrics.sufficient.spec import (
    CES_COLUMN,
    NPS_COLUMN,
    WEIGHT_COLUMN,
    StatsSpec,
    visit_key_extra,
)

__all__ = ["response_stats", "table_stats", "visit_stats"]


def table_stats(spec: StatsSpec, table: str, frame: pd.DataFrame,
                memberships: pd.DataFrame | None) -> pd.DataFrame:
    """The statistics of ``table`` (``"responses"`` or ``"visits"``) of checked frames: one row
    per group, not yet indexed (the function every engine module exposes)."""
    return (response_stats(spec, frame, memberships) if table == "responses"
            else visit_stats(spec, frame))


def response_stats(spec: StatsSpec, r: pd.DataFrame,
                   memberships: pd.DataFrame | None) -> pd.DataFrame:
    """The response statistics of the checked responses ``r`` (joined to ``memberships``)."""
    if memberships is not None:
        r = r.merge(memberships, on=["quarter", "client_id"], how="inner")

    def rated(column: str, scale) -> np.ndarray:
        x = r[column].to_numpy(dtype=float, na_value=np.nan)
        return np.where((x >= scale[0]) & (x <= scale[1]), x, np.nan)

    cols: dict[str, np.ndarray] = {}
    w = (r[WEIGHT_COLUMN].to_numpy(dtype=float, na_value=np.nan) if spec.weighted
         else np.ones(len(r)))
    if spec.nps_scale is not None:
        x = rated(NPS_COLUMN, spec.nps_scale)
        ok = ~np.isnan(x)
        cols.update(nps_n=ok.astype(np.int64), nps_sw=np.where(ok, w, 0.0),
                    nps_sw2=np.where(ok, w * w, 0.0), nps_swp=np.where(ok & (x >= 9), w, 0.0),
                    nps_swd=np.where(ok & (x <= 6), w, 0.0))
    if spec.ces_scale is not None:
        x = rated(CES_COLUMN, spec.ces_scale)
        ok = ~np.isnan(x)
        easy, difficult = spec.ces_cuts
        cols.update(ces_n=ok.astype(np.int64), ces_sw=np.where(ok, w, 0.0),
                    ces_sw2=np.where(ok, w * w, 0.0), ces_swx=np.where(ok, w * x, 0.0),
                    ces_swx2=np.where(ok, w * x * x, 0.0),
                    ces_swe=np.where(ok & (x > easy), w, 0.0),
                    ces_swd=np.where(ok & (x < difficult), w, 0.0))
    sat = {a: rated(f"sat__{a}", spec.csi_scale) for a in spec.attributes}
    any_sat = np.zeros(len(r), dtype=bool)
    for x in sat.values():
        any_sat |= ~np.isnan(x)
    if spec.attributes:
        cols["csi_n"] = any_sat.astype(np.int64)
    for a in spec.attributes:
        x = sat[a]
        ok = ~np.isnan(x)
        cols[f"sat_n:{a}"] = ok.astype(np.int64)
        cols[f"sat_sx:{a}"] = np.where(ok, x, 0.0)
        cols[f"sat_sx2:{a}"] = np.where(ok, x * x, 0.0)
        if a in spec.importance:
            y = np.where(any_sat, rated(f"imp__{a}", spec.imp_scale), np.nan)
            cols[f"imp_n:{a}"] = (~np.isnan(y)).astype(np.int64)
            cols[f"imp_sx:{a}"] = np.where(np.isnan(y), 0.0, y)
    for a, b in spec.pairs:
        x, y = sat[a], sat[b]
        ok = ~(np.isnan(x) | np.isnan(y))
        cols[f"pair_n:{a}:{b}"] = ok.astype(np.int64)
        cols[f"pair_sxy:{a}:{b}"] = np.where(ok, x * y, 0.0)
        cols[f"pair_sx:{a}:{b}"] = np.where(ok, x, 0.0)
        cols[f"pair_sy:{a}:{b}"] = np.where(ok, y, 0.0)
    frame = pd.DataFrame(cols, index=r.index)
    return _group_sum(frame, r, spec.by)


def visit_stats(spec: StatsSpec, v: pd.DataFrame) -> pd.DataFrame:
    """The compliance statistics of the checked visits ``v``: visit scores first."""
    keys = [*spec.by, *visit_key_extra(spec)]
    result = v["result"].to_numpy()
    w = v["weight"].to_numpy(dtype=float)
    parts = pd.DataFrame({
        "yes": np.where(result == "yes", w, 0.0),
        "app": np.where(np.isin(result, ["yes", "no"]), w, 0.0),
        "crit": (v["critical"].to_numpy(dtype=bool) & (result == "no")).astype(np.int64)
        if spec.critical_fails_visit else np.zeros(len(v), dtype=np.int64),
    }, index=v.index)
    for k in keys:
        parts[k] = v[k].to_numpy()
    per_visit = parts.groupby(keys, sort=False, dropna=True).agg(
        yes=("yes", "sum"), app=("app", "sum"), crit=("crit", "max")).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(per_visit["crit"].to_numpy() > 0, 0.0,
                         np.where(per_visit["app"].to_numpy() > 0,
                                  100 * per_visit["yes"].to_numpy() / per_visit["app"].to_numpy(),
                                  np.nan))
    ok = ~np.isnan(score)
    frame = pd.DataFrame({"cmp_n": ok.astype(np.int64), "cmp_sx": np.where(ok, score, 0.0),
                          "cmp_sx2": np.where(ok, score * score, 0.0)})
    return _group_sum(frame, per_visit, spec.by)


def _group_sum(frame: pd.DataFrame, keys_from: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    if not by:
        return frame.sum().to_frame().T
    for k in by:
        frame[k] = keys_from[k].to_numpy()
    return frame.groupby(list(by), sort=True, dropna=True).sum().reset_index()
