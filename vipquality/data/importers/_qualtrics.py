"""Qualtrics CSV/TSV/xlsx exports: the current layout, the 2016 "Insights" one and the legacy one.

- current: row 1 ids (``Q1``, ``ResponseId``), row 2 question text (metadata labels localised,
  e.g. German), row 3 ``{"ImportId":"QID1"}`` JSON, which may carry ``"timeZone"``;
- 2016: the same with row 3 a Python-dict repr (``{'ImportId': 'QID2-1'}``, hyphenated ids);
- legacy (pre-2017): row 1 ``V1..V10`` then question ids, row 2 labels (``ResponseID``,
  ``Status`` …) and question text; a UTF-8 BOM, a trailing comma on every line, ids that can
  repeat.

Files from which the header rows below the ids were removed are read too (one header row).
``Status`` 1 (survey preview) and 2 (survey test) mark test responses: they are left out unless
``keep_test_responses``. Negative codes −1/−2 in coded answer columns are Qualtrics' recodes of
"no basis for evaluation" / "not applicable" answers and become missing. Personal metadata
(IP address, recipient name and e-mail, location) is not imported.
"""

from __future__ import annotations

import ast
import json
import re

from vipquality.data.importers._common import Col, Draft, Sheet, strip_html, where

_PERSONAL = {"ipaddress": "IP address", "recipientlastname": "recipient's name",
             "recipientfirstname": "recipient's name", "recipientemail": "recipient's e-mail",
             "name": "respondent's name", "emailaddress": "respondent's e-mail",
             "locationlatitude": "location", "locationlongitude": "location",
             "locationaccuracy": "location"}
_META = {"startdate", "enddate", "status", "progress", "duration (in seconds)", "finished",
         "recordeddate", "responseid", "responseset", "externalreference",
         "externaldatareference", "distributionchannel", "userlanguage", "q_recaptchascore",
         "q_relevantidduplicate", "q_relevantidduplicatescore", "q_relevantidfraudscore",
         "q_relevantidlaststartdate", "q_ballotboxstuffing", "q_totalduration", "q_url"}
_TIMES = {"startdate": "started_at", "enddate": "ended_at", "recordeddate": "submitted_at"}
#: Status values of test responses: 1 survey preview, 2 survey test (numeric or choice text).
TEST_STATUS = {"1", "2", "survey preview", "survey test", "preview", "test"}
#: Qualtrics recodes of "no basis for evaluation" / "not applicable" answers.
NO_BASIS_CODES = ("-1", "-2")
_TEXT_IQ = re.compile(r"\s-\s(?:Parent Topics|Topics|Sentiment(?: Polarity| Score)?|"
                      r"Topic Sentiment (?:Label|Score)|Actionability|Emotion(?: Intensity)?)$")
_RESPONSE_ID = re.compile(r"^R_\w{6,}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,2}/\d{1,2}/\d{2,4}")
_INT = re.compile(r"^-?\d+$")


def _import_id(cell: str) -> dict:
    """``{"ImportId":"QID1","timeZone":"America/Denver"}`` (JSON) or the 2016 dict repr."""
    cell = cell.strip()
    if not cell.startswith("{"):
        return {}
    try:
        obj = json.loads(cell)
    except ValueError:
        try:
            obj = ast.literal_eval(cell)
        except (ValueError, SyntaxError):
            return {}
    return obj if isinstance(obj, dict) else {}


def _looks_like_data(row: list[str], ids: list[str]) -> bool:
    low = [i.casefold() for i in ids]
    for name in ("responseid",):
        if name in low:
            return bool(_RESPONSE_ID.match(row[low.index(name)].strip()))
    for name in ("startdate", "enddate", "recordeddate"):
        if name in low:
            return bool(_DATE.match(row[low.index(name)].strip()))
    return False


def read(sheet: Sheet, fmt: str, *, keep_test_responses: bool = False) -> Draft:
    rows, lines = sheet.rows, sheet.lines
    width = len(rows[0])
    ids = [c.strip().lstrip("\ufeff") for c in rows[0]]
    legacy = fmt == "qualtrics-legacy"
    draft = Draft(fmt, [], [], ragged=list(sheet.ragged))
    if legacy:
        header_rows = 2
    else:
        header_rows = 1
        if len(rows) > 1 and not _looks_like_data(rows[1], ids):
            header_rows = 2
            if len(rows) > 2 and any(c.strip().startswith("{") and "ImportId" in c
                                     for c in rows[2]):
                header_rows = 3
    labels = rows[1] if header_rows >= 2 else [""] * width
    imports = [_import_id(c) for c in rows[2]] if header_rows == 3 else [{}] * width
    if legacy:
        # V1..V10 carry the metadata; their real names are in the label row
        ids = [labels[j].strip() if re.fullmatch(r"V\d+", ids[j]) and labels[j].strip() else ids[j]
               for j in range(width)]
    if header_rows == 1:
        draft.notes.append("only the id header row (the question-text row is missing): "
                           "question texts are not known")
    if fmt == "qualtrics-2016" and header_rows == 3:
        draft.notes.append("2016 layout: row 3 ImportIds read from their Python-dict form")

    body = rows[header_rows:]
    body_lines = lines[header_rows:]

    # test responses
    low = [i.casefold() for i in ids]
    if "status" in low:
        j = low.index("status")
        test = [r[j].strip().casefold() in TEST_STATUS for r in body]
        n_test = sum(test)
        if n_test and not keep_test_responses:
            if n_test == len(body):
                draft.notes.append(f"every response in the file ({n_test}) is a test or preview "
                                   "response (Status 1/2): nothing imported; pass "
                                   "keep_test_responses=True to import them")
            body = [r for r, t in zip(body, test) if not t]
            body_lines = [ln for ln, t in zip(body_lines, test) if not t]
            draft.test_excluded = n_test
        elif n_test:
            draft.notes.append(f"{n_test} test/preview response(s) (Status 1/2) kept as asked")
    draft.lines = body_lines

    blank_trailing = 0
    no_basis: list[tuple[str, int]] = []
    for j in range(width):
        cid = ids[j]
        label = labels[j].strip() if header_rows >= 2 else ""
        imp = imports[j] if j < len(imports) else {}
        import_id = str(imp.get("ImportId", "")) if imp else ""
        values = [r[j] for r in body]
        key = cid.casefold()
        pos = j + 1
        if not cid:
            if not any(v.strip() for v in values) and not label:
                blank_trailing += 1
                draft.ignored[where("", pos)] = "empty column (a trailing comma on every line)"
                continue
            cid = f"column{pos}"
        if key in _PERSONAL:
            draft.ignored[where(cid, pos)] = f"personal data ({_PERSONAL[key]}): not imported"
            continue
        if _TEXT_IQ.search(cid) or re.search(r"^QID\w*_TEXT_\w*(Topics|Sentiment\w*)$",
                                             import_id):
            draft.ignored[where(cid, pos)] = "Text iQ analysis column (derived by Qualtrics, " \
                                             "not an answer)"
            continue
        is_meta = (import_id and not import_id.startswith("QID")) if import_id else key in _META
        sources = tuple(s for s in (rows[0][j].strip().lstrip("\ufeff"),
                                    label if label != rows[0][j].strip() else "", import_id) if s)
        if is_meta:
            kind = "time" if key in _TIMES else "meta"
            role = _TIMES.get(key) or ("response_id" if key == "responseid" else
                                       "status" if key == "status" else None)
            draft.cols.append(Col(cid, label, values, sources, (pos,), kind, role,
                                  tz=str(imp.get("timeZone")) if imp.get("timeZone") else None))
            continue
        col = Col(cid, strip_html(label), values, sources, (pos,))
        nonblank = [v.strip() for v in values if v.strip()]
        if nonblank and all(_INT.match(v) for v in nonblank):
            n = 0
            for i, v in enumerate(col.values):
                if v.strip() in NO_BASIS_CODES:
                    col.values[i] = ""
                    n += 1
            if n:
                no_basis.append((cid, n))
        draft.cols.append(col)

    if not any(c.role == "submitted_at" for c in draft.cols):
        end = next((c for c in draft.cols if c.role == "ended_at"), None)
        if end is not None:
            end.role = "submitted_at"
    if no_basis:
        total = sum(n for _, n in no_basis)
        draft.coerced["'no basis to evaluate' code (−1/−2) → missing"] += total
        shown = ", ".join(f"{k}: {v}" for k, v in no_basis[:8])
        draft.notes.append(f"{total} 'no basis to evaluate / not applicable' answer(s) coded −1 "
                           f"or −2 read as missing ({shown}{' …' if len(no_basis) > 8 else ''})")
    return draft
