"""Reading the canonical store that ``vipquality ingest`` writes.

The store lives in ``workspace.store_path`` with one Parquet file per table and quarter
(``<store>/<table>/quarter=YYYYQn/part-0.parquet``, hive-partitioned; see docs/architecture.md).
Loaders return pandas frames with the canonical columns and dtypes whatever quarters are asked
for, so statistics code never depends on which files happened to exist.

Examples
--------
>>> from vipquality.workspace import load_workspace          # doctest: +SKIP
>>> ws = load_workspace("surveys")                            # doctest: +SKIP
>>> stored_quarters(ws)                                       # doctest: +SKIP
['2025Q3', '2025Q4', '2026Q1', '2026Q2']
>>> load_responses(ws, ["2026Q2"]).nps.dtype                  # doctest: +SKIP
Int8Dtype()
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from .errors import StoreError

if TYPE_CHECKING:  # pragma: no cover
    from .workspace import Workspace

__all__ = [
    "TABLES",
    "load_responses",
    "load_visits",
    "load_clients",
    "load_memberships",
    "stored_quarters",
    "fingerprint",
]

#: The stored tables, in the order their files are fingerprinted.
TABLES = ("responses", "visits", "clients", "memberships")
PART_FILE = "part-0.parquet"
_QUARTER = re.compile(r"^\d{4}Q[1-4]$")

# Types of the CRM columns named in workspace.yaml; any other canonical column is text.
_CLIENT_TYPES = {
    "lifetime_value": pa.float64(),
    "revenue": pa.float64(),
    "balance": pa.float64(),
    "avg_monthly_spend_3m": pa.float64(),
    "purchases_12m": pa.int32(),
    "lines": pa.int32(),
    "last_transaction": pa.date32(),
}
_PROVENANCE = [("source_file", pa.string()), ("source_row", pa.int64())]


# ----------------------------------------------------------------------------------------- schemas
def table_schema(table: str, workspace: Workspace) -> pa.Schema:
    """The canonical Arrow schema of one stored table (what ingest writes and loaders return).

    responses: ``quarter, response_id, client_id, submitted_at`` (naive local time in the
    workspace's time zone), ``weight, nps, ces, overall`` (int8), ``sat__<id>`` for every attribute,
    ``imp__<id>`` for attributes with an importance item (float32, NaN = missing), ``comment``,
    ``source_file, source_row``. ``ces``/``overall``/``comment`` are present (all missing) even when
    the instrument has no such item, so every quarter has the same columns.
    """
    if table == "responses":
        inst = workspace.instrument
        fields = [("quarter", pa.string()), ("response_id", pa.string()),
                  ("client_id", pa.string()), ("submitted_at", pa.timestamp("us")),
                  ("weight", pa.float64()), ("nps", pa.int8()), ("ces", pa.int8()),
                  ("overall", pa.int8())]
        fields += [(f"sat__{a.id}", pa.float32()) for a in inst.attributes]
        fields += [(f"imp__{a.id}", pa.float32()) for a in inst.attributes if a.importance]
        fields += [("comment", pa.string())] + _PROVENANCE
    elif table == "visits":
        fields = [("quarter", pa.string()), ("visit_id", pa.string()),
                  ("visit_date", pa.date32()), ("branch", pa.string()),
                  ("manager_id", pa.string()), ("segment", pa.string()),
                  ("item_id", pa.string()), ("standard_id", pa.string()),
                  ("result", pa.string()), ("weight", pa.float64()), ("critical", pa.bool_())]
        fields += _PROVENANCE
    elif table == "clients":
        fields = [("quarter", pa.string())]
        fields += [(c, _CLIENT_TYPES.get(c, pa.string())) for c in workspace.client_columns]
        fields += _PROVENANCE
    elif table == "memberships":
        fields = [("quarter", pa.string()), ("client_id", pa.string()), ("segment", pa.string())]
    else:
        raise StoreError(f"unknown table {table!r}: expected one of {list(TABLES)}")
    return pa.schema(fields)


#: Sort keys giving byte-stable files.
SORT_KEYS = {
    "responses": ["response_id"],
    "visits": ["visit_id", "item_id"],
    "clients": ["client_id"],
    "memberships": ["client_id", "segment"],
}

_PANDAS_TYPES = {pa.int8(): pd.Int8Dtype(), pa.int32(): pd.Int32Dtype()}


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow → pandas with the canonical dtypes: int8/int32 as nullable ``Int8``/``Int32``, dates
    and timestamps as ``datetime64``, text as ``str``, float32 kept (NaN = missing)."""
    return table.to_pandas(date_as_object=False, types_mapper=_PANDAS_TYPES.get)


def from_pandas(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """pandas → Arrow in exactly ``schema`` (column order and types), without pandas metadata so
    the bytes written depend on the values only."""
    arrays = []
    for f in schema:
        col = frame[f.name]
        if pa.types.is_date32(f.type):
            arr = pa.array(pd.to_datetime(col).dt.normalize().astype("datetime64[ms]"),
                           from_pandas=True).cast(pa.date32())
        elif pa.types.is_timestamp(f.type):
            arr = pa.array(pd.to_datetime(col).astype("datetime64[us]"), from_pandas=True)
        elif pa.types.is_string(f.type):
            arr = pa.array(col.astype(object).where(col.notna(), None), type=pa.string())
        else:
            arr = pa.array(col, type=f.type, from_pandas=True)
        arrays.append(arr.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


# ------------------------------------------------------------------------------------------ layout
def partition_path(store: Path, table: str, quarter: str) -> Path:
    """``<store>/<table>/quarter=<q>/part-0.parquet``."""
    return Path(store) / table / f"quarter={quarter}" / PART_FILE


def _store_dir(workspace: Workspace) -> Path:
    store = Path(workspace.store_path)
    if not store.is_dir():
        raise StoreError(f"no store at {store}: run `vipquality ingest --workspace "
                         f"{workspace.root}` first to import the quarter folders")
    if (store / ".txn" / "plan.json").is_file():
        raise StoreError(f"the store at {store} is being written, or holds an interrupted "
                         "import: retry, or run `vipquality ingest` again to complete it")
    return store


def _table_quarters(store: Path, table: str) -> list[str]:
    base = store / table
    if not base.is_dir():
        return []
    found = []
    for d in base.iterdir():
        q = d.name.removeprefix("quarter=")
        if d.name.startswith("quarter=") and _QUARTER.match(q) and (d / PART_FILE).is_file():
            found.append(q)
    return sorted(found)


def stored_quarters(workspace: Workspace) -> list[str]:
    """Quarters with at least one stored table, sorted (``[]`` for a store with no data).

    Raises
    ------
    StoreError
        There is no store yet.
    """
    store = _store_dir(workspace)
    return sorted({q for t in TABLES for q in _table_quarters(store, t)})


def _normalise_quarters(quarters: str | Iterable[object] | None) -> list[str] | None:
    if quarters is None:
        return None
    if isinstance(quarters, str) or not isinstance(quarters, Iterable):
        quarters = [quarters]
    out = []
    for q in quarters:
        s = str(q).strip().upper()
        if not _QUARTER.match(s):
            raise StoreError(f"{q!r} is not a quarter: expected YYYYQn, e.g. 2026Q2")
        out.append(s)
    return sorted(set(out))


def _load(table: str, workspace: Workspace, quarters, columns: list[str] | None = None,
          filter_expr=None) -> pd.DataFrame:
    import pyarrow.dataset as ds

    store = _store_dir(workspace)
    schema = table_schema(table, workspace)
    present = _table_quarters(store, table)
    wanted = _normalise_quarters(quarters)
    if wanted is None:
        wanted = present
    else:
        missing = [q for q in wanted if q not in present]
        if missing:
            raise StoreError(f"{table} for {', '.join(missing)} not in the store at {store} "
                             f"(stored: {', '.join(present) or 'none'}); run `vipquality ingest "
                             f"--quarter {missing[0]}`")
    files = [str(partition_path(store, table, q)) for q in wanted]
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    if not files:
        return to_pandas(schema.empty_table())
    try:
        dataset = ds.dataset(files, format="parquet", schema=schema)
        result = dataset.to_table(columns=schema.names, filter=filter_expr)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as err:
        raise StoreError(f"cannot read {table} from {store} ({err}); the store may be from an "
                         "older configuration: move it aside and run `vipquality ingest --all`"
                         ) from None
    return to_pandas(result)


def load_responses(workspace: Workspace, quarters=None) -> pd.DataFrame:
    """Stored survey responses of the given quarters (default: all), one row per response.

    Columns: see :func:`table_schema` (``quarter, response_id, client_id, submitted_at, weight,
    nps, ces, overall, sat__<id>…, imp__<id>…, comment, source_file, source_row``).

    Raises
    ------
    StoreError
        No store, or a requested quarter is not stored.
    """
    return _load("responses", workspace, quarters)


def load_visits(workspace: Workspace, quarters=None) -> pd.DataFrame:
    """Stored mystery-shopper checks, one row per visit × checklist item."""
    return _load("visits", workspace, quarters)


def load_clients(workspace: Workspace, quarters=None) -> pd.DataFrame:
    """Stored CRM extracts, one row per client and quarter (personal columns never stored)."""
    return _load("clients", workspace, quarters)


def load_memberships(workspace: Workspace, quarters=None) -> pd.DataFrame:
    """Stored segment memberships: ``quarter, client_id, segment``, one row per client × segment."""
    return _load("memberships", workspace, quarters)


def fingerprint(workspace: Workspace, quarters=None) -> str:
    """sha256 over the stored table files of ``quarters`` (default: all), for run manifests.

    Two stores give the same fingerprint exactly when they hold the same files with the same bytes
    for those quarters (paths and contents both enter the hash).
    """
    store = _store_dir(workspace)
    wanted = _normalise_quarters(quarters)
    if wanted is not None:
        present = {q for t in TABLES for q in _table_quarters(store, t)}
        missing = [q for q in wanted if q not in present]
        if missing:
            raise StoreError(f"{', '.join(missing)} not in the store at {store}; run "
                             f"`vipquality ingest --quarter {missing[0]}`")
    digest = hashlib.sha256()
    for table in TABLES:
        for q in _table_quarters(store, table):
            if wanted is not None and q not in wanted:
                continue
            path = partition_path(store, table, q)
            digest.update(f"{table}/quarter={q}/{PART_FILE}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
