"""Words of a comment as the codeframe matches them: normalised text, tokens and their stems.

:func:`normalise` gives the text the matcher sees: case folded (Greek final sigma ``ς`` → ``σ``),
accents and diaeresis removed (``ά`` → ``α``, ``ё`` → ``е``, ``é`` → ``e``) but ``й`` kept,
apostrophes dropped (``didn't`` → ``didnt``) and every other sign that is not a letter or digit
a space; the signs that end a part of a sentence (``. , ; : ! ?`` and brackets)
are kept as the token ``|``, so a negation never reaches past them. :func:`word_key` gives a
word's key in one language: its Snowball stem for English, Greek and Russian (snowballstemmer,
the same algorithms as NLTK's and Lucene's), its root for Tagalog (:func:`tagalog_root`). Terms of
``themes.yaml`` go through the same two functions, so a term and a comment meet on equal keys.

>>> normalise("Ήταν ΠΟΛΥ αργός, δεν ξαναέρχομαι!", "el")
'ηταν πολυ αργοσ | δεν ξαναερχομαι |'
>>> normalise("Ещё жду ответа", "ru"), normalise("I didn't wait", "en")
('еще жду ответа', 'i didnt wait')
>>> tagalog_root("naghihintay"), tagalog_root("hinintay"), tagalog_root("tinawagan")
('hintay', 'hintay', 'tawag')
"""

from __future__ import annotations

import functools

import pyarrow as pa
import pyarrow.compute as pc
import snowballstemmer

__all__ = [
    "BREAK",
    "NEGATIONS",
    "POST_NEGATIONS",
    "normalise",
    "normalise_column",
    "script_languages",
    "tagalog_root",
    "word_key",
    "word_keys",
]

#: The token that ends a part of a sentence in normalised text.
BREAK = "|"

# NFD marks removed: every combining mark of U+0300–U+036F but the breve U+0306, which is kept
# only in "й" ("ё" becomes "е", "ά" "α", "é" "e"). RE2 patterns (Arrow's regex engine).
_MARKS = "[\u0300-\u0305\u0307-\u036f]"
_APOSTROPHES = "['’`]"
_BREAKS = r"[.,;:!?()\[\]{}…\"«»“”]+"
_OTHER = r"[^\pL\pN|]+"

#: Words that negate what follows them in the same part of a sentence, per language (written
#: normalised). English "no", "not", "never" and contractions; Greek δεν, μην, όχι, ούτε,
#: χωρίς, ποτέ, κανείς/καμία, καθόλου; Russian не, нет, ни, никогда, никто, ничего, без;
#: Tagalog hindi, di, wala(ng), huwag, ni, hindi pa.
NEGATIONS: dict[str, frozenset[str]] = {
    "en": frozenset(["no", "not", "never", "nothing", "nobody", "none", "neither", "nor", "without", "dont", "doesnt", "didnt", "wasnt", "werent", "isnt", "arent", "havent", "hasnt", "hadnt", "cant", "cannot", "couldnt", "wont", "wouldnt", "shouldnt", "hardly"]),
    "el": frozenset(["δεν", "δε", "μην", "μη", "οχι", "ουτε", "χωρισ", "ποτε", "κανεισ", "κανενασ", "καμια", "καμμια", "κανενα", "καθολου"]),
    "ru": frozenset(["не", "нет", "ни", "никогда", "никто", "ничего", "ничто", "нисколько", "без", "нельзя"]),
    "tl": frozenset(["hindi", "di", "wala", "walang", "huwag", "ni", "hinde"]),
}

#: Words that negate what stands before them (Russian "претензий нет", "проблем не было"): ``нет``,
#: and ``было``/``была``/``были`` right after ``не``.
POST_NEGATIONS: dict[str, frozenset[str]] = {"ru": frozenset({"нет"})}
_AFTER_NE = frozenset({"было", "была", "были", "будет"})

# Conjunctions that turn a sentence ("no delay but the fees...") also end a negation's reach.
_TURNS = frozenset(["but", "however", "although", "though", "αλλα", "ομωσ", "ενω", "но", "однако", "зато", "хотя", "pero", "ngunit", "subalit", "kaso", "kaya"])

_STEMMERS = {"en": "english", "el": "greek", "ru": "russian"}


def normalise_column(texts: pa.Array) -> pa.Array:
    """:func:`normalise` over an Arrow string array (nulls stay null), in Arrow's compute
    kernels: a million comments take a few seconds."""
    s = pc.utf8_lower(texts)
    s = pc.utf8_normalize(s, form="NFD")
    s = pc.replace_substring_regex(s, _MARKS, "")
    # й is и + breve in NFD: put it back together (cheaper than composing everything again)
    s = pc.replace_substring(pc.replace_substring(s, "и\u0306", "й"), "\u0306", "")
    s = pc.replace_substring(s, "ς", "σ")
    s = pc.replace_substring_regex(s, _APOSTROPHES, "")
    s = pc.replace_substring_regex(s, _BREAKS, f" {BREAK} ")
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(s, _OTHER, " "))


def normalise(text: str, language: str = "") -> str:
    """The text as the matcher sees it (see the module docstring). Normalisation is the same in
    every language; ``language`` is accepted for symmetry with :func:`word_key`.

    Parameters
    ----------
    text : str
        A comment or a term of ``themes.yaml``.
    language : str
        ``en``, ``el``, ``ru``, ``tl`` or ``""``.

    Examples
    --------
    >>> normalise("Καθυστέρησης, ΑΝΑΜΟΝΗΣ")
    'καθυστερησησ | αναμονησ'
    """
    return normalise_column(pa.array([text], pa.string()))[0].as_py()


def script_languages(word: str) -> tuple[str, ...]:
    """The codeframe languages a normalised word can belong to, by its script: Greek letters
    ``("el",)``, Cyrillic ``("ru",)``, Latin or digits ``("en", "tl")``.

    >>> script_languages("αναμονη"), script_languages("ждал"), script_languages("wait")
    (('el',), ('ru',), ('en', 'tl'))
    """
    for c in word:
        if "\u0370" <= c <= "\u03ff" or "\u1f00" <= c <= "\u1fff":
            return ("el",)
        if "\u0400" <= c <= "\u04ff":
            return ("ru",)
    return ("en", "tl")


# Tagalog morphology, written here because no maintained stemmer covers Tagalog: the affixes
# that inflect verbs and form nouns and adjectives, stripped so that the forms of one root meet.
# Longest first; a prefix is stripped only when at least 4 letters remain.
_TL_PREFIXES = ("nakikipag", "makikipag", "nakipag", "makipag", "pakikipag", "ipinag", "pinaka",
                "nakaka", "napaka", "magpa", "nagpa", "pagpa", "naka", "maka", "paki", "ipag",
                "pinag", "mang", "nang", "pang", "mag", "nag", "pag", "ma", "na", "pa", "ka",
                "i")
_TL_SUFFIXES = ("han", "hin", "an", "in")
_VOWELS = frozenset("aeiou")


@functools.lru_cache(maxsize=1 << 16)
def tagalog_root(word: str) -> str:
    """A Tagalog word's root by affix rules (a normalised word in, its root out).

    In order: the linker ``-ng`` after a vowel (``nangakong``); then, until nothing changes, a
    prefix (``mag-``, ``nag-``, ``pag-``, ``ma-``, ``na-``, ``naka-``, ``nakiki-`` …; at least 4
    letters kept, so ``nangako`` never becomes the pronoun ``ako``), the infix ``-um-`` or
    ``-in-`` after the first consonant when a vowel follows it (``tumawag`` → ``tawag``,
    ``hinintay`` → ``hintay``) and the reduplicated first syllable (``hihintay`` → ``hintay``,
    ``aantay`` → ``antay``); then a suffix ``-an``, ``-in``, ``-han``, ``-hin`` (at least 4
    letters kept); last, ``o``/``u`` and ``e``/``i`` are merged (``sagot``/``sagutin``). Words
    of 3 letters or fewer are left as they are. The same function
    is applied to the codeframe's terms, so an over-stripped root only risks two words meeting,
    never a term missing its own forms.

    Examples
    --------
    >>> [tagalog_root(w) for w in ("tumawag", "tatawag", "paghihintay", "sagutin", "sagot")]
    ['tawag', 'tawag', 'hintay', 'sagut', 'sagut']
    """
    w = word.replace("-", "")
    if len(w) <= 3:
        return w
    if len(w) >= 6 and w.endswith("ng") and w[-3] in _VOWELS:      # the linker: nangakong
        w = w[:-2]
    for _ in range(3):                     # pinapaalalahanan: infix, then repeated syllable...
        before = w
        for p in _TL_PREFIXES:
            if w.startswith(p) and len(w) - len(p) >= 4:
                w = w[len(p):]
                break
        if len(w) >= 5 and w[0] not in _VOWELS and w[1:3] in ("um", "in") and w[3] in _VOWELS:
            w = w[0] + w[3:]
        if len(w) >= 5 and w[0] not in _VOWELS and w[:2] == w[2:4]:
            w = w[2:]
        elif len(w) >= 4 and w[0] in _VOWELS and w[0] == w[1]:
            w = w[1:]
        if w == before:
            break
    for s in _TL_SUFFIXES:
        if w.endswith(s) and len(w) - len(s) >= 4:
            w = w[: -len(s)]
            break
    return w.replace("o", "u").replace("e", "i")


@functools.cache
def _stemmer(language: str):
    # snowballstemmer runs PyStemmer's C build of the same Snowball algorithms when it is
    # installed (it is a dependency): ~10 µs a word instead of ~1 ms for Greek
    return snowballstemmer.stemmer(_STEMMERS[language])


def word_keys(words: list[str], language: str) -> list[str]:
    """:func:`word_key` of many words of one language (one stemmer call).

    >>> word_keys(["waiting", "calls"], "en"), word_keys(["tumawag"], "tl")
    (['wait', 'call'], ['tawag'])
    """
    if language == "tl":
        return [tagalog_root(w) for w in words]
    return _stemmer(language).stemWords(words)


@functools.lru_cache(maxsize=1 << 18)
def word_key(word: str, language: str) -> str:
    """A normalised word's key in ``language``: the Snowball stem (en, el, ru) or the Tagalog
    root (tl).

    >>> word_key("waiting", "en"), word_key("αναμονησ", "el"), word_key("перезвонили", "ru")
    ('wait', 'αναμον', 'перезвон')
    """
    if language == "tl":
        return tagalog_root(word)
    return _stemmer(language).stemWord(word)
