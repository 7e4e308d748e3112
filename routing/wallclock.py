"""Wall time and UTC: time zones by name, and the UTC instants a span of local wall time covers
(DST gaps have none, folds have two)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Span = tuple[datetime, datetime]

_SECOND = timedelta(seconds=1)


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


def wall_readings(wall: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Both UTC readings of a naive wall time; they differ only in a DST gap or fold."""
    return (
        wall.replace(tzinfo=tz, fold=0).astimezone(UTC),
        wall.replace(tzinfo=tz, fold=1).astimezone(UTC),
    )


def _offset(at: datetime, tz: ZoneInfo) -> timedelta:
    offset = at.astimezone(tz).utcoffset()
    assert offset is not None
    return offset


def wall_to_utc(wall_start: datetime, wall_end: datetime, tz: ZoneInfo) -> list[Span]:
    """All UTC instants whose wall time lies in [wall_start, wall_end).

    Every such instant lies in [lo, hi): lo is the earliest reading of the start, hi the latest
    of the end. The window is at most a day and a bit, so it holds at most one UTC-offset change
    (true of every zone in tzdata since 1970); on each side of it wall time is UTC plus a fixed
    offset and the preimage is a plain interval. In a fold the two pieces are both open.
    """
    lo = min(wall_readings(wall_start, tz))
    hi = max(wall_readings(wall_end, tz))
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
