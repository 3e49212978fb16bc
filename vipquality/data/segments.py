"""Segment membership: which clients of a quarter's CRM extract belong to which segments.

Rules come from ``segments.yaml`` (parsed by :func:`vipquality.config.load_workspace` into
:class:`~vipquality.config.Condition` trees). Evaluation is vectorised: one pass over the
clients frame per condition node, never a loop over clients.

Semantics
---------
- A missing value (NaN, None, NaT, empty text) never matches a comparison: ``ne`` and
  ``not_in`` do not match it either. Only ``is_null`` looks at missing values.
- Internally a comparison on a missing value is *unknown*, combined with Kleene logic
  (``all`` with a false item is false, ``any`` with a true item is true, ``not`` of unknown is
  unknown) and only the final result turns unknown into "no". So ``All(a, b)`` is exactly
  ``a & b`` and ``Not(c)`` inverts ``c`` wherever ``c``'s fields are present.
- ``eq``/``ne``/``in``/``not_in`` on text compare exact text (surrounding blanks ignored,
  case kept). ``contains`` finds one entry of a ``;``-separated list, ignoring case and blanks:
  ``"Deposits; Investments"`` contains ``investments``, ``"investments_fund"`` does not.
- ``lt``/``le``/``gt``/``ge``/``between`` compare numbers (text holding numbers is converted)
  or dates; ``between: [lo, hi]`` includes both ends.
- ``within_days: N`` matches a date at most ``N`` days before the as-of date (the quarter's
  last day; later dates also match), ``older_than_days: N`` one more than ``N`` days before it.
  Dates given as text (``2026-03-31``) are parsed; times of day are ignored.
"""

from __future__ import annotations

import datetime as dt
import operator
import re

import numpy as np
import pandas as pd

from vipquality.config import ALL_SEGMENT, All, Any, Compare, Condition, Not, Quarter, SegmentRules
from vipquality.errors import DataError

__all__ = ["evaluate", "assign_segments", "segment_sizes", "MEMBERSHIP_COLUMNS",
           "rule_warnings"]

#: Columns of the memberships table.
MEMBERSHIP_COLUMNS = ("quarter", "client_id", "segment")

_ORDER = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
          "eq": operator.eq, "ne": operator.ne}


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------

def evaluate(condition: Condition, clients: pd.DataFrame, as_of: dt.date) -> pd.Series:
    """Which clients satisfy a condition.

    Parameters
    ----------
    condition : Condition
        A parsed rule (:class:`~vipquality.config.Compare`, ``All``, ``Any``, ``Not``).
    clients : DataFrame
        One row per client, with the canonical CRM columns the condition names. Not modified.
    as_of : date
        The date ``within_days``/``older_than_days`` count back from (the quarter's last day).

    Returns
    -------
    Series of bool
        Indexed like ``clients``; False wherever the answer depends on a missing value.

    Raises
    ------
    DataError
        A column the condition names is absent, or holds values of the wrong kind (text in a
        numeric rule, an unreadable date).

    Examples
    --------
    >>> clients = pd.DataFrame({"tier": ["Premium", "Private", None],
    ...                         "lines": [3, 7, 2]})
    >>> rule = Compare("tier", "eq", "Premium") | Compare("lines", "gt", 5)
    >>> evaluate(rule, clients, dt.date(2026, 3, 31)).tolist()
    [True, True, False]
    >>> evaluate(~Compare("tier", "eq", "Premium"), clients, dt.date(2026, 3, 31)).tolist()
    [False, True, False]
    """
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    if not isinstance(as_of, dt.date):
        raise TypeError(f"as_of must be a date, got {as_of!r}")
    result = _eval(condition, clients, pd.Timestamp(as_of))
    return result.fillna(False).astype(bool)


def _eval(c: Condition, clients: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Kleene-logic evaluation: a nullable boolean Series, NA = unknown."""
    if isinstance(c, Compare):
        return _compare(c, clients, as_of)
    if isinstance(c, All):
        out = pd.Series(True, index=clients.index, dtype="boolean")
        for item in c.items:
            out = out & _eval(item, clients, as_of)
        return out
    if isinstance(c, Any):
        out = pd.Series(False, index=clients.index, dtype="boolean")
        for item in c.items:
            out = out | _eval(item, clients, as_of)
        return out
    if isinstance(c, Not):
        return ~_eval(c.item, clients, as_of)
    raise TypeError(f"expected a Condition (Compare, All, Any, Not), got {c!r}")


def _column(clients: pd.DataFrame, name: str, rule: Compare) -> pd.Series:
    if name not in clients.columns:
        raise DataError(f"the segment rule '{rule}' needs column {name!r}, which the clients "
                        f"data does not have (it has: {', '.join(map(str, clients.columns))})",
                        column=name)
    col = clients[name]
    if isinstance(col, pd.DataFrame):
        raise DataError(f"the clients data has {col.shape[1]} columns named {name!r}",
                        column=name)
    return col


def _texts(col: pd.Series) -> pd.Series:
    """Text values, stripped; missing and blank become NA."""
    s = col.astype("string").str.strip()
    return s.mask(s == "")


def _missing(col: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(col) or col.dtype == object:
        return _texts(col).isna()
    return col.isna()


def _first_bad(col: pd.Series, bad: pd.Series) -> object:
    return col[bad.to_numpy()].iloc[0]


def _numbers(col: pd.Series, rule: Compare) -> pd.Series:
    if pd.api.types.is_bool_dtype(col):
        raise DataError(f"the segment rule '{rule}' compares numbers, but column "
                        f"{rule.field!r} holds true/false values", column=rule.field)
    if pd.api.types.is_numeric_dtype(col):
        return col.astype("Float64")
    texts = _texts(col)
    nums = pd.to_numeric(texts, errors="coerce").astype("Float64")
    bad = nums.isna() & texts.notna()
    if bad.any():
        raise DataError(f"the segment rule '{rule}' compares numbers, but column "
                        f"{rule.field!r} holds {int(bad.sum())} values that are not numbers",
                        column=rule.field, value=_first_bad(col, bad))
    return nums


def _dates(col: pd.Series, rule: Compare) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(col):
        d = col.dt.tz_localize(None) if getattr(col.dt, "tz", None) is not None else col
    elif pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        raise DataError(f"the segment rule '{rule}' needs dates, but column {rule.field!r} "
                        f"holds numbers", column=rule.field, value=col.dropna().iloc[0]
                        if col.notna().any() else None)
    else:
        known = ~_missing(col)
        source = col.where(known.to_numpy(), None)
        if pd.api.types.is_string_dtype(col) or col.dtype == object:
            source = source.map(lambda v: v.strip() if isinstance(v, str) else v)
        d = pd.to_datetime(source, errors="coerce", format="ISO8601")
        bad = d.isna() & known
        if bad.any():
            raise DataError(f"the segment rule '{rule}' needs dates, but column {rule.field!r} "
                            f"holds {int(bad.sum())} values that are not dates (YYYY-MM-DD)",
                            column=rule.field, value=_first_bad(col, bad))
    return d.dt.normalize()


def _booleans(col: pd.Series, rule: Compare) -> pd.Series:
    try:
        return col.astype("boolean")
    except (TypeError, ValueError):
        raise DataError(f"the segment rule '{rule}' compares true/false, but column "
                        f"{rule.field!r} does not hold true/false values",
                        column=rule.field) from None


def _values(col: pd.Series, sample: object, rule: Compare) -> tuple[pd.Series, object]:
    """The column converted to the kind of ``sample`` (the rule's value), and a converter."""
    if isinstance(sample, bool):
        return _booleans(col, rule), bool
    if isinstance(sample, (int, float)):
        return _numbers(col, rule), float
    if isinstance(sample, dt.date):
        return _dates(col, rule), pd.Timestamp
    return _texts(col), str


def _result(hit: pd.Series | np.ndarray, unknown: pd.Series, index: pd.Index) -> pd.Series:
    """Nullable boolean: ``hit`` where known, NA where ``unknown``."""
    if isinstance(hit, pd.Series):
        hit = hit.astype("boolean").fillna(False).to_numpy(dtype=bool)
    arr = pd.array(np.asarray(hit, dtype=bool), dtype="boolean")
    arr[np.asarray(unknown, dtype=bool)] = pd.NA
    return pd.Series(arr, index=index)


def _compare(c: Compare, clients: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    col = _column(clients, c.field, c)
    op, v = c.op, c.value
    if op == "is_null":
        missing = _missing(col).to_numpy(dtype=bool)
        return _result(missing if v else ~missing, np.zeros(len(col), dtype=bool), clients.index)
    if op in ("within_days", "older_than_days"):
        d = _dates(col, c)
        age = (as_of - d).dt.days
        hit = age <= v if op == "within_days" else age > v
        return _result(hit, d.isna(), clients.index)
    if op == "contains":
        s = _texts(col)
        pattern = r"(?:^|;)\s*" + re.escape(v.strip()) + r"\s*(?:;|$)"
        return _result(s.str.contains(pattern, case=False, regex=True), s.isna(), clients.index)
    if op in ("in", "not_in", "between"):
        x, conv = _values(col, v[0], c)
        values = [conv(i) for i in v]
        if op == "between":
            hit = (x >= values[0]) & (x <= values[1])
        else:
            hit = x.isin(values)
            if op == "not_in":
                hit = ~hit
        return _result(hit, x.isna(), clients.index)
    if op in _ORDER:
        x, conv = _values(col, v, c)
        return _result(_ORDER[op](x, conv(v)), x.isna(), clients.index)
    raise ValueError(f"unknown operator {op!r} in rule {c!r}")


# --------------------------------------------------------------------------------------------
# Memberships
# --------------------------------------------------------------------------------------------

def assign_segments(clients: pd.DataFrame, rules: SegmentRules,
                    quarter: str | Quarter) -> pd.DataFrame:
    """Segment memberships of one quarter's clients.

    Every client inside ``rules.universe`` belongs to the synthetic segment ``all`` ("All VIP
    clients", the report's total) and to every declared or grid segment whose rule it meets;
    clients outside the universe belong to no segment at all.

    Parameters
    ----------
    clients : DataFrame
        That quarter's CRM extract: one row per ``client_id`` with the canonical columns the
        rules name. A ``quarter`` column, if present, must hold only ``quarter``. Not modified.
    rules : SegmentRules
        ``workspace.segments``.
    quarter : str or Quarter
        The quarter; date rules count back from its last day. Text is read on the fiscal
        calendar of ``rules.fiscal_year_start``; a :class:`Quarter` keeps its own.

    Returns
    -------
    DataFrame
        Columns ``quarter, client_id, segment`` (text), one row per client and segment it
        belongs to: ``all`` first, then segments in ``segments.yaml`` order, clients in input
        order within a segment.

    Raises
    ------
    DataError
        ``client_id`` is absent, empty or repeated, the ``quarter`` column disagrees, or a rule
        cannot be evaluated (see :func:`evaluate`).

    Examples
    --------
    >>> from vipquality.config import SegmentRules, Segment
    >>> rules = SegmentRules(
    ...     universe=Compare("balance", "ge", 3_000_000),
    ...     segments=(Segment("private", "Private", "tier", True, Compare("tier", "eq", "Private")),))
    >>> clients = pd.DataFrame({"client_id": ["c1", "c2", "c3"],
    ...                         "tier": ["Private", "Private", "Premium"],
    ...                         "balance": [5e6, 1e6, 4e6]})
    >>> assign_segments(clients, rules, "2026Q1")
      quarter client_id  segment
    0  2026Q1        c1      all
    1  2026Q1        c3      all
    2  2026Q1        c1  private
    """
    q = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter,
                                                                   rules.fiscal_year_start)
    ids = _client_ids(clients, str(q))
    as_of = q.end
    inside = (evaluate(rules.universe, clients, as_of) if rules.universe is not None
              else pd.Series(True, index=clients.index)).to_numpy(dtype=bool)
    names = [ALL_SEGMENT]
    masks = [inside]
    for seg in rules.segments:
        names.append(seg.id)
        masks.append(inside & evaluate(seg.rule, clients, as_of).to_numpy(dtype=bool))
    counts = [int(m.sum()) for m in masks]
    members = np.concatenate([ids[m] for m in masks]) if masks else np.array([], dtype=object)
    return pd.DataFrame({
        "quarter": pd.Series([str(q)] * int(sum(counts)), dtype="str"),
        "client_id": pd.Series(members, dtype="str"),
        "segment": pd.Series(np.repeat(np.array(names, dtype=object), counts), dtype="str"),
    })


def _client_ids(clients: pd.DataFrame, quarter: str) -> np.ndarray:
    if "client_id" not in clients.columns:
        raise DataError("the clients data has no 'client_id' column", column="client_id")
    ids = _texts(clients["client_id"])
    if ids.isna().any():
        raise DataError(f"{int(ids.isna().sum())} clients have an empty client_id",
                        column="client_id")
    dup = ids.duplicated(keep=False)
    if dup.any():
        raise DataError(f"client_id must be unique in one quarter's extract; "
                        f"{int(ids[dup].nunique())} ids repeat", column="client_id",
                        value=ids[dup].iloc[0])
    if "quarter" in clients.columns:
        other = _texts(clients["quarter"])
        wrong = other.notna() & (other != quarter)
        if wrong.any():
            raise DataError(f"the clients data holds other quarters than {quarter} "
                            f"({', '.join(sorted(other[wrong].unique()))}); pass one "
                            f"quarter's extract at a time", column="quarter",
                            value=other[wrong].iloc[0])
    return ids.to_numpy(dtype=object)


def segment_sizes(memberships: pd.DataFrame, rules: SegmentRules | None = None) -> pd.DataFrame:
    """Number of clients per quarter and segment.

    Parameters
    ----------
    memberships : DataFrame
        Output of :func:`assign_segments` (several quarters may be stacked).
    rules : SegmentRules, optional
        When given, every segment (``all`` first, then in ``segments.yaml`` order) appears for
        every quarter, with 0 for empty ones; segments the rules no longer define follow.

    Returns
    -------
    DataFrame
        Columns ``quarter, segment, clients`` (distinct client ids), by quarter then segment.

    Examples
    --------
    >>> m = pd.DataFrame({"quarter": ["2026Q1"] * 3, "client_id": ["a", "b", "a"],
    ...                   "segment": ["all", "all", "private"]})
    >>> segment_sizes(m)
      quarter  segment  clients
    0  2026Q1      all        2
    1  2026Q1  private        1
    """
    missing = [c for c in MEMBERSHIP_COLUMNS if c not in memberships.columns]
    if missing:
        raise DataError(f"memberships need columns {', '.join(MEMBERSHIP_COLUMNS)}; "
                        f"missing: {', '.join(missing)}", column=missing[0])
    sizes = (memberships.groupby(["quarter", "segment"], sort=False)["client_id"]
             .nunique().rename("clients").reset_index())
    quarters = sorted(sizes["quarter"].astype(str).unique())
    order = [ALL_SEGMENT, *rules.ids] if rules is not None else []
    order += [s for s in sizes["segment"].astype(str).unique() if s not in order]
    if rules is not None:
        full = pd.MultiIndex.from_product([quarters, order], names=["quarter", "segment"])
        sizes = (sizes.set_index(["quarter", "segment"])["clients"]
                 .reindex(full, fill_value=0).reset_index())
    rank = {s: i for i, s in enumerate(order)}
    sizes = sizes.assign(_q=sizes["quarter"].astype(str),
                         _s=sizes["segment"].map(rank)).sort_values(["_q", "_s"], kind="stable")
    out = sizes[["quarter", "segment", "clients"]].reset_index(drop=True)
    return out.astype({"quarter": "str", "segment": "str", "clients": "int64"})


# --------------------------------------------------------------------------------------------
# Rules that select nobody
# --------------------------------------------------------------------------------------------

def _compares(condition: Condition | None, where: str) -> list[tuple[str, Compare]]:
    if condition is None:
        return []
    if isinstance(condition, Compare):
        return [(where, condition)]
    if isinstance(condition, (All, Any)):
        return [pair for item in condition.items for pair in _compares(item, where)]
    if isinstance(condition, Not):
        return _compares(condition.item, where)
    return []


def rule_warnings(clients: pd.DataFrame, rules: SegmentRules, memberships: pd.DataFrame,
                  previous: pd.DataFrame | None = None) -> list[str]:
    """What a quality manager should hear about the segment rules on one quarter's CRM extract:
    a text value of an ``eq``/``in`` rule that no client has (a typo such as ``Luxary`` leaves a
    segment silently empty), and a segment that had members in the previous quarter and has
    none now. Values are named from the rules, never from the clients' data, except a close
    match for a rule value (a tier name, not a personal value: personal columns are dropped
    before the rules run).

    Parameters
    ----------
    clients : DataFrame
        The quarter's CRM extract (canonical columns).
    rules : SegmentRules
        ``workspace.segments``.
    memberships : DataFrame
        :func:`assign_segments` of ``clients``.
    previous : DataFrame, optional
        The previous quarter's memberships (``segment`` column).

    Examples
    --------
    >>> from vipquality.config import SegmentRules, Segment
    >>> rules = SegmentRules(None, (Segment("luxury", "Luxury", "tier", True,
    ...                                     Compare("tier", "eq", "Luxary")),))
    >>> clients = pd.DataFrame({"client_id": ["c1", "c2"], "tier": ["Luxury", "Premium"]})
    >>> rule_warnings(clients, rules, assign_segments(clients, rules, "2026Q1"))[0]
    "segments.yaml: segment 'luxury': no client of the quarter has tier = 'Luxary' (did you mean 'Luxury'?)"
    """
    import difflib

    out: list[str] = []
    pairs = _compares(rules.universe, "universe")
    for seg in rules.segments:
        pairs += _compares(seg.rule, f"segment {seg.id!r}")
    present: dict[str, dict[str, str]] = {}
    for where, c in pairs:
        if c.op not in ("eq", "in") or c.field not in clients.columns:
            continue
        wanted = c.value if c.op == "in" else (c.value,)
        if not all(isinstance(v, str) for v in wanted):
            continue
        if c.field not in present:
            texts = _texts(clients[c.field]).dropna().unique()
            present[c.field] = {str(v).casefold(): str(v) for v in texts}
        have = present[c.field]
        for v in wanted:
            if v.strip() in have.values():
                continue
            close = difflib.get_close_matches(v.strip().casefold(), list(have), n=1, cutoff=0.75)
            hint = f" (did you mean {have[close[0]]!r}?)" if close else ""
            out.append(f"segments.yaml: {where}: no client of the quarter has "
                       f"{c.field} = {v!r}{hint}")
    if previous is not None and len(previous):
        before = set(previous["segment"].astype(str))
        now = set(memberships["segment"].astype(str))
        for seg in rules.segments:
            if seg.id in before and seg.id not in now:
                out.append(f"segments.yaml: segment {seg.id!r} ({seg.label}) has no member this "
                           "quarter but had members the quarter before: check its rule and the "
                           "CRM extract")
    return list(dict.fromkeys(out))
