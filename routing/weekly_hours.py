"""Weekly opening hours as local wall times, parsed from config ("mon-fri" = "10:00-19:00").

Kept apart from the calendar arithmetic: this is what a person writes down; the calendar
(`routing/calendar.py`) turns it into UTC instants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time, timedelta
from functools import lru_cache
from types import MappingProxyType

Period = tuple[time, time]

_DAY_SECONDS = 86400
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_INDEX = {name.lower(): i for i, name in enumerate(_DAY_NAMES)} | {
    name: i for i, name in enumerate(_FULL_NAMES)
}
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


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
        Monday first, for a reader of another language). Remembered: routing's reasons quote
        a plan's hours on every ticket it queues."""
        return _described(self._key, tuple(day_names))


@lru_cache(maxsize=256)
def _described(key: tuple[tuple[int, tuple[Period, ...]], ...], day_names: tuple[str, ...]) -> str:
    periods = dict(key)
    groups: list[tuple[int, int, tuple[Period, ...]]] = []
    for weekday in range(7):
        spans = periods.get(weekday, ())
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


def clock_seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def period_length(period: Period) -> timedelta:
    start, end = period
    return timedelta(seconds=(clock_seconds(end) - clock_seconds(start)) % _DAY_SECONDS or _DAY_SECONDS)
