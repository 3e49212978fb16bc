"""Telling the survey tool from a file's content (never from its name).

The first records are enough: Qualtrics' legacy ``V1..V10`` id row, its third header row of
ImportIds (JSON now, a Python-dict repr in 2016), SurveyMonkey's second header row of
``Response`` / option labels under blank continuation cells, LimeSurvey's ``code. question``
headings or its R syntax file, Google Forms' leading ``Timestamp``, Microsoft Forms' ``Id, Start
time, Completion time, Email, Name``. Anything else with one header row is the canonical layout.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from vipquality.data.importers._common import Sheet, read_bytes, read_sheet
from vipquality.errors import IngestError

__all__ = ["detect_format", "detect", "sniff", "r_syntax_for", "R_MARK"]

#: The line LimeSurvey writes above every variable of its R syntax file.
R_MARK = "# LimeSurvey Field type:"
_READ_CSV_RE = re.compile(r"read\.csv\(\s*file\s*=\s*[\"']([^\"']+)[\"']")
_LIME_HEADING_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\[[^\]]*\])*\.\s")
_LIME_META = {"id", "submitdate", "lastpage", "startlanguage", "seed", "startdate", "datestamp",
              "ipaddr", "refurl", "token"}
_QUALTRICS_META = {"startdate", "enddate", "status", "finished", "responseid", "responseset",
                   "recordeddate", "ipaddress", "progress", "duration (in seconds)",
                   "externaldatareference", "externalreference", "distributionchannel",
                   "userlanguage", "recipientemail", "recipientlastname", "recipientfirstname"}
#: ``Timestamp`` as Google Forms writes it in some of its interface languages.
GOOGLE_TIMESTAMP = {"timestamp", "marca temporal", "zeitstempel", "horodateur",
                    "informazioni cronologiche", "carimbo de data/hora", "отметка времени",
                    "tijdstempel", "sygnatura czasowa", "tidsstempel", "aikaleima",
                    "časová značka", "zaman damgası", "タイムスタンプ", "时间戳", "타임스탬프"}
_SM_RESPONSE = {"response", "open-ended response"}
SNIFF_RECORDS = 5


def r_syntax_for(data: Path) -> Path | None:
    """The LimeSurvey R syntax file next to ``data`` whose ``read.csv(file = …)`` names it."""
    for cand in sorted(data.parent.glob("*")):
        if cand == data or cand.suffix.lower() != ".r" or not cand.is_file() \
                or cand.stat().st_size > 5_000_000:
            continue
        try:
            head = cand.read_bytes()[:200_000].decode("utf-8", errors="replace")
        except OSError:
            continue
        if R_MARK not in head:
            continue
        m = _READ_CSV_RE.search(head)
        if m and Path(m[1].replace("\\", "/")).name == data.name:
            return cand
    return None


def refuse_non_responses(raw: bytes, name: str) -> str | None:
    """Formats that are recognised but hold no responses (or belong to another importer)."""
    if raw[:4] in (b"$FL2", b"$FL3") or b"SPSS PORT FILE" in raw[:500]:
        return "spss"
    head = raw[:200_000].decode("utf-8", errors="replace").lstrip("\ufeff")
    if head.lstrip().startswith("{"):
        try:
            obj = json.loads(raw.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            obj = None
        if isinstance(obj, dict) and "SurveyEntry" in obj and "SurveyElements" in obj:
            raise IngestError(
                f"{name}: a Qualtrics survey definition (.qsf: questions and logic, no "
                "responses). Export the responses instead (Data & Analysis → Export & Import → "
                "Export data → CSV) and import that file.")
    if re.search(r"^\s*VARIABLE LABELS\b", head, re.MULTILINE | re.IGNORECASE) and \
            not re.search(r"^\s*(GET\s+DATA|DATA\s+LIST)\b", head, re.MULTILINE | re.IGNORECASE):
        raise IngestError(
            f"{name}: an SPSS syntax file without GET DATA: it names no data file, so it holds "
            "no responses. Import the data file it belongs to (the CSV export, or a .sav).")
    if R_MARK in head:
        return "limesurvey-r"
    return None


def sniff(sheet: Sheet) -> str:
    """The format of a file already read as records (see :func:`detect_format`)."""
    rows = sheet.rows
    if not rows:
        return "canonical"
    r0 = [c.strip().lstrip("\ufeff") for c in rows[0]]
    r1 = [c.strip() for c in rows[1]] if len(rows) > 1 else []
    r2 = [c.strip() for c in rows[2]] if len(rows) > 2 else []
    low0 = [c.casefold() for c in r0]

    # Qualtrics
    if r0[:10] == [f"V{i}" for i in range(1, 11)]:
        return "qualtrics-legacy"
    if r2 and sum(c.startswith('{"ImportId"') for c in r2) >= max(1, len(r2) // 2):
        return "qualtrics"
    if r2 and sum(c.startswith("{'ImportId'") for c in r2) >= max(1, len(r2) // 2):
        return "qualtrics-2016"
    qmeta = _QUALTRICS_META & set(low0)
    if {"startdate", "enddate", "status", "finished"} <= qmeta and \
            ("responseid" in qmeta or "responseset" in qmeta):
        # only the id header row (the question text / ImportId rows were removed)
        return "qualtrics" if "recordeddate" in qmeta else "qualtrics-2016"

    # Microsoft Forms
    if [c.replace(" ", "") for c in low0[:3]] == ["id", "starttime", "completiontime"]:
        return "microsoft-forms"

    # SurveyMonkey: a second header row of "Response" / option labels under blank
    # continuation cells of the first
    if r1 and any(c.casefold() in _SM_RESPONSE for c in r1):
        blank_meta = r0 and r0[0] and not r1[0]
        if blank_meta or "" in r0:
            return "surveymonkey"
    if low0 and low0[0].replace(" ", "") == "respondentid" and r1 and not r1[0]:
        return "surveymonkey"

    # LimeSurvey
    headed = sum(bool(_LIME_HEADING_RE.match(c)) for c in r0)
    if headed >= max(2, len(r0) // 2) and low0 and low0[0].startswith("id."):
        return "limesurvey"
    if {"id", "submitdate", "lastpage", "startlanguage"} <= set(low0):
        return "limesurvey"
    if sheet.kind == "csv" and sheet.path.suffix.lower() != ".r" and r_syntax_for(sheet.path):
        return "limesurvey-r"

    # Google Forms
    if low0 and low0[0] in GOOGLE_TIMESTAMP:
        return "google-forms"
    return "canonical"


def detect_format(path: str | Path) -> str:
    """The survey tool that wrote ``path``, from its content.

    Returns one of ``qualtrics`` (current 3-header-row CSV), ``qualtrics-2016``,
    ``qualtrics-legacy`` (``V1..V10``), ``surveymonkey``, ``limesurvey`` (CSV with
    "code. question" headings), ``limesurvey-r`` (the R export pair: data CSV or its syntax file),
    ``google-forms``, ``microsoft-forms`` or ``canonical`` (one header row, the layout of
    ``surveys/README.md``; also Parquet). SPSS files give ``spss`` (read by the SPSS importer).

    Raises
    ------
    IngestError
        The file is a survey definition or a syntax file that holds no responses (a Qualtrics
        ``.qsf``, an SPSS ``.sps`` without ``GET DATA``); the message says what to export.
    DataError
        The file cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "export.csv"
    >>> _ = p.write_text("Timestamp,How likely are you to recommend us?\\n"
    ...                  "11/1/2019 8:51:12,9\\n", encoding="utf-8")
    >>> detect_format(p)
    'google-forms'
    """
    return detect(Path(path), str(path))


def detect(path: Path, name: str) -> str:
    """:func:`detect_format`, naming the file ``name`` in errors."""
    raw = read_bytes(path, name)
    if raw.startswith(b"PAR1"):
        return "canonical"
    special = refuse_non_responses(raw, name)
    if special:
        return special
    return sniff(read_sheet(path, name, raw, limit=SNIFF_RECORDS))
