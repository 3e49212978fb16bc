"""The segment-rule tree: the parsed conditions of ``segments.yaml``.

A rule is a :class:`Condition`: a :class:`Compare` (``field <op> value``, the operators of
:data:`OPERATORS`) or a combination of conditions (:class:`All`, :class:`Any`, :class:`Not`).
The tree only describes a rule; :func:`vipquality.data.segments.evaluate` applies it to clients.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

__all__ = ["OPERATORS", "All", "Any", "Compare", "Condition", "Not", "Scalar"]


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
