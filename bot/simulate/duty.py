"""When each engineer is on duty, as the roster says, over a stretch of time.

Simulated engineers work only on duty: a handling time is counted in their on-duty time
(an answer that needs 20 minutes and starts 10 minutes before the shift ends comes 10
minutes into the next shift). The windows come from `routing.roster` once per run (shifts,
rotations, overrides, holidays) and are then looked up by bisection.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta

from routing.roster import Roster


class Duty:
    def __init__(self, roster: Roster, start: datetime, end: datetime) -> None:
        self._spans: dict[str, list[tuple[datetime, datetime]]] = {}
        for engineer in roster.engineers:
            spans: list[tuple[datetime, datetime]] = []
            for window in roster.windows(engineer, start, end):
                if spans and spans[-1][1] >= window.start:
                    spans[-1] = (spans[-1][0], max(spans[-1][1], window.end))
                else:
                    spans.append((window.start, window.end))
            self._spans[engineer] = spans
        self._starts = {e: [s for s, _ in spans] for e, spans in self._spans.items()}

    def _at(self, engineer: str, at: datetime) -> int:
        """Index of the last span starting at or before `at` (-1: none)."""
        return bisect_right(self._starts.get(engineer, []), at) - 1

    def on(self, engineer: str, at: datetime) -> bool:
        i = self._at(engineer, at)
        return i >= 0 and at < self._spans[engineer][i][1]

    def after(self, engineer: str, at: datetime, seconds: float) -> datetime | None:
        """The instant `seconds` of this engineer's on-duty time after `at` (None: their
        duty runs out first)."""
        spans = self._spans.get(engineer, [])
        left = timedelta(seconds=max(0.0, seconds))
        for start, end in spans[max(0, self._at(engineer, at)):]:
            begin = max(start, at)
            if begin >= end:
                continue
            if begin + left <= end:
                return begin + left
            left -= end - begin
        return None

    def seconds(self, engineer: str, start: datetime, end: datetime) -> float | None:
        """On-duty seconds between two instants (None: the engineer has no duty at all)."""
        spans = self._spans.get(engineer)
        if not spans:
            return None
        total = 0.0
        for s, e in spans[max(0, self._at(engineer, start)):]:
            if s >= end:
                break
            overlap = (min(e, end) - max(s, start)).total_seconds()
            total += max(0.0, overlap)
        return total
