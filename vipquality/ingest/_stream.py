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

from ..store import SORT_KEYS, from_pandas, table_schema, to_pandas
from ._readers import CsvStream, RawTable
from ._validate import KEYS, Checked, _conflict_row, _content_columns, _row_hashes, empty_rejects

__all__ = ["FileTally", "merge_blocks", "write_sorted", "SORT_CHUNK_ROWS"]

#: Rows per piece when a partition larger than this is written sorted.
SORT_CHUNK_ROWS = 500_000
_WRITE_OPTIONS = dict(compression="zstd", use_dictionary=True, write_statistics=True,
                      store_schema=False)


class _Seen:
    """Every key met in the import, compactly: a dict key -> position, and per position the
    content hash, file, row and where the first row went (staged, in the store, or rejected;
    the content of a rejected one is kept, there are few). Single-column keys are plain
    strings, not tuples: at millions of rows the dict is most of the memory."""

    STAGE, STORE, MEM = 0, 1, 2

    def __init__(self, width: int) -> None:
        from array import array

        self._single = width == 1
        self._at: dict = {}
        self.hash, self.file, self.row, self.kind = array("Q"), array("i"), array("q"), \
            array("b")
        self.files: list[str] = []
        self._file_no: dict[str, int] = {}
        self.mem: dict[int, pd.Series] = {}

    def key(self, k: tuple):
        return k[0] if self._single else k

    def __contains__(self, k: tuple) -> bool:
        return self.key(k) in self._at

    def get(self, k: tuple) -> tuple[int, str, int, int, pd.Series | None]:
        i = self._at[self.key(k)]
        return (self.hash[i], self.files[self.file[i]], self.row[i], self.kind[i],
                self.mem.get(i))

    def add(self, k: tuple, h: int, file: str, row: int, kind: int,
            content: pd.Series | None = None) -> None:
        no = self._file_no.get(file)
        if no is None:
            no = self._file_no[file] = len(self.files)
            self.files.append(file)
        i = len(self.hash)
        self._at[self.key(k)] = i
        self.hash.append(int(h))
        self.file.append(no)
        self.row.append(int(row))
        self.kind.append(kind)
        if content is not None:
            self.mem[i] = content


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
                c.frame = frame.iloc[:0]
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


def _dedupe_block(table, frame, keys, key_sources, seen, stored_rows, n_staged, deferred,
                  conflicts) -> tuple[np.ndarray, int, int]:
    n = len(frame)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep, 0, 0
    cols = _content_columns(frame)
    hashes = _row_hashes(frame, cols)
    key_list = list(zip(*(frame[k].tolist() for k in keys)))
    files = frame["source_file"].tolist()
    rows = frame["source_row"].tolist()
    candidates = [k[0] for k in key_list if k not in seen]
    stored = stored_rows(candidates) if candidates else pd.DataFrame()
    stored_at: dict[tuple, int] = {}
    h_old = np.array([], dtype="uint64")
    if len(stored):
        stored = stored.reset_index(drop=True)
        h_old = _row_hashes(stored[cols], cols)
        stored_at = {k: j for j, k in enumerate(zip(*(stored[k].tolist() for k in keys)))}
    n_dup = n_conf = 0
    for i, k in enumerate(key_list):
        h = hashes[i]
        if k in seen:
            first_h = seen.get(k)[0]
            if int(h) == first_h:
                n_dup += 1
            else:
                n_conf += 1
                deferred.append((frame.iloc[i], k))
            continue
        if k in stored_at:
            j = stored_at[k]
            if h == h_old[j]:
                n_dup += 1
                seen.add(k, h, files[i], rows[i], _Seen.STORE)
            else:
                n_conf += 1
                old = stored.iloc[j]
                where = (f"the store ({old['quarter']}, from {old['source_file']} row "
                         f"{old['source_row']})")
                conflicts.append(_conflict_row(table, frame.iloc[i], old, keys, key_sources, cols,
                                               where))
                seen.add(k, h, files[i], rows[i], _Seen.MEM, frame.iloc[i])
            continue
        keep[i] = True
        seen.add(k, h, files[i], rows[i], _Seen.STAGE)
    return keep, n_dup, n_conf


def _resolve(table, deferred, seen, keys, key_sources, stage, stored_rows) -> list[tuple]:
    """Reject rows of the conflicts within the import, with the first occurrence's content read
    back (from the staging file or the store) only now, for just those ids."""
    if not deferred:
        return []
    need = {k for _, k in deferred}
    firsts: dict[tuple, pd.Series] = {}
    staged = [k for k in need if seen.get(k)[3] == _Seen.STAGE]
    if staged:
        import pyarrow.dataset as ds

        part = ds.dataset(str(stage), format="parquet").to_table(
            filter=ds.field(keys[0]).isin(pa.array(sorted({k[0] for k in staged}), pa.string())))
        got = to_pandas(part)
        for _, row in got.iterrows():
            firsts[tuple(row[k] for k in keys)] = row
    in_store = [k for k in need if seen.get(k)[3] == _Seen.STORE]
    if in_store:
        got = stored_rows(sorted({k[0] for k in in_store}))
        for _, row in got.iterrows():
            firsts.setdefault(tuple(row[k] for k in keys), row)
    out = []
    for row, k in deferred:
        _, file, line, kind, content = seen.get(k)
        first = content if kind == _Seen.MEM else firsts[k]
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
