"""The roles of a survey export's columns, guessed with a confidence (``vipquality init``).

Each guess says why it was made, so the drafted YAML can carry it as a ``# REVIEW:`` note. The
rules are short and deliberate (no trained model: a handful of wordings in English, Greek,
Russian and Tagalog, plus the values' scale, are what a quality manager would look at too):

- NPS: integer answers within 0–10 and the recommendation wording; a "0–10" item without it is
  a weaker guess.
- CES: the ease / effort wording on a short scale; overall satisfaction: "overall" and
  "satisfied" together.
- CSI: the other rating items (their importance twins by the importance wording, paired by the
  rest of their text or their column name).
- comment: free text with the "why / comment / change" wording, else the longest free text.
- response id, client id, date: known metadata names of the survey tools, then the values
  (unique ids, dates).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Guess", "SurveyProposal", "propose_roles"]

_NPS_WORDS = re.compile(r"recommend|συστ[ήη]σ|σ[ύυ]στασ|προτε[ίι]ν|рекоменд|посовет|"
                        r"rekomenda", re.IGNORECASE)
_ZERO_TEN = re.compile(r"\b0\s*(?:-|–|—|to|έως|до|hanggang)\s*10\b", re.IGNORECASE)
_CES_WORDS = re.compile(r"\beas(?:y|ier|e)\b|effort|εύκολ|ευκολ|προσπ[άα]θ|легк|усили|madali|kadali|pagsisikap",
                        re.IGNORECASE)
_OVERALL_WORDS = re.compile(r"overall|in general|συνολικ|γενικ[άα]|в целом|в общем|"
                            r"pangkalahatan", re.IGNORECASE)
_SATISFIED_WORDS = re.compile(r"satisf|ικανοπ|удовлетвор|довольн|nasiyahan|kasiyahan",
                              re.IGNORECASE)
_IMPORTANCE_WORDS = re.compile(r"importan|σημαντικ|σπουδα|важн|значим|mahalaga|wichtig",
                               re.IGNORECASE)
_COMMENT_WORDS = re.compile(r"\bwhy\b|comment|\bchange\b|\bimprove\b|suggest|anything else|σχόλ|γιατ[ίι]|"
                            r"βελτι|коммент|почему|улучш|предлож|bakit|komento|mungkahi",
                            re.IGNORECASE)
#: rankings and counts answer with small integers too, but they are not ratings
_NOT_RATING_WORDS = re.compile(r"\brank|κατατ[άα]ξ|ранжир|расставьте|\branggo|number of|how many|"
                               r"πόσ[εοα]ς? (?:φορ|μέρ)|\bсколько\b|\bilan\b", re.IGNORECASE)
_ROLE_WORDS = re.compile(r"\b(?:satisfaction|satisfied|importance|important|sat|imp)\b",
                         re.IGNORECASE)
#: metadata columns of the survey tools that are never items
_META = {"status", "finished", "progress", "lastpage", "seed", "startlanguage", "duration",
         "durationinseconds", "userlanguage", "distributionchannel", "ipaddress", "responseset",
         "locationlatitude", "locationlongitude", "collectorid", "id", "responseid"}
_RESPONSE_ID = ["responseid", "respondentid", "id", "recordid", "responseno", "_recordid"]
_CLIENT_ID = ["clientid", "customerid", "clientno", "customerno", "clientnumber",
              "customernumber", "crmid", "cif", "client", "customer", "externalreference",
              "externaldatareference", "κωδικόςπελάτη", "кодклиента", "idклиента",
              "номерклиента"]
_SUBMITTED = ["submittedat", "recordeddate", "enddate", "completiontime", "timestamp",
              "submitdate", "datestamp", "submitted", "date", "startdate", "starttime"]
_ORDER = ("response_id", "client_id", "submitted_at", "nps", "ces", "overall", "sat", "imp",
          "comment")


@dataclass(frozen=True)
class Guess:
    """One column's proposed role.

    ``role`` is ``response_id``, ``client_id``, ``submitted_at``, ``nps``, ``ces``,
    ``overall``, ``sat`` or ``imp`` (a CSI attribute's satisfaction or importance item; the
    attribute is ``attribute``) or ``comment``; ``confidence`` is in 0–1; ``why`` says what it
    rests on. ``column`` is ``None`` when nothing was found (the YAML then gets a placeholder).
    """

    role: str
    column: str | None
    confidence: float
    why: str
    text: str = ""
    scale: tuple[int, int] | None = None
    attribute: str | None = None
    label: str = ""


@dataclass
class SurveyProposal:
    """The guessed roles of one export's columns (see :func:`propose_roles`)."""

    format: str
    guesses: list[Guess]
    columns: tuple[str, ...]
    questions: dict[str, str]
    rows: int
    quarter: str | None = None
    unassigned: list[str] = field(default_factory=list)

    def get(self, role: str) -> Guess | None:
        return next((g for g in self.guesses if g.role == role), None)

    def all(self, role: str) -> list[Guess]:
        return [g for g in self.guesses if g.role == role]

    def table(self) -> pd.DataFrame:
        """``role, column, confidence, why`` — one row per guess (no values of the answers)."""
        rank = {r: i for i, r in enumerate(_ORDER)}
        rows = [{"role": g.role if g.attribute is None else f"{g.role}:{g.attribute}",
                 "column": g.column or "(not found)", "confidence": round(g.confidence, 2),
                 "why": g.why} for g in sorted(self.guesses, key=lambda g: rank[g.role])]
        return pd.DataFrame(rows, columns=["role", "column", "confidence", "why"])


def _key(name: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", str(name)).casefold())


def _slug(text: str) -> str:
    s = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "_", s.casefold()).strip("_")
    return s[:40].rstrip("_")


@dataclass(frozen=True)
class _Profile:
    filled: int
    ints: bool
    lo: float | None
    hi: float | None
    distinct: int
    mean_len: float
    dates: float
    unique: bool


def _profile(s: pd.Series) -> _Profile:
    v = s.astype(str).str.strip()
    v = v[v != ""]
    n = len(v)
    if not n:
        return _Profile(0, False, None, None, 0, 0.0, 0.0, False)
    num = pd.to_numeric(v, errors="coerce")
    ints = bool(num.notna().mean() >= 0.95 and (num.dropna() % 1 == 0).all())
    with_digits = v.str.contains(r"\d")
    dates = 0.0
    if with_digits.mean() > 0.9 and not num.notna().all():
        parsed = pd.to_datetime(v.head(200), errors="coerce", format="mixed")
        dates = float(parsed.notna().mean())
    return _Profile(n, ints, float(num.min()) if ints else None,
                    float(num.max()) if ints else None, int(v.nunique()),
                    float(v.str.len().mean()), dates, bool(v.is_unique))


def _scale(p: _Profile, text: str) -> tuple[int, int]:
    m = re.search(r"\b([01])\s*(?:-|–|—|to)\s*(5|7|10)\b", text)
    if m:
        return int(m[1]), int(m[2])
    lo, hi = int(p.lo), int(p.hi)
    for top in (5, 7, 10):
        if hi <= top:
            return (0 if lo == 0 else 1), top
    return lo, hi


def _is_rating(p: _Profile) -> bool:
    return p.ints and p.distinct >= 2 and p.lo is not None and p.lo >= 0 and p.hi <= 10


def _by_name(columns, names, used) -> str | None:
    keys = {_key(c): c for c in reversed(columns)}
    for n in names:
        c = keys.get(n)
        if c is not None and c not in used:
            return c
    return None


def _common_words(texts: list[str]) -> int:
    """How many leading words all ``texts`` share."""
    if not texts:
        return 0
    split = [t.split() for t in texts]
    n = 0
    while all(len(w) > n for w in split) and len({w[n].casefold() for w in split}) == 1:
        n += 1
    return n


def propose_roles(survey) -> SurveyProposal:
    """Guess the roles of an imported export's columns.

    Parameters
    ----------
    survey : ImportedSurvey
        From :func:`vipquality.data.importers.import_survey` (without an instrument).

    Returns
    -------
    SurveyProposal
        One :class:`Guess` per role found; ``quarter``: the quarter most answers were submitted
        in (``None`` without a date column).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from vipquality.data.importers import import_survey
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "export.csv"
    >>> _ = p.write_text("Timestamp,How likely are you to recommend us to a friend?,Why?\\n"
    ...                  "11/1/2019 8:51:12,9,Friendly and quick\\n"
    ...                  "11/1/2019 9:05:13,6,Slow to answer the phone\\n", encoding="utf-8")
    >>> prop = propose_roles(import_survey(p))
    >>> prop.get("nps").column, prop.get("comment").column, prop.quarter
    ('Q1', 'Q2', '2019Q4')
    """
    data, questions = survey.data, survey.questions
    columns = list(survey.columns)
    profiles = {c: _profile(data[c]) for c in columns}
    has_text = any(questions.get(c) for c in columns)
    text = {c: " ".join(str(questions.get(c) or "").split()) for c in columns}
    guesses: list[Guess] = []
    used: set[str] = set()

    def add(g: Guess) -> None:
        guesses.append(g)
        if g.column:
            used.add(g.column)

    # ids and the date: the tools' metadata names, then the values
    rid = _by_name(columns, _RESPONSE_ID, used)
    if rid is not None:
        add(Guess("response_id", rid, 0.9, f"the survey tool's response id column {rid!r}"))
    else:
        cand = next((c for c in columns if profiles[c].unique and profiles[c].filled == len(data)
                     and not profiles[c].dates and "id" in _key(c)), None)
        add(Guess("response_id", cand, 0.6 if cand else 0.0,
                  "unique values in every row" if cand else
                  "no response id column found: name the column holding each answer's id"))
    cid = _by_name(columns, _CLIENT_ID, used)
    if cid is not None and profiles[cid].filled:
        add(Guess("client_id", cid, 0.85, f"named like a client id ({cid!r})"))
    elif cid is not None:
        add(Guess("client_id", cid, 0.3, f"{cid!r} is where the tool keeps an external id, "
                  "but it is empty in this export: fill it with the CRM client id"))
    else:
        add(Guess("client_id", None, 0.0, "no client id column found: add the CRM client id "
                  "to the survey (an embedded field or hidden question) and name it here"))
    sub = next((c for c in [_by_name(columns, [n], used) for n in _SUBMITTED]
                if c is not None and profiles[c].dates >= 0.9), None)
    if sub is not None:
        add(Guess("submitted_at", sub, 0.9, f"the tool's submission time column {sub!r}"))
    else:
        sub = next((c for c in columns if c not in used and profiles[c].dates >= 0.9), None)
        if sub is not None:
            add(Guess("submitted_at", sub, 0.6, "its values read as dates"))

    # items
    items = [c for c in columns if c not in used and _key(c) not in _META
             and (not has_text or text[c])]
    ratings = [c for c in items if _is_rating(profiles[c])
               and not _NOT_RATING_WORDS.search(text[c])]
    for c in ratings:
        p = profiles[c]
        if _NPS_WORDS.search(text[c] or c) and p.lo >= 0 and p.hi <= 10:
            add(Guess("nps", c, 0.95 if p.hi >= 9 or _ZERO_TEN.search(text[c]) else 0.8,
                      "recommendation wording, answers within 0–10", text[c], (0, 10)))
            break
    if not any(g.role == "nps" for g in guesses):
        c = next((c for c in ratings if _ZERO_TEN.search(text[c])), None)
        if c is not None:
            add(Guess("nps", c, 0.6, "the first item asked on 0–10 (no recommendation wording: "
                      "check that it asks the likelihood to recommend)", text[c], (0, 10)))
    for role, test in (("ces", lambda t: _CES_WORDS.search(t)),
                       ("overall", lambda t: _OVERALL_WORDS.search(t)
                        and _SATISFIED_WORDS.search(t))):
        c = next((c for c in ratings if c not in used and test(text[c] or c)), None)
        if c is not None:
            add(Guess(role, c, 0.8, "ease / effort wording" if role == "ces" else
                      "overall satisfaction wording", text[c], _scale(profiles[c], text[c])))

    rest = [c for c in ratings if c not in used]
    imps = [c for c in rest if _IMPORTANCE_WORDS.search(text[c] or "")
            or re.search(r"(?:^|_)imp(?:ortance)?$", c, re.IGNORECASE)]
    sats = [c for c in rest if c not in imps]

    def stem(c: str) -> str:
        t = _ROLE_WORDS.sub(" ", _IMPORTANCE_WORDS.sub(" ", text[c])) if text[c] else ""
        t = re.sub(r"[\s\-–—:|]+$", "", " ".join(t.split())).strip(" -–—:")
        return t or re.sub(r"(?:_|\b)(?:sat|imp|satisfaction|importance)$", "", c,
                           flags=re.IGNORECASE)

    def _row(c: str) -> str:
        """A matrix row ("How satisfied … - Competence"): what follows the last dash."""
        parts = re.split(r"\s[-–—]\s", text[c]) if text[c] else []
        return parts[-1] if len(parts) > 1 else stem(c)

    # items asked the same way ("On a scale of 0-10, how would you rate the …") are told apart
    # by what follows the words they share
    shared = _common_words([stem(c) for c in sats if text[c]]) if len(sats) > 1 else 0
    ids: set[str] = set()
    for c in sats:
        words = stem(c).split()
        label = " ".join(words[shared:] if text[c] and len(words) > shared else words) or c
        label = re.sub(r"^(?:the|a|an)\s+", "", label.strip(" ?.:")) or c
        aid = _slug(label) or _slug(c) or "attribute"
        if not aid[0].isalpha():
            aid = f"a_{aid}"
        base, k = aid, 2
        while aid in ids:
            aid, k = f"{base}_{k}", k + 1
        ids.add(aid)
        add(Guess("sat", c, 0.7 if text[c] else 0.5, "a rating item (scale "
                  f"{_scale(profiles[c], text[c])[0]}–{_scale(profiles[c], text[c])[1]}): a "
                  "satisfaction attribute of the CSI", text[c], _scale(profiles[c], text[c]),
                  aid, label[:80]))
        twin = next((i for i in imps if _key(_row(i)) == _key(_row(c))), None)
        if twin is not None:
            imps.remove(twin)
            add(Guess("imp", twin, 0.7, f"importance wording, the twin of {c!r}", text[twin],
                      _scale(profiles[twin], text[twin]), aid, label[:80]))
    for c in imps:  # importance items without a satisfaction twin: listed, not mapped
        add(Guess("imp", c, 0.3, "importance wording without a satisfaction item to pair with "
                  "(not mapped)", text[c], _scale(profiles[c], text[c]), None, stem(c)[:80]))
        used.discard(c)

    free = [c for c in items if c not in used and not profiles[c].ints and profiles[c].filled
            and not profiles[c].dates and profiles[c].mean_len >= 8 and profiles[c].distinct >= 2]
    c = next((c for c in free if _COMMENT_WORDS.search(text[c] or c)), None)
    free = [c for c in free if profiles[c].distinct >= 0.5 * profiles[c].filled]
    if c is not None:
        add(Guess("comment", c, 0.85, "free text with the why / comment wording", text[c]))
    elif free:
        c = max(free, key=lambda c: profiles[c].mean_len)
        add(Guess("comment", c, 0.5, "the longest free-text answers", text[c]))

    quarter = None
    sub = next((g.column for g in guesses if g.role == "submitted_at"), None)
    if sub is not None:
        when = pd.to_datetime(data[sub].astype(str).str.slice(0, 19), errors="coerce",
                              format="mixed").dropna()
        if len(when):
            quarter = str(when.dt.to_period("Q").mode().iloc[0]).replace("Q", "Q")
    unassigned = [c for c in columns if c not in used]
    return SurveyProposal(survey.format, guesses, tuple(columns), dict(questions), len(data),
                          quarter, unassigned)
