"""Bad input (issue 6): broken exports and broken configuration, through ``vipquality ingest``
and :func:`ingest_quarter`.

Every case starts from a workspace whose good quarter (``tests/data/2026Q2``) is already in the
store, hashed before the bad import. Whole-file problems: exit code 2, one ``error:`` line naming
the file (and the row or column when there is one), no traceback, the store byte-identical.
Row problems: exit code 0, every bad row in ``store/rejects/<quarter>.csv`` with its file, row and
column, counts that reconcile, the rows already stored unchanged, and no cell of any CSV written
that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vipquality.cli import main
from vipquality.config import load_workspace
from vipquality.data.ingest import ingest_quarter
from vipquality.data.store import load_responses
from vipquality.errors import ConfigError, VipqualityError
from vipquality.paths import SAMPLE_WORKSPACE

DATA = Path(__file__).parent / "data"
Q = "2026Q2"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HYP = settings(max_examples=25, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow])


# --------------------------------------------------------------------------------------------
# helpers


def _fresh(base: Path) -> Path:
    """A workspace with the good quarter already ingested."""
    root = base / "ws"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for y in SAMPLE_WORKSPACE.glob("*.yaml"):
        shutil.copy(y, root / y.name)
    shutil.copytree(DATA / Q, root / Q)
    ingest_quarter(load_workspace(root), Q)
    return root


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    """The ingested good workspace, copied by each test (``_copy``)."""
    return _fresh(tmp_path_factory.mktemp("good"))


def _copy(ingested: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(ingested, dest)
    return dest


def store_hash(root: Path) -> str:
    """One fingerprint of every file (path and bytes) of the store, hidden files included."""
    h = hashlib.sha256()
    store = root / "store"
    for p in sorted(store.rglob("*")):
        if p.is_file() and p.name != ".lock":
            h.update(p.relative_to(store).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def header() -> list[str]:
    with (DATA / Q / "survey.csv").open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh))


def good_row(rid: str, cid: str = "C004", **cells: str) -> dict[str, str]:
    with (DATA / Q / "survey.csv").open(encoding="utf-8", newline="") as fh:
        row = next(csv.DictReader(fh))
    row.update(ResponseId=rid, ClientId=cid, Q5_comment="ok")
    row.update(cells)
    return row


def serialise(rows: list[list[str]], delimiter: str = ",") -> tuple[str, list[int]]:
    """CSV text of ``rows`` (the first is the header) and the line each data row starts on."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    lines, line = [], 1
    for i, r in enumerate(rows):
        start = buf.tell()
        writer.writerow(r)
        if i:
            lines.append(line)
        line += buf.getvalue()[start:].count("\r\n")
    return buf.getvalue(), lines


def ingest_cli(root: Path, *args: str):
    result = CliRunner().invoke(main, ["ingest", "--workspace", str(root), "-q", Q, *args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result


def assert_whole_file_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 1 and lines[0].startswith("error: "), result.stderr
    message = result.stderr
    for f in fragments:
        assert f in message, (f, message)
    return message


def rejects_csv(root: Path) -> list[list[str]]:
    path = root / "store" / "rejects" / f"{Q}.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def no_formula_cells(path: Path) -> None:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for record in csv.reader(fh):
            for cell in record:
                assert not cell.startswith(FORMULA_START), (path.name, cell)


# --------------------------------------------------------------------------------------------
# row problems, generated

# (value, accepted?) for the NPS column (0–10; 99 is the instrument's missing code)
_NPS_VALUES = [("10 ", True), (" 7", True), ("", True), ("99", True), ("+1", True), ("10.0", True),
               ("ten", False), ("9,5", False), ("11", False), ("-1", False), ("7.5", False),
               ('=HYPERLINK("http://evil.example","x")', False), ("@SUM(A1)", False),
               ("=1+1", False), ("десять", False)]
_COMMENTS = st.one_of(
    st.just("ok"), st.just('=HYPERLINK("http://evil.example","click")'), st.just("+7 915 1"),
    st.just("Всё отлично, спасибо"), st.just("Très bien, café"),
    st.integers(10_000, 120_000).map(lambda n: "очень долго " * (n // 12)),   # giant comment
)


@st.composite
def broken_export(draw):
    """A survey export with good, out-of-range, non-numeric, formula, ragged and duplicated
    rows, in some encoding and delimiter."""
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "latin-1"]))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    n = draw(st.integers(1, 8))
    cols = header()
    rows, expect = [], []  # expect: "ok", "bad", "ragged", "dup", "conflict"
    for i in range(n):
        kind = draw(st.sampled_from(["value", "value", "ragged", "dup_in_file", "dup_store"]))
        comment = draw(_COMMENTS)
        # only what the encoding can hold (a cp1251 export has no "é")
        comment = comment.encode(encoding, "ignore").decode(encoding).strip() or "ok"
        row = good_row(f"H{i:03d}", cid=draw(st.sampled_from(["C001", "C002", "C003", "C004"])),
                       Q5_comment=comment)
        if kind == "value":
            value, fine = draw(st.sampled_from(
                [(v, ok) for v, ok in _NPS_VALUES if v.encode(encoding, "ignore").decode(
                    encoding) == v]))
            row["Q1_recommend"] = value
            rows.append([row[c] for c in cols])
            expect.append("ok" if fine else "bad")
        elif kind == "ragged":
            record = [row[c] for c in cols]
            record = record[:-2] if draw(st.booleans()) else record + ["x", "y"]
            rows.append(record)
            expect.append("ragged")
        elif kind == "dup_in_file" and rows and expect[-1] == "ok":
            rows.append(list(rows[-1]))                           # the same response again
            expect.append("dup")
        else:                                                     # R001 is in the store
            row.update(ResponseId="R001", ClientId="C001", Q1_recommend="3")
            rows.append([row[c] for c in cols])
            expect.append("conflict")
    text, lines = serialise([cols, *rows], delimiter)
    return text.encode(encoding), lines, expect, encoding, delimiter


def _stored_before(root: Path) -> pd.DataFrame:
    # the stored rows as stored (new answers re-rake the quarter: the applied weights may move)
    return load_responses(load_workspace(root), Q, weighted=False).set_index("response_id")


@HYP
@given(export=broken_export())
def test_broken_exports_are_rejected_row_by_row_and_reconcile(ingested, tmp_path_factory,
                                                              export):
    data, lines, expect, encoding, delimiter = export
    root = _copy(ingested, tmp_path_factory.mktemp("rows") / "ws")
    before = _stored_before(root)
    (root / Q / "survey_extra.csv").write_bytes(data)
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    ws = load_workspace(root)
    name = f"{Q}/survey_extra.csv"

    # every row is accounted for, in the file's counts and in the table's
    rerun = ingest_quarter(ws, Q, dry_run=True)       # the same file, now against the store
    assert rerun.reconciles
    rejects = rejects_csv(root)
    assert rejects[0] == ["file", "row", "column", "value", "reason"]
    mine = [r for r in rejects[1:] if r[0] == name]
    rejected_rows = {int(r[1]) for r in mine}
    for line, kind in zip(lines, expect):
        if kind == "ragged":
            assert line in rejected_rows and any(int(r[1]) == line and "fields" in r[4]
                                                 for r in mine)
        elif kind == "bad":
            assert any(int(r[1]) == line and r[2] == "Q1_recommend" for r in mine), (line, mine)
        elif kind == "conflict":
            assert any(int(r[1]) == line and r[2] == "ResponseId" and "R001" in r[4]
                       for r in mine), (line, mine)
        else:
            assert line not in rejected_rows, (line, kind, mine)
    n_ok = sum(k == "ok" for k in expect)
    n_dup = sum(k == "dup" for k in expect)
    assert rejected_rows == {ln for ln, k in zip(lines, expect)
                             if k in ("bad", "ragged", "conflict")}
    summary = result.stdout
    table_line = next(ln for ln in summary.splitlines() if ln.strip().startswith("responses"))
    read, accepted, dups, rejected = map(int, table_line.split()[1:5])
    assert read == 4 + len(expect) and read == accepted + dups + rejected
    assert accepted == n_ok and rejected == len(rejected_rows) and dups == 4 + n_dup

    # what was stored before is unchanged; no CSV cell the store wrote is a formula
    after = load_responses(ws, Q, weighted=False).set_index("response_id")
    pd.testing.assert_frame_equal(after.loc[before.index], before)
    for path in (root / "store").rglob("*.csv"):
        no_formula_cells(path)


# --------------------------------------------------------------------------------------------
# whole-file problems


def _survey_text(rows: list[dict[str, str]], cols: list[str] | None = None,
                 delimiter: str = ",") -> str:
    cols = cols or header()
    return serialise([cols, *[[r.get(c, "") for c in cols] for r in rows]], delimiter)[0]


def _other_quarter() -> bytes:
    rows = [good_row(f"H{i}", SubmittedAt=f"2025-11-0{i} 10:00:00") for i in range(1, 4)]
    return _survey_text(rows).encode()


def _duplicated_header() -> bytes:
    cols = header()
    return _survey_text([good_row("H1")], cols + ["Q1_recommend"]).encode()


def _missing_column() -> bytes:
    cols = [c for c in header() if c != "Q2_effort"]
    return _survey_text([good_row("H1")], cols).encode()


def _pipe_delimited() -> bytes:
    return _survey_text([good_row("H1")]).replace(",", "|").encode()


WHOLE_FILE = {
    # name: (bytes, file name, fragments the message must hold)
    "empty": (b"", "survey_bad.csv", ["survey_bad.csv", "empty"]),
    "blank lines only": (b"\r\n  \r\n", "survey_bad.csv", ["survey_bad.csv", "empty"]),
    "bom only": (b"\xef\xbb\xbf", "survey_bad.csv", ["survey_bad.csv", "empty"]),
    "duplicated header column": (_duplicated_header(), "survey_bad.csv",
                                 ["survey_bad.csv", "row 1", "Q1_recommend", "repeats"]),
    "blank header column": (b"ResponseId,,ClientId\r\nH1,x,C001\r\n", "survey_bad.csv",
                            ["survey_bad.csv", "row 1", "blank column name"]),
    "missing mapped column": (_missing_column(), "survey_bad.csv",
                              ["survey_bad.csv", "Q2_effort", "instrument.yaml: ces.column"]),
    "wrong delimiter": (_pipe_delimited(), "survey_bad.csv",
                        ["survey_bad.csv", "not found", "ResponseId|ClientId"]),
    "another quarter": (_other_quarter(), "survey_bad.csv",
                        ["survey_bad.csv", "outside 2026Q2", "row 2", "SubmittedAt",
                         "another quarter"]),
    "utf-16 bom, odd bytes": (b"\xff\xfeR\x00e\x00s", "survey_bad.csv",
                              ["survey_bad.csv", "UTF-16"]),
    "not a workbook": (b"PK\x03\x04 this is not a zip", "survey_bad.xlsx",
                       ["survey_bad.xlsx", "Excel"]),
    "not parquet": (b"PAR1 garbage", "survey_bad.parquet", ["survey_bad.parquet", "Parquet"]),
}


@pytest.mark.parametrize("case", sorted(WHOLE_FILE))
def test_a_whole_file_problem_is_one_message_exit_2_and_the_store_unchanged(ingested, tmp_path,
                                                                           case):
    data, name, fragments = WHOLE_FILE[case]
    root = _copy(ingested, tmp_path / "ws")
    before = store_hash(root)
    (root / Q / name).write_bytes(data)
    result = ingest_cli(root)
    assert_whole_file_error(result, *fragments)
    assert store_hash(root) == before
    # the API raises the same error (a VipqualityError), and also changes nothing
    with pytest.raises(VipqualityError) as err:
        ingest_quarter(load_workspace(root), Q)
    assert fragments[0] in str(err.value)
    assert store_hash(root) == before


def _merged_header_workbook(path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    cols = header()
    ws.append(["Survey export"] + [None] * (len(cols) - 1))
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=4)
    ws.append(cols)
    ws.append([good_row("H1")[c] for c in cols])
    book.save(path)


def test_excel_with_merged_header_rows_is_refused_naming_file_sheet_and_row(ingested, tmp_path):
    root = _copy(ingested, tmp_path / "ws")
    before = store_hash(root)
    _merged_header_workbook(root / Q / "survey_merged.xlsx")
    result = ingest_cli(root)
    assert_whole_file_error(result, "survey_merged.xlsx", "[Sheet]", "row 1", "merged")
    assert store_hash(root) == before


def test_excel_formulas_are_never_executed_nor_passed_through(ingested, tmp_path):
    """A formula typed into a cell is read as its cached value (blank when Excel never
    computed it), never run; the text of a formula given as a value is neutralised in every
    CSV the store writes."""
    import openpyxl

    root = _copy(ingested, tmp_path / "ws")
    book = openpyxl.Workbook()
    ws = book.active
    cols = header()
    ws.append(cols)
    ws.append([good_row("H1", Q5_comment='=HYPERLINK("http://evil.example","x")')[c]
               for c in cols])                                    # a formula cell
    row = good_row("H2")
    ws.append([row[c] for c in cols])
    ws.cell(row=3, column=cols.index("Q1_recommend") + 1).value = '=HYPERLINK("http://e","9")'
    ws.cell(row=3, column=cols.index("Q1_recommend") + 1).data_type = "s"   # text, not formula
    book.save(root / Q / "survey_formulas.xlsx")
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    stored = load_responses(load_workspace(root), Q).set_index("response_id")
    assert pd.isna(stored.loc["H1", "comment"])          # the formula's (absent) value, not it
    assert "H2" not in stored.index                       # "=HYPERLINK(..." is not a score
    rejects = rejects_csv(root)
    assert any(r[0].endswith("survey_formulas.xlsx") and r[1] == "3" and r[2] == "Q1_recommend"
               and r[3].startswith("'=HYPERLINK") for r in rejects[1:])
    for path in (root / "store").rglob("*.csv"):
        no_formula_cells(path)


def test_a_giant_comment_is_a_value_not_a_broken_file(ingested, tmp_path):
    """A comment beyond the csv module's default field limit (128 KiB) is stored whole."""
    root = _copy(ingested, tmp_path / "ws")
    giant = "Письмо клиента. " * 40_000                        # 640,000 characters
    (root / Q / "survey_giant.csv").write_text(_survey_text([good_row("H1", Q5_comment=giant),
                                                             good_row("H2")]), encoding="utf-8")
    result = ingest_cli(root)
    assert result.exit_code == 0, result.output
    stored = load_responses(load_workspace(root), Q).set_index("response_id")
    assert stored.loc["H1", "comment"] == giant.strip() and stored.loc["H2", "nps"] == 10


def test_duplicated_response_ids_across_files(ingested, tmp_path):
    root = _copy(ingested, tmp_path / "ws")
    (root / Q / "survey_a.csv").write_text(_survey_text([good_row("H1"), good_row("H2")]))
    (root / Q / "survey_b.csv").write_text(_survey_text([good_row("H1"),               # same
                                                         good_row("H2", Q1_recommend="0")]))
    result = ingest_cli(root)
    assert result.exit_code == 0
    rejects = [r for r in rejects_csv(root)[1:] if r[0] == f"{Q}/survey_b.csv"]
    assert [(r[1], r[2]) for r in rejects] == [("3", "ResponseId")]
    assert f"{Q}/survey_a.csv row 3" in rejects[0][4]
    stored = load_responses(load_workspace(root), Q).set_index("response_id")
    assert stored.loc["H2", "nps"] == 10 and stored.loc["H2", "source_file"] == f"{Q}/survey_a.csv"


def test_the_command_line_itself_prints_no_traceback(ingested, tmp_path):
    """The real command (a subprocess, not click's runner) on an empty file."""
    root = _copy(ingested, tmp_path / "ws")
    before = store_hash(root)
    (root / Q / "survey_empty.csv").write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "vipquality.cli", "ingest", "--workspace",
                           str(root), "-q", Q], capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and f"{Q}/survey_empty.csv: the file is empty" in line
    assert store_hash(root) == before


# --------------------------------------------------------------------------------------------
# CSV outputs of the report


@settings(max_examples=25, deadline=None)
@given(cells=st.lists(st.text(min_size=0, max_size=12), min_size=1, max_size=6),
       numbers=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=6))
def test_report_csvs_never_start_a_text_cell_with_a_formula(tmp_path_factory, cells, numbers):
    from vipquality._files import safe_csv

    cells = cells + ['=HYPERLINK("http://evil.example","x")', "+1", "-x", "@A1", "\tx"]
    frame = pd.DataFrame({"branch": cells})
    frame["value"] = (numbers * len(cells))[:len(cells)]
    path = safe_csv(frame, tmp_path_factory.mktemp("csv") / "t.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        records = list(csv.reader(fh))
    assert len(records) == len(cells) + 1
    for record, original in zip(records[1:], cells):
        assert not record[0].startswith(FORMULA_START), record
        original = original.replace("\r\n", "\n").replace("\r", "\n")   # one row per row
        assert record[0] in (original, "'" + original), (record, original)
    # numbers stay numbers (a negative value is not text)
    assert [float(r[1]) for r in records[1:]] == pytest.approx(frame["value"].tolist())


# --------------------------------------------------------------------------------------------
# configuration, before any data is read


def _edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert old in text, (name, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


CONFIG = {
    # name: (file, old, new, fragments of the message: file, key, what was expected)
    "instrument scale": ("instrument.yaml", "scale: [0, 10]", "scale: [0, ten]",
                         ["instrument.yaml", "nps.scale"]),
    "instrument match_columns_by": ("instrument.yaml", "match_columns_by: name",
                                    "match_columns_by: colour",
                                    ["instrument.yaml", "match_columns_by", "name"]),
    "instrument missing response_id": ("instrument.yaml", "  response_id: ResponseId\n", "",
                                       ["instrument.yaml", "response_id"]),
    "segments unknown operator": ("segments.yaml", "rule: {field: tier, eq: Premium}",
                                  "rule: {field: tier, equals: Premium}",
                                  ["segments.yaml", "segments[0]", "equals"]),
    "segments unknown field": ("segments.yaml", "rule: {field: tier, eq: Luxury}",
                               "rule: {field: tierr, eq: Luxury}",
                               ["segments.yaml", "segments[1]", "tierr"]),
    "standards weight": ("standards.yaml", "weight: 2}", "weight: heavy}",
                         ["standards.yaml", "standards[0]", "weight", "heavy"]),
    "standards target": ("standards.yaml", "targets: {default: 90, private: 95}",
                         "targets: {default: 190, private: 95}",
                         ["standards.yaml", "standards[0]", "targets", "190"]),
    "yaml syntax": ("segments.yaml", "universe:", "universe: [",
                    ["segments.yaml", "line"]),
    "workspace threshold": ("workspace.yaml", "base_suppress: 30", "base_suppress: thirty",
                            ["workspace.yaml", "reporting.base_suppress", "thirty"]),
}


@pytest.fixture
def reads(monkeypatch):
    """Records every import that reads quarter files (``ingest._run``, whose first step reads
    them; ``vipquality report`` imports through it too) and lets it go ahead."""
    import vipquality.data.ingest as ingest

    calls: list[str] = []
    real = ingest._run

    def spy(workspace, quarter, plan, *args, **kwargs):
        calls.extend(str(p) for paths in plan.values() for p in paths)
        return real(workspace, quarter, plan, *args, **kwargs)

    monkeypatch.setattr(ingest, "_run", spy)
    import vipquality.data.ingest.refresh as refresh
    import vipquality.report.data as reportdata

    # the report's reads of the store (build_report imports them from these modules when it runs)
    for module, name in ((refresh, "ensure_store"), (reportdata, "compute_report_data")):
        real_fn = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _f=real_fn, _n=name, **k: (
            calls.append(_n), _f(*a, **k))[1])
    return calls


def test_the_read_spy_sees_data_reads(ingested, tmp_path, reads):
    """Control for the test below: with a good configuration the quarter files are read."""
    root = _copy(ingested, tmp_path / "ws")
    assert ingest_cli(root).exit_code == 0
    assert any(p.endswith("survey.csv") for p in reads)


@pytest.mark.parametrize("case", sorted(CONFIG))
def test_a_malformed_configuration_is_reported_before_any_data_is_read(ingested, tmp_path, reads,
                                                                       case):
    name, old, new, fragments = CONFIG[case]
    root = _copy(ingested, tmp_path / "ws")
    _edit(root, name, old, new)
    before = store_hash(root)
    with pytest.raises(ConfigError) as err:
        load_workspace(root)
    assert err.value.file.endswith(name)
    result = ingest_cli(root)
    message = assert_whole_file_error(result, *fragments)
    assert len(message.strip().splitlines()) == 1, message
    assert reads == [], "data was read before the configuration was checked"
    assert store_hash(root) == before
    result = CliRunner().invoke(main, ["report", "--workspace", str(root), "--out",
                                       str(tmp_path / "reports"), "--no-progress"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert reads == [] and not (tmp_path / "reports").exists()
