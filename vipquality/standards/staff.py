"""The staff view: mystery-shopper compliance by personal manager, with certification and training.

For the owner of training, not for executives: this is the one place where personal managers'
names appear, and its page is published to ``reports/restricted/<quarter>/`` (see
:class:`vipquality.report.NotebookJob`). :func:`staff_compliance` joins each manager's compliance
(mean visit score with the bounded interval of any group in ``metrics.md``) to the roster
(``staff.csv`` of the workspace, read by :func:`load_roster`), with the share of checklist items
passed set against the targets of the standards checked, and flags who is below target and
who has not been trained in the last twelve months. Managers whose base is under the suppression
threshold are listed with their visit count only: no value, no rank.

:func:`staff_report` is what the notebook calls (the visits of the report's trend window);
:func:`staff_summary`, :func:`staff_chart` and :func:`staff_table` draw it with
:mod:`vipquality.report.pages.charts` and :mod:`vipquality.report.pages.tables`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from vipquality.config import Quarter, Reporting, Standards, Workspace, load_workspace
from vipquality.errors import DataError
from vipquality.metrics.compliance import visit_scores
from vipquality.metrics.intervals import bounded_mean_interval, clustered_share, z_value

__all__ = ["load_roster", "staff_compliance", "staff_report", "STAFF_COLUMNS", "ROSTER_COLUMNS"]

#: The roster columns (``staff.csv``); only ``manager_id`` is required.
ROSTER_COLUMNS = ["manager_id", "manager_name", "branch", "certified", "certified_on",
                  "last_trained"]

STAFF_COLUMNS = [
    "manager_id", "manager_name", "branch", "visits", "critical_failures", "compliance",
    "ci_low", "ci_high", "se", "checks", "checks_passed", "checks_ci_low", "checks_ci_high",
    "target", "gap", "base_flag", "rank", "below_target",
    "certified", "certified_on", "last_trained", "months_since_training", "not_trained_12m",
    "in_roster",
]

_YES = {"yes", "y", "true", "1", "да"}
_NO = {"no", "n", "false", "0", "нет", ""}


# --------------------------------------------------------------------------------------------
# the roster


def load_roster(workspace: Workspace | str | Path) -> pd.DataFrame:
    """The personal-manager roster of a workspace (its ``staff`` file), parsed.

    Returns
    -------
    DataFrame
        :data:`ROSTER_COLUMNS`: ``manager_id``, ``manager_name``, ``branch`` (str; ``""`` when
        the file has no such column), ``certified`` (nullable boolean), ``certified_on`` and
        ``last_trained`` (``datetime64``, NaT when blank).

    Raises
    ------
    DataError
        The workspace names no staff file, or a value cannot be read (file, row, column, value).
    """
    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    if ws.staff_path is None:
        raise DataError("the workspace names no staff roster (key 'staff' of workspace.yaml)")
    path = Path(ws.staff_path)
    if not path.is_file():
        raise DataError("the staff roster does not exist", file=str(path))
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return _parse_roster(raw, str(path))


def _parse_roster(raw: pd.DataFrame, file: str | None = None) -> pd.DataFrame:
    """Roster columns typed; ``raw`` holds text (or already typed values)."""
    if "manager_id" not in raw.columns:
        raise DataError(f"the roster has no manager_id column (got {list(raw.columns)})",
                        file=file)
    out = pd.DataFrame({"manager_id": raw["manager_id"].astype(str).str.strip()})
    for c in ("manager_name", "branch"):
        out[c] = (raw[c].fillna("").astype(str).str.strip() if c in raw.columns
                  else pd.Series("", index=raw.index))
    dup = out["manager_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError("a manager is listed twice", file=file, row=i + 2, column="manager_id",
                        value=out["manager_id"].iloc[i])
    if "certified" in raw.columns:
        values = []
        for i, v in enumerate(raw["certified"]):
            if isinstance(v, (bool, np.bool_)):
                values.append(bool(v))
                continue
            text = "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
            text = text.strip().lower()
            if text in _YES:
                values.append(True)
            elif text in _NO:
                values.append(False)
            else:
                raise DataError("certified must be yes or no", file=file, row=i + 2,
                                column="certified", value=v)
        out["certified"] = pd.array(values, dtype="boolean")
    else:
        out["certified"] = pd.array([pd.NA] * len(out), dtype="boolean")
    for c in ("certified_on", "last_trained"):
        if c not in raw.columns:
            out[c] = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
            continue
        col = raw[c].where(raw[c].astype(str).str.strip() != "", None)
        parsed = pd.to_datetime(col, errors="coerce", format="mixed")
        bad = parsed.isna() & col.notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError("expected a date (YYYY-MM-DD)", file=file, row=i + 2, column=c,
                            value=raw[c].iloc[i])
        out[c] = parsed.astype("datetime64[ns]")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# the statistic


def staff_compliance(visits: pd.DataFrame, roster: pd.DataFrame, *,
                     standards: Standards | Workspace | None = None,
                     target: float | None = None, as_of: dt.date | None = None,
                     base_suppress: int = Reporting().base_suppress,
                     base_small: int = Reporting().base_small, confidence: float = 0.95,
                     critical_fails_visit: bool = True, trained_within_months: int = 12,
                     use_interval: bool = False) -> pd.DataFrame:
    """Compliance by personal manager with the roster's certification and training dates.

    Parameters
    ----------
    visits : DataFrame
        Check-level visits (:func:`vipquality.data.store.load_visits`): ``quarter, visit_id,
        manager_id, item_id, result`` and optionally ``branch, segment, standard_id, weight,
        critical``; every quarter given is pooled.
    roster : DataFrame
        :func:`load_roster` output (or raw ``staff.csv`` text columns). Managers of the roster
        without visits are listed with 0 visits; managers with visits but not in the roster
        have ``in_roster`` False and no certification or training data.
    standards : Standards or Workspace, optional
        For the target when ``target`` is not given: the item-weighted mean of the targets of
        the standards of the manager's applicable checks, each for the visit's scenario
        ``segment`` (standard targets are shares of checks passed), so a manager whose visits
        played more demanding segments gets a more demanding target.
    target : float, optional
        One target (%) for every manager, instead of the standards' targets.
    as_of : date, optional
        The day training recency is measured at; default the end of the latest quarter of the
        visits.
    base_suppress, base_small : int
        Visits below ``base_suppress``: value, interval and gap hidden (NaN), not ranked, no
        below-target flag; below ``base_small``: ``base_flag`` "small". Default: the reporting
        defaults (``vipquality.config.Reporting``); :func:`staff_report` passes the
        workspace's.
    confidence : float, default 0.95
    critical_fails_visit : bool, default True
        A critical item answered "no" scores the visit 0 (as everywhere else).
    trained_within_months : int, default 12
        ``not_trained_12m`` is True when the last training is more than this many months
        before ``as_of`` or missing.
    use_interval : bool, default False
        ``below_target`` when the interval's upper bound is below the target (clearly below)
        instead of the point estimate.

    Returns
    -------
    DataFrame
        One row per manager, columns :data:`STAFF_COLUMNS`: ``visits`` (visits with a score:
        the base), ``critical_failures`` (visits with a critical item answered "no"),
        ``compliance`` (mean visit score, 0–100, the group compliance of ``metrics.md`` and of
        the manager tables of the segment pages), ``ci_low``, ``ci_high``, ``se``; ``checks``
        (applicable checks) and ``checks_passed`` (item-weighted % answered yes: the measure
        the standards' targets are set on) with ``checks_ci_low``, ``checks_ci_high``;
        ``target``, ``gap`` = checks_passed − target (points), ``base_flag`` (``suppressed`` |
        ``small`` | ``ok``), ``rank`` (by ``compliance``, 1 = highest among the managers at or
        above the base, ties share the lower rank; NaN under the base), ``below_target``
        (checks_passed < target; nullable boolean: NA under the base or without a target),
        ``certified``, ``certified_on``, ``last_trained``,
        ``months_since_training`` (at ``as_of``; negative when the roster is newer),
        ``not_trained_12m``, ``in_roster``. Ranked managers first by rank (then id), then the
        others by id. ``attrs``: ``as_of``, ``target`` (the target of all scored visits
        together), ``base_suppress``, ``base_small``, ``confidence``, ``quarters``.

    Notes
    -----
    Visit score and manager compliance as in :func:`vipquality.metrics.compliance.compliance`:
    the mean of the manager's n scored visits with the augmented-logit interval (one
    pseudo-visit at 0 and one at 100, normal on the logit scale; it stays on 0–100). A critical
    failure scores a whole visit 0, so the mean visit score is not on the scale of the
    standards' targets; the target is compared with the share of checks passed,
    p = Σ_v Y_v / Σ_v N_v (Y_v, N_v the weights of the items of visit v answered yes, resp. yes
    or no), with the visit-clustered (ratio-estimator) variance
    m/(m − 1) · Σ_v (Y_v − p N_v)² / (Σ_v N_v)² over the m visits with an applicable item and
    Wilson's interval on the effective base n/deff, as for each standard
    (:func:`vipquality.metrics.intervals.clustered_share`). Fewer than 2 visits: no interval.
    """
    z_value(confidence)
    need = ["quarter", "visit_id", "manager_id", "item_id", "result"]
    missing = [c for c in need if c not in visits.columns]
    if missing:
        raise DataError(f"visits has no column(s) {missing}; expected {need} (load_visits)")
    if target is not None and not (0 <= float(target) <= 100):
        raise ValueError(f"target must be a compliance in % (0–100), got {target!r}")
    if not isinstance(trained_within_months, (int, np.integer)) or trained_within_months < 1:
        raise ValueError("trained_within_months must be an integer ≥ 1, got "
                         f"{trained_within_months!r}")
    cat, fiscal = _standards(standards)
    roster = roster if _is_parsed(roster) else _parse_roster(roster)
    quarters = sorted({Quarter.parse(str(q), fiscal) for q in visits["quarter"].unique()})
    if as_of is None:
        as_of = quarters[-1].end if quarters else dt.date.today()

    per_visit = _visits(visits, cat, critical_fails_visit)
    scored = per_visit[per_visit["score"].notna()]
    g = scored.assign(score2=scored["score"] ** 2).groupby("manager_id", sort=True)
    stats = pd.DataFrame({"visits": g.size(), "compliance": g["score"].mean(),
                          "sd": g["score"].std(ddof=1), "sx": g["score"].sum(),
                          "sx2": g["score2"].sum()})
    stats = stats.reindex(sorted(set(per_visit["manager_id"])))
    stats = stats.join(_checks_passed(per_visit, confidence))
    stats["visits"] = stats["visits"].fillna(0).astype(int)
    stats["critical_failures"] = (per_visit.groupby("manager_id")["critical_failure"].sum()
                                  .reindex(stats.index).fillna(0).astype(int))
    low, high = bounded_mean_interval(stats["visits"], stats["sx"], stats["sx2"], confidence)
    stats["ci_low"], stats["ci_high"] = low, high
    with np.errstate(invalid="ignore", divide="ignore"):
        stats["se"] = stats["sd"] / np.sqrt(stats["visits"].where(stats["visits"] > 0))
    if target is not None:
        stats["target"] = float(target)
    elif cat is None:
        stats["target"] = np.nan
    branch_of_visits = (per_visit.groupby("manager_id")["branch"]
                        .agg(lambda b: b.mode().iloc[0] if b.notna().any() else "")
                        if "branch" in per_visit else pd.Series(dtype=str))
    stats = stats.rename_axis("manager_id").reset_index()

    out = roster.merge(stats, on="manager_id", how="outer", indicator=True)
    out["in_roster"] = out["_merge"].ne("right_only")
    out["branch"] = out["branch"].where(out["branch"].fillna("").ne(""),
                                        out["manager_id"].map(branch_of_visits)).fillna("")
    out["manager_name"] = out["manager_name"].fillna("")
    out["visits"] = out["visits"].fillna(0).astype(int)
    out["critical_failures"] = out["critical_failures"].fillna(0).astype(int)
    if target is not None:
        out["target"] = float(target)
    out["checks"] = out["checks"].fillna(0).astype(int)
    out["gap"] = out["checks_passed"] - out["target"]
    n = out["visits"]
    out["base_flag"] = np.where(n < base_suppress, "suppressed",
                                np.where(n < base_small, "small", "ok"))
    hidden = out["base_flag"].eq("suppressed") | out["compliance"].isna()
    out.loc[hidden, ["compliance", "ci_low", "ci_high", "se", "checks_passed", "checks_ci_low",
                     "checks_ci_high", "gap"]] = np.nan
    out["rank"] = out["compliance"].rank(ascending=False, method="min")
    judged = out["checks_ci_high"] if use_interval else out["checks_passed"]
    below = pd.array(judged < out["target"], dtype="boolean")
    below[(hidden | out["target"].isna() | judged.isna()).to_numpy()] = pd.NA
    out["below_target"] = below

    as_of_ts = pd.Timestamp(as_of)
    trained = pd.to_datetime(out["last_trained"])
    out["months_since_training"] = (as_of_ts - trained).dt.days / (365.25 / 12)
    cutoff = as_of_ts - pd.DateOffset(months=int(trained_within_months))
    not_trained = pd.array(~(trained > cutoff), dtype="boolean")
    not_trained[(~out["in_roster"]).to_numpy()] = pd.NA
    out["not_trained_12m"] = not_trained
    out["certified"] = out["certified"].astype("boolean")

    out = out.assign(_r=out["rank"].fillna(np.inf)).sort_values(["_r", "manager_id"],
                                                                 kind="stable")
    out = out[STAFF_COLUMNS].reset_index(drop=True)
    tw = per_visit["w"].sum()
    all_targets = per_visit["wt"].sum() / tw if tw > 0 else np.nan
    out.attrs.update(as_of=as_of, target=float(target) if target is not None else
                     float(all_targets), base_suppress=int(base_suppress),
                     base_small=int(base_small), confidence=float(confidence),
                     quarters=[str(q) for q in quarters])
    return out


def _is_parsed(roster: pd.DataFrame) -> bool:
    return (set(ROSTER_COLUMNS) <= set(roster.columns)
            and str(roster["certified"].dtype) == "boolean"
            and all(pd.api.types.is_datetime64_any_dtype(roster[c])
                    for c in ("certified_on", "last_trained")))


def _standards(standards) -> tuple[Standards | None, int]:
    if standards is None:
        return None, 1
    if isinstance(standards, Workspace):
        return standards.standards, standards.fiscal_year_start
    if isinstance(standards, Standards):
        return standards, 1
    raise TypeError(f"standards must be a Standards catalogue or a Workspace, "
                    f"got {type(standards).__name__}")


def _visits(visits: pd.DataFrame, cat: Standards | None, critical_fails_visit: bool
            ) -> pd.DataFrame:
    """One row per visit: manager, branch, score, critical failure and the visit's target."""
    key = visits["quarter"].astype(str) + "\x1f" + visits["visit_id"].astype(str)
    checks = visits.assign(visit_id=key)
    scores = visit_scores(checks, critical_fails_visit=critical_fails_visit)
    first = checks.drop_duplicates("visit_id").set_index("visit_id")
    managers = first["manager_id"].astype(str)
    mixed = checks.groupby("visit_id")["manager_id"].nunique()
    if (mixed > 1).any():
        raise DataError("a visit has checks of more than one manager", column="manager_id",
                        value=str(mixed[mixed > 1].index[0]).replace("\x1f", " "))
    out = pd.DataFrame({"visit_id": scores["visit_id"],
                        "manager_id": scores["visit_id"].map(managers).to_numpy(),
                        "score": scores["score"].to_numpy(),
                        "critical_failure": scores["critical_failure"].to_numpy(),
                        "applicable": scores["applicable"].to_numpy(),
                        "yes_weight": scores["yes_weight"].to_numpy(dtype=float),
                        "applicable_weight": scores["applicable_weight"].to_numpy(dtype=float)})
    if "branch" in first.columns:
        out["branch"] = scores["visit_id"].map(first["branch"].astype(str)).to_numpy()
    w = (pd.to_numeric(checks["weight"]).to_numpy(dtype=float) if "weight" in checks
         else np.ones(len(checks)))
    applicable_w2 = pd.Series(np.where(checks["result"].isin(["yes", "no"]), w * w, 0.0))
    out["applicable_weight2"] = (applicable_w2.groupby(checks["visit_id"].to_numpy()).sum()
                                 .reindex(scores["visit_id"]).to_numpy())
    out["wt"], out["w"] = 0.0, 0.0
    if cat is not None and "standard_id" in checks.columns:
        applicable = checks[checks["result"].isin(["yes", "no"])]
        segment = (applicable["segment"].astype(str) if "segment" in applicable
                   else pd.Series("default", index=applicable.index))
        pairs = pd.DataFrame({"sid": applicable["standard_id"].astype(str), "seg": segment})
        known = {s.id: s for s in cat}
        lookup = {(s, g): (known[s].target(g) if s in known else np.nan)
                  for s, g in pairs.drop_duplicates().itertuples(index=False)}
        t = np.array([lookup[p] for p in zip(pairs["sid"], pairs["seg"])], dtype=float)
        w = (pd.to_numeric(applicable["weight"]).to_numpy(dtype=float)
             if "weight" in applicable else np.ones(len(applicable)))
        ok = np.isfinite(t)
        frame = pd.DataFrame({"visit_id": applicable["visit_id"].to_numpy(),
                              "wt": np.where(ok, w * np.nan_to_num(t), 0.0),
                              "w": np.where(ok, w, 0.0)})
        sums = frame.groupby("visit_id")[["wt", "w"]].sum()
        out["wt"] = out["visit_id"].map(sums["wt"]).fillna(0.0).to_numpy()
        out["w"] = out["visit_id"].map(sums["w"]).fillna(0.0).to_numpy()
    return out


def _checks_passed(per_visit: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Per manager: applicable checks, % passed (ratio estimator, visit-clustered interval on
    the effective base, as :func:`vipquality.metrics.compliance.standard_compliance`) and the
    item-weighted target."""
    v = per_visit[per_visit["applicable_weight"] > 0]
    y, a = v["yes_weight"], v["applicable_weight"]
    sums = pd.DataFrame({"m": 1, "y": y, "a": a, "yy": y * y, "ya": y * a, "aa": a * a,
                         "w2": v["applicable_weight2"]}).groupby(v["manager_id"]).sum()
    r = clustered_share(sums["m"], sums["y"], sums["a"], sums["yy"], sums["ya"], sums["aa"],
                        sums["w2"], confidence=confidence)
    t = per_visit.groupby("manager_id")[["wt", "w"]].sum()
    return pd.DataFrame({
        "checks": per_visit.groupby("manager_id")["applicable"].sum(),
        "checks_passed": pd.Series(100 * r["value"], index=sums.index),
        "checks_ci_low": pd.Series(100 * r["ci_low"], index=sums.index),
        "checks_ci_high": pd.Series(100 * r["ci_high"], index=sums.index),
        "target": t["wt"] / t["w"].where(t["w"] > 0)})


# --------------------------------------------------------------------------------------------
# the page


def staff_report(workspace, data, *, quarters: int | None = None, **options) -> pd.DataFrame:
    """The staff table of a report: :func:`staff_compliance` over the report's trend window.

    Parameters
    ----------
    workspace : Workspace, path or None
        The workspace (None: the bundled sample), for the visits, the roster and the standards.
    data : ReportData
        The report's shared tables (its quarter, trend window and thresholds).
    quarters : int, optional
        Pool only the latest this many quarters of the window (default: the whole window, since
        a manager gets a handful of visits a quarter).
    **options
        Passed to :func:`staff_compliance` (e.g. ``use_interval=True``).
    """
    from vipquality.data.store import load_visits

    ws = workspace if isinstance(workspace, Workspace) else (
        load_workspace(workspace) if workspace else load_workspace())
    window = list(data.quarters)[-quarters:] if quarters else list(data.quarters)
    s = data.settings
    kwargs = dict(standards=ws, as_of=ws.quarter(data.quarter).end,
                  base_suppress=int(s.get("base_suppress", ws.reporting.base_suppress)),
                  base_small=int(s.get("base_small", ws.reporting.base_small)),
                  confidence=float(s.get("confidence", ws.reporting.confidence)),
                  critical_fails_visit=ws.critical_item_fails_visit)
    kwargs.update(options)
    return staff_compliance(load_visits(ws, quarters=window), load_roster(ws), **kwargs)


