"""Rake one case with Meta's ``balance`` and with ``weightipy`` (the comparison behind
:mod:`vipquality.metrics.raking`). Not part of ``python -m benchmarks``: ``balance`` cannot be
installed beside this project's pins (on Python 3.11 it needs numpy < 2), so each library runs in
a throwaway virtual environment of its own::

    python3 -m venv /tmp/cmp_b && /tmp/cmp_b/bin/pip install balance==0.23.0
    python3 -m venv /tmp/cmp_w && /tmp/cmp_w/bin/pip install weightipy==0.4.2
    /tmp/cmp_b/bin/python benchmarks/compare_raking.py balance
    /tmp/cmp_w/bin/python benchmarks/compare_raking.py weightipy

Result on 2026-12-03 (2 shared cores): balance: respondents 992, import 5.24 s, rake 0.091 s,
max margin error 0.0003 pp, Kish base 812.1, max/mean weight 3.78; weightipy: respondents 992,
import 0.88 s, rake 0.014 s, max margin error 0.0000 pp, Kish base 812.1, max/mean weight 3.78.
Import times include numpy and pandas.
"""
import contextlib
import io
import sys
import time

t0 = time.perf_counter()
import numpy as np
import pandas as pd

lib = sys.argv[1]
rng = np.random.default_rng(16)
N = 4000
inv = pd.DataFrame({
    "tier": rng.choice(["Premium", "Luxury", "Private"], N, p=[.5, .35, .15]),
    "client_type": rng.choice(["individual", "legal_entity"], N, p=[.8, .2]),
    "ltv": rng.choice(["low", "mid", "high"], N, p=[.4, .4, .2]),
})
rate = np.where(inv["tier"] == "Private", .10, .28) * np.where(inv["ltv"] == "high", .8, 1.0)
resp = inv[rng.random(N) < rate].reset_index(drop=True)
vars_ = ["tier", "client_type", "ltv"]
margins = {v: inv[v].value_counts(normalize=True).to_dict() for v in vars_}
t_imp = time.perf_counter()
if lib == "balance":
    from balance.weighting_methods.rake import rake
    t_imp = time.perf_counter()
    t1 = time.perf_counter()
    out = rake(resp[vars_], pd.Series(1.0, index=resp.index), inv[vars_], pd.Series(1.0, index=inv.index),
               variables=vars_, transformations=None, weight_trimming_mean_ratio=5)
    w = out["weight"].to_numpy()
else:
    import weightipy as wp
    t_imp = time.perf_counter()
    t1 = time.perf_counter()
    scheme = wp.scheme_from_dict({v: {k: 100 * p for k, p in m.items()} for v, m in margins.items()},
                                 rim_params={"cap": 5})
    with contextlib.redirect_stdout(io.StringIO()):
        w = wp.weight(resp, scheme).to_numpy()
t2 = time.perf_counter()
err = max(abs(pd.Series(w).groupby(resp[v]).sum() / w.sum() - pd.Series(m)).max()
          for v, m in margins.items())
kish = w.sum() ** 2 / (w ** 2).sum()
print(f"{lib}: respondents {len(resp)}, import {t_imp - t0:.2f} s, rake {t2 - t1:.3f} s, "
      f"max margin error {100 * err:.4f} pp, Kish base {kish:.1f}, max/mean weight {w.max() / w.mean():.2f}")
