"""The what-if on the driver model (vipquality.metrics.whatif): hand-computed linear cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vipquality as vq
from vipquality.errors import DataError
from vipquality.metrics.whatif import outcome_score, simulate

ATTRS = ["competence", "response_speed", "availability", "promises_kept", "ready_solutions",
         "respect", "confidentiality", "digital_channels"]


def test_simulate_exact_linear_case_by_hand():
    # y = 2a − b + 1 exactly: shifting mean a by 5 and b by 2 changes mean y by 2·5 − 2 = 8,
    # and every bootstrap resample recovers the same slopes, so the interval is the point.
    X = pd.DataFrame({"a": [0., 10, 20, 30, 40, 15], "b": [5., 0, 10, 5, 20, 3]})
    y = 2 * X["a"] - X["b"] + 1
    r = simulate(X, y, {"a": 5, "b": 2}, n_boot=50, seed=1)
    assert r["change"] == pytest.approx(8.0)
    assert r["baseline"] == pytest.approx(float(y.mean()))
    assert r["predicted"] == pytest.approx(float(y.mean()) + 8)
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(8.0), pytest.approx(8.0))
    assert r["r_squared"] == pytest.approx(1.0)
    assert r["coef"].to_dict() == {"a": pytest.approx(2.0), "b": pytest.approx(-1.0)}
    assert r["n"] == 6


def test_simulate_matches_ols_and_drops_incomplete_rows():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(50, 10, size=(200, 3)), columns=["a", "b", "c"])
    y = 0.8 * X["a"] + 0.3 * X["b"] + rng.normal(0, 5, 200)
    X.iloc[0, 1] = np.nan
    r = simulate(X, y, {"b": 10}, n_boot=300, seed=0)
    keep = X.notna().all(axis=1)
    D = np.column_stack([np.ones(keep.sum()), X[keep]])
    beta = np.linalg.lstsq(D, y[keep], rcond=None)[0]
    assert r["n"] == 199
    assert r["change"] == pytest.approx(10 * beta[2])
    assert r["ci_low"] < r["change"] < r["ci_high"]
    assert r["ci_low"] < 3 < r["ci_high"]        # the planted 0.3 × 10


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(-20, 20), scale=st.floats(0.1, 5),
       offset=st.floats(-50, 50))
def test_simulate_is_linear_in_the_shift_and_ignores_where_the_scale_starts(seed, shift, scale,
                                                                            offset):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(50, 15, size=(60, 2)), columns=["a", "b"])
    y = rng.normal(0, 50, 60) + 0.5 * X["a"]
    one = simulate(X, y, {"a": 1.0}, n_boot=0)["change"]
    # the change is the slope times the shift, whatever the shift
    assert simulate(X, y, {"a": shift}, n_boot=0)["change"] == pytest.approx(
        shift * one, abs=1e-9)
    # moving every rating by a constant changes no slope; rescaling X rescales them
    assert simulate(X + offset, y, {"a": shift}, n_boot=0)["change"] == pytest.approx(
        shift * one, abs=1e-6)
    assert simulate(X * scale, y, {"a": shift * scale}, n_boot=0)["change"] == pytest.approx(
        shift * one, rel=1e-6, abs=1e-6)


def test_simulate_errors():
    X = pd.DataFrame({"a": [1., 2, 3]})
    with pytest.raises(DataError, match="not among the attributes"):
        simulate(X, [1, 2, 3], {"z": 1})
    with pytest.raises(DataError, match="at least 3 complete rows"):
        simulate(X.iloc[:2], [1, 2], {"a": 1})


def test_outcome_score():
    assert outcome_score([0, 6, 7, 8, 9, 10], "nps").tolist() == [-100, -100, 0, 0, 100, 100]
    assert outcome_score([1, 10, 5.5], "overall", (1, 10)).tolist() == [0, 100, 50]


def _responses(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """Ratings 1–10; overall = 1 + 0.5 · (response_speed − 1) + 0.25 · (competence − 1)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"sat__{a}": rng.integers(1, 11, n).astype(float) for a in ATTRS})
    frame["overall"] = (1 + 0.5 * (frame["sat__response_speed"] - 1)
                        + 0.25 * (frame["sat__competence"] - 1))
    frame["nps"] = rng.integers(0, 11, n).astype(float)
    return frame


def test_what_if_attribute_to_target_hand_computed():
    # On the 0–100 scales (both items 1–10): overall_perf = 0.5 · speed_perf + 0.25 · comp_perf,
    # so moving speed's performance from its mean to 80 moves overall by 0.5 · (80 − mean).
    resp = _responses()
    speed_perf = (100 * (resp["sat__response_speed"] - 1) / 9).mean()
    r = vq.what_if(resp, vq.load_workspace(), attribute="response_speed", to=80,
                   outcome="overall", n_boot=40)
    row = r.iloc[0]
    assert row["segment"] == "all" and row["attributes"] == "response_speed"
    assert row["current"] == pytest.approx(speed_perf)
    assert row["shift"] == pytest.approx(80 - speed_perf)
    assert row["change"] == pytest.approx(0.5 * (80 - speed_perf))
    assert row["ci_low"] == pytest.approx(row["change"]) == row["ci_high"]
    assert row["n"] == 120
    assert any("not causal" in a for a in r.attrs["assumptions"])


def test_what_if_standard_through_its_attributes():
    # S04 serves promises_kept (slope 0) and response_speed (slope 0.5); default target 85 %:
    # from 80 % the gap is 5 points, times pass_through 2 = 10 performance points each.
    resp = _responses()
    r = vq.what_if(resp, vq.load_workspace(), standard="S04", compliance=80.0,
                   pass_through=2.0, outcome="overall", n_boot=0)
    row = r.iloc[0]
    assert row["attributes"] == "promises_kept, response_speed"
    assert (row["current"], row["target"], row["shift"]) == (80.0, 85.0, 10.0)
    assert row["change"] == pytest.approx(0.5 * 10)
    assert np.isnan(row["ci_low"])
    assert "2 performance point" in r.attrs["assumptions"][-1]
    # default pass-through: one performance point per compliance point, shared by the two
    half = vq.what_if(resp, vq.load_workspace(), standard="S04", compliance=80.0,
                      outcome="overall", n_boot=0).iloc[0]
    assert half["shift"] == 2.5 and half["change"] == pytest.approx(0.5 * 2.5)


def test_what_if_per_segment_and_small_segments_left_out():
    resp = pd.concat([_responses().assign(segment="a"), _responses(20, 1).assign(segment="b")])
    r = vq.what_if(resp, vq.load_workspace(), attribute="response_speed", by={"a": 9, "b": 9},
                   outcome="overall", n_boot=0)
    assert r["segment"].tolist() == ["a"]                # b: 20 < the base of 30
    assert r["change"].iloc[0] == pytest.approx(4.5)


def test_what_if_arguments_checked():
    ws, resp = vq.load_workspace(), _responses()
    with pytest.raises(ValueError, match="exactly one"):
        vq.what_if(resp, ws, to=80)
    with pytest.raises(ValueError, match="not both"):
        vq.what_if(resp, ws, attribute="respect", to=80, by=3)
    with pytest.raises(DataError, match="unknown attribute"):
        vq.what_if(resp, ws, attribute="nope", by=3)
    with pytest.raises(DataError, match="no standard"):
        vq.what_if(resp, ws, standard="S99", by=3)
    with pytest.raises(DataError, match="compliance="):
        vq.what_if(resp, ws, standard="S04")


def test_bootstrap_slopes_are_computed_once_per_design_and_give_the_same_interval():
    from vipquality.metrics import whatif

    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.uniform(0, 100, (400, 3)), columns=["a", "b", "c"])
    y = 0.8 * X["a"] - 0.3 * X["b"] + rng.normal(0, 20, 400)
    whatif._SLOPES.clear()
    simulate(X, y, {"a": 5}, n_boot=200, seed=3)
    both = simulate(X, y, {"a": 5, "b": -2}, n_boot=200, seed=3)
    assert len(whatif._SLOPES) == 1  # the second shift reused the first one's resamples
    whatif._SLOPES.clear()
    fresh = simulate(X, y, {"a": 5, "b": -2}, n_boot=200, seed=3)
    assert (both["ci_low"], both["ci_high"]) == (fresh["ci_low"], fresh["ci_high"])
    other = simulate(X, y, {"a": 5, "b": -2}, n_boot=200, seed=4)
    assert len(whatif._SLOPES) == 2 and other["ci_low"] != fresh["ci_low"]
