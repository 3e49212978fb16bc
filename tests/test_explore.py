"""notebooks/explore.ipynb and the functions it calls (vipquality.report.pages.explore).

nbval (``pytest --nbval-lax notebooks/``) runs the notebook on the bundled sample; here it runs
with papermill on the report test workspace, whose planted client must not reach any output,
and the functions are checked against summarise_workspace.
"""

from __future__ import annotations

import re

import nbformat
import papermill as pm
import pytest

from vipquality.config import load_workspace
from vipquality.data.summary import summarise_workspace
from vipquality.errors import DataError
from vipquality.report.build import NOTEBOOKS_DIR
from vipquality.report.pages import explore as ex


@pytest.fixture(scope="module")
def ws(report_workspace):
    return ex.open_workspace(report_workspace.root)


def test_parameters_are_the_workspace_quarter_and_segment():
    params = pm.inspect_notebook(str(NOTEBOOKS_DIR / "explore.ipynb"))
    assert {k: v["default"] for k, v in params.items()} == {
        "workspace": "None", "quarter": "None", "segment": '"premium"'}


def test_notebook_runs_on_a_workspace_and_shows_no_client(report_workspace, tmp_path):
    out = tmp_path / "explore.ipynb"
    pm.execute_notebook(str(NOTEBOOKS_DIR / "explore.ipynb"), str(out), kernel_name="python3",
                        parameters={"workspace": str(report_workspace.root)},
                        progress_bar=False, cwd=str(NOTEBOOKS_DIR), execution_timeout=300)
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = nbformat.writes(nb)
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert html.count("<table") >= 5 and "vq-drill-premium" in html
    assert len([o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]) >= 1
    assert "application/vnd.jupyter.widget-view+json" in text  # the dropdowns
    for s in report_workspace.planted.strings():
        assert s not in text, s
    assert not re.findall(r"(?<![A-Za-z0-9])C\d{7}(?![0-9])", text)  # no client id at all
    assert not re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", text)


def test_grouped_is_summarise_workspace_for_one_quarter(ws, report_workspace):
    q = report_workspace.quarter
    mine = ex.grouped(ws, ["segment", "branch"], q)
    ref = summarise_workspace(ws, [q], by=["quarter", "segment", "branch"])
    assert mine.equals(ref.reset_index(drop=True))
    one = ex.grouped(ws, ["branch"], q, segment="premium")
    assert set(one["segment"]) == {"premium"} and set(one["quarter"]) == {q}


def test_split_counts_a_client_under_each_product(ws, report_workspace):
    q = report_workspace.quarter
    t = ex.grouped(ws, ["products"], q, split=["products"])
    nps = t[t["metric"] == "nps"].set_index("products")["n"]
    assert not any(";" in p for p in nps.index)
    whole = ex.grouped(ws, [], q)
    total = float(whole.loc[whole["metric"] == "nps", "n"].iloc[0])
    assert nps.max() <= total < nps.sum()  # every product's base within all, overlapping
    with pytest.raises(DataError, match="not a grouping column"):
        summarise_workspace(ws, [q], by=["quarter"], split=["products"])


def test_drill_down_to_managers_is_marked_restricted(ws, report_workspace):
    q = report_workspace.quarter
    branches = ex.grouped(ws, ["branch"], q, segment="premium")
    branch = branches.sort_values("n")["branch"].iloc[-1]
    down = ex.drill_down(ws, q, "premium", branch)
    assert ex.RESTRICTED.split(":")[0] in down and "M0" in down
    with pytest.raises(DataError, match="no responses from branch"):
        ex.drill_down(ws, q, "premium", "no-such-branch")


def test_what_if_table_and_errors(ws, report_workspace):
    attribute = load_workspace(report_workspace.root).instrument.attribute_ids[0]
    html = ex.what_if(ws, report_workspace.quarter, "all", attribute, by=10, n_boot=50)
    assert "Predicted change" in html and "Associational, not causal" in html
    with pytest.raises(DataError, match="unknown attribute"):
        ex.attribute_trend(ws, "no_such_attribute")
    assert ex.quarters(ws) == sorted(report_workspace.quarters)


def test_theme_comments_one_theme_with_its_share(ws, report_workspace):
    q = report_workspace.quarter
    theme = ws.themes.ids[0]
    html = ex.theme_comments(ws, q, "all", theme)
    assert ws.themes.get(theme).label in html and html.count('<tr id="vq-themes-all-') == 1
    every = ex.theme_comments(ws, q, "all")
    assert every.count('<tr id="vq-themes-all-') == len(ws.themes)
    with pytest.raises(KeyError, match="no theme"):
        ex.theme_comments(ws, q, "all", "no_such_theme")
