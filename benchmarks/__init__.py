"""Benchmarks of vipquality (issue 5): ``python -m benchmarks`` (or ``make bench``).

Every figure is measured against a baseline run in the same invocation (the machine is shared
and noisy), and written with the machine's description to ``benchmarks/RESULTS.md``:

- :mod:`benchmarks.metrics`: ``summarise`` at 100 thousand, 1 million and 10 million responses
  against a hand-written DuckDB query of the same sums and a naive pandas ``groupby().apply()``;
  peak memory; growth with rows and with groups;
- :mod:`benchmarks.bootstrap`: the CSI bootstrap, 2,000 resamples × 20 groups × 5,000;
- :mod:`benchmarks.quarterly`: ``build_report`` on the sample workspace (wall time against the
  sum of its notebooks' durations in ``run.json``), page sizes, headless Chromium chart drawing;
- :mod:`benchmarks.ingest`: ingest of a 2-million-row survey export;
- :mod:`benchmarks.spark`: what the ``engine="spark"`` path costs on this machine.

Benchmarks are never collected by the test suite (``benchmarks`` is in pytest's
``norecursedirs``). Generated data is cached under ``$VQ_BENCH_CACHE`` (default
``~/.cache/vipquality-bench``), keyed by the generator's source, so a second run skips it.
"""
