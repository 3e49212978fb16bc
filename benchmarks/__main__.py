"""``python -m benchmarks``: run every benchmark and write ``benchmarks/RESULTS.md``.

Options: ``--sizes 100000,1000000,10000000`` (metric engine), ``--only metrics,bootstrap,...``,
``--repeat 3``, ``--out PATH``. Sections: metrics, bootstrap, spark, quarterly, ingest, themes.
"""

from __future__ import annotations

import argparse
import time
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path

from ._common import Section, log, machine

SECTIONS = ("metrics", "bootstrap", "spark", "quarterly", "ingest", "themes")

#: What to do about a missed target, per section (written only when that section misses one).
PLANS = {
    "Metric engine (summarise)": """\
- Done (issue 5): the value checks run inside the DuckDB aggregation pass
  (`vipquality/metrics/sufficient/`: one extra per-group count of rejected rows — off-scale or
  non-integer answers, missing/negative weights, results other than yes/no/na, negative item
  weights, `COUNT(*) − COUNT(DISTINCT item_id)` for items checked twice in a visit); the
  pandas checks run only when that count is non-zero, so the error still names the first bad
  row and column. The frames are registered as they are (no column subset copy, no `result`
  cast, no `duplicated`); missing results/weights/critical flags are mapped in SQL. Pairwise
  and "answered" sums use NULL-propagating arithmetic (`x + 0 * y`, same bits). The quarter
  parsing of the change step works on the distinct quarters only.
- Remaining if the ratio misses on a loaded machine: the checks cost ~10 % of the responses
  query and the distinct count ~80 ms per 2 M checks (measured at 1 M); the per-group tail
  (`summarise_stats`: estimates, change, Holm; `_finish`) is ~0.3 s whatever the rows. Next
  levers: one integer group id instead of four string keys (10–40 % of the query, but the
  factorisation must happen inside DuckDB to pay off), and skipping the integrality test for
  integer-typed NPS/CES columns. The Spark engine still checks in pandas before shipping.
- Times at 100 k are dominated by the per-group tail, hence ratios above 1.5× there; the
  targets are set at 10 M.""",
    "CSI bootstrap": """\
- Done (issue 5): `vipquality.metrics.drivers._bootstrap_counts` draws the exact multinomial
  (nonparametric) resamples as uint16 row indices counted per resample with `bincount`
  straight into a float32 count matrix (no int64 index matrix, no flattened `bincount`, no
  float64 copy); `csi` computes all resample sums with one float32 product of the count
  matrix with [ratings | rated | importance | importance rated] (exact for integer ratings:
  every partial sum is an integer below 2^24; non-integer ratings keep float64); the new
  `vipquality.metrics.csi.csi_by_group` runs the groups of one table on a thread pool (numpy
  releases the GIL in the draws and the products) with one seed spawned per group, and the
  benchmark uses it. Poisson(1) counts from a 16-bit inverse-CDF table were tried: ~25 %
  faster to draw in isolation, but the same CPU time end to end (2.8 s vs 3.0 s for the 20
  groups, interleaved), and they would have changed the scheme (and fail for tiny groups,
  where a resample can be empty), so the exact bootstrap was kept.
- Measured 2026-11-23 on the shared machine: the 20 groups cost ~2.7–3.0 s of CPU in total
  (was ~5.7 s); the same serial work took 1.36 s wall in a quiet moment and 2.6–5.3 s under
  load (load average 3.5–4.5 on 2 cores), so the < 2 s target is met on an idle machine and
  missed when other sessions hold the cores. Compare with the loop baseline of the same run
  (0.17 s per 100 resamples when the target was set; 0.42–0.64 s in the loaded runs).
- Remaining: the draws (index generation and per-resample `bincount`) are ~¾ of the CPU; a
  compiled kernel drawing counts and accumulating the sums in one pass (numba or a C
  extension) is the next step, or the delta-method interval of `summarise` for report tables
  with the bootstrap kept for a single group's reference figure.""",
    "Quarterly run and pages": """\
- Done (issue 5; `vipquality/report/run/`, `report/build.py`, `report/data.py`): the notebook
  workers start right after the workspace is loaded (`NotebookPool`) and get ready while the
  shared tables are computed: papermill and nbconvert imported, the HTML exporter warmed, one
  kernel each started with `vipquality` and `vipquality.report.pages` already imported (that start
  is counted in its notebook's time); the jobs go in longest first by the previous
  `run.json` (static order, summary and segment-all first, without one); the executive CSVs
  and the data fingerprint are written while the notebooks run. No process of the run imports
  `rfc3987_syntax` any more (pulled in by nbformat → jsonschema, ~1 s of CPU per process: the
  main process no longer imports nbformat, the workers block that one optional import). The
  shared step lost the ordinal cross-check of the key drivers (shown on no page and in no
  CSV; `compute_report_data(ordinal=False)` in the run, still the default elsewhere), runs the
  compliance of every quarter × segment in one call instead of ~80, and imports
  `statsmodels.regression` instead of `statsmodels.api`: 6.7 → ~3.7 s alone.
- `import vipquality` no longer imports the whole package (public names load on first use),
  and the run imports pandas, scipy and statsmodels only after starting its workers, which
  never load them: the workers start ~1 s earlier and spend ~1 s less CPU each while the
  shared tables are computed.
- Left, if the ratio is missed on a loaded machine: what still runs before the first notebook
  is the shared step (three `summarise` groupings could come from one statistics pass, plan (4),
  in `summarise.py`). A notebook itself is ~60 % fixed cost (kernel start with the package
  import, reading the shared tables); cutting it shortens the run but raises this ratio.""",
    "Ingest": """\
- Done (owner of `vipquality/ingest` and `vipquality/privacy.py`): comments are scrubbed once per
  distinct non-empty comment, each costly step only when a cheap test (a digit or `@`, an id
  token, a letter run of the name set, an inner word of an address) says it can change it;
  plain UTF-8 CSV exports are read in blocks with `pyarrow.csv.open_csv`, validated per block,
  de-duplicated through a dictionary of ids and content hashes, staged to a Parquet writer and
  written sorted by id in pieces; the former fixed 4.5 GB "peak" was `ru_maxrss` inheriting
  the benchmark parent's peak (now `VmHWM`).
- Left: the peak still grows with the rows (ids, hashes, sorting keys; about 0.6 GB per
  million rows): an id dictionary in Arrow/NumPy instead of Python objects and an external
  sort would flatten it; legacy-encoded CSV, Excel and survey-tool exports are still read
  whole.""",
}


METHOD = [
    "- Times are wall-clock medians of interleaved runs (contender and baseline alternate, so a "
    "change of load hits both); the naive baseline runs once and is compared with the "
    "`summarise` runs just before and after it.",
    "- Memory of `summarise`: peak resident memory above the level at the call (psutil, sampled "
    "every 2 ms: it sees DuckDB's and Arrow's allocations, which tracemalloc does not), against "
    "`memory_usage(deep=True)` of the responses and visits frames. Ingest memory: `VmHWM` "
    "(peak resident set) of the ingest process, read from /proc in the process itself "
    "(`ru_maxrss` would carry over the benchmark parent's peak through fork and exec).",
    "- Data: `vipquality.data.sample.generate_responses`, generated in chunks of one million "
    "(seed + chunk) and cached as Parquet; checklist checks drawn over the same groups, one per "
    "five responses (2 million at 10 million responses). The 10 million case ran in full.",
    "- Quarterly run on the 1-million-response workspace: `generate_sample(quarters=8, "
    "responses_per_quarter=125_000)` (the sample's 6,000 clients, visits and formats), ingested "
    "once with `vipquality ingest --all` and cached in the benchmark cache; then `vipquality "
    "report` into a fresh folder, timed as a separate process like the sample run.",
]


def _table(sections: list[Section]) -> list[str]:
    rows = ["| section | figure | value | baseline (same run) | target | result |",
            "|---|---|---|---|---|---|"]
    for sec in sections:
        for f in sec.figures:
            res = {True: "pass", False: "**MISS**", None: "—"}[f.ok]
            cells = [sec.title, f.name, f.value, f.baseline, f.target, res]
            rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return rows


def write_results(path: Path, sections: list[Section], started: datetime, wall: float,
                  machine_lines: list[str], args: argparse.Namespace) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python -m benchmarks` (`make bench`) on {started:%Y-%m-%d %H:%M} UTC; the "
        f"whole run took {wall / 60:.1f} min. Command-line options: sizes "
        f"{', '.join(f'{n:,}' for n in args.sizes)}; repeat {args.repeat}; sections "
        f"{', '.join(args.only)}.",
        "",
        "## Machine",
        "",
        *machine_lines,
        "",
        "## Method",
        "",
        *METHOD,
        "",
        "## Figures against baselines and targets",
        "",
        *_table(sections),
        "",
    ]
    for sec in sections:
        extra = [f.note for f in sec.figures if f.note]
        if not (sec.notes or extra or sec.profiles):
            continue
        lines += [f"## {sec.title}", ""]
        lines += [f"- {n}" for n in sec.notes]
        lines += [f"- {f.name}: {f.note}" for f in sec.figures if f.note]
        lines.append(f"- Section time: {sec.seconds:.0f} s")
        lines.append("")
        missed = any(f.ok is False for f in sec.figures)
        for what, text in sec.profiles.items():
            lines += [f"### Profile (pyinstrument): {what}", "", "```", text, "```", ""]
        if missed and sec.title in PLANS:
            lines += ["### Plan", "", PLANS[sec.title], ""]
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000,10000000",
                        type=lambda s: [int(x) for x in s.split(",") if x])
    parser.add_argument("--only", default=",".join(SECTIONS),
                        type=lambda s: [x.strip() for x in s.split(",") if x.strip()])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=RuntimeWarning)

    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    machine_lines = machine()
    print("\n".join(machine_lines), flush=True)
    sections: list[Section] = []
    crashed: list[str] = []
    for name in args.only:
        t = time.perf_counter()
        try:
            if name == "metrics":
                from . import metrics
                sec = metrics.run(args.sizes, repeat=args.repeat)
            elif name == "bootstrap":
                from . import bootstrap
                sec = bootstrap.run(repeat=args.repeat)
            elif name == "spark":
                from . import spark
                sec = spark.run(tuple(n for n in args.sizes if n <= 1_000_000),
                                repeat=min(args.repeat, 2))
            elif name == "quarterly":
                from . import quarterly
                sec = quarterly.run()
            elif name == "themes":
                from . import themes
                sec = themes.run()
            else:
                from . import ingest
                sec = ingest.run()
        except Exception:  # a failed section is reported, the others still run
            sec = Section(name)
            sec.notes.append("the benchmark failed:\n\n```\n" + traceback.format_exc()[-3000:]
                             + "```")
            log(f"{name} failed:\n{traceback.format_exc()}")
            crashed.append(name)
        sec.seconds = time.perf_counter() - t
        sections.append(sec)
        # write after every section, so an interrupted run still leaves its figures
        write_results(args.out, sections, started, time.perf_counter() - t0, machine_lines,
                      args)
    log(f"results written to {args.out}")
    missed = sum(f.ok is False for s in sections for f in s.figures)
    log(f"{missed} target(s) missed")
    if crashed:  # a section that could not run measured nothing: say so in the exit code
        log(f"section(s) that failed to run: {', '.join(crashed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
