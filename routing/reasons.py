"""Reasons as values: a phrase key, its English wording and what fills it in.

Routing explains every decision ("no Russian-speaking l1 engineer free on duty at …").
The engineer who gets the ping reads it in their own language, so a reason is not a
string but a `Reason`: `bot/` words it for each reader from the key (its own catalogue
of translations) and the values — names, language codes, instants, calendars — each
written the reader's way. `str(reason)` is the English wording, for the event log and
`dutydesk explain`: each value's own `str()` is its English.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from routing.calendar import BusinessCalendar

LANGUAGE_NAMES = {
    "en": "English", "ru": "Russian", "uk": "Ukrainian", "be": "Belarusian", "kk": "Kazakh",
    "pl": "Polish", "da": "Danish", "de": "German", "fr": "French", "es": "Spanish",
    "it": "Italian", "tr": "Turkish", "hu": "Hungarian",
}

# Every phrase routing says, in English. `bot/` holds the other languages under the same keys.
PHRASES = {
    "local": "{language} ticket: {on_duty}, speaks {language}",
    "on_duty": "{name} is on duty",
    "on_duty_via": "{name} is on duty ({via})",
    "via_shift": "shift {shift}",
    "via_rotation_week": "rotation {rotation} (week {turn})",
    "via_rotation_turn": "rotation {rotation} (turn {turn})",
    "via_override": "override",
    "via_override_covers": "override: covers {engineer}",
    "via_override_why": "override ({why})",
    "via_override_covers_why": "override: covers {engineer} ({why})",
    "at_capacity": "{name} is at capacity ({open}/{limit} open)",
    "least_loaded": "least loaded of {count} on duty ({open} open)",
    "office": "{name} works in the office of the customer's time zone ({timezone})",
    "no_local": "no {language}-speaking {tier} engineer free on duty at {at}",
    "urgent": "{priority} is urgent",
    "covered": "plan {plan} covers this hour ({hours})",
    "follows_sun": "{why}, so it follows the sun: {on_duty}",
    "nobody_reads": "{why}, but nobody who reads {language} is free on duty either",
    "outside_hours": "{priority} on plan {plan} outside its hours ({hours}): waits for the next local shift",
    "escalated": "escalated {old} → {new}{area}: {on_duty}",
    "escalated_nobody": "escalated {old} → {new}{area}: nobody of {new}{area} is free on duty",
    "queued_comes": "queued: {name} comes on duty {at}",
    "queued_hours": "queued: the plan's hours open {at}, with {name} on duty",
    "queued_nobody": "queued: nobody matching comes on duty within {days} days",
    "wrote_in": "customer wrote in {language}",
    "dedicated": "{organisation}'s dedicated engineer: {on_duty}",
    "dedicated_backup": "{organisation}'s dedicated engineer {dedicated} is off duty; the backup: {on_duty}",
    "dedicated_off": "{organisation}'s dedicated engineer {dedicated} and backup {backup} are off duty: usual rules",
    "dedicated_alone_off": "{organisation}'s dedicated engineer {dedicated} is off duty: the usual rules",
}


@dataclass(frozen=True)
class Lang:
    """A language, written as its name in the reader's language."""

    code: str

    def __str__(self) -> str:
        return language_name(self.code)


@dataclass(frozen=True)
class At:
    """An instant; `tz` is the zone it is written in when the reader has none."""

    instant: datetime
    tz: str

    def __str__(self) -> str:
        return clock(self.instant, self.tz)


@dataclass(frozen=True)
class Hours:
    """A calendar's opening hours, described in the reader's language."""

    calendar: BusinessCalendar

    def __str__(self) -> str:
        return self.calendar.describe()


@dataclass(frozen=True)
class Reason:
    key: str
    english: str
    values: tuple[tuple[str, Any], ...] = ()

    def word(self, template_for: Callable[[Reason], str], value: Callable[[Any], str]) -> str:
        """This reason in some reader's words: their template for it, their way with values."""
        return template_for(self).format(**{name: value(v) for name, v in self.values})

    def __str__(self) -> str:
        return self.word(lambda r: r.english, str)


def reason(key: str, **values: Any) -> Reason:
    """One of routing's `PHRASES`."""
    return Reason(key, PHRASES[key], tuple(values.items()))


def joined(reasons: Iterable[Reason | str]) -> str:
    """Reasons as the event log keeps them: English, one after the other."""
    return "; ".join(str(r) for r in reasons)


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def clock(at: datetime, tz: str) -> str:
    local = at.astimezone(ZoneInfo(tz))
    return local.strftime("%a %Y-%m-%d %H:%M ") + tz
