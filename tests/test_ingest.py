"""Validated ingest: readers, per-cell rejects, duplicates, idempotency, atomicity, lock, privacy.

The good quarter is hand-written in ``tests/data/2026Q2`` (4 clients with personal columns, 4
survey responses, 6 mystery-shopper checks); each test copies it with the sample YAML into a
fresh workspace under ``tmp_path`` and adds the bad input it is about.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from vipquality._files import neutralise
from vipquality.config import load_workspace
from vipquality.data.ingest import IngestResult, ingest_quarter, read_table
from vipquality.data.readers import cell_text
from vipquality.data.store import (
    StoreLock,
    load_clients,
    load_memberships,
    load_responses,
    load_visits,
    recover,
)
from vipquality.data.store import txn as _store
from vipquality.errors import DataError, IngestError, StoreError
from vipquality.paths import SAMPLE_WORKSPACE

DATA = Path(__file__).parent / "data"
Q = "2026Q2"
PLANTED_EMAIL = "planted.secret@example.org"


# ------------------------------------------------------------------------------------- helpers
@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace: the sample YAML files and the hand-written good 2026Q2 folder."""
    ws = tmp_path / "ws"
    ws.mkdir()
    for y in SAMPLE_WORKSPACE.glob("*.yaml"):
        shutil.copy(y, ws / y.name)
    shutil.copytree(DATA / Q, ws / Q)
    return ws


def survey_header() -> list[str]:
    with (DATA / Q / "survey.csv").open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh))


def survey_row(rid: str, cid: str = "C004", **cells: str) -> dict[str, str]:
    """A valid response (a copy of R001's answers) with some cells replaced."""
    with (DATA / Q / "survey.csv").open(encoding="utf-8", newline="") as fh:
        row = next(csv.DictReader(fh))
    row.update(ResponseId=rid, ClientId=cid, Q5_comment="")
    row.update(cells)
    return row


def append_rows(path: Path, rows: list[dict[str, str]]) -> list[int]:
    """Append rows (by header name) to a CSV; return their line numbers."""
    text = path.read_text(encoding="utf-8")
    header = next(csv.reader(io.StringIO(text)))
    first = text.count("\n") + 1
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    for r in rows:
        writer.writerow(r)
    path.write_text(text + buf.getvalue(), encoding="utf-8")
    return list(range(first, first + len(rows)))


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]], *, encoding="utf-8",
              delimiter=",") -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, delimiter=delimiter, lineterminator="\r\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(r)
    path.write_bytes(buf.getvalue().encode(encoding))


def snapshot(store: Path) -> dict[str, bytes]:
    """Every file and directory of the store with its bytes (directories map to b"<dir>")."""
    if not store.exists():
        return {}
    return {p.relative_to(store).as_posix(): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(store.rglob("*"))}


def counts(result: IngestResult, table: str) -> tuple[int, int, int, int]:
    c = result.tables[table]
    return c.read, c.accepted, c.duplicates, c.rejected


def reject_rows(result: IngestResult) -> list[tuple]:
    return [tuple(r) for r in result.rejects.itertuples(index=False)]


# ----------------------------------------------------------------------------------- good data
def test_good_quarter_exact_counts_and_stored_values(root: Path):
    ws = load_workspace(root)
    result = ingest_quarter(ws, Q)

    assert counts(result, "clients") == (4, 4, 0, 0)
    assert counts(result, "responses") == (4, 4, 0, 0)
    assert counts(result, "visits") == (6, 6, 0, 0)
    assert result.reconciles and result.total_rejected == 0 and result.rejects.empty
    assert result.written and "2026Q2: store updated" in result.summary()

    # the stored values (the sample's workspace.yaml weights answers: not applied here)
    r = load_responses(ws, Q, weighted=False).set_index("response_id")
    assert list(r.index) == ["R001", "R002", "R003", "R004"]
    assert r["nps"].dtype == "Int8" and r["sat__competence"].dtype == np.float32
    assert r.loc["R001", "nps"] == 10                       # "10 " trimmed
    assert r.loc["R004", ["nps", "ces", "overall"]].tolist() == [0, 1, 1]
    assert np.isnan(r.loc["R002", "sat__promises_kept"])    # missing code 99
    assert np.isnan(r.loc["R002", "imp__respect"])          # blank
    assert r.loc["R002", "sat__response_speed"] == 4.0
    # offsets are converted to the workspace time zone (Europe/Moscow, UTC+3), then stored naive
    assert r.loc["R002", "submitted_at"] == pd.Timestamp("2026-05-20 21:30:00")
    assert r.loc["R003", "submitted_at"] == pd.Timestamp("2026-06-21 09:00:00")
    assert r.loc["R001", "comment"] == "Всё отлично, спасибо"
    assert r.loc["R002", "comment"] == "Ελληνικά: πολύ καλή εξυπηρέτηση"
    assert r.loc["R003", "comment"] == '=HYPERLINK("http://evil.example","click")'  # text, as is
    assert pd.isna(r.loc["R004", "comment"])
    assert (r["weight"] == 1.0).all() and (r["quarter"] == Q).all()
    assert r.loc["R003", "source_file"] == "2026Q2/survey.csv"
    assert r["source_row"].tolist() == [2, 3, 4, 5]

    v = load_visits(ws, Q)
    assert v[["visit_id", "item_id", "result", "standard_id", "weight", "critical", "segment"]] \
        .values.tolist() == [
        ["V01", "S01.1", "yes", "S01", 1.0, False, "private"],
        ["V01", "S01.2", "no", "S01", 2.0, False, "private"],
        ["V01", "S03.1", "na", "S03", 1.0, True, "private"],
        ["V02", "S04.2", "yes", "S04", 2.0, False, "premium"],
        ["V02", "S09.1", "yes", "S09", 1.0, True, "premium"],
        ["V02", "S09.2", "no", "S09", 1.0, True, "premium"],
    ]
    assert v["visit_date"].tolist()[-1] == pd.Timestamp("2026-05-12")

    c = load_clients(ws, Q).set_index("client_id")
    assert c.loc["C001", "balance"] == 5000000.50 and c.loc["C001", "lines"] == 3
    assert pd.isna(c.loc["C001", "revenue"]) and c.loc["C002", "revenue"] == 500_000_000
    assert c.loc["C002", "client_type"] == "legal_entity"
    assert c.loc["C001", "last_transaction"] == pd.Timestamp("2026-06-01")
    assert not {"full_name", "email", "phone", "address"} & set(c.columns)

    m = load_memberships(ws, Q)
    assert list(m.columns) == ["quarter", "client_id", "segment"]
    assert {"C001", "C002", "C003"} <= set(m.loc[m.segment == "all", "client_id"])
    assert set(m.loc[m.client_id == "C001", "segment"]) >= {"private", "investment_clients"}
    assert result.memberships == len(m)

    log = pd.read_csv(ws.store_path / "ingest_log.csv", dtype=str)
    assert list(log.columns) == ["sha256", "file", "quarter", "table", "read", "accepted",
                                 "duplicates", "rejected", "time"]
    assert log["table"].tolist() == ["clients", "responses", "visits"]
    assert log["read"].tolist() == ["4", "4", "6"]


def test_dry_run_writes_nothing(root: Path):
    ws = load_workspace(root)
    result = ingest_quarter(ws, Q, dry_run=True)
    assert counts(result, "responses") == (4, 4, 0, 0)
    assert result.dry_run and result.written == ()
    assert not ws.store_path.exists()
    assert "dry run" in result.summary()


# ------------------------------------------------------------------------------ bad survey cells
@pytest.mark.parametrize(("column", "value", "reason"), [
    ("Q1_recommend", "ten", "'ten' is not a number: NPS takes whole numbers 0–10"),
    ("Q1_recommend", "9,5", "'9,5' is not a number (decimal comma)"),
    ("Q1_recommend", "11", "11 is outside the NPS scale 0–10"),
    ("Q1_recommend", "9.5", "9.5 is not a whole number"),
    ("Q1_recommend", "-1", "-1 is outside the NPS scale 0–10"),
    ("Q2_effort", "0", "0 is outside the CES scale 1–7"),
    ("Q3_overall", "12", "12 is outside the overall satisfaction scale 1–10"),
    ("Q4_speed_sat", "0", "0 is outside the satisfaction with Speed of response scale 1–10"),
    ("Q4_speed_imp", "abc", "'abc' is not a number"),
    ("SubmittedAt", "2026-07-02 09:00", "submitted 2026-07-02 is outside 2026Q2"),
    ("SubmittedAt", "2026-03-31 23:59", "submitted 2026-03-31 is outside 2026Q2"),
    ("SubmittedAt", "04/05/2026", "is not a date and time"),
    ("ClientId", "C999", "client 'C999' is not in the 2026Q2 CRM extract"),
    ("ResponseId", "", "response_id is blank (required)"),
    ("ClientId", " ", "client_id is blank (required)"),
])
def test_bad_cell_is_rejected_with_file_row_column_value_reason(root: Path, column, value,
                                                                reason):
    (row,) = append_rows(root / Q / "survey.csv", [survey_row("R900", **{column: value})])
    result = ingest_quarter(load_workspace(root), Q)
    assert counts(result, "responses") == (5, 4, 0, 1)
    assert result.reconciles
    ((file, line, col, val, why),) = reject_rows(result)
    assert (file, line, col, val) == ("2026Q2/survey.csv", row, column, value)
    assert reason in why
    stored = load_responses(load_workspace(root), Q)
    assert "R900" not in set(stored.response_id)


def test_every_failing_cell_of_a_row_is_reported_and_the_row_counted_once(root: Path):
    (row,) = append_rows(root / Q / "survey.csv", [survey_row(
        "R900", "C999", SubmittedAt="2026-07-02 10:00", Q1_recommend="9,5", Q2_effort="8")])
    result = ingest_quarter(load_workspace(root), Q)
    assert counts(result, "responses") == (5, 4, 0, 1)
    got = [(r[1], r[2]) for r in reject_rows(result)]
    assert got == [(row, "ClientId"), (row, "SubmittedAt"), (row, "Q1_recommend"),
                   (row, "Q2_effort")]


def test_blank_and_missing_code_are_missing_not_rejected(root: Path):
    append_rows(root / Q / "survey.csv", [survey_row(
        "R900", Q1_recommend="", Q2_effort="99", Q4_speed_sat="99.0", Q4_digital_imp="")])
    ws = load_workspace(root)
    result = ingest_quarter(ws, Q)
    assert counts(result, "responses") == (5, 5, 0, 0)
    r = load_responses(ws, Q).set_index("response_id").loc["R900"]
    assert pd.isna(r["nps"]) and pd.isna(r["ces"])
    assert np.isnan(r["sat__response_speed"]) and np.isnan(r["imp__digital_channels"])


def test_whole_number_written_with_decimal_zero_is_accepted(root: Path):
    append_rows(root / Q / "survey.csv", [survey_row("R900", Q1_recommend="9.0")])
    ws = load_workspace(root)
    assert counts(ingest_quarter(ws, Q), "responses") == (5, 5, 0, 0)
    assert load_responses(ws, Q).set_index("response_id").loc["R900", "nps"] == 9


def test_file_on_a_narrower_scale_warns_but_imports(root: Path):
    rows = [survey_row(f"R9{i:02d}", **{c: str(1 + i % 5) for c in survey_header()
                                        if c.startswith("Q4_") and c.endswith("_sat")})
            for i in range(12)]
    path = root / Q / "survey_panel.csv"
    write_csv(path, survey_header(), rows)
    result = ingest_quarter(load_workspace(root), Q)
    assert counts(result, "responses") == (16, 16, 0, 0)
    assert any("survey_panel.csv" in w and "within 1–5" in w and "1–10" in w
               for w in result.warnings)
    assert not any("2026Q2/survey.csv:" in w and "within" in w for w in result.warnings)


def test_contact_details_in_comments_are_masked(root: Path):
    append_rows(root / Q / "survey.csv", [survey_row(
        "R900", Q5_comment="Call me on +7 915 123-45-67 or write to me@mail.ru, спасибо")])
    ws = load_workspace(root)
    result = ingest_quarter(ws, Q)
    comment = load_responses(ws, Q).set_index("response_id").loc["R900", "comment"]
    assert comment == "Call me on [phone] or write to [e-mail], спасибо"
    assert any("contact details" in w for w in result.warnings)


# ----------------------------------------------------------------------------------- duplicates
def test_duplicates_within_the_file_identical_counted_conflicting_rejected(root: Path):
    path = root / Q / "survey.csv"
    same = survey_row("R001", "C001")
    with path.open(encoding="utf-8", newline="") as fh:
        same = next(csv.DictReader(fh))                       # R001 exactly as in the file
    rows = append_rows(path, [dict(same, Q1_recommend="10"),  # "10" equals "10 " once parsed
                              dict(same, Q1_recommend="3")])
    ws = load_workspace(root)
    result = ingest_quarter(ws, Q)
    assert counts(result, "responses") == (6, 4, 1, 1)
    ((file, line, col, val, why),) = reject_rows(result)
    assert (file, line, col, val) == ("2026Q2/survey.csv", rows[1], "ResponseId", "R001")
    assert "already at 2026Q2/survey.csv row 2 with different content" in why
    assert "nps: 3 here, 10 there" in why
    assert load_responses(ws, Q).set_index("response_id").loc["R001", "nps"] == 10


def test_duplicates_against_the_store(root: Path):
    ws = load_workspace(root)
    ingest_quarter(ws, Q)
    with (root / Q / "survey.csv").open(encoding="utf-8", newline="") as fh:
        r001, r002 = list(csv.DictReader(fh))[:2]
    write_csv(root / Q / "survey_late.csv", survey_header(),
              [r001, dict(r002, Q3_overall="9"), survey_row("R010", "C003")])
    result = ingest_quarter(ws, Q, files=["survey_late.csv"])
    assert counts(result, "responses") == (3, 1, 1, 1)
    ((file, line, col, val, why),) = reject_rows(result)
    assert (file, line, col, val) == ("2026Q2/survey_late.csv", 3, "ResponseId", "R002")
    assert "already at the store (2026Q2, from 2026Q2/survey.csv row 3)" in why
    assert "overall: 9 here, 5 there" in why
    stored = load_responses(ws, Q).set_index("response_id")
    assert list(stored.index) == ["R001", "R002", "R003", "R004", "R010"]
    assert stored.loc["R002", "overall"] == 5
    # the rejects CSV keeps the other file's (none) and this file's rejects
    rejects = pd.read_csv(ws.store_path / "rejects" / f"{Q}.csv", dtype=str)
    assert rejects["file"].tolist() == ["2026Q2/survey_late.csv"]


def test_duplicate_visit_item(root: Path):
    path = root / Q / "mystery_shopper.csv"
    rows = append_rows(path, [
        dict(visit_id="V01", visit_date="2026-04-10", branch="B01", manager_id="M01",
             scenario_segment="private", item_id="S01.1", result="YES"),
        dict(visit_id="V01", visit_date="2026-04-10", branch="B01", manager_id="M01",
             scenario_segment="private", item_id="S01.1", result="no")])
    result = ingest_quarter(load_workspace(root), Q)
    assert counts(result, "visits") == (8, 6, 1, 1)
    ((file, line, col, val, why),) = reject_rows(result)
    assert (line, col, val) == (rows[1], "visit_id", "V01")
    assert "item_id 'S01.1'" in why and "result: 'no' here, 'yes' there" in why


# ---------------------------------------------------------------------------- visits, clients
@pytest.mark.parametrize(("text", "stored"), [
    ("yes", "yes"), ("Y", "yes"), ("1", "yes"), ("ДА", "yes"), ("да", "yes"),
    ("No", "no"), ("n", "no"), ("0", "no"), ("нет", "no"), ("НЕТ", "no"),
    ("n.a.", "na"), ("N.A.", "na"), ("na", "na"), (" NA ", "na"),
])
def test_visit_result_is_normalised(root: Path, text, stored):
    path = root / Q / "mystery_shopper.csv"
    append_rows(path, [dict(visit_id="V09", visit_date="2026-06-01", branch="B01",
                            manager_id="M01", scenario_segment="", item_id="S05.1",
                            result=text)])
    ws = load_workspace(root)
    assert counts(ingest_quarter(ws, Q), "visits") == (7, 7, 0, 0)
    v = load_visits(ws, Q).set_index("visit_id").loc["V09"]
    assert v["result"] == stored and pd.isna(v["segment"])


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("item_id", "S99.9", "checklist item 'S99.9' is not in the standards catalogue"),
    ("result", "maybe", "'maybe' is not a visit result"),
    ("result", "", "result is blank (required)"),
    ("visit_date", "2026-07-01", "visit 2026-07-01 is outside 2026Q2"),
    ("scenario_segment", "platinum", "'platinum' is not a segment id of segments.yaml"),
])
def test_bad_visit_rows(root: Path, column, value, reason):
    row = dict(visit_id="V09", visit_date="2026-06-01", branch="B01", manager_id="M01",
               scenario_segment="private", item_id="S05.1", result="yes")
    (line,) = append_rows(root / Q / "mystery_shopper.csv", [dict(row, **{column: value})])
    result = ingest_quarter(load_workspace(root), Q)
    assert counts(result, "visits") == (7, 6, 0, 1)
    ((file, got_line, col, val, why),) = reject_rows(result)
    assert (file, got_line, col, val) == ("2026Q2/mystery_shopper.csv", line, column, value)
    assert reason in why


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("balance", "1234,5", "'1234,5' is not a number (use '.' as the decimal point)"),
    ("lines", "2.5", "2.5 is not a count"),
    ("lines", "-1", "-1 is not a count"),
    ("client_type", "person", "'person' is not a client type"),
    ("last_transaction", "31/12/2025", "is not a date"),
])
def test_bad_client_cells(root: Path, column, value, reason):
    row = dict(client_id="C005", full_name="X", email="x@example.org", phone="", address="",
               client_type="individual", tier="Premium", manager_id="M01", branch="B01",
               lifetime_value="1", purchases_12m="1", last_transaction="2026-01-01", products="",
               revenue="", balance="1 000 000", avg_monthly_spend_3m="1", lines="1",
               household_id="")
    (line,) = append_rows(root / Q / "clients.csv", [dict(row, **{column: value})])
    result = ingest_quarter(load_workspace(root), Q)
    assert counts(result, "clients") == (5, 4, 0, 1)
    ((file, got_line, col, val, why),) = reject_rows(result)
    assert (file, got_line, col, val) == ("2026Q2/clients.csv", line, column, value)
    assert reason in why


def test_thousands_separators_in_money_are_accepted(root: Path):
    append_rows(root / Q / "clients.csv", [dict(
        client_id="C005", client_type="individual", tier="Premium", manager_id="M01",
        branch="B01", lifetime_value="12 500 000", purchases_12m="1",
        last_transaction="2026-01-01", balance="3\u00a0000\u00a0000.25", avg_monthly_spend_3m="1",
        lines="1")])
    ws = load_workspace(root)
    assert counts(ingest_quarter(ws, Q), "clients") == (5, 5, 0, 0)
    c = load_clients(ws, Q).set_index("client_id").loc["C005"]
    assert c["lifetime_value"] == 12_500_000 and c["balance"] == 3_000_000.25


def test_responses_need_a_crm_extract(root: Path):
    (root / Q / "clients.csv").unlink()
    with pytest.raises(IngestError, match="no CRM extract for 2026Q2"):
        ingest_quarter(load_workspace(root), Q)


# ---------------------------------------------------------------------- personal data (privacy)
def test_personal_columns_are_never_stored(root: Path):
    ws = load_workspace(root)
    # a bad client row too, so the rejects CSV has a row of the clients file
    append_rows(root / Q / "clients.csv", [dict(client_id="C006", email="second.plant@example.org",
                                                full_name="Секретов Секрет", lines="x")])
    ingest_quarter(ws, Q)
    files = [p for p in ws.store_path.rglob("*") if p.is_file()]
    assert files
    for p in files:
        raw = p.read_bytes()
        text = raw.decode("utf-8", errors="replace")
        if p.suffix == ".parquet":
            text += pq.read_table(p).to_pandas().to_csv()
            assert not {"full_name", "email", "phone", "address"} & set(pq.read_schema(p).names)
        for secret in (PLANTED_EMAIL, "second.plant@example.org", "Иванов Иван", "Секретов",
                       "Тверская", "+7 900 111-22-33"):
            assert secret.encode() not in raw, p
            assert secret not in text, p


# ------------------------------------------------------------------------ encodings and format
def _variant(root: Path, encoding: str, delimiter: str = ",", comment="Всё отлично") -> None:
    rows = [survey_row("R001", "C001", Q5_comment=comment)]
    write_csv(root / Q / "survey.csv", survey_header(), rows, encoding=encoding,
              delimiter=delimiter)


@pytest.mark.parametrize(("encoding", "comment", "detected"), [
    ("cp1251", "Всё отлично, менеджер Пётр — молодец", "cp1251"),
    ("utf-8-sig", "Всё отлично — Ελληνικά", "utf-8-sig"),
    ("latin-1", "Très bien, café crème, grüß", "cp1252"),
    ("cp1252", "Très bien — naïve “quotes”", "cp1252"),
    ("utf-8", "Всё отлично", "utf-8"),
])
def test_encodings_are_detected_and_text_preserved(root: Path, encoding, comment, detected):
    _variant(root, encoding, comment=comment)
    raw = read_table(root / Q / "survey.csv")
    assert raw.encoding == detected
    assert raw.columns[0] == "ResponseId"                   # no BOM left in the header
    ws = load_workspace(root)
    assert counts(ingest_quarter(ws, Q), "responses") == (1, 1, 0, 0)
    assert load_responses(ws, Q).loc[0, "comment"] == comment


@pytest.mark.parametrize(("text", "encoding"), [
    ("Ж", "cp1251"), ("9Ж", "cp1251"), ("Иванов И.И. — «ООО»", "cp1251"), ("Київ", "cp1251"),
    ("Ελένη", "cp1253"),
    ("café", "cp1252"), ("Müller „quoted“ – ok", "cp1252"), ("€100", "cp1252"),
    ("Ångström", "latin-1"),
])
def test_short_legacy_files_decode_right(tmp_path: Path, text, encoding):
    path = tmp_path / "t.csv"
    path.write_bytes(f"id,c\n1,{text}\n".encode(encoding))
    assert read_table(path).data.loc[0, "c"] == text


def test_three_letters_that_are_greek_or_cyrillic_are_not_guessed(tmp_path: Path):
    """ЖЖЖ in cp1251 is ΖΖΖ in cp1253: refused, naming both, unless stated (one or two letters
    are no evidence of an alphabet: a stray byte in a Latin export, read as before)."""
    from vipquality.data.readers import legacy_encodings

    path = tmp_path / "t.csv"
    path.write_bytes("id,c\n1,ЖЖЖ\n".encode("cp1251"))
    with pytest.raises(DataError, match=r"Cyrillic \(cp1251\) or Greek \(cp1253\)"):
        read_table(path)
    with legacy_encodings(["cp1251"]):
        assert read_table(path).data.loc[0, "c"] == "ЖЖЖ"


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_delimiters(root: Path, delimiter):
    _variant(root, "cp1251", delimiter, comment="Запятая, и точка; с запятой")
    raw = read_table(root / Q / "survey.csv")
    assert raw.delimiter == delimiter and len(raw.columns) == len(survey_header())
    ws = load_workspace(root)
    assert counts(ingest_quarter(ws, Q), "responses") == (1, 1, 0, 0)
    assert load_responses(ws, Q).loc[0, "comment"] == "Запятая, и точка; с запятой"


def test_ragged_row_is_reported_not_dropped(root: Path):
    path = root / Q / "survey.csv"
    with path.open("a", encoding="utf-8") as fh:
        fh.write("R900,C004,2026-04-05 10:00,email,9,7\n")
    ws = load_workspace(root)
    result = ingest_quarter(ws, Q)
    assert counts(result, "responses") == (5, 4, 0, 1)
    ((file, line, col, val, why),) = reject_rows(result)
    assert (file, line, val) == ("2026Q2/survey.csv", 6, "6 fields")
    assert "header has 24" in why
    assert "6 fields" in (ws.store_path / "rejects" / f"{Q}.csv").read_text(encoding="utf-8-sig")


def test_line_numbers_follow_the_file_with_blank_lines_and_quoted_newlines(tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_text('id,comment\r\n\r\n1,"two\nlines"\r\n2,x\r\n3\r\n', encoding="utf-8")
    raw = read_table(path, source_file="t.csv")
    assert raw.data["source_row"].tolist() == [3, 5]
    assert raw.data["comment"].tolist() == ["two\nlines", "x"]
    assert raw.ragged[["row", "value"]].values.tolist() == [[6, "1 fields"]]
    assert raw.n_read == 3


def test_everything_is_read_as_text(tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_text("id,a,b,c\n007,NA,,1e3\n", encoding="utf-8")
    raw = read_table(path)
    assert raw.data.loc[0, ["id", "a", "b", "c"]].tolist() == ["007", "NA", "", "1e3"]


def test_empty_file_is_a_data_error_naming_it(root: Path):
    (root / Q / "survey.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"2026Q2/survey\.csv: the file is empty"):
        ingest_quarter(load_workspace(root), Q)
    assert not (root / "store" / "responses").exists()


def test_header_only_file_imports_nothing_and_warns(root: Path):
    (root / Q / "survey.csv").write_text(",".join(survey_header()) + "\n", encoding="utf-8")
    result = ingest_quarter(load_workspace(root), Q)
    assert counts(result, "responses") == (0, 0, 0, 0)
    assert any("header only" in w for w in result.warnings)


def test_missing_mapped_column_stops_the_import(root: Path):
    ws = load_workspace(root)
    df = pd.read_csv(root / Q / "survey.csv", dtype=str, keep_default_na=False)
    df.drop(columns=["Q2_effort", "Q4_speed_imp"]).to_csv(root / Q / "survey.csv", index=False)
    with pytest.raises(IngestError) as err:
        ingest_quarter(ws, Q)
    msg = str(err.value)
    assert "2026Q2/survey.csv: 2 mapped column(s) not found" in msg
    assert "'Q2_effort' (instrument.yaml: ces.column)" in msg
    assert "'Q4_speed_imp' (instrument.yaml: csi.attributes[1].importance)" in msg
    assert "'Q1_recommend'" in msg and "nothing was imported" in msg   # available columns listed
    assert not ws.store_path.exists() or snapshot(ws.store_path) == {".lock": b""}


def test_missing_crm_column_names_the_workspace_key(root: Path):
    df = pd.read_csv(root / Q / "clients.csv", dtype=str, keep_default_na=False)
    df.drop(columns=["tier"]).to_csv(root / Q / "clients.csv", index=False)
    with pytest.raises(IngestError, match=r"'tier' \(workspace\.yaml: clients\.columns\.tier\)"):
        ingest_quarter(load_workspace(root), Q)


def test_excel_survey_rows_are_sheet_rows(root: Path):
    import openpyxl

    df = pd.read_csv(root / Q / "survey.csv", dtype=str, keep_default_na=False)
    (root / Q / "survey.csv").unlink()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(df.columns))
    for i, rec in enumerate(df.itertuples(index=False)):
        cells = [int(v) if v.strip().isdigit() else v for v in rec]
        sheet.append(cells)
        if i == 1:
            sheet.append([None] * len(cells))              # a blank row in between
    sheet.cell(row=6, column=5, value="ten")               # R004's NPS
    book.save(root / Q / "survey.xlsx")
    ws = load_workspace(root)
    result = ingest_quarter(ws, Q)
    assert counts(result, "responses") == (4, 3, 0, 1)
    assert reject_rows(result)[0][:4] == ("2026Q2/survey.xlsx", 6, "Q1_recommend", "ten")
    stored = load_responses(ws, Q)
    assert stored["source_row"].tolist() == [2, 3, 5]
    assert stored.set_index("response_id").loc["R001", "comment"] == "Всё отлично, спасибо"


def test_excel_merged_header_is_a_clear_error(tmp_path: Path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Ratings", None, "Comment"])
    sheet.append(["NPS", "CES", None])
    sheet.merge_cells("A1:B1")
    book.save(tmp_path / "survey.xlsx")
    with pytest.raises(DataError, match="merged cells.*multi-row headers are not supported"):
        read_table(tmp_path / "survey.xlsx")


CELLS = [  # (what openpyxl reads from a cell, the text of it)
    (True, "TRUE"),
    (False, "FALSE"),
    (5.0, "5"),
    (-12.0, "-12"),
    (0.25, "0.25"),
    (1 / 3, "0.3333333333333333"),
    (7, "7"),
    (dt.datetime(2026, 4, 3), "2026-04-03"),
    (dt.datetime(2026, 4, 3, 9, 30), "2026-04-03 09:30:00"),
    (dt.datetime(2026, 4, 3, 9, 30, 5), "2026-04-03 09:30:05"),
    (dt.datetime(2026, 4, 3, 9, 30, 5, 250000), "2026-04-03 09:30:05.250"),
    (dt.datetime(2026, 4, 3, 9, 30, 5, 123456), "2026-04-03 09:30:05.123456"),
    (dt.date(2026, 4, 3), "2026-04-03"),
    (dt.time(9, 30), "09:30:00"),
    (dt.time(9, 30, 5, 500000), "09:30:05.500"),
    ("  text  ", "  text  "),
    (None, ""),
]


@pytest.mark.parametrize("value, text", CELLS, ids=[repr(v) for v, _ in CELLS])
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_excel_cells_read_alike_by_ingest_and_importers(tmp_path: Path):
    """The ingest reader and the survey importers turn a workbook's cells into the same texts
    (one rule, :func:`vipquality.data.readers.cell_text`)."""
    import openpyxl

    from vipquality.data.importers._common import read_sheet

    # an Excel time stamp holds milliseconds at most: openpyxl rounds a finer one when saving
    cells = [(v, text) for v, text in CELLS if v is not None and not isinstance(v, dt.time)
             and not getattr(v, "microsecond", 0) % 1000]
    values = [v for v, _ in cells]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([f"c{i}" for i in range(len(values))])
    sheet.append(values)
    book.save(tmp_path / "cells.xlsx")
    expected = [text for _, text in cells]
    ingest_row = read_table(tmp_path / "cells.xlsx").data.iloc[0].tolist()[:len(values)]
    assert ingest_row == expected
    assert read_sheet(tmp_path / "cells.xlsx", "cells.xlsx").rows[1] == expected


def test_parquet_survey(root: Path):
    df = pd.read_csv(root / Q / "survey.csv", dtype=str, keep_default_na=False)
    for c in df.columns:
        if c.startswith(("Q1", "Q2", "Q3", "Q4")):
            df[c] = pd.to_numeric(df[c].str.strip().replace("", None)).astype("Float64")
    (root / Q / "survey.csv").unlink()
    df.to_parquet(root / Q / "survey.parquet", index=False)
    ws = load_workspace(root)
    result = ingest_quarter(ws, Q)
    assert counts(result, "responses") == (4, 4, 0, 0)
    stored = load_responses(ws, Q).set_index("response_id")
    assert stored.loc["R001", "nps"] == 10 and np.isnan(stored.loc["R002", "sat__promises_kept"])
    assert stored["source_row"].tolist() == [2, 3, 4, 5]


# ---------------------------------------------------------------------- CSV injection in rejects
def test_formula_values_are_neutralised_in_the_rejects_csv(root: Path):
    append_rows(root / Q / "survey.csv", [
        survey_row("R900", Q1_recommend='=HYPERLINK("http://evil.example","x")'),
        survey_row("R901", Q1_recommend="+1", Q2_effort="@SUM(A1)"),
        survey_row("R902", Q2_effort="-2")])
    ws = load_workspace(root)
    result = ingest_quarter(ws, Q)
    assert counts(result, "responses") == (7, 4, 0, 3)     # R901's "+1" NPS is fine, its CES not
    assert ('=HYPERLINK("http://evil.example","x")' in
            result.rejects["value"].tolist())              # the frame keeps the raw value
    with (ws.store_path / "rejects" / f"{Q}.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["file", "row", "column", "value", "reason"]
    values = [r[3] for r in rows[1:]]
    assert values == ["'=HYPERLINK(\"http://evil.example\",\"x\")", "'@SUM(A1)", "'-2"]
    for r in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in r)
    # the formula-like comment of an accepted row is stored as plain text
    stored = load_responses(ws, Q).set_index("response_id")
    assert stored.loc["R003", "comment"].startswith("=HYPERLINK(")


def test_neutralise():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("\tx") == "'\tx"
    assert neutralise("'=1") == "'=1"                          # idempotent
    assert neutralise("ok") == "ok" and neutralise(5) == 5


# ------------------------------------------------------------------- idempotency and atomicity
def test_importing_the_same_export_twice_changes_nothing(root: Path):
    append_rows(root / Q / "survey.csv", [survey_row("R900", Q1_recommend="ten")])
    ws = load_workspace(root)
    first = ingest_quarter(ws, Q)
    before = snapshot(ws.store_path)
    second = ingest_quarter(ws, Q)
    assert snapshot(ws.store_path) == before
    assert second.written == () and not second.changed
    assert counts(second, "responses") == (5, 0, 4, 1)
    assert counts(second, "clients") == (4, 0, 4, 0)
    assert reject_rows(second) == reject_rows(first)
    assert "store unchanged" in second.summary()


def test_store_files_are_byte_stable_across_workspaces(root: Path, tmp_path: Path):
    other = tmp_path / "other"
    shutil.copytree(root, other)
    a, b = load_workspace(root), load_workspace(other)
    ingest_quarter(a, Q)
    ingest_quarter(b, Q)
    sa, sb = snapshot(a.store_path), snapshot(b.store_path)
    sa.pop("ingest_log.csv"), sb.pop("ingest_log.csv")    # holds the time of the import
    assert sa == sb


def test_a_failed_rename_leaves_the_store_as_before(root: Path, monkeypatch):
    ws = load_workspace(root)
    ingest_quarter(ws, Q)
    before = snapshot(ws.store_path)
    append_rows(root / Q / "survey.csv", [survey_row("R900"), survey_row("R901", "C999")])
    append_rows(root / Q / "clients.csv", [dict(client_id="C005", client_type="individual")])

    real, calls = _store._move, []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 3:                                  # after two files were replaced
            raise OSError("disk full")
        real(src, dst)

    monkeypatch.setattr(_store, "_move", flaky)
    with pytest.raises(StoreError, match="disk full.*restored to what it was before"):
        ingest_quarter(ws, Q)
    assert len(calls) == 3
    assert snapshot(ws.store_path) == before

    monkeypatch.setattr(_store, "_move", real)
    result = ingest_quarter(ws, Q)
    assert counts(result, "responses") == (6, 1, 4, 1)


def test_a_crash_mid_commit_is_completed_by_the_next_import(root: Path, tmp_path: Path,
                                                             monkeypatch):
    clean = tmp_path / "clean"
    shutil.copytree(root, clean)
    expected = load_workspace(clean)
    ingest_quarter(expected, Q)

    ws = load_workspace(root)
    calls = []

    class Crash(BaseException):
        pass

    def crash(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise Crash()
        _store.os.replace(src, dst)

    monkeypatch.setattr(_store, "_move", crash)
    monkeypatch.setattr(_store.Transaction, "_rollback", lambda *a: None)   # the process died
    with pytest.raises(Crash):
        ingest_quarter(ws, Q)
    assert (ws.store_path / ".txn" / "plan.json").is_file()
    with pytest.raises(StoreError, match="interrupted import"):
        load_responses(ws)
    monkeypatch.undo()

    assert recover(ws.store_path) == "completed"
    got, want = snapshot(ws.store_path), snapshot(expected.store_path)
    got.pop("ingest_log.csv"), want.pop("ingest_log.csv")
    assert got == want


def test_an_uncommitted_staging_area_is_discarded(root: Path):
    ws = load_workspace(root)
    ingest_quarter(ws, Q)
    before = snapshot(ws.store_path)
    (ws.store_path / ".txn" / "new").mkdir(parents=True)
    (ws.store_path / ".txn" / "new" / "0").write_bytes(b"half written")
    assert ingest_quarter(ws, Q).written == ()
    assert snapshot(ws.store_path) == before


def test_a_second_ingest_is_refused_while_one_runs(root: Path):
    ws = load_workspace(root)
    with StoreLock(ws.store_path):
        with pytest.raises(StoreError, match="another ingest is running"):
            ingest_quarter(ws, Q)
    assert counts(ingest_quarter(ws, Q), "responses") == (4, 4, 0, 0)


# --------------------------------------------------------------------------------- arguments
def test_unknown_quarter_text_and_missing_folder(root: Path):
    ws = load_workspace(root)
    with pytest.raises(IngestError, match="2026Q5"):
        ingest_quarter(ws, "2026Q5")
    with pytest.raises(IngestError, match="no folder"):
        ingest_quarter(ws, "2025Q1")


def test_files_argument_selects_and_classifies(root: Path):
    ws = load_workspace(root)
    result = ingest_quarter(ws, Q, files=[root / Q / "clients.csv", "mystery_shopper.csv"])
    assert set(result.tables) == {"clients", "visits"}
    shutil.copy(root / Q / "survey.csv", root / Q / "export.csv")
    with pytest.raises(IngestError, match="cannot tell which table"):
        ingest_quarter(ws, Q, files=["export.csv"])
    result = ingest_quarter(ws, Q, files={"survey": ["export.csv"]})
    assert counts(result, "responses") == (4, 4, 0, 0)


def test_counts_always_reconcile_per_file(root: Path):
    append_rows(root / Q / "survey.csv", [survey_row("R900", Q1_recommend="x"),
                                          survey_row("R001", "C001")])
    write_csv(root / Q / "survey_2.csv", survey_header(), [survey_row("R900"),
                                                           survey_row("R901", Q2_effort="9")])
    result = ingest_quarter(load_workspace(root), Q)
    per_file = {c.file: (c.read, c.accepted, c.duplicates, c.rejected) for c in result.files
                if c.table == "responses"}
    assert per_file == {"2026Q2/survey.csv": (6, 4, 0, 2), "2026Q2/survey_2.csv": (2, 1, 0, 1)}
    assert all(c.reconciles for c in result.files) and result.reconciles


# ------------------------------------------------------------------------------ property tests
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_cell = st.text(alphabet=st.sampled_from(list("ab9 ,;\t\"'=\nЖжéΩ-.")), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(_cell, min_size=3, max_size=3), min_size=1, max_size=6),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]),
       delimiter=st.sampled_from([",", ";", "\t"]))
def test_csv_cells_come_back_exactly_as_written(tmp_path_factory, rows, encoding, delimiter):
    # é and Ω are not in cp1251, and one-byte encodings can only be told apart on real words:
    # a cp1251 file holds Cyrillic words, not Latin and Cyrillic letters run together
    if encoding == "cp1251":
        rows = [[c.replace("é", "").replace("Ω", "").replace("a", "").replace("b", "")
                 for c in r] for r in rows]
    rows = [r for r in rows if any(c.strip() for c in r)]      # blank lines carry no row
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(["a", "b", "c"])
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    # "Жж" alone reads as Greek "Ζζ" in cp1253 as well: the code page is stated, as a workspace
    # would (detection is tested on real words above)
    from vipquality.data.readers import legacy_encodings

    with legacy_encodings(["cp1251"] if encoding == "cp1251" else None):
        raw = read_table(path)
    assert raw.delimiter == delimiter and raw.columns == ("a", "b", "c")
    assert raw.data[["a", "b", "c"]].values.tolist() == rows
    assert raw.ragged.empty and raw.n_read == len(rows)


def test_spss_survey_export_goes_through_ingest(root: Path):
    """An SPSS .sav survey (written here with pyreadstat from the good CSV) imports like the CSV:
    same counts and stored scores; the quarter's file patterns name it."""
    pyreadstat = pytest.importorskip("pyreadstat")
    csv_path = root / Q / "survey.csv"
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    numeric = [c for c in frame.columns if c.startswith(("Q1", "Q2", "Q3", "Q4"))]
    for c in numeric:
        frame[c] = pd.to_numeric(frame[c].str.strip(), errors="coerce")
    csv_path.unlink()
    pyreadstat.write_sav(frame, str(root / Q / "survey.sav"))
    text = (root / "workspace.yaml").read_text(encoding="utf-8")
    (root / "workspace.yaml").write_text(
        text.replace('survey: ["survey*.csv"', 'survey: ["survey*.sav", "survey*.csv"'),
        encoding="utf-8")
    ws = load_workspace(root)
    result = ingest_quarter(ws, Q)
    assert counts(result, "responses") == (4, 4, 0, 0)
    r = load_responses(ws, Q).set_index("response_id")
    assert r.loc["R001", "nps"] == 10 and r.loc["R004", "nps"] == 0
    assert np.isnan(r.loc["R002", "sat__promises_kept"])    # missing code 99 still missing


# ------------------------------------------------------------------------- blocks (large exports)
@pytest.mark.parametrize("block_rows", [1, 2, 3, 1000])
def test_blocks_give_the_same_store_counts_and_rejects_as_one_read(root: Path, tmp_path: Path,
                                                                   block_rows: int):
    """Duplicates and conflicts straddling block boundaries, a bad row in a later block (its
    true line), a comment with a line break (later lines shift): whatever the block size, the
    result is that of reading the file whole."""
    path = root / Q / "survey.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        first = next(csv.DictReader(fh))
    append_rows(path, [dict(first, Q1_recommend="10"),                  # duplicate of R001
                       survey_row("R010", Q5_comment="line one\nline two"),
                       dict(first, Q1_recommend="3"),                   # conflict with R001
                       survey_row("R011", Q1_recommend="11"),           # bad cell
                       survey_row("R010", Q5_comment="line one\nline two"),  # duplicate
                       survey_row("R012")])
    other = tmp_path / "whole"
    shutil.copytree(root, other)
    whole = ingest_quarter(load_workspace(other), Q, block_rows=None)
    ws = load_workspace(root)
    result = ingest_quarter(ws, Q, block_rows=block_rows)
    assert counts(result, "responses") == counts(whole, "responses") == (10, 6, 2, 2)
    assert reject_rows(result) == reject_rows(whole)
    lines = {r[1] for r in reject_rows(result) if r[0].endswith("survey.csv")}
    assert lines == {9, 10}                        # after the two-line comment on lines 7-8
    assert result.warnings == whole.warnings
    a, b = snapshot(ws.store_path), snapshot(load_workspace(other).store_path)
    a.pop("ingest_log.csv"), b.pop("ingest_log.csv")
    assert a == b
    again = ingest_quarter(ws, Q, block_rows=block_rows)
    assert not again.changed and counts(again, "responses") == (10, 0, 8, 2)


def test_ids_whose_hashes_collide_stay_apart(root: Path, tmp_path: Path, monkeypatch):
    """Ids met in earlier blocks are found by a 64-bit hash, then compared as text: with every
    hash equal (all collide), duplicates, conflicts and new ids are those of one read."""
    from vipquality.data.ingest import _stream

    path = root / Q / "survey.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        first = next(csv.DictReader(fh))
    append_rows(path, [survey_row("R010"), dict(first, Q1_recommend="10"),
                       dict(first, Q1_recommend="3"), survey_row("R010"), survey_row("R012")])
    other = tmp_path / "whole"
    shutil.copytree(root, other)
    whole = ingest_quarter(load_workspace(other), Q, block_rows=None)
    monkeypatch.setattr(_stream, "_key_hashes",
                        lambda frame, keys: np.full(len(frame), 7, dtype="uint64"))
    ws = load_workspace(root)
    result = ingest_quarter(ws, Q, block_rows=2)
    assert counts(result, "responses") == counts(whole, "responses")
    assert reject_rows(result) == reject_rows(whole)
    a, b = snapshot(ws.store_path), snapshot(load_workspace(other).store_path)
    a.pop("ingest_log.csv"), b.pop("ingest_log.csv")
    assert a == b


def test_block_frames_are_not_kept(root: Path):
    """The per-block results kept for the file's warnings hold no rows: an empty slice of a
    block's Arrow arrays would keep all its buffers alive (memory growing with the rows)."""
    from vipquality.data.ingest._stream import _empty_like

    frame = pd.DataFrame({"a": pd.array(["x" * 100] * 1000, dtype="str"),
                          "b": pd.array(range(1000), dtype="Int32")})
    empty = _empty_like(frame)
    assert len(empty) == 0 and list(empty.dtypes) == list(frame.dtypes)

    def held(f: pd.DataFrame) -> int:
        return sum(b.size for ch in f["a"].array._pa_array.chunks for b in ch.buffers() if b)

    assert held(frame.iloc[:0]) > 100_000 and held(empty) < 1000


def test_a_blank_or_ragged_line_falls_back_to_the_whole_file_reader(root: Path):
    path = root / Q / "survey.csv"
    rows = append_rows(path, [survey_row("R020")])
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\nR021,C004\n")
    result = ingest_quarter(load_workspace(root), Q, block_rows=2)
    assert counts(result, "responses") == (6, 5, 0, 1)
    ((file, line, col, val, why),) = reject_rows(result)
    assert line == rows[0] + 2 and "fields" in why


def test_rows_of_a_large_partition_are_written_sorted_in_pieces(root: Path, monkeypatch):
    from vipquality.data.ingest import _stream

    real = _stream.write_sorted
    monkeypatch.setattr(_stream, "SORT_CHUNK_ROWS", 2)
    import vipquality.data.ingest as ingest_mod

    monkeypatch.setattr(ingest_mod, "write_sorted",
                        lambda *a, **k: real(*a, **{**k, "chunk_rows": 2}))
    append_rows(root / Q / "survey.csv", [survey_row(r) for r in ("R000", "R999", "R005")])
    ws = load_workspace(root)
    ingest_quarter(ws, Q, block_rows=2)
    import pyarrow.parquet as pq

    ids = pq.read_table(ws.store_path / "responses" / f"quarter={Q}" / "part-0.parquet",
                        columns=["response_id"]).column(0).to_pylist()
    assert ids == sorted(ids) and len(ids) == 7


# ------------------------------------------------------------------------------------------------
# every file of a quarter folder is imported or named
def test_every_file_of_a_quarter_folder_is_imported_or_named(root: Path):
    import openpyxl

    qdir = root / Q
    (qdir / "survey.csv").rename(qdir / "Survey_Main.CSV")       # the name's case differs
    book = openpyxl.Workbook()
    sheet = book.active
    header = survey_header()
    sheet.append(header)
    sheet.append([survey_row("R950")[h] for h in header])
    book.save(qdir / "survey_extra.xlsm")                           # Excel's macro format
    (qdir / "notes.txt").write_text("sent late by the provider\n")
    (qdir / "survey_old.ods").write_bytes(b"PK")
    (qdir / ".DS_Store").write_bytes(b"\0")

    result = ingest_quarter(load_workspace(root), Q)

    files = {c.file for c in result.files}
    assert {f"{Q}/Survey_Main.CSV", f"{Q}/survey_extra.xlsm"} <= files, files
    assert "R950" in set(load_responses(load_workspace(root), Q)["response_id"])
    assert result.unmatched == ("notes.txt", "survey_old.ods")
    assert "not imported (matches no quarter_files pattern of workspace.yaml): notes.txt, " \
           "survey_old.ods" in result.summary()


def test_a_folder_named_almost_like_a_quarter_is_named_not_skipped(root: Path):
    from click.testing import CliRunner

    from vipquality.cli import main

    for name in ("2026Q5", "2026q3", "2026-Q4"):
        (root / name).mkdir()
    (root / "2026Q2_old").mkdir()            # an old copy of a quarter: named too, not read
    (root / "archive").mkdir()                                       # not like a quarter at all
    ws = load_workspace(root)
    assert ws.quarters() == [Q]
    assert ws.odd_quarter_folders() == ["2026-Q4", "2026Q2_old", "2026Q5", "2026q3"]
    result = CliRunner().invoke(main, ["ingest", "--workspace", str(root), "--all"])
    assert result.exit_code == 0, result.output
    for name in ("2026Q5", "2026q3", "2026-Q4", "2026Q2_old"):
        assert f"warning: {root / name} is not imported" in result.output
    assert "archive" not in result.output


def test_a_crm_extract_without_its_header_row_is_refused_without_quoting_it(root: Path):
    """The first row then stands where the header should: the message names the columns by
    position and shape, never by the client's name, e-mail, phone or address."""
    path = root / Q / "clients.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace("deposits;investments,,", "deposits;investments,1,")  # no blank
    path.write_text("".join(lines[1:]), encoding="utf-8")
    first = next(csv.reader(io.StringIO(lines[1])))
    assert all(first), first
    with pytest.raises(IngestError) as err:
        ingest_quarter(load_workspace(root), Q)
    message = str(err.value)
    assert "is the header row missing?" in message and "clients.csv" in message
    leaked = [v for v in first if len(v) > 2 and v in message]
    assert leaked == [], leaked
    assert "'A A A'" in message and "'a.a@a.a'" in message    # full name, e-mail as shapes


def test_masked_shape_keeps_no_letter_or_digit_of_the_value():
    from vipquality.data.schema import masked_shape

    for value in ("Иванов Иван", "planted.secret@example.org", "+7 900 111-22-33", "C001"):
        shape = masked_shape(value)
        assert set(shape) <= set("aA9 .@+-,;:'\"()/_"), shape
    assert masked_shape("Москва, ул. Тверская, 1") == "A, a. A, 9"


def test_a_link_out_of_the_workspace_is_refused_without_reading_it(root: Path, tmp_path: Path):
    outside = tmp_path / "secret.csv"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (root / Q / "survey_linked.csv").symlink_to(outside)
    before = snapshot(root / "store")
    with pytest.raises(IngestError, match="survey_linked.csv is a link to a file outside") as err:
        ingest_quarter(load_workspace(root), Q)
    assert "root:x" not in str(err.value)
    assert snapshot(root / "store") == before
    (root / Q / "survey_inside.csv").symlink_to(root / Q / "survey.csv")  # inside: followed
    (root / Q / "survey_linked.csv").unlink()
    assert ingest_quarter(load_workspace(root), Q).tables["responses"].duplicates > 0
