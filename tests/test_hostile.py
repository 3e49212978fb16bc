"""Hostile input (issue 19): legacy code pages, files that are not what they claim, and the
red team's cases that already passed (NUL bytes, UTF-16, line breaks inside quoted comments,
headers with stray case and spaces), each through ``vipquality ingest`` as a user runs it.

Every case starts from the workspace of :mod:`test_bad_input` (its good quarter already in the
store) and checks what the user sees (exit code, one line naming the file) and what is stored.
"""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner
from test_bad_input import (  # noqa: F401  (``ingested`` is a fixture)
    Q,
    _copy,
    assert_whole_file_error,
    good_row,
    header,
    ingest_cli,
    ingested,
    serialise,
    store_hash,
)

from vipquality.cli import main
from vipquality.config import load_workspace
from vipquality.data.readers import decode, legacy_encodings
from vipquality.data.store import load_responses
from vipquality.errors import ConfigError, DataError

GREEK = ["Πολύ αργή εξυπηρέτηση", "Ο διαχειριστής μου δεν απάντησε ποτέ",
         "Περίμενα τρεις μέρες για μια κλήση", "Ευχαριστώ πολύ"]
RUSSIAN = ["Очень медленное обслуживание", "Мой менеджер не ответил", "Ждал звонка три дня",
           "Спасибо большое"]


def _survey(comments: list[str], first: int = 1) -> str:
    rows = [[good_row(f"H{first + i:03d}", Q5_comment=c)[k] for k in header()]
            for i, c in enumerate(comments)]
    return serialise([header(), *rows])[0]


def _state(root, **keys) -> None:
    path = root / "workspace.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc.update(keys)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _comments(root) -> dict[str, str]:
    stored = load_responses(load_workspace(root), Q)
    return dict(zip(stored["response_id"], stored["comment"]))


# --------------------------------------------------------------------------------------------
# legacy code pages: Greek is never read as Cyrillic


@pytest.mark.parametrize(("comments", "encoding"), [(GREEK, "cp1253"), (RUSSIAN, "cp1251")])
def test_a_legacy_export_is_read_in_its_own_alphabet(ingested, tmp_path, comments, encoding):
    """Before issue 19 a cp1253 export was read as cp1251: Greek comments stored as Cyrillic."""
    root = _copy(ingested, tmp_path / "ws")
    (root / Q / "survey_legacy.csv").write_bytes(_survey(comments).encode(encoding))
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    stored = _comments(root)
    assert [stored[f"H{i:03d}"] for i in range(1, len(comments) + 1)] == comments


def test_greek_capitals_that_also_read_as_russian_are_refused_naming_both(ingested, tmp_path):
    """Short capitals without accents are plausible words in cp1251 as much as in cp1253, and
    the CRM's names (here in both alphabets) do not decide."""
    root = _copy(ingested, tmp_path / "ws")
    crm = root / Q / "clients.csv"
    crm.write_text(crm.read_text(encoding="utf-8").replace("Papadopoulos Eleni",
                                                           "Παπαδοπούλου Ελένη"),
                   encoding="utf-8")
    before = store_hash(root)
    (root / Q / "survey_caps.csv").write_bytes(
        _survey(["ΣΤΗΝ ΩΡΑ ΤΟΥ", "ΟΛΑ ΟΚ"]).encode("cp1253"))
    result = ingest_cli(root)
    assert_whole_file_error(result, "survey_caps.csv", "Greek (cp1253)", "Cyrillic (cp1251)",
                            "encodings:", "workspace.yaml")
    assert store_hash(root) == before
    # stated in workspace.yaml, the same file is read as Greek
    _state(root, encodings=["cp1253"])
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    assert _comments(root)["H001"] == "ΣΤΗΝ ΩΡΑ ΤΟΥ"


def test_a_file_outside_the_stated_code_pages_is_refused(ingested, tmp_path):
    root = _copy(ingested, tmp_path / "ws")
    _state(root, encodings=["cp1253"])
    before = store_hash(root)
    # "Т" and "я" have no byte in cp1253
    (root / Q / "survey_ru.csv").write_bytes(_survey(["Тянули с ответом"]).encode("cp1251"))
    result = ingest_cli(root)
    assert_whole_file_error(result, "survey_ru.csv", "cp1253", "encodings:")
    assert store_hash(root) == before


@pytest.mark.parametrize(("text", "encoding"), [
    ("Πολύ αργή εξυπηρέτηση", "cp1253"), ("Ο διαχειριστής μου δεν απάντησε ποτέ", "cp1253"),
    ("очень долго очень долго", "cp1251"), ("Всё отлично, спасибо", "cp1251"),
    ("café au lait, très bien", "cp1252"), ("Salamat po, ang Parañaque branch", "cp1252"),
    ("ΠΟΛΥ ΑΡΓΗ ΕΞΥΠΗΡΕΤΗΣΗ", "cp1253"),
])
def test_decode_reads_each_alphabet_from_its_code_page(text, encoding):
    assert decode(text.encode(encoding), "t.csv") == (text, encoding)


def test_iso_8859_7_is_read_when_stated():
    raw = "Άψογη εξυπηρέτηση στην Αθήνα".encode("iso8859_7")
    with legacy_encodings(["ISO-8859-7"]):
        assert decode(raw, "t.csv") == ("Άψογη εξυπηρέτηση στην Αθήνα", "iso8859_7")
    with pytest.raises(DataError, match="two alphabets"):  # unstated: Greek or Cyrillic?
        decode("ΑΘΗΝΑ ΣΤΗΝ ΩΡΑ".encode("iso8859_7"), "t.csv")


@pytest.mark.parametrize(("value", "problem"), [
    (["klingon"], "a code page Python knows"), (["utf-8"], "legacy 8-bit code page"),
    ("cp1253", "list"),
])
def test_a_bad_encodings_key_is_a_configuration_error(ingested, tmp_path, value, problem):
    root = _copy(ingested, tmp_path / "ws")
    _state(root, encodings=value)
    with pytest.raises(ConfigError, match=problem) as err:
        load_workspace(root)
    assert "encodings" in str(err.value)


# --------------------------------------------------------------------------------------------
# workbooks with a cover page


def _workbook_with_cover(path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "Cover"
    cover["B2"] = "Client survey, 2nd quarter"
    cover.merge_cells("B2:F2")
    data = book.create_sheet("Responses")
    data.append(header())
    data.append([good_row("H001", Q5_comment="from the workbook")[c] for c in header()])
    book.save(path)


def test_a_cover_page_is_named_and_the_stated_sheet_is_read(ingested, tmp_path):
    root = _copy(ingested, tmp_path / "ws")
    before = store_hash(root)
    _workbook_with_cover(root / Q / "survey_book.xlsx")
    result = ingest_cli(root)
    assert_whole_file_error(result, "survey_book.xlsx", "[Cover]", "'Responses'", "sheets:")
    assert store_hash(root) == before
    _state(root, sheets={"survey": "Responses"})
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    assert _comments(root)["H001"] == "from the workbook"


# --------------------------------------------------------------------------------------------
# the red team's cases that passed before: kept passing by a test of their own


def test_nul_bytes_in_a_comment_become_spaces_and_the_answers_are_kept(ingested, tmp_path):
    """A NUL (a damaged export) used to be stored inside the comment, and went on into the
    CSVs and pages; the row's scores are kept, the control character is not."""
    root = _copy(ingested, tmp_path / "ws")
    text = _survey(["fine", "bad\x00byte\x0cend"])
    (root / Q / "survey_nul.csv").write_bytes(text.encode("utf-8"))
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    stored = _comments(root)
    assert stored["H001"] == "fine" and stored["H002"] == "bad byte end"


def test_utf16_with_a_bom_is_read(ingested, tmp_path):
    root = _copy(ingested, tmp_path / "ws")
    (root / Q / "survey_u16.csv").write_bytes(_survey(GREEK[:2]).encode("utf-16"))
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    assert _comments(root)["H002"] == GREEK[1]


def test_line_breaks_inside_a_quoted_comment_stay_in_the_comment(ingested, tmp_path):
    root = _copy(ingested, tmp_path / "ws")
    comment = "First line\r\nsecond line\nthird, with a comma"
    (root / Q / "survey_lines.csv").write_bytes(_survey([comment, "next"]).encode("utf-8"))
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    stored = _comments(root)
    assert stored["H001"].split() == comment.split() and stored["H002"] == "next"


def test_headers_with_stray_case_and_spaces_are_matched(ingested, tmp_path):
    root = _copy(ingested, tmp_path / "ws")
    cols = header()
    messy = [f"  {c.upper()} " if i % 2 else f" {c.lower()}" for i, c in enumerate(cols)]
    row = good_row("H001", Q5_comment="messy header")
    (root / Q / "survey_messy.csv").write_text(
        serialise([messy, [row[c] for c in cols]])[0], encoding="utf-8")
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    assert _comments(root)["H001"] == "messy header"


# --------------------------------------------------------------------------------------------
# the markets' national formats in comments


@pytest.mark.parametrize(("comment", "scrubbed"), [
    # phones without an international prefix, by libphonenumber's numbering plans
    ("Καλέστε με στο 210 123 4567 ή 6912345678", "Καλέστε με στο [phone] ή [phone]"),
    ("Tawagan ako sa 0917 123 4567 o (02) 8123 4567", "Tawagan ako sa [phone] o [phone]"),
    ("Звоните 495 123 45 67", "Звоните [phone]"),
    # card numbers written with dots
    ("card 4276.1234.5678.9012 please", "card [account] please"),
    # passports, identity cards, tax and social-security numbers
    ("паспорт 45 06 123456, СНИЛС 123-456-789 01", "паспорт [document], СНИЛС [document]"),
    ("ΑΔΤ ΑΚ 123456, ΑΦΜ 123456789, ΑΜΚΑ 01017012345",
     "ΑΔΤ [document], ΑΦΜ [document], ΑΜΚΑ [document]"),
    ("passport P1234567A, SSS 34-1234567-8, TIN 123-456-789",
     "passport [document], SSS [document], TIN [document]"),
    # Greek names in another grammatical case, and names in capitals without accents
    ("Ευχαριστώ τον κ. Παπαδόπουλο", "Ευχαριστώ τον κ. [name]"),
    ("Κύριε Παπαδόπουλε, ευχαριστώ", "Κύριε [name], ευχαριστώ"),
    ("Η ΜΑΡΙΑ ΝΙΚΟΛΑΟΥ ήταν άψογη", "Η [name] ήταν άψογη"),
    ("Salamat kay JOSE GARCIA", "Salamat kay [name]"),
    # ordinary numbers stay
    ("Waited 45 minutes at branch 210, paid 1500000 on 2026-03-04, rate 8.4375213",
     "Waited 45 minutes at branch 210, paid 1500000 on 2026-03-04, rate 8.4375213"),
])
def test_national_formats_and_inflected_names_are_scrubbed(comment, scrubbed):
    from vipquality.data.privacy import scrub_comment

    names = ["Γεώργιος Παπαδόπουλος", "Μαρία Νικολάου", "José García"]
    assert scrub_comment(comment, names=names) == scrubbed


def test_the_workspace_countries_choose_the_numbering_plans(ingested, tmp_path):
    """A Philippine landline is a phone for a workspace in the Philippines; stated countries
    replace the default ones, and a bad code is a configuration error."""
    root = _copy(ingested, tmp_path / "ws")
    _state(root, countries=["PH"])
    assert load_workspace(root).countries == ("PH",)
    (root / Q / "survey_ph.csv").write_text(_survey(["Tawag po sa (02) 8123 4567"]),
                                            encoding="utf-8")
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    assert _comments(root)["H001"] == "Tawag po sa [phone]"
    _state(root, countries=["Philippines"])
    with pytest.raises(ConfigError, match="two-letter country code"):
        load_workspace(root)


# --------------------------------------------------------------------------------------------
# segment rules that select nobody


def test_a_rule_value_no_client_has_is_named_with_a_close_match(ingested, tmp_path):
    """A typo in a tier name used to leave the segment silently empty."""
    root = _copy(ingested, tmp_path / "ws")
    seg = root / "segments.yaml"
    seg.write_text(seg.read_text(encoding="utf-8").replace("eq: Luxury}", "eq: Luxary}"),
                   encoding="utf-8")
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    assert ("segments.yaml: segment 'luxury': no client of the quarter has tier = 'Luxary' "
            "(did you mean 'Luxury'?)") in result.output
    # the clients' names, e-mails and phones are not quoted
    assert "Papadopoulos" not in result.output and "@example.org" not in result.output


def test_a_segment_emptied_since_last_quarter_is_named(ingested, tmp_path):
    root = _copy(ingested, tmp_path / "ws")
    nxt = root / "2026Q3"
    nxt.mkdir()
    crm = (root / Q / "clients.csv").read_text(encoding="utf-8")
    (nxt / "clients.csv").write_text(crm.replace(",Private,", ",Premium,"), encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", "--workspace", str(root), "-q", "2026Q3"])
    assert result.exit_code == 0, result.output
    assert "segment 'private' (Private) has no member this quarter but had members the " \
           "quarter before" in result.output
    # the rule value itself exists nowhere now: named too
    assert "no client of the quarter has tier = 'Private'" in result.output


# --------------------------------------------------------------------------------------------
# our own hostile cases (issue 19 asks for three the red team did not name)


def test_a_file_name_cannot_write_lines_of_its_own_into_the_log(ingested, tmp_path):
    """A file named ``survey_x<newline>ok: all good.csv`` wrote a fake line into the cron log,
    and one with an escape sequence recoloured the terminal: names are shown escaped."""
    root = _copy(ingested, tmp_path / "ws")
    (root / Q / "survey_x\nok: all good.csv").write_text(_survey(["one"]), encoding="utf-8")
    (root / Q / "survey_\x1b[31mred.csv").write_text(_survey(["two"], first=2),
                                                      encoding="utf-8")
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    assert not any(line.startswith("ok: all good") for line in result.output.splitlines())
    assert "\x1b" not in result.output
    assert "survey_x\\nok: all good.csv" in result.output or result.output.count("\n") < 20
    stored = load_responses(load_workspace(root), Q)
    assert {"2026Q2/survey_x\\nok: all good.csv", "2026Q2/survey_\\x1b[31mred.csv"} <= set(
        stored["source_file"])


def test_a_copy_of_a_quarter_folder_is_named_not_skipped(ingested, tmp_path):
    root = _copy(ingested, tmp_path / "ws")
    for name in ("2026Q2 (1)", "2026Q2.bak", "2026Q5"):
        (root / name).mkdir()
    assert load_workspace(root).odd_quarter_folders() == ["2026Q2 (1)", "2026Q2.bak", "2026Q5"]
    result = CliRunner().invoke(main, ["ingest", "--workspace", str(root), "--all"])
    assert result.exit_code == 0, result.output
    for name in ("2026Q2 (1)", "2026Q2.bak", "2026Q5"):
        assert f"{name} is not imported" in result.output


def test_invisible_characters_in_a_header_do_not_hide_a_column(ingested, tmp_path):
    """A zero-width space or a byte-order mark inside a header name (left by an editor) made a
    mapped column "not found" although it reads the same."""
    root = _copy(ingested, tmp_path / "ws")
    cols = header()
    odd = ["Response\u200bId" if c == "ResponseId" else ("\ufeff" + c if c == "ClientId" else c)
           for c in cols]
    row = good_row("H001", Q5_comment="invisible")
    (root / Q / "survey_zw.csv").write_text(serialise([odd, [row[c] for c in cols]])[0],
                                           encoding="utf-8")
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    assert _comments(root)["H001"] == "invisible"


def test_bidirectional_overrides_cannot_reorder_a_comment_on_a_page(ingested, tmp_path):
    """U+202E (right-to-left override) shows the text after it reversed in a browser: a
    comment could read differently on an executive page than in the data."""
    root = _copy(ingested, tmp_path / "ws")
    (root / Q / "survey_bidi.csv").write_text(
        _survey(["service was \u202etaerg\u202c indeed"]), encoding="utf-8")
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    assert _comments(root)["H001"] == "service was taerg indeed"


def test_the_crm_names_alphabet_decides_between_greek_and_cyrillic(ingested, tmp_path):
    """When the CRM's names are written in Greek only, a survey export that would read as
    Greek or Cyrillic is read as Greek (no code page stated)."""
    root = _copy(ingested, tmp_path / "ws")
    crm = root / Q / "clients.csv"
    crm.write_text(crm.read_text(encoding="utf-8").replace("Иванов Иван Иванович", "Ιωάννου Ιωάννης")
                   .replace("ООО «Ромашка»", "Ρόδι Α.Ε."), encoding="utf-8")
    (root / Q / "survey_caps.csv").write_bytes(_survey(["ΣΤΗΝ ΩΡΑ ΤΟΥ"]).encode("cp1253"))
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    assert _comments(root)["H001"] == "ΣΤΗΝ ΩΡΑ ΤΟΥ"


def test_a_headerless_crm_with_a_repeated_value_is_refused_without_quoting_it(ingested,
                                                                             tmp_path):
    """The first row of a CRM extract exported without its header is a client's data: when
    two of its values are equal (a name in two columns) the "repeated column" message used to
    quote the name."""
    root = _copy(ingested, tmp_path / "ws")
    before = store_hash(root)
    (root / Q / "clients.csv").write_text(
        "C009,Иванов Иван,ivan@example.org,Иванов Иван,Москва\nC010,b,c,d,e\n", encoding="utf-8")
    result = ingest_cli(root)
    message = assert_whole_file_error(result, "clients.csv", "repeats", "positions [2, 4]")
    assert "Иванов" not in message and "ivan@" not in message
    assert store_hash(root) == before
