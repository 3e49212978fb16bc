"""PLS path modelling checked against R plspm on its ``satisfaction`` data.

Expected numbers: R plspm (G. Sanchez) run on ``satisfaction`` with the package's own example
model (``R/satis-plspm-ex.r`` in github.com/gastonstat/plspm: six blocks, Mode A,
``scheme = "centroid"`` (default), ``scaled = FALSE``), as saved by GoogleCloudPlatform/plspm-python
in ``tests/data/satisfaction.inner-model.csv`` (path coefficients into SAT),
``satisfaction.inner-summary.csv`` (R², block communality, redundancy),
``satisfaction.outer-model.csv`` / ``-path.csv`` / ``-factorial.csv`` (outer weights and
loadings per scheme), ``satisfaction.modeb.inner-summary.csv`` (Mode B) and the GoF asserted in
``tests/test_regression_metric.py`` (0.609741624338411); those CSVs are R plspm's printed
outputs, which the Python port asserts it reproduces. ``ecsi/bank_satisfaction_250.csv`` is
that data set (plspm-python ``tests/data/satisfaction.csv``). The R call:

    data(satisfaction); plspm(satisfaction, sat_path, list(1:5, 6:10, 11:15, 16:19, 20:23,
        24:27), modes = rep("A", 6), scaled = FALSE)   # scheme = "centroid" by default
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vipquality.errors import DataError
from vipquality.metrics.pls import PLSResult, pls_by_segment, pls_path_model, satisfaction_index

REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real"
BANK = REAL / "ecsi" / "bank_satisfaction_250.csv"
needs_bank = pytest.mark.skipif(not BANK.is_file(),
                                reason=f"real ECSI fixture not found at {BANK}")

BLOCKS = {"IMAG": ["imag1", "imag2", "imag3", "imag4", "imag5"],
          "EXPE": ["expe1", "expe2", "expe3", "expe4", "expe5"],
          "QUAL": ["qual1", "qual2", "qual3", "qual4", "qual5"],
          "VAL": ["val1", "val2", "val3", "val4"],
          "SAT": ["sat1", "sat2", "sat3", "sat4"],
          "LOY": ["loy1", "loy2", "loy3", "loy4"]}
PATHS = {"EXPE": ["IMAG"], "QUAL": ["EXPE"], "VAL": ["EXPE", "QUAL"],
         "SAT": ["IMAG", "EXPE", "QUAL", "VAL"], "LOY": ["IMAG", "SAT"]}

# R plspm, satisfaction, Mode A, centroid, scaled = FALSE
R_PATHS_INTO_SAT = {"IMAG": 0.200724200280665, "EXPE": -0.00275399457916834,
                    "QUAL": 0.122144565609107, "VAL": 0.589330650016017}
R_SE_INTO_SAT = {"IMAG": 0.0499287396486374, "EXPE": 0.0656906937615269,
                 "QUAL": 0.0751969653585023, "VAL": 0.0600164458313523}
R_R2 = {"EXPE": 0.335193672418813, "QUAL": 0.719688235228933, "VAL": 0.59008437279849,
        "SAT": 0.707320949544597, "LOY": 0.509922562050087}
R_BLOCK_COMMUNALITY = {"IMAG": 0.582269092760334, "EXPE": 0.616419883010119,
                       "QUAL": 0.65857174851724, "VAL": 0.66441556645883,
                       "SAT": 0.75889072736371, "LOY": 0.639051735398058}
R_GOF = 0.609741624338411
# outer weight, loading (centroid / path / factorial) for a few items
R_OUTER = {
    "centroid": {"imag1": (0.0982418501741741, 0.70932650116601),
                 "val1": (0.174960810051613, 0.864821997997945),
                 "sat1": (0.166366549374147, 0.919797990928334),
                 "sat2": (0.162659797860461, 0.916030239797506),
                 "sat3": (0.121091359148817, 0.825878617822696),
                 "sat4": (0.132079076814512, 0.8175253352275),
                 "loy2": (0.081728096069474, 0.671101376778201)},
    "path": {"imag1": (0.0982374837495072, 0.70955076789416),
             "val1": (0.172177324810643, 0.86271564077978),
             "sat1": (0.168756177314286, 0.920289506434007),
             "loy2": (0.0803591951846723, 0.669011176703357)},
    "factorial": {"imag1": (0.0982545375897477, 0.709579562555722),
                  "val1": (0.174575957905234, 0.864544798086425),
                  "sat1": (0.166550226780549, 0.919879569484991),
                  "loy2": (0.0814752201910471, 0.67071592524707)},
}
R_MODE_B_R2 = {"EXPE": 0.372046006581529, "QUAL": 0.722837619445379,
               "VAL": 0.614360808369793, "SAT": 0.732183693952877, "LOY": 0.539969047981518}

DECIMALS = 1e-6     # the issue asks for 4 decimals; we agree to 6 and more


@pytest.fixture(scope="module")
def bank() -> pd.DataFrame:
    if not BANK.is_file():
        pytest.skip(f"real ECSI fixture not found at {BANK}")
    return pd.read_csv(BANK, index_col=0)


@pytest.fixture(scope="module")
def fit(bank) -> PLSResult:
    return pls_path_model(bank, BLOCKS, PATHS, mode="A", scheme="centroid", scaled=False)


@needs_bank
def test_bank_file_is_the_r_satisfaction_data(bank):
    assert bank.shape == (250, 28)
    assert bank["gender"].value_counts().to_dict() == {"female": 148, "male": 102}
    items = [c for cols in BLOCKS.values() for c in cols]
    assert bank[items].min().min() >= 0 and bank[items].max().max() <= 10


@needs_bank
def test_r_squared_of_sat_matches_r(fit):
    assert fit.r_squared["SAT"] == pytest.approx(R_R2["SAT"], abs=DECIMALS)
    assert round(fit.r_squared["SAT"], 4) == round(R_R2["SAT"], 4) == 0.7073


@needs_bank
def test_paths_into_sat_match_r(fit):
    into_sat = fit.path_coefficients("SAT")
    for source, expected in R_PATHS_INTO_SAT.items():
        assert into_sat[source] == pytest.approx(expected, abs=DECIMALS), source
    se = fit.paths_table.set_index(["source", "target"])["std_error"]
    for source, expected in R_SE_INTO_SAT.items():
        assert se[(source, "SAT")] == pytest.approx(expected, abs=DECIMALS), source


@needs_bank
def test_gof_matches_r(fit):
    assert fit.gof == pytest.approx(R_GOF, abs=DECIMALS)
    assert round(fit.gof, 4) == 0.6097


@needs_bank
def test_every_r_squared_and_communality_matches_r(fit):
    for block, r2 in R_R2.items():
        assert fit.r_squared[block] == pytest.approx(r2, abs=DECIMALS), block
    for block, com in R_BLOCK_COMMUNALITY.items():
        assert fit.inner_summary.loc[block, "block_communality"] == pytest.approx(
            com, abs=DECIMALS), block
    assert list(fit.inner_summary["type"]) == ["Exogenous"] + ["Endogenous"] * 5


@needs_bank
@pytest.mark.parametrize("scheme", ["centroid", "path", "factorial"])
def test_outer_weights_and_loadings_match_r(bank, scheme):
    res = pls_path_model(bank, BLOCKS, PATHS, scheme=scheme)
    for item, (w, load) in R_OUTER[scheme].items():
        assert res.outer.loc[item, "weight"] == pytest.approx(w, abs=DECIMALS), item
        assert res.outer.loc[item, "loading"] == pytest.approx(load, abs=DECIMALS), item


@needs_bank
def test_mode_b_matches_r(bank):
    res = pls_path_model(bank, BLOCKS, PATHS, mode="B")
    for block, r2 in R_MODE_B_R2.items():
        assert res.r_squared[block] == pytest.approx(r2, abs=DECIMALS), block


@needs_bank
def test_satisfaction_index_is_the_spec_formula(fit, bank):
    est = satisfaction_index(fit, "SAT", items_scale=(0, 10))
    w = np.array([R_OUTER["centroid"][c][0] for c in BLOCKS["SAT"]])
    w = w / w.sum()
    means = bank[BLOCKS["SAT"]].mean().to_numpy()
    expected = float(w @ ((means - 0) / 10 * 100))      # Σ w_j (x̄_j − lo)/(hi − lo)·100
    assert est.value == pytest.approx(expected, abs=1e-6)
    assert est.value == pytest.approx(68.598, abs=1e-3)
    assert est.metric == "acsi_index" and est.n == 250
    assert np.isnan(est.ci_low)                         # no bootstrap, no interval
    assert est.details["weights"].sum() == pytest.approx(1)
    assert est.details["negative_weights"] == []


@needs_bank
def test_index_from_standardised_weights(bank, fit):
    """With scaled=True the weights are brought back to the items' own units (w_j / s_j)."""
    scaled = pls_path_model(bank, BLOCKS, PATHS, scaled=True)
    est = satisfaction_index(scaled, "SAT", (0, 10))
    o = scaled.outer.loc[BLOCKS["SAT"]]
    w = o["weight"] / o["sd"]
    assert est.value == pytest.approx(float((w / w.sum() * o["mean"] * 10).sum()))
    assert est.value == pytest.approx(satisfaction_index(fit, "SAT", (0, 10)).value, abs=0.2)


@needs_bank
def test_bootstrap_intervals(bank):
    res = pls_path_model(bank, BLOCKS, PATHS, n_boot=200, seed=3)
    again = pls_path_model(bank, BLOCKS, PATHS, n_boot=200, seed=3)
    pd.testing.assert_frame_equal(res.paths_table, again.paths_table)
    t = res.paths_table.set_index(["source", "target"])
    assert {"boot_mean", "boot_se", "ci_low", "ci_high"} <= set(t.columns)
    assert (t["ci_low"] <= t["coefficient"]).all() and (t["coefficient"] <= t["ci_high"]).all()
    # VAL drives SAT clearly; EXPE does not (interval covers 0)
    assert t.loc[("VAL", "SAT"), "ci_low"] > 0.3
    assert t.loc[("EXPE", "SAT"), "ci_low"] < 0 < t.loc[("EXPE", "SAT"), "ci_high"]
    r2 = res.inner_summary.loc["SAT"]
    assert r2["r2_ci_low"] < r2["r_squared"] < r2["r2_ci_high"]
    assert res.bootstrap["weights"].shape == (27, 5) and res.bootstrap["n_boot"] == 200
    est = satisfaction_index(res, "SAT", (0, 10))
    assert est.method == "bootstrap-percentile"
    assert est.ci_low < est.value < est.ci_high and 0.3 < est.se < 3


@needs_bank
def test_per_segment_is_a_loop_over_segments(bank):
    fits = pls_by_segment(bank, "gender", BLOCKS, PATHS, min_n=110)
    assert fits["male"] is None                          # 102 < 110
    assert fits["female"].n == 148
    direct = pls_path_model(bank[bank["gender"] == "female"], BLOCKS, PATHS)
    assert fits["female"].gof == pytest.approx(direct.gof)
    both = pls_by_segment(bank, "gender", BLOCKS, PATHS)
    assert set(both) == {"female", "male"} and both["male"].n == 102


@needs_bank
def test_missing_items_are_dropped_listwise_and_input_untouched(bank):
    data = bank.copy()
    data.loc[data.index[:5], "sat1"] = np.nan
    before = data.copy()
    res = pls_path_model(data, BLOCKS, PATHS)
    assert res.n == 245 and res.n_dropped == 5
    pd.testing.assert_frame_equal(data, before)


@needs_bank
def test_model_errors(bank):
    with pytest.raises(ValueError, match="not in blocks"):
        pls_path_model(bank, BLOCKS, {"SAT": ["NOPE"]})
    with pytest.raises(ValueError, match="cycle"):
        pls_path_model(bank, BLOCKS, {**PATHS, "IMAG": ["LOY"]})
    with pytest.raises(ValueError, match="one block"):
        pls_path_model(bank, {**BLOCKS, "X": ["sat1"]}, PATHS)
    with pytest.raises(ValueError, match="scheme"):
        pls_path_model(bank, BLOCKS, PATHS, scheme="circular")
    with pytest.raises(DataError, match="numeric"):
        pls_path_model(bank, {**BLOCKS, "G": ["gender"]}, {**PATHS, "G": ["IMAG"]})
    with pytest.raises(DataError, match="not in the data"):
        pls_path_model(bank.drop(columns="sat4"), BLOCKS, PATHS)
    with pytest.raises(KeyError):
        satisfaction_index(pls_path_model(bank, BLOCKS, PATHS), "SATISFACTION")
    with pytest.raises(DataError, match="outside items_scale"):
        satisfaction_index(pls_path_model(bank, BLOCKS, PATHS), "SAT", (1, 5))


def test_constant_item_is_refused():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(50, 4)), columns=["a", "b", "c", "d"])
    df["d"] = 1.0
    with pytest.raises(DataError, match="constant"):
        pls_path_model(df, {"X": ["a", "b"], "Y": ["c", "d"]}, {"Y": ["X"]})
