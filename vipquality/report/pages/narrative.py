"""What changed and why it matters, in a few generated sentences.

Display only: the sentences read the tidy metrics table (``docs/architecture.md``) of one segment
and quarter, and optionally the key-driver weights; nothing is estimated here. The wording is
deterministic (same input, same sentences) and the numbers are rounded as in the tables
(:mod:`vipquality.report.pages.tables`). A suppressed group never gets a number: it gets
"base too small to report".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from vipquality._frames import require_columns, truthy
from vipquality.errors import DataError
from vipquality.report.pages.tables import (
    blank_reason,
    format_base,
    format_number,
    format_signed,
    is_missing,
    is_small,
    is_suppressed,
    metric_display,
)

__all__ = ["explain_changes", "NARRATIVE_METRICS"]

#: Metrics that get a sentence, in this order, when present.
NARRATIVE_METRICS = ("nps", "csi", "ces_mean", "compliance")


def _amount(change: float, decimals: int, unit: str) -> str:
    """'9 points', '1 point', '0.3 points', 'less than 1 point'."""
    text = format_number(abs(change), decimals)
    if text == format_number(0.0, decimals):
        smallest = format_number(10.0 ** -decimals, decimals)
        return f"less than {smallest} {_singular(unit)}"
    return f"{text} {_singular(unit) if text == '1' else unit}"


def _singular(unit: str) -> str:
    return unit[:-1] if unit.endswith("s") else unit


def _significance_note(n_compared: int | None) -> str:
    if n_compared is None:
        return "significant after adjustment for multiple comparisons"
    if n_compared <= 1:
        return "significant"
    return f"significant after adjustment for {n_compared} segments compared"


def _base_note(row: pd.Series, base_suppress: int, base_small: int) -> str:
    small = is_small(row, base_suppress=base_suppress, base_small=base_small)
    return f"; small base, n={format_base(row.get('n'))}" if small else ""


def _metric_sentence(row: pd.Series, label: str, decimals: int, unit: str, change_unit: str,
                     n_compared: int | None, base_suppress: int, base_small: int) -> str:
    if is_suppressed(row, base_suppress=base_suppress):
        return f"{label}: base too small to report (n<{base_suppress})."
    if blank_reason(row, base_suppress=base_suppress) == "complement":
        return (f"{label}: not shown, to protect a smaller group (shown, it would let a group "
                f"with a base under {base_suppress} be worked out by difference).")
    if is_missing(row.get("value")):
        return f"{label}: no value to report this quarter."
    value = format_number(row["value"], decimals) + unit
    small = _base_note(row, base_suppress, base_small)
    change = row.get("change")
    if is_missing(change):
        tail = f" ({small[2:]})" if small else ""
        return (f"{label} is {value} this quarter; "
                f"no comparable figure for the previous quarter{tail}.")
    if truthy(row.get("significant")) and float(change) != 0:
        verb = "rose" if float(change) > 0 else "fell"
        amount = _amount(float(change), decimals, change_unit)
        return f"{label} {verb} {amount} to {value} ({_significance_note(n_compared)}{small})."
    return (f"{label} held steady at {value} "
            f"(change {format_signed(change, decimals)}, not significant{small}).")


def _driver_sentence(metrics: pd.DataFrame, drivers: pd.DataFrame, weight: str,
                     attribute_labels: Mapping[str, str], base_suppress: int) -> str | None:
    require_columns(drivers, ["attribute", weight], "drivers")
    ranked = drivers.dropna(subset=[weight])
    if ranked.empty:
        return None
    # largest weight; ties broken by the attribute id so the sentence is deterministic
    ranked = ranked.assign(_id=ranked["attribute"].astype(str)).sort_values(
        [weight, "_id"], ascending=[False, True], kind="mergesort")
    attr = str(ranked.iloc[0]["attribute"])
    label = attribute_labels.get(attr, attr)
    rows = metrics[metrics["metric"] == f"attr:{attr}"]
    if rows.empty:
        return None
    row = rows.iloc[0]
    lead = f"The largest driver, {label},"
    if blank_reason(row, base_suppress=base_suppress) == "complement":
        return f"{lead} is not shown, to protect a smaller group."
    if is_suppressed(row, base_suppress=base_suppress) or is_missing(row.get("value")):
        return f"{lead} has a base too small to report (n<{base_suppress})."
    now = format_number(row["value"], 0)
    prev = row.get("prev_value")
    if is_missing(prev) or is_missing(row.get("change")):
        return f"{lead} scores {now} this quarter; no comparable figure for the previous quarter."
    before = format_number(prev, 0)
    if before == now:
        return f"{lead} held steady at {now}."
    if truthy(row.get("significant")):
        verb = "rose" if float(row["change"]) > 0 else "fell"
        return f"{lead} {verb} from {before} to {now}."
    return f"{lead} moved from {before} to {now} (not significant)."


def explain_changes(
    metrics_segment: pd.DataFrame,
    drivers: pd.DataFrame | None = None,
    attribute_labels: Mapping[str, str] | None = None,
    *,
    metrics: Sequence[str] = NARRATIVE_METRICS,
    metric_labels: Mapping[str, str] | None = None,
    n_compared: int | None = None,
    weight: str = "weight",
    base_suppress: int,
    base_small: int,
) -> list[str]:
    """A few sentences on what changed this quarter for one segment, and its largest driver.

    Parameters
    ----------
    metrics_segment : DataFrame
        Tidy metrics rows of one segment and one quarter: ``metric``, ``value``, ``n``,
        ``base_flag``, ``change``, ``significant``; ``prev_value`` for the driver sentence
        (rows ``attr:<id>``). If a ``quarter`` column holds several quarters the latest is used.
    drivers : DataFrame, optional
        Key-driver weights: ``attribute`` (id) and ``weight`` (rescaled weight, %; another column
        name via ``weight``). The attribute with the largest weight gets a sentence from its
        ``attr:<id>`` row.
    attribute_labels : mapping, optional
        Attribute id -> label ("response_speed" -> "Speed of response").
    metrics : sequence of str
        Metrics that get a sentence, in order (those absent from the table are skipped).
    metric_labels : mapping, optional
        Metric -> name used in the sentence (defaults: "NPS", "CSI", "CES", "Compliance").
    n_compared : int, optional
        Number of segments the significance test was adjusted for, named in the sentence.
    base_suppress, base_small : int
        The workspace's base thresholds (``**ReportData.thresholds``): a row without a
        ``base_flag`` is suppressed under the first and small under the second.

    Returns
    -------
    list of str
        One sentence per metric, then the driver sentence. Wording:

        - significant change: "NPS fell 9 points to 31 (significant after adjustment for 6
          segments compared)."
        - otherwise: "NPS held steady at 42 (change +2, not significant)."
        - no previous quarter: "NPS is 42 this quarter; no comparable figure for the previous
          quarter."
        - suppressed: "NPS: base too small to report (n<30)."
        - small base: "…; small base, n=64)" inside the parentheses.
        - driver: "The largest driver, Speed of response, fell from 71 to 58."

    Examples
    --------
    >>> m = pd.DataFrame({"metric": ["nps"], "value": [31.2], "n": [412], "base_flag": ["ok"],
    ...                   "change": [-9.1], "significant": [True]})
    >>> explain_changes(m, n_compared=6, base_suppress=30, base_small=100)
    ['NPS fell 9 points to 31 (significant after adjustment for 6 segments compared).']
    """
    require_columns(metrics_segment, ["metric", "value"], "explain_changes")
    frame = metrics_segment
    if "quarter" in frame.columns and frame["quarter"].nunique() > 1:
        frame = frame[frame["quarter"].astype(str) == max(frame["quarter"].astype(str))]
    labels = dict(metric_labels or {})
    sentences = []
    for metric in metrics:
        rows = frame[frame["metric"] == metric]
        if rows.empty:
            continue
        if len(rows) > 1:
            raise DataError(f"explain_changes: more than one row for metric {metric!r}; pass the "
                            "rows of one segment and one quarter")
        disp = metric_display(metric)
        sentences.append(_metric_sentence(
            rows.iloc[0], labels.get(metric, disp.label), disp.decimals, disp.unit,
            disp.change_unit, n_compared, base_suppress, base_small))
    largest = None
    if drivers is not None:
        driver = _driver_sentence(frame, drivers, weight, dict(attribute_labels or {}),
                                  base_suppress)
        if driver:
            sentences.append(driver)
            ranked = drivers.dropna(subset=[weight]).sort_values(weight, ascending=False,
                                                                 kind="mergesort")
            largest = str(ranked.iloc[0]["attribute"]) if len(ranked) else None
    moves = _attribute_moves(frame, dict(attribute_labels or {}), largest, base_suppress)
    if moves:
        sentences.append(moves)
    return sentences


def _attribute_moves(metrics: pd.DataFrame, attribute_labels: Mapping[str, str],
                     exclude: str | None, base_suppress: int, most: int = 2) -> str | None:
    """The attributes (other than the largest driver) whose performance changed significantly,
    largest change first, at most ``most``: "Speed of response fell from 62 to 46 (significant)."
    """
    rows = metrics[metrics["metric"].astype(str).str.startswith("attr:")]
    if rows.empty or "significant" not in rows.columns or "change" not in rows.columns:
        return None
    rows = rows[rows["significant"].map(truthy) & ~rows.apply(
        lambda r: is_suppressed(r, base_suppress=base_suppress), axis=1)]
    rows = rows[rows["metric"] != f"attr:{exclude}"] if exclude else rows
    if rows.empty:
        return None
    rows = rows.assign(_size=rows["change"].astype(float).abs(), _id=rows["metric"].astype(str))
    rows = rows.sort_values(["_size", "_id"], ascending=[False, True], kind="mergesort").head(most)
    parts = []
    for r in rows.itertuples():
        attr = str(r.metric).removeprefix("attr:")
        verb = "rose" if float(r.change) > 0 else "fell"
        parts.append(f"{attribute_labels.get(attr, attr)} {verb} from "
                     f"{format_number(r.prev_value, 0)} to {format_number(r.value, 0)}")
    lead = "Also significant: " if exclude else "Significant moves among the attributes: "
    return lead + "; ".join(parts) + "."
