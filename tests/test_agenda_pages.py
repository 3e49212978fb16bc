"""The agenda on a page (vipquality.report.pages.agenda): what is listed, in which order, and
what is never shown."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from vipquality.report.data import ReportData
from vipquality.report.pages import agenda as pages
from vipquality.standards.agenda import AGENDA_COLUMNS


def _agenda(n_act: int = 7, n_watch: int = 2) -> pd.DataFrame:
    rows = []
    for i in range(n_act + n_watch):
        act = i < n_act
        rows.append({
            "rank": i + 1, "gate": "act" if act else "watch", "quarter": "2026Q3",
            "standard_id": f"S{i + 1:02d}", "title": f"Standard <{i + 1}>",
            "owner": "Head of service" if i else "", "action": "reinforce",
            "segments": "Luxury, Premium", "watch_segments": "", "attributes": "Speed",
            "evidence": f"Luxury: compliance {70 + i}% vs target 85%",
            "impact": 20.0 - i if i != 3 else np.nan, "impact_low": 10.0 - i,
            "impact_high": 30.0 - i, "impact_segment": "Luxury",
            "impact_basis": "associational", "gate_note": "" if act else "gap not significant",
            "n_detail": 2})
    return pd.DataFrame(rows, columns=AGENDA_COLUMNS)


def _data(agenda: pd.DataFrame) -> ReportData:
    empty = pd.DataFrame()
    seg = pd.DataFrame({"segment": ["all", "luxury"], "label": ["All", "Luxury"],
                        "family": ["all", "tier"], "report": [True, True]})
    return ReportData(quarter="2026Q3", previous="2026Q2", quarters=["2026Q2", "2026Q3"],
                      segments=seg, metrics=empty, branches=empty, managers=empty,
                      composition=empty, ces_counts=empty, drivers=empty, standards=empty,
                      agenda=agenda, settings={"attribute_labels": {"speed": "Speed"}})


def test_top_five_actions_in_rank_order_with_owner_segments_evidence_and_impact():
    html = pages.agenda_top(_data(_agenda()))
    ranks = [int(r) for r in re.findall(r"<span class='vq-rank'>(\d+)\.</span>", html)]
    assert ranks == [1, 2, 3, 4, 5]                    # five actions, no watch item
    assert "Standard &lt;1&gt;" in html and "<1>" not in html      # escaped
    assert "Owner: Standards owner" in html            # blank owner: the role
    assert "Segments: Luxury, Premium" in html
    assert "Evidence: Luxury: compliance 70% vs target 85%" in html
    assert "Expected impact: NPS +20.0 (CI +10.0 to +30.0) in Luxury" in html
    assert "not estimated" in html                     # rank 4 has no impact


def test_without_actions_the_top_says_so_and_the_whole_agenda_lists_the_watch_items():
    data = _data(_agenda(n_act=0, n_watch=2))
    assert "No action this quarter" in pages.agenda_top(data)
    whole = pages.agenda_table(data)
    assert "To watch" in whole and "Why watch, not act: gap not significant" in whole
    assert "No revision proposals" in pages.agenda_table(_data(pd.DataFrame()))
    assert "No action this quarter" in pages.agenda_top(_data(pd.DataFrame()))


def test_what_if_table_labels_segments_and_states_the_assumptions():
    result = pd.DataFrame({"segment": ["luxury"], "outcome": ["nps"], "attributes": ["speed"],
                           "current": [45.6], "target": [55.6], "shift": [10.0],
                           "baseline": [11.8], "change": [8.4], "ci_low": [5.4],
                           "ci_high": [11.6], "predicted": [20.2], "n": [549],
                           "r_squared": [0.6]})
    result.attrs["assumptions"] = ["Associational, not causal."]
    html = pages.what_if_table(_data(_agenda()), result)
    assert "<td>Luxury</td><td>Speed</td>" in html
    assert "<td>+8.4</td><td>[5.4–11.6]</td>" in html
    assert "Associational, not causal." in html
