"""``vipquality check``: a workspace validated file by file, without importing anything.

The YAML is validated by :func:`vipquality.config.load_workspace`; then every quarter folder is
listed (odd folder names, files no pattern matches, a quarter without a survey or a CRM extract)
and every file's *header* is resolved against the workspace's mapping
(:func:`vipquality.data.schema.resolve_columns`, one field at a time so every missing column is
named with its own YAML key). Canonical CSV/xlsx/Parquet files are read for their header only
and SPSS files for their metadata only; survey-tool exports are recognised by
:func:`vipquality.data.importers.detect_format` and read by their importer (their header rows
and question ids need it), of which only the columns are used. No value of a CRM extract or of a personal column is ever shown: a
CRM header is shown as its :func:`~vipquality.data.schema.masked_shape` when it is not mapped.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from vipquality.data.readers import RawTable, visible
from vipquality.data.schema import fields_for, masked_shape, resolve_columns
from vipquality.errors import ConfigError, VipqualityError

__all__ = ["CheckReport", "Problem", "check_workspace"]

_TABLE_OF = {"survey": "responses", "clients": "clients", "visits": "visits",
             "case_updates": "case_updates"}


@dataclass(frozen=True)
class Problem:
    """One thing to fix: the file (or folder), the YAML key or column, what is wrong, the fix."""

    file: str
    key: str
    problem: str
    fix: str


@dataclass
class CheckReport:
    """What :func:`check_workspace` found.

    Attributes
    ----------
    mapping : DataFrame
        ``table, canonical, source, key, found`` — each mapped column, what it maps to, the YAML
        key that sets it, and in how many of the files checked it was found (``k/n``).
    files : DataFrame
        ``quarter, file, table, format, columns`` — the quarter folders' files.
    problems : list of Problem
    """

    root: Path
    mapping: pd.DataFrame = field(default_factory=pd.DataFrame)
    files: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        """The report as text tables (what ``vipquality check`` prints)."""
        out = [f"workspace {visible(str(self.root))}"]
        if not self.mapping.empty:
            out += ["", "Mapped columns", _table(self.mapping)]
        if not self.files.empty:
            out += ["", "Quarter folders and files", _table(self.files)]
        if self.problems:
            frame = pd.DataFrame([p.__dict__ for p in self.problems])
            out += ["", f"{len(self.problems)} problem(s)", _table(frame)]
        else:
            out += ["", "no problems found"]
        return "\n".join(out)


def _table(frame: pd.DataFrame) -> str:
    """Left-aligned text columns (pandas right-aligns text, which reads badly for names)."""
    cells = [[str(c) for c in frame.columns]] + [[str(v) for v in r] for r in
                                                  frame.itertuples(index=False)]
    widths = [max(len(r[j]) for r in cells) for j in range(len(frame.columns))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def _table_of(ws, name: str) -> str | None:
    low = name.casefold()
    for key, patterns in ws.quarter_files.items():
        if any(fnmatch.fnmatchcase(low, p.casefold()) for p in patterns):
            return _TABLE_OF.get(key, key)
    return None


def _header_only(path: Path, name: str) -> RawTable:
    """The header of a canonical CSV/xlsx/Parquet file as a RawTable without rows."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        cols = tuple(pq.read_schema(path).names)
    else:
        from vipquality.data.importers import read_sheet

        sheet = read_sheet(path, name, limit=1)
        cols = tuple(c.strip().lstrip("\ufeff") for c in (sheet.rows[0] if sheet.rows else []))
    return RawTable(name, path, cols, pd.DataFrame(columns=list(cols)),
                    pd.DataFrame(columns=["file", "row", "column", "value", "reason"]), "")


def _spss_header(path: Path, name: str, mode: str) -> RawTable:
    """An SPSS file's variables (names, or their labels when matching by text): metadata only."""
    import pyreadstat

    reader = pyreadstat.read_por if path.suffix.lower() == ".por" else pyreadstat.read_sav
    _, meta = reader(str(path), metadataonly=True)
    cols = tuple(meta.column_names if mode != "text" else
                 [lab or n for n, lab in zip(meta.column_names, meta.column_labels)])
    return RawTable(name, path, cols, pd.DataFrame(columns=list(cols)),
                    pd.DataFrame(columns=["file", "row", "column", "value", "reason"]), "")


def _survey_header(ws, path: Path, name: str) -> tuple[RawTable | None, str, list[Problem]]:
    from vipquality.data.importers import detect_format, import_survey

    if path.suffix.lower() in (".sav", ".zsav", ".por"):
        return _spss_header(path, name, ws.instrument.match_columns_by), "spss", []
    fmt = detect_format(path)
    if fmt == "canonical":
        return _header_only(path, name), fmt, []
    # a survey-tool export: its importer finds the header rows and the question ids
    survey = import_survey(path, ws, format=fmt, source_file=name)
    return survey.raw_table(name), fmt, []


def check_workspace(root: str | Path) -> CheckReport:
    """Validate a workspace's YAML and the headers of its quarter files; import nothing.

    Parameters
    ----------
    root : str or Path
        The workspace folder.

    Returns
    -------
    CheckReport
        ``.ok`` is False when there is a problem; ``.render()`` prints the tables.

    Examples
    --------
    >>> from vipquality.paths import SAMPLE_WORKSPACE
    >>> report = check_workspace(SAMPLE_WORKSPACE)
    >>> report.ok, sorted(set(report.files["table"]))
    (True, ['appeals', 'case_updates', 'clients', 'invitations', 'responses', 'visits'])
    """
    from vipquality.config import load_workspace
    from vipquality.data.ingest import unmatched_files

    root = Path(root)
    report = CheckReport(root)
    try:
        ws = load_workspace(root)
    except ConfigError as err:
        report.problems.append(Problem(err.file, err.key or "-", err.problem,
                                       "correct the key named (see surveys/README.md)"))
        return report

    fields = {t: fields_for(t, ws) for t in ("responses", "clients", "visits", "invitations")}
    found: dict[tuple[str, str], int] = {}
    checked: dict[str, int] = {t: 0 for t in fields}
    for name in ws.odd_quarter_folders():
        report.problems.append(Problem(visible(name), "quarter folder name",
                                       "looks like a quarter folder but is not one, so it is "
                                       "not imported", "rename it YYYYQ1…YYYYQ4, e.g. 2026Q3"))
    quarters = ws.quarters()
    if not quarters:
        report.problems.append(Problem(visible(str(root)), "quarter folders", "no quarter "
                                       "folder (YYYYQn) found", "create one, e.g. 2026Q3/, and put "
                                       "the quarter's survey export and CRM extract in it"))
    rows = []
    for q in quarters:
        qdir = ws.quarter_dir(q)
        for other in unmatched_files(ws, q):
            report.problems.append(Problem(f"{q}/{other}", "workspace.yaml: quarter_files",
                                           "no pattern matches this file, so it is not imported",
                                           "rename it (survey*, clients*, mystery_shopper*) or "
                                           "add a pattern"))
        tables: set[str] = set()
        for path in sorted(p for p in qdir.iterdir()
                           if p.is_file() and not p.name.startswith((".", "~$"))):
            table = _table_of(ws, path.name)
            if table is None:
                continue
            tables.add(table)
            name = f"{q}/{visible(path.name)}"
            fmt, ncols = "canonical", ""
            try:
                if table == "responses":
                    raw, fmt, _ = _survey_header(ws, path, name)
                elif table in fields:
                    raw = _header_only(path, name)
                else:
                    raw = None
            except VipqualityError as err:
                report.problems.append(Problem(name, "-", str(err).replace(name + ": ", ""),
                                               "fix or re-export the file"))
                rows.append({"quarter": q, "file": name, "table": table, "format": "?",
                             "columns": ""})
                continue
            if raw is not None:
                ncols = len(raw.columns)
                checked[table] += 1
                mode = ws.instrument.match_columns_by if table == "responses" else "name"
                for f in fields[table]:
                    try:
                        resolve_columns(raw, [f], mode, show_headers=table != "clients")
                        found[(table, f.name)] = found.get((table, f.name), 0) + 1
                    except VipqualityError:
                        if f.optional:
                            continue
                        has = (", ".join(repr(c) for c in raw.columns[:15]) if table != "clients"
                               else ", ".join(repr(masked_shape(c)) for c in raw.columns[:15]))
                        more = " …" if len(raw.columns) > 15 else ""
                        report.problems.append(Problem(
                            name, f.key, f"column {f.ref!r} ({f.name}) not found",
                            f"set {f.key.split(': ')[-1]} to one of the file's columns: "
                            f"{has}{more}"))
            rows.append({"quarter": q, "file": name, "table": table, "format": fmt,
                         "columns": ncols})
        if "responses" not in tables:
            report.problems.append(Problem(q, "survey file", "no survey file in the quarter "
                                           "folder", f"add the export named like "
                                           f"{ws.quarter_files['survey'][0]}"))
        elif "clients" not in tables:
            report.problems.append(Problem(q, "clients file", "no CRM extract: survey answers "
                                           "are checked against the quarter's clients",
                                           f"add the extract named like "
                                           f"{ws.quarter_files['clients'][0]}"))
    report.files = pd.DataFrame(rows, columns=["quarter", "file", "table", "format", "columns"])
    mapping = []
    for table, fs in fields.items():
        for f in fs:
            n = checked[table]
            mapping.append({"table": table, "canonical": f.name, "source": f.ref or "",
                            "key": f.key, "found": f"{found.get((table, f.name), 0)}/{n}"
                            if n else "no file"})
    report.mapping = pd.DataFrame(mapping)
    return report
