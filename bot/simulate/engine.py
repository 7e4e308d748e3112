"""The event loop: the real desk on the local channel, a manual clock, and one queue of
what happens next.

The next event is the earliest of: a customer's arrival, a simulated engineer's planned
action, or the desk's own next deadline (reminders, breaches, pick-ups, progress updates,
auto-closes). The clock jumps to it — nothing sleeps — and the desk handles it. The next
deadline is known the way the desk's SLA scheduler knows it: `Desk.next_due` after firing,
and each committed unit of work's earliest wake. Ties go to arrivals and engineers' actions
first, in a fixed order, then to the deadlines due by then: a run is a function of its seed.

Customers and engineers reach the desk only as the local channel's users do: customers
write in their chats; engineers send prepared answers (`answer T-n simanswer`, which counts
as the first response) and progress notes, and type `resolve T-n`. What the desk sends is
committed to its outbox as always but not delivered: each committed unit of work tells the
engineers what they were sent (a ping, an escalation, a reminder) — the same messages the
local channel would deliver, without the dispatcher's bookkeeping, which no SLA clock reads.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.local import LocalChannel
from bot.app import heap
from bot.app.config import Config
from bot.app.demo_config import on_local_channel
from bot.app.factory import App
from bot.core.clock import ManualClock
from bot.core.domain import OPEN_STATUSES, Priority, Status, format_ticket_id
from bot.core.triage import build_roster
from bot.core.work import Work
from bot.delivery.contract import Audience
from bot.simulate.arrivals import Arrival
from bot.simulate.duty import Duty
from bot.simulate.engineers import Act, Person, Step, Team
from bot.simulate.handling import HandlingTimes
from routing.language import LanguageDetector
from storage.base import Row
from storage.sqlite_inline import InlineSqliteStore

STAFF_ROOM = "staff"
# Nothing to survive, nobody else to read it: no file to write at every commit (a run kept
# with `--keep-db` is copied to its file at the end, `close_run`).
MEMORY = "sqlite:///:memory:"
DAY = timedelta(days=1)
ANSWER, UPDATE = "simanswer", "simupdate"  # the prepared answers simulated engineers send
TEMPLATES = {
    ANSWER: {"en": "Thank you, we are looking into it and will come back to you shortly."},
    UPDATE: {"en": "A short update: we are still working on it."},
}


def engineer_user(engineer_id: str) -> str:
    return f"eng-{engineer_id}"


def simulated_config(cfg: Config, arrivals: list[Arrival], length: timedelta) -> Config:
    """The desk to run: on the local channel with a staff room, on an in-memory SQLite
    database, each engineer reachable there and each simulated customer a member of their
    organisation. A resolved ticket stays resolved for the whole run instead of closing
    after `[desk] reopen_within`: simulated customers never write again, so the close
    would change nothing measured and only cost a deadline per ticket."""
    local = on_local_channel(cfg, MEMORY, staff_room=STAFF_ROOM)
    local = local.model_copy(update={"desk": local.desk.model_copy(update={"reopen_within": length + DAY})})
    members: dict[str, list[str]] = {}
    for arrival in arrivals:
        if arrival.org_id is not None:
            members.setdefault(arrival.org_id, []).append(f"local:{arrival.customer}")
    return local.model_copy(update={
        "engineers": [e.model_copy(update={"identities": [*e.identities, f"local:{engineer_user(e.id)}"]})
                      for e in local.engineers],
        "organisations": [o.model_copy(update={"members": [*o.members, *members.get(o.id, [])]})
                          for o in local.organisations],
        "templates": {**local.templates, **TEMPLATES},
    })


@dataclass
class Run:
    """What the engine leaves behind for the report."""

    app: App
    team: Team
    duty: Duty
    keep: Path | None = None  # where `close_run` copies the database, if anywhere


class Engine:
    def __init__(self, app: App, local: LocalChannel, clock: ManualClock, team: Team) -> None:
        self.app, self.local, self.clock, self.team = app, local, clock, team
        self._steps: list[Step] = []
        self._works: list[Work] = []
        self._tickets: dict[int, Row] = {}  # each ticket as last committed
        self._arrival_of: dict[int, int] = {}
        self._due: datetime | None = None
        self._recheck = False
        app.desk.subscribe(self._works.append)

    async def run(self, arrivals: list[Arrival], end: datetime) -> None:
        desk = self.app.desk
        pending = list(reversed(arrivals))  # popped from the end: earliest first
        self._due = await desk.next_due()
        while True:
            if self._recheck:
                self._recheck = False
                self._due = await desk.next_due()
            upcoming = self._next_instant(pending)
            due = self._due
            if due is not None and due <= end and (upcoming is None or due < upcoming):
                self.clock.set(max(due, self.clock.now()))
                await desk.fire_due()
                self._due = await desk.next_due()
            elif upcoming is not None and upcoming <= end:
                self.clock.set(max(upcoming, self.clock.now()))
                if pending and pending[-1].at == upcoming:
                    await self._arrive(pending.pop())
                else:
                    await self._act(heapq.heappop(self._steps))
            else:
                break
            self._settle()
        self.clock.set(end)

    def _next_instant(self, pending: list[Arrival]) -> datetime | None:
        times = [t for t in (pending[-1].at if pending else None, self._steps[0].at if self._steps else None)
                 if t is not None]
        return min(times) if times else None

    async def _arrive(self, arrival: Arrival) -> None:
        receipt = await self.local.say(
            arrival.customer, arrival.text, name=f"Customer {arrival.index}",
            language=arrival.stream.language, priority=arrival.stream.priority,
        )
        if receipt.ticket_id is not None:
            self._arrival_of.setdefault(receipt.ticket_id, arrival.index)

    async def _act(self, step: Step) -> None:
        ticket = self._tickets.get(step.ticket_id)
        job = self.team.job(step)
        now = self.clock.now()
        if job is None:
            return
        if ticket is None or ticket["status"] not in OPEN_STATUSES or ticket["assignee"] != step.engineer:
            self._plan(self.team.drop(step.ticket_id, now))
            return
        user, display = engineer_user(step.engineer), format_ticket_id(step.ticket_id)
        if step.act == Act.ANSWER:
            answered = False
            if ticket["first_response_at"] is None:
                answered = (await self.local.command(user, f"answer {display} {ANSWER}")).ok
            self._plan(self.team.answered(step.engineer, job, now, by_them=answered))
        elif step.act == Act.UPDATE:
            if (await self.local.command(user, f"answer {display} {UPDATE}")).ok:
                self.team.updated(step.engineer)
        elif (await self.local.command(user, f"resolve {display}")).ok:
            self._plan(self.team.resolved(step.engineer, step.ticket_id, now))

    def _plan(self, steps: list[Step]) -> None:
        for step in steps:
            heapq.heappush(self._steps, step)

    def _settle(self) -> None:
        """Read what the desk just committed: each ticket's state, the next deadline, and
        whom it told about which ticket; each engineer told looks at the ticket."""
        told: dict[tuple[str, int], bool] = {}
        for work in self._works:
            changes = work.committed
            for row in changes.tickets:
                self._tickets[row["id"]] = row
            self._note_wake(work.earliest_wake)
            for out in changes.outbox:
                if out["audience"] == Audience.ENGINEER.value and out["person"] and out["ticket_id"] is not None:
                    key = (out["person"], out["ticket_id"])
                    told[key] = told.get(key, False) or out["kind"] == "reminder"
        self._works.clear()
        for (engineer, ticket_id), reminded in sorted(told.items()):
            self._look(engineer, ticket_id, reminded)

    def _note_wake(self, wake: datetime | None) -> None:
        """A committed deadline earlier than the one expected: one still ahead is the next
        event; one due already is most often a stage that fired before (every commit
        re-states a ticket's timers), so the store is asked again instead of firing."""
        if wake is None or (self._due is not None and wake >= self._due):
            return
        if wake > self.clock.now():
            self._due = wake
        else:
            self._recheck = True

    def _look(self, engineer: str, ticket_id: int, reminded: bool) -> None:
        ticket = self._tickets.get(ticket_id)
        now = self.clock.now()
        if ticket is None:
            return
        if ticket["status"] in (Status.RESOLVED.value, Status.CLOSED.value):
            self._plan(self.team.drop(ticket_id, now))
        elif ticket["assignee"] == engineer:
            arrival = self._arrival_of.get(ticket_id, ticket_id)
            answered = ticket["first_response_at"] is not None
            self._plan(self.team.given(engineer, ticket_id, arrival, Priority(ticket["priority"]), answered, now))
            if reminded:
                self._plan(self.team.reminded(engineer, ticket_id, now))


async def simulate(
    cfg: Config, arrivals: list[Arrival], times: HandlingTimes, settings: dict[str, Any],
    start: datetime, end: datetime, *, seed: int, db: Path | None = None,
    detector: LanguageDetector | None = None,
) -> Run:
    """Play `arrivals` through the desk `cfg` describes, from `start` to `end`, on an
    in-memory database. The desk is left open for the report to read; `close_run` closes
    it, after copying the database to `db` if one is named (`--keep-db`)."""
    sim_cfg = simulated_config(cfg, arrivals, end - start)
    clock = ManualClock(start)
    local = LocalChannel()
    store = await InlineSqliteStore.open(MEMORY, throwaway=True)
    app = await App.create(sim_cfg, clock=clock, adapters={"local": local}, detector=detector, serve_http=False,
                           store=store)
    await local.start(app.desk, None)
    roster = build_roster(sim_cfg)
    duty = Duty(roster, start - DAY, end + DAY)
    capacity = settings.get("capacity")
    people = {
        e.id: Person(e.id, int(capacity) if capacity is not None else e.max_open)
        for e in sim_cfg.engineers
    }
    team = Team(people, duty, times, seed)
    with _few_collections():
        await Engine(app, local, clock, team).run(arrivals, end)
    return Run(app, team, duty, keep=db)


@contextmanager
def _few_collections() -> Iterator[None]:
    """A run makes millions of short-lived objects and few cycles: the collector's
    default young-generation threshold (700) has it scan the desk's long-lived objects
    thousands of times for little garbage, about a tenth of a run's time (measured with
    `bench/simulate.py`). What exists before the run is frozen out of the scans, as a
    running desk does (`bot/app/heap.py`), and the threshold raised for the run's length;
    both are undone after it."""
    thresholds = gc.get_threshold()
    heap.settle()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        heap.release()


async def close_run(run: Run) -> None:
    """Stop the desk, copy its database to `run.keep` if asked, and let it go."""
    await run.app.dispatcher.stop()
    for adapter in run.app.adapters.values():
        await adapter.stop()
    store = run.app.store
    if run.keep is not None and isinstance(store, InlineSqliteStore):
        store.save(run.keep)
    await store.close()

