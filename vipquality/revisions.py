"""The revision log: did a revised standard's compliance change, compared with the others?

:func:`revision_effects` finds every standard version whose effective date falls inside the
quarters of the visit data and estimates the revision's effect on compliance by a difference in
differences at check level: the revised standard's checks are the treated group, the checks of
the standards that did not change over the same period are the comparison, and the periods are
before and after the effective date.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd

from .errors import DataError
from .intervals import z_value
from .workspace import Quarter, Standards, Workspace, load_workspace

__all__ = ["revision_effects", "REVISION_COLUMNS"]

REVISION_COLUMNS = [
    "standard_id", "title", "version", "effective", "change", "before_start", "after_end",
    "treated_before", "treated_after", "control_before", "control_after", "did", "ci_low",
    "ci_high", "se", "p_value", "n", "n_treated_before", "n_treated_after", "n_control_before",
    "n_control_after", "visits", "control_standards", "note",
]


def revision_effects(visits: pd.DataFrame, standards, *, confidence: float = 0.95,
                     weighted: bool = False) -> pd.DataFrame:
    """Effect of each standard revision on its compliance (difference in differences).

    Parameters
    ----------
    visits : DataFrame
        Check-level visits as :func:`vipquality.store.load_visits` returns them (``quarter,
        visit_id, visit_date, standard_id, result`` and ``weight``); ``na`` and missing
        results are left out.
    standards : Standards, Workspace or path
        The catalogue with the versions and their effective dates (a Workspace also gives the
        fiscal calendar of the quarters).
    confidence : float, default 0.95
        Confidence level of the interval.
    weighted : bool, default False
        Weight each check by its item weight (WLS; shares become weighted shares as in
        :func:`vipquality.compliance.standard_compliance`). By default every applicable check
        counts once, so the four shares reconcile exactly with the estimate.

    Returns
    -------
    DataFrame
        One row per revision (a version after the first whose effective date lies within the
        data's quarters), in catalogue and version order, columns :data:`REVISION_COLUMNS`:
        the period analysed (``before_start`` = the later of the data start and the previous
        version's effective date, ``after_end`` = the earlier of the data end and the next
        version's effective date − 1 day); compliance (% of applicable checks yes) of the
        revised standard (``treated_*``) and of the comparison standards (``control_*``)
        before and after; ``did`` = (treated_after − treated_before) − (control_after −
        control_before) in points with ``ci_low``, ``ci_high``, ``se``, ``p_value``; the check
        counts of the four cells, ``n``, and ``visits`` (clusters). ``note`` says why a row has
        no estimate (an empty cell, no comparison standard).

    Notes
    -----
    Linear probability model on the applicable checks of the period,
    ``yes ~ treated + after + treated:after``, fitted by OLS (WLS with ``weighted``) with
    cluster-robust standard errors by visit (checks of one visit are not independent); the
    interaction coefficient is the difference in differences, with a normal interval. The
    comparison group is every other standard without a version taking effect inside the period,
    so two revisions never serve as each other's control.
    """
    import statsmodels.api as sm

    z_value(confidence)
    cat, fiscal = _catalogue(standards)
    need = ["quarter", "visit_id", "visit_date", "standard_id", "result"]
    missing = [c for c in need if c not in visits.columns]
    if missing:
        raise DataError(f"visits has no column(s) {missing}; expected {need} (load_visits)")
    rows: list[dict] = []
    if not len(visits):
        return pd.DataFrame(rows, columns=REVISION_COLUMNS)

    quarters = sorted({Quarter.parse(str(q), fiscal) for q in visits["quarter"].unique()})
    data_start, data_end = quarters[0].start, quarters[-1].end
    applicable = visits[visits["result"].isin(["yes", "no"])]
    day = pd.to_datetime(applicable["visit_date"]).dt.normalize()
    yes = applicable["result"].eq("yes").to_numpy(dtype=float)
    weight = (pd.to_numeric(applicable["weight"]).to_numpy(dtype=float)
              if weighted and "weight" in applicable else np.ones(len(applicable)))
    sid = applicable["standard_id"].astype(str).to_numpy()
    cluster = pd.factorize(applicable["quarter"].astype(str) + "\x1f"
                           + applicable["visit_id"].astype(str))[0]

    for standard in cat:
        for i, version in enumerate(standard.versions):
            if i == 0 or not data_start <= version.effective <= data_end:
                continue
            start = max(data_start, standard.versions[i - 1].effective)
            end = data_end
            if i + 1 < len(standard.versions):
                end = min(end, standard.versions[i + 1].effective - dt.timedelta(days=1))
            changed = {s.id for s in cat
                       if any(start < v.effective <= end for v in s.versions[1:])}
            controls = sorted(set(np.unique(sid)) - changed - {standard.id},
                              key=lambda s: (cat.ids.index(s) if s in cat.ids else len(cat), s))
            row = {"standard_id": standard.id, "title": standard.title,
                   "version": version.version, "effective": version.effective,
                   "change": version.change or "", "before_start": start, "after_end": end,
                   "control_standards": ", ".join(controls), "note": ""}
            in_period = ((day >= pd.Timestamp(start)) & (day <= pd.Timestamp(end))).to_numpy()
            treated = sid == standard.id
            keep = in_period & (treated | np.isin(sid, controls))
            after = (day >= pd.Timestamp(version.effective)).to_numpy()
            row.update(_did(yes[keep], weight[keep], treated[keep].astype(float),
                            after[keep].astype(float), cluster[keep], confidence, sm))
            rows.append(row)
    out = pd.DataFrame(rows, columns=REVISION_COLUMNS)
    for c in ("n", "n_treated_before", "n_treated_after", "n_control_before", "n_control_after",
              "visits"):
        out[c] = out[c].astype(int)
    return out


def _did(y, w, treated, after, cluster, confidence, sm) -> dict:
    """Cell shares, counts and the interaction estimate of one revision."""
    res: dict = {}
    cells = {"treated_before": (treated == 1) & (after == 0),
             "treated_after": (treated == 1) & (after == 1),
             "control_before": (treated == 0) & (after == 0),
             "control_after": (treated == 0) & (after == 1)}
    empty = []
    for name, mask in cells.items():
        res[f"n_{name}"] = int(mask.sum())
        sw = w[mask].sum()
        res[name] = 100 * float((w[mask] * y[mask]).sum() / sw) if sw > 0 else np.nan
        if sw <= 0:
            empty.append(name.replace("_", " "))
    res["n"] = int(len(y))
    res["visits"] = int(len(np.unique(cluster)))
    nan = dict(did=np.nan, ci_low=np.nan, ci_high=np.nan, se=np.nan, p_value=np.nan)
    if empty:
        what = ("no comparison standard" if res["n_control_before"] + res["n_control_after"]
                == 0 else "no checks " + ", ".join(empty))
        return {**res, **nan, "note": what}
    X = np.column_stack([np.ones_like(y), treated, after, treated * after])
    model = sm.WLS(y, X, weights=w) if not np.all(w == 1) else sm.OLS(y, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": cluster})
        low, high = fit.conf_int(alpha=1 - confidence)[3]
    return {**res, "did": 100 * float(fit.params[3]), "ci_low": 100 * float(low),
            "ci_high": 100 * float(high), "se": 100 * float(fit.bse[3]),
            "p_value": float(fit.pvalues[3]), "note": ""}


def _catalogue(standards) -> tuple[Standards, int]:
    """The catalogue and the fiscal-year start month (1 unless a Workspace says otherwise)."""
    if isinstance(standards, Standards):
        return standards, 1
    if isinstance(standards, (str, bytes)) or hasattr(standards, "__fspath__"):
        standards = load_workspace(standards)
    if isinstance(standards, Workspace):
        return standards.standards, standards.fiscal_year_start
    raise TypeError(f"expected a Standards catalogue, a Workspace or a workspace path, "
                    f"got {type(standards).__name__}")
