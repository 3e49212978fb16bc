"""Tests of vipquality.standards.staff: compliance by personal manager, the roster, flags and the page.

Hand-built visits: each visit checks two items of standard S1 (weights 1 and 2) for one manager;
the numbers expected are worked out here by hand or with an independent method (scipy's t
interval, statsmodels' cluster-robust OLS for the checks-passed interval).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vipquality.config import ChecklistItem, Standard, Standards, StandardVersion
from vipquality.errors import DataError
from vipquality.report.pages.staff import staff_chart, staff_summary, staff_table
from vipquality.standards.staff import STAFF_COLUMNS, load_roster, staff_compliance

WS = Path("/tmp/ws")
AS_OF = dt.date(2026, 9, 30)


def catalogue(default: float = 80.0, vip: float = 95.0) -> Standards:
    return Standards("t", (Standard(
        id="S1", title="Standard S1", owner="o", attributes=("a",),
        targets={"default": default, "vip": vip},
        versions=(StandardVersion(1, dt.date(2023, 1, 1), "text", None),),
        items=(ChecklistItem("S1.1", "x", 1.0, False, "S1"),
               ChecklistItem("S1.2", "y", 2.0, False, "S1"))),))


def visits_of(manager: str, results: list[tuple[str, str]], *, segment: str = "premium",
              quarter: str = "2026Q3", branch: str = "B1", critical=(False, False),
              start: int = 0) -> pd.DataFrame:
    """One visit per (result of S1.1, result of S1.2) pair."""
    rows = []
    for i, pair in enumerate(results):
        for j, (item, weight) in enumerate((("S1.1", 1.0), ("S1.2", 2.0))):
            rows.append({"quarter": quarter, "visit_id": f"{manager}-{start + i:03d}",
                         "visit_date": pd.Timestamp("2026-08-01"), "branch": branch,
                         "manager_id": manager, "segment": segment, "item_id": item,
                         "standard_id": "S1", "result": pair[j], "weight": weight,
                         "critical": critical[j]})
    return pd.DataFrame(rows)


def roster(**extra) -> pd.DataFrame:
    rows = [("M1", "Anna One", "B1", "yes", "2024-01-10", "2026-03-01"),
            ("M2", "Boris Two", "B1", "no", "", "2025-09-30"),
            ("M3", "Vera Three", "B2", "yes", "2025-05-05", "2025-10-01"),
            ("M5", "Oleg Five", "B2", "да", "2026-01-01", "")]
    frame = pd.DataFrame(rows, columns=["manager_id", "manager_name", "branch", "certified",
                                        "certified_on", "last_trained"])
    return frame.assign(**extra)


def sample_visits() -> pd.DataFrame:
    # M1: 40 visits, every item yes -> 100
    # M2: 40 visits; 10 with S1.1 no (score 2/3), 10 with S1.2 no (1/3), 20 all yes
    # M3: 10 visits (under the base); M4: 35 visits, not in the roster, in segment vip
    m2 = [("no", "yes")] * 10 + [("yes", "no")] * 10 + [("yes", "yes")] * 20
    return pd.concat([
        visits_of("M1", [("yes", "yes")] * 40),
        visits_of("M2", m2),
        visits_of("M3", [("yes", "no")] * 10, branch="B2"),
        visits_of("M4", [("yes", "yes")] * 30 + [("no", "no")] * 5, segment="vip",
                  branch="B3"),
    ], ignore_index=True)


def test_compliance_interval_checks_and_base():
    out = staff_compliance(sample_visits(), roster(), standards=catalogue(), as_of=AS_OF)
    assert list(out.columns) == STAFF_COLUMNS
    m = out.set_index("manager_id")
    assert list(out["manager_id"]) == ["M1", "M4", "M2", "M3", "M5"]  # ranked, then the rest
    # M2: visit scores 2/3 (10), 1/3 (10), 1 (20)
    scores = 100 * np.array([2 / 3] * 10 + [1 / 3] * 10 + [1.0] * 20)
    # augmented logit (metrics.compliance): one pseudo-visit at 0 and one at 1, logit scale
    u = np.r_[scores / 100, 0.0, 1.0]
    ma, se_u = u.mean(), u.std(ddof=1) / np.sqrt(u.size)
    half = stats.norm.ppf(0.975) * se_u / (ma * (1 - ma))
    low, high = (100 / (1 + np.exp(-(np.log(ma / (1 - ma)) + k * half))) for k in (-1, 1))
    assert m.loc["M2", "compliance"] == pytest.approx(scores.mean())
    assert m.loc["M2", "ci_low"] == pytest.approx(low)
    assert m.loc["M2", "ci_high"] == pytest.approx(high)
    assert m.loc["M2", "se"] == pytest.approx(stats.sem(scores))
    assert m.loc["M2", "visits"] == 40 and m.loc["M2", "checks"] == 80
    # checks passed: weighted yes / weighted applicable = (10*2 + 10*1 + 20*3) / (40*3)
    assert m.loc["M2", "checks_passed"] == pytest.approx(100 * 90 / 120)
    assert m.loc["M1", "compliance"] == 100 and m.loc["M1", "checks_passed"] == 100
    # the base: M3 has 10 visits -> listed, nothing shown, not ranked, no flag
    assert m.loc["M3", "visits"] == 10 and m.loc["M3", "base_flag"] == "suppressed"
    for col in ("compliance", "ci_low", "ci_high", "se", "checks_passed", "checks_ci_low",
                "checks_ci_high", "gap", "rank"):
        assert np.isnan(m.loc["M3", col]), col
    assert m.loc["M3", "below_target"] is pd.NA
    # M5: in the roster without visits; M4: visits but no roster entry
    assert m.loc["M5", "visits"] == 0 and m.loc["M5", "base_flag"] == "suppressed"
    assert m.loc["M4", "in_roster"] == False and m.loc["M4", "manager_name"] == ""  # noqa: E712
    assert m.loc["M4", "branch"] == "B3" and m.loc["M4", "certified"] is pd.NA
    assert m.loc["M4", "not_trained_12m"] is pd.NA
    assert list(m.loc[["M1", "M4", "M2"], "rank"]) == [1, 2, 3]
    assert out.attrs["quarters"] == ["2026Q3"] and out.attrs["base_suppress"] == 30
    assert m["base_flag"].isin(["suppressed", "small"]).all()


def test_checks_passed_interval_is_the_visit_clustered_one():
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    pairs = [tuple(np.where(rng.random(2) < 0.8, "yes", "no")) for _ in range(60)]
    visits = visits_of("M1", pairs).assign(weight=1.0)
    out = staff_compliance(visits, roster(), standards=catalogue()).set_index("manager_id")
    applicable = visits[visits["result"] != "na"]
    y = applicable["result"].eq("yes").to_numpy(dtype=float)
    fit = sm.OLS(y, np.ones_like(y)).fit(cov_type="cluster", cov_kwds={
        "groups": pd.factorize(applicable["visit_id"])[0], "use_correction": False})
    m = 60
    se = float(fit.bse[0]) * np.sqrt(m / (m - 1))
    # Wilson on the effective base p(1 − p)/se² (capped at the checks), t quantile on m − 1
    p = y.mean()
    n = min(y.size, p * (1 - p) / se**2)
    t = stats.t.ppf(0.975, m - 1)
    centre = (p + t**2 / (2 * n)) / (1 + t**2 / n)
    half = t * np.sqrt(p * (1 - p) / n + t**2 / (4 * n**2)) / (1 + t**2 / n)
    assert out.loc["M1", "checks_passed"] == pytest.approx(100 * p)
    assert out.loc["M1", "checks_ci_low"] == pytest.approx(100 * (centre - half), abs=1e-4)
    assert out.loc["M1", "checks_ci_high"] == pytest.approx(100 * (centre + half), abs=1e-4)


def test_target_from_the_standards_follows_the_segments_played():
    visits = pd.concat([visits_of("M1", [("yes", "yes")] * 30),
                        visits_of("M1", [("yes", "no")] * 10, segment="vip", start=30)])
    out = staff_compliance(visits, roster(), standards=catalogue(80, 95)).set_index(
        "manager_id")
    # item-weighted: 30 visits × 3 weight at 80, 10 visits × 3 weight at 95
    assert out.loc["M1", "target"] == pytest.approx((90 * 80 + 30 * 95) / 120)
    assert out.attrs["target"] == pytest.approx((90 * 80 + 30 * 95) / 120)
    passed = 100 * (30 * 3 + 10 * 1) / 120
    assert out.loc["M1", "gap"] == pytest.approx(passed - out.loc["M1", "target"])
    assert out.loc["M1", "below_target"] == (passed < out.loc["M1", "target"])
    # a fixed target instead; without either, no target and no flag
    fixed = staff_compliance(visits, roster(), target=70.0).set_index("manager_id")
    assert fixed.loc["M1", "target"] == 70 and fixed.loc["M1", "below_target"] == False  # noqa
    none = staff_compliance(visits, roster()).set_index("manager_id")
    assert np.isnan(none.loc["M1", "target"]) and none.loc["M1", "below_target"] is pd.NA


def test_planted_low_manager_is_flagged_and_ranked_last():
    rng = np.random.default_rng(7)
    frames = []
    for manager, rate in (("M1", 0.95), ("M2", 0.9), ("M3", 0.6)):
        pairs = [tuple(np.where(rng.random(2) < rate, "yes", "no")) for _ in range(80)]
        frames.append(visits_of(manager, pairs))
    out = staff_compliance(pd.concat(frames), roster(), standards=catalogue(85)).set_index(
        "manager_id")
    assert out.loc["M3", "rank"] == 3 and out.loc["M1", "rank"] == 1
    assert bool(out.loc["M3", "below_target"]) and not bool(out.loc["M1", "below_target"])
    assert out.loc["M3", "checks_ci_low"] <= 60 <= out.loc["M3", "checks_ci_high"]
    # conservatively, only managers whose whole interval is under the target
    strict = staff_compliance(pd.concat(frames), roster(), standards=catalogue(85),
                              use_interval=True).set_index("manager_id")
    assert bool(strict.loc["M3", "below_target"])
    assert strict["below_target"].sum() <= out["below_target"].sum()


def test_critical_failure_scores_the_visit_zero_but_not_the_checks():
    visits = visits_of("M1", [("no", "yes")] * 30, critical=(True, False))
    out = staff_compliance(visits, roster(), standards=catalogue()).set_index("manager_id")
    assert out.loc["M1", "compliance"] == 0 and out.loc["M1", "critical_failures"] == 30
    assert out.loc["M1", "checks_passed"] == pytest.approx(100 * 2 / 3)
    lenient = staff_compliance(visits, roster(), critical_fails_visit=False)
    assert lenient.set_index("manager_id").loc["M1", "compliance"] == pytest.approx(200 / 3)


def test_training_and_certification_flags():
    out = staff_compliance(sample_visits(), roster(), as_of=AS_OF).set_index("manager_id")
    assert out.loc["M1", "not_trained_12m"] == False  # noqa: E712 - trained 2026-03-01
    assert out.loc["M2", "not_trained_12m"] == True  # noqa: E712 - exactly 12 months before
    assert out.loc["M3", "not_trained_12m"] == False  # noqa: E712 - 2025-10-01
    assert out.loc["M5", "not_trained_12m"] == True  # noqa: E712 - never trained
    assert out.loc["M3", "months_since_training"] == pytest.approx(364 / (365.25 / 12))
    assert out.loc["M1", "certified"] == True and out.loc["M2", "certified"] == False  # noqa
    assert out.loc["M5", "certified"] == True  # noqa: E712 - "да"
    assert out.loc["M1", "certified_on"] == pd.Timestamp("2024-01-10")
    assert pd.isna(out.loc["M2", "certified_on"])
    six = staff_compliance(sample_visits(), roster(), as_of=AS_OF, trained_within_months=6)
    assert six.set_index("manager_id").loc["M3", "not_trained_12m"] == True  # noqa: E712
    # default as_of: the end of the latest quarter of the visits
    default = staff_compliance(sample_visits(), roster())
    assert default.attrs["as_of"] == AS_OF


def test_roster_errors_name_the_row_and_value():
    with pytest.raises(DataError, match="certified") as err:
        staff_compliance(sample_visits(), roster(certified=["yes", "no", "maybe", "yes"]))
    assert "maybe" in str(err.value) and "4" in str(err.value)  # row 4 of the file
    with pytest.raises(DataError, match="date"):
        staff_compliance(sample_visits(), roster(last_trained=["2026-01-01", "soon", "", ""]))
    with pytest.raises(DataError, match="twice"):
        staff_compliance(sample_visits(), roster(manager_id=["M1", "M1", "M3", "M5"]))
    with pytest.raises(DataError, match="manager_id"):
        staff_compliance(sample_visits(), roster().drop(columns="manager_id"))
    with pytest.raises(DataError, match="manager_id"):
        staff_compliance(sample_visits().drop(columns="manager_id"), roster())
    with pytest.raises(ValueError, match="target"):
        staff_compliance(sample_visits(), roster(), target=120)


def test_inputs_are_not_changed():
    visits, people = sample_visits(), roster()
    v0, r0 = visits.copy(), people.copy()
    staff_compliance(visits, people, standards=catalogue())
    pd.testing.assert_frame_equal(visits, v0)
    pd.testing.assert_frame_equal(people, r0)


def test_page_pieces_hide_what_is_under_the_base():
    out = staff_compliance(sample_visits(), roster(), standards=catalogue(), as_of=AS_OF)
    html = staff_table(out)
    assert "Vera Three" in html and "Anna One" in html and "(not in roster)" in html
    row = html[html.index("Vera Three"):]
    row = row[:row.index("</tr>")]
    assert "n&lt;30" in row and "100.0" not in row and "50.0" not in row
    assert html.index("Boris Two") < html.index("Anna One")  # furthest below target first
    fig = staff_chart(out)
    labels = list(fig.data[0].y)
    assert len(labels) == 3 and not any("Vera Three" in str(y) for y in labels)
    assert "2 with fewer than 30 visits not shown" in fig.layout.title.text
    summary = staff_summary(out)
    assert "5 personal managers" in summary and "3 have at least 30" in summary


@pytest.mark.skipif(not (WS / "staff.csv").is_file(), reason="the sample copy /tmp/ws")
def test_sample_roster_and_planted_branch():
    from vipquality.config import load_workspace
    from vipquality.data.store import load_visits

    ws = load_workspace(WS)
    people = load_roster(ws)
    assert list(people.columns) == ["manager_id", "manager_name", "branch", "certified",
                                    "certified_on", "last_trained"]
    assert people["manager_id"].is_unique and len(people) >= 10
    assert (people["certified"] == False).any()  # noqa: E712
    assert people.loc[people["certified"] == False, "certified_on"].isna().all()  # noqa
    out = staff_compliance(load_visits(ws), people, standards=ws)
    assert set(out["manager_id"]) == set(people["manager_id"])
    ranked = out[out["rank"].notna()]
    assert (ranked["visits"] >= 30).all() and (out.loc[out["rank"].isna(), "visits"] < 30).all()
    # the planted branch (B13) is far below the others: its ranked managers are at the bottom
    worst = ranked.nsmallest(2, "checks_passed")
    assert set(worst["branch"]) == {"B13"} and worst["below_target"].all()


def test_notebook_contract():
    import nbformat
    import papermill as pm

    from vipquality.report.build import NOTEBOOKS_DIR

    path = NOTEBOOKS_DIR / "staff.ipynb"
    params = pm.inspect_notebook(str(path))
    assert {k: v["default"] for k, v in params.items()} == {
        "workspace": "None", "quarter": "None", "data_dir": "None"}
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert all(len(c.source.strip().splitlines()) <= 15 for c in code)
    assert "report_data(workspace, quarter, data_dir)" in code[1].source
    assert "remove-cell" in code[1].metadata.get("tags", [])


def test_notebook_runs_standalone(report_workspace, tmp_path):
    import nbformat
    import papermill as pm

    from vipquality.report.build import NOTEBOOKS_DIR

    out = tmp_path / "staff.ipynb"
    pm.execute_notebook(str(NOTEBOOKS_DIR / "staff.ipynb"), str(out), kernel_name="python3",
                        parameters={"workspace": str(report_workspace.root)},
                        progress_bar=False, cwd=str(NOTEBOOKS_DIR), execution_timeout=300)
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "Staff view" in html and 'id="vq-staff"' in html
    charts = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(charts) == 1
