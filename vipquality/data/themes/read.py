"""The store's comments with their themes, for the theme metrics, emerging themes and quotes.

Coding happens when the store is read, not at ingest, so an edit of ``themes.yaml`` takes effect
at the next report without importing anything again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from vipquality.data.store import load_responses
from vipquality.data.themes.coding import code_comments

if TYPE_CHECKING:  # pragma: no cover
    from vipquality.config import Workspace

__all__ = ["COMMENT_COLUMNS", "comment_themes", "commented_responses"]

#: The columns of :func:`commented_responses`.
COMMENT_COLUMNS = ["quarter", "response_id", "client_id", "weight", "nps", "comment",
                   "comment_language"]


def commented_responses(workspace: Workspace, quarters=None) -> pd.DataFrame:
    """The stored responses of ``quarters`` (default: all) that carry a comment: the base of
    every theme share.

    Returns
    -------
    DataFrame
        ``quarter, response_id, client_id, weight, nps, comment, comment_language`` (see
        :data:`vipquality.config.LANGUAGES`), one row per response whose scrubbed comment is not
        empty; join ``memberships`` on ``quarter, client_id`` for segments and ``clients`` for
        the branch.
    """
    r = load_responses(workspace, quarters)
    has = r["comment"].fillna("").str.strip().ne("")
    out = r.loc[has, [c for c in COMMENT_COLUMNS if c in r.columns]].reset_index(drop=True)
    if "comment_language" not in out.columns:  # pragma: no cover - the store always has it
        out["comment_language"] = ""
    return out[COMMENT_COLUMNS]


def comment_themes(workspace: Workspace, quarters=None,
                   comments: pd.DataFrame | None = None) -> pd.DataFrame:
    """The theme mentions of the stored comments, coded with the workspace's ``themes.yaml``.

    Parameters
    ----------
    workspace : Workspace
    quarters : str or list of str or None
        Quarters to read (default: all stored).
    comments : DataFrame or None
        :func:`commented_responses` already read (saves reading the store twice).

    Returns
    -------
    DataFrame
        ``quarter, response_id, client_id, theme_id``: one row per comment and theme it
        mentions; empty when the workspace has no ``themes.yaml``. Comments without a row
        mentioned no theme (the material of the emerging themes).

    Examples
    --------
    >>> from vipquality.config import load_workspace     # doctest: +SKIP
    >>> ws = load_workspace()                            # doctest: +SKIP
    >>> comment_themes(ws, "2026Q3").theme_id.value_counts().head(3)  # doctest: +SKIP
    """
    c = commented_responses(workspace, quarters) if comments is None else comments
    # coded by row number, so a response id repeated in two quarters keeps its own quarter
    rows = pd.DataFrame({"response_id": np.arange(len(c)).astype(str),
                         "comment": c["comment"].to_numpy(dtype=object)})
    coded = code_comments(rows, workspace.themes)
    at = coded["response_id"].astype(int).to_numpy()
    out = c[["quarter", "response_id", "client_id"]].iloc[at].reset_index(drop=True)
    out["theme_id"] = coded["theme_id"].to_numpy()
    return out
