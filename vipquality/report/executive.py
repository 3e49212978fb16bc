"""The shared tables as executives may see them (primary and complementary suppression) and
the executive CSVs a quarterly run publishes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from vipquality._files import safe_csv
from vipquality.metrics.summarise import redact
from vipquality.report.data import ReportData

if TYPE_CHECKING:
    from vipquality.report.data import ReportData

__all__ = ["executive", "executive_table", "write_executive_tables"]


def executive(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a tidy metrics table as executives may see them (suppressed values blanked).

    Primary suppression only: a page shows a table's rows through :func:`executive_table`, which
    also hides the groups that would give a suppressed one away by difference."""
    return redact(frame) if len(frame) else frame


#: The columns whose groups each shared table publishes side by side (see ``redact``):
#: ``"segment"`` maps each segment to its family (segments.yaml), the others are one family.
_SIBLINGS = {"metrics": ("segment",), "branches": ("segment", "branch"),
             "managers": ("segment", "manager_id"), "standards": ("segment",)}


def executive_table(data: ReportData, name: str) -> pd.DataFrame:
    """A shared table (``metrics``, ``branches``, ``managers``, ``standards``) as executives may
    see it: :func:`~vipquality.metrics.summarise.redact` with primary suppression (n under the base
    threshold) and complementary suppression over the segment families of segments.yaml (and
    over branches and managers), so that no difference between published groups reveals a
    suppressed one. Select rows *after* this, never before."""
    frame = getattr(data, name)
    if not len(frame):
        return frame
    families: dict = {}
    for column in _SIBLINGS.get(name, ()):
        families[column] = (dict(zip(data.segments["segment"].astype(str),
                                     data.segments["family"].astype(str)))
                            if column == "segment" else None)
    if name == "standards":  # no base_flag or metric: one row per quarter × segment × standard
        threshold = data.thresholds["base_suppress"]
        flagged = frame.assign(base_flag=(frame["n"] < threshold).map(
            {True: "suppressed", False: "ok"}))
        out = redact(flagged, families, by=["quarter", "segment", "standard_id"])
        return out.drop(columns="base_flag")
    return redact(frame, families)


def write_executive_tables(data: ReportData, staging: Path) -> None:
    # primary and complementary suppression (pages.executive_table), as on the pages

    safe_csv(executive_table(data, "metrics"), staging / "metrics.csv")
    safe_csv(executive_table(data, "branches"), staging / "metrics_by_branch.csv")
    safe_csv(executive_table(data, "standards"), staging / "standards_compliance.csv")
    from vipquality.standards.writers import write_proposals

    write_proposals(data.agenda, staging, detail=data.proposals,
                    assumptions=data.settings.get("agenda_assumptions", ()))
