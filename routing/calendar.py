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

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

Period = tuple[time, time]
Span = tuple[datetime, datetime]

DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)
_DAY_SECONDS = 86400
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_INDEX = {name.lower(): i for i, name in enumerate(_DAY_NAMES)} | {
    name: i for i, name in enumerate(_FULL_NAMES)
}
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_MEMO_LIMIT = 8192


def zone(tz: str) -> ZoneInfo:
    """Resolve an IANA name with an error that names the config value, not a bare KeyError."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f'"{tz}" is not an IANA time zone (e.g. Europe/Moscow)') from exc


def to_utc(at: datetime) -> datetime:
    """Accept any aware instant; a naive one is refused because its meaning depends on a guess."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone; pass an aware datetime")
    return at.astimezone(UTC)


# --------------------------------------------------------------------------- weekly hours


@dataclass(frozen=True)
class WeeklyHours:
    """Opening periods per weekday (0 = Monday), as local wall times.

    `end <= start` means the period runs past midnight into the next day, so (00:00, 00:00) is
    the whole day ("00:00-24:00") and (19:00, 10:00) is a night shift.
    """

    periods: Mapping[int, tuple[Period, ...]] = field(compare=False)
    # Equality and hashing go through this tuple: a Mapping can't be hashed, and shifts built
    # from the same hours must share one cached calendar.
    _key: tuple[tuple[int, tuple[Period, ...]], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        clean: dict[int, tuple[Period, ...]] = {}
        for weekday, spans in sorted(self.periods.items()):
            if weekday not in range(7):
                raise ValueError(f"weekday {weekday} is not 0 (Mon) .. 6 (Sun)")
            for start, end in spans:
                _check_wall_time(start)
                _check_wall_time(end)
            if spans:
                clean[weekday] = tuple(sorted(spans))
        object.__setattr__(self, "periods", MappingProxyType(clean))
        object.__setattr__(self, "_key", tuple(clean.items()))

    @classmethod
    def parse(cls, spec: Mapping[str, str | Sequence[str]]) -> WeeklyHours:
        """Read config like {"mon-fri": "10:00-19:00", "sat": ["10:00-13:00", "14:00-16:00"]}.

        A day named by two keys is an error rather than a merge: "fri" next to "mon-fri" almost
        always means "Friday is different", and silently uniting them would hide that.
        """
        periods: dict[int, tuple[Period, ...]] = {}
        named_by: dict[int, str] = {}
        for key, value in spec.items():
            spans = tuple(_parse_period(key, text) for text in _as_list(key, value))
            for weekday in _parse_days(key):
                if weekday in named_by:
                    raise ValueError(
                        f'{_DAY_NAMES[weekday]} is given twice ("{named_by[weekday]}" and "{key}")'
                    )
                named_by[weekday] = key
                periods[weekday] = spans
        return cls(periods)

    def regular_workday(self) -> tuple[Period, ...]:
        """Hours a transferred working Saturday/Sunday follows: those of the first Mon–Fri that
        has any, because a transferred day is worked as an ordinary weekday."""
        return next((self.periods[d] for d in range(5) if d in self.periods), ())

    def describe(self, day_names: Sequence[str] = _DAY_NAMES) -> str:
        """Group equal consecutive days so a 5-day week reads as one phrase (`day_names`:
        Monday first, for a reader of another language)."""
        groups: list[tuple[int, int, tuple[Period, ...]]] = []
        for weekday in range(7):
            spans = self.periods.get(weekday, ())
            if groups and groups[-1][2] == spans and groups[-1][1] == weekday - 1:
                groups[-1] = (groups[-1][0], weekday, spans)
            elif spans:
                groups.append((weekday, weekday, spans))
        if not groups:
            return "never open"
        return ", ".join(
            f"{_day_range(first, last, day_names)} {' + '.join(_show_period(p) for p in spans)}"
            for first, last, spans in groups
        )


def _check_wall_time(value: time) -> None:
    if value.tzinfo is not None:
        raise ValueError(f"{value} carries a time zone; periods are wall times in the calendar tz")
    if value.microsecond:
        raise ValueError(f"{value}: period bounds are whole seconds")


def _as_list(key: str, value: str | Sequence[str]) -> Sequence[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return value
    raise ValueError(f'hours for "{key}": {value!r} is not "10:00-19:00" or a list of such')


def _parse_days(key: str) -> list[int]:
    text = key.strip().lower().replace("–", "-")
    if text == "daily":
        return list(range(7))
    days: list[int] = []
    for part in text.split(","):
        first, dash, last = (p.strip() for p in part.partition("-"))
        if first not in _DAY_INDEX or (dash and last not in _DAY_INDEX):
            raise ValueError(
                f'"{key}" is not a day or day range (examples: mon, mon-fri, fri-mon, daily)'
            )
        start = _DAY_INDEX[first]
        length = (_DAY_INDEX[last] - start) % 7 + 1 if last else 1
        days.extend((start + i) % 7 for i in range(length))
    return days


def _parse_period(key: str, text: str) -> Period:
    start_text, sep, end_text = text.replace("–", "-").partition("-")
    start = _parse_clock(start_text, allow_24=False)
    end = _parse_clock(end_text, allow_24=True)
    if not sep or start is None or end is None:
        raise ValueError(f'hours for "{key}": "{text}" is not a period like 10:00-19:00')
    return start, end


def _parse_clock(text: str, *, allow_24: bool) -> time | None:
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        return None
    hour, minute, second = (int(g or 0) for g in match.groups())
    if allow_24 and (hour, minute, second) == (24, 0, 0):
        return time()  # 24:00 as an end is midnight: with end <= start the period runs to it
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _day_range(first: int, last: int, names: Sequence[str]) -> str:
    if first == last:
        return names[first]
    return f"{names[first]}–{names[last]}"


def _show_period(period: Period) -> str:
    start, end = period
    return f"{_show_clock(start)}–{'24:00' if end == time() else _show_clock(end)}"


def _show_clock(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def _length(period: Period) -> timedelta:
    start, end = period
    return timedelta(seconds=(_seconds(end) - _seconds(start)) % _DAY_SECONDS or _DAY_SECONDS)


# --------------------------------------------------------------------------- holidays


@lru_cache(maxsize=512)
def _public_holidays(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    # Building a `holidays` table is slow and calendars ask once per day they walk over.
    return frozenset(holidays_lib.country_holidays(country, subdiv=subdiv, years=year))


@lru_cache(maxsize=64)
def _check_supported(country: str, subdiv: str | None) -> None:
    # Cached: asking the package costs about half a millisecond, and calendars are built often.
    try:
        holidays_lib.country_holidays(country, subdiv=subdiv)
    except NotImplementedError as exc:
        raise ValueError(f"holidays: {exc}") from exc


@dataclass(frozen=True)
class Holidays:
    """Days on which an otherwise open day is closed.

    `workdays` wins over everything: it is how transferred working days (a Saturday worked in
    exchange for a bridge day) are written down, and those are rarely in the holidays package.
    """

    country: str | None = None
    subdiv: str | None = None
    extra: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Accept any collection of dates from config; store what hashing and caching need.
        object.__setattr__(self, "extra", frozenset(self.extra))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        if self.country is not None:
            _check_supported(self.country, self.subdiv)
        elif self.subdiv is not None:
            raise ValueError(f'holiday subdivision "{self.subdiv}" needs a country')

    def is_holiday(self, d: date) -> bool:
        if d in self.workdays:
            return False
        if d in self.extra:
            return True
        return self.country is not None and d in _public_holidays(self.country, self.subdiv, d.year)

    def describe(self) -> str:
        parts = []
        if self.country:
            where = f"{self.country}/{self.subdiv}" if self.subdiv else self.country
            parts.append(f"{where} holidays")
        if self.extra:
            parts.append(_count(len(self.extra), "extra day off", "extra days off"))
        if self.workdays:
            parts.append(_count(len(self.workdays), "transferred working day", "transferred working days"))
        return ", ".join(parts)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# --------------------------------------------------------------------------- calendar


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
    holidays: Holidays = Holidays()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    # Per-day results (a memo, not state): the same few days are asked about over and over.
    _memo: dict[date, tuple[datetime, tuple[Span, ...]]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _sums: dict[tuple[datetime, tuple[timedelta, ...]], tuple[datetime, ...]] = field(
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
        return sum((e - s for s, e in self.open_intervals(start, end)), timedelta())

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
            settled, pending = _settle(pending, floor)
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
            wall_start = midnight + timedelta(seconds=_seconds(period[0]))
            spans.extend(_wall_to_utc(wall_start, wall_start + _length(period), self._zone))
        return min(_readings(midnight, self._zone)), tuple(sorted(spans))

    def _periods_on(self, day: date) -> tuple[Period, ...]:
        assert self.hours is not None
        if day in self.holidays.workdays and day.weekday() >= 5:
            return self.hours.regular_workday()
        if self.holidays.is_holiday(day):
            return ()
        return self.hours.periods.get(day.weekday(), ())


def _settle(pending: list[Span], floor: datetime) -> tuple[list[Span], list[Span]]:
    """Split the union of `pending` into what lies before `floor` (final) and the rest."""
    settled: list[Span] = []
    rest: list[Span] = []
    for s, e in _union(pending):
        if e <= floor:
            settled.append((s, e))
        elif s < floor:
            settled.append((s, floor))
            rest.append((floor, e))
        else:
            rest.append((s, e))
    return settled, rest


def _union(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _readings(wall: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Both UTC readings of a naive wall time; they differ only in a DST gap or fold."""
    return (
        wall.replace(tzinfo=tz, fold=0).astimezone(UTC),
        wall.replace(tzinfo=tz, fold=1).astimezone(UTC),
    )


def _offset(at: datetime, tz: ZoneInfo) -> timedelta:
    offset = at.astimezone(tz).utcoffset()
    assert offset is not None
    return offset


def _wall_to_utc(wall_start: datetime, wall_end: datetime, tz: ZoneInfo) -> list[Span]:
    """All UTC instants whose wall time lies in [wall_start, wall_end).

    Every such instant lies in [lo, hi): lo is the earliest reading of the start, hi the latest
    of the end. The window is at most a day and a bit, so it holds at most one UTC-offset change
    (true of every zone in tzdata since 1970); on each side of it wall time is UTC plus a fixed
    offset and the preimage is a plain interval. In a fold the two pieces are both open.
    """
    lo = min(_readings(wall_start, tz))
    hi = max(_readings(wall_end, tz))
    before, after = _offset(lo, tz), _offset(hi, tz)
    if before == after:
        return [_shifted(wall_start, wall_end, before)]
    change = _transition(lo, hi, tz)
    first = _clip(_shifted(wall_start, wall_end, before), lo, change)
    second = _clip(_shifted(wall_start, wall_end, after), change, hi)
    pieces = [p for p in (first, second) if p[0] < p[1]]
    if len(pieces) == 2 and pieces[0][1] == pieces[1][0]:
        return [(pieces[0][0], pieces[1][1])]
    return pieces


def _shifted(wall_start: datetime, wall_end: datetime, offset: timedelta) -> Span:
    return (wall_start - offset).replace(tzinfo=UTC), (wall_end - offset).replace(tzinfo=UTC)


def _clip(span: Span, lo: datetime, hi: datetime) -> Span:
    return max(span[0], lo), min(span[1], hi)


def _transition(lo: datetime, hi: datetime, tz: ZoneInfo) -> datetime:
    """The first second in (lo, hi] with hi's offset; tzdata changes offsets on whole seconds."""
    before = _offset(lo, tz)
    low, high = 0, int((hi - lo) / _SECOND)
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(lo + middle * _SECOND, tz) == before:
            low = middle
        else:
            high = middle
    return lo + high * _SECOND
