"""A plotly figure as page HTML: its title and subtitle as HTML above the chart, the chart below.

Plotly draws a title and subtitle as SVG text at fixed places: they never wrap (a long subtitle is
cut off at the chart's edge on a phone) and a legend or mode bar above the plot is drawn over
them. Here they are taken out of the figure and written as a heading and a paragraph in a
``<figure class="vq-chart">``, so the page's type scale applies, they wrap with the window and
nothing of the chart can cover them. The kernels' plotly renderer
(:data:`~vipquality.report.run.kernels.KERNEL_SETUP`) and
:func:`vipquality.report.pages.charts.to_html` both write charts through :func:`figure_html`.

plotly is imported inside the function: the notebook workers import this package without it.
"""

from __future__ import annotations

import html
import re

__all__ = ["figure_html", "PLOTLY_CONFIG"]

#: plotly.js options of every chart: no logo, resize with the window, and never a "Share
#: chart..." button (plotly.js 3 shows one by default: it would upload client data to the cloud).
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "showSendToCloud": False}

# plotly's text markup a title may use; everything else is escaped
_MARKUP = re.compile(r"&lt;(/?)(b|i|br|sup|sub)\s*/?&gt;", re.IGNORECASE)


def _text(value: object) -> str:
    if isinstance(value, dict):
        value = value.get("text")
    return "" if value is None else str(value)


def _markup(text: str) -> str:
    """``text`` escaped for HTML, keeping plotly's ``<b>``, ``<i>``, ``<br>``, ``<sup>``."""
    return _MARKUP.sub(lambda m: f"<{m[1]}{m[2].lower()}>", html.escape(text, quote=False))


def figure_html(fig: dict, div_id: str, *, config: dict | None = None,
                height: int | None = None) -> str:
    """The figure (``fig.to_dict()``) as ``<figure>``: title, subtitle, then the chart's
    ``<div id=div_id>`` and its ``Plotly.newPlot`` call (plotly.js is loaded by the page).

    Examples
    --------
    >>> out = figure_html({"data": [], "layout": {"title": {"text": "NPS <b>now</b>",
    ...     "subtitle": {"text": "n=12"}}}}, "c1")
    >>> out.split("<div")[0]
    '<figure class="vq-chart"><h3 class="vq-chart-title">NPS <b>now</b></h3><p class="vq-chart-sub">n=12</p>'
    """
    import copy

    import plotly.io as pio

    fig = copy.deepcopy(dict(fig))
    layout = dict(fig.get("layout") or {})
    title = dict(layout.get("title") or {}) if isinstance(layout.get("title"), dict) else {
        "text": _text(layout.get("title"))}
    heading, sub = _text(title.get("text")), _text(title.get("subtitle"))
    layout["title"] = {"text": ""}
    margin = dict(layout.get("margin") or {})
    if heading or sub:  # the room plotly kept for them is no longer needed
        margin["t"] = min(int(margin.get("t", 100)), 40)
    layout["margin"] = margin
    fig["layout"] = layout
    chart = pio.to_html(fig, include_plotlyjs=False, include_mathjax=False, full_html=False,
                        div_id=div_id, default_width="100%",
                        default_height=height or layout.get("height") or 480,
                        validate=False, config={**PLOTLY_CONFIG, **(config or {}),
                                                "showSendToCloud": False})
    caption = (f'<h3 class="vq-chart-title">{_markup(heading)}</h3>' if heading else "") + (
        f'<p class="vq-chart-sub">{_markup(sub)}</p>' if sub else "")
    return f'<figure class="vq-chart">{caption}{chart}</figure>'
