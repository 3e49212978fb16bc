"""summarise: the tidy metrics table from mergeable sufficient statistics.

Expected numbers of the tiny frame are worked out by hand in the comments (fractions first, then
decimals); the other tests check the two engines against each other, mergeability, agreement with
the single-group functions, the multiplicity adjustment against statsmodels, and the reporting
rules (suppression, redaction, memberships).
"""

from __future__ import annotations

import importlib
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from vipquality.data.summary import summarise_workspace
from vipquality.errors import DataError
from vipquality.metrics.sufficient import StatsSpec, response_stats_sql, spark_quote
from vipquality.metrics.summarise import (
    RESULT_COLUMNS,
    adjust_p,
    merge_stats,
    redact,
    sufficient_stats,
    summarise,
    summarise_stats,
)

NAN = np.nan
Z95 = 1.959963984540054          # Φ⁻¹(0.975)
T3 = 3.1824463052837078          # t(3) 0.975 quantile
ATTRS = ["speed", "respect"]


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the other modules being there
        pytest.skip(f"{module} is not available yet ({exc}); agreement cannot be checked")


# --- the hand-checked frame: 2 quarters × 2 segments, 4 respondents each ------------------------

def tiny() -> pd.DataFrame:
    rows = {
        #                 nps             ces           sat speed          sat respect
        ("2025Q1", "A"): ([10, 9, 8, 5], [7, 5, 4, 2], [10, 8, 6, NAN], [10, 10, 7, 9],
                          [8, 6, 10, 4], [4, 2, 6, 8]),           # imp speed, imp respect
        ("2025Q1", "B"): ([0, 3, 7, 9], [1, 2, 3, 7], [1, 4, NAN, NAN], [4, 4, NAN, 1],
                          [5, 5, 9, 5], [10, 10, 1, 10]),
        ("2025Q2", "A"): ([10, 10, 10, 9], [7, 7, 6, 6], [10, 10, 9, 9], [10, 10, 10, 10],
                          [5, 5, 5, 5], [5, 5, 5, 5]),
        ("2025Q2", "B"): ([6, 6, 6, 6], [4, 4, 4, 4], [5, 5, 5, 5], [5, 5, 5, 5],
                          [1, 1, 1, 1], [3, 3, 3, 3]),
    }
    frames = []
    for (q, seg), (n, c, s1, s2, i1, i2) in rows.items():
        frames.append(pd.DataFrame({
            "quarter": q, "segment": seg, "client_id": [f"{seg}{i}" for i in range(4)],
            "nps": pd.array(n, dtype="Int8"), "ces": pd.array(c, dtype="Int8"),
            "sat__speed": np.array(s1, dtype="float32"),
            "sat__respect": np.array(s2, dtype="float32"),
            "imp__speed": np.array(i1, dtype="float32"),
            "imp__respect": np.array(i2, dtype="float32"),
        }))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def tiny_table() -> pd.DataFrame:
    return summarise(tiny(), attributes=ATTRS, base_suppress=0, base_small=0)


def cell(table, quarter, segment, metric, column="value"):
    sel = table[(table["quarter"] == quarter) & (table["segment"] == segment)
                & (table["metric"] == metric)]
    assert len(sel) == 1, (quarter, segment, metric)
    return float(sel[column].iloc[0])


def test_tiny_frame_nps(tiny_table):
    # Q1 A: promoters 10, 9; passive 8; detractor 5 -> NPS = 100·(2 − 1)/4 = 25
    # v = (0.5 + 0.25) − 0.25² = 0.6875; SE = 100·√(0.6875/4) = 41.4578098794425
    assert cell(tiny_table, "2025Q1", "A", "nps") == 25.0
    assert cell(tiny_table, "2025Q1", "A", "nps", "se") == pytest.approx(41.4578098794425)
    # adjusted Wald: p* = 2.75/7, d* = 1.75/7, NPS* = 100/7 = 14.2857142857
    # v* = 4.5/7 − (1/7)² = 0.6224489796; half = z·100·√(v*/7) = 58.44475
    centre, half = 100 / 7, Z95 * 100 * math.sqrt((4.5 / 7 - 1 / 49) / 7)
    assert cell(tiny_table, "2025Q1", "A", "nps", "ci_low") == pytest.approx(centre - half)
    assert cell(tiny_table, "2025Q1", "A", "nps", "ci_high") == pytest.approx(centre + half)
    assert centre - half == pytest.approx(-44.15977, abs=1e-5)
    # Q1 B: 0, 3 detractors, 7 passive, 9 promoter -> −25; Q2 A: 100; Q2 B: all 6 -> −100
    assert cell(tiny_table, "2025Q1", "B", "nps") == -25.0
    assert cell(tiny_table, "2025Q2", "A", "nps") == 100.0
    assert cell(tiny_table, "2025Q2", "B", "nps") == -100.0
    assert cell(tiny_table, "2025Q2", "B", "nps", "se") == 0.0
    assert cell(tiny_table, "2025Q1", "A", "nps", "n") == 4.0


def test_tiny_frame_ces(tiny_table):
    # Q1 A: 7, 5, 4, 2 -> mean 4.5; squared deviations 6.25 + 0.25 + 0.25 + 6.25 = 13,
    # s = √(13/3) = 2.0816659995, SE = s/2 = 1.0408329997. Interval of a bounded mean:
    # on 0–1, (x − 1)/6 plus pseudo-answers 0 and 1 -> 6 values, normal on the logit scale
    assert cell(tiny_table, "2025Q1", "A", "ces_mean") == 4.5
    se = math.sqrt(13 / 3) / 2
    assert cell(tiny_table, "2025Q1", "A", "ces_mean", "se") == pytest.approx(se)
    u = np.array([1, 4 / 6, 3 / 6, 1 / 6, 0, 1])
    ma, se_u = u.mean(), u.std(ddof=1) / math.sqrt(6)
    logit_lo = math.log(ma / (1 - ma)) - Z95 * se_u / (ma * (1 - ma))
    assert cell(tiny_table, "2025Q1", "A", "ces_mean", "ci_low") == pytest.approx(
        1 + 6 / (1 + math.exp(-logit_lo)))
    # easy = 5–7: {7, 5} = 50 %; difficult = 1–3: {2} = 25 %; net easy = 25
    assert cell(tiny_table, "2025Q1", "A", "ces_easy") == 50.0
    assert cell(tiny_table, "2025Q1", "A", "ces_net_easy") == 25.0
    # Wilson for 2 of 4: centre (0.5 + z²/8)/(1 + z²/4), half z·√(1/16 + z²/64)/(1 + z²/4)
    d = 1 + Z95**2 / 4
    lo = ((0.5 + Z95**2 / 8) - Z95 * math.sqrt(1 / 16 + Z95**2 / 64)) / d
    assert cell(tiny_table, "2025Q1", "A", "ces_easy", "ci_low") == pytest.approx(100 * lo)
    assert 100 * lo == pytest.approx(15.00390, abs=1e-5)
    # Q1 B: 1, 2, 3, 7 -> mean 3.25, easy 25 %, difficult 75 %, net −50
    assert cell(tiny_table, "2025Q1", "B", "ces_mean") == 3.25
    assert cell(tiny_table, "2025Q1", "B", "ces_net_easy") == -50.0
    # Q2 B: all 4 -> sd 0, yet never an interval of width 0 (the pseudo-answers keep one)
    assert cell(tiny_table, "2025Q2", "B", "ces_mean") == 4.0
    assert cell(tiny_table, "2025Q2", "B", "ces_mean", "ci_low") < 4.0
    assert cell(tiny_table, "2025Q2", "B", "ces_mean", "ci_high") > 4.0
    # … while the t-interval of an attribute rated 5 by all has none (NaN), not width 0
    assert np.isnan(cell(tiny_table, "2025Q2", "B", "attr:speed", "ci_low"))


def test_tiny_frame_attributes_weights_and_csi(tiny_table):
    # Q1 A speed: 10, 8, 6 (one NaN) -> mean 8 -> 100·(8 − 1)/9 = 77.777…, n = 3
    # respect: 10, 10, 7, 9 -> mean 9 -> 88.888…
    assert cell(tiny_table, "2025Q1", "A", "attr:speed") == pytest.approx(700 / 9)
    assert cell(tiny_table, "2025Q1", "A", "attr:speed", "n") == 3
    assert cell(tiny_table, "2025Q1", "A", "attr:respect") == pytest.approx(800 / 9)
    # importance means 7 and 5 -> shares 7/12 = 58.33 %, 5/12 = 41.67 %
    assert cell(tiny_table, "2025Q1", "A", "imp:speed") == pytest.approx(100 * 7 / 12)
    assert cell(tiny_table, "2025Q1", "A", "imp:respect") == pytest.approx(100 * 5 / 12)
    # CSI = (7·77.78 + 5·88.89)/12 = 100/9 · (7·7 + 5·8)/12 = 8900/108 = 82.407407…
    assert cell(tiny_table, "2025Q1", "A", "csi") == pytest.approx(8900 / 108)
    assert cell(tiny_table, "2025Q1", "A", "csi", "n") == 4
    # delta method on the 1–10 scale: Var(mean speed) = 4/3 (s² = 4, n = 3),
    # Var(mean respect) = 2/4 (s² = 2), pairwise over the 3 rows rating both: speed 10, 8, 6,
    # respect 10, 10, 7 -> cov = (2·1 + 0·1 + (−2)(−2))/2 = 3, c = 3·3/(3·4) = 0.75
    w1, w2 = 7 / 12, 5 / 12
    var = (w1**2 * 4 / 3 + w2**2 * 0.5 + 2 * w1 * w2 * 0.75) * (100 / 9) ** 2
    assert cell(tiny_table, "2025Q1", "A", "csi", "se") == pytest.approx(math.sqrt(var))
    assert math.sqrt(var) == pytest.approx(10.5707, abs=1e-4)
    assert cell(tiny_table, "2025Q1", "A", "csi", "ci_low") == pytest.approx(
        8900 / 108 - Z95 * math.sqrt(var))
    assert cell(tiny_table, "2025Q1", "A", "csi", "ci_high") == 100.0   # 103.13 clipped

    # Q1 B: the third respondent rated no attribute, so is out of the CSI and its importance
    # (9 and 1) does not count: importance means 5 and 10 -> weights 1/3, 2/3
    # speed 1, 4 -> 2.5 -> 16.67; respect 4, 4, 1 -> 3 -> 22.22
    # CSI = 100/9 · (1.5 + 2·2)/3 = 550/27 = 20.370370…
    assert cell(tiny_table, "2025Q1", "B", "imp:speed") == pytest.approx(100 / 3)
    assert cell(tiny_table, "2025Q1", "B", "csi") == pytest.approx(550 / 27)
    assert cell(tiny_table, "2025Q1", "B", "csi", "n") == 3
    # Q2 A: speed 9.5 -> 94.44, respect 100 (sd 0), equal stated weights -> 97.2222…
    assert cell(tiny_table, "2025Q2", "A", "csi") == pytest.approx((850 / 9 + 100) / 2)
    assert cell(tiny_table, "2025Q2", "A", "attr:respect", "se") == 0.0


def test_tiny_frame_change_and_holm(tiny_table):
    # NPS Q2 vs Q1: A +75, B −75. The SE is pooled under "no change" (nps_difference): A's
    # quarters together have p = 6/8, d = 1/8 -> v0 = 7/8 − (5/8)² = 0.484375 and
    # SE0 = 100·√(v0·(1/4 + 1/4)) = 49.21255; B's (p = 1/8, d = 6/8) give the same v0.
    # (The unpooled Wald SE √(41.4578² + 0²) would make A look nearly significant.)
    se = 100 * math.sqrt(0.484375 / 2)
    p = 2 * (1 - 0.5 * (1 + math.erf(75 / se / math.sqrt(2))))
    assert cell(tiny_table, "2025Q2", "A", "nps", "prev_value") == 25.0
    assert cell(tiny_table, "2025Q2", "A", "nps", "change") == 75.0
    assert cell(tiny_table, "2025Q2", "B", "nps", "change") == -75.0
    assert cell(tiny_table, "2025Q2", "A", "nps", "change_se") == pytest.approx(se)
    assert cell(tiny_table, "2025Q2", "B", "nps", "change_se") == pytest.approx(se)
    assert cell(tiny_table, "2025Q2", "A", "nps", "p_value") == pytest.approx(p)
    assert p == pytest.approx(0.12751, abs=1e-5)
    # Holm over the 2 segments of 2025Q2 × nps: both p equal -> 2p each, not significant
    assert cell(tiny_table, "2025Q2", "B", "nps", "p_adjusted") == pytest.approx(2 * p)
    assert not cell(tiny_table, "2025Q2", "B", "nps", "significant")
    # CSI of B: 20.370 -> 44.444 (all 5s, SE 0). Q1 SE on the 1–10 scale: speed 1, 4
    # (s² = 4.5, n = 2), respect 4, 4, 1 (s² = 3, n = 3), covariance over rows 1–2 is 0, weights
    # 1/3, 2/3: Var = 4.5/2/9 + 3/3·4/9 = 25/36 -> SE = 100/9 · 5/6 = 9.259259
    se_b = 100 / 9 * 5 / 6
    assert cell(tiny_table, "2025Q2", "B", "csi", "change_se") == pytest.approx(se_b)
    z_b = (44.444444444444444 - 550 / 27) / se_b                       # 2.6
    p_b = math.erfc(z_b / math.sqrt(2))                                # 0.0093224
    p_a = cell(tiny_table, "2025Q2", "A", "csi", "p_value")            # 0.165857
    assert cell(tiny_table, "2025Q2", "B", "csi", "p_value") == pytest.approx(p_b)
    # Holm: the smaller p times 2 = 0.018645 < 0.05; the larger stays max(p_a, 2·p_b)
    assert cell(tiny_table, "2025Q2", "B", "csi", "p_adjusted") == pytest.approx(2 * p_b)
    assert cell(tiny_table, "2025Q2", "A", "csi", "p_adjusted") == pytest.approx(p_a)
    assert cell(tiny_table, "2025Q2", "B", "csi", "significant")
    assert tiny_table["significant"].sum() == 1
    # the first quarter has nothing to compare with
    q1 = tiny_table[tiny_table["quarter"] == "2025Q1"]
    assert q1[["prev_value", "change", "p_value"]].isna().all().all()


def test_columns_order_and_determinism(tiny_table):
    assert list(tiny_table.columns) == ["quarter", "segment", *RESULT_COLUMNS]
    metrics = tiny_table.loc[(tiny_table["quarter"] == "2025Q1")
                             & (tiny_table["segment"] == "A"), "metric"].tolist()
    assert metrics == ["nps", "ces_mean", "ces_easy", "ces_net_easy", "csi", "attr:speed",
                       "attr:respect", "imp:speed", "imp:respect"]
    assert tiny_table["significant"].dtype == bool
    shuffled = tiny().sample(frac=1, random_state=7)
    again = summarise(shuffled, attributes=ATTRS, base_suppress=0, base_small=0)
    pd.testing.assert_frame_equal(again, tiny_table)


def test_does_not_change_the_callers_frames():
    r = tiny()
    before = r.copy()
    summarise(r, attributes=ATTRS)
    pd.testing.assert_frame_equal(r, before)


# --- engines, mergeability -------------------------------------------------------------------

def simulated(n=1500, seed=1, attrs=("a", "b", "c"), clients=200):
    """Integer ratings and dyadic weights: every sum is exact, whatever the order of addition."""
    rng = np.random.default_rng(seed)
    r = pd.DataFrame({
        "quarter": rng.choice(["2024Q4", "2025Q1", "2025Q2"], n),
        "client_id": [f"c{i}" for i in rng.integers(0, clients, n)],
        "nps": pd.array(np.where(rng.random(n) < 0.05, -1, rng.integers(0, 11, n)), dtype="Int8"),
        "ces": pd.array(rng.integers(1, 8, n), dtype="Int8"),
        "weight": rng.choice([0.5, 1.0, 1.5, 2.0], n),
    })
    r["nps"] = r["nps"].mask(r["nps"] < 0)
    level = rng.normal(7, 1.5, n)
    for a in attrs:
        x = np.clip(np.round(level + rng.normal(0, 1.2, n)), 1, 10).astype("float32")
        x[rng.random(n) < 0.15] = np.nan
        r[f"sat__{a}"] = x
        r[f"imp__{a}"] = rng.integers(1, 11, n).astype("float32")
    quarters = ["2024Q4", "2025Q1", "2025Q2"]
    m = pd.DataFrame({"quarter": np.repeat(quarters, clients),
                      "client_id": [f"c{i}" for i in range(clients)] * 3})
    m["segment"] = rng.choice(["premium", "private"], len(m))
    m = pd.concat([m, m.assign(segment="all_vip")], ignore_index=True)
    visit_segment = rng.choice(["premium", "private"], 60)
    v = pd.DataFrame({
        "quarter": np.repeat(rng.choice(quarters, 60), 4),
        "visit_id": np.repeat([f"v{i}" for i in range(60)], 4),
        "segment": np.repeat(visit_segment, 4),
        "item_id": ["i1", "i2", "i3", "i4"] * 60,
        "result": rng.choice(["yes", "no", "na"], 240, p=[0.7, 0.2, 0.1]),
        "critical": np.tile([False, False, False, True], 60),
        "weight": 1.0,
    })
    return r, m, v


_SCORE_SUMS = ["cmp_sx", "cmp_sx2"]


def assert_same_stats(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Identical counts and sums; visit-score sums (thirds, …) up to the order of addition."""
    pd.testing.assert_frame_equal(a.drop(columns=_SCORE_SUMS, errors="ignore"),
                                  b.drop(columns=_SCORE_SUMS, errors="ignore"),
                                  check_exact=True, check_index_type=False)
    if "cmp_sx" in a.columns:
        pd.testing.assert_frame_equal(a[_SCORE_SUMS], b[_SCORE_SUMS], check_exact=False,
                                      rtol=1e-13, check_index_type=False)


def test_duckdb_and_pandas_engines_give_identical_sums():
    r, m, v = simulated()
    kw = dict(attributes=["a", "b", "c"], memberships=m, visits=v)
    duck = sufficient_stats(r, engine="duckdb", **kw)
    pand = sufficient_stats(r, engine="pandas", **kw)
    assert_same_stats(duck, pand)
    assert (duck["nps_n"] > 0).all() and (duck["cmp_n"] > 0).any()
    pd.testing.assert_frame_equal(summarise(r, engine="duckdb", **kw),
                                  summarise(r, engine="pandas", **kw), rtol=1e-12)


def test_stats_sql_is_generated_for_spark_quoting_too():
    spec = StatsSpec(by=("quarter", "segment"), attributes=("a", "b"), importance=("a", "b"))
    sql = response_stats_sql(spec, "responses", quote=spark_quote)
    assert '"' not in sql and "`pair_sxy:a:b`" in sql and "GROUP BY `quarter`, `segment`" in sql


_row = st.tuples(
    st.sampled_from(["2025Q1", "2025Q2"]), st.sampled_from(["A", "B"]),
    st.one_of(st.none(), st.integers(0, 10)), st.one_of(st.none(), st.integers(1, 7)),
    st.one_of(st.none(), st.integers(1, 10)), st.one_of(st.none(), st.integers(1, 10)),
    st.integers(1, 10), st.sampled_from([0.25, 0.5, 1.0, 3.0]),
)
_visit = st.tuples(st.sampled_from(["2025Q1", "2025Q2"]), st.sampled_from(["A", "B"]),
                   st.lists(st.tuples(st.sampled_from(["yes", "no", "na"]), st.booleans()),
                            min_size=1, max_size=4))


def _frame(rows):
    cols = ["quarter", "segment", "nps", "ces", "sat__x", "sat__y", "imp__x", "weight"]
    df = pd.DataFrame(rows, columns=cols)
    for c in ("nps", "ces"):
        df[c] = pd.array(df[c].tolist(), dtype="Int8")
    for c in ("sat__x", "sat__y", "imp__x"):
        df[c] = pd.to_numeric(df[c]).astype("float32")
    df["weight"] = df["weight"].astype(float)
    return df


def _visits(visits, offset=0):
    rows = [(q, seg, f"v{i + offset}", f"i{j}", res, crit)
            for i, (q, seg, items) in enumerate(visits) for j, (res, crit) in enumerate(items)]
    return pd.DataFrame(rows, columns=["quarter", "segment", "visit_id", "item_id", "result",
                                       "critical"]).astype({"critical": bool})


@settings(max_examples=20, deadline=None)
@given(st.lists(_row, min_size=1, max_size=30), st.lists(_row, min_size=1, max_size=30),
       st.lists(_visit, min_size=1, max_size=6), st.lists(_visit, min_size=1, max_size=6))
def test_merged_stats_of_two_partitions_equal_stats_of_the_union(a, b, va, vb):
    kw = dict(attributes=["x", "y"], importance_scale=(1, 10))
    A, B = _frame(a), _frame(b)
    VA, VB = _visits(va), _visits(vb, offset=len(va))
    whole = sufficient_stats(pd.concat([A, B], ignore_index=True),
                             visits=pd.concat([VA, VB], ignore_index=True), **kw)
    merged = merge_stats(sufficient_stats(A, visits=VA, **kw),
                         sufficient_stats(B, visits=VB, **kw))
    assert_same_stats(merged, whole)


def test_table_from_merged_partitions_is_the_table_of_the_union():
    r, m, v = simulated()
    kw = dict(attributes=["a", "b", "c"], memberships=m)
    half = r["client_id"].str[-1].isin(list("01234"))        # any split of the responses
    first = v["visit_id"].str[1:].astype(int) < 30               # visits are not split
    merged = merge_stats(sufficient_stats(r[half], visits=v[first], **kw),
                         sufficient_stats(r[~half], visits=v[~first], **kw))
    pd.testing.assert_frame_equal(summarise_stats(merged), summarise(r, visits=v, **kw),
                                  rtol=1e-12)


# --- agreement with the single-group functions -------------------------------------------------

@pytest.fixture(scope="module")
def simulated_table():
    r, m, v = simulated()
    table = summarise(r, attributes=["a", "b", "c"], memberships=m, visits=v)
    return r, m, v, table


def _groups(r, m):
    joined = r.merge(m, on=["quarter", "client_id"])
    return joined.groupby(["quarter", "segment"])


def _check(row, est, rtol=1e-10):
    got = row[["value", "ci_low", "ci_high", "se", "n"]].to_numpy(dtype=float)
    want = np.array([est.value, est.ci_low, est.ci_high, est.se, est.n], dtype=float)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-12)


def test_agrees_with_nps_and_ces(simulated_table):
    nps = _optional("vipquality.metrics.nps").nps
    ces = _optional("vipquality.metrics.ces").ces
    r, m, _, table = simulated_table
    rows = table.set_index(["quarter", "segment", "metric"])
    for (q, seg), g in _groups(r, m):
        _check(rows.loc[(q, seg, "nps")], nps(g["nps"], weights=g["weight"]))
        for kind in ("mean", "easy", "net_easy"):
            _check(rows.loc[(q, seg, f"ces_{kind}")], ces(g["ces"], kind=kind,
                                                         weights=g["weight"]))


def test_agrees_with_csi(simulated_table):
    csi = _optional("vipquality.metrics.csi").csi
    r, m, _, table = simulated_table
    rows = table.set_index(["quarter", "segment", "metric"])
    for (q, seg), g in _groups(r, m):
        sat = g[["sat__a", "sat__b", "sat__c"]].rename(columns=lambda c: c[5:])
        imp = g[["imp__a", "imp__b", "imp__c"]].rename(columns=lambda c: c[5:])
        est = csi(sat, imp, weights="stated", n_boot=0)
        assert rows.loc[(q, seg, "csi"), "value"] == pytest.approx(est.value, rel=1e-12)
        assert rows.loc[(q, seg, "csi"), "n"] == est.n
        for _, att in est.details["attributes"].iterrows():
            assert rows.loc[(q, seg, f"attr:{att.attribute}"), "value"] == pytest.approx(
                att.performance, rel=1e-12)
            assert rows.loc[(q, seg, f"attr:{att.attribute}"), "n"] == att.n
            assert rows.loc[(q, seg, f"imp:{att.attribute}"), "value"] == pytest.approx(
                100 * att.weight, rel=1e-12)


def test_agrees_with_compliance(simulated_table):
    compliance = _optional("vipquality.metrics.compliance").compliance
    _, _, v, table = simulated_table
    rows = table.set_index(["quarter", "segment", "metric"])
    for (q, seg), g in v.groupby(["quarter", "segment"]):
        _check(rows.loc[(q, seg, "compliance")], compliance(g))


def test_csi_delta_interval_is_close_to_the_bootstrap():
    csi = _optional("vipquality.metrics.csi").csi
    rng = np.random.default_rng(11)
    n, k = 800, 5
    level = rng.normal(7, 1.5, n)
    r = pd.DataFrame({"quarter": "2025Q1", "segment": "A", "nps": pd.array([9] * n, "Int8")})
    for i in range(k):
        x = np.clip(np.round(level + rng.normal(0, 1.0 + 0.3 * i, n)), 1, 10)
        x[rng.random(n) < 0.2] = np.nan
        r[f"sat__a{i}"] = x
    attrs = [f"a{i}" for i in range(k)]
    weights = {a: w for a, w in zip(attrs, [3, 1, 2, 1, 3])}
    row = summarise(r, attributes=attrs, ces_scale=None, csi_weights=weights).set_index(
        "metric").loc["csi"]
    boot = csi(r[[f"sat__{a}" for a in attrs]].rename(columns=lambda c: c[5:]),
               weights=weights, n_boot=4000, seed=3)
    assert row["value"] == pytest.approx(boot.value, rel=1e-12)
    width, boot_width = row["ci_high"] - row["ci_low"], boot.ci_high - boot.ci_low
    assert width == pytest.approx(boot_width, rel=0.10)
    # ignoring the covariances would be clearly too narrow: the cross terms matter here
    assert row["se"] > 1.2 * math.sqrt(sum(
        (weights[a] / 10) ** 2 * float(np.nanvar(100 * (r[f"sat__{a}"] - 1) / 9, ddof=1))
        / r[f"sat__{a}"].notna().sum() for a in attrs))


# --- multiplicity adjustment ------------------------------------------------------------------

@pytest.mark.parametrize(("method", "sm_method"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjust_p_matches_statsmodels_per_family(method, sm_method):
    rng = np.random.default_rng(5)
    p = rng.uniform(0, 0.2, 200) ** 2
    p[rng.random(200) < 0.1] = np.nan
    p[:6] = [0.01, 0.01, 0.02, 0.5, 1.0, 0.0]  # ties, 1 and 0
    fam = pd.DataFrame({"quarter": rng.choice(["2025Q1", "2025Q2"], 200),
                        "metric": rng.choice(["nps", "csi", "ces_mean"], 200)})
    got = adjust_p(p, fam, method=method)
    for _, idx in fam.groupby(["quarter", "metric"]).indices.items():
        tested = idx[~np.isnan(p[idx])]
        want = multipletests(p[tested], method=sm_method)[1]
        np.testing.assert_allclose(got[tested], want, rtol=1e-14)
        assert np.isnan(got[idx[np.isnan(p[idx])]]).all()


def test_table_adjustment_is_per_quarter_and_metric(simulated_table):
    *_, table = simulated_table
    tested = table[table["p_value"].notna() & table["metric"].isin(["nps", "csi", "compliance"])]
    assert len(tested)
    for _, g in tested.groupby(["quarter", "metric"]):   # (multipletests is slow: a gc per call)
        want = multipletests(g["p_value"].to_numpy(), method="holm")[1]
        np.testing.assert_allclose(g["p_adjusted"].to_numpy(), want, rtol=1e-14)
        np.testing.assert_array_equal(g["significant"].to_numpy(), want < 0.05)
    r, m, v, _ = simulated_table
    bh = summarise(r, attributes=["a", "b", "c"], memberships=m, visits=v, adjustment="bh")
    assert (bh["p_adjusted"].fillna(0) <= table["p_adjusted"].fillna(0) + 1e-15).all()


# --- reporting rules ----------------------------------------------------------------------------

def _nps_only(sizes: dict[tuple[str, str], int]) -> pd.DataFrame:
    rows = [(q, s, 10 if i % 2 else 3) for (q, s), k in sizes.items() for i in range(k)]
    return pd.DataFrame(rows, columns=["quarter", "segment", "nps"])


def test_base_flags_and_no_change_across_a_suppressed_side():
    sizes = {("2025Q1", "a"): 29, ("2025Q2", "a"): 30,     # suppressed -> small
             ("2025Q1", "b"): 99, ("2025Q2", "b"): 100,    # small -> ok
             ("2025Q1", "c"): 200, ("2025Q2", "c"): 20}    # ok -> suppressed
    t = summarise(_nps_only(sizes), attributes=[], ces_scale=None).set_index(
        ["quarter", "segment"])
    assert t["base_flag"].to_dict() == {
        ("2025Q1", "a"): "suppressed", ("2025Q1", "b"): "small", ("2025Q1", "c"): "ok",
        ("2025Q2", "a"): "small", ("2025Q2", "b"): "ok", ("2025Q2", "c"): "suppressed"}
    # a: previous quarter suppressed -> no previous value, no change
    assert t.loc[("2025Q2", "a"), ["prev_value", "change", "p_value"]].isna().all()
    # c: this quarter suppressed -> previous value shown, but no change or test
    assert t.loc[("2025Q2", "c"), "prev_value"] == pytest.approx(t.loc[("2025Q1", "c"), "value"])
    assert t.loc[("2025Q2", "c"), ["change", "change_se", "p_adjusted"]].isna().all()
    assert not t.loc[("2025Q2", "c"), "significant"]
    # b compared, alone in its family: Holm leaves its p-value as it is
    assert t.loc[("2025Q2", "b"), "p_adjusted"] == t.loc[("2025Q2", "b"), "p_value"]
    # thresholds are configurable
    t2 = summarise(_nps_only(sizes), attributes=[], ces_scale=None, base_suppress=10,
                   base_small=25)
    assert set(t2["base_flag"]) == {"ok", "small"}


def test_redact_blanks_suppressed_rows_and_keeps_n():
    sizes = {("2025Q1", "a"): 29, ("2025Q2", "a"): 40, ("2025Q1", "b"): 150,
             ("2025Q2", "b"): 150}
    t = summarise(_nps_only(sizes), attributes=[], ces_scale=None)
    before = t.copy()
    out = redact(t)
    pd.testing.assert_frame_equal(t, before)              # the input is not changed
    hidden = out["base_flag"] == "suppressed"
    assert hidden.sum() == 1
    blank = ["value", "ci_low", "ci_high", "se", "prev_value", "change", "change_se",
             "p_value", "p_adjusted"]
    assert out.loc[hidden, blank].isna().all().all()
    assert out.loc[hidden, "n"].tolist() == [29.0]
    assert not out.loc[hidden, "significant"].any()
    pd.testing.assert_frame_equal(out.loc[~hidden, t.columns], t[~hidden])
    # one column more: why a row is blank, for the pages' footnotes
    assert list(out.columns) == [*t.columns, "suppressed_reason"]
    assert out.loc[hidden, "suppressed_reason"].tolist() == ["small_base"]
    assert set(out.loc[~hidden, "suppressed_reason"]) == {""}


def test_memberships_count_a_response_in_every_segment_of_its_client():
    r = pd.DataFrame({"quarter": "2025Q1", "client_id": ["c1", "c2", "c3", "c4"],
                      "nps": [10, 0, 9, 8]})
    m = pd.DataFrame({"quarter": ["2025Q1"] * 4 + ["2025Q2"],
                      "client_id": ["c1", "c1", "c2", "c3", "c4"],
                      "segment": ["private", "investors", "private", "investors", "private"]})
    t = summarise(r, attributes=[], ces_scale=None, memberships=m, base_suppress=0,
                  base_small=0).set_index("segment")
    # c1 counts in both; c4 is a member only in 2025Q2, so is left out of 2025Q1
    assert t["n"].to_dict() == {"investors": 2.0, "private": 2.0}
    assert t["value"].to_dict() == {"investors": 100.0, "private": 0.0}
    # duplicated memberships do not count twice
    t2 = summarise(r, attributes=[], ces_scale=None, memberships=pd.concat([m, m]),
                   base_suppress=0, base_small=0).set_index("segment")
    assert t2["n"].to_dict() == t["n"].to_dict()
    # a segment column on the responses wins over the memberships
    own = summarise(r.assign(segment="x"), attributes=[], ces_scale=None, memberships=m,
                    base_suppress=0, base_small=0)
    assert own["segment"].tolist() == ["x"] and own["n"].tolist() == [4.0]


def test_weighted_nps_uses_the_kish_base():
    r = pd.DataFrame({"quarter": "2025Q1", "segment": "A", "nps": [10, 10, 0, 0],
                      "weight": [1.0, 1.0, 1.0, 3.0]})
    row = summarise(r, attributes=[], ces_scale=None).iloc[0]
    # shares p = 2/6, d = 4/6 -> NPS = −33.33; n = 6²/(1 + 1 + 1 + 9) = 3
    assert row["value"] == pytest.approx(-100 / 3)
    assert row["n"] == 3.0
    # the design effect of the weights: 4 answers on an effective base of 3
    assert row["deff"] == pytest.approx(4 / 3)


def test_design_effect_of_weighted_ces_and_one_without_weights():
    r = pd.DataFrame({"quarter": "2025Q1", "segment": "A", "nps": [10, 9, 0, 5, 7],
                      "ces": [7, 6, 2, 4, 5], "weight": [1.0, 2.0, 2.0, 1.0, 4.0]})
    t = summarise(r, attributes=[], ces_scale=(1, 7), base_suppress=0,
                  base_small=0).set_index("metric")
    # Σw = 10, Σw² = 26: Kish base 100/26, 5 answers -> deff 5 · 26/100 = 1.3 for NPS and CES
    for metric in ("nps", "ces_mean", "ces_easy", "ces_net_easy"):
        assert t.loc[metric, "n"] == pytest.approx(100 / 26)
        assert t.loc[metric, "deff"] == pytest.approx(1.3)
    plain = summarise(r.drop(columns="weight"), attributes=[], ces_scale=(1, 7),
                      base_suppress=0, base_small=0)
    assert plain["deff"].eq(1.0).all()
    # hidden with the value for executives
    hidden = redact(summarise(r, attributes=[], ces_scale=(1, 7)))
    assert hidden["value"].isna().all() and hidden["deff"].isna().all()


# --- one aggregation pass, whatever the number of groups ------------------------------------

def test_one_query_per_table_whatever_the_number_of_groups(monkeypatch):
    from vipquality.metrics.sufficient import engine_duckdb

    calls = []
    real_cursor = engine_duckdb.cursor

    class Counting:
        def __init__(self):
            self.con = real_cursor()

        def execute(self, sql, *args):
            calls.append(sql)
            return self.con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.con, name)

    monkeypatch.setattr(engine_duckdb, "cursor", Counting)
    r, m, v = simulated(n=3000, clients=600)
    r["segment"] = [f"s{i % 400}" for i in range(len(r))]          # 400 segments
    r["quarter"] = np.repeat(["2024Q4", "2025Q1", "2025Q2"], 1000)   # × 3 quarters
    table = summarise(r, attributes=["a", "b", "c"], csi_weights="equal")
    assert table[["quarter", "segment"]].drop_duplicates().shape[0] == 1200
    assert len(calls) == 1
    summarise(r, attributes=["a", "b", "c"], visits=v.assign(segment="s1"))
    assert len(calls) == 3                                     # responses + visits


# --- input checks ---------------------------------------------------------------------------------

def test_invalid_inputs_are_reported():
    r = tiny()
    bad = r.assign(nps=pd.array([11] + [5] * 15, dtype="Int8"))
    with pytest.raises(DataError, match="nps must be an integer from 0 to 10"):
        summarise(bad, attributes=ATTRS)
    with pytest.raises(DataError, match="pass memberships"):
        summarise(r.drop(columns="segment"), attributes=ATTRS)
    with pytest.raises(DataError, match="ces"):
        summarise(r.drop(columns="ces"), attributes=ATTRS)
    assert "ces_mean" not in set(summarise(r.drop(columns="ces"), attributes=ATTRS,
                                           ces_scale=None)["metric"])
    with pytest.raises(DataError, match="importance"):
        summarise(r.drop(columns="imp__speed"), attributes=ATTRS)
    with pytest.raises(ValueError, match="derived"):
        summarise(r, attributes=ATTRS, csi_weights="derived")
    with pytest.raises(ValueError, match="adjustment"):
        summarise(r, attributes=ATTRS, adjustment="bonferroni")
    with pytest.raises(DataError, match="yes / no / na"):
        summarise(r, attributes=ATTRS, visits=pd.DataFrame({
            "quarter": ["2025Q1"], "segment": ["A"], "visit_id": ["v"], "result": ["maybe"]}))


def _error(engine: str, *args, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        sufficient_stats(*args, engine=engine, **kwargs)
    return info.value


def _same_error(*args, **kwargs) -> DataError:
    """DuckDB checks inside its aggregation pass, pandas before it: the same error either way."""
    duck, pand = _error("duckdb", *args, **kwargs), _error("pandas", *args, **kwargs)
    assert (str(duck), duck.row, duck.file, duck.column) == \
        (str(pand), pand.row, pand.file, pand.column)
    return duck


@pytest.mark.parametrize("column, value, problem", [
    ("sat__respect", 11.0, "sat__respect must be a number from 1 to 10"),
    ("sat__speed", 0.0, "sat__speed must be a number from 1 to 10"),
    ("imp__speed", -1.0, "imp__speed must be a number from 1 to 10"),
    ("nps", 7.5, "nps must be an integer from 0 to 10"),
    ("ces", 8.0, "ces must be an integer from 1 to 7"),
    ("weight", -0.5, "weight must be a number from 0 to inf"),
    ("weight", NAN, "weight is missing"),
    ("sat__speed", np.inf, "sat__speed must be a number from 1 to 10"),
])
def test_a_bad_answer_is_named_by_row_and_column_whatever_the_engine(column, value, problem):
    r = tiny().assign(weight=1.0, source_file="survey.csv", source_row=np.arange(2, 18))
    r["nps"] = r["nps"].astype("float64")  # a float column can hold a non-integer NPS
    r.loc[[6, 11], column] = value         # rows 6 and 11 are bad: the first is named
    err = _same_error(r, attributes=ATTRS)
    assert err.problem == problem and err.column == column
    assert (err.file, err.row) == ("survey.csv", 8)
    # without source rows, the position in the frame
    err = _same_error(r.drop(columns=["source_file", "source_row"]), attributes=ATTRS)
    assert "(row 6 of the frame)" in err.problem


def test_bad_answers_are_found_in_rows_left_out_of_every_group():
    r = tiny()
    r.loc[3, "segment"] = None            # no group: not counted, but still checked
    r.loc[3, "sat__speed"] = 12.0
    err = _same_error(r, attributes=ATTRS)
    assert err.column == "sat__speed" and "(row 3 of the frame)" in err.problem
    # a response whose client has no segment membership is checked as well
    m = r[["quarter", "client_id"]].drop_duplicates().iloc[1:].assign(segment="all")
    err = _same_error(r.drop(columns="segment").assign(client_id=[f"c{i}" for i in range(16)]),
                      attributes=ATTRS, memberships=m.assign(client_id="c1"))
    assert err.column == "sat__speed"
    # good data: the rows without a group are left out, as before
    ok = sufficient_stats(tiny().assign(segment=lambda f: f["segment"].where(f.index != 3)),
                          attributes=ATTRS)
    assert ok.loc[("2025Q1", "A"), "nps_n"] == 3


def _checklist() -> pd.DataFrame:
    return pd.DataFrame({
        "quarter": "2025Q1", "segment": "A",
        "visit_id": ["v1", "v1", "v1", "v2", "v2", "v3"],
        "item_id": ["i1", "i2", "i3", "i1", "i2", "i1"],
        "result": ["yes", "no", None, "yes", "no", "na"],
        "weight": [3.0, 1.0, 1.0, NAN, 1.0, 1.0],
        "critical": [False, False, False, False, True, False],
        "source_file": "shopper.xlsx", "source_row": np.arange(2, 8),
    })


def test_visit_checks_name_the_row_whatever_the_engine():
    v = _checklist()
    err = _same_error(None, visits=v.assign(item_id=["i1", "i2", "i1", "i1", "i2", "i1"]))
    assert err.problem == "the same item is checked twice in one visit"
    assert (err.column, err.row, err.value) == ("item_id", 4, "i1")
    err = _same_error(None, visits=v.assign(result=["yes", "no", "na", "maybe", "no", "na"]))
    assert (err.column, err.row, err.value) == ("result", 5, "maybe")
    err = _same_error(None, visits=v.assign(weight=[1.0, 1.0, -2.0, 1.0, 1.0, 1.0]))
    assert err.column == "weight" and err.row == 4
    # a visit without a group is still checked
    bad = v.assign(segment=[None] * 3 + ["A"] * 3, item_id=["i1", "i1", "i2"] + ["i1", "i2", "i1"])
    assert _same_error(None, visits=bad).row == 3
    # missing item ids: two in one visit are a duplicate, as pandas' duplicated() says
    two_missing = v.assign(item_id=["i1", None, None, "i1", "i2", "i1"])
    assert _same_error(None, visits=two_missing).row == 4


def test_raw_visits_read_in_sql_equal_the_prepared_ones():
    # missing result = n.a., missing weight = 1, no weight / critical column: all as in pandas
    v = _checklist()
    for frame in (v, v.drop(columns="weight"), v.drop(columns="critical"),
                  v.drop(columns="item_id"), v.assign(result=v["result"].astype("category"))):
        duck = sufficient_stats(None, visits=frame, engine="duckdb")
        pand = sufficient_stats(None, visits=frame, engine="pandas")
        assert_same_stats(duck, pand)
        assert duck["cmp_n"].iloc[0] == 2  # v3 has nothing applicable


def test_compliance_visit_scores():
    v = pd.DataFrame({
        "quarter": "2025Q1", "segment": "A",
        "visit_id": ["v1", "v1", "v1", "v2", "v2", "v3", "v4", "v4"],
        "item_id": ["i1", "i2", "i3", "i1", "i2", "i1", "i1", "i2"],
        "result": ["yes", "no", "na", "yes", "no", "na", "yes", "yes"],
        "weight": [3.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        "critical": [False, False, False, False, True, False, False, False],
    })
    row = summarise(None, attributes=[], visits=v, base_suppress=0, base_small=0).iloc[0]
    # v1: 100·3/4 = 75; v2: critical "no" -> 0; v3: nothing applicable -> no score; v4: 100
    assert row["metric"] == "compliance" and row["n"] == 3.0
    assert row["value"] == pytest.approx((75 + 0 + 100) / 3)
    lenient = summarise(None, attributes=[], visits=v, critical_fails_visit=False,
                        base_suppress=0, base_small=0).iloc[0]
    assert lenient["value"] == pytest.approx((75 + 50 + 100) / 3)


# --- from a workspace ---------------------------------------------------------------------

def test_summarise_workspace_wires_store_and_settings(monkeypatch):
    store = importlib.import_module("vipquality.data.store")
    r, m, v = simulated()
    clients = m[["quarter", "client_id"]].drop_duplicates().assign(branch="north")
    loaded = []

    def loader(frame, name):
        def load(workspace, quarters=None):
            loaded.append((name, None if quarters is None else tuple(quarters)))
            return frame if quarters is None else frame[frame["quarter"].isin(quarters)]
        return load

    monkeypatch.setattr(store, "load_responses", loader(r, "responses"))
    monkeypatch.setattr(store, "load_memberships", loader(m, "memberships"))
    monkeypatch.setattr(store, "load_visits", loader(v, "visits"))
    monkeypatch.setattr(store, "load_clients", loader(clients, "clients"))
    item = SimpleNamespace
    ws = SimpleNamespace(
        instrument=SimpleNamespace(
            attribute_ids=["a", "b", "c"], nps=item(scale=(0, 10)), ces=item(scale=(1, 7)),
            csi_scale=(1, 10), importance_scale=(1, 10), csi_weights="stated"),
        reporting=SimpleNamespace(confidence=0.9, base_suppress=30, base_small=100,
                                  adjustment="bh", trend_quarters=8),
        critical_item_fails_visit=True,
        quarters=lambda: ["2024Q4", "2025Q1", "2025Q2"],
    )
    t = summarise_workspace(ws, quarters=["2025Q1", "2025Q2"])
    assert set(t["quarter"]) == {"2025Q1", "2025Q2"}
    assert ("responses", ("2024Q4", "2025Q1", "2025Q2")) in loaded   # the quarter before, too
    assert t.loc[t["quarter"] == "2025Q1", "change"].notna().any()
    want = summarise(r, attributes=["a", "b", "c"], memberships=m, visits=v, confidence=0.9,
                     adjustment="bh")
    want = want[want["quarter"] != "2024Q4"].reset_index(drop=True)
    pd.testing.assert_frame_equal(t, want)
    # a grouping column the responses lack comes from the clients table; visits lack it
    by_branch = summarise_workspace(ws, by=["quarter", "branch"])
    assert set(by_branch["branch"]) == {"north"} and "compliance" not in set(by_branch["metric"])


def test_nan_that_duckdb_reads_as_a_number_counts_as_missing_as_before():
    # An Arrow-backed float column can hold NaN (not null); DuckDB then sees a number that is
    # off every scale. The pandas checks treat it as missing, and so do the sums.
    pa = pytest.importorskip("pyarrow")
    r = tiny()
    values = r["sat__speed"].to_numpy(dtype="float64")
    r["sat__speed"] = pd.arrays.ArrowExtensionArray(pa.array(values, from_pandas=False))
    duck = sufficient_stats(r, attributes=ATTRS, engine="duckdb")
    pand = sufficient_stats(tiny(), attributes=ATTRS, engine="pandas")
    assert_same_stats(duck, pand)
