"""Google Forms and Microsoft Forms responses (CSV or xlsx): one header row of question texts.

Google Forms: ``Timestamp`` first (``11/1/2019 8:51:12`` from the Sheets CSV download, ISO with
milliseconds elsewhere), then one column per question headed by its text, which may hold curly
quotes and, in answers, embedded newlines and emoji. There is no response id: ``ResponseId`` is
made from the time stamp (``GF-20191101T085112402``; a repeat gets ``-2``). A collected e-mail
address column is personal data and is not imported.

Microsoft Forms: ``Id, Start time, Completion time, Email, Name[, Last modified time]`` then the
questions; CSVs saved by Excel are cp1252, and times have minutes only. ``Email`` and ``Name``
are personal data: they are not imported, and the report says so.

Questions are numbered ``Q1, Q2, …`` in file order; the header text is the question text.
"""

from __future__ import annotations

from collections import Counter

from vipquality.data.importers._common import (
    Col,
    Draft,
    Sheet,
    normalise_times,
    slug,
    strip_html,
    where,
)
from vipquality.data.importers._detect import GOOGLE_TIMESTAMP

_GOOGLE_PERSONAL = {"email address": "e-mail", "e-mail address": "e-mail", "username": "e-mail",
                    "email": "e-mail", "name": "name"}
_GOOGLE_META = {"score", "total score"}
_MS_META = {"id": ("Id", "meta", "response_id"),
            "start time": ("StartTime", "time", "started_at"),
            "completion time": ("CompletionTime", "time", "submitted_at"),
            "last modified time": ("LastModifiedTime", "time", None),
            "total points": ("TotalPoints", "meta", None),
            "quiz feedback": ("QuizFeedback", "meta", None)}
_MS_PERSONAL = {"email": "e-mail", "name": "name", "e-mail": "e-mail"}


def _questions(draft: Draft, heads: list[tuple[int, str]], body: list[list[str]]) -> None:
    for n, (j, head) in enumerate(heads, start=1):
        draft.cols.append(Col(f"Q{n}", strip_html(head), [r[j] for r in body], (head,), (j + 1,)))


def read_google(sheet: Sheet, fmt: str = "google-forms") -> Draft:
    rows, lines = sheet.rows, sheet.lines
    head = [c.strip().lstrip("\ufeff") for c in rows[0]]
    body = rows[1:]
    draft = Draft(fmt, [], lines[1:], ragged=list(sheet.ragged))
    questions: list[tuple[int, str]] = []
    stamp: Col | None = None
    for j, h in enumerate(head):
        key = " ".join(h.split()).casefold()
        if j == 0 and key in GOOGLE_TIMESTAMP:
            stamp = Col("Timestamp", "", [r[j] for r in body], (h,), (1,), "time", "submitted_at")
        elif key in _GOOGLE_PERSONAL and j <= 2:
            draft.ignored[where(h, j + 1)] = f"personal data ({_GOOGLE_PERSONAL[key]}): " \
                                             "not imported"
        elif key in _GOOGLE_META:
            draft.cols.append(Col(slug(h), "", [r[j] for r in body], (h,), (j + 1,), "meta"))
        elif not h and not any(r[j].strip() for r in body):
            draft.ignored[where("", j + 1)] = "empty column"
        else:
            questions.append((j, h))
    if stamp is not None:
        parsed = normalise_times(stamp.values, None, None)
        ids, seen = [], Counter()
        for v, raw in zip(parsed.values, stamp.values):
            base = "GF-" + "".join(ch for ch in v[:23] if ch.isdigit()) if v else "GF-blank"
            if len(base) > 11:
                base = base[:11] + "T" + base[11:]
            seen[base] += 1
            ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
        draft.cols.append(Col("ResponseId", "", ids, ("Timestamp",), (), "meta", "response_id"))
        draft.cols.append(stamp)
        draft.notes.append("Google Forms exports no response id: ResponseId made from the "
                           "Timestamp (GF-<date>T<time>)")
    _questions(draft, questions, body)
    newlines = sum("\n" in c.values[i] for c in draft.cols for i in range(len(body)))
    if newlines:
        draft.notes.append(f"{newlines} answer(s) span several lines (kept as written)")
    return draft


def read_microsoft(sheet: Sheet, fmt: str = "microsoft-forms") -> Draft:
    rows, lines = sheet.rows, sheet.lines
    head = [c.strip().lstrip("\ufeff") for c in rows[0]]
    body = rows[1:]
    draft = Draft(fmt, [], lines[1:], ragged=list(sheet.ragged))
    questions: list[tuple[int, str]] = []
    dropped = []
    for j, h in enumerate(head):
        key = " ".join(h.split()).casefold()
        if key in _MS_META:
            cid, kind, role = _MS_META[key]
            draft.cols.append(Col(cid, "", [r[j] for r in body], (h,), (j + 1,), kind, role))
        elif key in _MS_PERSONAL and j < 6:
            draft.ignored[where(h, j + 1)] = f"personal data ({_MS_PERSONAL[key]}): not imported"
            dropped.append(h)
        elif key.startswith(("points - ", "feedback - ")):
            draft.cols.append(Col(slug(h), "", [r[j] for r in body], (h,), (j + 1,), "meta"))
        else:
            questions.append((j, h))
    if dropped:
        draft.notes.append(f"personal data not imported: {', '.join(dropped)} (respondents' "
                           "e-mail and name; link responses to clients with a question or an "
                           "Id instead)")
    _questions(draft, questions, body)
    return draft
