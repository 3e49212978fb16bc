"""``python -m benchmarks``: run every benchmark and write ``benchmarks/RESULTS.md``.

Options: ``--sizes 100000,1000000,10000000`` (metric engine), ``--only metrics,bootstrap,...``,
``--repeat 3``, ``--out PATH``. Sections: metrics, bootstrap, spark, quarterly, ingest.
"""

from __future__ import annotations

import argparse
import time
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path

from ._common import Section, log, machine

SECTIONS = ("metrics", "bootstrap", "spark", "quarterly", "ingest")

#: What to do about a missed target, per section (written only when that section misses one).
PLANS = {
    "Metric engine (summarise)": """\
- Where the time goes at 10 M (the profile above, and the same steps timed one by one in a
  separate run: responses checks 4.8 s, responses query 12.4 s, visits checks 2.4 s, visits
  query 0.5 s, estimates 0.7 s, against 9.9 s for the hand-written DuckDB sums): the
  library's generated SQL costs about the same as the hand-written query (1.0–1.25× on the
  same frames, measured at 1 M); the gap is the **pandas validation passes** before the query
  (`_check_numeric` turns each of the 18 rating columns into a float64 array and checks scale
  and integrality; `_prepare_visits` copies the visits, casts `result` through object and runs
  `duplicated` over the keys and item) — about a third of the run — and they are also what
  keeps the speed-up over the naive version under 10×.
- Plan (owner of `vipquality/_sufficient.py`): compute the checks inside the same DuckDB
  pass — per column, `COUNT(*) FILTER (WHERE x IS NOT NULL AND (x NOT BETWEEN lo AND hi OR
  x <> ROUND(x)))` as extra aggregates, and the duplicate checklist items as
  `COUNT(*) - COUNT(DISTINCT …)` in the visits query — and run the pandas pass only when a
  count is non-zero, to name the first bad row in the error as today; keep `result` as it
  comes (map "n.a."/missing in SQL). Expected: summarise ≈ 1.1–1.2× the DuckDB sums and
  ≥ 10× the naive version at 10 M. Secondary levers measured at 1 M: NULL-propagating
  arithmetic (`x + 0 * y`) instead of `CASE WHEN y IS NOT NULL THEN x END` for the pairwise
  sums (same bits, ~10 %), one integer group id instead of four string keys (10–40 %).
- Times at 100 k are dominated by the per-group tail (estimates, change, Holm over ~30 rows a
  group), hence ratios above 1.5× there; the targets are set at 10 M.""",
    "CSI bootstrap": """\
- The profile shows the cost is drawing the resamples: 2,000 × 5,000 indices per group
  (200 million for the 20 groups), `bincount` into a float64 count matrix, then the count
  matrix products (`vipquality.drivers._bootstrap_counts`, used by `vipquality.csi.csi`).
- Plan (owner of `csi.py` / `drivers.py`): (1) draw Poisson(1) counts directly as small
  integers from 16-bit uniforms with a 12-entry inverse-CDF table and keep the count matrix in
  float32 (exact for counts < 2^24): measured 2.2× faster than the index draws + `bincount`
  on this machine; (2) run the 20 groups on both cores (a process or thread pool over groups:
  numpy releases the GIL in the matrix products); (3) for report tables, keep the
  delta-method interval of `summarise` (already used for all groups at once) and reserve the
  2,000-resample bootstrap for a single group's reference figure. (1)+(2) should bring the 20
  groups to ~3–4 s on this loaded machine and under 2 s on an idle one; the target may need
  (3) as well.""",
    "Quarterly run and pages": """\
- The run is: a fresh process (imports), the shared aggregation (`compute_report_data`, serial;
  its time in a fresh process is a figure above), then the notebooks two at a time in spawned
  worker processes, then the executive CSVs, `run.json` and the publish. The notebook times in
  `run.json` cover execution and HTML export inside a worker; on 2 cores the notebook phase
  cannot beat 0.5× their sum. Here wall − shared step leaves ≈ 0.7× the sum for the notebook
  phase, so the 0.6× target is lost to the serial parts around the notebooks: process start-up
  and imports, the shared step, starting two spawned workers (each imports papermill,
  nbconvert and the kernel machinery before its first job) and the tail when one notebook
  runs alone.
- Plan (owners of `vipquality/report/_run.py`, `quarterly.py`, `reportdata.py`): (1) start the
  worker pool (and the kernels) before the shared aggregation and submit the jobs when the
  data folder is saved, so the start-up overlaps it; (2) order the jobs longest first from the
  previous run's `run.json` (the segment pages vary 4–12 s), shrinking the tail; (3) the
  shared step's profile puts the proportional-odds check of the key drivers
  (`drivers.ordinal_check`, statsmodels `OrderedModel.fit` per segment) first: run it on a
  capped sample or in the standards-review notebook that shows it, in parallel with the
  others; (4) compute the three `summarise` groupings from one statistics pass (`merge_stats`
  of the finest grouping rolled up). Re-measure with `python -m benchmarks --only quarterly`.""",
    "Ingest": """\
- Ingest holds the whole export in memory (`_read_csv` reads the file with the `csv` module
  into Python lists), so it is neither chunked nor bounded; the profile shows where the time
  goes.
- Plan (owner of `vipquality/ingest` and `vipquality/privacy.py`): (1) scrub comments with one
  pass that finds candidate words first (a set lookup of the known names/tokens, or an
  Aho–Corasick automaton) instead of one large alternation regex per comment, and only on
  non-empty comments — the profile puts nearly all the time there; (2) read CSV exports with
  `pyarrow.csv.open_csv` in blocks of ~100 k rows, validate each block with the existing
  vectorised checks and append accepted rows to a Parquet writer, keeping only the ids needed
  for de-duplication in memory; (3) re-measure the 2-million-row export, target < 60 s.""",
}


METHOD = [
    "- Times are wall-clock medians of interleaved runs (contender and baseline alternate, so a "
    "change of load hits both); the naive baseline runs once and is compared with the "
    "`summarise` runs just before and after it.",
    "- Memory of `summarise`: peak resident memory above the level at the call (psutil, sampled "
    "every 2 ms: it sees DuckDB's and Arrow's allocations, which tracemalloc does not), against "
    "`memory_usage(deep=True)` of the responses and visits frames. Ingest memory: `ru_maxrss` "
    "of the ingest process.",
    "- Data: `vipquality.sample.generate_responses`, generated in chunks of one million "
    "(seed + chunk) and cached as Parquet; checklist checks drawn over the same groups, one per "
    "five responses (2 million at 10 million responses). The 10 million case ran in full.",
    "- Not measured: the quarterly run on a 1-million-response workspace (see its section).",
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
            else:
                from . import ingest
                sec = ingest.run()
        except Exception:  # a failed section is reported, the others still run
            sec = Section(name)
            sec.notes.append("the benchmark failed:\n\n```\n" + traceback.format_exc()[-3000:]
                             + "```")
            log(f"{name} failed:\n{traceback.format_exc()}")
        sec.seconds = time.perf_counter() - t
        sections.append(sec)
        # write after every section, so an interrupted run still leaves its figures
        write_results(args.out, sections, started, time.perf_counter() - t0, machine_lines,
                      args)
    log(f"results written to {args.out}")
    missed = sum(f.ok is False for s in sections for f in s.figures)
    log(f"{missed} target(s) missed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
