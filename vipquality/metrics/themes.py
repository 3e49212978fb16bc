"""Comment themes as metrics: how often clients mention a theme, and what it costs in NPS.

Everything goes through :func:`~vipquality.metrics.summarise.summarise`'s machinery, for any
grouping at once (no Python loop over groups):

1. two aggregation passes of :func:`~vipquality.metrics.sufficient.sufficient_stats`: the
   responses with a comment grouped by ``by``, and the (response, theme) mentions grouped by
   ``by`` + ``theme``. Sufficient statistics are sums, so those of the commenters who did *not*
   mention a theme are the first minus the second, exactly;
2. estimates from them: NPS with :func:`~vipquality.metrics.summarise.estimate_blocks`, shares
   with the Wilson interval of :mod:`vipquality.metrics.intervals`;
3. base flags, change against the previous quarter and the Holm/BH adjustment by
   :func:`~vipquality.metrics.summarise.tidy_blocks`, as for every other metric.

The coding itself (which comment mentions which theme) is :func:`vipquality.data.themes.code_comments`;
this module only counts.

Examples
--------
>>> r = pd.DataFrame({"quarter": "2025Q1", "segment": "A", "response_id": list("abcdef"),
...                   "comment": ["slow", "slow call", "great", "ok", "nice", ""],
...                   "nps": [2, 5, 10, 9, 10, 9]})
>>> codes = pd.DataFrame({"response_id": ["a", "b"], "theme_id": "wait"})
>>> t = theme_metrics(r, codes, themes=["wait"], base_suppress=1, base_small=2)
>>> t[["theme", "metric", "value", "n"]]
  theme           metric   value    n
0  wait      theme_share   40.00  5.0
1  wait        theme_nps -100.00  2.0
2  wait  theme_nps_other  100.00  3.0
3  wait     theme_impact -200.00  2.0
4  wait       theme_cost   80.00  2.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from vipquality._frames import require_columns
from vipquality.config import Reporting
from vipquality.metrics.intervals import wilson, z_value
from vipquality.metrics.sufficient import sufficient_stats
from vipquality.metrics.summarise import (
    REASON_COLUMN,
    RESULT_COLUMNS,
    estimate_blocks,
    redact,
    tidy_blocks,
)

__all__ = ["THEME_METRICS", "commented", "rank_themes", "redact_themes", "theme_metrics"]

#: The metrics of :func:`theme_metrics`, in the order of its rows.
THEME_METRICS = ("theme_share", "theme_nps", "theme_nps_other", "theme_impact", "theme_cost")

_REPORTING = Reporting()
#: A constant rating summed as a CSI "attribute" on the 0–1 scale: its count ``sat_n:_comment``
#: is the number of comments in a group whether or not the client answered the NPS item.
_COUNT = "_comment"


def commented(responses: pd.DataFrame) -> pd.Series:
    """Whether each response has a comment (not missing, not blank), as a boolean Series.

    >>> commented(pd.DataFrame({"comment": ["ok", " ", None, ""]})).tolist()
    [True, False, False, False]
    """
    text = responses["comment"].astype("string").str.strip()
    return text.fillna("").str.len().gt(0).astype(bool)


def theme_metrics(
    responses: pd.DataFrame,
    codes: pd.DataFrame,
    *,
    themes: Sequence[str] | None = None,
    by: Sequence[str] = ("quarter", "segment"),
    memberships: pd.DataFrame | None = None,
    confidence: float = 0.95,
    base_suppress: float = _REPORTING.base_suppress,
    base_small: float = _REPORTING.base_small,
    adjustment: str = "holm",
    compare: str | None = "previous_quarter",
    engine: str = "duckdb",
) -> pd.DataFrame:
    """Share of comments mentioning each theme and the theme's impact on NPS, for every group.

    Parameters
    ----------
    responses : DataFrame
        Canonical responses: ``response_id``, ``comment``, ``nps``, ``weight`` (optional) and the
        grouping columns (``segment`` may come from ``memberships``, as in
        :func:`~vipquality.metrics.summarise.summarise`). Only responses with a non-blank
        comment count.
    codes : DataFrame
        ``response_id, theme_id``: one row per theme a comment mentions
        (:func:`vipquality.data.themes.code_comments`); duplicates count once.
    themes : sequence of str, optional
        Theme ids in codeframe order (default: those in ``codes``, sorted). Every theme gets
        a row in every group with comments, so a theme nobody mentioned shows 0 %.
    by, memberships, confidence, base_suppress, base_small, adjustment, compare, engine
        As in :func:`~vipquality.metrics.summarise.summarise`.

    Returns
    -------
    DataFrame
        The grouping columns, ``theme``, then :data:`~vipquality.metrics.summarise.RESULT_COLUMNS`;
        ``metric`` is one of :data:`THEME_METRICS`:

        - ``theme_share``: % of the group's comments mentioning the theme; Wilson interval;
          ``n`` = comments. Its change is tested with the pooled two-proportion SE.
        - ``theme_nps``: NPS of the commenters who mention it (adjusted-Wald interval);
          ``theme_nps_other``: NPS of the commenters who do not. ``n``: their (Kish) bases.
        - ``theme_impact`` = theme_nps − theme_nps_other, on −200…200, with the normal
          interval of two independent groups, SE = √(SE₁² + SE₂²) (``shared/spec/metrics.md``);
          ``n`` = the smaller of the two bases (so a theme too rare to report is suppressed).
        - ``theme_cost``: the NPS points the theme costs the commenters, −s·impact with s the
          (weighted) share of commenters with an NPS who mention it. Exactly
          theme_nps_other − NPS of all commenters: how much higher their NPS would be if those
          mentioning it scored like the others. No interval; ``n`` as for the impact.
          :func:`rank_themes` ranks on it.

    Notes
    -----
    Shares count comments (unweighted, like attribute performance); NPS is weighted with the
    Kish base when the responses carry weights, like the NPS of :func:`summarise`. A response
    counts in every segment of its client (``memberships``).
    """
    require_columns(responses, ["response_id", "comment", "nps"], "responses")
    require_columns(codes, ["response_id", "theme_id"], "theme codes")
    by = list(by)
    if themes is None:
        themes = sorted(codes["theme_id"].astype(str).unique())
    themes = [str(t) for t in themes]
    keep = [c for c in dict.fromkeys([*by, "response_id", "client_id", "nps", "weight"])
            if c in responses.columns]
    rows = responses.loc[commented(responses), keep].assign(**{f"sat__{_COUNT}": 1.0})
    mentions = (codes[["response_id", "theme_id"]].astype({"theme_id": str})
                .loc[lambda f: f["theme_id"].isin(themes)]
                .drop_duplicates().rename(columns={"theme_id": "theme"}))
    mentioned = rows.merge(mentions, on="response_id", how="inner")
    kw = {"attributes": [_COUNT], "nps_scale": (0, 10), "ces_scale": None,
          "csi_scale": (0, 1), "memberships": memberships, "engine": engine}
    total = sufficient_stats(rows.drop(columns=["response_id"]), by=by, **kw)
    with_ = sufficient_stats(mentioned.drop(columns=["response_id"]), by=[*by, "theme"], **kw)

    # every group with comments × every theme; those who did not mention = all − those who did
    keys = total.index.to_frame(index=False).merge(pd.DataFrame({"theme": themes}), how="cross")
    full = pd.MultiIndex.from_frame(keys)
    with_ = with_.reindex(full, fill_value=0)
    total = total.reindex(pd.MultiIndex.from_frame(keys[by]) if len(by) > 1
                          else pd.Index(keys[by[0]]))
    total.index = full
    other = (total - with_).clip(lower=0)  # float sums of weights: no −1e-16 left

    blocks = _blocks(total, with_, other, confidence)
    table = tidy_blocks(keys, blocks, base_suppress=base_suppress, base_small=base_small,
                        adjustment=adjustment, compare=compare)
    order = {t: i for i, t in enumerate(themes)}
    table = table.sort_values([*by, "theme"], key=lambda s: s.map(order) if s.name == "theme"
                              else s, kind="mergesort", ignore_index=True)
    return table[[*by, "theme", *RESULT_COLUMNS]]


def _nps_block(stats: pd.DataFrame, confidence: float) -> dict:
    """The NPS block of :func:`~vipquality.metrics.summarise.estimate_blocks` on ``stats``."""
    nps_cols = [c for c in stats.columns if c.startswith("nps_")]
    ((_, block),) = estimate_blocks(stats[nps_cols], confidence=confidence)
    return block


def _blocks(total: pd.DataFrame, with_: pd.DataFrame, other: pd.DataFrame,
            confidence: float) -> list[tuple[str, dict]]:
    k = with_[f"sat_n:{_COUNT}"].to_numpy(dtype=float)
    n = total[f"sat_n:{_COUNT}"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        se_p = 100 * np.sqrt(p * (1 - p) / n)
    low, high = wilson(k, n, confidence=confidence)
    share = {"value": 100 * p, "ci_low": 100 * low, "ci_high": 100 * high, "se": se_p, "n": n,
             "_p": p, "_d": np.zeros_like(p)}

    a, b = _nps_block(with_, confidence), _nps_block(other, confidence)
    impact = a["value"] - b["value"]
    se = np.hypot(a["se"], b["se"])
    margin = z_value(confidence) * se
    base = np.fmin(a["n"], b["n"])
    impact_block = {"value": impact, "ci_low": np.clip(impact - margin, -200, 200),
                    "ci_high": np.clip(impact + margin, -200, 200), "se": se, "n": base}
    with np.errstate(divide="ignore", invalid="ignore"):
        s = with_["nps_sw"].to_numpy(dtype=float) / total["nps_sw"].to_numpy(dtype=float)
    cost = {"value": -s * impact, "n": base}
    a = {key: a[key] for key in ("value", "ci_low", "ci_high", "se", "n")}
    b = {key: b[key] for key in ("value", "ci_low", "ci_high", "se", "n")}
    return [("theme_share", share), ("theme_nps", a), ("theme_nps_other", b),
            ("theme_impact", impact_block), ("theme_cost", cost)]


#: The metrics of one theme whose values give one another away: theme_nps = theme_nps_other +
#: theme_impact, and theme_cost = −share · impact.
_LINKED = ("theme_nps", "theme_impact", "theme_cost")


def redact_themes(table: pd.DataFrame,
                  families: Mapping[str, Mapping[str, str] | None] | None = None,
                  ) -> pd.DataFrame:
    """:func:`~vipquality.metrics.summarise.redact` for :func:`theme_metrics`, with the links
    between one theme's metrics kept closed.

    On top of primary and complementary suppression (``families`` as in ``redact``), within each
    group × theme: a hidden ``theme_share`` hides every metric of the theme (their bases would
    give the share back: mentioners = share × comments); a hidden ``theme_nps``,
    ``theme_impact`` or ``theme_cost`` hides the other two (nps = nps_other + impact, cost =
    −share · impact). Complementary suppression runs again until nothing more is hidden, and
    ``n`` is blanked on every hidden row but ``theme_share`` (whose ``n``, the comments, is the
    group's, shown like a suppressed row's base elsewhere).

    Examples
    --------
    >>> r = pd.DataFrame({"quarter": "2025Q1", "segment": "A", "response_id": list("abcd"),
    ...                   "comment": "x", "nps": [0, 10, 10, 9]})
    >>> t = theme_metrics(r, pd.DataFrame({"response_id": ["a"], "theme_id": "wait"}),
    ...                   base_suppress=2, base_small=2)
    >>> redact_themes(t)[["metric", "value", "n"]]
                metric   value    n
    0      theme_share   25.00  4.0
    1        theme_nps     NaN  NaN
    2  theme_nps_other  100.00  3.0
    3     theme_impact     NaN  NaN
    4       theme_cost     NaN  NaN
    """
    if not len(table):
        return table.copy()
    keys = [c for c in table.columns if c not in RESULT_COLUMNS and c != REASON_COLUMN]
    group = pd.Series("", index=table.index)
    for k in keys:  # column by column, as summarise's redact builds its identities
        group = group + table[k].astype(str) + "\x1f"
    metric = table["metric"].astype(str)
    linked = metric.isin(_LINKED).to_numpy()
    hide = np.zeros(len(table), dtype=bool)
    while True:
        out = redact(table, families, hide=hide)
        gone = (out["value"].isna() & table["value"].notna()).to_numpy() | (
            table["base_flag"] == "suppressed").to_numpy()
        share_gone = set(group[gone & (metric == "theme_share").to_numpy()])
        link_gone = set(group[gone & linked])
        more = group.isin(share_gone).to_numpy() | (group.isin(link_gone).to_numpy() & linked)
        more &= ~gone
        if not more.any():
            break
        hide = hide | more
    blank_n = gone & (metric != "theme_share").to_numpy()
    out["n"] = out["n"].astype(float).where(~blank_n)
    return out


def rank_themes(table: pd.DataFrame, *, top: int | None = None) -> pd.DataFrame:
    """Themes ranked by the NPS they cost, per group, one row per group × theme.

    Parameters
    ----------
    table : DataFrame
        :func:`theme_metrics` output (possibly redacted: blank values are not ranked).
    top : int, optional
        Keep this many themes per group.

    Returns
    -------
    DataFrame
        The grouping columns, ``theme``, ``rank`` (1 = costs most), then one column per metric
        of :data:`THEME_METRICS` (its value) plus ``share_low``, ``share_high``,
        ``share_change``, ``share_significant``,
        ``impact_low``, ``impact_high`` and ``n_comments``. Only themes with a shown cost
        above 0 and a shown share; ties keep codeframe order.

    Examples
    --------
    >>> r = pd.DataFrame({"quarter": "2025Q1", "segment": "A", "response_id": list("abcdef"),
    ...                   "comment": ["slow", "slow", "rude", "ok", "nice", "good"],
    ...                   "nps": [2, 5, 6, 9, 10, 9]})
    >>> codes = pd.DataFrame({"response_id": ["a", "b", "c"],
    ...                       "theme_id": ["wait", "wait", "manner"]})
    >>> t = theme_metrics(r, codes, base_suppress=1, base_small=2)
    >>> rank_themes(t)[["theme", "rank", "theme_cost"]]
        theme  rank  theme_cost
    0    wait     1        50.0
    1  manner     2        20.0
    """
    by = [c for c in table.columns if c not in RESULT_COLUMNS and c != "theme"
          and c != "suppressed_reason"]
    keys = [*by, "theme"]
    wide = table.pivot_table(index=keys, columns="metric", values="value", sort=False,
                             dropna=False, aggfunc="first")
    share = table[table["metric"] == "theme_share"].set_index(keys)
    impact = table[table["metric"] == "theme_impact"].set_index(keys)
    wide = wide.reindex(columns=list(THEME_METRICS))
    wide["share_low"], wide["share_high"] = share["ci_low"], share["ci_high"]
    wide["share_change"] = share["change"]
    wide["share_significant"] = share["significant"].astype(bool)
    wide["impact_low"], wide["impact_high"] = impact["ci_low"], impact["ci_high"]
    wide["n_comments"] = share["n"]
    wide = wide.reset_index()
    wide.columns.name = None
    wide["_pos"] = np.arange(len(wide))  # codeframe order within a group breaks ties
    wide = wide[(wide["theme_cost"] > 0) & wide["theme_share"].notna()]
    wide = wide.sort_values([*by, "theme_cost", "_pos"], ascending=[*[True] * len(by), False,
                                                                     True], kind="mergesort")
    wide["rank"] = wide.groupby(by, sort=False).cumcount() + 1 if by else np.arange(
        1, len(wide) + 1)
    if top is not None:
        wide = wide[wide["rank"] <= top]
    columns = [*keys, "rank", *THEME_METRICS, "share_low", "share_high", "share_change",
               "share_significant",
               "impact_low", "impact_high", "n_comments"]
    return wide[columns].reset_index(drop=True)
