"""The CSI bootstrap: 2,000 resamples for 20 segment groups of 5,000 responses.

``vipquality.metrics.csi.csi_by_group`` (stated weights, so the weights are re-estimated in every
resample) computes the 20 groups of one table, as a report does for its segments: each group is
``vipquality.metrics.csi.csi`` with its own child seed, the groups side by side on a thread pool. The
serial loop of ``csi`` calls is timed too (same work on one core). Baseline in the same run: the
textbook loop over resamples (one ``DataFrame.sample`` and one CSI per resample) on one group with
100 resamples, scaled to 2,000 × 20.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipquality.metrics.csi import csi, csi_by_group

from . import data
from ._common import Section, log, med, median_times, profile, secs

GROUPS, PER_GROUP, N_BOOT = 20, 5_000, 2_000


def _groups() -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    r = data.responses(100_000)
    attrs = data.attributes(r)
    out = []
    for g in range(GROUPS):
        part = r.iloc[g * PER_GROUP:(g + 1) * PER_GROUP]
        sat = part[[f"sat__{a}" for a in attrs]].astype(float)
        sat.columns = attrs
        imp = part[[f"imp__{a}" for a in attrs]].astype(float)
        imp.columns = attrs
        out.append((sat.reset_index(drop=True), imp.reset_index(drop=True)))
    return out


def _loop_baseline(sat: pd.DataFrame, imp: pd.DataFrame, n_boot: int) -> np.ndarray:
    reps = np.empty(n_boot)
    for b in range(n_boot):
        idx = sat.sample(frac=1.0, replace=True, random_state=b).index
        s, i = sat.loc[idx], imp.loc[idx]
        rated = s.notna().any(axis=1)
        w = i[rated].mean()
        w = w / w.sum()
        reps[b] = float((100 * (s.mean() - 1) / 9 * w).sum())
    return reps


def run(repeat: int = 3) -> Section:
    sec = Section("CSI bootstrap")
    log("CSI bootstrap: 2,000 resamples × 20 groups × 5,000")
    groups = _groups()
    sat = pd.concat([s for s, _ in groups], ignore_index=True)
    imp = pd.concat([i for _, i in groups], ignore_index=True)
    segment = np.repeat(np.arange(GROUPS), PER_GROUP)

    def all_groups():
        return csi_by_group(sat, segment, imp, weights="stated", n_boot=N_BOOT, seed=0)

    def serial():
        return [csi(s, i, weights="stated", n_boot=N_BOOT, seed=k)
                for k, (s, i) in enumerate(groups)]

    all_groups()  # warm-up (imports, BLAS threads)
    times = median_times({"csi": all_groups, "serial": serial}, repeat)
    t, t_serial = med(times["csi"]), med(times["serial"])
    loop_n = 100
    t_loop = median_times({"loop": lambda: _loop_baseline(*groups[0], loop_n)}, 1)["loop"][0]
    t_loop_full = t_loop * (N_BOOT / loop_n) * GROUPS
    ok = t < 2.0
    sec.add(f"{N_BOOT:,} resamples × {GROUPS} groups × {PER_GROUP:,} responses "
            f"(median of {repeat})", secs(t),
            f"loop over resamples ≈ {secs(t_loop_full)} (measured {loop_n} resamples on one "
            f"group: {secs(t_loop)})", "< 2 s", ok,
            f"{t_loop_full / t:.0f}× faster than the loop; runs "
            + ", ".join(f"{x:.2f}" for x in times["csi"]) + " s; one csi call per group "
            f"in a loop (one thread): {secs(t_serial)}")
    if not ok:
        sec.profiles["csi bootstrap, 20 groups"] = profile(all_groups)
    return sec
