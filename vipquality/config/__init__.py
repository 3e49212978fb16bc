"""The workspace as typed objects, validated before any data is read.

``load_workspace(path)`` parses ``workspace.yaml`` and the files it names (instrument, segments,
standards) into frozen dataclasses; every error names the file and the key path.

>>> from vipquality.config import load_workspace
>>> ws = load_workspace()
>>> ws.name, [s.id for s in ws.segments.segments][:2]  # doctest: +ELLIPSIS
(...)
"""

from vipquality.config.load import load_workspace
from vipquality.config.model import (
    ALL_LABEL,
    ALL_SEGMENT,
    AlertMail,
    Attribute,
    CaseRules,
    ChecklistItem,
    Instrument,
    Item,
    Reporting,
    Segment,
    SegmentRules,
    Standard,
    Standards,
    StandardVersion,
    Weighting,
    Workspace,
)
from vipquality.config.quarter import Quarter
from vipquality.config.rules import OPERATORS, All, Any, Compare, Condition, Not
from vipquality.config.themes import LANGUAGES, Codeframe, Theme

__all__ = [
    "ALL_LABEL",
    "ALL_SEGMENT",
    "LANGUAGES",
    "OPERATORS",
    "AlertMail",
    "All",
    "Any",
    "Attribute",
    "CaseRules",
    "ChecklistItem",
    "Codeframe",
    "Compare",
    "Condition",
    "Instrument",
    "Item",
    "Not",
    "Quarter",
    "Reporting",
    "Segment",
    "SegmentRules",
    "Standard",
    "StandardVersion",
    "Standards",
    "Theme",
    "Weighting",
    "Workspace",
    "load_workspace",
]
