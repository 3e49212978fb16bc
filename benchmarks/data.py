"""Benchmark data: responses from the sample generator (chunked, cached) and checklist checks.

``responses(n)`` draws ``n`` responses with :func:`vipquality.data.sample.generate_responses` in
chunks of at most one million (each chunk its own seed), so that generating 10 million never
holds more than one chunk's intermediate arrays; the chunks are cached as Parquet files and read
back as one frame through Arrow. ``visits(responses, checks)`` draws mystery-shopper checklist
checks (one row per visit × item) over the same quarters, segments, branches and managers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.dataset as ds

from ._common import cache_dir, log, source_key

CHUNK = 1_000_000
SEED = 20261123
BY = ["quarter", "segment", "branch", "manager_id"]


def responses(n: int, seed: int = SEED) -> pd.DataFrame:
    """``n`` generated responses (canonical layout + segment, branch, manager_id)."""
    from vipquality.data.sample import generate_responses

    folder = cache_dir() / f"responses-{n}-{seed}-{source_key('vipquality/data/sample.py')}"
    sizes = [min(CHUNK, n - start) for start in range(0, n, CHUNK)]
    paths = [folder / f"part-{i:03d}.parquet" for i in range(len(sizes))]
    if not all(p.exists() for p in paths):
        folder.mkdir(parents=True, exist_ok=True)
        for i, (size, path) in enumerate(zip(sizes, paths)):
            if path.exists():
                continue
            log(f"generating responses {i + 1}/{len(sizes)} ({size:,} rows)")
            chunk = generate_responses(size, seed=seed + i)
            tmp = path.with_suffix(".tmp")
            chunk.to_parquet(tmp, index=False)
            tmp.rename(path)
            del chunk
    table = ds.dataset([str(p) for p in paths], format="parquet").to_table()
    frame = table.to_pandas()
    del table
    return frame


def attributes(frame: pd.DataFrame) -> list[str]:
    return [c.removeprefix("sat__") for c in frame.columns if c.startswith("sat__")]


def visits(r: pd.DataFrame, checks: int, items: int = 20, seed: int = SEED) -> pd.DataFrame:
    """``checks`` checklist checks (``checks // items`` visits × ``items`` items).

    Each visit takes the quarter, segment, branch and manager of a random response (so every
    group of the responses can have visits); items have weights 1–3, two are critical; results
    are yes (85 %), no (12 %) or n.a. (3 %).
    """
    rng = np.random.default_rng(seed)
    k = max(1, checks // items)
    pick = rng.integers(0, len(r), k)
    keys = {c: r[c].to_numpy()[pick] for c in BY}
    item_ids = np.array([f"I{j:02d}" for j in range(items)])
    weights = rng.integers(1, 4, items).astype(float)
    critical = np.zeros(items, dtype=bool)
    critical[:2] = True
    frame = {c: np.repeat(v, items) for c, v in keys.items()}
    frame["visit_id"] = np.repeat(np.char.add("V", np.arange(k).astype("U")), items)
    frame["item_id"] = np.tile(item_ids, k)
    frame["result"] = rng.choice(np.array(["yes", "no", "na"]), k * items, p=[0.85, 0.12, 0.03])
    frame["weight"] = np.tile(weights, k)
    frame["critical"] = np.tile(critical, k)
    out = pd.DataFrame(frame)
    for c in (*BY, "visit_id", "item_id", "result"):
        out[c] = out[c].astype("str")
    return out
