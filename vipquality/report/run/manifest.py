"""``run.json``: what a report run ran on, written beside the pages it produced."""

from __future__ import annotations

import dataclasses
import json
import platform
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any

from vipquality._files import atomic_write_text

__all__ = ["MANIFEST_SCHEMA", "write_manifest"]

#: bumped when a key of run.json changes meaning or disappears
MANIFEST_SCHEMA = 1

_TOOLS = ("papermill", "nbconvert", "nbformat", "ipykernel", "plotly", "pandas")


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in obj]
        return sorted(items, key=str) if isinstance(obj, (set, frozenset)) else items
    if isinstance(obj, PurePath):
        return obj.as_posix()
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    return str(obj)


def _tool_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _TOOLS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def write_manifest(
    path: Path,
    *,
    package_version: str,
    workspace: Path | str,
    data_fingerprint: str,
    parameters: Mapping[str, Any],
    started: datetime,
    finished: datetime,
    notebooks: Iterable[Any],
) -> Path:
    """Write ``run.json``: what a run ran on, as JSON with sorted keys.

    Parameters
    ----------
    path : Path
        The file to write (normally ``<staging>/run.json``); written whole or not at all.
    package_version : str
        ``vipquality.__version__`` of the run.
    workspace : Path or str
        The workspace folder the data came from.
    data_fingerprint : str
        A digest of the input data (e.g. over the ingest log's file hashes for the quarters read).
    parameters : mapping
        The run's parameters (quarter, comparison quarter, thresholds...).
    started, finished : datetime
        When the run started and ended (timezone-aware preferred); ``duration_seconds`` is
        derived from them.
    notebooks : iterable
        One entry per notebook: :class:`NotebookResult` objects (or any dataclasses or mappings).

    Returns
    -------
    Path
        ``path``. The record also holds ``schema`` and the versions of Python and the tools
        (papermill, nbconvert, nbformat, ipykernel, plotly, pandas).
    """
    record = {
        "schema": MANIFEST_SCHEMA,
        "package_version": package_version,
        "workspace": str(workspace),
        "data_fingerprint": data_fingerprint,
        "parameters": _jsonable(parameters),
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "duration_seconds": round((finished - started).total_seconds(), 3),
        "notebooks": [_jsonable(nb) for nb in notebooks],
        "environment": _tool_versions(),
    }
    return atomic_write_text(path, json.dumps(record, sort_keys=True, indent=2,
                                              ensure_ascii=False) + "\n")
