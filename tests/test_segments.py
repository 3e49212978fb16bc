"""Segment evaluation and memberships on a small hand-built CRM extract.

Every expected membership below was worked out by hand from surveys/segments.yaml, for the
quarter 2026Q1 (as-of date 2026-03-31): 2025-12-31 is exactly 90 days before it, 2025-10-02
exactly 180 days.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vipquality.config import All, Any, Compare, Not, Quarter, Segment, SegmentRules, load_workspace
from vipquality.data.segments import assign_segments, evaluate, segment_sizes
from vipquality.errors import DataError

AS_OF = dt.date(2026, 3, 31)
NA = np.nan


@pytest.fixture(scope="module")
def rules() -> SegmentRules:
    return load_workspace().segments


def _clients() -> pd.DataFrame:
    rows = [
        # id    type           tier       balance    revenue        spend    lines last_tx       products                  ltv         purchases
        ("c01", "individual", "Premium", 5_000_000, NA, 3000.01, 5, "2025-12-31", "Deposits; Investments", 5_000_000, 4),
        ("c02", "individual", "Luxury", 1_000_000, NA, 3000, 3, "2025-12-30", "investments", 10_000_000, 5),
        ("c03", "individual", "Private", 3_000_000, NA, 2500, 6, "2025-12-30", "investments_fund", 5_000_001, 4),
        ("c04", "legal_entity", None, 0, 400_000_000, NA, NA, None, None, NA, NA),
        ("c05", "legal_entity", None, 0, 400_000_001, NA, NA, "2025-10-02", None, 100, 5),
        ("c06", "legal_entity", None, 0, 1_000_000_000, NA, NA, "2025-10-01", None, NA, NA),
        ("c07", "legal_entity", None, 0, 1_000_000_001, NA, NA, "2026-04-15", "", 1e9, 12),
        ("c08", "legal_entity", None, NA, NA, NA, NA, None, None, NA, NA),
        ("c09", "individual", None, NA, NA, 3500, 5, None, " INVESTMENTS ;cards", 20_000_001, 0),
        ("c10", "individual", "Premium", 3_000_000, NA, NA, 2, None, "cards", 20_000_000, 5),
    ]
    cols = ["client_id", "client_type", "tier", "balance", "revenue", "avg_monthly_spend_3m",
            "lines", "last_transaction", "products", "lifetime_value", "purchases_12m"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["manager_id"] = "m1"
    return frame


EXPECTED = {
    "all": {"c01", "c03", "c04", "c05", "c06", "c07", "c08", "c09", "c10"},  # c02 outside
    "premium": {"c01", "c10"},
    "luxury": set(),                       # c02 is Luxury but outside the universe
    "private": {"c03"},
    "le_sme": {"c04"},                     # exactly 400 m
    "le_medium": {"c05", "c06"},           # 400 m + 1 and exactly 1 bn
    "le_corporate": {"c07"},               # 1 bn + 1; c08 (no revenue) in no block
    "active_90d": {"c01", "c07"},          # exactly 90 days; a date after the quarter end
    "lapsing": {"c06"},                    # 181 days; c05 at exactly 180 is not lapsing
    "individual_select": {"c01", "c09"},   # c03 has 6 lines, c10 no spend, c02 spend = 3000
    "investment_clients": {"c01", "c09"},  # list entry, any case; not "investments_fund"
    "ltv_low_freq_low": {"c01"},           # 5 m and 4 purchases: both upper bounds included
    "ltv_low_freq_high": {"c05"},
    "ltv_mid_freq_low": {"c03"},
    "ltv_mid_freq_high": {"c10"},          # exactly 20 m
    "ltv_high_freq_low": {"c09"},
    "ltv_high_freq_high": {"c07"},
}


def _members(m: pd.DataFrame) -> dict[str, set[str]]:
    return {seg: set(g["client_id"]) for seg, g in m.groupby("segment")}


def test_assign_segments_hand_checked(rules):
    clients = _clients()
    before = clients.copy()
    m = assign_segments(clients, rules, "2026Q1")
    pd.testing.assert_frame_equal(clients, before)  # caller's data untouched
    assert list(m.columns) == ["quarter", "client_id", "segment"]
    assert set(m["quarter"]) == {"2026Q1"}
    got = _members(m)
    for seg, expected in EXPECTED.items():
        assert got.get(seg, set()) == expected, seg
    assert set(got) <= set(EXPECTED)
    assert not m.duplicated().any()
    # `all` first, then file order; clients in input order within a segment
    assert m["segment"].iloc[0] == "all"
    assert list(m.loc[m["segment"] == "all", "client_id"])[:3] == ["c01", "c03", "c04"]
    seg_order = list(dict.fromkeys(m["segment"]))
    assert seg_order == [s for s in ["all", *rules.ids] if EXPECTED[s]]


def test_outside_universe_belongs_to_nothing(rules):
    m = assign_segments(_clients(), rules, "2026Q1")
    assert "c02" not in set(m["client_id"])


def test_no_universe_means_everyone():
    r = SegmentRules(None, (Segment("x", "X", "f", False, Compare("lines", "ge", 5)),))
    m = assign_segments(_clients(), r, Quarter(2026, 1))
    assert len(m[m.segment == "all"]) == 10
    assert set(m[m.segment == "x"].client_id) == {"c01", "c03", "c09"}


def test_recency_counts_from_the_quarter_end(rules):
    clients = _clients()
    # 2026Q2 ends 2026-06-30: c01's 2025-12-31 is now 181 days back, c03's 182
    m = _members(assign_segments(clients, rules, "2026Q2"))
    assert m["active_90d"] == {"c07"} and m["lapsing"] == {"c01", "c03", "c05", "c06"}
    # with an April fiscal year, "2026Q1" is April–June 2026: the same as-of date
    fiscal = SegmentRules(rules.universe, rules.segments, fiscal_year_start=4)
    m = _members(assign_segments(clients, fiscal, "2026Q1"))
    assert m["lapsing"] == {"c01", "c03", "c05", "c06"}
    m = _members(assign_segments(clients, rules, Quarter(2026, 1, 4)))
    assert m["lapsing"] == {"c01", "c03", "c05", "c06"}


def test_dates_of_any_form(rules):
    clients = _clients()
    dates = pd.to_datetime(clients["last_transaction"])
    for form in (dates, dates.dt.tz_localize("Europe/Moscow") + pd.Timedelta(hours=23),
                 dates.dt.date.astype(object)):
        clients["last_transaction"] = form
        got = evaluate(rules.get("active_90d").rule, clients, AS_OF)
        assert set(clients.client_id[got]) == {"c01", "c07"}


def test_numbers_given_as_text(rules):
    clients = _clients()
    clients["revenue"] = clients["revenue"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
    m = _members(assign_segments(clients, rules, "2026Q1"))
    assert m["le_sme"] == {"c04"} and m["le_medium"] == {"c05", "c06"}


def test_missing_column_names_it(rules):
    with pytest.raises(DataError, match="'revenue'") as info:
        assign_segments(_clients().drop(columns="revenue"), rules, "2026Q1")
    assert info.value.column == "revenue"


def test_text_in_numeric_column(rules):
    clients = _clients().astype({"revenue": object})
    clients.loc[3, "revenue"] = "lots"
    with pytest.raises(DataError, match="not numbers") as info:
        assign_segments(clients, rules, "2026Q1")
    assert (info.value.column, info.value.value) == ("revenue", "lots")


def test_bad_date(rules):
    clients = _clients()
    clients.loc[0, "last_transaction"] = "31/12/2025"
    with pytest.raises(DataError, match="not dates") as info:
        assign_segments(clients, rules, "2026Q1")
    assert info.value.value == "31/12/2025"


@pytest.mark.parametrize("change, problem", [
    (lambda c: c.drop(columns="client_id"), "no 'client_id'"),
    (lambda c: c.assign(client_id=["c01"] * 10), "unique"),
    (lambda c: c.assign(client_id=[None] + list(c.client_id[1:])), "empty client_id"),
    (lambda c: c.assign(quarter="2025Q4"), "other quarters"),
])
def test_client_id_and_quarter_checks(rules, change, problem):
    with pytest.raises(DataError, match=problem):
        assign_segments(change(_clients()), rules, "2026Q1")


def test_bad_quarter(rules):
    with pytest.raises(ValueError, match="2026Q3"):
        assign_segments(_clients(), rules, "2026-3")


def test_empty_extract(rules):
    m = assign_segments(_clients().iloc[:0], rules, "2026Q1")
    assert m.empty and list(m.columns) == ["quarter", "client_id", "segment"]


def test_segment_sizes(rules):
    m = pd.concat([assign_segments(_clients(), rules, "2026Q1"),
                   assign_segments(_clients().iloc[:3], rules, "2025Q4")])
    sizes = segment_sizes(m, rules)
    assert list(sizes.columns) == ["quarter", "segment", "clients"]
    assert list(sizes["quarter"].unique()) == ["2025Q4", "2026Q1"]
    q1 = sizes[sizes.quarter == "2026Q1"].set_index("segment")["clients"]
    assert list(q1.index) == ["all", *rules.ids]
    assert q1.to_dict() == {s: len(v) for s, v in EXPECTED.items()}
    assert q1["luxury"] == 0
    plain = segment_sizes(m)
    assert "luxury" not in set(plain.segment)
    assert plain.loc[(plain.quarter == "2025Q4") & (plain.segment == "all"), "clients"].item() == 2
    with pytest.raises(DataError, match="segment"):
        segment_sizes(m.drop(columns="segment"))


# --------------------------------------------------------------------------------------------
# Operators
# --------------------------------------------------------------------------------------------

FRAME = pd.DataFrame({
    "x": [1.0, 2.0, NA, 4.0],
    "t": ["a", "B", None, "  "],
    "d": ["2026-01-01", None, "2026-03-31", "2025-12-31"],
    "b": pd.array([True, False, None, True], dtype="boolean"),
})


@pytest.mark.parametrize("cond, expected", [
    (Compare("x", "eq", 2), [False, True, False, False]),
    (Compare("x", "ne", 2), [True, False, False, True]),          # missing never matches
    (Compare("x", "in", (1, 4)), [True, False, False, True]),
    (Compare("x", "not_in", (1, 4)), [False, True, False, False]),
    (Compare("x", "between", (2, 4)), [False, True, False, True]),  # both ends included
    (Compare("x", "lt", 2), [True, False, False, False]),
    (Compare("x", "ge", 2), [False, True, False, True]),
    (Compare("x", "is_null", True), [False, False, True, False]),
    (Compare("x", "is_null", False), [True, True, False, True]),
    (Compare("t", "is_null", True), [False, False, True, True]),   # blank text is missing
    (Compare("t", "eq", "B"), [False, True, False, False]),        # case kept for eq
    (Compare("t", "ne", "B"), [True, False, False, False]),
    (Compare("t", "contains", "b"), [False, True, False, False]),  # case ignored
    (Compare("d", "lt", dt.date(2026, 1, 1)), [False, False, False, True]),
    (Compare("d", "between", (dt.date(2026, 1, 1), dt.date(2026, 3, 31))),
     [True, False, True, False]),
    (Compare("d", "within_days", 0), [False, False, True, False]),
    (Compare("d", "older_than_days", 88), [True, False, False, True]),  # Jan 1: 89 days back
    (Compare("d", "older_than_days", 89), [False, False, False, True]),
    (Compare("b", "eq", True), [True, False, False, True]),
    (Not(Compare("x", "eq", 2)), [True, False, False, True]),
    (Not(Compare("x", "is_null", True)), [True, True, False, True]),
    (Any((Compare("x", "eq", 9), Compare("t", "eq", "a"))), [True, False, False, False]),
    (All((Compare("x", "gt", 0), Compare("t", "is_null", True))), [False, False, False, True]),
    (Not(Any((Compare("x", "gt", 3), Compare("t", "eq", "a")))), [False, True, False, False]),
    (All(()), [True] * 4),
    (Any(()), [False] * 4),
])
def test_operators(cond, expected):
    got = evaluate(cond, FRAME, AS_OF)
    assert got.dtype == bool and got.index.equals(FRAME.index)
    assert got.tolist() == expected


def test_contains_matches_whole_entries():
    products = pd.DataFrame({"p": ["Investments", "deposits;investments", "investments_fund",
                                    "cards; INVESTMENTS ; loans", "my investments", None]})
    got = evaluate(Compare("p", "contains", "investments"), products, AS_OF)
    assert got.tolist() == [True, True, False, True, False, False]


def test_evaluate_keeps_index():
    frame = FRAME.set_index(pd.Index([10, 20, 30, 40]))
    assert evaluate(Compare("x", "gt", 1), frame, AS_OF).index.tolist() == [10, 20, 30, 40]


# --------------------------------------------------------------------------------------------
# Property: All is &, Any is |, Not inverts wherever the fields are present
# --------------------------------------------------------------------------------------------

_numbers = st.integers(-3, 3)
_letters = st.sampled_from(["a", "b", "A", "a;b"])
_leaves = st.one_of(
    st.builds(Compare, st.just("x"), st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge"]),
              _numbers),
    st.builds(lambda a, b: Compare("x", "between", (min(a, b), max(a, b))), _numbers, _numbers),
    st.builds(lambda v: Compare("x", "in", tuple(v)), st.lists(_numbers, min_size=1, max_size=3)),
    st.builds(Compare, st.just("y"), st.sampled_from(["eq", "ne"]), _letters),
    st.builds(lambda v: Compare("y", "not_in", tuple(v)),
              st.lists(_letters, min_size=1, max_size=2)),
    st.builds(Compare, st.just("y"), st.just("contains"), st.sampled_from(["a", "b"])),
    st.builds(Compare, st.sampled_from(["x", "y"]), st.just("is_null"), st.booleans()),
)
_conditions = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.builds(lambda xs: All(tuple(xs)), st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: Any(tuple(xs)), st.lists(inner, min_size=1, max_size=3)),
        st.builds(Not, inner)),
    max_leaves=6)
_frames = st.lists(
    st.tuples(st.one_of(st.none(), _numbers), st.one_of(st.none(), _letters)),
    max_size=25,
).map(lambda rows: pd.DataFrame({"x": pd.Series([r[0] for r in rows], dtype="float64"),
                                 "y": pd.Series([r[1] for r in rows], dtype=object)}))


@settings(max_examples=200, deadline=None)
@given(_frames, _conditions, _conditions)
def test_combinators_are_boolean_algebra(frame, a, b):
    ea, eb = evaluate(a, frame, AS_OF), evaluate(b, frame, AS_OF)
    assert evaluate(All((a, b)), frame, AS_OF).equals(ea & eb)
    assert evaluate(Any((a, b)), frame, AS_OF).equals(ea | eb)
    present = frame[sorted(a.fields)].notna().all(axis=1)
    not_a = evaluate(Not(a), frame, AS_OF)
    assert (not_a[present] == ~ea[present]).all()
    assert not evaluate(Not(Not(a)), frame, AS_OF)[present].ne(ea[present]).any()
