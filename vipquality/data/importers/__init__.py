"""Survey-tool exports in: Qualtrics, SurveyMonkey, LimeSurvey, Google Forms, Microsoft Forms.

Quality managers download whatever their survey tool exports. :func:`import_survey` recognises
the tool from the file's content (:func:`detect_format`), reads its layout (multi-row headers,
one column per answer option, code books, personal columns, test responses, tool-specific
codes) and returns an :class:`ImportedSurvey`: one row per response, one column per question
(a clean id such as ``Q3`` or ``Q4_2``, the question text kept in ``questions``), text cells in
the layout of :class:`vipquality.data.ingest.RawTable`, and an :class:`ImportReport` saying what was
recognised, mapped, ignored and coerced.

Given an instrument, the columns are mapped onto it the way it says (``match_columns_by``:
question ids, question text or column position); a question text that matches two columns is
refused with an :class:`~vipquality.errors.IngestError` saying how to fix the instrument.

``vipquality ingest`` uses :func:`read_survey` for survey files (``--format`` overrides the
detection); files of the canonical layout are read exactly as before.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "responses.csv"
>>> _ = p.write_text("Timestamp,On a scale of 0-10 how likely are you to recommend us?\\n"
...                  "11/1/2019 8:51:12,9\\n11/1/2019 9:05:13,6\\n", encoding="utf-8")
>>> s = import_survey(p, timezone="Europe/Moscow")
>>> s.format, s.columns
('google-forms', ('ResponseId', 'Timestamp', 'Q1'))
>>> s.data.loc[0, "Timestamp"], s.data["Q1"].tolist()
('2019-11-01 08:51:12+03:00', ['9', '6'])
>>> s.questions["Q1"]
'On a scale of 0-10 how likely are you to recommend us?'
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vipquality.data.importers import _forms, _limesurvey, _qualtrics, _surveymonkey
from vipquality.data.importers._common import (
    FORMATS,
    Col,
    Draft,
    ImportedSurvey,
    ImportReport,
    finish,
    read_bytes,
    read_sheet,
)
from vipquality.data.importers._detect import (
    R_MARK,
    SNIFF_RECORDS,
    detect,
    detect_format,
    r_syntax_for,
    refuse_non_responses,
    sniff,
)
from vipquality.data.readers import RawTable, read_table
from vipquality.errors import IngestError

__all__ = ["FORMATS", "ImportReport", "ImportedSurvey", "SNIFF_RECORDS", "detect_format",
           "import_survey", "read_sheet", "read_survey", "refuse_non_responses", "sniff"]


def _instrument_and_zone(instrument, timezone):
    if instrument is not None and hasattr(instrument, "instrument"):  # a Workspace
        return instrument.instrument, timezone or getattr(instrument, "timezone", None)
    return instrument, timezone


def _canonical(path: Path, name: str) -> tuple[Draft, str, str | None]:
    raw = read_table(path, source_file=name)
    cols = [Col(h, h, raw.data[h].tolist(), (h,), (j + 1,)) for j, h in enumerate(raw.columns)]
    ragged = [(int(r), int(str(v).split()[0]) if str(v).split()[0].isdigit() else 0)
              for r, v in zip(raw.ragged["row"], raw.ragged["value"])]
    draft = Draft("canonical", cols, raw.data["source_row"].tolist(), ragged=ragged,
                  notes=list(raw.warnings))
    return draft, raw.sha256, raw.encoding


def import_survey(path: str | Path, instrument=None, *, format: str | None = None,
                  keep_test_responses: bool = False, timezone: str | None = None,
                  source_file: str | None = None) -> ImportedSurvey:
    """Read one survey-tool export into one row per response and one column per question.

    Parameters
    ----------
    path : str or Path
        The export: CSV/TSV or xlsx from Qualtrics, SurveyMonkey, LimeSurvey, Google Forms or
        Microsoft Forms; either file of a LimeSurvey R export pair (data CSV or syntax file, both
        in one folder); or a CSV/xlsx/Parquet file of the canonical layout.
    instrument : Instrument or Workspace, optional
        Map the columns onto this instrument (by id, question text or position, as its
        ``match_columns_by`` says). A Workspace gives its instrument and its time zone.
    format : str, optional
        One of :data:`FORMATS`; default: detected from the content (:func:`detect_format`).
    keep_test_responses : bool
        Keep Qualtrics test and preview responses (``Status`` 2 or 1), left out by default.
    timezone : str, optional
        IANA zone of times the export records without one (default: the workspace's when a
        Workspace is given). Times the export records with a zone are converted to it.
    source_file : str, optional
        Name recorded in ``source_file`` and the report (default: the file name).

    Returns
    -------
    ImportedSurvey
        ``.data`` (text cells, ``source_file``, ``source_row``), ``.questions`` (id → text),
        ``.value_labels``, ``.mapping`` (field → column) and ``.report``
        (``.report.summary()`` prints it).

    Raises
    ------
    IngestError
        An unknown ``format``; a file that holds no responses (a ``.qsf`` survey definition, an
        SPSS syntax file without GET DATA) or that another importer reads (SPSS); a LimeSurvey R
        file without its partner; an instrument reference that matches two columns (the
        message says how to fix the instrument mapping).
    DataError
        The file cannot be read (missing, empty, undecodable).
    """
    path = Path(path)
    name = source_file or path.name
    inst, tz = _instrument_and_zone(instrument, timezone)
    if format is not None and format not in FORMATS:
        raise IngestError(f"unknown survey format {format!r}: expected one of "
                          f"{', '.join(FORMATS)}")
    raw = read_bytes(path, name)
    sheet = None
    detected = None
    if format is None or format != "canonical":
        special = None if raw.startswith(b"PAR1") else refuse_non_responses(raw, name)
        if special == "spss":
            raise IngestError(f"{name}: an SPSS data file: read it with the SPSS importer, not "
                              "this one (formats here: " + ", ".join(FORMATS) + ")")
        if raw.startswith(b"PAR1"):
            detected = "canonical"
        elif special == "limesurvey-r":
            detected = "limesurvey-r"
        else:
            sheet = read_sheet(path, name, raw)
            detected = sniff(sheet)
    fmt = format or detected
    notes: list[str] = []
    if format is not None and detected is not None and detected != format:
        notes.append(f"read as {format} as told, although its content looks like {detected}")

    sha, encoding, data_path = None, None, path
    if fmt == "canonical":
        draft, sha, encoding = _canonical(path, name)
    elif fmt == "limesurvey-r":
        if R_MARK in raw[:200_000].decode("utf-8", errors="replace"):
            syntax, syntax_text = path, raw.decode("utf-8-sig", errors="replace")
            data_path = _limesurvey.data_file_for(path, syntax_text)
        else:
            syntax = r_syntax_for(path)
            if syntax is None:
                raise IngestError(
                    f"{name}: a LimeSurvey R export needs its syntax file (the .R file whose "
                    "read.csv(file = …) names this data file) in the same folder; none was found. "
                    "Put it next to the data file, or export as CSV instead.")
            syntax_text = syntax.read_bytes().decode("utf-8-sig", errors="replace")
        data_name = data_path.name if source_file is None or data_path != path else name
        sheet = read_sheet(data_path, data_name)
        draft = _limesurvey.read_r(sheet, syntax_text, syntax.name)
        name = data_name
    else:
        if sheet is None:
            raise IngestError(f"{name}: a Parquet file holds the canonical layout, not a "
                              f"{fmt} export; import it without --format/format=")
        if fmt.startswith("qualtrics"):
            draft = _qualtrics.read(sheet, fmt, keep_test_responses=keep_test_responses)
        elif fmt == "surveymonkey":
            draft = _surveymonkey.read(sheet)
        elif fmt == "limesurvey":
            draft = _limesurvey.read_csv(sheet)
        elif fmt == "google-forms":
            draft = _forms.read_google(sheet)
        else:
            draft = _forms.read_microsoft(sheet)
    if sheet is not None and fmt != "canonical":
        sha, encoding = sheet.sha256, sheet.encoding
        notes += sheet.notes
    return finish(draft, sheet, instrument=inst, timezone=tz, path=data_path, sha256=sha,
                  encoding=encoding, source_file=name, extra_notes=notes)


def read_survey(path: str | Path, workspace, *, source_file: str | None = None,
                format: str | None = None, keep_test_responses: bool = False,
                sheet: str | None = None) -> RawTable:
    """A survey file of a quarter folder as a :class:`~vipquality.data.ingest.RawTable` for ingest.

    A canonical file is read by :func:`vipquality.data.ingest.read_table` unchanged; an export of a
    survey tool goes through :func:`import_survey` with the workspace's instrument and time zone,
    its report lines becoming the table's warnings. ``sheet`` names the sheet of a canonical
    workbook (``sheets.survey`` in workspace.yaml; default: the first).

    Raises
    ------
    IngestError
        As :func:`import_survey`, and when an instrument field has no column in the export (the
        message lists the file's questions).
    """
    path = Path(path)
    fmt = format or detect(path, source_file or str(path))
    if fmt == "canonical":
        return read_table(path, source_file=source_file, sheet=sheet)
    if fmt == "spss":
        return _spss_raw_table(path, workspace, source_file or path.name)
    survey = import_survey(path, workspace, format=fmt, keep_test_responses=keep_test_responses,
                           source_file=source_file)
    if survey.report.unmatched:
        mode = workspace.instrument.match_columns_by
        cols = [f"{c} ({survey.report.columns_mapped[c][:60]})" for c in survey.columns[:40]]
        raise IngestError(
            f"{survey.report.source_file}: read as a {fmt} export, but "
            f"{len(survey.report.unmatched)} instrument field(s) have no column in it (matching "
            f"by {mode}): {'; '.join(survey.report.unmatched)}. Its columns: {'; '.join(cols)}"
            f"{' …' if len(survey.columns) > 40 else ''}. Fix the instrument.yaml key(s) named "
            "above, or the export; nothing was imported.")
    return survey.raw_table(source_file)


def _spss_raw_table(path: Path, workspace, source_file: str) -> RawTable:
    """An SPSS file (``.sav``/``.zsav``/``.por``) read by :func:`read_spss` with the
    instrument, as text cells in the RawTable layout ingest validates (values scored by their
    labels, user-missing codes already missing)."""
    import hashlib

    from vipquality.data.importers._spss import read_spss

    frame, report = read_spss(path, instrument=workspace.instrument)
    text = frame.astype(object).where(frame.notna(), "")
    text = text.map(lambda v: v if isinstance(v, str) else
                    (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)))
    text.columns = [str(c) for c in text.columns]
    text["source_file"] = source_file
    text["source_row"] = range(2, len(text) + 2)  # as if a header line came first
    notes = tuple(str(n) for n in report.get("notes", ()) or ())
    return RawTable(source_file=source_file, path=path, columns=tuple(map(str, frame.columns)),
                    data=text.reset_index(drop=True),
                    ragged=pd.DataFrame(columns=["file", "row", "column", "value", "reason"]),
                    sha256=hashlib.sha256(path.read_bytes()).hexdigest(), encoding=None,
                    warnings=notes)
