"""The checks of mystery-shopper rows that need other rows: calibration records against the
visits they rate again, appeals against the visits' items and the decisions already taken.

:func:`check_table` validates each cell. What it cannot know:

- a **calibration record** (a row with ``calibration_of``: a second shopper rating the same visit,
  surveys/README.md) must name a visit of the import or the store that is itself no calibration
  record, and be rated by another shopper than that visit;
- an **appeal** must name a visit that is stored (or imported in this run) and an item checked in
  it, claim a result other than the one recorded, be decided on or after the visit's day and not
  after the day of the import; an item is decided once: a second, different decision on the same
  visit and item is rejected, here or in the store (the first decision stands). The same appeal
  sent twice is a duplicate (kept once), as for every table.

Each failing row becomes a reject row naming the visit, the item or the dates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from vipquality.data.ingest._validate import Checked, empty_rejects
from vipquality.data.readers import REJECT_COLUMNS

__all__ = ["check_calibration", "check_appeals"]


def _drop(checked: Checked, bad: np.ndarray, rows: list[tuple]) -> Checked:
    """``checked`` without the rows of ``bad``, whose reject rows are ``rows``."""
    if not bad.any():
        return checked
    rejects = pd.DataFrame(rows, columns=REJECT_COLUMNS).astype(empty_rejects().dtypes.to_dict())
    return dataclasses.replace(
        checked, frame=checked.frame[~bad].reset_index(drop=True),
        rejects=pd.concat([checked.rejects, rejects], ignore_index=True),
        n_rejected=checked.n_rejected + int(bad.sum()))


def check_calibration(checked: list[Checked], stored: pd.DataFrame) -> list[Checked]:
    """Each file of visits without the calibration rows whose ``calibration_of`` names no visit
    of the import or of ``stored`` (stored visits: ``visit_id, shopper_id, calibration_of``),
    names a calibration record, or names a visit rated by the same shopper."""
    frames = [c.frame for c in checked if "calibration_of" in c.mapping]
    if not frames:
        return checked
    every = pd.concat([*(c.frame for c in checked), stored], ignore_index=True)
    primary = every[every["calibration_of"].isna()].drop_duplicates("visit_id")
    shopper_of = primary.set_index("visit_id")["shopper_id"]
    calibration_ids = set(every.loc[every["calibration_of"].notna(), "visit_id"])
    out = []
    for c in checked:
        f = c.frame
        if "calibration_of" not in c.mapping or f.empty:
            out.append(c)
            continue
        target = f["calibration_of"]
        marked = target.notna().to_numpy()
        unknown = marked & ~target.isin(shopper_of.index).to_numpy()
        nested = marked & target.isin(calibration_ids).to_numpy()
        same = (marked & ~unknown & f["shopper_id"].notna().to_numpy()
                & (f["shopper_id"].to_numpy() == target.map(shopper_of).to_numpy()))
        bad = unknown | nested | same
        rows = []
        col = c.mapping["calibration_of"]
        for i in np.flatnonzero(bad):
            r = f.iloc[i]
            if nested[i]:
                why = (f"visit {r['calibration_of']!r} is itself a calibration record: a "
                       "calibration record rates a visit of the programme again; not imported")
            elif unknown[i]:
                why = (f"visit {r['calibration_of']!r} is unknown: no visit of this import or "
                       "the store has that id; not imported")
            else:
                why = (f"shopper {r['shopper_id']!r} also made visit {r['calibration_of']!r}: a "
                       "calibration record is a second shopper's rating; not imported")
            rows.append((c.source_file, int(r["source_row"]), col, r["calibration_of"], why))
        out.append(_drop(c, bad, rows))
    return out


def check_appeals(checked: Checked, visits: pd.DataFrame, stored: pd.DataFrame,
                  today: dt.date | None = None) -> Checked:
    """``checked`` (an appeals file) without the appeals of an unknown visit or item, of an item
    of a calibration record, claiming the recorded result, dated outside the visit's day and
    today, or deciding again an item decided before (in ``stored`` appeals or earlier in the
    import; ``checked`` files are checked in order, so pass the earlier files' rows in
    ``stored``)."""
    f = checked.frame
    if f.empty:
        return checked
    today = today or dt.date.today()
    recorded = visits.drop_duplicates(["visit_id", "item_id"]).set_index(
        ["visit_id", "item_id"])
    key = pd.MultiIndex.from_arrays([f["visit_id"], f["item_id"]])
    known_visit = f["visit_id"].isin(visits["visit_id"]).to_numpy()
    hit = key.isin(recorded.index)
    known_item = known_visit & hit
    calib = recorded["calibration_of"].notna()
    is_calib = np.zeros(len(f), bool)
    result = np.full(len(f), None, dtype=object)
    day = np.full(len(f), np.datetime64("NaT"), dtype="datetime64[ns]")
    if hit.any():
        at = recorded.index.get_indexer(key[hit])
        is_calib[hit] = calib.to_numpy()[at]
        result[hit] = recorded["result"].to_numpy()[at]
        day[hit] = pd.to_datetime(recorded["visit_date"]).to_numpy()[at]
    when = pd.to_datetime(f["date"]).to_numpy()
    same_claim = known_item & (f["claimed_result"].to_numpy(dtype=object) == result)
    early = known_item & (when < day)
    late = when > np.datetime64(today)
    content = ["claimed_result", "reason", "decision", "decided_by", "date"]
    decided: dict[tuple, pd.Series] = {(r["visit_id"], r["item_id"]): r
                                       for _, r in stored.iterrows()}
    again = np.zeros(len(f), bool)
    first = [None] * len(f)
    for i, k in enumerate(zip(f["visit_id"], f["item_id"])):
        row = f.iloc[i]
        if k in decided:
            old = decided[k]
            if any(not _same(old[c], row[c]) for c in content):
                again[i] = True
                first[i] = old
        else:
            decided[k] = row
    bad = ~known_visit | ~known_item | is_calib | same_claim | early | late | again
    rows = []
    col = checked.mapping
    for i in np.flatnonzero(bad):
        r = f.iloc[i]
        v, it = r["visit_id"], r["item_id"]
        date = pd.Timestamp(when[i]).date().isoformat()
        if not known_visit[i]:
            column, value = "visit_id", v
            why = (f"visit {v!r} is unknown: no stored visit of {r['quarter']} or before has "
                   "that id; not imported")
        elif not known_item[i]:
            column, value = "item_id", it
            why = f"item {it!r} was not checked in visit {v!r}; not imported"
        elif is_calib[i]:
            column, value = "visit_id", v
            why = (f"visit {v!r} is a calibration record, not a visit of the programme: it is "
                   "not appealed; not imported")
        elif again[i]:
            old = first[i]
            where = (f"{old['source_file']} row {old['source_row']}"
                     if "source_file" in old else "the store")
            column, value = "decision", r["decision"]
            why = (f"a second decision on visit {v!r}, item {it!r}: already decided "
                   f"({old['decision']}, {pd.Timestamp(old['date']).date()}, {where}); the "
                   "first decision stands; not imported")
        elif same_claim[i]:
            column, value = "claimed_result", r["claimed_result"]
            why = (f"the claimed result {r['claimed_result']!r} is the result recorded for "
                   f"visit {v!r}, item {it!r}: nothing to appeal; not imported")
        elif early[i]:
            column, value = "date", date
            why = (f"decision dated {date}, before visit {v!r} on "
                   f"{pd.Timestamp(day[i]).date()}; not imported")
        else:
            column, value = "date", date
            why = f"decision dated {date}, after the day of the import ({today}); not imported"
        rows.append((checked.source_file, int(r["source_row"]), col[column], value, why))
    return _drop(checked, bad, rows)


def _same(a, b) -> bool:
    if (a is None or (not isinstance(a, str) and pd.isna(a))) and \
            (b is None or (not isinstance(b, str) and pd.isna(b))):
        return True
    if isinstance(a, (pd.Timestamp, np.datetime64, dt.date)):
        return pd.Timestamp(a) == pd.Timestamp(b)
    return a == b
