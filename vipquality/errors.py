"""One exception family for vipquality.

Every error the library raises on purpose derives from :class:`VipqualityError`, so a caller
(the command line, a scheduler, a notebook) can catch one type and show its message, which
always says what was wrong and, for data, where (file, row, column, value).
"""

from __future__ import annotations

__all__ = [
    "VipqualityError",
    "ConfigError",
    "DataError",
    "IngestError",
    "StoreError",
    "ReportError",
    "LockBusy",
    "StoreBusy",
    "ReportBusy",
]


class VipqualityError(Exception):
    """Base class of every error vipquality raises on purpose."""


class ConfigError(VipqualityError):
    """A workspace configuration file (YAML) is missing, malformed or inconsistent.

    Parameters
    ----------
    file : str
        The configuration file, as given.
    key : str
        Dotted path of the offending key, e.g. ``standards[3].targets.Private``.
    problem : str
        What was wrong and what was expected.
    """

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file, self.key, self.problem = str(file), key, problem
        where = f"{self.file}: {key}" if key else self.file
        super().__init__(f"{where}: {problem}")


class DataError(VipqualityError):
    """Input data that cannot be used, located as precisely as possible.

    ``row`` is the 1-based line of the data in the source file (header = line 1) when known.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.problem, self.file, self.row, self.column, self.value = problem, file, row, column, value
        parts = [p for p in (file, f"row {row}" if row is not None else None,
                             f"column {column!r}" if column else None) if p]
        where = ", ".join(parts)
        shown = f" (value {value!r})" if value is not None else ""
        super().__init__(f"{where}: {problem}{shown}" if where else f"{problem}{shown}")


class IngestError(VipqualityError):
    """An import could not be carried out as a whole (nothing was written)."""


class StoreError(VipqualityError):
    """The canonical store is missing, locked, or inconsistent."""


class ReportError(VipqualityError):
    """A quarterly report run failed (the message names the notebook, cell and error)."""


class LockBusy(VipqualityError):
    """Another process holds a lock that this one needs
    (see :func:`vipquality._files.exclusive_lock`).

    Callers decide by this type (or its subclasses), never by the message's text.
    """

    def __init__(self, path, holder: str = "unknown", *, waited: float = 0.0,
                 message: str | None = None) -> None:
        self.path, self.holder, self.waited = path, holder, waited
        super().__init__(message or f"{path} is held by another process ({holder})"
                         + (f" after waiting {waited:.0f} s" if waited else ""))


class StoreBusy(StoreError, LockBusy):
    """Another ingest holds the store's lock; wait for it and try again."""


class ReportBusy(ReportError, LockBusy):
    """Another report run is writing the same reports folder."""
