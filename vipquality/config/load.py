"""The typed workspace configuration and the quarter helper.

:func:`load_workspace` reads ``workspace.yaml`` and the files it names (``instrument.yaml``,
``segments.yaml``, ``standards.yaml``), validates all of it and returns a frozen
:class:`Workspace`. Every problem raises :class:`~vipquality.errors.ConfigError` naming the file,
the dotted key path (``standards[3].items[0].weight``) and what was expected versus what was
found, before any data is read. The format is documented for quality managers in
``surveys/README.md``; the contract other modules code against is ``docs/workspace_api.md``.

Validation is plain Python on top of PyYAML, in the small :class:`_Reader` helper, rather than
pydantic or JSON Schema: the point of it is the exact message a quality manager reads (file, key
path such as ``segments[4].rule.all[1].le``, line, "expected ..., got ..."), which those tools
word in their own way, and it adds no dependency.

YAML is read with a stricter loader than PyYAML's default: duplicate keys are errors, only
``true``/``false`` are booleans (``no``, ``on``, ``y`` stay text) and dates stay text until a key
that expects a date parses them, so a bad date is reported with its key path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
import typing as t
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from vipquality.errors import ConfigError
from vipquality.paths import SAMPLE_WORKSPACE

__all__ = [
    "Quarter",
    "Condition",
    "Compare",
    "All",
    "Any",
    "Not",
    "OPERATORS",
    "ALL_SEGMENT",
    "ALL_LABEL",
    "Item",
    "Attribute",
    "Instrument",
    "Segment",
    "SegmentRules",
    "ChecklistItem",
    "StandardVersion",
    "Standard",
    "Standards",
    "Reporting",
    "Workspace",
    "load_workspace",
]


# --------------------------------------------------------------------------------------------
# Quarters
# --------------------------------------------------------------------------------------------

_QUARTER_RE = re.compile(r"(\d{4})Q([1-4])")


@dataclass(frozen=True, repr=False)
class Quarter:
    """A (fiscal) quarter, written ``YYYYQn``.

    Convention for fiscal years: a fiscal year is named by the calendar year in which it
    *starts*. With ``fiscal_year_start=4`` (April), ``2026Q1`` is April–June 2026 and ``2026Q4``
    is January–March 2027. With the default ``fiscal_year_start=1`` quarters are calendar
    quarters.

    Quarters compare and sort chronologically; comparing quarters of different fiscal calendars
    raises ``TypeError``. ``q + n`` and ``q - n`` shift by ``n`` quarters, ``q1 - q2`` is the
    number of quarters between them.

    Examples
    --------
    >>> q = Quarter.parse("2026Q3")
    >>> q.start, q.end
    (datetime.date(2026, 7, 1), datetime.date(2026, 9, 30))
    >>> str(q.next()), str(q.previous()), str(Quarter.parse("2026Q1").previous())
    ('2026Q4', '2026Q2', '2025Q4')
    >>> fy = Quarter.parse("2026Q4", fiscal_year_start=4)
    >>> fy.start, fy.end
    (datetime.date(2027, 1, 1), datetime.date(2027, 3, 31))
    >>> [str(x) for x in Quarter.range("2025Q4", "2026Q2")]
    ['2025Q4', '2026Q1', '2026Q2']
    >>> Quarter.parse("2026Q3") - Quarter.parse("2025Q1")
    6
    """

    year: int
    q: int
    fiscal_year_start: int = 1

    def __post_init__(self) -> None:
        for name, value, lo, hi in (("year", self.year, 1, 9998), ("q", self.q, 1, 4),
                                    ("fiscal_year_start", self.fiscal_year_start, 1, 12)):
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(f"Quarter {name} must be a whole number from {lo} to {hi}, "
                                 f"got {value!r}")

    # construction ----------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str | Quarter, fiscal_year_start: int = 1) -> Quarter:
        """Parse ``"2026Q3"``. A :class:`Quarter` is returned unchanged (its own calendar kept).

        Raises ``ValueError`` for anything else, e.g. ``"2026Q5"``, ``"2026-Q3"``, ``"Q3 2026"``.
        """
        if isinstance(text, Quarter):
            return text
        if not isinstance(text, str):
            raise ValueError(f"expected a quarter written like '2026Q3', got {text!r}")
        match = _QUARTER_RE.fullmatch(text.strip())
        if match is None:
            raise ValueError(
                f"expected a quarter written like '2026Q3' (four-digit year, 'Q', 1 to 4), "
                f"got {text!r}")
        return cls(int(match[1]), int(match[2]), fiscal_year_start)

    @classmethod
    def from_date(cls, day: dt.date, fiscal_year_start: int = 1) -> Quarter:
        """The quarter containing ``day``.

        >>> str(Quarter.from_date(dt.date(2027, 2, 10), fiscal_year_start=4))
        '2026Q4'
        """
        months = (day.year * 12 + day.month - 1) - (fiscal_year_start - 1)
        return cls(months // 12, (months % 12) // 3 + 1, fiscal_year_start)

    @classmethod
    def range(cls, first: str | Quarter, last: str | Quarter,
              fiscal_year_start: int = 1) -> list[Quarter]:
        """Every quarter from ``first`` to ``last``, both included, oldest first."""
        a = cls.parse(first, fiscal_year_start)
        b = cls.parse(last, fiscal_year_start)
        if a > b:
            raise ValueError(f"Quarter.range: {a} comes after {b}; give the earlier quarter first")
        return [a + i for i in range(b - a + 1)]

    # calendar --------------------------------------------------------------------------------
    @property
    def _index(self) -> int:
        return self.year * 4 + self.q - 1

    @property
    def start(self) -> dt.date:
        """First day of the quarter."""
        months = self.year * 12 + (self.fiscal_year_start - 1) + 3 * (self.q - 1)
        return dt.date(months // 12, months % 12 + 1, 1)

    @property
    def end(self) -> dt.date:
        """Last day of the quarter (the as-of date of that quarter's CRM extract)."""
        return self.next().start - dt.timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        if isinstance(day, dt.datetime):
            day = day.date()
        return isinstance(day, dt.date) and self.start <= day <= self.end

    def previous(self) -> Quarter:
        return self + -1

    def next(self) -> Quarter:
        return self + 1

    # arithmetic and ordering -----------------------------------------------------------------
    def __add__(self, n: int) -> Quarter:
        if isinstance(n, bool) or not isinstance(n, int):
            return NotImplemented
        i = self._index + n
        return Quarter(i // 4, i % 4 + 1, self.fiscal_year_start)

    def __sub__(self, other):
        if isinstance(other, Quarter):
            self._same_calendar(other)
            return self._index - other._index
        if isinstance(other, int) and not isinstance(other, bool):
            return self + -other
        return NotImplemented

    def _same_calendar(self, other: Quarter) -> None:
        if other.fiscal_year_start != self.fiscal_year_start:
            raise TypeError(f"cannot compare quarters of different fiscal calendars "
                            f"({self!r} and {other!r})")

    def _key(self, other: object) -> tuple[int, int] | None:
        if not isinstance(other, Quarter):
            return None
        self._same_calendar(other)
        return self._index, other._index

    def __lt__(self, other: object) -> bool:
        k = self._key(other)
        return NotImplemented if k is None else k[0] < k[1]

    def __le__(self, other: object) -> bool:
        k = self._key(other)
        return NotImplemented if k is None else k[0] <= k[1]

    def __gt__(self, other: object) -> bool:
        k = self._key(other)
        return NotImplemented if k is None else k[0] > k[1]

    def __ge__(self, other: object) -> bool:
        k = self._key(other)
        return NotImplemented if k is None else k[0] >= k[1]

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"

    def __repr__(self) -> str:
        fy = f", fiscal_year_start={self.fiscal_year_start}" if self.fiscal_year_start != 1 else ""
        return f"Quarter('{self}'{fy})"


# --------------------------------------------------------------------------------------------
# Conditions (the parsed segment rule tree)
# --------------------------------------------------------------------------------------------

#: Comparison operators of a ``{field: F, <op>: value}`` condition, with how they read.
OPERATORS: dict[str, str] = {
    "eq": "=", "ne": "≠", "in": "in", "not_in": "not in", "lt": "<", "le": "≤", "gt": ">",
    "ge": "≥", "between": "between", "contains": "contains", "within_days": "within days",
    "older_than_days": "older than days", "is_null": "is missing",
}

Scalar = t.Union[str, int, float, bool, dt.date]


@dataclass(frozen=True)
class Condition:
    """Base of the rule tree: :class:`Compare`, :class:`All`, :class:`Any`, :class:`Not`.

    ``a & b``, ``a | b`` and ``~a`` build :class:`All`, :class:`Any` and :class:`Not`.
    Evaluate with :func:`vipquality.data.segments.evaluate`.
    """

    def __and__(self, other: Condition) -> All:
        return All((self, other))

    def __or__(self, other: Condition) -> Any:
        return Any((self, other))

    def __invert__(self) -> Not:
        return Not(self)

    @property
    def fields(self) -> frozenset[str]:
        """The client columns the condition reads."""
        raise NotImplementedError


@dataclass(frozen=True)
class Compare(Condition):
    """``field <op> value``; ``value`` is a tuple for ``in``/``not_in``/``between``.

    >>> str(Compare("revenue", "le", 400_000_000))
    'revenue ≤ 400000000'
    """

    field: str
    op: str
    value: t.Any

    @property
    def fields(self) -> frozenset[str]:
        return frozenset({self.field})

    def __str__(self) -> str:
        v = self.value
        if self.op == "between":
            return f"{self.field} between {v[0]} and {v[1]}"
        if self.op in ("in", "not_in"):
            return f"{self.field} {OPERATORS[self.op]} ({', '.join(map(str, v))})"
        if self.op == "within_days":
            return f"{self.field} within the last {v} days"
        if self.op == "older_than_days":
            return f"{self.field} older than {v} days"
        if self.op == "is_null":
            return f"{self.field} is {'missing' if v else 'present'}"
        return f"{self.field} {OPERATORS[self.op]} {v}"


@dataclass(frozen=True)
class All(Condition):
    """True when every item is true (an empty ``All`` is always true)."""

    items: tuple[Condition, ...]

    @property
    def fields(self) -> frozenset[str]:
        return frozenset().union(*(c.fields for c in self.items))

    def __str__(self) -> str:
        return " and ".join(_wrapped(c) for c in self.items) or "everyone"


@dataclass(frozen=True)
class Any(Condition):
    """True when at least one item is true (an empty ``Any`` is never true)."""

    items: tuple[Condition, ...]

    @property
    def fields(self) -> frozenset[str]:
        return frozenset().union(*(c.fields for c in self.items))

    def __str__(self) -> str:
        return " or ".join(_wrapped(c) for c in self.items) or "no one"


@dataclass(frozen=True)
class Not(Condition):
    """True when the item is false; a row whose fields are missing matches neither."""

    item: Condition

    @property
    def fields(self) -> frozenset[str]:
        return self.item.fields

    def __str__(self) -> str:
        return f"not {_wrapped(self.item)}"


def _wrapped(c: Condition) -> str:
    return f"({c})" if isinstance(c, (All, Any)) and len(c.items) > 1 else str(c)


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

    def quarter_dir(self, q: str | Quarter) -> Path:
        """The folder of a quarter's raw files (it need not exist yet)."""
        return self.root / str(Quarter.parse(q))


# --------------------------------------------------------------------------------------------
# YAML reading: line numbers, duplicate keys, YAML 1.2 booleans, dates left as text
# --------------------------------------------------------------------------------------------

class _Map(dict):
    """A YAML mapping that remembers the line of each key (1-based)."""

    line: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[t.Any, int] = {}


class _Seq(list):
    """A YAML sequence that remembers the line of each entry (1-based)."""

    line: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []


class _Loader(yaml.SafeLoader):
    """SafeLoader with line numbers, duplicate-key errors, only true/false as booleans and no
    implicit dates (``2025-04`` and ``2025-02-30`` stay text for the validator to judge)."""


_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_BOOL = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_TIMESTAMP, _BOOL)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
# PyYAML (YAML 1.1) reads 1e9 as text; accept exponent notation without a dot as a number.
_Loader.add_implicit_resolver("tag:yaml.org,2002:float",
                              re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
                              list("-+0123456789"))


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> t.Iterator[_Map]:
    data = _Map()
    data.line = node.start_mark.line + 1
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                "found a key that is a list or mapping", key_node.start_mark) from None
        if key in data:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first given on line {data.lines[key]})",
                key_node.start_mark)
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = key_node.start_mark.line + 1


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> t.Iterator[_Seq]:
    data = _Seq()
    data.line = node.start_mark.line + 1
    yield data
    for child in node.value:
        data.append(loader.construct_object(child, deep=True))
        data.lines.append(child.start_mark.line + 1)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def _read_yaml(path: Path, named_by: _Reader | None = None) -> _Reader:
    """Read one YAML file into a :class:`_Reader`; every failure is a ConfigError.

    ``named_by`` is the workspace.yaml key that names the file (blamed when it is missing).
    """
    file = str(path)
    if not path.is_file():
        if named_by is not None:
            others = [p.name for p in path.parent.glob("*.y*ml")] if path.parent.is_dir() else []
            named_by.fail(f"{_hint(path.name, others)}expected an existing file next to "
                          f"workspace.yaml, got {named_by.value!r} ({file} does not exist)")
        raise ConfigError(file, "", "file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(file, "", f"expected UTF-8 text, got byte {e.object[e.start]:#04x} at "
                                    f"offset {e.start}") from None
    except OSError as e:
        raise ConfigError(file, "", f"cannot be read: {e.strerror or e}") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        detail = e.problem or "invalid YAML"
        if e.context:
            detail = f"{detail} ({e.context})"
        raise ConfigError(file, "", f"invalid YAML at {where}: {detail}") from None
    except yaml.YAMLError as e:
        raise ConfigError(file, "", f"invalid YAML: {e}") from None
    return _Reader(file, data)


# --------------------------------------------------------------------------------------------
# _Reader: a YAML value with its file and key path, and the checks used on it
# --------------------------------------------------------------------------------------------

_IDENT_RE = re.compile(r"[a-z][a-z0-9_]*")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _show(value: t.Any) -> str:
    """A value as the message shows it after "got"."""
    if value is None:
        return "nothing (empty or null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        kind = "a mapping"
    elif isinstance(value, list):
        kind = "a list"
    else:
        return repr(value)
    text = repr(dict(value) if isinstance(value, dict) else list(value))
    return f"{kind} {text if len(text) <= 60 else text[:57] + '...'}"


def _hint(word: str, options: t.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _fmt(x: float) -> str:
    """A number as written in YAML: 400000000, not 4e+08."""
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def _bounds(lo: float | None, hi: float | None, lo_open: bool = False,
            hi_open: bool = False) -> str:
    if lo is not None and hi is not None and not lo_open and not hi_open:
        return f" from {_fmt(lo)} to {_fmt(hi)}"
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '≥'} {_fmt(lo)}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '≤'} {_fmt(hi)}")
    return (" " + " and ".join(parts)) if parts else ""


class _Reader:
    """One YAML value plus where it is (file, dotted key path, line).

    Every check raises ``ConfigError(file, key_path, "expected ..., got ...")``, so the
    validation code reads as a description of the format.
    """

    __slots__ = ("file", "value", "path", "line")

    def __init__(self, file: str, value: t.Any, path: str = "", line: int | None = None):
        self.file, self.value, self.path = file, value, path
        self.line = line if line is not None else getattr(value, "line", None)

    def fail(self, problem: str) -> t.NoReturn:
        where = f" (line {self.line})" if self.line else ""
        raise ConfigError(self.file, self.path, f"{problem}{where}")

    def _key(self, key: t.Any) -> _Reader:
        lines = getattr(self.value, "lines", {})
        path = f"{self.path}.{key}" if self.path else str(key)
        value = self.value.get(key) if isinstance(self.value, dict) else None
        return _Reader(self.file, value, path, lines.get(key, self.line))

    # containers ------------------------------------------------------------------------------
    def mapping(self) -> _Reader:
        if not isinstance(self.value, dict):
            self.fail(f"expected a mapping of 'key: value' lines, got {_show(self.value)}")
        for key in self.value:
            if not isinstance(key, str):
                self._key(key).fail(f"expected a text key, got {_show(key)}")
        return self

    def fields(self, required: t.Sequence[str] = (), optional: t.Sequence[str] = ()) -> _Reader:
        """Check a mapping with a fixed set of keys: no unknown key, every required one present."""
        self.mapping()
        known = [*required, *optional]
        for key in self.value:
            if key not in known:
                self._key(key).fail(f"unknown key; {_hint(key, known)}"
                                    f"expected one of: {', '.join(known)}")
        for key in required:
            if key not in self.value:
                has = ", ".join(self.value) or "no keys"
                self._key(key).fail(f"required key is missing (found: {has})")
        return self

    def __getitem__(self, key: str) -> _Reader:
        return self._key(key)

    def get(self, key: str) -> _Reader | None:
        """The value under ``key``, or None when the key is absent or null."""
        if isinstance(self.value, dict) and self.value.get(key) is not None:
            return self._key(key)
        return None

    def entries(self) -> list[tuple[str, _Reader]]:
        """The key/value pairs of an open mapping (keys are data, e.g. segment ids)."""
        self.mapping()
        return [(k, self._key(k)) for k in self.value]

    def list(self, min_items: int = 0, what: str = "a list") -> list[_Reader]:
        if not isinstance(self.value, list):
            self.fail(f"expected {what}, got {_show(self.value)}")
        if len(self.value) < min_items:
            self.fail(f"expected {what} with at least {min_items} "
                      f"entr{'y' if min_items == 1 else 'ies'}, got an empty list")
        lines = getattr(self.value, "lines", [])
        return [_Reader(self.file, v, f"{self.path}[{i}]",
                        lines[i] if i < len(lines) else self.line)
                for i, v in enumerate(self.value)]

    # scalars ---------------------------------------------------------------------------------
    def text(self, what: str = "text") -> str:
        v = self.value
        if not isinstance(v, str) or not v.strip():
            self.fail(f"expected {what}, got {_show(v)}")
        return v.strip()

    def ident(self, what: str = "an id") -> str:
        v = self.value
        if not isinstance(v, str) or not _IDENT_RE.fullmatch(v):
            self.fail(f"expected {what} in lower case (letters, digits and _, starting with a "
                      f"letter, e.g. 'response_speed'), got {_show(v)}")
        return v

    def integer(self, lo: int | None = None, hi: int | None = None) -> int:
        v = self.value
        ok = isinstance(v, int) and not isinstance(v, bool)
        if not ok or (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(f"expected a whole number{_bounds(lo, hi)}, got {_show(v)}")
        return v

    def number(self, *, ge: float | None = None, gt: float | None = None,
               le: float | None = None, what: str = "a number") -> float:
        v = self.value
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v == v
        lo = gt if gt is not None else ge
        if (not ok or (ge is not None and v < ge) or (gt is not None and v <= gt)
                or (le is not None and v > le)):
            self.fail(f"expected {what}{_bounds(lo, le, lo_open=gt is not None)}, got {_show(v)}")
        return float(v)

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            self.fail(f"expected true or false, got {_show(self.value)}")
        return self.value

    def date(self) -> dt.date:
        v = self.value
        if not isinstance(v, str) or not _DATE_RE.fullmatch(v.strip()):
            self.fail(f"expected a date written YYYY-MM-DD, got {_show(v)}")
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            self.fail(f"expected a real calendar date YYYY-MM-DD, got {_show(v)}")

    def choice(self, options: t.Sequence[str]) -> str:
        v = self.value
        if not isinstance(v, str) or v not in options:
            hint = _hint(v, options) if isinstance(v, str) else ""
            self.fail(f"{hint}expected one of {', '.join(options)}, got {_show(v)}")
        return v

    def scale(self) -> tuple[int, int]:
        v = self.value
        if (not isinstance(v, list) or len(v) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in v)):
            self.fail(f"expected a scale [low, high] of two whole numbers, got {_show(v)}")
        if v[0] >= v[1]:
            self.fail(f"expected a scale [low, high] with low < high, got {_show(v)}")
        return v[0], v[1]


# --------------------------------------------------------------------------------------------
# instrument.yaml
# --------------------------------------------------------------------------------------------

_MATCH_MODES = ("name", "text", "position")
_WEIGHT_MODES = ("stated", "equal", "derived")


def _column(r: _Reader, mode: str) -> str:
    """A source-column reference: a header, or with ``position`` a 1-based column number."""
    if mode == "position":
        v = r.value
        if isinstance(v, str) and v.strip().isdigit():
            v = int(v.strip())
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            r.fail("expected a column number ≥ 1 (match_columns_by is 'position'), "
                   f"got {_show(r.value)}")
        return str(v)
    return r.text("a column name")


class _Columns:
    """Collects source-column references so one column is never used for two things."""

    def __init__(self) -> None:
        self.used: dict[str, str] = {}

    def add(self, r: _Reader, column: str) -> str:
        if column in self.used:
            r.fail(f"expected a column not used elsewhere; {column!r} is already "
                   f"{self.used[column]}")
        self.used[column] = r.path
        return column


def _item(r: _Reader, role: str, mode: str, cols: _Columns, scaled: bool = True) -> Item:
    r.fields(required=("column", "text", "scale") if scaled else ("column", "text"))
    column = cols.add(r["column"], _column(r["column"], mode))
    scale = r["scale"].scale() if scaled else None
    if role == "nps" and scale != (0, 10):
        r["scale"].fail(f"expected [0, 10] (NPS is defined on the 0–10 scale), "
                        f"got {_show(r['scale'].value)}")
    return Item(role, column, r["text"].text("the question text"), scale)


def _parse_instrument(r: _Reader) -> Instrument:
    r.fields(required=("id", "title", "version", "columns", "nps", "csi"),
             optional=("match_columns_by", "ces", "overall", "comment"))
    mode = r["match_columns_by"].choice(_MATCH_MODES) if r.get("match_columns_by") else "name"
    cols = _Columns()

    c = r["columns"].fields(required=("response_id", "client_id"),
                            optional=("submitted_at", "weight"))
    columns: dict[str, str | None] = {}
    for role in ("response_id", "client_id", "submitted_at", "weight"):
        cr = c.get(role)
        if cr is None and role in ("response_id", "client_id"):
            c[role].fail(f"expected a column name, got {_show(c[role].value)}")
        columns[role] = cols.add(cr, _column(cr, mode)) if cr is not None else None

    nps = _item(r["nps"], "nps", mode, cols)
    ces = _item(r["ces"], "ces", mode, cols) if r.get("ces") else None
    overall = _item(r["overall"], "overall", mode, cols) if r.get("overall") else None
    comment = _item(r["comment"], "comment", mode, cols, scaled=False) if r.get("comment") else None

    csi = r["csi"].fields(required=("scale", "weights", "attributes"),
                          optional=("importance_scale", "missing_codes"))
    csi_scale = csi["scale"].scale()
    imp_scale = csi["importance_scale"].scale() if csi.get("importance_scale") else None
    codes: list[float] = []
    if csi.get("missing_codes"):
        for cr in csi["missing_codes"].list(what="a list of numbers"):
            code = cr.number()
            for name, sc in (("csi.scale", csi_scale), ("csi.importance_scale", imp_scale)):
                if sc is not None and sc[0] <= code <= sc[1]:
                    cr.fail(f"expected a code outside {name} {list(sc)} (a code inside it would "
                            f"erase real answers), got {_show(cr.value)}")
            codes.append(code)

    attributes: list[Attribute] = []
    seen: dict[str, str] = {}
    for ar in csi["attributes"].list(min_items=1, what="a list of attributes"):
        ar.fields(required=("id", "label", "satisfaction"), optional=("importance",))
        aid = ar["id"].ident("an attribute id")
        if aid in seen:
            ar["id"].fail(f"expected a unique attribute id; {aid!r} is already used by {seen[aid]}")
        seen[aid] = ar.path
        sat = cols.add(ar["satisfaction"], _column(ar["satisfaction"], mode))
        ir = ar.get("importance")
        imp = cols.add(ir, _column(ir, mode)) if ir is not None else None
        attributes.append(Attribute(aid, ar["label"].text("a label"), sat, imp))

    wr = csi["weights"]
    weights: str | dict[str, float]
    if isinstance(wr.value, dict):
        weights = {}
        for key, vr in wr.entries():
            if key not in seen:
                vr.fail(f"{_hint(key, seen)}expected an attribute id ({', '.join(seen)}), "
                        f"got {key!r}")
            weights[key] = vr.number(gt=0, what="a weight")
        missing = [a for a in seen if a not in weights]
        if missing:
            wr.fail(f"expected a weight for every attribute, missing: {', '.join(missing)}")
    elif isinstance(wr.value, str):
        weights = wr.choice(_WEIGHT_MODES)
    else:
        wr.fail(f"expected one of {', '.join(_WEIGHT_MODES)} or a mapping "
                f"{{attribute_id: weight}}, got {_show(wr.value)}")

    if weights == "stated":
        for ar, a in zip(csi["attributes"].list(), attributes):
            if a.importance is None:
                ar["importance"].fail("expected an importance column: csi.weights is 'stated', "
                                      "so every attribute needs one; got nothing")
    if imp_scale is None and any(a.importance for a in attributes):
        csi["importance_scale"].fail("expected a scale [low, high]: attributes have importance "
                                     "columns; got nothing")

    return Instrument(
        id=r["id"].text("an instrument id"), title=r["title"].text("a title"),
        version=r["version"].integer(lo=1), match_columns_by=mode, columns=columns,
        nps=nps, ces=ces, overall=overall, comment=comment, csi_scale=csi_scale,
        importance_scale=imp_scale, csi_weights=weights, missing_codes=tuple(codes),
        attributes=tuple(attributes))


# --------------------------------------------------------------------------------------------
# segments.yaml
# --------------------------------------------------------------------------------------------

_COMBINATORS = ("all", "any", "not")


def _kind(v: t.Any) -> str:
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, dt.date):
        return "date"
    return "text"


def _scalar(r: _Reader, allowed: t.Sequence[str] = ("text", "number", "date", "true/false")) -> Scalar:
    """A comparison value; text written YYYY-MM-DD is a date."""
    v = r.value
    if isinstance(v, str) and _DATE_RE.fullmatch(v.strip()):
        v = r.date()
    ok = (isinstance(v, (str, int, float, dt.date)) and not (isinstance(v, str) and not v.strip())
          and not (isinstance(v, float) and v != v))
    if not ok or _kind(v) not in allowed:
        r.fail(f"expected {' or '.join(allowed)}, got {_show(r.value)}")
    return v


def _op_value(r: _Reader, op: str) -> t.Any:
    if op in ("eq", "ne"):
        return _scalar(r)
    if op in ("lt", "le", "gt", "ge"):
        return _scalar(r, ("number", "date"))
    if op in ("in", "not_in", "between"):
        items = r.list(min_items=1, what="a list of values")
        values = tuple(_scalar(i, ("number", "date") if op == "between" else
                               ("text", "number", "date", "true/false")) for i in items)
        kinds = {_kind(v) for v in values}
        if len(kinds) > 1:
            r.fail(f"expected values of one kind, got a mix of {' and '.join(sorted(kinds))}")
        if op == "between":
            if len(values) != 2:
                r.fail(f"expected [low, high], got {_show(r.value)}")
            if values[0] > values[1]:
                r.fail(f"expected [low, high] with low ≤ high, got {_show(r.value)}")
        return values
    if op == "contains":
        v = r.text("the text of one list entry")
        if ";" in v:
            r.fail(f"expected one entry without ';' (use any: [...] for several), got {v!r}")
        return v
    if op in ("within_days", "older_than_days"):
        return r.integer(lo=0)
    if op == "is_null":
        return r.boolean()
    raise AssertionError(op)  # pragma: no cover - ops are checked before


def _condition(r: _Reader, fields: t.Collection[str] | None) -> Condition:
    """Parse one condition node (``fields``: the client columns a rule may name)."""
    v = r.value
    shape = ("a condition: {field: F, <operator>: value}, {all: [...]}, {any: [...]} "
             "or {not: {...}}")
    if not isinstance(v, dict) or not v:
        r.fail(f"expected {shape}, got {_show(v)}")
    r.mapping()
    if "field" in v:
        ops = [k for k in v if k != "field"]
        for k in ops:
            if k not in OPERATORS:
                also = " (a condition is either {field, operator} or all/any/not)" \
                    if k in _COMBINATORS else ""
                r[k].fail(f"unknown operator{also}; {_hint(k, OPERATORS)}expected one of: "
                          f"{', '.join(OPERATORS)}")
        if len(ops) != 1:
            r.fail(f"expected exactly one operator next to 'field', got "
                   f"{', '.join(ops) if ops else 'none'} (operators: {', '.join(OPERATORS)})")
        name = r["field"].text("a client column name")
        if fields is not None and name not in fields:
            r["field"].fail(f"{_hint(name, fields)}expected a client column named in "
                            f"workspace.yaml clients.columns ({', '.join(fields)}), got {name!r}")
        op = ops[0]
        return Compare(name, op, _op_value(r[op], op))
    keys = list(v)
    if len(keys) != 1 or keys[0] not in _COMBINATORS:
        bad = next((k for k in keys if k not in _COMBINATORS), None)
        if bad is not None:
            r[bad].fail(f"unknown key; {_hint(bad, [*_COMBINATORS, 'field'])}expected 'field' "
                        f"with an operator, or one of all, any, not")
        r.fail(f"expected exactly one of all, any, not, got {', '.join(keys)}")
    key = keys[0]
    if key == "not":
        return Not(_condition(r["not"], fields))
    parts = r[key].list(min_items=1, what="a list of conditions")
    items = tuple(_condition(p, fields) for p in parts)
    return All(items) if key == "all" else Any(items)


def _band_rules(field_name: str, bands: list[tuple[str, str, float | None]]) -> list[list[Condition]]:
    """Band i: value > previous band's max and ≤ its own max (first: no lower bound)."""
    rules = []
    for i, (_, _, top) in enumerate(bands):
        conds: list[Condition] = []
        if i > 0:
            conds.append(Compare(field_name, "gt", bands[i - 1][2]))
        if top is not None:
            conds.append(Compare(field_name, "le", top))
        if not conds:
            conds.append(Compare(field_name, "is_null", False))
        rules.append(conds)
    return rules


def _axis(r: _Reader, fields: t.Collection[str] | None) -> tuple[str, list[tuple[str, str, float | None]]]:
    r.fields(required=("field", "bands"))
    fr = r["field"]
    name = fr.text("a client column name")
    if fields is not None and name not in fields:
        fr.fail(f"{_hint(name, fields)}expected a client column named in workspace.yaml "
                f"clients.columns ({', '.join(fields)}), got {name!r}")
    bands: list[tuple[str, str, float | None]] = []
    band_readers = r["bands"].list(min_items=1, what="a list of bands")
    for i, br in enumerate(band_readers):
        br.fields(required=("id", "label"), optional=("max",))
        bid = br["id"].ident("a band id")
        if any(b[0] == bid for b in bands):
            br["id"].fail(f"expected a unique band id, got {bid!r} twice")
        top: float | None = None
        if br.get("max") is not None:
            top = br["max"].value
            br["max"].number()
            if bands and top <= bands[-1][2]:
                br["max"].fail(f"expected a max above the previous band's max "
                               f"({_fmt(bands[-1][2])}); bands go from low to high, got {_fmt(top)}")
        elif i < len(band_readers) - 1:
            br["max"].fail("expected a number: every band but the last needs a max "
                           "(band = above the previous max, up to and including its own)")
        bands.append((bid, br["label"].text("a label"), top))
    return name, bands


def _parse_segments(r: _Reader, fields: t.Collection[str] | None,
                    fiscal_year_start: int = 1) -> SegmentRules:
    r.fields(required=("segments",), optional=("universe", "grids"))
    universe = _condition(r["universe"], fields) if r.get("universe") else None
    out: list[Segment] = []
    seen: dict[str, str] = {}

    def claim(idr: _Reader, sid: str) -> None:
        if sid == ALL_SEGMENT:
            idr.fail(f"'{ALL_SEGMENT}' is reserved for the segment of every VIP client; "
                     f"expected another id")
        if sid in seen:
            idr.fail(f"expected a unique segment id; {sid!r} is already used by {seen[sid]}")
        seen[sid] = idr.path

    seg_list = r["segments"].list(what="a list of segments") if r["segments"].value is not None \
        else []
    for sr in seg_list:
        sr.fields(required=("id", "label", "family", "rule"), optional=("report",))
        sid = sr["id"].ident("a segment id")
        claim(sr["id"], sid)
        report = sr["report"].boolean() if sr.get("report") is not None else False
        out.append(Segment(sid, sr["label"].text("a label"), sr["family"].ident("a family id"),
                           report, _condition(sr["rule"], fields)))

    if r.get("grids"):
        for gr in r["grids"].list(what="a list of grids"):
            gr.fields(required=("id", "rows", "cols"), optional=("family", "report"))
            gid = gr["id"].ident("a grid id")
            family = gr["family"].ident("a family id") if gr.get("family") else gid
            report = gr["report"].boolean() if gr.get("report") is not None else False
            row_field, rows = _axis(gr["rows"], fields)
            col_field, cols = _axis(gr["cols"], fields)
            row_rules, col_rules = _band_rules(row_field, rows), _band_rules(col_field, cols)
            for (rid, rlabel, _), rrule in zip(rows, row_rules):
                for (cid, clabel, _), crule in zip(cols, col_rules):
                    claim(gr["id"], f"{rid}_{cid}")
                    out.append(Segment(f"{rid}_{cid}", f"{rlabel}, {clabel}", family, report,
                                       All(tuple(rrule + crule)), grid=gid))
    return SegmentRules(universe, tuple(out), fiscal_year_start)


# --------------------------------------------------------------------------------------------
# standards.yaml
# --------------------------------------------------------------------------------------------

def _parse_standards(r: _Reader, attribute_ids: t.Sequence[str],
                     segment_ids: t.Sequence[str]) -> Standards:
    r.fields(required=("catalogue_version", "standards"))
    cv = r["catalogue_version"]
    if isinstance(cv.value, int) and not isinstance(cv.value, bool):
        catalogue_version = str(cv.value)
    else:
        catalogue_version = cv.text("a catalogue version such as 2025-04")
    target_keys = ["default", ALL_SEGMENT, *segment_ids]
    standards: list[Standard] = []
    std_seen: dict[str, str] = {}
    item_seen: dict[str, str] = {}
    for sr in r["standards"].list(min_items=1, what="a list of standards"):
        sr.fields(required=("id", "title", "owner", "attributes", "targets", "versions", "items"))
        sid = sr["id"].text("a standard id")
        if sid in std_seen:
            sr["id"].fail(f"expected a unique standard id; {sid!r} is already used by "
                          f"{std_seen[sid]}")
        std_seen[sid] = sr.path

        attrs: list[str] = []
        for ar in sr["attributes"].list(min_items=1, what="a list of attribute ids"):
            a = ar.text("an attribute id")
            if a not in attribute_ids:
                ar.fail(f"{_hint(a, attribute_ids)}expected an attribute id of instrument.yaml "
                        f"({', '.join(attribute_ids)}), got {a!r}")
            if a in attrs:
                ar.fail(f"expected each attribute once, got {a!r} twice")
            attrs.append(a)

        targets: dict[str, float] = {}
        tr = sr["targets"]
        for key, vr in tr.entries():
            if key not in target_keys:
                vr.fail(f"unknown segment; {_hint(key, target_keys)}expected 'default' or a "
                        f"segment id of segments.yaml ({', '.join(target_keys[1:])}), got {key!r}")
            targets[key] = vr.number(ge=0, le=100, what="a target compliance in %")
        if "default" not in targets:
            tr["default"].fail("required key is missing: the target (%) for every segment "
                               f"not listed (found: {', '.join(targets) or 'no keys'})")

        versions: list[StandardVersion] = []
        for vr in sr["versions"].list(min_items=1, what="a list of versions"):
            vr.fields(required=("version", "effective", "text"), optional=("change",))
            number = vr["version"].integer(lo=1)
            effective = vr["effective"].date()
            if versions and number <= versions[-1].version:
                vr["version"].fail(f"expected a version number above {versions[-1].version} "
                                   f"(versions are listed oldest first), got {number}")
            if versions and effective <= versions[-1].effective:
                vr["effective"].fail(f"expected a date after {versions[-1].effective} (versions "
                                     f"are listed oldest first), got {effective}")
            change = vr["change"].text("a description of the change") if vr.get("change") \
                else None
            versions.append(StandardVersion(number, effective, vr["text"].text("the wording"),
                                            change))

        items: list[ChecklistItem] = []
        for ir in sr["items"].list(min_items=1, what="a list of checklist items"):
            ir.fields(required=("id", "text"), optional=("weight", "critical"))
            iid = ir["id"].text("a checklist item id")
            if iid in item_seen:
                ir["id"].fail(f"expected a checklist item id unique in the catalogue; {iid!r} is "
                              f"already used by {item_seen[iid]}")
            item_seen[iid] = ir.path
            weight = ir["weight"].number(gt=0, what="a weight") if "weight" in ir.value else 1.0
            critical = ir["critical"].boolean() if "critical" in ir.value else False
            items.append(ChecklistItem(iid, ir["text"].text("the item text"), weight, critical,
                                       sid))

        standards.append(Standard(sid, sr["title"].text("a title"), sr["owner"].text("an owner"),
                                  tuple(attrs), targets, tuple(versions), tuple(items)))
    return Standards(catalogue_version, tuple(standards))


# --------------------------------------------------------------------------------------------
# workspace.yaml
# --------------------------------------------------------------------------------------------

_TABLES = ("survey", "visits", "clients")
_DEFAULT_PATTERNS = {
    "survey": ("survey*.csv", "survey*.xlsx", "survey*.parquet"),
    "visits": ("mystery_shopper*.csv", "mystery_shopper*.xlsx", "mystery_shopper*.parquet"),
    "clients": ("clients*.csv", "clients*.xlsx", "clients*.parquet"),
}
_VISIT_COLUMNS = ("visit_id", "visit_date", "branch", "manager_id", "segment", "item_id", "result")
_WORKSPACE_REQUIRED = ("name", "currency", "timezone", "instrument", "segments", "standards",
                       "clients", "visits")
_WORKSPACE_OPTIONAL = ("fiscal_year_start", "staff", "store", "quarter_files", "reporting",
                       "compliance")


def _config_file(root: Path, r: _Reader) -> Path:
    name = r.text("a file name relative to the workspace folder")
    return root / name


def _column_map(r: _Reader, required: t.Sequence[str], closed: bool) -> dict[str, str]:
    """A canonical -> source column mapping; sources must be distinct."""
    if closed:
        r.fields(required=required)
    out: dict[str, str] = {}
    for canonical, vr in r.entries():
        if not closed:
            _Reader(r.file, canonical, vr.path, vr.line).ident("a canonical column name")
        source = vr.text("a source column name")
        other = next((k for k, s in out.items() if s == source), None)
        if other is not None:
            vr.fail(f"expected a source column not mapped twice; {source!r} is already mapped "
                    f"to {other!r}")
        out[canonical] = source
    for key in required:
        if key not in out:
            r[key].fail(f"required key is missing (found: {', '.join(out) or 'no keys'})")
    return out


def load_workspace(path: str | Path = SAMPLE_WORKSPACE) -> Workspace:
    """Read and validate a workspace.

    Parameters
    ----------
    path : str or Path
        The workspace folder (holding ``workspace.yaml``) or the ``workspace.yaml`` file itself.
        Defaults to the bundled sample, :data:`vipquality.paths.SAMPLE_WORKSPACE`.

    Returns
    -------
    Workspace
        Frozen, typed configuration. Nothing under the quarter folders is read.

    Raises
    ------
    ConfigError
        A file is missing, is not valid YAML, or has a missing, unknown, mistyped or inconsistent
        key; the message names the file, the dotted key path and what was expected.

    Examples
    --------
    >>> ws = load_workspace()
    >>> ws.instrument.attribute_ids[:3]
    ['competence', 'response_speed', 'availability']
    >>> ws.standards.get("S02").target("private"), ws.standards.get("S02").target("premium")
    (90.0, 85.0)
    >>> [s.id for s in ws.segments.family("value_frequency")][:2]
    ['ltv_low_freq_low', 'ltv_low_freq_high']
    """
    given = Path(path)
    if given.is_dir():
        root, ws_file = given, given / "workspace.yaml"
    elif given.is_file():
        root, ws_file = given.parent, given
    else:
        raise ConfigError(str(given), "", "workspace not found: expected a folder holding "
                                          "workspace.yaml, or a workspace.yaml file")
    r = _read_yaml(ws_file).fields(required=_WORKSPACE_REQUIRED, optional=_WORKSPACE_OPTIONAL)

    name = r["name"].text("a workspace name")
    currency = r["currency"].text("a currency code")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        r["currency"].fail(f"expected a three-letter ISO 4217 code such as RUB or EUR, "
                           f"got {currency!r}")
    timezone = r["timezone"].text("a time zone")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        r["timezone"].fail(f"{_hint(timezone, ('Europe/Moscow', 'Europe/London', 'UTC'))}"
                           f"expected an IANA time zone such as Europe/Moscow, got {timezone!r}")
    fys = r["fiscal_year_start"].integer(lo=1, hi=12) if r.get("fiscal_year_start") else 1

    files = {key: _config_file(root, r[key]) for key in ("instrument", "segments", "standards")}
    staff_path = _config_file(root, r["staff"]) if r.get("staff") else None
    store_path = _config_file(root, r["store"]) if r.get("store") else root / "store"

    quarter_files = dict(_DEFAULT_PATTERNS)
    if r.get("quarter_files"):
        qf = r["quarter_files"].fields(optional=_TABLES)
        for table, pr in qf.entries():
            if isinstance(pr.value, str):
                quarter_files[table] = (pr.text("a file pattern"),)
            else:
                quarter_files[table] = tuple(
                    p.text("a file pattern such as 'survey*.csv'")
                    for p in pr.list(min_items=1, what="a list of file patterns"))

    cr = r["clients"].fields(required=("columns",), optional=("personal",))
    client_columns = _column_map(cr["columns"], required=("client_id",), closed=False)
    personal: list[str] = []
    if cr.get("personal"):
        for pr in cr["personal"].list(what="a list of column names"):
            p = pr.text("a column name")
            mapped = next((k for k, s in client_columns.items() if s == p), None)
            if mapped is not None:
                pr.fail(f"expected a column that is not stored; {p!r} is also mapped to "
                        f"clients.columns.{mapped} (personal columns are dropped at ingest)")
            if p in personal:
                pr.fail(f"expected each column once, got {p!r} twice")
            personal.append(p)

    vr = r["visits"].fields(required=("columns",))
    visit_columns = _column_map(vr["columns"], required=_VISIT_COLUMNS, closed=True)

    reporting = Reporting()
    if r.get("reporting"):
        rr = r["reporting"].fields(optional=tuple(f.name for f in dataclasses.fields(Reporting)))
        values: dict[str, t.Any] = {}
        if rr.get("confidence") is not None:
            values["confidence"] = rr["confidence"].number(gt=0, what="a confidence level")
            if values["confidence"] >= 1:
                rr["confidence"].fail(f"expected a confidence level between 0 and 1 such as "
                                      f"0.95, got {_show(rr['confidence'].value)}")
        for key in ("base_suppress", "base_small", "trend_quarters"):
            if rr.get(key) is not None:
                values[key] = rr[key].integer(lo=1 if key == "trend_quarters" else 0)
        if rr.get("adjustment") is not None:
            values["adjustment"] = rr["adjustment"].choice(("holm", "bh"))
        reporting = dataclasses.replace(reporting, **values)
        if reporting.base_small < reporting.base_suppress:
            rr["base_small"].fail(f"expected a base at least base_suppress "
                                  f"({reporting.base_suppress}), got {reporting.base_small}")

    critical_fails = True
    if r.get("compliance"):
        comp = r["compliance"].fields(optional=("critical_item_fails_visit",))
        if comp.get("critical_item_fails_visit") is not None:
            critical_fails = comp["critical_item_fails_visit"].boolean()

    instrument = _parse_instrument(_read_yaml(files["instrument"], r["instrument"]))
    segments = _parse_segments(_read_yaml(files["segments"], r["segments"]),
                               fields=list(client_columns), fiscal_year_start=fys)
    standards = _parse_standards(_read_yaml(files["standards"], r["standards"]),
                                 attribute_ids=instrument.attribute_ids,
                                 segment_ids=segments.ids)

    return Workspace(
        root=root, name=name, currency=currency, timezone=timezone, fiscal_year_start=fys,
        instrument=instrument, segments=segments, standards=standards, staff_path=staff_path,
        store_path=store_path, quarter_files=quarter_files, client_columns=client_columns,
        personal_columns=tuple(personal), visit_columns=visit_columns, reporting=reporting,
        critical_item_fails_visit=critical_fails)
