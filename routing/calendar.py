"""Business calendars: when a desk, a plan or a shift is open, and working-time arithmetic on it.

SLA clocks ("first response within 8 working hours") must agree with what a person would count
on the wall clock of the office, to the minute, across weekends, public holidays and DST. So the
rule is stated on wall time and everything else is derived from it:

    a UTC instant is open iff its local wall time in `tz` lies in [start, end) of a period of the
    day that period starts on, and that day is not a holiday.

A period that crosses midnight belongs to the day it starts on. A spring-forward gap has no
instants, so nothing in it is open; in a fall-back fold both passes of an open wall time are open.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from routing.days_off import Holidays
from routing.spans import settle
from routing.wallclock import Span, to_utc, wall_readings, wall_to_utc, zone
from routing.weekly_hours import Period, WeeklyHours, clock_seconds, period_length

__all__ = ["DAY", "BusinessCalendar", "Holidays", "Occurrence", "WeeklyHours", "to_utc", "zone"]

DAY = timedelta(days=1)
_MEMO_LIMIT = 8192


@dataclass(frozen=True)
class Occurrence:
    """One period on one day as UTC time, kept apart from its neighbours: rotations hand a
    night to whoever was on the rota when it started, so they need to know that day."""

    day: date
    start: datetime
    end: datetime


@dataclass(frozen=True)
class BusinessCalendar:
    """A named set of opening hours in one time zone, with the holidays that cancel them."""

    name: str
    tz: str
    hours: WeeklyHours | None  # None: open around the clock, holidays included
    holidays: Holidays = field(default_factory=Holidays)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    # Per-day results (a memo, not state): the same few days are asked about over and over.
    _memo: dict[date, tuple[datetime, tuple[Span, ...]]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _sums: dict[tuple[datetime, tuple[timedelta, ...]], tuple[datetime, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _spent: dict[tuple[datetime, datetime], timedelta] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", zone(self.tz))

    def is_open(self, at: datetime) -> bool:
        at = to_utc(at)
        if self.hours is None:
            return True
        # Only periods of the local day and the day before can contain a wall time of today.
        today = at.astimezone(self._zone).date()
        return any(s <= at < e for d in (today - DAY, today) for s, e in self._day(d)[1])

    def next_open(self, at: datetime) -> datetime:
        at = to_utc(at)
        if self.hours is None:
            return at
        return self._first_span(at)[0]

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[Span]:
        """Open time within [start, end) as merged UTC intervals, in order."""
        start, end = to_utc(start), to_utc(end)
        if end <= start:
            return
        if self.hours is None:
            yield start, end
            return
        current: Span | None = None
        for s, e in self._open_from(start):
            if s >= end:
                break
            if current is not None and current[1] == s:
                current = (current[0], min(e, end))
                continue
            if current is not None:
                yield current
            current = (s, min(e, end))
        if current is not None:
            yield current

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which `amount` of open time has passed since `start`.

        Counting starts at the next opening, so a zero amount gives `next_open(start)`; a
        deadline that falls exactly on a closing time is that closing time, not the next opening.
        """
        start = to_utc(start)
        if amount < timedelta():
            raise ValueError(f"cannot add a negative amount ({amount}) of working time")
        if self.hours is None:
            return start + amount
        return self.add_each(start, [amount])[0]

    def add_each(self, start: datetime, amounts: Sequence[timedelta]) -> list[datetime]:
        """`add` for several amounts from one start, in one walk over the open time: an SLA
        clock's warnings and its target are fractions of one span of working time."""
        start = to_utc(start)
        if any(amount < timedelta() for amount in amounts):
            raise ValueError("cannot add a negative amount of working time")
        if self.hours is None:
            return [start + amount for amount in amounts]
        known = self._sums.get((start, tuple(amounts)))
        if known is not None:
            return list(known)
        found: dict[timedelta, datetime] = {}
        spans = self._open_from(start)
        passed = timedelta()
        span = next(spans, None)
        for amount in sorted(set(amounts)):
            while True:
                if span is None:
                    raise self._never_open()
                s, e = span
                if passed + (e - s) >= amount:
                    found[amount] = s + (amount - passed)
                    break
                passed += e - s
                span = next(spans, None)
        result = [found[amount] for amount in amounts]
        # Tickets decided together share their start instant and plan: same sums.
        if len(self._sums) >= _MEMO_LIMIT:
            self._sums.clear()
        self._sums[(start, tuple(amounts))] = tuple(result)
        return result

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        if self.hours is None:
            return max(to_utc(end) - to_utc(start), timedelta())
        # An SLA clock re-counts each stretch of a ticket's history at every change to it.
        known = self._spent.get((start, end))
        if known is None:
            if len(self._spent) >= _MEMO_LIMIT:
                self._spent.clear()
            known = self._spent[(start, end)] = sum(
                (e - s for s, e in self.open_intervals(start, end)), timedelta())
        return known

    def occurrences(self, start: datetime, end: datetime) -> Iterator[Occurrence]:
        """Each period's open time within [start, end), unmerged, in order of the day it starts."""
        start, end = to_utc(start), to_utc(end)
        if self.hours is None:
            raise ValueError(f"calendar {self.name} is 24/7 and has no periods")
        if end <= start:
            return
        day = start.astimezone(self._zone).date() - 2 * DAY
        last = end.astimezone(self._zone).date() + DAY
        while day <= last:
            for s, e in self._day(day)[1]:
                if s < end and e > start:
                    yield Occurrence(day, max(s, start), min(e, end))
            day += DAY

    def describe(self) -> str:
        if self.hours is None:
            return "24/7"
        text = f"{self.hours.describe()} {self.tz}"
        holidays = self.holidays.describe()
        return f"{text}, {holidays}" if holidays else text

    # ----------------------------------------------------------------------- internals

    def _first_span(self, start: datetime) -> Span:
        span = next(self._open_from(start), None)
        if span is None:
            raise self._never_open()
        return span

    def _never_open(self) -> ValueError:
        return ValueError(f"calendar {self.name} has no working hours")

    def _open_from(self, start: datetime) -> Iterator[Span]:
        """Open time from `start` on as disjoint UTC spans in order, endless unless never open.

        Spans are cut where a local day begins; consumers that show them merge the pieces.
        Periods of neighbouring days may overlap (a night shift and an early one), so spans are
        held back until no later day can start before them: a day's periods all start at or
        after its `floor`, the earliest instant whose wall time reaches that day.
        """
        assert self.hours is not None
        if not self.hours.periods:
            return
        day = start.astimezone(self._zone).date() - 2 * DAY
        pending: list[Span] = []
        while True:
            floor, spans = self._day(day)
            settled, pending = settle(pending, floor)
            yield from settled
            pending.extend((max(s, start), e) for s, e in spans if e > start)
            day += DAY

    def _day(self, day: date) -> tuple[datetime, tuple[Span, ...]]:
        known = self._memo.get(day)
        if known is None:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            known = self._memo[day] = self._compute_day(day)
        return known

    def _compute_day(self, day: date) -> tuple[datetime, tuple[Span, ...]]:
        midnight = datetime.combine(day, time())
        spans: list[Span] = []
        for period in self._periods_on(day):
            wall_start = midnight + timedelta(seconds=clock_seconds(period[0]))
            spans.extend(wall_to_utc(wall_start, wall_start + period_length(period), self._zone))
        return min(wall_readings(midnight, self._zone)), tuple(sorted(spans))

    def _periods_on(self, day: date) -> tuple[Period, ...]:
        assert self.hours is not None
        if day in self.holidays.workdays and day.weekday() >= 5:
            return self.hours.regular_workday()
        if self.holidays.is_holiday(day):
            return ()
        return self.hours.periods.get(day.weekday(), ())
