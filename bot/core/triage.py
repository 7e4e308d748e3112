"""The configured routing: the pure functions of `routing/`, bound to this desk's config.

Building these is the costly part (language models, compiled patterns, calendars), so it
happens once at start-up; routing a message is then a few function calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from bot.app.config import Config, OrganisationConfig
from bot.core.directory import Directory
from bot.core.domain import Ticket
from bot.sla.clocks import SlaBook
from routing.assign import AssignmentPolicy, Decision, Load, TicketFacts
from routing.calendar import WeeklyHours
from routing.language import LanguageDecision, LanguageDetector, LanguageHints, Reading
from routing.priority import (
    Priority,
    PriorityDecision,
    PriorityDetector,
    default_rules,
    rules_from_mapping,
)
from routing.roster import Engineer, Override, Roster, Rotation, Shift


def build_roster(cfg: Config) -> Roster:
    return Roster(
        engineers={
            e.id: Engineer(
                id=e.id, name=e.name, languages=frozenset(e.languages), tz=e.timezone,
                country=e.country, tier=e.tier, skills=frozenset(e.skills), max_open=e.max_open,
                shift=e.shift, role=e.role,
            )
            for e in cfg.engineers
        },
        shifts={
            name: Shift(name=name, tz=s.timezone, hours=WeeklyHours.parse(s.hours), observe_holidays=s.holidays)
            for name, s in cfg.shifts.items()
        },
        rotations=tuple(
            Rotation(name=r.name, shift=r.shift, members=tuple(r.members), start=r.start, every=r.every)
            for r in cfg.rotations
        ),
        overrides=tuple(
            Override(engineer=o.engineer, start=o.start, end=o.end, replaces=o.replaces, reason=o.reason)
            for o in cfg.overrides
        ),
        tiers=tuple(cfg.routing.tiers),
    )


def build_priority_detector(cfg: Config) -> PriorityDetector:
    extra = {Priority[name]: patterns for name, patterns in cfg.routing.priority.items()}
    return PriorityDetector((*default_rules(), *rules_from_mapping(extra)))


class Triage:
    def __init__(
        self, cfg: Config, directory: Directory, sla: SlaBook,
        detector: LanguageDetector | None = None,
    ) -> None:
        self._cfg = cfg
        self._directory = directory
        self._sla = sla
        self.detector = detector or LanguageDetector(cfg.desk.languages, default=cfg.desk.default_language)
        self.priorities = build_priority_detector(cfg)
        self._base_roster = build_roster(cfg)
        self.policy = self._policy(self._base_roster)

    def _policy(self, roster: Roster) -> AssignmentPolicy:
        return AssignmentPolicy(
            roster=roster,
            follow_the_sun_language=self._cfg.routing.follow_the_sun_language,
            urgent=self._cfg.routing.urgent,
        )

    @property
    def roster(self) -> Roster:
        return self.policy.roster

    def set_overrides(self, overrides: Iterable[Override]) -> None:
        """Overrides made by leads at run time join the configured ones."""
        self.policy = self._policy(self._base_roster.with_overrides(overrides))

    def language(
        self, text: str, *, platform: str | None, org: OrganisationConfig | None,
        ticket_language: str | None = None, context: str | None = None, reading: Reading | None = None,
    ) -> LanguageDecision:
        hints = LanguageHints(
            platform=platform, organisation=org.language if org else None, ticket=ticket_language
        )
        return self.detector.detect(text, hints, context=context, reading=reading)

    def priority(self, text: str, *, chosen: Priority | None, plan: str) -> PriorityDecision:
        return self.priorities.decide(
            text, chosen=chosen, floor=self._sla.plan(plan).priority_floor, plan=plan
        )

    def facts(self, ticket: Ticket) -> TicketFacts:
        org = self._directory.organisation(ticket.org_id)
        return TicketFacts(
            language=ticket.language,
            priority=ticket.priority,
            plan=ticket.plan,
            coverage=self._sla.calendar(ticket),
            skills=frozenset(org.skills) if org else frozenset(),
            tier=ticket.tier,
            display_tz=ticket.customer_tz,
            organisation=org.name if org else "",
            dedicated=tuple(x for x in (org.dedicated, org.backup) if x) if org else (),
            office_tz=self._sla.office(ticket),
        )

    def assign(
        self, ticket: Ticket, loads: Mapping[str, tuple[int, datetime | None]], at: datetime,
        exclude: Iterable[str] = (),
    ) -> Decision:
        return self.policy.assign(self.facts(ticket), _loads(loads), at, exclude=frozenset(exclude))

    def escalate(
        self, ticket: Ticket, loads: Mapping[str, tuple[int, datetime | None]], at: datetime,
        to_tier: str | None = None, area: str | None = None,
    ) -> Decision:
        exclude = {ticket.assignee} if ticket.assignee else set()
        return self.policy.escalate(self.facts(ticket), _loads(loads), at, to_tier, area, exclude)

    def on_duty(self, engineer_id: str, at: datetime) -> bool:
        return self.roster.duty_at(engineer_id, at) is not None


def _loads(raw: Mapping[str, tuple[int, datetime | None]]) -> dict[str, Load]:
    return {k: Load(count, last) for k, (count, last) in raw.items()}
