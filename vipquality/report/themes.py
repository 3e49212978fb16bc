"""What clients say: the report's theme tables, quotes and the restricted comment files.

:func:`theme_tables` computes, once per run, what the pages show of the comments (aggregates and
the quotes the quote rules allow, :mod:`vipquality.data.quotes`); :func:`write_theme_files` writes
what only a quality manager reads, into the run's restricted folder
(``reports/restricted/<quarter>/``, never linked from an executive page):

- ``comments_by_theme.csv``: every scrubbed comment of the quarter under each theme it mentions
  (``(no theme)`` for the others), with its language; no id, manager or date;
- ``emerging_themes.csv``: candidate themes among the comments no theme matched
  (:func:`vipquality.metrics.emerging.emerging_themes`), per quarter and language, for the
  quality manager to add to ``themes.yaml``; their top terms are clients' words, hence here;
- ``themes_by_branch.csv``: the theme metrics by segment × branch (suppressed bases blanked).

The executive ``themes.csv`` (theme metrics by quarter × segment, redacted like ``metrics.csv``)
is written with the other executive tables (:func:`vipquality.report.executive.write_executive_tables`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from vipquality._files import safe_csv
from vipquality.errors import DataError
from vipquality.metrics.summarise import RESULT_COLUMNS
from vipquality.metrics.themes import redact_themes

if TYPE_CHECKING:
    from vipquality.config import Workspace

__all__ = ["NO_THEME", "THEME_TABLES", "theme_tables", "write_theme_files"]

#: The tables :func:`theme_tables` returns (``ReportData`` attributes).
THEME_TABLES = ("themes", "theme_quotes")
#: The theme of ``comments_by_theme.csv``'s comments that mention none.
NO_THEME = "(no theme)"

_THEME_COLUMNS = ["quarter", "segment", "theme", *RESULT_COLUMNS]


def _empty() -> dict[str, pd.DataFrame]:
    return {"themes": pd.DataFrame(columns=_THEME_COLUMNS),
            "theme_quotes": pd.DataFrame(columns=["segment", "theme", "quote"])}


def _comments(ws: Workspace, quarters: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The quarters' comments with their branch, and their theme codes."""
    from vipquality.data.store import load_clients
    from vipquality.data.themes import comment_themes, commented_responses

    comments = commented_responses(ws, quarters)
    codes = comment_themes(ws, quarters, comments)
    clients = load_clients(ws, quarters)
    if "branch" in clients.columns:
        branch = clients[["quarter", "client_id", "branch"]].drop_duplicates(
            ["quarter", "client_id"])
        comments = comments.merge(branch, on=["quarter", "client_id"], how="left")
    else:
        comments = comments.assign(branch=pd.NA)
    return comments, codes


def _scrubber(ws: Workspace, quarter: str, client_ids) -> object:
    """The privacy scrubber with the staff's and these clients' names and the client ids: a
    comment it would still change is never quoted."""
    from vipquality.data.cases import client_names
    from vipquality.data.privacy import Scrubber
    from vipquality.standards.staff import load_roster

    try:
        staff = load_roster(ws)["manager_name"].dropna().astype(str).tolist()
    except DataError:
        staff = []
    ids = sorted({str(c) for c in client_ids})
    names = list(client_names(ws, quarter, ids).values())
    return Scrubber([*staff, *names], ids=ids)


def theme_tables(ws: Workspace, quarter: str, previous: str, shown: list[str], *,
                 engine: str = "duckdb") -> dict[str, pd.DataFrame]:
    """The theme metrics by quarter × segment and the quotes of the reported quarter.

    Parameters
    ----------
    ws : Workspace
        Its ``themes.yaml`` (``ws.themes``) codes the comments; nothing without one.
    quarter, previous : str
        The reported quarter and the one before (``""``: none): the change needs both.
    shown : list of str
        The segments reported.

    Returns
    -------
    dict
        ``themes``: :func:`vipquality.metrics.themes.theme_metrics` by quarter × segment
        (tidy, with ``theme``); ``theme_quotes``: ``segment, theme, quote`` (up to three per
        segment × theme, :func:`vipquality.data.quotes.pick_quotes`), text only.
    """
    from vipquality.data.quotes import pick_quotes
    from vipquality.data.store import load_clients, load_memberships, load_responses
    from vipquality.metrics.themes import theme_metrics

    if ws.themes is None or not len(ws.themes):
        return _empty()
    recent = [q for q in (previous, quarter) if q]
    comments, codes = _comments(ws, recent)
    members = load_memberships(ws, recent)
    members = members[members["segment"].isin(shown)]
    rep = ws.reporting
    themes = theme_metrics(comments, codes, themes=ws.themes.ids, by=["quarter", "segment"],
                           memberships=members, confidence=rep.confidence,
                           base_suppress=rep.base_suppress, base_small=rep.base_small,
                           adjustment=rep.adjustment, engine=engine)

    # quotes: the reported quarter's comments in every shown segment of their client
    now = comments[comments["quarter"] == quarter]
    now_members = members[members["quarter"] == quarter][["client_id", "segment"]]
    in_segments = now.merge(now_members, on="client_id", how="inner")
    respondents = load_responses(ws, quarter)[["client_id"]].merge(
        load_clients(ws, quarter)[["client_id", "branch"]].drop_duplicates("client_id"),
        on="client_id", how="left").merge(now_members, on="client_id", how="inner")
    cells = respondents.groupby(["segment", "branch"], observed=True).size().rename(
        "n").reset_index()
    share = themes[(themes["quarter"] == quarter) & (themes["metric"] == "theme_share")]
    quotes = pick_quotes(in_segments, codes[codes["quarter"] == quarter], cells,
                         share[["segment", "theme", "n"]], base=rep.base_suppress,
                         scrubber=_scrubber(ws, quarter, in_segments["client_id"]))
    return {"themes": themes.reset_index(drop=True), "theme_quotes": quotes}


def write_theme_files(ws: Workspace, quarter: str, previous: str, shown: list[str],
                      restricted: Path, *, engine: str = "duckdb") -> list[Path]:
    """Write the restricted theme files (module doc) into ``restricted``; none without a
    codeframe. Returns the paths written."""
    from vipquality.data.store import load_memberships
    from vipquality.metrics.emerging import emerging_themes
    from vipquality.metrics.themes import theme_metrics

    if ws.themes is None or not len(ws.themes):
        return []
    restricted = Path(restricted)
    restricted.mkdir(parents=True, exist_ok=True)
    recent = [q for q in (previous, quarter) if q]
    comments, codes = _comments(ws, recent)
    labels = {t.id: t.label for t in ws.themes}

    now = comments[comments["quarter"] == quarter]
    coded = now.merge(codes[["response_id", "theme_id"]], on="response_id", how="left")
    coded["theme"] = coded["theme_id"].map(labels).fillna(NO_THEME)
    order = {label: i for i, label in enumerate([*labels.values(), NO_THEME])}
    by_theme = (coded.assign(_o=coded["theme"].map(order))
                .sort_values(["_o", "comment_language", "comment"], kind="mergesort")
                [["quarter", "theme", "comment_language", "comment"]]
                .rename(columns={"comment_language": "language"}))
    written = [restricted / "comments_by_theme.csv", restricted / "emerging_themes.csv",
               restricted / "themes_by_branch.csv"]
    safe_csv(by_theme, written[0])

    unmatched = comments[~comments["response_id"].isin(codes["response_id"])]
    safe_csv(emerging_themes(unmatched), written[1])

    members = load_memberships(ws, recent)
    members = members[members["segment"].isin(shown)]
    rep = ws.reporting
    branches = theme_metrics(comments.dropna(subset=["branch"]), codes, themes=ws.themes.ids,
                             by=["quarter", "segment", "branch"], memberships=members,
                             confidence=rep.confidence, base_suppress=rep.base_suppress,
                             base_small=rep.base_small, adjustment=rep.adjustment,
                             engine=engine)
    safe_csv(redact_themes(branches, {"branch": None}), written[2])
    return written
