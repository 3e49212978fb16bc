"""Issue 16, survey side: the invitations file (validation, rejects with reasons, idempotent
ingest), response rates and contact fatigue, responders against non-responders (SMD), and the
raking of the responses to the CRM margins (weightipy) through the store's weight column."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from test_cases import _edit, _tiny_workspace

from vipquality.config import Weighting, load_workspace
from vipquality.data.ingest import ingest_quarter
from vipquality.data.store import load_invitations, load_responses, load_weights
from vipquality.errors import ConfigError
from vipquality.metrics.nps import nps
from vipquality.metrics.raking import population_margins, rake
from vipquality.metrics.response import (
    contact_fatigue,
    response_rates,
    standardised_differences,
)
from vipquality.paths import SAMPLE_WORKSPACE

INV_HEAD = "client_id,invited_date,channel"


def _invitations(root, q, rows, name="invitations.csv"):
    path = root / q / name
    path.write_text("\n".join([INV_HEAD, *rows]) + "\n", encoding="utf-8")
    return path


def _without_weighting(root):
    """The sample's workspace.yaml without its ``invitations:`` and ``weighting:`` blocks (the
    tests state their own)."""
    path = root / "workspace.yaml"
    lines, keep, skip = path.read_text(encoding="utf-8").splitlines(), [], False
    for line in lines:
        if line.startswith(("invitations:", "weighting:")):
            skip = True
            continue
        if skip and line.startswith((" ", "\t")):
            continue
        skip = False
        keep.append(line)
    path.write_text("\n".join(keep) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def tiny(tmp_path):
    return _without_weighting(_tiny_workspace(tmp_path))


def test_the_sample_workspace_weights_its_answers():
    ws = load_workspace()
    assert ws.weighting == Weighting(True, "invited", ("tier", "client_type"), 5.0)
    assert ws.fatigue_limit == 3


# ------------------------------------------------------------------------ the invitations file
def test_invitations_are_validated_rejected_with_reasons_and_idempotent(tiny):
    _invitations(tiny, "2026Q1", [
        "K1,2026-02-01,email",
        "K2,2026-02-01,email",
        "K3,2026-02-01,sms",
        "K4,01.02.2026,email",          # national date format
        "K9,2026-02-01,email",          # not in the CRM extract
        "K2,2026-05-01,email",          # outside the quarter
        "K3,first of Feb,email",        # not a date
        ",2026-02-01,email",            # blank client
        "K1,2026-02-01,email",          # duplicate within the file
    ], name="Invitations_Q1.CSV")       # any case, like the other patterns
    ws = load_workspace(tiny)
    res = ingest_quarter(ws, "2026Q1")
    c = res.tables["invitations"]
    assert (c.read, c.accepted, c.duplicates, c.rejected) == (9, 4, 1, 4) and c.reconciles
    rej = res.rejects.set_index("row")
    assert "client 'K9' is not in the 2026Q1 CRM extract" in rej.loc[6, "reason"]
    assert "invitation 2026-05-01 is outside 2026Q1" in rej.loc[7, "reason"]
    assert rej.loc[8, "column"] == "invited_date" and "is not a date" in rej.loc[8, "reason"]
    assert rej.loc[9, "column"] == "client_id" and "blank" in rej.loc[9, "reason"]
    stored = load_invitations(ws, "2026Q1")
    assert sorted(stored["client_id"]) == ["K1", "K2", "K3", "K4"]
    assert str(stored["invited"].iloc[0])[:10] == "2026-02-01"
    before = {p: p.read_bytes() for p in ws.store_path.rglob("*.parquet")}
    again = ingest_quarter(ws, "2026Q1")
    assert again.tables["invitations"].accepted == 0
    assert again.tables["invitations"].duplicates == 5
    assert {p: p.read_bytes() for p in ws.store_path.rglob("*.parquet")} == before


def test_a_missing_invitations_column_stops_with_the_file_and_column(tiny):
    (tiny / "2026Q1" / "invitations.csv").write_text("client_id,channel\nK1,email\n",
                                                     encoding="utf-8")
    with pytest.raises(Exception, match="invited_date"):
        ingest_quarter(load_workspace(tiny), "2026Q1")


# ------------------------------------------------------------------------------ workspace keys
@pytest.mark.parametrize("block, expected", [
    ("weighting: {enabled: yes}\n", "weighting.enabled"),
    ("weighting: {enabled: true, target: everyone}\n", "weighting.target"),
    ("weighting: {enabled: true, variables: [tier, colour]}\n", "weighting.variables"),
    ("weighting: {enabled: true, trim: 1}\n", "weighting.trim"),
    ("weighting: {enabled: true, trimm: 3}\n", "trimm"),
    ("invitations: {fatigue_limit: 0}\n", "invitations.fatigue_limit"),
])
def test_bad_weighting_and_invitation_keys_name_the_key(tiny, block, expected):
    path = tiny / "workspace.yaml"
    path.write_text(path.read_text(encoding="utf-8") + block, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
        load_workspace(tiny)


def test_weighting_keys_are_read_and_off_by_default(tiny):
    assert load_workspace(tiny).weighting == Weighting()
    assert load_workspace(tiny).fatigue_limit == 3
    path = tiny / "workspace.yaml"
    path.write_text(path.read_text(encoding="utf-8") + (
        "weighting: {enabled: true, target: book, variables: [tier, lifetime_value], trim: 4}\n"
        "invitations: {fatigue_limit: 5}\n"), encoding="utf-8")
    ws = load_workspace(tiny)
    assert ws.weighting == Weighting(True, "book", ("tier", "lifetime_value"), 4.0)
    assert ws.fatigue_limit == 5


# ------------------------------------------------------------------------------------ raking
def test_raked_margins_equal_the_targets():
    rng = np.random.default_rng(7)
    n = 600
    sample = pd.DataFrame({"tier": rng.choice(["Premium", "Luxury", "Private"], n,
                                              p=[.6, .3, .1]),
                           "client_type": rng.choice(["individual", "legal_entity"], n,
                                                     p=[.7, .3])})
    targets = {"tier": {"Premium": 45, "Luxury": 30, "Private": 25},
               "client_type": {"individual": 80, "legal_entity": 20}}
    r = rake(sample, targets, trim=None)
    w = r.weights
    assert np.isclose(w.mean(), 1.0)
    for var, shares in targets.items():
        got = pd.Series(w).groupby(sample[var].to_numpy()).sum() / w.sum() * 100
        for level, share in shares.items():
            assert got[level] == pytest.approx(share, abs=0.01)
    assert r.max_error < 0.01
    # with a cap, no weight exceeds it (relative to the mean)
    capped = rake(sample, targets, trim=2.0)
    assert capped.weights.max() / capped.weights.mean() <= 2.0 + 1e-3
    assert capped.kish_n > r.kish_n


def test_a_target_level_without_respondents_is_named_not_silently_missed():
    sample = pd.DataFrame({"tier": ["Premium"] * 5 + ["Luxury"] * 5})
    r = rake(sample, {"tier": {"Premium": 40, "Luxury": 40, "Private": 20}})
    assert any("no respondent in Private" in n for n in r.notes)
    assert r.weights == pytest.approx(np.ones(10))


def test_weighted_nps_equals_an_independent_computation():
    # two tiers: Private 20 % of the book but 10 % of the answers
    sample = pd.DataFrame({"tier": ["Private"] * 10 + ["Premium"] * 90})
    scores = np.array([10] * 2 + [3] * 8 + [10] * 60 + [8] * 20 + [5] * 10)
    r = rake(sample, population_margins(pd.DataFrame(
        {"tier": ["Private"] * 20 + ["Premium"] * 80}), ["tier"]))
    # by hand: Private NPS (2 − 8)/10 = −60, Premium (60 − 10)/90 = 55.56; book mix 20/80
    expected = 0.2 * (-60.0) + 0.8 * (50 / 90 * 100)
    got = nps(scores, weights=r.weights)
    assert got.value == pytest.approx(expected, abs=1e-6)
    w = r.weights
    assert got.n == pytest.approx(w.sum() ** 2 / (w**2).sum())


# ------------------------------------------------------------------------- weights in the store
def _weighted(root, target="invited"):
    _edit(root / "workspace.yaml", "cases: cases.yaml",
          f"cases: cases.yaml\nweighting: {{enabled: true, target: {target}, variables: [tier]}}")


def test_ingest_stores_weights_and_load_responses_applies_them(tiny):
    _weighted(tiny)
    # invited: K1..K4 plus nobody else answered; tiers Premium, Private, Luxury, Premium
    _invitations(tiny, "2026Q1", ["K1,2026-01-10,email", "K2,2026-01-10,email",
                                  "K3,2026-01-10,email", "K4,2026-01-10,email"])
    ws = load_workspace(tiny)
    res = ingest_quarter(ws, "2026Q1")
    w = load_weights(ws, "2026Q1")
    # every invited client answered: the sample has the target's margins, weights are all 1
    assert w["weight"].tolist() == pytest.approx([1.0] * 4)
    assert "weights/quarter=2026Q1/part-0.parquet" in res.written
    r = load_responses(ws, "2026Q1")
    assert r["weight"].tolist() == pytest.approx([1.0] * 4)


def _ten_invited(root):
    """Weighting on; six more Private clients in the CRM (K5…K10), all ten invited, the four
    of the tiny workspace answered."""
    _weighted(root)
    clients = (root / "2026Q1" / "clients.csv").read_text(encoding="utf-8").splitlines()
    extra = [f"K{i},Name {i},x@example.org,+7 900 000-00-00,Moscow,individual,Private,M001,B01,"
             f"1000000,3,2026-03-01,cards,,5000000,5000,2,HK{i}" for i in range(5, 11)]
    (root / "2026Q1" / "clients.csv").write_text("\n".join(clients + extra) + "\n",
                                                 encoding="utf-8")
    _invitations(root, "2026Q1", [f"K{i},2026-01-10,email" for i in range(1, 11)])


def test_weights_move_the_responses_to_the_invited_margins(tiny):
    _ten_invited(tiny)
    ws = load_workspace(tiny)
    ingest_quarter(ws, "2026Q1")
    r = load_responses(ws, "2026Q1")
    tiers = {"K1": "Premium", "K2": "Private", "K3": "Luxury", "K4": "Premium"}
    share = r.groupby(r["client_id"].map(tiers))["weight"].sum() / r["weight"].sum()
    # invited: 2 Premium, 7 Private, 1 Luxury of 10; the one Private respondent carries 70 %
    assert share["Private"] == pytest.approx(0.7, abs=1e-4)
    assert share["Premium"] == pytest.approx(0.2, abs=1e-4)
    unweighted = load_responses(ws, "2026Q1", weighted=False)
    assert unweighted["weight"].tolist() == [1.0] * 4


# -------------------------------------------------------------------- rates, fatigue and SMD
def test_response_rates_by_branch_with_wilson_intervals():
    inv = pd.DataFrame({"branch": ["B1"] * 10 + ["B2"] * 4,
                        "responded": [True] * 8 + [False] * 2 + [True] + [False] * 3})
    t = response_rates(inv, ["branch"]).set_index("branch")
    assert t.loc["B1", "rate"] == 80.0 and t.loc["B2", "rate"] == 25.0
    # Wilson 8/10 by hand: (0.8 + 1.92/10 ± 1.96·√(0.016 + 0.0096)) / 1.384
    z = 1.959963984540054
    centre = (0.8 + z**2 / 20) / (1 + z**2 / 10)
    half = z * np.sqrt(0.8 * 0.2 / 10 + z**2 / 400) / (1 + z**2 / 10)
    assert t.loc["B1", "ci_low"] == pytest.approx(100 * (centre - half))
    assert t.loc["B1", "ci_high"] == pytest.approx(100 * (centre + half))


def test_contact_fatigue_counts_a_rolling_twelve_months():
    inv = pd.DataFrame({"client_id": ["A"] * 5 + ["B"] * 3,
                        "invited": pd.to_datetime(["2025-03-31", "2025-06-01", "2025-09-01",
                                                   "2025-12-01", "2026-03-01", "2025-10-01",
                                                   "2026-01-01", "2026-03-31"]),
                        "branch": ["B1"] * 5 + ["B2"] * 3})
    f = contact_fatigue(inv, "2026-03-31", limit=3)
    # A: 2025-03-31 is exactly 12 months before, outside the window; 4 inside > 3
    assert f["client_id"].tolist() == ["A"] and f["invitations"].tolist() == [4]
    assert contact_fatigue(inv, "2026-03-31", limit=2)["client_id"].tolist() == ["A", "B"]


def test_smd_against_a_hand_computation():
    inv = pd.DataFrame({"responded": [True, True, True, False, False, False],
                        "lifetime_value": [1.0, 2.0, 3.0, 2.0, 4.0, 6.0],
                        "products": ["cards;deposits", "cards", "", "cards", "", ""],
                        "tier": ["Private", "Premium", "Premium", "Private", "Private",
                                 "Private"]})
    s = standardised_differences(inv, ["lifetime_value", "tier", "products"],
                                 lists=["products"]).set_index(["characteristic", "level"])
    # LTV: means 2 and 4, sample variances 1 and 4 → d = −2 / √2.5
    assert s.loc[("lifetime_value", ""), "smd"] == pytest.approx(-2 / np.sqrt(2.5))
    # Private: p1 = 1/3, p0 = 1 → pooled √((2/9 + 0)/2)
    assert s.loc[("tier", "Private"), "smd"] == pytest.approx((1 / 3 - 1) / np.sqrt(1 / 9))
    # cards: 2/3 vs 1/3
    assert s.loc[("products", "cards"), "smd"] == pytest.approx(
        (1 / 3) / np.sqrt((2 / 9 + 2 / 9) / 2))
    assert "client_id" not in s.reset_index().columns


def test_the_unweighted_figures_on_request(tiny):
    from click.testing import CliRunner

    from vipquality.cli import main
    from vipquality.data.summary import summarise_workspace

    _ten_invited(tiny)
    # the workspace's metrics need the quarter's visits too: the sample's
    shutil.copy(SAMPLE_WORKSPACE / "2026Q1" / "mystery_shopper.csv", tiny / "2026Q1")
    ws = load_workspace(tiny)
    ingest_quarter(ws, "2026Q1")
    pick = lambda t: t[(t["metric"] == "nps") & (t["segment"] == "all")].iloc[0]
    weighted = pick(summarise_workspace(ws, ["2026Q1"]))
    plain = pick(summarise_workspace(ws, ["2026Q1"], weighted=False))
    # answers 3, 7, 2, 10 (K1..K4): unweighted (1 − 2)/4 = −25; weighted, K2 (the one Private,
    # a passive) carries 70 % of the weight: promoters 10 % (K4), detractors 20 % → −10
    assert plain["value"] == pytest.approx(-25.0) and plain["n"] == 4
    assert weighted["value"] == pytest.approx(-10.0, abs=0.05) and weighted["n"] < 4
    out = CliRunner().invoke(main, ["metrics", "--workspace", str(tiny), "--unweighted"])
    assert out.exit_code == 0 and "-25.0" in out.output
