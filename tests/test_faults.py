"""Faults (issue 6): processes killed mid-write, two runs at once, notebooks that raise, exit or
lose their kernel, and byte-identical outputs from the same inputs.

Kills are real: ``vipquality ingest`` / ``build_report`` run in a subprocess (its own process
group) that gets SIGKILL at a random moment, or at a chosen point of the commit (a patched move
that kills its own process). The report runs use tiny stand-in notebooks (same parameters as the
real ones, a few lines each) so that a run takes seconds; the shared tables, the executive CSVs
and the publication are the real ones.
"""

from __future__ import annotations

import csv
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from vipquality.config import load_workspace
from vipquality.data.ingest import ingest_quarter
from vipquality.data.store import StoreLock, load_responses
from vipquality.errors import StoreError

REPO = Path(__file__).resolve().parents[1]
SEED = int(os.environ.get("VQ_FAULT_SEED", "20260"))


# --------------------------------------------------------------------------------------------
# helpers


def snapshot(store: Path) -> dict[str, bytes]:
    """The store as readers see it: every file's bytes, without the lock files, the ingest log's
    time column (the time of the import) and an interrupted commit's staging area."""
    out = {}
    if not store.exists():
        return out
    for p in sorted(store.rglob("*")):
        rel = p.relative_to(store).as_posix()
        if not p.is_file() or rel.endswith(".lock") or rel.startswith(".txn/"):
            continue
        data = p.read_bytes()
        if rel == "ingest_log.csv":
            rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
            data = "\n".join(",".join(r[:-1]) for r in rows).encode()
        out[rel] = data
    return out


def spawn(code: str, *args: str) -> subprocess.Popen:
    """``python -c code args…`` in its own process group (so a kill reaches its children)."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, cwd=REPO, start_new_session=True)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate(timeout=60)


def cli(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vipquality.cli", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd=REPO)


# --------------------------------------------------------------------------------------------
# a generated workspace: two quarters, the first one ingested


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    from vipquality.data.sample import generate_sample

    root = tmp_path_factory.mktemp("faults") / "ws"
    root.mkdir()
    for config in (REPO / "surveys").glob("*.yaml"):
        shutil.copy2(config, root / config.name)
    generate_sample(root, quarters=2, responses_per_quarter=1200, visits_per_quarter=60,
                    clients=2500, formats={"survey": "csv", "clients": "csv", "visits": "csv"})
    ws = load_workspace(root)
    ingest_quarter(ws, ws.quarters()[0])
    return root


@pytest.fixture(scope="module")
def expected_after(workspace, tmp_path_factory) -> dict[str, bytes]:
    """The store after a clean import of the second quarter."""
    clean = tmp_path_factory.mktemp("clean") / "ws"
    shutil.copytree(workspace, clean)
    ws = load_workspace(clean)
    ingest_quarter(ws, ws.quarters()[1])
    return snapshot(ws.store_path)


def _copy(workspace: Path, dest: Path) -> Path:
    shutil.copytree(workspace, dest)
    return dest


def _check_before_or_after(root: Path, before, after) -> str:
    """The store after a kill: exactly before, exactly after, or an interrupted commit that
    readers refuse to read; then the next import recovers on its own and ends exactly after."""
    ws = load_workspace(root)
    store = ws.store_path
    state = snapshot(store)
    if (store / ".txn" / "plan.json").is_file():
        with pytest.raises(StoreError, match="interrupted"):
            load_responses(ws)
        seen = "committing"
    else:
        assert state in (before, after), "the store is neither as before nor as after the kill"
        seen = "before" if state == before else "after"
    ingest_quarter(ws, ws.quarters()[1])          # the next run, on its own
    assert snapshot(store) == after
    assert not (store / ".txn").exists()
    return seen


# --------------------------------------------------------------------------------------------
# ingest killed

INGEST = """
import sys
from vipquality.cli import main
sys.argv = ["vipquality", "ingest", "--workspace", sys.argv[1], "-q", sys.argv[2]]
print("started", flush=True)
main()
"""

INGEST_KILLED_AT_MOVE = """
import os, signal, sys
from vipquality.data.ingest import ingest_quarter
from vipquality.data.store import txn as _store
from vipquality.config import load_workspace
at, moves = int(sys.argv[3]), []
real = _store._move
def move(src, dst):
    moves.append(dst)
    if len(moves) == at:
        os.kill(os.getpid(), signal.SIGKILL)       # dies in the middle of the commit
    real(src, dst)
_store._move = move
ingest_quarter(load_workspace(sys.argv[1]), sys.argv[2])
"""


def test_ingest_killed_at_random_moments_leaves_the_store_before_or_after(
        workspace, expected_after, tmp_path):
    rng = random.Random(SEED)
    # how long a whole import takes here, to aim the kills inside it
    timing = _copy(workspace, tmp_path / "timing")
    t0 = time.monotonic()
    proc = spawn(INGEST, str(timing), load_workspace(timing).quarters()[1])
    assert proc.wait(timeout=600) == 0, proc.stderr.read()
    took = time.monotonic() - t0
    assert snapshot(timing / "store") == expected_after

    before = snapshot(workspace / "store")
    seen = []
    for i in range(4):
        root = _copy(workspace, tmp_path / f"kill{i}")
        proc = spawn(INGEST, str(root), load_workspace(root).quarters()[1])
        time.sleep(rng.uniform(0.3, took * 1.1))
        kill_group(proc)
        seen.append(_check_before_or_after(root, before, expected_after))
    assert seen  # which states were hit depends on timing; every one of them was checked


@pytest.mark.parametrize("at", [1, 3])
def test_ingest_killed_in_the_middle_of_its_commit_is_completed_by_the_next_run(
        workspace, expected_after, tmp_path, at):
    root = _copy(workspace, tmp_path / "ws")
    before = snapshot(root / "store")
    proc = spawn(INGEST_KILLED_AT_MOVE, str(root), load_workspace(root).quarters()[1], str(at))
    proc.communicate(timeout=600)
    assert proc.returncode == -signal.SIGKILL
    assert (root / "store" / ".txn" / "plan.json").is_file()     # really mid-commit
    assert _check_before_or_after(root, before, expected_after) == "committing"


def test_a_second_ingest_is_refused_with_a_clear_message(workspace, tmp_path):
    root = _copy(workspace, tmp_path / "ws")
    ws = load_workspace(root)
    before = snapshot(ws.store_path)
    with StoreLock(ws.store_path):                         # an import in progress
        proc = cli("ingest", "--workspace", str(root), "-q", ws.quarters()[1])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: another ingest is running on the store")
    assert snapshot(ws.store_path) == before


# --------------------------------------------------------------------------------------------
# the report: tiny notebooks, real tables, real publication

_SHOW = "from IPython.display import HTML, display\ndisplay(HTML('<h1>' + str({}) + '</h1>'))"
BROKEN = {"le_sme": "raise RuntimeError('raised on purpose')",
          "le_medium": "import sys\nsys.exit(3)",
          "private": "import os\nos._exit(9)  # the kernel dies"}


def _notebook(path: Path, params: str, body: list[str]) -> None:
    cell = new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[cell, *[new_code_cell(b) for b in body]])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def tiny_notebooks(folder: Path, broken: dict[str, str] | None = None) -> Path:
    """A stand-in for every notebook of the quarterly run: its parameters cell, one line of
    HTML, and, for segment.ipynb, the ``broken`` code for the segments named."""
    from vipquality.report.build import NOTEBOOKS_DIR

    folder.mkdir(parents=True)
    for real in sorted(NOTEBOOKS_DIR.glob("*.ipynb")):
        nb = nbformat.read(real, as_version=4)
        params = next(c.source for c in nb.cells
                      if "parameters" in c.get("metadata", {}).get("tags", []))
        body = [_SHOW.format(repr(real.stem))]
        if real.stem == "segment":
            body = [_SHOW.format("'segment ' + segment")]
            for segment, code in (broken or {}).items():
                body.append(f"if segment == {segment!r}:\n" + textwrap.indent(code, "    "))
        _notebook(folder / real.name, params, body)
    return folder


REPORT = """
import sys
from pathlib import Path
from vipquality.report.build import build_report
print("started", flush=True)
outcome = build_report(sys.argv[1], out=sys.argv[2], workers=2, progress=False,
                       notebooks=Path(sys.argv[3]))
print(outcome.summary(), flush=True)
"""

REPORT_KILLED_BETWEEN_RENAMES = """
import os, signal, sys
from pathlib import Path
from vipquality.report.run import publication
real = publication._rename
def rename(src, dst):
    # the executive quarter's swap (the restricted pages' own swap, in out/restricted/, is
    # the same code and comes first)
    if Path(src).name.startswith("." + Path(dst).name + ".staging") and \
            Path(dst).parent.resolve() == Path(sys.argv[2]).resolve():
        os.kill(os.getpid(), signal.SIGKILL)   # the old quarter is set aside, the new not in
    real(src, dst)
publication._rename = rename
from vipquality.report.build import build_report
build_report(sys.argv[1], out=sys.argv[2], workers=2, progress=False, notebooks=Path(sys.argv[3]))
"""


def folder_state(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def report_ws(workspace, tmp_path_factory) -> Path:
    """The workspace with both quarters ingested (reports read the store)."""
    root = tmp_path_factory.mktemp("rws") / "ws"
    shutil.copytree(workspace, root)
    ws = load_workspace(root)
    ingest_quarter(ws, ws.quarters()[1])
    return root


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory) -> Path:
    return tiny_notebooks(tmp_path_factory.mktemp("nb") / "notebooks")


@pytest.fixture(scope="module")
def first_report(report_ws, notebooks, tmp_path_factory):
    """A complete run: (reports folder, quarter, its published files, seconds it took)."""
    out = tmp_path_factory.mktemp("rep") / "reports"
    t0 = time.monotonic()
    proc = spawn(REPORT, str(report_ws), str(out), str(notebooks))
    stdout, stderr = proc.communicate(timeout=1200)
    assert proc.returncode == 0, stderr[-3000:]
    assert "complete" in stdout, stdout
    quarter = load_workspace(report_ws).quarters()[-1]
    return out, quarter, folder_state(out / quarter), time.monotonic() - t0


def _complete(folder: Path, reference: dict[str, bytes]) -> bool:
    """A finished run's folder: the same files as a complete run, the same executive CSVs."""
    state = folder_state(folder)
    if sorted(state) != sorted(reference):
        return False
    return all(state[k] == reference[k] for k in reference if k.endswith(".csv"))


def test_a_report_killed_at_random_moments_leaves_reports_before_or_after(
        report_ws, notebooks, first_report, tmp_path):
    reference_out, quarter, reference, took = first_report
    rng = random.Random(SEED + 1)
    out = tmp_path / "reports"
    shutil.copytree(reference_out, out)
    for i in range(3):
        before = folder_state(out / quarter)
        proc = spawn(REPORT, str(report_ws), str(out), str(notebooks))
        assert proc.stdout.readline().strip() == "started"
        time.sleep(rng.uniform(0.2, took))
        kill_group(proc)
        # what a reader of reports/ sees: the previous quarter untouched or a complete new one
        visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        assert quarter in visible, f"kill {i}: the quarter's folder is missing"
        now = folder_state(out / quarter)
        assert now == before or _complete(out / quarter, reference), f"kill {i}: in between"
    # the next run recovers on its own: no stale lock, no leftovers, a complete folder
    proc = spawn(REPORT, str(report_ws), str(out), str(notebooks))
    stdout, stderr = proc.communicate(timeout=1200)
    assert proc.returncode == 0, stderr[-3000:]
    assert _complete(out / quarter, reference)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".lock"]


def test_a_report_killed_between_the_renames_is_restored_by_the_next_run(
        report_ws, notebooks, first_report, tmp_path):
    """The one moment publication is not a single rename: the old quarter is set aside (hidden)
    and the new one not yet in place. A kill there leaves the old folder intact, hidden; the next
    run puts it back before anything else, then publishes."""
    reference_out, quarter, reference, _ = first_report
    out = tmp_path / "reports"
    shutil.copytree(reference_out, out)
    before = folder_state(out / quarter)
    proc = spawn(REPORT_KILLED_BETWEEN_RENAMES, str(report_ws), str(out), str(notebooks))
    proc.communicate(timeout=1200)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / quarter).exists()
    (aside,) = [p for p in out.iterdir() if p.name.startswith(f".{quarter}.old-")]
    assert folder_state(aside) == before                   # intact, only set aside

    from vipquality.report.run import new_staging, report_lock

    with report_lock(out):                                 # what the next run does first
        staging = new_staging(out / quarter)
    shutil.rmtree(staging)
    assert folder_state(out / quarter) == before
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".lock"]


def test_a_second_report_run_is_refused_naming_the_first(report_ws, tmp_path):
    from vipquality.report.run import report_lock

    out = tmp_path / "reports"
    with report_lock(out):
        proc = cli("report", "--workspace", str(report_ws), "--out", str(out), "--no-progress")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "being written by another vipquality report run" in line
    assert f"pid {os.getpid()}" in line
    assert sorted(p.name for p in out.iterdir()) == [".lock"]


# --------------------------------------------------------------------------------------------
# notebooks that fail, and the same inputs twice


@pytest.fixture(scope="module")
def broken_run(report_ws, tmp_path_factory):
    """``vipquality report`` (the command) with a segment notebook that raises for one segment,
    calls sys.exit for another and kills its kernel for a third."""
    nbs = tiny_notebooks(tmp_path_factory.mktemp("broken") / "notebooks", BROKEN)
    out = tmp_path_factory.mktemp("brep") / "reports"
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent("""
            import sys
            from pathlib import Path
            import vipquality.report.build as q
            from vipquality.cli import main
            real, stand_ins = q.build_report, Path(sys.argv[1])
            q.build_report = lambda *a, **k: real(*a, **{**k, "notebooks": stand_ins})
            sys.argv = ["vipquality", *sys.argv[2:]]
            main()
        """), str(nbs), "report", "--workspace", str(report_ws), "--out", str(out),
         "--workers", "2", "--no-progress"],
        capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL, cwd=REPO)
    return proc, out / load_workspace(report_ws).quarters()[-1]


def test_a_notebook_that_raises_exits_or_kills_its_kernel_fails_only_its_own_page(broken_run):
    proc, folder = broken_run
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout
    failed = [ln for ln in proc.stdout.splitlines() if ln.startswith("FAILED")]
    assert sorted(ln.split()[1] for ln in failed) == sorted(f"segment-{s}" for s in BROKEN)
    lines = {ln.split()[1]: ln for ln in failed}
    assert "RuntimeError: raised on purpose" in lines["segment-le_sme"]
    assert "SystemExit" in lines["segment-le_medium"]
    assert "DeadKernelError" in lines["segment-private"] or "died" in lines["segment-private"]
    published = sorted(p.name for p in folder.glob("*.html"))
    for s in BROKEN:
        assert f"segment-{s}.html" not in published
    assert {"index.html", "standards_review.html", "segment-all.html",
            "segment-premium.html", "segment-luxury.html"} <= set(published)
    assert (folder / "metrics.csv").is_file() and (folder / "run.json").is_file()
    kept = folder.parent / "_failed" / folder.name
    assert {p.stem for p in kept.glob("*.ipynb")} >= {"segment-le_sme", "segment-le_medium"}


@pytest.fixture(scope="module")
def second_report(report_ws, notebooks, first_report, tmp_path_factory) -> dict[str, bytes]:
    _, quarter, _, _ = first_report
    out = tmp_path_factory.mktemp("again") / "reports"
    proc = spawn(REPORT, str(report_ws), str(out), str(notebooks))
    _, stderr = proc.communicate(timeout=1200)
    assert proc.returncode == 0, stderr[-3000:]
    return folder_state(out / quarter)


def test_the_same_inputs_give_byte_identical_metrics(first_report, second_report, broken_run):
    """The executive CSVs are byte-identical across runs, whatever the notebooks did."""
    _, _, reference, _ = first_report
    broken = folder_state(broken_run[1])
    tidy = [k for k in reference if k.endswith(".csv")]
    assert {"metrics.csv", "metrics_by_branch.csv", "standards_compliance.csv"} <= set(tidy)
    for name in tidy:
        assert second_report[name] == reference[name], name
        assert broken[name] == reference[name], name


def test_the_same_inputs_give_byte_identical_proposals(first_report, second_report):
    _, _, reference, _ = first_report
    for name in ("standards_proposals.csv", "standards_proposals.md"):
        assert name in reference, f"the run wrote no {name}"
        assert second_report[name] == reference[name], name
