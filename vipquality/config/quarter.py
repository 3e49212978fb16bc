"""The quarter helper: ``YYYYQn`` on a calendar or fiscal year.

:class:`Quarter` parses, formats, orders and shifts quarters and knows their first and last day
(the as-of date of a quarter's CRM extract). It depends on nothing else in the package.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["Quarter"]


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
