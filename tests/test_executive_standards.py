"""The executive standards table: the clustered interval's effective base and design effect
depend on the share itself, so they are hidden wherever the share is (issue 12)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from vipquality.report.executive import executive_table


def test_effective_base_and_deff_are_hidden_with_the_share():
    standards = pd.DataFrame({
        "quarter": "2026Q3", "segment": ["premium", "luxury"], "standard_id": "S1",
        "n": [12, 400], "n_effective": [3.5, 180.0], "value": [100.0, 80.0],
        "ci_low": [60.0, 75.0], "ci_high": [100.0, 84.0], "se": [0.0, 2.0],
        "visits": [4, 120], "deff": [3.4, 2.2]})
    data = SimpleNamespace(
        standards=standards, atoms=pd.DataFrame(), thresholds={"base_suppress": 30},
        segments=pd.DataFrame({"segment": ["premium", "luxury"], "family": ["a", "b"]}))
    out = executive_table(data, "standards").set_index("segment")
    assert np.isnan(out.loc["premium", "value"])                    # n = 12 < 30: hidden
    assert np.isnan(out.loc["premium", "n_effective"]) and np.isnan(out.loc["premium", "deff"])
    assert out.loc["premium", "n"] == 12                             # the base stays
    assert out.loc["luxury", "n_effective"] == 180.0 and out.loc["luxury", "deff"] == 2.2
