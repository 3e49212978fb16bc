"""The language of each survey comment, detected offline when it is stored.

The codes are those of :data:`vipquality.config.LANGUAGES`: ``en`` English, ``el`` Greek, ``ru``
Russian, ``tl`` Tagalog, and ``""`` for an empty comment, one with fewer than
:data:`MIN_LETTERS` letters, or one written mostly in another script (Chinese, Arabic, …). A
comment in another Latin-, Greek- or Cyrillic-script language gets the closest of the four.

The detector is py3langid (the maintained fork of langid.py; its naive Bayes model ships in the
wheel), restricted to the four languages. It was chosen over lingua-language-detector by
measured accuracy on the 200 hand-labelled comments of ``tests/data/themes`` (50 per language,
mixed-language ones included; the label of a mixed comment is its main language):

===========================================  ==================  ===================  ==========
detector (restricted to en, el, ru, tl)       whole comments      first three words    time, 200
===========================================  ==================  ===================  ==========
py3langid 0.4.0                               0.995 (tl 0.98)     0.995 (en 0.98)      0.03 s
lingua-language-detector 2.1.1, high acc.     0.985               0.985                2.0 s
lingua-language-detector 2.1.1, low acc.      0.980               —                    0.03 s
===========================================  ==================  ===================  ==========

Adding 12 other languages as a catch-all (de, fr, es, it, pt, uk, bg, tr, id, ms, nl, pl)
lowered both (py3langid 0.94 on three words: Russian taken for Ukrainian or Bulgarian; lingua
0.96), so the catch-all is by script instead. ``tests/test_themes.py`` asserts an accuracy of at
least 0.95 on the fixture.

>>> detect_languages(["Περίμενα τρεις μέρες", "Жду ответа неделю", "Naghintay ako ng tatlong araw",
...                   "I waited three days", "", "ok", "我等了三天"])
['el', 'ru', 'tl', 'en', '', '', '']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["MIN_LETTERS", "detect_languages", "fill_comment_language"]

#: A comment with fewer letters than this has no language (``""``).
MIN_LETTERS = 3

_LETTER = re.compile(r"[^\W\d_]")
_OUR_SCRIPTS = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u1f00-\u1fff\u0400-\u04ff]")
_CODES = ("en", "el", "ru", "tl")


@functools.lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE)
    ident.set_languages(list(_CODES))
    return ident


def _one(text: str) -> str:
    letters = _LETTER.findall(text)
    if len(letters) < MIN_LETTERS:
        return ""
    if 2 * len(_OUR_SCRIPTS.findall(text)) < len(letters):
        return ""
    return _identifier().classify(text)[0]


def detect_languages(texts: Iterable[str | None]) -> list[str]:
    """The language code of each text (``""``: none; see the module docstring).

    Each distinct text is classified once.

    Parameters
    ----------
    texts : iterable of str or None

    Returns
    -------
    list of str
        One code per text, in order.
    """
    values = pd.Series(list(texts), dtype=object).fillna("").astype(str)
    if values.empty:
        return []
    codes, uniques = pd.factorize(values)
    found = np.asarray([_one(t) for t in uniques], dtype=object)
    return found[codes].tolist()


def fill_comment_language(responses: pd.DataFrame) -> pd.DataFrame:
    """``responses`` with ``comment_language`` filled where it is missing (a store written before
    the column existed): detected from ``comment``. Returns the same frame when nothing is
    missing, else a copy."""
    if "comment" not in responses.columns:
        return responses
    lang = responses["comment_language"] if "comment_language" in responses.columns else None
    missing = (pd.Series(True, index=responses.index) if lang is None else lang.isna())
    if not missing.any():
        return responses
    out = responses.copy()
    filled = pd.Series("", index=out.index, dtype=object) if lang is None else \
        lang.astype(object)
    filled[missing] = detect_languages(out.loc[missing, "comment"])
    out["comment_language"] = filled.astype("str")
    return out
