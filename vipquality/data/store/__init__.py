"""The canonical store (``<workspace>/store/``): reading it (:mod:`.read`) and writing it in
crash-safe transactions under the ingest lock (:mod:`.txn`)."""

from vipquality.data.store.read import (
    apply_appeals,
    fingerprint,
    load_appeals,
    load_clients,
    load_case_updates,
    load_invitations,
    load_memberships,
    load_responses,
    load_visits,
    load_weights,
    stored_quarters,
)
from vipquality.data.store.txn import (
    LOCK_NAME,
    TXN_NAME,
    StoreLock,
    Transaction,
    parquet_bytes,
    read_csv_rows,
    recover,
)

__all__ = [
    "LOCK_NAME",
    "TXN_NAME",
    "StoreLock",
    "apply_appeals",
    "load_appeals",
    "Transaction",
    "fingerprint",
    "load_clients",
    "load_case_updates",
    "load_invitations",
    "load_memberships",
    "load_responses",
    "load_visits",
    "load_weights",
    "parquet_bytes",
    "read_csv_rows",
    "recover",
    "stored_quarters",
]
