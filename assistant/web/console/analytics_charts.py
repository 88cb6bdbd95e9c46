"""The analytics charts (the URLs are in :mod:`.analytics`): the funnel and the drop-off.

The charts are pygal SVG documents served on their own (``image/svg+xml``), shown with
``<img>``: the page's CSP allows no inline style, and a pygal chart carries its own ``<style>``,
so each chart response has its own CSP allowing just that (and no script: pygal's JavaScript is
not loaded, ``js=[]``). The steps table is every chart's text alternative.
"""

from __future__ import annotations

import pygal
from flask import Response, request
from pygal.etree import etree as _pygal_etree
from pygal.style import Style

from . import admin_only, bp
from .analytics import flow_report, main_path, not_cached, parse_filters, step_title

# pygal writes with lxml when it happens to be installed (a vendor client library's dependency
# in the test environment) and with the standard library otherwise: one writer, one output.
_pygal_etree.to_etree()

CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
CHART_LABEL_CHARS = 42
DROPOFF_BARS = 12


def _style(colour: str) -> Style:
    return Style(font_family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
                 background="#ffffff", plot_background="#ffffff", foreground="#0b0c0c",
                 foreground_strong="#0b0c0c", foreground_subtle="#484949", colors=(colour,),
                 label_font_size=13, major_label_font_size=13, title_font_size=18,
                 value_font_size=13, tooltip_font_size=13)


def _short(text: str) -> str:
    return text if len(text) <= CHART_LABEL_CHARS else text[:CHART_LABEL_CHARS - 1] + "…"


def _thousands(value) -> str:
    return f"{value:,.0f}" if value is not None else ""


def _bar_chart(title: str, labels: list[str], values: list[int], colour: str) -> str:
    # pygal draws a horizontal bar chart's first label at the bottom: reverse, to read down.
    chart = pygal.HorizontalBar(
        js=[], style=_style(colour), title=title, show_legend=False, print_values=True,
        width=900, height=max(220, 70 + 38 * len(labels)), margin=16,
        truncate_label=-1, x_title="Sessions", no_data_text="No sessions", min_scale=2,
        max_scale=6, value_formatter=_thousands, formatter=_thousands)
    chart.x_labels = [_short(label) for label in reversed(labels)]
    top = max(values, default=0)
    if top < 10:  # whole sessions only: pygal's own ticks would read "0 0 1 1 2 2"
        chart.y_labels = list(range(0, max(top, 1) + 1))
    chart.add("Sessions", list(reversed(values)))
    return chart.render(is_unicode=True)


def _svg(svg: str) -> Response:
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = CHART_CSP
    return not_cached(response)


@bp.get("/analytics/funnel.svg")
@admin_only
def analytics_funnel():
    """The funnel chart (SVG): sessions that reached each step of the main path, in order."""
    filters = parse_filters(request.args)
    report = flow_report(filters, traffic_only=True)
    path = main_path(filters.flow)
    return _svg(_bar_chart("Sessions reaching each step of the main path",
                           [step_title(filters.flow, s) for s in path],
                           [report.step(s).reached for s in path], "#1d4e89"))


@bp.get("/analytics/dropoff.svg")
@admin_only
def analytics_dropoff():
    """The drop-off chart (SVG): abandoned sessions per step they stopped at, the most first
    (at most :data:`DROPOFF_BARS` steps)."""
    filters = parse_filters(request.args)
    report = flow_report(filters, traffic_only=True)
    stops = sorted(((f.dropped, s) for s, f in report.steps.items() if f.dropped),
                   key=lambda x: (-x[0], x[1]))[:DROPOFF_BARS]
    return _svg(_bar_chart("Where abandoned sessions stopped",
                           [step_title(filters.flow, s) for _, s in stops],
                           [n for n, _ in stops], "#b3261e"))
