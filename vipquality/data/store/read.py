"""Reading the canonical store that ``vipquality ingest`` writes.

The store lives in ``workspace.store_path`` with one Parquet file per table and quarter
(``<store>/<table>/quarter=YYYYQn/part-0.parquet``, hive-partitioned; see docs/architecture.md).
Loaders return pandas frames with the canonical columns and dtypes whatever quarters are asked
for, so statistics code never depends on which files happened to exist.

Examples
--------
>>> from vipquality.config import load_workspace          # doctest: +SKIP
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

from vipquality.data.language import fill_comment_language
from vipquality.data.schema import PART_FILE, TABLES, partition_path, table_schema, to_pandas
from vipquality.errors import StoreError

if TYPE_CHECKING:  # pragma: no cover
    from vipquality.config import Workspace

__all__ = [
    "load_responses",
    "load_visits",
    "load_clients",
    "load_memberships",
    "load_invitations",
    "load_weights",
    "load_case_updates",
    "load_appeals",
    "apply_appeals",
    "stored_quarters",
    "fingerprint",
]

_QUARTER = re.compile(r"^\d{4}Q[1-4]$")


# ----------------------------------------------------------------------------------------- schemas


# ------------------------------------------------------------------------------------------ layout


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


def load_responses(workspace: Workspace, quarters=None, *,
                   weighted: bool | None = None) -> pd.DataFrame:
    """Stored survey responses of the given quarters (default: all), one row per response.

    Columns: see :func:`table_schema` (``quarter, response_id, client_id, submitted_at, weight,
    nps, ces, overall, sat__<id>…, imp__<id>…, comment, comment_language, consent, source_file,
    source_row``).

    ``weighted`` (default: workspace.yaml ``weighting.enabled``): ``weight`` is the design
    weight times the quarter's raking weight of the ``weights`` table (written by ingest,
    :mod:`vipquality.data.weighting`), so every metric takes the weighted path; a quarter
    without stored weights keeps its design weights. ``False``: the design weights only (the
    unweighted figures).

    Raises
    ------
    StoreError
        No store, or a requested quarter is not stored.
    """
    # a store written before comment_language existed: detected now (nothing is rewritten)
    out = fill_comment_language(_load("responses", workspace, quarters))
    settings = getattr(workspace, "weighting", None)
    if weighted is None:
        weighted = bool(settings is not None and settings.enabled)
    if weighted and len(out):
        w = load_weights(workspace, sorted(set(out["quarter"])))
        if len(w):
            factor = out["response_id"].map(w.set_index("response_id")["weight"])
            out["weight"] = out["weight"] * factor.fillna(1.0).to_numpy(float)
    return out


def load_weights(workspace: Workspace, quarters=None) -> pd.DataFrame:
    """Stored raking weights: ``quarter, response_id, weight`` (mean 1 per quarter); a quarter
    ingested with weighting off has none."""
    store = _store_dir(workspace)
    have = _table_quarters(store, "weights")
    wanted = _normalise_quarters(quarters)
    return _load("weights", workspace, have if wanted is None else [q for q in wanted if q in have])


def load_invitations(workspace: Workspace, quarters=None) -> pd.DataFrame:
    """Stored survey invitations: ``quarter, client_id, invited`` (date), ``channel``, one row
    per invitation; a quarter whose folder had no invitations file has none."""
    store = _store_dir(workspace)
    have = _table_quarters(store, "invitations")
    wanted = _normalise_quarters(quarters)
    return _load("invitations", workspace,
                 have if wanted is None else [q for q in wanted if q in have])


def load_visits(workspace: Workspace, quarters=None, *, appeals: bool = True,
                calibration: bool = False) -> pd.DataFrame:
    """Stored mystery-shopper checks, one row per visit × checklist item.

    Parameters
    ----------
    appeals : bool, default True
        ``result`` is the result after the upheld appeals (:func:`apply_appeals`), the result
        every compliance figure uses; ``False``: the shopper's result as recorded. The store
        keeps the recorded result and the appeals apart (nothing is overwritten).
    calibration : bool, default False
        Include the calibration records (rows with ``calibration_of``: a second shopper rating
        a visit again, for inter-rater agreement). They are left out of every compliance
        figure, which counts a visit once.
    """
    visits = _load("visits", workspace, quarters)
    if not calibration:
        visits = visits[visits["calibration_of"].isna()].reset_index(drop=True)
    if appeals:
        visits = apply_appeals(visits, load_appeals(workspace))
    return visits


def load_appeals(workspace: Workspace, quarters=None) -> pd.DataFrame:
    """Stored appeals: ``quarter`` (the folder the file came in), ``visit_id, item_id,
    claimed_result, reason`` (scrubbed), ``decision`` (``upheld`` | ``rejected``),
    ``decided_by, date``; one row per appealed item (an item is decided once). Empty when no
    quarter had an appeals file."""
    store = _store_dir(workspace)
    have = _table_quarters(store, "appeals")
    wanted = _normalise_quarters(quarters)
    return _load("appeals", workspace, have if wanted is None else [q for q in wanted if q in have])


def apply_appeals(visits: pd.DataFrame, appeals: pd.DataFrame) -> pd.DataFrame:
    """``visits`` with the claimed result of every upheld appeal in ``result`` (a copy).

    An appeal applies to the check of its ``visit_id`` and ``item_id``, whatever quarter's folder
    it came in; rejected appeals change nothing.

    >>> v = pd.DataFrame({"visit_id": ["V1", "V1"], "item_id": ["a", "b"], "result": ["no", "no"]})
    >>> a = pd.DataFrame({"visit_id": ["V1", "V1"], "item_id": ["a", "b"],
    ...                   "claimed_result": ["yes", "yes"], "decision": ["upheld", "rejected"]})
    >>> apply_appeals(v, a)["result"].tolist()
    ['yes', 'no']
    """
    out = visits.copy()
    upheld = appeals[appeals["decision"] == "upheld"]
    if upheld.empty or out.empty:
        return out
    claim = upheld.drop_duplicates(["visit_id", "item_id"]).set_index(
        ["visit_id", "item_id"])["claimed_result"]
    key = pd.MultiIndex.from_arrays([out["visit_id"], out["item_id"]])
    new = claim.reindex(key).to_numpy()
    hit = pd.notna(new)
    if hit.any():
        result = out["result"].to_numpy(dtype=object).copy()
        result[hit] = new[hit]
        out["result"] = pd.Series(result, index=out.index, dtype=out["result"].dtype)
    return out


def load_clients(workspace: Workspace, quarters=None) -> pd.DataFrame:
    """Stored CRM extracts, one row per client and quarter (personal columns never stored)."""
    return _load("clients", workspace, quarters)


def load_memberships(workspace: Workspace, quarters=None) -> pd.DataFrame:
    """Stored segment memberships: ``quarter, client_id, segment``, one row per client × segment."""
    return _load("memberships", workspace, quarters)


def load_case_updates(workspace: Workspace, quarters=None) -> pd.DataFrame:
    """Stored follow-up updates: ``quarter, case_id, status, date, root_cause, note`` (scrubbed),
    one row per update, every update kept (the history of each case); a quarter whose folder
    had no case_updates file has none."""
    store = _store_dir(workspace)
    have = _table_quarters(store, "case_updates")
    wanted = _normalise_quarters(quarters)
    return _load("case_updates", workspace,
                 have if wanted is None else [q for q in wanted if q in have])


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
