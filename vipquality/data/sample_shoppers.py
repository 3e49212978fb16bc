"""The sample's mystery shoppers (issue 16): who made each visit, calibration visits, appeals.

:mod:`vipquality.data.sample` draws the visits; this module adds, from its own random stream
(``[seed, 161, quarter index]``, so every other sample file stays as it was):

1. a **shopper id** per visit: eight shoppers share the visits, except that the lenient shopper
   (:data:`LENIENT_SHOPPER`) makes most visits of one branch (:data:`LENIENT_BRANCH`) and a few
   elsewhere;
2. **leniency**: that shopper records half of the checks the others would fail as passed (the
   only change to the drawn results);
3. **calibration visits**: about a dozen visits a quarter are rated again by a second shopper
   (visit id ``<id>-C``, ``calibration_of`` the visit's id), agreeing on most items;
4. **appeals** (``appeals.csv``): a branch disputes one failed item in about 4 % of the visits,
   claiming it was passed; about a third are upheld.

>>> import pandas as pd
>>> v = pd.DataFrame({"visit_id": ["V1", "V1"], "visit_date": pd.to_datetime(["2026-01-05"] * 2),
...                   "branch": "B01", "manager_id": "M1", "segment": "premium",
...                   "item_id": ["S01.1", "S01.2"], "result": ["yes", "no"]})
>>> out, appeals = plant_shoppers(v, "2026Q1", 0, seed=1)
>>> sorted(out.columns)[:3], list(appeals.columns)[:3]
(['branch', 'calibration_of', 'item_id'], ['visit_id', 'item_id', 'claimed_result'])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["LENIENT_SHOPPER", "LENIENT_BRANCH", "SHOPPERS", "plant_shoppers"]

SHOPPERS = tuple(f"SH{i:02d}" for i in range(1, 9))
#: the planted lenient shopper, and the branch most of whose visits they make
LENIENT_SHOPPER = "SH03"
LENIENT_BRANCH = "B05"
_STREAM = 161
_LENIENCY = 0.5            # share of the checks the others would fail that this shopper passes
_BRANCH_SHARE = 0.7        # share of the lenient branch's visits made by the lenient shopper
_ELSEWHERE = 0.05          # share of the other branches' visits made by the lenient shopper
_CALIBRATION = 12          # calibration visits a quarter
_DISAGREE = 0.06           # chance that the second shopper records another result on an item
_APPEALED = 0.04           # share of visits with an appeal
_UPHELD = 0.33
_DECIDERS = ("Head of service quality", "Regional quality lead")
_REASONS = ("The manager states the step was done; see the branch's visit log",
            "The queue system and the appointment record show otherwise",
            "The shopper's scenario did not call for this step",
            "The follow-up letter confirms it was done on the day")


def _lenient(results: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    flip = (results == "no") & (rng.random(results.size) < _LENIENCY)
    return np.where(flip, "yes", results)


def plant_shoppers(visits: pd.DataFrame, quarter: str, qi: int, seed: int
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The quarter's visits (canonical column names) with ``shopper_id`` and ``calibration_of``
    and the calibration records added, and its appeals (``visit_id, item_id, claimed_result,
    reason, decision, decided_by, date``)."""
    rng = np.random.default_rng([int(seed), _STREAM, int(qi)])
    first = visits.drop_duplicates("visit_id")
    ids = first["visit_id"].to_numpy()
    branch = first["branch"].astype(str).to_numpy()
    others = [s for s in SHOPPERS if s != LENIENT_SHOPPER]
    share = np.where(branch == LENIENT_BRANCH, _BRANCH_SHARE, _ELSEWHERE)
    lenient = rng.random(ids.size) < share
    shopper = np.where(lenient, LENIENT_SHOPPER, np.asarray(others)[
        rng.integers(0, len(others), ids.size)])
    by_visit = dict(zip(ids, shopper))
    out = visits.copy()
    out["shopper_id"] = out["visit_id"].map(by_visit)
    out["calibration_of"] = None
    mine = out["shopper_id"].eq(LENIENT_SHOPPER).to_numpy()
    result = out["result"].to_numpy(dtype=object).copy()
    result[mine] = _lenient(result[mine], rng)
    out["result"] = result

    # calibration: a second shopper rates a few visits again
    chosen = np.sort(rng.choice(ids.size, min(_CALIBRATION, ids.size), replace=False))
    records = []
    for i in chosen:
        rows = out[out["visit_id"] == ids[i]].copy()
        second = rng.choice([s for s in SHOPPERS if s != shopper[i]])
        res = rows["result"].to_numpy(dtype=object).copy()
        if shopper[i] == LENIENT_SHOPPER:  # the first record is the lenient one: start again
            res = visits.loc[rows.index, "result"].to_numpy(dtype=object).copy()
        other = rng.random(res.size) < _DISAGREE
        res = np.where(other, np.where(res == "yes", "no", "yes"), res)
        if second == LENIENT_SHOPPER:
            res = _lenient(res, rng)
        rows["result"] = res
        rows["shopper_id"] = second
        rows["calibration_of"] = ids[i]
        rows["visit_id"] = f"{ids[i]}-C"
        records.append(rows)
    out = pd.concat([out, *records], ignore_index=True).sort_values(
        "visit_id", kind="stable").reset_index(drop=True)

    # appeals: a failed item of a few visits, claimed passed
    failed = out[(out["result"] == "no") & out["calibration_of"].isna()]
    candidates = failed["visit_id"].unique()
    k = min(candidates.size, int(round(_APPEALED * ids.size)))
    picked = np.sort(rng.choice(candidates, k, replace=False)) if k else np.array([], str)
    rows = []
    for vid in picked:
        items = failed[failed["visit_id"] == vid]
        row = items.iloc[rng.integers(0, len(items))]
        rows.append({"visit_id": vid, "item_id": row["item_id"], "claimed_result": "yes",
                     "reason": _REASONS[int(rng.integers(0, len(_REASONS)))],
                     "decision": "upheld" if rng.random() < _UPHELD else "rejected",
                     "decided_by": _DECIDERS[int(rng.integers(0, len(_DECIDERS)))],
                     "date": pd.Timestamp(row["visit_date"])
                     + pd.Timedelta(days=int(rng.integers(5, 21)))})
    appeals = pd.DataFrame(rows, columns=["visit_id", "item_id", "claimed_result", "reason",
                                          "decision", "decided_by", "date"])
    return out, appeals
