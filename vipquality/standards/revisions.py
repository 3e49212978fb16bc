"""The revision log: did a revised standard's compliance change, compared with the others, and
did clients notice?

:func:`revision_effects` finds every standard version whose effective date falls inside the
quarters of the visit data and estimates the revision's effect on compliance by a difference in
differences at check level: the revised standard's checks are the treated group, the checks of
the standards that did not change over the same period are the comparison, and the periods are
before and after the effective date. Given the survey responses it adds the same comparison for
the CSI attributes the standard serves (their performance, 0–100, against the attributes no
revised standard serves); :func:`revision_attributes` shows each linked attribute on its own and
:func:`revision_robustness` checks the estimate (branch clustering, a branch-level estimate and a
placebo date before the revision).

Why the comparison is the other standards, not other branches or segments
--------------------------------------------------------------------------
A revision takes effect in every branch and for every client segment on the same date, so no
branch or segment stays untouched that could serve as the "nothing changed" group. What does stay
unchanged are the other standards, checked on the same visits, by the same shoppers, with the
same managers and branches: their change over the same dates absorbs what moves every standard at
once (a shopper panel change, a seasonal workload, a bank-wide campaign). The assumption is the
usual one of parallel trends: without the revision, the revised standard's compliance would have
moved like the others'. :func:`revision_robustness` probes it with a placebo date halfway
through the before period (no effect is expected there) and checks that the effect is not the
work of a few branches (standard errors clustered by branch, and the mean of the per-branch
estimates with branches as the units). For the survey attributes the comparison is, likewise,
the attributes that no revised standard serves, rated by the same respondents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vipquality.config import (
    Instrument,
    Quarter,
    Standard,
    Standards,
    StandardVersion,
    Workspace,
    load_workspace,
)
from vipquality.errors import DataError
from vipquality.metrics.did import did_2x2
from vipquality.metrics.intervals import t_interval, z_value

__all__ = ["revision_effects", "revision_attributes", "revision_robustness",
           "REVISION_COLUMNS", "ATTRIBUTE_COLUMNS", "ROBUSTNESS_COLUMNS", "ROBUSTNESS_CHECKS"]

REVISION_COLUMNS = [
    "standard_id", "title", "version", "effective", "change", "before_start", "after_end",
    "treated_before", "treated_after", "control_before", "control_after", "did", "ci_low",
    "ci_high", "se", "p_value", "n", "n_treated_before", "n_treated_after", "n_control_before",
    "n_control_after", "visits", "control_standards", "note",
    # the linked CSI attributes (with ``responses``)
    "attributes", "attr_before", "attr_after", "attr_control_before", "attr_control_after",
    "attr_did", "attr_ci_low", "attr_ci_high", "attr_se", "attr_p_value", "attr_n",
    "attr_respondents", "attr_control", "attr_note",
]

#: Columns of :func:`revision_attributes`.
ATTRIBUTE_COLUMNS = [
    "standard_id", "title", "version", "effective", "attribute", "label", "before_start",
    "after_end", "before", "after", "change", "n_before", "n_after", "control_before",
    "control_after", "did", "ci_low", "ci_high", "se", "p_value", "n", "respondents",
    "control_attributes", "note",
]

#: Columns of :func:`revision_robustness`.
ROBUSTNESS_COLUMNS = [
    "standard_id", "version", "effective", "check", "label", "did", "ci_low", "ci_high", "se",
    "p_value", "n", "clusters", "note",
]

#: The checks of :func:`revision_robustness`, in the order they are listed, with their labels.
ROBUSTNESS_CHECKS = {
    "visit_clusters": "Main estimate (standard errors clustered by visit)",
    "branch_clusters": "Same estimate, standard errors clustered by branch",
    "branch_level": "Mean of the per-branch estimates (branches as units, t-interval)",
    "placebo": "Placebo: a pretend revision halfway through the before period (expect 0)",
}


def revision_effects(visits: pd.DataFrame, standards, *, responses: pd.DataFrame | None = None,
                     instrument: Instrument | None = None, confidence: float = 0.95,
                     weighted: bool = False) -> pd.DataFrame:
    """Effect of each standard revision on its compliance (difference in differences), and on
    the CSI attributes it serves.

    Parameters
    ----------
    visits : DataFrame
        Check-level visits as :func:`vipquality.data.store.load_visits` returns them (``quarter,
        visit_id, visit_date, standard_id, result`` and ``weight``); ``na`` and missing
        results are left out.
    standards : Standards, Workspace or path
        The catalogue with the versions and their effective dates (a Workspace also gives the
        fiscal calendar of the quarters and the instrument).
    responses : DataFrame, optional
        Survey responses as :func:`vipquality.data.store.load_responses` returns them
        (``response_id, submitted_at`` and ``sat__<attribute>``; any segment filter is the
        caller's). Without them the ``attr_*`` columns are empty.
    instrument : Instrument, optional
        The questionnaire (attribute ids and the satisfaction scale); needed with
        ``responses`` unless ``standards`` is a Workspace or a path.
    confidence : float, default 0.95
        Confidence level of the intervals.
    weighted : bool, default False
        Weight each check by its item weight (WLS; shares become weighted shares as in
        :func:`vipquality.metrics.compliance.standard_compliance`). By default every applicable check
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

        The linked attributes (``attributes``, the ids the standard serves), from the responses
        submitted in the same period: mean performance (0–100, over the ratings given) of the
        linked attributes before and after (``attr_before``, ``attr_after``) and of the
        comparison attributes (``attr_control_*``: those no standard revised in the period
        serves, listed in ``attr_control``), their difference in differences ``attr_did`` in
        points with ``attr_ci_low``, ``attr_ci_high``, ``attr_se``, ``attr_p_value``, the
        ratings used ``attr_n`` and ``attr_respondents`` (clusters); ``attr_note`` says why
        there is no estimate.

    Notes
    -----
    Linear probability model on the applicable checks of the period,
    ``yes ~ treated + after + treated:after``, fitted by OLS (WLS with ``weighted``) with
    cluster-robust standard errors by visit (checks of one visit are not independent); the
    interaction coefficient is the difference in differences, with a normal interval. The
    comparison group is every other standard without a version taking effect inside the period,
    so two revisions never serve as each other's control. Why other standards and not other
    branches or segments: see the module docstring; :func:`revision_robustness` checks it.

    The attributes use the same model on the ratings (one row per respondent × attribute
    rated, performance = 100 · (rating − lo) / (hi − lo)), clustered by respondent, unweighted
    like attribute performance in :func:`vipquality.metrics.summarise.summarise`. A respondent's date
    is ``submitted_at``.
    """
    z_value(confidence)
    cat, fiscal, ws_instrument = _resolve(standards)
    instrument = instrument or ws_instrument
    checks = _Checks.of(visits, fiscal, weighted)
    if not len(visits):
        return pd.DataFrame([], columns=REVISION_COLUMNS)
    ratings = _Ratings.of(responses, instrument) if responses is not None else None

    rows: list[dict] = []
    for rev in _revisions(cat, checks.start, checks.end):
        controls = checks.controls(rev, cat)
        row = {"standard_id": rev.standard.id, "title": rev.standard.title,
               "version": rev.version.version, "effective": rev.version.effective,
               "change": rev.version.change or "", "before_start": rev.start,
               "after_end": rev.end, "control_standards": ", ".join(controls), "note": "",
               "attributes": ", ".join(rev.standard.attributes)}
        keep, treated, after = checks.design(rev, controls)
        row.update(_did(checks.yes[keep], checks.weight[keep], treated[keep].astype(float),
                        after[keep].astype(float), checks.visit[keep], confidence))
        row.update(_attribute_did(ratings, rev, cat, confidence))
        rows.append(row)
    out = pd.DataFrame(rows, columns=REVISION_COLUMNS)
    for c in ("n", "n_treated_before", "n_treated_after", "n_control_before", "n_control_after",
              "visits", "attr_n", "attr_respondents"):
        out[c] = out[c].astype(int)
    return out


def revision_attributes(responses: pd.DataFrame, standards, *,
                        instrument: Instrument | None = None, quarters=None,
                        confidence: float = 0.95) -> pd.DataFrame:
    """Each CSI attribute a revised standard serves, before and after the revision.

    Parameters
    ----------
    responses : DataFrame
        Survey responses as :func:`vipquality.data.store.load_responses` returns them (``quarter,
        response_id, submitted_at, sat__<attribute>``).
    standards : Standards, Workspace or path
        The catalogue (a Workspace or path also gives the instrument and the fiscal calendar).
    instrument : Instrument, optional
        Needed when ``standards`` is a bare catalogue.
    quarters : sequence of str, optional
        The quarters that bound the periods (e.g. the visits' quarters, to match
        :func:`revision_effects`); default the responses' quarters.
    confidence : float, default 0.95

    Returns
    -------
    DataFrame
        One row per revision × served attribute (catalogue, version and the standard's
        attribute order), columns :data:`ATTRIBUTE_COLUMNS`: the period; the attribute's
        performance (0–100) ``before`` and ``after`` the effective date with the ratings
        ``n_before``, ``n_after`` and ``change`` = after − before (points); the comparison
        attributes' performance (``control_*``, pooled over ``control_attributes``: those no
        standard revised in the period serves); the difference in differences ``did`` with
        ``ci_low``, ``ci_high``, ``se``, ``p_value``, the ratings ``n`` and ``respondents``
        (clusters); ``note`` when there is no estimate.
    """
    z_value(confidence)
    cat, fiscal, ws_instrument = _resolve(standards)
    instrument = instrument or ws_instrument
    ratings = _Ratings.of(responses, instrument)
    quarters = sorted({Quarter.parse(str(q), fiscal) for q in (
        quarters if quarters is not None else responses["quarter"].unique())})
    rows: list[dict] = []
    if quarters:
        for rev in _revisions(cat, quarters[0].start, quarters[-1].end):
            for attribute in rev.standard.attributes:
                row = {"standard_id": rev.standard.id, "title": rev.standard.title,
                       "version": rev.version.version, "effective": rev.version.effective,
                       "attribute": attribute, "label": ratings.labels.get(attribute, attribute),
                       "before_start": rev.start, "after_end": rev.end}
                res = _attribute_did(ratings, rev, cat, confidence, treated=(attribute,))
                row.update({k.removeprefix("attr_"): v for k, v in res.items()
                            if k not in ("attr_did", "attr_ci_low", "attr_ci_high", "attr_se",
                                         "attr_p_value", "attr_n")})
                row.update(did=res["attr_did"], ci_low=res["attr_ci_low"],
                           ci_high=res["attr_ci_high"], se=res["attr_se"],
                           p_value=res["attr_p_value"], n=res["attr_n"],
                           n_before=res["_n_before"], n_after=res["_n_after"],
                           control_attributes=res["attr_control"])
                row["change"] = row["after"] - row["before"]
                rows.append(row)
    out = pd.DataFrame(rows, columns=ATTRIBUTE_COLUMNS)
    for c in ("n", "n_before", "n_after", "respondents"):
        out[c] = out[c].astype(int)
    return out


def revision_robustness(visits: pd.DataFrame, standards, *, confidence: float = 0.95,
                        weighted: bool = False) -> pd.DataFrame:
    """Checks of each revision's compliance estimate (see the module docstring for why).

    Parameters
    ----------
    visits, standards, confidence, weighted
        As for :func:`revision_effects`; ``visits`` also needs ``branch`` for the branch checks.

    Returns
    -------
    DataFrame
        One row per revision × check (the checks of :data:`ROBUSTNESS_CHECKS`, in that order),
        columns :data:`ROBUSTNESS_COLUMNS`: ``check`` (id), ``label`` (a sentence), ``did``
        with ``ci_low``, ``ci_high``, ``se``, ``p_value`` (points), ``n`` (checks used) and
        ``clusters`` (the units of the standard error), ``note`` when there is no estimate.

        - ``visit_clusters``: the estimate of :func:`revision_effects`;
        - ``branch_clusters``: the same estimate with standard errors clustered by branch
          (visits of one branch share managers and habits; wider when they matter);
        - ``branch_level``: the difference in differences computed within each branch that
          has checks in all four cells, averaged over branches with a t-interval across them
          (every branch counts once; a mean far from the main estimate means a few branches
          carry it);
        - ``placebo``: the same model on the before period only, with a pretend effective
          date halfway through it; an interval excluding 0 warns that the revised standard was
          already drifting away from the others, so the main estimate may be biased.
    """
    z_value(confidence)
    cat, fiscal, _ = _resolve(standards)
    checks = _Checks.of(visits, fiscal, weighted)
    rows: list[dict] = []
    if not len(visits):
        return pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)
    for rev in _revisions(cat, checks.start, checks.end):
        controls = checks.controls(rev, cat)
        keep, treated, after = checks.design(rev, controls)
        base = {"standard_id": rev.standard.id, "version": rev.version.version,
                "effective": rev.version.effective}
        y, w, tr, af = (checks.yes[keep], checks.weight[keep], treated[keep].astype(float),
                        after[keep].astype(float))
        main = _did(y, w, tr, af, checks.visit[keep], confidence)
        rows.append({**base, "check": "visit_clusters", **_pick(main, "visits")})
        if checks.branch is None:
            for check in ("branch_clusters", "branch_level"):
                rows.append({**base, "check": check, **_NAN, "n": int(keep.sum()),
                             "clusters": 0, "note": "visits have no branch column"})
        else:
            branch = checks.branch[keep]
            by_branch = _did(y, w, tr, af, branch, confidence)
            rows.append({**base, "check": "branch_clusters", **_pick(by_branch, "visits")})
            rows.append({**base, "check": "branch_level",
                         **_branch_level(y, w, tr, af, branch, confidence)})
        mid = rev.start + (rev.version.effective - rev.start) / 2
        pre = keep & (checks.day < pd.Timestamp(rev.version.effective)).to_numpy()
        fake = (checks.day >= pd.Timestamp(mid)).to_numpy()
        placebo = _did(checks.yes[pre], checks.weight[pre], treated[pre].astype(float),
                       fake[pre].astype(float), checks.visit[pre], confidence)
        rows.append({**base, "check": "placebo", **_pick(placebo, "visits")})
    if not rows:
        return pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)
    out = pd.DataFrame(rows)
    out["label"] = out["check"].map(ROBUSTNESS_CHECKS)
    out = out[ROBUSTNESS_COLUMNS]
    out["n"] = out["n"].astype(int)
    out["clusters"] = out["clusters"].astype(int)
    return out


# --------------------------------------------------------------------------------------------
# the pieces

_NAN = dict(did=np.nan, ci_low=np.nan, ci_high=np.nan, se=np.nan, p_value=np.nan)


def _pick(res: dict, clusters: str) -> dict:
    """The estimate columns of a :func:`_did` result for a robustness row."""
    return {**{k: res[k] for k in _NAN}, "n": res["n"], "clusters": res[clusters],
            "note": res["note"]}


@dataclass(frozen=True)
class _Revision:
    standard: Standard
    version: StandardVersion
    start: dt.date
    end: dt.date
    changed: frozenset[str]      # standards with a version taking effect inside the period


def _revisions(cat: Standards, data_start: dt.date, data_end: dt.date) -> list[_Revision]:
    """Every version after the first whose effective date lies in the data, with its period."""
    out = []
    for standard in cat:
        for i, version in enumerate(standard.versions):
            if i == 0 or not data_start <= version.effective <= data_end:
                continue
            start = max(data_start, standard.versions[i - 1].effective)
            end = data_end
            if i + 1 < len(standard.versions):
                end = min(end, standard.versions[i + 1].effective - dt.timedelta(days=1))
            changed = frozenset(s.id for s in cat
                                if any(start < v.effective <= end for v in s.versions[1:]))
            out.append(_Revision(standard, version, start, end, changed))
    return out


@dataclass(frozen=True)
class _Checks:
    """The applicable checks of the visits as arrays."""

    start: dt.date
    end: dt.date
    day: pd.Series
    yes: np.ndarray
    weight: np.ndarray
    sid: np.ndarray
    visit: np.ndarray
    branch: np.ndarray | None

    @classmethod
    def of(cls, visits: pd.DataFrame, fiscal: int, weighted: bool) -> "_Checks":
        need = ["quarter", "visit_id", "visit_date", "standard_id", "result"]
        missing = [c for c in need if c not in visits.columns]
        if missing:
            raise DataError(f"visits has no column(s) {missing}; expected {need} (load_visits)")
        if len(visits):
            quarters = sorted({Quarter.parse(str(q), fiscal) for q in visits["quarter"].unique()})
            start, end = quarters[0].start, quarters[-1].end
        else:
            start = end = dt.date.min
        applicable = visits[visits["result"].isin(["yes", "no"])]
        day = pd.to_datetime(applicable["visit_date"]).dt.normalize().reset_index(drop=True)
        weight = (pd.to_numeric(applicable["weight"]).to_numpy(dtype=float)
                  if weighted and "weight" in applicable else np.ones(len(applicable)))
        visit_key = (applicable["quarter"].astype(str) + "\x1f"
                     + applicable["visit_id"].astype(str))
        branch = (pd.factorize(applicable["branch"].astype(str))[0]
                  if "branch" in applicable else None)
        return cls(start, end, day, applicable["result"].eq("yes").to_numpy(dtype=float),
                   weight, applicable["standard_id"].astype(str).to_numpy(),
                   pd.factorize(visit_key)[0], branch)

    def controls(self, rev: _Revision, cat: Standards) -> list[str]:
        return sorted(set(np.unique(self.sid)) - rev.changed - {rev.standard.id},
                      key=lambda s: (cat.ids.index(s) if s in cat.ids else len(cat), s))

    def design(self, rev: _Revision, controls: list[str]):
        """Rows of the period (treated or control), treated and after masks (all rows)."""
        in_period = ((self.day >= pd.Timestamp(rev.start))
                     & (self.day <= pd.Timestamp(rev.end))).to_numpy()
        treated = self.sid == rev.standard.id
        keep = in_period & (treated | np.isin(self.sid, controls))
        after = (self.day >= pd.Timestamp(rev.version.effective)).to_numpy()
        return keep, treated, after


@dataclass(frozen=True)
class _Ratings:
    """Attribute ratings in long form: one row per respondent × attribute rated (0–1)."""

    day: np.ndarray          # datetime64[ns], normalised to the day
    attribute: np.ndarray    # attribute id (str)
    score: np.ndarray        # (rating − lo) / (hi − lo)
    respondent: np.ndarray   # cluster code
    labels: dict
    code: np.ndarray | None = None  # position of ``attribute`` in ``ids`` (int): fast masks
    ids: tuple = ()                 # the instrument's rated attribute ids, in column order

    def present(self) -> set:
        """The attributes with at least one rating."""
        if self.code is None:
            return set(np.unique(self.attribute).tolist()) if len(self.attribute) else set()
        counts = np.bincount(self.code, minlength=len(self.ids))
        return {a for a, c in zip(self.ids, counts) if c}

    def rated(self, attributes) -> np.ndarray:
        """Mask of the ratings of ``attributes`` (an integer comparison, not of strings)."""
        if self.code is None:
            return np.isin(self.attribute, list(attributes))
        wanted = [i for i, a in enumerate(self.ids) if a in set(attributes)]
        return np.isin(self.code, wanted)

    @classmethod
    def of(cls, responses: pd.DataFrame, instrument: Instrument | None) -> "_Ratings":
        if instrument is None:
            raise TypeError("the attribute ratings need the instrument: pass instrument= or a "
                            "Workspace as standards")
        need = ["response_id", "submitted_at"]
        missing = [c for c in need if c not in responses.columns]
        if missing:
            raise DataError(f"responses has no column(s) {missing}; expected {need} and "
                            "sat__<attribute> (load_responses)")
        lo, hi = instrument.csi_scale
        ids = [a for a in instrument.attribute_ids if f"sat__{a}" in responses.columns]
        sat = responses[[f"sat__{a}" for a in ids]].to_numpy(dtype=float, na_value=np.nan)
        rated = np.isfinite(sat)
        row, col = np.nonzero(rated)
        day = pd.to_datetime(responses["submitted_at"]).dt.tz_localize(None).dt.normalize()
        key = (responses["quarter"].astype(str) + "\x1f" if "quarter" in responses else "") \
            + responses["response_id"].astype(str)
        return cls(day.to_numpy()[row], np.asarray(ids, dtype=object)[col],
                   (sat[row, col] - lo) / (hi - lo), pd.factorize(key)[0][row],
                   {a.id: a.label for a in instrument.attributes}, code=col, ids=tuple(ids))


def _attribute_did(ratings: _Ratings | None, rev: _Revision, cat: Standards, confidence,
                   treated: tuple[str, ...] | None = None) -> dict:
    """The ``attr_*`` columns of one revision (all linked attributes, or ``treated``)."""
    treated = tuple(treated if treated is not None else rev.standard.attributes)
    empty = {"attr_before": np.nan, "attr_after": np.nan, "attr_control_before": np.nan,
             "attr_control_after": np.nan, **{f"attr_{k}": v for k, v in _NAN.items()},
             "attr_n": 0, "attr_respondents": 0, "attr_control": "", "_n_before": 0,
             "_n_after": 0}
    if ratings is None:
        return {**empty, "attr_note": "no survey responses given"}
    revised_attrs = {a for s in cat if s.id in rev.changed | {rev.standard.id}
                     for a in s.attributes}
    present = ratings.present()
    ordered = [a for a in ratings.labels if a in present]
    controls = [a for a in ordered if a not in revised_attrs]
    empty["attr_control"] = ", ".join(controls)
    if not any(a in present for a in treated):
        return {**empty, "attr_note": "no ratings of the linked attributes"}
    day = ratings.day
    in_period = (day >= np.datetime64(rev.start)) & (day <= np.datetime64(rev.end))
    is_treated = ratings.rated(treated)
    keep = in_period & (is_treated | ratings.rated(controls))
    after = day >= np.datetime64(rev.version.effective)
    res = _did(ratings.score[keep], np.ones(int(keep.sum())), is_treated[keep].astype(float),
               after[keep].astype(float), ratings.respondent[keep], confidence)
    if res["note"] == "no comparison standard":
        res["note"] = "no comparison attribute"
    return {"attr_before": res["treated_before"], "attr_after": res["treated_after"],
            "attr_control_before": res["control_before"],
            "attr_control_after": res["control_after"],
            **{f"attr_{k}": res[k] for k in _NAN}, "attr_n": res["n"],
            "attr_respondents": res["visits"], "attr_control": ", ".join(controls),
            "attr_note": res["note"], "_n_before": res["n_treated_before"],
            "_n_after": res["n_treated_after"]}


def _branch_level(y, w, treated, after, branch, confidence) -> dict:
    """Mean over branches of the within-branch difference in differences, t-interval."""
    frame = pd.DataFrame({"b": branch, "cell": treated * 2 + after, "wy": w * y, "w": w})
    sums = frame.groupby(["b", "cell"])[["wy", "w"]].sum()
    share = (sums["wy"] / sums["w"].where(sums["w"] > 0)).unstack("cell")
    share = share.reindex(columns=[0.0, 1.0, 2.0, 3.0]).dropna()
    did = 100 * ((share[3.0] - share[2.0]) - (share[1.0] - share[0.0])).to_numpy()
    k = len(did)
    n = int(frame["b"].isin(share.index).sum())
    if k < 2:
        return {**_NAN, "n": n, "clusters": k,
                "note": "fewer than two branches with checks in all four cells"}
    mean, sd = float(did.mean()), float(did.std(ddof=1))
    low, high = t_interval(mean, sd, k, confidence)
    se = sd / np.sqrt(k)
    from scipy import stats

    p = float(2 * stats.t.sf(abs(mean / se), k - 1)) if se > 0 else np.nan
    return {"did": mean, "ci_low": float(low), "ci_high": float(high), "se": se,
            "p_value": p, "n": n, "clusters": k, "note": ""}


def _did(y, w, treated, after, cluster, confidence) -> dict:
    """Cell shares, counts and the interaction estimate of one revision (closed form:
    :func:`vipquality.metrics.did.did_2x2`, equal to the cluster-robust OLS/WLS fit)."""
    res: dict = {}
    cells = {"treated_before": (treated == 1) & (after == 0),
             "treated_after": (treated == 1) & (after == 1),
             "control_before": (treated == 0) & (after == 0),
             "control_after": (treated == 0) & (after == 1)}
    for name, mask in cells.items():
        res[f"n_{name}"] = int(mask.sum())
    fit = did_2x2(y, treated, after, cluster, weights=None if np.all(w == 1) else w,
                  confidence=confidence)
    res.update({name: 100 * fit[name] for name in cells})
    res["n"] = len(y)
    res["visits"] = fit["clusters"]
    empty = [name.replace("_", " ") for name in cells if not np.isfinite(res[name])]
    if empty:
        what = ("no comparison standard" if res["n_control_before"] + res["n_control_after"]
                == 0 else "no checks " + ", ".join(empty))
        return {**res, **_NAN, "note": what}
    return {**res, **{k: 100 * fit[k] for k in ("did", "ci_low", "ci_high", "se")},
            "p_value": fit["p_value"], "note": ""}


def _resolve(standards) -> tuple[Standards, int, Instrument | None]:
    """The catalogue, the fiscal-year start month (1 unless a Workspace says otherwise) and the
    instrument (None with a bare catalogue)."""
    if isinstance(standards, Standards):
        return standards, 1, None
    if isinstance(standards, (str, bytes)) or hasattr(standards, "__fspath__"):
        standards = load_workspace(standards)
    if isinstance(standards, Workspace):
        return standards.standards, standards.fiscal_year_start, standards.instrument
    raise TypeError(f"expected a Standards catalogue, a Workspace or a workspace path, "
                    f"got {type(standards).__name__}")
