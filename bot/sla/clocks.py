"""SLA clocks: targets per plan and priority, counted on the plan's business calendar.

Three clocks run per ticket: first response (met only by a human engineer's message to the
customer), resolution (paused while the ticket waits on the customer), and a periodic
progress update (every two days by default). Each clock becomes deadline rows — warnings
at fractions of the target and the breach at 100 % — that the scheduler fires. Deadlines
are recomputed from the ticket's state whenever it changes, so a priority change keeps
the time already used and only moves the target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from operator import attrgetter
from typing import NamedTuple

from bot.app.config import CalendarConfig, Config, PlanConfig
from bot.core.domain import ClockOutcome, SlaMark, Ticket
from routing.calendar import BusinessCalendar, Holidays, WeeklyHours
from routing.priority import Priority

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
UPDATE = "update"
BREACH = 100  # the stage of a deadline that is the target itself

ALWAYS = BusinessCalendar(name="24/7", tz="UTC", hours=None)


def build_calendar(name: str, cfg: CalendarConfig) -> BusinessCalendar:
    if cfg.always:
        return BusinessCalendar(name=name, tz=cfg.timezone, hours=None)
    return BusinessCalendar(
        name=name,
        tz=cfg.timezone,
        hours=WeeklyHours.parse(cfg.hours),
        holidays=Holidays(
            country=cfg.holidays,
            subdiv=cfg.holiday_subdiv,
            extra=frozenset(cfg.extra_holidays),
            workdays=frozenset(cfg.extra_workdays),
        ),
    )


def _office(cfg: CalendarConfig, timezone: str, country: str | None) -> CalendarConfig:
    """A calendar's hours in an office's zone. Its days off and transferred working days are
    those of its country: kept for an office in the same country, else the office's own
    country's public holidays alone."""
    if country is None or country == cfg.holidays:
        return cfg.model_copy(update={"timezone": timezone})
    return cfg.model_copy(update={"timezone": timezone, "holidays": country, "holiday_subdiv": None,
                                  "extra_holidays": [], "extra_workdays": []})


def build_calendars(cfg: Config) -> dict[str, BusinessCalendar]:
    calendars = {"24/7": ALWAYS}
    calendars.update({name: build_calendar(name, c) for name, c in cfg.calendars.items()})
    return calendars


@dataclass(frozen=True)
class Targets:
    plan: str
    priority: Priority
    calendar: BusinessCalendar
    first_response: timedelta
    resolution: timedelta
    update_every: timedelta
    update_calendar: BusinessCalendar
    update_notice: timedelta
    reminders: tuple[float, ...]
    escalate_on_breach: bool
    progress_note: bool


class Deadline(NamedTuple):
    """A tuple, not a dataclass: several are made for every ticket decided."""

    clock: str
    stage: int  # percent of the target: 50, 80, 100 (= breach)
    target_at: datetime  # the whole target: the same for every stage of one deadline
    due_at: datetime


class SlaBook:
    """The configured SLA policies and the arithmetic that turns a ticket into deadlines."""

    def __init__(self, cfg: Config, calendars: dict[str, BusinessCalendar]) -> None:
        self.calendars = calendars
        self._plans = cfg.plans
        self._default_plan = cfg.desk.default_plan
        self._calendar_configs = cfg.calendars
        self._countries = {o.id: o.country for o in cfg.organisations}
        self._targets: dict[tuple[str, Priority], Targets] = {}
        self._offices: dict[tuple[str, str, str | None], BusinessCalendar] = {}
        self._runs: dict[int, tuple[tuple[object, ...], dict[str, Run]]] = {}

    def plan(self, name: str) -> PlanConfig:
        return self._plans.get(name) or self._plans[self._default_plan]

    def coverage(self, plan: str, timezone: str | None = None, org_id: str | None = None) -> BusinessCalendar:
        """The plan's hours — for an office-time plan, those of the office in the customer's
        time zone (`timezone`) with the holidays of the organisation's country."""
        name = self.plan(plan).calendar
        if not self.plan(plan).office_time or timezone is None or name not in self._calendar_configs:
            return self.calendars[name]
        country = self._countries.get(org_id or "")
        own = self._calendar_configs[name]
        if timezone == own.timezone and country in (None, own.holidays):
            return self.calendars[name]  # the calendar's own office
        key = (name, timezone, country)
        found = self._offices.get(key)
        if found is None:
            found = self._offices[key] = build_calendar(f"{name} ({timezone})", _office(
                self._calendar_configs[name], timezone, country))
        return found

    def office(self, ticket: Ticket) -> str | None:
        """The time zone of the office that handles the ticket, on an office-time plan."""
        return ticket.customer_tz if self.plan(ticket.plan).office_time else None

    def targets(self, plan_name: str, priority: Priority) -> Targets:
        """The plan's targets for a priority (the config is fixed, so each pair is built once)."""
        key = (plan_name, priority)
        found = self._targets.get(key)
        if found is None:
            found = self._targets[key] = self._build_targets(plan_name, priority)
        return found

    def _build_targets(self, plan_name: str, priority: Priority) -> Targets:
        plan = self.plan(plan_name)
        override = plan.priorities.get(priority.name)
        return Targets(
            plan=plan_name,
            priority=priority,
            calendar=self.calendars[plan.calendar],
            first_response=(override and override.first_response) or plan.first_response,
            resolution=(override and override.resolution) or plan.resolution,
            update_every=(override and override.update_every) or plan.update_every,
            update_calendar=self.calendars[plan.update_calendar or "24/7"],
            update_notice=min(plan.update_notice, ((override and override.update_every) or plan.update_every) / 2),
            reminders=tuple(plan.reminders),
            escalate_on_breach=plan.escalate_on_breach,
            progress_note=plan.progress_note,
        )

    # -- clock state transitions ------------------------------------------------------------

    def pause(self, ticket: Ticket, now: datetime) -> None:
        """Stop the resolution clock, banking the working time used so far."""
        clock = ticket.clock
        if clock.running_since is None:
            return
        cal = self.calendar(ticket)
        clock.resolution_used_s += int(cal.elapsed(clock.running_since, now).total_seconds())
        clock.running_since = None
        clock.paused_at = now

    def resume(self, ticket: Ticket, now: datetime) -> None:
        if ticket.clock.running_since is None:
            ticket.clock.running_since = now
            ticket.clock.paused_at = None

    # -- the clocks, worked out from the ticket's marks ---------------------------------------

    def calendar(self, ticket: Ticket) -> BusinessCalendar:
        """The calendar the ticket's first-response and resolution clocks count on."""
        return self.coverage(ticket.plan, ticket.customer_tz, ticket.org_id)

    def marks(self, ticket: Ticket, now: datetime) -> list[SlaMark]:
        """The ticket's marks with its state now as the last one (several changes at one
        instant are one mark: the state they leave)."""
        marks = _history(ticket)[0]
        current = _mark(ticket, now)
        if marks and _same_state(marks[-1], current):
            return marks
        if marks and marks[-1].at >= now:
            return [*marks[:-1], replace(current, at=marks[-1].at)]
        return [*marks, current]

    def runs(self, ticket: Ticket, now: datetime) -> dict[str, Run]:
        """Both clocks over the ticket's marks up to `now`. A decision asks before its commit
        (the acknowledgement's due time, a reminder's wording) and the commit asks again for
        the same state: the last answer per ticket is kept, keyed by all it depends on."""
        marks = self.marks(ticket, now)
        banked_s = _history(ticket)[1]
        key = (now, ticket.created_at, ticket.plan, ticket.customer_tz, ticket.org_id, banked_s, tuple(marks))
        known = self._runs.get(ticket.id)
        if known is not None and known[0] == key:
            return dict(known[1])
        found = self._walk_clocks(ticket, marks, timedelta(seconds=banked_s), now)
        if len(self._runs) >= 4096:
            self._runs.clear()
        self._runs[ticket.id] = (key, found)
        return dict(found)

    def _walk_clocks(self, ticket: Ticket, marks: list[SlaMark], banked: timedelta, now: datetime) -> dict[str, Run]:
        t = self.targets(ticket.plan, ticket.priority)
        cal = self.calendar(ticket)
        return {
            FIRST_RESPONSE: _walk(
                cal, marks, ticket.created_at, timedelta(0), self._target_of(ticket.plan, FIRST_RESPONSE),
                lambda m: m.responding, lambda m: m.answered, now, t.reminders,
            ),
            RESOLUTION: _walk(
                cal, marks, marks[0].at, banked, self._target_of(ticket.plan, RESOLUTION),
                lambda m: m.running, lambda m: m.resolved, now, t.reminders,
            ),
        }

    def record(self, ticket: Ticket, now: datetime) -> dict[str, Run]:
        """Bring the ticket's SLA record up to `now` (at commit): its marks, and each clock's
        outcome for reports. Returns the runs, from which the deadlines follow."""
        ticket.sla.banked_s = _history(ticket)[1]
        ticket.sla.marks = self.marks(ticket, now)
        ticket.sla.legacy = False
        found = self.runs(ticket, now)
        ticket.sla.outcomes = {clock: run.outcome(now) for clock, run in found.items()}
        return found

    def _target_of(self, plan: str, clock: str) -> Callable[[Priority], timedelta]:
        return lambda priority: getattr(self.targets(plan, priority), clock)

    # -- deadlines -------------------------------------------------------------------------------

    def first_response_due(self, ticket: Ticket, now: datetime) -> datetime | None:
        """When the first response is due under the ticket's state now (None: answered)."""
        return self.runs(ticket, now)[FIRST_RESPONSE].due_at

    def schedule(
        self, ticket: Ticket, now: datetime, runs: dict[str, Run] | None = None,
    ) -> dict[str, list[Deadline]]:
        """The deadlines each SLA clock should have now (empty list: the clock is off)."""
        found = self.runs(ticket, now) if runs is None else runs
        return {
            clock: run.deadlines(clock) if ticket.is_open else []
            for clock, run in found.items()
        } | {UPDATE: self.updates(ticket, now)}

    def updates(self, ticket: Ticket, now: datetime) -> list[Deadline]:
        """A progress update every `update_every` after the customer last heard from the desk
        (acknowledgement, answer or update) — queued, escalated or waiting on them alike —
        with a reminder `update_notice` before it, so that a person can write instead.

        Emits the latest period end already passed (fired at most once, thanks to the
        deadline's unique key) and the next one with its notice: after downtime the desk
        catches up with one update, not one per missed period.
        """
        if not ticket.is_open or ticket.last_update_at is None:
            return []
        t = self.targets(ticket.plan, ticket.priority)
        cal = t.update_calendar
        since, due = ticket.last_update_at, cal.add(ticket.last_update_at, t.update_every)
        found = []
        while due <= now:
            since, due = due, cal.add(due, t.update_every)
        if since != ticket.last_update_at:
            found.append(Deadline(UPDATE, BREACH, since, since))
        if t.update_notice > timedelta(0):
            stage = round((1 - t.update_notice / t.update_every) * 100)
            found.append(Deadline(UPDATE, stage, due, cal.add(since, t.update_every - t.update_notice)))
        found.append(Deadline(UPDATE, BREACH, due, due))
        return found


@dataclass(frozen=True)
class Run:
    """One SLA clock worked out over a ticket's marks.

    The rule, on the clock's calendar: the clock counts working time while it runs; its
    target is the one of the priority in force; it is used up at the first instant the time
    counted reaches the target in force (after every change made at that instant). The
    first response or resolution is met when it comes at or before that instant. So a
    target shortened below the time already used is used up at once, paused or not.
    """

    target: timedelta  # in force at the decision, or now
    used: timedelta  # working time counted by the decision, or by now
    due_at: datetime | None  # the target used up: passed (a breach) or ahead; None: stopped, not breached
    decided_at: datetime | None  # when it was answered / resolved; None while it is not
    holder: str | None  # who held the ticket when the target was met or ran out (or holds it now)
    warnings: tuple[tuple[int, datetime], ...] = ()  # (percent, instant) in the stretch the target falls in

    def outcome(self, now: datetime) -> ClockOutcome:
        met = None if self.decided_at is None else self.due_at is None
        return ClockOutcome(
            target_s=int(self.target.total_seconds()), used_s=int(self.used.total_seconds()), due_at=self.due_at,
            decided_at=self.decided_at, met=met, holder=self.holder, as_of=now,
        )

    def deadlines(self, clock: str) -> list[Deadline]:
        """Warnings and the breach while undecided. A target already used up is due at once
        (at the instant it was used up, which never changes again): its alert goes out
        exactly once, by the deadline row's unique key."""
        if self.decided_at is not None or self.due_at is None:
            return []
        found = [Deadline(clock, stage, self.due_at, due) for stage, due in self.warnings]
        return [*found, Deadline(clock, BREACH, self.due_at, self.due_at)]


def _walk(
    calendar: BusinessCalendar, marks: Sequence[SlaMark], start: datetime, banked: timedelta,
    target_of: Callable[[Priority], timedelta], runs: Callable[[SlaMark], bool],
    decides: Callable[[SlaMark], bool], now: datetime, reminders: tuple[float, ...],
) -> Run:
    used, target = banked, target_of(marks[-1].priority)
    due = decided_at = None
    holder = marks[-1].holder
    stretch: tuple[datetime, timedelta] | None = None  # the last running stretch: since, used by then
    for i, mark in enumerate(marks):
        begin = start if i == 0 else mark.at
        end = marks[i + 1].at if i + 1 < len(marks) else None
        if decides(mark):
            if decided_at is None:
                decided_at = mark.at
                if due is None:
                    holder = mark.holder
            continue
        decided_at = None
        target = target_of(mark.priority)
        stretch = (begin, used) if runs(mark) else None
        if due is None:
            if used >= target:  # used up by a change at `begin`: charged to whoever had it until then
                due, holder = begin, marks[i - 1].holder if i else mark.holder
            elif runs(mark):
                at = calendar.add(begin, target - used)
                if end is None or at < end:
                    due, holder = at, mark.holder
        if runs(mark):
            used += calendar.elapsed(begin, end if end is not None else max(now, begin))
    if decided_at is None and due is None:
        holder = marks[-1].holder
    warnings: tuple[tuple[int, datetime], ...] = ()
    # Warnings of the stretch the target falls in; those already due are still sent once.
    if decided_at is None and due is not None and stretch is not None and due >= stretch[0]:
        since, used_then = stretch
        stages = [
            (round(fraction * 100), share - used_then)
            for fraction in reminders
            if (share := timedelta(seconds=round(target.total_seconds() * fraction))) > used_then
        ]
        dues = calendar.add_each(since, [left for _, left in stages])
        warnings = tuple((stage, at) for (stage, _), at in zip(stages, dues, strict=True))
    return Run(target, used, due, decided_at, holder, warnings)


def _mark(ticket: Ticket, now: datetime) -> SlaMark:
    return SlaMark(
        at=now, priority=ticket.priority,
        responding=ticket.first_response_at is None and ticket.is_open,
        answered=ticket.first_response_at is not None,
        running=ticket.clock.running_since is not None and ticket.is_open,
        resolved=ticket.resolved_at is not None,
        holder=ticket.assignee,
    )


# A mark's state: every field but `at` (read at once; `dataclasses.replace` cost more
# than the rest of a commit's mark keeping).
_state = attrgetter(*(f.name for f in fields(SlaMark) if f.name != "at"))


def _same_state(a: SlaMark, b: SlaMark) -> bool:
    return bool(_state(a) == _state(b))


def _history(ticket: Ticket) -> tuple[list[SlaMark], int]:
    """The ticket's marks so far and the resolution time banked before the first one. A
    ticket stored before marks were kept goes on from the state it has: the resolution
    clock from when it last started or stopped, with the time it had banked."""
    record = ticket.sla
    if record.marks or not record.legacy:
        return record.marks, record.banked_s
    since = ticket.clock.running_since or ticket.clock.paused_at or ticket.created_at
    return [_mark(ticket, max(since, ticket.created_at))], ticket.clock.resolution_used_s
