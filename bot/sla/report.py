"""SLA compliance: how many tickets met their first-response and resolution targets.

A target counts once it is decided: the engineer answered (or the ticket was resolved), or
the target was used up first. Met or missed is the ticket's own record (`SlaRecord`): the
instant of the answer against the instant the target was used up, on the plan's calendar
and under the priority in force — not whether a breach alert happened to fire before the
answer (after a restart it may not have). The automatic acknowledgement is no response:
only a human engineer's message sets the first-response time.

Each target is charged to whoever held the ticket when it was met or used up, not to its
assignee now (often the engineer it was escalated to because of that very breach). Times
are shown twice: wall-clock from the request, and the working time the plan's calendar
counted — compliance is judged on the latter.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.domain import EventType, Ticket
from bot.core.records import ticket_from_row
from bot.sla.clocks import FIRST_RESPONSE, RESOLUTION
from routing.durations import format_duration
from storage.base import Store, TicketQuery

TARGET = 0.75  # the share of tickets the domain's vendors promise to meet
MAX_TICKETS = 1_000_000
CLOCKS = (FIRST_RESPONSE, RESOLUTION)


@dataclass(frozen=True)
class Verdict:
    """One clock of one ticket, as the report judges it."""

    decided: bool
    met: bool
    holder: str | None  # charged with it
    wall_s: float | None  # from the request to the answer / resolution
    business_s: float | None  # working time the plan's calendar counted by then


@dataclass
class Tally:
    decided: int = 0
    met: int = 0
    wall: list[float] = field(default_factory=list)
    business: list[float] = field(default_factory=list)

    def add(self, verdict: Verdict) -> None:
        if verdict.decided:
            self.decided += 1
            self.met += verdict.met
        if verdict.wall_s is not None:
            self.wall.append(verdict.wall_s)
        if verdict.business_s is not None:
            self.business.append(verdict.business_s)

    @property
    def share(self) -> float | None:
        return self.met / self.decided if self.decided else None


@dataclass
class Line:
    group: str
    tickets: int = 0
    clocks: dict[str, Tally] = field(default_factory=lambda: {clock: Tally() for clock in CLOCKS})


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    lines: list[Line]


async def sla_report(store: Store, since: datetime, until: datetime, now: datetime) -> Report:
    rows = await store.tickets(TicketQuery(created_from=since, created_to=until, limit=MAX_TICKETS))
    tickets = [ticket_from_row(r) for r in rows]
    legacy = await _legacy_breaches(store, tickets, since, now)
    groups: dict[str, Line] = {}
    for ticket in tickets:
        verdicts = {clock: judge(ticket, clock, now, legacy.get(ticket.id, set())) for clock in CLOCKS}
        for group, clocks in _groups(ticket, verdicts):
            line = groups.setdefault(group, Line(group))
            line.tickets += 1
            for clock in clocks:
                line.clocks[clock].add(verdicts[clock])
    order = sorted(groups.values(), key=lambda line: (line.group != "all", line.group))
    return Report(since, until, order)


def judge(ticket: Ticket, clock: str, now: datetime, legacy_breaches: Collection[str] = ()) -> Verdict:
    """A clock is decided when answered / resolved, or when its target was used up — also
    if that happened after the desk last committed the ticket (while it was down, say): the
    record holds the instant the target is used up under the state it was left in."""
    decided_at = ticket.first_response_at if clock == FIRST_RESPONSE else ticket.resolved_at
    wall = None if decided_at is None else (decided_at - ticket.created_at).total_seconds()
    outcome = ticket.sla.outcomes.get(clock)
    if outcome is None:  # a ticket from before SLA records: breach events are all there is
        breached = clock in legacy_breaches
        return Verdict(decided_at is not None or breached, decided_at is not None and not breached,
                       ticket.assignee, wall, None)
    if outcome.decided_at is not None:
        return Verdict(True, bool(outcome.met), outcome.holder, wall, float(outcome.used_s))
    passed = outcome.due_at is not None and outcome.due_at <= now
    return Verdict(passed, False, outcome.holder, None, None)


def _groups(ticket: Ticket, verdicts: dict[str, Verdict]) -> Iterable[tuple[str, tuple[str, ...]]]:
    """Each line a ticket counts in, with the clocks it counts there: all of them, except
    per engineer, where each clock goes to the engineer charged with it."""
    for group in ("all", f"plan={ticket.plan}", f"priority={ticket.priority.name}", f"language={ticket.language}"):
        yield group, CLOCKS
    charged: dict[str, list[str]] = defaultdict(list)
    for clock in CLOCKS:
        charged[f"engineer={verdicts[clock].holder or ticket.assignee or '-'}"].append(clock)
    for group, clocks in charged.items():
        yield group, tuple(clocks)


async def _legacy_breaches(store: Store, tickets: list[Ticket], since: datetime, now: datetime) -> dict[int, set[str]]:
    if all(t.sla.outcomes for t in tickets):
        return {}
    found: dict[int, set[str]] = defaultdict(set)
    for event in await store.events_between((EventType.SLA_BREACHED.value,), since, now):
        found[event["ticket_id"]].add(str(event["data"].get("clock")))
    return found


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def quantile(values: list[float], q: float) -> float | None:
    """The `q` quantile, interpolated between the values (the simulator's waits use it too);
    None when there are none."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return format_duration(timedelta(seconds=round(seconds / 60) * 60)) if seconds >= 60 else "<1m"


COLUMNS = (
    "group", "tickets", "first response met", "resolution met",
    "first response p50/p90 (wall)", "(working)", "resolution p50/p90 (wall)", "(working)",
)


def _spread(values: list[float]) -> str:
    return f"{_duration(quantile(values, 0.5))}/{_duration(quantile(values, 0.9))}"


def _cells(line: Line) -> tuple[str, ...]:
    first, resolution = line.clocks[FIRST_RESPONSE], line.clocks[RESOLUTION]
    return (
        line.group, str(line.tickets),
        f"{_percent(first.share)} of {first.decided}", f"{_percent(resolution.share)} of {resolution.decided}",
        _spread(first.wall), _spread(first.business), _spread(resolution.wall), _spread(resolution.business),
    )


def as_table(report: Report) -> str:
    rows = [COLUMNS, *(_cells(line) for line in report.lines)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    head = (f"SLA report {report.since:%Y-%m-%d %H:%M} — {report.until:%Y-%m-%d %H:%M} UTC "
            f"(target: {TARGET:.0%} met)")
    note = ("Times: wall = wall-clock from the request; working = time the plan's calendar counted "
            "(compliance is judged on it). Each target is charged to who held the ticket when it was met or missed.")
    body = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    return "\n".join([head, note, *body])


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    figures = [f"{clock}_{kind}_{q}_s" for clock in ("first", "resolution") for kind in ("wall", "working")
               for q in ("p50", "p90")]
    writer.writerow(["group", "tickets", "first_decided", "first_met", "resolved_decided", "resolved_met", *figures])
    for line in report.lines:
        first, resolution = line.clocks[FIRST_RESPONSE], line.clocks[RESOLUTION]
        writer.writerow([
            line.group, line.tickets, first.decided, first.met, resolution.decided, resolution.met,
            *(_round(quantile(values, q)) for tally in (first, resolution) for values in (tally.wall, tally.business)
              for q in (0.5, 0.9)),
        ])
    return out.getvalue()


def _round(value: float | None) -> str:
    return "" if value is None else str(round(value))


def summary(report: Report) -> str:
    """One line for chat (`sla` command): the overall figures."""
    line = next((x for x in report.lines if x.group == "all"), Line("all"))
    first, resolution = line.clocks[FIRST_RESPONSE], line.clocks[RESOLUTION]
    return (
        f"{line.tickets} tickets · first response met {_percent(first.share)} (of {first.decided}) · "
        f"resolution met {_percent(resolution.share)} (of {resolution.decided}) · target {TARGET:.0%}"
    )

