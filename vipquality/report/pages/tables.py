"""Tables formatted for reading: the quarter-at-a-glance table and a general formatter.

Everything here is display. The functions take the tidy tables of ``docs/architecture.md`` at full
precision and round only the text they produce; nothing is computed from the rounded numbers.
The reporting rules of ``metrics.md`` apply to every cell: a suppressed group (``base_flag ==
"suppressed"``) shows ``n<30`` and never its value, interval or change, whether or not the input was
already redacted; a small base is marked ``†`` and explained in a footnote.

The number helpers (:func:`format_number`, :func:`format_estimate`, :func:`format_change`, …) and
the metric display registry (:func:`metric_display`) are shared with
:mod:`vipquality.report.pages.charts` and :mod:`vipquality.report.pages.narrative`, so a number
reads the same in a table, a chart and a sentence.

Why not great_tables (posit-dev, evaluated for issue 13 with great_tables 1.1.0): its HTML for
the quarter-at-a-glance table is 22 kB against 8 kB here (a per-table ``<style>`` block scoped
to the table id), it has no per-cell ``title`` (the tooltip that says why a cell is blank) and no
stable row ids for the snapshots, and the cell logic that makes these tables what they are
(suppression and its reason, the ``†``/``‡`` marks, arrows only when significant, rounding half
away from zero) stays ours either way: only the ~60 lines that assemble the markup would go,
for nine new dependencies (babel, htmltools, faicons, commonmark, …). The tables would not get
better and the code would not get smaller, so the markup stays hand-written.
"""

from __future__ import annotations

import html
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from vipquality._frames import require_columns, truthy
from vipquality.errors import DataError

__all__ = [
    "MetricDisplay",
    "metric_display",
    "HTMLTable",
    "TABLE_CSS",
    "round_half_up",
    "format_number",
    "format_signed",
    "format_interval",
    "format_estimate",
    "format_base",
    "format_change",
    "is_missing",
    "base_flag_of",
    "is_suppressed",
    "suppress_label",
    "blank_reason",
    "blank_note",
    "HIDDEN_MARK",
    "is_small",
    "metrics_display_frame",
    "format_metrics_table",
    "format_table",
    "format_kpi_cards",
    "KPI_CSS",
]

MINUS = "\u2212"  # typographic minus sign
DASH = "\u2013"  # en dash: ranges, and "no value"
SMALL_MARK = "\u2020"  # dagger: small base
HIDDEN_MARK = "\u2021"  # double dagger: hidden to protect a smaller group
REASON_COLUMN = "suppressed_reason"  # written by vipquality.metrics.summarise.redact
ARROW_UP, ARROW_DOWN = "\u25b2", "\u25bc"

HEADLINE_METRICS = ("nps", "csi", "ces_mean", "compliance")


# --------------------------------------------------------------------------- metric registry
@dataclass(frozen=True)
class MetricDisplay:
    """How one metric is named and rounded for display.

    Attributes
    ----------
    label : str
        Short name for headers and sentences ("NPS").
    axis_title : str
        Axis or column title with its unit ("NPS (−100 to 100)").
    decimals : int
        Decimals shown.
    unit : str
        Suffix of a value ("%" for shares and compliance, else "").
    change_unit : str
        Unit of a change in words ("points", "percentage points").
    """

    label: str
    axis_title: str
    decimals: int
    unit: str = ""
    change_unit: str = "points"


_DISPLAY = {
    "nps": MetricDisplay("NPS", f"NPS ({MINUS}100 to 100)", 0),
    "csi": MetricDisplay("CSI", "CSI (0\u2013100)", 1),
    "ces_mean": MetricDisplay("CES", "CES, mean score (higher = easier)", 1),
    "ces_easy": MetricDisplay("CES, share easy", "Share finding it easy, %", 0, "%",
                              "percentage points"),
    "ces_net_easy": MetricDisplay("CES, net easy", "Net easy (% easy \u2212 % difficult)", 0, "",
                                  "percentage points"),
    "compliance": MetricDisplay("Compliance", "Compliance, %", 1, "%", "percentage points"),
}


def metric_display(metric: str, attribute_labels: Mapping[str, str] | None = None) -> MetricDisplay:
    """The display settings of a metric of the tidy table.

    Knows ``nps``, ``csi``, ``ces_mean``, ``ces_easy``, ``ces_net_easy``, ``compliance``,
    ``attr:<id>`` (attribute performance, 0–100) and ``imp:<id>`` (stated weight share, %);
    ``attribute_labels`` maps attribute ids to their labels.

    Examples
    --------
    >>> metric_display("nps").axis_title
    'NPS (−100 to 100)'
    >>> metric_display("attr:response_speed", {"response_speed": "Speed of response"}).label
    'Speed of response'
    """
    if metric in _DISPLAY:
        return _DISPLAY[metric]
    kind, _, attr = metric.partition(":")
    if kind in ("attr", "imp") and attr:
        label = (attribute_labels or {}).get(attr, attr)
        if kind == "attr":
            return MetricDisplay(label, f"{label}: performance (0\u2013100)", 0)
        return MetricDisplay(label, f"{label}: stated weight, %", 0, "%", "percentage points")
    return MetricDisplay(metric, metric, 1)


# --------------------------------------------------------------------------- numbers
def is_missing(x: object) -> bool:
    """True for None, NA, NaT and NaN."""
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return math.isnan(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _round(x: float, decimals: int) -> Decimal:
    """Round half away from zero (as a spreadsheet does), from the shortest repr of ``x``."""
    q = Decimal(1).scaleb(-decimals)
    d = Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP)
    return d if d != 0 else abs(d)  # no "-0"


def round_half_up(x: object, decimals: int = 0) -> float:
    """``x`` rounded half away from zero, as shown (for values a chart draws as text).

    >>> round_half_up(30.5), round_half_up(-2.25, 1)
    (31.0, -2.3)
    """
    return float(_round(float(x), decimals))  # type: ignore[arg-type]


def format_number(x: object, decimals: int = 0, *, thousands: bool = False) -> str:
    """``x`` rounded half away from zero, with a typographic minus; "–" when missing.

    >>> format_number(-3.45, 1), format_number(30.5), format_number(-0.2), format_number(None)
    ('−3.5', '31', '0', '–')
    """
    if is_missing(x):
        return DASH
    d = _round(float(x), decimals)  # type: ignore[arg-type]
    text = f"{d:,.{decimals}f}" if thousands else f"{d:.{decimals}f}"
    return text.replace("-", MINUS)


def format_signed(x: object, decimals: int = 0) -> str:
    """``x`` rounded with its sign always shown ("+2", "−9", "0").

    >>> format_signed(2.2), format_signed(-9.4), format_signed(0.3)
    ('+2', '−9', '0')
    """
    if is_missing(x):
        return DASH
    d = _round(float(x), decimals)  # type: ignore[arg-type]
    text = format_number(d, decimals)
    return f"+{text}" if d > 0 else text


def format_interval(low: object, high: object, decimals: int = 0) -> str:
    """``[low–high]``; with a negative bound, ``[low to high]`` so the dash never reads as a minus.

    >>> format_interval(22.4, 40.1), format_interval(-14.2, 4.4)
    ('[22–40]', '[−14 to 4]')
    """
    if is_missing(low) or is_missing(high):
        return ""
    lo, hi = format_number(low, decimals), format_number(high, decimals)
    sep = " to " if lo.startswith(MINUS) or hi.startswith(MINUS) else DASH
    return f"[{lo}{sep}{hi}]"


def format_estimate(value: object, low: object = None, high: object = None, decimals: int = 0,
                    unit: str = "") -> str:
    """``value [low–high]`` for display, e.g. ``31 [22–40]`` or ``87.5% [84.0–90.9]``.

    >>> format_estimate(31.2, 22.4, 40.1), format_estimate(87.46, 84.0, 90.91, 1, "%")
    ('31 [22–40]', '87.5% [84.0–90.9]')
    """
    if is_missing(value):
        return DASH
    text = format_number(value, decimals) + unit
    interval = format_interval(low, high, decimals)
    return f"{text} {interval}" if interval else text


def format_base(n: object) -> str:
    """A base size as a whole number with thousands separators (effective bases are rounded).

    >>> format_base(1204.4), format_base(64)
    ('1,204', '64')
    """
    return format_number(n, 0, thousands=True)


def format_change(change: object, significant: object, decimals: int = 0) -> tuple[str, str]:
    """Text and CSS class of a change: an arrow only when the change is significant.

    Returns ``("▲ +5", "vq-up")``, ``("▼ −9", "vq-down")``, ``("+2", "vq-ns")`` (not significant,
    shown greyed) or ``("–", "vq-na")`` (no previous value).

    >>> format_change(-9.2, True), format_change(2.4, False), format_change(None, False)
    (('▼ −9', 'vq-down'), ('+2', 'vq-ns'), ('–', 'vq-na'))
    """
    if is_missing(change):
        return DASH, "vq-na"
    text = format_signed(change, decimals)
    if truthy(significant) and float(change) != 0:  # type: ignore[arg-type]
        return (f"{ARROW_UP} {text}", "vq-up") if float(change) > 0 else (  # type: ignore[arg-type]
            f"{ARROW_DOWN} {text}", "vq-down")
    return text, "vq-ns"


def base_flag_of(row: Mapping | pd.Series, *, base_suppress: int, base_small: int) -> str:
    """A tidy row's ``base_flag``; derived from ``n`` and the thresholds when it has none.

    The thresholds are the workspace's (``ReportData.thresholds``); no function of the pages
    has a default of its own.

    >>> t = {"base_suppress": 30, "base_small": 100}
    >>> base_flag_of({"n": 64, "base_flag": "small"}, **t), base_flag_of({"n": 12}, **t)
    ('small', 'suppressed')
    >>> base_flag_of({"n": 64}, **t), base_flag_of({}, **t)
    ('small', 'suppressed')
    """
    flag = row.get("base_flag")
    if flag is not None and not is_missing(flag):
        return str(flag)
    n = row.get("n")
    if is_missing(n):
        return "suppressed"
    return "suppressed" if float(n) < base_suppress else "small" if float(n) < base_small else "ok"


def is_suppressed(row: Mapping | pd.Series, *, base_suppress: int) -> bool:
    """True when a tidy row must not show its value (flagged ``suppressed``, or
    n < ``base_suppress``)."""
    # whether a row is suppressed does not depend on the small-base threshold
    return base_flag_of(row, base_suppress=base_suppress, base_small=base_suppress) == "suppressed"


def is_small(row: Mapping | pd.Series, *, base_suppress: int, base_small: int) -> bool:
    """True when a tidy row has a small base (flagged ``small``, or
    ``base_suppress`` ≤ n < ``base_small``)."""
    return base_flag_of(row, base_suppress=base_suppress, base_small=base_small) == "small"


def suppress_label(*, base_suppress: int) -> str:
    """What a suppressed value shows: ``n<30`` for ``base_suppress=30``."""
    return f"n<{base_suppress}"


def blank_reason(row: Mapping | pd.Series, *, base_suppress: int) -> str | None:
    """Why a tidy row shows no value: ``"small_base"`` (n under the base threshold),
    ``"complement"`` (hidden so that a smaller group cannot be derived by difference: the
    ``suppressed_reason`` that :func:`~vipquality.metrics.summarise.redact` writes),
    ``"no_value"`` (nothing measured), or None when the value is shown.

    >>> blank_reason({"n": 12, "value": 3.0}, base_suppress=30)
    'small_base'
    >>> blank_reason({"n": 195, "value": None, "suppressed_reason": "complement"},
    ...              base_suppress=30)
    'complement'
    >>> blank_reason({"n": 195, "value": 40.0}, base_suppress=30) is None
    True
    """
    given = row.get(REASON_COLUMN)
    if isinstance(given, str) and given in ("small_base", "complement"):
        return given
    if is_suppressed(row, base_suppress=base_suppress):
        return "small_base"
    return "no_value" if is_missing(row.get("value")) else None


def blank_note(reason: str, *, base_suppress: int) -> str:
    """The sentence a blank cell's tooltip and footnote give for ``reason`` (see
    :func:`blank_reason`; ``"no_previous"`` for a change with nothing to compare with).

    >>> blank_note("complement", base_suppress=30)[:40]
    'Hidden to protect a smaller group: shown'
    """
    return {
        "small_base": f"Base under {base_suppress}: too small to report.",
        "complement": ("Hidden to protect a smaller group: shown, it would let the value of a "
                       f"group with a base under {base_suppress} be worked out by difference."),
        "no_value": "Nothing measured for this group this quarter.",
        "no_previous": "No comparable value for the previous quarter (none measured, or not "
                       "shown then).",
    }[reason]


# --------------------------------------------------------------------------- HTML output
TABLE_CSS = """\
.vq-table-wrap{overflow-x:auto;max-width:100%}
.vq-table{border-collapse:collapse;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
font-size:14px;color:#1f2328;margin:0.5em 0 1.5em 0}
.vq-table caption{caption-side:top;text-align:left;font-weight:600;font-size:15px;
padding:0 0 0.4em 0}
.vq-table th,.vq-table td{padding:0.35em 0.7em;border-bottom:1px solid #d8dee4;text-align:right;
white-space:nowrap;font-variant-numeric:tabular-nums}
.vq-table thead th{border-bottom:2px solid #57606a;font-weight:600;vertical-align:bottom}
.vq-table thead th.vq-group{text-align:center;border-bottom:1px solid #d8dee4}
.vq-table th.vq-rowhead,.vq-table tbody th{text-align:left;font-weight:600}
.vq-table tbody tr:nth-child(even){background:#f6f8fa}
.vq-table .vq-up{color:#00734f;font-weight:600}
.vq-table .vq-down{color:#b33c00;font-weight:600}
.vq-table .vq-ns,.vq-table .vq-na,.vq-table .vq-n{color:#57606a}
.vq-table .vq-suppressed{color:#57606a;font-style:italic}
.vq-table .vq-small,.vq-table .vq-mark{color:#57606a;padding-left:0.15em}
.vq-table [title]{cursor:help}
.vq-table tfoot td{text-align:left;border-bottom:none;color:#57606a;font-size:12px;
white-space:normal}
.vq-table a{color:#0550ae;text-decoration:none}
"""


class HTMLTable(str):
    """An HTML string that Jupyter displays as HTML (``_repr_html_``) and that is written as is."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        return str(self)


@dataclass(frozen=True)
class _Cell:
    text: str
    classes: str = ""
    small: bool = False
    href: str | None = None
    title: str | None = None  # why the cell is blank (tooltip)
    mark: str = ""            # footnote mark after the text (HIDDEN_MARK)

    def html(self, tag: str = "td", scope: str | None = None) -> str:
        body = html.escape(self.text)
        if self.href:
            body = f'<a href="{html.escape(self.href, quote=True)}">{body}</a>'
        if self.small:
            body += f'<span class="vq-small" title="small base">{SMALL_MARK}</span>'
        if self.mark:
            body += f'<span class="vq-mark">{self.mark}</span>'
        attrs = f' class="{self.classes}"' if self.classes else ""
        attrs += f' scope="{scope}"' if scope else ""
        attrs += f' title="{html.escape(self.title, quote=True)}"' if self.title else ""
        return f"<{tag}{attrs}>{body}</{tag}>"


_ID_BAD = re.compile(r"[^A-Za-z0-9_-]+")


def _html_id(*parts: object) -> str:
    return "-".join(_ID_BAD.sub("_", str(p)) for p in parts if str(p))


def _small_footnote(base_suppress: int, base_small: int) -> str:
    return (f"{SMALL_MARK} Small base ({base_suppress}\u2013{base_small - 1}): read with caution. "
            f"n<{base_suppress}: base too small to report.")


def _blank_footnotes(reasons: set[str], base_suppress: int) -> list[str]:
    """One footnote per kind of blank cell in a table, in a fixed order."""
    notes = []
    if "small_base" in reasons:
        notes.append(f"n<{base_suppress}: " + blank_note("small_base",
                                                           base_suppress=base_suppress))
    if "complement" in reasons:
        notes.append(f"{DASH}{HIDDEN_MARK} " + blank_note("complement",
                                                           base_suppress=base_suppress))
    if reasons & {"no_value", "no_previous"}:
        notes.append(f"{DASH} alone: nothing measured, or no comparable value for the previous "
                     "quarter (the cell's tooltip says which).")
    return notes


# --------------------------------------------------------------------------- the metrics table
def _select_quarter(metrics: pd.DataFrame, quarter: str | None) -> pd.DataFrame:
    if "quarter" not in metrics.columns:
        return metrics
    quarters = sorted(metrics["quarter"].dropna().astype(str).unique())
    if quarter is None:
        if not quarters:
            return metrics.iloc[0:0]
        quarter = quarters[-1]
    return metrics[metrics["quarter"].astype(str) == str(quarter)]


def _metric_cells(row: pd.Series | None, disp: MetricDisplay, base_suppress: int,
                  base_small: int) -> list[_Cell]:
    """Value, base and change cells of one metric for one segment; a blank cell carries its
    reason (:func:`blank_reason`) as ``title``."""
    def why(reason: str) -> str:
        return blank_note(reason, base_suppress=base_suppress)

    if row is None:
        return [_Cell(DASH, "vq-value vq-na", title=why("no_value")), _Cell("", "vq-n"),
                _Cell("", "vq-change vq-na")]
    reason = blank_reason(row, base_suppress=base_suppress)
    if reason == "small_base":
        return [_Cell(suppress_label(base_suppress=base_suppress), "vq-value vq-suppressed",
                      title=why(reason)),
                _Cell(DASH, "vq-n vq-na", title=why(reason)),
                _Cell(DASH, "vq-change vq-na", title=why(reason))]
    if reason is not None:
        mark = HIDDEN_MARK if reason == "complement" else ""
        return [_Cell(DASH, "vq-value vq-na", title=why(reason), mark=mark),
                _Cell(format_base(row.get("n")), "vq-n"),
                _Cell(DASH, "vq-change vq-na", title=why(reason))]
    value = format_estimate(row.get("value"), row.get("ci_low"), row.get("ci_high"),
                            disp.decimals, disp.unit)
    change, cls = format_change(row.get("change"), row.get("significant"), disp.decimals)
    return [_Cell(value, "vq-value", small=is_small(row, base_suppress=base_suppress,
                                                     base_small=base_small)),
            _Cell(format_base(row.get("n")), "vq-n"),
            _Cell(change, f"vq-change {cls}",
                  title=why("no_previous") if cls == "vq-na" else None)]


def _metrics_cells(metrics: pd.DataFrame, metrics_shown: Sequence[str], by: str,
                   segment_order: Sequence[str] | None, quarter: str | None,
                   base_suppress: int, base_small: int
                   ) -> tuple[list[str], dict[str, dict[str, list[_Cell]]]]:
    require_columns(metrics, [by, "metric", "value", "n"], "format_metrics_table")
    frame = _select_quarter(metrics, quarter)
    frame = frame[frame["metric"].isin(list(metrics_shown))]
    dupes = frame.duplicated([by, "metric"])
    if dupes.any():
        first = frame[dupes].iloc[0]
        raise DataError(f"more than one row for {by}={first[by]!r}, metric={first['metric']!r}: "
                        "pass one quarter and one grouping (filter other grouping columns first)")
    present = list(dict.fromkeys(frame[by].astype(str)))
    if segment_order is not None:
        order = [s for s in segment_order if s in present] + [s for s in present
                                                               if s not in segment_order]
    else:
        order = present
    cells: dict[str, dict[str, list[_Cell]]] = {}
    rows = {(str(r[by]), r["metric"]): r for _, r in frame.iterrows()}
    for seg in order:
        cells[seg] = {m: _metric_cells(rows.get((seg, m)), metric_display(m), base_suppress,
                                       base_small) for m in metrics_shown}
    return order, cells


def metrics_display_frame(metrics: pd.DataFrame, metrics_shown: Sequence[str] = HEADLINE_METRICS,
                          *, by: str = "segment", segment_order: Sequence[str] | None = None,
                          quarter: str | None = None, base_suppress: int,
                          base_small: int) -> pd.DataFrame:
    """The text of the quarter-at-a-glance table, one row per segment, as plain strings.

    The same cells as :func:`format_metrics_table` without markup, for tests and snapshots.
    Columns: ``by``, then ``<metric>``, ``<metric>_n``, ``<metric>_change`` for each metric shown,
    and ``<metric>_small`` (bool) marking a small base.

    Examples
    --------
    >>> df = pd.DataFrame({"segment": ["premium"], "metric": ["nps"], "value": [31.2],
    ...     "ci_low": [22.4], "ci_high": [40.1], "n": [412], "base_flag": ["ok"],
    ...     "change": [-9.3], "significant": [True]})
    >>> metrics_display_frame(df, ["nps"], base_suppress=30, base_small=100).iloc[0, :4].tolist()
    ['premium', '31 [22–40]', '412', '▼ −9']
    """
    order, cells = _metrics_cells(metrics, metrics_shown, by, segment_order, quarter,
                                  base_suppress, base_small)
    records = []
    for seg in order:
        rec: dict[str, object] = {by: seg}
        for m in metrics_shown:
            value, n, change = cells[seg][m]
            rec.update({m: value.text + value.mark, f"{m}_n": n.text, f"{m}_change": change.text,
                        f"{m}_small": value.small})
        records.append(rec)
    columns = [by] + [c for m in metrics_shown for c in (m, f"{m}_n", f"{m}_change", f"{m}_small")]
    return pd.DataFrame.from_records(records, columns=columns)


def format_metrics_table(
    metrics: pd.DataFrame,
    metric_labels: Mapping[str, str] | None = None,
    *,
    metrics_shown: Sequence[str] = HEADLINE_METRICS,
    by: str = "segment",
    segment_labels: Mapping[str, str] | None = None,
    segment_order: Sequence[str] | None = None,
    links: Mapping[str, str] | None = None,
    quarter: str | None = None,
    table_id: str = "vq-metrics",
    caption: str | None = None,
    confidence: float = 0.95,
    base_suppress: int,
    base_small: int,
    include_css: bool = True,
) -> HTMLTable:
    """The quarter at a glance: one row per segment; per metric the interval, base and change.

    Parameters
    ----------
    metrics : DataFrame
        Tidy metrics (``docs/architecture.md``): ``by`` (default ``segment``), ``metric``,
        ``value``, ``ci_low``, ``ci_high``, ``n``, ``base_flag``, ``change``, ``significant``;
        optionally ``quarter`` (the latest quarter is shown unless ``quarter`` is given). One row
        per segment and metric once the quarter is chosen.
    metric_labels : mapping, optional
        Column-group header per metric; defaults to the metric's axis title ("NPS (−100 to 100)").
    metrics_shown : sequence of str
        Metrics, in column order (default NPS, CSI, CES mean, compliance).
    segment_labels, segment_order, links : optional
        Row label, row order (the configuration's order) and link target per segment id.
    table_id : str
        ``id`` of the ``<table>``; rows get ``<table_id>-<segment>``. Stable, for snapshots.
    confidence, base_suppress, base_small : reporting settings used in the wording; the base
        thresholds are required (the workspace's: ``**ReportData.thresholds``).

    Returns
    -------
    HTMLTable
        An HTML string (displayed as HTML in Jupyter). Each metric has three columns: the value
        with its interval (``31 [22–40]``; NPS to an integer, CSI, CES and compliance to one
        decimal, percentages with ``%``), the base, and the change from the previous quarter
        (``▼ −9`` with an arrow only when significant after adjustment, else the signed change
        greyed). A suppressed group shows ``n<30`` and nothing else; a small base is marked ``†``.

    Notes
    -----
    Rounding happens here only; the input is not changed.
    """
    order, cells = _metrics_cells(metrics, metrics_shown, by, segment_order, quarter,
                                  base_suppress, base_small)
    labels = dict(segment_labels or {})
    heads = {m: (metric_labels or {}).get(m, metric_display(m).axis_title) for m in metrics_shown}
    pct = f"{confidence:.0%}"
    out = []
    if include_css:
        out.append(f"<style>{TABLE_CSS}</style>")
    out.append('<div class="vq-table-wrap">')
    out.append(f'<table class="vq-table vq-metrics" id="{html.escape(table_id)}">')
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>")
    row_head = "Segment" if by == "segment" else html.escape(by.replace("_", " ").title())
    out.append(f'<th rowspan="2" scope="col" class="vq-rowhead">{row_head}</th>')
    for m in metrics_shown:
        out.append(f'<th colspan="3" scope="colgroup" class="vq-group">'
                   f'{html.escape(heads[m])}</th>')
    out.append("</tr><tr>")
    for _ in metrics_shown:
        out.append(f'<th scope="col">Score [{pct} CI]</th><th scope="col">Base</th>'
                   '<th scope="col">Change</th>')
    out.append("</tr></thead><tbody>")
    any_small, reasons = False, set()
    for seg in order:
        out.append(f'<tr id="{_html_id(table_id, seg)}">')
        out.append(_Cell(labels.get(seg, seg), href=(links or {}).get(seg)).html("th", "row"))
        for m in metrics_shown:
            for cell in cells[seg][m]:
                any_small |= cell.small
                reasons |= {r for r in ("small_base", "complement", "no_value", "no_previous")
                            if cell.title == blank_note(r, base_suppress=base_suppress)}
                out.append(cell.html())
        out.append("</tr>")
    out.append("</tbody>")
    notes = [f"Change: from the previous quarter; {ARROW_UP}/{ARROW_DOWN} only when significant "
             "after adjustment for the number of segments compared, otherwise shown in grey."]
    if any_small:
        notes.append(_small_footnote(base_suppress, base_small))
    notes += _blank_footnotes(reasons - ({"small_base"} if any_small else set()), base_suppress)
    out.append(f'<tfoot><tr><td colspan="{1 + 3 * len(metrics_shown)}">'
               + "<br>".join(html.escape(n) for n in notes) + "</td></tr></tfoot>")
    out.append("</table></div>")
    return HTMLTable("".join(out))


# --------------------------------------------------------------------------- general helper
_SPEC = re.compile(r"^(?P<comma>,?)\.(?P<d>\d+)(?P<type>[f%])$")
Format = str | Callable[[object], str]


def _format_value(value: object, fmt: Format | None) -> str:
    if callable(fmt):
        return str(fmt(value))
    if is_missing(value):
        return DASH
    if fmt is None:
        return format_number(value, 0) if isinstance(value, float) else str(value)
    m = _SPEC.match(fmt)
    if m and isinstance(value, numbers.Real) and not isinstance(value, bool):
        d = int(m["d"])
        x = float(value) * (100 if m["type"] == "%" else 1)
        return format_number(x, d, thousands=bool(m["comma"])) + ("%" if m["type"] == "%" else "")
    if isinstance(value, numbers.Real):
        return format(value, fmt).replace("-", MINUS)
    return format(value, fmt) if fmt else str(value)


def format_table(
    df: pd.DataFrame,
    formats: Mapping[str, Format] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    table_id: str | None = None,
    caption: str | None = None,
    footnote: str | None = None,
    base_flag: str = "base_flag",
    base_suppress: int | None = None,
    base_small: int | None = None,
    missing_note: str = "Not available.",
    include_css: bool = True,
) -> HTMLTable:
    """Any frame as a readable HTML table: formatted numbers, no index, stable ids.

    Parameters
    ----------
    df : DataFrame
        Rows to show, in order. The index is not shown.
    formats : mapping column -> format
        A format spec (``".1f"``, ``",.0f"``, ``".0%"`` for a fraction shown as a percentage,
        rounded half away from zero) or a callable returning the text. Columns without a format
        are shown as they are (floats to whole numbers).
    labels : mapping column -> header, optional
    base_flag : str
        If ``df`` has this column it is not shown; in rows flagged ``suppressed`` every formatted
        column shows ``n<30``, and rows flagged ``small`` get ``†`` on their first cell and a
        footnote.
    base_suppress, base_small : int
        The workspace's base thresholds (``**ReportData.thresholds``); required when ``df`` has
        the ``base_flag`` or ``suppressed_reason`` column, unused otherwise.
    missing_note : str
        Why a cell without a value shows "–" (its tooltip and footnote). A ``suppressed_reason``
        column (not shown) gives the reason row by row instead: ``small_base`` shows ``n<30``,
        ``complement`` "–‡", each with its tooltip and footnote (:func:`blank_note`).

    Examples
    --------
    >>> t = format_table(pd.DataFrame({"branch": ["B1"], "compliance": [87.46]}),
    ...                  {"compliance": ".1f"}, table_id="t", include_css=False)
    >>> "<td>87.5</td>" in t
    True
    """
    if ({base_flag, REASON_COLUMN} & set(df.columns)
            and (base_suppress is None or base_small is None)):
        raise TypeError(f"format_table: a table with the {base_flag!r} or {REASON_COLUMN!r} "
                        "column needs base_suppress= and base_small= (the workspace's: "
                        "**ReportData.thresholds)")
    formats = dict(formats or {})
    labels = dict(labels or {})
    shown = [c for c in df.columns if c not in (base_flag, REASON_COLUMN)]
    out = []
    if include_css:
        out.append(f"<style>{TABLE_CSS}</style>")
    id_attr = f' id="{html.escape(table_id)}"' if table_id else ""
    out.append('<div class="vq-table-wrap">')  # a wide table scrolls in its own box
    out.append(f'<table class="vq-table"{id_attr}>')
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>")
    for c in shown:
        out.append(f'<th scope="col">{html.escape(str(labels.get(c, c)))}</th>')
    out.append("</tr></thead><tbody>")
    any_small, reasons, any_missing = False, set(), False
    for i, (_, row) in enumerate(df.iterrows()):
        flag = str(row[base_flag]) if base_flag in df.columns else "ok"
        if flag in ("nan", "None", "<NA>"):
            flag = base_flag_of({"n": row.get("n")}, base_suppress=base_suppress,
                                base_small=base_small)
        reason = row.get(REASON_COLUMN) if REASON_COLUMN in df.columns else None
        reason = "small_base" if flag == "suppressed" else (
            reason if reason in ("small_base", "complement") else None)
        row_id = f' id="{_html_id(table_id, i)}"' if table_id else ""
        out.append(f"<tr{row_id}>")
        for j, c in enumerate(shown):
            if reason == "small_base" and c in formats:
                cell = _Cell(suppress_label(base_suppress=base_suppress), "vq-suppressed",
                             title=blank_note(reason, base_suppress=base_suppress))
            elif reason == "complement" and c in formats and is_missing(row[c]):
                cell = _Cell(DASH, "vq-na", mark=HIDDEN_MARK,
                             title=blank_note(reason, base_suppress=base_suppress))
            else:
                text = _format_value(row[c], formats.get(c))
                cell = _Cell(text, small=(flag == "small" and j == 0),
                             title=missing_note if text == DASH else None,
                             classes="vq-na" if text == DASH else "")
                any_missing |= text == DASH
            if reason and c in formats:
                reasons.add(reason)
            any_small |= cell.small
            out.append(cell.html())
        out.append("</tr>")
    out.append("</tbody>")
    notes = [footnote] if footnote else []
    if any_small:
        notes.append(_small_footnote(base_suppress, base_small))
    notes += _blank_footnotes(reasons - ({"small_base"} if any_small else set()),
                              base_suppress or 0)
    if any_missing:
        notes.append(f"{DASH}: {missing_note}")
    if notes:
        out.append(f'<tfoot><tr><td colspan="{len(shown)}">'
                   + "<br>".join(html.escape(n) for n in notes) + "</td></tr></tfoot>")
    out.append("</table></div>")
    return HTMLTable("".join(out))


# --------------------------------------------------------------------------- KPI cards
KPI_CSS = """\
ul.vq-kpis.vq-kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));
gap:0.75rem;margin:0.75rem 0 1.5rem 0;padding:0;list-style:none;max-width:none}
.vq-kpis>li.vq-kpi{border:1px solid #d0d7de;border-top:4px solid var(--vq-kpi,#0072B2);
border-radius:6px;padding:0.7rem 0.9rem;margin:0;background:#fff;break-inside:avoid;
list-style:none;max-width:none}
.vq-kpis .vq-kpi p{margin:0;max-width:none}
.vq-kpis .vq-kpi .vq-kpi-label{font-size:0.95rem;font-weight:600;color:#1f2328}
.vq-kpis .vq-kpi .vq-kpi-value{font-size:2.25rem;line-height:1.15;font-weight:700;
color:#1f2328;font-variant-numeric:tabular-nums;margin:0.2rem 0 0 0}
.vq-kpis .vq-kpi .vq-kpi-ci,.vq-kpis .vq-kpi .vq-kpi-base{font-size:0.9rem;color:#57606a;
font-variant-numeric:tabular-nums}
.vq-kpis .vq-kpi .vq-kpi-change{font-size:0.95rem;font-weight:600;margin:0.25rem 0 0 0}
.vq-kpis .vq-kpi .vq-up{color:#00734f}.vq-kpis .vq-kpi .vq-down{color:#b33c00}
.vq-kpis .vq-kpi .vq-ns,.vq-kpis .vq-kpi .vq-na{color:#57606a;font-weight:400}
.vq-kpis .vq-kpi .vq-kpi-value.vq-na{color:#57606a;font-weight:700}
.vq-kpis .vq-kpi .vq-kpi-why{font-size:0.9rem;color:#57606a;margin:0.3rem 0 0 0}
"""


def format_kpi_cards(metrics_segment: pd.DataFrame, metrics_shown: Sequence[str] = HEADLINE_METRICS,
                     *, colors: Mapping[str, str] | None = None, confidence: float = 0.95,
                     base_suppress: int, base_small: int, card_id: str = "vq-kpi",
                     include_css: bool = True) -> HTMLTable:
    """Headline KPI cards of one group and quarter: per metric the value, its interval, the
    change from the previous quarter (an arrow only when significant) and the base.

    A blank value says why on the card, in its tooltip and as "n<30" or "–‡"
    (:func:`blank_reason`). The cards are a CSS grid that reflows from four in a row to one.

    Examples
    --------
    >>> rows = pd.DataFrame({"metric": ["nps"], "value": [31.2], "ci_low": [22.4],
    ...     "ci_high": [40.1], "n": [412], "base_flag": ["ok"], "change": [-9.3],
    ...     "significant": [True]})
    >>> html_ = format_kpi_cards(rows, ["nps"], base_suppress=30, base_small=100,
    ...                          include_css=False)
    >>> "31</p>" in html_ and "▼ −9" in html_ and "n=412" in html_
    True
    """
    require_columns(metrics_segment, ["metric", "value", "n"], "format_kpi_cards")
    out = [f"<style>{KPI_CSS}</style>"] if include_css else []
    out.append(f'<ul class="vq-kpis" id="{html.escape(card_id)}">')
    pct = f"{confidence:.0%}"
    for m in metrics_shown:
        rows = metrics_segment[metrics_segment["metric"] == m]
        if rows.empty:
            continue
        row, disp = rows.iloc[0], metric_display(m)
        color = (colors or {}).get(m)
        style = f' style="--vq-kpi:{html.escape(color)}"' if color else ""
        out.append(f'<li class="vq-kpi" id="{_html_id(card_id, m)}"{style}>'
                   f'<p class="vq-kpi-label">{html.escape(disp.label)}</p>')
        reason = blank_reason(row, base_suppress=base_suppress)
        if reason is not None:
            why = blank_note(reason, base_suppress=base_suppress)
            shown = (suppress_label(base_suppress=base_suppress) if reason == "small_base"
                     else DASH + (HIDDEN_MARK if reason == "complement" else ""))
            base = (f"n={format_base(row.get('n'))}" if reason == "complement"
                    else "")
            out.append(f'<p class="vq-kpi-value vq-na" title="{html.escape(why)}">'
                       f'{html.escape(shown)}</p>'
                       + (f'<p class="vq-kpi-base">{base}</p>' if base else "")
                       + f'<p class="vq-kpi-why">{html.escape(why)}</p></li>')
            continue
        value = format_number(row["value"], disp.decimals) + disp.unit
        interval = format_interval(row.get("ci_low"), row.get("ci_high"), disp.decimals)
        change, cls = format_change(row.get("change"), row.get("significant"), disp.decimals)
        change_text = {"vq-ns": f"{change} vs last quarter, not significant",
                       "vq-na": f"{DASH} no comparable previous quarter"}.get(
            cls, f"{change} vs last quarter")
        small = is_small(row, base_suppress=base_suppress, base_small=base_small)
        base = f"n={format_base(row.get('n'))}" + (
            f'<span class="vq-small" title="small base: read with caution">{SMALL_MARK}</span>'
            if small else "")
        out.append(f'<p class="vq-kpi-value">{html.escape(value)}</p>'
                   + (f'<p class="vq-kpi-ci">{pct} CI {html.escape(interval)}</p>'
                      if interval else "")
                   + f'<p class="vq-kpi-change {cls}"'
                   + (f' title="{html.escape(blank_note("no_previous", base_suppress=base_suppress))}"'
                      if cls == "vq-na" else "")
                   + f'>{html.escape(change_text)}</p>'
                   f'<p class="vq-kpi-base">{base}</p></li>')
    out.append("</ul>")
    return HTMLTable("".join(out))
