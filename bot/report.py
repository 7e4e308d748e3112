"""SLA compliance: how many tickets met their first-response and resolution targets.

A ticket counts for a clock once the clock is decided: the engineer answered (or the
target passed unanswered), the ticket was resolved (or the target passed). "Met" means
decided and never breached — the breach events in the log are the record, so a priority
change mid-way is judged by the target that applied. The automatic acknowledgement is no
response: only a human engineer's message sets the first-response time.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain import EventType, Ticket
from bot.records import ticket_from_row
from bot.sla import FIRST_RESPONSE, RESOLUTION
from routing.durations import format_duration
from storage.base import Store, TicketQuery

TARGET = 0.75  # the share of tickets the domain's vendors promise to meet
MAX_TICKETS = 1_000_000


@dataclass
class Line:
    group: str
    tickets: int = 0
    first_met: int = 0
    first_decided: int = 0
    resolved_met: int = 0
    resolved_decided: int = 0
    first_times: list[float] = field(default_factory=list)
    resolution_times: list[float] = field(default_factory=list)

    def share(self, met: int, decided: int) -> float | None:
        return met / decided if decided else None


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    lines: list[Line]


async def sla_report(store: Store, since: datetime, until: datetime, now: datetime) -> Report:
    rows = await store.tickets(TicketQuery(created_from=since, created_to=until, limit=MAX_TICKETS))
    tickets = [ticket_from_row(r) for r in rows]
    breaches: dict[int, set[str]] = defaultdict(set)
    for event in await store.events_between((EventType.SLA_BREACHED.value,), since, now):
        breaches[event["ticket_id"]].add(str(event["data"].get("clock")))
    groups: dict[str, Line] = {}
    for ticket in tickets:
        for group in _groups(ticket):
            _count(groups.setdefault(group, Line(group)), ticket, breaches.get(ticket.id, set()))
    order = sorted(groups.values(), key=lambda line: (line.group != "all", line.group))
    return Report(since, until, order)


def _groups(ticket: Ticket) -> Iterable[str]:
    yield "all"
    yield f"plan={ticket.plan}"
    yield f"priority={ticket.priority.name}"
    yield f"language={ticket.language}"
    yield f"engineer={ticket.assignee or '-'}"


def _count(line: Line, ticket: Ticket, breached: set[str]) -> None:
    line.tickets += 1
    if ticket.first_response_at is not None or FIRST_RESPONSE in breached:
        line.first_decided += 1
        if ticket.first_response_at is not None and FIRST_RESPONSE not in breached:
            line.first_met += 1
    if ticket.first_response_at is not None:
        line.first_times.append((ticket.first_response_at - ticket.created_at).total_seconds())
    if ticket.resolved_at is not None or RESOLUTION in breached:
        line.resolved_decided += 1
        if ticket.resolved_at is not None and RESOLUTION not in breached:
            line.resolved_met += 1
    if ticket.resolved_at is not None:
        line.resolution_times.append((ticket.resolved_at - ticket.created_at).total_seconds())


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return format_duration(timedelta(seconds=round(seconds / 60) * 60)) if seconds >= 60 else "<1m"


COLUMNS = ("group", "tickets", "first response met", "resolution met", "first response p50", "p90",
           "resolution p50", "p90")


def _cells(line: Line) -> tuple[str, ...]:
    return (
        line.group, str(line.tickets),
        f"{_percent(line.share(line.first_met, line.first_decided))} of {line.first_decided}",
        f"{_percent(line.share(line.resolved_met, line.resolved_decided))} of {line.resolved_decided}",
        _duration(_quantile(line.first_times, 0.5)), _duration(_quantile(line.first_times, 0.9)),
        _duration(_quantile(line.resolution_times, 0.5)), _duration(_quantile(line.resolution_times, 0.9)),
    )


def as_table(report: Report) -> str:
    rows = [COLUMNS, *(_cells(line) for line in report.lines)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    head = (f"SLA report {report.since:%Y-%m-%d %H:%M} — {report.until:%Y-%m-%d %H:%M} UTC "
            f"(target: {TARGET:.0%} met)")
    body = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    return "\n".join([head, *body])


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["group", "tickets", "first_decided", "first_met", "resolved_decided", "resolved_met",
                     "first_p50_s", "first_p90_s", "resolution_p50_s", "resolution_p90_s"])
    for line in report.lines:
        writer.writerow([
            line.group, line.tickets, line.first_decided, line.first_met, line.resolved_decided,
            line.resolved_met, *(_round(_quantile(v, q)) for v in (line.first_times, line.resolution_times)
                                 for q in (0.5, 0.9)),
        ])
    return out.getvalue()


def _round(value: float | None) -> str:
    return "" if value is None else str(round(value))


def summary(report: Report) -> str:
    """One line for chat (`sla` command): the overall figures."""
    line = next((x for x in report.lines if x.group == "all"), Line("all"))
    return (
        f"{line.tickets} tickets · first response met {_percent(line.share(line.first_met, line.first_decided))} "
        f"(of {line.first_decided}) · resolution met {_percent(line.share(line.resolved_met, line.resolved_decided))} "
        f"(of {line.resolved_decided}) · target {TARGET:.0%}"
    )
