"""Who answered the survey: response rates, contact fatigue and the balance of responders
against non-responders.

Everything here works on one frame of **invitations** (one row per client invited in a quarter,
``responded`` true when the client answered; :func:`vipquality.data.invitations.invited_clients`
builds it from the store) and has no client id in its output.

- :func:`response_rates`: responded / invited per group with Wilson intervals
  (:func:`vipquality.metrics.intervals.wilson`);
- :func:`contact_fatigue`: clients invited more than ``limit`` times in the 12 months to a day;
- :func:`standardised_differences`: Austin's standardised mean differences (SMD) of the CRM's
  characteristics between responders and non-responders.

>>> inv = pd.DataFrame({"branch": ["B1"] * 4 + ["B2"] * 2,
...                     "responded": [True, False, False, True, True, False]})
>>> response_rates(inv, ["branch"])[["branch", "invited", "responded", "rate"]]
  branch  invited  responded  rate
0     B1        4          2  50.0
1     B2        2          1  50.0
"""

from __future__ import annotations

import typing as t

import numpy as np
import pandas as pd

from vipquality.metrics.intervals import wilson

__all__ = [
    "RATE_COLUMNS",
    "SMD_COLUMNS",
    "SMD_NOTE",
    "contact_fatigue",
    "response_rates",
    "standardised_differences",
]

#: Columns of :func:`response_rates` after the grouping columns.
RATE_COLUMNS = ["invited", "responded", "rate", "ci_low", "ci_high"]
#: Columns of :func:`standardised_differences`.
SMD_COLUMNS = ["characteristic", "level", "kind", "responders", "non_responders", "smd"]
#: Said beside every table of standardised differences.
SMD_NOTE = ("Standardised mean difference (Austin 2009): for a number, (mean of responders − "
            "mean of non-responders) / √((s²₁ + s²₀)/2); for a category, the same with the "
            "shares p and p(1 − p) as variances. |SMD| above 0.1 is commonly read as an "
            "imbalance worth weighting for.")


def response_rates(invitations: pd.DataFrame, by: t.Sequence[str] = (),
                   confidence: float = 0.95) -> pd.DataFrame:
    """Response rate (%) of the invited clients per group, with a Wilson interval.

    Parameters
    ----------
    invitations : DataFrame
        One row per invited client (a client invited twice in the quarter counts once, as the
        caller builds it) with a boolean ``responded`` and the ``by`` columns.
    by : sequence of str
        Grouping columns (e.g. ``["segment"]``, ``["branch"]``, ``["manager_id"]``); empty: one
        row for everyone.
    confidence : float

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``invited``, ``responded``, ``rate`` (0–100), ``ci_low``,
        ``ci_high`` (Wilson, 0–100), sorted by the groups. A group's missing key is left out.

    Examples
    --------
    >>> inv = pd.DataFrame({"responded": [True] * 8 + [False] * 2})
    >>> r = response_rates(inv).iloc[0]
    >>> float(r["rate"]), round(float(r["ci_low"]), 2), round(float(r["ci_high"]), 2)
    (80.0, 49.02, 94.33)
    """
    by = list(by)
    flag = invitations["responded"].astype(bool)
    frame = invitations[by].assign(_r=flag.to_numpy())
    if by:
        g = frame.groupby(by, sort=True, observed=True)["_r"].agg(["size", "sum"]).reset_index()
    else:
        g = pd.DataFrame({"size": [len(frame)], "sum": [int(flag.sum())]})
    n, x = g["size"].to_numpy(float), g["sum"].to_numpy(float)
    lo, hi = wilson(x, n, confidence=confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = 100 * x / n
    out = g[by].copy()
    out["invited"] = n.astype(int)
    out["responded"] = x.astype(int)
    out["rate"], out["ci_low"], out["ci_high"] = rate, 100 * lo, 100 * hi
    return out.reset_index(drop=True)


def contact_fatigue(invitations: pd.DataFrame, as_of, limit: int = 3,
                    months: int = 12) -> pd.DataFrame:
    """Clients invited more than ``limit`` times in the ``months`` months up to ``as_of``.

    Parameters
    ----------
    invitations : DataFrame
        Every stored invitation: ``client_id`` and ``invited`` (date); other columns (``branch``,
        ``manager_id``) are carried from each client's latest invitation.
    as_of : date-like
        Last day of the window (usually the quarter's last day).
    limit : int
        More invitations than this in the window is fatigue (workspace.yaml
        ``invitations.fatigue_limit``).
    months : int

    Returns
    -------
    DataFrame
        One row per fatigued client: ``client_id``, ``invitations`` (count in the window), the
        other columns; sorted by count (descending), then id. Restricted: it holds client ids.

    Examples
    --------
    >>> inv = pd.DataFrame({"client_id": ["A"] * 4 + ["B"] * 2,
    ...                     "invited": pd.to_datetime(["2025-03-01", "2025-08-01", "2025-11-01",
    ...                                                "2026-02-01", "2026-01-01", "2026-02-01"])})
    >>> contact_fatigue(inv, "2026-03-31", limit=2)
      client_id  invitations
    0         A            3
    """
    end = pd.Timestamp(as_of)
    start = end - pd.DateOffset(months=months)
    when = pd.to_datetime(invitations["invited"])
    window = invitations[(when > start) & (when <= end)].copy()
    window["_when"] = pd.to_datetime(window["invited"])
    window = window.sort_values(["client_id", "_when"], kind="mergesort")
    counts = window.groupby("client_id", sort=True).size().rename("invitations")
    other = [c for c in window.columns if c not in ("client_id", "invited", "_when", "quarter",
                                                    "channel", "source_file", "source_row")]
    last = window.groupby("client_id", sort=True)[other].last() if other else None
    out = counts.to_frame()
    if last is not None:
        out = out.join(last)
    out = out[out["invitations"] > limit].reset_index()
    return out.sort_values(["invitations", "client_id"], ascending=[False, True],
                           kind="mergesort", ignore_index=True)


def _smd_continuous(x1: np.ndarray, x0: np.ndarray) -> tuple[float, float, float]:
    m1, m0 = np.nanmean(x1), np.nanmean(x0)
    v1, v0 = np.nanvar(x1, ddof=1), np.nanvar(x0, ddof=1)
    pooled = np.sqrt((v1 + v0) / 2)
    return float(m1), float(m0), float((m1 - m0) / pooled) if pooled > 0 else np.nan


def _smd_binary(p1: float, p0: float) -> float:
    pooled = np.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
    return float((p1 - p0) / pooled) if pooled > 0 else np.nan


def standardised_differences(invitations: pd.DataFrame, columns: t.Sequence[str], *,
                             lists: t.Sequence[str] = (),
                             as_of=None) -> pd.DataFrame:
    """Responders against non-responders: Austin's standardised mean difference per
    characteristic (per level of a categorical one).

    Parameters
    ----------
    invitations : DataFrame
        One row per invited client with ``responded`` and the ``columns``.
    columns : sequence of str
        Characteristics. Numbers are compared as numbers (``kind`` ``mean``); dates as days
        before ``as_of`` (``days``: recency); text as one binary indicator per level
        (``share``, %), missing values as their own level ``(missing)``.
    lists : sequence of str
        Columns holding ``;``-separated lists (``products``): compared as the number of entries
        (``count``) and as the share holding each entry.
    as_of : date-like, optional
        Day recency is counted to (default: the latest date in the column).

    Returns
    -------
    DataFrame
        :data:`SMD_COLUMNS`: ``characteristic``, ``level`` (blank for a number), ``kind``,
        ``responders`` and ``non_responders`` (the two means or shares, % for shares), ``smd``.

    Notes
    -----
    Austin, P. C. (2009), "Balance diagnostics for comparing the distribution of baseline
    covariates between treatment groups in propensity-score matched samples", Statistics in
    Medicine 28: d = (x̄₁ − x̄₀)/√((s₁² + s₀²)/2) for a continuous variable (sample variances),
    d = (p₁ − p₀)/√((p₁(1 − p₁) + p₀(1 − p₀))/2) for a binary one. NaN when both groups have no
    spread, or one group is empty.

    Examples
    --------
    >>> inv = pd.DataFrame({"responded": [True, True, False, False],
    ...                     "tier": ["Premium", "Private", "Private", "Private"],
    ...                     "balance": [1.0, 3.0, 2.0, 4.0]})
    >>> s = standardised_differences(inv, ["tier", "balance"])
    >>> s[["characteristic", "level", "smd"]].round(3)
      characteristic    level    smd
    0           tier  Premium  1.414
    1           tier  Private -1.414
    2        balance          -0.707
    """
    flag = invitations["responded"].astype(bool).to_numpy()
    rows: list[tuple] = []
    for col in columns:
        s = invitations[col]
        if col in lists:
            entries = s.fillna("").astype(str).str.split(";").map(
                lambda xs: sorted({x.strip() for x in xs if x.strip()}))
            count = entries.map(len).to_numpy(float)
            m1, m0, d = _smd_continuous(count[flag], count[~flag])
            rows.append((col, "number held", "count", m1, m0, d))
            for level in sorted({x for xs in entries for x in xs}):
                has = entries.map(lambda xs, lv=level: lv in xs).to_numpy(bool)
                p1, p0 = has[flag].mean() if flag.any() else np.nan, \
                    has[~flag].mean() if (~flag).any() else np.nan
                rows.append((col, level, "share", 100 * p1, 100 * p0, _smd_binary(p1, p0)))
            continue
        if pd.api.types.is_datetime64_any_dtype(s) or (
                s.dtype == object and s.dropna().map(lambda v: hasattr(v, "year")).all()
                and s.notna().any()):
            when = pd.to_datetime(s)
            end = pd.Timestamp(as_of) if as_of is not None else when.max()
            x = (end - when).dt.days.to_numpy(float)
            m1, m0, d = _smd_continuous(x[flag], x[~flag])
            rows.append((col, "days since", "days", m1, m0, d))
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            x = s.to_numpy(float, na_value=np.nan)
            m1, m0, d = _smd_continuous(x[flag], x[~flag])
            rows.append((col, "", "mean", m1, m0, d))
        else:
            text = s.astype("string").fillna("(missing)")
            for level in sorted(text.unique()):
                has = (text == level).to_numpy(bool)
                p1 = has[flag].mean() if flag.any() else np.nan
                p0 = has[~flag].mean() if (~flag).any() else np.nan
                rows.append((col, str(level), "share", 100 * p1, 100 * p0, _smd_binary(p1, p0)))
    return pd.DataFrame(rows, columns=SMD_COLUMNS)
