"""Tests of vipquality.standards.revisions.revision_effects (difference in differences on checks).

Simulated visits: each visit checks two items of each of three standards; a visit effect (the
manager on the day) shifts every answer of the visit, so checks within a visit are correlated
and only cluster-robust errors give honest intervals. Standard S1 is revised on 2025-01-01 with
a planted effect on its compliance.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vipquality.config import ChecklistItem, Quarter, Standard, Standards, StandardVersion
from vipquality.standards.revisions import REVISION_COLUMNS, revision_effects

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


def test_sample_workspace_revised_standard_effect_is_positive_and_significant(sample_workspace):
    WS = sample_workspace  # the committed sample, copied and ingested once
    from vipquality.config import load_workspace
    from vipquality.data.store import load_visits

    ws = load_workspace(WS)
    revised = [s.id for s in ws.standards if len(s.versions) > 1]
    out = revision_effects(load_visits(ws), ws)
    s04 = out.set_index("standard_id").loc["S04"]
    assert "S04" in revised
    assert s04["did"] > 0 and s04["ci_low"] > 0 and s04["p_value"] < 0.05
    assert s04["treated_after"] > s04["treated_before"]
    assert "S04" not in s04["control_standards"]


# --------------------------------------------------------------------------------------------
# the linked CSI attributes (survey responses) and the robustness checks

from vipquality.config import Attribute, Instrument, Item  # noqa: E402
from vipquality.standards.revisions import (
    ATTRIBUTE_COLUMNS,
    ROBUSTNESS_CHECKS,
    ROBUSTNESS_COLUMNS,
    revision_attributes,
    revision_robustness,
)

ATTRS = ("speed", "promises", "respect", "privacy")  # S1 serves speed and promises


def instrument(scale: tuple[int, int] = (1, 10)) -> Instrument:
    return Instrument(
        id="i", title="t", version=1, match_columns_by="name", columns={},
        nps=Item("nps", "nps", "Recommend?", (0, 10)), ces=None, overall=None, comment=None,
        csi_scale=scale, importance_scale=None, csi_weights="equal", missing_codes=(),
        attributes=tuple(Attribute(a, f"Label {a}", f"sat_{a}", None) for a in ATTRS))


def served_catalogue(**revised: tuple[dt.date, ...]) -> Standards:
    serves = {"S1": ("speed", "promises"), "S2": ("respect",), "S3": ("privacy",)}
    return Standards("t", tuple(
        dataclasses.replace(standard(s, *revised.get(s, ())), attributes=serves[s])
        for s in ("S1", "S2", "S3")))


def responses(effects: dict[str, float], seed: int = 0, per_quarter: int = 400,
              pre_trend: float = 0.0) -> pd.DataFrame:
    """Ratings 1-10 of the four attributes; ``effects``: points (0-100) added to an attribute's
    performance from REVISED on; a respondent effect correlates a respondent's ratings."""
    rng = np.random.default_rng(seed)
    frames = []
    for q in QUARTERS:
        quarter = Quarter.parse(q)
        days = (quarter.end - quarter.start).days + 1
        when = (pd.to_datetime(quarter.start)
                + pd.to_timedelta(rng.integers(0, days, per_quarter), "D")
                + pd.to_timedelta(rng.integers(0, 86400, per_quarter), "s"))
        person = rng.normal(0, 1.0, per_quarter)
        frame = pd.DataFrame({"quarter": q, "response_id": [f"R{q}-{i:04d}"
                                                            for i in range(per_quarter)],
                              "submitted_at": when})
        for a in ATTRS:
            mean = 7.0 + person + 9 * effects.get(a, 0.0) / 100 * (when >= pd.Timestamp(REVISED))
            rating = np.clip(np.rint(mean + rng.normal(0, 1.2, per_quarter)), 1, 10)
            rating[rng.random(per_quarter) < 0.05] = np.nan
            frame[f"sat__{a}"] = rating.astype("float32")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def with_branches(visits: pd.DataFrame, k: int = 8) -> pd.DataFrame:
    number = visits["visit_id"].str[-3:].astype(int)
    return visits.assign(branch="B" + (number % k).astype(str))


def test_linked_attributes_planted_effect_recovered():
    cat = served_catalogue(S1=(REVISED,))
    answers = responses({"speed": 6.0, "promises": 6.0}, seed=11)
    out = revision_effects(simulate(0.2, seed=11), cat, responses=answers,
                           instrument=instrument())
    assert list(out.columns) == REVISION_COLUMNS
    r = out.iloc[0]
    assert r["attributes"] == "speed, promises"
    assert r["attr_control"] == "respect, privacy"
    assert r["attr_ci_low"] <= 6 <= r["attr_ci_high"] and r["attr_ci_low"] > 0
    assert r["attr_did"] == pytest.approx((r["attr_after"] - r["attr_before"])
                                          - (r["attr_control_after"] - r["attr_control_before"]))
    rated = answers[[f"sat__{a}" for a in ATTRS]].notna().sum().sum()
    assert r["attr_n"] == rated and r["attr_respondents"] == len(answers)
    assert 0 < r["attr_before"] < 100 and r["attr_note"] == ""
    # the compliance columns are unchanged by the responses
    plain = revision_effects(simulate(0.2, seed=11), cat).iloc[0]
    assert plain["did"] == pytest.approx(r["did"])
    assert np.isnan(plain["attr_did"]) and plain["attr_note"] == "no survey responses given"


def test_linked_attributes_null_effect_covers_zero():
    cat = served_catalogue(S1=(REVISED,))
    r = revision_effects(simulate(0.2, seed=12), cat, responses=responses({}, seed=12),
                         instrument=instrument()).iloc[0]
    assert r["attr_ci_low"] <= 0 <= r["attr_ci_high"]


def test_attribute_performance_is_on_the_0_100_scale():
    cat = served_catalogue(S1=(REVISED,))
    answers = responses({}, seed=13)
    r = revision_attributes(answers, cat, instrument=instrument()).set_index("attribute")
    before = answers[answers["submitted_at"] < pd.Timestamp(REVISED)]["sat__speed"].dropna()
    assert r.loc["speed", "before"] == pytest.approx(100 * (before.mean() - 1) / 9)
    assert r.loc["speed", "n_before"] == len(before)


def test_revision_attributes_one_row_per_linked_attribute():
    cat = served_catalogue(S1=(REVISED,))
    out = revision_attributes(responses({"speed": 8.0}, seed=14), cat,
                              instrument=instrument())
    assert list(out.columns) == ATTRIBUTE_COLUMNS
    assert list(out["attribute"]) == ["speed", "promises"]
    assert list(out["label"]) == ["Label speed", "Label promises"]
    speed, promises = out.iloc[0], out.iloc[1]
    assert speed["ci_low"] <= 8 <= speed["ci_high"] and speed["ci_low"] > 0
    assert promises["ci_low"] <= 0 <= promises["ci_high"]
    assert speed["change"] == pytest.approx(speed["after"] - speed["before"])
    assert speed["control_attributes"] == "respect, privacy"
    assert speed["before_start"] == dt.date(2024, 7, 1)


def test_attributes_need_an_instrument_and_controls():
    cat = served_catalogue(S1=(REVISED,))
    with pytest.raises(TypeError, match="instrument"):
        revision_effects(simulate(0.2), cat, responses=responses({}))
    # every attribute served by a revised standard: nothing to compare with
    cat = served_catalogue(S1=(REVISED,), S2=(REVISED,), S3=(REVISED,))
    out = revision_effects(simulate(0.2), cat, responses=responses({}),
                           instrument=instrument())
    assert (out["attr_note"] == "no comparison attribute").all()
    assert out["attr_did"].isna().all()


def test_robustness_checks_agree_on_a_planted_effect():
    visits = with_branches(simulate(0.2, seed=21))
    out = revision_robustness(visits, catalogue(S1=(REVISED,)))
    assert list(out.columns) == ROBUSTNESS_COLUMNS
    assert list(out["check"]) == list(ROBUSTNESS_CHECKS)
    r = out.set_index("check")
    main = revision_effects(visits, catalogue(S1=(REVISED,))).iloc[0]
    assert r.loc["visit_clusters", "did"] == pytest.approx(main["did"])
    assert r.loc["visit_clusters", "ci_low"] == pytest.approx(main["ci_low"])
    assert r.loc["branch_clusters", "did"] == pytest.approx(main["did"])
    assert r.loc["branch_clusters", "clusters"] == 8
    for check in ("branch_clusters", "branch_level"):
        assert r.loc[check, "ci_low"] <= 20 <= r.loc[check, "ci_high"], check
        assert r.loc[check, "ci_low"] > 0, check
    assert r.loc["branch_level", "clusters"] == 8
    assert r.loc["placebo", "ci_low"] <= 0 <= r.loc["placebo", "ci_high"]
    assert r.loc["placebo", "n"] == (main["n_treated_before"] + main["n_control_before"])


def test_branch_level_is_the_mean_of_the_per_branch_estimates():
    visits = with_branches(simulate(0.2, seed=22), k=4)
    r = revision_robustness(visits, catalogue(S1=(REVISED,))).set_index("check")
    per_branch = []
    for _, g in visits[visits["result"] != "na"].groupby("branch"):
        yes = g["result"].eq("yes")
        s1, after = g["standard_id"].eq("S1"), g["visit_date"] >= pd.Timestamp(REVISED)
        share = {(t, a): 100 * yes[(s1 == t) & (after == a)].mean()
                 for t in (True, False) for a in (True, False)}
        per_branch.append((share[True, True] - share[True, False])
                          - (share[False, True] - share[False, False]))
    assert r.loc["branch_level", "did"] == pytest.approx(np.mean(per_branch))
    low, high = stats.t.interval(0.95, 3, loc=np.mean(per_branch), scale=stats.sem(per_branch))
    assert r.loc["branch_level", "ci_low"] == pytest.approx(low)
    assert r.loc["branch_level", "ci_high"] == pytest.approx(high)


def test_placebo_flags_a_trend_that_started_before_the_revision():
    visits = simulate(0.0, seed=23, visits_per_quarter=300)
    # S1 compliance creeping up over the whole period: no jump at the revision, a trend
    s1 = visits["standard_id"].eq("S1") & visits["result"].isin(["yes", "no"])
    start = pd.Timestamp("2024-07-01")
    days = (visits.loc[s1, "visit_date"] - start).dt.days.to_numpy()
    rng = np.random.default_rng(23)
    p = np.clip(0.3 + 0.6 * days / 365, 0, 1)
    visits.loc[s1, "result"] = np.where(rng.random(s1.sum()) < p, "yes", "no")
    r = revision_robustness(with_branches(visits), catalogue(S1=(REVISED,))).set_index("check")
    assert r.loc["placebo", "ci_low"] > 0  # the warning fires
    assert r.loc["visit_clusters", "did"] > 0  # the main estimate alone would mislead


def test_robustness_without_branches_or_revisions():
    visits = simulate(0.2, seed=24).drop(columns="branch")
    r = revision_robustness(visits, catalogue(S1=(REVISED,))).set_index("check")
    assert r.loc["branch_level", "note"] == "visits have no branch column"
    assert np.isnan(r.loc["branch_clusters", "did"])
    assert not np.isnan(r.loc["placebo", "did"])
    none = revision_robustness(visits, catalogue())
    assert none.empty and list(none.columns) == ROBUSTNESS_COLUMNS


def test_sample_workspace_revision_with_attributes_and_robustness(sample_workspace):
    WS = sample_workspace  # the committed sample, copied and ingested once
    from vipquality.config import load_workspace
    from vipquality.data.store import load_responses, load_visits

    ws = load_workspace(WS)
    visits = load_visits(ws)
    out = revision_effects(visits, ws, responses=load_responses(ws)).set_index("standard_id")
    s04 = out.loc["S04"]
    served = ", ".join(ws.standards.get("S04").attributes)
    assert s04["attributes"] == served and s04["attr_note"] == ""
    assert s04["attr_n"] > 1000 and s04["attr_ci_low"] <= s04["attr_did"] <= s04["attr_ci_high"]
    checks = revision_robustness(visits, ws)
    r = checks[checks["standard_id"] == "S04"].set_index("check")
    assert r.loc["branch_clusters", "ci_low"] > 0 and r.loc["branch_level", "ci_low"] > 0
    assert r.loc["placebo", "ci_low"] <= 0 <= r.loc["placebo", "ci_high"]
    per_attr = revision_attributes(load_responses(ws), ws, quarters=visits["quarter"].unique())
    assert list(per_attr.loc[per_attr["standard_id"] == "S04", "attribute"]) == list(
        ws.standards.get("S04").attributes)
