"""What a run achieved, read back from its database the way `dutydesk report` reads one.

- SLA met per plan and priority: first response and resolution judged by the report's own
  `judge` (the ticket's SLA record: the answer's instant against the target on the plan's
  calendar); progress updates: of the update deadlines a ticket reached, the share where
  the customer heard from an engineer before the desk had to send its automatic update.
- Queue waits: from a ticket's creation to its first assignment (a ticket still waiting
  when the run ends counts with the wait so far).
- Breaches by hour of the week (the desk's home time zone) and each engineer's load.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.domain import EventType, Ticket
from bot.core.records import ticket_from_row
from bot.simulate.arrivals import HOURS_PER_WEEK, hour_of_week
from bot.simulate.duty import Duty
from bot.simulate.engineers import Load
from bot.sla.clocks import BREACH, FIRST_RESPONSE, RESOLUTION, UPDATE
from bot.sla.report import MAX_TICKETS, judge, quantile
from storage.base import Store, TicketQuery

CLOCKS = (FIRST_RESPONSE, RESOLUTION, UPDATE)
ALL = "all"


@dataclass
class Share:
    met: int = 0
    decided: int = 0

    def add(self, met: bool) -> None:
        self.decided += 1
        self.met += met

    @property
    def percent(self) -> float | None:
        return 100 * self.met / self.decided if self.decided else None


@dataclass
class EngineerLoad:
    load: Load
    on_duty_hours: float


@dataclass
class Result:
    label: str
    tickets: int = 0
    # (plan, priority) -> clock -> share; "all" stands for every plan or priority.
    sla: dict[tuple[str, str], dict[str, Share]] = field(default_factory=dict)
    waits: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # plan -> p50, p90 s
    breaches_by_hour: list[int] = field(default_factory=lambda: [0] * HOURS_PER_WEEK)
    engineers: dict[str, EngineerLoad] = field(default_factory=dict)

    def share(self, plan: str, priority: str, clock: str) -> Share:
        return self.sla.get((plan, priority), {}).get(clock, Share())


def _groups(ticket: Ticket) -> Iterable[tuple[str, str]]:
    priority = ticket.priority.name
    return ((ticket.plan, priority), (ticket.plan, ALL), (ALL, priority), (ALL, ALL))


async def measure(label: str, store: Store, start: datetime, end: datetime, tz: ZoneInfo,
                  loads: dict[str, Load], duty: Duty) -> Result:
    rows = await store.tickets(TicketQuery(created_from=start, created_to=end, limit=MAX_TICKETS))
    tickets = {t.id: t for t in (ticket_from_row(r) for r in rows)}
    result = Result(label, tickets=len(tickets))
    for ticket in tickets.values():
        for clock in (FIRST_RESPONSE, RESOLUTION):
            verdict = judge(ticket, clock, end)
            if verdict.decided:
                for group in _groups(ticket):
                    _cell(result, group, clock).add(verdict.met)
    await _updates(result, store, tickets, start, end)
    await _waits(result, store, tickets, start, end)
    for event in await store.events_between((EventType.SLA_BREACHED.value,), start, end):
        if event["ticket_id"] in tickets:
            result.breaches_by_hour[hour_of_week(event["at"], tz)] += 1
    result.engineers = {
        engineer: EngineerLoad(load, (duty.seconds(engineer, start, end) or 0.0) / 3600)
        for engineer, load in sorted(loads.items())
    }
    return result


def _cell(result: Result, group: tuple[str, str], clock: str) -> Share:
    return result.sla.setdefault(group, {}).setdefault(clock, Share())


async def _updates(result: Result, store: Store, tickets: dict[int, Ticket], start: datetime, end: datetime) -> None:
    """Each update deadline a ticket reached (its notice or the update itself fired) is one
    promise; it is missed when the automatic update had to go out."""
    reached: dict[tuple[int, str], bool] = {}
    for event in await store.events_between((EventType.REMINDER_SENT.value,), start, end):
        data = event["data"]
        if data.get("clock") != UPDATE or event["ticket_id"] not in tickets:
            continue
        key = (event["ticket_id"], str(data.get("due")))
        reached[key] = reached.get(key, False) or int(data.get("stage", 0)) >= BREACH
    for (ticket_id, _), missed in sorted(reached.items()):
        for group in _groups(tickets[ticket_id]):
            _cell(result, group, UPDATE).add(not missed)


async def _waits(result: Result, store: Store, tickets: dict[int, Ticket], start: datetime, end: datetime) -> None:
    first: dict[int, datetime] = {}
    for event in await store.events_between((EventType.ASSIGNED.value,), start, end):
        first.setdefault(event["ticket_id"], event["at"])
    waits: dict[str, list[float]] = defaultdict(list)
    for ticket in tickets.values():
        wait = (first.get(ticket.id, end) - ticket.created_at).total_seconds()
        waits[ticket.plan].append(wait)
        waits[ALL].append(wait)
    result.waits = {plan: (quantile(values, 0.5), quantile(values, 0.9)) for plan, values in sorted(waits.items())}

