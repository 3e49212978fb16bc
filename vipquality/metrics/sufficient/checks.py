"""The checks of the input frames: required columns and the value of every answer.

Each check raises :class:`~vipquality.errors.DataError` naming the first bad row (its
``source_file`` and ``source_row`` when the frame has them, else its position) and column; the
missing columns are named by :func:`vipquality._frames.require_columns`.

Two ways through, with the same errors. :func:`prepare_responses` and :func:`prepare_visits`
check every value in pandas and return the frames as the engines read them (the ``pandas`` and
``spark`` engines, and unusual dtypes). An engine that checks inside its own aggregation pass
(DuckDB: ``checks=True`` of :func:`~vipquality.metrics.sufficient.sql.response_stats_sql`) reads
the caller's frames as they are, when :func:`sql_checkable_responses` /
:func:`sql_checkable_visits` accept their dtypes, and calls :func:`check_responses` /
:func:`prepare_visits` only to name the row its pass rejected.

Examples
--------
>>> import pandas as pd
>>> from vipquality.metrics.sufficient.spec import StatsSpec
>>> spec = StatsSpec(by=("segment",), ces_scale=None)
>>> r = pd.DataFrame({"segment": ["A", "A"], "nps": [10, 11], "source_row": [2, 3]})
>>> prepare_responses(spec, r, None)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
vipquality.errors.DataError: row 3, column 'nps': nps must be an integer from 0 to 10 (value ...)
>>> prepare_responses(spec, r.drop(columns="nps"), None)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
vipquality.errors.DataError: the responses table needs the columns ['nps']; missing ['nps'] ...
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipquality._frames import require_columns
from vipquality.errors import DataError
from vipquality.metrics.sufficient.spec import (
    CES_COLUMN,
    NPS_COLUMN,
    RESULTS,
    WEIGHT_COLUMN,
    StatsSpec,
    visit_key_extra,
)

__all__ = [
    "check_responses",
    "prepare_responses",
    "prepare_visits",
    "require_visits",
    "sql_checkable_responses",
    "sql_checkable_visits",
]


def _check_numeric(df: pd.DataFrame, column: str, scale, *, integer: bool) -> np.ndarray:
    """A rating column as float64 (NaN = missing) after a vectorised check of every answer."""
    s = df[column]
    if pd.api.types.is_bool_dtype(s.dtype):
        raise DataError(f"{column} must be numeric, got booleans", column=column)
    if not pd.api.types.is_numeric_dtype(s.dtype):
        converted = pd.to_numeric(s, errors="coerce")
        bad = np.flatnonzero((converted.isna() & s.notna()).to_numpy())
        if bad.size:
            _raise_at(df, int(bad[0]), column, f"{column} must be numeric", s.iloc[bad[0]])
        s = converted
    x = s.to_numpy(dtype=float, na_value=np.nan)
    present = ~np.isnan(x)
    lo, hi = scale
    bad = present & ((x < lo) | (x > hi))
    if integer:
        bad |= present & (x != np.round(x))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        kind = "an integer" if integer else "a number"
        _raise_at(df, pos, column, f"{column} must be {kind} from {lo:g} to {hi:g}", x[pos])
    return x


def _raise_at(df: pd.DataFrame, pos: int, column: str, problem: str, value) -> None:
    file = row = None
    if "source_row" in df.columns:
        row = df["source_row"].iloc[pos]
        row = None if pd.isna(row) else int(row)
    if "source_file" in df.columns:
        file = df["source_file"].iloc[pos]
        file = None if pd.isna(file) else str(file)
    if row is None:
        problem += f" (row {pos} of the frame)"
    raise DataError(problem, file=file, row=row, column=column, value=value)


def prepare_responses(
    spec: StatsSpec, responses: pd.DataFrame, memberships: pd.DataFrame | None, *,
    check: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Check the responses (and memberships) and keep only the columns ``spec`` reads.

    ``check=False`` leaves the value checks to the DuckDB pass (``checks=True`` of
    :func:`~vipquality.metrics.sufficient.sql.response_stats_sql`) and returns the responses as
    they are, without a copy.
    """
    needed = []
    if spec.nps_scale is not None:
        needed.append(NPS_COLUMN)
    if spec.ces_scale is not None:
        needed.append(CES_COLUMN)
    needed += [f"sat__{a}" for a in spec.attributes] + [f"imp__{a}" for a in spec.importance]
    require_columns(responses, needed, "the responses table",
                    "pass nps_scale=None / ces_scale=None to leave a metric out")
    if check:
        check_responses(spec, responses)

    from_members = memberships is not None
    if from_members:
        require_columns(memberships, ["quarter", "client_id", "segment"],
                        "the memberships table")
        require_columns(responses, ["quarter", "client_id"], "the responses table",
                        "they join the segment memberships")
        memberships = memberships[["quarter", "client_id", "segment"]].drop_duplicates()
    keys = [c for c in spec.by if not (from_members and c == "segment")]
    require_columns(responses, keys, "the responses table", "they are the grouping columns")
    if not check:
        return responses, memberships
    extra = ["client_id"] if from_members and "client_id" not in keys else []
    keep = list(dict.fromkeys(keys + extra + needed + ([WEIGHT_COLUMN] if spec.weighted else [])))
    return responses[keep], memberships


def _checked_columns(spec: StatsSpec) -> list[tuple[str, tuple[float, float], bool]]:
    """(column, scale, integer) of every response column the checks read, in check order."""
    out = []
    if spec.nps_scale is not None:
        out.append((NPS_COLUMN, spec.nps_scale, True))
    if spec.ces_scale is not None:
        out.append((CES_COLUMN, spec.ces_scale, True))
    out += [(f"sat__{a}", spec.csi_scale, False) for a in spec.attributes]
    out += [(f"imp__{a}", spec.imp_scale, False) for a in spec.importance]
    if spec.weighted:
        out.append((WEIGHT_COLUMN, (0, np.inf), False))
    return out


def _plain_numeric(series: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(series.dtype)
            and not pd.api.types.is_bool_dtype(series.dtype))


def sql_checkable_responses(spec: StatsSpec, responses: pd.DataFrame) -> bool:
    """Whether the checks can run inside the DuckDB pass: every checked column is numeric
    (booleans and text go through the pandas checks, which convert or reject them)."""
    return all(c in responses.columns and _plain_numeric(responses[c])
               for c, _, _ in _checked_columns(spec))


def sql_checkable_visits(visits: pd.DataFrame) -> bool:
    """Whether the DuckDB pass can read and check the visits as they are: text results,
    numeric weights and boolean critical flags (anything else is converted in pandas)."""
    result = visits["result"].dtype
    if not (result == object or pd.api.types.is_string_dtype(result)
            or isinstance(result, pd.CategoricalDtype)):
        return False
    if "weight" in visits.columns and not _plain_numeric(visits["weight"]):
        return False
    return "critical" not in visits.columns or pd.api.types.is_bool_dtype(
        visits["critical"].dtype)


def check_responses(spec: StatsSpec, responses: pd.DataFrame) -> None:
    """The pandas checks of every response column (raise at the first bad row)."""
    if spec.nps_scale is not None:
        _check_numeric(responses, NPS_COLUMN, spec.nps_scale, integer=True)
    if spec.ces_scale is not None:
        _check_numeric(responses, CES_COLUMN, spec.ces_scale, integer=True)
    for a in spec.attributes:
        _check_numeric(responses, f"sat__{a}", spec.csi_scale, integer=False)
    for a in spec.importance:
        _check_numeric(responses, f"imp__{a}", spec.imp_scale, integer=False)
    if spec.weighted:
        w = _check_numeric(responses, WEIGHT_COLUMN, (0, np.inf), integer=False)
        if np.isnan(w).any():
            pos = int(np.flatnonzero(np.isnan(w))[0])
            _raise_at(responses, pos, WEIGHT_COLUMN, "weight is missing", None)


def require_visits(spec: StatsSpec, visits: pd.DataFrame) -> None:
    """The columns every visits table needs: the grouping columns, ``visit_id``, ``result``."""
    require_columns(visits, [*spec.by, "visit_id", "result"], "the visits table",
                    "compliance needs every grouping column in the visits table")


def prepare_visits(spec: StatsSpec, visits: pd.DataFrame) -> pd.DataFrame:
    """The checked visits (result, weight, critical as the SQL reads them); raise at the first
    bad row."""
    require_visits(spec, visits)
    keys = [*spec.by, *visit_key_extra(spec)]
    out = visits[list(dict.fromkeys([*keys, "result"]))].copy()
    result = out["result"].astype(object)
    bad = np.flatnonzero((~result.isin(RESULTS) & result.notna()).to_numpy())
    if bad.size:
        _raise_at(visits, int(bad[0]), "result", "result must be one of yes / no / na",
                  result.iloc[bad[0]])
    out["result"] = result.fillna("na").astype(str)   # a missing answer counts as n.a.
    if "item_id" in visits.columns:
        dup = np.flatnonzero(visits.duplicated([*keys, "item_id"]).to_numpy())
        if dup.size:
            _raise_at(visits, int(dup[0]), "item_id",
                      "the same item is checked twice in one visit", visits["item_id"].iloc[dup[0]])
    if "weight" in visits.columns:
        w = _check_numeric(visits, "weight", (0, np.inf), integer=False)
        out["weight"] = np.where(np.isnan(w), 1.0, w)
    else:
        out["weight"] = 1.0
    if "critical" in visits.columns:
        out["critical"] = visits["critical"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    else:
        out["critical"] = False
    return out
