"""SPSS importer: ``.sav``, ``.zsav`` and ``.por`` files through pyreadstat.

:func:`read_spss` reads one file and returns the data with SPSS's own conventions resolved
(user-missing values as missing, answer codes scored by their value labels where the
instrument asks for a number, reversed scales turned round, dates converted or, when out of
range, reported) and a report dict saying what it recognised and what it changed, so a
quality manager can trust the mapping before anything is stored.

What SPSS files do that a CSV does not, and what happens here:

* **User-missing values and ranges** ("99 = refused", "−3…−1 = not asked", a string "Z"):
  pyreadstat is asked to keep them (``user_missing=True``), then every value inside a
  declared range is set to missing and counted per column. ``.por`` files carry no such
  declarations that pyreadstat exposes; their system-missing values are missing as usual.
* **Value labels**: codes stay codes unless told otherwise. For an item the instrument
  scores on a numeric scale (NPS 0–10, CES, overall, CSI satisfaction and importance) whose
  labels all start with a number ("0 - Not at all likely", "1", …, "10 - Extremely likely"),
  the answer is scored by the label's number, not by the code — tools such as Qualtrics and
  SurveyGizmo store a 0–10 item as codes 1–11. A code without such a label is set to
  missing and reported. Labelled text items the instrument maps (ids, comment) get the label
  text. ``apply_labels=`` replaces codes by label text in any other columns.
* **Reversed scales**: the instrument format (``vipquality/config/``) has no per-item ``reverse``
  option, so reversal is the ``reverse_items=`` argument: each listed column x becomes
  lo + hi − x on its scale (the instrument's for mapped items; else given, or taken from
  the numeric labels).
* **Dates**: SPSS stores seconds since 1582-10-14. pyreadstat converts them and raises
  ``OverflowError`` on a value past year 9999 (``haven/datetime.sav``); the file is then read
  again without conversion and the dates converted here, out-of-range ones set to missing
  and reported.
* **Encodings**: the file says how its text is encoded (``file_encoding`` in the report).
  A file that declares windows-1252 but holds UTF-8 bytes (Hebrew names read as
  ``×•×ª×§_×‘``) is recognised and read again as UTF-8; one that declares UTF-8 but holds
  windows-1252 bytes (iconv fails) is read again as windows-1252. ``encoding=`` overrides.
* **Multiple-response sets** are listed in the report (``multiple_response_sets``); their
  variables are read as ordinary columns.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyreadstat

from vipquality.errors import DataError, IngestError

__all__ = ["read_spss"]

_FORMATS = {".sav": "spss-sav", ".zsav": "spss-zsav", ".por": "spss-por"}
# pyreadstat's own lists (``_readstat_parser.pyx``) of the SPSS formats it converts
_DATETIME_FORMATS = ("DATETIME", "YMDHMS")
_DATE_FORMATS = ("DATE", "ADATE", "EDATE", "JDATE", "SDATE")
_TIME_FORMATS = ("TIME", "DTIME")
_SPSS_EPOCH = dt.datetime(1582, 10, 14)
_MAX_SECONDS = (dt.datetime(9999, 12, 31, 23, 59, 59) - _SPSS_EPOCH).total_seconds()
_LEADING_NUMBER = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)(?!\d)(?:\s*(?:[-–—:=.)]|$|\s))")
_SINGLE_BYTE = ("WINDOWS-1252", "CP1252", "ISO-8859-1", "LATIN1", "WINDOWS-1250",
                "WINDOWS-1251", "ISO-8859-15")


def read_spss(
    path: str | Path,
    *,
    instrument=None,
    reverse_items: Iterable[str] | Mapping[str, tuple[float, float]] | None = None,
    apply_labels: bool | Iterable[str] = False,
    encoding: str | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Read an SPSS ``.sav``/``.zsav``/``.por`` file.

    Parameters
    ----------
    path : str or Path
        The file; the suffix selects the reader (``.sav`` and ``.zsav`` share one).
    instrument : Instrument or Workspace, optional
        The workspace instrument (or a workspace, whose instrument is used). Its column
        mapping (``match_columns_by``: variable name, question text = SPSS variable label,
        or 1-based position) says which variables are the NPS, CES, overall, CSI and id
        columns; numeric items are scored by their numeric value labels, the CSI
        ``missing_codes`` become missing, and every mapped variable must be found exactly
        once. Without it the file is read as it is (user-missing values still removed).
    reverse_items : list of columns or mapping {column: (lo, hi)}, optional
        Columns scored on a reversed scale: x → lo + hi − x. The scale comes from the mapping,
        else from the instrument item the column is mapped to, else from the lowest and
        highest labelled code of the column (declared-missing codes left out).
    apply_labels : bool or list of columns, default False
        Replace codes by their label text in these columns (``True``: every labelled column
        not scored as a number). Unlabelled codes are kept as text.
    encoding : str, optional
        Text encoding to use instead of the file's own declaration (iconv name, e.g.
        ``"UTF-8"``, ``"WINDOWS-1252"``). Not available for ``.por`` files.

    Returns
    -------
    (DataFrame, dict)
        The data, one column per SPSS variable (names as in the file, e.g. Hebrew), a fresh
        ``RangeIndex``; numbers as float, dates as ``datetime64``, times as
        ``datetime.time``, text as ``str``. The report holds the fields of
        :class:`vipquality.data.importers.ImportReport` — ``format`` (``spss-sav``/``spss-zsav``/
        ``spss-por``), ``source_file``, ``rows``, ``columns_mapped`` ({column: "variable 'x'
        (column n): its label"}), ``columns_ignored`` ({variable: why}; with an instrument,
        the variables it does not map, which stay in the data), ``values_coerced`` ({"column:
        what was done": cells}), ``test_responses_excluded`` (0), ``instrument_mapping``
        ({canonical field: variable}), ``unmatched`` (empty: a missing column is an error),
        ``encoding`` (used) and ``notes`` (sentences) — and SPSS specifics: ``columns``,
        ``file_encoding`` (declared; upper-case iconv names, None for ``.por``),
        ``file_label``, ``column_labels``, ``value_labels``, ``missing_declarations``
        ({variable: [(lo, hi), …]}), ``multiple_response_sets`` and ``coercions``: the
        changes as records ``{"column", "action", "count", "detail"}`` with actions
        ``user_missing``, ``instrument_missing_code``, ``scored_by_label``,
        ``unlabelled_code``, ``label_applied``, ``reversed``, ``date_out_of_range``.

    Raises
    ------
    DataError
        The file does not exist, has an unsupported suffix, or cannot be read.
    IngestError
        With an instrument: a mapped column missing from the file or matching several
        variables (the message names the YAML key to fix and the variables the file has);
        a column of ``reverse_items`` without a scale.

    Examples
    --------
    A recommendation item stored as codes 1–11 with labels "0" … "10", and 99 declared
    missing, scored by its labels once the instrument says it is the NPS item:

    >>> import tempfile
    >>> from vipquality.config import load_workspace
    >>> p = Path(tempfile.mkdtemp()) / "export.sav"
    >>> pyreadstat.write_sav(
    ...     pd.DataFrame({"ResponseId": ["R1", "R2", "R3"], "Q1_recommend": [11.0, 1.0, 99.0]}),
    ...     str(p), variable_value_labels={"Q1_recommend": {
    ...         **{float(k + 1): str(k) for k in range(11)}, 99.0: "Refused"}},
    ...     missing_ranges={"Q1_recommend": [99.0]})
    >>> df, rep = read_spss(p)
    >>> df["Q1_recommend"].tolist()
    [11.0, 1.0, nan]
    >>> inst = load_workspace().instrument       # the sample workspace maps Q1_recommend
    >>> df, rep = read_spss(p, instrument=inst)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    IngestError: export.sav: the instrument mapping does not fit this SPSS file ...
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"unsupported file type {path.suffix or '(none)'!r}: expected .sav, "
                        ".zsav or .por", file=str(path))
    if not path.is_file():
        raise DataError("file not found", file=str(path))
    if fmt == "spss-por" and encoding is not None:
        raise ValueError("encoding= cannot be set for .por files (pyreadstat reads them as "
                         "they are)")
    inst = getattr(instrument, "instrument", instrument)

    warnings: list[str] = []
    df, meta, used_encoding, converted_here = _read(path, fmt, encoding, warnings)
    coerced: list[dict] = []

    def note(column, action, count, detail=""):
        if count:
            coerced.append({"column": column, "action": action, "count": int(count),
                            "detail": detail})

    # dates that pyreadstat left as numbers because one of them was out of range
    if converted_here:
        for col, n_out in _convert_dates(df, meta).items():
            note(col, "date_out_of_range", n_out,
                 "beyond the years 1582–9999 that a date can hold; set to missing")

    # user-missing values and ranges → missing
    declared = _missing_declarations(meta)
    for col, ranges in declared.items():
        if col not in df.columns:
            continue
        mask = _in_ranges(df[col], ranges)
        if mask.any():
            df.loc[mask, col] = np.nan if df[col].dtype.kind == "f" else None
            note(col, "user_missing", mask.sum(),
                 "declared missing in the file: " + ", ".join(_show_range(r) for r in ranges))

    value_labels: dict[str, dict] = dict(meta.variable_value_labels or {})
    column_labels: dict[str, str | None] = dict(meta.column_names_to_labels or {})

    # the instrument's mapping
    mapped: dict[str, str] = {}
    scales: dict[str, tuple[float, float]] = {}
    numeric_cols: set[str] = set()
    text_cols: set[str] = set()
    if inst is not None:
        mapped, fields = _map(inst, list(df.columns), column_labels, path)
        for f in fields:
            var = mapped[f.name]
            if f.kind == "rating":
                numeric_cols.add(var)
                scales[var] = tuple(float(x) for x in f.scale)
            elif f.kind in ("id", "client", "comment"):
                text_cols.add(var)
        codes = tuple(getattr(inst, "missing_codes", ()) or ())
        csi_vars = [mapped[f.name] for f in fields
                    if f.name.startswith(("sat__", "imp__"))]
        for var in csi_vars:
            if codes and pd.api.types.is_numeric_dtype(df[var]):
                mask = df[var].isin(codes)
                df.loc[mask, var] = np.nan
                note(var, "instrument_missing_code", mask.sum(),
                     f"csi.missing_codes {list(codes)} (cannot judge / not applicable)")

    # numeric items scored by their numeric labels
    for var in sorted(numeric_cols, key=list(df.columns).index):
        labels = {k: v for k, v in value_labels.get(var, {}).items()
                  if not _in_ranges(pd.Series([k]), declared.get(var, [])).iloc[0]}
        scored = _label_numbers(labels)
        if scored is None or not pd.api.types.is_numeric_dtype(df[var]):
            continue
        if all(float(k) == v for k, v in scored.items()):
            continue                                   # labels agree with the codes
        lo, hi = scales[var]
        outside = {k: v for k, v in scored.items() if not lo <= v <= hi}
        if outside:
            warnings.append(f"{var}: value labels {outside} fall outside the instrument scale "
                            f"[{lo:g}, {hi:g}]; the codes were kept as answers")
            continue
        codes_seen = df[var].dropna()
        new = df[var].map(lambda x: scored.get(float(x), np.nan) if pd.notna(x) else np.nan)
        unlabelled = codes_seen.index[~codes_seen.astype(float).isin(list(scored))]
        changed = (codes_seen.astype(float) != new[codes_seen.index]) & new[
            codes_seen.index].notna()
        df[var] = new.astype("float64")
        note(var, "scored_by_label", changed.sum(),
             "answers stored as codes " + _span(scored.keys()) + " scored by their labels "
             + _span(scored.values()))
        if len(unlabelled):
            note(var, "unlabelled_code", len(unlabelled),
                 "codes without a numeric label, set to missing: "
                 + ", ".join(sorted({f"{float(x):g}" for x in codes_seen[unlabelled]})))

    # label text where asked (and for the text columns the instrument maps)
    reversing = set(reverse_items or ())
    if apply_labels is True:
        label_cols = [c for c in value_labels if c not in numeric_cols and c not in reversing]
    elif apply_labels:
        label_cols = list(apply_labels)
        for c in label_cols:
            if c not in df.columns:
                raise DataError(f"apply_labels names {c!r}, which is not a variable of the "
                                f"file", file=str(path), column=str(c))
            if c in reversing:
                raise ValueError(f"{c!r} is in both apply_labels and reverse_items: a reversed "
                                 "scale keeps numbers, its labels would no longer fit")
    else:
        label_cols = []
    label_cols += [c for c in text_cols if c in value_labels and c not in label_cols]
    for var in label_cols:
        labels = value_labels.get(var, {})
        if not labels:
            continue
        present = df[var].notna()
        hit = df[var].isin(list(labels)) & present
        text = df[var].map(lambda x: labels.get(x, x) if pd.notna(x) else None)
        df[var] = text.map(lambda x: None if x is None else _text(x)).astype("str")
        df.loc[~present, var] = None
        note(var, "label_applied", hit.sum(), "codes replaced by their value labels")

    # reversed scales
    for var, (lo, hi) in _reverse_scales(reverse_items, df, scales, value_labels, declared,
                                       path).items():
        s = pd.to_numeric(df[var], errors="coerce")
        outside = s.notna() & ((s < lo) | (s > hi))
        if outside.any():
            raise DataError(f"cannot reverse {var!r} on [{lo:g}, {hi:g}]: "
                            f"{int(outside.sum())} value(s) outside the scale "
                            f"(e.g. {s[outside].iloc[0]:g})", file=str(path), column=var)
        df[var] = lo + hi - s
        note(var, "reversed", s.notna().sum(), f"x → {lo + hi:g} − x (scale {lo:g}–{hi:g})")

    df = df.reset_index(drop=True)
    mapped_vars = set(mapped.values())
    position = {c: i + 1 for i, c in enumerate(df.columns)}
    report = {
        # the fields of vipquality.data.importers.ImportReport
        "format": fmt,
        "source_file": str(path),
        "rows": len(df),
        "columns_mapped": {c: f"variable {c!r} (column {position[c]})"
                           + (f": {column_labels[c]}" if column_labels.get(c) else "")
                           for c in df.columns},
        "columns_ignored": ({c: "not mapped by the instrument (kept in the data)"
                             for c in df.columns if c not in mapped_vars}
                            if inst is not None else {}),
        "values_coerced": {f"{r['column']}: {r['detail']}": r["count"] for r in coerced},
        "test_responses_excluded": 0,
        "instrument_mapping": mapped,
        "unmatched": (),
        "encoding": used_encoding and str(used_encoding).upper(),
        "notes": tuple(warnings),
        # SPSS specifics
        "columns": df.shape[1],
        "file_encoding": meta.file_encoding and str(meta.file_encoding).upper(),
        "file_label": getattr(meta, "file_label", None),
        "column_labels": column_labels,
        "value_labels": value_labels,
        "missing_declarations": {c: [tuple(r) for r in v] for c, v in declared.items()},
        "multiple_response_sets": dict(getattr(meta, "mr_sets", {}) or {}),
        "coercions": coerced,
    }
    return df, report


# ------------------------------------------------------------------------------------ reading
def _read(path: Path, fmt: str, encoding: str | None, warnings: list[str]):
    """pyreadstat with the fallbacks: dates out of range, mislabelled encodings."""
    def call(enc, convert=True):
        # (pyreadstat 1.3 fails when both dates_as_pandas_datetime and
        # disable_datetime_conversion are set)
        kw = ({"dates_as_pandas_datetime": True} if convert
              else {"disable_datetime_conversion": True})
        if fmt == "spss-por":
            return pyreadstat.read_por(str(path), **kw)
        return pyreadstat.read_sav(str(path), user_missing=True, encoding=enc, **kw)

    def attempt(enc):
        try:
            df, meta = call(enc)
            return df, meta, False
        except OverflowError as exc:
            warnings.append(f"pyreadstat could not convert the dates ({type(exc).__name__}: "
                            f"{exc}); they were read as numbers and converted here, values "
                            "out of range set to missing")
            df, meta = call(enc, convert=False)
            return df, meta, True

    used = encoding
    try:
        df, meta, here = attempt(encoding)
    except pyreadstat.ReadstatError as exc:
        if encoding is None and fmt != "spss-por" and "encoding" in str(exc).lower():
            warnings.append(f"the file's text is not in the encoding it declares ({exc}); "
                            "read again as WINDOWS-1252")
            used = "WINDOWS-1252"
            try:
                declared = pyreadstat.read_sav(str(path), metadataonly=True)[1].file_encoding
            except Exception:  # the labels are not in the declared encoding either
                declared = None
            try:
                df, meta, here = attempt(used)
            except pyreadstat.ReadstatError as exc2:
                raise DataError(f"cannot read the SPSS file: {exc2}", file=str(path)) from exc2
            meta.file_encoding = declared
        else:
            raise DataError(f"cannot read the SPSS file: {exc}", file=str(path)) from exc
    except Exception as exc:  # pyreadstat raises plain exceptions for damaged files
        raise DataError(f"cannot read the SPSS file: {type(exc).__name__}: {exc}",
                        file=str(path)) from exc
    if used is None:
        used = meta.file_encoding
    if (encoding is None and fmt != "spss-por" and str(meta.file_encoding).upper()
            in _SINGLE_BYTE and _looks_like_utf8(df, meta)):
        warnings.append(f"the file declares {meta.file_encoding} but its text is UTF-8 "
                        "(names such as " + repr(_first_mojibake(df, meta)) + "); read again "
                        "as UTF-8")
        declared = meta.file_encoding
        used = "UTF-8"
        df, meta, here = attempt(used)
        meta.file_encoding = declared
    return df, meta, used, here


def _texts(df: pd.DataFrame, meta) -> Iterable[str]:
    yield from (str(c) for c in df.columns)
    yield from (v for v in (meta.column_labels or []) if v)
    for labels in (meta.variable_value_labels or {}).values():
        yield from (str(v) for v in labels.values())
    for c in df.columns:
        if df[c].dtype == object or pd.api.types.is_string_dtype(df[c]):
            yield from (str(v) for v in df[c].dropna().head(200))


def _mojibake(text: str) -> bool:
    if text.isascii():
        return False
    try:
        fixed = text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return fixed != text


def _looks_like_utf8(df, meta) -> bool:
    non_ascii = [t for t in _texts(df, meta) if not t.isascii()]
    return bool(non_ascii) and all(_mojibake(t) for t in non_ascii)


def _first_mojibake(df, meta) -> str:
    return next(t for t in _texts(df, meta) if _mojibake(t))


def _format_kind(spss_format: str) -> str | None:
    base = re.match(r"[A-Z]+", str(spss_format).upper())
    name = base.group(0) if base else ""
    if name in _DATETIME_FORMATS:
        return "datetime"
    if name in _DATE_FORMATS:
        return "date"
    if name in _TIME_FORMATS:
        return "time"
    return None


def _convert_dates(df: pd.DataFrame, meta) -> dict[str, int]:
    """Seconds since 1582-10-14 → datetime64 / time, as pyreadstat would; returns the count
    of values per column that no date can hold (set to missing)."""
    out: dict[str, int] = {}
    for col, fmt in (meta.original_variable_types or {}).items():
        kind = _format_kind(fmt)
        if kind is None or col not in df.columns:
            continue
        secs = pd.to_numeric(df[col], errors="coerce").astype("float64")
        if kind == "time":
            ok = secs.notna() & (secs >= 0) & (secs < 86400)
            df[col] = [(dt.datetime.min + dt.timedelta(seconds=float(s))).time() if good
                       else None for s, good in zip(secs, ok)]
        else:
            ok = secs.notna() & (secs >= 0) & (secs <= _MAX_SECONDS)
            micros = (secs.where(ok) * 1e6).round()
            stamps = (pd.Timestamp(_SPSS_EPOCH).as_unit("us")
                      + pd.to_timedelta(micros, unit="us"))
            if kind == "date":
                stamps = stamps.dt.floor("D")
            df[col] = stamps.astype("datetime64[us]")
        out[col] = int((secs.notna() & ~ok).sum())
    return out


# ---------------------------------------------------------------------------------- missing
def _missing_declarations(meta) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for col, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        out[col] = [(r["lo"], r["hi"]) for r in ranges]
    for col, values in (getattr(meta, "missing_user_values", None) or {}).items():
        out.setdefault(col, []).extend((v, v) for v in values)
    return out


def _in_ranges(s: pd.Series, ranges: list[tuple]) -> pd.Series:
    mask = pd.Series(False, index=s.index)
    if not ranges:
        return mask
    if pd.api.types.is_numeric_dtype(s):
        x = s.astype("float64")
        for lo, hi in ranges:
            if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
                mask |= (x >= lo) & (x <= hi)
    else:
        x = s.astype("object")
        for lo, hi in ranges:
            if lo == hi:
                mask |= x.map(lambda v, lo=lo: isinstance(v, str)
                              and v.rstrip() == str(lo).rstrip())
            else:
                mask |= x.map(lambda v, lo=lo, hi=hi: isinstance(v, str)
                              and str(lo) <= v <= str(hi))
    return mask.fillna(False).astype(bool)


def _show_range(r: tuple) -> str:
    lo, hi = r
    f = (lambda v: f"{v:g}") if isinstance(lo, (int, float)) else repr
    return f(lo) if lo == hi else f"{f(lo)}…{f(hi)}"


# ------------------------------------------------------------------------------- labels
def _label_numbers(labels: Mapping) -> dict[float, float] | None:
    """{code: number} when every label starts with a number ("0", "10 - Extremely likely"),
    else None."""
    if not labels:
        return None
    out: dict[float, float] = {}
    for code, text in labels.items():
        if not isinstance(code, (int, float)) or isinstance(code, bool):
            return None
        m = _LEADING_NUMBER.match(str(text))
        if m is None:
            return None
        out[float(code)] = float(m.group(1).replace(",", "."))
    if len(set(out.values())) != len(out):
        return None                        # two codes with one number: not a score
    return out


def _span(values) -> str:
    v = sorted(float(x) for x in values)
    return f"{v[0]:g}–{v[-1]:g}" if len(v) > 1 else f"{v[0]:g}"


def _text(x) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


# ------------------------------------------------------------------------------- mapping
def _norm(text) -> str:
    return " ".join(str(text).split()).casefold()


def _map(inst, variables: list[str], labels: Mapping[str, str | None], path: Path):
    """{canonical: variable} for every instrument field, by ``match_columns_by``."""
    from vipquality.data.schema import fields_for

    fields = fields_for("responses", SimpleNamespace(instrument=inst))
    mode = getattr(inst, "match_columns_by", "name")
    by_name: dict[str, list[str]] = {}
    by_label: dict[str, list[str]] = {}
    for v in variables:
        by_name.setdefault(_norm(v), []).append(v)
        if labels.get(v):
            by_label.setdefault(_norm(labels[v]), []).append(v)
    mapped: dict[str, str] = {}
    problems: list[str] = []
    for f in fields:
        hits: list[str] = []
        if mode == "position":
            pos = int(f.ref) if f.ref and str(f.ref).strip().isdigit() else 0
            hits = [variables[pos - 1]] if 1 <= pos <= len(variables) else []
        else:
            refs = [f.ref] if mode == "name" else [f.text, f.ref]
            for ref in refs:
                if not ref:
                    continue
                if mode == "name" and ref in variables:
                    hits = [ref]
                else:
                    hits = by_name.get(_norm(ref), []) if mode == "name" else list(dict.fromkeys(
                        by_label.get(_norm(ref), []) + by_name.get(_norm(ref), [])))
                if hits:
                    break
        if len(hits) == 1:
            mapped[f.name] = hits[0]
        elif not hits:
            problems.append(f"{f.key} = {f.ref!r}: no variable "
                            + ("at that position" if mode == "position" else
                               "with that name" if mode == "name" else
                               "whose label (question text) or name matches"))
        else:
            problems.append(f"{f.key} = {f.ref!r}: matches {len(hits)} variables {hits}; "
                            "name the variable instead (match_columns_by: name) or make the "
                            "question text unique")
    used: dict[str, str] = {}
    for name, var in mapped.items():
        if var in used:
            problems.append(f"variable {var!r} is mapped twice ({used[var]} and {name})")
        used[var] = name
    if problems:
        shown = [f"{v} ({labels[v]!r})" if labels.get(v) else v for v in variables]
        raise IngestError(
            f"{path.name}: the instrument mapping does not fit this SPSS file (matching by "
            f"{mode}): " + "; ".join(problems) + f". The file has {len(variables)} "
            f"variable(s): {', '.join(shown)}. Fix the instrument.yaml key(s) named above; "
            "nothing was imported.")
    return mapped, fields


def _reverse_scales(reverse_items, df, scales, value_labels, declared,
                    path) -> dict[str, tuple[float, float]]:
    if not reverse_items:
        return {}
    items = (dict(reverse_items) if isinstance(reverse_items, Mapping)
             else {c: None for c in ([reverse_items] if isinstance(reverse_items, str)
                                     else reverse_items)})
    out: dict[str, tuple[float, float]] = {}
    for col, scale in items.items():
        if col not in df.columns:
            raise IngestError(f"{path.name}: reverse_items names {col!r}, which is not a "
                              f"variable of the file")
        if scale is None:
            scale = scales.get(col)
        if scale is None:
            # the codes that carry a label, leaving out declared missing codes
            codes = [float(k) for k in value_labels.get(col, {})
                     if isinstance(k, (int, float)) and not any(
                         isinstance(lo, (int, float)) and lo <= k <= hi
                         for lo, hi in declared.get(col, []))]
            if len(codes) >= 2:
                scale = (min(codes), max(codes))
        if scale is None:
            raise IngestError(f"{path.name}: cannot reverse {col!r}: its scale is unknown; "
                              "pass reverse_items={" + repr(col) + ": (lo, hi)} or map it "
                              "in the instrument")
        lo, hi = (float(x) for x in scale)
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise ValueError(f"reverse_items[{col!r}]: expected (lo, hi) with hi > lo, "
                             f"got {scale!r}")
        out[col] = (lo, hi)
    return out
