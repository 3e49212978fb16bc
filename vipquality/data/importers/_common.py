"""What every importer shares: reading a file into text records, the column model, the report,
time stamps, text clean-up and the mapping onto an instrument.

A family module (``_qualtrics``, ``_surveymonkey``, ``_limesurvey``, ``_forms``) turns a
:class:`Sheet` (the file's records as text, with their line numbers) into a :class:`Draft`: one
:class:`Col` per output column, the data rows' line numbers, and what it ignored, coerced and
noticed. :func:`finish` then blanks spreadsheet error cells, writes time stamps as ISO 8601,
maps the instrument and builds the :class:`ImportedSurvey`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from vipquality.data.readers import REJECT_COLUMNS, RawTable, cell_text, iso, sniff_delimiter
from vipquality.data.readers import decode as decode_bytes
from vipquality.data.readers import stated_encodings
from vipquality.errors import DataError, IngestError

#: Every format :func:`vipquality.data.importers.detect_format` can return.
FORMATS = ("qualtrics", "qualtrics-2016", "qualtrics-legacy", "surveymonkey", "limesurvey",
           "limesurvey-r", "google-forms", "microsoft-forms", "canonical")

#: Cell texts Excel (and spreadsheets saved from it) write for a formula error.
EXCEL_ERRORS = frozenset({"#DIV/0!", "#N/A", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!",
                          "#SPILL!", "#CALC!", "#GETTING_DATA"})


# ----------------------------------------------------------------------------------- the report
@dataclass(frozen=True)
class ImportReport:
    """What an importer recognised and did, so a quality manager can trust the mapping.

    Attributes
    ----------
    format : str
        One of :data:`FORMATS`.
    source_file : str
    rows : int
        Responses imported (after test responses were excluded).
    columns_mapped : dict of str to str
        Output column → where it came from in the file (header(s) and column number(s)).
    columns_ignored : dict of str to str
        File column (header and number) → why it is not imported (personal data, derived by the
        survey tool, empty).
    values_coerced : dict of str to int
        What was changed in the cells and how many cells (e.g. "'no basis to evaluate' code −1/−2
        → missing": 123).
    test_responses_excluded : int
        Test / preview responses left out (Qualtrics ``Status`` 1 or 2).
    instrument_mapping : dict of str to str
        Canonical field (``nps``, ``sat__competence``, …) → output column, when an instrument was
        given.
    unmatched : tuple of str
        Instrument fields with no column in the file (``"nps ('Q1_recommend', instrument.yaml:
        nps.column)"``).
    encoding : str or None
    notes : tuple of str
        Everything else worth knowing (time zone assumed, duplicate headers renamed, …).
    """

    format: str
    source_file: str
    rows: int
    columns_mapped: dict[str, str]
    columns_ignored: dict[str, str]
    values_coerced: dict[str, int]
    test_responses_excluded: int = 0
    instrument_mapping: dict[str, str] = field(default_factory=dict)
    unmatched: tuple[str, ...] = ()
    encoding: str | None = None
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        """A few lines of plain text for the command line or a notebook."""
        lines = [f"{self.source_file}: {self.format} export"
                 + (f" ({self.encoding})" if self.encoding else "")]
        lines.append(f"  rows: {self.rows} response(s)")
        if self.test_responses_excluded:
            lines.append(f"  test responses excluded: {self.test_responses_excluded} "
                         "(keep them with keep_test_responses=True / --keep-test-responses)")
        lines.append(f"  columns: {len(self.columns_mapped)} imported, "
                     f"{len(self.columns_ignored)} ignored")
        for col, why in self.columns_ignored.items():
            lines.append(f"    ignored {col}: {why}")
        if self.instrument_mapping:
            lines.append("  instrument mapping:")
            for name, col in self.instrument_mapping.items():
                lines.append(f"    {name} <- {col} ({self.columns_mapped.get(col, '')})")
        for u in self.unmatched:
            lines.append(f"  not found in the file: {u}")
        for what, n in self.values_coerced.items():
            lines.append(f"  values coerced: {n} × {what}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def warnings(self) -> list[str]:
        """The lines of :meth:`summary` worth repeating as ingest warnings."""
        out = [f"{self.source_file}: read as a {self.format} export ({self.rows} response(s), "
               f"{len(self.columns_mapped)} column(s) imported, {len(self.columns_ignored)} "
               "ignored)"]
        if self.test_responses_excluded:
            out.append(f"{self.source_file}: {self.test_responses_excluded} test/preview "
                       "response(s) excluded (--keep-test-responses keeps them)")
        out += [f"{self.source_file}: {n} × {what}" for what, n in self.values_coerced.items()]
        out += [f"{self.source_file}: {n}" for n in self.notes]
        return out


# ------------------------------------------------------------------------------- the result
@dataclass(frozen=True)
class ImportedSurvey:
    """One survey export, one row per response and one column per question.

    Attributes
    ----------
    data : DataFrame
        Text cells (a missing answer is ``""``), one column per output column (question ids such
        as ``Q1``, ``Q3_2``, metadata such as ``ResponseId``, ``StartDate``), plus
        ``source_file`` and ``source_row`` (the line of the file where the response starts): the
        layout of :class:`vipquality.data.ingest.RawTable`.
    questions : dict of str to str
        Column → question text (HTML removed; matrix rows as "question — row").
    value_labels : dict of str to dict
        Column → {code: label} when the export carried labels for codes (LimeSurvey R pair).
    mapping : dict of str to str
        Canonical field → column, when an instrument was given (also in the report).
    report : ImportReport
    positions : dict of str to int
        Column → its (first) 1-based column number in the file.
    path, sha256 : Path, str
        The file read (the data file of a LimeSurvey R pair) and the fingerprint of its bytes.
    ragged : DataFrame
        Records that could not be split into the header's fields (reject rows).
    match_columns_by, refs
        The instrument's matching mode and each mapped field's reference (for
        :meth:`raw_table`).
    """

    data: pd.DataFrame
    questions: dict[str, str]
    value_labels: dict[str, dict[str, str]]
    mapping: dict[str, str]
    report: ImportReport
    positions: dict[str, int]
    path: Path
    sha256: str
    ragged: pd.DataFrame
    match_columns_by: str | None = None
    refs: dict[str, str] = field(default_factory=dict)

    @property
    def format(self) -> str:
        return self.report.format

    @property
    def columns(self) -> tuple[str, ...]:
        """Output columns in order (``source_file``/``source_row`` excluded)."""
        return tuple(c for c in self.data.columns if c not in ("source_file", "source_row"))

    def raw_table(self, source_file: str | None = None) -> RawTable:
        """The responses as a :class:`~vipquality.data.ingest.RawTable` ready for validation.

        Columns mapped to the instrument are named (``name``/``text``) or placed (``position``)
        the way the instrument refers to them, so :func:`vipquality.data.ingest.ingest_quarter`'s
        checks find them; the other columns keep their ids.
        """
        name = source_file or self.report.source_file
        data = self.data.copy()
        data["source_file"] = pd.array([name] * len(data), dtype="str")
        cols = list(self.columns)
        by_col = {c: f for f, c in self.mapping.items()}
        if self.match_columns_by == "position":
            order = _arrange(cols, {c: int(self.refs[f]) for c, f in by_col.items()})
            for c in order:
                if c not in data.columns:
                    data[c] = pd.array([""] * len(data), dtype="str")
            data = data[[*order, "source_file", "source_row"]]
            columns = tuple(order)
        else:
            renames: dict[str, str] = {}
            taken = {_norm(self.refs[f]) for f in self.mapping}
            for c in cols:
                if c in by_col:
                    renames[c] = self.refs[by_col[c]]
                elif _norm(c) in taken:  # an unmapped column would shadow a mapped reference
                    renames[c] = f"{c} (not mapped)"
            data = data.rename(columns=renames)
            columns = tuple(renames.get(c, c) for c in cols)
        ragged = self.ragged.copy()
        if len(ragged):
            ragged["file"] = name
        return RawTable(name, self.path, columns, data.reset_index(drop=True), ragged,
                        self.sha256, self.report.encoding, None, None,
                        tuple(self.report.warnings()))


def _arrange(cols: list[str], at: dict[str, int]) -> list[str]:
    """Column order placing each mapped column at its 1-based position, others in order."""
    width = max([len(cols), *at.values()]) if at else len(cols)
    slots: list[str | None] = [None] * width
    for c, pos in at.items():
        slots[pos - 1] = c
    rest = iter([c for c in cols if c not in at])
    out = []
    for i, s in enumerate(slots):
        out.append(s if s is not None else next(rest, f"(empty {i + 1})"))
    out += list(rest)
    return out


# ----------------------------------------------------------------------------- reading a file
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")

@dataclass
class Sheet:
    """A file's records as text: ``rows[i]`` starts on line (or sheet row) ``lines[i]``.

    Records that are entirely blank are skipped (counted in ``blank_records``); a CSV record
    whose field count differs from the first record's is set aside in ``ragged``.
    """

    rows: list[list[str]]
    lines: list[int]
    source_file: str
    path: Path
    sha256: str
    encoding: str | None = None
    sheet: str | None = None
    kind: str = "csv"
    blank_records: int = 0
    ragged: list[tuple[int, int]] = field(default_factory=list)  # (line, number of fields)
    notes: list[str] = field(default_factory=list)
    first_text: str = ""  # the first few kB decoded (detection)


def read_bytes(path: Path, name: str) -> bytes:
    if not path.is_file():
        raise DataError("file not found", file=name)
    return path.read_bytes()


def _bad_utf8_lines(raw: bytes) -> list[int]:
    """1-based lines holding bytes that are not valid UTF-8."""
    lines: list[int] = []
    pos = 0
    while True:
        try:
            raw[pos:].decode("utf-8")
            return lines
        except UnicodeDecodeError as err:
            at = pos + err.start
            line = raw.count(b"\n", 0, at) + 1
            if not lines or lines[-1] != line:
                lines.append(line)
            pos = at + max(1, err.end - err.start)


def decode(raw: bytes, name: str) -> tuple[str, str, list[str]]:
    """Text, encoding and notes (non-UTF-8 bytes are reported with their lines)."""
    text, encoding = decode_bytes(raw, name)
    notes = []
    if not stated_encodings() and encoding in ("latin_1", "cp1251") and (
            encoding == "latin_1" or len(_CYRILLIC.findall(text)) < 3):
        # latin-1 reads cp1252's curly quotes as control characters, and a few stray bytes in
        # an otherwise English file are no reason for a Cyrillic code page
        try:
            text, encoding = raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    if encoding not in ("utf-8", "utf-8-sig", "utf-16"):
        bad = _bad_utf8_lines(raw)
        shown = ", ".join(map(str, bad[:5])) + (" …" if len(bad) > 5 else "")
        notes.append(f"not valid UTF-8 (bytes on line(s) {shown}): decoded as {encoding}")
    return text, encoding, notes


def read_sheet(path: Path, name: str, raw: bytes | None = None,
               limit: int | None = None) -> Sheet:
    """CSV/TSV/text or xlsx records as text (first sheet of a workbook); with ``limit``, only
    the first records (enough to detect the format)."""
    raw = read_bytes(path, name) if raw is None else raw
    digest = hashlib.sha256(raw).hexdigest()
    if raw.startswith(b"PK\x03\x04"):
        return _read_xlsx(raw, path, name, digest, limit)
    text, encoding, notes = decode(raw, name)
    if not text.strip():
        raise DataError("the file is empty (no header, no rows)", file=name)
    delim = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[list[str]] = []
    lines: list[int] = []
    ragged: list[tuple[int, int]] = []
    blank = 0
    width = None
    line = 0
    try:
        for rec in reader:
            start, line = line + 1, reader.line_num
            if not any(v.strip() for v in rec):
                if width is not None:
                    blank += 1
                continue
            if width is None:
                width = len(rec)
            elif len(rec) != width:
                if len(rec) > width and not any(v.strip() for v in rec[width:]):
                    rec = rec[:width]
                elif len(rec) < width and len(rows) < 3:
                    rec = rec + [""] * (width - len(rec))  # a short header row
                else:
                    ragged.append((start, len(rec)))
                    continue
            rows.append(rec)
            lines.append(start)
            if limit is not None and len(rows) >= limit:
                break
    except csv.Error as err:
        raise DataError(f"cannot split the file into fields ({err})", file=name,
                        row=reader.line_num) from None
    if delim != ",":
        notes.append(f"fields separated by {'tab' if delim == chr(9) else repr(delim)}")
    sheet = Sheet(rows, lines, name, path, digest, encoding, None, "csv", blank, ragged, notes,
                  text[:8192])
    return sheet


def _read_xlsx(raw: bytes, path: Path, name: str, digest: str, limit: int | None) -> Sheet:
    import warnings

    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "workbook contains no default style" and the like
            book = openpyxl.load_workbook(io.BytesIO(raw), data_only=True, read_only=True)
    except Exception as err:  # openpyxl raises many types for a damaged or foreign file
        raise DataError(f"cannot open as an Excel workbook ({type(err).__name__}: {err})",
                        file=name) from None
    ws = book.worksheets[0]
    rows: list[list[str]] = []
    lines: list[int] = []
    blank = 0
    for i, values in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = [cell_text(v) for v in values]
        if not any(c.strip() for c in cells):
            if rows:
                blank += 1
            continue
        rows.append(cells)
        lines.append(i)
        if limit is not None and len(rows) >= limit:
            break
    book.close()
    if not rows:
        raise DataError("the sheet is empty (no header, no rows)", file=f"{name} [{ws.title}]")
    # the last column holding anything (formatted-but-empty columns at the right are dropped)
    width = max(max((i for i, c in enumerate(r) if c.strip()), default=0) + 1 for r in rows)
    rows = [(r + [""] * (width - len(r)))[:width] for r in rows]
    notes = [f"sheet {ws.title!r} of the workbook"] if len(book.sheetnames) > 1 else []
    return Sheet(rows, lines, name, path, digest, None, ws.title, "xlsx", blank, [], notes, "")


# ------------------------------------------------------------------------------- the columns
@dataclass
class Col:
    """One output column: its id, question text, values (one per data row), where it came from
    (header(s), 1-based column numbers) and what it is (``question``, ``meta``, ``time``)."""

    id: str
    text: str
    values: list[str]
    sources: tuple[str, ...]
    positions: tuple[int, ...]
    kind: str = "question"
    role: str | None = None  # response_id | submitted_at | started_at | status
    tz: str | None = None    # time zone the file records for a time column


@dataclass
class Draft:
    """What a family importer read, before the common finishing steps."""

    format: str
    cols: list[Col]
    lines: list[int]
    ignored: dict[str, str] = field(default_factory=dict)
    coerced: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    test_excluded: int = 0
    ragged: list[tuple[int, int]] = field(default_factory=list)


def where(header: str, position: int) -> str:
    """How a file column is named in the report: ``'Email' (column 4)``."""
    shown = header if len(header) <= 60 else header[:57] + "..."
    return f"{shown!r} (column {position})" if header else f"column {position} (no header)"


def unique_ids(cols: list[Col], notes: list[str]) -> None:
    """Make ids unique (``name``, ``name.2``, ``name.3`` …), noting what was renamed."""
    seen: Counter = Counter(c.id for c in cols)
    dup = {k for k, v in seen.items() if v > 1}
    if not dup:
        return
    used = set(seen)
    count: Counter = Counter()
    renamed = []
    for c in cols:
        if c.id in dup:
            count[c.id] += 1
            if count[c.id] > 1:
                k = count[c.id]
                new = f"{c.id}.{k}"
                while new in used:
                    k += 1
                    new = f"{c.id}.{k}"
                used.add(new)
                renamed.append(f"{c.id!r} (column {c.positions[0]}) → {new!r}")
                c.id = new
    notes.append(f"{len(dup)} header(s) repeated in the file ({', '.join(sorted(dup)[:6])}"
                 f"{' …' if len(dup) > 6 else ''}); later copies renamed: "
                 + "; ".join(renamed[:6]) + (" …" if len(renamed) > 6 else ""))


# ------------------------------------------------------------------------------------ text
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                         "\u2032": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
                         "\u201f": '"', "\u2033": '"', "\u2013": "-", "\u2014": "-",
                         "\u2212": "-", "\u2012": "-", "\u00a0": " "})


def has_html(text: str) -> bool:
    return bool(_TAG.search(text)) or ("&" in text and html.unescape(text) != text)


def strip_html(text: str) -> str:
    """Tags removed (``<br>`` → space), entities decoded, runs of spaces collapsed."""
    if "<" not in text and "&" not in text:
        return " ".join(text.split())
    text = _TAG.sub("", _BR.sub(" ", text))
    return " ".join(html.unescape(text).split())


def _norm(text: str) -> str:
    """Text as compared when matching: HTML, curly quotes, dashes, case and spacing ignored."""
    text = unicodedata.normalize("NFKC", strip_html(str(text))).translate(_QUOTES)
    return " ".join(text.split()).casefold()


norm = _norm


def slug(text: str) -> str:
    """A header as an id: ``'Start time'`` → ``'StartTime'``."""
    words = re.findall(r"[^\W_]+", text)
    return "".join(w[:1].upper() + w[1:] for w in words) or "column"


# ------------------------------------------------------------------------------- time stamps
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?"
                     r"\s*(Z|[+-]\d{2}:?\d{2})?$")
_SLASH_RE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})(?:[ T,]+(\d{1,2}):(\d{2})"
                       r"(?::(\d{2})(\.\d+)?)?\s*([AaPp][Mm])?)?$")


def zone(name: str | None) -> dt.tzinfo | None:
    if not name:
        return None
    if name in ("Z", "UTC", "GMT"):
        return dt.timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass
class TimeResult:
    values: list[str]
    parsed: int = 0
    unparsed: list[tuple[int, str]] = field(default_factory=list)  # (index, text)
    order: str = "iso"       # iso | mdy | dmy
    ambiguous: bool = False  # day/month order could not be told from the data
    no_seconds: bool = False
    had_offset: bool = False


def normalise_times(values: list[str], file_tz: str | None, target_tz: str | None,
                    order: str | None = None) -> TimeResult:
    """Write every time stamp of a column as ISO 8601.

    ISO stamps, ``M/D/YYYY H:MM[:SS]`` and ``D/M/YYYY`` (two-digit years too) are understood;
    the day/month order is the one the column's values allow (month/day, the US default of the
    survey tools, when every value fits both). A stamp with no offset is in ``file_tz`` when
    the export records one, else in ``target_tz`` (the workspace's); with a known zone the
    result carries its offset, converted to ``target_tz`` when given.
    """
    src = zone(file_tz) or zone(target_tz)
    dst = zone(target_tz)
    res = TimeResult(list(values))
    slash = [(_SLASH_RE.match(v.strip()), i) for i, v in enumerate(values) if v.strip()]
    if order is None:
        firsts = [int(m[1]) for m, _ in slash if m]
        seconds = [int(m[2]) for m, _ in slash if m]
        if any(f > 12 for f in firsts) and not any(s > 12 for s in seconds):
            order = "dmy"
        else:
            order = "mdy"
            res.ambiguous = bool(firsts) and not any(s > 12 for s in seconds)
    has_slash = any(m for m, _ in slash)
    res.order = order if has_slash else "iso"
    seconds_seen = False
    for i, v in enumerate(values):
        s = v.strip()
        if not s:
            res.values[i] = ""
            continue
        ts = None
        offset = None
        m = _ISO_RE.match(s)
        if m:
            y, mo, d, h, mi, sec, frac, offset = m.groups()
            seconds_seen |= sec is not None or h is None
            try:
                ts = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0),
                                 int(round(float(frac) * 1e6)) if frac else 0)
            except ValueError:
                ts = None
        else:
            m = _SLASH_RE.match(s)
            if m:
                a, b, y, h, mi, sec, frac, ampm = m.groups()
                month, day = (int(a), int(b)) if order == "mdy" else (int(b), int(a))
                year = int(y) + (2000 if int(y) < 69 else 1900) if len(y) == 2 else int(y)
                hour = int(h or 0)
                if ampm:
                    hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
                seconds_seen |= sec is not None or h is None
                try:
                    ts = dt.datetime(year, month, day, hour, int(mi or 0), int(sec or 0),
                                     int(round(float(frac) * 1e6)) if frac else 0)
                except ValueError:
                    ts = None
        if ts is None:
            res.unparsed.append((i, v))
            continue
        res.parsed += 1
        if offset:
            res.had_offset = True
            sign = 1 if offset[0] == "+" else -1
            digits = offset[1:].replace(":", "") if offset != "Z" else "0000"
            tz: dt.tzinfo = dt.timezone.utc if offset == "Z" else dt.timezone(
                sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
            ts = ts.replace(tzinfo=tz)
        elif src is not None:
            ts = ts.replace(tzinfo=src)
        if ts.tzinfo is not None and dst is not None:
            ts = ts.astimezone(dst)
        res.values[i] = iso(ts)
    res.no_seconds = res.parsed > 0 and not seconds_seen
    return res


# ----------------------------------------------------------------------------------- finishing
def _fields(instrument):
    from vipquality.data.schema import fields_for

    return fields_for("responses", SimpleNamespace(instrument=instrument))


def _describe(col: Col) -> str:
    src = " + ".join(repr(s[:50] + ("..." if len(s) > 50 else "")) for s in col.sources[:3])
    more = f" + {len(col.sources) - 3} more" if len(col.sources) > 3 else ""
    pos = col.positions
    if not pos:
        return f"made by the importer from {src}"
    cols = f"column {pos[0]}" if len(pos) == 1 else f"columns {pos[0]}–{pos[-1]}"
    return f"{src}{more} ({cols})"


def _match(cols: list[Col], ignored_at: dict[int, str], instrument, mode: str, file: str,
           notes: list[str]) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """canonical field → column id, field → reference, unmatched descriptions."""
    mapping: dict[str, str] = {}
    refs: dict[str, str] = {}
    unmatched: list[str] = []
    by_role = {c.role: c for c in cols if c.role}
    for f in _fields(instrument):
        refs[f.name] = str(f.ref)
        hit: Col | None = None
        if mode == "position":
            pos = int(f.ref) if f.ref and str(f.ref).strip().isdigit() else 0
            hit = next((c for c in cols if c.positions and c.positions[0] == pos), None)
            if hit is None and pos in ignored_at:
                raise IngestError(
                    f"{file}: {f.key} is column {pos}, which the importer does not import "
                    f"({ignored_at[pos]}). Point {f.key} at the column that holds the "
                    f"{f.name} answers.")
        else:
            if mode == "text" and f.text:
                want = _norm(f.text)
                found = [c for c in cols if c.kind == "question" and _norm(c.text) == want]
                if not found:
                    found = [c for c in cols if any(_norm(s) == want for s in c.sources)]
                if len(found) > 1:
                    shown = "; ".join(f"{c.id} ({_describe(c)})" for c in found[:4])
                    raise IngestError(
                        f"{file}: the question text of {f.key.replace('.column', '.text')} "
                        f"({f.text!r}) matches {len(found)} columns: {shown}. The instrument "
                        "cannot tell which one is meant: make the text unique (a matrix row is "
                        "matched as 'question — row'), or set match_columns_by: name and put "
                        f"the id of the right column ({' or '.join(c.id for c in found[:4])}) "
                        f"in {f.key}.")
                hit = found[0] if found else None
            if hit is None and f.ref:
                exact = [c for c in cols if c.id == f.ref or f.ref in c.sources[:1]]
                found = exact or [c for c in cols if _norm(c.id) == _norm(f.ref)
                                  or any(_norm(s) == _norm(f.ref) for s in c.sources[:1])]
                if len(found) > 1:
                    shown = "; ".join(f"{c.id} ({_describe(c)})" for c in found[:4])
                    raise IngestError(
                        f"{file}: {f.key} ({f.ref!r}) matches {len(found)} columns: {shown} "
                        f"(the header is repeated). Put the id of the one you mean "
                        f"({' or '.join(c.id for c in found[:4])}) in {f.key}, or set "
                        "match_columns_by: position and give its column number.")
                hit = found[0] if found else None
            if hit is None and f.name in ("response_id", "submitted_at") and f.name in by_role:
                hit = by_role[f.name]
                notes.append(f"{f.key} {f.ref!r} is not a column of this export: its "
                             f"{f.name.replace('_', ' ')} column {hit.id!r} is used instead")
        if hit is None:
            ref = f"column {f.ref}" if mode == "position" else repr(f.ref)
            unmatched.append(f"{f.name} ({ref}, {f.key})")
            continue
        other = next((k for k, v in mapping.items() if v == hit.id), None)
        if other is not None:
            raise IngestError(
                f"{file}: {other} and {f.name} both match column {hit.id} ({_describe(hit)}); "
                f"each instrument item needs its own column: correct {f.key}")
        mapping[f.name] = hit.id
    return mapping, refs, unmatched


def finish(draft: Draft, sheet_like, *, instrument=None, timezone: str | None = None,
           path: Path, sha256: str, encoding: str | None, source_file: str,
           extra_notes: list[str] = ()) -> ImportedSurvey:
    """Error cells, time stamps, ids, instrument mapping: the :class:`ImportedSurvey`."""
    notes = list(extra_notes) + list(draft.notes)
    coerced = Counter(draft.coerced)
    cols = draft.cols
    n = len(draft.lines)

    # spreadsheet error cells (#DIV/0! …) are reported and become missing
    errors: list[str] = []
    for c in cols:
        for i, v in enumerate(c.values):
            if v.strip() in EXCEL_ERRORS:
                errors.append(f"{c.id} line {draft.lines[i]} ({v.strip()})")
                c.values[i] = ""
    if errors:
        coerced["spreadsheet error cell (#DIV/0! …) → missing"] += len(errors)
        notes.append(f"{len(errors)} spreadsheet error cell(s) blanked: " + ", ".join(errors[:8])
                     + (" …" if len(errors) > 8 else ""))

    # time stamps
    tz_noted = False
    for c in cols:
        if c.kind != "time":
            continue
        res = normalise_times(c.values, c.tz, timezone)
        changed = sum(1 for a, b in zip(c.values, res.values) if a.strip() != b)
        c.values = res.values
        if changed:
            coerced["time stamp written as ISO 8601"] += changed
        if res.unparsed:
            shown = ", ".join(f"line {draft.lines[i]} {v!r}" for i, v in res.unparsed[:3])
            notes.append(f"{c.id}: {len(res.unparsed)} value(s) are not dates and were kept as "
                         f"they are ({shown})")
        if res.ambiguous and res.order == "mdy":
            notes.append(f"{c.id}: day and month cannot be told apart (every value fits both): "
                         "read as month/day (the US default of the survey tools)")
        elif res.order == "dmy":
            notes.append(f"{c.id}: dates read as day/month/year")
        if res.no_seconds:
            notes.append(f"{c.id}: times carry minutes only (no seconds): seconds set to 00")
        if not tz_noted and res.parsed and not res.had_offset:
            if c.tz:
                notes.append(f"time zone recorded by the export: {c.tz}"
                             + (f" (converted to {timezone})" if timezone else ""))
            elif timezone:
                notes.append(f"the export records no time zone: times read as {timezone} "
                             "(the workspace's)")
            else:
                notes.append("the export records no time zone and none was given: times kept "
                             "as local times without an offset")
            tz_noted = True

    unique_ids(cols, notes)
    mode = getattr(instrument, "match_columns_by", None) if instrument is not None else None
    mapping: dict[str, str] = {}
    refs: dict[str, str] = {}
    unmatched: list[str] = []
    if instrument is not None:
        ignored_at = {}
        for k, why in draft.ignored.items():
            m = re.search(r"\(column (\d+)\)$", k) or re.search(r"^column (\d+)", k)
            if m:
                ignored_at[int(m[1])] = f"{k}: {why}"
        mapping, refs, unmatched = _match(cols, ignored_at, instrument, mode, source_file, notes)

    data = {c.id: pd.array(c.values, dtype="str") for c in cols}
    data["source_file"] = pd.array([source_file] * n, dtype="str")
    data["source_row"] = pd.array(draft.lines, dtype="int64")
    frame = pd.DataFrame(data, index=pd.RangeIndex(n))
    if draft.ragged:
        notes.append(f"{len(draft.ragged)} record(s) with the wrong number of fields not "
                     f"imported (lines {', '.join(str(r[0]) for r in draft.ragged[:5])})")
    ragged = pd.DataFrame(
        [(source_file, line, "", f"{k} fields",
          f"row has {k} fields, not as many as the header: not imported (check quoting)")
         for line, k in draft.ragged], columns=REJECT_COLUMNS).astype(
        {"file": "str", "row": "int64", "column": "str", "value": "str", "reason": "str"})

    report = ImportReport(
        format=draft.format, source_file=source_file, rows=n,
        columns_mapped={c.id: _describe(c) for c in cols},
        columns_ignored=dict(draft.ignored), values_coerced=dict(coerced),
        test_responses_excluded=draft.test_excluded, instrument_mapping=dict(mapping),
        unmatched=tuple(unmatched), encoding=encoding, notes=tuple(dict.fromkeys(notes)))
    return ImportedSurvey(
        data=frame, questions={c.id: c.text for c in cols if c.kind == "question"},
        value_labels=dict(draft.value_labels), mapping=mapping, report=report,
        positions={c.id: c.positions[0] for c in cols if c.positions}, path=path,
        sha256=sha256, ragged=ragged, match_columns_by=mode, refs=refs)
