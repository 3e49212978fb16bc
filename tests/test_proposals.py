"""Tests of vipquality.standards.proposals: the standards scorecard and the revision rules.

The rules are tested case by case on small hand-built scorecards: four attributes per segment,
so the average driver share is 25 % (matters ≥ 25, little weight < 18.75 with the default
ratios), and a segment mean performance of 70 (poor < 68 with the default margin of 2).
"""

from __future__ import annotations

import csv
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from vipquality.config import ChecklistItem, Standard, Standards, StandardVersion
from vipquality.report.data import ReportData
from vipquality.standards.agenda import AGENDA_COLUMNS, agenda, revision_evidence
from vipquality.standards.proposals import ACTIONS, PROPOSAL_COLUMNS, RevisionRules, propose
from vipquality.standards.scorecard import SCORECARD_COLUMNS, scorecard
from vipquality.standards.writers import write_proposals

Q, PREV = "2026Q3", "2026Q2"

# attribute: (driver weight %, performance 0-100); mean weight 25, mean performance 70
BASE = {"a": (40.0, 60.0), "b": (30.0, 80.0), "c": (10.0, 80.0), "d": (20.0, 60.0)}


def catalogue(*specs: tuple[str, tuple[str, ...]], fill: bool = True) -> Standards:
    """Standards serving the given attributes; with ``fill`` a standard ``SZ`` (absent from
    every scorecard) serves all four, so no attribute is without a standard."""
    out = []
    for sid, attributes in [*specs, *([("SZ", tuple(BASE))] if fill else [])]:
        out.append(Standard(
            id=sid, title=f"Standard {sid}", owner="owner", attributes=tuple(attributes),
            targets={"default": 90.0},
            versions=(StandardVersion(1, dt.date(2023, 1, 1), "text", None),),
            items=(ChecklistItem(f"{sid}.1", "item", 1.0, False, sid),)))
    return Standards("test", tuple(out))


def drivers(attrs: dict | None = None, segment: str = "all", ci: float | None = 3.0,
            n: int = 500) -> pd.DataFrame:
    attrs = attrs or BASE
    rows = [{"segment": segment, "attribute": a, "label": f"Label {a}", "raw_weight": w / 200,
             "rescaled": w, "ci_low": w - ci if ci is not None else np.nan,
             "ci_high": w + ci if ci is not None else np.nan, "performance": p, "n": n,
             "r_squared": 0.5} for a, (w, p) in attrs.items()]
    return pd.DataFrame(rows)


def metrics(attrs: dict | None = None, segment: str = "all",
            suppressed: tuple[str, ...] = ()) -> pd.DataFrame:
    attrs = attrs or BASE
    return pd.DataFrame([{"quarter": Q, "segment": segment, "metric": f"attr:{a}", "value": p,
                          "n": 20 if a in suppressed else 400,
                          "base_flag": "suppressed" if a in suppressed else "ok"}
                         for a, (w, p) in attrs.items()])


def card(*rows: dict) -> pd.DataFrame:
    out = []
    for r in rows:
        r = {"segment": "all", "target": 90.0, "n": 200, "suppressed": False, **r}
        c = r["compliance"]
        out.append({"quarter": Q, "title": f"Standard {r['standard_id']}",
                    "ci_low": c - 5, "ci_high": min(c + 5, 100), "gap": c - r["target"], **r})
    return pd.DataFrame(out)


def actions(p: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    return list(zip(p["segment"], p["standard_id"], p["attribute"], p["action"]))


# --------------------------------------------------------------------------------------------
# reinforce


def test_reinforce_fires_below_target_on_high_weight_attribute():
    cat = catalogue(("S1", ("b",)))
    p = propose(card({"standard_id": "S1", "compliance": 80.0}), drivers(), metrics(), cat)
    assert actions(p) == [("all", "S1", "b", "reinforce")]
    row = p.iloc[0]
    assert row["compliance"] == 80 and row["target"] == 90 and row["weight"] == 30
    assert row["n"] == 200 and row["mean_weight"] == 25
    assert "80.0%" in row["reason"] and "90%" in row["reason"] and "30.0%" in row["reason"]
    assert list(p.columns) == PROPOSAL_COLUMNS


def test_reinforce_boundaries():
    cat = catalogue(("S1", ("b",)))
    at_target = propose(card({"standard_id": "S1", "compliance": 90.0}), drivers(), metrics(),
                        cat)
    assert at_target.empty  # at target: met, b does not perform poorly -> nothing
    just_below = propose(card({"standard_id": "S1", "compliance": 89.99}), drivers(),
                         metrics(), cat)
    assert actions(just_below) == [("all", "S1", "b", "reinforce")]
    # weight exactly the average share matters; just under it does not
    for w, expected in ((25.0, 1), (24.99, 0)):
        attrs = {**BASE, "b": (w, 80.0)}
        p = propose(card({"standard_id": "S1", "compliance": 80.0}), drivers(attrs),
                    metrics(attrs), cat)
        assert len(p) == expected, w


def test_reinforce_not_for_low_weight_attribute():
    cat = catalogue(("S1", ("d",)))  # d: weight 20 < 25
    assert propose(card({"standard_id": "S1", "compliance": 50.0}), drivers(), metrics(),
                   cat).empty


def test_multi_attribute_standard_one_row_per_attribute_that_fires():
    cat = catalogue(("S1", ("a", "b", "c")))
    p = propose(card({"standard_id": "S1", "compliance": 80.0}), drivers(), metrics(), cat)
    assert actions(p) == [("all", "S1", "a", "reinforce"), ("all", "S1", "b", "reinforce")]


# --------------------------------------------------------------------------------------------
# revise content


def test_revise_content_when_met_but_attribute_poor_and_matters():
    cat = catalogue(("S1", ("a",)))
    p = propose(card({"standard_id": "S1", "compliance": 90.0}), drivers(), metrics(), cat)
    assert actions(p) == [("all", "S1", "a", "revise_content")]
    assert p["performance"].iloc[0] == 60 and p["mean_performance"].iloc[0] == 70
    below = propose(card({"standard_id": "S1", "compliance": 85.0}), drivers(), metrics(), cat)
    assert actions(below) == [("all", "S1", "a", "reinforce")]  # never both


def test_revise_content_performance_boundary():
    cat = catalogue(("S1", ("a",)))
    # mean performance = (p_a + 80 + 80 + 60) / 4; poor when p_a < mean - 2
    # p_a = 70: mean 72.5, threshold 70.5 -> poor; p_a = 72: mean 73, threshold 71 -> not poor
    for perf, fires in ((70.0, True), (72.0, False)):
        attrs = {**BASE, "a": (40.0, perf)}
        p = propose(card({"standard_id": "S1", "compliance": 95.0}), drivers(attrs),
                    metrics(attrs), cat)
        assert (len(p) == 1) is fires, perf
    # exactly at the threshold is not poor (strict): margin 5 with p_a = 60: mean 70, cut 65
    attrs = {**BASE, "a": (40.0, 65.0), "d": (20.0, 55.0)}  # mean 70, a at exactly 70 - 5
    p = propose(card({"standard_id": "S1", "compliance": 95.0}), drivers(attrs),
                metrics(attrs), cat, RevisionRules(low_performance_margin=5.0))
    assert p.empty


def test_revise_content_not_when_attribute_performs_well():
    cat = catalogue(("S1", ("b",)))
    assert propose(card({"standard_id": "S1", "compliance": 99.0}), drivers(), metrics(),
                   cat).empty


# --------------------------------------------------------------------------------------------
# simplify or retire


def test_simplify_when_high_compliance_and_little_weight():
    cat = catalogue(("S1", ("c",)))
    p = propose(card({"standard_id": "S1", "compliance": 95.0}), drivers(), metrics(), cat)
    assert actions(p) == [("all", "S1", "c", "simplify_or_retire")]
    assert "10.0%" in p["reason"].iloc[0]


def test_simplify_boundaries():
    cat = catalogue(("S1", ("c",)))
    # at or above target but below high_compliance (90): no
    p = propose(card({"standard_id": "S1", "compliance": 89.9, "target": 85.0}), drivers(),
                metrics(), cat)
    assert p.empty
    p = propose(card({"standard_id": "S1", "compliance": 90.0, "target": 85.0}), drivers(),
                metrics(), cat)
    assert actions(p) == [("all", "S1", "c", "simplify_or_retire")]
    # below its (higher) target: no
    assert propose(card({"standard_id": "S1", "compliance": 95.0, "target": 98.0}), drivers(),
                   metrics(), cat).empty
    # little weight is strict: 18.75 is not little, 18.74 is
    for w, fires in ((18.75, False), (18.74, True)):
        attrs = {**BASE, "c": (w, 80.0)}
        p = propose(card({"standard_id": "S1", "compliance": 95.0}), drivers(attrs),
                    metrics(attrs), cat)
        assert (list(p["action"]) == ["simplify_or_retire"]) is fires, w


def test_simplify_needs_every_served_attribute_of_little_weight():
    cat = catalogue(("S1", ("c", "d")))  # d (20) is not of little weight
    assert propose(card({"standard_id": "S1", "compliance": 95.0}), drivers(), metrics(),
                   cat).empty
    attrs = {**BASE, "d": (15.0, 60.0), "a": (45.0, 60.0)}
    p = propose(card({"standard_id": "S1", "compliance": 95.0}), drivers(attrs),
                metrics(attrs), cat)
    assert actions(p) == [("all", "S1", "c", "simplify_or_retire"),
                          ("all", "S1", "d", "simplify_or_retire")]


# --------------------------------------------------------------------------------------------
# new standard


def test_new_standard_for_unserved_attribute_that_matters_and_performs_poorly():
    cat = catalogue(("S1", ("b",)), ("S2", ("c",)), ("S3", ("d",)), fill=False)  # a: none
    p = propose(card({"standard_id": "S1", "compliance": 92.0}), drivers(), metrics(), cat)
    assert actions(p) == [("all", "", "a", "new_standard")]
    row = p.iloc[0]
    assert pd.isna(row["compliance"]) and row["title"] == "" and row["n_survey"] == 500
    assert "no standard serves it" in row["reason"]


def test_new_standard_not_when_served_unimportant_or_performing():
    served = catalogue(("S1", ("a",)), fill=False)
    assert "new_standard" not in set(propose(card(), drivers(), metrics(), served)["action"])
    cat = catalogue(("S1", ("b",)), fill=False)  # a, c, d unserved; d poor, weight 20 < 25
    attrs = {**BASE, "a": (40.0, 75.0)}  # a matters but performs above the mean - 2
    assert propose(card(), drivers(attrs), metrics(attrs), cat).empty


# --------------------------------------------------------------------------------------------
# segment variant


def seg_setup(delta: float, ci: float | None = 3.0):
    seg = {**BASE, "b": (30.0 + delta, 80.0), "a": (40.0 - delta, 60.0)}
    d = pd.concat([drivers(), drivers(seg, "vip", ci=ci)], ignore_index=True)
    m = pd.concat([metrics(), metrics(seg, "vip")], ignore_index=True)
    return d, m


def test_segment_variant_when_weight_differs_from_all_clients():
    cat = catalogue(("S1", ("b",)))
    d, m = seg_setup(6.0)
    sc = card({"standard_id": "S1", "compliance": 99.0},
              {"standard_id": "S1", "compliance": 99.0, "segment": "vip"})
    p = propose(sc, d, m, cat)
    # b differs by +6 (outside the segment's interval 33-39); a by -6 is served by SZ only,
    # which the scorecard does not hold
    assert actions(p) == [("vip", "S1", "b", "segment_variant")]
    assert p["weight_all"].iloc[0] == 30 and p["weight"].iloc[0] == 36
    assert "36.0%" in p["reason"].iloc[0] and "30.0%" in p["reason"].iloc[0]
    # an attribute no standard serves: a variant row with standard_id ""
    p = propose(sc, d, m, catalogue(("S1", ("b",)), fill=False))
    assert ("vip", "", "a", "segment_variant") in actions(p)


def test_segment_variant_thresholds():
    cat = catalogue(("S1", ("b",)), ("S2", ("a",)))
    sc = card({"standard_id": "S1", "compliance": 99.0, "segment": "vip"},
              {"standard_id": "S2", "compliance": 80.0, "segment": "vip", "target": 70.0})

    def variants(p):
        return [x for x in actions(p) if x[3] == "segment_variant"]

    d, m = seg_setup(4.99)
    assert variants(propose(sc, d, m, cat)) == []
    d, m = seg_setup(5.0)
    assert len(variants(propose(sc, d, m, cat))) == 2
    # the all-clients weight inside the segment's interval: no (unless the interval is off)
    d, m = seg_setup(6.0, ci=7.0)
    assert variants(propose(sc, d, m, cat)) == []
    assert len(variants(propose(sc, d, m, cat,
                                RevisionRules(variant_requires_interval=False)))) == 2
    # no interval in the drivers: the difference alone decides
    d, m = seg_setup(6.0, ci=None)
    assert len(variants(propose(sc, d, m, cat))) == 2
    # a larger threshold
    d, m = seg_setup(6.0)
    assert variants(propose(sc, d, m, cat, RevisionRules(variant_min_difference=6.5))) == []


def test_segment_variant_never_for_all_clients():
    cat = catalogue(("S1", ("b",)))
    p = propose(card({"standard_id": "S1", "compliance": 99.0}), drivers(), metrics(), cat)
    assert p.empty


# --------------------------------------------------------------------------------------------
# suppressed groups and interval mode


def test_suppressed_groups_produce_nothing():
    cat = catalogue(("S1", ("a",)), ("S2", ("b",)))
    rows = ({"standard_id": "S1", "compliance": 95.0, "suppressed": True, "n": 12},
            {"standard_id": "S2", "compliance": 50.0, "suppressed": True, "n": 12})
    assert propose(card(*rows), drivers(), metrics(), cat).empty
    # a segment without drivers (under the base) produces nothing, even unserved attributes
    d = drivers(segment="all")
    sc = card({"standard_id": "S2", "compliance": 50.0, "segment": "small"})
    m = pd.concat([metrics(), metrics(segment="small")])
    p = propose(sc, d, m, catalogue(("S2", ("b",))))
    assert "small" not in set(p["segment"])
    # a suppressed attribute performance: no revise_content / new_standard on it
    cat = catalogue(("S1", ("a",)))
    assert propose(card({"standard_id": "S1", "compliance": 95.0}), drivers(),
                   metrics(suppressed=("a",)), cat).empty
    assert propose(card(), drivers(), metrics(suppressed=("a",)),
                   catalogue(("S1", ("b",)), fill=False)).empty


def test_use_interval_is_conservative():
    cat = catalogue(("S1", ("b",)), ("S2", ("a",)))
    sc = card({"standard_id": "S1", "compliance": 87.0},   # CI 82-92 straddles 90
              {"standard_id": "S2", "compliance": 92.0})   # CI 87-97 straddles 90
    assert set(propose(sc, drivers(), metrics(), cat)["action"]) == {"reinforce",
                                                                     "revise_content"}
    assert propose(sc, drivers(), metrics(), cat, RevisionRules(use_interval=True)).empty
    sc = card({"standard_id": "S1", "compliance": 80.0}, {"standard_id": "S2",
                                                          "compliance": 96.0})
    assert set(propose(sc, drivers(), metrics(), cat, RevisionRules(use_interval=True))
               ["action"]) == {"reinforce", "revise_content"}


def test_rules_are_validated():
    with pytest.raises(ValueError, match="high_weight_ratio"):
        RevisionRules(high_weight_ratio=-1)
    with pytest.raises(ValueError, match="use_interval"):
        RevisionRules(use_interval="yes")
    with pytest.raises(ValueError, match="low_weight_ratio"):
        RevisionRules(low_weight_ratio=1.5)
    with pytest.raises(AttributeError):
        RevisionRules().high_compliance = 50  # frozen


# --------------------------------------------------------------------------------------------
# order, output


def test_order_is_deterministic_and_by_standard_segment_action():
    cat = catalogue(("S2", ("a",)), ("S1", ("b", "c")))  # catalogue order S2 before S1
    d, m = seg_setup(6.0)
    sc = card({"standard_id": "S1", "compliance": 80.0, "segment": "vip"},
              {"standard_id": "S2", "compliance": 95.0},
              {"standard_id": "S1", "compliance": 80.0})
    p = propose(sc, d, m, cat)
    got = actions(p)
    assert [x[1] for x in got] == sorted((x[1] for x in got), key=["S2", "S1", ""].index)
    s1 = [x for x in got if x[1] == "S1"]
    assert s1[0][0] == "vip"  # scorecard order of segments
    assert [x[3] for x in s1 if x[0] == "vip"] == ["reinforce", "segment_variant"]
    shuffled = propose(sc.sample(frac=1, random_state=1), d.sample(frac=1, random_state=2),
                       m.sample(frac=1, random_state=3), cat)
    pd.testing.assert_frame_equal(p.drop(columns=[]), shuffled)
    assert set(p["action"]) <= set(ACTIONS)


def test_write_proposals_csv_safe_ranked_and_markdown_by_gate(tmp_path):
    cat = catalogue(("S1", ("b",)), ("S2", ("c",)))
    sc = card({"standard_id": "S1", "compliance": 80.0}, {"standard_id": "S2",
                                                          "compliance": 95.0})
    p = propose(sc, drivers(), metrics(), cat)
    p.loc[0, "title"] = "=HYPERLINK(\"http://x\")"
    a = agenda(p, owners={"S1": "Head of service"})
    paths = write_proposals(a, tmp_path / "out", detail=p, assumptions=["Associational."])
    with open(paths["csv"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["title"].startswith("'=")
    assert list(rows[0]) == AGENDA_COLUMNS
    assert [(r["rank"], r["gate"], r["action"]) for r in rows] == [
        ("1", "act", "reinforce"), ("2", "act", "simplify_or_retire")]
    md = paths["md"].read_text(encoding="utf-8")
    assert md.index("## Act") < md.index("1. **S1") < md.index("2. **S2")
    assert "Simplify or retire" in md and "Associational." in md
    watch = write_proposals(agenda(p.assign(gate=["act", "watch"])), tmp_path / "w")
    md = watch["md"].read_text(encoding="utf-8")
    assert md.index("## Act") < md.index("1. **S1") < md.index("## Watch") < md.index("2. **S2")
    empty = write_proposals(a.iloc[0:0], tmp_path / "empty")
    assert "No proposals" in empty["md"].read_text()


# --------------------------------------------------------------------------------------------
# the evidence gate, the grouping and the ranking (the standards agenda)


def test_gate_act_only_when_gap_and_driver_are_significant():
    cat = catalogue(("S1", ("a",)))
    # compliance 80 ± 5 < 90 and a's weight 40 ± 3 > 25: both significant
    p = propose(card({"standard_id": "S1", "compliance": 80.0}), drivers(), metrics(), cat)
    assert (p["action"].tolist(), p["gate"].tolist()) == (["reinforce"], ["act"])
    # compliance 87 (CI 82–92) against 90: the gap is not significant → watch
    p = propose(card({"standard_id": "S1", "compliance": 87.0}), drivers(), metrics(), cat)
    assert p["gate"].tolist() == ["watch"]
    assert "compliance gap not significant (CI 82.0–92.0" in p["gate_note"].iloc[0]
    # a driver interval reaching the average share 25 (40 ± 16) → watch
    p = propose(card({"standard_id": "S1", "compliance": 80.0}), drivers(ci=16.0), metrics(),
                cat)
    assert p["gate"].tolist() == ["watch"]
    assert "driver weight not significantly above" in p["gate_note"].iloc[0]
    # no interval at all: nothing counts as significant
    p = propose(card({"standard_id": "S1", "compliance": 80.0}), drivers(ci=None), metrics(),
                cat)
    assert p["gate"].tolist() == ["watch"]


def test_gate_of_simplify_needs_weight_intervals_below_the_average_share():
    cat = catalogue(("S1", ("c",)))
    p = propose(card({"standard_id": "S1", "compliance": 99.0}), drivers(), metrics(), cat)
    assert p[["action", "gate"]].values.tolist() == [["simplify_or_retire", "act"]]
    p = propose(card({"standard_id": "S1", "compliance": 99.0}), drivers(ci=16.0), metrics(),
                cat)                                       # c: 10 ± 16 reaches 25
    assert p["gate"].tolist() == ["watch"]


def _grouped_detail() -> pd.DataFrame:
    """S1 below target in three segments (two act, one watch), S2 above target (simplify)."""
    cat = catalogue(("S1", ("a",)), ("S2", ("c",)))
    frames = []
    for seg, comp in (("all", 80.0), ("vip", 82.0), ("new", 87.0)):
        frames.append(propose(card({"standard_id": "S1", "compliance": comp, "segment": seg},
                                   {"standard_id": "S2", "compliance": 99.0, "segment": seg}),
                              drivers(segment=seg), metrics(segment=seg), cat))
    return pd.concat(frames, ignore_index=True)


def test_agenda_one_proposal_per_standard_and_action_naming_its_segments():
    p = _grouped_detail()
    assert len(p) == 6                                     # 3 segments × 2 standards
    a = agenda(p, owners={"S1": "Head of service", "S2": "Head of ops"},
               labels={"vip": "VIP clients"})
    assert a[["standard_id", "action", "gate"]].values.tolist() == [
        ["S1", "reinforce", "act"], ["S2", "simplify_or_retire", "act"]]
    s1 = a.iloc[0]
    assert s1["segments"] == "all, VIP clients" and s1["watch_segments"] == "new"
    assert s1["owner"] == "Head of service" and s1["n_detail"] == 3
    assert s1["evidence"].startswith("all: compliance 80.0% (CI 75.0–85.0) vs target 90%")
    assert a["rank"].tolist() == [1, 2]
    # an owner that names a person (a roster name) is shown as a role
    named = agenda(p, owners={"S1": "Veronika Sokolova (VIP desk)", "S2": "Head of ops"},
                   personal_names=["veronika sokolova", ""])
    assert named["owner"].tolist() == ["Standards owner", "Head of ops"]


def test_agenda_ranked_by_impact_actions_before_watch():
    p = _grouped_detail()
    imp = pd.DataFrame({"segment": ["all", "vip", "new"], "standard_id": "S1",
                        "action": "reinforce", "attribute": "a", "change": [2.0, 5.0, 9.0],
                        "ci_low": [1.0, 3.0, 4.0], "ci_high": [3.0, 7.0, 14.0],
                        "shift": 1.0, "basis": "associational"})
    a = agenda(p, imp)
    # the impact is the largest among the segments where it acts (vip), not the watched one
    s1 = a[a["standard_id"] == "S1"].iloc[0]
    assert (s1["impact"], s1["impact_low"], s1["impact_segment"]) == (5.0, 3.0, "vip")
    assert a["standard_id"].tolist() == ["S1", "S2"]        # S2 has no impact: after S1
    # a watch item comes after every action whatever its impact
    watch = p.assign(gate=np.where(p["standard_id"] == "S1", "watch", p["gate"]))
    b = agenda(watch, imp)
    assert b[["standard_id", "gate", "rank"]].values.tolist() == [["S2", "act", 1],
                                                                 ["S1", "watch", 2]]
    assert b.iloc[1]["impact"] == 9.0                       # watch: over all its segments
    # among actions, the larger impact first
    imp2 = pd.concat([imp, pd.DataFrame({"segment": ["all"], "standard_id": "S2",
                                         "action": "simplify_or_retire", "attribute": "c",
                                         "change": [6.0], "ci_low": [1.0], "ci_high": [9.0],
                                         "shift": 1.0, "basis": "associational"})])
    assert agenda(p, imp2)["standard_id"].tolist() == ["S2", "S1"]


def test_revision_evidence_supports_a_causal_pass_through_only_when_both_rise():
    rev = pd.DataFrame({"standard_id": ["S1"], "effective": ["2025-04-01"], "did": [20.0],
                        "ci_low": [15.0], "ci_high": [25.0], "attr_did": [4.0],
                        "attr_ci_low": [1.0], "attr_ci_high": [7.0]})
    ratio, text = revision_evidence(rev, "S1")
    assert ratio == pytest.approx(0.2) and "measured pass-through of 0.20" in text
    ratio, text = revision_evidence(rev.assign(attr_did=-1.0, attr_ci_low=-2.0,
                                               attr_ci_high=-0.5), "S1")
    assert ratio is None and "does not support a causal step" in text
    assert revision_evidence(rev, "S2") == (None, "")


# --------------------------------------------------------------------------------------------
# scorecard


def report(standards: pd.DataFrame) -> ReportData:
    seg = pd.DataFrame({"segment": ["all", "vip"], "label": ["All", "VIP"],
                        "family": ["all", "tier"], "report": [True, True]})
    m = pd.concat([metrics(), metrics(segment="vip", suppressed=("b",))], ignore_index=True)
    empty = pd.DataFrame()
    return ReportData(quarter=Q, previous=PREV, quarters=[PREV, Q], segments=seg, metrics=m,
                      branches=empty, managers=empty, composition=empty, ces_counts=empty,
                      drivers=drivers(), standards=standards,
                      settings={"base_suppress": 30})


def test_scorecard_columns_trend_performance_weight_and_suppression():
    cat = catalogue(("S1", ("a", "b")), ("S2", ("c",)))
    rows = []
    for q, shift in ((PREV, -4.0), (Q, 0.0)):
        for seg, n in (("all", 200), ("vip", 25 if q == PREV else 40)):
            for sid in ("S1", "S2"):
                rows.append({"quarter": q, "segment": seg, "standard_id": sid, "n": n,
                             "n_effective": n, "value": 80.0 + shift, "ci_low": 75.0 + shift,
                             "ci_high": 85.0 + shift, "se": 3.0, "title": f"Standard {sid}",
                             "target": 90.0, "attributes": "", "version": 1})
    sc = scorecard(report(pd.DataFrame(rows[::-1])), cat)
    assert list(sc.columns) == SCORECARD_COLUMNS
    assert list(zip(sc["segment"], sc["standard_id"])) == [
        ("all", "S1"), ("all", "S2"), ("vip", "S1"), ("vip", "S2")]
    first = sc.iloc[0]
    assert first["gap"] == -10 and first["trend"] == 4 and first["prev_compliance"] == 76
    assert first["trend_se"] == pytest.approx(np.sqrt(18))
    assert first["performance"] == 70 and first["weight"] == 70 and first["n_survey"] == 500
    assert first["attributes"] == "a, b"
    vip = sc[sc["segment"] == "vip"].set_index("standard_id")
    assert np.isnan(vip.loc["S1", "trend"])  # previous quarter under the base
    assert np.isnan(vip.loc["S1", "performance"])  # b suppressed in vip
    assert np.isnan(vip.loc["S1", "weight"])  # no drivers for vip
    assert not sc["suppressed"].any()
    rows[-1]["n"] = 10
    sc = scorecard(report(pd.DataFrame(rows)), cat)
    assert sc.set_index(["segment", "standard_id"]).loc[("vip", "S2"), "suppressed"]


def test_sample_workspace_scorecard_and_proposals(sample_workspace):
    WS = sample_workspace  # the committed sample, copied and ingested once
    import vipquality as vq

    data = vq.compute_report_data(WS, n_boot=50)
    ws = vq.load_workspace(WS)
    sc = scorecard(data, ws)
    assert len(sc) == len(data.current("standards"))
    p = propose(sc, data.drivers, data.metrics, ws.standards)
    assert len(p) and set(p["action"]) <= set(ACTIONS)
    suppressed = sc.loc[sc["suppressed"], ["segment", "standard_id"]].apply(tuple, axis=1)
    assert not set(zip(p["segment"], p["standard_id"])) & set(suppressed)
    assert set(p["segment"]) <= set(data.drivers["segment"])  # le_corporate: under the base
    # the declining luxury speed of response is named against the standards serving it
    luxury = p[(p["segment"] == "luxury") & (p["attribute"] == "response_speed")]
    assert len(luxury)
    # ... and the declining segment itself is found: luxury's NPS fell significantly this
    # quarter (after Holm adjustment), with speed of response falling with it, and only luxury
    now = data.current("metrics").set_index(["segment", "metric"])
    assert now.loc[("luxury", "nps"), "significant"] and now.loc[("luxury", "nps"), "change"] < -8
    assert now.loc[("luxury", "attr:response_speed"), "change"] < -5
    others = [s for s in ("premium", "private") if (s, "nps") in now.index]
    assert not any(now.loc[(s, "nps"), "significant"] for s in others)
    assert "Luxury" in vq.pages.highlights(data) and "NPS fell" in vq.pages.highlights(data)

    # the agenda: its first item addresses the luxury decline in speed of response
    a = data.agenda
    first = a.iloc[0]
    assert (first["rank"], first["gate"]) == (1, "act")
    assert "Speed of response" in first["attributes"] and "Luxury" in first["segments"]
    assert first["impact_segment"] == "Luxury" and first["impact_low"] > 0
    assert a["rank"].tolist() == list(range(1, len(a) + 1))
    # one proposal per standard and action, fewer than the per-segment detail
    assert not a.duplicated(["standard_id", "action"]).any() and len(a) < len(data.proposals)
    # nothing acts on a compliance gap that is not significant (e.g. luxury S01: the interval
    # reaches the target), read from the scorecard's interval columns whatever their method
    acts = data.proposals[(data.proposals["action"] == "reinforce")
                          & (data.proposals["gate"] == "act")]
    card = sc.set_index(["segment", "standard_id"])
    for seg, sid in zip(acts["segment"], acts["standard_id"]):
        assert card.loc[(seg, sid), "ci_high"] < card.loc[(seg, sid), "target"]
    s01 = data.proposals[(data.proposals["segment"] == "luxury")
                         & (data.proposals["standard_id"] == "S01")]
    if card.loc[("luxury", "S01"), "ci_high"] >= card.loc[("luxury", "S01"), "target"]:
        assert set(s01["gate"]) <= {"watch"}
    # the acting segments of each action are exactly its detail rows gated "act"
    labels = dict(zip(data.segments["segment"], data.segments["label"]))
    for r in a[a["gate"] == "act"].itertuples():
        rows = data.proposals[(data.proposals["standard_id"] == r.standard_id)
                              & (data.proposals["action"] == r.action)
                              & (data.proposals["gate"] == "act")]
        assert r.segments == ", ".join(dict.fromkeys(rows["segment"].map(labels)))
    # the index's agenda shows the same first item and no client id
    top = vq.pages.agenda_top(data)
    assert top.index("Deadlines") < top.index("2.") and "C0" not in top


# --------------------------------------------------------------------------------------------
# overall satisfaction as an outcome: evidence in the scorecard and the proposals


def test_overall_satisfaction_weights_are_evidence_not_rules():
    cat = catalogue(("S1", ("a", "b")))
    overall = drivers({"a": (10.0, 60.0), "b": (50.0, 80.0), "c": (20.0, 80.0),
                       "d": (20.0, 60.0)})
    sc = card({"standard_id": "S1", "compliance": 80.0})
    plain = propose(sc, drivers(), metrics(), cat)
    p = propose(sc, drivers(), metrics(), cat, drivers_overall=overall)
    pd.testing.assert_frame_equal(p.drop(columns=["weight_overall", "reason"]),
                                  plain.drop(columns=["weight_overall", "reason"]))
    assert list(p["weight_overall"]) == [10.0, 50.0] and plain["weight_overall"].isna().all()
    assert "10.0% of the overall-satisfaction drivers" in p["reason"].iloc[0]
    assert "overall" not in plain["reason"].iloc[0]
    assert list(p.columns) == PROPOSAL_COLUMNS


def test_scorecard_sums_overall_weights_when_the_report_has_them():
    cat = catalogue(("S1", ("a", "b")))
    rows = [{"quarter": Q, "segment": "all", "standard_id": "S1", "n": 200, "n_effective": 200,
             "value": 80.0, "ci_low": 75.0, "ci_high": 85.0, "se": 3.0, "title": "S1",
             "target": 90.0, "attributes": "a, b", "version": 1}]
    data = report(pd.DataFrame(rows))
    assert np.isnan(scorecard(data, cat)["weight_overall"].iloc[0])
    data.drivers_overall = drivers({"a": (15.0, 60.0), "b": (25.0, 80.0), "c": (30.0, 80.0),
                                    "d": (30.0, 60.0)})
    sc = scorecard(data, cat)
    assert sc["weight_overall"].iloc[0] == 40 and sc["weight"].iloc[0] == 70
    assert list(sc.columns) == SCORECARD_COLUMNS


# --------------------------------------------------------------------------------------------
# the ordinal cross-check (vipquality.metrics.drivers.ordinal_check)

from vipquality.errors import DataError  # noqa: E402
from vipquality.metrics.drivers import DRIVER_COLUMNS, key_drivers, ordinal_check, relative_weights  # noqa: E402  # noqa: E402

BETA = {"speed": 1.2, "competence": 0.8, "respect": 0.4, "digital": 0.0}


def ordinal_data(n: int = 1200, seed: int = 5, beta: dict = BETA, cuts=(-2, -1, 0, 1, 2)):
    """Correlated attributes; y from a proportional-odds logit with coefficients ``beta``."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=n)
    X = pd.DataFrame({a: 0.5 * common + rng.normal(size=n) for a in beta})
    latent = sum(b * X[a] for a, b in beta.items()) + rng.logistic(size=n)
    return X, pd.Series(np.digitize(latent, cuts), name="y")


def test_ordinal_check_recovers_planted_coefficients_and_order():
    X, y = ordinal_data()
    out = ordinal_check(X, y)
    assert list(out["attribute"]) == list(BETA)
    for a, b in BETA.items():
        row = out.set_index("attribute").loc[a]
        assert abs(row["coef"] - b) < 3 * row["se"], a
    assert list(out["rank"]) == [1, 2, 3, 4] and list(out["rw_rank"]) == [1, 2, 3, 4]
    assert out.attrs["fitted"] and out.attrs["agrees"] and out.attrs["same_top"]
    assert out.attrs["n"] == 1200 and out.attrs["n_params"] == 4 + 5
    rw = relative_weights(X, y)
    assert out["rescaled"].to_numpy() == pytest.approx(rw["rescaled"].to_numpy())
    rho = stats_spearman(out["std_coef"], rw["rescaled"])
    assert out.attrs["spearman"] == pytest.approx(rho)
    assert out["std_coef"].to_numpy() == pytest.approx(
        out["coef"].to_numpy() * X.std(ddof=1).to_numpy())
    assert out.loc[3, "p_value"] > 0.01 and out.loc[0, "p_value"] < 1e-6


def test_ordinal_check_intervals_cover_the_planted_coefficients():
    truth = np.array(list(BETA.values()))
    covered = [((o["ci_low"] <= truth) & (truth <= o["ci_high"])).mean()
               for o in (ordinal_check(*ordinal_data(n=500, seed=200 + s)) for s in range(25))]
    assert np.mean(covered) >= 0.88


def stats_spearman(a, b) -> float:
    from scipy import stats

    return float(stats.spearmanr(a, b).statistic)


def test_ordinal_check_matches_statsmodels_on_the_raw_scale():
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    X, y = ordinal_data(n=600, seed=6)
    out = ordinal_check(X, y)
    ref = OrderedModel(y.to_numpy(), X.to_numpy(), distr="logit").fit(method="bfgs",
                                                                      disp=False, maxiter=2000)
    assert out["coef"].to_numpy() == pytest.approx(np.asarray(ref.params)[:4], rel=1e-3,
                                                   abs=1e-4)
    assert out["se"].to_numpy() == pytest.approx(np.asarray(ref.bse)[:4], rel=1e-2)


def test_ordinal_check_only_where_the_base_allows():
    X, y = ordinal_data(n=85, seed=7)  # 9 parameters -> 90 rows needed
    out = ordinal_check(X, y)
    assert not out.attrs["fitted"] and out["coef"].isna().all()
    assert out.attrs["n_required"] == 90 and "base too small" in out.attrs["note"]
    assert out["rescaled"].notna().all()  # the relative weights are still there
    assert ordinal_check(X, y, min_per_parameter=5).attrs["fitted"]
    with pytest.raises(ValueError, match="min_per_parameter"):
        ordinal_check(X, y, min_per_parameter=0)
    with pytest.raises(DataError, match="constant"):
        ordinal_check(X.assign(digital=1.0), y)


def test_ordinal_check_missing_rows_dropped_as_for_relative_weights():
    X, y = ordinal_data(n=400, seed=8)
    X.iloc[:50, 0] = np.nan
    out = ordinal_check(X, y)
    assert out.attrs["n"] == 350 == relative_weights(X, y).attrs["n"]


# --------------------------------------------------------------------------------------------
# key drivers per segment on the NPS item and on overall satisfaction


def survey(n_by_segment: dict[str, int], seed: int = 9) -> pd.DataFrame:
    """Responses on the sample instrument's attributes: NPS driven mostly by speed of
    response, overall satisfaction mostly by competence (planted)."""
    from vipquality.config import load_workspace

    ids = load_workspace().instrument.attribute_ids
    rng = np.random.default_rng(seed)
    frames = []
    for segment, n in n_by_segment.items():
        common = rng.normal(size=n)
        z = {a: 0.4 * common + rng.normal(size=n) for a in ids}
        graded = (1.0, 0.7, 0.5, 0.35, 0.25, 0.15, 0.08, 0.0)
        nps_beta = dict(zip(["response_speed", "competence",
                             *[a for a in ids if a not in ("response_speed", "competence")]],
                            graded))
        ovr_beta = dict(zip(["competence", "promises_kept",
                             *[a for a in ids if a not in ("competence", "promises_kept")]],
                            graded))
        nps = sum(b * z[a] for a, b in nps_beta.items()) + rng.normal(0, 0.6, n)
        ovr = sum(b * z[a] for a, b in ovr_beta.items()) + rng.normal(0, 0.6, n)
        frame = pd.DataFrame({f"sat__{a}": np.clip(np.rint(6 + 1.5 * z[a]), 1, 10)
                              for a in ids})
        frame["nps"] = np.clip(np.rint(7 + 1.2 * nps), 0, 10)
        frame["overall"] = np.clip(np.rint(7 + 1.2 * ovr), 1, 10)
        frame["segment"], frame["quarter"] = segment, Q
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_key_drivers_per_outcome_recover_the_planted_order():
    from vipquality.config import load_workspace

    ws = load_workspace()
    answers = survey({"luxury": 400, "all": 800, "premium": 120, "private": 20})
    nps = key_drivers(answers, ws, outcome="nps", n_boot=100)
    ovr = key_drivers(answers, ws, outcome="overall", n_boot=100)
    assert list(nps.columns) == DRIVER_COLUMNS
    # segment order of the workspace (all first); private under the base is left out
    assert list(dict.fromkeys(nps["segment"])) == ["all", "premium", "luxury"]
    for seg in ("all", "luxury"):
        n_top = nps[nps["segment"] == seg].nsmallest(2, "rw_rank")["attribute"].tolist()
        o_top = ovr[ovr["segment"] == seg].nsmallest(2, "rw_rank")["attribute"].tolist()
        assert n_top == ["response_speed", "competence"], seg
        assert o_top == ["competence", "promises_kept"], seg
        assert nps.loc[nps["segment"] == seg, "ord_agrees"].all()
        assert nps.loc[(nps["segment"] == seg) & (nps["attribute"] == "response_speed"),
                       "ord_rank"].item() == 1
    assert set(nps["outcome"]) == {"nps"} and set(ovr["outcome"]) == {"overall"}
    # premium: 120 answers, enough for the weights, not for the ordinal model
    prem = nps[nps["segment"] == "premium"]
    assert prem["ord_coef"].isna().all() and prem["ord_note"].str.contains("base").all()
    assert prem["ord_agrees"].isna().all()
    # the weights are relative_weights' on the segment's complete answers
    lux = answers[answers["segment"] == "luxury"]
    cols = [f"sat__{a}" for a in ws.instrument.attribute_ids]
    rw = relative_weights(lux[cols], lux["nps"], n_boot=100, seed=0)
    got = nps[nps["segment"] == "luxury"]
    assert got["rescaled"].to_numpy() == pytest.approx(rw["rescaled"].to_numpy())
    assert got["ci_low"].to_numpy() == pytest.approx(rw["ci_low"].to_numpy())
    perf = 100 * (lux["sat__competence"].mean() - 1) / 9
    assert got.set_index("attribute").loc["competence", "performance"] == pytest.approx(perf)


def test_key_drivers_options_and_errors():
    from vipquality.config import load_workspace

    ws = load_workspace()
    answers = survey({"all": 300})
    quiet = key_drivers(answers, ws, n_boot=0, ordinal=False)
    assert quiet["ci_low"].isna().all() and quiet["ord_coef"].isna().all()
    assert key_drivers(answers.drop(columns="segment"), ws, n_boot=0)["segment"].eq(
        "all").all()
    assert key_drivers(answers, ws, quarter="1999Q1", n_boot=0).empty
    with pytest.raises(ValueError, match="outcome"):
        key_drivers(answers, ws, outcome="ces")
    with pytest.raises(DataError, match="overall"):
        key_drivers(answers.drop(columns="overall"), ws, outcome="overall")
