"""What each page section shows: figures and HTML tables from a quarter's
:class:`~vipquality.report.data.ReportData`. A notebook calls one function per section
(``vq.pages.segment_headline(data, segment)``); the plotly figures (:mod:`.charts`), formatted
tables (:mod:`.tables`), generated sentences (:mod:`.narrative`) and the restricted staff view
(:mod:`.staff`) are built here and compute no statistics.
"""

from vipquality.report.executive import executive, executive_table
from vipquality.report.pages.agenda import (
    agenda_assumptions,
    agenda_focus,
    agenda_table,
    agenda_top,
    what_if_table,
)
from vipquality.report.pages.loop import loop_branches, loop_health, loop_recovery
from vipquality.report.pages.response import (
    response_by_manager,
    weighting_note,
    who_answered,
)
from vipquality.report.pages.sections import (
    HEADLINE,
    highlights,
    overall_drivers,
    overview_trends,
    page_title,
    quarter_table,
    segment_branches,
    segment_compliance,
    segment_composition,
    segment_drivers,
    segment_effort,
    segment_headline,
    segment_links,
    segment_managers,
    segment_story,
    segment_trends,
    setup,
    standards_chart,
    standards_proposals,
    standards_revision_details,
    standards_revisions,
    standards_table,
)
from vipquality.report.pages.themes import segment_themes, themes_index

__all__ = [
    "HEADLINE",
    "agenda_assumptions",
    "agenda_focus",
    "agenda_table",
    "agenda_top",
    "executive",
    "executive_table",
    "highlights",
    "loop_branches",
    "loop_health",
    "loop_recovery",
    "overall_drivers",
    "overview_trends",
    "page_title",
    "quarter_table",
    "response_by_manager",
    "segment_branches",
    "segment_compliance",
    "segment_composition",
    "segment_drivers",
    "segment_effort",
    "segment_headline",
    "segment_links",
    "segment_managers",
    "segment_story",
    "segment_themes",
    "segment_trends",
    "setup",
    "standards_chart",
    "standards_proposals",
    "standards_revision_details",
    "standards_revisions",
    "standards_table",
    "themes_index",
    "weighting_note",
    "what_if_table",
    "who_answered",
]
