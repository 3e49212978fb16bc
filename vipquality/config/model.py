"""The typed workspace configuration: frozen dataclasses, one per part of the workspace.

:class:`Workspace` holds the :class:`Instrument` (survey items and CSI :class:`Attribute` s),
the :class:`SegmentRules` (:class:`Segment` s and their rules), the :class:`Standards`
catalogue (:class:`Standard`, :class:`StandardVersion`, :class:`ChecklistItem`) and the
:class:`Reporting` thresholds. They are built, validated, by
:func:`vipquality.config.load_workspace`; the contract other modules code against is
``docs/workspace_api.md``.
"""

from __future__ import annotations

import dataclasses
import dataclasses
import datetime as dt
import re
import typing as t
from dataclasses import dataclass
from pathlib import Path

from vipquality.config.quarter import _QUARTER_RE, Quarter
from vipquality.config.rules import All, Condition
from vipquality.config.themes import Codeframe

__all__ = [
    "ALL_LABEL",
    "ALL_SEGMENT",
    "AlertMail",
    "Attribute",
    "CaseRules",
    "ChecklistItem",
    "Instrument",
    "Item",
    "Reporting",
    "Segment",
    "SegmentRules",
    "Standard",
    "StandardVersion",
    "Standards",
    "Workspace",
]

#: A folder name a person meant as a quarter: a year, an optional separator, Q and a number.
# almost a quarter (2026Q5, 2026q3, 2026-Q3), or a quarter with something after it: a copy
# ("2026Q3 (1)", "2026Q3 - Copy") or a renamed old version ("2026Q3.bak", "2026Q3_old")
_ODD_QUARTER_RE = re.compile(r"\d{4}[-_ ]?[Qq]\d+(?:\W.*|_.*)?", re.DOTALL)


# --------------------------------------------------------------------------------------------
# The typed configuration
# --------------------------------------------------------------------------------------------

#: Id of the synthetic segment holding every client inside the universe (see
#: :func:`vipquality.data.segments.assign_segments`); reserved in ``segments.yaml``.
ALL_SEGMENT = "all"
#: Its label in reports.
ALL_LABEL = "All VIP clients"


@dataclass(frozen=True)
class Item:
    """One survey question: its role (``nps``, ``ces``, ``overall``, ``comment``), the source
    column, the question text and its answer scale (``None`` for the free-text comment).

    With ``match_columns_by: position`` the column is the 1-based column number as text ("4").
    """

    role: str
    column: str
    text: str
    scale: tuple[int, int] | None


@dataclass(frozen=True)
class Attribute:
    """A CSI attribute and the source columns of its satisfaction and importance ratings."""

    id: str
    label: str
    satisfaction: str
    importance: str | None


@dataclass(frozen=True)
class Instrument:
    """The survey questionnaire: roles, source columns, scales and CSI attributes."""

    id: str
    title: str
    version: int
    match_columns_by: str
    columns: dict[str, str | None]
    nps: Item
    ces: Item | None
    overall: Item | None
    comment: Item | None
    csi_scale: tuple[int, int]
    importance_scale: tuple[int, int] | None
    csi_weights: str | dict[str, float]
    missing_codes: tuple[float, ...]
    attributes: tuple[Attribute, ...]

    @property
    def attribute_ids(self) -> list[str]:
        """Attribute ids in questionnaire order."""
        return [a.id for a in self.attributes]

    def attribute(self, id: str) -> Attribute:
        """The attribute with this id (``KeyError`` if there is none)."""
        for a in self.attributes:
            if a.id == id:
                return a
        raise KeyError(f"no attribute {id!r}; the instrument has: {', '.join(self.attribute_ids)}")


@dataclass(frozen=True)
class Segment:
    """A client segment. Grid cells have ``grid`` set to the grid's id."""

    id: str
    label: str
    family: str
    report: bool
    rule: Condition
    grid: str | None = None


@dataclass(frozen=True)
class SegmentRules:
    """The segment definitions of ``segments.yaml``.

    ``universe`` is the VIP condition (``None``: every client). ``segments`` holds the declared
    segments then the expanded grid cells, in file order; the synthetic segment
    :data:`ALL_SEGMENT` is not among them but :meth:`get` returns it. ``fiscal_year_start``
    (from ``workspace.yaml``) tells :func:`~vipquality.data.segments.assign_segments` how to read a
    quarter given as text.
    """

    universe: Condition | None
    segments: tuple[Segment, ...]
    fiscal_year_start: int = 1

    @property
    def all_segment(self) -> Segment:
        """The synthetic ``all`` segment: every client inside the universe."""
        return Segment(ALL_SEGMENT, ALL_LABEL, ALL_SEGMENT, True,
                       self.universe if self.universe is not None else All(()))

    @property
    def ids(self) -> list[str]:
        """Segment ids in file order (without ``all``)."""
        return [s.id for s in self.segments]

    @property
    def reported(self) -> tuple[Segment, ...]:
        """Segments with ``report: true`` (each gets its own report page)."""
        return tuple(s for s in self.segments if s.report)

    def get(self, id: str) -> Segment:
        """The segment with this id; ``"all"`` gives :attr:`all_segment`."""
        if id == ALL_SEGMENT:
            return self.all_segment
        for s in self.segments:
            if s.id == id:
                return s
        raise KeyError(f"no segment {id!r}; segments.yaml defines: {', '.join(self.ids)}")

    def family(self, name: str) -> tuple[Segment, ...]:
        """Segments of one family (e.g. ``"tier"``), in file order."""
        return tuple(s for s in self.segments if s.family == name)


@dataclass(frozen=True)
class ChecklistItem:
    """One item a mystery shopper checks (``yes``/``no``/``na``)."""

    id: str
    text: str
    weight: float
    critical: bool
    standard_id: str


@dataclass(frozen=True)
class StandardVersion:
    """The wording of a standard from its effective date on; ``change`` says what changed."""

    version: int
    effective: dt.date
    text: str
    change: str | None


@dataclass(frozen=True)
class Standard:
    """A service standard: its checklist items, the CSI attributes it serves, target compliance
    (%) per segment and its versions, oldest first."""

    id: str
    title: str
    owner: str
    attributes: tuple[str, ...]
    targets: dict[str, float]
    versions: tuple[StandardVersion, ...]
    items: tuple[ChecklistItem, ...]

    def target(self, segment_id: str) -> float:
        """Target compliance (%) for a segment: its own target, else ``targets["default"]``."""
        return self.targets.get(segment_id, self.targets["default"])

    def version_at(self, day: dt.date) -> StandardVersion:
        """The version in force on ``day`` (the latest with ``effective <= day``).

        Raises ``ValueError`` when ``day`` is before the first version.

        >>> from vipquality.config import load_workspace
        >>> s = load_workspace().standards.get("S04")
        >>> s.version_at(dt.date(2025, 3, 31)).version, s.version_at(dt.date(2025, 4, 1)).version
        (1, 2)
        """
        if isinstance(day, dt.datetime):
            day = day.date()
        in_force = [v for v in self.versions if v.effective <= day]
        if not in_force:
            raise ValueError(f"standard {self.id} has no version in force on {day}: its first "
                             f"version is effective from {self.versions[0].effective}")
        return in_force[-1]


@dataclass(frozen=True)
class Standards:
    """The standards catalogue."""

    catalogue_version: str
    standards: tuple[Standard, ...]

    @property
    def items(self) -> dict[str, ChecklistItem]:
        """Every checklist item by id, in catalogue order."""
        return {i.id: i for s in self.standards for i in s.items}

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.standards]

    def get(self, id: str) -> Standard:
        """The standard with this id (``KeyError`` if there is none)."""
        for s in self.standards:
            if s.id == id:
                return s
        raise KeyError(f"no standard {id!r}; the catalogue has: {', '.join(self.ids)}")

    def __iter__(self) -> t.Iterator[Standard]:
        return iter(self.standards)

    def __len__(self) -> int:
        return len(self.standards)


@dataclass(frozen=True)
class Reporting:
    """Reporting thresholds: interval confidence, base sizes below which a value is suppressed
    or flagged small, the multiple-comparison adjustment (``holm``/``bh``) and how many quarters
    a trend shows."""

    confidence: float = 0.95
    base_suppress: int = 30
    base_small: int = 100
    adjustment: str = "holm"
    trend_quarters: int = 8


@dataclass(frozen=True)
class Weighting:
    """Raking of each quarter's survey responses (``weighting`` in workspace.yaml).

    ``enabled``: off by default. ``target``: ``invited`` (the CRM margins of the clients
    invited that quarter, from the invitations files; the whole book when a quarter has none) or
    ``book`` (every client in the universe of segments.yaml). ``variables``: canonical CRM columns
    whose margins are matched (numbers and dates cut at the target's quantiles into ``bands``
    bands). ``trim``: cap on weight / mean weight (> 1).

    >>> Weighting().enabled, Weighting().variables, Weighting().trim
    (False, ('tier', 'client_type'), 5.0)
    """

    enabled: bool = False
    target: str = "invited"
    variables: tuple[str, ...] = ("tier", "client_type")
    trim: float = 5.0
    bands: int = 4


@dataclass(frozen=True)
class CaseRules:
    """The follow-up case rules of ``cases.yaml``: when a response opens a case, the SLA in
    working days per tier, the working-day calendar, the root-cause codes and the consent item.

    ``open_when`` is the default rule, a condition on the response's ``nps``, ``ces`` and
    ``overall`` answers (evaluated like a segment rule); ``tier_rules`` replaces it for the tiers
    it names (the value of the CRM column ``tier_field``). ``sla_days`` maps a tier to working
    days, with ``"default"`` for tiers not named. ``weekmask`` is numpy's (``"1111100"``:
    Monday to Friday), ``holidays`` the non-working days. ``consent_column`` is the survey
    column answering "may we contact you about your answers?" (``None``: no such item, every
    case may be followed up).

    >>> from vipquality.config import load_workspace
    >>> rules = load_workspace().cases
    >>> rules.sla("Private"), rules.sla("Premium"), rules.sla("unknown tier")
    (1, 3, 3)
    """

    open_when: Condition
    tier_rules: dict[str, Condition]
    tier_field: str
    sla_days: dict[str, int]
    weekmask: str
    holidays: tuple[dt.date, ...]
    root_causes: dict[str, str]
    consent_column: str | None
    contact_target: float = 90.0

    def rule(self, tier: str | None) -> Condition:
        """The rule that opens a case for a client of ``tier``."""
        return self.tier_rules.get(tier, self.open_when) if tier is not None else self.open_when

    def sla(self, tier: str | None) -> int:
        """Working days allowed from the response to the first contact for ``tier``."""
        return self.sla_days.get(tier, self.sla_days["default"]) if tier is not None \
            else self.sla_days["default"]


@dataclass(frozen=True)
class AlertMail:
    """Where the alerts of a run are e-mailed (``alerts.email`` in workspace.yaml).

    ``executives`` get the alerts without personal data; ``branches`` (branch code → addresses)
    the branch's overdue cases; ``managers`` (manager code → addresses) only their own cases.
    The password is read from the environment variable ``password_env`` at sending time, never
    from a file.
    """

    host: str
    port: int
    sender: str
    executives: tuple[str, ...] = ()
    branches: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    managers: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    username: str | None = None
    password_env: str | None = None
    starttls: bool = False


@dataclass(frozen=True)
class Workspace:
    """A loaded, validated workspace (see ``surveys/README.md``)."""

    root: Path
    name: str
    currency: str
    timezone: str
    fiscal_year_start: int
    instrument: Instrument
    segments: SegmentRules
    standards: Standards
    staff_path: Path | None
    store_path: Path
    quarter_files: dict[str, tuple[str, ...]]
    client_columns: dict[str, str]
    personal_columns: tuple[str, ...]
    visit_columns: dict[str, str]
    reporting: Reporting
    critical_item_fails_visit: bool
    #: the follow-up case rules (``cases`` in workspace.yaml); ``None``: no cases are opened
    cases: CaseRules | None = None
    #: e-mail delivery of the run's alerts (``alerts.email``); ``None``: no mail
    alert_mail: AlertMail | None = None
    #: the legacy code pages of the workspace's non-UTF-8 exports (``encodings``), e.g.
    #: ``("cp1253",)``; empty: guessed among cp1251, cp1253, cp1252 and latin-1, refusing a file
    #: that reads as both Greek and Cyrillic
    encodings: tuple[str, ...] = ()
    #: the sheet holding the data in Excel workbooks, per table (``sheets``); default: the first
    sheets: dict[str, str] = dataclasses.field(default_factory=dict)
    #: the countries whose phone numbering plans and document numbers are masked in comments
    #: (``countries``, ISO 3166 codes); default: the markets vipquality was conceived for
    countries: tuple[str, ...] = ("GR", "PH", "RU")
    #: the codeframe of the comments (``themes.yaml``); ``None``: no themes are coded
    themes: Codeframe | None = None
    #: raking of the survey responses to CRM margins (``weighting``); off by default
    weighting: Weighting = Weighting()
    #: a client invited more than this many times in 12 months is counted as fatigued
    #: (``invitations.fatigue_limit``)
    fatigue_limit: int = 3

    def quarter(self, q: str | Quarter) -> Quarter:
        """``q`` as a :class:`Quarter` on this workspace's fiscal calendar."""
        if isinstance(q, Quarter):
            return q
        return Quarter.parse(q, self.fiscal_year_start)

    def quarters(self) -> list[str]:
        """The ``YYYYQn`` folders present in the workspace, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and _QUARTER_RE.fullmatch(p.name))

    def odd_quarter_folders(self) -> list[str]:
        """Folders named almost like a quarter but not one (``2026Q5``, ``2026q3``,
        ``2026-Q3``, a copy ``2026Q3 (1)``, ``2026Q3.bak``): :meth:`quarters` leaves them out,
        so the commands name them instead of skipping them without a word."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and _ODD_QUARTER_RE.fullmatch(p.name)
                      and not _QUARTER_RE.fullmatch(p.name))

    def quarter_dir(self, q: str | Quarter) -> Path:
        """The folder of a quarter's raw files (it need not exist yet)."""
        return self.root / str(Quarter.parse(q))
