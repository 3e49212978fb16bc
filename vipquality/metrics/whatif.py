"""What-if on the driver model: the change in NPS (or overall satisfaction) predicted when an
attribute's performance, or a standard's compliance through the attributes it serves, moves to
a target.

The driver model is the regression that the relative weights of :mod:`vipquality.metrics.drivers`
decompose: the outcome on the attribute ratings, over the respondents who answered all of them
(listwise, as there). Here the ratings are put on the 0–100 performance scale and the outcome is
scored so that its mean *is* the reported statistic:

- ``outcome="nps"``: each respondent's contribution to NPS, +100 (promoter, 9–10), 0 (passive)
  or −100 (detractor, 0–6), so the mean is the NPS and a coefficient is "NPS points per point
  of attribute performance" (a linear probability model of promoters minus detractors);
- ``outcome="overall"``: overall satisfaction on 0–100, as attribute performance.

Respondents count once each (survey weights are not applied), as in the key drivers. With an
intercept, the fitted mean equals the observed mean, so moving the mean performance of
attribute *a* by Δ_a points predicts a change of Σ_a β_a Δ_a in the outcome's mean. The interval
is a percentile bootstrap over respondents (the model refitted in each resample).

Assumptions (stated with every result, ``attrs["assumptions"]``): the relation is
associational, not causal (clients who rate an attribute higher also recommend more; raising
the attribute need not raise their recommendation as much); it is linear and additive, applied
to a shift of the segment's mean; the other attributes stay where they are. A standard's
compliance moves each of the k attributes it serves by ``pass_through`` performance points per
compliance point (default 1/k: a compliance point is worth one point of performance, shared
among them), an assumption unless a revision's difference in differences measured it
(:mod:`vipquality.standards.agenda` checks the revision log).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from vipquality.config import ALL_SEGMENT, Workspace, load_workspace
from vipquality.errors import DataError
from vipquality.metrics.drivers import OUTCOMES, _bootstrap_counts, _percentile_interval
from vipquality.metrics.intervals import z_value

__all__ = ["ASSUMPTIONS", "WHAT_IF_COLUMNS", "outcome_score", "simulate", "what_if"]

WHAT_IF_COLUMNS = [
    "segment", "outcome", "attributes", "current", "target", "shift", "baseline", "change",
    "ci_low", "ci_high", "predicted", "n", "r_squared",
]

#: The assumptions behind every what-if, in one sentence each.
ASSUMPTIONS = (
    ("Associational, not causal: the driver model shows how clients' ratings of the attributes "
     "go together with their recommendation, not what raising an attribute would cause."),
    ("Linear and additive: the mean performance of the moved attributes shifts by the stated "
     "points for the segment as a whole, the other attributes stay where they are."),
    ("The interval is a percentile bootstrap over respondents (the model refitted in each "
     "resample); it covers sampling error, not the model's assumptions."),
)


def outcome_score(values, outcome: str, scale: tuple[float, float] = (1, 10)) -> np.ndarray:
    """Each respondent's score whose mean is the reported outcome.

    Parameters
    ----------
    values : array-like
        The NPS item (0–10) or the overall-satisfaction item; NaN = missing.
    outcome : {"nps", "overall"}
    scale : (lo, hi)
        The overall item's scale (ignored for NPS).

    Returns
    -------
    ndarray of float
        NPS: +100 promoter (9–10), 0 passive (7–8), −100 detractor (0–6); overall:
        100 · (value − lo) / (hi − lo).

    Examples
    --------
    >>> outcome_score([10, 8, 3, float("nan")], "nps").tolist()
    [100.0, 0.0, -100.0, nan]
    """
    v = np.asarray(values, dtype=float)
    if outcome == "nps":
        return np.where(np.isnan(v), np.nan, np.where(v >= 9, 100.0, np.where(v <= 6, -100.0,
                                                                              0.0)))
    if outcome == "overall":
        lo, hi = scale
        return 100 * (v - lo) / (hi - lo)
    raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")


def _ols(F: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS slopes (intercept dropped) for each row of frequency weights ``F`` (b × m).

    Written out rather than calling statsmodels once per resample: the normal equations of all
    resamples come from two matrix products (frequencies × the rows' outer products, as in
    :func:`vipquality.metrics.drivers._johnson`) and one batched solve (k is a handful of
    attributes). A resample whose design is singular gives NaN.
    """
    D = np.column_stack([np.ones(len(X)), X])                    # m × p
    m, p = D.shape
    outer = (D[:, :, None] * D[:, None, :]).reshape(m, p * p)
    XtX = (F @ outer).reshape(-1, p, p)                          # b × p × p
    Xty = F @ (D * y[:, None])                                   # b × p
    out = np.full((F.shape[0], D.shape[1]), np.nan)
    cond = np.linalg.cond(XtX)
    ok = np.isfinite(cond) & (cond < 1e12)
    if ok.any():
        out[ok] = np.linalg.solve(XtX[ok], Xty[ok][:, :, None])[:, :, 0]
    return out[:, 1:]


def simulate(X: pd.DataFrame, y, shifts: Mapping[str, float], *, n_boot: int = 500,
             seed: int = 0, confidence: float = 0.95) -> dict:
    """Predicted change in the mean of ``y`` when the means of some columns of ``X`` shift.

    Parameters
    ----------
    X : DataFrame
        Predictors (attribute performance, 0–100), one column per attribute, NaN = missing.
    y : array-like
        The outcome score, one per row (see :func:`outcome_score`).
    shifts : mapping
        Column → shift of its mean (in the units of ``X``); columns not named stay put.
    n_boot : int, default 500
        Bootstrap resamples of the complete rows for the interval (0 = no interval).
    seed : int, default 0
    confidence : float, default 0.95

    Returns
    -------
    dict
        ``change`` (Σ β_a · shift_a), ``ci_low``, ``ci_high`` (NaN without a bootstrap),
        ``baseline`` (mean of ``y`` over the complete rows), ``predicted`` (baseline + change),
        ``n`` (complete rows), ``r_squared`` and ``coef`` (slope per column, a Series).

    Raises
    ------
    DataError
        A shift names a column not in ``X``, or fewer complete rows than columns + 2.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [0., 10, 20, 30], "b": [5., 0, 10, 5]})
    >>> y = 2 * X["a"] - X["b"] + 1
    >>> r = simulate(X, y, {"a": 5}, n_boot=0)
    >>> round(r["change"], 6), round(r["baseline"], 6)
    (10.0, 26.0)
    """
    unknown = [c for c in shifts if c not in X.columns]
    if unknown:
        raise DataError(f"what-if shifts name {unknown}, not among the attributes "
                        f"{[str(c) for c in X.columns]}")
    z_value(confidence)
    Xv = X.to_numpy(dtype=float)
    yv = np.asarray(y, dtype=float).ravel()
    if len(yv) != len(Xv):
        raise DataError(f"expected one outcome per row of X ({len(Xv)}), got {len(yv)}")
    keep = np.isfinite(Xv).all(axis=1) & np.isfinite(yv)
    Xc, yc = Xv[keep], yv[keep]
    m, k = Xc.shape
    if m < k + 2:
        raise DataError(f"the what-if needs at least {k + 2} complete rows (attributes + 2), "
                        f"got {m}")
    delta = np.array([float(shifts.get(c, 0.0)) for c in X.columns])
    # centring makes the normal equations better conditioned; slopes are unchanged
    mu = Xc.mean(axis=0)
    beta = _ols(np.ones((1, m)), Xc - mu, yc)[0]
    fitted = yc.mean() + (Xc - mu) @ beta
    ss_tot = float(((yc - yc.mean()) ** 2).sum())
    r2 = 1 - float(((yc - fitted) ** 2).sum()) / ss_tot if ss_tot > 0 else np.nan
    change = float(beta @ delta)
    low = high = np.nan
    if n_boot:
        reps = _bootstrap_slopes(Xc - mu, yc, n_boot, seed) @ delta
        low, high = (float(v[0]) for v in _percentile_interval(reps[:, None], confidence))
    base = float(yc.mean())
    return {"change": change, "ci_low": low, "ci_high": high, "baseline": base,
            "predicted": base + change, "n": int(m), "r_squared": r2,
            "coef": pd.Series(beta, index=[str(c) for c in X.columns])}


#: The bootstrap slopes of the last few designs. The standards agenda asks one what-if per
#: proposal, and every proposal of a segment refits the same rows (all attributes, the same
#: complete respondents) on the same resamples: only the shift differs. The slopes depend on
#: the rows, ``n_boot`` and the seed alone, so they are computed once (the resamples were most
#: of the 1-million-response report's shared step) and the results stay the same.
_SLOPES: OrderedDict[bytes, np.ndarray] = OrderedDict()
_SLOPES_KEPT = 16


def _bootstrap_slopes(Xc: np.ndarray, yc: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """The ``n_boot`` × k slopes of the resamples of ``(Xc, yc)`` (cached, see ``_SLOPES``)."""
    digest = hashlib.blake2b(digest_size=20)
    for part in (np.ascontiguousarray(Xc), np.ascontiguousarray(yc),
                 np.array([*Xc.shape, n_boot, seed], dtype=np.int64)):
        digest.update(part.tobytes())
    key = digest.digest()
    if key in _SLOPES:
        _SLOPES.move_to_end(key)
        return _SLOPES[key]
    rng = np.random.default_rng(seed)
    slopes = np.concatenate([_ols(F.astype(float), Xc, yc)
                             for F in _bootstrap_counts(rng, len(yc), n_boot)])
    slopes.setflags(write=False)
    _SLOPES[key] = slopes
    while len(_SLOPES) > _SLOPES_KEPT:
        _SLOPES.popitem(last=False)
    return slopes


def _per_segment(value, segment: str, what: str):
    if value is None or isinstance(value, (int, float, np.floating, np.integer)):
        return value
    if isinstance(value, Mapping):
        if segment in value:
            return value[segment]
        raise DataError(f"what-if: no {what} given for segment {segment!r} "
                        f"(have {', '.join(map(str, value))})")
    raise TypeError(f"{what} must be a number or a mapping segment → number, "
                    f"got {type(value).__name__}")


def what_if(responses: pd.DataFrame, workspace, *, attribute: str | Sequence[str] | None = None,
            standard: str | None = None, to=None, by=None, compliance=None,
            pass_through: float | None = None, outcome: str = "nps",
            segments: Sequence[str] | None = None, quarter: str | None = None,
            n_boot: int = 500, seed: int = 0) -> pd.DataFrame:
    """Predicted change in NPS (or overall satisfaction) per segment when an attribute's
    performance, or a standard's compliance, moves to a target.

    Parameters
    ----------
    responses : DataFrame
        Survey responses (``sat__<attribute>`` ratings and the outcome column ``nps`` or
        ``overall``), with a ``segment`` column (one row per response × segment; without one
        every row counts for ``all``) and ``quarter`` when ``quarter`` is given.
    workspace : Workspace or path
        The instrument (attributes, scales), the standards catalogue (served attributes,
        targets), the confidence level and the suppression base; None = the bundled sample.
    attribute : str or list of str, optional
        The attribute(s) to move; ``to`` is then the target performance (0–100) and ``by`` a
        shift in performance points.
    standard : str, optional
        The standard whose compliance moves; ``to`` is the target compliance (%, default the
        catalogue's target for each segment), ``by`` a shift in compliance points, and
        ``compliance`` the current compliance (needed with ``to`` or the default target). Each
        served attribute moves by ``pass_through`` × the compliance shift, within 0–100.
    to, by : float or mapping segment → float
        Exactly one (``to`` may be left out for a standard: its target).
    compliance : float or mapping segment → float, optional
        Current compliance of ``standard`` per segment (e.g. from the scorecard).
    pass_through : float, optional
        Performance points of each served attribute per compliance point. Default 1/k for a
        standard serving k attributes: a compliance point is worth one point of attribute
        performance, shared evenly among them (an assumption; a revision's difference in
        differences can measure it, see :mod:`vipquality.standards.agenda`).
    outcome : {"nps", "overall"}, default "nps"
    segments : list of str, optional
        Segments to simulate (default: every segment in ``responses``); a segment with fewer
        complete answers than the workspace's suppression base is left out.
    quarter : str, optional
        Use only this quarter's responses.
    n_boot : int, default 500
        Bootstrap resamples for the interval (0 = none).
    seed : int, default 0

    Returns
    -------
    DataFrame
        One row per segment, columns :data:`WHAT_IF_COLUMNS`: ``attributes`` moved (comma
        separated), ``current`` and ``target`` (performance, or compliance for a standard),
        ``shift`` (performance points applied to each moved attribute), ``baseline`` (the
        outcome over the model's respondents), ``change`` (predicted, in NPS points or 0–100
        points of overall satisfaction) with ``ci_low``, ``ci_high``, ``predicted`` =
        baseline + change, ``n`` (complete respondents) and ``r_squared``. ``attrs``:
        ``assumptions`` (sentences), ``coef`` (segment → slopes per attribute).

    Raises
    ------
    DataError
        Unknown attribute or standard, a segment too small for the model, missing inputs.

    Examples
    --------
    >>> import vipquality as vq
    >>> from vipquality.data.store import load_responses      # doctest: +SKIP
    >>> r = vq.what_if(load_responses("surveys", quarters=["2026Q3"]), "surveys",
    ...                attribute="response_speed", by=10, n_boot=200)   # doctest: +SKIP
    >>> r[["segment", "change", "ci_low", "ci_high"]]          # doctest: +SKIP
    """
    ws = (workspace if isinstance(workspace, Workspace)
          else load_workspace(workspace) if workspace else load_workspace())
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    if (attribute is None) == (standard is None):
        raise ValueError("what_if needs exactly one of attribute= or standard=")
    if to is not None and by is not None:
        raise ValueError("give either to= or by=, not both")
    if attribute is not None and to is None and by is None:
        raise ValueError("an attribute what-if needs to= (target performance) or by= (points)")
    if pass_through is not None and (not np.isfinite(pass_through) or pass_through < 0):
        raise ValueError(f"pass_through must be a finite number ≥ 0, got {pass_through!r}")
    inst = ws.instrument
    ids = [a for a in inst.attribute_ids if f"sat__{a}" in responses.columns]
    if standard is not None:
        try:
            std = ws.standards.get(standard)
        except KeyError as exc:
            raise DataError(str(exc.args[0])) from None
        moved = [a for a in std.attributes if a in ids]
        if not moved:
            raise DataError(f"standard {standard} serves {list(std.attributes)}, none of which "
                            "the responses rate")
        if pass_through is None:
            pass_through = 1 / len(moved)
    else:
        moved = [attribute] if isinstance(attribute, str) else list(attribute)
        missing = [a for a in moved if a not in ids]
        if missing:
            raise DataError(f"unknown attribute(s) {missing}; the responses rate {ids}")
    if outcome not in responses.columns:
        raise DataError(f"responses have no {outcome!r} column", column=outcome)
    lo, hi = inst.csi_scale
    scale = tuple(inst.overall.scale) if outcome == "overall" and inst.overall else (lo, hi)
    frame = responses if quarter is None else responses[responses["quarter"] == str(quarter)]
    if "segment" not in frame.columns:
        frame = frame.assign(segment=ALL_SEGMENT)
    if segments is None:
        segments = list(dict.fromkeys(frame["segment"].dropna()))
    rows, coefs = [], {}
    for seg in segments:
        group = frame[frame["segment"] == seg]
        if group[[*(f"sat__{a}" for a in ids), outcome]].notna().all(axis=1).sum() < (
                ws.reporting.base_suppress):
            continue  # under the suppression base: no estimate, as for the key drivers
        X = pd.DataFrame({a: 100 * (group[f"sat__{a}"].astype(float).to_numpy() - lo) / (hi - lo)
                          for a in ids})
        perf = X[moved].mean()
        seg_to, seg_by = _per_segment(to, seg, "to"), _per_segment(by, seg, "by")
        if standard is not None:
            cur = _per_segment(compliance, seg, "compliance")
            if seg_by is None:
                target = std.target(seg) if seg_to is None else seg_to
                if cur is None:
                    raise DataError(f"what-if on {standard}: give compliance= (current "
                                    "compliance) or by= (compliance points)")
                seg_by = target - cur
            else:
                target = np.nan if cur is None else cur + seg_by
            shifts = {a: float(np.clip(pass_through * seg_by, -perf[a], 100 - perf[a]))
                      for a in moved}
            current = np.nan if cur is None else float(cur)
        else:
            if seg_by is None:
                shifts = {a: float(seg_to) - float(perf[a]) for a in moved}
                target = float(seg_to)
            else:
                shifts = {a: float(seg_by) for a in moved}
                target = float(perf.mean() + seg_by)
            current = float(perf.mean())
        y = outcome_score(group[outcome].astype(float).to_numpy(), outcome, scale)
        try:
            res = simulate(X, y, shifts, n_boot=n_boot, seed=seed,
                           confidence=ws.reporting.confidence)
        except DataError as exc:
            raise DataError(f"segment {seg!r}: {exc.problem}") from None
        coefs[seg] = res.pop("coef")
        rows.append({"segment": seg, "outcome": outcome, "attributes": ", ".join(moved),
                     "current": current, "target": target,
                     "shift": float(np.mean(list(shifts.values()))), **res})
    out = pd.DataFrame(rows, columns=WHAT_IF_COLUMNS)
    out["n"] = out["n"].astype(int)
    assumptions = list(ASSUMPTIONS)
    if standard is not None:
        assumptions.append(
            f"Each point of compliance with {standard} is assumed to move the attributes it "
            f"serves ({', '.join(moved)}) by {pass_through:.3g} performance point(s) each.")
    out.attrs.update(assumptions=assumptions, coef=coefs)
    return out
