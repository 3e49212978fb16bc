"""The board pack: one printable HTML document of the quarter, printed to ``board-pack.pdf``.

It holds what the board reads, each part starting a new page: the index (title, headline KPI
cards, the quarter's agenda when the standards agenda is available, where to look first, the
quarter at a glance, the trends by segment), then each reported segment's headline cards, what
changed and its trends. It is built from the same section functions as the pages
(:mod:`vipquality.report.pages.sections`), so its numbers are the pages' numbers, and styled by
the pages' stylesheet (``vq-page.css``) with its print rules. :func:`vipquality.report.run.
chromium.print_pdf` prints it; :func:`vipquality.report.build.build_report` does both inside the
run's staging folder, before the atomic swap.

Examples
--------
>>> import vipquality as vq                                                  # doctest: +SKIP
>>> from vipquality.report.pages.board import write_board_pack               # doctest: +SKIP
>>> write_board_pack(vq.report_data(), "reports/2026Q3/.board-pack.html")    # doctest: +SKIP
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from vipquality._files import atomic_write_text
from vipquality.config import ALL_SEGMENT
from vipquality.report.data import ReportData
from vipquality.report.pages import charts, sections
from vipquality.report.pages.tables import KPI_CSS, TABLE_CSS
from vipquality.report.run.export import PLOTLY_JS_NAME, TEMPLATES_DIR, TEMPLATE_NAME

__all__ = ["board_pack_html", "write_board_pack", "board_pack_footer"]

PAGE_CSS = TEMPLATES_DIR / TEMPLATE_NAME / "vq-page.css"


def _agenda(data: ReportData) -> str:
    """The quarter's agenda (top actions) when the standards agenda is part of the package."""
    try:
        from vipquality.report.pages import agenda
    except ImportError:  # the agenda is built by another part of the package; optional here
        return ""
    top = getattr(agenda, "agenda_top", None)
    return str(top(data)) if top is not None else ""


#: Height of a board-pack chart (CSS pixels): two charts with their titles fit an A4 page.
CHART_HEIGHT = 400


def _figures(figs) -> str:
    return "".join(charts.to_html(f.update_layout(height=CHART_HEIGHT)) for f in figs)


def board_pack_footer(data: ReportData) -> str:
    """The text at the foot of every page: workspace, quarter (page numbers are added)."""
    name = str(data.settings.get("workspace_name", "") or "VIP service quality")
    return f"{name} \u00b7 board pack \u00b7 {data.quarter}"


def board_pack_html(data: ReportData, plotly_js: str = PLOTLY_JS_NAME) -> str:
    """The board pack as a whole HTML document (plotly.js loaded from ``plotly_js``, a path
    relative to where the document is written)."""
    sections.setup(data)
    parts = [sections.page_title(data, "VIP service quality: board pack"),
             str(sections.kpi_cards(data, ALL_SEGMENT)),
             "".join(str(sections.segment_story(data, ALL_SEGMENT)))]
    agenda = _agenda(data)
    if agenda:
        parts.append("<section class='vq-pagebreak'><h2>This quarter's agenda</h2>"
                     f"{agenda}</section>")
    parts += ["<section class='vq-pagebreak'><h2>Where to look first</h2>",
              sections.highlights(data),
              "<h2>The quarter at a glance</h2>", str(sections.quarter_table(data, links=False)),
              "</section><section class='vq-pagebreak'><h2>Trends by segment</h2>",
              _figures(sections.overview_trends(data)), "</section>"]
    shown = data.segments.loc[data.segments["report"], "segment"].tolist()
    for segment in shown:
        label = html.escape(data.segment_label(segment))
        parts += [f"<section class='vq-pagebreak' id='board-{html.escape(segment)}'>"
                  f"<h2>{label}</h2>",
                  str(sections.kpi_cards(data, segment)),
                  sections.segment_story(data, segment),
                  _figures(sections.segment_trends(data, segment)), "</section>"]
    title = html.escape(f"Board pack {data.quarter}")
    css = PAGE_CSS.read_text(encoding="utf-8")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{title}</title><style>{css}\n{TABLE_CSS}\n{KPI_CSS}</style>"
            f"<script src='{html.escape(plotly_js, quote=True)}'></script></head>"
            f"<body class='vq-page vq-board'><main>{''.join(parts)}</main></body></html>\n")


def write_board_pack(data: ReportData, path: str | Path, plotly_js: str | Path | None = None
                     ) -> Path:
    """Write :func:`board_pack_html` to ``path`` (whole or not at all); ``plotly_js`` is the
    shipped ``plotly.min.js`` (default: beside ``path``)."""
    path = Path(path)
    js = Path(plotly_js) if plotly_js is not None else path.parent / PLOTLY_JS_NAME
    rel = Path(os.path.relpath(js.resolve(), path.parent.resolve())).as_posix()
    return atomic_write_text(path, board_pack_html(data, rel))
