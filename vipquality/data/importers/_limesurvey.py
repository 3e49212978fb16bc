"""LimeSurvey exports: the CSV with "code. question text" headings, and the R export pair.

CSV: each heading is ``code. question text`` (``geochemicalPara[SQ1]. What …? [sub-question]``);
the code becomes the column id with brackets written LimeSurvey's R/SPSS way
(``geochemicalPara_SQ1``) and the text, HTML removed, the question. HTML inside answer labels
(``<div><span style="…">Environment</span></div>``) is removed from the cells.

R pair: a data CSV (BOM, CRLF, every field quoted, a blank last record; a header of localised
question texts) and a syntax file. From the syntax file only the lines LimeSurvey generates are
read: ``names(data)[n] <- "code"`` (the ids) and ``data[, n] <- factor(data[, n], levels=…,
labels=…)`` (value labels, applied in the order the levels are listed, which need not be the
codes' order); anything else an author added to the script is ignored.

Anonymised surveys store every date as 1980-01-01 00:00:00: such dates become "no date".
IP addresses (``ipaddr``) are not imported.
"""

from __future__ import annotations

import re
from pathlib import Path

from vipquality.data.importers._common import Col, Draft, Sheet, has_html, strip_html, where
from vipquality.errors import IngestError

_HEADING = re.compile(r"^([A-Za-z][A-Za-z0-9_]*(?:\[[^\]]*\])*)\.\s+(.*)$", re.S)
_META = {"id": ("meta", "response_id"), "submitdate": ("time", "submitted_at"),
         "startdate": ("time", "started_at"), "datestamp": ("time", None),
         "lastpage": ("meta", None), "startlanguage": ("meta", None), "seed": ("meta", None),
         "token": ("meta", None), "refurl": ("meta", None), "interviewtime": ("meta", None)}
_PERSONAL = {"ipaddr": "IP address"}
ANONYMISED_DATE = "1980-01-01"

# R syntax: only LimeSurvey's own generated lines
_R_STR = r'"((?:[^"\\]|\\.)*)"'
_R_NAME = re.compile(r"^\s*names\(data\)\[(\d+)\]\s*<-\s*" + _R_STR + r"\s*$", re.M)
_R_LABEL = re.compile(r"^\s*attributes\(data\)\$variable\.labels\[(\d+)\]\s*<-\s*" + _R_STR
                      + r"\s*$", re.M)
_R_FACTOR = re.compile(r"^\s*data\[\s*,\s*(\d+)\s*\]\s*<-\s*factor\(\s*data\[\s*,\s*(\d+)\s*\]\s*,"
                       r"\s*levels\s*=\s*c\((.*?)\)\s*,\s*labels\s*=\s*c\((.*?)\)\s*\)\s*$", re.M)
_R_TYPE = re.compile(r"^# LimeSurvey Field type: (\S+)\s*\n\s*data\[\s*,\s*(\d+)\s*\]", re.M)
_R_READ = re.compile(r"read\.csv\(\s*file\s*=\s*[\"']([^\"']+)[\"']")


def _code_id(code: str) -> str:
    return re.sub(r"\[([^\]]*)\]", r"_\1", code)


def _r_unescape(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), s)


def _r_strings(inner: str) -> list[str]:
    return [_r_unescape(m) for m in re.findall(_R_STR, inner)]


def _meta_or_question(draft: Draft, cid: str, text: str, values: list[str], sources, pos: int,
                      dates: dict[str, int]) -> None:
    key = cid.casefold()
    if key in _PERSONAL:
        draft.ignored[where(sources[0], pos)] = f"personal data ({_PERSONAL[key]}): not imported"
        return
    if key in _META:
        kind, role = _META[key]
        if kind == "time":
            n = 0
            for i, v in enumerate(values):
                if v.strip().startswith(ANONYMISED_DATE):
                    values[i] = ""
                    n += 1
            if n:
                dates[cid] = n
        draft.cols.append(Col(cid, text, values, sources, (pos,), kind, role))
        return
    draft.cols.append(Col(cid, text, values, sources, (pos,)))


def _dates_note(draft: Draft, dates: dict[str, int]) -> None:
    if dates:
        draft.coerced[f"anonymised-survey date {ANONYMISED_DATE} → no date"] += sum(dates.values())
        draft.notes.append(
            "anonymised survey: LimeSurvey stores every date as 1980-01-01 00:00:00; read as no "
            "date (" + ", ".join(f"{k}: {v}" for k, v in dates.items()) + ")")


def read_csv(sheet: Sheet, fmt: str = "limesurvey") -> Draft:
    rows, lines = sheet.rows, sheet.lines
    draft = Draft(fmt, [], lines[1:], ragged=list(sheet.ragged))
    body = rows[1:]
    dates: dict[str, int] = {}
    html_cells = 0
    for j, head in enumerate(rows[0]):
        head = head.strip().lstrip("\ufeff")
        m = _HEADING.match(head)
        code, text = (m[1], strip_html(m[2])) if m else (head, strip_html(head))
        values = [r[j] for r in body]
        for i, v in enumerate(values):
            if "<" in v and has_html(v):
                values[i] = strip_html(v)
                html_cells += 1
        _meta_or_question(draft, _code_id(code), text, values, (head,), j + 1, dates)
    if html_cells:
        draft.coerced["HTML removed from an answer label"] += html_cells
    _dates_note(draft, dates)
    return draft


def data_file_for(syntax: Path, text: str) -> Path:
    """The data CSV an R syntax file reads (looked for next to it)."""
    m = _R_READ.search(text)
    if not m:
        raise IngestError(f"{syntax}: a LimeSurvey R syntax file without read.csv(file = …): "
                          "cannot tell which data file it belongs to; import the data CSV")
    data = syntax.parent / Path(m[1].replace("\\", "/")).name
    if not data.is_file():
        raise IngestError(f"{syntax}: its data file {Path(m[1]).name!r} is not next to it "
                          f"(looked for {data}); put both files of the R export in one folder")
    return data


def read_r(sheet: Sheet, syntax_text: str, syntax_name: str,
           fmt: str = "limesurvey-r") -> Draft:
    """The R export: ``sheet`` is the data CSV, ``syntax_text`` the R file."""
    rows, lines = sheet.rows, sheet.lines
    draft = Draft(fmt, [], lines[1:], ragged=list(sheet.ragged))
    body = rows[1:]
    names = {int(n): _r_unescape(v) for n, v in _R_NAME.findall(syntax_text)}
    labels_r = {int(n): _r_unescape(v) for n, v in _R_LABEL.findall(syntax_text)}
    factors: dict[int, dict[str, str]] = {}
    skipped = 0
    for target, source, levels, labels in _R_FACTOR.findall(syntax_text):
        lv, lb = _r_strings(levels), _r_strings(labels)
        if target != source or len(lv) != len(lb):
            skipped += 1
            continue
        factors[int(target)] = dict(zip(lv, lb))
    types = {int(n): t for t, n in _R_TYPE.findall(syntax_text)}
    dates: dict[str, int] = {}
    coded = 0
    unknown: dict[str, set[str]] = {}
    for j, head in enumerate(rows[0]):
        n = j + 1
        head = head.strip().lstrip("\ufeff")
        cid = names.get(n) or _code_id(head) or f"column{n}"
        text = strip_html(head) or labels_r.get(n, "")
        values = [r[j] for r in body]
        if n in factors:
            mapping = factors[n]
            for i, v in enumerate(values):
                s = v.strip()
                if s in mapping:
                    values[i] = mapping[s]
                    coded += 1
                elif s:
                    unknown.setdefault(cid, set()).add(s)
            draft.value_labels[cid] = dict(mapping)
        sources = (head, f"{syntax_name}: names(data)[{n}]") if n in names else (head,)
        if types.get(n, "").startswith("DATETIME") and cid.casefold() not in _META:
            _meta_or_question(draft, cid, text, values, sources, n, dates)
            draft.cols[-1].kind = "time"
            continue
        _meta_or_question(draft, cid, text, values, sources, n, dates)
    if coded:
        draft.coerced["answer code → label (factor() lines of the R syntax file)"] += coded
    draft.notes.append(f"R syntax file {syntax_name}: {len(names)} variable name(s) and "
                       f"{len(factors)} factor() value-label line(s) read; other lines ignored"
                       + (f" ({skipped} factor() line(s) without matching levels and labels "
                          "skipped)" if skipped else ""))
    for cid, codes in unknown.items():
        draft.notes.append(f"{cid}: code(s) {sorted(codes)[:5]} have no label in the syntax file "
                           "and are kept as they are")
    if sheet.blank_records:
        draft.notes.append(f"{sheet.blank_records} blank record(s) skipped (the trailing blank "
                           "line of the R export)")
    _dates_note(draft, dates)
    return draft
