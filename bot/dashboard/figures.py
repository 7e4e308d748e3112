"""The report's figures from the store's roll-up (per UTC day and dimension, kept by
triggers): the tables a lead reads, the weeks of the chart, the working-time buckets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bot.core.services import Services
from bot.dashboard import present

HOUR = 3600
# Upper bounds (working seconds) of the distribution's buckets; the last bucket is the rest.
# The roll-up's triggers (storage/migrations/*/…_dashboard.sql) bucket with the same bounds.
BOUNDS = (15 * 60, 30 * 60, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 24 * HOUR, 48 * HOUR, 120 * HOUR)
BUCKETS = ("<15m", "15–30m", "30m–1h", "1–2h", "2–4h", "4–8h", "8–24h", "1–2d", "2–5d", "5d+")


@dataclass
class Targets:
    """One clock's targets: how many were decided, and how many of those were met."""

    decided: int = 0
    met: int = 0

    def add(self, met: int, missed: int) -> None:
        self.decided += met + missed
        self.met += met

    def cell(self) -> str:
        return f"{present.percent(_ratio(self.met, self.decided))} of {self.decided}"


@dataclass
class Count:
    tickets: int = 0
    first: Targets = field(default_factory=Targets)
    resolution: Targets = field(default_factory=Targets)
    rated: int = 0
    rating_sum: int = 0

    def cells(self) -> dict[str, str]:
        return {
            "tickets": str(self.tickets),
            "first": self.first.cell(),
            "resolution": self.resolution.cell(),
            "rating": f"{self.rating_sum / self.rated:.1f} ({self.rated})" if self.rated else "—",
        }

    def add(self, r: Mapping[str, Any], *, first: bool = True, resolution: bool = True) -> None:
        """A roll-up row's figures: the tickets go with the first-response clock, the
        ratings with the resolution clock (as the per-engineer rows charge them)."""
        if first:
            self.tickets += r["tickets"]
            self.first.add(r["first_met"], r["first_missed"])
        if resolution:
            self.resolution.add(r["resolution_met"], r["resolution_missed"])
            self.rated += r["rated"]
            self.rating_sum += r["rating_sum"]


@dataclass
class Tables:
    overall: Count = field(default_factory=Count)
    by: dict[str, dict[str, Count]] = field(default_factory=lambda: {
        "plan": {}, "language": {}, "priority": {}, "engineer": {}})

    def rows(self, kind: str) -> list[tuple[str, dict[str, str]]]:
        return [(name, count.cells()) for name, count in sorted(self.by[kind].items())]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Figures:
    """Everything the reports page shows, folded from the store's roll-up rows."""

    tables: Tables = field(default_factory=Tables)
    weekly: dict[tuple[date, str], Count] = field(default_factory=dict)  # (Monday, plan)
    spreads: dict[str, list[int]] = field(default_factory=lambda: {
        "first": [0] * len(BUCKETS), "resolution": [0] * len(BUCKETS)})
    ratings: dict[int, int] = field(default_factory=dict)


def share(count: Count | None) -> float | None:
    """Targets met of targets decided, both clocks together; None when none was decided."""
    if count is None:
        return None
    return _ratio(count.first.met + count.resolution.met, count.first.decided + count.resolution.decided)


def fold(found: Mapping[str, Sequence[Mapping[str, Any]]], s: Services) -> Figures:
    """Per plan, language and priority a ticket counts with both clocks; per engineer each
    clock counts for whoever was charged with it (as in `bot/sla/report.py`): the tickets
    and first responses for the first-response holder, resolutions and ratings for the
    resolution holder."""
    out = Figures()
    for r in found["plan_days"]:
        day = date.fromisoformat(r["day"])
        out.weekly.setdefault((day - timedelta(days=day.weekday()), r["value"]), Count()).add(r)
    for r in found["totals"]:
        dim, value, n = r["dim"], r["value"], r["tickets"]
        if dim in ("plan", "language", "priority"):
            out.tables.by[dim].setdefault(value, Count()).add(r)
        if dim == "plan":
            out.tables.overall.add(r)
        elif dim in ("first_by", "resolution_by"):
            name = present.engineer_name(s, None if value == "-" else value)
            engineer = out.tables.by["engineer"].setdefault(name, Count())
            engineer.add(r, first=dim == "first_by", resolution=dim == "resolution_by")
        elif dim in ("first_spread", "resolution_spread"):
            out.spreads[dim.removesuffix("_spread")][int(value)] += n
        elif dim == "rating":
            out.ratings[int(value)] = out.ratings.get(int(value), 0) + n
    return out


def spread_quantiles(counts: Sequence[int]) -> dict[str, str]:
    """The buckets holding the median and the 90th percentile."""
    total = sum(counts)
    out = {}
    for name, q in (("p50", 0.5), ("p90", 0.9)):
        seen, found = 0, "—"
        for label, n in zip(BUCKETS, counts, strict=True):
            seen += n
            if total and seen >= q * total:
                found = label
                break
        out[name] = found
    return out
