"""Example quotes for a theme that identify no one: the rules, applied to every comment at once.

A segment page shows up to three short quotes per theme, in the clients' words. A quote is only
taken when all of these hold (:func:`pick_quotes`):

- its group is reported: the segment's share of comments for that theme has a base at or above
  the suppression threshold;
- its client's branch × segment cell has at least the threshold's number of respondents, so a
  quote never comes from a cell small enough to guess who wrote it;
- it is clean (:func:`clean_quote`): no placeholder left by the scrubber (``[name]``, ``[phone]``
  …: a comment that named someone is about someone), nothing the privacy scrubber
  (:class:`vipquality.data.privacy.Scrubber`, with the staff's and the clients' names and the
  client ids) would still change, no e-mail or phone pattern, no date and no long number;
- it is shortened to a sentence or two (:func:`shorten`).

What is returned is the quote's text with its segment and theme and nothing else: no manager,
branch, date or id goes beside it. Quotes of one segment come from different branches first,
and one comment is quoted once per segment; the choice among the eligible comments is a stable
hash of the response id, so the same data give the same quotes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from vipquality._frames import require_columns
from vipquality.data.privacy import EMAIL_RE, PHONE_RE

__all__ = ["QUOTE_COLUMNS", "clean_quote", "pick_quotes", "shorten"]

#: Columns of :func:`pick_quotes`' result.
QUOTE_COLUMNS = ("segment", "theme", "quote")

_PLACEHOLDER = re.compile(r"\[[^\]\s]{1,20}\]")
# dates (12/03, 12.03.2026, 2026-03-12) and any run of four digits or more (years, amounts,
# account fragments) make a quote specific enough to place in time or identify
_DATE = re.compile(r"\d{1,4}\s*[./-]\s*\d{1,2}(?:\s*[./-]\s*\d{1,4})?")
_LONG_NUMBER = re.compile(r"\d[\d\s]{3,}\d|\d{4,}")
_SENTENCE = re.compile(r"(?<=[.!?;…])\s+")


def shorten(text: str, max_chars: int = 160) -> str:
    """The first sentences of ``text`` that fit in ``max_chars``; a first sentence longer than
    that is cut at a word and ends with "…". Whitespace collapsed.

    >>> shorten("Waited three days. Nobody called back. The lounge is nice though.", 40)
    'Waited three days. Nobody called back.'
    >>> shorten("I have been waiting for a call back from the branch for weeks now", 30)
    'I have been waiting for a…'
    """
    text = " ".join(str(text).split())
    if len(text) <= max_chars:
        return text
    out = ""
    for sentence in _SENTENCE.split(text):
        joined = f"{out} {sentence}".strip()
        if len(joined) > max_chars:
            break
        out = joined
    if out:
        return out
    cut = text[:max_chars - 1]
    cut = cut[:cut.rfind(" ")] if " " in cut else cut
    return cut.rstrip(" ,;:-") + "…"


def clean_quote(text: str, scrubber: Callable[[str], str] | None = None) -> bool:
    """Whether a (scrubbed) comment may be quoted: no placeholder, nothing ``scrubber`` would
    change, no e-mail, phone, date or long number.

    >>> clean_quote("Waited three days for a call back")
    True
    >>> [clean_quote(t) for t in ("Ask [name] why", "Since 12.03 nothing", "Card 4276 1234")]
    [False, False, False]
    """
    text = str(text)
    if _PLACEHOLDER.search(text) or EMAIL_RE.search(text) or PHONE_RE.search(text):
        return False
    if _DATE.search(text) or _LONG_NUMBER.search(text):
        return False
    return scrubber is None or scrubber(text) == text


def _stable_hash(values: pd.Series, seed: int) -> np.ndarray:
    """A hash of each value that does not change between runs or machines (Python's does)."""
    return np.array([int.from_bytes(hashlib.blake2b(f"{seed}:{v}".encode(), digest_size=8)
                                    .digest(), "big") for v in values], dtype=np.uint64)


def pick_quotes(
    comments: pd.DataFrame,
    codes: pd.DataFrame,
    cells: pd.DataFrame,
    groups: pd.DataFrame,
    *,
    base: float,
    per_theme: int = 3,
    max_chars: int = 160,
    scrubber: Callable[[str], str] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Up to ``per_theme`` quotes per segment × theme that follow the quote rules (module doc).

    Parameters
    ----------
    comments : DataFrame
        ``response_id, segment, branch, comment``: one row per comment and segment of its
        client (the reported quarter's).
    codes : DataFrame
        ``response_id, theme_id``: the themes each comment mentions.
    cells : DataFrame
        ``segment, branch, n``: respondents (all, not only those with a comment) per branch ×
        segment cell in the quarter.
    groups : DataFrame
        ``segment, theme, n``: the base of each segment's theme share (comments), e.g. the
        ``theme_share`` rows of :func:`vipquality.metrics.themes.theme_metrics`.
    base : float
        The suppression threshold (``reporting.base_suppress``).
    per_theme, max_chars : int
        Quotes per segment × theme, and the length a quote is shortened to.
    scrubber : callable, optional
        Text → scrubbed text (a :class:`vipquality.data.privacy.Scrubber` with the names and ids
        of the workspace); a comment it would change is never quoted.
    seed : int
        Seed of the stable choice among the eligible comments.

    Returns
    -------
    DataFrame
        :data:`QUOTE_COLUMNS`: ``segment``, ``theme``, ``quote``. Nothing else.

    Examples
    --------
    >>> c = pd.DataFrame({"response_id": ["a", "b", "c"], "segment": "lux",
    ...                   "branch": ["north", "north", "tiny"],
    ...                   "comment": ["Waited days. Still no call.", "Call [name] back", "Slow!"]})
    >>> codes = pd.DataFrame({"response_id": ["a", "b", "c"], "theme_id": "wait"})
    >>> cells = pd.DataFrame({"segment": "lux", "branch": ["north", "tiny"], "n": [40, 3]})
    >>> groups = pd.DataFrame({"segment": ["lux"], "theme": ["wait"], "n": [35]})
    >>> pick_quotes(c, codes, cells, groups, base=30)
      segment theme                        quote
    0     lux  wait  Waited days. Still no call.
    """
    require_columns(comments, ["response_id", "segment", "branch", "comment"], "comments")
    require_columns(codes, ["response_id", "theme_id"], "theme codes")
    require_columns(cells, ["segment", "branch", "n"], "cells")
    require_columns(groups, ["segment", "theme", "n"], "theme groups")
    big_cells = cells.loc[cells["n"] >= base, ["segment", "branch"]].drop_duplicates()
    big_groups = groups.loc[groups["n"] >= base, ["segment", "theme"]].drop_duplicates()
    text = comments["comment"].astype("string").fillna("").str.strip()
    rows = comments.loc[text.str.len() > 0, ["response_id", "segment", "branch"]].assign(
        comment=text[text.str.len() > 0])
    rows = rows.merge(big_cells, on=["segment", "branch"], how="inner")
    rows = rows.merge(codes[["response_id", "theme_id"]].drop_duplicates()
                      .rename(columns={"theme_id": "theme"}), on="response_id", how="inner")
    rows = rows.merge(big_groups, on=["segment", "theme"], how="inner")
    if rows.empty:
        return pd.DataFrame(columns=list(QUOTE_COLUMNS))
    distinct = rows["comment"].drop_duplicates()
    ok = {t: clean_quote(t, scrubber) for t in distinct}  # each distinct text checked once
    rows = rows[rows["comment"].map(ok).astype(bool)].copy()
    rows["quote"] = rows["comment"].map(lambda t: shorten(t, max_chars))
    rows["_hash"] = _stable_hash(rows["response_id"], seed)
    rows = rows.sort_values("_hash", kind="mergesort")
    # different branches first: a comment's rank among its branch's comments for the theme
    rows["_turn"] = rows.groupby(["segment", "theme", "branch"], sort=False).cumcount()
    rows = rows.sort_values(["segment", "theme", "_turn", "_hash"], kind="mergesort")
    rows = rows.drop_duplicates(["segment", "theme", "quote"])
    picked = rows[rows.groupby(["segment", "theme"], sort=False).cumcount() < per_theme]
    # one comment quoted once per segment: under the first theme it was picked for
    picked = picked.drop_duplicates(["segment", "response_id"])
    return picked[list(QUOTE_COLUMNS)].reset_index(drop=True)
