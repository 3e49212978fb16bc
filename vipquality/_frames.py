"""Small checks and idioms on data frames shared by every layer (one copy each).

>>> import pandas as pd
>>> require_columns(pd.DataFrame({"a": [1]}), ["a"], "the metrics table")
>>> stack([pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [2]})], ["a", "b"]).columns.tolist()
['a', 'b']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vipquality.errors import DataError

__all__ = ["require_columns", "stack", "truthy"]


def require_columns(frame, columns: Iterable[str], what: str, hint: str = "") -> None:
    """Raise :class:`~vipquality.errors.DataError` naming every column of ``columns`` that
    ``frame`` lacks (``what`` names the frame in the message; ``hint`` says how to fix it).

    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a", "n"], "the metrics table")
    Traceback (most recent call last):
    ...
    vipquality.errors.DataError: the metrics table needs the columns ['a', 'n']; missing ['n']
    (got ['a'])
    """
    columns = list(columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what} needs the columns {columns}; missing {missing} "
                        f"(got {list(frame.columns)})" + (f"; {hint}" if hint else ""))


def stack(frames: Sequence, columns: Sequence[str]):
    """Concatenate ``frames`` (rows in order, a fresh index) and conform the result to
    ``columns``: missing ones are added empty, others dropped. Nothing to stack gives an empty
    frame with those columns."""
    import pandas as pd

    frames = [f for f in frames if f is not None and len(f.columns)]
    if not frames:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(frames, ignore_index=True).reindex(columns=list(columns))


def truthy(value: object) -> bool:
    """A flag cell read as a bool: ``True``, a non-zero number, ``"true"``, ``"yes"``, ``"1"``
    (any case) are true; missing values (None, NaN, NA, NaT), ``False``, ``0`` and any other
    text are false. So a ``significant`` column read back from a CSV (``"False"``) is false,
    where ``bool("False")`` would be true.

    >>> [truthy(v) for v in (True, "TRUE", "yes", 1, None, float("nan"), "no", "False", 0)]
    [True, True, True, True, False, False, False, False, False]
    """
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip().casefold() in ("true", "yes", "1")
    try:
        return bool(value) and bool(value == value)  # NaN and NaT are not equal to themselves
    except (TypeError, ValueError):  # pd.NA has no truth value
        return False
