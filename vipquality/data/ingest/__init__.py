"""Validated import of a quarter's raw files into the canonical Parquet store.

:func:`ingest_quarter` reads the quarter folder's files (CRM extract first, since survey
responses are checked against it), validates every row, and writes in one crash-safe commit:

- ``store/<table>/quarter=<q>/part-0.parquet`` for ``clients``, ``responses``, ``visits`` and
  ``memberships`` (rows sorted by id, so equal content gives equal bytes);
- ``store/rejects/<q>.csv``: ``file, row, column, value, reason`` for every rejected cell;
- ``store/ingest_log.csv``: one line per imported file (sha256, quarter, table, counts, time).

Importing the same export again changes nothing (the store stays byte-identical). Personal CRM
columns (``clients.personal`` in workspace.yaml) are dropped as soon as the file is read; the
names and addresses among them, the staff roster's names and the client ids are first used to
scrub survey comments (:func:`vipquality.data.privacy.scrub_comment`), with e-mails, phone and account
numbers.

Examples
--------
>>> from vipquality.config import load_workspace            # doctest: +SKIP
>>> result = ingest_quarter(load_workspace("surveys"), "2026Q2")  # doctest: +SKIP
>>> print(result.summary())                                     # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from vipquality._files import csv_bytes
from vipquality.data.ingest._cases import check_against_cases, opened_cases
from vipquality.data.ingest._shoppers import check_appeals, check_calibration
from vipquality.data.ingest._stream import merge_blocks, write_sorted
from vipquality.data.ingest._validate import (
    KEYS,
    Checked,
    check_table,
    deduplicate,
    empty_rejects,
    file_warnings,
)
from vipquality.data.language import fill_comment_language
from vipquality.data.privacy import DEFAULT_REGIONS, Scrubber
from vipquality.data.readers import alphabet_of, visible
from vipquality.data.readers import (
    DEFAULT_BLOCK_ROWS,
    REJECT_COLUMNS,
    CsvStream,
    NeedsExactRead,
    RawTable,
    legacy_encodings,
    open_csv_stream,
    read_table,
)
from vipquality.data.schema import (
    SORT_KEYS,
    fields_for,
    from_pandas,
    partition_path,
    resolve_columns,
    table_schema,
    to_pandas,
)
from vipquality.data.store import StoreLock, Transaction, parquet_bytes, read_csv_rows, recover
from vipquality.errors import DataError, IngestError, StoreError, VipqualityError

__all__ = ["ingest_quarter", "IngestResult", "TableCounts", "read_table", "RawTable",
           "unmatched_files"]

#: quarter_files key -> stored table, in the order they are imported.
_TABLE_OF = {"clients": "clients", "survey": "responses", "responses": "responses",
             "visits": "visits", "case_updates": "case_updates", "appeals": "appeals",
             "invitations": "invitations"}
_ORDER = ("clients", "responses", "visits", "case_updates", "appeals", "invitations")
_LOG_COLUMNS = ["sha256", "file", "quarter", "table", "read", "accepted", "duplicates",
                "rejected", "time"]


@dataclass(frozen=True)
class TableCounts:
    """Row counts of one table (``file`` is ``None``) or one file of an import.

    Every row read is exactly one of: accepted (added to the store), duplicate (identical to a row
    already imported or stored) or rejected (see the rejects).
    """

    table: str
    read: int
    accepted: int
    duplicates: int
    rejected: int
    file: str | None = None
    sha256: str | None = None

    @property
    def reconciles(self) -> bool:
        """``read == accepted + duplicates + rejected``."""
        return self.read == self.accepted + self.duplicates + self.rejected


@dataclass(frozen=True)
class IngestResult:
    """What :func:`ingest_quarter` did (or, with ``dry_run``, would do).

    Attributes
    ----------
    quarter : str
    store_path : Path
    dry_run : bool
    tables : dict of str to TableCounts
        ``clients``, ``responses``, ``visits`` (only the tables that had files).
    files : tuple of TableCounts
        The same counts per file.
    rejects : DataFrame
        ``file, row, column, value, reason`` of this import (one row per failing cell; a rejected
        row may have several). Values are as in the file, not neutralised.
    warnings : tuple of str
        Things worth checking that rejected nothing (e.g. a file on a 1–5 scale).
    memberships : int or None
        Rows of the quarter's memberships table written (``None``: not computed).
    written : tuple of str
        Store files that changed, relative to the store (empty: nothing changed).
    unmatched : tuple of str
        Files of the quarter folder that match no ``quarter_files`` pattern and so were not
        imported (named in :meth:`summary`).
    """

    quarter: str
    store_path: Path
    dry_run: bool
    tables: dict[str, TableCounts]
    files: tuple[TableCounts, ...]
    rejects: pd.DataFrame
    warnings: tuple[str, ...] = ()
    memberships: int | None = None
    written: tuple[str, ...] = field(default=())
    unmatched: tuple[str, ...] = field(default=())

    @property
    def reconciles(self) -> bool:
        """Every table and file reconciles (always true for a returned result)."""
        return all(c.reconciles for c in (*self.tables.values(), *self.files))

    @property
    def total_rejected(self) -> int:
        """Rejected rows over all tables."""
        return sum(c.rejected for c in self.tables.values())

    @property
    def changed(self) -> bool:
        """Whether the store changed."""
        return bool(self.written)

    def summary(self) -> str:
        """A few lines for the command line."""
        head = f"{self.quarter}: " + ("dry run, nothing written" if self.dry_run else
                                      "store updated" if self.written else
                                      "store unchanged (everything already imported)")
        lines = [head, f"  {'table':<12}{'read':>9}{'accepted':>10}{'duplicates':>12}"
                       f"{'rejected':>10}"]
        for c in self.tables.values():
            lines.append(f"  {c.table:<12}{c.read:>9}{c.accepted:>10}{c.duplicates:>12}"
                         f"{c.rejected:>10}")
        if self.memberships is not None:
            lines.append(f"  memberships: {self.memberships} client × segment rows")
        if self.total_rejected:
            where = self.store_path / "rejects" / f"{self.quarter}.csv"
            lines.append(f"  {len(self.rejects)} rejected cell(s) in {self.total_rejected} row(s)"
                         + ("" if self.dry_run else f": see {where}"))
        lines += [f"  warning: {w}" for w in self.warnings]
        if self.unmatched:
            lines.append(f"  not imported (matches no quarter_files pattern of workspace.yaml): "
                         f"{', '.join(self.unmatched)}")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------ files
def _source_name(workspace, path: Path) -> str:
    """How a file is named in the store, the rejects and every message: relative to the
    workspace, with control and invisible format characters escaped (a file name holding a line
    break would otherwise write a line of its own choosing into the cron log)."""
    try:
        name = path.resolve().relative_to(Path(workspace.root).resolve()).as_posix()
    except ValueError:
        name = path.resolve().as_posix()
    return visible(name)


def _table_for(workspace, path: Path) -> str | None:
    """The table a file holds by its name, matched against ``quarter_files`` ignoring case
    (``Survey_y.CSV`` is a survey file like ``survey_y.csv``)."""
    name = path.name.casefold()
    for key, patterns in workspace.quarter_files.items():
        if any(fnmatch.fnmatchcase(name, p.casefold()) for p in patterns):
            return _TABLE_OF.get(key, key)
    return None


def _quarter_files(qdir: Path) -> list[Path]:
    """The files of a quarter folder that someone put there (hidden files, such as
    ``.DS_Store``, and Excel's ``~$`` lock files are not)."""
    return sorted(p for p in qdir.iterdir()
                  if p.is_file() and not p.name.startswith((".", "~$")))


def unmatched_files(workspace, quarter) -> list[str]:
    """The files of a quarter folder that no ``quarter_files`` pattern matches, so that no
    import passes them over without a word (see :attr:`IngestResult.unmatched`)."""
    qdir = workspace.quarter_dir(quarter)
    if not qdir.is_dir():
        return []
    return [visible(p.name) for p in _quarter_files(qdir) if _table_for(workspace, p) not in _ORDER]


def _plan(workspace, quarter: str, files) -> dict[str, list[Path]]:
    plan: dict[str, list[Path]] = {t: [] for t in _ORDER}
    qdir = workspace.quarter_dir(quarter)
    if files is None:
        if not qdir.is_dir():
            raise IngestError(f"no folder {qdir} for {quarter}: create it and put the quarter's "
                              "survey, mystery_shopper and clients files in it")
        for p in _quarter_files(qdir):
            table = _table_for(workspace, p)
            if table in _ORDER:
                plan[table].append(p)
    else:
        items = files.items() if isinstance(files, Mapping) else [(None, files)]
        for key, paths in items:
            if isinstance(paths, (str, Path)):
                paths = [paths]
            for p in paths:
                p = Path(p)
                if not p.is_absolute() and not p.exists():
                    p = qdir / p
                if not p.is_file():
                    raise IngestError(f"file not found: {p}")
                table = _TABLE_OF.get(key, key) if key is not None else _table_for(workspace, p)
                if table not in _ORDER:
                    raise IngestError(
                        f"{p.name}: cannot tell which table it holds; its name matches none of "
                        f"workspace.yaml quarter_files {dict(workspace.quarter_files)}")
                plan[table].append(p)
    root = Path(workspace.root).resolve()
    for table in plan:
        plan[table] = sorted(set(plan[table]))
        for p in plan[table]:
            if p.is_symlink() and not p.resolve().is_relative_to(root):
                raise IngestError(
                    f"{p.parent.name}/{p.name} is a link to a file outside the workspace "
                    f"{workspace.root}: copy the file into the quarter folder instead; nothing "
                    f"was imported")
    if not any(plan.values()):
        pats = sorted(p for ps in workspace.quarter_files.values() for p in ps)
        others = unmatched_files(workspace, quarter) if files is None else []
        raise IngestError(f"no files to import for {quarter} in {qdir} (looked for {pats}"
                          + (f"; not matched: {', '.join(others)}" if others else "") + ")")
    return plan


def _drop_personal(raw: RawTable, personal: Sequence[str]) -> RawTable:
    """The same table without the personal columns (gone before anything else sees them);
    names match ignoring case and spacing."""
    names = {" ".join(p.split()).casefold() for p in personal}
    drop = [c for c in raw.columns if " ".join(c.split()).casefold() in names]
    if not drop:
        return raw
    return RawTable(raw.source_file, raw.path, tuple(c for c in raw.columns if c not in drop),
                    raw.data.drop(columns=drop), raw.ragged, raw.sha256, raw.encoding,
                    raw.delimiter, raw.sheet, raw.warnings)


def _refuse_other_quarter(checked: Checked, quarter: str) -> None:
    """A file whose every row is dated outside the quarter is another quarter's export: the
    whole import stops (rather than rejecting each row)."""
    if checked.table == "clients" or checked.n_read == 0 or checked.rejects.empty:
        return
    rejects = checked.rejects
    outside = rejects[rejects["reason"].str.contains(f" is outside {quarter} (", regex=False)]
    if outside.empty or outside["row"].nunique() < checked.n_read:
        return
    first = outside.iloc[0]
    raise IngestError(
        f"{checked.source_file}: all {checked.n_read} row(s) are dated outside {quarter} (row "
        f"{first['row']}, column {first['column']!r}: {first['reason']}): is this another "
        "quarter's export? Move it to that quarter's folder; nothing was imported.")


def _personal_values(raw: RawTable, personal: Sequence[str], kind: str) -> list[str]:
    """Values of the personal columns whose name contains ``kind`` ("name", "address"): read
    only to scrub them out of survey comments (:mod:`vipquality.data.privacy`), never stored."""
    names = {" ".join(p.split()).casefold() for p in personal}
    out: list[str] = []
    for c in raw.columns:
        key = " ".join(c.split()).casefold()
        if key in names and kind in key:
            out += [v for v in raw.data[c].tolist() if isinstance(v, str) and v.strip()]
    return out


def _roster_names(workspace) -> list[str]:
    """Staff names of the roster (``staff`` in workspace.yaml; columns whose name contains
    "name"), masked in comments; ``[]`` without a readable roster."""
    path = getattr(workspace, "staff_path", None)
    if path is None or not Path(path).is_file():
        return []
    try:
        roster = read_table(path)
    except DataError:
        return []
    return [v for c in roster.columns if "name" in c.casefold()
            for v in roster.data[c].tolist() if isinstance(v, str) and v.strip()]


def _read_file(workspace, table: str, path: Path, survey_format: str | None,
               keep_test_responses: bool, block_rows: int | None = DEFAULT_BLOCK_ROWS
               ) -> RawTable | CsvStream:
    """One quarter file as text. Survey files may be survey-tool exports (Qualtrics,
    SurveyMonkey, …): :func:`vipquality.data.importers.read_survey` recognises them and maps them
    onto the instrument; a canonical file is read by :func:`read_table` as before, except a plain
    UTF-8 CSV export, which is read in blocks of ``block_rows`` rows (:func:`open_csv_stream`;
    ``None``: whole)."""
    source = _source_name(workspace, path)
    sheet = getattr(workspace, "sheets", {}).get("survey" if table == "responses" else table)
    if table != "responses":  # the CRM's header row may be missing: its values stay unshown
        return read_table(path, source_file=source, sheet=sheet, private=table == "clients")
    from vipquality.data.importers import read_survey

    if block_rows is not None and survey_format in (None, "canonical") and \
            path.suffix.lower() in (".csv", ".txt", ".tsv"):
        if survey_format == "canonical" or _format_of_head(path, source) == "canonical":
            stream = open_csv_stream(path, source_file=source, block_rows=block_rows)
            if stream is not None:
                return stream

    return read_survey(path, workspace, source_file=source, format=survey_format,
                       keep_test_responses=keep_test_responses, sheet=sheet)


def _format_of_head(path: Path, source: str) -> str:
    """:func:`vipquality.data.importers.sniff` on the first megabytes of a CSV file (cut at a
    line break): the detection reads the first records only, and the whole file would be held in
    memory twice (bytes and text) by the detector."""
    from vipquality.data.importers import SNIFF_RECORDS, read_sheet, refuse_non_responses, sniff

    with path.open("rb") as fh:
        head = fh.read(_DETECT_BYTES)
        complete = not fh.read(1)
    if not complete:
        cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
        head = head[:cut + 1] if cut > 0 else head
    special = refuse_non_responses(head, source)
    if special:
        return special
    return sniff(read_sheet(path, source, head, limit=SNIFF_RECORDS))


_DETECT_BYTES = 4 * 2**20


# ------------------------------------------------------------------------------------ store reads
def _partition_files(store: Path, table: str) -> list[Path]:
    base = store / table
    return sorted(base.glob("quarter=*/part-0.parquet")) if base.is_dir() else []


def _read_stored(store: Path, table: str, workspace, paths: list[Path],
                 filter_ids: tuple[str, list[str]] | None = None) -> pd.DataFrame:
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    schema = table_schema(table, workspace)
    if not paths:
        return to_pandas(schema.empty_table())
    for p in paths:
        extra = set(pq.read_schema(p).names) - set(schema.names)
        if extra:
            raise IngestError(
                f"{p} has column(s) {sorted(extra)} that the current configuration does not "
                "define (was the instrument or the CRM mapping changed?); move the store aside and "
                "import every quarter again")
    dataset = ds.dataset([str(p) for p in paths], format="parquet", schema=schema)
    expr = None
    if filter_ids is not None:
        col, ids = filter_ids
        expr = ds.field(col).isin(pa.array(sorted(set(ids)), pa.string()))
    try:
        stored = to_pandas(dataset.to_table(filter=expr))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise IngestError(f"cannot read the stored {table} ({err}); move the store aside and "
                          "import every quarter again") from None
    # rows stored before comment_language existed get it now, so a re-import writes it
    return fill_comment_language(stored) if table == "responses" else stored


def _sorted(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    return frame.sort_values(SORT_KEYS[table], kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------------------- ingest
def ingest_quarter(workspace, quarter, *, files=None, dry_run: bool = False,
                   format: str | None = None, keep_test_responses: bool = False,
                   block_rows: int | None = DEFAULT_BLOCK_ROWS) -> IngestResult:
    """Validate a quarter's raw files and add them to the workspace store.

    Parameters
    ----------
    workspace : Workspace
        From :func:`vipquality.config.load_workspace`.
    quarter : str or Quarter
        ``"2026Q2"``.
    files : sequence of paths, or mapping of table to paths, optional
        Import only these files (relative paths are looked up in the quarter folder; the table
        comes from ``workspace.quarter_files`` patterns, or from the mapping key: ``clients``,
        ``survey``/``responses``, ``visits``). Default: every matching file of the folder.
    dry_run : bool
        Validate and count, write nothing (no lock is taken).
    format : str, optional
        Survey-tool format of the survey files (``qualtrics``, ``surveymonkey``, … see
        :data:`vipquality.data.importers.FORMATS`); default: detected from each file's content. Exports
        of survey tools are read by :func:`vipquality.data.importers.read_survey`; files of the
        canonical layout as before.
    keep_test_responses : bool
        Keep Qualtrics test/preview responses (left out by default).
    block_rows : int or None
        Rows per block when a plain CSV survey export is read in blocks (memory stays bounded
        whatever its size); ``None`` reads every file whole.

    Returns
    -------
    IngestResult

    Raises
    ------
    IngestError
        Nothing to import, a mapped column is missing, no CRM extract for the survey's client ids,
        or counts that do not reconcile. Nothing is written.
    DataError
        A file cannot be read (empty, undecodable, unusable header). Nothing is written.
    StoreError
        Another ingest holds the lock, or writing failed (the store is left as before).
    """
    try:
        q = workspace.quarter(quarter)
    except ValueError as err:
        raise IngestError(str(err)) from None
    qs = str(q)
    plan = _plan(workspace, qs, files)
    unmatched = tuple(unmatched_files(workspace, qs)) if files is None else ()
    store = Path(workspace.store_path)
    if dry_run:
        result = _run_exactly(workspace, qs, plan, store, True, (format, keep_test_responses),
                              block_rows)
    else:
        with StoreLock(store):
            recover(store)
            result = _run_exactly(workspace, qs, plan, store, False,
                                  (format, keep_test_responses), block_rows)
    return dataclasses.replace(result, unmatched=unmatched)


def _run_exactly(workspace, quarter: str, plan, store: Path, dry_run: bool, survey,
                 block_rows: int | None) -> IngestResult:
    """:func:`_run`, again with the whole-file reader for a file the block reader cannot read
    exactly (nothing is written before the end of a run, so starting over is safe)."""
    whole: set[Path] = set()
    while True:
        try:
            return _run(workspace, quarter, plan, store, dry_run=dry_run, survey=survey,
                        block_rows=block_rows, whole=whole)
        except NeedsExactRead as err:
            if err.path in whole:  # pragma: no cover - the whole-file reader never raises it
                raise
            whole.add(err.path)


def _run(workspace, quarter: str, plan: dict[str, list[Path]], store: Path,
         dry_run: bool, survey: tuple[str | None, bool] = (None, False),
         block_rows: int | None = DEFAULT_BLOCK_ROWS, whole: set[Path] = frozenset()
         ) -> IngestResult:
    txn = Transaction(store)
    try:
        return _run_in(txn, workspace, quarter, plan, store, dry_run, survey, block_rows, whole)
    finally:
        if not dry_run:
            txn.discard_work()


def _run_in(txn: Transaction, workspace, quarter: str, plan: dict[str, list[Path]],
            store: Path, dry_run: bool, survey: tuple[str | None, bool], block_rows: int | None,
            whole: set[Path]) -> IngestResult:
    # 1. read everything first: a file that cannot be read stops the import before any check
    #    (a plain CSV survey export is only opened here: its rows are read block by block)
    raws: dict[str, list[RawTable | CsvStream]] = {}
    names, addresses = _roster_names(workspace), []
    for table in _ORDER:
        raws[table] = []
        for path in plan.get(table, []):
            with legacy_encodings(getattr(workspace, "encodings", ()), alphabet_of(names)):
                raw = _read_file(workspace, table, path, *survey,
                                 block_rows=None if path in whole else block_rows)
            if table == "clients":
                names += _personal_values(raw, workspace.personal_columns, "name")
                addresses += _personal_values(raw, workspace.personal_columns, "address")
                raw = _drop_personal(raw, workspace.personal_columns)
            raws[table].append(raw)
        if raws[table]:
            # a missing mapped column in any file stops everything (no partial import)
            fields = fields_for(table, workspace)
            mode = workspace.instrument.match_columns_by if table == "responses" else "name"
            for raw in raws[table]:
                resolve_columns(raw, fields, mode, show_headers=table != "clients")

    counts: dict[str, TableCounts] = {}
    file_counts: list[TableCounts] = []
    rejects: list[pd.DataFrame] = []
    warnings: list[str] = []
    finals: dict[str, pd.DataFrame] = {}
    to_write: set[str] = set()
    known_clients: set[str] = set()

    for table in _ORDER:
        if table == "responses" and raws["responses"]:
            stored_clients = _read_stored(store, "clients", workspace,
                                          [p for p in [partition_path(store, "clients", quarter)]
                                           if p.is_file()])
            known = set(stored_clients["client_id"].dropna())
            if "clients" in finals:
                known |= set(finals["clients"]["client_id"].dropna())
            if not known:
                raise IngestError(
                    f"no CRM extract for {quarter}: survey responses are checked against the "
                    f"quarter's clients file; add one matching {workspace.quarter_files['clients']}"
                    f" to {workspace.quarter_dir(quarter)} (or import it first)")
            known_clients = known
        if not raws[table]:
            continue
        if table in ("case_updates", "appeals", "invitations"):  # scrubbed / checked clients
            known_clients = known_clients or _quarter_client_ids(store, workspace, quarter,
                                                                 finals)
        scrubber = (Scrubber(names, ids=known_clients, addresses=addresses,
                             regions=getattr(workspace, "countries", DEFAULT_REGIONS))
                    if table in ("responses", "case_updates", "appeals") else None)
        if table == "responses":
            result = _merge_streamed(txn, workspace, quarter, store, raws[table], dry_run,
                                     known_clients, scrubber)
            counts[table] = result["counts"]
            file_counts += result["files"]
            rejects += result["rejects"]
            warnings += result["warnings"]
            if result["accepted"]:
                to_write.add(table)
                finals[table] = result["final"]
            continue
        checked = [check_table(raw, table, workspace, quarter, known_clients=known_clients,
                               scrubber=scrubber) for raw in raws[table]]
        if table == "case_updates":
            opened = _opened_cases(store, workspace, quarter, finals)
            checked = [check_against_cases(c, opened) for c in checked]
        if table == "visits":  # calibration records name a visit of the import or the store
            checked = check_calibration(checked, _stored_visits(store, workspace, quarter))
        if table == "appeals":  # appeals name a stored visit's item, decided once
            visits = _stored_visits(store, workspace, quarter, finals.get("visits"))
            earlier = _read_stored(store, "appeals", workspace, _partition_files(store, "appeals"))
            done = []
            for c in checked:
                done.append(check_appeals(c, visits, pd.concat([earlier, *(d.frame for d in done)],
                                                               ignore_index=True)))
            checked = done
        for c in checked:
            _refuse_other_quarter(c, quarter)
        result = _merge(table, workspace, quarter, store, checked)
        counts[table] = result["counts"]
        file_counts += result["files"]
        rejects += [c.rejects for c in checked] + [result["rejects"]]
        for c in checked:
            warnings += c.warnings
        finals[table] = result["final"]
        if result["accepted"]:
            to_write.add(table)

    # 2. reconcile, explicitly (never an assert: it must hold with -O too)
    bad = [c for c in (*counts.values(), *file_counts) if not c.reconciles]
    if bad:
        shown = [(c.file or c.table, c.read, c.accepted, c.duplicates, c.rejected) for c in bad]
        raise IngestError("row counts do not reconcile (read ≠ accepted + duplicates + rejected) "
                          f"for {shown}; nothing was written. This is a bug: please report it "
                          "with the files.")

    # 3. memberships of the quarter's clients, recomputed every time (segments.yaml may have
    #    changed); unchanged memberships give unchanged bytes, which are not rewritten
    n_members = None
    quarter_clients = finals.get("clients")
    if quarter_clients is None:
        own = partition_path(store, "clients", quarter)
        quarter_clients = _read_stored(store, "clients", workspace,
                                       [own] if own.is_file() else [])
    if len(quarter_clients):
        members = _memberships(workspace, quarter, quarter_clients, warnings)
        if members is not None:
            n_members = len(members)
            finals["memberships"] = members
            to_write.add("memberships")

    # 3b. the survey weights of the quarter (workspace.yaml weighting), recomputed every time
    weights = _weights(store, workspace, quarter, finals, warnings)
    if weights is not None:
        finals["weights"] = weights
        to_write.add("weights")

    all_rejects = pd.concat(rejects, ignore_index=True) if rejects else empty_rejects()
    all_rejects = all_rejects.sort_values(["file", "row"], kind="stable").reset_index(drop=True)

    # 4. stage and commit
    written: list[str] = []
    if not dry_run:
        for table in sorted(to_write):
            rel = partition_path(Path("."), table, quarter).as_posix()
            if isinstance(finals[table], Path):  # written sorted already, in pieces
                txn.put_file(rel, finals[table])
                continue
            schema = table_schema(table, workspace)
            txn.put(rel, parquet_bytes(from_pandas(_sorted(finals[table], table), schema)))
        txn.put(f"rejects/{quarter}.csv", _rejects_bytes(store, quarter, all_rejects,
                                                         [r.source_file for rs in raws.values()
                                                          for r in rs]))
        log = _log_bytes(store, quarter, file_counts)
        if log is not None:
            txn.put("ingest_log.csv", log)
        written = txn.commit()

    return IngestResult(quarter=quarter, store_path=store, dry_run=dry_run, tables=counts,
                        files=tuple(file_counts), rejects=all_rejects,
                        warnings=tuple(dict.fromkeys(warnings)), memberships=n_members,
                        written=tuple(written))


def _quarter_table(store: Path, workspace, table: str, quarter: str, finals: dict) -> pd.DataFrame:
    """The quarter's rows of ``table`` as this run leaves them (imported now, else stored)."""
    import pyarrow.parquet as pq

    new = finals.get(table)
    if isinstance(new, Path):  # streamed responses: the quarter's whole partition, sorted
        return to_pandas(pq.read_table(new))
    if new is not None:
        return new
    own = partition_path(store, table, quarter)
    return _read_stored(store, table, workspace, [own] if own.is_file() else [])


def _weights(store: Path, workspace, quarter: str, finals: dict,
             warnings: list[str]) -> pd.DataFrame | None:
    """:func:`vipquality.data.weighting.quarter_weights` of the quarter (``None``: weighting
    off, or no responses)."""
    from vipquality.data.weighting import quarter_weights

    settings = getattr(workspace, "weighting", None)
    if settings is None or not settings.enabled:
        return None
    responses = _quarter_table(store, workspace, "responses", quarter, finals)
    if responses.empty:
        return None
    members = finals.get("memberships")
    book = None if members is None else members.loc[members["segment"] == "all", "client_id"]
    try:
        out, notes = quarter_weights(
            responses, _quarter_table(store, workspace, "clients", quarter, finals),
            _quarter_table(store, workspace, "invitations", quarter, finals), settings, book)
    except DataError as err:
        raise IngestError(f"weighting {quarter}: {err}") from None
    warnings += notes
    return None if out is None else to_pandas(from_pandas(out, table_schema("weights",
                                                                            workspace)))


def _quarter_client_ids(store: Path, workspace, quarter: str, finals: dict) -> set[str]:
    """Client ids of the quarter's CRM extract (stored, or imported in this run)."""
    own = partition_path(store, "clients", quarter)
    ids = set(_read_stored(store, "clients", workspace,
                           [own] if own.is_file() else [])["client_id"].dropna())
    if "clients" in finals:
        ids |= set(finals["clients"]["client_id"].dropna())
    return ids


def _stored_visits(store: Path, workspace, quarter: str,
                   current: pd.DataFrame | None = None) -> pd.DataFrame:
    """The stored visits of ``quarter`` and before; ``current``: the quarter's visits as this run
    leaves them (they replace the stored partition)."""
    frame = _read_stored(store, "visits", workspace, [
        p for p in _partition_files(store, "visits")
        if p.parent.name.removeprefix("quarter=") <= quarter])
    if current is not None and len(current):
        frame = pd.concat([frame[frame["quarter"] != quarter], current], ignore_index=True)
    return frame


def _opened_cases(store: Path, workspace, quarter: str, finals: dict) -> pd.Series:
    """``case_id -> opened`` of the cases opened in ``quarter`` or before: the stored responses
    (and this run's) against their quarters' CRM extracts."""
    if workspace.cases is None:
        raise IngestError(f"case_updates files for {quarter} but no cases.yaml: name one in "
                          "workspace.yaml (cases: cases.yaml) so cases can be opened")
    upto = [p for p in _partition_files(store, "responses")
            if p.parent.name.removeprefix("quarter=") <= quarter]
    responses = _read_stored(store, "responses", workspace, upto)
    clients = _read_stored(store, "clients", workspace, [
        p for p in _partition_files(store, "clients")
        if p.parent.name.removeprefix("quarter=") <= quarter])
    import pyarrow.parquet as pq

    for table, frame in (("responses", responses), ("clients", clients)):
        new = finals.get(table)
        if isinstance(new, Path):  # streamed responses: the quarter's whole partition, sorted
            new = to_pandas(pq.read_table(new))
        if new is not None and len(new):
            frame = frame[frame["quarter"] != quarter]
            frame = pd.concat([frame, new], ignore_index=True)
        if table == "responses":
            responses = frame
        else:
            clients = frame
    return opened_cases(workspace, responses, clients)


def _merge(table: str, workspace, quarter: str, store: Path, checked: list[Checked]) -> dict:
    """Deduplicate the validated rows of all files of a table against each other and the store."""
    new = pd.concat([c.frame for c in checked], ignore_index=True)
    keys = KEYS[table]
    own = partition_path(store, table, quarter)
    if table == "clients":  # client ids are unique within a quarter's extract
        stored = _read_stored(store, table, workspace, [own] if own.is_file() else [])
    else:  # response and visit ids are unique across quarters
        stored = _read_stored(store, table, workspace, _partition_files(store, table),
                              filter_ids=(keys[0], new[keys[0]].dropna().tolist()))
    mapping = {c.source_file: c.mapping for c in checked}  # key column as each file names it
    accepted, dup, conflict, conflicts = deduplicate(
        table, new, stored, key_sources={k: checked[0].mapping[k] for k in keys})
    if len(conflicts):
        conflicts["column"] = [mapping[f][keys[0]] for f in conflicts["file"]]
    existing = _read_stored(store, table, workspace, [own] if own.is_file() else [])
    final = pd.concat([existing, accepted], ignore_index=True) if len(existing) else accepted
    files = []
    src = new["source_file"].to_numpy()
    for c in checked:
        mine = src == c.source_file
        n_dup = int(dup[mine].sum())
        n_conf = int(conflict[mine].sum())
        rejected = c.n_rejected + n_conf
        files.append(TableCounts(table, c.n_read, c.n_read - rejected - n_dup, n_dup, rejected,
                                 file=c.source_file, sha256=c.sha256))
    total = TableCounts(table, *(int(np.sum([getattr(f, a) for f in files]))
                                 for a in ("read", "accepted", "duplicates", "rejected")))
    if total.accepted != len(accepted):
        raise IngestError(f"{table}: {len(accepted)} rows to store but {total.accepted} counted "
                          "as accepted; nothing was written. This is a bug: please report it.")
    return {"counts": total, "files": files, "rejects": conflicts, "final": final,
            "accepted": len(accepted)}


def _merge_streamed(txn: Transaction, workspace, quarter: str, store: Path, sources: list,
                    dry_run: bool, known_clients: set[str], scrubber) -> dict:
    """:func:`_merge` block by block (:func:`merge_blocks`): accepted rows go to a staging file,
    and the partition (stored rows of the quarter and the new ones, sorted) to a work file."""
    import tempfile

    table = "responses"
    keys = KEYS[table]

    def check(raw: RawTable) -> Checked:
        return check_table(raw, table, workspace, quarter, known_clients=known_clients,
                           scrubber=scrubber)

    partitions = _partition_files(store, table)

    def stored_rows(ids: list[str]) -> pd.DataFrame:
        if not partitions:
            return to_pandas(table_schema(table, workspace).empty_table())
        return _read_stored(store, table, workspace, partitions, filter_ids=(keys[0], ids))

    with tempfile.TemporaryDirectory(prefix="vq-ingest-") as scratch:
        work = Path(scratch) if dry_run else txn.work_dir
        stage = work / f"{table}.stage.parquet"
        tallies, conflicts, accepted = merge_blocks(table, workspace, sources, check,
                                                    stored_rows, stage, quarter)
        files, rejects, warnings = [], [], []
        for source, tally in zip(sources, tallies):
            n_read = tally.read
            if n_read and len(tally.outside) >= n_read and tally.checked:
                first = pd.concat(tally.rejects, ignore_index=True)
                _refuse_other_quarter(Checked(table, tally.source_file, tally.sha256,
                                              first.iloc[:0], first, n_read, tally.rejected,
                                              {}), quarter)
            mapping = tally.checked[0].mapping if tally.checked else {}
            warnings += list(getattr(source, "warnings", ()))
            if isinstance(source, CsvStream):
                warnings += file_warnings(tally.source_file,
                                          [c.stats for c in tally.checked], mapping)
            else:
                for c in tally.checked:
                    warnings += [w for w in c.warnings if w not in source.warnings]
            rejects += tally.rejects
        if len(conflicts):
            mapping = {t.source_file: t.checked[0].mapping for t in tallies if t.checked}
            conflicts["column"] = [mapping[f][keys[0]] for f in conflicts["file"]]
        rejects.append(conflicts)
        for t in tallies:
            files.append(TableCounts(table, t.read, t.accepted, t.duplicates, t.rejected,
                                     file=t.source_file, sha256=t.sha256))
        final = None
        if accepted and not dry_run:
            own = partition_path(store, table, quarter)
            final = work / f"{table}.parquet"
            write_sorted(([own] if own.is_file() else []) + [stage], table, workspace, final)
        stage.unlink(missing_ok=True)
    total = TableCounts(table, *(int(np.sum([getattr(f, a) for f in files]))
                                 for a in ("read", "accepted", "duplicates", "rejected")))
    if total.accepted != accepted:
        raise IngestError(f"{table}: {accepted} rows to store but {total.accepted} counted "
                          "as accepted; nothing was written. This is a bug: please report it.")
    return {"counts": total, "files": files, "rejects": rejects, "warnings": warnings,
            "final": final, "accepted": accepted}


def _memberships(workspace, quarter: str, clients: pd.DataFrame,
                 warnings: list[str]) -> pd.DataFrame | None:
    try:
        from vipquality.data.segments import assign_segments
    except ImportError:
        warnings.append("memberships not computed: vipquality.data.segments is not available")
        return None
    out = assign_segments(clients, workspace.segments, workspace.quarter(quarter))
    warnings += _rule_warnings(workspace, quarter, clients, out)
    missing = {"quarter", "client_id", "segment"} - set(out.columns)
    if missing:
        raise IngestError(f"assign_segments returned no {sorted(missing)} column(s)")
    out = out[["quarter", "client_id", "segment"]].astype(str).drop_duplicates()
    out["quarter"] = quarter
    return to_pandas(from_pandas(out, table_schema("memberships", workspace)))


def _rule_warnings(workspace, quarter: str, clients: pd.DataFrame,
                   members: pd.DataFrame) -> list[str]:
    """:func:`vipquality.data.segments.rule_warnings`, against the previous quarter's stored
    memberships when there are any."""
    from vipquality.data.segments import rule_warnings
    from vipquality.data.store import load_memberships

    previous = None
    before = str(workspace.quarter(quarter).previous())
    try:
        previous = load_memberships(workspace, [before])
    except VipqualityError:
        previous = None
    return rule_warnings(clients, workspace.segments, members, previous)


def _rejects_bytes(store: Path, quarter: str, rejects: pd.DataFrame,
                   files_in_run: list[str]) -> bytes:
    """This import's rejects plus the earlier rejects of files not imported this time."""
    header, old = read_csv_rows(store / "rejects" / f"{quarter}.csv")
    ours = set(files_in_run)
    kept = [r for r in old if header == REJECT_COLUMNS and len(r) == 5
            and r[0].lstrip("'") not in ours and r[0] not in ours]
    rows = [[f, int(r), c, v, why] for f, r, c, v, why in rejects.itertuples(index=False)]
    merged = kept + rows
    merged.sort(key=lambda r: (str(r[0]).lstrip("'"), int(r[1])))
    return csv_bytes(REJECT_COLUMNS, merged)


def _log_bytes(store: Path, quarter: str, files: list[TableCounts]) -> bytes | None:
    """The ingest log with a line for every file not logged before (or that added rows)."""
    path = store / "ingest_log.csv"
    header, rows = read_csv_rows(path)
    if header and header != _LOG_COLUMNS:
        raise StoreError(f"{path} has columns {header}, expected {_LOG_COLUMNS}")
    seen = {(r[0], r[2], r[3]) for r in rows if len(r) >= 4}
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    new = [[c.sha256, c.file, quarter, c.table, c.read, c.accepted, c.duplicates, c.rejected, now]
           for c in files if (c.sha256, quarter, c.table) not in seen or c.accepted]
    if not new:
        return None
    return csv_bytes(_LOG_COLUMNS, rows + new)
