"""Free-text comments coded into the themes of the workspace's codeframe (``themes.yaml``).

- :mod:`~vipquality.data.themes.normalise`: the text and words as the matcher sees them
  (``normalise``, ``word_key``, ``tagalog_root``, the negation words);
- :mod:`~vipquality.data.themes.coding`: ``code_comments``, every comment at once;
- :mod:`~vipquality.data.themes.read`: ``commented_responses`` and ``comment_themes``, the
  store's comments and their themes for the report.
"""

from vipquality.data.themes.coding import MAX_GAP, NEGATION_WINDOW, code_comments
from vipquality.data.themes.normalise import (
    NEGATIONS,
    normalise,
    normalise_column,
    tagalog_root,
    word_key,
)
from vipquality.data.themes.read import COMMENT_COLUMNS, comment_themes, commented_responses

__all__ = [
    "COMMENT_COLUMNS",
    "MAX_GAP",
    "NEGATIONS",
    "NEGATION_WINDOW",
    "code_comments",
    "comment_themes",
    "commented_responses",
    "normalise",
    "normalise_column",
    "tagalog_root",
    "word_key",
]
