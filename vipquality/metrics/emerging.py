"""Emerging themes: what the comments no theme matched talk about, as candidate themes.

The comments the codeframe (``themes.yaml``) left uncoded are grouped, per quarter and language,
by TF-IDF over their words and word pairs and a non-negative matrix factorisation (scikit-learn's
``TfidfVectorizer`` and ``NMF``); each component with enough comments is a *candidate theme*: its
top terms and the number of comments it holds. A quality manager reads them and, when a candidate
is a real theme, adds it (with its terms) to ``themes.yaml``; nothing is ever added
automatically. Same comments, same candidates: NMF starts from the deterministic NNDSVD and is
seeded (``random_state``).

Candidates are per language because a theme's terms are written per language in
``themes.yaml``, and because TF-IDF over a mixed corpus would mostly find the languages.

Top terms come from clients' words, so candidates belong with the restricted outputs, never an
executive page: the words are already scrubbed (``[name]``, ``[phone]`` … placeholders are
dropped here), and a term must occur in at least ``min_df`` comments to be a term at all, so a
word one client used cannot surface.

Examples
--------
>>> texts = ["parking was full again", "no parking near the branch", "parking is a nightmare",
...          "the parking costs too much", "coffee was cold", "cold coffee in lounge",
...          "lounge coffee is bad", "coffee machine broken"]
>>> c = pd.DataFrame({"quarter": "2025Q1", "comment_language": "en", "comment": texts})
>>> emerging_themes(c, min_comments=1, min_df=2)[["candidate", "comments", "top_terms"]]
   candidate  comments             top_terms
0          1         4  coffee, cold, lounge
1          2         4               parking
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from vipquality._frames import require_columns

__all__ = ["EMERGING_COLUMNS", "STOP_WORDS", "emerging_themes", "words"]

#: Columns of :func:`emerging_themes`' result.
EMERGING_COLUMNS = ("quarter", "language", "candidate", "comments", "share", "top_terms")

# Function words, per language, left out of the terms. scikit-learn ships an English list only,
# and no maintained package has Tagalog's, so the most frequent function words of the other three
# languages are written here (normalised: no accents, Greek final sigma as σ). A word in most of a
# block's comments is left out anyway (``max_df``); these lists catch the common ones in small
# blocks.
_EL = ("και του της την των τον στο στη στην στα στον για απο με να θα δεν μη μην ειναι ηταν "
       "που οτι ενα μια ενασ ο η το οι τα σε πολυ αλλα ομωσ εχω εχει μου μασ σασ τουσ αυτο "
       "αυτη εγω εσεισ πιο κατι ολα ολοι ηδη")
_RU = ("и в во не что он она оно они на я с со как а то все это так его ее но да ты к у же вы "
       "за бы по только мне было вот от меня еще нет о из ему теперь когда даже ну ли если уже "
       "или ни быть был была были до вас нибудь опять уж вам ведь там потом себя очень мы")
_TL = ("ang ng sa na at mga ay si ni kay kina ako ko ikaw ka mo siya niya kami kayo sila nila "
       "ito iyan iyon yung yun ung po opo naman lang din rin pa ba kasi talaga para may mayroon "
       "wala hindi dahil pero nang kung ano sobrang napaka the and")
_EN = ("the and for was were are is be been with that this have has had not but you your our "
       "they them their very too just our all any can could would will")


def _stop_words() -> dict[str, frozenset[str]]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return {"en": frozenset(ENGLISH_STOP_WORDS) | frozenset(_EN.split()),
            "el": frozenset(_EL.split()), "ru": frozenset(_RU.split()),
            "tl": frozenset(_TL.split())}


#: Function words left out of the terms, per language code; other languages get none.
STOP_WORDS: Mapping[str, frozenset[str]] = {}

_PLACEHOLDER = re.compile(r"\[[^\]\s]{1,20}\]")
_WORD = re.compile(r"[^\W\d_]{3,}")


def words(text: str) -> list[str]:
    """The words of a comment as the candidates count them: placeholders (``[name]``) dropped,
    case folded (Greek final ς → σ), accents and diaeresis removed (ё → е, but й kept), words of
    three letters or more.

    >>> words("Ήταν ΠΟΛΥ αργός, call [name] ёлка 2x")
    ['ηταν', 'πολυ', 'αργοσ', 'call', 'елка']
    """
    text = _PLACEHOLDER.sub(" ", str(text)).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed
                   if not (unicodedata.combining(ch) and ch != "\u0306"))  # breve: й stays
    return _WORD.findall(unicodedata.normalize("NFC", kept))


def emerging_themes(
    comments: pd.DataFrame,
    *,
    by: Sequence[str] = ("quarter", "comment_language"),
    max_candidates: int = 6,
    min_comments: int = 10,
    min_df: int = 5,
    max_df: float = 0.5,
    top_terms: int = 6,
    tokenizer: Callable[[str], list[str]] = words,
    stop_words: Mapping[str, frozenset[str]] | None = None,
    random_state: int = 0,
) -> pd.DataFrame:
    """Candidate themes among comments no theme matched, per quarter and language.

    Parameters
    ----------
    comments : DataFrame
        The unmatched comments: ``comment`` and the ``by`` columns (``quarter``,
        ``comment_language``; a blank language is grouped as ``""``). Blank comments are left out.
    by : sequence of str
        The blocks candidates are found in, each on its own.
    max_candidates : int
        Components of the factorisation per block (fewer when the block is small: at most one
        per ``3 × min_comments`` comments, and not more than its terms).
    min_comments : int
        A candidate needs at least this many comments (those whose largest weight is on it).
    min_df, max_df : int, float
        A term must occur in at least ``min_df`` comments of the block, and in at most the share
        ``max_df`` of them (words in most comments say nothing about a topic).
    top_terms : int
        Terms listed per candidate, highest weight first.
    tokenizer : callable
        Text → words (default :func:`words`); a caller may pass a stemmer's.
    stop_words : mapping of language to words, optional
        Default :data:`STOP_WORDS` (en, el, ru, tl); looked up by the block's
        ``comment_language``.
    random_state : int
        Seed of NMF (its NNDSVD start is deterministic already).

    Returns
    -------
    DataFrame
        :data:`EMERGING_COLUMNS`: ``quarter``, ``language``, ``candidate`` (1, 2, … per block, the
        most comments first), ``comments`` (how many), ``share`` (% of the block's unmatched
        comments), ``top_terms`` (comma-separated). Empty when no block has a candidate.

    Notes
    -----
    TF-IDF with sublinear term frequency and l2-normalised rows over words and word pairs;
    NMF (Frobenius loss) with ``init="nndsvd"``. Each comment goes to the component with its
    largest weight (none when all its weights are 0). Candidates are sorted by their count, then
    by their top term, so the numbering does not depend on the factorisation's order.
    """
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer

    by = list(by)
    require_columns(comments, ["comment", *by], "comments")
    if stop_words is None:
        if not STOP_WORDS:
            STOP_WORDS.update(_stop_words())  # type: ignore[attr-defined]
        stop_words = STOP_WORDS
    text = comments["comment"].astype("string").fillna("").str.strip()
    frame = comments.loc[text.str.len() > 0, by].copy()
    frame["_text"] = text[text.str.len() > 0]
    for c in by:
        frame[c] = frame[c].astype("string").fillna("")
    rows = []
    for key, block in frame.groupby(by, sort=True):  # one block per quarter × language
        key = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        language = key.get("comment_language", "")
        stops = stop_words.get(language, frozenset())
        # components: at most one per three candidates' worth of comments. More components than
        # topics split one topic by its incidental words (tried on planted topics:
        # tests/test_emerging.py), and a split topic can fall under min_comments and vanish
        k = min(max_candidates, len(block) // (3 * max(min_comments, 1)))
        if k < 1:
            continue
        vectorizer = TfidfVectorizer(
            tokenizer=lambda s, stops=stops: [w for w in tokenizer(s) if w not in stops],
            preprocessor=None, lowercase=False, token_pattern=None, ngram_range=(1, 2),
            min_df=min_df, max_df=max_df, sublinear_tf=True)
        try:
            x = vectorizer.fit_transform(block["_text"].tolist())
        except ValueError:  # no term left after min_df / max_df
            continue
        terms = vectorizer.get_feature_names_out()
        k = min(k, x.shape[1])
        model = NMF(n_components=k, init="nndsvd", random_state=random_state, max_iter=1000)
        with warnings.catch_warnings():  # a candidate list needs no exact optimum
            warnings.simplefilter("ignore", ConvergenceWarning)
            w = model.fit_transform(x)
        topic = np.where(w.max(axis=1) > 0, w.argmax(axis=1), -1)
        counts = np.bincount(topic[topic >= 0], minlength=k)
        found = []
        for j in np.flatnonzero(counts >= min_comments):  # components, not groups
            weights = model.components_[j]
            order = np.argsort(-weights, kind="stable")[:top_terms]
            top = [str(terms[i]) for i in order if weights[i] > 0]
            found.append((int(counts[j]), top))
        found.sort(key=lambda f: (-f[0], f[1][:1]))
        for number, (count, top) in enumerate(found, start=1):
            rows.append({"quarter": key.get("quarter", ""), "language": language,
                         "candidate": number, "comments": count,
                         "share": 100 * count / len(block), "top_terms": ", ".join(top)})
    return pd.DataFrame(rows, columns=list(EMERGING_COLUMNS))
