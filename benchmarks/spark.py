"""What the Spark engine costs on this machine: ``summarise(engine="spark")`` vs DuckDB.

A local Spark session on the machine's cores (``local[N]``, UI off) computes the same sufficient
statistics (same SQL) as the default engine, on the same frames, interleaved with it. The
session's start-up is reported apart: a cluster session is started once and reused.
"""

from __future__ import annotations

import os
import time

from vipquality.metrics.summarise import summarise

from . import data
from ._common import Section, log, med, median_times, secs

BY = data.BY


def run(sizes: tuple[int, ...] = (100_000, 1_000_000), repeat: int = 2) -> Section:
    sec = Section("Spark engine (local)")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        sec.notes.append("pyspark is not installed: the Spark engine was not measured.")
        return sec
    from vipquality.metrics.sufficient.engine_spark import spark_session

    cores = len(os.sched_getaffinity(0))
    log(f"starting a local[{cores}] Spark session")
    t = time.perf_counter()
    session = spark_session(f"local[{cores}]", app_name="vipquality-bench", conf={
        "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": "4g",
        "spark.sql.shuffle.partitions": str(2 * cores)})
    session.sparkContext.setLogLevel("ERROR")
    start = time.perf_counter() - t
    sec.add(f"local[{cores}] session start-up", secs(start), "", "", None,
            "paid once per process (a cluster session is long-lived)")
    try:
        for n in sizes:
            r = data.responses(n)
            v = data.visits(r, n // 5)
            attrs = data.attributes(r)
            log(f"spark vs duckdb at {n:,} responses")
            summarise(r, by=BY, attributes=attrs, visits=v, engine="spark")  # warm-up (JIT)
            times = median_times({
                "duckdb": lambda: summarise(r, by=BY, attributes=attrs, visits=v),
                "spark": lambda: summarise(r, by=BY, attributes=attrs, visits=v,
                                           engine="spark"),
            }, repeat)
            td, ts = med(times["duckdb"]), med(times["spark"])
            sec.add(f"{n:,} responses, {n // 5:,} checks: summarise(engine='spark')",
                    secs(ts), f"engine='duckdb' {secs(td)}", "", None,
                    f"{ts / td:.1f}× the DuckDB engine (includes shipping the frames to the "
                    "JVM through Arrow)")
    finally:
        session.stop()
    return sec
