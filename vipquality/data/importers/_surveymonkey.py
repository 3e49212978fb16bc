"""SurveyMonkey exports (CSV and xlsx): two header rows.

Row 1 holds the question text once, above the first of its columns, and blank cells above the
others; row 2 holds ``Response`` / ``Open-Ended Response``, a matrix row, or an answer option.
Blank row-1 cells are filled forward so every column knows its question; columns holding one
option each ("one column per answer option": a cell is blank or the option's own label) are
collapsed back to one answer per question (several options of a select-all question are joined
with ``"; "``). A column of free text under an option list (``Other (please specify)``)
becomes ``Q<n>_other``; matrix rows become ``Q<n>_<k>``. The metadata block (``Respondent ID``,
``Start Date`` …) keeps its names without spaces; personal columns (IP address, e-mail, first
and last name) are not imported. Questions are numbered ``Q1, Q2, …`` in file order.
"""

from __future__ import annotations

import re

from vipquality.data.importers._common import Col, Draft, Sheet, has_html, strip_html, where

_RESPONSE = {"response", "open-ended response"}
_OTHER = re.compile(r"\bother\b|please (?:specify|explain|describe)|self-describe", re.I)
_PERSONAL = {"ipaddress": "IP address", "emailaddress": "e-mail", "firstname": "name",
             "lastname": "name", "email": "e-mail", "name": "name"}
_META_ROLES = {"respondentid": ("meta", "response_id"), "startdate": ("time", "started_at"),
               "enddate": ("time", "submitted_at")}
JOIN = "; "


def read(sheet: Sheet, fmt: str = "surveymonkey") -> Draft:
    rows, lines = sheet.rows, sheet.lines
    r0 = [c.strip().lstrip("\ufeff") for c in rows[0]]
    r1 = [c.strip() for c in rows[1]] if len(rows) > 1 else [""] * len(r0)
    body = rows[2:]
    draft = Draft(fmt, [], lines[2:], ragged=list(sheet.ragged))
    width = len(r0)

    groups: list[tuple[str, list[int]]] = []
    filled = 0
    html_texts = 0
    for j in range(width):
        if r0[j] and not r1[j]:  # the metadata block: one header row
            name = r0[j]
            key = name.casefold().replace(" ", "").replace("_", "")
            values = [r[j] for r in body]
            if key in _PERSONAL:
                draft.ignored[where(name, j + 1)] = f"personal data ({_PERSONAL[key]}): " \
                                                    "not imported"
                continue
            cid = name if " " not in name else "".join(w[:1].upper() + w[1:]
                                                       for w in name.split())
            kind, role = _META_ROLES.get(key, ("meta", None))
            draft.cols.append(Col(cid, "", values, (name,), (j + 1,), kind, role))
            continue
        if r0[j]:
            groups.append((r0[j], [j]))
        elif groups:
            groups[-1][1].append(j)
            filled += 1
        else:
            groups.append(("", [j]))
    if filled:
        draft.notes.append(f"{filled} blank question cell(s) of header row 1 filled forward "
                           "(continuation columns of the question before)")

    collapsed: list[str] = []
    multi: list[str] = []
    for n, (raw_text, cols) in enumerate(groups, start=1):
        text = strip_html(raw_text)
        html_texts += has_html(raw_text)
        qid = f"Q{n}"
        labels = [r1[j] for j in cols]
        values = {j: [r[j] for r in body] for j in cols}
        has = {j: any(v.strip() for v in values[j]) for j in cols}
        option_like = {j: labels[k].casefold() not in _RESPONSE and
                       all(not v.strip() or v.strip() == labels[k] for v in values[j])
                       for k, j in enumerate(cols)}
        other_text = {j: not option_like[j] and bool(_OTHER.search(labels[k]))
                      and labels[k].casefold() not in _RESPONSE for k, j in enumerate(cols)}
        options = [j for j in cols if option_like[j]]
        if not any(has.values()):
            is_option_group = True  # nobody answered: nothing tells options from matrix rows
        else:
            is_option_group = any(option_like[j] and has[j] for j in options) and all(
                option_like[j] or other_text[j] for j in cols if has[j])
        if len(cols) == 1:
            j = cols[0]
            label = labels[0]
            shown = text if label.casefold() in _RESPONSE or not label or option_like[j] \
                else f"{text} — {strip_html(label)}"
            draft.cols.append(Col(qid, shown, values[j], (raw_text, label), (j + 1,)))
            continue
        if is_option_group:
            opts = [j for j in cols if option_like[j] or not has[j]]
            answers = []
            several = False
            for i in range(len(body)):
                chosen = [values[j][i].strip() for j in opts if values[j][i].strip()]
                several |= len(chosen) > 1
                answers.append(JOIN.join(chosen))
            draft.cols.append(Col(qid, text, answers,
                                  (raw_text, *[labels[cols.index(j)] for j in opts]),
                                  tuple(j + 1 for j in opts)))
            collapsed.append(f"{qid} ({len(opts)} columns)")
            if several:
                multi.append(qid)
            rest = [j for j in cols if j not in opts]
        else:
            rest = list(cols)
        response = [j for j in rest if labels[cols.index(j)].casefold() in _RESPONSE]
        n_other = 0
        for k, j in enumerate(rest, start=1):
            label = labels[cols.index(j)]
            if not is_option_group and len(response) == 1 and j == response[0]:
                cid, shown = qid, text
            elif other_text[j] or (is_option_group and _OTHER.search(label)):
                n_other += 1
                cid = f"{qid}_other" if n_other == 1 else f"{qid}_other{n_other}"
                shown = f"{text} — {strip_html(label)}"
            else:
                cid, shown = f"{qid}_{cols.index(j) + 1}", f"{text} — {strip_html(label)}"
            draft.cols.append(Col(cid, shown, values[j], (raw_text, label), (j + 1,)))
    if collapsed:
        draft.notes.append("one column per answer option collapsed back to one answer: "
                           + ", ".join(collapsed[:10]) + (" …" if len(collapsed) > 10 else ""))
        draft.coerced["option columns collapsed into one answer"] += sum(
            int(c.split("(")[1].split()[0]) for c in collapsed)
    if multi:
        draft.notes.append(f"several options per response (select all that apply) joined with "
                           f"{JOIN!r}: {', '.join(multi[:10])}{' …' if len(multi) > 10 else ''}")
    if html_texts:
        draft.notes.append(f"HTML (<br> …) removed from {html_texts} question text(s)")
    return draft
