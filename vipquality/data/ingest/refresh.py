"""Keep the store in step with the workspace's quarter folders: :func:`ensure_store` ingests
what is new or changed, safely from several processes at once."""

from __future__ import annotations

from pathlib import Path

from vipquality._files import exclusive_lock
from vipquality.config import Workspace
from vipquality.errors import LockBusy, StoreBusy, StoreError

__all__ = ["ensure_store"]


def _stored_now(workspace: Workspace) -> set[str] | None:
    """Quarters in the store; ``set()`` when there is no store yet, ``None`` while it is being
    written (an import's commit in progress)."""
    from vipquality.data.store import stored_quarters

    if not Path(workspace.store_path).is_dir():
        return set()
    try:
        return set(stored_quarters(workspace))
    except StoreError:
        return None


def _changed_quarters(workspace: Workspace) -> set[str]:
    """Quarters whose raw files are not all in the ingest log (a new or corrected export was
    dropped into the folder after the last import), compared by sha256."""
    import csv
    import hashlib

    log = Path(workspace.store_path) / "ingest_log.csv"
    if not log.exists():
        return set()
    with log.open(encoding="utf-8-sig", newline="") as fh:
        seen = {(row.get("quarter"), row.get("sha256")) for row in csv.DictReader(fh)}
    changed = set()
    for quarter in workspace.quarters():
        qdir = workspace.quarter_dir(quarter)
        files = {p for patterns in workspace.quarter_files.values() for pat in patterns
                 for p in qdir.glob(pat) if p.is_file()}
        for path in files:
            if (quarter, hashlib.sha256(path.read_bytes()).hexdigest()) not in seen:
                changed.add(quarter)
                break
    # weighting turned on after the import: the quarters with answers but no weights yet
    if getattr(getattr(workspace, "weighting", None), "enabled", False):
        store = Path(workspace.store_path)
        changed |= {q for q in workspace.quarters()
                    if (store / "responses" / f"quarter={q}").is_dir()
                    and not (store / "weights" / f"quarter={q}").is_dir()}
    return changed


def ensure_store(workspace: Workspace, *, timeout: float = 600.0) -> list[str]:
    """Ingest every quarter folder that the store does not hold yet, or whose raw files changed
    since they were imported (idempotent: an unchanged file is never imported twice); return
    the quarters ingested.

    Safe to call from several processes at once (notebooks run in parallel, test workers):
    callers take turns on ``<store>/.ensure.lock`` (waiting up to ``timeout`` seconds), and an
    import by someone else (``vipquality ingest``) is waited for, not reported as an error. A
    caller that finds the quarters already ingested by another returns ``[]``.

    Raises
    ------
    StoreError
        The store stayed locked or half-written for ``timeout`` seconds.
    """
    import time

    from vipquality.data.ingest import ingest_quarter

    have = _stored_now(workspace)
    changed = _changed_quarters(workspace) if have else set()
    if have is not None and not changed and not [q for q in workspace.quarters()
                                                 if q not in have]:
        return []  # the usual case: nothing to do, no lock taken

    store = Path(workspace.store_path)
    deadline = time.monotonic() + timeout

    def busy(err: LockBusy) -> StoreBusy:
        return StoreBusy(err.path, err.holder, waited=err.waited, message=(
            f"waited {timeout:.0f} s for another process importing into {store}; "
            f"try again later"))

    # one ensure_store at a time per store; the others wait here
    with exclusive_lock(store / ".ensure.lock", wait=timeout, busy=busy):
        done: list[str] = []
        while True:
            have = _stored_now(workspace)
            todo = [] if have is None else [q for q in workspace.quarters()
                                            if (q not in have or q in changed) and q not in done]
            if have is not None and not todo:
                return done
            if have is not None:  # else a commit in progress (another ingest): wait for it
                try:
                    ingest_quarter(workspace, todo[0])
                    done.append(todo[0])
                    continue
                except StoreBusy:  # another `vipquality ingest` holds the store: wait for it
                    if time.monotonic() > deadline:
                        raise
            elif time.monotonic() > deadline:
                raise StoreBusy(store, waited=timeout, message=(
                    f"the store {store} stayed half-written for {timeout:.0f} s (an interrupted "
                    f"import?); run `vipquality ingest` to complete it"))
            time.sleep(0.2)
