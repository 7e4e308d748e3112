"""A run's results, baseline and what-if side by side: a text table, a CSV and a chart.

The CSV is long: one row per figure (`section, group, metric, baseline, what_if`), so a
spreadsheet can pivot it any way. The chart (a PNG) needs matplotlib, the optional `sim`
extra: `pip install 'dutydesk[sim]'`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from bot.app.config import ConfigError
from bot.simulate.arrivals import HOURS_PER_WEEK
from bot.simulate.metrics import ALL, CLOCKS, Result, Share

CLOCK_NAMES = {"first_response": "first response", "resolution": "resolution", "update": "progress updates"}
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
Row = tuple[str, str, str, str, str]  # section, group, metric, baseline, what-if


def _percent(share: Share) -> str:
    value = share.percent
    return "—" if value is None else f"{value:.1f}% of {share.decided}"


def _hours(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 60:.0f}m" if seconds < 5400 else f"{seconds / 3600:.1f}h"


def _groups(results: list[Result]) -> list[tuple[str, str]]:
    found = {group for result in results for group in result.sla}
    return sorted(found, key=lambda g: (g[0] != ALL, g[0], g[1] != ALL, g[1]))


def rows(results: list[Result], *, raw: bool = False) -> Iterator[Row]:
    """Every figure, one row each; `raw` writes numbers for the CSV instead of words."""
    pad = ("",) * (2 - len(results))

    def cells(values: list[str]) -> tuple[str, str]:
        return (*values, *pad)[:2]  # type: ignore[return-value]

    yield ("tickets", ALL, "count", *cells([str(r.tickets) for r in results]))
    for plan, priority in _groups(results):
        for clock in CLOCKS:
            shares = [r.share(plan, priority, clock) for r in results]
            if not any(s.decided for s in shares):
                continue
            values = [("" if s.percent is None else f"{s.percent:.2f}") if raw else _percent(s) for s in shares]
            yield ("sla met", f"{plan} {priority}", CLOCK_NAMES[clock], *cells(values))
    for plan in sorted({p for r in results for p in r.waits}, key=lambda p: (p != ALL, p)):
        for i, q in enumerate(("p50", "p90")):
            waits = [r.waits.get(plan, (None, None))[i] for r in results]
            shown = [("" if v is None else f"{v:.0f}") if raw else _hours(v) for v in waits]
            yield ("queue wait", plan, q + (" s" if raw else ""), *cells(shown))
    for hour in range(HOURS_PER_WEEK):
        counts = [r.breaches_by_hour[hour] for r in results]
        if raw or any(counts):
            yield ("breaches", f"{DAYS[hour // 24]} {hour % 24:02d}:00", "count", *cells([str(c) for c in counts]))
    for engineer in sorted({e for r in results for e in r.engineers}):
        for metric in ("given", "answered", "resolved", "updates", "peak", "on duty h"):
            values = [_load(r, engineer, metric) for r in results]
            yield ("load", engineer, metric, *cells(values))


def _load(result: Result, engineer: str, metric: str) -> str:
    found = result.engineers.get(engineer)
    if found is None:
        return "—"
    if metric == "on duty h":
        return f"{found.on_duty_hours:.0f}"
    return str(getattr(found.load, metric))


def _change(row: Row, results: list[Result]) -> str:
    """What-if minus baseline, in percentage points, for an SLA share."""
    if len(results) != 2 or row[0] != "sla met":
        return ""
    plan, priority = row[1].split(" ")
    a, b = (r.share(plan, priority, _CLOCK_KEYS[row[2]]).percent for r in results)
    return "" if a is None or b is None else f"{b - a:+.1f} pts"


_CLOCK_KEYS = {name: key for key, name in CLOCK_NAMES.items()}


def as_text(results: list[Result], header: list[str]) -> str:
    labels = tuple(r.label for r in results) + (("change",) if len(results) == 2 else ())
    table = [("", "", "", *labels)] + [
        row[:3] + row[3:3 + len(results)] + ((_change(row, results),) if len(results) == 2 else ())
        for row in rows(results) if row[0] != "breaches"
    ]
    table += _busiest(results)
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = [*header, ""]
    section = None
    for row in table:
        if row[0] != section and row[0]:
            lines.append("")
            section = row[0]
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return "\n".join(lines)


def _busiest(results: list[Result], top: int = 5) -> list[tuple[str, ...]]:
    """The hours of the week with most breaches (the full 168 are in the CSV and chart)."""
    totals = [sum(r.breaches_by_hour[h] for r in results) for h in range(HOURS_PER_WEEK)]
    hours = sorted((h for h in range(HOURS_PER_WEEK) if totals[h]), key=lambda h: (-totals[h], h))[:top]
    change = ("",) if len(results) == 2 else ()
    return [("breaches (busiest hours)", f"{DAYS[h // 24]} {h % 24:02d}:00", "count",
             *(str(r.breaches_by_hour[h]) for r in results), *change) for h in sorted(hours)]


def write_csv(results: list[Result], path: Path) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "group", "metric", *(r.label for r in results)])
    for row in rows(results, raw=True):
        writer.writerow(row[:3 + len(results)])
    path.write_text(out.getvalue(), encoding="utf-8")


def write_chart(results: list[Result], path: Path) -> None:
    """SLA met per plan (first response, resolution), and breaches by hour of the week."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--chart needs matplotlib: pip install 'dutydesk[sim]'") from None
    plans = sorted({plan for r in results for plan, priority in r.sla if plan != ALL and priority == ALL})
    fig, (bars, line) = plt.subplots(2, 1, figsize=(11, 8))
    width = 0.8 / (2 * len(results))
    for i, result in enumerate(results):
        for j, clock in enumerate(CLOCKS[:2]):
            values = [result.share(plan, ALL, clock).percent or 0.0 for plan in plans]
            offsets = [k + (2 * i + j) * width for k in range(len(plans))]
            bars.bar(offsets, values, width, label=f"{result.label}: {CLOCK_NAMES[clock]}")
    bars.set_xticks([k + 0.4 - width / 2 for k in range(len(plans))], plans)
    bars.set_ylabel("SLA met, %")
    bars.set_ylim(0, 100)
    bars.axhline(75, color="grey", linestyle=":", linewidth=1)
    bars.legend(fontsize=8)
    for result in results:
        line.plot(range(HOURS_PER_WEEK), result.breaches_by_hour, label=result.label)
    line.set_xticks(range(0, HOURS_PER_WEEK, 24), DAYS)
    line.set_ylabel("breaches per hour of week")
    line.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
