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
class Count:
    tickets: int = 0
    first_decided: int = 0
    first_met: int = 0
    resolution_decided: int = 0
    resolution_met: int = 0
    rated: int = 0
    rating_sum: int = 0

    def cells(self) -> dict[str, str]:
        return {
            "tickets": str(self.tickets),
            "first": f"{present.percent(_ratio(self.first_met, self.first_decided))} of {self.first_decided}",
            "resolution": f"{present.percent(_ratio(self.resolution_met, self.resolution_decided))} "
                          f"of {self.resolution_decided}",
            "rating": f"{self.rating_sum / self.rated:.1f} ({self.rated})" if self.rated else "—",
        }


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
    return _ratio(count.first_met + count.resolution_met, count.first_decided + count.resolution_decided)


def fold(found: Mapping[str, Sequence[Mapping[str, Any]]], s: Services) -> Figures:
    """Per plan, language and priority a ticket counts with both clocks; per engineer each
    clock counts for whoever was charged with it (as in `bot/sla/report.py`): the tickets
    and first responses for the first-response holder, resolutions and ratings for the
    resolution holder."""
    out = Figures()
    for r in found["plan_days"]:
        day = date.fromisoformat(r["day"])
        _add(out.weekly.setdefault((day - timedelta(days=day.weekday()), r["value"]), Count()), *_whole(r))
    for r in found["totals"]:
        dim, value, n = r["dim"], r["value"], r["tickets"]
        first = (r["first_met"] + r["first_missed"], r["first_met"])
        resolution = (r["resolution_met"] + r["resolution_missed"], r["resolution_met"])
        if dim in ("plan", "language", "priority"):
            _add(out.tables.by[dim].setdefault(value, Count()), *_whole(r))
        if dim == "plan":
            _add(out.tables.overall, *_whole(r))
        elif dim == "first_by":
            name = present.engineer_name(s, None if value == "-" else value)
            _add(out.tables.by["engineer"].setdefault(name, Count()), n, *first, 0, 0, 0, 0)
        elif dim == "resolution_by":
            name = present.engineer_name(s, None if value == "-" else value)
            _add(out.tables.by["engineer"].setdefault(name, Count()), 0, 0, 0, *resolution, r["rated"], r["rating_sum"])
        elif dim in ("first_spread", "resolution_spread"):
            out.spreads[dim.removesuffix("_spread")][int(value)] += n
        elif dim == "rating":
            out.ratings[int(value)] = out.ratings.get(int(value), 0) + n
    return out


def _whole(r: Mapping[str, Any]) -> tuple[int, int, int, int, int, int, int]:
    return (r["tickets"], r["first_met"] + r["first_missed"], r["first_met"],
            r["resolution_met"] + r["resolution_missed"], r["resolution_met"], r["rated"], r["rating_sum"])


def _add(count: Count, tickets: int, fd: int, fm: int, rd: int, rm: int, rated: int, rating_sum: int) -> None:
    count.tickets += tickets
    count.first_decided += fd
    count.first_met += fm
    count.resolution_decided += rd
    count.resolution_met += rm
    count.rated += rated
    count.rating_sum += rating_sum


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
