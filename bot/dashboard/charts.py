"""Charts as SVG drawn on the server by pygal: no JavaScript, nothing fetched by the browser,
and each chart has a title, a legend in words and a table beside it with the same figures
(colour never carries meaning alone: each plan's line has its own dash pattern too)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pygal
from markupsafe import Markup
from pygal.style import Style

STYLE = Style(
    background="white", plot_background="white", foreground="#1a1a1a", foreground_strong="#1a1a1a",
    foreground_subtle="#555", font_family="system-ui, sans-serif", label_font_size=12, major_label_font_size=12,
    legend_font_size=13, title_font_size=15,
    colors=("#0b5cad", "#b35900", "#2e7d32", "#6a1b9a", "#00838f", "#ad1457", "#4e342e"),
)
_COMMON = {"style": STYLE, "js": [], "disable_xml_declaration": True, "width": 760, "height": 340,
           "legend_at_bottom": True, "print_values": False, "margin": 16}


_SCRIPT = re.compile(r"<script.*?</script>", re.DOTALL)


def _svg(chart: pygal.graph.graph.Graph) -> Markup:
    """The SVG without pygal's inline script (configuration for tooltips we do not load)."""
    return Markup(_SCRIPT.sub("", chart.render(is_unicode=True)))  # pygal escapes the labels it draws


# Each plan's line has its own dash pattern as well as its colour.
DASHES = ("none", "10, 4", "3, 3", "12, 4, 3, 4", "6, 2", "1, 4", "16, 6")
DOTS_UP_TO = 26  # weeks; beyond, dots only slow the drawing down (and the table has the figures)


def weekly_share(title: str, weeks: Sequence[str], series: dict[str, list[float | None]], target: float) -> Markup:
    """Share of targets met (0–100 %) per week, one line per plan, and the target as a line."""
    chart = pygal.Line(title=title, range=(0, 100), y_title="% of targets met", x_label_rotation=30,
                       dots_size=4, show_dots=len(weeks) <= DOTS_UP_TO, **_COMMON)
    chart.x_labels = list(weeks)
    chart.x_labels_major_every = max(1, len(weeks) // 13)
    for i, (name, values) in enumerate(series.items()):
        chart.add(name, [None if v is None else round(v * 100, 1) for v in values],
                  stroke_style={"width": 2, "dasharray": DASHES[i % len(DASHES)]})
    chart.add(f"target {target:.0%}", [target * 100] * len(weeks), stroke_style={"dasharray": "6, 4"}, show_dots=False)
    return _svg(chart)


def distribution(title: str, labels: Sequence[str], series: dict[str, list[int]]) -> Markup:
    """How many tickets took how long, per bucket of working time."""
    chart = pygal.Bar(title=title, y_title="tickets", x_title="working time used", show_minor_x_labels=True,
                      **_COMMON)
    chart.x_labels = list(labels)
    for name, counts in series.items():
        chart.add(name, list(counts))
    return _svg(chart)
