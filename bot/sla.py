"""SLA clocks: targets per plan and priority, counted on the plan's business calendar.

Three clocks run per ticket: first response (met only by a human engineer's message to the
customer), resolution (paused while the ticket waits on the customer), and a periodic
progress update (every two days by default). Each clock becomes deadline rows — warnings
at fractions of the target and the breach at 100 % — that the scheduler fires. Deadlines
are recomputed from the ticket's state whenever it changes, so a priority change keeps
the time already used and only moves the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from bot.config import CalendarConfig, Config, PlanConfig
from bot.domain import Status, Ticket
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
        self._targets: dict[tuple[str, Priority], Targets] = {}

    def plan(self, name: str) -> PlanConfig:
        return self._plans.get(name) or self._plans[self._default_plan]

    def coverage(self, plan: str) -> BusinessCalendar:
        return self.calendars[self.plan(plan).calendar]

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
        cal = self.targets(ticket.plan, ticket.priority).calendar
        clock.resolution_used_s += int(cal.elapsed(clock.running_since, now).total_seconds())
        clock.running_since = None
        clock.paused_at = now

    def resume(self, ticket: Ticket, now: datetime) -> None:
        if ticket.clock.running_since is None:
            ticket.clock.running_since = now
            ticket.clock.paused_at = None

    # -- deadlines -------------------------------------------------------------------------------

    def first_response_due(self, ticket: Ticket) -> datetime:
        t = self.targets(ticket.plan, ticket.priority)
        return t.calendar.add(ticket.created_at, t.first_response)

    def schedule(self, ticket: Ticket, now: datetime) -> dict[str, list[Deadline]]:
        """The deadlines each SLA clock should have now (empty list: the clock is off)."""
        t = self.targets(ticket.plan, ticket.priority)
        return {
            FIRST_RESPONSE: self._first_response(ticket, t),
            RESOLUTION: self._resolution(ticket, t),
            UPDATE: self._update(ticket, t, now),
        }

    def _first_response(self, ticket: Ticket, t: Targets) -> list[Deadline]:
        if ticket.first_response_at is not None or not ticket.is_open:
            return []
        return _stages(FIRST_RESPONSE, t, t.first_response, ticket.created_at, timedelta(0), t.calendar)

    def _resolution(self, ticket: Ticket, t: Targets) -> list[Deadline]:
        clock = ticket.clock
        if not ticket.is_open or clock.running_since is None:
            return []
        used = timedelta(seconds=clock.resolution_used_s)
        return _stages(RESOLUTION, t, t.resolution, clock.running_since, used, t.calendar)

    def _update(self, ticket: Ticket, t: Targets, now: datetime) -> list[Deadline]:
        """Every `update_every` without a human update, one reminder.

        Emits the latest period end already passed (fired at most once, thanks to the
        deadline's unique key) and the next one: after downtime the desk catches up with
        one reminder, not one per missed period.
        """
        if ticket.status not in (Status.ASSIGNED, Status.IN_PROGRESS) or ticket.last_update_at is None:
            return []
        cal = t.update_calendar
        due = cal.add(ticket.last_update_at, t.update_every)
        passed = None
        while due <= now:
            passed, due = due, cal.add(due, t.update_every)
        found = [Deadline(UPDATE, BREACH, due, due)]
        if passed is not None:
            found.insert(0, Deadline(UPDATE, BREACH, passed, passed))
        return found


def _stages(
    clock: str, t: Targets, total: timedelta, start: datetime, used: timedelta,
    calendar: BusinessCalendar,
) -> list[Deadline]:
    """Warnings at each reminder fraction and the breach, skipping fractions already used.

    A clock whose whole target is used up has breached already (and said so): resuming it
    must not breach it again.
    """
    if used >= total:
        return []
    stages = [
        (round(fraction * 100), mark - used)
        for fraction in (*t.reminders, 1.0)
        if (mark := timedelta(seconds=round(total.total_seconds() * fraction))) > used or fraction == 1.0
    ]
    dues = calendar.add_each(start, [remaining for _, remaining in stages])
    target = dues[-1]
    return [Deadline(clock, stage, target, due) for (stage, _), due in zip(stages, dues, strict=True)]
