"""Follow-up cases (issue 14): cases.yaml, opening cases, SLA on the working-day calendar,
consent, the case_updates file, the loop metrics, the restricted case lists and the alerts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vipquality.config import load_workspace
from vipquality.errors import ConfigError
from vipquality.paths import SAMPLE_WORKSPACE

CONFIG = ("workspace.yaml", "instrument.yaml", "segments.yaml", "standards.yaml", "cases.yaml")


def _config_copy(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    for name in CONFIG:
        shutil.copy(SAMPLE_WORKSPACE / name, root / name)
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


# ------------------------------------------------------------------------------------ cases.yaml
def test_sample_case_rules():
    rules = load_workspace().cases
    assert (rules.sla("Private"), rules.sla("Luxury"), rules.sla("Premium")) == (1, 2, 3)
    assert rules.sla("Gold") == 3 and rules.sla(None) == 3  # default
    assert str(rules.rule("Premium")) == "nps ≤ 6 or ces ≤ 3 or overall ≤ 2"
    assert str(rules.rule("Private")) == "nps ≤ 7 or ces ≤ 3 or overall ≤ 3"
    assert rules.weekmask == "1111100" and len(rules.holidays) > 10
    assert "speed" in rules.root_causes and rules.consent_column == "contact_consent"
    assert rules.contact_target == 90.0


def test_default_rule_follows_the_instrument_scales(tmp_path):
    root = _config_copy(tmp_path)
    text = (root / "cases.yaml").read_text(encoding="utf-8")
    start, end = text.index("open_when:"), text.index("tier_field:")
    (root / "cases.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    # CES 1–7: difficult is 1–3; overall 1–10: the bottom quarter is 1–3
    assert str(load_workspace(root).cases.open_when) == "nps ≤ 6 or ces ≤ 3 or overall ≤ 3"


def test_a_workspace_without_cases_opens_none(tmp_path):
    root = _config_copy(tmp_path)
    _edit(root / "workspace.yaml", "cases: cases.yaml", "")
    assert load_workspace(root).cases is None


BROKEN = {
    "unknown answer": ("{field: nps, le: 6}", "{field: nsp, le: 6}",
                       "open_when.any[0].field", ["expected an answer the instrument has",
                                                  "did you mean 'nps'"]),
    "unknown weekday": ("[Mon, Tue, Wed, Thu, Fri]", "[Mon, Tue, Wed, Thu, Fry]",
                        "calendar.working_days[4]", ["expected one of Mon"]),
    "bad holiday": ("holidays: [2024-11-04,", "holidays: [2024-11-31,",
                    "calendar.holidays[0]", ["real calendar date"]),
    "negative sla": ("  Luxury: 2\n", "  Luxury: -2\n", "sla.Luxury", ["whole number"]),
    "duplicate code": ("{code: other, label: Other}", "{code: speed, label: Other}",
                       "root_causes[7].code", ["unique root-cause code", "'speed' twice"]),
    "consent reuses a column": ("column: contact_consent", "column: Q1_recommend",
                                "consent.column", ["not used by instrument.yaml"]),
    "target above 100": ("contact_target: 90", "contact_target: 190", "contact_target",
                         ["a share in %", "190"]),
    "unknown key": ("tier_field: tier", "tier_feld: tier", "tier_feld", ["unknown key"]),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_a_malformed_cases_yaml_names_file_and_key(tmp_path, case):
    old, new, key, fragments = BROKEN[case]
    root = _config_copy(tmp_path)
    _edit(root / "cases.yaml", old, new)
    with pytest.raises(ConfigError) as info:
        load_workspace(root)
    err = info.value
    assert Path(err.file).name == "cases.yaml" and err.key == key, str(err)
    for fragment in fragments:
        assert fragment in str(err), str(err)


def test_tier_field_must_be_a_crm_column(tmp_path):
    root = _config_copy(tmp_path)
    _edit(root / "cases.yaml", "tier_field: tier", "tier_field: level")
    with pytest.raises(ConfigError, match="tier_field: expected a client column"):
        load_workspace(root)
