"""``vipquality check`` and ``vipquality init`` (issue 17, "a new workspace from one's own files").

``check`` is tested on copies of the sample workspace with planted problems; ``init`` on the real
survey-tool exports of ``../shared/fixtures/real`` (skipped, saying why, when absent) and on a
small export in the real Qualtrics layout written to ``tmp_path``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from vipquality.cli import main
from vipquality.data.onboarding import check_workspace
from vipquality.paths import SAMPLE_WORKSPACE


def _copy_sample(tmp_path: Path, quarter: str = "2026Q3") -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    for f in [*SAMPLE_WORKSPACE.glob("*.yaml"), SAMPLE_WORKSPACE / "staff.csv"]:
        shutil.copy(f, root / f.name)
    shutil.copytree(SAMPLE_WORKSPACE / quarter, root / quarter)
    return root


# ------------------------------------------------------------------------------------- check
def test_check_sample_is_clean_and_lists_mapping_and_files():
    out = CliRunner().invoke(main, ["check", str(SAMPLE_WORKSPACE)])
    assert out.exit_code == 0, out.output
    assert "no problems found" in out.output
    lines = out.output.splitlines()
    nps = next(ln for ln in lines if ln.startswith("responses") and " nps " in ln)
    assert nps.split()[:3] == ["responses", "nps", "Q1_recommend"]
    assert nps.split()[-1] == f"{len(list(SAMPLE_WORKSPACE.glob('20*Q*')))}/" \
                              f"{len(list(SAMPLE_WORKSPACE.glob('20*Q*')))}"
    assert "2026Q3/survey.csv" in out.output


def test_check_names_each_problem_with_file_key_and_fix(tmp_path):
    root = _copy_sample(tmp_path)
    (root / "2026Q5").mkdir()
    (root / "2026Q3" / "notes.txt").write_text("x")
    inst = root / "instrument.yaml"
    inst.write_text(inst.read_text().replace("client_id: ClientId", "client_id: CustomerNo")
                    .replace("column: Q1_recommend", "column: Q1_recommendation"))
    report = check_workspace(root)
    got = {(p.file, p.key) for p in report.problems}
    assert got == {("2026Q5", "quarter folder name"),
                   ("2026Q3/notes.txt", "workspace.yaml: quarter_files"),
                   ("2026Q3/survey.csv", "instrument.yaml: columns.client_id"),
                   ("2026Q3/survey.csv", "instrument.yaml: nps.column")}
    fix = next(p.fix for p in report.problems if p.key.endswith("nps.column"))
    assert "'Q1_recommend'" in fix  # the file's columns are offered
    out = CliRunner().invoke(main, ["check", str(root)])
    assert out.exit_code == 2 and "4 problem(s)" in out.output
    # nothing was imported
    assert not (root / "store").exists()


def test_check_yaml_error_and_missing_crm(tmp_path):
    root = _copy_sample(tmp_path)
    for p in (root / "2026Q3").glob("clients*"):
        p.unlink()
    report = check_workspace(root)
    assert [(p.file, p.key) for p in report.problems] == [("2026Q3", "clients file")]
    (root / "workspace.yaml").write_text(
        (root / "workspace.yaml").read_text().replace("currency: RUB", "currency: rubles"))
    report = check_workspace(root)
    assert len(report.problems) == 1 and report.problems[0].key == "currency"


def test_check_never_shows_crm_values(tmp_path):
    # a CRM extract saved without its header row: its first client's name, e-mail and phone
    # stand where the header should be; check shows their shapes only
    root = _copy_sample(tmp_path)
    for p in (root / "2026Q3").glob("clients*"):
        p.unlink()
    pd.DataFrame([["C001", "Ivan Petrov", "ivan.p@mail.ru", "+7 999 123-45-67"]]).to_csv(
        root / "2026Q3" / "clients.csv", index=False, header=False)
    out = CliRunner().invoke(main, ["check", str(root)])
    assert out.exit_code == 2
    for secret in ("Ivan", "Petrov", "ivan.p", "999", "C001"):
        assert secret not in out.output
    assert "'A A'" in out.output and "'a.a@a.a'" in out.output
