"""Strict YAML reading with key-path errors, for the workspace files.

YAML is read with a stricter loader than PyYAML's default: duplicate keys are errors, only
``true``/``false`` are booleans (``no``, ``on``, ``y`` stay text) and dates stay text until a key
that expects a date parses them, so a bad date is reported with its key path.

Validation is plain Python on top of PyYAML, in the small :class:`_Reader` helper, rather than
pydantic or JSON Schema: the point of it is the exact message a quality manager reads (file, key
path such as ``segments[4].rule.all[1].le``, line, "expected ..., got ..."), which those tools
word in their own way, and it adds no dependency. Every check raises
:class:`~vipquality.errors.ConfigError`.

Private to :mod:`vipquality.config`: the parsers of :mod:`vipquality.config.load` use these names.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import reprlib
import typing as t
from pathlib import Path

import yaml

from vipquality.errors import ConfigError

__all__ = ["_DATE_RE", "_Reader", "_fmt", "_hint", "_read_yaml", "_show"]


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
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _refuse_alias_bombs(node, file)
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        detail = e.problem or "invalid YAML"
        if e.context:
            detail = f"{detail} ({e.context})"
        raise ConfigError(file, "", f"invalid YAML at {where}: {detail}") from None
    except yaml.YAMLError as e:
        raise ConfigError(file, "", f"invalid YAML: {e}") from None
    except RecursionError:
        raise ConfigError(file, "", "expected a workspace file, got lists or mappings nested "
                                    "too deeply to read") from None
    finally:
        loader.dispose()
    return _Reader(file, data)


#: The most values a workspace file may hold once its aliases are expanded. The sample's largest
#: file holds about a thousand; "billion laughs" (aliases of aliases) holds billions.
MAX_EXPANDED_VALUES = 100_000


def _refuse_alias_bombs(root: yaml.Node, file: str) -> None:
    """Count the values of the composed YAML as if every alias (``*name``) were written out, without
    writing them out (each node's count is kept), and refuse a file past
    :data:`MAX_EXPANDED_VALUES`: a file of aliases of aliases would otherwise hang any code that
    walks or prints it."""
    counts: dict[int, int] = {}

    def count(node: yaml.Node) -> int:
        key = id(node)
        if key in counts:
            return counts[key]
        counts[key] = 1  # a node that refers to itself counts once
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(count(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(count(k) + count(v) for k, v in node.value)
        else:
            total = 1
        counts[key] = min(total, MAX_EXPANDED_VALUES + 1)
        return counts[key]

    if count(root) > MAX_EXPANDED_VALUES:
        raise ConfigError(file, "", f"expected at most {MAX_EXPANDED_VALUES:,} values once its "
                                    "aliases (*name) are expanded, got more: write the values "
                                    "out, or use fewer aliases of aliases")


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
    # reprlib bounds the text before it is built: a value that aliases of aliases make huge is
    # never rendered whole
    text = _SHORT.repr(value)
    return f"{kind} {text if len(text) <= 60 else text[:57] + '...'}"


class _ShortRepr(reprlib.Repr):
    """reprlib's bounded repr, also for the loader's list and dict subclasses (reprlib picks
    its method by type name, so ``_Seq`` and ``_Map`` would be rendered whole)."""

    def repr1(self, x: t.Any, level: int) -> str:
        if isinstance(x, list):
            return self.repr_list(x, level)
        if isinstance(x, dict):
            return self.repr_dict(x, level)
        return super().repr1(x, level)


_SHORT = _ShortRepr()  # keyword arguments only from Python 3.12
_SHORT.maxlevel, _SHORT.maxdict, _SHORT.maxlist = 3, 6, 6
_SHORT.maxstring = _SHORT.maxother = 40


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
