"""Mystery-shopper calibration and appeals (issue 16, shopper side): the shopper id and the
calibration records of the visits file, the appeals file (validation, accounting, idempotence,
the audit trail), compliance before and after upheld appeals, the shopper model (the planted
lenient shopper found; others flagged at about the nominal rate under the null) and kappa."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vipquality.config import load_workspace
from vipquality.data.ingest import ingest_quarter
from vipquality.data.store import load_appeals, load_visits
from vipquality.metrics.compliance import compliance, standard_compliance
from vipquality.metrics.shoppers import rater_agreement, shopper_effects, shopper_standards
from vipquality.paths import SAMPLE_WORKSPACE

DATA = Path(__file__).parent / "data"

VISITS = """visit_id,visit_date,branch,manager_id,scenario_segment,item_id,result,shopper_id,calibration_of
V01,2026-04-10,B01,M01,private,S01.1,yes,P1,
V01,2026-04-10,B01,M01,private,S01.2,Нет,P1,
V01,2026-04-10,B01,M01,private,S03.1,n.a.,P1,
V02,12.05.2026,B02,M02,Premium,S09.1,1,P2,
V02,12.05.2026,B02,M02,Premium,S09.2,0,P2,
V02,12.05.2026,B02,M02,Premium,S04.2,Y,P2,
V01C,2026-04-10,B01,M01,private,S01.1,yes,P2,V01
V01C,2026-04-10,B01,M01,private,S01.2,yes,P2,V01
V03C,2026-04-11,B01,M01,private,S01.1,yes,P2,V99
V02C,2026-05-12,B02,M02,premium,S09.1,yes,P2,V02
V04C,2026-05-12,B02,M02,premium,S09.1,yes,P3,V01C
"""

APPEALS_HEAD = "visit_id,item_id,claimed_result,reason,decision,decided_by,date"
APPEALS = [
    "V01,S01.2,yes,Client was seen at once; call me on +7 916 123-45-67,upheld,Head of QA,2026-06-01",
    "V02,S09.2,yes,The desk was clear,Rejected,Head of QA,2026-06-02",
    "V99,S01.1,yes,No such visit,upheld,Head of QA,2026-06-02",
    "V01,S09.1,yes,Item not checked in this visit,upheld,Head of QA,2026-06-02",
    "V01,S01.1,yes,Already a yes,upheld,Head of QA,2026-06-02",
    "V01,S01.2,yes,Second decision,rejected,Head of QA,2026-06-03",
    "V02,S04.2,no,Before the visit,upheld,Head of QA,2026-01-01",
    "V02,S09.1,maybe,Not a result,upheld,Head of QA,2026-06-02",
    "V01C,S01.1,no,A calibration record,upheld,Head of QA,2026-06-02",
    "V02,S09.1,no,No decision word,pending,Head of QA,2026-06-02",
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The hand-written 2026Q2 quarter with shopper ids, calibration records and appeals."""
    ws = tmp_path / "ws"
    ws.mkdir()
    for y in SAMPLE_WORKSPACE.glob("*.yaml"):
        shutil.copy(y, ws / y.name)
    shutil.copytree(DATA / "2026Q2", ws / "2026Q2")
    (ws / "2026Q2" / "mystery_shopper.csv").write_text(VISITS, encoding="utf-8")
    (ws / "2026Q2" / "Appeals_june.CSV").write_text(
        "\n".join([APPEALS_HEAD, *APPEALS]) + "\n", encoding="utf-8")
    return ws


def _reasons(result, file_part: str) -> dict[int, str]:
    r = result.rejects[result.rejects["file"].str.contains(file_part)]
    return dict(zip(r["row"], r["reason"]))


def test_shopper_ids_and_calibration_records_are_stored_and_checked(root):
    ws = load_workspace(root)
    assert ws.visit_columns["shopper_id"] == "shopper_id"
    res = ingest_quarter(ws, "2026Q2")
    v = res.tables["visits"]
    assert (v.read, v.accepted, v.duplicates, v.rejected) == (11, 8, 0, 3)
    why = _reasons(res, "mystery_shopper")
    assert "visit 'V99' is unknown" in why[10]
    assert "shopper 'P2' also made visit 'V02'" in why[11]
    assert "'V01C' is itself a calibration record" in why[12]
    every = load_visits(ws, appeals=False, calibration=True)
    assert sorted(every["visit_id"].unique()) == ["V01", "V01C", "V02"]
    assert every.set_index(["visit_id", "item_id"]).loc[("V01C", "S01.2"), "calibration_of"] \
        == "V01"
    assert set(every["shopper_id"]) == {"P1", "P2"}
    # the calibration record counts in no compliance figure: a visit is counted once
    assert sorted(load_visits(ws, appeals=False)["visit_id"].unique()) == ["V01", "V02"]


def test_appeals_each_row_accepted_or_rejected_with_its_reason(root):
    ws = load_workspace(root)
    res = ingest_quarter(ws, "2026Q2")
    a = res.tables["appeals"]
    assert (a.read, a.accepted, a.duplicates, a.rejected) == (10, 2, 0, 8)
    assert a.reconciles
    why = _reasons(res, "Appeals_june")
    assert "visit 'V99' is unknown" in why[4]
    assert "item 'S09.1' was not checked in visit 'V01'" in why[5]
    assert "is the result recorded" in why[6]
    assert "a second decision on visit 'V01', item 'S01.2'" in why[7]
    assert "already decided (upheld" in why[7]
    assert "before visit 'V02'" in why[8]
    assert "'maybe' is not a visit result" in why[9]
    assert "is a calibration record" in why[10]
    assert "'pending' is not a decision on an appeal" in why[11]
    stored = load_appeals(ws)
    assert stored[["visit_id", "item_id", "decision"]].values.tolist() == [
        ["V01", "S01.2", "upheld"], ["V02", "S09.2", "rejected"]]
    assert "916" not in stored["reason"].iloc[0]                 # scrubbed like a comment


def test_appeals_are_idempotent_and_a_later_second_decision_is_rejected(root):
    ws = load_workspace(root)
    ingest_quarter(ws, "2026Q2")
    part = ws.store_path / "appeals" / "quarter=2026Q2" / "part-0.parquet"
    before = part.read_bytes()
    again = ingest_quarter(ws, "2026Q2")
    assert not again.changed and part.read_bytes() == before
    assert again.tables["appeals"].duplicates == 2 and again.tables["appeals"].accepted == 0
    (root / "2026Q2" / "appeals_late.csv").write_text(
        APPEALS_HEAD + "\nV02,S09.2,yes,Asked again,upheld,Branch head,2026-06-20\n",
        encoding="utf-8")
    third = ingest_quarter(ws, "2026Q2")
    assert third.tables["appeals"].accepted == 0
    why = _reasons(third, "appeals_late")
    assert "already decided (rejected, 2026-06-02" in why[2]
    assert part.read_bytes() == before


def test_compliance_before_and_after_upheld_appeals(root):
    """By hand: V01 checks S01.1 yes (weight 1), S01.2 no (weight 2), S03.1 n.a.: score 1/3;
    the upheld appeal makes S01.2 yes: 100. V02's critical S09.2 is no (score 0) and its appeal
    was rejected. Mean visit score 16.67 before, 50 after; S01 passes 1 of 3 weight, then 3/3."""
    ws = load_workspace(root)
    ingest_quarter(ws, "2026Q2")
    recorded = load_visits(ws, appeals=False)
    after = load_visits(ws)
    assert compliance(recorded).value == pytest.approx(100 / 6)
    assert compliance(after).value == pytest.approx(50.0)
    def s01(v):
        return standard_compliance(v).set_index("standard_id").loc["S01", "value"]

    assert s01(recorded) == pytest.approx(100 / 3) and s01(after) == pytest.approx(100.0)
    # the audit trail: the store keeps the shopper's result, the appeal keeps the claim
    raw = recorded.set_index(["visit_id", "item_id"])["result"]
    assert raw[("V01", "S01.2")] == "no"
    assert after.set_index(["visit_id", "item_id"])["result"][("V01", "S01.2")] == "yes"


def test_a_workspace_without_the_shopper_columns_keeps_working(tmp_path):
    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    for y in SAMPLE_WORKSPACE.glob("*.yaml"):
        shutil.copy(y, ws_dir / y.name)
    text = (ws_dir / "workspace.yaml").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines(True)
             if not ln.lstrip().startswith(("shopper_id:", "calibration_of:"))]
    (ws_dir / "workspace.yaml").write_text("".join(lines), encoding="utf-8")
    shutil.copytree(DATA / "2026Q2", ws_dir / "2026Q2")
    ws = load_workspace(ws_dir)
    assert "shopper_id" not in ws.visit_columns
    ingest_quarter(ws, "2026Q2")
    v = load_visits(ws)
    assert len(v) == 6 and v["shopper_id"].isna().all() and v["calibration_of"].isna().all()


# --------------------------------------------------------------------------- the shopper model
def _design(rng, n_visits=150, n_items=8, n_shoppers=6, n_branches=8, lenient=0.0):
    """Checks of a small programme: branch quality, item difficulty, a visit's own noise;
    shopper P0 adds ``lenient`` to the log-odds of every check."""
    shop = rng.integers(0, n_shoppers, n_visits)
    branch = rng.integers(0, n_branches, n_visits)
    quality = rng.normal(0, 0.5, n_branches)
    noise = rng.normal(0, 0.35, n_visits)
    item = np.tile(np.arange(n_items), n_visits)
    v = np.repeat(np.arange(n_visits), n_items)
    eta = 1.0 + 0.3 * (item % 3) + quality[branch][v] + noise[v] + lenient * (shop[v] == 0)
    yes = rng.random(eta.size) < 1 / (1 + np.exp(-eta))
    return pd.DataFrame({"visit_id": v, "quarter": "2026Q1", "branch": branch[v].astype(str),
                         "segment": np.where(v % 2, "a", "b"),
                         "standard_id": "S" + (item % 4).astype(str),
                         "shopper_id": "P" + shop[v].astype(str),
                         "result": np.where(yes, "yes", "no")})


def test_the_lenient_shopper_is_flagged_and_no_other():
    checks = _design(np.random.default_rng(16), n_visits=400, lenient=1.0)
    e = shopper_effects(checks).set_index("shopper_id")
    assert e.loc["P0", "flag"] == "lenient" and e.loc["P0", "difference"] > 5
    assert (e.drop(index="P0")["flag"] == "").all()
    assert e["p_adjusted"].ge(e["p_value"]).all()
    by_standard = shopper_standards(checks, e.reset_index())
    assert (by_standard[by_standard["shopper_id"] == "P0"]["difference"] > 0).all()


def test_with_three_shoppers_one_lenient_does_not_make_the_others_severe():
    """Against the mean of all others, two fair shoppers would both look severe beside a very
    lenient third; the stepwise reference leaves the lenient one out of theirs."""
    checks = _design(np.random.default_rng(3), n_visits=200, n_shoppers=3, lenient=1.5)
    e = shopper_effects(checks).set_index("shopper_id")
    assert e["flag"].to_dict() == {"P0": "lenient", "P1": "", "P2": ""}


def test_under_the_null_shoppers_are_flagged_at_about_the_nominal_rate():
    """60 seeded programmes with no shopper effect, 6 shoppers each (360 tests; about 15 s;
    ``VQ_SHOPPER_NULL=200`` runs 200): the raw 5 % test rejects 5 % ± 2.3 (two binomial SE of
    360 tests), and the Holm flag of any shopper in a programme stays near 5 % (at most 12 %)."""
    rng = np.random.default_rng(161)
    raw, any_flag = [], []
    for _ in range(int(os.environ.get("VQ_SHOPPER_NULL", "60"))):
        e = shopper_effects(_design(rng))
        raw += list(e["p_value"] < 0.05)
        any_flag.append((e["flag"] != "").any())
    assert 0.027 <= np.mean(raw) <= 0.075
    assert np.mean(any_flag) <= 0.12


def test_kappa_against_a_hand_computed_table():
    """Two shoppers on 20 checks of one item: rows first shopper, columns second (yes, no, n.a.)
        yes 10 2 0 | no 1 5 1 | n.a. 0 0 1
    p_o = 16/20 = 0.8; margins 12, 7, 1 and 11, 7, 2: p_e = (12·11 + 7·7 + 1·2) / 400 = 0.4575;
    κ = (0.8 − 0.4575) / (1 − 0.4575) = 0.63134."""
    table = {("yes", "yes"): 10, ("yes", "no"): 2, ("no", "yes"): 1, ("no", "no"): 5,
             ("no", "na"): 1, ("na", "na"): 1}
    rows = [(a, b) for (a, b), n in table.items() for _ in range(n)]
    pairs = pd.DataFrame({"item_id": "S01.1", "first": [a for a, _ in rows],
                          "second": [b for _, b in rows]})
    r = rater_agreement(pairs).iloc[0]
    assert r["pairs"] == 20 and r["agreement"] == pytest.approx(80.0)
    assert r["kappa"] == pytest.approx((0.8 - 0.4575) / (1 - 0.4575))
    assert r["ci_low"] < r["kappa"] < r["ci_high"]
    same = pd.DataFrame({"item_id": "S02.1", "first": ["yes"] * 5, "second": ["yes"] * 5})
    assert np.isnan(rater_agreement(same)["kappa"].iloc[0])      # undefined, not 1 or 0


def test_a_visits_file_without_the_mapped_shopper_column_still_imports(tmp_path):
    """The sample's workspace.yaml maps shopper_id; an older export without the column still
    imports (its visits have no shopper)."""
    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    for y in SAMPLE_WORKSPACE.glob("*.yaml"):
        shutil.copy(y, ws_dir / y.name)
    shutil.copytree(DATA / "2026Q2", ws_dir / "2026Q2")
    ws = load_workspace(ws_dir)
    res = ingest_quarter(ws, "2026Q2")
    assert res.tables["visits"].accepted == 6
    assert load_visits(ws)["shopper_id"].isna().all()
    assert any("no column 'shopper_id'" in w and "without a shopper id" in w
               for w in res.warnings)


# ------------------------------------------------------------------------------ on the sample
def test_the_sample_plants_a_lenient_shopper_found_with_a_caveat_naming_no_one(sample_workspace):
    from vipquality.data.sample_shoppers import LENIENT_BRANCH, LENIENT_SHOPPER, SHOPPERS
    from vipquality.report.pages import staff
    from vipquality.standards.shoppers import quarter_caveats, shopper_report

    ws = load_workspace(sample_workspace)
    quarters = ws.quarters()
    report = shopper_report(ws, quarters)
    e = report["effects"].set_index("shopper_id")
    assert e.loc[LENIENT_SHOPPER, "flag"] == "lenient"
    assert (e.drop(index=LENIENT_SHOPPER)["flag"] == "").all()
    assert sorted(e.index) == sorted(SHOPPERS)
    agree = report["agreement"]
    assert len(agree) == len(ws.standards.items) and agree["pairs"].min() >= 8 * 12 * 0.9
    assert agree["agreement"].between(70, 100).all()
    by_branch = report["appeals_by_branch"]
    assert by_branch["appeals"].sum() == len(load_appeals(ws))
    assert 0 < by_branch["upheld"].sum() < by_branch["appeals"].sum()
    caveats = quarter_caveats(ws, quarters, quarters[-1])
    assert caveats["branch"].tolist() == [LENIENT_BRANCH]
    text = caveats["caveat"].iloc[0]
    assert "one shopper" in text and not any(s in text for s in SHOPPERS)
    page = staff.shopper_summary(report) + staff.shopper_table(report)
    assert LENIENT_SHOPPER in page                         # the restricted view names them
