"""How well the follow-up loop works: contact within the SLA, time to first contact,
resolution, overdue cases, root causes, and the recovery of detractors.

Everything here works on the case table with its state (``vipquality.data.cases.case_status``):
one row per case with ``consent``, ``contacted_in_sla``, ``days_to_contact``, ``resolved``,
``overdue`` and ``root_cause``. Shares are of the cases a manager is asked to follow up (those
with consent), with Wilson intervals (:func:`vipquality.metrics.intervals.wilson`).

>>> status = pd.DataFrame({"branch": ["B1"] * 4, "consent": [True, True, True, False],
...                        "contacted_in_sla": pd.array([True, True, False, None], "boolean"),
...                        "days_to_contact": [0.0, 1.0, 5.0, np.nan],
...                        "resolved": [True, False, False, False],
...                        "overdue": [False, False, False, False],
...                        "root_cause": ["pricing", None, None, None]})
>>> row = loop_summary(status, ["branch"]).iloc[0]
>>> int(row["opened"]), int(row["followed_up"]), round(float(row["contact_share"]), 1)
(4, 3, 66.7)
"""

from __future__ import annotations

import typing as t

import numpy as np
import pandas as pd

from vipquality.metrics.intervals import wilson

__all__ = ["LOOP_COLUMNS", "RECOVERY_CAVEAT", "by_segment", "loop_summary", "recovery",
           "root_causes", "unusual_shares"]

#: Columns of :func:`loop_summary` after the grouping columns.
LOOP_COLUMNS = ["opened", "followed_up", "decided", "contacted_in_sla", "contact_share", "ci_low",
                "ci_high", "median_days_to_contact", "resolved", "overdue", "top_root_causes"]

#: Said beside every recovery figure.
RECOVERY_CAVEAT = ("Not randomised: which cases were resolved was not decided by chance, so the "
                   "difference need not be the effect of the follow-up (managers may resolve "
                   "the easier cases first).")


def by_segment(status: pd.DataFrame, segments: t.Sequence[str] | None = None) -> pd.DataFrame:
    """One row per case and segment (``segment`` from the ``;``-separated ``segments``), plus
    every case once under ``all``; only ``segments`` when given."""
    seg = status["segments"].fillna("").astype(str).str.split(";")
    out = status.assign(segment=seg).explode("segment")
    out = out[(out["segment"] != "") & (out["segment"] != "all")]  # "all" once, below
    out = pd.concat([status.assign(segment="all"), out], ignore_index=True)
    if segments is not None:
        out = out[out["segment"].isin(["all", *segments])]
    return out.drop(columns="segments").reset_index(drop=True)


def _top(causes: pd.Series, k: int = 3) -> str:
    counts = causes.dropna().astype(str)
    counts = counts[counts != ""].value_counts()
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    return ", ".join(f"{c} {n}" for c, n in counts.head(k).items())


def loop_summary(status: pd.DataFrame, by: t.Sequence[str], confidence: float = 0.95
                 ) -> pd.DataFrame:
    """Loop metrics per group.

    Returns
    -------
    DataFrame
        The ``by`` columns, then :data:`LOOP_COLUMNS`: cases ``opened``; ``followed_up`` (with
        consent); ``contacted_in_sla`` (count) and ``contact_share`` (% of the followed-up
        cases already decided: contacted, or past their due date) with its Wilson interval ``ci_low``/``ci_high``; ``median_days_to_contact`` (working
        days, contacted cases); ``resolved``; ``overdue`` now; ``top_root_causes`` ("pricing 12,
        speed 4": the three most frequent codes). Groups sorted by ``by``.
    """
    by = list(by)
    rows = []
    for key, g in status.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        fu = g["consent"].astype(bool).to_numpy()
        known = g["contacted_in_sla"].astype("boolean")
        decided = fu & known.notna().to_numpy(dtype=bool)  # due date passed, or contacted
        in_sla = known.fillna(False).to_numpy(dtype=bool) & decided
        days = g["days_to_contact"].astype(float)
        rows.append((*key, len(g), int(fu.sum()), int(decided.sum()), int(in_sla.sum()),
                     float(np.median(days.dropna())) if days.notna().any() else np.nan,
                     int(g["resolved"].astype(bool).sum()), int(g["overdue"].astype(bool).sum()),
                     _top(g["root_cause"])))
    out = pd.DataFrame(rows, columns=[*by, "opened", "followed_up", "decided",
                                      "contacted_in_sla", "median_days_to_contact", "resolved",
                                      "overdue", "top_root_causes"])
    n = out["decided"].to_numpy(dtype=float)
    lo, hi = wilson(out["contacted_in_sla"].to_numpy(dtype=float), n, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["contact_share"] = np.where(n > 0, 100 * out["contacted_in_sla"] / n, np.nan)
    out["ci_low"], out["ci_high"] = np.where(n > 0, 100 * lo, np.nan), np.where(n > 0, 100 * hi,
                                                                                np.nan)
    return out[[*by, *LOOP_COLUMNS]]


def root_causes(status: pd.DataFrame, by: t.Sequence[str], labels: dict[str, str] | None = None
                ) -> pd.DataFrame:
    """Root causes of the resolved cases ranked within each group: ``by``, ``rank``,
    ``root_cause``, ``label``, ``n`` and ``share`` (% of the group's resolved cases with a
    code); ties keep the code order."""
    by = list(by)
    done = status[status["resolved"].astype(bool) & status["root_cause"].notna()]
    done = done[done["root_cause"].astype(str) != ""]
    if done.empty:
        return pd.DataFrame(columns=[*by, "rank", "root_cause", "label", "n", "share"])
    counts = done.groupby([*by, "root_cause"], dropna=False).size().rename("n").reset_index()
    counts["share"] = 100 * counts["n"] / counts.groupby(by, dropna=False)["n"].transform("sum")
    counts = counts.sort_values([*by, "n", "root_cause"], ascending=[True] * len(by) + [False, True],
                                kind="stable")
    counts["rank"] = counts.groupby(by, dropna=False).cumcount() + 1
    counts["label"] = counts["root_cause"].map(labels or {}).fillna(counts["root_cause"])
    return counts[[*by, "rank", "root_cause", "label", "n", "share"]].reset_index(drop=True)


def recovery(previous: pd.DataFrame, now: pd.DataFrame, confidence: float = 0.95
             ) -> pd.DataFrame:
    """Do detractors recover after a completed follow-up?

    Parameters
    ----------
    previous : DataFrame
        Last quarter's cases with their state (``case_status``) and ``client_id`` of the
        respondent (also for cases without consent: the caller joins it from the responses;
        it is never shown). Detractors are the cases with ``nps`` ≤ 6.
    now : DataFrame
        This quarter's responses: ``client_id``, ``nps`` (a client who answered more than once
        counts with the latest answer if ``submitted_at`` is given, else the last row).

    Returns
    -------
    DataFrame
        Two rows, ``group`` ``followed up`` (the case was resolved) and ``not followed up``
        (no resolution, or no consent), with ``answered_again``, ``recovered`` (now passive or
        promoter, NPS ≥ 7), ``share`` (%) and its Wilson interval ``ci_low``/``ci_high``.
        ``difference`` (points, followed up minus not) is on both rows. See
        :data:`RECOVERY_CAVEAT`.

    Examples
    --------
    >>> prev = pd.DataFrame({"client_id": ["a", "b", "c", "d", "e"], "nps": [3, 5, 6, 2, 8],
    ...                      "resolved": [True, True, False, False, True]})
    >>> now = pd.DataFrame({"client_id": ["a", "b", "c", "d", "e"], "nps": [9, 5, 7, 4, 3]})
    >>> recovery(prev, now)[["group", "answered_again", "recovered", "share"]].values.tolist()
    [['followed up', 2, 1, 50.0], ['not followed up', 2, 1, 50.0]]
    """
    det = previous[previous["nps"].astype(float) <= 6]
    det = det[det["client_id"].notna()].drop_duplicates("client_id")
    latest = now.sort_values("submitted_at", kind="stable") if "submitted_at" in now else now
    latest = latest.dropna(subset=["nps"]).drop_duplicates("client_id", keep="last")
    again = det.merge(latest[["client_id", "nps"]].rename(columns={"nps": "nps_now"}),
                      on="client_id", how="inner")
    rows = []
    for name, mask in (("followed up", again["resolved"].astype(bool)),
                       ("not followed up", ~again["resolved"].astype(bool))):
        g = again[mask.to_numpy()]
        rows.append((name, len(g), int((g["nps_now"].astype(float) >= 7).sum())))
    out = pd.DataFrame(rows, columns=["group", "answered_again", "recovered"])
    n = out["answered_again"].to_numpy(dtype=float)
    lo, hi = wilson(out["recovered"].to_numpy(dtype=float), n, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = np.where(n > 0, 100 * out["recovered"] / n, np.nan)
    out["ci_low"] = np.where(n > 0, 100 * lo, np.nan)
    out["ci_high"] = np.where(n > 0, 100 * hi, np.nan)
    out["difference"] = out["share"].iloc[0] - out["share"].iloc[1]
    return out


def unusual_shares(k: t.Sequence[float], n: t.Sequence[float], adjustment: str = "holm",
                   alpha: float = 0.05) -> pd.DataFrame:
    """Which groups have a share larger than the rest's: each group's ``k/n`` against the pooled
    share of all other groups (one-sided two-proportion z-test, statsmodels), adjusted across
    the groups (``holm`` or ``bh``).

    Returns ``share`` (%), ``rest`` (%), ``p_value``, ``p_adjusted`` and ``unusual`` (adjusted
    p below ``alpha``), one row per group, in the given order.

    >>> r = unusual_shares([30, 10, 11, 9], [60, 60, 60, 60])
    >>> r["unusual"].tolist()
    [True, False, False, False]
    """
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import proportions_ztest

    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    p = np.full(len(k), np.nan)
    rest = np.full(len(k), np.nan)
    for i in range(len(k)):
        kr, nr = k.sum() - k[i], n.sum() - n[i]
        if n[i] > 0 and nr > 0:
            rest[i] = 100 * kr / nr
            if 0 < k[i] + kr < n[i] + nr:
                p[i] = proportions_ztest([k[i], kr], [n[i], nr], alternative="larger")[1]
    adj = np.full(len(k), np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        adj[ok] = multipletests(p[ok], alpha=alpha,
                                method="fdr_bh" if adjustment == "bh" else "holm")[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, 100 * k / n, np.nan)
    return pd.DataFrame({"share": share, "rest": rest, "p_value": p, "p_adjusted": adj,
                         "unusual": np.nan_to_num(adj, nan=1.0) < alpha})
