"""Reading one raw export (CSV, Excel or Parquet) into strings, nothing coerced.

Every cell comes back as text exactly as the file holds it (a missing cell is ``""``; an Excel
cell as a CSV export of the sheet would hold it, :func:`cell_text`), so that the validation step
sees what the user typed and can report it. Each row keeps the place it came from:
``source_row`` is the 1-based line of the file, counting the header as line 1 (for Excel, the sheet
row; for Parquet, the record number + 1 so that the first record is row 2 as in a CSV).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from vipquality.errors import DataError

__all__ = ["RawTable", "read_table", "REJECT_COLUMNS", "CsvStream", "open_csv_stream",
           "NeedsExactRead", "DEFAULT_BLOCK_ROWS", "cell_text", "iso", "decode",
           "legacy_encodings", "stated_encodings", "LEGACY_ENCODINGS", "visible", "alphabet_of",
           "masked_shape"]

#: Columns of every reject table (and of ``store/rejects/<quarter>.csv``).
REJECT_COLUMNS = ["file", "row", "column", "value", "reason"]

_DELIMITERS = (",", ";", "\t")
# A giant free-text comment (a pasted letter) is a value, not a broken file: the csv module's
# default field limit (128 KiB) would stop the whole import at it. Process-wide, and only raised.
_FIELD_LIMIT = 64 * 2**20
if csv.field_size_limit() < _FIELD_LIMIT:
    csv.field_size_limit(_FIELD_LIMIT)
_SNIFF_RECORDS = 50
#: Tried in this order when the bytes are not UTF-8 and the workspace names no ``encodings``:
#: words each decoding makes implausible rule out most, charset-normalizer chooses among the rest,
#: and the last one (latin-1) decodes anything, so reading never fails on an unusual byte. A
#: Greek and a Cyrillic reading that both stay plausible are not guessed between (see decode).
LEGACY_ENCODINGS = ("cp1251", "cp1253", "cp1252", "latin_1")
# The legacy code pages a workspace states (workspace.yaml ``encodings``), for the files one
# ingest reads. A context variable rather than a parameter: the survey importers reach decode()
# through several readers of their own, and the hint concerns them all alike.
_STATED: ContextVar[tuple[str, ...] | None] = ContextVar("vipquality_encodings", default=None)
# The one alphabet (Greek or Cyrillic) of the CRM extract's names, when it has only one: it breaks
# a tie between a Greek and a Cyrillic reading (a Greek bank's survey is not refused for it).
_ALPHABET: ContextVar[str | None] = ContextVar("vipquality_alphabet", default=None)
_SCRIPT = {"cp1251": "Cyrillic", "koi8_r": "Cyrillic", "iso8859_5": "Cyrillic",
           "cp1253": "Greek", "iso8859_7": "Greek"}
_GREEK = re.compile(r"[\u0370-\u03ff]")
_NON_ASCII_LETTER = re.compile(r"[^\W\d_A-Za-z]")
_ALPHABET_EVIDENCE = 3  # letters outside ASCII before a Greek/Cyrillic tie is refused
# cp1253 letters at the byte values of frequent Russian letters (а → ΰ, А → ΐ): in Greek
# text they are rare, in a Cyrillic file read as Greek they are everywhere
_CP1253_RARE = re.compile("[\u03b0\u0390]")
# a final sigma inside a word (Russian "т" read as cp1253 is "ς"), and the vowels of each
# alphabet: a word of four letters or more without one is not Greek, or not Russian
_SIGMA_INSIDE = re.compile(r"\u03c2[^\W\d_]")
_GREEK_VOWEL = re.compile("[αεηιουωάέήίόύώϊϋΐΰΑΕΗΙΟΥΩΆΈΉΊΌΎΏΪΫ]")
_CYRILLIC_VOWEL = re.compile("[аеёиоуыэюяАЕЁИОУЫЭЮЯіїєІЇЄ]")
# a lowercase letter followed by a capital in one word ("бсгЮ": Greek ή read as cp1251)
_CASE_FLIP = re.compile(r"[^\W\d_A-Z]*[a-z\u00df-\u00ff\u0430-\u045f\u03ac-\u03ce][A-Z\u00c0-\u00de"
                        r"\u0400-\u042f\u0386-\u03ab]")
_RESERVED = ("source_file", "source_row")
_WORD = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_LATIN1_LETTERS = re.compile(r"^[\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff]+$")
_LATIN1_WORDS = {"à", "è", "é", "ì", "í", "ò", "ó", "ù", "ú"}  # real one-letter words
# cp1251 letters at the byte values where cp1252 has € ‚ „ … ‰ Š ‹ Œ “ ” – — ™ and the like
# (Serbian, Macedonian, Belarusian letters): in Russian-language data they mean a misreading
_CP1251_RARE = re.compile("[\u0402\u0403\u0409\u040a\u040b\u040c\u040f\u0452\u0453\u0459"
                          "\u045a\u045b\u045c\u045f\u040e\u045e\u0408\u0458\u0405\u0455]")


@dataclass(frozen=True)
class RawTable:
    """One raw file read as text.

    Attributes
    ----------
    source_file : str
        How the file is named in the store and in rejects (relative to the workspace when known).
    path : Path
        Where it was read from.
    columns : tuple of str
        Header names in file order (whitespace trimmed).
    data : DataFrame
        One ``str`` column per header column (a missing cell is ``""``), plus ``source_file`` and
        ``source_row``; a fresh ``RangeIndex``.
    ragged : DataFrame
        Rows that could not be split into the header's columns (``file, row, column, value,
        reason``); they are counted as read and rejected, never dropped silently.
    sha256 : str
        Fingerprint of the file's bytes.
    encoding, delimiter, sheet : str or None
        What was detected or used (CSV encoding and delimiter; Excel sheet name).
    warnings : tuple of str
        Things worth telling the user that do not reject anything.
    """

    source_file: str
    path: Path
    columns: tuple[str, ...]
    data: pd.DataFrame
    ragged: pd.DataFrame
    sha256: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def n_read(self) -> int:
        """Data rows found in the file, ragged ones included."""
        return len(self.data) + len(self.ragged)


@contextmanager
def legacy_encodings(encodings: Sequence[str] | None,
                     alphabet: str | None = None) -> Iterator[None]:
    """Within the block, files that are not UTF-8 are decoded only with ``encodings`` (the
    legacy code pages a workspace's exports use, ``encodings`` in workspace.yaml), instead of the
    guesses of :data:`LEGACY_ENCODINGS`. ``None`` or empty: the guesses; when a Greek and a
    Cyrillic reading are equally plausible, ``alphabet`` (``"Greek"`` or ``"Cyrillic"``, the one
    alphabet of the CRM's names, :func:`alphabet_of`) chooses between them, never against a
    reading that is more plausible.

    >>> raw = "Πολύ αργή εξυπηρέτηση".encode("cp1253")
    >>> with legacy_encodings(["cp1253"]):
    ...     decode(raw, "t.csv")
    ('Πολύ αργή εξυπηρέτηση', 'cp1253')
    """
    names = tuple(codecs.lookup(e).name.replace("-", "_") for e in encodings or ()) or None
    token, hint = _STATED.set(names), _ALPHABET.set(alphabet)
    try:
        yield
    finally:
        _STATED.reset(token)
        _ALPHABET.reset(hint)


def alphabet_of(texts: Sequence[str]) -> str | None:
    """``"Greek"`` or ``"Cyrillic"`` when ``texts`` (the CRM's names) hold letters of that
    alphabet and none of the other; else ``None``.

    >>> alphabet_of(["Γεώργιος Παπαδόπουλος", "John Smith"]), alphabet_of(["Анна", "Ελένη"])
    ('Greek', None)
    """
    joined = " ".join(t for t in texts if isinstance(t, str))
    greek, cyrillic = bool(_GREEK.search(joined)), bool(_CYRILLIC.search(joined))
    if greek != cyrillic:
        return "Greek" if greek else "Cyrillic"
    return None


def visible(text: str) -> str:
    """``text`` with control and invisible format characters (line breaks, escape sequences,
    zero-width spaces, bidirectional overrides) written as escapes, for names shown in messages.

    >>> visible("survey\\nok: all good.csv"), visible("Response\\u200bId")
    ('survey\\\\nok: all good.csv', 'Response\\\\u200bId')
    """
    import unicodedata

    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or unicodedata.category(c) == "Zs"
                   else c.encode("unicode_escape").decode("ascii") for c in text)


def stated_encodings() -> tuple[str, ...]:
    """The code pages stated by the enclosing :func:`legacy_encodings` block (``()``: none)."""
    return _STATED.get() or ()


def read_table(path: str | Path, *, sheet: str | int | None = None,
               source_file: str | None = None, private: bool = False) -> RawTable:
    """Read a CSV, Excel (``.xlsx``/``.xlsm``) or Parquet file as text.

    Parameters
    ----------
    path : str or Path
        The file; its suffix selects the reader.
    sheet : str or int, optional
        Excel sheet name or 0-based position (default: the first sheet).
    source_file : str, optional
        Name recorded in ``source_file`` and in rejects (default: ``path`` as given).

    Raises
    ------
    DataError
        The file is empty, cannot be decoded or split, has an unusable header (blank, repeated,
        merged or multi-row), or is of an unsupported type.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_bytes("id;nps\\nR1;10 \\n".encode("cp1251"))
    >>> t = read_table(p, source_file="t.csv")
    >>> t.delimiter, t.data.loc[0, "nps"], int(t.data.loc[0, "source_row"])
    (';', '10 ', 2)
    """
    path = Path(path)
    name = source_file if source_file is not None else str(path)
    if not path.is_file():
        raise DataError("file not found", file=name)
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(raw, path, name, digest, private)
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(raw, path, name, digest, sheet, private)
    if suffix == ".parquet":
        return _read_parquet(raw, path, name, digest)
    raise DataError(f"unsupported file type {suffix or '(none)'!r}: expected .csv, .xlsx or "
                    ".parquet", file=name)


# --------------------------------------------------------------------------------------------- CSV
def decode(raw: bytes, name: str) -> tuple[str, str]:
    """Text and encoding: BOMs first, then strict UTF-8, then the legacy code pages.

    The code pages tried are those the workspace states (:func:`legacy_encodings`), else
    :data:`LEGACY_ENCODINGS`. Decodings that make words implausible are ruled out; among the
    rest charset-normalizer chooses, except between a Greek and a Cyrillic reading: the same
    bytes are letters in both (cp1251 reads Greek text as Cyrillic words without complaint), and a
    wrong guess garbles every comment and defeats the masking of names, so such a file is refused
    with a message naming both code pages and how to state the right one.

    >>> decode("Привет, как дела".encode("cp1251"), "t.csv")
    ('Привет, как дела', 'cp1251')
    >>> decode("Πολύ αργή εξυπηρέτηση".encode("cp1253"), "t.csv")
    ('Πολύ αργή εξυπηρέτηση', 'cp1253')
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as err:
            raise DataError(f"starts with a UTF-16 byte-order mark but is not UTF-16 ({err})",
                            file=name) from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    stated = _STATED.get()
    alphabet = _ALPHABET.get()
    candidates = stated or LEGACY_ENCODINGS
    decoded = []
    for enc in candidates:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        decoded.append((_implausible(text, enc), enc, text))
    if not decoded:
        raise DataError(f"is neither UTF-8 nor in the encoding(s) workspace.yaml states "
                        f"({', '.join(candidates)}): state the file's code page under "
                        "`encodings:` in workspace.yaml, or save it as UTF-8", file=name)
    fewest = min(score for score, _, _ in decoded)
    tied = [(enc, text) for score, enc, text in decoded if score == fewest]
    scripts = {_SCRIPT[enc]: (enc, text) for enc, text in tied if enc in _SCRIPT}
    if len(scripts) > 1 and alphabet in scripts:  # a tie: the CRM's one alphabet decides
        enc, text = scripts[alphabet]
        return text, enc
    # a stray byte or two in a Latin export (mojibake such as "statement:\xeb") is no evidence of
    # either alphabet: the order above decides, as it always did
    letters = len(_NON_ASCII_LETTER.findall(tied[0][1]))
    if len(scripts) > 1 and letters >= _ALPHABET_EVIDENCE and \
            len({text for _, text in scripts.values()}) > 1:
        both = " or ".join(f"{script} ({enc})" for script, (enc, _) in scripts.items())
        raise DataError(
            f"is not UTF-8 and reads as plausible text in two alphabets, {both}: vipquality "
            f"does not guess; state the code page in workspace.yaml (e.g. `encodings: "
            f"[{next(iter(scripts.values()))[0]}]`) or save the file as UTF-8. Nothing was imported",
            file=name)
    if len(tied) == 1:
        return tied[0][1], tied[0][0]
    from charset_normalizer import from_bytes

    best = from_bytes(raw, cp_isolation=[enc for enc, _ in tied]).best()
    for enc, text in tied:  # charset-normalizer decides a tie, else the order above
        if best is not None and best.encoding == enc:
            return text, enc
    return tied[0][1], tied[0][0]


def _implausible(text: str, encoding: str) -> int:
    """Words a legacy decoding makes implausible, a check on charset-normalizer for short files.

    Cyrillic read as cp1252 gives words made only of accented Latin letters ("Ïðèâåò"); Latin-1
    text read as cp1251 gives words mixing Latin and Cyrillic letters ("cafй"), and cp1252's €
    or „ read as cp1251 give rare letters ("Ђ100"). Greek read as cp1251 gives capitals inside
    lowercase words (the accented vowels: "αργή" → "бсгЮ") and words without a Russian vowel
    ("ΠΟΛΥ" → "РПЛХ"); Russian read as cp1253 gives the rare "ΰ" for every "а", a final sigma
    inside words for every "т" and words without a Greek vowel ("долго" → "δξλγξ"), and Latin
    text read as cp1253 mixes Latin and Greek letters ("cafι").
    """
    script = _SCRIPT.get(encoding)
    bad = len(_CP1251_RARE.findall(text)) if encoding == "cp1251" else 0
    if script == "Greek":
        bad += len(_CP1253_RARE.findall(text)) + len(_SIGMA_INSIDE.findall(text))
    for word in _WORD.findall(text):
        if script == "Cyrillic" and _CYRILLIC.search(word):
            bad += bool(_ASCII_LETTER.search(word))
            bad += bool(_CASE_FLIP.match(word))
            bad += len(word) >= 4 and not _CYRILLIC_VOWEL.search(word)
        elif script == "Greek" and _GREEK.search(word):
            bad += bool(_ASCII_LETTER.search(word))
            bad += bool(_CASE_FLIP.match(word))
            bad += len(word) >= 4 and not _GREEK_VOWEL.search(word)
        else:
            bad += bool(_LATIN1_LETTERS.match(word) and word.lower() not in _LATIN1_WORDS)
    return bad


def sniff_delimiter(text: str) -> str:
    """The candidate that splits the first records most consistently into the most columns."""
    best, best_score = ",", (-1.0, 0)
    for delim in _DELIMITERS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        records = []
        try:
            for rec in reader:
                if rec:
                    records.append(rec)
                if len(records) > _SNIFF_RECORDS:
                    break
        except csv.Error:
            continue
        if not records:
            continue
        width = len(records[0])
        if width < 2:
            continue
        body = records[1:] or records
        consistent = sum(len(r) == width for r in body) / len(body)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delim, score
    return best


def masked_shape(text: object) -> str:
    """A value's shape without its content, for messages about files that may hold personal
    data: each run of letters becomes ``a`` (``A`` when it starts upper case), each run of
    digits ``9``, other characters stay.

    >>> [masked_shape(v) for v in ("Ivan Petrov", "ivan.p@mail.ru", "+7 999 123-45-67")]
    ['A A', 'a.a@a.a', '+9 9 9-9-9']
    """
    out: list[str] = []
    for ch in str(text)[:200]:
        kind = ("A" if ch.isupper() else "a") if ch.isalpha() else "9" if ch.isdigit() else ch
        if out and kind in ("a", "9") and out[-1] in ("a", "A", "9") and \
                (kind == "9") == (out[-1] == "9"):
            continue  # the rest of a run of letters or digits
        out.append(kind)
    return "".join(out)


def _header(names: list[object], name: str, row: int,
            private: bool = False) -> tuple[str, ...]:
    """The header's column names, or a DataError naming what is wrong. ``private``: the file may
    hold personal data where its header should be (a CRM extract exported without it), so a
    repeated name is shown by position and masked shape, never by value."""
    cols = tuple("" if v is None else str(v).strip().lstrip("\ufeff") for v in names)
    blank = [i + 1 for i, c in enumerate(cols) if not c]
    if blank:
        raise DataError(f"header has blank column name(s) at position(s) {blank}; every column "
                        "needs a name (a merged or multi-row header is not supported: export one "
                        "header row)", file=name, row=row)
    seen: set[str] = set()
    dupes = sorted({c for c in cols if c in seen or seen.add(c)})
    if dupes:
        shown = dupes if not private else "; ".join(
            f"positions {[i + 1 for i, c in enumerate(cols) if c == d]} {masked_shape(d)!r}"
            for d in dupes)
        raise DataError(f"header repeats column name(s) {shown}; each column needs its own name",
                        file=name, row=row)
    reserved = [c for c in cols if c in _RESERVED]
    if reserved:
        raise DataError(f"column name(s) {reserved} are reserved for provenance; rename them",
                        file=name, row=row)
    return cols


def _ragged_frame(rows: list[tuple[str, int, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=REJECT_COLUMNS)
    return frame.astype({"file": "str", "row": "int64", "column": "str", "value": "str",
                         "reason": "str"})


def _frame(columns: tuple[str, ...], records: list[list[str]], rows: list[int],
           name: str) -> pd.DataFrame:
    data = {c: pd.array([rec[i] for rec in records], dtype="str") for i, c in enumerate(columns)}
    data["source_file"] = pd.array([name] * len(records), dtype="str")
    data["source_row"] = pd.array(rows, dtype="int64")
    return pd.DataFrame(data, index=pd.RangeIndex(len(records)))


def _read_csv(raw: bytes, path: Path, name: str, digest: str,
              private: bool = False) -> RawTable:
    text, encoding = decode(raw, name)
    if not text.strip():
        raise DataError("the file is empty (no header, no rows)", file=name)
    delim = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    columns: tuple[str, ...] | None = None
    records: list[list[str]] = []
    rows: list[int] = []
    ragged: list[tuple[str, int, str, str, str]] = []
    line = 0
    try:
        for rec in reader:
            start, line = line + 1, reader.line_num
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue  # blank line: nothing to import, line numbers stay true
            if columns is None:
                columns = _header(rec, name, start, private)
                width = len(columns)
                continue
            if len(rec) > width and not any(v.strip() for v in rec[width:]):
                rec = rec[:width]  # trailing empty fields (spreadsheet exports add them)
            if len(rec) != width:
                ragged.append((name, start, "", f"{len(rec)} fields",
                               f"row has {len(rec)} fields but the header has {width}: not "
                               f"imported (check quoting, or a {_show(delim)} inside an unquoted "
                               "value)"))
                continue
            records.append(rec)
            rows.append(start)
    except csv.Error as err:
        raise DataError(f"cannot split the file into fields ({err})", file=name,
                        row=reader.line_num) from None
    assert columns is not None  # text.strip() was not empty, so a header was found
    warnings = ()
    if not records and not ragged:
        warnings = (f"{name}: header only, no data rows",)
    return RawTable(name, path, columns, _frame(columns, records, rows, name),
                    _ragged_frame(ragged), digest, encoding=encoding, delimiter=delim,
                    warnings=warnings)


def _show(delim: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon"}[delim]


# ------------------------------------------------------------------------------------------- Excel
def iso(ts: dt.datetime | dt.time) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (a time alone: ``HH:MM:SS``), + milliseconds or microseconds when
    there are, + the offset of an aware time stamp.

    >>> iso(dt.datetime(2025, 8, 29, 17, 17, 56, 622000)), iso(dt.time(9, 5))
    ('2025-08-29 17:17:56.622', '09:05:00')
    """
    spec = "seconds" if not ts.microsecond else \
        "milliseconds" if ts.microsecond % 1000 == 0 else "microseconds"
    if isinstance(ts, dt.datetime):
        return ts.isoformat(sep=" ", timespec=spec)
    return ts.isoformat(timespec=spec)


def cell_text(value: object) -> str:
    """An Excel cell (as openpyxl reads it) as the text a CSV export of the sheet would hold:
    the one rule of the Excel reader here and of the survey importers.

    - booleans are ``TRUE`` / ``FALSE``: what Excel and Google Sheets write in a CSV export, so
      a sheet imports the same whether it is sent as .xlsx or as .csv (the ingest validators
      casefold a yes/no answer, so ``TRUE`` is read as ``true`` would be);
    - whole-number floats lose the ``.0`` (Excel stores every number as a float: 5 is shown
      and exported as ``5``); other floats are the shortest text that reads back the same;
    - a date and time is ISO 8601, ``YYYY-MM-DD HH:MM:SS`` with milliseconds (the most Excel
      shows) or microseconds only when there are; a time stamp at midnight is the date alone,
      as a date-formatted cell is exported (openpyxl reads a date cell as midnight). The
      validators read both forms (``_parse_datetimes``: ISO 8601, then ``DD.MM.YYYY``), and a
      date-only text in a time-stamp column is midnight there too;
    - dates and times alone are ISO 8601; an empty cell is ``""``.

    >>> [cell_text(v) for v in (True, 5.0, 0.25, None, dt.datetime(2026, 4, 3),
    ...                         dt.datetime(2026, 4, 3, 9, 30, 5, 250000))]
    ['TRUE', '5', '0.25', '', '2026-04-03', '2026-04-03 09:30:05.250']
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return iso(value)
    if isinstance(value, dt.time):
        return iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_excel(raw: bytes, path: Path, name: str, digest: str,
                sheet: str | int | None, private: bool = False) -> RawTable:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), data_only=True)
    except Exception as err:  # openpyxl raises many types for a damaged or foreign file
        raise DataError(f"cannot open as an Excel workbook ({type(err).__name__}: {err})",
                        file=name) from None
    if sheet is None:
        ws = book.worksheets[0]
        if len(book.worksheets) > 1:  # a cover page first, say: name the sheets and the fix
            try:
                return _read_sheet(ws, path, name, digest, private)
            except DataError as err:
                others = ", ".join(repr(t) for t in book.sheetnames[1:])
                raise DataError(
                    f"{err.problem} (read the first sheet, {ws.title!r}; the workbook also has "
                    f"{others}: name the sheet holding the data under `sheets:` in "
                    "workspace.yaml, e.g. `sheets: {survey: "
                    f"{book.sheetnames[1]!r}}}`)", file=err.file, row=err.row,
                    column=err.column) from None
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(book.worksheets):
            raise DataError(f"no sheet number {sheet}; the workbook has {len(book.worksheets)}",
                            file=name)
        ws = book.worksheets[sheet]
    elif sheet in book.sheetnames:
        ws = book[sheet]
    else:
        raise DataError(f"no sheet named {sheet!r}; sheets: {book.sheetnames}", file=name)
    return _read_sheet(ws, path, name, digest, private)


def _read_sheet(ws, path: Path, name: str, digest: str, private: bool = False) -> RawTable:
    from openpyxl.utils import get_column_letter

    where = f"{name} [{ws.title}]"
    rows_iter = ws.iter_rows(values_only=True)
    header_row, header = 0, None
    for i, values in enumerate(rows_iter, start=1):
        if any(v is not None and str(v).strip() for v in values):
            header_row, header = i, list(values)
            break
    if header is None:
        raise DataError("the sheet is empty (no header, no rows)", file=where)
    merged = [str(r) for r in ws.merged_cells.ranges if r.min_row <= header_row + 1]
    if merged:
        raise DataError(f"merged cells {merged} in or just below the header: export one header row "
                        "with one name per column (multi-row headers are not supported)",
                        file=where, row=header_row)
    while header and (header[-1] is None or not str(header[-1]).strip()):
        header.pop()  # trailing formatted-but-empty columns
    blank = [get_column_letter(i + 1) for i, v in enumerate(header)
             if v is None or not str(v).strip()]
    if blank:
        raise DataError(f"blank header cell(s) in column(s) {blank}: export one header row with "
                        "one name per column (multi-row or merged headers are not supported)",
                        file=where, row=header_row)
    columns = _header(header, where, header_row, private)
    width = len(columns)
    records: list[list[str]] = []
    rows: list[int] = []
    ragged: list[tuple[str, int, str, str, str]] = []
    for i, values in enumerate(rows_iter, start=header_row + 1):
        cells = [cell_text(v) for v in values]
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < width:
            cells += [""] * (width - len(cells))
        if any(c.strip() for c in cells[width:]):
            ragged.append((name, i, "", f"{len(cells)} cells",
                           f"row has values beyond the header's {width} columns: not imported"))
            continue
        records.append(cells[:width])
        rows.append(i)
    warnings = ()
    if not records and not ragged:
        warnings = (f"{name}: header only, no data rows",)
    return RawTable(name, path, columns, _frame(columns, records, rows, name),
                    _ragged_frame(ragged), digest, sheet=ws.title, warnings=warnings)


# ----------------------------------------------------------------------------------------- Parquet
def _read_parquet(raw: bytes, path: Path, name: str, digest: str) -> RawTable:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(raw))
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ...
        raise DataError(f"cannot read as Parquet ({type(err).__name__}: {err})",
                        file=name) from None
    columns = _header(list(table.column_names), name, 1)
    records_n = table.num_rows
    data: dict[str, object] = {}
    for col_name, col in zip(columns, table.columns):
        if pa.types.is_timestamp(col.type) and col.type.tz is not None:
            text = pc.cast(col, pa.string())  # ends in "Z": the parser reads it as UTC
        elif pa.types.is_dictionary(col.type):
            text = pc.cast(col.cast(col.type.value_type), pa.string())
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            text = col
        else:
            try:
                text = pc.cast(col, pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                text = pa.array([None if v is None else str(v) for v in col.to_pylist()],
                                pa.string())
        text = pc.fill_null(text, "")
        if pa.types.is_timestamp(col.type):
            text = pc.replace_substring_regex(text, r"\.0+(Z?)$", r"\1")  # drop zero microseconds
        data[col_name] = pd.array(text.to_pylist(), dtype="str")
    data["source_file"] = pd.array([name] * records_n, dtype="str")
    data["source_row"] = pd.array(range(2, records_n + 2), dtype="int64")
    if not columns:
        raise DataError("the file is empty (no columns)", file=name)
    frame = pd.DataFrame(data, index=pd.RangeIndex(records_n))
    warnings = (f"{name}: no data rows",) if records_n == 0 else ()
    return RawTable(name, path, columns, frame, _ragged_frame([]), digest, warnings=warnings)


# ------------------------------------------------------------------------------ CSV in blocks
#: Rows per block of a streamed CSV export (tests set it small to force many blocks).
DEFAULT_BLOCK_ROWS = 100_000
_PREPASS_BYTES = 8 * 2**20
#: Bytes per batch of Arrow's streaming CSV reader, which reads dozens of batches ahead: 4 MB
#: held ~160 MB of a large export in memory, 1 MB holds ~40 MB at the same speed (a record longer
#: than a batch is still read whole by Arrow).
_CSV_BLOCK_BYTES = 2**20
_SNIFF_BYTES = 2**20


class NeedsExactRead(Exception):
    """The block reader met something only the whole-file reader reproduces exactly (a ragged or
    blank line, a parse error): the import of ``path`` is to be redone with :func:`read_table`."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = Path(path)
        self.why = why


@dataclass(frozen=True)
class CsvStream:
    """A UTF-8 CSV export read block by block (see :func:`open_csv_stream`).

    ``columns``, ``source_file``, ``sha256``, ``encoding`` and ``delimiter`` are as in
    :class:`RawTable`; :meth:`blocks` yields the rows as :class:`RawTable` blocks of at most
    ``block_rows`` rows whose ``source_row`` is the true line of the file.
    """

    source_file: str
    path: Path
    columns: tuple[str, ...]
    sha256: str
    encoding: str
    delimiter: str
    lines: int
    block_rows: int = DEFAULT_BLOCK_ROWS
    warnings: tuple[str, ...] = field(default=())

    def blocks(self):
        """The data rows in blocks, in file order.

        Raises
        ------
        NeedsExactRead
            A row does not split into the header's fields, a line is blank, or the parser
            fails: the whole-file reader (:func:`read_table`) reproduces the csv module's rules
            for those (trailing empty fields, blank lines, ragged rows, error messages).
        """
        import pyarrow as pa
        import pyarrow.csv as pcsv

        invalid: list[str] = []

        def on_invalid(row) -> str:
            invalid.append(row.text)
            return "skip"

        names = [f"c{i}" for i in range(len(self.columns))]
        reader = pcsv.open_csv(
            self.path,
            read_options=pcsv.ReadOptions(skip_rows=1, column_names=names,
                                          block_size=_CSV_BLOCK_BYTES),
            parse_options=pcsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True,
                                            ignore_empty_lines=True,
                                            invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                strings_can_be_null=False,
                                                quoted_strings_can_be_null=False))
        next_line, pending, n_pending = 2, [], 0
        try:
            for batch in reader:
                if invalid:
                    raise NeedsExactRead(self.path, "a row does not split into the header's "
                                         "fields")
                pending.append(batch)
                n_pending += batch.num_rows
                while n_pending >= self.block_rows:
                    table = pa.Table.from_batches(pending)
                    block, rest = table.slice(0, self.block_rows), table.slice(self.block_rows)
                    pending, n_pending = rest.to_batches(), rest.num_rows
                    raw, next_line = self._block(block, next_line)
                    yield raw
        except (pa.ArrowInvalid, UnicodeDecodeError) as err:
            raise NeedsExactRead(self.path, f"the fast reader failed ({err})") from None
        if invalid:
            raise NeedsExactRead(self.path, "a row does not split into the header's fields")
        if n_pending:
            raw, next_line = self._block(pa.Table.from_batches(pending), next_line)
            yield raw
        if next_line - 1 != self.lines:  # the reader skipped blank lines: numbering is off
            raise NeedsExactRead(self.path, "blank lines")

    def _block(self, table, first_line: int) -> tuple[RawTable, int]:
        """One block as a RawTable, and the line the next block starts on. A record spans one
        line plus the line breaks inside its quoted values (``\\r\\n``, ``\\n`` or ``\\r``, as
        the csv module counts lines)."""
        import numpy as np
        import pyarrow.compute as pc

        n = table.num_rows
        spans = np.ones(n, dtype=np.int64)
        for col in table.columns:
            breaks = (pc.count_substring(col, "\n").to_numpy()
                      + pc.count_substring(col, "\r").to_numpy()
                      - pc.count_substring(col, "\r\n").to_numpy())
            spans += breaks
        starts = first_line + np.concatenate(([0], np.cumsum(spans)[:-1])) if n else spans
        data = {c: pd.array(col, dtype="str") for c, col in zip(self.columns, table.columns)}
        data["source_file"] = pd.array([self.source_file] * n, dtype="str")
        data["source_row"] = pd.array(starts, dtype="int64")
        frame = pd.DataFrame(data, index=pd.RangeIndex(n))
        raw = RawTable(self.source_file, self.path, self.columns, frame, _ragged_frame([]),
                       self.sha256, encoding=self.encoding, delimiter=self.delimiter)
        return raw, first_line + int(spans.sum())


def open_csv_stream(path: str | Path, *, source_file: str | None = None,
                    block_rows: int = DEFAULT_BLOCK_ROWS) -> CsvStream | None:
    """A plain UTF-8 CSV export as a :class:`CsvStream`, or ``None`` when the file needs the
    whole-file reader (:func:`read_table`): another encoding, a UTF-16 BOM, an empty file, a blank
    first line or a header spanning lines.

    One pass over the bytes (in pieces, never the whole file at once) gives the fingerprint, checks
    that it is UTF-8 and counts its lines; the delimiter is sniffed on the first megabyte.
    """
    import codecs

    path = Path(path)
    name = source_file if source_file is not None else str(path)
    if path.suffix.lower() not in (".csv", ".txt", ".tsv") or not path.is_file():
        return None
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    head = b""
    breaks, last = 0, b""
    with path.open("rb") as fh:
        while piece := fh.read(_PREPASS_BYTES):
            digest.update(piece)
            if len(head) < _SNIFF_BYTES:
                head += piece[:_SNIFF_BYTES - len(head)]
            try:
                decoder.decode(piece)
            except UnicodeDecodeError:
                return None
            # \r\n counts once, a lone \r once (as the csv module's line numbers do)
            breaks += piece.count(b"\n") + piece.count(b"\r") - piece.count(b"\r\n")
            if last == b"\r" and piece[:1] == b"\n":
                breaks -= 1
            last = piece[-1:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    encoding = "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else "utf-8"
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff")
    if not text.strip() or text[:1] in ("\r", "\n"):
        return None
    cut = max(text.rfind("\n"), text.rfind("\r"))
    sample = text[:cut + 1] if cut > 0 else text
    delim = sniff_delimiter(sample)
    header = next(csv.reader(io.StringIO(sample, newline=""), delimiter=delim), None)
    if not header or any("\n" in h or "\r" in h for h in header) or \
            (len(header) == 1 and not header[0].strip()):
        return None
    columns = _header(header, name, 1)
    lines = breaks + (0 if last in (b"\n", b"\r") else 1)
    warnings = (f"{name}: header only, no data rows",) if lines <= 1 else ()
    return CsvStream(name, path, columns, digest.hexdigest(), encoding, delim, lines,
                     block_rows, warnings)
