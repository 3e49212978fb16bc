"""Plotly figures for the quarterly pages, built from the tidy tables (``docs/architecture.md``).

Presentation only: every function takes tables whose statistics are already computed and draws them.
The rules of ``metrics.md`` hold in every figure:

- a suppressed group (``base_flag == "suppressed"``, n < 30) is not drawn, and its value, interval
  and change appear nowhere in the figure (not in the data, not in hover text, not in labels);
- a small base (30 ≤ n < 100) is marked (hollow marker or ``†``) and named in the hover text;
- base sizes are readable without hovering (tick labels, legend names or the subtitle).

Every figure has a title, axis titles with units, the ``vipquality`` template, a fixed colour per
metric and a stable colour per segment (its position in the configuration's segment order, see
:func:`apply_theme`), from the colour-blind-safe Okabe–Ito palette, and a stable id in
``fig.layout.meta["id"]`` that :func:`to_html` uses as the ``<div>`` id.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from vipquality._frames import require_columns
from vipquality.errors import DataError
from vipquality.report.pages.tables import (
    DASH,
    HEADLINE_METRICS,
    HIDDEN_MARK,
    MINUS,
    SMALL_MARK,
    base_flag_of,
    blank_note,
    blank_reason,
    format_base,
    format_change,
    format_estimate,
    format_interval,
    format_number,
    is_missing,
    metric_display,
    round_half_up,
    suppress_label,
)

__all__ = [
    "TEMPLATE",
    "PALETTE",
    "METRIC_COLORS",
    "NPS_COLORS",
    "apply_theme",
    "segment_colors",
    "segment_style",
    "metric_color",
    "trend",
    "nps_composition",
    "importance_performance",
    "ces_distribution",
    "compliance_by_standard",
    "compliance_by_branch",
    "headline_tiles",
    "place_labels",
    "to_html",
]

#: Name of the registered plotly template.
TEMPLATE = "vipquality"

#: Okabe & Ito (2008) colour-blind-safe palette, most legible on white first (yellow last).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000", "#F0E442")
_DASHES = ("solid", "dash", "dot", "dashdot")

#: One colour per metric family, the same in every chart.
METRIC_COLORS = {"nps": "#0072B2", "csi": "#009E73", "ces": "#E69F00", "compliance": "#CC79A7"}
NPS_COLORS = {"detractors": "#D55E00", "passives": "#BBBBBB", "promoters": "#009E73"}
_EFFORT_COLORS = {"difficult": "#D55E00", "neutral": "#BBBBBB", "easy": "#009E73"}
_TARGET_COLOR = "#000000"
#: Text drawn on a coloured bar: black passes WCAG AA (4.5:1) on every fill used here.
TEXT_ON_FILL = "#000000"
_GUIDE_COLOR = "#8c959f"
_NOTE_COLOR = "#57606a"

_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"

_SEGMENT_ORDER: tuple[str, ...] = ()
_SEGMENT_LABELS: dict[str, str] = {}


# --------------------------------------------------------------------------- theme and colours
def _template() -> go.layout.Template:
    return go.layout.Template(layout=dict(
        font=dict(family=_FONT, size=13, color="#1f2328"),
        title=dict(x=0, xanchor="left", font=dict(size=17),
                   subtitle=dict(font=dict(size=12, color=_NOTE_COLOR))),
        colorway=list(PALETTE),
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis=dict(showgrid=False, linecolor="#57606a", ticks="outside", automargin=True,
                   zeroline=False, title=dict(standoff=12)),
        yaxis=dict(gridcolor="#e1e4e8", linecolor="#57606a", zerolinecolor=_GUIDE_COLOR,
                   automargin=True, title=dict(standoff=12)),
        legend=dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom"),
        hoverlabel=dict(align="left"),
        hovermode="closest",
        margin=dict(l=70, r=30, t=110, b=60),
        bargap=0.3,
    ))


def _ensure_template() -> None:
    if TEMPLATE not in pio.templates:
        pio.templates[TEMPLATE] = _template()


def apply_theme(segments: Iterable[object] | None = None, *, set_default: bool = True) -> str:
    """Register the ``vipquality`` plotly template (once) and remember the configured segments.

    Parameters
    ----------
    segments : iterable, optional
        The configuration's segments in their configured order: ids, or objects with ``id`` (and
        ``label``), e.g. ``workspace.segments.segments``. A segment's colour is a function of its
        position here, so it is the same in every chart whatever the data's order or subset.
        Without it, charts order the segments they draw by id.
    set_default : bool
        Also make the template plotly's default, so ad hoc figures in notebooks match.

    Returns
    -------
    str
        The template name.
    """
    global _SEGMENT_ORDER, _SEGMENT_LABELS
    _ensure_template()
    if segments is not None:
        items = list(segments)
        _SEGMENT_ORDER = tuple(str(getattr(s, "id", s)) for s in items)
        _SEGMENT_LABELS = {str(s.id): str(s.label) for s in items
                           if hasattr(s, "id") and hasattr(s, "label")}
    if set_default:
        pio.templates.default = TEMPLATE
    return TEMPLATE


def _order(ids: Iterable[str], segment_order: Sequence[str] | None) -> tuple[str, ...]:
    """The reference order that fixes colours: configured order, else the ids sorted."""
    config = tuple(segment_order) if segment_order is not None else _SEGMENT_ORDER
    extra = sorted({str(i) for i in ids} - set(config))
    return tuple(config) + tuple(extra)


def segment_style(segment_id: str, order: Sequence[str]) -> dict[str, str]:
    """Colour and line dash of a segment: ``PALETTE[i % 8]``, dash cycling every 8 segments.

    ``i`` is the segment's position in ``order`` (the configured segment order).

    >>> segment_style("luxury", ["premium", "luxury", "private"])
    {'color': '#E69F00', 'dash': 'solid'}
    """
    order = list(order)
    if segment_id not in order:
        raise DataError(f"segment {segment_id!r} is not in the segment order {order}")
    i = order.index(segment_id)
    return {"color": PALETTE[i % len(PALETTE)], "dash": _DASHES[(i // len(PALETTE)) % len(_DASHES)]}


def segment_colors(segment_order: Sequence[str] | None = None) -> dict[str, str]:
    """Colour of every segment of the configured order (``segment_order`` or :func:`apply_theme`'s).

    >>> segment_colors(["premium", "luxury"])
    {'premium': '#0072B2', 'luxury': '#E69F00'}
    """
    order = _order((), segment_order)
    return {s: segment_style(s, order)["color"] for s in order}


def metric_color(metric: str) -> str:
    """Fixed colour of a metric family (``ces_*`` share CES's, ``attr:``/``imp:`` CSI's)."""
    if metric.startswith(("attr:", "imp:")):
        return METRIC_COLORS["csi"]
    if metric.startswith("ces"):
        return METRIC_COLORS["ces"]
    return METRIC_COLORS.get(metric, PALETTE[0])


# --------------------------------------------------------------------------- helpers
_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


def _slug(*parts: object) -> str:
    return "-".join(_SLUG.sub("-", str(p)).strip("-") for p in parts if str(p))


def _flag(row: Mapping | pd.Series, base_suppress: int, base_small: int) -> str:
    return base_flag_of(row, base_suppress=base_suppress, base_small=base_small)


def _hidden(row: Mapping | pd.Series, base_suppress: int, base_small: int) -> bool:
    return _flag(row, base_suppress, base_small) == "suppressed" or is_missing(row.get("value"))


def _n_text(row: Mapping | pd.Series, base_suppress: int, base_small: int) -> str:
    """``n=412``, ``n=64†`` (small base) or ``n<30``."""
    flag = _flag(row, base_suppress, base_small)
    if flag == "suppressed":
        return suppress_label(base_suppress=base_suppress)
    if blank_reason(row, base_suppress=base_suppress) == "complement":
        return f"n={format_base(row.get('n'))}{HIDDEN_MARK}"  # hidden for a smaller group
    mark = SMALL_MARK if flag == "small" else ""
    return f"n={format_base(row.get('n'))}{mark}"


def _num(x: object) -> float | None:
    return None if is_missing(x) else float(x)  # type: ignore[arg-type]


def _errors(row: Mapping | pd.Series) -> tuple[float | None, float | None]:
    v, lo, hi = _num(row.get("value")), _num(row.get("ci_low")), _num(row.get("ci_high"))
    if v is None or lo is None or hi is None:
        return None, None
    return max(hi - v, 0.0), max(v - lo, 0.0)


def _base_note(base_suppress: int, base_small: int) -> str:
    return (f"{SMALL_MARK} / hollow marker: small base (n {base_suppress}\u2013{base_small - 1}). "
            f"Groups with n<{base_suppress} are not shown.")


def _new_figure(fig_id: str, kind: str, title: str, subtitle: str | None = None) -> go.Figure:
    _ensure_template()
    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE,
        title=dict(text=title, subtitle=dict(text=subtitle or "")),
        meta={"id": fig_id, "chart": kind},
    )
    return fig


def _empty_note(fig: go.Figure, text: str) -> None:
    fig.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font=dict(size=14, color=_NOTE_COLOR))


def _wrap(text: str, width: int = 18) -> str:
    return "<br>".join(textwrap.wrap(text, width)) or text


# --------------------------------------------------------------------------- trend
def trend(
    metrics: pd.DataFrame,
    metric: str,
    segments: Sequence[str] | None = None,
    quarters: int | Sequence[str] = 8,
    *,
    by: str = "segment",
    segment_order: Sequence[str] | None = None,
    segment_labels: Mapping[str, str] | None = None,
    attribute_labels: Mapping[str, str] | None = None,
    title: str | None = None,
    axis_title: str | None = None,
    confidence: float = 0.95,
    base_suppress: int,
    base_small: int,
    fig_id: str | None = None,
) -> go.Figure:
    """One metric over the last quarters: a line per segment, with confidence-interval bars.

    Parameters
    ----------
    metrics : DataFrame
        Tidy metrics: ``quarter``, ``by`` (default ``segment``), ``metric``, ``value``,
        ``ci_low``, ``ci_high``, ``n``, ``base_flag`` (derived from ``n`` and the thresholds when
        absent). One row per quarter, segment and metric.
    metric : str
        The metric to draw (``nps``, ``csi``, ``ces_mean``, ``compliance``, ``attr:<id>``, …).
    segments : sequence of str, optional
        Segments to draw (default: all in the table), drawn in the configured order.
    quarters : int or sequence of str
        The last ``quarters`` quarters present in the table, or an explicit list.
    segment_order, segment_labels : optional
        Configured segment order (fixes colours) and display labels; default from
        :func:`apply_theme`.

    Returns
    -------
    plotly.graph_objects.Figure
        x = quarter (categorical; a quarter with no value leaves a gap), y = the metric with its
        interval as error bars. Suppressed points are not drawn and have no hover text; small-base
        points are hollow and say "small base" on hover. Bases: in the tick labels for one segment,
        in the legend (latest quarter) for several, and on hover for every point.
    """
    require_columns(metrics, ["quarter", by, "metric", "value", "ci_low", "ci_high", "n"], "trend")
    disp = metric_display(metric, attribute_labels)
    rows = metrics[metrics["metric"] == metric]
    all_q = sorted(rows["quarter"].dropna().astype(str).unique())
    qs = all_q[-quarters:] if isinstance(quarters, int) else [str(q) for q in quarters]
    rows = rows[rows["quarter"].astype(str).isin(qs)]
    present = [str(s) for s in rows[by].dropna().unique()]
    wanted = [str(s) for s in segments] if segments is not None else present
    order = _order(list(wanted) + present, segment_order)
    drawn = [s for s in order if s in wanted]
    labels = {**_SEGMENT_LABELS, **dict(segment_labels or {})}
    single = len(drawn) == 1

    fig_id = fig_id or _slug("vq-trend", metric, by if by != "segment" else "",
                             drawn[0] if single else "")
    pct = f"{confidence:.0%}"
    fig = _new_figure(
        fig_id, "trend",
        title or (f"{disp.label}, last {len(qs)} quarters"
                  + (f": {labels.get(drawn[0], drawn[0])}" if single else "")),
        f"Bars: {pct} confidence interval. " + _base_note(base_suppress, base_small),
    )
    ticktext = list(qs)
    hidden_for_others: list[str] = []
    for seg in drawn:
        sub = rows[rows[by].astype(str) == seg]
        if sub["quarter"].astype(str).duplicated().any():
            raise DataError(f"trend: more than one {metric!r} row per quarter for {by}={seg!r}; "
                            "filter the other grouping columns first")
        by_q = {str(r["quarter"]): r for _, r in sub.iterrows()}
        style = segment_style(seg, order)
        name = labels.get(seg, seg)
        y, plus, minus, symbols, hover = [], [], [], [], []
        for i, q in enumerate(qs):
            row = by_q.get(q)
            if row is None or _hidden(row, base_suppress, base_small):
                y.append(None), plus.append(None), minus.append(None)
                symbols.append("circle"), hover.append("")
                if single and row is not None:
                    ticktext[i] = f"{q}<br>{suppress_label(base_suppress=base_suppress)}"
                continue
            small = _flag(row, base_suppress, base_small) == "small"
            up, down = _errors(row)
            y.append(float(row["value"])), plus.append(up), minus.append(down)
            symbols.append("circle-open" if small else "circle")
            estimate = format_estimate(row["value"], row.get("ci_low"), row.get("ci_high"),
                                       disp.decimals, disp.unit)
            hover.append(f"<b>{name}</b> {q}<br>{disp.label}: {estimate}<br>"
                         f"n={format_base(row['n'])}" + (", small base" if small else ""))
            if single:
                ticktext[i] = f"{q}<br>{_n_text(row, base_suppress, base_small)}"
        latest = next((by_q[q] for q in reversed(qs) if q in by_q), None)
        if not single and latest is not None:
            name = f"{name} ({_n_text(latest, base_suppress, base_small)})"
        if any(blank_reason(r, base_suppress=base_suppress) == "complement"
               for r in by_q.values()):
            hidden_for_others.append(labels.get(seg, seg))
        # the line carries the legend entry and the interval; the markers (filled, or hollow for a
        # small base) carry the hover text, so the legend symbol never depends on the data
        fig.add_trace(go.Scatter(
            x=list(qs), y=y, name=name, mode="lines", connectgaps=False, legendgroup=seg,
            line=dict(color=style["color"], dash=style["dash"], width=2.5),
            error_y=dict(type="data", symmetric=False, array=plus, arrayminus=minus,
                         color=style["color"], thickness=1.5, width=4),
            hoverinfo="skip", legendrank=order.index(seg) + 1,
        ))
        fig.add_trace(go.Scatter(
            x=list(qs), y=y, name=name, mode="markers", legendgroup=seg, showlegend=False,
            marker=dict(color=style["color"], symbol=symbols, size=10,
                        line=dict(color=style["color"], width=2)),
            hovertext=hover, hovertemplate="%{hovertext}<extra></extra>",
        ))
    fig.update_xaxes(title_text="Quarter", type="category", categoryorder="array",
                     categoryarray=list(qs), tickmode="array", tickvals=list(qs),
                     ticktext=ticktext)
    fig.update_yaxes(title_text=axis_title or disp.axis_title)
    fig.update_layout(showlegend=True)
    if hidden_for_others:
        note = blank_note("complement", base_suppress=base_suppress)
        fig.update_layout(title_subtitle_text=f"{fig.layout.title.subtitle.text} {HIDDEN_MARK} "
                          f"{', '.join(hidden_for_others)}: quarters not drawn. {note}")
    if not drawn or not any(t.y and any(v is not None for v in t.y) for t in fig.data):
        _empty_note(fig, "No value to report for this selection.")
    return fig


# --------------------------------------------------------------------------- NPS composition
def _shares_percent(row: pd.Series, group: str) -> tuple[float, float, float]:
    parts = [float(row[c]) for c in ("detractors", "passives", "promoters")]
    total = sum(parts)
    n = _num(row.get("n"))
    if abs(total - 100) <= 0.5:
        return tuple(parts)  # type: ignore[return-value]
    if abs(total - 1) <= 0.005:
        return tuple(p * 100 for p in parts)  # type: ignore[return-value]
    if n and abs(total - n) <= 0.5:
        return tuple(p / total * 100 for p in parts)  # type: ignore[return-value]
    raise DataError(f"nps_composition: shares of {group}={row[group]!r} add up to {total:g}; "
                    "expected percentages (100), fractions (1) or counts (n)")


def nps_composition(
    shares_frame: pd.DataFrame,
    *,
    group: str = "group",
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    base_suppress: int,
    base_small: int,
    fig_id: str | None = None,
) -> go.Figure:
    """Promoters, passives and detractors as stacked 100 % bars, one bar per segment or quarter.

    Parameters
    ----------
    shares_frame : DataFrame
        ``group`` (segment id or quarter), ``promoters``, ``passives``, ``detractors`` (shares in
        %; fractions or counts are also recognised), ``n``; optional ``base_flag``. Bars in row
        order, the first on top.
    labels : mapping, optional
        Display label per group (e.g. segment labels).

    Returns
    -------
    plotly.graph_objects.Figure
        Horizontal stacked bars on 0–100 %, shares written in the bars, ``n=…`` in each bar's
        label. A suppressed group keeps its row, labelled ``n<30`` with no bar and no shares.
    """
    require_columns(shares_frame, [group, "promoters", "passives", "detractors", "n"],
                    "nps_composition")
    labels = {**_SEGMENT_LABELS, **dict(labels or {})}
    cats, values, any_small = [], [], False
    notes = []
    for _, row in shares_frame.iterrows():
        key = str(row[group])
        flag = _flag(row, base_suppress, base_small)
        any_small |= flag == "small"
        cat = f"{labels.get(key, key)} \u00b7 {_n_text(row, base_suppress, base_small)}"
        cats.append(cat)
        if flag == "suppressed":
            values.append(None)
            notes.append(cat)
        else:
            values.append(_shares_percent(row, group))
    fig = _new_figure(
        fig_id or "vq-nps-composition", "nps_composition",
        title or "NPS composition: promoters, passives and detractors",
        f"Share of respondents. NPS = % promoters {MINUS} % detractors. "
        + _base_note(base_suppress, base_small).replace(" / hollow marker", ""),
    )
    # text on the bars in black: at least 4.5:1 on each Okabe-Ito fill (WCAG AA), where white
    # gives 3.4-3.9:1 on vermillion and bluish green
    parts = (("detractors", "Detractors (0\u20136)", TEXT_ON_FILL),
             ("passives", "Passives (7\u20138)", "#1f2328"),
             ("promoters", "Promoters (9\u201310)", TEXT_ON_FILL))
    for k, (key, name, text_color) in enumerate(parts):
        xs = [None if v is None else v[k] for v in values]
        text = ["" if x is None else f"{format_number(x, 0)}%" for x in xs]
        hover = ["" if x is None else f"{c}<br>{name}: {format_number(x, 0)}%"
                 for c, x in zip(cats, xs)]
        fig.add_trace(go.Bar(
            x=xs, y=cats, orientation="h", name=name, marker=dict(color=NPS_COLORS[key]),
            text=text, textposition="inside", insidetextanchor="middle",
            textfont=dict(color=text_color), hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
        ))
    for cat in notes:
        fig.add_annotation(x=50, y=cat, xref="x", yref="y", showarrow=False,
                           text="base too small to report", font=dict(color=_NOTE_COLOR))
    fig.update_layout(barmode="stack", legend=dict(traceorder="normal"),
                      height=max(260, 140 + 48 * len(cats)))
    fig.update_xaxes(title_text="Share of respondents, %", range=[0, 100], ticksuffix="%")
    fig.update_yaxes(title_text="", type="category", categoryorder="array", categoryarray=cats,
                     autorange="reversed")
    return fig


# --------------------------------------------------------------------------- importance–performance
def _text_size(text: str, char_px: float = 7.2, line_px: float = 15.0) -> tuple[float, float]:
    """Estimated width and height in pixels of an 11 px label (``<br>`` between lines)."""
    lines = text.split("<br>")
    return max(len(line) for line in lines) * char_px + 4, len(lines) * line_px + 2


def place_labels(xs: Sequence[float], ys: Sequence[float], texts: Sequence[str],
                 x_range: Sequence[float], y_range: Sequence[float], *, width: float = 240,
                 height: float = 380, obstacles: Sequence[tuple[float, float, float, float]] = ()
                 ) -> list[tuple[float, float]]:
    """Offsets in pixels (right, down) of each point's label centre, so that labels overlap
    neither each other, nor the markers, nor ``obstacles`` (boxes left, bottom, right, top in
    pixels from the plot's lower-left corner), on a plot area of ``width`` × ``height`` pixels
    (a phone's: on a wider window the points only move apart).

    Greedy, from the top of the chart down: each label takes the first free place on rings of
    growing distance (above, below, right, left, then the diagonals); the chart draws a thin
    leader line to a label set further out. When no place is free, the one with the least
    overlap. Written here because plotly has no label-repel option (R's ggrepel has no Python
    counterpart for plotly) and a dozen points needs no more than this.

    Examples
    --------
    >>> place_labels([10, 10.3], [70, 69], ["Promises and<br>deadlines kept",
    ...              "Manager's<br>availability"], [0, 20], [60, 80])
    [(0.0, -24.0), (0.0, 24.0)]
    """
    sx = width / max(x_range[1] - x_range[0], 1e-9)
    sy = height / max(y_range[1] - y_range[0], 1e-9)
    pts = [((x - x_range[0]) * sx, (y - y_range[0]) * sy) for x, y in zip(xs, ys)]
    fixed = [(px - 7, py - 7, px + 7, py + 7) for px, py in pts] + list(obstacles)

    def overlap(a, b) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return w * h if w > 0 and h > 0 else 0.0

    placed: list[tuple[float, float, float, float]] = []
    offsets: dict[int, tuple[float, float]] = {}
    for i in sorted(range(len(pts)), key=lambda k: (-pts[k][1], pts[k][0])):
        (px, py), (w, h) = pts[i], _text_size(texts[i])
        best, best_cost = (0.0, h / 2 + 8), float("inf")
        for gap in (8, 24, 44, 70):
            dx, dy = w / 2 + gap, h / 2 + gap
            for ox, oy in ((0, dy), (0, -dy), (dx, 0), (-dx, 0),
                           (dx, dy), (-dx, dy), (dx, -dy), (-dx, -dy)):
                cx, cy = px + ox, py + oy
                box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                outside = (max(0.0, -box[0]) + max(0.0, box[2] - width)
                           + max(0.0, -box[1]) + max(0.0, box[3] - height)) * 50
                cost = outside + sum(overlap(box, o) for o in placed) + sum(
                    overlap(box, f) for j, f in enumerate(fixed) if j != i)
                if cost < best_cost:
                    best, best_cost = (ox, oy), cost
            if best_cost == 0:
                break
        offsets[i] = (float(best[0]), float(-best[1]))  # plotly's ay points down
        cx, cy = px + best[0], py + best[1]
        placed.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    return [offsets[i] for i in range(len(pts))]


def importance_performance(
    frame: pd.DataFrame,
    *,
    x: str = "weight",
    y: str = "performance",
    attribute: str = "attribute",
    label: str = "label",
    attribute_labels: Mapping[str, str] | None = None,
    n: float | None = None,
    title: str | None = None,
    x_title: str = "Driver weight, % of explained variance",
    y_title: str = "Performance (0\u2013100)",
    base_suppress: int,
    base_small: int,
    fig_id: str | None = None,
) -> go.Figure:
    """Importance–performance chart of the CSI attributes, quadrants split at the means.

    Parameters
    ----------
    frame : DataFrame
        One row per attribute: ``attribute`` (id), ``weight`` (driver weight rescaled to %,
        column ``x``), ``performance`` (0–100, column ``y``); optional ``label``, ``n`` and
        ``base_flag`` (an attribute flagged suppressed is left out and named in the subtitle).
    n : float, optional
        Base of the chart, shown as ``n=…``; default the range of the frame's ``n``.

    Returns
    -------
    plotly.graph_objects.Figure
        Labelled points (labels always visible), dashed lines at the mean weight and the mean
        performance of the attributes shown, and the four quadrants named in the corners.
    """
    require_columns(frame, [attribute, x, y], "importance_performance")
    names = dict(attribute_labels or {})
    shown, hidden = [], []
    for _, row in frame.iterrows():
        key = str(row[attribute])
        text = str(row[label]) if label in frame.columns and not is_missing(row[label]) else \
            names.get(key, key)
        suppressed = ("base_flag" in frame.columns or "n" in frame.columns) and \
            _flag(row, base_suppress, base_small) == "suppressed"
        if suppressed or is_missing(row[x]) or is_missing(row[y]):
            hidden.append(text)
        else:
            shown.append((text, float(row[x]), float(row[y]), row))
    if n is not None:
        base = f"n={format_base(n)}"
    elif "n" in frame.columns and frame["n"].notna().any():
        lo, hi = frame["n"].min(), frame["n"].max()
        base = f"n={format_base(lo)}" if format_base(lo) == format_base(hi) else \
            f"n={format_base(lo)}\u2013{format_base(hi)}"
    else:
        base = ""
    sub = "Quadrants split at the means of the attributes shown."
    if base:
        sub = f"{base}. {sub}"
    if hidden:
        sub += f" Not shown (n<{base_suppress}): {', '.join(hidden)}."
    fig = _new_figure(fig_id or "vq-importance-performance", "importance_performance",
                      title or "Attribute importance and performance", sub)
    if not shown:
        _empty_note(fig, "No attribute to report.")
    else:
        xs, ys = [s[1] for s in shown], [s[2] for s in shown]
        hover = [f"<b>{t}</b><br>Driver weight: {format_number(a, 0)}%<br>"
                 f"Performance: {format_number(b, 0)}" for t, a, b, _ in shown]
        pad_x = max((max(xs) - min(xs)) * 0.15, 2.0)
        pad_y = max((max(ys) - min(ys)) * 0.15, 3.0)
        x_range = [max(min(xs) - pad_x, 0), max(xs) + pad_x]
        y_range = [min(ys) - pad_y, max(ys) + pad_y]
        texts = [_wrap(s[0], 16) for s in shown]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers", name="Attributes", showlegend=False,
            marker=dict(color=METRIC_COLORS["csi"], size=11),
            hovertext=hover, hovertemplate="%{hovertext}<extra></extra>",
        ))
        # labels as annotations, offset in pixels so that none collides (place_labels); the
        # quadrant names in the corners are obstacles too
        w, h = 240.0, 380.0
        corner_boxes = [(0, h - 16, 150, h), (w - 150, h - 16, w, h), (0, 0, 150, 16),
                        (w - 150, 0, w, 16)]
        offsets = place_labels(xs, ys, texts, x_range, y_range, width=w, height=h,
                               obstacles=corner_boxes)
        for x0, y0, text, (ax, ay) in zip(xs, ys, texts, offsets):
            fig.add_annotation(x=x0, y=y0, text=text, ax=ax, ay=ay, showarrow=True,
                               arrowhead=0, arrowwidth=1, arrowcolor=_GUIDE_COLOR, standoff=6,
                               font=dict(size=11, color="#1f2328"), name="label")
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        guide = dict(color=_GUIDE_COLOR, width=1, dash="dash")
        fig.add_vline(x=mx, line=guide)
        fig.add_hline(y=my, line=guide)
        corners = (("Key strengths: keep", 1, 1, "right", "top"),
                   ("Priorities: improve", 1, 0, "right", "bottom"),
                   ("Secondary strengths", 0, 1, "left", "top"),
                   ("Lower priority", 0, 0, "left", "bottom"))
        for text, cx, cy, xa, ya in corners:
            fig.add_annotation(text=text, x=cx, y=cy, xref="paper", yref="paper", xanchor=xa,
                               yanchor=ya, showarrow=False,
                               font=dict(size=11, color=_NOTE_COLOR))
        fig.update_xaxes(range=x_range)
        fig.update_yaxes(range=y_range)
        fig.update_layout(height=520)
    fig.update_xaxes(title_text=x_title, ticksuffix="%", showgrid=True, gridcolor="#e1e4e8")
    fig.update_yaxes(title_text=y_title)
    return fig


# --------------------------------------------------------------------------- CES distribution
def _effort_band(point: int, lo: int, hi: int) -> str:
    side = (hi - lo + 1) // 2 if (hi - lo + 1) % 2 == 0 else (hi - lo) // 2
    if point < lo + side:
        return "difficult"
    if point > hi - side:
        return "easy"
    return "neutral"


def ces_distribution(
    counts_frame: pd.DataFrame,
    *,
    point: str = "point",
    count: str = "count",
    scale: tuple[int, int] | None = None,
    n: float | None = None,
    item_text: str | None = None,
    title: str | None = None,
    base_suppress: int,
    base_small: int,
    fig_id: str | None = None,
) -> go.Figure:
    """Share of answers at each point of the CES scale, coloured difficult / neutral / easy.

    Parameters
    ----------
    counts_frame : DataFrame
        ``point`` (scale point) and ``count`` (answers, possibly weighted); or ``share`` (%)
        instead of ``count``, with the base in ``n``.
    scale : (lo, hi), optional
        The item's scale, so points nobody chose still get a (zero) bar. Default: the points
        present, at least 1–7.
    n : float, optional
        Base to show and to apply the reporting rule to; default the sum of ``count``.
    item_text : str, optional
        The question, quoted in the subtitle.

    Returns
    -------
    plotly.graph_objects.Figure
        Bars of the share (%) per scale point; the lowest third difficult, the highest third easy
        (1–3 / 4 / 5–7 on a 1–7 scale). With n < 30 no bar is drawn and nothing of the
        distribution is in the figure.
    """
    has_count = count in counts_frame.columns
    require_columns(counts_frame, [point, count if has_count else "share"], "ces_distribution")
    pts = counts_frame[point].astype(int)
    vals = counts_frame[count if has_count else "share"].astype(float)
    total = float(vals.sum()) if has_count else None
    base = n if n is not None else total
    if base is None:
        raise DataError("ces_distribution: with shares instead of counts pass the base as n=")
    if scale is None:
        scale = (min(1, int(pts.min())) if len(pts) else 1, max(7, int(pts.max())) if len(pts)
                 else 7)
    lo, hi = scale
    flag = _flag({"n": base}, base_suppress, base_small)
    n_label = _n_text({"n": base, "base_flag": flag}, base_suppress, base_small)
    sub = f"{n_label}." + (f" \u201c{item_text}\u201d" if item_text else "")
    if flag == "small":
        sub += f" {SMALL_MARK} Small base: read with caution."
    fig = _new_figure(fig_id or "vq-ces-distribution", "ces_distribution",
                      title or "Customer effort: distribution of answers", sub)
    points = list(range(lo, hi + 1))
    if flag == "suppressed":
        label = suppress_label(base_suppress=base_suppress)
        _empty_note(fig, f"Base too small to report ({label}).")
    else:
        by_point = dict(zip(pts, vals))
        share = {p: (by_point.get(p, 0.0) / total * 100 if has_count and total else
                     float(by_point.get(p, 0.0))) for p in points}
        bands = {p: _effort_band(p, lo, hi) for p in points}
        spans = {}
        for b in ("difficult", "neutral", "easy"):
            members = [p for p in points if bands[p] == b]
            if members:
                spans[b] = members
        for b, members in spans.items():
            rng = f"{members[0]}" if len(members) == 1 else f"{members[0]}\u2013{members[-1]}"
            name = f"{b.capitalize()} ({rng})"
            fig.add_trace(go.Bar(
                x=[str(p) for p in members], y=[share[p] for p in members], name=name,
                marker=dict(color=_EFFORT_COLORS[b]),
                text=[f"{format_number(share[p], 0)}%" for p in members], textposition="outside",
                hovertext=[f"Answer {p}: {format_number(share[p], 0)}% of respondents"
                           for p in members],
                hovertemplate="%{hovertext}<extra></extra>",
            ))
        top = max(share.values()) if share else 0
        fig.update_yaxes(range=[0, max(10.0, top * 1.18)])
    fig.update_xaxes(title_text=f"Answer ({lo} = strongly disagree \u2026 {hi} = strongly agree)",
                     type="category", categoryorder="array", categoryarray=[str(p) for p in points])
    fig.update_yaxes(title_text="Share of respondents, %", ticksuffix="%")
    fig.update_layout(barmode="group", bargap=0.15)
    return fig


# --------------------------------------------------------------------------- compliance
def _compliance_bar(row, heading: str, hidden: bool, base_suppress: int,
                    base_small: int) -> tuple:
    """One compliance bar: (value, error up, error down, label, hover); all empty when the
    group is hidden, so a suppressed value never reaches the figure."""
    if hidden:
        return None, None, None, "", ""
    up, down = _errors(row)
    small = _flag(row, base_suppress, base_small) == "small"
    hover = (f"{heading}<br>Compliance: "
             + format_estimate(row["value"], row["ci_low"], row["ci_high"], 1, "%")
             + f"<br>n={format_base(row['n'])}" + (", small base" if small else ""))
    return float(row["value"]), up, down, f"{format_number(row['value'], 1)}%", hover


def _compliance_bars(cats: list, values: list, plus: list, minus: list, text: list,
                     hover: list, *, horizontal: bool) -> go.Bar:
    """The bars of both compliance charts: the value inside the bar, interval error bars, the
    hover text; along the x axis (by standard) or, ``horizontal``, the y axis (by branch)."""
    error = dict(type="data", symmetric=False, array=plus, arrayminus=minus, color="#1f2328",
                 thickness=1.5, width=4 if horizontal else 6)
    axes = (dict(x=values, y=cats, orientation="h", error_x=error, showlegend=False)
            if horizontal else dict(x=cats, y=values, error_y=error))
    return go.Bar(name="Compliance", marker=dict(color=METRIC_COLORS["compliance"]), text=text,
                  textposition="inside", insidetextanchor="start", textfont=dict(color=TEXT_ON_FILL),
                  hovertext=hover, hovertemplate="%{hovertext}<extra></extra>", **axes)


def compliance_by_standard(
    frame: pd.DataFrame,
    targets: Mapping[str, float] | pd.Series,
    *,
    standard: str = "standard",
    titles: Mapping[str, str] | None = None,
    title: str | None = None,
    confidence: float = 0.95,
    base_suppress: int,
    base_small: int,
    fig_id: str | None = None,
) -> go.Figure:
    """Compliance per service standard with its interval, against the segment's target.

    Parameters
    ----------
    frame : DataFrame
        One row per standard: ``standard`` (id), ``value`` (compliance, %), ``ci_low``,
        ``ci_high``, ``n``, optional ``base_flag`` and ``title`` (the standard's title).
    targets : mapping or Series
        Target compliance (%) per standard id for this segment, e.g.
        ``{s.id: s.target(segment) for s in workspace.standards.standards}``.
    titles : mapping, optional
        Standard titles by id (instead of a ``title`` column).

    Returns
    -------
    plotly.graph_objects.Figure
        Bars in the table's order with interval error bars, a black target marker per standard,
        ``n=…`` under each standard's label. A suppressed standard has no bar (label ``n<30``).
    """
    require_columns(frame, [standard, "value", "ci_low", "ci_high", "n"], "compliance_by_standard")
    target_map = {str(k): float(v) for k, v in dict(targets).items() if not is_missing(v)}
    names = dict(titles or {})
    cats, ys, plus, minus, text, hover, tgt_x, tgt_y = [], [], [], [], [], [], [], []
    for _, row in frame.iterrows():
        sid = str(row[standard])
        name = str(row["title"]) if "title" in frame.columns and not is_missing(row["title"]) \
            else names.get(sid)
        cat = f"<b>{sid}</b>" + (f"<br>{_wrap(name)}" if name else "") + \
            f"<br>{_n_text(row, base_suppress, base_small)}"
        cats.append(cat)
        bar = _compliance_bar(row, f"<b>{sid}</b>{' ' + name if name else ''}",
                              _hidden(row, base_suppress, base_small), base_suppress, base_small)
        for column, item in zip((ys, plus, minus, text, hover), bar):
            column.append(item)
        if sid in target_map:
            tgt_x.append(cat), tgt_y.append(target_map[sid])
    pct = f"{confidence:.0%}"
    fig = _new_figure(
        fig_id or "vq-compliance-by-standard", "compliance_by_standard",
        title or "Mystery-shopper compliance by service standard",
        f"Bars: compliance with {pct} confidence interval; \u25ac target. "
        + _base_note(base_suppress, base_small).replace(" / hollow marker", ""),
    )
    fig.add_trace(_compliance_bars(cats, ys, plus, minus, text, hover, horizontal=False))
    if tgt_x:
        fig.add_trace(go.Scatter(
            x=tgt_x, y=tgt_y, mode="markers", name="Target",
            marker=dict(symbol="line-ew-open", size=34, color=_TARGET_COLOR,
                        line=dict(width=3, color=_TARGET_COLOR)),
            hovertext=[f"Target: {format_number(t, 0)}%" for t in tgt_y],
            hovertemplate="%{hovertext}<extra></extra>",
        ))
    if not any(v is not None for v in ys):
        _empty_note(fig, "No standard with a base large enough to report.")
    fig.update_xaxes(title_text="Service standard", type="category", categoryorder="array",
                     categoryarray=cats)
    fig.update_yaxes(title_text="Compliance, %", range=[0, 105], ticksuffix="%")
    return fig


def compliance_by_branch(
    frame: pd.DataFrame,
    target: float | None = None,
    *,
    branch: str = "branch",
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    confidence: float = 0.95,
    base_suppress: int,
    base_small: int,
    fig_id: str | None = None,
) -> go.Figure:
    """Compliance per branch as horizontal bars, highest first, with the target as a line.

    Parameters
    ----------
    frame : DataFrame
        One row per branch: ``branch``, ``value`` (%), ``ci_low``, ``ci_high``, ``n``, optional
        ``base_flag``.
    target : float, optional
        The segment's target compliance (%), drawn as a vertical line.

    Returns
    -------
    plotly.graph_objects.Figure
        Bars sorted by compliance (ties by branch), interval error bars, ``n=…`` in each label.
        Branches with n < 30 are listed last, labelled ``n<30``, with no bar.
    """
    require_columns(frame, [branch, "value", "ci_low", "ci_high", "n"], "compliance_by_branch")
    names = dict(labels or {})
    shown, hidden = [], []
    for _, row in frame.iterrows():
        key = str(row[branch])
        (hidden if _hidden(row, base_suppress, base_small) else shown).append((key, row))
    shown.sort(key=lambda kr: (-float(kr[1]["value"]), kr[0]))
    hidden.sort(key=lambda kr: kr[0])
    cats, xs, plus, minus, text, hover = [], [], [], [], [], []
    for i, (key, row) in enumerate(shown + hidden):
        cat = f"{names.get(key, key)} \u00b7 {_n_text(row, base_suppress, base_small)}"
        cats.append(cat)
        bar = _compliance_bar(row, f"<b>{names.get(key, key)}</b>", i >= len(shown),
                              base_suppress, base_small)
        for column, item in zip((xs, plus, minus, text, hover), bar):
            column.append(item)
    pct = f"{confidence:.0%}"
    sub = f"Bars: compliance with {pct} confidence interval"
    sub += f"; line: target {format_number(target, 0)}%. " if target is not None else ". "
    fig = _new_figure(fig_id or "vq-compliance-by-branch", "compliance_by_branch",
                      title or "Mystery-shopper compliance by branch",
                      sub + _base_note(base_suppress, base_small).replace(" / hollow marker", ""))
    fig.add_trace(_compliance_bars(cats, xs, plus, minus, text, hover, horizontal=True))
    if target is not None:
        fig.add_vline(x=float(target), line=dict(color=_TARGET_COLOR, width=2, dash="dash"),
                      annotation=dict(text=f"Target {format_number(target, 0)}%",
                                      font=dict(size=11)),
                      annotation_position="top")
    if not shown:
        _empty_note(fig, "No branch with a base large enough to report.")
    fig.update_xaxes(title_text="Compliance, %", range=[0, 105], ticksuffix="%")
    fig.update_yaxes(title_text="", type="category", categoryorder="array", categoryarray=cats,
                     autorange="reversed")
    fig.update_layout(height=max(260, 150 + 30 * len(cats)))
    return fig


# --------------------------------------------------------------------------- headline tiles
def headline_tiles(
    metrics_segment: pd.DataFrame,
    metrics: Sequence[str] = HEADLINE_METRICS,
    *,
    metric_labels: Mapping[str, str] | None = None,
    title: str | None = None,
    confidence: float = 0.95,
    base_suppress: int,
    base_small: int,
    fig_id: str | None = None,
) -> go.Figure:
    """Headline tiles: one number per metric with interval, base and change from last quarter.

    Parameters
    ----------
    metrics_segment : DataFrame
        Tidy metrics rows of one segment and quarter: ``metric``, ``value``, ``ci_low``,
        ``ci_high``, ``n``, ``base_flag``, ``change``, ``significant``.

    Returns
    -------
    plotly.graph_objects.Figure
        One indicator per metric (value rounded as in the tables); beneath it the interval, the
        base and the change (an arrow only when significant). A suppressed metric shows
        ``n<30`` and no number.
    """
    require_columns(metrics_segment, ["metric", "value", "n"], "headline_tiles")
    shown = [m for m in metrics if (metrics_segment["metric"] == m).any()]
    fig = _new_figure(fig_id or "vq-headline-tiles", "headline_tiles",
                      title or "This quarter at a glance",
                      f"[{confidence:.0%} confidence interval] \u00b7 base \u00b7 change from the "
                      "previous quarter (\u25b2/\u25bc only when significant).")
    k = max(len(shown), 1)
    for i, m in enumerate(shown):
        row = metrics_segment[metrics_segment["metric"] == m].iloc[0]
        disp = metric_display(m)
        label = (metric_labels or {}).get(m, disp.label)
        domain = dict(x=[i / k + 0.01, (i + 1) / k - 0.01], y=[0, 1])
        if _hidden(row, base_suppress, base_small):
            fig.add_annotation(text=f"<b>{label}</b><br><br>{suppress_label(base_suppress=base_suppress)}"
                               "<br>base too small to report",
                               x=(i + 0.5) / k, y=0.5, xref="paper", yref="paper",
                               xanchor="center", yanchor="middle",
                               showarrow=False, font=dict(size=14, color=_NOTE_COLOR))
            continue
        change, cls = format_change(row.get("change"), row.get("significant"), disp.decimals)
        color = {"vq-up": "#00734f", "vq-down": "#b33c00"}.get(cls, _NOTE_COLOR)
        if cls == "vq-ns":
            change += ", not significant"
        elif cls == "vq-na":
            change = f"{DASH} no previous quarter"
        small = _flag(row, base_suppress, base_small) == "small"
        detail = (f"{format_interval(row.get('ci_low'), row.get('ci_high'), disp.decimals)} "
                  f"\u00b7 n={format_base(row['n'])}{SMALL_MARK if small else ''}")
        fig.add_trace(go.Indicator(
            mode="number", value=round_half_up(row["value"], disp.decimals), domain=domain,
            number=dict(valueformat=f".{disp.decimals}f", suffix=disp.unit,
                        font=dict(size=40, color=metric_color(m))),
            title=dict(text=f"<b>{label}</b><br><span style='font-size:13px'>{detail}</span>"
                            f"<br><span style='font-size:13px;color:{color}'>{change}</span>",
                       font=dict(size=16)),
        ))
    if not shown:
        _empty_note(fig, "No value to report.")
    fig.update_layout(height=280, margin=dict(t=130, b=10))
    return fig


# --------------------------------------------------------------------------- output
def to_html(fig: go.Figure, div_id: str | None = None) -> str:
    """The figure as an HTML fragment with a stable ``<div>`` id and no plotly.js, its title
    and subtitle as HTML above it (:func:`vipquality.report.run.figure.figure_html`, as the
    notebooks' pages draw it).

    ``div_id`` defaults to ``fig.layout.meta["id"]``; plotly.js is loaded once by the page.
    """
    from vipquality.report.run.figure import figure_html

    if div_id is None:
        meta = fig.layout.meta
        div_id = meta.get("id") if isinstance(meta, dict) else None
        if not div_id:
            raise DataError("to_html: the figure has no meta id; pass div_id=")
    return figure_html(fig.to_dict(), div_id)
