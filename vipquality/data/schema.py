"""The canonical tables: their Arrow schemas, sort keys and partition paths, and the source
fields each is read from (used by the importers, ingest and the store alike).

>>> from vipquality.config import load_workspace
>>> ws = load_workspace()
>>> table_schema("visits", ws).names[:3]
['quarter', 'visit_id', 'visit_date']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from vipquality.data.readers import RawTable, masked_shape
from vipquality.errors import IngestError, StoreError

if TYPE_CHECKING:  # pragma: no cover
    from vipquality.config import Workspace

__all__ = ["TABLES", "PART_FILE", "SORT_KEYS", "Field", "table_schema", "to_pandas", "from_pandas",
           "partition_path", "fields_for", "masked_shape", "resolve_columns"]


#: The stored tables, in the order their files are fingerprinted.
TABLES = ("responses", "visits", "clients", "memberships", "case_updates", "appeals",
          "invitations", "weights")


PART_FILE = "part-0.parquet"


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


def table_schema(table: str, workspace: Workspace) -> pa.Schema:
    """The canonical Arrow schema of one stored table (what ingest writes and loaders return).

    responses: ``quarter, response_id, client_id, submitted_at`` (naive local time in the
    workspace's time zone), ``weight, nps, ces, overall`` (int8), ``sat__<id>`` for every attribute,
    ``imp__<id>`` for attributes with an importance item (float32, NaN = missing), ``comment``,
    ``comment_language`` (detected at ingest, :mod:`vipquality.data.language`: ``en``, ``el``,
    ``ru``, ``tl`` or ``""``; filled on read for a store written before it existed),
    ``consent`` (the answer to cases.yaml's consent item; missing without one),
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
        fields += [("comment", pa.string()), ("comment_language", pa.string()),
                   ("consent", pa.bool_())] + _PROVENANCE
    elif table == "visits":
        fields = [("quarter", pa.string()), ("visit_id", pa.string()),
                  ("visit_date", pa.date32()), ("branch", pa.string()),
                  ("manager_id", pa.string()), ("segment", pa.string()),
                  ("item_id", pa.string()), ("standard_id", pa.string()),
                  ("result", pa.string()), ("weight", pa.float64()), ("critical", pa.bool_()),
                  ("shopper_id", pa.string()), ("calibration_of", pa.string())]
        fields += _PROVENANCE
    elif table == "clients":
        fields = [("quarter", pa.string())]
        fields += [(c, _CLIENT_TYPES.get(c, pa.string())) for c in workspace.client_columns]
        fields += _PROVENANCE
    elif table == "memberships":
        fields = [("quarter", pa.string()), ("client_id", pa.string()), ("segment", pa.string())]
    elif table == "case_updates":
        fields = [("quarter", pa.string()), ("case_id", pa.string()), ("status", pa.string()),
                  ("date", pa.date32()), ("root_cause", pa.string()), ("note", pa.string())]
        fields += _PROVENANCE
    elif table == "appeals":
        fields = [("quarter", pa.string()), ("visit_id", pa.string()), ("item_id", pa.string()),
                  ("claimed_result", pa.string()), ("reason", pa.string()),
                  ("decision", pa.string()), ("decided_by", pa.string()), ("date", pa.date32())]
        fields += _PROVENANCE
    elif table == "invitations":
        fields = [("quarter", pa.string()), ("client_id", pa.string()), ("invited", pa.date32()),
                  ("channel", pa.string())] + _PROVENANCE
    elif table == "weights":  # raking weights (vipquality.data.weighting), mean 1 per quarter
        fields = [("quarter", pa.string()), ("response_id", pa.string()), ("weight", pa.float64())]
    else:
        raise StoreError(f"unknown table {table!r}: expected one of {list(TABLES)}")
    return pa.schema(fields)


#: Sort keys giving byte-stable files.
SORT_KEYS = {
    "responses": ["response_id"],
    "visits": ["visit_id", "item_id"],
    "clients": ["client_id"],
    "memberships": ["client_id", "segment"],
    "case_updates": ["case_id", "date", "status"],
    "appeals": ["visit_id", "item_id"],
    "invitations": ["client_id", "invited", "channel"],
    "weights": ["response_id"],
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


def partition_path(store: Path, table: str, quarter: str) -> Path:
    """``<store>/<table>/quarter=<q>/part-0.parquet``."""
    return Path(store) / table / f"quarter={quarter}" / PART_FILE


_CLIENT_KINDS = {
    "client_id": "id", "client_type": "client_type", "lifetime_value": "number",
    "revenue": "number", "balance": "number", "avg_monthly_spend_3m": "number",
    "purchases_12m": "count", "lines": "count", "last_transaction": "date",
}


@dataclass(frozen=True)
class Field:
    """One canonical column of a stored table and where it comes from.

    ``ref`` is the instrument/workspace reference (header, question text or 1-based position);
    ``key`` is the YAML key that sets it, named in mapping errors; ``kind`` selects the checks.
    """

    name: str
    ref: str | None
    key: str
    kind: str
    required: bool = False
    scale: tuple[int, int] | None = None
    text: str | None = None  # question text (match_columns_by: text)
    label: str = ""
    #: a file may lack the column (its values are then missing): the consent item
    optional: bool = False


def fields_for(table: str, workspace) -> list[Field]:
    """The source fields of ``table`` (``responses``, ``visits``, ``clients``,
    ``case_updates`` or ``appeals``)."""
    if table == "responses":
        inst = workspace.instrument
        f = "instrument.yaml"
        cols = inst.columns
        out = [Field("response_id", cols["response_id"], f"{f}: columns.response_id", "id", True),
               Field("client_id", cols["client_id"], f"{f}: columns.client_id", "client", True)]
        if cols.get("submitted_at"):
            out.append(Field("submitted_at", cols["submitted_at"], f"{f}: columns.submitted_at",
                             "timestamp", True, label="submitted"))
        if cols.get("weight"):
            out.append(Field("weight", cols["weight"], f"{f}: columns.weight", "weight", True))
        for item in (inst.nps, inst.ces, inst.overall):
            if item is not None:
                out.append(Field(item.role, item.column, f"{f}: {item.role}.column", "rating",
                                 scale=tuple(item.scale), text=item.text, label=item.role.upper()
                                 if item.role != "overall" else "overall satisfaction"))
        for i, a in enumerate(inst.attributes):
            out.append(Field(f"sat__{a.id}", a.satisfaction,
                             f"{f}: csi.attributes[{i}].satisfaction", "rating",
                             scale=tuple(inst.csi_scale), label=f"satisfaction with {a.label}"))
        for i, a in enumerate(inst.attributes):
            if a.importance:
                out.append(Field(f"imp__{a.id}", a.importance,
                                 f"{f}: csi.attributes[{i}].importance", "rating",
                                 scale=tuple(inst.importance_scale or inst.csi_scale),
                                 label=f"importance of {a.label}"))
        if inst.comment is not None:
            out.append(Field("comment", inst.comment.column, f"{f}: comment.column", "comment",
                             text=inst.comment.text))
        cases = getattr(workspace, "cases", None)
        if cases is not None and cases.consent_column:
            out.append(Field("consent", cases.consent_column, "cases.yaml: consent.column",
                             "consent", label="consent", optional=True))
        return out
    if table == "visits":
        kinds = {"visit_id": ("id", True), "visit_date": ("date", True),
                 "branch": ("text", False), "manager_id": ("text", False),
                 "segment": ("segment", False), "item_id": ("item", True),
                 "result": ("result", True), "shopper_id": ("text", False),
                 "calibration_of": ("text", False)}
        # shopper_id and calibration_of are optional keys of the mapping (surveys/README.md),
        # and a file may lack their columns (its visits then have no shopper)
        labels = {"shopper_id": "a shopper id", "calibration_of": "calibration records"}
        return [Field(c, workspace.visit_columns[c], f"workspace.yaml: visits.columns.{c}",
                      kind, req, label=labels.get(c, "visit"), optional=c in labels)
                for c, (kind, req) in kinds.items() if c in workspace.visit_columns]
    if table == "clients":
        return [Field(c, src, f"workspace.yaml: clients.columns.{c}",
                      _CLIENT_KINDS.get(c, "text"), c == "client_id")
                for c, src in workspace.client_columns.items()]
    if table == "case_updates":  # fixed column names (surveys/README.md, "case_updates")
        key = "the case_updates columns of surveys/README.md"
        return [Field("case_id", "case_id", key, "id", True, label="case"),
                Field("status", "status", key, "status", True),
                Field("date", "date", key, "date", True, label="update"),
                Field("root_cause", "root_cause", key, "root_cause", optional=True),
                Field("note", "note", key, "comment", optional=True)]
    if table == "appeals":  # fixed column names (surveys/README.md, "appeals")
        key = "the appeals columns of surveys/README.md"
        return [Field("visit_id", "visit_id", key, "id", True, label="appeal"),
                Field("item_id", "item_id", key, "item", True),
                Field("claimed_result", "claimed_result", key, "result", True),
                Field("reason", "reason", key, "comment", optional=True),
                Field("decision", "decision", key, "decision", True),
                Field("decided_by", "decided_by", key, "text", True),
                Field("date", "date", key, "date", True, label="decision")]
    if table == "invitations":  # fixed column names (surveys/README.md, "invitations")
        key = "the invitations columns of surveys/README.md"
        return [Field("client_id", "client_id", key, "client", True),
                Field("invited", "invited_date", key, "date", True, label="invitation"),
                Field("channel", "channel", key, "text", optional=True)]
    raise IngestError(f"unknown table {table!r}")


# invisible format characters an editor or exporter may leave in a header (zero-width space,
# byte-order mark, directional marks): not part of the column's name
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def _norm(text: str) -> str:
    return " ".join(_INVISIBLE.sub("", str(text)).split()).casefold()


def resolve_columns(raw: RawTable, fields: Sequence[Field], mode: str, *,
                    show_headers: bool = True) -> dict[str, str]:
    """canonical → header of ``raw`` for every field, by ``match_columns_by``.

    ``name``: the header equals the configured name (exact, else ignoring case and spacing);
    ``text``: the header is the question text (items) or the configured text;
    ``position``: the configured reference is the 1-based column number.
    ``show_headers=False`` (the CRM extract: an export without its header row has a client's
    name, e-mail and phone where the header should be) names the file's columns by position and
    :func:`masked_shape` only.

    Raises
    ------
    IngestError
        Listing every missing column, the YAML key to fix and the columns the file has.
    """
    headers = list(raw.columns)
    by_norm: dict[str, list[str]] = {}
    for h in headers:
        by_norm.setdefault(_norm(h), []).append(h)
    found: dict[str, str] = {}
    missing: list[str] = []
    for f in fields:
        hit = None
        if mode == "position":
            pos = int(f.ref) if f.ref and str(f.ref).strip().isdigit() else 0
            hit = headers[pos - 1] if 1 <= pos <= len(headers) else None
        else:
            candidates = [f.text, f.ref] if mode == "text" and f.text else [f.ref]
            for ref in candidates:
                if ref is None:
                    continue
                if ref in headers:
                    hit = ref
                    break
                near = by_norm.get(_norm(ref), [])
                if len(near) == 1:
                    hit = near[0]
                    break
        if hit is None and f.optional:
            continue
        if hit is None:
            shown = f"column {f.ref}" if mode == "position" else repr(f.ref)
            missing.append(f"{shown} ({f.key})")
        else:
            found[f.name] = hit
    if missing:
        has = (headers if show_headers else
               "; ".join(f"{i} {masked_shape(h)!r}" for i, h in enumerate(headers[:12], 1))
               + ("; …" if len(headers) > 12 else "")
               + " (shapes only: a letters, 9 digits; is the header row missing?)")
        raise IngestError(
            f"{raw.source_file}: {len(missing)} mapped column(s) not found (matching by {mode}): "
            f"{'; '.join(missing)}. The file has {len(headers)} column(s): {has}. Fix the "
            "YAML key(s) named above, or the export; nothing was imported.")
    return found
