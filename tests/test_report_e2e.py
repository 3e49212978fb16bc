"""End to end: ``build_report`` and ``vipquality report`` on a small generated workspace.

Three real runs of nine notebooks, made once per module (two full ones, ~30 s each on an
idle two-core machine):

* ``report``: ``build_report`` into its own folder; most tests read its pages;
* ``cli``: the command line re-running a copy of that folder (exit code, atomic replacement,
  byte-identical CSVs);
* ``failing``: a run whose segment notebook raises for all segments but ``all`` (failure
  summary, the failed notebooks kept, the other pages still published); those notebooks fail
  in their first cell, so this run costs about a third of a full one.

The workspace (``report_workspace`` in conftest.py) carries one planted client with distinctive
personal data that no file of any reports folder may contain.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import browser
import nbformat
import pandas as pd
import pytest
from scan import distinctive

import vipquality
from vipquality.config import load_workspace
from vipquality.report import pages
from vipquality.report.build import NOTEBOOKS_DIR, ReportOutcome, build_report
from vipquality.report.run.export import check_html, count_charts

EXECUTIVE_CSVS = ("metrics.csv", "metrics_by_branch.csv", "standards_compliance.csv")
#: segment page: one trend per headline metric, NPS composition, drivers
#: (importance-performance), CES distribution, compliance by standard, compliance by branch
#: (the headline KPI cards are HTML, not a chart)
SEGMENT_CHARTS = len(pages.HEADLINE) + 5
INDEX_CHARTS = 2        # overview trends: NPS and CSI
#: pages whose charts depend on the data (the standards review grows with the standards work,
#: the restricted staff view): at least one chart each, the count reported by the run
OPEN_ENDED = {"standards_review.html": 1, "restricted/staff.html": 1}
BROKEN_MESSAGE = "planted failure for the end-to-end test"


def _reported_segments(ws_root: Path) -> list[str]:
    ws = load_workspace(ws_root)
    return ["all", *(s.id for s in ws.segments.segments if s.report)]


def _expected_pages(segments) -> dict[str, int]:
    """Executive pages (top level) -> number of charts (a minimum for OPEN_ENDED pages)."""
    out = {"index.html": INDEX_CHARTS, "standards_review.html": OPEN_ENDED[
        "standards_review.html"]}
    out.update({f"segment-{s}.html": SEGMENT_CHARTS for s in segments})
    return out


def _all_pages(outcome: ReportOutcome) -> list[Path]:
    """Every page of a run as the run names them: executive ones relative to the quarter's
    folder, restricted ones as ``restricted/<page>`` (published to ``<out>/restricted/<q>/``)."""
    pages = [p.relative_to(outcome.folder) for p in outcome.folder.rglob("*.html")]
    if outcome.restricted is not None:
        pages += [Path("restricted", p.relative_to(outcome.restricted))
                  for p in outcome.restricted.rglob("*.html")
                  if "cases" not in p.relative_to(outcome.restricted).parts]  # lists, no job
    return sorted(pages)


def _page_file(outcome: ReportOutcome, page: Path | str) -> Path:
    """Where a page named by :func:`_all_pages` is on disk."""
    page = Path(page)
    if page.parts[0] == "restricted":
        return outcome.restricted.joinpath(*page.parts[1:])
    return outcome.folder / page


# --------------------------------------------------------------------------------------------
# the runs


@pytest.fixture(scope="module")
def report(report_workspace, tmp_path_factory) -> ReportOutcome:
    out = tmp_path_factory.mktemp("e2e") / "reports"
    # pdf=True: the board pack too, when Chromium is there (else the run notes its absence)
    return build_report(report_workspace.root, out=out, workers=2, progress=False, pdf=True)


@dataclass
class CliRun:
    proc: subprocess.CompletedProcess
    out: Path
    stale_marker: Path  # a file put in the previously published folder the run replaces


@pytest.fixture(scope="module")
def cli(report, report_workspace, tmp_path_factory) -> CliRun:
    """The command line, re-running a quarter already published (a copy of ``report``'s), with
    the workspace and reports folder given relative to the working directory, as `make report`
    does (``--workspace surveys --out reports``)."""
    out = tmp_path_factory.mktemp("cli") / "reports"
    previous = out / report_workspace.quarter
    shutil.copytree(report.folder, previous)
    marker = previous / "stale-marker.txt"
    marker.write_text("left by the previous run")
    ws = report_workspace.root
    proc = subprocess.run(
        [sys.executable, "-m", "vipquality.cli", "report", "--workspace", ws.name,
         "--out", os.path.relpath(out, ws.parent), "--workers", "2", "--no-progress"],
        capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL, cwd=ws.parent)
    return CliRun(proc, out, marker)


@dataclass
class FailingRun:
    outcome: ReportOutcome
    out: Path
    failing_cell: int        # index of the raising cell in the (broken) source notebook
    broken: list[str]        # the segments whose notebook raised


@pytest.fixture(scope="module")
def failing(report_workspace, tmp_path_factory) -> FailingRun:
    """A run whose segment notebook raises for every segment but ``all`` (before its set-up,
    so the failures cost a kernel start only)."""
    notebooks = tmp_path_factory.mktemp("broken") / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, notebooks)
    path = notebooks / "segment.ipynb"
    nb = nbformat.read(path, as_version=4)
    params = next(i for i, c in enumerate(nb.cells)
                  if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(params + 1, nbformat.v4.new_code_cell(
        f"if segment != 'all':\n    raise RuntimeError({BROKEN_MESSAGE!r} + ': ' + segment)"))
    nbformat.write(nb, path)
    out = tmp_path_factory.mktemp("failing") / "reports"
    outcome = build_report(report_workspace.root, out=out, workers=2, progress=False,
                           notebooks=notebooks)
    broken = [s for s in _reported_segments(report_workspace.root) if s != "all"]
    # reported as the index in the source notebook, not papermill's executed copy
    return FailingRun(outcome, out, params + 1, broken)


# --------------------------------------------------------------------------------------------
# pages


class _Page(HTMLParser):
    """Chart div ids, table rows (cell texts) and inline script text of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chart_ids: list[str | None] = []
        self.rows: list[list[str]] = []
        self.scripts: list[str] = []
        self.script_srcs: list[str] = []
        self._cell: list[str] | None = None
        self._script: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and "plotly-graph-div" in (a.get("class") or "").split():
            self.chart_ids.append(a.get("id"))
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "script":
            self._script = []
            if a.get("src"):
                self.script_srcs.append(a["src"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            if self.rows:
                self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "script" and self._script is not None:
            self.scripts.append("".join(self._script))
            self._script = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._script is not None:
            self._script.append(data)


def _parse(page: Path) -> _Page:
    parser = _Page()
    parser.feed(page.read_text(encoding="utf-8"))
    parser.close()
    return parser


def test_report_runs_every_notebook(report, report_workspace):
    assert report.ok, report.summary()
    assert report.quarter == report_workspace.quarter
    assert report.folder.name == report_workspace.quarter
    names = [r.name for r in report.run.notebooks]
    segments = _reported_segments(report_workspace.root)
    expected = ["summary", *(f"segment-{s}" for s in segments), "standards"]
    assert names[:len(expected)] == expected
    assert set(names[len(expected):]) <= {"staff"}  # the restricted staff view


def test_every_page_is_published_and_nothing_else(report, report_workspace):
    expected = _expected_pages(_reported_segments(report_workspace.root))
    files = {p.name for p in report.folder.iterdir() if p.is_file()}
    folders = {p.name for p in report.folder.iterdir() if p.is_dir()}
    assert folders == set(), "no restricted, _data, _failed or other folder in the pages"
    assert sorted(f for f in files if f.endswith(".html")) == sorted(expected)
    # every job's page, and nothing else; restricted pages only under restricted/
    assert _all_pages(report) == sorted(r.html for r in report.run.notebooks)
    for page in _all_pages(report):
        assert len(page.parts) == 1 or page.parts[0] == "restricted", page
    assert {*EXECUTIVE_CSVS, "plotly.min.js", "run.json"} <= files
    # anything else is an executive table (e.g. the standards proposals): CSV or Markdown
    others = files - {*expected, *EXECUTIVE_CSVS, "plotly.min.js", "run.json",
                      "board-pack.pdf", "alerts.json"}
    assert all(f.endswith((".csv", ".md")) for f in others), others
    from plotly.offline import get_plotlyjs

    assert (report.folder / "plotly.min.js").read_text(encoding="utf-8") == get_plotlyjs()
    # the run's scratch data, staging folders and failures stay out of what executives read
    leftovers = [p.name for p in report.folder.parent.iterdir()
                 if p.name not in (report.quarter, ".lock", "restricted")]
    assert leftovers == []
    # restricted pages: a sibling root, so copying the quarter for executives copies none
    assert report.restricted == report.folder.parent / "restricted" / report.quarter
    assert {"plotly.min.js", "staff.html"} <= {p.name for p in report.restricted.iterdir()}
    # the follow-up case lists publish with them; alerts.json beside the executive pages
    assert any((report.restricted / "cases").glob("M*.csv"))
    assert (report.folder / "alerts.json").is_file()
    assert sorted(p.name for p in report.restricted.parent.iterdir()) == [
        ".lock", report.quarter]


def test_run_json_records_what_the_run_ran_on(report, report_workspace):
    record = json.loads((report.folder / "run.json").read_text(encoding="utf-8"))
    assert record["package_version"] == vipquality.__version__
    assert re.fullmatch(r"[0-9a-f]{16,}", record["data_fingerprint"])
    assert Path(record["workspace"]).resolve() == report_workspace.root.resolve()
    params = record["parameters"]
    assert params["quarter"] == report_workspace.quarter
    assert params["quarters"] == list(report_workspace.quarters)
    assert params["previous"] == report_workspace.quarters[-2]
    assert params["segments"] == _reported_segments(report_workspace.root)
    assert params["base_suppress"] == 30
    assert [nb["status"] for nb in record["notebooks"]] == ["ok"] * len(report.run.notebooks)
    assert record["started"] <= record["finished"]
    for tool in ("papermill", "nbconvert", "plotly", "python"):
        assert record["environment"][tool]


def test_run_json_records_a_workspace_below_the_working_directory_relative(cli, report_workspace):
    """`make report` runs from the project with `--workspace surveys`: run.json says
    "surveys", not a path through the user's home folder."""
    record = json.loads((cli.out / report_workspace.quarter / "run.json").read_text())
    assert record["workspace"] == report_workspace.root.name


def test_pages_show_no_code_and_need_no_network(report):
    for page in (_page_file(report, p) for p in _all_pages(report)):
        assert check_html(page) == [], page.name
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//", text, re.I), page
        assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']?\s*(https?:)?//", text, re.I), page
        # nothing of the notebooks' source: set-up and parameter cells, calls, imports
        for code in ("import vipquality", "report_data(", "vq.pages", ".show()", "display(HTML",
                     "data_dir", "injected-parameters", "In&nbsp;[", "Traceback"):
            assert code not in text, (page.name, code)
        assert _parse(page).script_srcs == ["plotly.min.js"], page.name


def test_each_page_has_its_charts_with_unique_ids(report, report_workspace):
    expected = _expected_pages(_reported_segments(report_workspace.root))
    results = {r.html.as_posix(): r for r in report.run.notebooks}
    assert set(expected) <= set(results)
    for name, result in results.items():
        page = _page_file(report, name)
        n_charts = count_charts(page)
        assert result.charts == n_charts, name
        if name in OPEN_ENDED or name not in expected:
            assert n_charts >= OPEN_ENDED.get(name, 0), name
        else:
            assert n_charts == expected[name], name
        parsed = _parse(page)
        ids = parsed.chart_ids
        assert len(ids) == n_charts and all(ids), (name, ids)
        assert len(set(ids)) == len(ids), f"{name}: chart ids repeat: {ids}"
        scripts = "\n".join(parsed.scripts)
        for ident in ids:  # each chart drawn once, into its own div
            calls = re.findall(r"Plotly\.newPlot\(\s*[\"']" + re.escape(ident) + r"[\"']",
                               scripts)
            assert len(calls) == 1, (name, ident)


def test_what_clients_say_is_on_every_segment_page_and_the_index(report, report_workspace):
    """Issue 15: the comment themes on each segment page and a line per segment on the index;
    themes.csv beside the pages, the full comments and the emerging themes only restricted."""
    for segment in _reported_segments(report_workspace.root):
        text = (report.folder / f"segment-{segment}.html").read_text(encoding="utf-8")
        assert "What clients say" in text, segment
    index = (report.folder / "index.html").read_text(encoding="utf-8")
    assert "vq-themes-index" in index and "Waiting and call-backs" in index
    assert (report.folder / "themes.csv").is_file()
    for name in ("comments_by_theme.csv", "emerging_themes.csv", "themes_by_branch.csv"):
        assert (report.restricted / name).is_file(), name
        assert not (report.folder / name).exists(), name


def test_index_links_every_page(report, report_workspace):
    text = (report.folder / "index.html").read_text(encoding="utf-8")
    for name in _expected_pages(_reported_segments(report_workspace.root)):
        if name != "index.html":
            assert f"href='{name}'" in text or f'href="{name}"' in text, name


# --------------------------------------------------------------------------------------------
# small bases




def _probes(frame: pd.DataFrame) -> list[str]:
    """Distinctive strings of the values and intervals of ``frame`` (unredacted rows)."""
    values = frame[["value", "ci_low", "ci_high", "se"]].to_numpy(dtype=float).ravel()
    return sorted({p for p in map(distinctive, values) if p})


@pytest.fixture(scope="module")
def unredacted(report_workspace) -> pd.DataFrame:
    """The metrics of the report window with every value, as computed before redaction."""
    from vipquality.data.summary import summarise_workspace

    ws = load_workspace(report_workspace.root)
    return summarise_workspace(ws, quarters=list(report_workspace.quarters),
                               by=["quarter", "segment"])


def test_suppressed_groups_carry_no_value_in_metrics_csv(report, unredacted):
    metrics = pd.read_csv(report.folder / "metrics.csv")
    hidden = metrics[metrics["base_flag"] == "suppressed"]
    assert len(hidden) > 0, "the test workspace must have a group under 30"
    assert (hidden["n"] < 30).all()
    for column in ("value", "ci_low", "ci_high", "se", "prev_value", "change", "p_value"):
        assert hidden[column].isna().all(), column
    shown = metrics[metrics["base_flag"] != "suppressed"]
    assert shown["value"].notna().any() and (shown["n"] >= 30).all()

    # every row published without a value (primary and complementary suppression)
    blank = metrics[metrics["value"].isna() & (metrics["n"] > 0)]
    assert len(blank) >= len(hidden)
    raw = unredacted.merge(blank[["quarter", "segment", "metric"]],
                           on=["quarter", "segment", "metric"])
    probes = _probes(raw)
    assert len(probes) >= 10, "too few suppressed values to check"
    text = (report.folder / "metrics.csv").read_text(encoding="utf-8")
    branches = (report.folder / "metrics_by_branch.csv").read_text(encoding="utf-8")
    for probe in probes:
        assert probe not in text and probe not in branches, probe


def test_suppressed_groups_show_n_below_30_and_no_value_on_pages(report, unredacted,
                                                               report_workspace):
    metrics = pd.read_csv(report.folder / "metrics.csv")
    now = metrics[(metrics["quarter"] == report.quarter) & (metrics["metric"] == "csi")]
    small = now.loc[now["base_flag"] == "suppressed", "segment"].tolist()
    assert small, "the test workspace must have a reported segment under 30 this quarter"
    segment = small[0]  # le_corporate in the test workspace
    raw = unredacted[(unredacted["quarter"] == report.quarter)
                     & (unredacted["segment"] == segment)].set_index("metric")

    # index.html: the segment's row says n<30 and shows none of its values
    labels = {s.id: s.label for s in load_workspace(report_workspace.root).segments.segments}
    label = labels[segment]
    rows = [r for r in _parse(report.folder / "index.html").rows if r and r[0] == label]
    assert len(rows) == 1, f"no single row for {label!r} in index.html"
    cells = rows[0][1:]
    assert sum(c == "n<30" for c in cells) >= len(pages.HEADLINE), cells
    for metric in ("csi", "ces_mean"):
        formatted = f"{raw.loc[metric, 'value']:.1f}"
        assert all(formatted not in c for c in cells), (metric, formatted, cells)

    # the segment's page: the KPI cards say n<30; no unredacted value anywhere in the page
    page = report.folder / f"segment-{segment}.html"
    text = page.read_text(encoding="utf-8")
    assert "n&lt;30" in text or "n<30" in text
    start = text.index(f'<ul class="vq-kpis" id="vq-kpi-{segment}">')
    tiles = text[start:text.index("</ul>", start)]
    assert tiles.count("n&lt;30") >= len(pages.HEADLINE), tiles
    for metric in ("csi", "ces_mean"):
        assert f"{raw.loc[metric, 'value']:.1f}" not in tiles, metric
    probes = _probes(raw)
    assert len(probes) >= 5
    for html_page in report.folder.rglob("*.html"):
        body = html_page.read_text(encoding="utf-8")
        for probe in probes:
            assert probe not in body, (html_page.name, probe)


# --------------------------------------------------------------------------------------------
# personal data


def _personal_problems(folder: Path, strings: list[str], extract: pd.DataFrame) -> list[str]:
    """Planted strings, and any e-mail, full name or client id of the CRM extract, in any file
    under ``folder``. The restricted staff view names personal managers: a client whose name is
    also a manager's (staff.csv) is not looked for. The managers' case lists
    (``restricted/<q>/cases/``) may name their own clients; only e-mails are looked for there."""
    staff_file = Path(extract.attrs.get("workspace", "")) / "staff.csv"
    staff = (set(pd.read_csv(staff_file)["manager_name"].astype(str))
             if staff_file.is_file() else set())
    emails = set(extract["email"].dropna().astype(str).str.lower())
    word_re = re.compile(r"[^\W\d_]+")
    # full names as words (legal entities: 'JSC "Zolotoy Alyans Farm"' -> JSC Zolotoy Alyans Farm)
    names = {" ".join(word_re.findall(n)) for n in extract["full_name"].dropna().astype(str)
             if n not in staff}
    by_first: dict[str, set[tuple[str, ...]]] = {}
    for n in names:
        by_first.setdefault(n.split()[0], set()).add(tuple(n.split()))
    ids = set(extract["client_id"].dropna().astype(str))
    # starts only where a run of address characters starts: linear, not quadratic, on long runs
    email_re = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
    id_re = re.compile(r"(?<![A-Za-z0-9])C\d{7}(?![0-9])")
    problems = []
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    full_names = extract["full_name"].dropna().astype(str).tolist()
    # in a manager's own case list, the client's id and name (or a part of it) are expected
    contacts = [s for s in strings if s not in ids and not any(s in n for n in full_names)]
    for path in files:
        where = path.relative_to(folder)
        data = path.read_bytes()
        lowered = data.lower()
        case_list = "restricted" in where.parts and "cases" in where.parts
        problems += [f"{where}: {s!r}" for s in (contacts if case_list else strings)
                     if s.encode("utf-8") in data or s.lower().encode("utf-8") in lowered]
        if path.name == "plotly.min.js":
            continue  # the library, checked against the planted strings only
        text = data.decode("utf-8", errors="replace")
        if case_list:
            # a manager's own case list names their clients (id and name, the one place they
            # may appear; test_privacy checks each list holds only that manager's clients):
            # no contact detail, though
            problems += [f"{where}: e-mail {e!r}" for e in sorted(set(email_re.findall(text)))]
            continue
        words = word_re.findall(text)
        found = {" ".join(name) for i, w in enumerate(words) if w in by_first
                 for name in by_first[w] if tuple(words[i:i + len(name)]) == name}
        problems += [f"{where}: e-mail {e!r}" for e in sorted(set(email_re.findall(text)))
                     if e.lower() in emails]
        problems += [f"{where}: name {n!r}" for n in sorted(found)]
        problems += [f"{where}: client id {i!r}" for i in sorted(set(id_re.findall(text)) & ids)]
    return problems


@pytest.fixture(scope="module")
def crm_extract(report_workspace) -> pd.DataFrame:
    ws = load_workspace(report_workspace.root)
    folder = ws.quarter_dir(report_workspace.quarter)
    (path,) = [p for pattern in ws.quarter_files["clients"] for p in folder.glob(pattern)]
    extract = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
    extract.attrs["workspace"] = str(report_workspace.root)
    planted = report_workspace.planted
    assert (extract["client_id"] == planted.client_id).sum() == 1
    assert planted.full_name in set(extract["full_name"])
    return extract


def test_the_planted_client_is_in_the_data_the_report_used(report_workspace):
    from vipquality.data.store import load_memberships, load_responses

    ws = load_workspace(report_workspace.root)
    planted = report_workspace.planted
    responses = load_responses(ws, quarters=[report_workspace.quarter])
    assert (responses["client_id"] == planted.client_id).any()
    members = load_memberships(ws, quarters=[report_workspace.quarter])
    assert (members["client_id"] == planted.client_id).any()


def test_no_personal_data_in_any_report_file(report, report_workspace, crm_extract):
    assert _personal_problems(report.folder.parent, report_workspace.planted.strings(),
                              crm_extract) == []


def test_no_personal_data_in_the_cli_and_failed_runs(cli, failing, report_workspace,
                                                    crm_extract):
    # including the executed notebooks kept in reports/_failed/<quarter>/
    assert (failing.out / "_failed").is_dir()
    for folder in (cli.out, failing.out):
        assert _personal_problems(folder, report_workspace.planted.strings(), crm_extract) == []


def test_the_personal_data_check_finds_a_leak(tmp_path, report_workspace, crm_extract):
    leak = tmp_path / "page.html"
    other = crm_extract[crm_extract["client_id"] != report_workspace.planted.client_id].iloc[0]
    leak.write_text(f"<p>{other['full_name']} &lt;{other['email']}&gt; {other['client_id']}</p>")
    found = _personal_problems(tmp_path, report_workspace.planted.strings(), crm_extract)
    assert len(found) == 3, found
    leak.write_text(f"<p>{report_workspace.planted.phone}</p>")
    assert _personal_problems(tmp_path, report_workspace.planted.strings(), crm_extract)


# --------------------------------------------------------------------------------------------
# reproducibility, atomic publication, failures, the command line


def test_the_command_line_runs_the_report(cli, report_workspace):
    assert cli.proc.returncode == 0, cli.proc.stderr[-3000:]
    assert "Traceback" not in cli.proc.stderr
    # no noise from the kernels' shutdown in a successful run's log
    assert "KeyboardInterrupt" not in cli.proc.stderr + cli.proc.stdout
    assert f"{report_workspace.quarter}: complete" in cli.proc.stdout
    n = re.search(r"^(\d+) of (\d+) notebook\(s\) ok$", cli.proc.stdout, re.M)
    assert n and n[1] == n[2] and int(n[1]) >= len(_reported_segments(report_workspace.root)) + 2


def test_executive_tables_are_byte_identical_across_runs(report, cli, failing):
    folder = cli.out / report.quarter
    names = sorted(p.name for p in report.folder.glob("*.csv"))
    assert set(EXECUTIVE_CSVS) <= set(names)
    for name in names:
        first = (report.folder / name).read_bytes()
        assert first == (folder / name).read_bytes(), name
        # the failing run writes the same tables: they do not depend on the notebooks
        assert first == (failing.outcome.folder / name).read_bytes(), name


def test_rerun_replaces_the_quarter_atomically(cli, report):
    folder = cli.out / report.quarter
    assert folder.is_dir() and (folder / "index.html").is_file()
    assert not cli.stale_marker.exists(), "the old folder was not replaced"
    hidden = sorted(p.name for p in cli.out.iterdir() if p.name.startswith("."))
    assert hidden == [".lock"], f"staging or set-aside folders left: {hidden}"
    assert sorted(p.name for p in cli.out.iterdir()) == [".lock", report.quarter, "restricted"]
    # the same files, but the board pack: ``report`` is run with pdf=True, the command line
    # without --pdf
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        p.name for p in report.folder.iterdir() if p.name != "board-pack.pdf")


def test_failing_notebooks_are_named_and_the_others_are_published(failing, report_workspace):
    outcome = failing.outcome
    assert not outcome.ok
    names = [f"segment-{s}" for s in failing.broken]
    assert [r.name for r in outcome.run.failed] == names
    summary = outcome.summary()
    assert "published WITH FAILURES" in summary
    lines = [ln for ln in summary.splitlines() if ln.startswith("FAILED")]
    assert len(lines) == len(names)
    for bad, line, segment in zip(outcome.run.failed, lines, failing.broken):
        message = f"{BROKEN_MESSAGE}: {segment}"
        assert (bad.ename, bad.evalue) == ("RuntimeError", message)
        assert bad.cell_index == failing.failing_cell
        assert bad.name in line and f"cell {failing.failing_cell}" in line
        assert f"RuntimeError: {message}" in line

    folder = outcome.folder
    assert not (folder / "_failed").exists() and not (folder / "_data").exists()
    published = sorted(p.name for p in folder.glob("*.html"))
    assert published == ["index.html", "segment-all.html", "standards_review.html"]
    kept_dir = failing.out / "_failed" / report_workspace.quarter
    assert sorted(p.name for p in kept_dir.iterdir()) == sorted(f"{n}.ipynb" for n in names)
    for bad in outcome.run.failed:
        nb = nbformat.read(kept_dir / f"{bad.name}.ipynb", as_version=4)
        raised = [c for c in nb.cells if any(o.get("output_type") == "error"
                                             for o in c.get("outputs", []))]
        assert len(raised) == 1 and BROKEN_MESSAGE in raised[0].source
        assert raised[0].execution_count == bad.exec_count
        assert bad.failed_notebook == kept_dir / f"{bad.name}.ipynb"   # where it really is
        assert str(kept_dir) in outcome.summary()
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert [nb["name"] for nb in record["notebooks"] if nb["status"] == "failed"] == names
    assert ".staging-" not in json.dumps(record)   # no path to the removed staging folder
    hidden = sorted(p.name for p in failing.out.iterdir() if p.name.startswith("."))
    assert hidden == [".lock"]


def test_a_broken_workspace_is_one_line_and_exit_code_2(report_workspace, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    for config in report_workspace.root.glob("*.yaml"):
        shutil.copy2(config, ws / config.name)
    text = (ws / "workspace.yaml").read_text(encoding="utf-8")
    (ws / "workspace.yaml").write_text(
        text.replace("  base_suppress: 30", "  base_supress: 30"), encoding="utf-8")
    assert "base_supress" in (ws / "workspace.yaml").read_text(encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "vipquality.cli", "report", "--workspace", str(ws),
         "--out", str(tmp_path / "reports"), "--no-progress"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "workspace.yaml" in lines[0]
    assert "base_supress" in lines[0]
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.strip().splitlines() if "rror" in line]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.mark.parametrize("quarter", ["2026Q5", "../x"])
def test_a_malformed_quarter_is_refused_before_anything_runs(report_workspace, tmp_path, quarter):
    for command in (["report", "--out", str(tmp_path / "reports")], ["ingest"]):
        proc = subprocess.run(
            [sys.executable, "-m", "vipquality.cli", *command, "--workspace",
             str(report_workspace.root), "--quarter", quarter],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        line = _one_line_error(proc)
        assert "--quarter" in line and quarter in line
    assert not (tmp_path / "reports").exists()


def test_an_out_folder_that_cannot_be_written_is_one_line_and_exit_code_2(report_workspace,
                                                                          tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = subprocess.run(
        [sys.executable, "-m", "vipquality.cli", "report", "--workspace",
         str(report_workspace.root), "--out", str(blocker / "reports"), "--no-progress"],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    line = _one_line_error(proc)
    assert line.startswith("error: ") and str(blocker) in line


def test_a_page_cut_short_keeps_the_previous_quarter(report, report_workspace, tmp_path,
                                                     monkeypatch):
    """A page written short (a disk that filled up) stops the publication: the previous
    quarter stays byte for byte, and nothing of the failed run is left beside it."""
    import vipquality.report.build as build
    from vipquality.errors import ReportError

    out = tmp_path / "reports"
    previous = out / report.quarter
    shutil.copytree(report.folder, previous)
    before = {p.relative_to(previous): p.read_bytes() for p in previous.rglob("*") if p.is_file()}
    real = build.short_pages

    def cut_one_then_check(pages):
        pages = list(pages)
        index = next(p for p in pages if p.name == "index.html")
        index.write_bytes(index.read_bytes()[: index.stat().st_size // 2])
        return real(pages)

    monkeypatch.setattr(build, "short_pages", cut_one_then_check)
    with pytest.raises(ReportError, match="was not published.*index.html is cut off"):
        build_report(report_workspace.root, out=out, workers=2, progress=False)
    after = {p.relative_to(previous): p.read_bytes() for p in previous.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".lock")) == [
        report.quarter]


# --------------------------------------------------------------------------------------------
# in a browser


@pytest.fixture(scope="module")
def chromium() -> str:
    return browser.chromium()


def test_the_browser_check_sees_errors_and_blank_charts(chromium, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<html><body><div id="c1" class="plotly-graph-div"></div>'
                    "<script>undefinedFunction();</script></body></html>")
    load = browser.open_page(page, binary=chromium, budget_ms=2000)
    assert any("undefinedFunction" in e for e in load.js_errors), load.console
    assert browser.chart_render_problems(load.dom) == (1, ["c1: not rendered (no plotly svg "
                                                           "inside)"])


def test_pages_render_every_chart_in_chromium_without_errors(chromium, report):
    segments = sorted(report.folder.glob("segment-*.html"), key=lambda p: p.stat().st_size)
    for page in (report.folder / "index.html", segments[-1]):
        load = browser.open_page(page, binary=chromium)
        assert load.returncode == 0, load.stderr[-2000:]
        assert load.js_errors == [], (page.name, load.js_errors)
        n, problems = browser.chart_render_problems(load.dom)
        assert n == count_charts(page) > 0, page.name
        assert problems == [], (page.name, problems)


# --------------------------------------------------------------------------------------------
# the page design, as a reader sees it (issue 13)

WIDTHS = ((1400, 900), (390, 844))


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where the screenshots go: $VQ_ARTEFACTS when set (a CI artefact folder), else pytest's
    temporary folder (never the repository)."""
    folder = Path(os.environ.get("VQ_ARTEFACTS") or tmp_path_factory.mktemp("artefacts"))
    folder = folder / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_pages_read_at_1400_and_390_pixels(chromium, report, screenshots):
    """At a desktop and a phone width: the page never scrolls sideways (a wide table scrolls in
    its own box), nothing is drawn over a chart title, no two point labels collide, no console
    error, every chart drawn. Screenshots of the index and one segment page are kept."""
    from vipquality.report.run.chromium import browser as headless

    segment = report.folder / "segment-all.html"
    pages_ = [report.folder / "index.html", segment, report.folder / "standards_review.html"]
    with headless(chromium) as b:
        for width, height in WIDTHS:
            tab = b.new_tab(width, height)
            for page in pages_:
                assert tab.open(page), f"{page.name} at {width} px: a chart was not drawn"
                assert browser.layout_problems(tab) == [], (page.name, width)
                if page.name != "standards_review.html":
                    tab.screenshot(screenshots / f"{page.stem}-{width}.png")
            assert tab.errors() == [], width
    shots = sorted(p.name for p in screenshots.glob("*.png"))
    assert shots == sorted(f"{p.stem}-{w}.png" for p in pages_[:2] for w, _ in WIDTHS)
    print(f"screenshots in {screenshots}")


def test_index_opens_with_kpi_cards_and_every_dash_says_why(report):
    """KPI cards (value, interval, change, base) come before everything else on the index, and
    a blank cell of the quarter table carries its reason in a tooltip."""
    index = (report.folder / "index.html").read_text(encoding="utf-8")
    cards = index.index('class="vq-kpis"')
    body = index.index("<body")  # the stylesheet in the head names these classes too
    assert body < cards < index.index('class="vq-story"', body)
    assert cards < index.index('class="vq-table', body)
    for piece in ('class="vq-kpi-value"', 'class="vq-kpi-ci"', 'class="vq-kpi-base"',
                  "vs last quarter"):
        assert piece in index, piece
    dashes = re.findall(r"<td[^>]*>\u2013(?:<span[^>]*>[^<]*</span>)?</td>", index)
    assert all("title=" in d for d in dashes), [d for d in dashes if "title=" not in d][:3]


def _kpi_values(page: Path) -> list[str]:
    return re.findall(r'class="vq-kpi-value">([^<]+)<', page.read_text(encoding="utf-8"))


def test_board_pack_pdf(chromium, report, report_workspace, crm_extract, tmp_path):
    """board-pack.pdf: a PDF, one part per page group (index, then each segment), the index's
    headline numbers in its text, the quarter and page numbers in the footer, and none of the
    planted personal data."""
    pdf = report.folder / "board-pack.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-"), report.summary()
    assert not (report.folder / ".board-pack.html").exists()  # printed from, then removed
    text = browser.pdftotext(pdf)
    pages_ = text.rstrip("\f").split("\f")
    segments = _reported_segments(report_workspace.root)
    # the index takes 3 to 6 pages, each segment 2 to 4 (cards and story, four trends)
    assert 3 + 2 * len(segments) <= len(pages_) <= 6 + 4 * len(segments), len(pages_)
    for number, page in enumerate(pages_, start=1):
        assert f"Page {number} of {len(pages_)}" in page and report.quarter in page
    values = _kpi_values(report.folder / "index.html")
    assert len(values) == 4
    for value in values:
        assert value in text, value
    labels = {s.id: s.label for s in load_workspace(report_workspace.root).segments.segments}
    for segment in segments[1:]:  # every segment's part starts a page with its label
        assert any(p.lstrip().startswith(labels[segment]) for p in pages_), labels[segment]
    (tmp_path / "board-pack.txt").write_text(text, encoding="utf-8")
    assert _personal_problems(tmp_path, report_workspace.planted.strings(), crm_extract) == []

