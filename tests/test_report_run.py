"""The report run machinery: papermill in a process pool, code-free offline HTML, atomic publish.

Only the module-scoped ``run`` fixture starts kernels (four notebooks, two workers, ~10 s);
everything else works on files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from vipquality.errors import ReportError
from vipquality.report.run import NotebookJob, new_staging, publish, report_lock, run_notebooks
from vipquality.report.run import jobs as run_jobs
from vipquality.report.run import kernels as run_kernels
from vipquality.report.run import pool as run_pool
from vipquality.report.run import publication as run_publication
from vipquality.report.run.export import check_html, count_charts, export_html, ship_plotly_js
from vipquality.report.run.manifest import write_manifest

NOTEBOOKS = Path(__file__).parent / "notebooks"
REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------
# a real run: two good notebooks with different parameters, one raising, one killing its kernel


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    jobs = [
        NotebookJob("seg-a", NOTEBOOKS / "good.ipynb",
                    {"segment": "Private Banking", "value": 3.0}, "seg-a.html"),
        NotebookJob("seg-b", NOTEBOOKS / "good.ipynb",
                    {"segment": "Wealth", "quarter": "2026Q3"}, "seg-b.html", restricted=True),
        NotebookJob("failing", NOTEBOOKS / "failing.ipynb", {"segment": "Retail"}, "failing.html"),
        NotebookJob("exits", NOTEBOOKS / "exits.ipynb", {}, "exits.html"),
    ]
    return run_notebooks(jobs, out, workers=2, timeout=120, progress=False)


def test_run_reports_every_notebook_in_job_order(run):
    assert [r.name for r in run.notebooks] == ["seg-a", "seg-b", "failing", "exits"]
    assert [r.status for r in run.notebooks] == ["ok", "ok", "failed", "failed"]
    assert not run.ok
    assert all(r.duration > 0 for r in run.notebooks)
    summary = run.summary()
    assert summary.startswith("2 of 4 notebook(s) ok, 2 failed")
    assert "FAILED  failing" in summary and "at cell 3 (In [4])" in summary


def test_pages_are_offline_code_free_and_draw_their_chart(run):
    a, b = run["seg-a"], run["seg-b"]
    assert a.html == Path("seg-a.html") and b.html == Path("restricted/seg-b.html")
    for result in (a, b):
        page = run.out_dir / result.html
        assert check_html(page, charts=1) == []
        assert result.charts == 1
        text = page.read_text(encoding="utf-8")
        # no code, no set-up cell (tag remove-cell), no papermill parameter cells, no stderr
        for absent in ("CODE-MARKER", "SETUP-CELL", "SETUP-OUTPUT", "STDERR-NOISE",
                       "injected-parameters", "value = 1.0", "hl-ipython3", "In&nbsp;["):
            assert absent not in text, absent
        # plotly.js shipped beside the page, loaded relatively; no CDN, require.js or MathJax
        assert '<script src="plotly.min.js"></script>' in text
        assert "cdn" not in text.lower() and "require.js" not in text and "MathJax" not in text
        assert '"showSendToCloud": false' in text
        assert 'id="vq-fig-1"' in text and 'id="vq-fig-2"' not in text  # stable chart ids
        shipped = page.parent / "plotly.min.js"
        assert shipped.read_text(encoding="utf-8") == ship_plotly_js(run.out_dir).read_text(
            encoding="utf-8")


def test_parameters_are_injected(run):
    a = (run.out_dir / "seg-a.html").read_text(encoding="utf-8")
    b = (run.out_dir / "restricted/seg-b.html").read_text(encoding="utf-8")
    assert "Segment Private Banking, quarter 2000Q1, value 3.0" in a
    assert "Chart for Private Banking" in a
    assert "Segment Wealth, quarter 2026Q3, value 1.0" in b
    assert run["seg-b"].parameters == {"segment": "Wealth", "quarter": "2026Q3"}


def test_failures_name_cell_and_error_and_keep_the_executed_notebook(run):
    failing = run["failing"]
    # source cells: title, parameters, `x = 1`, the raise (index 3); executed, papermill's
    # injected-parameters cell comes before it, so it ran as In [4]
    assert (failing.cell_index, failing.exec_count) == (3, 4)
    assert (failing.ename, failing.evalue) == ("ValueError", "broken on purpose for Retail")
    assert failing.failed_notebook == Path("_failed/failing.ipynb")
    kept = nbformat.read(run.out_dir / failing.failed_notebook, as_version=4)
    assert any(o.get("ename") == "ValueError" for c in kept.cells for o in c.get("outputs", []))
    assert not (run.out_dir / "failing.html").exists()

    exits = run["exits"]
    assert exits.ename == "DeadKernelError"
    source = nbformat.read(NOTEBOOKS / "exits.ipynb", as_version=4)
    assert "os._exit" in source.cells[exits.cell_index].source
    assert not (run.out_dir / "exits.html").exists()
    assert sorted(p.name for p in (run.out_dir / "_failed").iterdir()) == [
        "exits.ipynb", "failing.ipynb"]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_page_draws_its_chart_in_a_browser_with_no_network(run):
    page = (run.out_dir / "restricted/seg-b.html").resolve()
    browser = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--proxy-server=127.0.0.1:9",  # any http(s) fetch fails: the page must not need one
         "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert 'class="main-svg"' in browser.stdout  # plotly.js drew the chart
    console = [line for line in browser.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []


# --------------------------------------------------------------------------------------------
# the pieces, without kernels


def _fake_executed_notebook() -> nbformat.NotebookNode:
    setup = new_code_cell("import secret_setup", outputs=[
        new_output("stream", name="stdout", text="HIDDEN-SETUP\n")])
    setup.metadata["tags"] = ["remove-cell"]
    code = new_code_cell("print('SECRET-CODE')", execution_count=2, outputs=[
        new_output("stream", name="stdout", text="visible result\n"),
        new_output("stream", name="stderr", text="FutureWarning: noise\n"),
        new_output("display_data", data={
            "text/html": '<div id="vq-fig-1" class="plotly-graph-div"></div>',
            "application/vnd.plotly.v1+json": {"data": [], "layout": {}},
        }),
    ])
    return new_notebook(cells=[new_markdown_cell("# Title $x^2$"), setup, code])


def test_export_drops_code_prompts_tagged_cells_and_cdn_scripts(tmp_path):
    nb = _fake_executed_notebook()
    page = export_html(nb, tmp_path / "sub" / "page.html", title="Fixture")
    text = page.read_text(encoding="utf-8")
    assert "visible result" in text and "<title>Fixture</title>" in text
    for absent in ("SECRET-CODE", "secret_setup", "HIDDEN-SETUP", "FutureWarning", "In&nbsp;[2]"):
        assert absent not in text, absent
    assert check_html(page, charts=1) == []
    assert (tmp_path / "sub" / "plotly.min.js").exists()
    assert count_charts(page) == 1
    assert nb.cells[2].outputs[1]["name"] == "stderr"  # the caller's notebook is not changed


def test_check_html_names_each_problem(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(textwrap.dedent("""\
        <html><head>
        <script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.js"></script>
        <script src="//cdn.plot.ly/plotly.min.js"></script>
        <script src="missing.js"></script>
        <link rel="stylesheet" href="http://example.org/a.css">
        <script type="module">import "https://cdn.example.org/x.js"</script>
        </head><body>
        <div class="jp-InputArea jp-Cell-inputArea"><div class="jp-InputPrompt">In [1]:</div>
        <div class="jp-CodeMirrorEditor jp-Editor jp-InputArea-editor">x = 1</div></div>
        <div class="jp-RenderedText" data-mime-type="application/vnd.jupyter.stderr">Traceback</div>
        <div class="plotly-graph-div"></div><div class="plotly-graph-div"></div>
        </body></html>"""), encoding="utf-8")
    problems = "\n".join(check_html(page, charts=3))
    assert "loads a script from the network: https://cdnjs" in problems
    assert "loads a script from the network: //cdn.plot.ly" in problems
    assert "not beside the page: missing.js" in problems
    assert "stylesheet from the network" in problems
    assert "import code from the network" in problems
    assert "shows code" in problems
    assert "error or stderr" in problems
    assert "has 2 plotly chart(s), expected 3" in problems


def test_kernel_setup_renders_offline_charts_with_stable_ids():
    go = pytest.importorskip("plotly.graph_objects")
    import plotly.io as pio

    before = pio.renderers.default
    try:
        exec(run_kernels.KERNEL_SETUP, {})
        assert pio.renderers.default == "vipquality"
        bundle = pio.renderers._build_mime_bundle(go.Figure(go.Bar(x=[1], y=[2])).to_dict())
        html = bundle["text/html"]
        assert 'id="vq-fig-1"' in html and "Plotly.newPlot" in html
        assert "<script src" not in html and "cdn" not in html.lower()
        assert "application/vnd.plotly.v1+json" in bundle  # JupyterLab still draws it
        # the title and subtitle are HTML above the chart (they wrap; no legend covers them)
        titled = go.Figure(layout={"title": {"text": "NPS", "subtitle": {"text": "n=12"}}})
        html = pio.renderers._build_mime_bundle(titled.to_dict())["text/html"]
        assert html.startswith('<figure class="vq-chart"><h3 class="vq-chart-title">NPS</h3>'
                               '<p class="vq-chart-sub">n=12</p><div')
        assert 'id="vq-fig-2"' in html and html.endswith("</figure>")
    finally:
        pio.renderers.default = before


def test_a_kernel_that_never_starts_is_retried_once(tmp_path, monkeypatch):
    import papermill

    calls = []

    def fake_execute(input_path, output_path, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:  # like a port collision: nothing written, no cell ran
            raise RuntimeError("Kernel didn't respond in 60 seconds")
        nbformat.write(_fake_executed_notebook(), output_path)

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    monkeypatch.setattr(run_pool.time, "sleep", lambda s: None)
    settings = run_kernels._Settings(str(tmp_path / "out"), str(tmp_path), "setup.py", 60, 5,
                                     "python3")
    job = NotebookJob("seg", NOTEBOOKS / "good.ipynb", {"segment": "X"}, "seg.html")
    result = run_pool._run_one(job, settings)
    assert (result.status, result.attempts, result.charts) == ("ok", 2, 1)
    assert calls[0]["start_timeout"] == 5 and calls[0]["execution_timeout"] == 60
    assert "--IPKernelApp.exec_files=setup.py" in calls[0]["extra_arguments"]

    calls.clear()
    monkeypatch.setattr(papermill, "execute_notebook",
                        lambda *a, **k: calls.append(k) or (_ for _ in ()).throw(
                            RuntimeError("Kernel died before replying to kernel_info")))
    result = run_pool._run_one(job, settings)
    assert (result.status, result.attempts, len(calls)) == ("failed", 2, 2)
    assert (result.ename, result.cell_index) == ("RuntimeError", None)


def test_two_workers_start_a_kernel_ahead_and_count_it_in_the_notebook_time(run):
    # run_notebooks opens a NotebookPool: each worker starts one kernel before its first job
    ahead = [r for r in run.notebooks if r.kernel_prestarted > 0]
    assert 1 <= len(ahead) <= 2
    assert all(r.duration > r.kernel_prestarted for r in ahead)


def test_a_pool_gets_ready_before_the_jobs_and_leaves_no_kernel_behind(tmp_path):
    psutil = pytest.importorskip("psutil")
    with run_pool.NotebookPool(workers=1, timeout=120, kernel_cwd=NOTEBOOKS,
                               preload=["json", "no_such_module_xyz"]) as pool:
        scratch = pool.settings.scratch
        assert "no_such_module_xyz" in Path(pool.settings.setup_file).read_text()
        result = pool.run([NotebookJob("seg", NOTEBOOKS / "good.ipynb", {"segment": "X"},
                                       "seg.html")], tmp_path / "out", progress=False)
        with pytest.raises(ReportError, match="one set of jobs"):
            pool.run([], tmp_path / "out2", progress=False)
    r = result["seg"]
    assert r.ok and r.charts == 1, r.describe()  # a preload that fails to import is harmless
    assert 0 < r.kernel_prestarted < r.duration
    assert not Path(scratch).exists()
    left = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(scratch in (arg or "") for arg in (proc.info["cmdline"] or [])):
            left.append(proc.pid)
    assert not left, f"kernels of the closed pool still running: {left}"


def test_kernels_talk_over_private_unix_sockets_not_tcp_ports(tmp_path):
    # Over TCP two kernels started together could pick the same free port (jupyter_client
    # closes it before the kernel binds it): the loser's heartbeat thread then died with
    # "Address already in use" and a traceback in a successful run's log (CI, stop 21).
    nb = new_notebook(cells=[
        new_code_cell("segment = 'X'", metadata={"tags": ["parameters"]}),
        new_code_cell("import json, ipykernel.connect as c\n"
                      "info = json.loads(c.get_connection_info())\n"
                      "print('TRANSPORT', info['transport'], 'IP', info['ip'])"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, tmp_path / "where.ipynb")
    jobs = [NotebookJob(f"k{i}", tmp_path / "where.ipynb", {"segment": str(i)}, f"k{i}.html")
            for i in range(3)]
    with run_pool.NotebookPool(workers=2, timeout=120, kernel_cwd=tmp_path) as pool:
        result = pool.run(jobs, tmp_path / "out", progress=False)
    sockets = []
    for job in jobs:
        assert result[job.name].ok, result[job.name].describe()
        text = (tmp_path / "out" / f"{job.name}.html").read_text(encoding="utf-8")
        found = re.search(r"TRANSPORT (\S+) IP (\S+)", text)
        assert found and found[1] == "ipc", text[-2000:]
        assert len(found[2]) < 80  # a Unix socket's path is limited to about 100 bytes
        sockets.append(Path(found[2]))
    # one private folder per kernel (a kernel started ahead and kernels started per job)
    assert len({s.parent for s in sockets}) == 3
    # removed with their kernels
    assert not any(s.parent.exists() for s in sockets)


POOL_KILLED = """
import os, signal, sys
from pathlib import Path
from vipquality.report.run import NotebookPool
if __name__ == "__main__":
    pool = NotebookPool(workers=2, timeout=60, kernel_cwd=Path(sys.argv[1]))
    for f in pool._warming:
        f.result()
    print(pool.settings.scratch, *[p.pid for p in pool._pool._processes.values()], flush=True)
    os.kill(os.getpid(), signal.SIGKILL)   # the run's main process alone is killed
"""


def test_workers_and_their_kernels_exit_when_the_run_is_killed(tmp_path):
    psutil = pytest.importorskip("psutil")
    script = tmp_path / "killed.py"
    script.write_text(POOL_KILLED)
    proc = subprocess.Popen([sys.executable, str(script), str(NOTEBOOKS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # returns only once every holder of the pipes (the workers, their kernels) is gone
    stdout, _ = proc.communicate(timeout=120)
    scratch, *pids = stdout.split()
    assert len(pids) == 2
    for _ in range(100):
        alive = [p.pid for p in psutil.process_iter(["cmdline"])
                 if int(p.pid) in map(int, pids)
                 or any(scratch in (a or "") for a in (p.info["cmdline"] or []))]
        if not alive:
            break
        import time
        time.sleep(0.1)
    assert not alive, f"still running after the run was killed: {alive}"


def test_jobs_start_longest_first_by_expected_time():
    jobs = [NotebookJob(n, NOTEBOOKS / "good.ipynb") for n in ("a", "b", "c", "d")]
    order = [j.name for j in run_pool.longest_first(jobs, {"a": 1.0, "b": 9.0, "d": 3.0})]
    assert order == ["c", "b", "d", "a"]  # no estimate first, then longest first
    assert [j.name for j in run_pool.longest_first(jobs)] == ["a", "b", "c", "d"]


def test_previous_durations_come_from_the_last_published_run(tmp_path):
    from vipquality.report.build import previous_durations

    assert previous_durations(tmp_path / "none", "2026Q3") == {}
    for quarter, seconds in (("2026Q1", 1.0), ("2026Q2", 2.0)):
        (tmp_path / quarter).mkdir()
        (tmp_path / quarter / "run.json").write_text(json.dumps({"notebooks": [
            {"name": "summary", "status": "ok", "duration": seconds},
            {"name": "staff", "status": "failed", "duration": 0.5}]}))
    assert previous_durations(tmp_path, "2026Q3") == {"summary": 2.0}  # the latest quarter
    assert previous_durations(tmp_path, "2026Q1") == {"summary": 1.0}  # the same quarter


def test_jobs_are_checked_before_anything_starts(tmp_path):
    jobs = [NotebookJob("a", NOTEBOOKS / "good.ipynb", {}, "a.html"),
            NotebookJob("a", NOTEBOOKS / "nope.ipynb", {}, "../a.html")]
    with pytest.raises(ReportError) as info:
        run_notebooks(jobs, tmp_path / "out", progress=False)
    message = str(info.value)
    assert "used twice" in message and "nope.ipynb does not exist" in message
    assert "html_name '../a.html'" in message
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------
# atomic publication and the lock


def _quarter(path: Path, page: str) -> Path:
    path.mkdir(parents=True)
    (path / page).write_text(page, encoding="utf-8")
    return path


def _names(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_publish_replaces_a_quarter_and_leaves_nothing_behind(tmp_path):
    reports = tmp_path / "reports"
    final = _quarter(reports / "2026Q3", "old.html")
    with report_lock(reports):
        staging = new_staging(final)
        assert staging.parent == reports and staging.name.startswith(".2026Q3.staging-")
        (staging / "new.html").write_text("new", encoding="utf-8")
        publish(staging, final)
    assert _names(final) == ["new.html"]
    assert _names(reports) == [".lock", "2026Q3"]

    # a first publication (no old quarter) works too, and takes the lock by itself
    with report_lock(reports):
        staging = new_staging(reports / "2026Q4")
    (staging / "q4.html").write_text("q4", encoding="utf-8")
    publish(staging, reports / "2026Q4")
    assert _names(reports / "2026Q4") == ["q4.html"]


def test_a_crash_between_the_renames_keeps_the_old_quarter(tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    final = _quarter(reports / "2026Q3", "old.html")
    real_rename = os.rename
    calls = []

    def crashing_rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # old set aside, new about to be renamed in
            raise OSError("simulated crash")
        real_rename(src, dst)

    with report_lock(reports):
        staging = new_staging(final)
        (staging / "new.html").write_text("new", encoding="utf-8")
        monkeypatch.setattr(run_publication, "_rename", crashing_rename)
        with pytest.raises(OSError, match="simulated crash"):
            publish(staging, final)
        monkeypatch.setattr(run_publication, "_rename", real_rename)
    assert _names(final) == ["old.html"]
    assert not [p for p in reports.iterdir() if ".old-" in p.name]

    # the next run cleans the leftover staging folder and replaces the quarter
    with report_lock(reports):
        staging = new_staging(final)
        assert _names(reports) == sorted([".lock", staging.name, "2026Q3"])
        (staging / "new.html").write_text("new", encoding="utf-8")
        publish(staging, final)
    assert _names(final) == ["new.html"]


def test_a_run_killed_between_the_renames_is_repaired_by_the_next_run(tmp_path):
    reports = tmp_path / "reports"
    # what SIGKILL right after the first rename leaves: no quarter, the old one aside, staging
    _quarter(reports / ".2026Q3.old-4242-0badcafe", "old.html")
    _quarter(reports / ".2026Q3.staging-4242-0badcafe", "half.html")
    _quarter(reports / ".2026Q2.staging-4242-deadbeef", "half.html")
    with report_lock(reports):
        staging = new_staging(reports / "2026Q3")
    assert _names(reports / "2026Q3") == ["old.html"]
    assert _names(reports) == sorted([".lock", staging.name, "2026Q3"])


def test_publish_refuses_a_staging_folder_elsewhere(tmp_path):
    staging = _quarter(tmp_path / "elsewhere", "x.html")
    with pytest.raises(ReportError, match="must be in"):
        publish(staging, tmp_path / "reports" / "2026Q3")


def test_a_second_run_on_the_same_reports_is_refused(tmp_path):
    reports = tmp_path / "reports"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""\
            import sys, time
            from vipquality.report.run import report_lock
            with report_lock({str(reports)!r}):
                print("locked", flush=True)
                time.sleep(60)
            """)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ReportError, match=r"another vipquality report run \(pid \d+"):
            with report_lock(reports):
                pass
        staging = _quarter(reports / ".2026Q3.staging-1-00000000", "x.html")
        with pytest.raises(ReportError, match="another vipquality report run"):
            publish(staging, reports / "2026Q3")
    finally:
        holder.kill()
        holder.wait()
    with report_lock(reports):  # the lock died with its holder
        with pytest.raises(ReportError, match="another vipquality report run"):
            with report_lock(reports):  # and a nested run in the same process is refused too
                pass


def test_new_staging_needs_the_lock(tmp_path):
    with pytest.raises(ReportError, match="report_lock"):
        new_staging(tmp_path / "reports" / "2026Q3")


# --------------------------------------------------------------------------------------------
# run.json


def test_manifest_records_what_the_run_ran_on(tmp_path):
    started = datetime(2026, 10, 5, 6, 0, tzinfo=timezone.utc)
    result = run_jobs.NotebookResult("seg-a", "ok", 1.5, {"segment": "Private"},
                                     html=Path("seg-a.html"), charts=4)
    path = write_manifest(
        tmp_path / "run.json", package_version="0.1.0", workspace=Path("surveys"),
        data_fingerprint="sha256:abc", parameters={"quarter": "2026Q3", "min_base": 30},
        started=started, finished=started + timedelta(seconds=75), notebooks=[result],
    )
    text = path.read_text(encoding="utf-8")
    record = json.loads(text)
    assert list(record) == sorted(record)
    assert record["package_version"] == "0.1.0" and record["workspace"] == "surveys"
    assert record["data_fingerprint"] == "sha256:abc"
    assert record["parameters"] == {"min_base": 30, "quarter": "2026Q3"}
    assert record["started"] == "2026-10-05T06:00:00+00:00" and record["duration_seconds"] == 75
    assert record["notebooks"][0]["html"] == "seg-a.html"
    assert record["notebooks"][0]["parameters"] == {"segment": "Private"}
    assert record["environment"]["papermill"] and record["environment"]["nbconvert"]


def test_scratch_folders_of_killed_runs_are_removed_and_live_ones_kept(tmp_path):
    import os
    import subprocess

    from vipquality.report.run.pool import _clean_stale_scratch

    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = tmp_path / f"vipquality-run-{gone.pid}-abc"
    alive = tmp_path / f"vipquality-run-{os.getpid()}-def"
    other = tmp_path / "vipquality-run-xyz"                 # not ours to judge: kept
    for folder in (dead, alive, other):
        (folder / "sub").mkdir(parents=True)
    assert _clean_stale_scratch(str(tmp_path)) == [dead.name]
    assert not dead.exists() and alive.is_dir() and other.is_dir()
