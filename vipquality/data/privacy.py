"""Personal data in free text: scrubbing survey comments, and finding leaks in output files.

VIP clients expect absolute confidentiality. Personal CRM columns are dropped at ingest
(:mod:`vipquality.data.ingest`), but clients also write personal data into the survey's free-text
comment ("call me on +7 915 …", "thanks to Anna"). :func:`scrub_comment` replaces it with
placeholders before a comment is stored, so no comment shown anywhere can carry it:

=================  ==============================================================================
placeholder        what it replaces
=================  ==============================================================================
``[e-mail]``       ``name@domain.tld`` (any address with a dot in the domain)
``[account]``      IBANs (``DE89 3704 0044 0532 0130 00``, ``GB29NWBK60161331926819``) and any run
                   of 12 or more digits, optionally grouped by single spaces or dashes (card
                   numbers ``4276 1234 5678 9012`` or ``4276.1234.5678.9012``, 20-digit Russian
                   account numbers)
``[phone]``        ``+7 (999) 123-45-67``, ``8 999 123 45 67``, ``8-800-555-35-35``,
                   ``+44 20 7946 0958``, ``+1 (555) 123-4567``, ``(999) 123-45-67``,
                   ``9991234567`` (a ten-digit Russian mobile), ``123-45-67`` (a local number),
                   and any ``+`` followed by at least 8 digits with spaces, dots, dashes or
                   brackets between them; besides, every number that Google's libphonenumber
                   (the ``phonenumbers`` package) finds valid for one of ``regions`` (the
                   workspace's countries: Greek ``210 123 4567``, ``6912345678``, Philippine
                   ``0917 123 4567``, ``(02) 8123 4567``, Russian ``495 123 45 67``)
``[document]``     passport and national-id numbers of the workspace's countries: Russian
                   passports (``45 06 123456``) and SNILS (``123-456-789 01``), Greek identity
                   cards (``ΑΚ 123456``, ``AK-123456``), Philippine passports (``P1234567A``), SSS
                   (``34-1234567-8``) and TIN (``123-456-789-000``) numbers, and any run of 9–11
                   digits standing alone (tax and social-security numbers: AFM, AMKA, INN)
``[id]``           a word equal to one of ``ids`` (client ids of the CRM extract)
``[address]``      one of ``addresses`` as a whole (case and spacing ignored)
``[name]``         a word of one of ``names`` (the staff roster, the CRM's names), compared after
                   case and accent folding (``ΠΑΠΑΔΟΠΟΥΛΟΣ``, ``JOSE`` for ``José``); Cyrillic
                   and Greek words also in their inflected forms (``Анна`` → ``Анне``,
                   ``Иванов`` → ``Иванову``, ``Παπαδόπουλος`` → ``Παπαδόπουλο``,
                   ``Παπαδόπουλε``); neighbouring ``[name]`` placeholders merge into one
=================  ==============================================================================

Name words shorter than 3 letters, and legal-form words (``ООО``, ``LLC`` …) are not masked; a
name word of 3–4 letters is masked only when capitalised in the comment (``Bill`` but not ``the
bill``); longer ones whatever their case. Placeholders are never re-scrubbed, so scrubbing is
idempotent.

:func:`find_personal_data` is the checking side: it lists every planted string or contact
pattern found in a folder's files, Parquet included (decoded, not as compressed bytes).

Examples
--------
>>> scrub_comment("Call Anna Petrova on +7 (915) 123-45-67 or anna@example.org",
...               names=["Anna Petrova"])
'Call [name] on [phone] or [e-mail]'
>>> scrub_comment("Спасибо Анне! Карта 4276 1234 5678 9012", names=["Анна Смирнова"])
'Спасибо [name]! Карта [account]'
"""

from __future__ import annotations

import re
import re._casefix as _casefix
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["scrub_comment", "Scrubber", "find_personal_data", "Finding", "EMAIL_RE", "PHONE_RE",
           "EMAIL_MASK", "PHONE_MASK", "ACCOUNT_MASK", "NAME_MASK", "ID_MASK", "ADDRESS_MASK",
           "DOCUMENT_MASK", "DEFAULT_REGIONS"]

EMAIL_MASK, PHONE_MASK, ACCOUNT_MASK = "[e-mail]", "[phone]", "[account]"
NAME_MASK, ID_MASK, ADDRESS_MASK = "[name]", "[id]", "[address]"
DOCUMENT_MASK = "[document]"
#: Countries whose numbering plans and document numbers are recognised when the workspace names
#: none (``countries`` in workspace.yaml): the markets vipquality was conceived for.
DEFAULT_REGIONS = ("GR", "PH", "RU")

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?"
                      r"(?![A-Za-z0-9])")


def _phone_re(sep: str) -> re.Pattern:
    return re.compile("|".join([
        # +7 / 8 then a 3–5 digit area code (maybe bracketed) and 5–7 more digits
        rf"(?<![\w+])(?:\+\d{{1,3}}|8){sep}\(?\d{{3,5}}\)?{sep}\d{{1,3}}{sep}\d{{2}}{sep}\d{{2}}"
        r"(?!\d)",
        # any + followed by 8 or more digits with separators
        r"(?<![\w+])\+\d(?:[\s().-]{0,2}\d){7,}(?!\d)",
        # (999) 123-45-67, (555) 123-4567
        r"(?<![\w])\(\d{3,5}\)\s?\d{2,3}[\s-]?\d{2}[\s-]?\d{2,3}(?!\d)",
        # a Russian mobile without its prefix: 999 123-45-67, 9991234567
        rf"(?<![\w+])9\d{{2}}{sep}\d{{3}}{sep}\d{{2}}{sep}\d{{2}}(?!\d)",
        # a local number: 123-45-67
        r"(?<![\w-])\d{3}-\d{2}-\d{2}(?![\w-])",
    ]))


PHONE_RE = _phone_re(r"[\s.-]?")
# Looking for leaks in outputs full of numbers: no dot as a separator (8.4375213 is a number)
_SCAN_PHONE_RE = _phone_re(r"[ -]?")
_ACCOUNT_RE = re.compile(r"(?<![\w+])\d(?:[ .-]?\d){11,}(?![\d]|[.,]\d)")
# Document numbers (passports, national ids, tax and social-security numbers), by country; the
# last pattern (9–11 digits standing alone) is every country's: AFM (GR, 9), INN (RU, 10 or 12,
# 12 is an account already), AMKA (GR, 11), SNILS without separators (RU, 11).
_DOCUMENT_PATTERNS = {
    # a passport's series and number are written apart (ten digits in a row are a phone first)
    "RU": [r"(?<![\w.,-])\d{2}\s?\d{2}\s(?:№\s?)?\d{6}(?![\w-]|[.,]\d)",   # passport
           r"(?<![\w-])\d{3}-\d{3}-\d{3}[ -]\d{2}(?![\w-])"],                  # SNILS
    "GR": [r"(?<![\w-])[Α-ΩA-Z]{2}[ -]?\d{6}(?![\w-])"],                        # identity card
    "PH": [r"(?<![\w-])[A-Z]{1,2}\d{7}[A-Z]?(?![\w-])",                         # passport
           r"(?<![\w-])\d{2}-\d{7}-\d(?![\w-])",                                # SSS
           r"(?<![\w-])\d{3}-\d{3}-\d{3}(?:-\d{3,5})?(?![\w-]|\s\d)"],       # TIN
}
_ANY_DOCUMENT_RE = re.compile(r"(?<![\w.,+-])\d{9,11}(?![\w-]|[.,]\d)")
_WORD_RE = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_ID_TOKEN_RE = re.compile(r"[\w-]+")
_LETTER_RUN_RE = re.compile(r"[^\W\d_]+")
_DIGIT_RE = re.compile(r"\d")
_PATTERN_CACHE = 4096
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_GREEK = re.compile(r"[\u0370-\u03ff]")
_PLACEHOLDER_RE = re.compile(r"\[(?:e-mail|phone|account|name|id|address|document)\]")
_MERGE_NAMES = re.compile(re.escape(NAME_MASK) + r"(?:[\s,]+" + re.escape(NAME_MASK) + r")+")
#: Words of legal entities' names that are not names (never masked).
LEGAL_FORMS = frozenset(
    "ооо оао зао пао ао нко ип тоо чп llc ltd jsc pjsc inc gmbh plc sa ag corp co".split())
_MIN_NAME, _CAPITALISED_ONLY = 3, 4
_CYRILLIC_NAME_ENDINGS = "аяйьое"
# Greek surnames and first names change their ending with the grammatical case (Παπαδόπουλος,
# -ου, -ο, -ε; Γεώργιος, -ίου, -ιο, -ιε; Μαρία, -ας): the stem is the folded name without one of
# these endings, longest first. Hand-written because it is this short list for names (a full
# stemmer conflates ordinary words with names).
_GREEK_NAME_ENDINGS = ("ους", "ος", "ης", "ας", "ου", "ων", "ο", "ε", "η", "α", "ι")


def _norm(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _key(word: str) -> str:
    """How name words are compared: case-folded, accents removed (ΠΑΠΑΔΟΠΟΥΛΟΣ = Παπαδόπουλος,
    JOSE = José), Greek final sigma as σ, ё as е (Пётр = Петр)."""
    folded = word.casefold().replace("ё", "е").replace("й", "\0")
    if folded.isascii():
        return folded
    bare = "".join(c for c in unicodedata.normalize("NFD", folded)
                   if not unicodedata.combining(c))
    return bare.replace("\0", "й").replace("ς", "σ")


def _stems_of(key: str) -> list[str]:
    """The stems a name word's inflected forms share (Cyrillic and Greek; none for others)."""
    if _CYRILLIC.search(key):
        out = [key]
        if key[-1] in _CYRILLIC_NAME_ENDINGS and len(key) - 1 >= _MIN_NAME:
            out.append(key[:-1])
        return out
    if _GREEK.search(key):
        out = [key]
        for ending in _GREEK_NAME_ENDINGS:
            if key.endswith(ending.replace("ς", "σ")) and len(key) - len(ending) >= _MIN_NAME:
                out.append(key[:-len(ending)])
                break
        return out
    return []


def _phone_spans(text: str, regions: Sequence[str]) -> list[tuple[int, int]]:
    """Where libphonenumber finds a valid number of one of ``regions`` in ``text``."""
    import phonenumbers

    spans = []
    for region in regions:
        for m in phonenumbers.PhoneNumberMatcher(text, region,
                                                 leniency=phonenumbers.Leniency.VALID):
            spans.append((m.start, m.end))
    return spans


class Scrubber:
    """Replaces personal data in free text; build it once, apply it to many comments.

    Parameters
    ----------
    names : iterable of str
        Full names (people or companies) whose words are masked as ``[name]``.
    ids : iterable of str
        Identifiers (client ids) masked as ``[id]`` where a comment word equals one.
    addresses : iterable of str
        Addresses masked as ``[address]`` where a comment contains one whole.
    regions : sequence of str
        ISO 3166 country codes whose phone numbering plans and document numbers are recognised
        (default :data:`DEFAULT_REGIONS`).

    Notes
    -----
    Each step first asks a cheap question that every comment it would change answers "yes" to,
    and runs its (costly) substitution only then: contact and account patterns need a digit or an
    ``@``; ids a word-and-hyphen token of the id set; names a letter run of the name set (or of its
    Cyrillic stems); addresses a whitespace-delimited token of one of them (below). The
    substitutions themselves are unchanged, so the output is the same as running every step on
    every comment (``tests/test_privacy.py`` checks it against that reference).
    """

    def __init__(self, names: Iterable[str] = (), *, ids: Iterable[str] = (),
                 addresses: Iterable[str] = (),
                 regions: Sequence[str] = DEFAULT_REGIONS) -> None:
        self._names: set[str] = set()
        self._stems: set[str] = set()
        for full in names:
            if not isinstance(full, str):
                continue
            for word in _WORD_RE.findall(full):
                key = _key(word)
                if len(key) < _MIN_NAME or key in LEGAL_FORMS:
                    continue
                self._names.add(key)
                self._stems.update(_stems_of(key))
        self._regions = tuple(str(r).upper() for r in regions)
        self._documents = re.compile("|".join(
            p for r in self._regions for p in _DOCUMENT_PATTERNS.get(r, ()))) \
            if any(r in _DOCUMENT_PATTERNS for r in self._regions) else None
        self._gate = _name_gate(self._names, self._stems)
        self._ids = {str(i).strip() for i in ids if isinstance(i, str) and str(i).strip()}
        self._addresses = _AddressIndex(addresses)

    # one word ------------------------------------------------------------------------------
    def _is_name(self, word: str) -> bool:
        key = _key(word)
        if len(key) <= _CAPITALISED_ONLY and not word[:1].isupper():
            return False
        if key in self._names:
            return True
        if self._stems and (_CYRILLIC.search(key) or _GREEK.search(key)):
            # inflected: Анне, Иванову, Ивановым; Παπαδόπουλο, Παπαδόπουλε, Γεωργίου
            return key in self._stems or any(
                key[:-k] in self._stems for k in (1, 2, 3) if len(key) - k >= _MIN_NAME)
        return False

    def _may_name(self, text: str) -> bool:
        """Whether a word of ``text`` could be a name: one of its letter runs (case-folded) is a
        name word, a part of one, or a stem plus up to three letters. Every word
        :meth:`_is_name` accepts passes, so a ``False`` lets :meth:`_words` be skipped."""
        runs = _key(" ".join(_LETTER_RUN_RE.findall(text))).split(" ")
        gate = self._gate
        if self._stems:
            return any(r in gate or r[:-1] in gate or r[:-2] in gate or r[:-3] in gate
                       for r in runs)
        return any(r in gate for r in runs)

    def _words(self, text: str) -> str:
        def one(m: re.Match) -> str:
            word = m.group(0)
            parts = re.split(r"([-'’])", word)
            if self._is_name(word) or (len(parts) > 1 and all(
                    self._is_name(p) for p in parts[::2])):
                return NAME_MASK
            return word
        return _MERGE_NAMES.sub(NAME_MASK, _WORD_RE.sub(one, text))

    def _sub_outside_placeholders(self, pattern: re.Pattern, mask, text: str) -> str:
        out, last = [], 0
        for m in _PLACEHOLDER_RE.finditer(text):
            out.append(pattern.sub(mask, text[last:m.start()]))
            out.append(m.group(0))
            last = m.end()
        out.append(pattern.sub(mask, text[last:]))
        return "".join(out)

    def __call__(self, text: str) -> str:
        """``text`` with every kind of personal data above replaced by its placeholder."""
        if not isinstance(text, str) or not text:
            return text
        sub = self._sub_outside_placeholders
        if "@" in text:
            text = sub(EMAIL_RE, EMAIL_MASK, text)
        address = self._addresses.pattern_for(text)
        if address is not None:
            text = sub(address, ADDRESS_MASK, text)
        # client ids first: exact CRM values, which a document pattern would also take
        # (C0987123 has the shape of a Philippine passport number)
        if self._ids and not self._ids.isdisjoint(_ID_TOKEN_RE.findall(text)):
            text = sub(_ID_TOKEN_RE, lambda m: ID_MASK if m.group(0) in self._ids
                       else m.group(0), text)
        if _DIGIT_RE.search(text):  # IBANs, phones, accounts and documents all hold digits
            text = self._numbers(text)
        if self._names and self._may_name(text):
            pieces = re.split(f"({_PLACEHOLDER_RE.pattern})", text)
            text = "".join(p if i % 2 else self._words(p) for i, p in enumerate(pieces))
        return text

    def _numbers(self, text: str) -> str:
        """Account, document and phone numbers, most specific first."""
        sub = self._sub_outside_placeholders
        text = sub(_IBAN_RE, lambda m: ACCOUNT_MASK if sum(c.isdigit() for c in m.group(0))
                   >= 10 else m.group(0), text)
        text = sub(PHONE_RE, PHONE_MASK, text)
        text = sub(_ACCOUNT_RE, ACCOUNT_MASK, text)
        if self._documents is not None:
            text = sub(self._documents, DOCUMENT_MASK, text)
        if self._regions and len(_DIGIT_RE.findall(text)) >= 7:
            text = self._national_phones(text)
        return sub(_ANY_DOCUMENT_RE, DOCUMENT_MASK, text)  # after the phones of 9–11 digits

    def _national_phones(self, text: str) -> str:
        """Numbers in the national formats of the workspace's countries (libphonenumber),
        outside placeholders already written."""
        pieces = re.split(f"({_PLACEHOLDER_RE.pattern})", text)
        out = []
        for i, piece in enumerate(pieces):
            if i % 2 or len(_DIGIT_RE.findall(piece)) < 7:
                out.append(piece)
                continue
            spans = sorted(_phone_spans(piece, self._regions))
            last, parts = 0, []
            for start, end in spans:
                if start < last:
                    continue
                parts += [piece[last:start], PHONE_MASK]
                last = end
            out.append("".join(parts) + piece[last:])
        return "".join(out)

    def series(self, comments: pd.Series) -> pd.Series:
        """:meth:`__call__` over a column of text (missing values stay missing).

        Each distinct non-empty comment is scrubbed once (answers such as "Всё устраивает,
        спасибо." repeat), and empty ones not at all.
        """
        values = comments.to_numpy(dtype=object)
        todo = [v for v in dict.fromkeys(values.tolist()) if isinstance(v, str) and v]
        if not todo:
            return comments.copy()
        done = {v: self(v) for v in todo}
        out = [done.get(v, v) if isinstance(v, str) else v for v in values.tolist()]
        return pd.Series(out, index=comments.index, dtype=comments.dtype, name=comments.name)


# The candidates of the address step. Python's IGNORECASE compares characters by their simple
# lower case, and a few by small equivalence classes besides (i/ı, s/ſ, σ/ς, в/ᲀ, …: re._casefix);
# folding both sides to one member of the class makes "the pattern matches" imply "the folded
# tokens are equal", so a set lookup can only find too many candidates, never too few.
_FOLD = {}
for _a, _others in _casefix._EXTRA_CASES.items():
    _first = min((_a, *_others))
    for _c in (_a, *_others):
        _FOLD[_c] = _first


def _fold(text: str) -> str | None:
    """``text`` lowered and folded as above; ``None`` when lowering changes its length (the
    full lower case of ``İ``, which the per-character matching does not use)."""
    low = text.lower()
    if len(low) != len(text):
        return None
    return low.translate(_FOLD)


class _AddressIndex:
    """Which addresses a comment may contain, by a set lookup, and the regex of just those.

    An address of three or more words can only match where its inner words stand whole between
    whitespace, so it is indexed by its longest inner word; shorter ones (a word may match inside
    a longer one) are always candidates. The regex of a candidate set keeps the order of the full
    alternation (longest first), so it finds exactly what that would.
    """

    def __init__(self, addresses: Iterable[str]) -> None:
        phrases = sorted({_norm(a) for a in addresses if isinstance(a, str) and a.strip()},
                         key=lambda p: (-len(p), p))
        self._phrases = phrases
        self._by_word: dict[str, list[int]] = {}
        always = []
        for i, phrase in enumerate(phrases):
            words = phrase.split()
            inner = sorted(words[1:-1], key=len, reverse=True)
            folded = _fold(inner[0]) if inner else None
            if folded is None:
                always.append(i)
            else:
                self._by_word.setdefault(folded, []).append(i)
        self._always = tuple(always)
        self._compiled: dict[tuple[int, ...], re.Pattern] = {}

    def pattern_for(self, text: str) -> re.Pattern | None:
        """The alternation of the addresses ``text`` may contain (``None``: none)."""
        if not self._phrases:
            return None
        folded = _fold(text)
        if folded is None:
            chosen = tuple(range(len(self._phrases)))
        else:
            hits = set(self._always)
            by_word = self._by_word
            for word in set(folded.split()):
                if word in by_word:
                    hits.update(by_word[word])
            if not hits:
                return None
            chosen = tuple(sorted(hits))
        pattern = self._compiled.get(chosen)
        if pattern is None:
            pattern = re.compile("|".join(r"\s+".join(map(re.escape, self._phrases[i].split()))
                                          for i in chosen), re.IGNORECASE)
            if len(self._compiled) < _PATTERN_CACHE:
                self._compiled[chosen] = pattern
        return pattern


def _name_gate(names: set[str], stems: set[str]) -> frozenset[str]:
    """Name words and stems, and their letter runs (a hyphenated name's parts) with the stems
    of those: what :meth:`Scrubber._may_name` looks letter runs up in."""
    gate = set(names) | set(stems)
    for key in list(gate):
        for part in _LETTER_RUN_RE.findall(key):
            gate.add(part)
            gate.update(_stems_of(part))
    gate.discard("")
    return frozenset(gate)


def scrub_comment(text: str, names: Iterable[str] = (), *, ids: Iterable[str] = (),
                  addresses: Iterable[str] = ()) -> str:
    """``text`` with e-mails, phone numbers, account and card numbers, and the given names, ids
    and addresses replaced by placeholders (see the module's table).

    Parameters
    ----------
    text : str
        A free-text comment.
    names : iterable of str
        Names to mask wherever one of their words appears: the staff roster's and the CRM
        extract's (full names; each word counts, so a first name alone is masked too).
    ids, addresses : iterable of str
        Client ids and postal addresses to mask.

    Examples
    --------
    >>> scrub_comment("Менеджер Пётр Иванов обещал перезвонить 8 (916) 555-12-34",
    ...               names=["Иванов Пётр Сергеевич"])
    'Менеджер [name] обещал перезвонить [phone]'
    >>> scrub_comment("IBAN DE89 3704 0044 0532 0130 00, client C0987123", ids=["C0987123"])
    'IBAN [account], client [id]'
    """
    return Scrubber(names, ids=ids, addresses=addresses)(text)


# ----------------------------------------------------------------------------- finding leaks
@dataclass(frozen=True)
class Finding:
    """One piece of personal data found in a file."""

    path: Path
    kind: str  # "planted", "e-mail", "phone"
    text: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind} {self.text!r}"


def _file_text(path: Path) -> str:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        parts = [" ".join(table.schema.names)]
        for column in table.columns:
            parts.append("\n".join("" if v is None else str(v) for v in column.to_pylist()))
        return "\n".join(parts)
    return path.read_bytes().decode("utf-8", errors="replace")


def _in_a_number(text: str, start: int, end: int) -> bool:
    """A phone-like match that is the fraction or exponent of a number (``0.8481151572923``,
    chart data), not a phone number."""
    before = text[max(0, start - 2):start]
    after = text[end:end + 2]
    return (before[-1:] in (".", ",") and before[:1].isdigit()) or \
        (after[:1] in (".", "e", "E") and after[1:2].isdigit())


def find_personal_data(folder: str | Path, planted: Sequence[str] = (), *,
                       contacts: bool = True,
                       skip_contacts_in: Sequence[str] = ("plotly.min.js",)) -> list[Finding]:
    """Every planted string, e-mail address and phone number in the files under ``folder``.

    Parameters
    ----------
    folder : path
        A folder (searched recursively, hidden files included) or a single file.
    planted : sequence of str
        Strings that must not appear (matched ignoring case, also with HTML's ``&#x27;``-style
        escaping undone, and in Parquet files' decoded values).
    contacts : bool
        Also report anything that looks like an e-mail address or a phone number.
    skip_contacts_in : sequence of str
        File names exempt from the contact patterns (a JavaScript library has e-mail-like
        strings in its licence); planted strings are still searched there.
    """
    import html as _html

    folder = Path(folder)
    files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
    out: list[Finding] = []
    lowered = [(s, s.casefold()) for s in planted if s]
    for path in files:
        text = _file_text(path)
        hay = text.casefold()
        unescaped = _html.unescape(text).casefold() if "&" in text else hay
        for s, low in lowered:
            if low in hay or low in unescaped or low.encode("unicode_escape").decode() in hay:
                out.append(Finding(path, "planted", s))
        if contacts and path.name not in skip_contacts_in:
            out += [Finding(path, "e-mail", m.group(0)) for m in EMAIL_RE.finditer(text)]
            out += [Finding(path, "phone", m.group(0)) for m in _SCAN_PHONE_RE.finditer(text)
                    if not _in_a_number(text, m.start(), m.end())]
    return out
