"""The quote rules (vipquality.data.quotes) and the "What clients say" page section.

A quote must never single out a client: none from a branch × segment cell or a group under the
base threshold, none holding anything the privacy scrubber or scan finds, and nothing (manager,
branch, date, id) beside it on the page.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipquality.data.privacy import Scrubber, find_personal_data
from vipquality.data.quotes import QUOTE_COLUMNS, clean_quote, pick_quotes, shorten
from vipquality.metrics.themes import theme_metrics
from vipquality.report.data import ReportData
from vipquality.report.pages.themes import segment_themes, themes_index

BASE = 30


def _comments(n_big=40, n_small=5):
    """Comments of segment 'lux' in a big branch (north) and a small one (islet)."""
    rows = []
    for i in range(n_big):
        text = (f"I waited {['two', 'three', 'four'][i % 3]} days for a call back, "
                f"number {chr(97 + i % 26)}.")
        rows.append((f"n{i}", "lux", "north", text))
    for i in range(n_small):
        rows.append((f"s{i}", "lux", "islet", "Only client here waiting for the yacht desk."))
    frame = pd.DataFrame(rows, columns=["response_id", "segment", "branch", "comment"])
    codes = pd.DataFrame({"response_id": frame["response_id"], "theme_id": "wait"})
    cells = pd.DataFrame({"segment": "lux", "branch": ["north", "islet"], "n": [n_big, n_small]})
    groups = pd.DataFrame({"segment": ["lux"], "theme": ["wait"], "n": [n_big + n_small]})
    return frame, codes, cells, groups


def test_no_quote_from_a_branch_segment_cell_under_the_base():
    frame, codes, cells, groups = _comments()
    q = pick_quotes(frame, codes, cells, groups, base=BASE, per_theme=50)
    assert len(q) > 0
    assert not q["quote"].str.contains("yacht").any()
    assert list(q.columns) == list(QUOTE_COLUMNS)  # text, segment and theme: nothing beside it
    assert len(pick_quotes(frame, codes, cells, groups, base=BASE)) == 3


def test_no_quote_from_a_group_under_the_base():
    frame, codes, cells, groups = _comments()
    assert pick_quotes(frame, codes, cells, groups.assign(n=BASE - 1), base=BASE).empty


def test_no_quote_holds_what_the_privacy_scrubber_or_scan_finds(tmp_path):
    frame, codes, cells, groups = _comments()
    planted = ["Write to anna.petrova@example.com please.", "Call me on +7 999 123-45-67.",
               "Ask [name] about it.", "Sergei Ivanov never calls back.", "Since 12.03 nothing.",
               "Card 4276 1234 5678 9012 blocked.", "Client C-10234 waited."]
    frame.loc[:len(planted) - 1, "comment"] = planted
    scrub = Scrubber(["Sergei Ivanov"], ids=["C-10234"])
    q = pick_quotes(frame, codes, cells, groups, base=BASE, per_theme=100, scrubber=scrub)
    assert len(q) == 40 - len(planted)
    out = tmp_path / "quotes.txt"
    out.write_text("\n".join(q["quote"]))
    assert find_personal_data(out, planted=["Sergei", "Ivanov", "C-10234", "anna"]) == []
    assert all(scrub(t) == t for t in q["quote"])


def test_quotes_are_shortened_and_stable():
    assert shorten("One. " + "word " * 60, 50) == "One."
    assert len(shorten("x" * 300, 100)) <= 100
    frame, codes, cells, groups = _comments()
    a = pick_quotes(frame, codes, cells, groups, base=BASE)
    b = pick_quotes(frame.sample(frac=1, random_state=2), codes, cells, groups, base=BASE)
    pd.testing.assert_frame_equal(a, b)
    assert clean_quote("Waited two days") and not clean_quote("Waited since 2026")


# --- the page section -------------------------------------------------------------------------

def _report_data() -> ReportData:
    rng = np.random.default_rng(5)
    rows = []
    for quarter in ("2026Q2", "2026Q3"):
        for segment in ("all", "lux"):
            for i in range(200):
                wait = rng.random() < (0.25 if quarter == "2026Q2" else 0.45)
                rows.append({"quarter": quarter, "segment": segment,
                             "response_id": f"{quarter}{segment}{i}", "comment": "text",
                             "nps": int(rng.integers(0, 7) if wait else rng.integers(7, 11)),
                             "wait": wait})
    r = pd.DataFrame(rows)
    codes = pd.DataFrame({"response_id": r.loc[r["wait"], "response_id"], "theme_id": "wait"})
    themes = theme_metrics(r.drop(columns="wait"), codes, themes=["wait", "fees"],
                           base_suppress=BASE, base_small=100)
    metrics = pd.DataFrame({"quarter": "2026Q3", "segment": ["lux"], "metric": ["attr:speed"],
                            "value": [61.0], "ci_low": 58.0, "ci_high": 64.0, "se": 1.0,
                            "n": [200.0], "base_flag": "ok", "prev_value": np.nan,
                            "change": np.nan, "change_se": np.nan, "p_value": np.nan,
                            "p_adjusted": np.nan, "significant": False})
    empty = pd.DataFrame()
    segments = pd.DataFrame({"segment": ["all", "lux"], "label": ["All VIP clients", "Luxury"],
                             "family": ["all", "tier"], "report": True})
    quotes = pd.DataFrame({"segment": "lux", "theme": "wait",
                           "quote": ["Waited three days for a call back."]})
    return ReportData(
        quarter="2026Q3", previous="2026Q2", quarters=["2026Q2", "2026Q3"], segments=segments,
        metrics=metrics, branches=empty, managers=empty, composition=empty, ces_counts=empty,
        drivers=empty, standards=empty, themes=themes, theme_quotes=quotes,
        settings={"base_suppress": BASE, "base_small": 100,
                  "theme_labels": {"wait": "Waiting and call-backs", "fees": "Fees"},
                  "theme_attributes": {"wait": ["speed"]},
                  "attribute_labels": {"speed": "Speed of response"}})


def test_the_segment_page_shows_the_themes_beside_their_attribute_with_quotes():
    html = segment_themes(_report_data(), "lux")
    assert "The themes that cost most NPS" in html
    assert "Waiting and call-backs" in html and "Speed of response (61/100)" in html
    assert "<blockquote>Waited three days for a call back.</blockquote>" in html
    assert "▲" in html  # 25 % → 45 % of comments: a significant rise
    assert "Fees" not in html  # nobody mentioned it: no cost to rank, no quote


def test_the_index_names_the_theme_that_cost_each_segment_most():
    html = themes_index(_report_data())
    assert html.count("<li>") == 2
    assert "<strong>Waiting and call-backs</strong> cost most" in html
    assert "segment-lux.html" in html
