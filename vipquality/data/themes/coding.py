"""Coding comments into the themes of the codeframe, all comments at once.

:func:`code_comments` takes comments and a :class:`~vipquality.config.Codeframe` and returns one
row per (comment, theme) mention. How it matches (documented for quality managers in
``surveys/README.md``, "themes.yaml"):

- Text and terms are normalised alike (:func:`~vipquality.data.themes.normalise.normalise`) and
  each word is reduced to its key, the Snowball stem in English, Greek and Russian and the root
  by affix rules in Tagalog (:func:`~vipquality.data.themes.normalise.word_key`).
- A word's languages come from its script (Greek, Cyrillic, Latin), not from the comment's
  detected language, so a comment mixing two languages ("Taglish", English words in a Greek or
  Russian sentence) is coded in both: Latin words are keyed as English and as Tagalog.
- A one-word term matches a word with the same key; a phrase matches its words in order within
  the same part of a sentence, with at most two other words between consecutive ones
  ("did not call me back" matches "not call back").
- Negation: a match is not counted when a negation (``NEGATIONS``: no, not, never, δεν, μην,
  не, нет, без, hindi, wala …) stands among the four words before it in the same part of a
  sentence ("no problem with waiting", "δεν περίμενα", "не ждал", "hindi naghintay"), or, in
  Russian, ``нет`` / ``не было`` among the four after it ("претензий к тарифам нет"); a part
  ends at ``. , ; : ! ?`` and at "but" words (but, αλλά, но, pero …). A term that holds a
  negation itself ("never called back", "не перезвонили", "walang sagot") is matched as written
  and never cancelled, and the negation it holds (with up to two just before it: "no one ever
  answers") negates nothing else.

Speed: the text is lower-cased and split at white space in Arrow's compute kernels; the rest of
the normalisation runs once per distinct piece of text and stems once per distinct word (one
stemmer call per language, PyStemmer's C build); matching is numpy over the flat array of
words, visiting only the positions where a term's first word occurs. One million comments take
about 13 s of CPU (``benchmarks/themes.py``, ``make bench``); a plain regex pass over them, with
no stems and no negation, about 11 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vipquality._frames import require_columns
from vipquality.config.themes import Codeframe
from vipquality.data.themes.normalise import (
    _AFTER_NE,
    _TURNS,
    BREAK,
    NEGATIONS,
    POST_NEGATIONS,
    normalise_column,
    script_languages,
    word_key,
    word_keys,
)

__all__ = ["MAX_GAP", "NEGATION_WINDOW", "code_comments"]

#: Other words allowed between two consecutive words of a phrase.
MAX_GAP = 2
#: How many words before a match a negation cancels it from.
NEGATION_WINDOW = 4

@dataclass
class _Terms:
    """The codeframe compiled: each term as a sequence of key ids, its language and theme."""

    keys: dict[str, int]             # "lang:key" -> id
    words: list[np.ndarray]          # per term, the key ids of its words
    theme: np.ndarray                # per term, the theme's index in the codeframe
    negated_form: np.ndarray         # per term: holds a negation itself (never cancelled)
    tagalog: np.ndarray              # per term: matched on the Tagalog keys


_COMPILED: dict[int, tuple[Codeframe, _Terms]] = {}


def _compile(codeframe: Codeframe) -> _Terms:
    """The codeframe's terms as key ids (kept for the last few codeframes: a report codes each
    quarter with the same one)."""
    cached = _COMPILED.get(id(codeframe))
    if cached is not None and cached[0] is codeframe:
        return cached[1]
    listed = [(ti, lang, text) for ti, th in enumerate(codeframe)
              for lang, terms in th.terms.items() for text in terms]
    normed = normalise_column(pa.array([x[2] for x in listed], pa.string())).to_pylist()
    keys: dict[str, int] = {}
    words, theme, negated, tagalog = [], [], [], []
    for (ti, lang, _), text in zip(listed, normed):
        toks = [w for w in text.split() if w != BREAK]
        if not toks:
            continue
        # a word in another script is keyed in its own script's language (the "e-banking" of
        # a Greek term is keyed as English, like the comments' words)
        langs = [lang if lang in script_languages(w) else script_languages(w)[0] for w in toks]
        ids = [keys.setdefault(f"{wl}:{word_key(w, wl)}", len(keys))
               for w, wl in zip(toks, langs)]
        words.append(np.asarray(ids, np.int64))
        theme.append(ti)
        negated.append(any(w in NEGATIONS[wl] for w, wl in zip(toks, langs)))
        tagalog.append(langs[0] == "tl")
    out = _Terms(keys, words, np.asarray(theme, np.int64), np.asarray(negated, bool),
                 np.asarray(tagalog, bool))
    if len(_COMPILED) >= 4:
        _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[id(codeframe)] = (codeframe, out)
    return out


def _vocabulary(vocab: list[str], keys: dict[str, int]):
    """Per distinct word: its key id in its script's language (en/el/ru) and as Tagalog (Latin
    words), -1 when no term has that key; is it a negation of what follows, of what precedes;
    does it end a part of a sentence. Each language's words are stemmed in one call."""
    n = len(vocab)
    primary = np.full(n, -1, np.int64)
    tl = np.full(n, -1, np.int64)
    neg = np.zeros(n, bool)
    post = np.zeros(n, bool)
    brk = np.zeros(n, bool)
    by_lang: dict[str, list[int]] = {"en": [], "el": [], "ru": [], "tl": []}
    for i, w in enumerate(vocab):
        if w == BREAK or w in _TURNS:
            brk[i] = True
            continue
        for lang in script_languages(w):
            by_lang[lang].append(i)
            neg[i] |= w in NEGATIONS[lang]
            post[i] |= w in POST_NEGATIONS.get(lang, ())
    for lang, idx in by_lang.items():
        stems = word_keys([vocab[i] for i in idx], lang)
        found = np.fromiter((keys.get(f"{lang}:{k}", -1) for k in stems), np.int64, len(idx))
        (tl if lang == "tl" else primary)[np.asarray(idx, np.int64)] = found
    return primary, tl, neg, post, brk


def _match(words: np.ndarray, key: np.ndarray, order: np.ndarray, sorted_keys: np.ndarray,
           clause: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Where a term's words occur in order (first and last word's positions), each within
    ``MAX_GAP`` other words of the previous one and in the same part of a sentence."""
    n = key.size
    lo, hi = np.searchsorted(sorted_keys, [words[0], words[0] + 1])
    if lo == hi:
        return None
    first = last = order[lo:hi]
    for w in words[1:]:
        found = np.full(last.size, -1, np.int64)
        for d in range(1, MAX_GAP + 2):
            cand = last + d
            c = np.where(cand < n, cand, 0)
            ok = (cand < n) & (key[c] == w) & (clause[c] == clause[last]) & (found < 0)
            found[ok] = cand[ok]
        alive = found >= 0
        first, last = first[alive], found[alive]
        if not first.size:
            return None
    return first, last


def _near(flag: np.ndarray, clause: np.ndarray, direction: int) -> np.ndarray:
    """For every position: is a flagged word among the ``NEGATION_WINDOW`` words before
    (``direction`` -1) or after (+1) it, in the same part of a sentence? (One pass over all
    words, then each term's matches are looked up.)"""
    n = flag.size
    out = np.zeros(n, bool)
    for d in range(1, NEGATION_WINDOW + 1):
        if direction < 0:
            out[d:] |= flag[:-d] & (clause[:-d] == clause[d:])
        else:
            out[:-d] |= flag[d:] & (clause[d:] == clause[:-d])
    return out


def _tokens(texts: pa.Array) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The normalised words of the texts: each word's index in the vocabulary, the vocabulary,
    and the text each word comes from.

    The texts are only lower-cased and split at white space; the costly normalisation (accents,
    signs, sentence breaks) runs once per distinct piece, and the pieces are expanded back into
    their words with numpy: the same words as normalising the whole text, for a fraction of the
    work (a million comments hold about 50,000 distinct pieces, not 18 million).
    """
    lists = pc.utf8_split_whitespace(pc.utf8_lower(texts))
    parent = pc.list_parent_indices(lists).to_numpy()
    pieces = pc.list_flatten(lists).dictionary_encode()
    codes = pieces.indices.to_numpy()
    split = pc.utf8_split_whitespace(normalise_column(pieces.dictionary))
    counts = pc.list_value_length(split).to_numpy(zero_copy_only=False).astype(np.int64)
    words = pc.list_flatten(split).dictionary_encode()
    word_of = words.indices.to_numpy().astype(np.int64)          # per word of the pieces
    first_word = np.cumsum(counts) - counts                      # per piece
    n_words = counts[codes]                                      # per occurrence of a piece
    occurrence = np.repeat(np.arange(codes.size), n_words)
    within = np.arange(occurrence.size) - np.repeat(np.cumsum(n_words) - n_words, n_words)
    code = word_of[first_word[codes][occurrence] + within]
    vocab = words.dictionary.to_pylist()
    keep = np.ones(len(vocab), bool)
    if "" in vocab:
        keep[vocab.index("")] = False
    kept = keep[code]
    return code[kept], vocab, parent[occurrence][kept]


def code_comments(comments: pd.DataFrame, codeframe: Codeframe | None) -> pd.DataFrame:
    """The themes each comment mentions, one row per mention.

    Parameters
    ----------
    comments : DataFrame
        Columns ``response_id`` and ``comment`` (missing or empty: no theme); a
        ``comment_language`` column may be there and is not needed: a word's language is read
        from its script (see the module docstring).
    codeframe : Codeframe or None
        The workspace's ``themes``; ``None`` or empty gives no rows.

    Returns
    -------
    DataFrame
        ``response_id, theme_id``: one row per comment and theme it mentions (a comment may
        mention several themes; each pair once), in the comments' order, then the codeframe's.

    Examples
    --------
    >>> from vipquality.config import Codeframe, Theme
    >>> frame = Codeframe((Theme("wait", "Waiting", terms={"en": ("wait", "call back"),
    ...                                                    "ru": ("ждать", "ждал")}),))
    >>> c = pd.DataFrame({"response_id": ["a", "b", "c", "d"],
    ...                   "comment": ["Waited 3 days", "No problem with waiting.",
    ...                               "Они не ждали, а я ждал неделю", "Never called me back"]})
    >>> code_comments(c, frame)
      response_id theme_id
    0           a     wait
    1           c     wait
    """
    require_columns(comments, ["response_id", "comment"], "comments")
    empty = pd.DataFrame({"response_id": pd.Series([], dtype="str"),
                          "theme_id": pd.Series([], dtype="str")})
    if codeframe is None or not len(codeframe) or not len(comments):
        return empty
    terms = _compile(codeframe)
    if not terms.words:
        return empty

    text = comments["comment"].astype(object).where(comments["comment"].notna(), None)
    codes, vocab, parent = _tokens(pa.array(text.to_numpy(dtype=object), pa.string()))
    if not codes.size:
        return empty
    v_primary, v_tl, v_neg, v_post, v_brk = _vocabulary(vocab, terms.keys)
    primary, tagalog = v_primary[codes], v_tl[codes]
    neg, post, brk = v_neg[codes], v_post[codes], v_brk[codes]
    n = codes.size
    start = np.ones(n, bool)
    start[1:] = parent[1:] != parent[:-1]
    clause = np.cumsum(start | brk)
    after_ne = np.isin(codes, [i for i, w in enumerate(vocab) if w in _AFTER_NE])
    post[1:] |= after_ne[1:] & (codes[:-1] == (vocab.index("не") if "не" in vocab else -1))

    found = {}
    for by_tl in (False, True):
        key = tagalog if by_tl else primary
        pos = np.flatnonzero(key >= 0)
        order = pos[np.argsort(key[pos], kind="stable")]
        sorted_keys = key[order]
        for t in np.flatnonzero(terms.tagalog == by_tl):
            span = _match(terms.words[t], key, order, sorted_keys, clause)
            if span is not None:
                found[t] = span

    # a negation inside a matched term that holds one ("nobody answers", "κανείς δεν απαντά")
    # belongs to that term: it negates nothing else
    # (with up to two negations just before it: "no one ever answers", "никто не отвечает")
    diff = np.zeros(n + 1, np.int64)
    for t, (first, last) in found.items():
        if terms.negated_form[t]:
            lo = first.copy()
            for _ in range(2):
                c = np.maximum(lo - 1, 0)
                ok = (lo > 0) & neg[c] & (clause[c] == clause[first])
                lo[ok] = c[ok]
            np.add.at(diff, lo, 1)
            np.add.at(diff, last + 1, -1)
    neg_free = neg & ~(np.cumsum(diff[:n]) > 0)

    negated_before = _near(neg_free, clause, -1)
    negated_after = _near(post, clause, +1)
    mentions = np.zeros((len(comments), len(codeframe)), bool)   # comment × theme
    for t, (first, last) in found.items():
        if not terms.negated_form[t]:
            first = first[~(negated_before[first] | negated_after[last])]
        mentions[parent[first], terms.theme[t]] = True
    row, theme = np.nonzero(mentions)               # in comment order, then codeframe order
    if not row.size:
        return empty
    ids = np.asarray(codeframe.ids, dtype=object)
    return pd.DataFrame({
        "response_id": pd.Series(comments["response_id"].to_numpy(dtype=object)[row], dtype="str"),
        "theme_id": pd.Series(ids[theme], dtype="str")})

