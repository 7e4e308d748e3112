"""Who gets a ticket: a local engineer who reads it, else follow the sun, else an honest queue.

The rules come from how real first lines work (see domain.md): a region's engineer takes
its requests in priority order; at night, on a national holiday or when the request is
critical, an English-speaking engineer on duty anywhere takes it; requests that can wait
wait for the next local shift, and the customer is told when that is. Every outcome
carries its reasons in words, for the event log and for `dutydesk explain`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from routing.calendar import BusinessCalendar
from routing.priority import Priority
from routing.roster import Engineer, Roster

LANGUAGE_NAMES = {
    "en": "English", "ru": "Russian", "uk": "Ukrainian", "be": "Belarusian", "kk": "Kazakh",
    "pl": "Polish", "da": "Danish", "de": "German", "fr": "French", "es": "Spanish",
    "it": "Italian", "tr": "Turkish", "hu": "Hungarian",
}


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


@dataclass(frozen=True)
class Load:
    open_count: int = 0
    last_assigned_at: datetime | None = None


@dataclass(frozen=True)
class TicketFacts:
    language: str
    priority: Priority
    plan: str
    coverage: BusinessCalendar  # the hours the customer's plan promises work in
    skills: frozenset[str] = frozenset()  # every one is required (e.g. local:ru, finance)
    tier: str = "l1"
    display_tz: str = "UTC"  # the zone times are written in, in reasons (the customer's)


@dataclass(frozen=True)
class Assignment:
    engineer: str
    reasons: tuple[str, ...]
    follow_the_sun: bool = False
    flags: tuple[str, ...] = ()  # shown to the engineer, e.g. "customer wrote in Russian"
    tier: str = "l1"


@dataclass(frozen=True)
class Queued:
    pickup_at: datetime
    reasons: tuple[str, ...]
    alert_lead: bool = False
    tier: str = "l1"


Decision = Assignment | Queued


@dataclass(frozen=True)
class AssignmentPolicy:
    roster: Roster
    follow_the_sun_language: str = "en"
    urgent: Priority = Priority.P2  # this priority and more urgent never wait for a local shift
    horizon: timedelta = field(default=timedelta(days=21))

    def assign(
        self, facts: TicketFacts, loads: Mapping[str, Load], at: datetime,
        exclude: Collection[str] = (),
    ) -> Decision:
        lang = facts.language
        local = self._candidates(facts, at, lang, loads, exclude)
        if local.chosen is not None:
            return Assignment(
                local.chosen.id,
                (f"{language_name(lang)} ticket: {self._on_duty_reason(local.chosen, at)}, "
                 f"speaks {language_name(lang)}", *local.notes),
                tier=facts.tier,
            )
        reasons = [f"no {language_name(lang)}-speaking {facts.tier} engineer free on duty"
                   f" at {_clock(at, facts.display_tz)}", *local.notes]
        urgent = facts.priority <= self.urgent
        covered = facts.coverage.is_open(at)
        if urgent or covered:
            why = (f"{facts.priority.name} is urgent" if urgent
                   else f"plan {facts.plan} covers this hour ({facts.coverage.describe()})")
            sun = self._candidates(facts, at, self.follow_the_sun_language, loads, exclude)
            if sun.chosen is not None:
                flags = () if lang == self.follow_the_sun_language else (
                    f"customer wrote in {language_name(lang)}",)
                return Assignment(
                    sun.chosen.id,
                    (*reasons, f"{why}, so it follows the sun: {self._on_duty_reason(sun.chosen, at)}",
                     *sun.notes),
                    follow_the_sun=True, flags=flags, tier=facts.tier,
                )
            reasons += [f"{why}, but nobody who reads {language_name(self.follow_the_sun_language)}"
                        " is free on duty either", *sun.notes]
            return self._queue(facts, at, reasons, alert_lead=True, loads=loads)
        reasons.append(
            f"{facts.priority.name} on plan {facts.plan} outside its hours "
            f"({facts.coverage.describe()}): waits for the next local shift"
        )
        return self._queue(facts, at, reasons, alert_lead=False, loads=loads)

    def escalate(
        self, facts: TicketFacts, loads: Mapping[str, Load], at: datetime,
        to_tier: str | None = None, area: str | None = None, exclude: Collection[str] = (),
    ) -> Decision:
        """Pick the on-duty engineer of the next tier (optionally of an area, e.g. finance)."""
        tier = to_tier or self.roster.next_tier(facts.tier)
        if tier is None:
            raise ValueError(f"{facts.tier} is the top of the escalation ladder")
        if tier not in self.roster.tiers:
            raise ValueError(f'"{tier}" is not a tier (tiers: {", ".join(self.roster.tiers)})')
        skills = facts.skills | ({area} if area else set())
        target = replace(facts, skills=frozenset(skills), tier=tier)
        area_text = f" ({area})" if area else ""
        for language in dict.fromkeys((facts.language, self.follow_the_sun_language, None)):
            found = self._candidates(target, at, language, loads, exclude)
            if found.chosen is not None:
                return Assignment(
                    found.chosen.id,
                    (f"escalated {facts.tier} → {tier}{area_text}: {self._on_duty_reason(found.chosen, at)}",
                     *found.notes),
                    tier=tier,
                )
        reasons = [f"escalated {facts.tier} → {tier}{area_text}: nobody of {tier}{area_text} is free on duty"]
        return self._queue(target, at, reasons, alert_lead=True, loads=loads, any_language=True)

    # -- helpers ------------------------------------------------------------------------

    def _candidates(
        self, facts: TicketFacts, at: datetime, language: str | None,
        loads: Mapping[str, Load], exclude: Collection[str],
    ) -> _Pick:
        on_duty = [
            e for e in self.roster.on_duty(at, language=language, tier=facts.tier)
            if facts.skills <= e.skills and e.id not in exclude
        ]
        free = [e for e in on_duty if _has_room(e, loads)]
        notes = tuple(
            f"{e.name} is at capacity ({loads.get(e.id, Load()).open_count}/{e.max_open} open)"
            for e in on_duty if e not in free
        )
        if not free:
            return _Pick(None, notes)
        chosen = min(free, key=lambda e: _load_key(loads.get(e.id, Load())))
        if len(free) > 1:
            load = loads.get(chosen.id, Load())
            notes += (f"least loaded of {len(free)} on duty ({load.open_count} open)",)
        return _Pick(chosen, notes)

    def _on_duty_reason(self, engineer: Engineer, at: datetime) -> str:
        window = self.roster.duty_at(engineer.id, at)
        via = f" ({window.via})" if window is not None and window.via else ""
        return f"{engineer.name} is on duty{via}"

    def _queue(
        self, facts: TicketFacts, at: datetime, reasons: list[str], *, alert_lead: bool,
        loads: Mapping[str, Load], any_language: bool = False,
    ) -> Queued:
        languages: Iterable[str | None] = (
            (None,) if any_language else (facts.language, self.follow_the_sun_language)
        )
        for language in languages:
            pickup = self._next_pickup(facts, at, language, loads, wait_for_coverage=not alert_lead)
            if pickup is not None:
                when, engineer = pickup
                return Queued(
                    when,
                    (*reasons, f"queued: {engineer.name} comes on duty {_clock(when, facts.display_tz)}"),
                    alert_lead=alert_lead, tier=facts.tier,
                )
        # Nobody will come within the horizon: still never drop the ticket. A lead must act.
        when = at + self.horizon
        return Queued(
            when, (*reasons, f"queued: nobody matching comes on duty within {self.horizon.days} days"),
            alert_lead=True, tier=facts.tier,
        )

    def _next_pickup(
        self, facts: TicketFacts, at: datetime, language: str | None, loads: Mapping[str, Load],
        *, wait_for_coverage: bool,
    ) -> tuple[datetime, Engineer] | None:
        """The first instant after `at` when a matching engineer comes on duty (within the
        plan's hours, for tickets that wait for them). Engineers on duty now but full are
        skipped: they are why the ticket waits."""
        best: tuple[datetime, Engineer] | None = None
        for engineer in self.roster.engineers.values():
            if engineer.tier != facts.tier or not facts.skills <= engineer.skills:
                continue
            if language is not None and language not in engineer.languages:
                continue
            if self.roster.duty_at(engineer.id, at) is not None and not _has_room(engineer, loads):
                continue
            limit = best[0] if best else at + self.horizon
            when = self._first_duty(engineer, at, limit, facts.coverage if wait_for_coverage else None)
            if when is not None and (best is None or when < best[0]):
                best = (when, engineer)
        return best

    def _first_duty(
        self, engineer: Engineer, at: datetime, limit: datetime, coverage: BusinessCalendar | None,
    ) -> datetime | None:
        for window in self.roster.windows(engineer.id, at + timedelta(seconds=1), limit):
            start = window.start
            if coverage is not None:
                start = coverage.next_open(start)
            if start < window.end:
                return start
        return None


def _has_room(engineer: Engineer, loads: Mapping[str, Load]) -> bool:
    return engineer.max_open is None or loads.get(engineer.id, Load()).open_count < engineer.max_open


@dataclass(frozen=True)
class _Pick:
    chosen: Engineer | None
    notes: tuple[str, ...]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _load_key(load: Load) -> tuple[int, datetime]:
    # Fewest open tickets first; among equals, whoever got a ticket longest ago.
    return load.open_count, load.last_assigned_at or _EPOCH


def _clock(at: datetime, tz: str) -> str:
    local = at.astimezone(ZoneInfo(tz))
    return local.strftime("%a %Y-%m-%d %H:%M ") + tz
