"""Files written safely: the one copy of the exclusive lock, fsync, atomic replacement and the
CSV writer that neutralises spreadsheet formulas.

Every layer that writes (the store's transactions, the report run, the executive CSVs, the run
manifest) uses these, so a crash, a second process or a cell that Excel would run as a formula
is handled the same way everywhere.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with exclusive_lock(d / ".lock"):
...     atomic_write_text(d / "a.txt", "done\\n").read_text()
'done\\n'
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from vipquality.errors import LockBusy

__all__ = [
    "FORMULA_START",
    "atomic_write_bytes",
    "atomic_write_text",
    "csv_bytes",
    "exclusive_lock",
    "fsync_dir",
    "fsync_path",
    "neutralise",
    "safe_csv",
    "write_fsynced",
]

# Text that a spreadsheet would run as a formula (OWASP "CSV injection"), and the line breaks
# that would start a new row in a careless reader.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


# ------------------------------------------------------------------------------------------- lock
@contextmanager
def exclusive_lock(path: str | Path, *, wait: float = 0.0, poll: float = 0.2,
                   note: str | None = None,
                   busy: Callable[[LockBusy], LockBusy] | None = None) -> Iterator[int]:
    """Hold an exclusive ``fcntl.flock`` on ``path`` (created if needed) for the ``with`` block.

    The lock goes with its process, so a killed holder never leaves a stale lock.

    Parameters
    ----------
    path : path
        The lock file.
    wait : float
        Seconds to wait for another holder to let go (``0``: refuse at once).
    poll : float
        Seconds between attempts while waiting.
    note : str, optional
        Written into the lock file while held (who holds it), and read back into
        :class:`~vipquality.errors.LockBusy` by the next process that finds it held.
    busy : callable, optional
        Turns the :class:`~vipquality.errors.LockBusy` into the caller's own error (e.g.
        :class:`~vipquality.errors.StoreBusy` with a message that says what to do).

    Yields
    ------
    int
        The lock file's descriptor.

    Raises
    ------
    LockBusy
        Another process (or another ``with`` in this one) holds the lock past ``wait``
        (or what ``busy`` makes of it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                    err = LockBusy(path, holder or "unknown", waited=wait)
                    raise (busy(err) if busy else err) from None
                time.sleep(poll)
    except BaseException:
        os.close(fd)
        raise
    try:
        if note is not None:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{note}\n".encode(), 0)
        yield fd
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# ------------------------------------------------------------------------------------ durability
def write_fsynced(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and flush it to the disk before returning."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def fsync_path(path: str | Path) -> None:
    """Flush an existing file's contents to the disk."""
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: str | Path) -> None:
    """Flush a directory's entries (renames, new files) to the disk; a no-op where directories
    cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Replace ``path`` with ``data`` in one rename: a reader sees the old file or the new one,
    never part of it. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_fsynced(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"))


# -------------------------------------------------------------------------------------- safe CSV
# Why hand-written: neither the csv module nor pandas' to_csv has an option against spreadsheet
# formula injection, and every CSV vipquality writes may be opened in Excel.
def neutralise(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading ``'``.

    Line breaks become ``\\n`` first (a lone carriage return is not quoted by the csv module and
    would split the row), so one rule holds for every CSV vipquality writes.

    >>> neutralise('=HYPERLINK("http://x")'), neutralise("-5"), neutralise("ok"), neutralise(3)
    ('\\'=HYPERLINK("http://x")', "'-5", 'ok', 3)
    >>> neutralise("\\rx")
    "'\\nx"
    """
    if not isinstance(value, str):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    """UTF-8 CSV (with a BOM, so spreadsheets read Cyrillic and Greek right) with every text cell
    :func:`neutralise`\\ d."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def safe_csv(frame, path: str | Path) -> Path:
    """Write a data frame as CSV with every text cell :func:`neutralise`\\ d, atomically.

    >>> import pandas as pd, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> p = safe_csv(pd.DataFrame({"a": ["=1+1", "ok"]}), folder / "t.csv")
    >>> p.read_text()
    "a\\n'=1+1\\nok\\n"
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype).startswith("str"):
            out[column] = out[column].map(neutralise)
    text = out.to_csv(index=False, lineterminator="\n", float_format="%.10g")
    return atomic_write_text(path, text)
