"""Tests of vipquality.revisions.revision_effects (difference in differences on checks).

Simulated visits: each visit checks two items of each of three standards; a visit effect (the
manager on the day) shifts every answer of the visit, so checks within a visit are correlated
and only cluster-robust errors give honest intervals. Standard S1 is revised on 2025-01-01 with
a planted effect on its compliance.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vipquality.revisions import REVISION_COLUMNS, revision_effects
from vipquality.workspace import ChecklistItem, Quarter, Standard, StandardVersion, Standards

WS = Path("/tmp/ws")
REVISED = dt.date(2025, 1, 1)
QUARTERS = ["2024Q3", "2024Q4", "2025Q1", "2025Q2"]


def standard(sid: str, *effective: dt.date) -> Standard:
    versions = tuple(StandardVersion(i + 1, day, f"v{i + 1}", "changed" if i else None)
                     for i, day in enumerate((dt.date(2023, 1, 1), *effective)))
    return Standard(id=sid, title=f"Standard {sid}", owner="o", attributes=("a",),
                    targets={"default": 90.0}, versions=versions,
                    items=tuple(ChecklistItem(f"{sid}.{j}", "x", 1.0, False, sid)
                                for j in (1, 2)))


def catalogue(**revised: tuple[dt.date, ...]) -> Standards:
    return Standards("t", tuple(standard(s, *revised.get(s, ())) for s in ("S1", "S2", "S3")))


def simulate(effect: float, seed: int = 0, visits_per_quarter: int = 150,
             before: float = 0.6, control: float = 0.8, visit_sd: float = 0.1) -> pd.DataFrame:
    """Checks of S1 (yes-rate ``before``, + ``effect`` after REVISED) and S2, S3 (``control``)."""
    rng = np.random.default_rng(seed)
    frames = []
    for q in QUARTERS:
        quarter = Quarter.parse(q)
        days = (quarter.end - quarter.start).days + 1
        n = visits_per_quarter
        date = pd.to_datetime(quarter.start) + pd.to_timedelta(rng.integers(0, days, n), "D")
        shift = rng.normal(0, visit_sd, n)
        for sid in ("S1", "S2", "S3"):
            for j in (1, 2):
                p = np.full(n, control)
                if sid == "S1":
                    p = before + effect * (date >= pd.Timestamp(REVISED))
                p = np.clip(p + shift, 0, 1)
                result = np.where(rng.random(n) < p, "yes", "no").astype(object)
                result[rng.random(n) < 0.05] = "na"
                frames.append(pd.DataFrame({
                    "quarter": q, "visit_id": [f"V{q}-{i:03d}" for i in range(n)],
                    "visit_date": date, "branch": "B1", "manager_id": "M1", "segment": "premium",
                    "item_id": f"{sid}.{j}", "standard_id": sid, "result": result,
                    "weight": float(j), "critical": False}))
    return pd.concat(frames, ignore_index=True)


def test_planted_effect_is_recovered_within_its_interval():
    out = revision_effects(simulate(0.20, seed=1), catalogue(S1=(REVISED,)))
    assert list(out.columns) == REVISION_COLUMNS
    assert len(out) == 1
    r = out.iloc[0]
    assert r["standard_id"] == "S1" and r["version"] == 2 and r["effective"] == REVISED
    assert r["ci_low"] <= 20 <= r["ci_high"]
    assert r["ci_low"] > 0 and r["p_value"] < 0.001
    assert r["did"] == pytest.approx((r["treated_after"] - r["treated_before"])
                                     - (r["control_after"] - r["control_before"]))
    assert r["treated_before"] == pytest.approx(60, abs=5)
    assert r["control_standards"] == "S2, S3"
    assert r["before_start"] == dt.date(2024, 7, 1) and r["after_end"] == dt.date(2025, 6, 30)
    assert r["visits"] == 4 * 150 and r["note"] == ""
    cells = ["n_treated_before", "n_treated_after", "n_control_before", "n_control_after"]
    assert r[cells].sum() == r["n"]


def test_null_effect_interval_covers_zero():
    out = revision_effects(simulate(0.0, seed=2), catalogue(S1=(REVISED,)))
    r = out.iloc[0]
    assert r["ci_low"] <= 0 <= r["ci_high"]
    assert r["p_value"] > 0.05


def test_cluster_robust_interval_is_calibrated_under_the_null():
    """With correlated checks within visits, the 95 % interval still covers 0 about 95 % of
    the time (naive check-level errors would be too narrow)."""
    covered = []
    for seed in range(40):
        r = revision_effects(simulate(0.0, seed=100 + seed, visits_per_quarter=60,
                                      visit_sd=0.25), catalogue(S1=(REVISED,))).iloc[0]
        covered.append(r["ci_low"] <= 0 <= r["ci_high"])
    assert np.mean(covered) >= 0.85


def test_weighted_and_confidence_options():
    visits = simulate(0.20, seed=3)
    cat = catalogue(S1=(REVISED,))
    plain = revision_effects(visits, cat).iloc[0]
    weighted = revision_effects(visits, cat, weighted=True).iloc[0]
    assert weighted["did"] != plain["did"]
    assert weighted["did"] == pytest.approx((weighted["treated_after"]
                                             - weighted["treated_before"])
                                            - (weighted["control_after"]
                                               - weighted["control_before"]))
    wide = revision_effects(visits, cat, confidence=0.99).iloc[0]
    assert wide["ci_high"] - wide["ci_low"] > plain["ci_high"] - plain["ci_low"]
    assert wide["did"] == pytest.approx(plain["did"])


def test_na_results_are_left_out():
    visits = simulate(0.2, seed=4)
    r = revision_effects(visits, catalogue(S1=(REVISED,))).iloc[0]
    assert r["n"] == int(visits["result"].isin(["yes", "no"]).sum())


def test_only_revisions_inside_the_data_and_other_revisions_not_controls():
    visits = simulate(0.2, seed=5)
    # S2 also revised inside the data: it is no control for S1 and gets its own row;
    # S3 revised before the data: no row (nothing to compare)
    cat = catalogue(S1=(REVISED,), S2=(dt.date(2024, 11, 15),), S3=(dt.date(2024, 1, 1),))
    out = revision_effects(visits, cat)
    assert list(out["standard_id"]) == ["S1", "S2"]
    assert list(out["control_standards"]) == ["S3", "S3"]
    # no revision at all: an empty table with the columns
    none = revision_effects(visits, catalogue())
    assert none.empty and list(none.columns) == REVISION_COLUMNS


def test_version_periods_are_bounded_by_neighbouring_versions():
    visits = simulate(0.2, seed=6)
    cat = catalogue(S1=(dt.date(2024, 10, 1), REVISED))
    out = revision_effects(visits, cat)
    assert list(out["version"]) == [2, 3]
    first, second = out.iloc[0], out.iloc[1]
    assert first["before_start"] == dt.date(2024, 7, 1)
    assert first["after_end"] == dt.date(2024, 12, 31)
    assert second["before_start"] == dt.date(2024, 10, 1)
    assert second["ci_low"] <= 20 <= second["ci_high"]
    assert abs(first["did"]) < 3 * first["se"]  # nothing planted at version 2


def test_no_estimate_without_checks_on_one_side():
    visits = simulate(0.2, seed=7)
    only_s1 = visits[visits["standard_id"] == "S1"]
    r = revision_effects(only_s1, catalogue(S1=(REVISED,))).iloc[0]
    assert np.isnan(r["did"]) and r["note"] == "no comparison standard"
    before_gone = visits[~((visits["standard_id"] == "S1")
                           & (visits["visit_date"] < pd.Timestamp(REVISED)))]
    r = revision_effects(before_gone, catalogue(S1=(REVISED,))).iloc[0]
    assert np.isnan(r["did"]) and "treated before" in r["note"]
    assert r["n_treated_before"] == 0


@pytest.mark.skipif(not (WS / "store").is_dir(), reason="the ingested sample copy /tmp/ws")
def test_sample_workspace_revised_standard_effect_is_positive_and_significant():
    from vipquality.store import load_visits
    from vipquality.workspace import load_workspace

    ws = load_workspace(WS)
    revised = [s.id for s in ws.standards if len(s.versions) > 1]
    out = revision_effects(load_visits(ws), ws)
    s04 = out.set_index("standard_id").loc["S04"]
    assert "S04" in revised
    assert s04["did"] > 0 and s04["ci_low"] > 0 and s04["p_value"] < 0.05
    assert s04["treated_after"] > s04["treated_before"]
    assert "S04" not in s04["control_standards"]
