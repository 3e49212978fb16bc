"""The reports folder's lock, staging folders and atomic publication.

:func:`report_lock` holds ``reports/.lock`` for a run; :func:`new_staging` gives the run a hidden
folder beside ``reports/<quarter>/`` (after cleaning what a killed run left behind) and
:func:`publish` swaps it in by renames, so a reader sees the old quarter or the new one, never a
half-written one. The renames go through ``_rename``, a seam for the crash tests.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from vipquality._files import exclusive_lock, fsync_dir
from vipquality.errors import LockBusy, ReportBusy, ReportError

__all__ = [
    "new_staging",
    "publish",
    "report_lock",
    "short_pages",
]

LOCK_NAME = ".lock"

_held_locks: dict[Path, Path] = {}  # reports dir (resolved) -> its held .lock, this process
_rename = os.rename                # a seam for the crash tests
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>staging|old)-\d+-[0-9a-f]+$")


@contextmanager
def report_lock(reports_dir: Path) -> Iterator[Path]:
    """Hold ``reports_dir/.lock`` (:func:`~vipquality._files.exclusive_lock`) for the duration
    of a run.

    A second run on the same reports folder (another process, or a nested call) is refused at
    once with a :class:`~vipquality.errors.ReportBusy` naming the holder; the lock goes with its
    process, so a killed run never leaves a stale lock. Yields the lock file's path.
    """
    reports_dir = Path(reports_dir)
    lock_path = reports_dir / LOCK_NAME
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")

    def busy(err: LockBusy) -> ReportBusy:
        return ReportBusy(err.path, err.holder, message=(
            f"{reports_dir} is being written by another vipquality report run ({err.holder}): "
            f"wait for it to finish, or write to another --out folder"))

    with exclusive_lock(lock_path, note=f"pid {os.getpid()} since {stamp}", busy=busy):
        key = reports_dir.resolve()
        _held_locks[key] = lock_path
        try:
            yield lock_path
        finally:
            _held_locks.pop(key, None)


def _require_lock(reports_dir: Path, what: str) -> None:
    if reports_dir.resolve() not in _held_locks:
        raise ReportError(f"{what} needs the lock on {reports_dir}: call it inside "
                          f"`with report_lock({str(reports_dir)!r}):`")


def _clean_leftovers(reports_dir: Path, keep: Path | None = None) -> list[str]:
    """Undo what a killed run left in ``reports_dir`` (the lock must be held).

    Staging folders are removed. An old quarter set aside (``.<q>.old-*``) is renamed back when
    the new one never arrived (killed between the two renames), else removed. Returns what was
    done, one line each.
    """
    done = []
    if not reports_dir.is_dir():
        return done
    for entry in sorted(reports_dir.iterdir(), key=lambda p: p.name):
        m = _LEFTOVER.match(entry.name)
        if not m or not entry.is_dir() or (keep is not None and entry.name == keep.name):
            continue
        final = reports_dir / m["name"]
        if m["kind"] == "old" and not final.exists():
            _rename(entry, final)
            done.append(f"restored {final.name} from an interrupted publication")
        else:
            shutil.rmtree(entry, ignore_errors=True)
            done.append(f"removed leftover {entry.name}")
    if done:
        fsync_dir(reports_dir)
    return done


def new_staging(final: Path) -> Path:
    """A new, empty staging folder beside ``final`` (same filesystem, so renames are atomic).

    Must be called inside :func:`report_lock` on ``final.parent``; first cleans the staging
    folders and half-swapped quarters a killed run left behind. The folder is hidden
    (``.<quarter>.staging-<pid>-<random>``) so nobody browsing the reports opens it.
    """
    final = Path(final)
    _require_lock(final.parent, "new_staging")
    _clean_leftovers(final.parent)
    staging = final.parent / f".{final.name}.staging-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    return staging


def short_pages(pages: Iterable[Path]) -> list[str]:
    """What is wrong with pages that a run reports written: missing, empty, or cut off
    (no closing ``</html>``, as when the disk filled up while writing). Empty when every page is
    whole; :func:`publish` is not called otherwise, so the previous quarter stays.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.html").write_text("<html><body>ok</body></html>\\n")
    >>> _ = (d / "b.html").write_text("<html><body>cut")
    >>> short_pages([d / "a.html", d / "b.html", d / "c.html"])
    ['b.html is cut off (no closing </html>)', 'c.html is missing']
    """
    problems = []
    for page in pages:
        page = Path(page)
        if not page.is_file():
            problems.append(f"{page.name} is missing")
            continue
        size = page.stat().st_size
        if size == 0:
            problems.append(f"{page.name} is empty")
            continue
        with open(page, "rb") as fh:
            fh.seek(max(0, size - 64))
            tail = fh.read().rstrip().lower()
        if not tail.endswith(b"</html>"):
            problems.append(f"{page.name} is cut off (no closing </html>)")
    return problems


def publish(staging: Path, final: Path) -> None:
    """Atomically replace ``final`` (e.g. ``reports/2026Q3``) by the finished ``staging`` folder.

    The old folder is renamed aside, the staging one renamed in, then the old one removed: a
    reader sees the old quarter or the new one, never a half-written one. If anything fails
    between the renames the old quarter is put back; if the process is killed there, the next
    :func:`new_staging` (or ``publish``) puts it back. Takes the reports lock unless this
    process already holds it.

    Raises
    ------
    ReportError
        ``staging`` is not a folder beside ``final``, or another run holds the lock.
    """
    staging, final = Path(staging), Path(final)
    if not staging.is_dir():
        raise ReportError(f"cannot publish {staging}: it is not a folder")
    if staging.resolve().parent != final.parent.resolve():
        raise ReportError(
            f"cannot publish {staging} as {final}: the staging folder must be in {final.parent} "
            "(same filesystem) for the swap to be a rename; create it with new_staging()"
        )
    if final.parent.resolve() not in _held_locks:
        with report_lock(final.parent):
            return publish(staging, final)

    _clean_leftovers(final.parent, keep=staging)
    aside = final.parent / f".{final.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
    had_old = final.exists()
    if had_old:
        _rename(final, aside)
    try:
        _rename(staging, final)
    except BaseException:
        if had_old and not final.exists():
            _rename(aside, final)
        raise
    fsync_dir(final.parent)
    if had_old:
        shutil.rmtree(aside, ignore_errors=True)
