"""Injected time.

Logic never asks the operating system for the time: it asks a `Clock`. Production uses
`SystemClock`; tests and the demo use `ManualClock`, which only moves when told to, so an
SLA deadline can be checked to the minute without waiting for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until `advance` or `set` moves it."""

    def __init__(self, start: datetime) -> None:
        self._now = as_utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = as_utc(instant)

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


def as_utc(instant: datetime) -> datetime:
    """Normalise an aware datetime to UTC; a naive one is a programming error, not a guess."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant!r}: every instant must carry its time zone")
    return instant.astimezone(UTC)
