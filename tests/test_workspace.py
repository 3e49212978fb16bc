"""Workspace loading, validation messages and quarter arithmetic.

Expected values are read off the sample files in surveys/ by hand; error tests break one thing in
a copy of the sample workspace and check the message names the file, the key path and what was
expected.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from vipquality.config import (
    ALL_SEGMENT,
    All,
    Any,
    Compare,
    Not,
    Quarter,
    Workspace,
    load_workspace,
)
from vipquality.errors import ConfigError
from vipquality.paths import PROJECT_ROOT, SAMPLE_WORKSPACE

D = dt.date


@pytest.fixture(scope="module")
def ws() -> Workspace:
    return load_workspace()


# --------------------------------------------------------------------------------------------
# The sample workspace
# --------------------------------------------------------------------------------------------

def test_paths():
    assert (PROJECT_ROOT / "vipquality" / "config" / "load.py").is_file()
    assert SAMPLE_WORKSPACE == PROJECT_ROOT / "surveys"


def test_sample_workspace_top_level(ws):
    assert ws.root == SAMPLE_WORKSPACE
    assert ws.name == "Sample Private Bank — VIP service quality"
    assert (ws.currency, ws.timezone, ws.fiscal_year_start) == ("RUB", "Europe/Moscow", 1)
    assert ws.staff_path == SAMPLE_WORKSPACE / "staff.csv"
    assert ws.store_path == SAMPLE_WORKSPACE / "store"
    assert ws.quarter_files["visits"][0] == "mystery_shopper*.csv"
    assert set(ws.quarter_files) == {"survey", "visits", "clients", "case_updates", "appeals",
                                     "invitations"}
    assert ws.client_columns["avg_monthly_spend_3m"] == "avg_monthly_spend_3m"
    assert len(ws.client_columns) == 14
    assert ws.personal_columns == ("full_name", "email", "phone", "address")
    assert ws.visit_columns["segment"] == "scenario_segment"  # canonical -> source
    assert (ws.reporting.confidence, ws.reporting.base_suppress, ws.reporting.base_small,
            ws.reporting.adjustment, ws.reporting.trend_quarters) == (0.95, 30, 100, "holm", 8)
    assert ws.critical_item_fails_visit is True


def test_load_accepts_the_yaml_file_itself():
    assert load_workspace(SAMPLE_WORKSPACE / "workspace.yaml").name == load_workspace().name


def test_sample_instrument(ws):
    ins = ws.instrument
    assert ins.attribute_ids == ["competence", "response_speed", "availability", "promises_kept",
                                 "ready_solutions", "respect", "confidentiality",
                                 "digital_channels"]
    assert (ins.id, ins.version, ins.match_columns_by) == ("vip-quarterly", 3, "name")
    assert ins.columns == {"response_id": "ResponseId", "client_id": "ClientId",
                           "submitted_at": "SubmittedAt", "weight": None}
    assert (ins.nps.role, ins.nps.column, ins.nps.scale) == ("nps", "Q1_recommend", (0, 10))
    assert ins.ces.scale == (1, 7) and ins.overall.scale == (1, 10)
    assert ins.comment.column == "Q5_comment" and ins.comment.scale is None
    assert ins.csi_scale == (1, 10) and ins.importance_scale == (1, 10)
    assert ins.csi_weights == "stated" and ins.missing_codes == (99.0,)
    speed = ins.attribute("response_speed")
    assert (speed.label, speed.satisfaction, speed.importance) == (
        "Speed of response", "Q4_speed_sat", "Q4_speed_imp")


def test_sample_standards(ws):
    st = ws.standards
    assert st.catalogue_version == "2025-04"
    assert st.ids == [f"S0{i}" for i in range(1, 10)]
    s04 = st.get("S04")
    assert s04.owner == "Head of operations"
    assert s04.attributes == ("promises_kept", "response_speed")
    assert [(v.version, v.effective) for v in s04.versions] == [(1, D(2023, 1, 1)),
                                                               (2, D(2025, 4, 1))]
    assert s04.versions[1].change.startswith("Written confirmation")
    assert s04.version_at(D(2025, 3, 31)).version == 1
    assert s04.version_at(D(2025, 4, 1)).version == 2
    assert s04.version_at(dt.datetime(2026, 1, 1, 12)).version == 2
    with pytest.raises(ValueError, match="no version in force on 2022-12-31"):
        s04.version_at(D(2022, 12, 31))
    # the texts with commas (flow-mapping pitfall) are whole
    assert st.get("S09").versions[0].text.endswith("no client is named to another.")
    # targets: own, else default
    s02 = st.get("S02")
    assert s02.targets == {"default": 85.0, "private": 90.0, "le_corporate": 90.0}
    assert (s02.target("le_corporate"), s02.target("premium"), s02.target(ALL_SEGMENT)) == (
        90.0, 85.0, 85.0)
    assert st.get("S09").target("private") == 98.0
    # items
    items = st.items
    assert len(items) == 17 and list(items)[:3] == ["S01.1", "S01.2", "S02.1"]
    assert items["S02.1"].weight == 2.0 and items["S02.1"].standard_id == "S02"
    assert [i for i, it in items.items() if it.critical] == ["S03.1", "S09.1", "S09.2"]
    with pytest.raises(KeyError, match="S10"):
        st.get("S10")


def test_sample_segments(ws):
    rules = ws.segments
    assert rules.universe == Any((Compare("balance", "ge", 3000000),
                                  Compare("client_type", "eq", "legal_entity"),
                                  Compare("avg_monthly_spend_3m", "gt", 3000)))
    assert rules.ids[:10] == ["premium", "luxury", "private", "le_sme", "le_medium",
                              "le_corporate", "active_90d", "lapsing", "individual_select",
                              "investment_clients"]
    assert [s.id for s in rules.reported] == ["premium", "luxury", "private", "le_sme",
                                              "le_medium", "le_corporate"]
    assert rules.get("le_medium").rule == All((
        Compare("client_type", "eq", "legal_entity"), Compare("revenue", "gt", 400000000),
        Compare("revenue", "le", 1000000000)))
    assert rules.get("active_90d").rule == Compare("last_transaction", "within_days", 90)
    assert rules.get("investment_clients").rule == Compare("products", "contains", "investments")
    assert rules.get("individual_select").family == "eligibility"
    assert rules.get("individual_select").report is False
    everyone = rules.get(ALL_SEGMENT)
    assert (everyone.label, everyone.rule) == ("All VIP clients", rules.universe)
    assert ALL_SEGMENT not in rules.ids
    with pytest.raises(KeyError, match="premum"):
        rules.get("premum")


def test_grid_expands_into_six_segments(ws):
    grid = ws.segments.family("value_frequency")
    assert [s.id for s in grid] == ["ltv_low_freq_low", "ltv_low_freq_high", "ltv_mid_freq_low",
                                    "ltv_mid_freq_high", "ltv_high_freq_low",
                                    "ltv_high_freq_high"]
    by_id = {s.id: s for s in grid}
    assert by_id["ltv_mid_freq_high"].label == "LTV 5–20 m, more than 4 purchases"
    assert by_id["ltv_low_freq_low"].rule == All((Compare("lifetime_value", "le", 5000000),
                                                  Compare("purchases_12m", "le", 4)))
    assert by_id["ltv_mid_freq_high"].rule == All((
        Compare("lifetime_value", "gt", 5000000), Compare("lifetime_value", "le", 20000000),
        Compare("purchases_12m", "gt", 4)))
    assert by_id["ltv_high_freq_low"].rule == All((Compare("lifetime_value", "gt", 20000000),
                                                   Compare("purchases_12m", "le", 4)))
    assert all(s.grid == "value_frequency" and not s.report for s in grid)


def test_condition_operators_and_text():
    a, b = Compare("tier", "eq", "Premium"), Compare("lines", "le", 5)
    assert a & b == All((a, b)) and a | b == Any((a, b)) and ~a == Not(a)
    assert (a & b).fields == frozenset({"tier", "lines"})
    assert str(a & ~b) == "tier = Premium and not lines ≤ 5"
    assert str(Compare("x", "between", (1, 2))) == "x between 1 and 2"


def test_quarters_listing(tmp_path):
    ws_dir = _copy_sample(tmp_path)
    for name in ("2026Q1", "2025Q4", "2025Q3", "notes", "2025Q5"):
        (ws_dir / name).mkdir()
    (ws_dir / "2026Q2").write_text("a file, not a folder")
    ws = load_workspace(ws_dir)
    assert ws.quarters() == ["2025Q3", "2025Q4", "2026Q1"]
    assert ws.quarter_dir("2026Q1") == ws_dir / "2026Q1"
    assert ws.quarter_dir(Quarter(2026, 2)) == ws_dir / "2026Q2"
    with pytest.raises(ValueError):
        ws.quarter_dir("2026-Q1")


def test_fiscal_year_start_reaches_quarters_and_rules(tmp_path):
    ws_dir = _copy_sample(tmp_path)
    _edit(ws_dir / "workspace.yaml", "fiscal_year_start: 1 ", "fiscal_year_start: 4 ")
    ws = load_workspace(ws_dir)
    assert ws.fiscal_year_start == 4 and ws.segments.fiscal_year_start == 4
    assert ws.quarter("2026Q1").start == D(2026, 4, 1)


# --------------------------------------------------------------------------------------------
# Validation errors: one per kind
# --------------------------------------------------------------------------------------------

def _copy_sample(tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    target.mkdir()
    for f in ("workspace.yaml", "instrument.yaml", "segments.yaml", "standards.yaml", "cases.yaml"):
        shutil.copy(SAMPLE_WORKSPACE / f, target / f)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _error(tmp_path: Path, file: str, old: str, new: str) -> ConfigError:
    ws_dir = _copy_sample(tmp_path)
    _edit(ws_dir / file, old, new)
    with pytest.raises(ConfigError) as info:
        load_workspace(ws_dir)
    return info.value


# (file, text to replace, replacement, expected key path, fragments the message must contain)
BROKEN = {
    "required-key-missing": (
        "instrument.yaml", "title: Quarterly VIP client survey\n", "",
        "title", ["required key is missing"]),
    "unknown-key-typo": (
        "standards.yaml", "    attributes: [respect, availability]",
        "    atributes: [respect, availability]",
        "standards[0].atributes", ["unknown key", "did you mean 'attributes'"]),
    "unknown-key-workspace": (
        "workspace.yaml", "reporting:\n  confidence: 0.95",
        "reporting:\n  confidance: 0.95",
        "reporting.confidance", ["did you mean 'confidence'"]),
    "column-not-text": (
        "instrument.yaml", "satisfaction: Q4_availability_sat", "satisfaction: 12",
        "csi.attributes[2].satisfaction", ["expected a column name, got 12"]),
    "column-used-twice": (
        "instrument.yaml", "importance: Q4_speed_imp", "importance: Q4_speed_sat",
        "csi.attributes[1].importance",
        ["'Q4_speed_sat' is already csi.attributes[1].satisfaction"]),
    "scale-not-increasing": (
        "instrument.yaml", "  scale: [1, 7]", "  scale: [7, 1]",
        "ces.scale", ["low < high", "[7, 1]"]),
    "scale-not-integers": (
        "instrument.yaml", "  scale: [1, 7]", "  scale: [1, 7.5]",
        "ces.scale", ["two whole numbers", "[1, 7.5]"]),
    "nps-scale": (
        "instrument.yaml", "  scale: [0, 10]", "  scale: [1, 10]",
        "nps.scale", ["expected [0, 10]", "[1, 10]"]),
    "match-mode": (
        "instrument.yaml", "match_columns_by: name", "match_columns_by: names",
        "match_columns_by", ["did you mean 'name'", "name, text, position", "'names'"]),
    "version-not-integer": (
        "instrument.yaml", "version: 3", "version: three",
        "version", ["whole number ≥ 1", "'three'"]),
    "duplicate-attribute": (
        "instrument.yaml", "    - id: availability", "    - id: competence",
        "csi.attributes[2].id", ["unique attribute id", "csi.attributes[0]"]),
    "attribute-id-format": (
        "instrument.yaml", "    - id: availability", "    - id: Availability",
        "csi.attributes[2].id", ["lower case", "'Availability'"]),
    "stated-weights-need-importance": (
        "instrument.yaml", "      importance: Q4_respect_imp\n", "",
        "csi.attributes[5].importance", ["csi.weights is 'stated'"]),
    "explicit-weight-unknown-attribute": (
        "instrument.yaml", "weights: stated", "weights: {respect: 2, competance: 1}",
        "csi.weights.competance", ["expected an attribute id", "did you mean 'competence'"]),
    "explicit-weight-not-positive": (
        "instrument.yaml", "weights: stated", "weights: {competence: 0}",
        "csi.weights.competence", ["weight > 0", "got 0"]),
    "missing-code-inside-scale": (
        "instrument.yaml", "missing_codes: [99]", "missing_codes: [5]",
        "csi.missing_codes[0]", ["outside csi.scale [1, 10]", "got 5"]),
    "duplicate-segment": (
        "segments.yaml", "{id: lapsing,", "{id: active_90d,",
        "segments[7].id", ["unique segment id", "'active_90d'", "segments[6].id"]),
    "reserved-segment-all": (
        "segments.yaml", "{id: lapsing,", "{id: all,",
        "segments[7].id", ["reserved"]),
    "grid-cell-clashes-with-segment": (
        "segments.yaml", "{id: lapsing,", "{id: ltv_low_freq_low,",
        "grids[0].id", ["'ltv_low_freq_low' is already used by segments[7].id"]),
    "unknown-operator": (
        "segments.yaml", "{field: lines, le: 5}", "{field: lines, lte: 5}",
        "segments[8].rule.all[1].lte", ["unknown operator", "did you mean 'lt'",
                                        "older_than_days"]),
    "two-operators": (
        "segments.yaml", "{field: lines, le: 5}", "{field: lines, le: 5, gt: 1}",
        "segments[8].rule.all[1]", ["exactly one operator", "le, gt"]),
    "operator-value-type": (
        "segments.yaml", "{field: lines, le: 5}", "{field: lines, le: five}",
        "segments[8].rule.all[1].le", ["number or date", "'five'"]),
    "days-not-integer": (
        "segments.yaml", "within_days: 90", "within_days: -1",
        "segments[6].rule.within_days", ["whole number ≥ 0", "got -1"]),
    "unknown-field": (
        "segments.yaml", "{field: revenue, le: 400000000}", "{field: revnue, le: 400000000}",
        "segments[3].rule.all[1].field", ["did you mean 'revenue'", "clients.columns",
                                          "'revnue'"]),
    "unknown-combinator": (
        "segments.yaml", "  any:\n    - {field: balance", "  either:\n    - {field: balance",
        "universe.either", ["unknown key", "all, any, not"]),
    "empty-all": (
        "segments.yaml",
        "rule: {all: [{field: client_type, eq: legal_entity}, {field: revenue, gt: 1000000000}]}",
        "rule: {all: []}",
        "segments[5].rule.all", ["at least 1 entry"]),
    "band-max-order": (
        "segments.yaml", "{id: ltv_mid, label: LTV 5–20 m, max: 20000000}",
        "{id: ltv_mid, label: LTV 5–20 m, max: 2000000}",
        "grids[0].rows.bands[1].max", ["above the previous band's max (5000000)",
                                       "got 2000000"]),
    "band-max-missing": (
        "segments.yaml", "{id: freq_low, label: up to 4 purchases, max: 4}",
        "{id: freq_low, label: up to 4 purchases}",
        "grids[0].cols.bands[0].max", ["every band but the last needs a max"]),
    "report-not-bool": (
        "segments.yaml", "family: tier, report: true, rule: {field: tier, eq: Premium}",
        "family: tier, report: yes, rule: {field: tier, eq: Premium}",
        "segments[0].report", ["expected true or false", "'yes'"]),
    "duplicate-standard": (
        "standards.yaml", "  - id: S05", "  - id: S04",
        "standards[4].id", ["unique standard id", "standards[3]"]),
    "duplicate-checklist-item": (
        "standards.yaml", "{id: S05.2,", "{id: S05.1,",
        "standards[4].items[1].id", ["unique in the catalogue", "'S05.1'",
                                     "standards[4].items[0]"]),
    "standard-attribute-unknown": (
        "standards.yaml", "    attributes: [promises_kept]\n",
        "    attributes: [promise_kept]\n",
        "standards[2].attributes[0]", ["instrument.yaml", "did you mean 'promises_kept'",
                                       "'promise_kept'"]),
    "target-unknown-segment": (
        "standards.yaml", "targets: {default: 85, private: 90}",
        "targets: {default: 85, privat: 90}",
        "standards[3].targets.privat", ["unknown segment", "did you mean 'private'",
                                        "'default' or a segment id"]),
    "target-out-of-range": (
        "standards.yaml", "targets: {default: 98}", "targets: {default: 120}",
        "standards[8].targets.default", ["from 0 to 100", "got 120"]),
    "target-default-missing": (
        "standards.yaml", "targets: {default: 85, private: 90}", "targets: {private: 90}",
        "standards[3].targets.default", ["required key is missing"]),
    "version-effective-order": (
        "standards.yaml", "{version: 2, effective: 2025-04-01",
        "{version: 2, effective: 2022-04-01",
        "standards[3].versions[1].effective", ["after 2023-01-01", "got 2022-04-01"]),
    "version-number-order": (
        "standards.yaml", "{version: 2, effective: 2025-04-01",
        "{version: 1, effective: 2025-04-01",
        "standards[3].versions[1].version", ["above 1", "got 1"]),
    "bad-date-format": (
        "standards.yaml", "{version: 2, effective: 2025-04-01",
        "{version: 2, effective: 01.04.2025",
        "standards[3].versions[1].effective", ["YYYY-MM-DD", "'01.04.2025'"]),
    "impossible-date": (
        "standards.yaml", "{version: 2, effective: 2025-04-01",
        "{version: 2, effective: 2025-02-30",
        "standards[3].versions[1].effective", ["real calendar date", "'2025-02-30'"]),
    "item-weight-not-positive": (
        "standards.yaml", "confirmed in writing, weight: 1}",
        "confirmed in writing, weight: -1}",
        "standards[3].items[0].weight", ["weight > 0", "got -1"]),
    "item-critical-not-bool": (
        "standards.yaml", "authority, weight: 1, critical: true}",
        "authority, weight: 1, critical: 1}",
        "standards[2].items[0].critical", ["true or false", "got 1"]),
    "fiscal-year-start": (
        "workspace.yaml", "fiscal_year_start: 1 ", "fiscal_year_start: 13 ",
        "fiscal_year_start", ["from 1 to 12", "got 13"]),
    "timezone": (
        "workspace.yaml", "timezone: Europe/Moscow", "timezone: Europe/Moskow",
        "timezone", ["IANA time zone", "'Europe/Moskow'"]),
    "currency": (
        "workspace.yaml", "currency: RUB", "currency: roubles",
        "currency", ["ISO 4217", "'roubles'"]),
    "visit-column-missing": (
        "workspace.yaml", "    item_id: item_id\n", "",
        "visits.columns.item_id", ["required key is missing"]),
    "personal-column-stored": (
        "workspace.yaml", "personal: [full_name, email, phone, address]",
        "personal: [full_name, email, phone, address, branch]",
        "clients.personal[4]", ["dropped at ingest", "clients.columns.branch"]),
    "source-column-mapped-twice": (
        "workspace.yaml", "    household_id: household_id", "    household_id: client_id",
        "clients.columns.household_id", ["'client_id' is already mapped"]),
    "base-small-below-suppress": (
        "workspace.yaml", "base_small: 100 ", "base_small: 10 ",
        "reporting.base_small", ["at least base_suppress (30)", "got 10"]),
    "adjustment": (
        "workspace.yaml", "adjustment: holm ", "adjustment: bonferroni ",
        "reporting.adjustment", ["holm, bh", "'bonferroni'"]),
    "confidence": (
        "workspace.yaml", "confidence: 0.95", "confidence: 95",
        "reporting.confidence", ["between 0 and 1", "got 95"]),
    "named-file-missing": (
        "workspace.yaml", "instrument: instrument.yaml", "instrument: instrumnet.yaml",
        "instrument", ["instrumnet.yaml", "does not exist", "did you mean 'instrument.yaml'"]),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_validation_error(tmp_path, case):
    file, old, new, key, fragments = BROKEN[case]
    err = _error(tmp_path, file, old, new)
    assert Path(err.file).name == file
    assert err.key == key
    message = str(err)
    assert file in message and key in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "(line " in message


def test_error_message_format(tmp_path):
    err = _error(tmp_path, "standards.yaml", "confirmed in writing, weight: 1}",
                 "confirmed in writing, weight: 0}")
    assert str(err) == (f"{err.file}: standards[3].items[0].weight: expected a weight > 0, "
                        f"got 0 (line 51)")


def test_yaml_syntax_error_has_line_and_column(tmp_path):
    err = _error(tmp_path, "segments.yaml", "  - {id: luxury, label: Luxury,",
                 "  - {id: luxury, label: [Luxury,")
    assert Path(err.file).name == "segments.yaml" and err.key == ""
    assert "invalid YAML at line 17, column" in str(err)


def test_yaml_duplicate_key_is_an_error(tmp_path):
    err = _error(tmp_path, "standards.yaml", "    owner: Head of operations\n",
                 "    owner: Head of operations\n    owner: Head of quality\n")
    assert "duplicate key 'owner'" in str(err) and "line 42, column 5" in str(err)


def test_unquoted_comma_in_flow_mapping_is_caught(tmp_path):
    # `text: a, b` inside {...} silently makes "b" a key in plain PyYAML
    err = _error(tmp_path, "standards.yaml",
                 'text: "The manager is courteous and attentive, keeps a business tone and avoids '
                 'flattery."}',
                 "text: The manager is courteous and attentive, keeps a business tone.}")
    assert err.key == "standards[6].versions[0].keeps a business tone."
    assert "unknown key" in str(err)


_BOMB = "".join(
    ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    + [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10)]
)  # "billion laughs": ten to the tenth values once the aliases are written out

_LOAD = """
import sys
from vipquality.config import load_workspace
from vipquality.errors import ConfigError
try:
    load_workspace(sys.argv[1])
except ConfigError as err:
    print(err)
"""


@pytest.mark.parametrize("file", ["workspace.yaml", "segments.yaml"])
def test_an_alias_bomb_is_refused_at_once(tmp_path, file):
    """Aliases of aliases are counted, not expanded (a subprocess, so a regression shows as a
    time-out rather than a hung test run)."""
    import subprocess
    import sys

    ws_dir = _copy_sample(tmp_path)
    (ws_dir / file).write_text(_BOMB + (ws_dir / file).read_text(encoding="utf-8"),
                               encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", _LOAD, str(ws_dir)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    message = proc.stdout.strip()
    assert message.startswith(str(ws_dir / file)), message
    assert "100,000 values once its aliases" in message and len(message) < 400


def test_an_error_message_never_renders_a_huge_value_whole(tmp_path):
    big = "[" + ", ".join(["1"] * 300) + "]"
    err = _error(tmp_path, "workspace.yaml", "name: Sample Private Bank — VIP service quality",
                 f"name: [&big {big}, " + ", ".join(["*big"] * 299) + "]")
    assert err.key == "name" and "got a list [[1, 1, 1, 1, 1, 1, ...]" in str(err)
    assert len(str(err)) < len(str(tmp_path)) + 200


def test_yaml_nested_too_deeply_is_one_error(tmp_path):
    ws_dir = _copy_sample(tmp_path)
    (ws_dir / "segments.yaml").write_text("x: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_workspace(ws_dir)


def test_empty_file(tmp_path):
    ws_dir = _copy_sample(tmp_path)
    (ws_dir / "segments.yaml").write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match=r"segments\.yaml: expected a mapping.*got nothing"):
        load_workspace(ws_dir)


def test_missing_workspace(tmp_path):
    with pytest.raises(ConfigError, match="workspace not found") as info:
        load_workspace(tmp_path / "nowhere")
    assert info.value.file == str(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="file not found"):
        load_workspace(tmp_path)  # a folder without workspace.yaml


def test_yaml_reading_rules(tmp_path):
    """1e9 is a number, `no` stays text (not false), text written YYYY-MM-DD is a date."""
    ws_dir = _copy_sample(tmp_path)
    _edit(ws_dir / "segments.yaml", "{field: revenue, gt: 1000000000}",
          "{field: revenue, gt: 1e9}")
    _edit(ws_dir / "segments.yaml", "rule: {field: tier, eq: Luxury}",
          "rule: {field: tier, in: [Luxury, no]}")
    _edit(ws_dir / "segments.yaml", "rule: {field: last_transaction, older_than_days: 180}",
          "rule: {field: last_transaction, lt: 2025-01-31}")
    rules = load_workspace(ws_dir).segments
    assert rules.get("le_corporate").rule.items[1] == Compare("revenue", "gt", 1e9)
    assert rules.get("luxury").rule == Compare("tier", "in", ("Luxury", "no"))
    assert rules.get("lapsing").rule == Compare("last_transaction", "lt", D(2025, 1, 31))


def test_in_list_of_mixed_kinds(tmp_path):
    err = _error(tmp_path, "segments.yaml", "rule: {field: tier, eq: Luxury}",
                 "rule: {field: tier, in: [Luxury, 2025-01-31]}")
    assert err.key == "segments[1].rule.in" and "one kind" in str(err)


def test_optional_keys_take_defaults(tmp_path):
    ws_dir = _copy_sample(tmp_path)
    (ws_dir / "workspace.yaml").write_text(
        "name: Minimal\ncurrency: EUR\ntimezone: UTC\ninstrument: instrument.yaml\n"
        "segments: segments.yaml\nstandards: standards.yaml\n"
        "clients:\n  columns: {client_id: id, client_type: type, tier: tier, revenue: revenue,\n"
        "    balance: balance, avg_monthly_spend_3m: spend, lines: lines, products: products,\n"
        "    last_transaction: last_tx, lifetime_value: ltv, purchases_12m: purchases}\n"
        "visits:\n  columns: {visit_id: id, visit_date: date, branch: branch, manager_id: mgr,\n"
        "    segment: scenario, item_id: item, result: result}\n")
    ws = load_workspace(ws_dir)
    assert ws.fiscal_year_start == 1 and ws.staff_path is None
    assert ws.store_path == ws_dir / "store"
    assert ws.quarter_files["survey"] == ("survey*.csv", "survey*.xlsx", "survey*.xlsm",
                                         "survey*.parquet")
    assert ws.reporting.base_suppress == 30 and ws.critical_item_fails_visit is True
    assert ws.personal_columns == () and ws.client_columns["client_id"] == "id"


# --------------------------------------------------------------------------------------------
# Quarter
# --------------------------------------------------------------------------------------------

def test_quarter_parse_and_format():
    q = Quarter.parse("2026Q3")
    assert (q.year, q.q, q.fiscal_year_start, str(q)) == (2026, 3, 1, "2026Q3")
    assert repr(q) == "Quarter('2026Q3')"
    assert Quarter.parse(" 2026Q3 ") == q
    assert Quarter.parse(q) is q
    assert repr(Quarter.parse("2026Q1", 4)) == "Quarter('2026Q1', fiscal_year_start=4)"


@pytest.mark.parametrize("bad", ["2026Q5", "2026Q0", "2026-Q3", "Q3 2026", "26Q1", "2026q3", "",
                                 "2026Q1x", 20263, None])
def test_quarter_parse_rejects(bad):
    with pytest.raises(ValueError, match="expected a quarter written like '2026Q3'"):
        Quarter.parse(bad)


def test_quarter_invalid_fields():
    with pytest.raises(ValueError, match="fiscal_year_start"):
        Quarter(2026, 1, 13)
    with pytest.raises(ValueError, match="q must be"):
        Quarter(2026, 5)


@pytest.mark.parametrize("text, start, end", [
    ("2026Q1", D(2026, 1, 1), D(2026, 3, 31)),
    ("2026Q2", D(2026, 4, 1), D(2026, 6, 30)),
    ("2026Q3", D(2026, 7, 1), D(2026, 9, 30)),
    ("2026Q4", D(2026, 10, 1), D(2026, 12, 31)),
])
def test_calendar_quarter_dates(text, start, end):
    q = Quarter.parse(text)
    assert (q.start, q.end) == (start, end)
    assert start in q and end in q and (end + dt.timedelta(days=1)) not in q


@pytest.mark.parametrize("fys, text, start, end", [
    (4, "2026Q1", D(2026, 4, 1), D(2026, 6, 30)),
    (4, "2026Q3", D(2026, 10, 1), D(2026, 12, 31)),
    (4, "2026Q4", D(2027, 1, 1), D(2027, 3, 31)),
    (7, "2025Q2", D(2025, 10, 1), D(2025, 12, 31)),
    (2, "2024Q4", D(2024, 11, 1), D(2025, 1, 31)),   # spans the year end
    (12, "2024Q1", D(2024, 12, 1), D(2025, 2, 28)),
    (3, "2023Q4", D(2023, 12, 1), D(2024, 2, 29)),   # leap year
])
def test_fiscal_quarter_dates(fys, text, start, end):
    q = Quarter.parse(text, fiscal_year_start=fys)
    assert (q.start, q.end) == (start, end)
    assert Quarter.from_date(start, fys) == q and Quarter.from_date(end, fys) == q


def test_quarter_from_date():
    assert Quarter.from_date(D(2026, 3, 31)) == Quarter(2026, 1)
    assert Quarter.from_date(dt.datetime(2026, 4, 1, 0, 0)) == Quarter(2026, 2)
    assert str(Quarter.from_date(D(2026, 3, 31), 4)) == "2025Q4"
    assert str(Quarter.from_date(D(2026, 4, 1), 4)) == "2026Q1"


def test_quarter_arithmetic_across_year_boundaries():
    q = Quarter.parse("2026Q1")
    assert str(q.previous()) == "2025Q4" and str(q.previous().next()) == "2026Q1"
    assert str(Quarter.parse("2025Q4").next()) == "2026Q1"
    assert str(q + 7) == "2027Q4" and str(q - 5) == "2024Q4" and str(q + 0) == "2026Q1"
    assert q - Quarter.parse("2024Q3") == 6 and Quarter.parse("2024Q3") - q == -6
    fq = Quarter.parse("2026Q1", 4)
    assert fq.previous() == Quarter(2025, 4, 4)
    assert fq.previous().start == D(2026, 1, 1)  # FY2025 Q4 = Jan–Mar 2026
    assert fq.previous().end + dt.timedelta(days=1) == fq.start


def test_quarter_ordering_and_range():
    qs = [Quarter.parse(x) for x in ("2026Q1", "2024Q4", "2025Q2")]
    assert [str(x) for x in sorted(qs)] == ["2024Q4", "2025Q2", "2026Q1"]
    assert Quarter.parse("2025Q4") < Quarter.parse("2026Q1") <= Quarter.parse("2026Q1")
    assert max(qs) == Quarter(2026, 1)
    assert [str(x) for x in Quarter.range("2024Q3", "2025Q2")] == [
        "2024Q3", "2024Q4", "2025Q1", "2025Q2"]
    assert Quarter.range("2025Q1", "2025Q1") == [Quarter(2025, 1)]
    assert all(x.fiscal_year_start == 4 for x in Quarter.range("2025Q3", "2026Q2", 4))
    with pytest.raises(ValueError, match="2026Q1 comes after 2025Q1"):
        Quarter.range("2026Q1", "2025Q1")
    with pytest.raises(TypeError, match="different fiscal calendars"):
        Quarter(2026, 1) < Quarter(2026, 1, 4)
    assert Quarter(2026, 1) != Quarter(2026, 1, 4)
    assert len({Quarter(2026, 1), Quarter.parse("2026Q1")}) == 1


def test_dataclasses_are_frozen(ws):
    import dataclasses
    with pytest.raises(dataclasses.FrozenInstanceError):
        ws.name = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        Quarter(2026, 1).q = 2
