"""The report's figures from the store's counts: one grouped count per (plan, language,
priority, holders) folded into the tables a lead reads, and the working-time buckets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.services import Services
from bot.dashboard import present

HOUR = 3600
# Upper bounds (working seconds) of the distribution's buckets; the last bucket is the rest.
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


def share(row: Mapping[str, Any] | None) -> float | None:
    """Targets met of targets decided, both clocks together; None when none was decided."""
    if row is None:
        return None
    return _ratio(row["first_met_n"] + row["resolution_met_n"], row["first_decided"] + row["resolution_decided"])


def fold(groups: Sequence[Mapping[str, Any]], s: Services) -> Tables:
    """Per plan, language and priority a ticket counts once with both clocks; per engineer,
    each clock counts for whoever was charged with it (as in `bot/sla/report.py`)."""
    tables = Tables()
    for g in groups:
        whole = (g["tickets"], g["first_decided"], g["first_met_n"], g["resolution_decided"], g["resolution_met_n"],
                 g["rated"], g["rating_sum"])
        for kind, name in (("plan", g["plan"]), ("language", g["language"]), ("priority", f"P{g['priority']}")):
            _add(tables.by[kind].setdefault(name, Count()), *whole)
        _add(tables.overall, *whole)
        first_by = present.engineer_name(s, None if g["first_by"] == "-" else g["first_by"])
        resolution_by = present.engineer_name(s, None if g["resolution_by"] == "-" else g["resolution_by"])
        _add(tables.by["engineer"].setdefault(first_by, Count()), g["tickets"], g["first_decided"], g["first_met_n"],
             0, 0, 0, 0)
        both = first_by == resolution_by
        _add(tables.by["engineer"].setdefault(resolution_by, Count()), 0 if both else g["tickets"], 0, 0,
             g["resolution_decided"], g["resolution_met_n"], g["rated"], g["rating_sum"])
    return tables


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
