"""Writing the store: the ingest lock, crash-safe multi-file commits, byte-stable encodings.

A commit replaces several files (table partitions, the rejects CSV, the ingest log) so that a
crash leaves the store exactly as before or exactly as after:

1. every new file is written and fsynced under ``<store>/.txn/new/``;
2. ``<store>/.txn/plan.json`` (the list of moves) is written and renamed into place: this rename
   is the commit point;
3. each target is hard-linked to ``.txn/old/`` (the before-image) and replaced with
   ``os.replace``;
4. ``.txn`` is removed.

An exception in step 3 restores the before-images and removes the new files (store as before).
A crash in step 3 leaves ``plan.json``: the next ingest (under the lock) completes the moves
(store as after); a crash before step 2 leaves no plan and the staging area is discarded (store as
before). Files whose bytes would not change are not rewritten at all.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from contextlib import ExitStack
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vipquality._files import (
    exclusive_lock,
    fsync_dir,
    fsync_path,
    write_fsynced,
)
from vipquality.errors import LockBusy, StoreBusy, StoreError

__all__ = ["StoreLock", "Transaction", "recover", "parquet_bytes", "read_csv_rows", "LOCK_NAME",
           "TXN_NAME"]

LOCK_NAME = ".lock"
TXN_NAME = ".txn"


# ------------------------------------------------------------------------------------------- lock
class StoreLock:
    """The store's ingest lock: :func:`~vipquality._files.exclusive_lock` on ``<store>/.lock``.

    Raises
    ------
    StoreBusy
        Another process holds the lock (another ingest is running).
    """

    def __init__(self, store: Path) -> None:
        self.store = Path(store)
        self._stack = ExitStack()

    def __enter__(self) -> StoreLock:
        def busy(err: LockBusy) -> StoreBusy:
            return StoreBusy(err.path, err.holder, message=(
                f"another ingest is running on the store {self.store} (it holds {err.path}); "
                f"wait for it to finish and try again"))

        self._stack.enter_context(exclusive_lock(self.store / LOCK_NAME, busy=busy))
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()


# -------------------------------------------------------------------------------------- encoding
def parquet_bytes(table: pa.Table) -> bytes:
    """The Parquet encoding of ``table``; equal tables give equal bytes."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", use_dictionary=True, write_statistics=True,
                   store_schema=False)
    return sink.getvalue().to_pybytes()


def read_csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV this module wrote (``[]`` when the file does not exist)."""
    if not path.is_file():
        return [], []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        records = list(csv.reader(fh))
    return (records[0], records[1:]) if records else ([], [])


# ---------------------------------------------------------------------------------- transactions
def _move(src: Path, dst: Path) -> None:
    """The final, atomic move of one staged file onto its target."""
    os.replace(src, dst)


def recover(store: Path) -> str | None:
    """Finish or discard what an interrupted commit left (call while holding the lock).

    Returns ``"completed"``, ``"discarded"`` or ``None`` (nothing to do).
    """
    txn = Path(store) / TXN_NAME
    if not txn.exists():
        return None
    plan_path = txn / "plan.json"
    if not plan_path.is_file():
        shutil.rmtree(txn)
        return "discarded"
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    for staged, target, _existed in plan["moves"]:
        src = txn / staged
        if src.exists():
            dst = Path(store) / target
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    fsync_dir(Path(store))
    shutil.rmtree(txn)
    return "completed"


class Transaction:
    """Collects the new bytes of store files (paths relative to the store) and commits them all
    or none."""

    def __init__(self, store: Path) -> None:
        self.store = Path(store)
        self.files: dict[str, bytes | Path] = {}

    @property
    def work_dir(self) -> Path:
        """Where large new files are written before :meth:`put_file` (``.txn/work``): inside the
        staging area, so an interrupted import leaves nothing that :func:`recover` does not
        remove."""
        work = self.store / TXN_NAME / "work"
        work.mkdir(parents=True, exist_ok=True)
        return work

    def put(self, relpath: str, data: bytes) -> None:
        self.files[relpath] = data

    def put_file(self, relpath: str, path: Path) -> None:
        """Like :meth:`put`, with the new bytes in a file of :attr:`work_dir` (moved, not copied,
        at commit), so a large table is never held in memory."""
        self.files[relpath] = Path(path)

    def changes(self) -> dict[str, bytes | Path]:
        """The files whose bytes differ from the store's (new files included)."""
        import filecmp

        out = {}
        for rel, data in sorted(self.files.items()):
            target = self.store / rel
            if isinstance(data, Path):
                same = target.is_file() and filecmp.cmp(data, target, shallow=False)
            else:
                same = target.is_file() and target.read_bytes() == data
            if not same:
                out[rel] = data
        return out

    def discard_work(self) -> None:
        """Remove :attr:`work_dir` (and the staging area when no commit is under way)."""
        txn = self.store / TXN_NAME
        if (txn / "plan.json").exists():
            return
        shutil.rmtree(txn / "work", ignore_errors=True)
        if txn.is_dir() and not any(txn.iterdir()):
            txn.rmdir()

    def commit(self) -> list[str]:
        """Write the changed files; return their store-relative paths (``[]``: nothing changed).

        Raises
        ------
        StoreError
            Writing failed; the store was restored to exactly what it was before.
        """
        changes = self.changes()
        if not changes:
            return []
        txn = self.store / TXN_NAME
        for left in ("new", "old", "plan.json", "plan.json.tmp"):  # keep work/
            if (txn / left).is_dir():
                shutil.rmtree(txn / left)
            elif (txn / left).exists():
                (txn / left).unlink()
        (txn / "new").mkdir(parents=True)
        (txn / "old").mkdir()
        moves = []
        try:
            for i, (rel, data) in enumerate(changes.items()):
                if isinstance(data, Path):
                    fsync_path(data)
                    os.replace(data, txn / "new" / str(i))
                else:
                    write_fsynced(txn / "new" / str(i), data)
                moves.append((f"new/{i}", rel, (self.store / rel).exists()))
            fsync_dir(txn / "new")
            plan_tmp = txn / "plan.json.tmp"
            write_fsynced(plan_tmp, json.dumps({"moves": moves}, indent=1).encode("utf-8"))
            os.rename(plan_tmp, txn / "plan.json")  # the commit point
            fsync_dir(txn)
        except BaseException as err:
            shutil.rmtree(txn, ignore_errors=True)
            if isinstance(err, Exception):
                raise StoreError(f"could not stage the import in {txn} ({err}); the store is "
                                 "unchanged") from err
            raise
        done: list[tuple[int, Path, bool]] = []
        created: list[Path] = []
        try:
            for i, (staged, rel, existed) in enumerate(moves):
                target = self.store / rel
                for parent in reversed(target.relative_to(self.store).parents[:-1]):
                    d = self.store / parent
                    if not d.exists():
                        d.mkdir()
                        created.append(d)
                if existed:
                    os.link(target, txn / "old" / str(i))
                _move(txn / staged, target)
                done.append((i, target, existed))
            for d in {self.store / Path(rel).parent for _, rel, _ in moves}:
                fsync_dir(d)
        except BaseException as err:
            self._rollback(txn, done, created)
            if isinstance(err, Exception):
                raise StoreError(f"writing the store failed ({type(err).__name__}: {err}); the "
                                 "store was restored to what it was before the import") from err
            raise
        shutil.rmtree(txn)
        return [rel for _, rel, _ in moves]

    def _rollback(self, txn: Path, done: list[tuple[int, Path, bool]],
                  created: list[Path]) -> None:
        for i, target, existed in reversed(done):
            if existed:
                os.rename(txn / "old" / str(i), target)
            else:
                target.unlink(missing_ok=True)
        for d in reversed(created):
            try:
                d.rmdir()
            except OSError:
                pass
        shutil.rmtree(txn, ignore_errors=True)
