"""Follow-up cases (issue 14): cases.yaml, opening cases, SLA on the working-day calendar,
consent, the case_updates file, the loop metrics, the restricted case lists and the alerts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vipquality.config import load_workspace
from vipquality.errors import ConfigError
from vipquality.paths import SAMPLE_WORKSPACE

CONFIG = ("workspace.yaml", "instrument.yaml", "segments.yaml", "standards.yaml", "cases.yaml")


def _config_copy(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    for name in CONFIG:
        shutil.copy(SAMPLE_WORKSPACE / name, root / name)
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


# ------------------------------------------------------------------------------------ cases.yaml
def test_sample_case_rules():
    rules = load_workspace().cases
    assert (rules.sla("Private"), rules.sla("Luxury"), rules.sla("Premium")) == (1, 2, 3)
    assert rules.sla("Gold") == 3 and rules.sla(None) == 3  # default
    assert str(rules.rule("Premium")) == "nps ≤ 6 or ces ≤ 3 or overall ≤ 2"
    assert str(rules.rule("Private")) == "nps ≤ 7 or ces ≤ 3 or overall ≤ 3"
    assert rules.weekmask == "1111100" and len(rules.holidays) > 10
    assert "speed" in rules.root_causes and rules.consent_column == "contact_consent"
    assert rules.contact_target == 90.0


def test_default_rule_follows_the_instrument_scales(tmp_path):
    root = _config_copy(tmp_path)
    text = (root / "cases.yaml").read_text(encoding="utf-8")
    start, end = text.index("open_when:"), text.index("tier_field:")
    (root / "cases.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    # CES 1–7: difficult is 1–3; overall 1–10: the bottom quarter is 1–3
    assert str(load_workspace(root).cases.open_when) == "nps ≤ 6 or ces ≤ 3 or overall ≤ 3"


def test_a_workspace_without_cases_opens_none(tmp_path):
    root = _config_copy(tmp_path)
    _edit(root / "workspace.yaml", "cases: cases.yaml", "")
    assert load_workspace(root).cases is None


BROKEN = {
    "unknown answer": ("{field: nps, le: 6}", "{field: nsp, le: 6}",
                       "open_when.any[0].field", ["expected an answer the instrument has",
                                                  "did you mean 'nps'"]),
    "unknown weekday": ("[Mon, Tue, Wed, Thu, Fri]", "[Mon, Tue, Wed, Thu, Fry]",
                        "calendar.working_days[4]", ["expected one of Mon"]),
    "bad holiday": ("holidays: [2024-11-04,", "holidays: [2024-11-31,",
                    "calendar.holidays[0]", ["real calendar date"]),
    "negative sla": ("  Luxury: 2\n", "  Luxury: -2\n", "sla.Luxury", ["whole number"]),
    "duplicate code": ("{code: other, label: Other}", "{code: speed, label: Other}",
                       "root_causes[7].code", ["unique root-cause code", "'speed' twice"]),
    "consent reuses a column": ("column: contact_consent", "column: Q1_recommend",
                                "consent.column", ["not used by instrument.yaml"]),
    "target above 100": ("contact_target: 90", "contact_target: 190", "contact_target",
                         ["a share in %", "190"]),
    "unknown key": ("tier_field: tier", "tier_feld: tier", "tier_feld", ["unknown key"]),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_a_malformed_cases_yaml_names_file_and_key(tmp_path, case):
    old, new, key, fragments = BROKEN[case]
    root = _config_copy(tmp_path)
    _edit(root / "cases.yaml", old, new)
    with pytest.raises(ConfigError) as info:
        load_workspace(root)
    err = info.value
    assert Path(err.file).name == "cases.yaml" and err.key == key, str(err)
    for fragment in fragments:
        assert fragment in str(err), str(err)


def test_tier_field_must_be_a_crm_column(tmp_path):
    root = _config_copy(tmp_path)
    _edit(root / "cases.yaml", "tier_field: tier", "tier_field: level")
    with pytest.raises(ConfigError, match="tier_field: expected a client column"):
        load_workspace(root)


# ------------------------------------------------------------------------------ opening cases
import datetime as dt  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from vipquality.data.cases import CASE_COLUMNS, due_dates, open_cases, working_days  # noqa: E402


@pytest.fixture(scope="module")
def rules():
    return load_workspace().cases


def _responses(rows):
    """rows: (response_id, client_id, nps, ces, overall, consent, submitted)"""
    ids, clients, nps, ces, overall, consent, when = zip(*rows)
    return pd.DataFrame({"quarter": "2026Q2", "response_id": ids, "client_id": clients,
                         "submitted_at": pd.to_datetime(when),
                         "nps": pd.array(nps, dtype="Int8"), "ces": pd.array(ces, dtype="Int8"),
                         "overall": pd.array(overall, dtype="Int8"),
                         "comment": ["[name] was late"] * len(ids),
                         "consent": pd.array(consent, dtype="boolean")})


CRM = pd.DataFrame({"client_id": ["P1", "L1", "V1", "X1"],
                    "tier": ["Premium", "Luxury", "Private", None],
                    "manager_id": ["M1", "M2", "M3", "M1"], "branch": ["B1", "B1", "B2", "B1"]})


def test_case_rules_by_tier(rules):
    r = _responses([
        ("r01", "P1", 6, 7, 10, True, "2026-04-06"),     # detractor: opens
        ("r02", "P1", 7, 7, 10, True, "2026-04-06"),     # Premium passive: no case
        ("r03", "V1", 7, 7, 10, True, "2026-04-06"),     # Private passive: opens (tier rule)
        ("r04", "V1", 8, 7, 3, True, "2026-04-06"),      # Private overall 3: opens
        ("r05", "L1", 8, 7, 3, True, "2026-04-06"),      # Luxury overall 3: no case (≤ 2)
        ("r06", "L1", 9, 3, 10, True, "2026-04-06"),     # CES 3: difficult, opens
        ("r07", "L1", 9, 4, 10, True, "2026-04-06"),     # CES 4: not difficult
        ("r08", "X1", 0, None, None, True, "2026-04-06"),  # no tier: default rule
        ("r09", "L1", 9, None, None, True, "2026-04-06"),  # missing answers never open one
    ])
    cases = open_cases(r, CRM, rules)
    assert list(cases.columns) == CASE_COLUMNS
    assert cases["response_id"].tolist() == ["r01", "r03", "r04", "r06", "r08"]
    assert cases["case_id"].tolist() == ["C-r01", "C-r03", "C-r04", "C-r06", "C-r08"]
    assert cases.loc[0, ["tier", "manager_id", "branch", "nps"]].tolist() == \
        ["Premium", "M1", "B1", 6]
    assert cases["sla_days"].tolist() == [3, 1, 1, 2, 3]
    # deterministic: the same responses in another order open the same cases
    again = open_cases(r.iloc[::-1], CRM, rules)
    pd.testing.assert_frame_equal(cases, again)


def test_sla_due_dates_on_the_working_day_calendar(rules):
    def due(day, tier):
        return str(due_dates([day], [tier], rules)[0])
    assert due("2026-04-06", "Private") == "2026-04-07"      # Monday + 1
    assert due("2026-04-10", "Private") == "2026-04-13"      # Friday + 1 = Monday
    assert due("2026-04-11", "Private") == "2026-04-14"      # Saturday counts from Monday
    assert due("2026-04-10", "Premium") == "2026-04-15"      # Friday + 3
    assert due("2026-04-30", "Luxury") == "2026-05-05"       # 1 May is a holiday
    assert due("2026-05-08", "Private") == "2026-05-12"      # 11 May is a holiday
    assert due("2026-04-06", "Gold") == "2026-04-09"         # unknown tier: default 3
    # working days between dates: same day 0, over a weekend, over a holiday, missing
    got = working_days(["2026-04-06", "2026-04-10", "2026-04-30", "2026-04-06"],
                       ["2026-04-06", "2026-04-13", "2026-05-04", None], rules)
    np.testing.assert_array_equal(got, [0, 1, 1, np.nan])


def test_due_dates_follow_the_configured_calendar(tmp_path):
    root = _config_copy(tmp_path)
    _edit(root / "cases.yaml", "working_days: [Mon, Tue, Wed, Thu, Fri]",
          "working_days: [Sun, Mon, Tue, Wed, Thu]")
    r = load_workspace(root).cases
    assert r.weekmask == "1111001"
    assert str(due_dates(["2026-04-09"], ["Private"], r)[0]) == "2026-04-12"  # Thu -> Sun


def test_without_consent_a_case_keeps_no_client_id(rules):
    r = _responses([("a", "P1", 3, 7, 10, True, "2026-04-06"),
                    ("b", "P1", 3, 7, 10, False, "2026-04-06"),
                    ("c", "L1", 3, 7, 10, None, "2026-04-06")])   # blank answer: no consent
    cases = open_cases(r, CRM, rules)
    assert cases["consent"].tolist() == [True, False, False]
    assert cases["client_id"].isna().tolist() == [False, True, True]
    assert cases["branch"].tolist() == ["B1", "B1", "B1"]  # kept for the branch's learning
    # a workspace without a consent item may follow every case up
    import dataclasses
    free = dataclasses.replace(rules, consent_column=None)
    assert open_cases(r.drop(columns="consent"), CRM, free)["client_id"].notna().all()


def test_open_cases_does_not_change_its_inputs(rules):
    r = _responses([("a", "P1", 3, 7, 10, True, "2026-04-06")])
    before_r, before_c = r.copy(), CRM.copy()
    open_cases(r, CRM, rules, pd.DataFrame({"client_id": ["P1"], "segment": ["premium"]}))
    pd.testing.assert_frame_equal(r, before_r)
    pd.testing.assert_frame_equal(CRM, before_c)


# --------------------------------------------------------------------- ingest of case_updates
from vipquality.data.ingest import ingest_quarter  # noqa: E402
from vipquality.data.store import load_responses  # noqa: E402

SURVEY_HEAD = ",".join([c for c in (SAMPLE_WORKSPACE / "2026Q3" / "survey.csv").read_text(
    encoding="utf-8").splitlines()[0].split(",") if c != "contact_consent"] + ["contact_consent"])
CLIENTS_HEAD = ("client_id,full_name,email,phone,address,client_type,tier,manager_id,branch,"
                "lifetime_value,purchases_12m,last_transaction,products,revenue,balance,"
                "avg_monthly_spend_3m,lines,household_id")


def _survey_row(rid, client, when, nps, ces, overall, consent, comment=""):
    n = len(SURVEY_HEAD.split(","))
    cells = [rid, client, when, str(nps), str(ces), str(overall)] + [""] * (n - 8) + \
        [f'"{comment}"' if comment else "", consent]
    return ",".join(cells)


def _client_row(cid, name, tier, manager, branch):
    return (f"{cid},{name},x@example.org,+7 900 000-00-00,Moscow,individual,{tier},{manager},"
            f"{branch},1000000,3,2026-03-01,cards,,5000000,5000,2,H{cid}")


def _tiny_workspace(tmp_path: Path) -> Path:
    """Two quarters, four clients of two managers; detractor responses open cases."""
    root = _config_copy(tmp_path)
    shutil.copy(SAMPLE_WORKSPACE / "staff.csv", root / "staff.csv")
    clients = [_client_row("K1", "Anna Orlova", "Premium", "M001", "B01"),
               _client_row("K2", "Boris Lebedev", "Private", "M001", "B01"),
               _client_row("K3", "Clara Volkova", "Luxury", "M002", "B01"),
               _client_row("K4", "Denis Sokolov", "Premium", "M002", "B02")]
    for q, month in (("2026Q1", "02"), ("2026Q2", "05")):
        d = root / q
        d.mkdir()
        (d / "clients.csv").write_text("\n".join([CLIENTS_HEAD, *clients]) + "\n",
                                       encoding="utf-8")
        p = q[-2:]
        rows = [_survey_row(f"R{p}-1", "K1", f"2026-{month}-04 10:00", 3, 5, 5, "yes",
                            "Anna Orlova waited, call +7 916 123-45-67"),
                _survey_row(f"R{p}-2", "K2", f"2026-{month}-05 10:00", 7, 6, 8, "yes"),
                _survey_row(f"R{p}-3", "K3", f"2026-{month}-06 10:00", 2, 2, 2, "no"),
                _survey_row(f"R{p}-4", "K4", f"2026-{month}-06 10:00", 10, 7, 10, "yes")]
        (d / "survey.csv").write_text("\n".join([SURVEY_HEAD, *rows]) + "\n", encoding="utf-8")
    return root


UPDATES_HEAD = "case_id,status,date,root_cause,note"


def _updates(root: Path, q: str, rows: list[str], name: str = "case_updates.csv") -> Path:
    path = root / q / name
    path.write_text("\n".join([UPDATES_HEAD, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def tiny(tmp_path):
    root = _tiny_workspace(tmp_path)
    ws = load_workspace(root)
    ingest_quarter(ws, "2026Q1")
    return root


def test_consent_is_stored_and_cases_open_from_the_store(tiny):
    ws = load_workspace(tiny)
    r = load_responses(ws, "2026Q1")
    assert r["consent"].tolist() == [True, True, False, True]
    from vipquality.data.cases import load_cases
    cases = load_cases(ws, "2026Q1")
    assert cases["case_id"].tolist() == ["C-RQ1-1", "C-RQ1-2", "C-RQ1-3"]
    assert cases["client_id"].tolist()[:2] == ["K1", "K2"] and pd.isna(cases["client_id"][2])
    # the comment was scrubbed at ingest: neither the name nor the phone is in the case
    assert "Orlova" not in cases["comment"][0] and "916" not in cases["comment"][0]


def test_ingest_of_case_updates_good_duplicate_unknown_and_out_of_order(tiny):
    ws = load_workspace(tiny)
    _updates(tiny, "2026Q1", [
        "C-RQ1-1,resolved,2026-02-10,speed,Called Anna Orlova at +7 916 123-45-67; fixed",
        "C-RQ1-1,contacted,2026-02-05,,left a message",       # earlier date, later in the file
        "C-RQ1-2,contacted,2026-02-05,,",
        "C-RQ1-9,contacted,2026-02-05,,",                      # unknown case
        "C-RQ1-2,resolved,2026-01-30,other,",                  # before the case opened
        "C-RQ1-3,closed,2026-02-05,,",                          # not a status
        "C-RQ1-3,resolved,2026-02-07,weather,",                 # not a root-cause code
        "C-RQ1-2,contacted,2026-02-05,,",                       # duplicate within the file
    ])
    res = ingest_quarter(ws, "2026Q1")
    c = res.tables["case_updates"]
    assert (c.read, c.accepted, c.duplicates, c.rejected) == (8, 3, 1, 4) and c.reconciles
    reasons = " | ".join(res.rejects["reason"])
    assert "case 'C-RQ1-9' is unknown" in reasons
    assert "before case C-RQ1-2 opened on 2026-02-05" in reasons
    assert "'closed' is not a case status" in reasons
    assert "'weather' is not a root-cause code" in reasons
    rejects = (ws.store_path / "rejects" / "2026Q1.csv").read_text(encoding="utf-8")
    assert "C-RQ1-9" in rejects and "is unknown" in rejects
    from vipquality.data.store import load_case_updates
    stored = load_case_updates(ws, "2026Q1")
    assert len(stored) == 3
    note = stored.loc[stored["status"] == "resolved", "note"].iloc[0]
    assert "Orlova" not in note and "916" not in note and "fixed" in note
    # idempotent: the same file again changes nothing, counts every row as before
    again = ingest_quarter(ws, "2026Q1")
    assert not again.changed
    c2 = again.tables["case_updates"]
    assert (c2.accepted, c2.duplicates, c2.rejected) == (0, 4, 4)
    # a second file: one update re-sent (a duplicate, not applied twice), one new
    _updates(tiny, "2026Q1", ["C-RQ1-2,contacted,2026-02-05,,",
                              "C-RQ1-2,resolved,2026-02-06,pricing,"], "case_updates_2.csv")
    third = ingest_quarter(ws, "2026Q1")
    c3 = third.tables["case_updates"]
    assert (c3.read, c3.accepted) == (10, 1)
    assert len(load_case_updates(ws, "2026Q1")) == 4


def test_case_updates_of_a_later_quarter_reach_earlier_cases(tiny):
    ws = load_workspace(tiny)
    _updates(tiny, "2026Q2", ["C-RQ1-1,contacted,2026-04-02,,",      # a Q1 case, updated in Q2
                              "C-RQ2-1,contacted,2026-05-04,,"])
    res = ingest_quarter(ws, "2026Q2")
    assert res.tables["case_updates"].accepted == 2


# ------------------------------------------------------------------------------- loop metrics
from vipquality.data.cases import case_status  # noqa: E402
from vipquality.metrics.loop import (  # noqa: E402
    RECOVERY_CAVEAT,
    by_segment,
    loop_summary,
    recovery,
    root_causes,
)


def _hand_cases():
    return pd.DataFrame({
        "case_id": ["C-1", "C-2", "C-3", "C-4", "C-5"],
        "consent": [True, True, True, True, False],
        "manager_id": ["M1", "M1", "M2", "M2", "M2"], "branch": "B1",
        "segments": ["premium", "premium;lapsing", "luxury", "luxury", "luxury"],
        "opened": pd.to_datetime(["2026-04-06"] * 5),           # Monday
        "due": pd.to_datetime(["2026-04-07"] * 5)})             # SLA 1 day


def _hand_updates():
    return pd.DataFrame({
        "case_id": ["C-1", "C-1", "C-2", "C-3", "C-3", "C-9"],
        "status": ["resolved", "contacted", "unreachable", "contacted", "escalated", "contacted"],
        "date": pd.to_datetime(["2026-04-09", "2026-04-07", "2026-04-07", "2026-04-10",
                                "2026-04-10", "2026-04-07"]),
        "root_cause": ["pricing", None, None, None, None, None]})


def test_case_status_reads_the_history_in_date_order(rules):
    s = case_status(_hand_cases(), _hand_updates(), rules, dt.date(2026, 4, 20)).set_index(
        "case_id")
    assert s["status"].tolist() == ["resolved", "unreachable", "escalated", "open", "open"]
    assert s.loc["C-1", "first_contact"] == pd.Timestamp("2026-04-07")  # the earlier row
    # working days: Mon -> Tue 1, Mon -> Fri 4; unreachable is no contact
    np.testing.assert_array_equal(s["days_to_contact"], [1.0, np.nan, 4.0, np.nan, np.nan])
    assert s["contacted_in_sla"].tolist()[:4] == [True, False, False, False]
    assert pd.isna(s.loc["C-5", "contacted_in_sla"])        # no consent: nobody calls
    assert s["overdue"].tolist() == [False, True, False, True, False]
    assert s.loc["C-1", "root_cause"] == "pricing" and s["resolved"].sum() == 1
    # as of an earlier day the later updates are not known yet
    early = case_status(_hand_cases(), _hand_updates(), rules, dt.date(2026, 4, 8))
    assert early.set_index("case_id").loc["C-1", "status"] == "contacted"
    # on the due day a case not contacted yet is undecided, neither within nor outside the SLA
    due_day = case_status(_hand_cases(), _hand_updates(), rules, dt.date(2026, 4, 7))
    assert due_day["contacted_in_sla"].isna().tolist() == [False, True, True, True, True]
    assert not due_day["overdue"].any()
    m = loop_summary(due_day, ["manager_id"]).set_index("manager_id")
    assert m.loc["M1", ["followed_up", "decided", "contacted_in_sla"]].tolist() == [2, 1, 1]
    assert m.loc["M1", "contact_share"] == 100.0


def test_loop_summary_by_manager_and_segment(rules):
    s = case_status(_hand_cases(), _hand_updates(), rules, dt.date(2026, 4, 20))
    m = loop_summary(s, ["manager_id"]).set_index("manager_id")
    assert m.loc["M1", ["opened", "followed_up", "contacted_in_sla", "resolved", "overdue"]
                 ].tolist() == [2, 2, 1, 1, 1]
    assert m.loc["M1", "contact_share"] == 50.0
    # Wilson 1/2 at 95 %: 9.45 % to 90.55 %
    assert m.loc["M1", ["ci_low", "ci_high"]].round(2).tolist() == [9.45, 90.55]
    assert m.loc["M2", ["opened", "followed_up", "contacted_in_sla"]].tolist() == [3, 2, 0]
    assert m.loc["M1", "top_root_causes"] == "pricing 1"
    seg = loop_summary(by_segment(s), ["segment"]).set_index("segment")
    assert seg.loc["all", "opened"] == 5 and seg.loc["luxury", "opened"] == 3
    assert seg.loc["lapsing", "opened"] == 1


def test_root_causes_ranked():
    s = pd.DataFrame({"branch": ["B1"] * 5 + ["B2"],
                      "resolved": [True, True, True, True, False, True],
                      "root_cause": ["speed", "pricing", "pricing", None, "speed", "office"]})
    r = root_causes(s, ["branch"], {"pricing": "Fees"})
    assert r[["branch", "rank", "root_cause", "label", "n"]].values.tolist() == [
        ["B1", 1, "pricing", "Fees", 2], ["B1", 2, "speed", "speed", 1],
        ["B2", 1, "office", "office", 1]]
    assert r["share"].round(1).tolist() == [66.7, 33.3, 100.0]


def test_recovery_on_a_hand_built_example():
    # last quarter's detractor cases: 4 resolved, 4 not (one without consent); one passive case
    prev = pd.DataFrame({"client_id": list("abcdefghi"),
                         "nps": [0, 3, 6, 5, 2, 4, 6, 1, 8],
                         "resolved": [True, True, True, True, False, False, False, False, True]})
    # this quarter: a, b, c recovered (7, 9, 10), d did not; e recovered; f, g did not;
    # h did not answer again; i was no detractor
    now = pd.DataFrame({"client_id": list("abcdefgi"), "nps": [7, 9, 10, 6, 8, 2, 5, 10]})
    r = recovery(prev, now).set_index("group")
    assert r.loc["followed up", ["answered_again", "recovered"]].tolist() == [4, 3]
    assert r.loc["not followed up", ["answered_again", "recovered"]].tolist() == [3, 1]
    assert r.loc["followed up", "share"] == 75.0
    assert round(r.loc["not followed up", "share"], 2) == 33.33
    assert round(r["difference"].iloc[0], 2) == 41.67
    # Wilson 3/4: 30.06 % to 95.44 %
    assert r.loc["followed up", ["ci_low", "ci_high"]].round(2).tolist() == [30.06, 95.44]
    assert "Not randomised" in RECOVERY_CAVEAT


# ---------------------------------------------------------------------- the executive section
def _loop_data(seg: pd.DataFrame, rec: pd.DataFrame | None = None):
    from types import SimpleNamespace
    return SimpleNamespace(
        quarter="2026Q2", previous="2026Q1", thresholds={"base_suppress": 30, "base_small": 100},
        settings={"contact_target": 90.0},
        segments=pd.DataFrame({"segment": ["all", "premium"], "label": ["All VIP clients",
                                                                        "Premium"]}),
        loop_segments=seg, loop_recovery=rec if rec is not None else pd.DataFrame())


def test_loop_health_hides_small_bases_and_names_no_one():
    from vipquality.report.pages.loop import loop_health, loop_recovery
    seg = pd.DataFrame({"segment": ["all", "premium"], "opened": [80, 12],
                        "followed_up": [70, 10], "contacted_in_sla": [63, 9],
                        "contact_share": [90.0, 90.0], "ci_low": [80.8, 59.6],
                        "ci_high": [95.1, 98.2], "median_days_to_contact": [1.0, 2.0],
                        "resolved": [40, 5], "overdue": [3, 1],
                        "top_root_causes": ["pricing 9, speed 4", "speed 2"]})
    page = loop_health(_loop_data(seg))
    assert "<td>90 [81–95]</td>" in page
    assert "<td>n&lt;30</td>" in page and "[60–98]" not in page  # premium: 10 cases, hidden
    assert "Target: 90 % within the SLA" in page
    rec = recovery(pd.DataFrame({"client_id": list("ab"), "nps": [3, 4],
                                 "resolved": [True, False]}),
                   pd.DataFrame({"client_id": list("ab"), "nps": [9, 2]}))
    text = loop_recovery(_loop_data(seg, rec))
    assert "fewer than 30: no share shown" in text and "Not randomised" in text


# ------------------------------------------------------------------ restricted case lists
def test_each_manager_gets_only_their_own_clients(tiny, tmp_path):
    from vipquality.data.privacy import find_personal_data
    from vipquality.report.pages.cases import write_case_lists
    from vipquality.standards.cases import loop_tables

    ws = load_workspace(tiny)
    ingest_quarter(ws, "2026Q2")
    tables_ = loop_tables(ws, "2026Q2", "2026Q1")
    files = write_case_lists(ws, "2026Q2", tmp_path / "restricted", tables_["loop_managers"])
    cases = tmp_path / "restricted" / "cases"
    assert {p.name for p in files} >= {"M001.csv", "M001.html", "branch-B01.csv",
                                       "branch-B01.html", "managers.csv"}
    m1 = pd.read_csv(cases / "M001.csv")
    # M001 serves K1 (detractor) and K2 (Private passive: a case by the tier rule)
    # both overdue (no update in Q2), so by due date: Private 1 day, Premium 3 days
    assert m1["client_id"].tolist() == ["K2", "K1"]
    assert m1["client_name"].tolist() == ["Boris Lebedev", "Anna Orlova"]
    assert m1["due"].tolist() == ["2026-05-06", "2026-05-07"] and m1["overdue"].all()
    # M002's only case is K3's, without consent: no list for M002, and K3 appears nowhere
    # with an id or a name
    assert not (cases / "M002.csv").exists()
    for other in ("K3", "Clara Volkova", "K4", "Denis Sokolov"):
        assert [str(f) for f in find_personal_data(cases / "M001.html", [other],
                                                   contacts=False)] == []
        assert other not in (cases / "M001.csv").read_text(encoding="utf-8")
    branch = pd.read_csv(cases / "branch-B01.csv")
    k3 = branch[branch["case_id"] == "C-RQ2-3"]
    assert len(k3) == 1 and k3["client_id"].isna().all() and k3["client_name"].isna().all()
    # comments were masked at ingest: no phone, no e-mail in any list
    assert [str(f) for f in find_personal_data(cases, [])] == []
    # the executive aggregates name no client and no manager
    for name in ("loop_segments", "loop_branches", "loop_causes", "loop_recovery"):
        text = tables_[name].to_csv(index=False)
        for secret in ("K1", "K2", "K3", "Anna", "Orlova", "M001", "M002"):
            assert secret not in text, (name, secret)


def test_case_lists_sort_overdue_first_then_by_due_date():
    from vipquality.standards.cases import case_list
    s = pd.DataFrame({"case_id": ["a", "b", "c", "d"], "manager_id": "M1", "branch": "B1",
                      "consent": [True, True, True, False],
                      "client_id": ["K1", "K2", "K3", None],
                      "due": pd.to_datetime(["2026-04-10", "2026-04-03", "2026-04-08",
                                             "2026-04-01"]),
                      "overdue": [False, False, True, True]})
    for c in ("status", "tier", "opened", "nps", "ces", "overall", "comment", "first_contact",
              "root_cause"):
        s[c] = None
    mine = case_list(s, {"K1": "Anna"}, manager_id="M1")
    assert mine["case_id"].tolist() == ["c", "b", "a"]          # d: no consent, not asked
    assert mine["client_name"].isna().tolist() == [True, True, False]
    assert mine["client_name"].iloc[2] == "Anna"
    assert case_list(s, branch="B1")["case_id"].tolist() == ["d", "c", "b", "a"]


# ------------------------------------------------------------------------------------ alerts
import dataclasses  # noqa: E402
import socket  # noqa: E402

from vipquality.config import AlertMail  # noqa: E402


def _alert_data():
    from types import SimpleNamespace
    metrics = pd.DataFrame({"quarter": "2026Q2", "segment": ["luxury", "premium"],
                            "metric": ["nps", "nps"], "value": [20.0, 35.0],
                            "change": [-9.5, -1.0], "p_adjusted": [0.004, 0.6],
                            "significant": [True, False], "base_flag": ["ok", "ok"]})
    standards = pd.DataFrame({"quarter": "2026Q2", "segment": ["all", "all"],
                              "standard_id": ["S02", "S04"], "value": [70.0, 88.0],
                              "ci_high": [78.0, 93.0], "target": [90.0, 85.0]})
    loop_segments = pd.DataFrame({"segment": ["all"], "followed_up": [200],
                                  "contact_share": [70.0], "ci_high": [76.0]})
    loop_branches = pd.DataFrame({"branch": ["B01", "B02"], "overdue": [2, 0]})
    return SimpleNamespace(quarter="2026Q2", previous="2026Q1", metrics=metrics,
                           branches=metrics.iloc[:0], standards=standards,
                           loop_segments=loop_segments, loop_branches=loop_branches,
                           settings={"contact_target": 90.0})


def test_alerts_name_what_fell_and_what_is_overdue(tiny):
    from vipquality.report.alerts import alert_lines, compute_alerts
    ws = load_workspace(tiny)
    ingest_quarter(ws, "2026Q2")
    executive, restricted = compute_alerts(_alert_data(), ws)
    kinds = [(a["kind"], a.get("segment") or a.get("branch")) for a in executive["alerts"]]
    assert kinds == [("metric_fell", "luxury"), ("compliance_below_target", "all"),
                     ("contact_below_target", "all"), ("cases_overdue", "B01")]
    lines = alert_lines(executive)
    assert "NPS fell by 9.5 in segment luxury" in lines[1]
    assert "standard S02" in lines[2] and "below the target 90.0 %" in lines[2]
    assert restricted["alerts"] == []  # the tiny workspace's managers have too few answers


def test_an_unusual_share_of_detractors_is_found_after_adjustment():
    from vipquality.metrics.loop import unusual_shares
    r = unusual_shares([30, 12, 11, 9, 10], [60, 60, 60, 60, 60])
    assert r["unusual"].tolist() == [True, False, False, False, False]
    assert (r["p_adjusted"] >= r["p_value"]).all()  # Holm never lowers a p-value
    # one test alone would call 18 of 60 unusual (p = 0.015); among five managers, after
    # Holm (p = 0.076), it is not
    r = unusual_shares([18, 12, 11, 9, 10], [60] * 5)
    assert r["p_value"][0] < 0.05 and not r["unusual"].any()


class _Inbox:
    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.mails.append((tuple(envelope.rcpt_tos), envelope.content.decode("utf-8")))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mail_status():
    s = _hand_cases().assign(client_id=["K1", "K2", "K3", "K4", None],
                             status=["open", "open", "contacted", "open", "open"],
                             overdue=[True, False, False, True, False])
    return s


def test_alert_mails_reach_each_role_with_only_their_own_cases(tiny):
    from aiosmtpd.controller import Controller

    from vipquality.report.alerts import send_alerts
    inbox, port = _Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ws = dataclasses.replace(load_workspace(tiny), alert_mail=AlertMail(
            "127.0.0.1", port, "vq@bank.example", executives=("cx@bank.example",),
            branches={"B1": ("head.b1@bank.example",)},
            managers={"M1": ("m1@bank.example",), "M2": ("m2@bank.example",)}))
        alerts = {"quarter": "2026Q2", "alerts": [{"kind": "cases_overdue", "branch": "B1",
                                                   "overdue": 2}]}
        notes = send_alerts(ws, "2026Q2", alerts, _mail_status())
    finally:
        controller.stop()
    assert notes == ["alerts e-mailed: 4 message(s) to 4 address(es)"]
    mails = dict(inbox.mails)
    assert set(mails) == {("cx@bank.example",), ("head.b1@bank.example",),
                          ("m1@bank.example",), ("m2@bank.example",)}
    m1, m2 = mails[("m1@bank.example",)], mails[("m2@bank.example",)]
    assert "C-1" in m1 and "K1" in m1 and "C-2" in m1 and "K3" not in m1 and "K4" not in m1
    assert "C-4" in m2 and "K4" in m2 and "K1" not in m2 and "K2" not in m2
    assert "C-5" not in m2  # no consent: the manager is not asked to call
    executive = mails[("cx@bank.example",)]
    assert "branch B1: 2 case(s)" in executive
    for secret in ("K1", "K2", "K3", "K4", "M1", "M2", "C-1", "Orlova"):
        assert secret not in executive, secret
    branch = mails[("head.b1@bank.example",)]
    assert "C-1" in branch and "C-4" in branch and "K1" not in branch  # ids of cases only


def test_a_failed_delivery_is_reported_not_raised(tiny, monkeypatch):
    from vipquality.report.alerts import send_alerts
    ws = dataclasses.replace(load_workspace(tiny), alert_mail=AlertMail(
        "127.0.0.1", _free_port(), "vq@bank.example", executives=("cx@bank.example",)))
    notes = send_alerts(ws, "2026Q2", {"quarter": "2026Q2", "alerts": []}, _mail_status(),
                        timeout=2)
    assert len(notes) == 1 and notes[0].startswith("alerts e-mail not sent (")
    monkeypatch.delenv("VQ_TEST_SMTP_PASSWORD", raising=False)
    ws = dataclasses.replace(ws, alert_mail=dataclasses.replace(
        ws.alert_mail, password_env="VQ_TEST_SMTP_PASSWORD"))
    inbox, port = _Inbox(), _free_port()
    from aiosmtpd.controller import Controller
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ws = dataclasses.replace(ws, alert_mail=dataclasses.replace(ws.alert_mail, port=port))
        notes = send_alerts(ws, "2026Q2", {"quarter": "2026Q2", "alerts": []}, _mail_status())
    finally:
        controller.stop()
    assert notes == ["alerts e-mail not sent: environment variable VQ_TEST_SMTP_PASSWORD "
                     "(alerts.email.password_env) is not set"]
    assert inbox.mails == []


def test_alert_mail_settings_are_validated(tmp_path):
    root = _config_copy(tmp_path)
    text = (root / "workspace.yaml").read_text(encoding="utf-8")
    (root / "workspace.yaml").write_text(text + (
        "alerts:\n  email:\n    host: smtp.bank.example\n    port: 587\n"
        "    sender: vq@bank.example\n    password_env: VQ_SMTP_PASSWORD\n    starttls: true\n"
        "    recipients:\n      executives: [cx@bank.example]\n"
        "      managers: {M005: m005@bank.example}\n"), encoding="utf-8")
    mail = load_workspace(root).alert_mail
    assert (mail.host, mail.port, mail.starttls, mail.managers) == (
        "smtp.bank.example", 587, True, {"M005": ("m005@bank.example",)})
    _edit(root / "workspace.yaml", "m005@bank.example", "not-an-address")
    with pytest.raises(ConfigError, match="recipients.managers.M005: expected an e-mail"):
        load_workspace(root)


def test_loop_by_branch_ranks_the_root_cause_and_hides_small_bases():
    from vipquality.report.pages.loop import loop_branches
    data = _loop_data(pd.DataFrame())
    data.loop_branches = pd.DataFrame({"branch": ["B1", "B2"], "opened": [40, 10],
                                       "followed_up": [35, 8], "contacted_in_sla": [30, 8],
                                       "contact_share": [85.7, 100.0], "ci_low": [70.6, 67.6],
                                       "ci_high": [93.7, 100.0], "resolved": [20, 5],
                                       "overdue": [2, 0]})
    status = pd.DataFrame({"branch": ["B1"] * 5 + ["B2"], "resolved": True,
                           "root_cause": ["pricing"] * 4 + ["speed", "office"]})
    data.loop_causes = root_causes(status, ["branch"], {"pricing": "Fees"})
    page = loop_branches(data)
    assert "<td>86 [71–94]</td>" in page and "<td>n&lt;30</td>" in page
    assert "Fees (80 % of 5)" in page and "office (100 % of 1)" in page
    assert "M0" not in page
