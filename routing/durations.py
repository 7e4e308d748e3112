"""Durations as people write them in SLA policies and commands ("15m", "40 working hours").

The word "working" is accepted so a policy can say what it means; the value is the same,
because whether hours are counted on the clock or on a business calendar is the policy's
calendar's job, not the number's.
"""

from __future__ import annotations

import re
from datetime import timedelta

_MINUTE = timedelta(minutes=1)
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
_WEEK = timedelta(weeks=1)

_UNITS: dict[str, timedelta] = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), _MINUTE),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), _HOUR),
    **dict.fromkeys(("d", "day", "days"), _DAY),
    **dict.fromkeys(("w", "week", "weeks"), _WEEK),
}

# Six digits are plenty for any SLA and keep timedelta far from overflowing.
_PART = re.compile(r"(\d{1,6})\s*(?:working\s+)?([a-z]+)")
_WHOLE = re.compile(rf"\s*{_PART.pattern}(?:\s*{_PART.pattern})*\s*")
_EXAMPLES = "15m, 1h, 8h, 2d, 40 working hours"


def parse_duration(text: str) -> timedelta:
    """Read a positive duration; one error text for every mistake, with examples to copy."""
    lowered = text.lower()
    if not _WHOLE.fullmatch(lowered):
        raise _not_a_duration(text)
    total = timedelta()
    for number, unit in _PART.findall(lowered):
        if unit not in _UNITS:
            raise _not_a_duration(text)
        total += int(number) * _UNITS[unit]
    if total <= timedelta():
        raise _not_a_duration(text)
    return total


def format_duration(td: timedelta) -> str:
    """Show a duration in the units `parse_duration` reads, so a whole-minute value can be pasted
    back; seconds are shown only when present, since a clock's remaining time is not rounded."""
    if td < timedelta():
        return "-" + format_duration(-td)
    seconds = td // timedelta(seconds=1)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    units = ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s"))
    return " ".join(f"{value}{unit}" for value, unit in units if value) or "0m"


def _not_a_duration(text: str) -> ValueError:
    return ValueError(f'"{text}" is not a duration (examples: {_EXAMPLES})')
