"""notebooks/real_data.ipynb: stored clean, and executed with papermill on the real fixtures
(``../shared/fixtures/real``) with its headline numbers checked against independent sources:
R plspm for the bank model, a hand count of the Google Forms file for the NPS."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import papermill as pm
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "real_data.ipynb"
REAL = REPO.parent / "shared" / "fixtures" / "real"
FORMS = REAL / "google_forms" / "sudzilla_input_01.csv"
MAX_CELL_LINES = 15


def test_stored_clean_with_a_parameters_cell():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code):
        assert cell.outputs == [] and cell.execution_count is None, f"code cell {i}"
        assert len(cell.source.strip().splitlines()) <= MAX_CELL_LINES, f"code cell {i}"
    assert "parameters" in code[0].metadata.get("tags", [])
    params = pm.inspect_notebook(str(NOTEBOOK))
    assert params["fixtures_dir"]["default"] == '"../../shared/fixtures/real"'
    # that default, taken from notebooks/, is the fixtures folder beside the repository
    assert (NOTEBOOK.parent / "../../shared/fixtures/real").resolve() == REAL.resolve()


def hand_nps(path: Path) -> tuple[float, int]:
    """NPS of the 0–10 item counted with the csv module: 100·(promoters − detractors)/n."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    scores = [int(r["On a scale of 0-10, how would you rate Sudzilla?"]) for r in rows]
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    return 100 * (promoters - detractors) / len(scores), len(scores)


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real fixtures not found at {REAL} (shared/ "
                                               "is not beside the repository)")
def test_runs_on_the_real_data(tmp_path):
    out = tmp_path / "real_data.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), kernel_name="python3",
                        parameters={"n_boot": 100}, cwd=str(NOTEBOOK.parent),
                        progress_bar=False, execution_timeout=300)
    nb = nbformat.read(out, as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    cell = next(c for c in nb.cells if "headline" in c.metadata.get("tags", []))
    text = "".join(o.text for o in cell.outputs if o.output_type == "stream")
    headline = json.loads(text)
    # R plspm on the satisfaction data (Mode A, centroid, scaled = FALSE): see test_pls.py
    assert headline["sat_r2"] == pytest.approx(0.707320949544597, abs=1e-5)
    assert headline["gof"] == pytest.approx(0.609741624338411, abs=1e-5)
    assert headline["ecsi_ci"][0] < headline["ecsi_index"] < headline["ecsi_ci"][1]
    value, n = hand_nps(FORMS)
    assert n == 39 and headline["nps_n"] == n
    assert headline["nps"] == pytest.approx(value, abs=1e-5)        # 8 promoters, 22 detractors
    assert headline["nps"] == pytest.approx(-35.897436, abs=1e-5)
