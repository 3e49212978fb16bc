"""The shared tables as executives may see them (primary and complementary suppression) and
the executive CSVs a quarterly run publishes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from vipquality._files import safe_csv
from vipquality.config import ALL_SEGMENT
from vipquality.data.atoms import SEPARATOR
from vipquality.metrics.disclosure import protect
from vipquality.metrics.summarise import redact
from vipquality.metrics.themes import redact_themes
from vipquality.report.data import ReportData

if TYPE_CHECKING:
    from vipquality.report.data import ReportData

__all__ = ["executive", "executive_table", "settle_suppression", "write_executive_tables"]


def executive(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a tidy metrics table as executives may see them (suppressed values blanked).

    Primary suppression only: a page shows a table's rows through :func:`executive_table`, which
    also hides the groups that would give a suppressed one away by difference."""
    return redact(frame) if len(frame) else frame


#: The columns whose groups each shared table publishes side by side (see ``redact``):
#: ``"segment"`` maps each segment to its family (segments.yaml), the others are one family.
_SIBLINGS = {"metrics": ("segment",), "branches": ("segment", "branch"),
             "managers": ("segment", "manager_id"), "standards": ("segment",),
             "themes": ("segment",)}


def executive_table(data: ReportData, name: str) -> pd.DataFrame:
    """A shared table (``metrics``, ``branches``, ``managers``, ``standards``, ``themes``) as executives may
    see it: :func:`~vipquality.metrics.summarise.redact` with primary suppression (n under the base
    threshold) and complementary suppression over the segment families of segments.yaml (and
    over branches and managers), so that no difference between published groups reveals a
    suppressed one. Select rows *after* this, never before.

    ``metrics`` and ``branches`` (``metrics.csv`` and ``metrics_by_branch.csv``, published side
    by side) are audited together on the atoms of ``data.atoms``: per quarter and metric, no
    hidden cell, and no union of hidden siblings with a combined base under the suppression
    threshold, may be a linear combination of the published cells of both tables
    (:func:`vipquality.metrics.disclosure.protect`); the cells the audit hides are
    ``suppressed_reason = "complement"``. Without atoms (tables built by hand) only the
    per-table rule applies.

    Examples
    --------
    >>> m = executive_table(report_data("surveys"), "metrics")   # doctest: +SKIP
    >>> m.loc[m["suppressed_reason"] == "complement", ["segment", "metric"]]  # doctest: +SKIP
    """
    frame = getattr(data, name)
    if not len(frame):
        return frame
    if name in _AUDITED and len(data.atoms):
        return _audited(data)[name].copy()
    return _per_table(data, name, frame)


def _per_table(data: ReportData, name: str, frame: pd.DataFrame,
               hide: np.ndarray | None = None) -> pd.DataFrame:
    """One table redacted with its own families (and the audit's extra cells, ``hide``)."""
    families: dict = {}
    for column in _SIBLINGS.get(name, ()):
        families[column] = (dict(zip(data.segments["segment"].astype(str),
                                     data.segments["family"].astype(str)))
                            if column == "segment" else None)
    if name == "standards":  # no base_flag or metric: one row per quarter × segment × standard
        threshold = data.thresholds["base_suppress"]
        flagged = frame.assign(base_flag=(frame["n"] < threshold).map(
            {True: "suppressed", False: "ok"}))
        out = redact(flagged, families, by=["quarter", "segment", "standard_id"], hide=hide)
        # the effective base and design effect of the visit-clustered interval depend on the
        # share itself (n_eff = p(1 − p)/Var): blank them wherever the share is hidden
        hidden = out["value"].isna() & frame["value"].notna()
        for column in ("n_effective", "deff"):
            if column in out.columns:
                out[column] = out[column].astype(float).where(~hidden)
        return out.drop(columns="base_flag")
    if name == "themes":  # one theme's metrics give one another away: hidden together
        return redact_themes(frame, families)
    return redact(frame, families, hide=hide)


#: The tables published together whose cells are sums over the same atoms.
_AUDITED = ("metrics", "branches")


def _audited(data: ReportData) -> dict[str, pd.DataFrame]:
    """``metrics`` and ``branches`` redacted together: the per-table rule, then the cross-table
    audit, repeated until neither adds a cell (computed once per ReportData)."""
    cached = getattr(data, "_vq_audited", None)
    if cached is not None:
        return cached
    tables = {name: getattr(data, name) for name in _AUDITED}
    extra = {name: np.zeros(len(t), dtype=bool) for name, t in tables.items()}
    if data.settings.get(_SETTLED):  # audited before the data was saved: its cells, no audit
        done = data.complements
        for name in tables:
            extra[name][done.loc[done["table"] == name, "row"].to_numpy(dtype=int)] = True
        out = {name: _per_table(data, name, t, extra[name]) if len(t) else t
               for name, t in tables.items()}
        data._vq_audited = out
        return out
    seen: dict = {}  # quarter × metric → the hidden cells its last audit started from
    while True:
        out = {name: _per_table(data, name, t, extra[name]) if len(t) else t
               for name, t in tables.items()}
        hidden = {name: (out[name]["value"].isna() & t["value"].notna()).to_numpy(dtype=bool)
                  if len(t) else np.zeros(0, dtype=bool) for name, t in tables.items()}
        # hundreds of SVDs of ~150 × 300 matrices: one BLAS thread each is fastest (several
        # threads on so small a matrix wait on one another, 40× slower on a busy machine)
        with threadpool_limits(limits=1, user_api="blas"):
            more = _cross_table(data, tables, hidden, seen)
        new = {name: more[name] & ~hidden[name] for name in tables}
        if not any(v.any() for v in new.values()):
            break
        for name in tables:
            extra[name] |= new[name]
    data._vq_audited = out  # cached beside the tables: a page calls executive_table often
    data._vq_extra = extra
    return out


#: ``settings`` key: ``complements`` holds the audit's cells.
_SETTLED = "complements_settled"


def settle_suppression(data: ReportData) -> ReportData:
    """Run the cross-table audit of :func:`executive_table` once and keep the cells it adds in
    ``data.complements`` (``table, row``), so that every notebook loading the saved data
    applies them without auditing again (a quarterly run calls this before saving).

    Examples
    --------
    >>> settle_suppression(data).complements.head()   # doctest: +SKIP
    """
    if not len(data.atoms):
        return data
    _audited(data)
    extra = data._vq_extra
    data.complements = pd.DataFrame(
        [{"table": name, "row": int(i)} for name in _AUDITED for i in np.flatnonzero(extra[name])],
        columns=["table", "row"])
    data.settings[_SETTLED] = True
    return data


def _cross_table(data: ReportData, tables: dict[str, pd.DataFrame],
                 hidden: dict[str, np.ndarray], seen: dict) -> dict[str, np.ndarray]:
    """Cells of ``tables`` to hide as well, per quarter and metric (see :func:`protect`); a
    quarter × metric whose hidden cells are those ``seen`` last time is clean already."""
    family = dict(zip(data.segments["segment"].astype(str), data.segments["family"].astype(str)))
    threshold = float(data.thresholds["base_suppress"])
    atoms = data.atoms
    more = {name: np.zeros(len(t), dtype=bool) for name, t in tables.items()}
    parts: dict[tuple, list] = {}  # (quarter, metric) → (name, row, segment, branch or None)
    for name, t in tables.items():
        if not len(t):
            continue
        branch = (t["branch"].fillna("").astype(str).tolist() if "branch" in t.columns
                  else [None] * len(t))
        for i, key in enumerate(zip(t["quarter"].astype(str).tolist(),
                                    t["metric"].astype(str).tolist(),
                                    t["segment"].astype(str).tolist(), branch)):
            parts.setdefault(key[:2], []).append((name, i, key[2], key[3]))
    for (quarter, metric), group in atoms.groupby(["quarter", "metric"], sort=False):
        key = (str(quarter), str(metric))
        signatures = group["atom"].astype(str).str.split(SEPARATOR).map(set).tolist()
        member: dict[str, np.ndarray] = {}
        branch_of = group["branch"].astype(str).to_numpy()
        atom_n = group["n"].to_numpy(dtype=float)
        rows, vectors, segs, branches = [], [], [], []
        at_branch = {b: branch_of == b for b in set(branch_of)}
        none = np.zeros(len(branch_of), dtype=bool)
        for name, i, segment, branch in parts.get(key, ()):
            if segment not in member:
                member[segment] = np.array([segment in sig for sig in signatures])
            inside = member[segment]
            if branch is not None:
                inside = inside & at_branch.get(branch, none)
            rows.append((name, i))
            vectors.append(inside)
            segs.append(segment)
            branches.append(branch)
        if not rows:
            continue
        cells = np.array(vectors, dtype=float)
        gone = np.array([hidden[name][i] for name, i in rows], dtype=bool)
        if seen.get(key) == gone.tobytes():
            continue
        seen[key] = gone.tobytes()
        n = cells @ atom_n
        cost = n + np.where(np.array(segs) == ALL_SEGMENT, 1e12, 0.0)
        add = protect(cells, atom_n, gone, threshold=threshold, cost=cost,
                      groups=_sibling_groups(segs, branches, family))
        for (name, i), hide in zip(rows, add):
            more[name][i] |= hide
    return more


def _sibling_groups(segments: list[str], branches: list[str | None],
                    family: dict[str, str]) -> list[np.ndarray]:
    """Cells whose hidden members' unions are checked: the segments of one family in one
    table and branch, and the branches of one segment."""
    groups: dict[tuple, list[int]] = {}
    for i, (segment, branch) in enumerate(zip(segments, branches)):
        groups.setdefault(("family", branch, family.get(segment, segment)), []).append(i)
        if branch is not None:
            groups.setdefault(("branches", segment), []).append(i)
    return [np.array(g) for g in groups.values() if len(g) > 1]


def write_executive_tables(data: ReportData, staging: Path) -> None:
    # primary and complementary suppression (pages.executive_table), as on the pages

    safe_csv(executive_table(data, "metrics"), staging / "metrics.csv")
    safe_csv(executive_table(data, "branches"), staging / "metrics_by_branch.csv")
    safe_csv(executive_table(data, "standards"), staging / "standards_compliance.csv")
    if len(data.themes):  # what clients say: theme metrics by quarter × segment (no comment)
        safe_csv(executive_table(data, "themes"), staging / "themes.csv")
    from vipquality.standards.writers import write_proposals

    write_proposals(data.agenda, staging, detail=data.proposals,
                    assumptions=data.settings.get("agenda_assumptions", ()))
