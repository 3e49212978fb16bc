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
import fcntl
import io
import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import StoreError

__all__ = ["StoreLock", "Transaction", "recover", "parquet_bytes", "csv_bytes", "read_csv_rows",
           "neutralise", "LOCK_NAME", "TXN_NAME"]

LOCK_NAME = ".lock"
TXN_NAME = ".txn"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ------------------------------------------------------------------------------------------- lock
class StoreLock:
    """An exclusive, non-blocking ``fcntl.flock`` on ``<store>/.lock`` (created if needed).

    Raises
    ------
    StoreError
        Another process holds the lock ("another ingest is running").
    """

    def __init__(self, store: Path) -> None:
        self.store = Path(store)
        self._fd: int | None = None

    def __enter__(self) -> StoreLock:
        self.store.mkdir(parents=True, exist_ok=True)
        path = self.store / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(f"another ingest is running on the store {self.store} (it holds "
                             f"{path}); wait for it to finish and try again") from None
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


# -------------------------------------------------------------------------------------- encoding
def parquet_bytes(table: pa.Table) -> bytes:
    """The Parquet encoding of ``table``; equal tables give equal bytes."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", use_dictionary=True, write_statistics=True,
                   store_schema=False)
    return sink.getvalue().to_pybytes()


def neutralise(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading ``'``.

    >>> neutralise('=HYPERLINK("http://x")'), neutralise("-5"), neutralise("ok"), neutralise(3)
    ('\\'=HYPERLINK("http://x")', "'-5", 'ok', 3)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    """UTF-8 (with BOM, so spreadsheets read Cyrillic right) CSV with every text cell neutralised
    against formula injection."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        # a lone carriage return is not quoted by the csv module (it would split the row)
        writer.writerow([neutralise(v.replace("\r\n", "\n").replace("\r", "\n")
                                    if isinstance(v, str) else v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def read_csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV this module wrote (``[]`` when the file does not exist)."""
    if not path.is_file():
        return [], []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        records = list(csv.reader(fh))
    return (records[0], records[1:]) if records else ([], [])


# ---------------------------------------------------------------------------------- transactions
def _fsync_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_path(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
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
    _fsync_dir(Path(store))
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
                    _fsync_path(data)
                    os.replace(data, txn / "new" / str(i))
                else:
                    _fsync_file(txn / "new" / str(i), data)
                moves.append((f"new/{i}", rel, (self.store / rel).exists()))
            _fsync_dir(txn / "new")
            plan_tmp = txn / "plan.json.tmp"
            _fsync_file(plan_tmp, json.dumps({"moves": moves}, indent=1).encode("utf-8"))
            os.rename(plan_tmp, txn / "plan.json")  # the commit point
            _fsync_dir(txn)
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
                _fsync_dir(d)
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
