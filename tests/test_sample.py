"""The seeded sample generator: deterministic files, the configuration's names, the planted effects.

Effects are measured with plain pandas on the raw files, the way an analyst would check them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from vipquality.data.sample import DEFAULT_SEED, generate_responses, generate_sample
from vipquality.errors import ConfigError

SURVEYS = Path(__file__).resolve().parents[1] / "surveys"
CONFIG = ("workspace.yaml", "instrument.yaml", "segments.yaml", "standards.yaml", "cases.yaml")


def _new_workspace(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in CONFIG:
        shutil.copy(SURVEYS / name, folder / name)
    return folder


def _yaml(folder: Path, name: str) -> dict:
    return yaml.safe_load((folder / name).read_text(encoding="utf-8"))


def _read(folder: Path, stem: str) -> pd.DataFrame:
    """The one file ``<stem>.csv|xlsx|parquet`` of a quarter folder, as pandas reads it."""
    (path,) = [p for p in folder.iterdir() if p.stem == stem]
    if path.suffix == ".csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    if path.suffix == ".xlsx":
        return pd.read_excel(path)
    return pd.read_parquet(path)


def _nps(x: pd.Series) -> float:
    x = x.dropna()
    return 100 * ((x >= 9).mean() - (x <= 6).mean())


def _quarters(ws: Path) -> list[str]:
    return sorted(p.name for p in ws.iterdir() if re.fullmatch(r"\d{4}Q[1-4]", p.name))


def _merged(ws: Path) -> pd.DataFrame:
    """Every quarter's survey joined to that quarter's CRM extract."""
    parts = []
    for q in _quarters(ws):
        survey = _read(ws / q, "survey")
        crm = _read(ws / q, "clients")
        parts.append(survey.merge(crm, left_on="ClientId", right_on="client_id", how="left")
                     .assign(quarter=q))
    return pd.concat(parts, ignore_index=True)


def _visits(ws: Path) -> pd.DataFrame:
    return pd.concat([_read(ws / q, "mystery_shopper").assign(quarter=q) for q in _quarters(ws)],
                     ignore_index=True)


SMALL = dict(quarters=2, last_quarter="2026Q3", responses_per_quarter=300, visits_per_quarter=30,
             clients=1000, seed=11)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    ws = _new_workspace(tmp_path_factory.mktemp("small"))
    return ws, generate_sample(ws, **SMALL)


@pytest.fixture(scope="module")
def medium(tmp_path_factory) -> Path:
    """Eight quarters, large enough for the planted effects to stand well clear of noise."""
    ws = _new_workspace(tmp_path_factory.mktemp("medium"))
    generate_sample(ws, quarters=8, responses_per_quarter=5000, visits_per_quarter=480,
                    clients=12000, seed=7, formats={"clients": "csv"})
    return ws


# --- determinism and layout ------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path):
    formats = {"survey": {"2026Q2": "xlsx", "2026Q3": "parquet"}, "clients": "parquet"}
    a, b = _new_workspace(tmp_path / "a"), _new_workspace(tmp_path / "b")
    generate_sample(a, formats=formats, **SMALL)
    generate_sample(b, formats=formats, **SMALL)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert {f.suffix for f in files} >= {".csv", ".xlsx", ".parquet"}
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_another_seed_gives_other_answers(tmp_path, small):
    ws, _ = small
    other = _new_workspace(tmp_path)
    generate_sample(other, **{**SMALL, "seed": 12})
    mine, theirs = (w / "2026Q3" / "survey.csv" for w in (ws, other))
    assert mine.read_bytes() != theirs.read_bytes()


def test_summary_lists_every_file_written(small):
    ws, summary = small
    assert summary["quarters"] == ["2026Q2", "2026Q3"]
    for rel, rows in summary["files"].items():
        path = ws / rel
        assert path.is_file(), rel
        table = _read(path.parent, path.stem) if rel != "staff.csv" else pd.read_csv(path)
        assert len(table) == rows, rel
    assert summary["rows"]["survey"] == 2 * SMALL["responses_per_quarter"]


def test_rows_per_quarter(small):
    ws, _ = small
    n_items = sum(len(s["items"]) for s in _yaml(ws, "standards.yaml")["standards"])
    for q in ("2026Q2", "2026Q3"):
        assert len(_read(ws / q, "survey")) == SMALL["responses_per_quarter"]
        every = _read(ws / q, "mystery_shopper")
        calibration = every["calibration_of"].fillna("").astype(str) != ""
        visits = every[~calibration]                  # calibration records: a second shopper
        assert len(visits) == SMALL["visits_per_quarter"] * n_items
        assert visits.groupby("visit_id").size().eq(n_items).all()
        assert set(every.loc[calibration, "calibration_of"]) <= set(visits["visit_id"])
        crm = _read(ws / q, "clients")
        assert abs(len(crm) - SMALL["clients"]) <= 0.05 * SMALL["clients"]
        assert crm["client_id"].is_unique


def test_regenerating_replaces_the_quarter_files(tmp_path):
    ws = _new_workspace(tmp_path)
    generate_sample(ws, **{**SMALL, "quarters": 1}, formats={"survey": "xlsx"})
    generate_sample(ws, **{**SMALL, "quarters": 1})
    assert sorted(p.name for p in (ws / "2026Q3").iterdir()) == [
        "appeals.csv", "case_updates.csv", "clients.parquet", "invitations.parquet",
        "mystery_shopper.csv", "survey.csv"]


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ConfigError, match="workspace.yaml"):
        generate_sample(tmp_path, **SMALL)
    ws = _new_workspace(tmp_path / "ws")
    with pytest.raises(ValueError, match="format"):
        generate_sample(ws, formats={"survey": "sav"}, **SMALL)
    with pytest.raises(ValueError, match="2026Q3"):
        generate_sample(ws, **{**SMALL, "last_quarter": "2026-09"})


# --- names come from the configuration --------------------------------------------------------


def _instrument_columns(inst: dict) -> list[str]:
    cols = [inst["columns"][k] for k in ("response_id", "client_id", "submitted_at")]
    cols += [inst[k]["column"] for k in ("nps", "ces", "overall")]
    for a in inst["csi"]["attributes"]:
        cols += [a["satisfaction"], a["importance"]]
    return cols + [inst["comment"]["column"]]


def test_survey_columns_are_the_instruments_source_names(small):
    ws, _ = small
    survey = _read(ws / "2026Q3", "survey")
    consent = _yaml(ws, "cases.yaml")["consent"]["column"]  # the consent item, last
    assert list(survey.columns) == _instrument_columns(_yaml(ws, "instrument.yaml")) + [consent]


def test_crm_and_visit_columns_are_the_workspace_source_names(small):
    ws, _ = small
    conf = _yaml(ws, "workspace.yaml")
    crm = _read(ws / "2026Q3", "clients")
    expected = set(conf["clients"]["columns"].values()) | set(conf["clients"]["personal"])
    assert set(crm.columns) == expected
    visits = _read(ws / "2026Q3", "mystery_shopper")
    assert list(visits.columns) == list(conf["visits"]["columns"].values())


def test_renamed_and_added_columns_follow_the_configuration(tmp_path):
    ws = _new_workspace(tmp_path)
    inst = _yaml(ws, "instrument.yaml")
    inst["nps"]["column"] = "Recommend_0_10"
    inst["columns"]["response_id"] = "Response ID"
    inst["csi"]["attributes"][1]["satisfaction"] = "SPEED_SAT"
    inst["csi"]["attributes"].append({"id": "office_comfort", "label": "Office",
                                      "satisfaction": "Q4_office_sat",
                                      "importance": "Q4_office_imp"})
    (ws / "instrument.yaml").write_text(yaml.safe_dump(inst, allow_unicode=True), encoding="utf-8")
    conf = _yaml(ws, "workspace.yaml")
    conf["visits"]["columns"]["segment"] = "ShopperProfile"
    conf["clients"]["columns"]["tier"] = "VipTier"
    (ws / "workspace.yaml").write_text(yaml.safe_dump(conf, allow_unicode=True), encoding="utf-8")

    generate_sample(ws, **SMALL)
    survey = _read(ws / "2026Q3", "survey")
    assert {"Recommend_0_10", "Response ID", "SPEED_SAT", "Q4_office_sat"} <= set(survey.columns)
    assert not {"Q1_recommend", "ResponseId", "Q4_speed_sat"} & set(survey.columns)
    assert survey["Q4_office_sat"].dropna().isin(list(range(1, 11)) + [99]).all()
    assert "ShopperProfile" in _read(ws / "2026Q3", "mystery_shopper").columns
    crm = _read(ws / "2026Q3", "clients")
    assert "VipTier" in crm.columns and "tier" not in crm.columns


def test_checklist_items_and_scenarios_come_from_the_catalogue(small):
    ws, _ = small
    standards = _yaml(ws, "standards.yaml")["standards"]
    items = [it["id"] for s in standards for it in s["items"]]
    reported = {s["id"] for s in _yaml(ws, "segments.yaml")["segments"] if s.get("report")}
    visits = _read(ws / "2026Q3", "mystery_shopper")
    for _, one in visits.groupby("visit_id"):
        assert list(one["item_id"]) == items
    assert set(visits["scenario_segment"]) <= reported
    assert set(visits["result"]) == {"yes", "no", "n.a."}


# --- values -----------------------------------------------------------------------------------


def test_value_ranges(small):
    ws, _ = small
    inst = _yaml(ws, "instrument.yaml")
    code = inst["csi"]["missing_codes"][0]
    for q, (first, last) in {"2026Q2": ("2026-04-01", "2026-06-30"),
                             "2026Q3": ("2026-07-01", "2026-09-30")}.items():
        s = _read(ws / q, "survey")
        assert s["ResponseId"].is_unique
        assert s["Q1_recommend"].between(0, 10).all() and s["Q1_recommend"].notna().all()
        assert s["Q2_effort"].dropna().between(1, 7).all()
        assert s["Q3_overall"].dropna().between(1, 10).all()
        for a in inst["csi"]["attributes"]:
            for col in (a["satisfaction"], a["importance"]):
                v = s[col].dropna()
                assert (v == v.round()).all()
                assert (v.between(1, 10) | (v == code)).all(), col
        when = pd.to_datetime(s["SubmittedAt"])
        assert when.min() >= pd.Timestamp(first)
        assert when.max() < pd.Timestamp(last) + pd.Timedelta(days=1)
        assert when.is_monotonic_increasing
        v = _read(ws / q, "mystery_shopper")
        days = pd.to_datetime(v["visit_date"])
        assert days.between(first, last).all() and (days.dt.day_of_week < 5).all()


def test_missing_answers_are_blanks_and_cannot_judge_codes(small):
    ws, _ = small
    s = _read(ws / "2026Q3", "survey")
    sat = s.filter(like="_sat")
    assert sat.isna().to_numpy().mean() > 0.005
    assert (sat == 99).to_numpy().mean() > 0.005
    assert (s["Q4_digital_sat"] == 99).mean() > (s["Q4_respect_sat"] == 99).mean()
    assert s["Q2_effort"].isna().any()


def test_crm_extract_holds_personal_data(small):
    ws, _ = small
    crm = _read(ws / "2026Q3", "clients")
    for col in ("full_name", "email", "phone", "address"):
        assert crm[col].notna().all() and crm[col].str.len().gt(5).all(), col
    assert crm["email"].str.fullmatch(r"[a-z0-9._-]+@[a-z0-9.-]+\.[a-z]+").all()
    assert crm["phone"].str.fullmatch(r"(\+7 9\d\d|8 \(9\d\d\)) \d{3}-\d\d-\d\d").all()
    assert crm["full_name"].str.contains("[А-Яа-яЁё]").mean() > 0.2          # some Cyrillic
    assert crm["full_name"].str.contains("[A-Za-z]").mean() > 0.5
    assert crm["full_name"].nunique() > 0.9 * len(crm)                      # distinctive


def test_clients_are_the_same_people_across_quarters(small):
    ws, _ = small
    a, b = (_read(ws / q, "clients").set_index("client_id") for q in ("2026Q2", "2026Q3"))
    both = a.index.intersection(b.index)
    assert len(both) > 0.95 * len(a)
    assert (a.loc[both, "full_name"] == b.loc[both, "full_name"]).all()
    assert (a.loc[both, "tier"] == b.loc[both, "tier"]).all()
    change = (b.loc[both, "balance"] / a.loc[both, "balance"]).describe()
    assert 0.9 < change["50%"] < 1.15 and change["std"] < 0.2               # slowly evolving
    assert len(a.index.difference(b.index)) > 0 and len(b.index.difference(a.index)) > 0


def test_crm_attributes_fill_every_segment_rule(small):
    ws, _ = small
    crm = _read(ws / "2026Q3", "clients")
    end = pd.Timestamp("2026-09-30")
    legal = crm["client_type"] == "legal_entity"
    assert 0.18 < legal.mean() < 0.32
    revenue = crm.loc[legal, "revenue"]
    assert crm.loc[~legal, "revenue"].isna().all()
    assert (revenue <= 4e8).any() and revenue.between(4e8, 1e9).any() and (revenue > 1e9).any()
    tiers = crm["tier"].value_counts()
    assert set(tiers.index) == {"Premium", "Luxury", "Private"} and tiers.idxmin() == "Private"
    days = (end - pd.to_datetime(crm["last_transaction"])).dt.days
    assert (days > 180).mean() > 0.05 and (days <= 90).mean() > 0.5
    assert crm["products"].str.split(";").apply(lambda p: "investments" in p).mean() > 0.2
    assert (crm["lines"] <= 5).any() and (crm["lines"] > 5).any()
    assert ((crm["balance"] < 3e6) & (crm["avg_monthly_spend_3m"] > 3000) & ~legal).any()
    ltv, freq = crm["lifetime_value"], crm["purchases_12m"]
    for lo, hi in ((0, 5e6), (5e6, 2e7), (2e7, np.inf)):
        band = (ltv > lo) & (ltv <= hi)
        assert (band & (freq <= 4)).sum() > 10 and (band & (freq > 4)).sum() > 10


def test_comments_are_varied_and_some_hold_contact_details(small):
    ws, _ = small
    comments = pd.concat([_read(ws / q, "survey")["Q5_comment"]
                          for q in ("2026Q2", "2026Q3")]).dropna()
    assert 0.05 < len(comments) / (2 * SMALL["responses_per_quarter"]) < 0.3
    assert comments.str.contains("[А-Яа-я]").any() and comments.str.contains("^[A-Za-z]").any()
    assert comments.str.contains(r"@").any()
    assert comments.str.contains(r"\+7 9\d\d|8 \(9\d\d\)").any()
    first_names = set(pd.read_csv(ws / "staff.csv")["manager_name"].str.split().str[0])
    assert any(name in text for text in comments for name in first_names)


def test_staff_roster(small):
    ws, _ = small
    staff = pd.read_csv(ws / "staff.csv", keep_default_na=False)
    assert list(staff.columns) == ["manager_id", "manager_name", "branch", "certified",
                                   "certified_on", "last_trained"]
    assert 55 <= len(staff) <= 65 and staff["manager_id"].str.fullmatch(r"M\d{3}").all()
    assert 18 <= staff["branch"].nunique() <= 22
    assert set(staff["certified"]) == {"yes", "no"}
    assert (staff.loc[staff["certified"] == "no", "certified_on"] == "").all()
    assert (staff.loc[staff["certified"] == "yes", "certified_on"] != "").all()
    crm = _read(ws / "2026Q3", "clients")
    assert set(crm["manager_id"]) <= set(staff["manager_id"])
    assert (staff.set_index("manager_id").loc[crm["manager_id"], "branch"].to_numpy()
            == crm["branch"].to_numpy()).all()


def test_weight_column_when_the_instrument_has_one(tmp_path):
    ws = _new_workspace(tmp_path)
    inst = _yaml(ws, "instrument.yaml")
    inst["columns"]["weight"] = "DesignWeight"
    (ws / "instrument.yaml").write_text(yaml.safe_dump(inst, allow_unicode=True), encoding="utf-8")
    generate_sample(ws, **SMALL)
    w = _read(ws / "2026Q3", "survey")["DesignWeight"]
    assert w.gt(0).all() and w.nunique() > 1


# --- planted effects --------------------------------------------------------------------------


def test_luxury_nps_falls_over_the_last_three_quarters_through_speed(medium):
    m = _merged(medium)
    m = m[m["Q4_speed_sat"] != 99]
    qs = _quarters(medium)
    nps = m.groupby(["quarter", "tier"])["Q1_recommend"].apply(_nps).unstack()
    speed = m.groupby(["quarter", "tier"])["Q4_speed_sat"].mean().unstack()
    drop = nps.loc[qs[-1], "Luxury"] - nps.loc[qs[-4], "Luxury"]
    assert -32 < drop < -15
    assert nps.loc[qs[-1], "Luxury"] < nps.loc[qs[-2], "Luxury"] < nps.loc[qs[-3], "Luxury"]
    # the fall accelerates: the last quarter loses the most (a significant change in the report)
    assert nps.loc[qs[-2], "Luxury"] - nps.loc[qs[-1], "Luxury"] > 8
    for tier in ("Premium", "Private"):
        assert abs(nps.loc[qs[-1], tier] - nps.loc[qs[-4], tier]) < 5
    assert speed.loc[qs[-1], "Luxury"] < speed.loc[qs[-4], "Luxury"] - 0.6
    assert abs(speed.loc[qs[-1], "Premium"] - speed.loc[qs[-4], "Premium"]) < 0.2
    # before the decline the luxury tier is as steady as the others
    assert nps.loc[qs[:5], "Luxury"].max() - nps.loc[qs[:5], "Luxury"].min() < 6


def test_speed_and_competence_drive_nps_most(medium):
    m = _merged(medium).replace(99, np.nan)
    sat = [a["satisfaction"] for a in _yaml(medium, "instrument.yaml")["csi"]["attributes"]]
    data = m[sat + ["Q1_recommend"]].dropna()
    x = (data[sat] - data[sat].mean()) / data[sat].std()
    beta, *_ = np.linalg.lstsq(np.c_[np.ones(len(x)), x], data["Q1_recommend"], rcond=None)
    top = pd.Series(beta[1:], index=sat).nlargest(2).index
    assert set(top) == {"Q4_speed_sat", "Q4_competence_sat"}
    # stated importance: speed and competence near the top, digital channels at the bottom
    imp = m.filter(like="_imp").mean()
    assert imp.idxmin() == "Q4_digital_imp" and imp["Q4_speed_imp"] > imp["Q4_respect_imp"]


def test_s04_compliance_rises_at_its_revision_while_others_stay_flat(medium):
    effective = max(v["effective"] for s in _yaml(medium, "standards.yaml")["standards"]
                    if s["id"] == "S04" for v in s["versions"])
    v = _visits(medium)
    v = v[v["result"] != "n.a."].assign(
        standard=v["item_id"].str.split(".").str[0],
        after=pd.to_datetime(v["visit_date"]) >= pd.Timestamp(effective),
        yes=v["result"] == "yes")
    share = v.groupby(["standard", "after"])["yes"].mean().unstack() * 100
    assert 58 < share.loc["S04", False] < 72 and 82 < share.loc["S04", True] < 93
    others = share.drop("S04")
    assert (others[True] - others[False]).abs().max() < 5
    by_branch = v[v["standard"] == "S04"].groupby(["branch", "after"])["yes"].mean().unstack()
    assert (by_branch[True] > by_branch[False]).mean() >= 0.9       # the rise is everywhere


def test_one_branch_is_far_below_the_others(medium):
    v = _visits(medium)
    v = v[v["result"] != "n.a."]
    compliance = v.assign(yes=v["result"] == "yes").groupby("branch")["yes"].mean() * 100
    weak = compliance.idxmin()
    assert compliance.drop(weak).min() - compliance[weak] > 10
    nps = _merged(medium).groupby("branch")["Q1_recommend"].apply(_nps)
    assert nps.idxmin() == weak and nps.drop(weak).min() - nps[weak] > 15


# --- the vectorised generator for benchmarks ---------------------------------------------------


def test_generate_responses_canonical_layout():
    inst = _yaml(SURVEYS, "instrument.yaml")
    ids = [a["id"] for a in inst["csi"]["attributes"]]
    df = generate_responses(4000, seed=3)
    expected = ["quarter", "response_id", "client_id", "submitted_at", "weight", "nps", "ces",
                "overall"] + [f"{k}__{i}" for i in ids for k in ("sat", "imp")]
    assert list(df.columns) == expected + ["segment", "branch", "manager_id"]
    assert len(df) == 4000 and df["quarter"].value_counts().eq(500).all()
    assert df["response_id"].is_unique
    assert str(df["nps"].dtype) == "Int8" and str(df["sat__competence"].dtype) == "float32"
    assert df["nps"].between(0, 10).all() and (df["weight"] == 1.0).all()
    sat = df.filter(like="sat__")
    assert sat.isna().any().any() and sat.stack().dropna().between(1, 10).all()
    assert set(df["segment"]) == {"premium", "luxury", "private"}
    assert generate_responses(4000, seed=3).equals(df)


def test_generate_responses_shares_the_model_with_the_files(tmp_path):
    """Same seed, sizes and configuration: the in-memory answers equal the written survey."""
    ws = _new_workspace(tmp_path)
    generate_sample(ws, **SMALL)
    df = generate_responses(600, seed=SMALL["seed"], workspace=ws, quarters=2,
                            clients=SMALL["clients"])
    survey = _read(ws / "2026Q3", "survey").replace(99, np.nan)
    mine = df[df["quarter"] == "2026Q3"].reset_index(drop=True)
    assert (mine["client_id"] == survey["ClientId"]).all()
    assert (mine["nps"].astype(int) == survey["Q1_recommend"]).all()
    assert np.allclose(mine["sat__response_speed"], survey["Q4_speed_sat"], equal_nan=True)


# --- the committed sample ---------------------------------------------------------------------


@pytest.mark.skipif(not any(SURVEYS.glob("20*Q*")), reason="no committed sample")
def test_committed_sample_is_small_and_up_to_date(tmp_path):
    size = sum(p.stat().st_size for p in SURVEYS.rglob("*")
               if p.is_file() and "store" not in p.relative_to(SURVEYS).parts)
    # 6.9 MB in round 2: the comments in four languages (Greek and Cyrillic take two bytes a
    # letter), shopper ids, calibration visits, appeals and the invitations (as Parquet) came in;
    # the cap keeps a fresh clone quick and flags a generator that grows without reason
    assert size < 7.5e6, f"the committed sample is {size / 1e6:.2f} MB"
    fresh = _new_workspace(tmp_path)
    summary = generate_sample(fresh)
    assert summary["seed"] == DEFAULT_SEED
    for rel in summary["files"]:
        assert (fresh / rel).read_bytes() == (SURVEYS / rel).read_bytes(), (
            f"surveys/{rel} is stale: regenerate the sample (make sample)")


@pytest.mark.skipif(not any(SURVEYS.glob("20*Q*")), reason="no committed sample")
def test_committed_sample_has_small_groups():
    crm_rules = {s["id"]: s for s in _yaml(SURVEYS, "segments.yaml")["segments"]}
    top = max(c["gt"] for c in crm_rules["le_corporate"]["rule"]["all"] if "gt" in c)
    m = _merged(SURVEYS)
    corporate = m[(m["client_type"] == "legal_entity") & (m["revenue"] > top)]
    per_quarter = corporate.groupby("quarter").size().reindex(_quarters(SURVEYS), fill_value=0)
    assert per_quarter.between(1, 29).all()
    last = m[m["quarter"] == _quarters(SURVEYS)[-1]]
    assert (last.groupby("manager_id").size() < 10).sum() >= 3
