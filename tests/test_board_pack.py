"""Headless Chromium over the DevTools pipe (report.run.chromium), the board pack's printing and
the layout checks, on small hand-made pages (seconds, not a report run).

The board pack of a real run is checked in ``test_report_e2e.py`` (page count, headline numbers,
no personal data); here: a page break gives a page, the footer carries the quarter and the page
numbers, the layout check sees what it is meant to see, and a run without Chromium says so.
"""

from __future__ import annotations

import browser
import pytest

from vipquality.errors import ReportError
from vipquality.report import build
from vipquality.report.run import chromium as cr

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
.vq-pagebreak{break-before:page}</style></head><body>
<h1>First section</h1><p>NPS 28 [25–31]</p>
<section class="vq-pagebreak"><h2>Second section</h2><p>Luxury 12</p></section>
</body></html>
"""


@pytest.fixture(scope="module")
def binary() -> str:
    return browser.chromium()


def test_print_pdf_breaks_pages_and_writes_the_footer(binary, tmp_path):
    page = tmp_path / "pack.html"
    page.write_text(PAGE, encoding="utf-8")
    pdf = cr.print_pdf(page, tmp_path / "pack.pdf", footer="Sample bank · board pack · 2026Q3",
                       binary=binary)
    assert pdf.read_bytes().startswith(b"%PDF-")
    pages = browser.pdftotext(pdf).rstrip("\f").split("\f")
    assert len(pages) == 2, pages
    assert "First section" in pages[0] and "Second section" in pages[1]
    assert "NPS 28 [25–31]" in pages[0]
    for number, text in enumerate(pages, start=1):
        assert "board pack · 2026Q3" in text and f"Page {number} of 2" in text, text


def test_layout_check_sees_overflow_and_a_title_covered(binary, tmp_path):
    """The check the report pages must pass (tests/browser.py: LAYOUT_CHECK) finds a page that
    scrolls sideways, an element past the right edge, and something drawn over a chart title;
    and does not complain about a wide table that scrolls in its own box."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<html><body style='margin:0'>"
        "<div style='overflow-x:auto'><table><tr><td style='white-space:nowrap'>"
        + "wide " * 200 + "</td></tr></table></div>"
        "<figure class='vq-chart'><h3 class='vq-chart-title' style='margin:0'>Title</h3>"
        "<div class='plotly-graph-div' id='c1'><svg class='main-svg' width='10' height='10'>"
        "</svg><div class='legend' style='position:relative;top:-30px;height:30px;"
        "width:200px;background:#eee'>legend</div></div></figure>"
        "<p style='width:3000px'>too wide</p></body></html>", encoding="utf-8")
    with cr.browser(binary) as b:
        tab = b.new_tab(390, 844)
        assert tab.open(page)
        problems = browser.layout_problems(tab)
        assert tab.errors() == []
    assert any("scrolls sideways" in p for p in problems), problems
    assert any(p.startswith("p runs past the right edge") for p in problems), problems
    assert any('c1: div.legend "legend" is drawn over the title "Title"' in p
               for p in problems), problems
    assert not any("td" in p or "table" in p for p in problems), problems


def test_console_errors_are_collected(binary, tmp_path):
    page = tmp_path / "err.html"
    page.write_text("<html><body><script>console.error('planted'); undefinedFunction();"
                    "</script></body></html>", encoding="utf-8")
    with cr.browser(binary) as b:
        tab = b.new_tab()
        tab.open(page)
        errors = tab.errors()
    assert any("planted" in e for e in errors) and any("undefinedFunction" in e
                                                        for e in errors), errors


def test_without_chromium_the_run_says_so_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(cr, "find_chromium", lambda: None)
    page = tmp_path / ".board-pack.html"
    page.write_text(PAGE, encoding="utf-8")
    note = build._print_board_pack(None, page, tmp_path / "board-pack.pdf")
    assert note.startswith("board-pack.pdf not written: headless Chromium not found")
    assert "\n" not in note and "the HTML pages are published" in note
    assert not page.exists() and not (tmp_path / "board-pack.pdf").exists()


def test_a_missing_binary_is_a_report_error(tmp_path):
    with pytest.raises(ReportError, match="could not be started"):
        with cr.browser(str(tmp_path / "no-chromium")):
            pass
