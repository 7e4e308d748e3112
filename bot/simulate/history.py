"""What a history (an existing dutydesk database) says about arrivals and handling times.

Arrivals: its tickets per hour of the week, plan, language and priority. Handling: for each
ticket answered, the on-duty time of the engineer who answered from when they were given it
to the answer; for each ticket resolved, the resolver's on-duty time from the first answer
(or from when they were given it, if later) to the resolution. On-duty time comes from the
config's roster, so a ticket given at 18:55 and answered at 10:05 the next morning counts
ten minutes, not fifteen hours.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app.config import Config, ConfigError
from bot.core.domain import EventType, Ticket
from bot.core.records import ticket_from_row
from bot.core.triage import build_roster
from bot.simulate.arrivals import Rates, Stream, rates_from_tickets
from bot.simulate.duty import Duty
from bot.simulate.handling import HandlingTimes, from_samples
from bot.sla.report import MAX_TICKETS
from storage import open_store
from storage.base import TicketQuery

GIVEN = (EventType.ASSIGNED.value, EventType.REASSIGNED.value)


@dataclass(frozen=True)
class History:
    rates: Rates
    handling: HandlingTimes
    tickets: int


async def read_history(db: Path, cfg: Config) -> History:
    """`db` must exist (checked by the caller: an async function does no file I/O)."""
    store = await open_store(f"sqlite:///{db}")
    try:
        tickets = [ticket_from_row(r) for r in await store.tickets(TicketQuery(limit=MAX_TICKETS))]
        if not tickets:
            raise ConfigError(f"{db}: no tickets to learn from")
        start = min(t.created_at for t in tickets)
        end = max(t.updated_at for t in tickets) + timedelta(seconds=1)
        events = await store.events_between(GIVEN, start, end)
    finally:
        await store.close()
    given: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for event in events:
        engineer = event["data"].get("engineer")
        if isinstance(engineer, str):
            given[event["ticket_id"]].append((event["at"], engineer))
    tz = ZoneInfo(cfg.desk.timezone)
    rates = rates_from_tickets(((t.created_at, Stream(t.plan, t.language, t.priority)) for t in tickets), tz)
    duty = Duty(build_roster(cfg), start - timedelta(days=1), end + timedelta(days=1))
    answers, resolutions = [], []
    for ticket in tickets:
        answer = _answer_time(ticket, given[ticket.id], duty)
        if answer is not None:
            answers.append(answer)
        resolution = _resolution_time(ticket, given[ticket.id], duty)
        if resolution is not None:
            resolutions.append(resolution)
    return History(rates, from_samples(answers, resolutions), len(tickets))


def _holder_at(given: list[tuple[datetime, str]], instant: datetime) -> tuple[datetime, str] | None:
    """Who had the ticket at `instant`, and since when (the last time it was given)."""
    before = [entry for entry in given if entry[0] <= instant]
    return max(before) if before else None


def _answer_time(ticket: Ticket, given: list[tuple[datetime, str]], duty: Duty) -> float | None:
    answered = ticket.first_response_at
    holder = _holder_at(given, answered) if answered is not None else None
    if answered is None or holder is None:
        return None
    return duty.seconds(holder[1], holder[0], answered)


def _resolution_time(ticket: Ticket, given: list[tuple[datetime, str]], duty: Duty) -> float | None:
    resolved, answered = ticket.resolved_at, ticket.first_response_at
    holder = _holder_at(given, resolved) if resolved is not None else None
    if resolved is None or answered is None or holder is None:
        return None
    return duty.seconds(holder[1], max(holder[0], answered), resolved)
