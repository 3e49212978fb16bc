"""Survey-tool importers on real exports (``../shared/fixtures/real``, see its README).

Every fixture of the Qualtrics, SurveyMonkey, LimeSurvey, Google Forms and Microsoft Forms
folders is read here: detected format, exact row counts, specific mapped values and the quirk the
README lists for it. The files are referenced where they are (never copied into the project);
the tests skip, saying why, when the folder is absent. A few small synthetic exports written to
``tmp_path`` cover what the real files lack (a recorded time zone, an import through
``ingest_quarter``/``vipquality ingest``).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from click.testing import CliRunner

import vipquality as vq
from vipquality.config import Attribute, Instrument, Item, load_workspace
from vipquality.data.importers import FORMATS, detect_format, import_survey, read_survey
from vipquality.data.readers import read_table
from vipquality.data.schema import fields_for, resolve_columns
from vipquality.errors import IngestError
from vipquality.paths import SAMPLE_WORKSPACE

REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("VIPQUALITY_REAL_FIXTURES",
                          REPO.parent / "shared" / "fixtures" / "real"))
DATA = Path(__file__).parent / "data"


def real(rel: str) -> Path:
    """A fixture file, or skip the test saying where it was looked for."""
    path = REAL / rel
    if not REAL.is_dir():
        pytest.skip(f"real survey exports not found at {REAL} (../shared/fixtures/real; set "
                    "VIPQUALITY_REAL_FIXTURES to their folder)")
    if not path.exists():
        pytest.skip(f"fixture {rel} not found under {REAL}")
    return path


def raw_rows(rel: str, encoding: str = "utf-8-sig") -> list[list[str]]:
    """A fixture read with the plain csv module (the independent reading tests compare with)."""
    text = real(rel).read_bytes().decode(encoding)
    return list(csv.reader(io.StringIO(text, newline="")))


def instrument(mode: str, *, nps: tuple[str, str], columns: dict | None = None,
               attributes: tuple[tuple[str, str, str], ...] = (),
               comment: tuple[str, str] | None = None) -> Instrument:
    """A small instrument (the YAML loader's dataclass, built directly)."""
    cols = {"response_id": "ResponseId", "client_id": "ClientId", "submitted_at": "SubmittedAt",
            "weight": None}
    cols.update(columns or {})
    return Instrument(
        id="t", title="test", version=1, match_columns_by=mode, columns=cols,
        nps=Item("nps", nps[0], nps[1], (0, 10)), ces=None, overall=None,
        comment=Item("comment", comment[0], comment[1], None) if comment else None,
        csi_scale=(0, 10), importance_scale=None, csi_weights="equal", missing_codes=(),
        attributes=tuple(Attribute(i, lab, sat, None) for i, lab, sat in attributes))


# ---------------------------------------------------------------------------- every fixture
QT = "qualtrics/QualtricsTools/"
#: fixture -> (format, responses imported by default, responses with keep_test_responses)
EXPECTED = {
    "qualtrics/sample.csv": ("qualtrics", 1, 1),
    "qualtrics/sample_legacy.csv": ("qualtrics-legacy", 1, 1),
    QT + "Long_Exhaustive_Sample_Survey.csv": ("qualtrics-2016", 0, 31),
    QT + "Long__Exhaustive Pre-Insights.csv": ("qualtrics-legacy", 0, 31),
    QT + "Long__Exhaustive_Sample_Survey.csv": ("qualtrics-2016", 0, 31),
    QT + "No_Basis_for_Evaluation (Insights).csv": ("qualtrics-2016", 0, 15),
    QT + "No_Basis_for_Evaluation (Legacy).csv": ("qualtrics-legacy", 0, 15),
    QT + "Sample_Survey (Insights).csv": ("qualtrics-2016", 0, 5),
    QT + "Sample_Survey.csv": ("qualtrics-legacy", 0, 5),
    QT + "SidebySide_Questions (Insights).csv": ("qualtrics-2016", 0, 25),
    QT + "Single_Answer_Matrix_Questions (Insights).csv": ("qualtrics-2016", 0, 5),
    QT + "Single_Answer_Matrix_Questions.csv": ("qualtrics-legacy", 0, 5),
    "surveymonkey/MIDWEST.csv": ("surveymonkey", 2778, 2778),
    "surveymonkey/StarWars.csv": ("surveymonkey", 1186, 1186),
    "surveymonkey/sleeping-alone-data.csv": ("surveymonkey", 1093, 1093),
    "surveymonkey/steak-risk-survey.csv": ("surveymonkey", 550, 550),
    "surveymonkey/raw-condensed-completeonly-xl2.xlsx": ("surveymonkey", 1002, 1002),
    "limesurvey/first.csv": ("limesurvey", 1, 1),
    "limesurvey/survey_184695_R_data_file.csv": ("limesurvey-r", 152, 152),
    "limesurvey/survey_184695_R_syntax_file.R": ("limesurvey-r", 152, 152),
    "google_forms/sudzilla_input_01.csv": ("google-forms", 39, 39),
    "google_forms/sudzilla_input_02.csv": ("google-forms", 39, 39),
    "google_forms/hot_dog_survey_spring25.xlsx - Form Responses 1.csv": ("google-forms", 64, 64),
    "google_forms/Is hotdog a sandwich_ (Responses).xlsx": ("google-forms", 207, 207),
    "microsoft_forms/Hot-Dog-Form-Fa24.csv": ("microsoft-forms", 187, 187),
}
#: recognised files that hold no responses: (fixture, words of the error)
NOT_RESPONSES = {
    QT + "Sample_Survey.qsf": "survey definition",
    QT + "Long & Exhaustive Sample Survey.sps": "without GET DATA",
}


def test_every_fixture_of_the_families_is_listed():
    """A new fixture in one of these folders must get its expectations here."""
    if not REAL.is_dir():
        pytest.skip(f"real survey exports not found at {REAL}")
    found = {p.relative_to(REAL).as_posix()
             for fam in ("qualtrics", "surveymonkey", "limesurvey", "google_forms",
                         "microsoft_forms")
             for p in (REAL / fam).rglob("*") if p.is_file()}
    assert found == set(EXPECTED) | set(NOT_RESPONSES)


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_format_and_exact_row_counts(rel):
    fmt, rows, rows_kept = EXPECTED[rel]
    path = real(rel)
    assert detect_format(path) == fmt
    survey = import_survey(path)
    assert survey.format == fmt and survey.report.format == fmt
    assert len(survey.data) == survey.report.rows == rows
    assert survey.report.test_responses_excluded == rows_kept - rows
    kept = import_survey(path, keep_test_responses=True)
    assert len(kept.data) == rows_kept
    # the frame has the RawTable layout: text cells, unique clean ids, provenance last
    assert list(survey.data.columns[-2:]) == ["source_file", "source_row"]
    assert len(set(survey.columns)) == len(survey.columns)
    assert all(isinstance(v, str) for c in survey.columns for v in survey.data[c])
    summary = survey.report.summary()
    assert fmt in summary and f"rows: {rows} response(s)" in summary


@pytest.mark.parametrize("rel", sorted(NOT_RESPONSES))
def test_files_without_responses_are_refused_with_what_to_export(rel):
    with pytest.raises(IngestError, match=NOT_RESPONSES[rel]):
        detect_format(real(rel))
    with pytest.raises(IngestError, match=NOT_RESPONSES[rel]):
        import_survey(real(rel))


def test_format_names():
    assert FORMATS == ("qualtrics", "qualtrics-2016", "qualtrics-legacy", "surveymonkey",
                       "limesurvey", "limesurvey-r", "google-forms", "microsoft-forms",
                       "canonical")
    from vipquality import cli
    choices = next(p.type.choices for p in cli.ingest.params if p.name == "survey_format")
    assert tuple(choices) == FORMATS
    with pytest.raises(IngestError, match="unknown survey format 'qualtrix'"):
        import_survey(DATA / "2026Q2" / "survey.csv", format="qualtrix")


def test_canonical_file_is_detected_and_read_as_before():
    path = DATA / "2026Q2" / "survey.csv"
    assert detect_format(path) == "canonical"
    survey = import_survey(path)
    assert len(survey.data) == 4 and survey.columns[:3] == ("ResponseId", "ClientId",
                                                            "SubmittedAt")
    assert survey.data.loc[0, "Q1_recommend"] == "10 "  # nothing coerced in a canonical file
    ws = load_workspace(SAMPLE_WORKSPACE)
    raw = read_survey(path, ws, source_file="survey.csv")
    assert raw.columns == survey.columns and raw.data.equals(
        read_table(path, source_file="survey.csv").data)


# ------------------------------------------------------------------------------ Qualtrics
def test_qualtrics_current_three_header_rows():
    s = import_survey(real("qualtrics/sample.csv"), timezone="Europe/Berlin")
    row = s.data.iloc[0]
    assert row["ResponseId"] == "R_2YPOQ602ER1jkf1"
    assert row["Q1"] == "2" and row["Q2"] == "Hello World!"
    # row 2 is the question text (metadata labels localised into German), row 3 ImportId JSON
    assert s.questions == {"Q1": "This is a multiple choice question.",
                           "Q2": "This is a free text question."}
    assert "Anfangsdatum" in s.report.columns_mapped["StartDate"]
    assert "QID2_TEXT" in s.report.columns_mapped["Q2"]
    # Text iQ's derived column and personal metadata are not imported, and the report says why
    ignored = s.report.columns_ignored
    assert "Text iQ" in ignored["'Q2 - Topics' (column 20)"]
    for name in ("IPAddress", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
                 "LocationLatitude", "LocationLongitude"):
        assert any(k.startswith(f"'{name}'") and "personal" in v for k, v in ignored.items())
        assert name not in s.columns
    # Status 0 is a real response; Finished 1
    assert row["Status"] == "0" and row["Finished"] == "1"
    assert s.report.test_responses_excluded == 0
    # no time zone in the file: the one given is used, and said
    assert row["StartDate"] == "2017-07-18 08:28:09+02:00"
    assert row["RecordedDate"] == "2017-07-18 08:28:48+02:00"
    assert any("records no time zone" in n and "Europe/Berlin" in n for n in s.report.notes)


def test_qualtrics_legacy_bom_trailing_comma_v_columns():
    path = real("qualtrics/sample_legacy.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert all(line.endswith(b",") for line in path.read_bytes().splitlines() if line)
    s = import_survey(path)
    assert s.report.encoding == "utf-8-sig"
    # V1..V10 take their names from row 2
    assert s.columns[:5] == ("ResponseID", "ResponseSet", "ExternalDataReference", "Status",
                             "StartDate")
    assert "V1" in s.report.columns_mapped["ResponseID"]
    row = s.data.iloc[0]
    assert row["ResponseID"] == "R_2YPOQ602ER1jkf1" and row["Q1"] == "2"
    assert row["Q2"] == "Hello World!"
    assert s.questions["Q1"] == "This is a multiple choice question."
    # the empty last column of the trailing commas is ignored, not an error
    assert s.report.columns_ignored["column 16 (no header)"].startswith("empty column")
    assert "Name" not in s.columns and "EmailAddress" not in s.columns


def test_qualtrics_2016_python_dict_import_ids_and_test_responses():
    path = real(QT + "No_Basis_for_Evaluation (Insights).csv")
    rows = raw_rows(QT + "No_Basis_for_Evaluation (Insights).csv")
    assert rows[2][12] == "{'ImportId': 'QID2-1'}"  # a Python-dict repr, hyphenated id
    s = import_survey(path)
    assert len(s.data) == 0 and s.report.test_responses_excluded == 15
    assert any("every response in the file (15) is a test" in n for n in s.report.notes)
    assert "test responses excluded: 15" in s.report.summary()
    kept = import_survey(path, keep_test_responses=True)
    assert (kept.data["Status"] == "2").all() and len(kept.data) == 15
    assert "QID2-1" in kept.report.columns_mapped["Q2_1"]
    assert kept.questions["Q2_1"] == "Check all statements you agree with-Squash are great"
    assert kept.data["ResponseID"].tolist() == [r[0] for r in rows[3:]]


def test_no_basis_codes_become_missing_the_same_in_both_layouts():
    ins = import_survey(real(QT + "No_Basis_for_Evaluation (Insights).csv"),
                        keep_test_responses=True)
    leg = import_survey(real(QT + "No_Basis_for_Evaluation (Legacy).csv"),
                        keep_test_responses=True)
    raw = raw_rows(QT + "No_Basis_for_Evaluation (Insights).csv")
    header, body = raw[0], raw[3:]
    # by hand: every -1/-2 in the rating columns Q1, Q3_*, Q4_* (46 of them)
    rating = [c for c in header if c == "Q1" or c.startswith(("Q3_", "Q4_"))]
    codes = sum(r[header.index(c)] in ("-1", "-2") for r in body for c in rating)
    assert codes == 46
    assert ins.report.values_coerced["'no basis to evaluate' code (−1/−2) → missing"] == 46
    assert leg.report.values_coerced["'no basis to evaluate' code (−1/−2) → missing"] == 46
    for c in rating:
        want = [r[header.index(c)] if r[header.index(c)] not in ("-1", "-2") else ""
                for r in body]
        assert ins.data[c].tolist() == want
        assert leg.data[c].tolist() == want  # same responses, same order
    assert ins.data.loc[5, "Q1"] == "" and raw[8][header.index("Q1")] == "-1"
    # an option column whose recode is -1 ("No basis for evaluation" ticked) is not a code
    assert ins.data["Q2_-1"].tolist() == [r[header.index("Q2_-1")] for r in body]
    assert "1" in ins.data["Q2_-1"].tolist()


def test_the_same_responses_start_two_hours_apart_without_a_time_zone():
    ins = import_survey(real(QT + "No_Basis_for_Evaluation (Insights).csv"),
                        keep_test_responses=True)
    leg = import_survey(real(QT + "No_Basis_for_Evaluation (Legacy).csv"),
                        keep_test_responses=True)
    a = pd.to_datetime(ins.data.set_index("ResponseID")["StartDate"])
    b = pd.to_datetime(leg.data.set_index("ResponseID")["StartDate"])
    assert ins.data.loc[0, "StartDate"] == "2016-06-24 14:27:08"
    assert leg.data.loc[0, "StartDate"] == "2016-06-24 12:27:08"
    assert ((a - b.loc[a.index]) == pd.Timedelta(hours=2)).all()
    for s in (ins, leg):  # neither file says which zone: the report says so
        assert any("records no time zone" in n for n in s.report.notes)


def test_qualtrics_duplicate_column_names_and_ambiguous_mapping():
    path = real(QT + "Single_Answer_Matrix_Questions.csv")
    s = import_survey(path, keep_test_responses=True)
    assert [c for c in s.columns if c.startswith("question_one")] == [
        "question_one", "question_one.2", "question_one.3"]
    assert any("repeated" in n and "'question_one' (column 20) → 'question_one.2'" in n
               for n in s.report.notes)
    rows = raw_rows(QT + "Single_Answer_Matrix_Questions.csv")
    assert s.data["question_one.2"].tolist() == [r[19] for r in rows[2:]]
    # the repeated header cannot be mapped by name: the error says what to write instead
    inst = instrument("name", nps=("question_one", "x"),
                      columns={"response_id": "ResponseID", "client_id": "ExternalDataReference"})
    with pytest.raises(IngestError, match=r"question_one.*matches 3 columns.*question_one\.2"):
        import_survey(path, inst, keep_test_responses=True)
    ok = import_survey(path, instrument("name", nps=("question_one.2", "x"), columns={
        "response_id": "ResponseID", "client_id": "ExternalDataReference"}),
        keep_test_responses=True)
    assert ok.mapping["nps"] == "question_one.2"


def test_two_columns_with_the_item_text_is_refused_with_how_to_fix_it():
    path = real(QT + "No_Basis_for_Evaluation (Insights).csv")
    # Q3_1 and Q4_1 have the same text: "Indicate how you feel about the following
    # vegetables-Squash"
    inst = instrument("text", nps=("Q1", "Indicate how you feel about the following "
                                         "vegetables-Squash"))
    with pytest.raises(IngestError) as err:
        import_survey(path, inst, keep_test_responses=True)
    msg = str(err.value)
    assert "matches 2 columns" in msg and "Q3_1" in msg and "Q4_1" in msg
    assert "match_columns_by: name" in msg and "nps.column" in msg


@pytest.mark.parametrize("rel, first_question", [
    (QT + "Long_Exhaustive_Sample_Survey.csv", "Q1"),
    (QT + "Long__Exhaustive Pre-Insights.csv", "Q1"),
    (QT + "Long__Exhaustive_Sample_Survey.csv", "Q1"),
    (QT + "Sample_Survey (Insights).csv", "fruits"),
    (QT + "Sample_Survey.csv", "fruits"),
    (QT + "SidebySide_Questions (Insights).csv", "Q1#1_1"),
    (QT + "Single_Answer_Matrix_Questions (Insights).csv", "Q2_1"),
])
def test_qualtricstools_surveys(rel, first_question):
    rows = raw_rows(rel)
    legacy = rows[0][0] == "V1"
    header_rows = 2 if legacy else next(i for i, r in enumerate(rows) if r[0].startswith("R_"))
    s = import_survey(real(rel), keep_test_responses=True)
    ids = rows[1][0] if legacy else rows[0][0]
    assert s.data["ResponseID" if ids == "ResponseID" else ids].tolist() == \
        [r[0] for r in rows[header_rows:]]
    j = rows[0].index(first_question)
    assert s.data[first_question].tolist() == [
        "" if r[j] in ("-1", "-2") else r[j] for r in rows[header_rows:]]
    assert s.data["source_row"].tolist()[0] == header_rows + 1
    assert (s.data["Status"] == "2").all()
    if header_rows == 1:  # ids only: the question text rows were removed from this file
        assert any("only the id header row" in n for n in s.report.notes)
        assert s.questions[first_question] == ""
    else:
        assert s.questions[first_question] == " ".join(rows[1][j].split())


def test_pre_insights_legacy_duplicates_and_no_basis_counts():
    s = import_survey(real(QT + "Long__Exhaustive Pre-Insights.csv"), keep_test_responses=True)
    ins = import_survey(real(QT + "Long_Exhaustive_Sample_Survey.csv"), keep_test_responses=True)
    # legacy lost the question prefix (cucumbers four times); the 2016 file has Q23_ … Q26_
    for k, q in enumerate(("Q23", "Q24", "Q25", "Q26"), start=1):
        legacy_id = "cucumbers" if k == 1 else f"cucumbers.{k}"
        assert s.data[legacy_id].tolist() == ins.data[f"{q}_cucumbers"].tolist()
    n = "'no basis to evaluate' code (−1/−2) → missing"
    assert s.report.values_coerced[n] == ins.report.values_coerced[n] == 121


def _qualtrics_export(rows: list[dict[str, str]], tz: str = "UTC") -> str:
    """A current-layout Qualtrics export of the sample instrument (3 header rows)."""
    ws = load_workspace(SAMPLE_WORKSPACE)
    inst = ws.instrument
    meta = [("StartDate", "Start Date", f'{{"ImportId":"startDate","timeZone":"{tz}"}}'),
            ("EndDate", "End Date", f'{{"ImportId":"endDate","timeZone":"{tz}"}}'),
            ("Status", "Response Type", '{"ImportId":"status"}'),
            ("IPAddress", "IP Address", '{"ImportId":"ipAddress"}'),
            ("Finished", "Finished", '{"ImportId":"finished"}'),
            ("RecordedDate", "Recorded Date", f'{{"ImportId":"recordedDate","timeZone":"{tz}"}}'),
            ("ResponseId", "Response ID", '{"ImportId":"_recordId"}'),
            ("ClientId", "ClientId", '{"ImportId":"ClientId"}')]
    items = [(i.column, i.text) for i in (inst.nps, inst.ces, inst.overall)]
    for k, a in enumerate(inst.attributes):
        items += [(a.satisfaction, f"{a.label} - satisfaction"),
                  (a.importance, f"{a.label} - importance")]
    items.append((inst.comment.column, inst.comment.text))
    ids = [m[0] for m in meta] + [c for c, _ in items]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(ids)
    w.writerow([m[1] for m in meta] + [t for _, t in items])
    w.writerow([m[2] for m in meta] + [f'{{"ImportId":"QID{k + 1}"}}' for k in range(len(items))])
    for r in rows:
        w.writerow([r.get(c, "7") for c in ids])
    return buf.getvalue()


def test_qualtrics_time_zone_recorded_by_the_export_is_converted(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(_qualtrics_export([
        {"StartDate": "2026-04-03 07:10:00", "EndDate": "2026-04-03 07:15:00",
         "RecordedDate": "2026-04-03 07:15:01", "Status": "0", "ResponseId": "R_abcdefgh1",
         "ClientId": "C001"}], tz="America/Denver"), encoding="utf-8")
    s = import_survey(path, timezone="Europe/Moscow")
    assert s.format == "qualtrics"
    # 07:15:01 in Denver (UTC−6 in April) is 16:15:01 in Moscow (UTC+3)
    assert s.data.loc[0, "RecordedDate"] == "2026-04-03 16:15:01+03:00"
    assert any("time zone recorded by the export: America/Denver" in n for n in s.report.notes)


def test_qualtrics_choice_text_export_status_words(tmp_path):
    path = tmp_path / "choice_text.csv"
    path.write_text(_qualtrics_export([
        {"Status": "IP Address", "ResponseId": "R_choice0001", "ClientId": "C001",
         "Q1_recommend": "9", "RecordedDate": "2026-04-03 07:15:01"},
        {"Status": "Survey Preview", "ResponseId": "R_choice0002", "ClientId": "C002",
         "RecordedDate": "2026-04-03 07:16:01"},
        {"Status": "Survey Test", "ResponseId": "R_choice0003", "ClientId": "C003",
         "RecordedDate": "2026-04-03 07:17:01"}]), encoding="utf-8")
    s = import_survey(path)
    assert s.data["ResponseId"].tolist() == ["R_choice0001"]
    assert s.report.test_responses_excluded == 2
    assert "IPAddress" not in s.columns and s.data.loc[0, "Q1_recommend"] == "9"
    kept = import_survey(path, keep_test_responses=True)
    assert kept.data["Status"].tolist() == ["IP Address", "Survey Preview", "Survey Test"]


# ---------------------------------------------------------------------- ingest and the CLI
@pytest.fixture
def ws_root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    for y in SAMPLE_WORKSPACE.glob("*.yaml"):
        shutil.copy(y, root / y.name)
    shutil.copytree(DATA / "2026Q2", root / "2026Q2")
    (root / "2026Q2" / "survey.csv").unlink()
    (root / "2026Q2" / "survey_qualtrics.csv").write_text(_qualtrics_export([
        {"RecordedDate": "2026-04-03 07:15:01", "Status": "0", "ResponseId": "R_aaaaaaaa1",
         "ClientId": "C001", "Q1_recommend": "10", "Q4_speed_sat": "-1",
         "Q5_comment": "Fine"},
        {"RecordedDate": "2026-05-20 12:00:00", "Status": "0", "ResponseId": "R_aaaaaaaa2",
         "ClientId": "C002", "Q1_recommend": "3", "Q5_comment": ""},
        {"RecordedDate": "2026-05-21 12:00:00", "Status": "2", "ResponseId": "R_test00001",
         "ClientId": "C003", "Q1_recommend": "0", "Q5_comment": "test"},
    ]), encoding="utf-8")
    return root


def test_ingest_quarter_reads_a_qualtrics_export(ws_root):
    from vipquality.data.store import load_responses

    ws = load_workspace(ws_root)
    result = vq.ingest_quarter(ws, "2026Q2")
    assert result.tables["responses"].read == 2 and result.tables["responses"].accepted == 2
    assert any("1 test/preview response(s) excluded" in w for w in result.warnings)
    assert any("read as a qualtrics export" in w for w in result.warnings)
    stored = load_responses(ws).sort_values("response_id").reset_index(drop=True)
    assert stored["response_id"].tolist() == ["R_aaaaaaaa1", "R_aaaaaaaa2"]
    assert stored["nps"].tolist() == [10, 3]
    assert pd.isna(stored.loc[0, "sat__response_speed"])  # −1: no basis to evaluate
    assert stored.loc[1, "sat__response_speed"] == 7
    # RecordedDate (UTC) stands in for the instrument's SubmittedAt, in Moscow time
    assert stored.loc[0, "submitted_at"] == pd.Timestamp("2026-04-03 10:15:01")
    assert any("SubmittedAt" in w and "RecordedDate" in w for w in result.warnings)
    again = vq.ingest_quarter(ws, "2026Q2", keep_test_responses=True, dry_run=True)
    assert again.tables["responses"].read == 3


def test_cli_ingest_format_option(ws_root):
    from vipquality.cli import main

    runner = CliRunner()
    out = runner.invoke(main, ["ingest", "-w", str(ws_root), "-q", "2026Q2", "--dry-run",
                               "--format", "qualtrics"])
    assert out.exit_code == 0, out.output
    assert "read as a qualtrics export" in out.output
    wrong = runner.invoke(main, ["ingest", "-w", str(ws_root), "-q", "2026Q2", "--dry-run",
                                 "--format", "google-forms"])
    assert wrong.exit_code == 2 and "read as a google-forms export" in wrong.output
    assert "have no column in it" in wrong.output
    bad = runner.invoke(main, ["ingest", "-w", str(ws_root), "--format", "excel"])
    assert bad.exit_code == 2 and "Invalid value for '--format'" in bad.output


# --------------------------------------------------------------------------- SurveyMonkey
def test_surveymonkey_one_column_per_option_collapsed():
    s = import_survey(real("surveymonkey/MIDWEST.csv"))
    rows = raw_rows("surveymonkey/MIDWEST.csv")
    assert s.columns == ("RespondentID", "Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7", "Q8", "Q9")
    first = s.data.iloc[0]
    assert first[["RespondentID", "Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7"]].tolist() == [
        "3126807211", "Southern", "Not much", "Colorado", "74070", "Male", "18-29",
        "$50,000 - $99,999"]
    assert s.data.loc[1, "Q3"] == ("Illinois; Indiana; Iowa; Kansas; Michigan; Minnesota; "
                                   "Missouri; Nebraska; North Dakota; Ohio; South Dakota; "
                                   "Wisconsin")
    # columns 3-6 hold one option each; the collapsed answer is the one option ticked
    body = rows[2:]
    want = ["; ".join(r[j] for j in range(2, 6) if r[j]) for r in body]
    assert s.data["Q2"].tolist() == want
    assert not any(";" in v for v in want)  # single answer: at most one option per response
    assert s.questions["Q2"] == "How much, if at all, do you personally identify as a " \
                                "Midwesterner?"
    assert "columns 3–6" in s.report.columns_mapped["Q2"]
    assert any("filled forward" in n and n.startswith("43 ") for n in s.report.notes)
    assert any("Q2 (4 columns)" in n and "Q3 (20 columns)" in n for n in s.report.notes)
    assert any("joined with '; ': Q3" in n for n in s.report.notes)


def test_surveymonkey_non_utf8_bytes_and_no_final_newline():
    path = real("surveymonkey/StarWars.csv")
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert not raw.endswith(b"\n")
    s = import_survey(path)
    assert s.report.encoding == "cp1252"
    assert any("not valid UTF-8 (bytes on line(s) 1)" in n for n in s.report.notes)
    assert s.questions["Q8"].startswith("Do you consider yourself to be a fan of the Expanded "
                                        "Universe?")
    last = raw.decode("cp1252").rsplit("\n", 1)[1].split(",")
    assert s.data["RespondentID"].iloc[-1] == last[0]
    assert s.data["Q14"].iloc[-1] == last[-1] == "Pacific"
    # the films seen (one column per film) collapse; the ranking is a matrix, one column a film
    assert s.data.loc[0, "Q3"].count("; ") == 5
    assert s.data.loc[0, ["Q4_1", "Q4_2", "Q4_3"]].tolist() == ["3", "2", "1"]
    assert s.questions["Q5_1"].endswith("— Han Solo")


def test_surveymonkey_dates_other_specify_and_cp_bytes():
    s = import_survey(real("surveymonkey/sleeping-alone-data.csv"), timezone="America/New_York")
    assert s.columns[:4] == ("StartDate", "EndDate", "Q1", "Q2")
    assert s.data.loc[0, "StartDate"] == "2014-07-10 18:37:00-04:00"  # 7/10/14 18:37, M/D/YY
    assert any("not valid UTF-8" in n for n in s.report.notes)
    assert any("minutes only" in n for n in s.report.notes)
    assert s.data.loc[0, "Q11"] == "Other (please specify)"
    assert s.data.loc[0, "Q11_other"] == "Student"
    assert s.data.loc[0, "Q6"] == "One of us is sick; Other (please specify)"


def test_surveymonkey_html_in_question_text():
    rows = raw_rows("surveymonkey/steak-risk-survey.csv")
    assert "<br>" in rows[0][1]
    s = import_survey(real("surveymonkey/steak-risk-survey.csv"))
    assert "<br>" not in s.questions["Q1"]
    assert s.questions["Q1"].startswith("Consider the following hypothetical situations: In "
                                        "Lottery A")
    assert s.data["Q9"].tolist() == [r[9] for r in rows[2:]]
    assert s.data.loc[1, "Q9"] == "Medium rare"


def test_surveymonkey_xlsx_fill_forward_and_error_cells():
    s = import_survey(real("surveymonkey/raw-condensed-completeonly-xl2.xlsx"))
    assert any(n.startswith("97 blank question cell(s) of header row 1 filled forward")
               for n in s.report.notes)
    # 159 columns: 4 personal ones not imported, 155 imported or collapsed into an answer
    positions = [p for v in s.report.columns_mapped.values()
                 for p in ([int(x) for x in v.rsplit("(column", 1)[1].strip(" )").split("–")]
                           if "(column " in v else [])]
    assert len(s.report.columns_ignored) == 4
    assert all("personal" in why for why in s.report.columns_ignored.values())
    assert s.data.loc[0, ["RespondentID", "StartDate", "Q1"]].tolist() == [
        "11617117658", "2020-05-19 10:30:22", "Yes, full-time"]
    assert max(positions) == 159
    # the four #DIV/0! cells (sheet rows 35, 146, 373, 677 of the "Make" column) are reported
    assert s.report.values_coerced["spreadsheet error cell (#DIV/0! …) → missing"] == 4
    make = next(c for c, t in s.questions.items() if t.endswith("— Make (e.g., Ford)"))
    for line in (35, 146, 373, 677):
        assert s.data.loc[s.data["source_row"] == line, make].tolist() == [""]
    assert any(f"{make} line 35 (#DIV/0!)" in n for n in s.report.notes)
    assert "#DIV/0!" not in s.data.to_numpy()


# ------------------------------------------------------------------------------- LimeSurvey
def test_limesurvey_code_text_headings_and_html_labels():
    rows = raw_rows("limesurvey/first.csv")
    assert len(rows[0]) == 1362 and rows[1][1].startswith("<div><span")
    s = import_survey(real("limesurvey/first.csv"))
    assert len(s.columns) == 1362
    assert s.data.loc[0, "id"] == "19"
    assert s.data.loc[0, "geochemicalPara_SQ1"] == "Environment"
    assert s.data.loc[0, "yearChange_SQ1"] == "Mat & Subst"
    assert s.questions["geochemicalPara_SQ1"] == (
        "What geochemical parameters influence microbial diversity in the groundwater? "
        "[geochemical parameters]")
    assert not any("<" in v for v in s.data.iloc[0].tolist()[:-2])
    assert s.report.values_coerced["HTML removed from an answer label"] == sum(
        v.startswith("<") for v in rows[1])
    assert "heracleumMant_SQ1.2" in s.columns  # a repeated heading, renamed and reported


@pytest.mark.parametrize("rel", ["limesurvey/survey_184695_R_data_file.csv",
                                 "limesurvey/survey_184695_R_syntax_file.R"])
def test_limesurvey_r_pair(rel):
    raw = real("limesurvey/survey_184695_R_data_file.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.endswith(b"\r\n\r\n")  # BOM, blank record
    s = import_survey(real(rel))
    assert s.report.source_file == "survey_184695_R_data_file.csv"
    assert s.columns[:6] == ("id", "submitdate", "lastpage", "startlanguage", "seed",
                             "frequency")
    last = s.data.iloc[-1]
    assert last["id"] == "155" and last["source_row"] == 153
    # codes → labels from the factor() lines, in the order of their levels (AO03 is the 4th
    # label of education because AO06 is listed third)
    assert last[["frequency", "gender", "age", "education", "expert"]].tolist() == [
        "once a month", "female", "20", "baccalaureate", "3"]
    assert s.value_labels["education"]["AO06"] == "vocational diploma or equivalent qualification"
    assert set(s.value_labels) == {"frequency", "gender", "education", "verwendbar"}
    assert s.report.values_coerced["answer code → label (factor() lines of the R syntax file)"] \
        == 564
    assert not s.data[["frequency", "gender", "education"]].apply(
        lambda c: c.str.startswith("AO")).any().any()
    # the author's own factor() calls further down the script are not value labels
    assert "data_na2" not in str(s.value_labels)
    # 1980-01-01: the anonymised survey's "no date"
    assert (s.data["submitdate"] == "").all()
    assert s.report.values_coerced["anonymised-survey date 1980-01-01 → no date"] == 141
    assert any("1 blank record(s) skipped" in n for n in s.report.notes)


def test_limesurvey_r_data_without_its_syntax_file(tmp_path):
    lone = tmp_path / "survey_184695_R_data_file.csv"
    lone.write_bytes(real("limesurvey/survey_184695_R_data_file.csv").read_bytes())
    with pytest.raises(IngestError, match="needs its syntax file"):
        import_survey(lone, format="limesurvey-r")


# ---------------------------------------------------------------------------- Google Forms
SUDZILLA = "On a scale of 0-10, how would you rate Sudzilla?"


def test_google_forms_timestamps_in_both_formats():
    a = import_survey(real("google_forms/sudzilla_input_01.csv"))
    b = import_survey(real("google_forms/sudzilla_input_02.csv"))
    raw01 = real("google_forms/sudzilla_input_01.csv").read_bytes()
    assert b"\r\n" in raw01 and not raw01.endswith(b"\n")  # CRLF, no final newline
    assert raw_rows("google_forms/sudzilla_input_01.csv")[1][0] == "11/1/2019 8:51:12"
    assert a.data.loc[0, "Timestamp"] == "2019-11-01 08:51:12"
    assert b.data.loc[0, "Timestamp"] == "2019-11-01 08:51:12.402"
    # the two downloads hold the same responses: month/day was read right
    assert a.data["Timestamp"].tolist() == [t[:19] for t in b.data["Timestamp"]]
    assert a.data["source_row"].iloc[-1] == 40
    assert a.data["ResponseId"].iloc[0] == "GF-20191101T085112"
    assert b.data["ResponseId"].iloc[0] == "GF-20191101T085112402"
    assert a.questions["Q1"] == SUDZILLA and a.questions["Q2"] == "...why?"
    # curly quotes are kept as written
    assert a.data.loc[17, "Q2"] == "Didn’t expect there to be so much soap everywhere"


def test_google_forms_nps_by_hand():
    # sudzilla_input_01.csv, "On a scale of 0-10, how would you rate Sudzilla?", 39 answers:
    #   0:4  1:1  2:4  3:8  4:2  5:2  6:1   -> 22 detractors
    #   7:4  8:5                            ->  9 passives
    #   9:4  10:4                           ->  8 promoters
    #   NPS = 100 × (8 − 22) / 39 = −35.897…
    rows = raw_rows("google_forms/sudzilla_input_01.csv", "utf-8")
    j = rows[0].index(SUDZILLA)
    counts = Counter(int(r[j]) for r in rows[1:])
    assert sorted(counts.items()) == [(0, 4), (1, 1), (2, 4), (3, 8), (4, 2), (5, 2), (6, 1),
                                      (7, 4), (8, 5), (9, 4), (10, 4)]
    promoters = counts[9] + counts[10]
    detractors = sum(counts[k] for k in range(7))
    expected = 100 * (promoters - detractors) / sum(counts.values())
    assert (promoters, detractors, expected) == (8, 22, pytest.approx(-35.8974358974))

    s = import_survey(real("google_forms/sudzilla_input_01.csv"))
    est = vq.nps(pd.to_numeric(s.data["Q1"]))
    assert est.value == pytest.approx(expected)
    assert (est.details["promoters"], est.details["detractors"], est.n) == (8, 22, 39)

    # the same item found through a small instrument that matches columns by question text
    # (typed with an en dash and other spacing: matching ignores both)
    inst = instrument(
        "text", nps=("recommend", "on a scale of 0–10,  how would you rate Sudzilla?"),
        comment=("why", "...why?"))
    mapped = import_survey(real("google_forms/sudzilla_input_01.csv"), inst,
                           timezone="Europe/London")
    assert mapped.mapping == {"response_id": "ResponseId", "submitted_at": "Timestamp",
                              "nps": "Q1", "comment": "Q2"}
    assert mapped.report.instrument_mapping == mapped.mapping
    assert mapped.report.unmatched == ("client_id ('ClientId', instrument.yaml: "
                                       "columns.client_id)",)
    assert any("SubmittedAt" in n and "Timestamp" in n for n in mapped.report.notes)
    raw = mapped.raw_table("sudzilla_input_01.csv")
    fields = [f for f in fields_for("responses", SimpleNamespace(instrument=inst))
              if f.name != "client_id"]
    found = resolve_columns(raw, fields, "text")
    assert found["nps"] == "recommend"
    assert vq.nps(pd.to_numeric(raw.data[found["nps"]])).value == pytest.approx(expected)
    assert raw.data.loc[0, "SubmittedAt"] == "2019-11-01 08:51:12+00:00"


def test_google_sheets_csv_embedded_newlines_and_emoji():
    rows = raw_rows("google_forms/hot_dog_survey_spring25.xlsx - Form Responses 1.csv", "utf-8")
    s = import_survey(real("google_forms/hot_dog_survey_spring25.xlsx - Form Responses 1.csv"))
    assert s.data["Q2"].tolist() == [r[2] for r in rows[1:]]
    assert s.data.loc[9, "Q2"] == "Idk, seems right\nalso, 2 bread w/ stuff in it"
    assert s.data.loc[48, "Q2"] == "its between bread👍"
    # a response spanning lines keeps the line where it starts
    assert s.data.loc[10, "source_row"] == s.data.loc[9, "source_row"] + 2
    assert any("3 answer(s) span several lines" in n for n in s.report.notes)
    assert s.data.loc[0, "Timestamp"] == "2025-01-15 21:53:05"


def test_google_sheets_xlsx_download():
    s = import_survey(real("google_forms/Is hotdog a sandwich_ (Responses).xlsx"))
    assert s.columns == ("ResponseId", "Timestamp", "Q1", "Q2")
    assert s.data.loc[0, ["Timestamp", "Q1", "Q2"]].tolist() == [
        "2025-08-29 17:17:56.622", "4", "Yes"]
    assert s.data.loc[0, "source_row"] == 2
    assert s.questions == {"Q1": "What year are you in?", "Q2": "Is hotdog a sandwich?"}


# ------------------------------------------------------------------------- Microsoft Forms
def test_microsoft_forms_cp1252_personal_columns_minutes():
    path = real("microsoft_forms/Hot-Dog-Form-Fa24.csv")
    s = import_survey(path, timezone="America/New_York")
    assert s.report.encoding == "cp1252"
    assert s.columns == ("Id", "StartTime", "CompletionTime", "Q1", "Q2", "Q3")
    assert s.data.loc[57, "Q3"] == "Computer Science’s "  # byte 0x92
    assert s.data.loc[0, ["Id", "StartTime", "Q1", "Q2"]].tolist() == [
        "1", "2024-09-01 11:27:00-04:00", "No", "Yes"]
    # e-mail and name are personal data: not imported, and the report says so
    assert set(s.report.columns_ignored) == {"'Email' (column 4)", "'Name' (column 5)"}
    assert any("personal data not imported: Email, Name" in n for n in s.report.notes)
    assert "ignored 'Email' (column 4): personal data" in s.report.summary()
    assert any("minutes only" in n for n in s.report.notes)


def test_position_mapping_counts_the_file_columns():
    path = real("microsoft_forms/Hot-Dog-Form-Fa24.csv")
    # column 6 of the file is the first question, although Email and Name are not imported
    inst = instrument("position", nps=("6", "x"), columns={"response_id": "1",
                                                           "client_id": "8",
                                                           "submitted_at": "3"})
    s = import_survey(path, inst)
    assert s.mapping == {"response_id": "Id", "client_id": "Q3", "submitted_at":
                         "CompletionTime", "nps": "Q1"}
    raw = s.raw_table()
    found = resolve_columns(raw, fields_for("responses", SimpleNamespace(instrument=inst)),
                            "position")
    assert found == {"response_id": "Id", "client_id": "Q3", "submitted_at": "CompletionTime",
                     "nps": "Q1"}
    with pytest.raises(IngestError, match=r"column 4, which the importer does not import.*"
                                          r"personal data"):
        import_survey(path, instrument("position", nps=("4", "x"), columns={
            "response_id": "1", "client_id": "8", "submitted_at": "3"}))
