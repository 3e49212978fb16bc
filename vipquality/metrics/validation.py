"""Coverage of the confidence intervals, proven by simulation from known populations.

Every interval the package reports promises "95 %". This module draws many samples from
populations whose true value is known, computes each interval with the code the reports use
(:func:`~vipquality.metrics.summarise.summarise` for NPS, CES, the delta-method CSI, visit
compliance and the quarter-on-quarter change test; :func:`~vipquality.metrics.csi.csi` for the
bootstrap CSI; :func:`~vipquality.metrics.compliance.standard_compliance` for the share of checks
of a standard) and counts how often the interval holds the truth. The coverage tests
(``tests/test_coverage.py``) and ``docs/validation.md`` (``make validate``) run the same
:func:`run_validation`, so the committed table is what the suite checks.

The promise, with the Monte Carlo error of R replicates (se = √(c(1 − c)/R)) accounted for:

- coverage of a 95 % interval between 93 % and 98 % (:data:`COVERAGE_BAND`): a design passes
  when [c − 2 se, c + 2 se] meets the band;
- false-alarm rate of the change test at nominal 5 % no higher than 6 % (:data:`FALSE_ALARM_MAX`):
  the test passes when c − 2 se ≤ 6 %.

A design outside the band is reported as such in the table (``ok`` False) rather than hidden.

Examples
--------
>>> table = run_validation(scale=0.05, only=["nps"], seed=1)
>>> sorted(table.columns) == sorted(RESULT_COLUMNS)
True
>>> bool(table["ok"].all())
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from vipquality.metrics.compliance import standard_compliance
from vipquality.metrics.csi import csi
from vipquality.metrics.intervals import wilson
from vipquality.metrics.summarise import summarise

__all__ = [
    "COVERAGE_BAND",
    "FALSE_ALARM_MAX",
    "RESULT_COLUMNS",
    "Design",
    "designs",
    "run_validation",
    "validation_markdown",
    "write_validation",
]

#: Accepted empirical coverage of a 95 % interval, in %.
COVERAGE_BAND = (93.0, 98.0)
#: Accepted false-alarm rate of a change test at the nominal 5 %, in %.
FALSE_ALARM_MAX = 6.0
#: Columns of :func:`run_validation`.
RESULT_COLUMNS = ["group", "metric", "interval", "design", "n", "truth", "reps", "kind",
                  "previous", "rate", "mc_se", "mean_width", "ok"]

_Q1, _Q2 = "2025Q1", "2025Q2"


@dataclass(frozen=True)
class Design:
    """One simulated design: a population, a sample size and the interval (or test) checked.

    ``simulate(rng, reps)`` returns ``(low, high, truth)`` for a coverage design (arrays of
    ``reps`` bounds) or ``(rejected, None, truth)`` for a false-alarm design (booleans).
    ``cost`` scales the replicates of the slow designs (the bootstrap CSI) down. ``previous``
    marks the interval a current one replaced (shown in ``docs/validation.md`` for
    comparison, never asserted).
    """

    group: str
    metric: str
    interval: str
    design: str
    n: int
    simulate: Callable[[np.random.Generator, int], tuple]
    kind: str = "coverage"
    cost: float = 1.0
    previous: bool = False


# --- populations ------------------------------------------------------------------------------

#: NPS populations: shares of (promoters, passives, detractors).
NPS_SHAPES = {"typical 45/35/20": (0.45, 0.35, 0.20),
              "85 % promoters": (0.85, 0.10, 0.05),
              "polarised 35/15/50": (0.35, 0.15, 0.50)}
#: CES 1–7 populations: probability of each point.
CES_SHAPES = {"symmetric": (0.05, 0.10, 0.15, 0.40, 0.15, 0.10, 0.05),
              "very skewed": (0.01, 0.01, 0.02, 0.04, 0.07, 0.20, 0.65)}


def _nps_scores(rng: np.random.Generator, size: int, shape) -> np.ndarray:
    """Scores 0–10 with the category shares of ``shape`` (uniform within a category)."""
    cat = rng.choice(3, size=size, p=shape)
    promoter = rng.integers(9, 11, size)
    passive = rng.integers(7, 9, size)
    detractor = rng.integers(0, 7, size)
    return np.where(cat == 0, promoter, np.where(cat == 1, passive, detractor))


def _responses(groups: int, n: int, **columns) -> pd.DataFrame:
    """A responses frame of ``groups`` replicates of ``n`` respondents (segment = replicate)."""
    return pd.DataFrame({"quarter": _Q1, "segment": np.repeat(np.arange(groups), n).astype(str),
                         **columns})


def _metric(table: pd.DataFrame, metric: str, reps: int) -> tuple[np.ndarray, np.ndarray]:
    """ci_low/ci_high of ``metric`` per replicate, in replicate order (NaN where missing)."""
    rows = table[table["metric"] == metric].set_index("segment")
    idx = np.arange(reps).astype(str)
    return (rows["ci_low"].reindex(idx).to_numpy(dtype=float),
            rows["ci_high"].reindex(idx).to_numpy(dtype=float))


def _t_bounds(table: pd.DataFrame, metric: str, reps: int) -> tuple[np.ndarray, np.ndarray]:
    """The t-interval value ± t(n − 1)·se the package used before issue 12 (no clipping)."""
    rows = table[table["metric"] == metric].set_index("segment")
    rows = rows.reindex(np.arange(reps).astype(str))
    n = rows["n"].to_numpy(dtype=float)
    t = stats.t.ppf(0.975, np.where(n >= 2, n - 1, np.nan))
    value, se = rows["value"].to_numpy(dtype=float), rows["se"].to_numpy(dtype=float)
    return value - t * se, value + t * se


def _wald_bounds(table: pd.DataFrame, metric: str, reps: int) -> tuple[np.ndarray, np.ndarray]:
    """The plain Wald interval value ± z·se, clipped to ±100 (net easy before issue 12)."""
    rows = table[table["metric"] == metric].set_index("segment")
    rows = rows.reindex(np.arange(reps).astype(str))
    value, se = rows["value"].to_numpy(dtype=float), rows["se"].to_numpy(dtype=float)
    z = stats.norm.ppf(0.975)
    return np.clip(value - z * se, -100, 100), np.clip(value + z * se, -100, 100)


def _summarise(frame: pd.DataFrame, **kwargs) -> pd.DataFrame:
    return summarise(frame, compare=None, base_suppress=0, base_small=0, **kwargs)


def _nps_design(shape, n: int, weighted: bool = False):
    p, _, d = shape
    truth = 100 * (p - d)

    def simulate(rng, reps):
        cols = {"nps": _nps_scores(rng, reps * n, shape)}
        if weighted:
            # lognormal design weights (σ = 0.8: Kish base ≈ n/1.9), unrelated to the score
            cols["weight"] = rng.lognormal(0.0, 0.8, reps * n)
        table = _summarise(_responses(reps, n, **cols), attributes=[], ces_scale=None)
        return (*_metric(table, "nps", reps), truth)
    return simulate


def _ces_design(shape, n: int, metric: str, previous: bool = False):
    probs = np.asarray(shape)
    points = np.arange(1, 8)
    truth = {"ces_mean": float(points @ probs), "ces_easy": 100 * probs[4:].sum(),
             "ces_net_easy": 100 * (probs[4:].sum() - probs[:3].sum())}[metric]

    def simulate(rng, reps):
        ces = rng.choice(points, size=reps * n, p=probs)
        table = _summarise(_responses(reps, n, ces=ces), attributes=[], nps_scale=None)
        if previous:
            bounds = (_t_bounds if metric == "ces_mean" else _wald_bounds)(table, metric, reps)
            return (*bounds, truth)
        return (*_metric(table, metric, reps), truth)
    return simulate


# CSI: four attributes on 1–10, correlated through a respondent effect, 10 % not rated;
# importance on 1–10 with attribute-specific means.
_CSI_ATTRS = ("speed", "competence", "availability", "privacy")
_CSI_SAT_MEAN = np.array([7.0, 8.2, 6.5, 8.8])
_CSI_IMP_MEAN = np.array([8.5, 7.0, 6.0, 9.0])


def _csi_sample(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    person = rng.normal(0, 1.2, (size, 1))
    sat = np.clip(np.rint(_CSI_SAT_MEAN + person + rng.normal(0, 1.3, (size, 4))), 1, 10)
    sat[rng.random((size, 4)) < 0.10] = np.nan
    imp = np.clip(np.rint(_CSI_IMP_MEAN + rng.normal(0, 1.5, (size, 4))), 1, 10)
    imp[np.isnan(sat)] = np.nan
    return sat, imp


def _csi_truth() -> float:
    """Σ w_i s_i of the population, from one large seeded sample (error ≈ 0.01 points)."""
    sat, imp = _csi_sample(np.random.default_rng(20261203), 1_000_000)
    w = np.nanmean(imp, axis=0)
    s = 100 * (np.nanmean(sat, axis=0) - 1) / 9
    return float((w / w.sum()) @ s)


def _csi_frame(sat, imp, reps, n) -> pd.DataFrame:
    cols = {f"sat__{a}": sat[:, i] for i, a in enumerate(_CSI_ATTRS)}
    cols |= {f"imp__{a}": imp[:, i] for i, a in enumerate(_CSI_ATTRS)}
    return _responses(reps, n, **cols)


def _csi_delta_design(n: int, truth: Callable[[], float]):
    def simulate(rng, reps):
        sat, imp = _csi_sample(rng, reps * n)
        table = _summarise(_csi_frame(sat, imp, reps, n), attributes=list(_CSI_ATTRS),
                           nps_scale=None, ces_scale=None)
        return (*_metric(table, "csi", reps), truth())
    return simulate


def _csi_bootstrap_design(n: int, truth: Callable[[], float], n_boot: int = 500):
    def simulate(rng, reps):
        low, high = np.empty(reps), np.empty(reps)
        for r in range(reps):  # one bootstrap per replicate: the single-group reference
            sat, imp = _csi_sample(rng, n)
            est = csi(pd.DataFrame(sat, columns=_CSI_ATTRS), pd.DataFrame(imp, columns=_CSI_ATTRS),
                      weights="stated", n_boot=n_boot, seed=int(rng.integers(2**31)))
            low[r], high[r] = est.ci_low, est.ci_high
        return low, high, truth()
    return simulate


# Mystery shopping: 12 items per visit in 4 standards — welcome (3 items, 92 % yes), advice
# (3 items, 85 %), follow-up (5 items, 75 %) and privacy (1 critical item failed in 3 % of
# visits, which zeroes the visit). A visit effect u ~ N(0, σ) on the logit of every
# non-critical item (the shopper, branch, manager and day); 10 % of items not applicable.
_ITEMS = [("welcome", 0.92)] * 3 + [("advice", 0.85)] * 3 + [("follow-up", 0.75)] * 5
_CRITICAL_FAIL = 0.03
_NA = 0.10


def _visit_sample(rng: np.random.Generator, visits: int, sigma: float):
    """yes (bool) and applicable (bool), visits × 12 items; the last item is the critical one."""
    k = len(_ITEMS)
    base = np.log(np.array([p for _, p in _ITEMS]) / (1 - np.array([p for _, p in _ITEMS])))
    u = rng.normal(0.0, sigma, (visits, 1)) if sigma > 0 else np.zeros((visits, 1))
    p = 1 / (1 + np.exp(-(base + u)))
    yes = np.empty((visits, k + 1), dtype=bool)
    yes[:, :k] = rng.random((visits, k)) < p
    yes[:, k] = rng.random(visits) >= _CRITICAL_FAIL
    applicable = rng.random((visits, k + 1)) >= _NA
    applicable[:, k] = True  # the privacy check applies to every visit
    return yes, applicable


_STANDARDS = [s for s, _ in _ITEMS] + ["privacy"]


def _visit_truth(sigma: float) -> dict[str, float]:
    """True visit compliance and share of checks per standard, from 2 million seeded visits."""
    rng = np.random.default_rng(7 + int(10 * sigma))
    yes, app = _visit_sample(rng, 2_000_000, sigma)
    ya, a = (yes & app).sum(axis=1), app.sum(axis=1)
    score = np.where(yes[:, -1], 100 * ya / np.maximum(a, 1), 0.0)
    out = {"compliance": float(score[a > 0].mean())}
    std = np.array(_STANDARDS)
    for s in ("advice", "privacy"):
        cols = std == s
        out[s] = float(100 * (yes & app)[:, cols].sum() / app[:, cols].sum())
    return out


def _visits_frame(yes, app, reps: int, visits: int) -> pd.DataFrame:
    """Check-level visits of ``reps`` replicates (categoricals: millions of rows stay cheap)."""
    k = yes.shape[1]
    codes = np.where(app, np.where(yes, 0, 1), 2).ravel()
    visit = np.repeat(np.arange(reps * visits), k)
    standards = sorted(set(_STANDARDS))
    return pd.DataFrame({
        "quarter": _Q1, "segment": pd.Categorical.from_codes(
            visit // visits, [str(r) for r in range(reps)]),
        "visit_id": visit,
        "item_id": pd.Categorical.from_codes(np.tile(np.arange(k), reps * visits),
                                             [f"i{j}" for j in range(k)]),
        "standard_id": pd.Categorical.from_codes(
            np.tile([standards.index(x) for x in _STANDARDS], reps * visits), standards),
        "result": pd.Categorical.from_codes(codes, ["yes", "no", "na"]),
        "critical": np.tile([False] * (k - 1) + [True], reps * visits)})


def _compliance_design(visits: int, sigma: float, truth: Callable[[], dict],
                       previous: bool = False):
    def simulate(rng, reps):
        yes, app = _visit_sample(rng, reps * visits, sigma)
        table = summarise(None, by=("quarter", "segment"), attributes=[],
                          visits=_visits_frame(yes, app, reps, visits), compare=None,
                          base_suppress=0, base_small=0)
        bounds = (_t_bounds if previous else _metric)(table, "compliance", reps)
        return (*bounds, truth()["compliance"])
    return simulate


def _standard_design(visits: int, sigma: float, standard: str, truth: Callable[[], dict],
                     previous: bool = False):
    def simulate(rng, reps):
        yes, app = _visit_sample(rng, reps * visits, sigma)
        frame = _visits_frame(yes, app, reps, visits)
        frame = frame[frame["standard_id"] == standard]
        # one call for all replicates: the replicate goes into the standard's id, as
        # report.data does for quarter × segment
        table = standard_compliance(frame.assign(standard_id=frame["segment"].astype(str)))
        table = table.set_index("standard_id").reindex(np.arange(reps).astype(str))
        if previous:  # Wilson on the check count, the checks taken as independent
            n = table["n"].to_numpy(dtype=float)
            low, high = wilson(table["value"].to_numpy(dtype=float) / 100 * n, n)
            return 100 * low, 100 * high, truth()[standard]
        return (table["ci_low"].to_numpy(dtype=float), table["ci_high"].to_numpy(dtype=float),
                truth()[standard])
    return simulate


def _change_design(shape, n: int, metric: str = "nps", previous: bool = False):
    def simulate(rng, reps):
        frame = pd.concat([_responses(reps, n, nps=_nps_scores(rng, reps * n, shape))
                           .assign(quarter=q) for q in (_Q1, _Q2)], ignore_index=True)
        table = summarise(frame, attributes=[], ces_scale=None, base_suppress=0, base_small=0)
        rows = table[table["metric"] == metric]
        idx = np.arange(reps).astype(str)
        now = rows[rows["quarter"] == _Q2].set_index("segment").reindex(idx)
        if previous:  # the unpooled Wald SE √(se² + se_prev²)
            before = rows[rows["quarter"] == _Q1].set_index("segment").reindex(idx)
            z = now["change"] / np.hypot(now["se"], before["se"])
            p = 2 * stats.norm.sf(np.abs(z.to_numpy(dtype=float)))
            return p < 0.05, None, 0.0
        return now["p_value"].to_numpy(dtype=float) < 0.05, None, 0.0
    return simulate


def _cached(fn):
    memo: dict = {}

    def get(*args):
        if args not in memo:
            memo[args] = fn(*args)
        return memo[args]
    return get


_visit_truth_cached = _cached(_visit_truth)
_csi_truth_cached = _cached(_csi_truth)


def _truth_of(sigma: float) -> Callable[[], dict]:
    """The visit population's truths, computed on first use (2 million visits, once)."""
    return lambda: _visit_truth_cached(sigma)


def _visit_designs():
    """(σ, label, truths, visits) of the mystery-shopping designs: with and without a visit
    effect, 30 and 100 visits."""
    for sigma in (0.0, 1.5):
        effect = "no visit effect" if sigma == 0 else f"visit effect σ = {sigma:g} (logit)"
        for visits in (30, 100):
            yield sigma, effect, _truth_of(sigma), visits


def designs() -> list[Design]:
    """Every design of the validation, in the order of the table."""
    out: list[Design] = []
    for shape_name, shape in NPS_SHAPES.items():
        for n in (30, 100, 400):
            out.append(Design("nps", "nps", "adjusted Wald", shape_name, n,
                              _nps_design(shape, n)))
    for shape_name in ("typical 45/35/20", "85 % promoters"):
        for n in (100, 400):
            out.append(Design("nps", "nps (weighted)", "adjusted Wald, Kish base",
                              f"{shape_name}, lognormal weights σ = 0.8", n,
                              _nps_design(NPS_SHAPES[shape_name], n, weighted=True)))
    for shape_name, shape in CES_SHAPES.items():
        for metric, interval in (("ces_mean", "augmented logit"), ("ces_easy", "Wilson"),
                                 ("ces_net_easy", "adjusted Wald")):
            for n in (30, 100):
                out.append(Design("ces", metric, interval, shape_name, n,
                                  _ces_design(shape, n, metric)))
    truth = _csi_truth_cached
    for n in (50, 200):
        out.append(Design("csi", "csi (summarise)", "delta method, weights fixed",
                          "4 attributes, stated weights", n, _csi_delta_design(n, truth)))
    for n in (50, 200):
        out.append(Design("csi", "csi (csi())", "bootstrap percentile, 500 resamples",
                          "4 attributes, stated weights", n, _csi_bootstrap_design(n, truth),
                          cost=0.2))
    for sigma, effect, vt, visits in _visit_designs():
        out.append(Design("compliance", "compliance per visit", "augmented logit",
                          f"{effect}, 3 % critical failures", visits,
                          _compliance_design(visits, sigma, vt)))
        out.append(Design("compliance", "standard: advice (3 checks a visit)",
                          "Wilson on n/deff, t(visits − 1)", effect, visits,
                          _standard_design(visits, sigma, "advice", vt)))
        out.append(Design("compliance", "standard: privacy (rare critical item)",
                          "Wilson on n/deff, t(visits − 1)", effect, visits,
                          _standard_design(visits, sigma, "privacy", vt)))
    for shape_name in ("typical 45/35/20", "85 % promoters", "polarised 35/15/50"):
        for n in (30, 100):
            out.append(Design("change", "nps change, quarter on quarter",
                              "z-test, SE pooled under no change", f"{shape_name}, no change",
                              n, _change_design(NPS_SHAPES[shape_name], n), kind="false alarm",
                              cost=4.0))
    return out + _previous_designs()


def _previous_designs() -> list[Design]:
    """The intervals issue 12 replaced, on the same populations (for comparison only)."""
    out: list[Design] = []
    for shape_name, shape in CES_SHAPES.items():
        for metric, interval in (("ces_mean", "t (before)"), ("ces_net_easy", "Wald (before)")):
            for n in (30, 100):
                out.append(Design("ces", metric, interval, shape_name, n,
                                  _ces_design(shape, n, metric, previous=True), previous=True))
    for sigma, effect, vt, visits in _visit_designs():
        out.append(Design("compliance", "compliance per visit", "t (before)",
                          f"{effect}, 3 % critical failures", visits,
                          _compliance_design(visits, sigma, vt, previous=True),
                          previous=True))
        out.append(Design("compliance", "standard: advice (3 checks a visit)",
                          "Wilson on the checks (before)", effect, visits,
                          _standard_design(visits, sigma, "advice", vt, previous=True),
                          previous=True))
    for shape_name in ("typical 45/35/20", "polarised 35/15/50"):
        out.append(Design("change", "nps change, quarter on quarter",
                          "z-test, unpooled SE (before)", f"{shape_name}, no change", 30,
                          _change_design(NPS_SHAPES[shape_name], 30, previous=True),
                          kind="false alarm", cost=4.0, previous=True))
    return out


def run_validation(reps: int = 1000, *, seed: int = 20261203, scale: float = 1.0,
                   only: Iterable[str] | None = None,
                   selected: Sequence[Design] | None = None) -> pd.DataFrame:
    """Simulate every design and measure its coverage (or false-alarm rate).

    Parameters
    ----------
    reps : int, default 1000
        Replicates of a design of cost 1 (the bootstrap CSI runs ``0.2 × reps``, the change
        test ``4 × reps``).
    seed : int
        Seed of the whole run: the same seed gives the same table. Each design gets its own
        stream (``SeedSequence(seed).spawn``), so adding a design leaves the others unchanged.
    scale : float, default 1.0
        Multiplies ``reps`` (``make validate`` uses a larger run than the tests).
    only : iterable of str, optional
        Keep the designs of these groups (``nps``, ``ces``, ``csi``, ``compliance``,
        ``change``).
    selected : sequence of Design, optional
        Run exactly these designs instead.

    Returns
    -------
    DataFrame
        :data:`RESULT_COLUMNS`: ``rate`` is the coverage (or false-alarm rate) in %, ``mc_se``
        its Monte Carlo standard error in points, ``mean_width`` the mean interval width
        (NaN for a test), ``ok`` whether the design keeps the promise (see the module).
        Replicates without an interval (a degenerate sample) count as not covering.
    """
    chosen = list(selected) if selected is not None else designs()
    if only is not None:
        keep = set(only)
        chosen = [d for d in chosen if d.group in keep]
    all_designs = designs()
    names = [(d.group, d.metric, d.interval, d.design, d.n) for d in all_designs]
    streams = np.random.SeedSequence(seed).spawn(len(all_designs))
    rows = []
    for d in chosen:
        key = (d.group, d.metric, d.interval, d.design, d.n)
        ss = streams[names.index(key)] if key in names else np.random.SeedSequence(seed)
        r = max(20, round(reps * scale * d.cost))
        first, second, truth = d.simulate(np.random.default_rng(ss), r)
        if d.kind == "coverage":
            hit = (first <= truth) & (truth <= second)          # NaN bounds never cover
            spans = (second - first)[np.isfinite(second - first)]
            rate, width = 100 * hit.mean(), float(spans.mean()) if spans.size else np.nan
        else:
            rate, width = 100 * np.asarray(first, dtype=bool).mean(), np.nan
        se = 100 * np.sqrt((rate / 100) * (1 - rate / 100) / r)
        if d.kind == "coverage":
            ok = rate + 2 * se >= COVERAGE_BAND[0] and rate - 2 * se <= COVERAGE_BAND[1]
        else:
            ok = rate - 2 * se <= FALSE_ALARM_MAX
        rows.append({"group": d.group, "metric": d.metric, "interval": d.interval,
                     "design": d.design, "n": d.n, "truth": truth, "reps": r, "kind": d.kind,
                     "previous": d.previous, "rate": rate, "mc_se": se, "mean_width": width, "ok": bool(ok)})
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def validation_markdown(table: pd.DataFrame, *, seed: int, reps: int) -> str:
    """``docs/validation.md`` from a :func:`run_validation` table."""
    lo, hi = COVERAGE_BAND
    lines = [
        "# Validation: do the 95 % intervals keep their promise?",
        "",
        "<!-- Generated by `make validate` (vipquality.metrics.validation.write_validation); "
        "do not edit by hand. -->",
        "",
        "Each row draws many samples from a population whose true value is known, computes the "
        "interval with the code the reports use and counts how often it holds the truth. "
        f"The promise: empirical coverage of a 95 % interval between {lo:g} % and {hi:g} %, and "
        f"a false-alarm rate of the quarter-on-quarter change test (nominal 5 %) of at most "
        f"{FALSE_ALARM_MAX:g} %, with the Monte Carlo error (± 2 se) accounted for. "
        f"`tests/test_coverage.py` runs the same designs with fewer replicates in `make test`.",
        "",
        f"Run: seed {seed}, {reps} replicates per design of cost 1 (the bootstrap CSI uses a "
        "fifth, the change test four times as many). Populations: "
        "`vipquality/metrics/validation.py`. A replicate without an interval (a degenerate "
        "sample) counts as a miss.",
        "",
        *_markdown_table(table[~table["previous"]]),
    ]
    current = table[~table["previous"]]
    outside = current[~current["ok"]]
    lines += ["", "## Outside the promise", ""]
    if len(outside):
        lines += [f"- {r.metric} ({r.interval}), {r.design}, n = {r.n}: {r.rate:.1f} %"
                  for r in outside.itertuples(index=False)]
    else:
        lines.append("None: every design keeps the promise.")
    cov = current[(current["kind"] == "coverage") & current["ok"]]
    edge = cov[(cov["rate"] < lo) | (cov["rate"] > hi)]
    alarm = current[(current["kind"] != "coverage") & current["ok"]]
    edge = pd.concat([edge, alarm[alarm["rate"] > FALSE_ALARM_MAX]])
    if len(edge):
        lines += ["", "At the edge (outside the band by the point estimate, inside it within "
                  "the Monte Carlo error):", ""]
        lines += [f"- {r.metric} ({r.interval}), {r.design}, n = {r.n}: {r.rate:.1f} % "
                  f"± {r.mc_se:.1f}" for r in edge.itertuples(index=False)]
    before = table[table["previous"]]
    if len(before):
        lines += ["", "## The intervals they replaced", "",
                  "The same populations and seeds, with the intervals the package reported "
                  "before issue 12 (not asserted; shown for comparison).", "",
                  *_markdown_table(before)]
    lines += [
        "",
        "## Why these intervals",
        "",
        "- **Compliance per visit**: one pseudo-visit at 0 and one at 100, normal interval on "
        "the logit of that mean. The t-interval left the scale (30 visits, one zeroed by a "
        "critical failure: upper bound 103.5 %) and, since most small samples contain no "
        "zero-scored visit when critical failures are rare, under-covered (the table above). "
        "Two pseudo-visits on each side over-cover on the raw scale and under-cover on the logit "
        "one; a bootstrap over visits cannot see the zeros a sample lacks and cannot be "
        "computed from the mergeable sums `summarise` works on.",
        "- **Share of checks (per standard, the staff view's checks passed)**: visits are "
        "clusters (shopper, branch, manager and day are shared), so the variance is the "
        "cluster-robust one of the ratio estimator and the interval is Wilson's on the "
        "effective base n/deff with a t quantile on visits − 1. Wilson on the check count "
        "takes the checks as independent and under-covers as soon as visits differ.",
        "- **CES mean**: the same bounded-mean interval on the item's scale (pseudo-answers at "
        "the two ends). The t-interval left the scale for small n and under-covered on a very "
        "skewed item.",
        "- **CES net easy**: the adjusted Wald interval of the NPS (same −1/0/+1 structure); the "
        "plain Wald interval had zero width when every answer was easy and under-covered on a "
        "skewed item.",
        "- **Change test for NPS and net easy**: the standard error is pooled under \"no "
        "change\" (a score-type test); the unpooled Wald SE raised too many false alarms at "
        "n = 30 per quarter.",
        "- **% easy** stays Wilson's interval; at n = 30 its coverage oscillates with the "
        "share (the binomial lattice), which is why one design sits at the edge.",
        "",
    ]
    return "\n".join(lines)


def _markdown_table(table: pd.DataFrame) -> list[str]:
    lines = ["| metric | interval | population | n | truth | replicates | "
             "coverage / false alarms, % | ± se | mean width | within the promise |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in table.itertuples(index=False):
        rate = f"{row.rate:.1f}" + (" (false alarms)" if row.kind == "false alarm" else "")
        width = "" if np.isnan(row.mean_width) else f"{row.mean_width:.1f}"
        truth = "no change" if row.kind == "false alarm" else f"{row.truth:.2f}"
        lines.append(f"| {row.metric} | {row.interval} | {row.design} | {row.n} | {truth} | "
                     f"{row.reps} | {rate} | {row.mc_se:.1f} | {width} | "
                     f"{'yes' if row.ok else '**no**'} |")
    return lines


def write_validation(path: str | Path, reps: int = 4000, *, seed: int = 20261203) -> Path:
    """Run :func:`run_validation` with ``reps`` replicates and write the Markdown to ``path``.

    Examples
    --------
    ``python -m vipquality.metrics.validation docs/validation.md 4000`` (what
    ``make validate`` runs).
    """
    table = run_validation(reps, seed=seed)
    path = Path(path)
    path.write_text(validation_markdown(table, seed=seed, reps=reps), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover - the make target
    import sys

    target = sys.argv[1] if len(sys.argv) > 1 else "docs/validation.md"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    print(write_validation(target, count))
