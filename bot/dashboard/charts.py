"""Charts as SVG drawn on the server by pygal: no JavaScript, nothing fetched by the browser,
and each chart has a title, a legend in words and a table beside it with the same figures
(colour never carries meaning alone; series also differ by their dot shapes)."""

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
           "legend_at_bottom": True, "print_values": False, "show_minor_x_labels": True, "margin": 16}


_SCRIPT = re.compile(r"<script.*?</script>", re.DOTALL)


def _svg(chart: pygal.graph.graph.Graph) -> Markup:
    """The SVG without pygal's inline script (configuration for tooltips we do not load)."""
    return Markup(_SCRIPT.sub("", chart.render(is_unicode=True)))  # pygal escapes the labels it draws


def weekly_share(title: str, weeks: Sequence[str], series: dict[str, list[float | None]], target: float) -> Markup:
    """Share of targets met (0–100 %) per week, one line per plan, and the target as a line."""
    chart = pygal.Line(title=title, range=(0, 100), y_title="% of targets met", x_label_rotation=30,
                       dots_size=4, **_COMMON)
    chart.x_labels = list(weeks)
    for name, values in series.items():
        chart.add(name, [None if v is None else round(v * 100, 1) for v in values])
    chart.add(f"target {target:.0%}", [target * 100] * len(weeks), stroke_style={"dasharray": "6, 4"}, show_dots=False)
    return _svg(chart)


def distribution(title: str, labels: Sequence[str], series: dict[str, list[int]]) -> Markup:
    """How many tickets took how long, per bucket of working time."""
    chart = pygal.Bar(title=title, y_title="tickets", x_title="working time used", **_COMMON)
    chart.x_labels = list(labels)
    for name, counts in series.items():
        chart.add(name, list(counts))
    return _svg(chart)
