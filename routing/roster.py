"""Who is on duty when: regular shifts, rotations (e.g. a weekly night watch) and overrides.

Duty rule, for engineer E at instant t:

    on duty  iff  (an override for E covers t
                   or E's own shift is open at t
                   or a rotation whose member at the start of the open period is E has it open at t)
             and no override replacing E covers t.

Shift hours are a `BusinessCalendar` in the shift's time zone, cancelled on E's own public
holidays when the shift observes them: a Russian engineer is off on 8 March while a Polish
colleague on the same shift hours works. A rotation's period that crosses midnight stays with the
member who started it, so a weekly hand-over at Monday 00:00 never splits a Sunday night.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import TypedDict, Unpack

from routing.calendar import DAY, BusinessCalendar, Holidays, WeeklyHours, to_utc, zone
from routing.reasons import Reason, reason
from routing.spans import subtract

Span = tuple[datetime, datetime]

_MAX_REACH = timedelta(days=366)
_ROLES = frozenset({"engineer", "lead", "admin"})


class Wanted(TypedDict, total=False):
    """Whom `on_duty` and `next_on_duty` look for: engineers who read a language, of a tier,
    with a skill (each left out or None: any)."""

    language: str | None
    tier: str | None
    skill: str | None


@dataclass(frozen=True)
class Shift:
    name: str
    tz: str
    hours: WeeklyHours
    observe_holidays: bool = True  # day shifts yes; night / follow-the-sun shifts no

    def __post_init__(self) -> None:
        zone(self.tz)


@dataclass(frozen=True)
class Engineer:
    id: str
    name: str
    languages: frozenset[str]  # ISO 639-1
    tz: str
    country: str | None = None  # whose public holidays cancel the engineer's day shifts
    tier: str = "l1"
    skills: frozenset[str] = frozenset()  # areas, e.g. finance, scm, tech, local:ru
    max_open: int | None = None
    shift: str | None = None  # the engineer's own regular shift
    role: str = "engineer"  # engineer | lead | admin; routing only uses it to find leads

    def __post_init__(self) -> None:
        zone(self.tz)
        if self.role not in _ROLES:
            raise ValueError(f'engineer {self.id}: role "{self.role}" is not {sorted(_ROLES)}')
        if self.max_open is not None and self.max_open < 1:
            raise ValueError(f"engineer {self.id}: max_open must be at least 1")


@dataclass(frozen=True)
class Rotation:
    """Members take the shift in turn; each turn starts at 00:00 of a date in the shift's tz."""

    name: str
    shift: str
    members: tuple[str, ...]
    start: date  # members[0] holds the shift from this date
    every: timedelta = timedelta(weeks=1)

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError(f"rotation {self.name} has no members")
        if self.every < DAY or self.every % DAY:
            raise ValueError(f"rotation {self.name}: every must be whole days (hand-over at 00:00)")

    def turn(self, day: date) -> int | None:
        """Number of the turn (0 = first) that holds `day`; None before the rotation starts."""
        if day < self.start:
            return None
        return (day - self.start) // self.every

    def member(self, turn: int) -> str:
        return self.members[turn % len(self.members)]

    def label(self, turn: int) -> Reason:
        key = "via_rotation_week" if self.every == timedelta(weeks=1) else "via_rotation_turn"
        return reason(key, rotation=self.name, turn=turn + 1)


@dataclass(frozen=True)
class Override:
    engineer: str
    start: datetime
    end: datetime
    replaces: str | None = None  # the engineer being covered, off duty in the window
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", to_utc(self.start))
        object.__setattr__(self, "end", to_utc(self.end))
        if self.end <= self.start:
            raise ValueError(f"override for {self.engineer} ends before it starts")

    @property
    def via(self) -> Reason:
        if self.replaces:
            if self.reason:
                return reason("via_override_covers_why", engineer=self.replaces, why=self.reason)
            return reason("via_override_covers", engineer=self.replaces)
        return reason("via_override_why", why=self.reason) if self.reason else reason("via_override")


@dataclass(frozen=True)
class DutyWindow:
    engineer: str
    start: datetime
    end: datetime
    via: Reason  # why: "shift moscow_day", "rotation night (week 3)", "override: covers anna (sick)"


@lru_cache(maxsize=512)
def _shift_calendar(shift: Shift, country: str | None) -> BusinessCalendar:
    # Module-level so the calendars' day memos outlive a Roster rebuilt by `with_overrides`.
    return BusinessCalendar(shift.name, shift.tz, shift.hours, Holidays(country))


@dataclass(frozen=True)
class Roster:
    engineers: Mapping[str, Engineer]  # config order is the tie-break order
    shifts: Mapping[str, Shift]
    rotations: tuple[Rotation, ...] = ()
    overrides: tuple[Override, ...] = ()
    tiers: tuple[str, ...] = ("l1", "ee", "se")  # escalation ladder, lowest first
    _rotations_of: Mapping[str, tuple[Rotation, ...]] = field(
        init=False, repr=False, compare=False
    )
    # Duty per engineer and UTC day (a memo, not state): routing asks about the same few
    # days for every message. Clipping commutes with the set operations below, so
    # windows over any range = the day pieces joined, then clipped.
    _day_memo: dict[tuple[str, datetime], tuple[DutyWindow, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _state_memo: dict[str, tuple[datetime, datetime, bool]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _matching_memo: dict[tuple[str | None, str | None, str | None], tuple[Engineer, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _window_memo: dict[str, DutyWindow] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "engineers", MappingProxyType(dict(self.engineers)))
        object.__setattr__(self, "shifts", MappingProxyType(dict(self.shifts)))
        problems = list(self._problems())
        if problems:
            raise ValueError("roster: " + "; ".join(problems))
        object.__setattr__(self, "_rotations_of", MappingProxyType({
            e: tuple(r for r in self.rotations if e in r.members) for e in self.engineers
        }))

    def with_overrides(self, extra: Iterable[Override]) -> Roster:
        return replace(self, overrides=(*self.overrides, *extra))

    def duty_at(self, engineer_id: str, at: datetime) -> DutyWindow | None:
        """The duty window containing `at`, widened until its true ends are in view (up to a
        year), so "on duty until 19:00" is not cut short by the look-up range."""
        at = to_utc(at)
        if not self._is_on(engineer_id, at):
            return None
        known = self._window_memo.get(engineer_id)
        if known is not None and known.start <= at < known.end:
            return known
        reach = DAY
        while True:
            around = self.windows(engineer_id, at - reach, at + reach)
            window = next((w for w in around if w.start <= at < w.end), None)
            if window is None or _inside(window, at - reach, at + reach) or reach > _MAX_REACH:
                if window is not None:
                    self._window_memo[engineer_id] = window
                return window
            reach *= 2

    def on_duty(self, at: datetime, **wanted: Unpack[Wanted]) -> list[Engineer]:
        at = to_utc(at)
        return [e for e in self._matching(**wanted) if self._is_on(e.id, at)]

    def is_on_duty(self, engineer_id: str, at: datetime) -> bool:
        return self._is_on(engineer_id, to_utc(at))

    def _is_on(self, engineer_id: str, at: datetime) -> bool:
        """Whether an engineer is on duty at `at`, remembering the span around it in which
        the answer stays the same: routing asks about the same minutes over and over."""
        known = self._state_memo.get(engineer_id)
        if known is not None and known[0] <= at < known[1]:
            return known[2]
        around = self.windows(engineer_id, at - DAY, at + DAY)
        since, until, on = at - DAY, at + DAY, False
        for window in around:
            if window.start <= at < window.end:
                since, until, on = window.start, window.end, True
                break
            if window.end <= at:
                since = window.end
            elif window.start > at:
                until = window.start
                break
        self._state_memo[engineer_id] = (since, until, on)
        return on

    def next_on_duty(
        self, at: datetime, *, horizon: timedelta = timedelta(days=21), **wanted: Unpack[Wanted],
    ) -> tuple[datetime, Engineer] | None:
        """Earliest instant >= `at` at which a matching engineer is on duty; ties go to the
        engineer listed first. Each later engineer is only searched up to the best time so far."""
        at = to_utc(at)
        best: tuple[datetime, Engineer] | None = None
        for engineer in self._matching(**wanted):
            limit = horizon if best is None else best[0] - at
            when = self._first_duty(engineer.id, at, limit)
            if when is not None:
                best = (when, engineer)
        return best

    def windows(self, engineer_id: str, start: datetime, end: datetime) -> list[DutyWindow]:
        """Duty of one engineer within [start, end), clipped to it, in order.

        Where sources overlap the window is labelled by the strongest: override, then own shift,
        then rotations. Adjacent windows with different reasons stay separate, so the reader sees
        where an override takes over.
        """
        start, end = to_utc(start), to_utc(end)
        self._engineer(engineer_id)
        if end <= start:
            return []
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        pieces: list[DutyWindow] = []
        while day < end:
            known = self._day_memo.get((engineer_id, day))
            if known is None:
                if len(self._day_memo) >= 4096:
                    self._day_memo.clear()
                known = self._day_memo[(engineer_id, day)] = tuple(self._windows(engineer_id, day, day + DAY))
            pieces.extend(known)
            day += DAY
        return [
            w if start <= w.start and w.end <= end else replace(w, start=max(w.start, start), end=min(w.end, end))
            for w in _join(pieces) if w.end > start and w.start < end
        ]

    def _windows(self, engineer_id: str, start: datetime, end: datetime) -> list[DutyWindow]:
        engineer = self._engineer(engineer_id)
        # A replaced engineer is off whatever else says; then each source only fills what the
        # stronger ones left.
        taken = [(o.start, o.end) for o in self.overrides if o.replaces == engineer_id]
        found: list[DutyWindow] = []
        for source in self._sources(engineer, start, end):
            for s, e, via in source:
                found.extend(
                    DutyWindow(engineer_id, ps, pe, via) for ps, pe in subtract((s, e), taken)
                )
            taken.extend((s, e) for s, e, _ in source)
        return _join(sorted(found, key=lambda w: w.start))

    def next_tier(self, tier: str) -> str | None:
        if tier not in self.tiers:
            raise ValueError(f'"{tier}" is not a tier (tiers: {", ".join(self.tiers)})')
        position = self.tiers.index(tier)
        return self.tiers[position + 1] if position + 1 < len(self.tiers) else None

    # ----------------------------------------------------------------------- internals

    def _problems(self) -> Iterator[str]:
        for key, engineer in self.engineers.items():
            if key != engineer.id:
                yield f'engineer "{engineer.id}" is filed under "{key}"'
            if engineer.shift is not None and engineer.shift not in self.shifts:
                yield f'engineer {engineer.id}: no shift "{engineer.shift}"'
            if engineer.tier not in self.tiers:
                yield f'engineer {engineer.id}: tier "{engineer.tier}" is not in {self.tiers}'
        for rotation in self.rotations:
            if rotation.shift not in self.shifts:
                yield f'rotation {rotation.name}: no shift "{rotation.shift}"'
            for member in rotation.members:
                if member not in self.engineers:
                    yield f"rotation {rotation.name}: no engineer {member}"
        for override in self.overrides:
            for who in (override.engineer, override.replaces):
                if who is not None and who not in self.engineers:
                    yield f"override: no engineer {who}"

    def _engineer(self, engineer_id: str) -> Engineer:
        try:
            return self.engineers[engineer_id]
        except KeyError:
            raise ValueError(f"no engineer {engineer_id}") from None

    def _matching(
        self, language: str | None = None, tier: str | None = None, skill: str | None = None,
    ) -> tuple[Engineer, ...]:
        key = (language, tier, skill)
        found = self._matching_memo.get(key)
        if found is None:
            found = self._matching_memo[key] = tuple(self._filter(language, tier, skill))
        return found

    def _filter(
        self, language: str | None, tier: str | None, skill: str | None
    ) -> Iterator[Engineer]:
        for engineer in self.engineers.values():
            if language is not None and language not in engineer.languages:
                continue
            if tier is not None and engineer.tier != tier:
                continue
            if skill is not None and skill not in engineer.skills:
                continue
            yield engineer

    def _calendar(self, shift_name: str, engineer: Engineer) -> BusinessCalendar:
        shift = self.shifts[shift_name]
        return _shift_calendar(shift, engineer.country if shift.observe_holidays else None)

    def _sources(
        self, engineer: Engineer, start: datetime, end: datetime
    ) -> list[list[tuple[datetime, datetime, Reason]]]:
        """Duty spans by source, strongest first."""
        sources = [[
            (max(o.start, start), min(o.end, end), o.via)
            for o in self.overrides
            if o.engineer == engineer.id and o.start < end and o.end > start
        ]]
        if engineer.shift is not None:
            calendar = self._calendar(engineer.shift, engineer)
            via = reason("via_shift", shift=engineer.shift)
            sources.append([(s, e, via) for s, e in calendar.open_intervals(start, end)])
        for rotation in self._rotations_of[engineer.id]:
            sources.append(list(self._rotation_spans(rotation, engineer, start, end)))
        return sources

    def _rotation_spans(
        self, rotation: Rotation, engineer: Engineer, start: datetime, end: datetime
    ) -> Iterator[tuple[datetime, datetime, Reason]]:
        calendar = self._calendar(rotation.shift, engineer)
        for occurrence in calendar.occurrences(start, end):
            turn = rotation.turn(occurrence.day)
            if turn is not None and rotation.member(turn) == engineer.id:
                yield occurrence.start, occurrence.end, rotation.label(turn)

    def _first_duty(self, engineer_id: str, at: datetime, horizon: timedelta) -> datetime | None:
        """Look a day ahead, then two, four...: most answers are within a day."""
        span = DAY
        while True:
            span = min(span, horizon)
            found = self.windows(engineer_id, at, at + span)
            if found:
                return found[0].start
            if span == horizon:
                return None
            span *= 2


def _join(windows: list[DutyWindow]) -> list[DutyWindow]:
    """Merge touching or overlapping windows with the same reason (a night cut at midnight)."""
    joined: list[DutyWindow] = []
    for window in windows:
        last = joined[-1] if joined else None
        if last is not None and last.via == window.via and window.start <= last.end:
            joined[-1] = replace(last, end=max(last.end, window.end))
        else:
            joined.append(window)
    return joined


def _inside(window: DutyWindow, start: datetime, end: datetime) -> bool:
    return start < window.start and window.end < end
