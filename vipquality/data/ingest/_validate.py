"""Validating one raw table against the workspace: column mapping, per-cell checks, types.

Every check is vectorised over a column of text. The checks of a table are assembled into a
pandera ``DataFrameSchema`` and run with ``lazy=True``; its ``failure_cases`` (row index, column,
value, check) become reject rows ``file, row, column, value, reason``, with ``row`` the line in the
source file and ``column`` the column name as the file spells it. A row with any failed check is
rejected as a whole; every failing cell of it is reported.

What is not a reject: a blank cell or an instrument ``missing_code`` (both become missing), and
``"10 "`` (trimmed). Whole-number ratings written ``"10.0"`` are accepted as 10.

Cross-row rules (duplicate ids within the import and against the store) live in
:func:`deduplicate`, which runs on the typed rows that passed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vipquality.data.language import detect_languages
from vipquality.data.privacy import Scrubber
from vipquality.data.readers import REJECT_COLUMNS, RawTable
from vipquality.data.schema import (
    Field,
    fields_for,
    from_pandas,
    resolve_columns,
    table_schema,
    to_pandas,
)
from vipquality.errors import IngestError

__all__ = ["Field", "Checked", "fields_for", "resolve_columns", "check_table", "deduplicate",
           "empty_rejects", "file_warnings", "KEYS", "CASE_STATUSES", "APPEAL_DECISIONS"]

#: Identity of a row in each table (duplicate detection).
KEYS = {"responses": ["response_id"], "visits": ["visit_id", "item_id"], "clients": ["client_id"],
        "case_updates": ["case_id", "date", "status"], "appeals": ["visit_id", "item_id"],
        "invitations": ["client_id", "invited", "channel"]}
#: The statuses of a follow-up case (the ``status`` column of a case_updates file).
CASE_STATUSES = ("contacted", "resolved", "escalated", "unreachable")
#: The decisions on an appeal (the ``decision`` column of an appeals file).
APPEAL_DECISIONS = ("upheld", "rejected")

_RATING_RE = r"[+-]?\d+(?:\.\d+)?"
_NUMBER_RE = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_THOUSANDS_RE = r"(?<=\d)[\s\u00a0\u202f'](?=\d{3}(?:\D|$))"
_DECIMAL_COMMA_RE = r"[+-]?\d+,\d+"
_OFFSET_RE = r"(?:Z|[+-]\d{2}:?\d{2})$"
_RESULTS = {
    "yes": "yes", "y": "yes", "1": "yes", "да": "yes", "д": "yes", "true": "yes",
    "no": "no", "n": "no", "0": "no", "нет": "no", "н": "no", "false": "no",
    "na": "na", "n.a.": "na", "n.a": "na", "n/a": "na", "н/п": "na", "not applicable": "na",
}
_CLIENT_TYPES = ("individual", "legal_entity")
#: answers to the consent item of cases.yaml ("may we contact you about your answers?")
_CONSENT = {k: v == "yes" for k, v in _RESULTS.items() if v != "na"}
_SCALE_WARNING_MIN = 10  # values needed before "all within 1–5" is worth a warning
# control characters (replaced by a space), and the bidirectional overrides that would show a
# comment's text reversed or reordered on a page ("Trojan source", removed): none is something a
# client meant to write
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_BIDI = r"[\u202a-\u202e\u2066-\u2069]"
# Personal data written into free-text comments is scrubbed at ingest (one implementation:
# vipquality.data.privacy).


@dataclass
class Checked:
    """One validated file: typed rows that passed, and the reject rows of those that did not."""

    table: str
    source_file: str
    sha256: str
    frame: pd.DataFrame
    rejects: pd.DataFrame
    n_read: int
    n_rejected: int
    mapping: dict[str, str] = field(default_factory=dict)  # canonical -> header in the file
    warnings: list[str] = field(default_factory=list)
    #: what the file-level warnings are computed from, summable over blocks of one file:
    #: ``masked`` (comments changed by scrubbing), ``scale`` (group -> (n, min, max, fields))
    stats: dict = field(default_factory=dict)


def empty_rejects() -> pd.DataFrame:
    """An empty reject table with its dtypes."""
    return pd.DataFrame({"file": pd.array([], dtype="str"), "row": pd.array([], dtype="int64"),
                         "column": pd.array([], dtype="str"), "value": pd.array([], dtype="str"),
                         "reason": pd.array([], dtype="str")})


# ----------------------------------------------------------------------------------- field specs


# -------------------------------------------------------------------------------------- parsing
Reason = Callable[[int, str], str]


@dataclass
class _Parsed:
    values: pd.Series
    problems: list[tuple[str, pd.Series, Reason]]  # (check name, failing mask, reason)


def _floats(s: pd.Series, ok: np.ndarray) -> np.ndarray:
    """float of every ``ok`` cell (already matched by a number pattern), NaN elsewhere."""
    return s.where(ok, "nan").to_numpy(dtype=object).astype(float)


def _blank(s: pd.Series) -> pd.Series:
    return (s == "").to_numpy(dtype=bool)


def _parse_rating(s: pd.Series, f: Field, codes: Sequence[float]) -> _Parsed:
    lo, hi = f.scale
    blank = _blank(s)
    is_num = s.str.fullmatch(_RATING_RE).to_numpy(dtype=bool)
    num = _floats(s, is_num)
    own_codes = [c for c in codes if not lo <= c <= hi]
    missing = is_num & np.isin(num, own_codes)
    whole = is_num & (np.floor(num) == num)
    in_scale = whole & (num >= lo) & (num <= hi)
    valid = in_scale & ~missing
    comma = s.str.fullmatch(_DECIMAL_COMMA_RE).to_numpy(dtype=bool)

    def not_number(i: int, v: str) -> str:
        hint = " (decimal comma)" if comma[i] else ""
        return f"{v!r} is not a number{hint}: {f.label} takes whole numbers {lo}–{hi}"

    values = pd.Series(np.where(valid, num, np.nan), index=s.index)
    return _Parsed(values, [
        ("number", ~blank & ~is_num, not_number),
        ("whole", is_num & ~missing & ~whole,
         lambda i, v: f"{v} is not a whole number: {f.label} takes whole numbers {lo}–{hi}"),
        ("scale", whole & ~missing & ~in_scale,
         lambda i, v: f"{v} is outside the {f.label} scale {lo}–{hi}"),
    ])


def _parse_number(s: pd.Series, f: Field, *, positive=False, count=False) -> _Parsed:
    blank = _blank(s)
    t = s.str.replace(_THOUSANDS_RE, "", regex=True)
    is_num = t.str.fullmatch(_NUMBER_RE).to_numpy(dtype=bool)
    num = _floats(t, is_num)
    finite = is_num & np.isfinite(num)
    comma = s.str.fullmatch(_DECIMAL_COMMA_RE).to_numpy(dtype=bool)
    problems: list[tuple[str, pd.Series, Reason]] = [
        ("number", ~blank & ~finite,
         lambda i, v: f"{v!r} is not a number" + (" (use '.' as the decimal point)" if comma[i]
                                                   else "")),
    ]
    ok = finite.copy()
    if count:
        bad = finite & ((np.floor(num) != num) | (num < 0) | (num > 2**31 - 1))
        problems.append(("count", bad, lambda i, v: f"{v} is not a count (a whole number ≥ 0)"))
        ok &= ~bad
    if positive:
        bad = finite & ~(num > 0)
        problems.append(("positive", bad, lambda i, v: f"weight {v} is not positive"))
        ok &= ~bad
    if f.required:
        problems.append(("required", blank, lambda i, v: f"{f.name} is blank (required)"))
    return _Parsed(pd.Series(np.where(ok, num, np.nan), index=s.index), problems)


def _parse_datetimes(s: pd.Series, tz: str) -> pd.Series:
    """Naive local timestamps: ISO 8601 (an offset is converted to ``tz``), or
    DD.MM.YYYY[ HH:MM[:SS]]."""
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    todo = (s != "").to_numpy(dtype=bool)
    offset = todo & s.str.contains(_OFFSET_RE, regex=True).to_numpy(dtype=bool)
    if offset.any():
        parsed = pd.to_datetime(s[offset], format="ISO8601", utc=True, errors="coerce")
        out[offset] = parsed.dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[us]")
    plain = todo & ~offset
    if plain.any():
        iso = s[plain].where(s[plain].str.match(r"^\d{4}-\d{2}-\d{2}"), None)
        out[plain] = pd.to_datetime(iso, format="ISO8601", errors="coerce").astype("datetime64[us]")
    for fmt in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
        left = todo & out.isna().to_numpy(dtype=bool)
        if not left.any():
            break
        out[left] = pd.to_datetime(s[left], format=fmt, errors="coerce").astype("datetime64[us]")
    return out


def _parse_when(s: pd.Series, f: Field, tz: str, bounds, quarter: str | None,
                date_only: bool) -> _Parsed:
    blank = _blank(s)
    ts = _parse_datetimes(s, tz)
    if date_only:
        ts = ts.dt.normalize()
    bad = ~blank & ts.isna().to_numpy(dtype=bool)
    what = "a date: expected YYYY-MM-DD (or DD.MM.YYYY)" if date_only else \
        "a date and time: expected YYYY-MM-DD HH:MM[:SS] (or DD.MM.YYYY HH:MM)"
    problems: list[tuple[str, pd.Series, Reason]] = [
        ("parse", bad, lambda i, v: f"{v!r} is not {what}")]
    if f.required:
        problems.append(("required", blank, lambda i, v: f"{f.name} is blank (required)"))
    if bounds is not None:
        start, end = bounds
        day = ts.dt.normalize()
        outside = (ts.notna() & ((day < pd.Timestamp(start)) | (day > pd.Timestamp(end)))) \
            .to_numpy(dtype=bool)
        days = day.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
        problems.append(("quarter", outside, lambda i, v: (
            f"{f.label} {days[i]} is outside {quarter} ({start} to {end})")))
    return _Parsed(ts, problems)


def _parse_choice(s: pd.Series, f: Field, allowed: dict[str, str], reason: Reason) -> _Parsed:
    blank = _blank(s)
    mapped = s.str.casefold().map(allowed)  # keys of ``allowed`` are casefolded
    bad = ~blank & mapped.isna().to_numpy(dtype=bool)
    problems: list[tuple[str, pd.Series, Reason]] = [("value", bad, reason)]
    if f.required:
        problems.append(("required", blank, lambda i, v: f"{f.name} is blank (required)"))
    return _Parsed(mapped.where(~bad & ~blank, None), problems)


def _parse_field(s: pd.Series, f: Field, ctx: dict) -> _Parsed:
    kind = f.kind
    if kind == "rating":
        return _parse_rating(s, f, ctx["missing_codes"])
    if kind in ("number", "count", "weight"):
        return _parse_number(s, f, positive=kind == "weight", count=kind == "count")
    if kind == "timestamp":
        return _parse_when(s, f, ctx["timezone"], ctx["bounds"], ctx["quarter"], date_only=False)
    if kind == "date":
        bounds = ctx["bounds"] if f.name in ("visit_date", "invited") else None
        return _parse_when(s, f, ctx["timezone"], bounds, ctx["quarter"], date_only=True)
    if kind == "result":
        return _parse_choice(s, f, _RESULTS, lambda i, v: (
            f"{v!r} is not a visit result: expected yes, no or n.a. (also y/n, 1/0, да/нет)"))
    if kind == "consent":
        return _parse_choice(s, f, _CONSENT, lambda i, v: (
            f"{v!r} is not an answer to the consent item: expected yes or no (also y/n, 1/0, "
            "да/нет)"))
    if kind == "status":
        return _parse_choice(s, f, {v: v for v in CASE_STATUSES}, lambda i, v: (
            f"{v!r} is not a case status: expected {', '.join(CASE_STATUSES)}"))
    if kind == "decision":
        return _parse_choice(s, f, {v: v for v in APPEAL_DECISIONS}, lambda i, v: (
            f"{v!r} is not a decision on an appeal: expected {' or '.join(APPEAL_DECISIONS)}"))
    if kind == "root_cause":
        codes = {c.casefold(): c for c in ctx["root_causes"]}
        return _parse_choice(s, f, codes, lambda i, v: (
            f"{v!r} is not a root-cause code of cases.yaml ({', '.join(ctx['root_causes'])})"))
    if kind == "client_type":
        return _parse_choice(s, f, {t: t for t in _CLIENT_TYPES}, lambda i, v: (
            f"{v!r} is not a client type: expected {' or '.join(_CLIENT_TYPES)}"))
    if kind == "segment":
        ids = {sid.casefold(): sid for sid in ctx["segment_ids"]}
        return _parse_choice(s, f, ids, lambda i, v: (
            f"{v!r} is not a segment id of segments.yaml"))
    if kind == "item":
        items = ctx["items"]
        ids = {i.casefold(): i for i in items}
        return _parse_choice(s, f, ids, lambda i, v: (
            f"checklist item {v!r} is not in the standards catalogue (standards.yaml)"))
    if kind == "comment":
        # control characters (a NUL from a damaged export, form feeds) become spaces: they
        # break the CSVs and pages downstream, and carry nothing of what the client wrote
        s = s.str.replace(_CONTROL, " ", regex=True).str.replace(_BIDI, "", regex=True)
        blank = _blank(s)
        masked = ctx["scrubber"].series(s)
        return _Parsed(masked.where(~blank, None), [])
    # id, client, text
    blank = _blank(s)
    values = s.where(~blank, None)
    problems: list[tuple[str, pd.Series, Reason]] = []
    if f.required:
        problems.append(("required", blank, lambda i, v: f"{f.name} is blank (required)"))
    if kind == "client":
        known = ctx["known_clients"]
        unknown = ~blank & ~s.isin(known).to_numpy(dtype=bool)
        problems.append(("known", unknown, lambda i, v: (
            f"client {v!r} is not in the {ctx['quarter']} CRM extract (clients file)")))
    return _Parsed(values, problems)


# ----------------------------------------------------------------------------------- validation
@contextmanager
def _quiet_pyspark():
    """With pyspark installed (the optional Spark engine), pandera's first validation imports
    ``pyspark.pandas``, which warns that it does not support pandas 3. The warning concerns
    pyspark's pandas API, which ingest never uses, so someone importing a survey does not see
    it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                                category=FutureWarning)
        yield


def check_table(raw: RawTable, table: str, workspace, quarter: str, *,
                known_clients: set[str] | None = None, scrubber=None) -> Checked:
    """Validate one raw file of ``table`` for ``quarter``.

    Returns the typed rows that passed every per-cell check (canonical columns and dtypes, see
    :func:`vipquality.data.schema.table_schema`) and one reject row per failing cell. Comments are
    scrubbed by ``scrubber`` (a :class:`vipquality.data.privacy.Scrubber`; default: contact details
    and account numbers only, no names).

    Raises
    ------
    IngestError
        A mapped column is missing from the file (nothing is imported).
    """
    with _quiet_pyspark():
        import pandera.pandas as pa

    fields = fields_for(table, workspace)
    mode = workspace.instrument.match_columns_by if table == "responses" else "name"
    mapping = resolve_columns(raw, fields, mode, show_headers=table != "clients")
    absent = [f for f in fields if f.name not in mapping]  # optional columns the file lacks
    fields = [f for f in fields if f.name in mapping]
    q = workspace.quarter(quarter)
    ctx = {
        "missing_codes": tuple(workspace.instrument.missing_codes),
        "timezone": workspace.timezone,
        "bounds": (q.start, q.end),
        "quarter": str(q),
        "segment_ids": list(workspace.segments.ids),
        "items": workspace.standards.items,
        "known_clients": known_clients or set(),
        "root_causes": list(workspace.cases.root_causes) if getattr(workspace, "cases", None)
        else [],
        "scrubber": scrubber if scrubber is not None else Scrubber(),
    }
    data = raw.data
    n = len(data)
    trimmed = pd.DataFrame({f.name: data[mapping[f.name]].str.strip() for f in fields},
                           index=data.index)

    parsed: dict[str, pd.Series] = {}
    reasons: dict[tuple[str, str], Reason] = {}
    columns: dict[str, pa.Column] = {}
    for f in fields:
        p = _parse_field(trimmed[f.name], f, ctx)
        parsed[f.name] = p.values
        checks = []
        for name, mask, reason in p.problems:
            ok = pd.Series(~np.asarray(mask, dtype=bool), index=data.index)
            checks.append(pa.Check(lambda s, ok=ok: ok, name=f"{f.name}:{name}"))
            reasons[(f.name, f"{f.name}:{name}")] = reason
        columns[f.name] = pa.Column(checks=checks, nullable=True, required=True)
    schema = pa.DataFrameSchema(columns, name=f"{table} {raw.source_file}")

    failures = None
    try:
        with _quiet_pyspark():
            schema.validate(trimmed, lazy=True)
    except pa.errors.SchemaErrors as err:
        failures = err.failure_cases
    reject_rows: list[tuple] = []
    bad_index: set[int] = set()
    order = {f.name: i for i, f in enumerate(fields)}
    if failures is not None and len(failures):
        if failures["index"].isna().any():  # a check itself failed: a bug, never a data problem
            raise IngestError(f"{raw.source_file}: validation could not run: "
                              f"{failures.loc[failures['index'].isna(), 'failure_case'].tolist()}")
        original = data
        rows = data["source_row"].to_numpy()
        collected = []
        for col, check, idx in zip(failures["column"], failures["check"], failures["index"]):
            i = int(idx)
            value = str(original.at[i, mapping[col]])
            reason = reasons[(col, check)](i, value.strip())
            collected.append((i, order[col], raw.source_file, int(rows[i]), mapping[col], value,
                              reason))
            bad_index.add(i)
        collected.sort(key=lambda r: (r[0], r[1]))
        reject_rows = [r[2:] for r in collected]
    rejects = pd.DataFrame(reject_rows, columns=REJECT_COLUMNS) if reject_rows else empty_rejects()
    rejects = pd.concat([raw.ragged, rejects], ignore_index=True) if len(raw.ragged) else rejects
    rejects = rejects.astype({"file": "str", "row": "int64", "column": "str", "value": "str",
                              "reason": "str"})

    keep = np.ones(n, dtype=bool)
    if bad_index:
        keep[sorted(bad_index)] = False
    frame = _typed_frame(table, workspace, str(q), parsed, data, keep)
    warnings = list(raw.warnings)
    stats: dict = {}
    if table == "responses":
        stats["scale"] = _scale_stats(fields, parsed, keep)
        stats["masked"] = 0
        stats["absent"] = [(f.ref, f.key, f.label) for f in absent]
        if "comment" in parsed:
            stats["masked"] = int((parsed["comment"].fillna("") != trimmed["comment"])[keep].sum())
        warnings += file_warnings(raw.source_file, [stats], mapping)
    elif table == "visits" and absent:  # a visits file without its shopper ids
        warnings += file_warnings(raw.source_file,
                                  [{"absent": [(f.ref, f.key, f.label) for f in absent]}], {})
    return Checked(table, raw.source_file, raw.sha256, frame, rejects, raw.n_read,
                   int((~keep).sum()) + len(raw.ragged), mapping, warnings, stats)


def _typed_frame(table: str, workspace, quarter: str, parsed: dict[str, pd.Series],
                 data: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    schema = table_schema(table, workspace)
    cols: dict[str, object] = {}
    m = int(keep.sum())
    for name in schema.names:
        if name in parsed:
            cols[name] = parsed[name][keep].reset_index(drop=True)
        elif name in ("source_file", "source_row"):
            cols[name] = data[name][keep].reset_index(drop=True)
        elif name == "quarter":
            cols[name] = pd.Series([quarter] * m, dtype="str")
        elif name == "weight" and table == "responses":
            cols[name] = pd.Series(np.ones(m))
        else:
            cols[name] = pd.Series([None] * m, dtype=object)
    frame = pd.DataFrame(cols)
    if table == "responses":
        frame["comment_language"] = detect_languages(frame["comment"])
    if table == "visits":
        items = workspace.standards.items
        ids = frame["item_id"]
        frame["standard_id"] = ids.map({k: v.standard_id for k, v in items.items()})
        frame["weight"] = ids.map({k: float(v.weight) for k, v in items.items()}).astype(float)
        frame["critical"] = ids.map({k: bool(v.critical) for k, v in items.items()}).astype(bool)
    return to_pandas(from_pandas(frame, schema))


def _scale_stats(fields: Sequence[Field], parsed, keep) -> dict:
    """Per rating group on a scale up to 7 or more: answers, lowest and highest (of kept rows)."""
    groups: dict[str, list[Field]] = {}
    for f in fields:
        if f.kind == "rating" and f.scale[1] >= 7:
            group = f.name.split("__")[0] if "__" in f.name else f.name
            groups.setdefault(group, []).append(f)
    out = {}
    for group, fs in groups.items():
        vals = np.concatenate([parsed[f.name].to_numpy(dtype=float)[keep] for f in fs])
        vals = vals[~np.isnan(vals)]
        out[group] = (len(vals), float(vals.min()) if len(vals) else np.inf,
                      float(vals.max()) if len(vals) else -np.inf, fs)
    return out


def file_warnings(file: str, stats: Sequence[dict], mapping: dict[str, str]) -> list[str]:
    """The warnings of one file from the ``stats`` of its blocks (:attr:`Checked.stats`).

    A file whose answers all sit in 1–5 when the scale goes to 7 or 10 was probably exported on
    another scale: worth a warning, not a reject. Comments that scrubbing changed are counted.
    """
    out = []
    groups: dict[str, list] = {}
    for st in stats:
        for group, (n, lo_v, hi_v, fs) in st.get("scale", {}).items():
            acc = groups.setdefault(group, [0, np.inf, -np.inf, fs])
            acc[0] += n
            acc[1], acc[2] = min(acc[1], lo_v), max(acc[2], hi_v)
    for group, (n, lo_v, hi_v, fs) in groups.items():
        lo, hi = fs[0].scale
        if n >= _SCALE_WARNING_MIN and hi_v <= 5 < hi:
            cols = ", ".join(mapping[f.name] for f in fs[:3]) + (" …" if len(fs) > 3 else "")
            out.append(f"{file}: all {n} answers in {cols} lie within "
                       f"{int(lo_v)}–{int(hi_v)} although the scale is {lo}–{hi}: "
                       "was this export on a 1–5 scale? (imported as given)")
    absent = dict.fromkeys(a for st in stats for a in st.get("absent", ()))
    out += [f"{file}: no column {ref!r} ({key}): its rows count as without {label}"
            for ref, key, label in absent]
    n_masked = sum(st.get("masked", 0) for st in stats)
    if n_masked:
        out.append(f"{file}: personal data (contact details, account numbers, names) removed "
                   f"from {n_masked} comment(s) before storing")
    return out


# --------------------------------------------------------------------------------- duplicates
def _content_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("source_file", "source_row")]


def _row_hashes(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    if frame.empty:
        return np.array([], dtype="uint64")
    return pd.util.hash_pandas_object(frame[cols], index=False).to_numpy()


def _differences(a: pd.Series, b: pd.Series, cols: list[str]) -> str:
    diffs = []
    for c in cols:
        x, y = a[c], b[c]
        if (pd.isna(x) and pd.isna(y)) or (not pd.isna(x) and not pd.isna(y) and x == y):
            continue
        diffs.append(f"{c}: {_show(y)} here, {_show(x)} there")
    return "; ".join(diffs[:3]) + (" …" if len(diffs) > 3 else "")


def _show(v) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return "blank"
    if isinstance(v, pd.Timestamp):
        return v.isoformat(sep=" ")
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return repr(v) if isinstance(v, str) else str(v)


def deduplicate(table: str, new: pd.DataFrame, stored: pd.DataFrame,
                key_sources: dict[str, str]
                ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.DataFrame]:
    """Split ``new`` rows (in import order) into accepted, duplicates and conflicts.

    A row whose key (``KEYS[table]``) was already seen earlier in the import, or is already in the
    store, is a *duplicate* when its content (every column except ``source_file``/``source_row``)
    is identical, and a *conflict* (rejected) otherwise; the first occurrence wins, stored rows
    before new ones. Within-import comparisons come first, so importing the same export again
    gives the same rejects.

    Returns
    -------
    accepted : DataFrame
        Rows to add to the store.
    duplicate, conflict : ndarray of bool
        Over ``new``: rows counted as duplicates, rows rejected as conflicts.
    rejects : DataFrame
        One reject row per conflict; ``column`` is the key's source column (``key_sources``).
    """
    keys = KEYS[table]
    cols = _content_columns(new)
    n = len(new)
    duplicate = np.zeros(n, dtype=bool)
    conflict = np.zeros(n, dtype=bool)
    rows: list[tuple] = []
    if n == 0:
        return new, duplicate, conflict, empty_rejects()
    new = new.reset_index(drop=True)
    h_new = _row_hashes(new, cols)
    key_tuples = list(zip(*(new[k].tolist() for k in keys)))
    first: dict[tuple, int] = {}
    for i, k in enumerate(key_tuples):
        j = first.setdefault(k, i)
        if j == i:
            continue
        if h_new[i] == h_new[j]:
            duplicate[i] = True
        else:
            conflict[i] = True
            rows.append(_conflict_row(table, new.iloc[i], new.iloc[j], keys, key_sources, cols,
                                      f"{new.at[j, 'source_file']} row {new.at[j, 'source_row']}"))
    if len(stored):
        stored = stored.reset_index(drop=True)
        h_old = _row_hashes(stored[cols], cols)
        old_at = {k: j for j, k in enumerate(zip(*(stored[k].tolist() for k in keys)))}
        for i, k in enumerate(key_tuples):
            if duplicate[i] or conflict[i] or k not in old_at:
                continue
            j = old_at[k]
            if h_new[i] == h_old[j]:
                duplicate[i] = True
            else:
                conflict[i] = True
                old = stored.iloc[j]
                where = f"the store ({old['quarter']}, from {old['source_file']} row " \
                        f"{old['source_row']})" if "source_file" in stored.columns \
                    else f"the store ({old['quarter']})"
                rows.append(_conflict_row(table, new.iloc[i], old, keys, key_sources, cols, where))
    accepted = new[~duplicate & ~conflict].reset_index(drop=True)
    rejects = pd.DataFrame(rows, columns=REJECT_COLUMNS) if rows else empty_rejects()
    rejects = rejects.astype({"file": "str", "row": "int64", "column": "str", "value": "str",
                              "reason": "str"})
    return accepted, duplicate, conflict, rejects


def _conflict_row(table, row, other, keys, key_sources, cols, where) -> tuple:
    key_text = ", ".join(f"{k} {row[k]!r}" for k in keys)
    diff = _differences(other, row, [c for c in cols if c not in keys])
    return (row["source_file"], int(row["source_row"]), key_sources[keys[0]], str(row[keys[0]]),
            f"{key_text} already at {where} with different content ({diff}); not imported")
