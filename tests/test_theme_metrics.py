"""Theme metrics (vipquality.metrics.themes): share of comments, NPS impact, cost and ranking.

Hand computations are written out in the comments; the grouping test checks that every group of
one call equals the scalar single-group functions on that group's rows.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from vipquality.metrics.nps import nps
from vipquality.metrics.themes import THEME_METRICS, rank_themes, theme_metrics

Z95 = 1.959963984540054


def _frame(groups: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Responses and codes from {(quarter, segment): [(nps, comment, themes), ...]}."""
    rows, codes = [], []
    for (quarter, segment), answers in groups.items():
        for i, (score, comment, themes) in enumerate(answers):
            rid = f"{quarter}-{segment}-{i}"
            rows.append({"quarter": quarter, "segment": segment, "response_id": rid,
                         "client_id": rid, "nps": score, "comment": comment})
            codes += [{"response_id": rid, "theme_id": t} for t in themes]
    return pd.DataFrame(rows), pd.DataFrame(codes, columns=["response_id", "theme_id"])


def _row(table, metric, theme="wait", **keys):
    sel = (table["metric"] == metric) & (table["theme"] == theme)
    for k, v in keys.items():
        sel &= table[k] == v
    (i,) = np.flatnonzero(sel.to_numpy())
    return table.iloc[i]


def test_share_and_impact_against_a_hand_computation():
    # 40 comments: 12 mention "wait": 2 promoters, 2 passives, 8 detractors → NPS −50;
    # the 28 others: 16 promoters, 8 passives, 4 detractors → NPS (16 − 4)/28 = 300/7 ≈ 42.857.
    # 5 more responses without a comment (blank or missing) must not count anywhere.
    wait = [(10, "waited", ["wait"])] * 2 + [(8, "waited", ["wait"])] * 2 + \
        [(3, "waited", ["wait"])] * 8
    others = [(9, "fine", [])] * 16 + [(7, "fine", [])] * 8 + [(2, "fine", [])] * 4
    blank = [(0, "", [])] * 3 + [(0, None, [])] * 2
    r, codes = _frame({("2025Q1", "A"): wait + others + blank})
    t = theme_metrics(r, codes, themes=["wait"], base_suppress=5, base_small=10)

    share = _row(t, "theme_share")
    lo, hi = proportion_confint(12, 40, method="wilson")
    assert share["value"] == pytest.approx(30.0)
    assert (share["ci_low"], share["ci_high"]) == pytest.approx((100 * lo, 100 * hi))
    assert share["se"] == pytest.approx(100 * math.sqrt(0.3 * 0.7 / 40))
    assert share["n"] == 40

    # SE of each NPS: 100·√(v/n), v = (p + d) − (p − d)²
    v_a = (2 + 8) / 12 - (-6 / 12) ** 2                      # 5/6 − 1/4 = 7/12
    v_b = (16 + 4) / 28 - (12 / 28) ** 2                     # 5/7 − 9/49 = 26/49
    se = math.hypot(100 * math.sqrt(v_a / 12), 100 * math.sqrt(v_b / 28))
    impact = _row(t, "theme_impact")
    assert impact["value"] == pytest.approx(-50 - 300 / 7)
    assert impact["se"] == pytest.approx(se)
    assert (impact["ci_low"], impact["ci_high"]) == pytest.approx(
        (-50 - 300 / 7 - Z95 * se, -50 - 300 / 7 + Z95 * se))
    assert impact["n"] == 12                                 # the smaller base
    # cost = −s·impact = NPS of the others − NPS of all commenters = 300/7 − (18 − 12)/40·100
    cost = _row(t, "theme_cost")
    assert cost["value"] == pytest.approx(0.3 * (50 + 300 / 7))
    assert cost["value"] == pytest.approx(300 / 7 - 15)
    assert _row(t, "theme_nps")["value"] == pytest.approx(-50)
    assert _row(t, "theme_nps_other")["value"] == pytest.approx(300 / 7)


def test_every_group_equals_the_scalar_computation_on_its_rows():
    rng = np.random.default_rng(7)
    n = 900
    r = pd.DataFrame({
        "quarter": rng.choice(["2025Q1", "2025Q2"], n), "segment": rng.choice(["A", "B"], n),
        "branch": rng.choice(["north", "south", "east"], n),
        "response_id": [f"r{i}" for i in range(n)], "nps": rng.integers(0, 11, n),
        "comment": rng.choice(["text", "", None], n, p=[0.8, 0.1, 0.1]),
        "weight": rng.uniform(0.5, 2.0, n),
    })
    themes = ["wait", "manner", "fees"]
    picks = rng.random((n, 3)) < [0.3, 0.15, 0.05]
    codes = pd.DataFrame([(r["response_id"][i], themes[j]) for i, j in zip(*np.nonzero(picks))],
                         columns=["response_id", "theme_id"])
    by = ["quarter", "segment", "branch"]
    t = theme_metrics(r, codes, themes=themes, by=by, base_suppress=1, base_small=1)
    assert set(t["metric"]) == set(THEME_METRICS)
    assert list(t["theme"].drop_duplicates()) == themes  # codeframe order
    has = r["comment"].fillna("").str.len() > 0
    checked = 0
    for key, g in r[has].groupby(by):  # the reference: one group at a time
        ids = set(codes.loc[codes["theme_id"] == "manner", "response_id"])
        m = g["response_id"].isin(ids).to_numpy()
        where = dict(zip(by, key))
        share = _row(t, "theme_share", "manner", **where)
        lo, hi = proportion_confint(m.sum(), len(g), method="wilson")
        assert share["value"] == pytest.approx(100 * m.mean())
        assert (share["ci_low"], share["ci_high"]) == pytest.approx((100 * lo, 100 * hi))
        a = nps(g.loc[m, "nps"], weights=g.loc[m, "weight"])
        b = nps(g.loc[~m, "nps"], weights=g.loc[~m, "weight"])
        mine = _row(t, "theme_nps", "manner", **where)
        assert (mine["value"], mine["ci_low"], mine["ci_high"], mine["n"]) == pytest.approx(
            (a.value, a.ci_low, a.ci_high, a.n), nan_ok=True)
        impact = _row(t, "theme_impact", "manner", **where)
        assert impact["value"] == pytest.approx(a.value - b.value)
        assert impact["se"] == pytest.approx(math.hypot(a.se, b.se))
        checked += 1
    assert checked == 12


def test_share_change_is_the_pooled_two_proportion_test_with_holm():
    # Q1: 6 of 40 mention; Q2: 18 of 40. Two segments, so Holm doubles the smaller p.
    def seg(k, n):
        return [(9, "x", ["wait"])] * k + [(9, "x", [])] * (n - k)
    r, codes = _frame({("2025Q1", "A"): seg(6, 40), ("2025Q2", "A"): seg(18, 40),
                       ("2025Q1", "B"): seg(10, 40), ("2025Q2", "B"): seg(11, 40)})
    t = theme_metrics(r, codes, themes=["wait"], base_suppress=5, base_small=10)
    a = _row(t, "theme_share", quarter="2025Q2", segment="A")
    _, p_a = proportions_ztest([18, 6], [40, 40])
    _, p_b = proportions_ztest([11, 10], [40, 40])
    assert a["change"] == pytest.approx(30.0)
    assert a["p_value"] == pytest.approx(p_a)
    assert a["p_adjusted"] == pytest.approx(min(1, 2 * min(p_a, p_b)))
    assert bool(a["significant"]) == (2 * min(p_a, p_b) < 0.05)


def test_small_bases_are_flagged_and_a_theme_nobody_mentions_shows_zero():
    answers = [(9, "x", ["wait"])] * 3 + [(5, "y", [])] * 40
    r, codes = _frame({("2025Q1", "A"): answers})
    t = theme_metrics(r, codes, themes=["wait", "fees"], base_suppress=30, base_small=100)
    assert _row(t, "theme_share")["base_flag"] == "small"          # 43 comments
    assert _row(t, "theme_impact")["base_flag"] == "suppressed"    # 3 mention it
    assert _row(t, "theme_nps")["base_flag"] == "suppressed"
    fees = _row(t, "theme_share", "fees")
    assert fees["value"] == 0 and fees["ci_low"] == 0 and fees["ci_high"] > 0
    assert not ((t["theme"] == "fees") & (t["metric"] == "theme_nps")).any()  # n = 0: no row


def test_memberships_count_a_response_in_every_segment_of_its_client():
    r, codes = _frame({("2025Q1", "x"): [(0, "slow", ["wait"]), (10, "good", []),
                                         (10, "good", [])]})
    r = r.drop(columns="segment")
    members = pd.DataFrame({"quarter": "2025Q1", "client_id": [r["client_id"][0]] * 2
                            + [r["client_id"][1], r["client_id"][2]],
                            "segment": ["all", "luxury", "all", "all"]})
    t = theme_metrics(r, codes, themes=["wait"], memberships=members, base_suppress=1,
                      base_small=1)
    assert _row(t, "theme_share", segment="all")["value"] == pytest.approx(100 / 3)
    assert _row(t, "theme_share", segment="luxury")["value"] == pytest.approx(100)


def test_ranking_puts_the_costliest_theme_first_and_skips_hidden_values():
    answers = ([(0, "a", ["wait"])] * 10 + [(5, "b", ["fees"])] * 3 + [(6, "c", ["manner"])] * 2
               + [(10, "d", ["praise"])] * 10 + [(9, "e", [])] * 25)
    r, codes = _frame({("2025Q1", "A"): answers})
    t = theme_metrics(r, codes, themes=["manner", "fees", "wait", "praise"], base_suppress=1,
                      base_small=1)
    ranked = rank_themes(t)
    assert ranked["theme"].tolist() == ["wait", "fees", "manner"]    # praise costs nothing
    assert ranked["rank"].tolist() == [1, 2, 3]
    hidden = t.copy()
    hidden.loc[(hidden["theme"] == "wait") & (hidden["metric"] == "theme_share"), "value"] = np.nan
    assert rank_themes(hidden, top=1)["theme"].tolist() == ["fees"]


def test_responses_already_spread_over_segments_give_the_same_as_memberships():
    r, codes = _frame({("2025Q1", "x"): [(0, "slow", ["wait"]), (10, "good", []),
                                         (10, "good", [])]})
    members = pd.DataFrame({"quarter": "2025Q1", "client_id": [r["client_id"][0]] * 2
                            + [r["client_id"][1], r["client_id"][2]],
                            "segment": ["all", "luxury", "all", "all"]})
    spread = r.drop(columns="segment").merge(members, on=["quarter", "client_id"])
    a = theme_metrics(spread, codes, themes=["wait"], base_suppress=1, base_small=1)
    b = theme_metrics(r.drop(columns="segment"), codes, themes=["wait"], memberships=members,
                      base_suppress=1, base_small=1)
    pd.testing.assert_frame_equal(a, b)


def test_redaction_hides_a_themes_linked_metrics_together_and_leaves_no_lone_hidden_sibling():
    from vipquality.metrics.themes import redact_themes

    # three tiers of one family; tier C has 10 mentioners (suppressed), so complementary
    # suppression hides a sibling's theme_nps — its impact and cost must go with it
    def tier(k, n):
        return [(0, "slow", ["wait"])] * k + [(9, "fine", [])] * (n - k)
    r, codes = _frame({("2025Q1", "A"): tier(40, 100), ("2025Q1", "B"): tier(35, 90),
                       ("2025Q1", "C"): tier(10, 60)})
    t = theme_metrics(r, codes, themes=["wait"], base_suppress=30, base_small=30)
    fam = {"A": "tier", "B": "tier", "C": "tier"}
    out = redact_themes(t, {"segment": fam})
    hidden = out["value"].isna()
    for metric in ("theme_nps", "theme_impact", "theme_cost"):
        rows = out[out["metric"] == metric]
        assert rows["value"].isna().sum() != 1, metric       # never exactly one hidden
    by_segment = out[hidden & out["metric"].isin(["theme_nps", "theme_impact", "theme_cost"])]
    for segment, rows in by_segment.groupby("segment"):
        assert len(rows) == 3, segment                        # all three or none
    assert out.loc[hidden & (out["metric"] != "theme_share"), "n"].isna().all()
    # a hidden share hides the whole theme (the bases would give the share back)
    t2 = t.copy()
    t2.loc[(t2["segment"] == "C") & (t2["metric"] == "theme_share"), "base_flag"] = "suppressed"
    out2 = redact_themes(t2)
    assert out2.loc[out2["segment"] == "C", "value"].isna().all()
    assert out2.loc[(out2["segment"] == "C") & (out2["metric"] != "theme_share"),
                    "n"].isna().all()
