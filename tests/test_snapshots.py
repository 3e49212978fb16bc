"""Snapshot tests of the generated tables on the committed sample workspace (fixed data, fixed
dates: the sample is seeded and every table is computed from it deterministically).

When a change is meant to alter them, regenerate with ``VQ_UPDATE_SNAPSHOTS=1 make test`` (or
``pytest tests/test_snapshots.py``) and review the diff of ``tests/snapshots/`` like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

import vipquality as vq
from vipquality.report import pages
from vipquality.report.pages import tables

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("VQ_UPDATE_SNAPSHOTS") == "1"


@pytest.fixture(scope="module")
def data(sample_workspace):
    return vq.compute_report_data(sample_workspace, "2026Q3", n_boot=100)


def _check(name: str, frame: pd.DataFrame) -> None:
    text = frame.to_csv(index=False, lineterminator="\n", float_format="%.6g")
    path = SNAPSHOTS / name
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"no snapshot {path}: run with VQ_UPDATE_SNAPSHOTS=1 to create it")
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} changed; if intended, regenerate with VQ_UPDATE_SNAPSHOTS=1 and review the diff")


def test_quarter_at_a_glance_table(data):
    shown = data.segments.loc[data.segments["report"], "segment"].tolist()
    frame = tables.metrics_display_frame(pages.executive(data.current("metrics")),
                                         segment_order=shown, quarter=data.quarter,
                                         **data.thresholds)
    _check("quarter_at_a_glance_2026Q3.csv", frame)


def test_redacted_metrics_of_the_quarter(data):
    metrics = pages.executive(data.current("metrics"))
    headline = metrics[metrics["metric"].isin(pages.HEADLINE)]
    _check("metrics_headline_2026Q3.csv", headline.drop(columns=["se", "change_se"]))


def test_standards_proposals(data):
    _check("standards_proposals_2026Q3.csv",
           data.proposals[["segment", "standard_id", "attribute", "action", "reason"]])


def test_standards_agenda(data):
    agenda = data.agenda[["rank", "gate", "standard_id", "action", "owner", "segments",
                          "watch_segments", "attributes", "evidence", "impact", "impact_low",
                          "impact_high", "impact_segment", "gate_note"]]
    _check("standards_agenda_2026Q3.csv", agenda.round({"impact": 1, "impact_low": 1,
                                                        "impact_high": 1}))
