"""The sample's survey invitations (issue 16): who was asked to answer each quarter.

The invitations are a superset of the respondents that :mod:`vipquality.data.sample` already
wrote (their answers are not touched): every respondent was invited a few days before answering,
and clients of the quarter's CRM extract who did not answer are added as non-respondents, drawn
so that **Private-tier clients answer less often** (about 40 % of those invited, against about
75 % in the other tiers). The respondents therefore under-represent the Private tier, and raking
them to the invited clients' margins (workspace.yaml ``weighting``) moves the headline NPS.
A few clients get a reminder (a second invitation in the same quarter), so contact fatigue has
something to find besides the Private tier invited every quarter.

Everything is drawn from its own random stream (``[seed, 16, quarter index]``), so the other
sample files stay as they were.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["RESPONSE_RATES", "sample_invitations", "write_invitations"]

#: Share of the invited clients who answer, per tier (the planted response bias); other tiers
#: use ``"default"``.
RESPONSE_RATES = {"Private": 0.40, "default": 0.75}
_CHANNELS = (("email", 0.6), ("sms", 0.25), ("app", 0.15))
_STREAM = 16


def sample_invitations(ws, answered: list[tuple], seed: int) -> dict[str, pd.DataFrame]:
    """``quarter -> invitations`` (``client_id, invited_date, channel``, sorted) of the quarters
    in ``answered`` (``(quarter, survey, crm, stamp)`` as :func:`generate_sample` collects them).
    """
    cols = ws.instrument.columns
    client_col, when_col = cols.get("client_id"), cols.get("submitted_at")
    out = {}
    for qi, (q, survey, crm, _stamp) in enumerate(answered):
        rng = np.random.default_rng([int(seed), _STREAM, qi])
        quarter = ws.quarter(q)
        start = pd.Timestamp(quarter.start)
        end = pd.Timestamp(quarter.end)
        ids = survey[client_col].astype(str).to_numpy()
        submitted = pd.to_datetime(survey[when_col]).dt.normalize()
        # respondents: invited 2–12 days before they answered, not before the quarter began
        lag = pd.to_timedelta(rng.integers(2, 13, ids.size), unit="D")
        invited = (submitted - lag).clip(lower=start)
        rows = [pd.DataFrame({"client_id": ids, "invited_date": invited.to_numpy()})]
        # non-respondents per tier, so that each tier answers at its planted rate
        tiers = crm["tier"].astype(str) if "tier" in crm else pd.Series("", index=crm.index)
        answered_ids = set(ids)
        pool = crm.loc[~crm["client_id"].astype(str).isin(answered_ids), "client_id"].astype(str)
        resp_tier = pd.Series(ids).map(dict(zip(crm["client_id"].astype(str), tiers)))
        for tier in sorted(tiers.unique()):
            rate = RESPONSE_RATES.get(tier, RESPONSE_RATES["default"])
            k = int((resp_tier == tier).sum())
            candidates = np.sort(pool[tiers.loc[pool.index] == tier].to_numpy())
            n = min(candidates.size, round(k * (1 - rate) / rate))
            chosen = rng.choice(candidates, size=n, replace=False) if n else np.array([], str)
            days = (end - start).days - 7
            when = start + pd.to_timedelta(rng.integers(0, max(days, 1), n), unit="D")
            rows.append(pd.DataFrame({"client_id": chosen, "invited_date": when}))
        inv = pd.concat(rows, ignore_index=True)
        # reminders: 2 % get a second invitation 10 days after the first, still in the quarter
        again = inv[rng.random(len(inv)) < 0.02].copy()
        again["invited_date"] = again["invited_date"] + pd.Timedelta(days=10)
        inv = pd.concat([inv, again[again["invited_date"] <= end]], ignore_index=True)
        names, p = zip(*_CHANNELS)
        inv["channel"] = rng.choice(names, size=len(inv), p=p)
        inv["invited_date"] = pd.to_datetime(inv["invited_date"]).dt.strftime("%Y-%m-%d")
        out[q] = inv.sort_values(["client_id", "invited_date", "channel"],
                                 kind="mergesort", ignore_index=True)
    return out


def _write_parquet(inv: pd.DataFrame, path: Path) -> None:
    """Parquet as the sample's CRM extracts (zstd, dates as dates, no pandas metadata): the
    bytes depend only on the rows, and 3,700 invitations take ~30 KB instead of ~95 KB."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(inv, preserve_index=False)
    i = table.schema.get_field_index("invited_date")
    table = table.set_column(i, "invited_date",
                             pa.array(pd.to_datetime(inv["invited_date"]).dt.date, pa.date32()))
    pq.write_table(table.replace_schema_metadata(None), path, compression="zstd",
                   compression_level=19, use_dictionary=["channel"])


def write_invitations(ws, answered: list[tuple], seed: int, files: dict[str, int]) -> int:
    """Write ``invitations.parquet`` into each quarter folder of ``answered`` (replacing older
    invitations files); record them in ``files``; return the rows written (0 when the
    workspace has no ``invitations`` pattern)."""
    patterns = ws.quarter_files.get("invitations", ())
    if not patterns:
        return 0
    total = 0
    for q, inv in sample_invitations(ws, answered, seed).items():
        folder = Path(ws.root) / q
        for pattern in patterns:
            for old in sorted(folder.glob(pattern)):
                old.unlink()
        path = folder / "invitations.parquet"
        _write_parquet(inv, path)
        files[f"{q}/{path.name}"] = len(inv)
        total += len(inv)
    return total
