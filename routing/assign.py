"""Who gets a ticket: a local engineer who reads it, else follow the sun, else an honest queue.

The rules come from how real first lines work (see domain.md): a region's engineer takes
its requests in priority order; at night, on a national holiday or when the request is
critical, an English-speaking engineer on duty anywhere takes it; requests that can wait
wait for the next local shift, and the customer is told when that is. Every outcome
carries its reasons in words, for the event log and for `dutydesk explain`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from routing.calendar import BusinessCalendar
from routing.priority import Priority
from routing.reasons import At, Hours, Lang, Reason, language_name, reason
from routing.roster import Engineer, Roster

__all__ = ["Assignment", "AssignmentPolicy", "Decision", "Load", "Queued", "TicketFacts", "language_name"]


@dataclass(frozen=True)
class Load:
    open_count: int = 0
    last_assigned_at: datetime | None = None


NO_LOAD = Load()  # an engineer with nothing open (one value: it is asked for per candidate)


@dataclass(frozen=True)
class TicketFacts:
    language: str
    priority: Priority
    plan: str
    coverage: BusinessCalendar  # the hours the customer's plan promises work in
    skills: frozenset[str] = frozenset()  # every one is required (e.g. local:ru, finance)
    tier: str = "l1"
    display_tz: str = "UTC"  # the zone times are written in, in reasons (the customer's)
    organisation: str = ""  # its name, for reasons
    dedicated: tuple[str, ...] = ()  # the organisation's dedicated engineer, then the backup
    office_tz: str | None = None  # an office-time plan: engineers of the office in this zone come first


@dataclass(frozen=True)
class Assignment:
    engineer: str
    reasons: tuple[Reason, ...]
    follow_the_sun: bool = False
    flags: tuple[Reason, ...] = ()  # shown to the engineer, e.g. "customer wrote in Russian"
    tier: str = "l1"


@dataclass(frozen=True)
class Queued:
    pickup_at: datetime
    reasons: tuple[Reason, ...]
    alert_lead: bool = False
    tier: str = "l1"


Decision = Assignment | Queued


@dataclass(frozen=True)
class AssignmentPolicy:
    roster: Roster
    follow_the_sun_language: str = "en"
    urgent: Priority = Priority.P2  # this priority and more urgent never wait for a local shift
    horizon: timedelta = field(default=timedelta(days=21))
    _pickups: dict[tuple[object, ...], _Pickup | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def assign(
        self, facts: TicketFacts, loads: Mapping[str, Load], at: datetime,
        exclude: Collection[str] = (),
    ) -> Decision:
        dedicated, note = self._dedicated(facts, at, exclude)
        if dedicated is not None:
            return dedicated
        decision = self._by_language(facts, at, loads, exclude)
        return decision if note is None else replace(decision, reasons=(note, *decision.reasons))

    def _dedicated(
        self, facts: TicketFacts, at: datetime, exclude: Collection[str],
    ) -> tuple[Assignment | None, Reason | None]:
        """Premium: the organisation's dedicated engineer when on duty, else the backup (at
        their tier, whatever their load: the contract names them); else why the usual rules
        decide."""
        people = [self.roster.engineers[e] for e in facts.dedicated if e in self.roster.engineers]
        people = [e for e in people if e.tier == facts.tier and e.id not in exclude]
        if not people:
            return None, None
        first = self.roster.engineers[facts.dedicated[0]]
        for engineer in people:
            if self.roster.is_on_duty(engineer.id, at):
                on_duty = self._on_duty_reason(engineer, at)
                why = (reason("dedicated", organisation=facts.organisation, on_duty=on_duty) if engineer is first
                       else reason("dedicated_backup", organisation=facts.organisation, dedicated=first.name,
                                   on_duty=on_duty))
                flags = () if facts.language in engineer.languages else (
                    reason("wrote_in", language=Lang(facts.language)),)
                return Assignment(engineer.id, (why,), flags=flags, tier=facts.tier), None
        if len(facts.dedicated) > 1 and facts.dedicated[1] in self.roster.engineers:
            backup = self.roster.engineers[facts.dedicated[1]]
            return None, reason("dedicated_off", organisation=facts.organisation, dedicated=first.name,
                                backup=backup.name)
        return None, reason("dedicated_alone_off", organisation=facts.organisation, dedicated=first.name)

    def _by_language(
        self, facts: TicketFacts, at: datetime, loads: Mapping[str, Load], exclude: Collection[str],
    ) -> Decision:
        lang = facts.language
        local = self._candidates(facts, at, lang, loads, exclude)
        if local.chosen is not None:
            return Assignment(
                local.chosen.id,
                (reason("local", language=Lang(lang), on_duty=self._on_duty_reason(local.chosen, at)), *local.notes),
                tier=facts.tier,
            )
        reasons = [reason("no_local", language=Lang(lang), tier=facts.tier, at=At(at, facts.display_tz)),
                   *local.notes]
        urgent = facts.priority <= self.urgent
        covered = facts.coverage.is_open(at)
        if urgent or covered:
            why = (reason("urgent", priority=facts.priority.name) if urgent
                   else reason("covered", plan=facts.plan, hours=Hours(facts.coverage)))
            sun = self._candidates(facts, at, self.follow_the_sun_language, loads, exclude)
            if sun.chosen is not None:
                flags = () if lang == self.follow_the_sun_language else (reason("wrote_in", language=Lang(lang)),)
                return Assignment(
                    sun.chosen.id,
                    (*reasons, reason("follows_sun", why=why, on_duty=self._on_duty_reason(sun.chosen, at)),
                     *sun.notes),
                    follow_the_sun=True, flags=flags, tier=facts.tier,
                )
            reasons += [reason("nobody_reads", why=why, language=Lang(self.follow_the_sun_language)), *sun.notes]
            return self._queue(facts, at, reasons, alert_lead=True, loads=loads, exclude=exclude)
        reasons.append(reason("outside_hours", priority=facts.priority.name, plan=facts.plan,
                              hours=Hours(facts.coverage)))
        return self._queue(facts, at, reasons, alert_lead=False, loads=loads, exclude=exclude)

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
                on_duty = self._on_duty_reason(found.chosen, at)
                return Assignment(
                    found.chosen.id,
                    (reason("escalated", old=facts.tier, new=tier, area=area_text, on_duty=on_duty), *found.notes),
                    tier=tier,
                )
        reasons = [reason("escalated_nobody", old=facts.tier, new=tier, area=area_text)]
        return self._queue(target, at, reasons, alert_lead=True, loads=loads, exclude=exclude, any_language=True)

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
            reason("at_capacity", name=e.name, open=loads.get(e.id, NO_LOAD).open_count, limit=e.max_open)
            for e in on_duty if e not in free
        )
        if not free:
            return _Pick(None, notes)
        office = facts.office_tz
        chosen = min(free, key=lambda e: (office is not None and e.tz != office, _load_key(loads.get(e.id, NO_LOAD))))
        if office is not None and chosen.tz == office and any(e.tz != office for e in free):
            notes += (reason("office", name=chosen.name, timezone=office),)
            free = [e for e in free if e.tz == office]
        if len(free) > 1:
            load = loads.get(chosen.id, NO_LOAD)
            notes += (reason("least_loaded", count=len(free), open=load.open_count),)
        return _Pick(chosen, notes)

    def _on_duty_reason(self, engineer: Engineer, at: datetime) -> Reason:
        window = self.roster.duty_at(engineer.id, at)
        if window is None:
            return reason("on_duty", name=engineer.name)
        return reason("on_duty_via", name=engineer.name, via=window.via)

    def _queue(
        self, facts: TicketFacts, at: datetime, reasons: list[Reason], *, alert_lead: bool,
        loads: Mapping[str, Load], exclude: Collection[str], any_language: bool = False,
    ) -> Queued:
        """Wait for the next engineer who can take it. A ticket that waits for business hours
        waits for a local engineer (English only if no local one comes within the horizon);
        an urgent one takes whoever comes first, local on a tie."""
        languages: tuple[str | None, ...] = (
            (None,) if any_language else tuple(dict.fromkeys((facts.language, self.follow_the_sun_language)))
        )
        picks = [
            pick for language in languages
            if (pick := self._next_pickup(facts, at, language, loads, exclude, wait_for_coverage=not alert_lead))
        ]
        if picks:
            pick = min(picks, key=lambda p: p.when) if alert_lead else picks[0]
            what = reason("queued_hours" if pick.waits_for_hours else "queued_comes", name=pick.engineer.name,
                          at=At(pick.when, facts.display_tz))
            return Queued(pick.when, (*reasons, what), alert_lead=alert_lead, tier=facts.tier)
        # Nobody will come within the horizon: still never drop the ticket. A lead must act.
        when = at + self.horizon
        return Queued(
            when, (*reasons, reason("queued_nobody", days=self.horizon.days)), alert_lead=True, tier=facts.tier,
        )

    def _next_pickup(
        self, facts: TicketFacts, at: datetime, language: str | None, loads: Mapping[str, Load],
        exclude: Collection[str], *, wait_for_coverage: bool,
    ) -> _Pickup | None:
        """The first instant after `at` when a matching engineer comes on duty (within the
        plan's hours, for tickets that wait for them). An engineer on duty now but full is
        considered from the end of this shift: they are why the ticket waits.

        Remembered per question: under a burst, every waiting ticket asks the same one.
        """
        candidates = [
            e for e in self.roster.engineers.values()
            if e.id not in exclude and e.tier == facts.tier and facts.skills <= e.skills
            and (language is None or language in e.languages)
        ]
        full = frozenset(e.id for e in candidates if not _has_room(e, loads) and self.roster.is_on_duty(e.id, at))
        key = (at, facts.tier, facts.skills, facts.coverage.name, language, wait_for_coverage,
               frozenset(exclude), full)
        if key in self._pickups:
            return self._pickups[key]
        best: _Pickup | None = None
        for engineer in candidates:
            since = at
            if engineer.id in full:
                current = self.roster.duty_at(engineer.id, at)
                since = current.end if current is not None else at
            limit = best.when if best else at + self.horizon
            found = self._first_duty(engineer, since, limit, facts.coverage if wait_for_coverage else None)
            if found is not None and (best is None or found.when < best.when):
                best = found
        if len(self._pickups) >= _PICKUP_MEMO:
            self._pickups.clear()
        self._pickups[key] = best
        return best

    def _first_duty(
        self, engineer: Engineer, since: datetime, limit: datetime, coverage: BusinessCalendar | None,
    ) -> _Pickup | None:
        for window in self.roster.windows(engineer.id, since + timedelta(seconds=1), limit):
            start = window.start if coverage is None else coverage.next_open(window.start)
            if start < window.end:
                return _Pickup(start, engineer, waits_for_hours=start > window.start)
        return None


_PICKUP_MEMO = 1024


@dataclass(frozen=True)
class _Pickup:
    when: datetime
    engineer: Engineer
    waits_for_hours: bool  # the engineer is on duty before; the plan's hours open later


def _has_room(engineer: Engineer, loads: Mapping[str, Load]) -> bool:
    return engineer.max_open is None or loads.get(engineer.id, NO_LOAD).open_count < engineer.max_open


@dataclass(frozen=True)
class _Pick:
    chosen: Engineer | None
    notes: tuple[Reason, ...]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _load_key(load: Load) -> tuple[int, datetime]:
    # Fewest open tickets first; among equals, whoever got a ticket longest ago.
    return load.open_count, load.last_assigned_at or _EPOCH
