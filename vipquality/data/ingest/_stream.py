"""Validating and de-duplicating a table block by block, with only its ids in memory.

A survey export of millions of rows is read in blocks (:class:`~._readers.CsvStream`; a file that
a whole-file reader gives is one block). Each block is validated like a whole file
(:func:`~._validate.check_table`), its rows are compared with every row met before in the import
(by id, through a dictionary of ids and content hashes) and with the store (only the stored rows
whose id occurs in the block are read), and its accepted rows are appended to a Parquet staging
file. The rules are those of :func:`~._validate.deduplicate`: the first occurrence wins, compared
within the import before the store. The partition is finally written sorted by id in pieces of
``chunk_rows`` rows (:func:`write_sorted`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vipquality.data.ingest._validate import (
    KEYS,
    Checked,
    _conflict_row,
    _content_columns,
    _row_hashes,
    empty_rejects,
)
from vipquality.data.readers import CsvStream, RawTable
from vipquality.data.schema import SORT_KEYS, from_pandas, table_schema, to_pandas

__all__ = ["FileTally", "merge_blocks", "write_sorted", "SORT_CHUNK_ROWS"]

#: Rows per piece when a partition larger than this is written sorted.
SORT_CHUNK_ROWS = 500_000
_WRITE_OPTIONS = dict(compression="zstd", use_dictionary=True, write_statistics=True,
                      store_schema=False)


class _Seen:
    """Every key met in the import, in arrays rather than Python objects: per key (in the order
    first met) the key's text (one Arrow array per key column and block), a 64-bit hash of the key,
    the content hash, file, row and where the first row went (staged, in the store, or rejected;
    the content of a rejected one is kept, there are few).

    A dict of ``str`` keys cost ~150 bytes a key in Python objects; here a key costs ~50 bytes
    of arrays. Keys are found by their hash in a sorted ``uint64`` array (:meth:`find`), and the
    text of a candidate is compared exactly, so a hash collision never merges two ids.
    """

    STAGE, STORE, MEM = 0, 1, 2

    def __init__(self, width: int) -> None:
        self.width = width
        self._ids: list[list[pa.Array]] = [[] for _ in range(width)]
        self._sorted_h = np.array([], dtype="uint64")  # key hashes, sorted
        self._sorted_at = np.array([], dtype="int64")  # position of each in the arrays below
        self._hash: list[np.ndarray] = []
        self._file: list[np.ndarray] = []
        self._row: list[np.ndarray] = []
        self._kind: list[np.ndarray] = []
        self._flat: tuple[np.ndarray, ...] | None = None
        self.n = 0
        self.files: list[str] = []
        self._file_no: dict[str, int] = {}
        self.mem: dict[int, pd.Series] = {}

    def _columns(self) -> tuple[np.ndarray, ...]:
        if self._flat is None:
            cat = [np.concatenate(p) if p else np.array([], dtype=d) for p, d in
                   ((self._hash, "uint64"), (self._file, "int32"), (self._row, "int64"),
                    (self._kind, "int8"))]
            self._hash, self._file, self._row, self._kind = ([c] for c in cat)
            self._flat = tuple(cat)
        return self._flat

    def _ids_at(self, at: np.ndarray) -> list[pa.Array]:
        return [pa.chunked_array(chunks, pa.string()).take(pa.array(at)).combine_chunks()
                if chunks else pa.array([], pa.string()) for chunks in self._ids]

    def find(self, keys: list[pa.Array], kh: np.ndarray) -> np.ndarray:
        """Position of each key (rows of ``keys``, hashes ``kh``) among those met, -1 if new."""
        out = np.full(len(kh), -1, dtype="int64")
        if not self.n or not len(kh):
            return out
        lo = np.searchsorted(self._sorted_h, kh, side="left")
        hi = np.searchsorted(self._sorted_h, kh, side="right")
        hit = np.flatnonzero(hi > lo)
        if not len(hit):
            return out
        at = self._sorted_at[lo[hit]]
        same = np.ones(len(hit), dtype=bool)
        idx = pa.array(hit)
        for col, old in zip(keys, self._ids_at(at)):
            same &= pc.fill_null(pc.equal(col.take(idx), old), False).to_numpy(zero_copy_only=False)
        out[hit[same]] = at[same]
        # rare: equal hashes, other text (a collision) or several ids sharing the hash
        for i in hit[~same]:
            for at_j in self._sorted_at[lo[i]:hi[i]]:
                mine = [c[int(i)].as_py() for c in keys]
                theirs = [a[0].as_py() for a in self._ids_at(np.array([at_j]))]
                if mine == theirs:
                    out[i] = at_j
                    break
        return out

    def add(self, keys: list[pa.Array], kh: np.ndarray, h: np.ndarray, file: list[str],
            row: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """Append new keys (not met before, distinct); return their positions."""
        n = len(kh)
        if not n:
            return np.array([], dtype="int64")
        nos = np.empty(n, dtype="int32")
        for name in dict.fromkeys(file):
            if name not in self._file_no:
                self._file_no[name] = len(self.files)
                self.files.append(name)
        codes = pd.Series(file, dtype=object).map(self._file_no).to_numpy()
        nos[:] = codes
        for chunks, col in zip(self._ids, keys):
            chunks.append(col)
        at = np.arange(self.n, self.n + n, dtype="int64")
        self._hash.append(np.asarray(h, dtype="uint64"))
        self._file.append(nos)
        self._row.append(np.asarray(row, dtype="int64"))
        self._kind.append(np.asarray(kind, dtype="int8"))
        self._flat = None
        self.n += n
        # stable sort of two sorted runs: timsort merges them in linear time
        order = np.argsort(kh, kind="stable")
        allh = np.concatenate([self._sorted_h, kh[order]])
        allat = np.concatenate([self._sorted_at, at[order]])
        merged = np.argsort(allh, kind="stable")
        self._sorted_h, self._sorted_at = allh[merged], allat[merged]
        return at

    def first_hash(self, at: np.ndarray) -> np.ndarray:
        """Content hash of the first row of the keys at positions ``at``."""
        return self._columns()[0][at]

    def get(self, at: int) -> tuple[int, str, int, int, pd.Series | None]:
        """Content hash, file, row, kind and kept content of the key at position ``at``."""
        h, f, r, k = (c[at] for c in self._columns())
        return int(h), self.files[int(f)], int(r), int(k), self.mem.get(int(at))


@dataclass
class FileTally:
    """Counts, rejects and warnings of one file, summed over its blocks."""

    source_file: str
    sha256: str
    read: int = 0
    rejected: int = 0
    duplicates: int = 0
    accepted: int = 0
    rejects: list[pd.DataFrame] = field(default_factory=list)
    checked: list[Checked] = field(default_factory=list)  # per block, frames dropped
    outside: set[int] = field(default_factory=set)  # rows dated outside the quarter


def _empty_like(frame: pd.DataFrame) -> pd.DataFrame:
    """An empty frame with the columns and dtypes of ``frame``, sharing no buffer with it."""
    return pd.DataFrame({c: pd.Series([], dtype=frame[c].dtype) for c in frame.columns})


def _blocks(source) -> Iterable[RawTable]:
    return source.blocks() if isinstance(source, CsvStream) else [source]


def merge_blocks(table: str, workspace, sources: list, check: Callable[[RawTable], Checked],
                 stored_rows: Callable[[list[str]], pd.DataFrame], stage: Path,
                 quarter: str) -> tuple[list[FileTally], pd.DataFrame, int]:
    """Validate and de-duplicate every block of ``sources``, appending accepted rows to
    ``stage`` (a Parquet file in the table's schema).

    Parameters
    ----------
    stored_rows : callable
        Stored rows (any quarter) whose first key column is one of the given ids.

    Returns
    -------
    tallies : list of FileTally
        One per source, in order.
    conflicts : DataFrame
        Reject rows of the rows whose id was met before with other content.
    accepted : int
        Rows written to ``stage``.
    """
    keys = KEYS[table]
    schema = table_schema(table, workspace)
    seen = _Seen(len(keys))
    deferred: list[tuple[pd.Series, object]] = []
    conflicts: list[tuple] = []
    key_sources: dict[str, str] = {}
    accepted = 0
    tallies = []
    with pq.ParquetWriter(stage, schema, **_WRITE_OPTIONS) as writer:
        for source in sources:
            tally = FileTally(source.source_file, source.sha256)
            tallies.append(tally)
            for raw in _blocks(source):
                c = check(raw)
                key_sources = key_sources or {k: c.mapping[k] for k in keys}
                tally.read += c.n_read
                tally.rejected += c.n_rejected
                if len(c.rejects):
                    tally.rejects.append(c.rejects)
                    out = c.rejects[c.rejects["reason"].str.contains(f" is outside {quarter} (",
                                                                     regex=False)]
                    tally.outside.update(out["row"].tolist())
                frame = c.frame
                # a fresh empty frame: ``frame.iloc[:0]`` is a zero-copy slice of Arrow arrays
                # that keeps every block's buffers alive (~10 MB a block, the growth of a
                # large import)
                c.frame = _empty_like(frame)
                tally.checked.append(c)
                keep, n_dup, n_conf = _dedupe_block(table, frame, keys, key_sources, seen,
                                                    stored_rows, accepted, deferred, conflicts)
                tally.duplicates += n_dup
                tally.rejected += n_conf
                if keep.any():
                    writer.write_table(from_pandas(frame[keep].reset_index(drop=True), schema))
                    accepted += int(keep.sum())
                    tally.accepted += int(keep.sum())
    conflicts += _resolve(table, deferred, seen, keys, key_sources, stage, stored_rows)
    frame = pd.DataFrame(conflicts, columns=empty_rejects().columns) if conflicts \
        else empty_rejects()
    frame = frame.astype({"file": "str", "row": "int64", "column": "str", "value": "str",
                          "reason": "str"})
    return tallies, frame, accepted


def _key_hashes(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """64-bit hashes of the rows' keys (equal keys, equal hashes; :meth:`_Seen.find` compares
    the text of keys whose hashes are equal)."""
    return pd.util.hash_pandas_object(frame[keys], index=False).to_numpy()


def _key_arrays(frame: pd.DataFrame, keys: list[str]) -> list[pa.Array]:
    return [pa.array(frame[k]).cast(pa.string()) for k in keys]


def _dedupe_block(table, frame, keys, key_sources, seen, stored_rows, n_staged, deferred,
                  conflicts) -> tuple[np.ndarray, int, int]:
    """The rows of ``frame`` to stage (``keep``), with duplicates and conflicts counted.

    The rules of the row-by-row loop, on arrays: a row whose key was met in an earlier block, or
    earlier in this one, is a duplicate (same content hash as that first row) or a conflict
    (deferred, see :func:`_resolve`); the first row of a new key is compared with the store.
    """
    n = len(frame)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep, 0, 0
    cols = _content_columns(frame)
    hashes = _row_hashes(frame, cols)
    ids = _key_arrays(frame, keys)
    kh = _key_hashes(frame, keys)
    prev = seen.find(ids, kh)
    if len(keys) == 1:
        codes = pd.factorize(frame[keys[0]], use_na_sentinel=False)[0]
    else:
        codes = frame[keys].groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    _, first_at = np.unique(codes, return_index=True)
    lead = (prev < 0) & (first_at[codes] == np.arange(n))
    lead_idx = np.flatnonzero(lead)
    files = frame["source_file"].to_numpy(dtype=object)
    rows = frame["source_row"].to_numpy(dtype="int64")
    kind = np.full(len(lead_idx), _Seen.STAGE, dtype="int8")
    n_dup = n_conf = 0
    mem: dict[int, pd.Series] = {}
    stored = stored_rows(frame[keys[0]].iloc[lead_idx].tolist()) if len(lead_idx) \
        else pd.DataFrame()
    if len(stored):
        stored = stored.reset_index(drop=True)
        h_old = _row_hashes(stored[cols], cols)
        stored_at = {k: j for j, k in enumerate(zip(*(stored[k].tolist() for k in keys)))}
        lead_keys = zip(*(frame[k].iloc[lead_idx].tolist() for k in keys))
        for pos, (i, k) in enumerate(zip(lead_idx.tolist(), lead_keys)):
            j = stored_at.get(k)
            if j is None:
                continue
            if hashes[i] == h_old[j]:
                n_dup += 1
                kind[pos] = _Seen.STORE
            else:
                n_conf += 1
                old = stored.iloc[j]
                where = (f"the store ({old['quarter']}, from {old['source_file']} row "
                         f"{old['source_row']})")
                conflicts.append(_conflict_row(table, frame.iloc[i], old, keys, key_sources, cols,
                                               where))
                kind[pos] = _Seen.MEM
                mem[pos] = frame.iloc[i]
    keep[lead_idx[kind == _Seen.STAGE]] = True
    take = pa.array(lead_idx)
    at = seen.add([a.take(take) for a in ids], kh[lead_idx], hashes[lead_idx],
                  files[lead_idx].tolist(), rows[lead_idx], kind)
    for pos, content in mem.items():
        seen.mem[int(at[pos])] = content
    # every other row: compared with the first row of its key (earlier block or this one)
    code_at = np.full(len(first_at), -1, dtype="int64")
    code_at[codes[lead_idx]] = at
    target = np.where(prev >= 0, prev, code_at[codes])
    follow = np.flatnonzero(~lead)
    if len(follow):
        same = seen.first_hash(target[follow]) == hashes[follow]
        n_dup += int(same.sum())
        for i in follow[~same].tolist():
            n_conf += 1
            deferred.append((frame.iloc[i], int(target[i])))
    return keep, n_dup, n_conf


def _resolve(table, deferred, seen, keys, key_sources, stage, stored_rows) -> list[tuple]:
    """Reject rows of the conflicts within the import, with the first occurrence's content read
    back (from the staging file or the store) only now, for just those ids."""
    if not deferred:
        return []
    need = sorted({at for _, at in deferred})
    texts = [a.to_pylist() for a in seen._ids_at(np.array(need, dtype="int64"))]
    key_of = dict(zip(need, zip(*texts)))
    firsts: dict[tuple, pd.Series] = {}
    staged = [key_of[at] for at in need if seen.get(at)[3] == _Seen.STAGE]
    if staged:
        import pyarrow.dataset as ds

        part = ds.dataset(str(stage), format="parquet").to_table(
            filter=ds.field(keys[0]).isin(pa.array(sorted({k[0] for k in staged}), pa.string())))
        got = to_pandas(part)
        for _, row in got.iterrows():
            firsts[tuple(row[k] for k in keys)] = row
    in_store = [key_of[at] for at in need if seen.get(at)[3] == _Seen.STORE]
    if in_store:
        got = stored_rows(sorted({k[0] for k in in_store}))
        for _, row in got.iterrows():
            firsts.setdefault(tuple(row[k] for k in keys), row)
    out = []
    for row, at in deferred:
        _, file, line, kind, content = seen.get(at)
        first = content if kind == _Seen.MEM else firsts[key_of[at]]
        cols = _content_columns(row.to_frame().T)
        out.append(_conflict_row(table, row, first, keys, key_sources, cols,
                                 f"{file} row {line}"))
    return out


def write_sorted(parts: list[Path], table: str, workspace, out: Path,
                 chunk_rows: int = SORT_CHUNK_ROWS) -> int:
    """Write the rows of the Parquet files ``parts`` to ``out`` sorted by the table's keys.

    Up to ``chunk_rows`` rows, the bytes are those of writing the sorted table at once (as
    before blocks existed); beyond, the sort order comes from the key columns alone and each piece
    of ``chunk_rows`` sorted rows is gathered one column at a time, so memory holds the keys, one
    column and one piece, never the table.
    """
    import pyarrow.dataset as ds

    schema = table_schema(table, workspace)
    dataset = ds.dataset([str(p) for p in parts], format="parquet", schema=schema)
    sort_keys = [(k, "ascending") for k in SORT_KEYS[table]]
    key_table = dataset.to_table(columns=SORT_KEYS[table])
    n = key_table.num_rows
    order = pc.sort_indices(key_table, sort_keys=sort_keys)
    del key_table
    if n <= chunk_rows:
        whole = dataset.to_table().take(order).combine_chunks()
        pq.write_table(whole, out, **_WRITE_OPTIONS)
        return n
    with pq.ParquetWriter(out, schema, **_WRITE_OPTIONS) as writer:
        for start in range(0, n, chunk_rows):
            idx = order.slice(start, chunk_rows)
            arrays = []
            for name in schema.names:
                column = dataset.to_table(columns=[name]).column(0)
                arrays.append(column.take(idx).combine_chunks())
                del column
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    return n
