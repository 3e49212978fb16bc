"""The atoms of a quarter's published tables: the finest groups every segment and branch cell is
a sum of, with their bases per metric, for the cross-table disclosure audit
(:mod:`vipquality.metrics.disclosure`, applied by :func:`vipquality.report.executive.executive_table`).

An atom is the set of clients (responses) with the same *signature*, the published segments
they belong to (``"all|luxury|le_sme"``), in the same branch; a mystery-shopper visit's
signature is all clients plus the scenario segment it played. A cell (segment ``s``, branch
``b``) of ``metrics_by_branch.csv`` is the sum of the atoms whose signature holds ``s`` in
``b``; a cell of ``metrics.csv`` sums over every branch. Counts only: no value, no client id.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from vipquality.config import ALL_SEGMENT
from vipquality.data.summary import summarise_workspace

__all__ = ["ATOM_COLUMNS", "SEPARATOR", "disclosure_atoms"]

#: Columns of :func:`disclosure_atoms`.
ATOM_COLUMNS = ["quarter", "atom", "branch", "metric", "n"]
#: Between the segments of a signature.
SEPARATOR = "|"


def disclosure_atoms(workspace, quarters: Sequence[str], segments: Sequence[str], *,
                     engine: str = "duckdb") -> pd.DataFrame:
    """The atoms of ``quarters`` for the published ``segments``, with their base per metric.

    Parameters
    ----------
    workspace : vipquality.config.Workspace
        A loaded workspace with its store.
    quarters : sequence of str
        Quarters whose tables are published.
    segments : sequence of str
        The segments the tables show (``all`` included).
    engine : str
        Engine of the sufficient statistics (as :func:`summarise_workspace`).

    Returns
    -------
    DataFrame
        ``quarter, atom, branch, metric, n``: one row per atom and metric with an observation;
        ``n`` is the base :func:`vipquality.metrics.summarise.summarise` gives that group (so
        the atoms of a cell add up to its ``n`` for unweighted data). ``branch`` is ``""`` for
        clients without one.

    Examples
    --------
    >>> atoms = disclosure_atoms(ws, ["2026Q3"], ["all", "premium"])   # doctest: +SKIP
    >>> atoms.head(1).to_dict("records")                               # doctest: +SKIP
    [{'quarter': '2026Q3', 'atom': 'all|premium', 'branch': 'B01', 'metric': 'nps', 'n': 41.0}]
    """
    from vipquality.data import store

    quarters = [str(q) for q in quarters]
    if not quarters:
        return pd.DataFrame(columns=ATOM_COLUMNS)
    shown = set(map(str, segments))
    members = store.load_memberships(workspace, quarters=quarters)
    members = members[members["segment"].astype(str).isin(shown)]
    signature = (members.sort_values("segment").groupby(["quarter", "client_id"], observed=True)
                 ["segment"].agg(SEPARATOR.join).rename("segment").reset_index())
    table = summarise_workspace(workspace, quarters=quarters, by=["quarter", "segment", "branch"],
                                engine=engine, memberships=signature)
    # visits are grouped by their scenario segment: its signature is all clients and that segment
    visit = table["metric"] == "compliance"
    scenario = table.loc[visit, "segment"].astype(str)
    table.loc[visit, "segment"] = [
        SEPARATOR.join(sorted({ALL_SEGMENT, s} & shown)) for s in scenario]
    out = table.rename(columns={"segment": "atom"})[ATOM_COLUMNS].copy()
    out["branch"] = out["branch"].fillna("").astype(str)
    out["atom"] = out["atom"].astype(str)
    out["n"] = pd.to_numeric(out["n"], errors="coerce").fillna(0.0).astype(float)
    out = out.groupby(ATOM_COLUMNS[:-1], sort=True, observed=True, as_index=False)["n"].sum()
    return out[out["n"] > 0].reset_index(drop=True)
