"""The desk's store on a SQL database, written once: every read, every unit of work, and
when to migrate. A backend (`storage/sqlite.py`, `storage/postgres.py`) adds only how a
statement reaches its database — its connection, its dialect (`storage/dialect.py`), how
values are encoded — and its transaction and locking mechanics.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from storage import plan
from storage import queries as q
from storage.base import (
    AnotherRunner,
    Booking,
    ChangeSet,
    Counts,
    Intake,
    Probe,
    QueuePage,
    QueueQuery,
    Row,
    TicketQuery,
)
from storage.columns import TICKET_COLUMNS
from storage.dialect import Dialect, Sql
from storage.migrations import migrations, refuse_newer
from storage.plan import Step

Loads = dict[str, tuple[int, datetime | None]]


class Read(NamedTuple):
    """A query run once per set of parameters; the rows of all runs, in order."""

    sql: Sql
    params: Sequence[Mapping[str, Any]]


class SqlStore(ABC):
    dialect: Dialect

    # -- what a backend provides ---------------------------------------------------------------

    @abstractmethod
    async def _read(self, *reads: Read) -> list[list[Row]]:
        """The reads' rows, decoded; all in one unit of work."""

    @abstractmethod
    async def _transaction(self, steps: Sequence[Step]) -> list[int]:
        """Run the steps in one transaction; per step, the rows it changed (0 for a batch)."""

    @abstractmethod
    async def _schema_version(self) -> int: ...

    @abstractmethod
    async def _apply_migrations(self) -> None: ...

    @abstractmethod
    def _holds_claim(self) -> bool: ...

    @abstractmethod
    async def claim_runner(self) -> bool: ...

    @abstractmethod
    async def _release_claim(self) -> None: ...

    # -- opening ---------------------------------------------------------------------------------

    async def _migrate(self) -> None:
        """Migrations run under the runner's claim: a reader (`dutydesk tickets …`) of a newer
        release never changes the schema under a desk that is running on it; no release runs
        on a schema newer than it knows."""
        current, newest = await self._schema_version(), len(migrations(self.dialect.name))
        refuse_newer(current, newest)
        if current == newest:
            return
        borrowed = not self._holds_claim()
        if borrowed and not await self.claim_runner():
            raise AnotherRunner(
                f"the database is at schema version {current} and a desk runs on it; this dutydesk would "
                f"migrate it to {newest} under that desk — upgrade and restart the desk instead"
            )
        try:
            await self._apply_migrations()
        finally:
            if borrowed:
                await self._release_claim()

    # -- helpers ---------------------------------------------------------------------------------

    async def _rows(self, query: Sql, **params: Any) -> list[Row]:
        [rows] = await self._read(Read(query, [params]))
        return rows

    async def _row(self, query: Sql, **params: Any) -> Row | None:
        rows = await self._rows(query, **params)
        return rows[0] if rows else None

    async def _change(self, query: Sql, **params: Any) -> int:
        """One statement in a transaction of its own; the rows it changed."""
        [changed] = await self._transaction([Step(query, [params], each=True)])
        return changed

    # -- the desk's units of work ----------------------------------------------------------------

    async def intake(self, probes: Sequence[Probe]) -> list[Intake]:
        load_rows, found, albums = await self._read(
            Read(q.LOADS, [{}]),
            Read(q.PROBE, [
                {"key": p.key, "channel": p.channel, "chat_id": p.chat_id, "thread_id": p.thread_id or "",
                 "reply_to": p.reply_to} for p in probes
            ]),
            Read(q.ALBUM, [{"channel": p.channel, "chat_id": p.chat_id, "album": p.album}
                           for p in probes if p.album is not None]),
        )
        loads, next_id = _loads(load_rows), _next_id(load_rows)
        album_rows = iter(albums)
        out = []
        for probe, row in zip(probes, found, strict=True):
            album = next(album_rows) if probe.album is not None else None
            ticket = None if row["id"] is None else {c: row[c] for c in TICKET_COLUMNS}
            album_message = album if album is not None and album["id"] is not None else None
            out.append(Intake(bool(row["seen"]), bool(row["fresh"]), ticket, album_message, loads, next_id))
        return out

    async def commit(self, changes: ChangeSet) -> None:
        if changes:
            await self._transaction(plan.commit(changes))

    async def next_ticket_id(self) -> int:
        return _next_id(await self._rows(q.LOADS))

    async def loads(self) -> Loads:
        return _loads(await self._rows(q.LOADS))

    # -- reads -----------------------------------------------------------------------------------

    async def ticket(self, ticket_id: int) -> Row | None:
        return await self._row(q.TICKET, id=ticket_id)

    async def ticket_by_thread(self, channel: str, chat_id: str, thread_id: str) -> Row | None:
        return await self._row(q.TICKET_BY_THREAD, channel=channel, chat_id=chat_id, thread_id=thread_id)

    async def ticket_by_ref(self, channel: str, chat_id: str, message_id: str) -> Row | None:
        return await self._row(q.TICKET_BY_REF, channel=channel, chat_id=chat_id, message_id=message_id)

    async def open_ticket_for(self, channel: str, chat_id: str, thread_id: str | None) -> Row | None:
        return await self._row(q.JOINABLE_TICKET, channel=channel, chat_id=chat_id, thread_id=thread_id or "")

    async def message_by_ref(self, channel: str, chat_id: str, platform_id: str) -> Row | None:
        return await self._row(q.MESSAGE_BY_REF, channel=channel, chat_id=chat_id, platform_id=platform_id)

    async def tickets(self, query: TicketQuery) -> list[Row]:
        statement, params = q.tickets(query)
        return await self._rows(statement, **params)

    async def messages(self, ticket_id: int) -> list[Row]:
        return await self._rows(q.MESSAGES, ticket_id=ticket_id)

    async def events(self, ticket_id: int) -> list[Row]:
        return await self._rows(q.EVENTS, ticket_id=ticket_id)

    async def events_between(self, types: tuple[str, ...], start: datetime, end: datetime) -> list[Row]:
        return await self._rows(q.EVENTS_BETWEEN, types=types, start=start, end=end)

    async def latest_events(self, type_: str, start: datetime, end: datetime, limit: int) -> list[Row]:
        return await self._rows(q.LATEST_EVENTS, type=type_, start=start, end=end, limit=limit)

    async def outbox_rows(self, ticket_id: int | None = None, state: str | None = None) -> list[Row]:
        return await self._rows(q.outbox_rows(ticket_id, state), ticket_id=ticket_id, state=state)

    async def staff_threads(self, ticket_ids: Sequence[int] | None = None) -> list[Row]:
        ids = None if ticket_ids is None else list(ticket_ids)
        return await self._rows(q.staff_threads(ids), ticket_ids=ids)

    async def hint_at(self, channel: str, chat_id: str, thread_id: str | None) -> datetime | None:
        row = await self._row(q.HINT_AT, channel=channel, chat_id=chat_id, thread_id=thread_id or "")
        return None if row is None else row["at"]

    async def overrides(self, ending_after: datetime) -> list[Row]:
        return await self._rows(q.OVERRIDES, ending_after=ending_after)

    # -- outbox delivery -------------------------------------------------------------------------

    async def pending_outbox(self, after_id: int, limit: int) -> list[Row]:
        return await self._rows(q.PENDING_OUTBOX, after_id=after_id, limit=limit)

    async def mark_sent(
        self, outbox_id: int, at: datetime, platform_id: str | None, ref: Row | None, thread: Row | None,
    ) -> None:
        await self.mark_sent_many([Booking(outbox_id, at, platform_id, ref, thread)])

    async def mark_sent_many(self, bookings: Sequence[Booking]) -> None:
        if bookings:
            await self._transaction(plan.bookings(bookings))

    async def mark_failed(self, outbox_id: int, at: datetime, error: str) -> None:
        await self._change(q.MARK_FAILED, id=outbox_id, at=at, error=error[:2000])

    async def note_attempt(self, outbox_id: int, error: str) -> None:
        await self._change(q.NOTE_ATTEMPT, id=outbox_id, error=error[:2000])

    async def chat_moved(self, channel: str, old_chat_id: str, new_chat_id: str) -> int:
        return (await self._transaction(plan.chat_moved(channel, old_chat_id, new_chat_id)))[0]

    # -- dead letters ----------------------------------------------------------------------------

    async def dead_letter(self, dead_letter_id: int) -> Row | None:
        return await self._row(q.DEAD_LETTER, id=dead_letter_id)

    async def dead_letter_for(self, channel: str, key: str) -> Row | None:
        return await self._row(q.DEAD_LETTER_FOR, channel=channel, key=key)

    async def dead_letters(self, state: str | None = None, limit: int = 100) -> list[Row]:
        return await self._rows(q.dead_letters(state), state=state, limit=limit)

    async def dead_letter_counts(self) -> dict[str, int]:
        return {row["state"]: row["n"] for row in await self._rows(q.DEAD_LETTER_COUNTS)}

    async def mark_dead_letter(
        self, dead_letter_id: int, state: str, at: datetime, only_from: tuple[str, ...] = (),
    ) -> bool:
        changed = await self._change(q.mark_dead_letter(only_from), id=dead_letter_id, state=state, at=at,
                                     only_from=only_from)
        return changed > 0

    # -- deadlines -------------------------------------------------------------------------------

    async def next_due(self) -> datetime | None:
        row = await self._row(q.NEXT_DUE)
        return None if row is None else row["due_at"]

    async def due_deadlines(self, now: datetime, limit: int) -> list[Row]:
        return await self._rows(q.DUE_DEADLINES, now=now, limit=limit)

    async def deadlines(self, ticket_id: int) -> list[Row]:
        return await self._rows(q.DEADLINES, ticket_id=ticket_id)

    async def open_targets(self, clocks: tuple[str, ...], limit: int) -> list[Row]:
        """The pending breach target of each SLA clock, earliest first (the queue's order)."""
        return await self._rows(q.OPEN_TARGETS, clocks=clocks, limit=limit)

    async def passed_targets(self, clocks: tuple[str, ...], statuses: tuple[str, ...], limit: int) -> list[Row]:
        """The latest breach target already passed of each SLA clock, of tickets in these
        statuses, earliest first: what the queue shows as overdue."""
        return await self._rows(q.PASSED_TARGETS, clocks=clocks, statuses=statuses, limit=limit)

    # -- metrics and erasure -------------------------------------------------------------------

    async def counts(self) -> Counts:
        tickets, targets, outbox, dead_letters = await self._read(
            Read(q.TICKET_COUNTS, [{}]), Read(q.TARGET_COUNTS, [{}]), Read(q.OUTBOX_BACKLOG, [{}]),
            Read(q.DEAD_LETTER_COUNTS, [{}]),
        )
        return Counts(tickets, targets, outbox, dead_letters)

    async def expire_texts(self, closed_before: datetime, audit: Row, limit: int = 500) -> list[int]:
        rows = await self._rows(q.EXPIRED_TICKETS, closed_before=closed_before, erased=q.ERASED, limit=limit)
        ids = [row["id"] for row in rows]
        if ids:
            await self._transaction(plan.erasure(q.EXPIRE, ids, audit))
        return ids

    async def erase_customer(self, customer: str, pseudonym: str, audit: Row) -> list[int]:
        erased: list[int] = []
        # Again until none is left: a ticket the customer opened meanwhile is erased too.
        while ids := [row["id"] for row in await self._rows(q.CUSTOMER_TICKETS, customer=customer)]:
            await self._transaction(plan.erasure(q.FORGET, ids, audit, customer=customer, pseudonym=pseudonym))
            erased += ids
        return erased

    # -- the dashboard ---------------------------------------------------------------------------

    async def use_login_link(self, token_hash: str, now: datetime) -> Row | None:
        if not await self._change(q.USE_LOGIN_LINK, token_hash=token_hash, now=now):
            return None
        return await self._row(q.LOGIN_LINK, token_hash=token_hash)

    async def open_session(self, row: Row) -> None:
        await self._transaction([Step(q.INSERT_SESSION, [row])])

    async def session(self, token_hash: str, now: datetime) -> Row | None:
        return await self._row(q.SESSION, token_hash=token_hash, now=now)

    async def end_session(self, token_hash: str, now: datetime) -> None:
        await self._change(q.END_SESSION, token_hash=token_hash, now=now)

    async def queue_page(self, query: QueueQuery) -> QueuePage:
        """Passed and pending targets first (by the index on them), then the open tickets
        with no clock running; both segments read in one unit of work."""
        where = _queue_filters(query)
        params = {"plan": query.plan, "priority": query.priority, "language": query.language,
                  "assignee": query.assignee, "now": query.now, "limit": query.limit}
        [counts] = await self._read(Read(q.queue_count(where), [params]))
        timed = counts[0]["timed"]
        reads = [Read(q.queue_page(where, timed=True), [{**params, "offset": query.offset}])]
        if query.offset + query.limit > timed:
            untimed_offset = max(0, query.offset - timed)
            reads.append(Read(q.queue_page(where, timed=False), [{**params, "offset": untimed_offset}]))
        pages = await self._read(*reads)
        rows = [row for page in pages for row in page][: query.limit]
        return QueuePage(rows, timed + counts[0]["untimed"], counts[0]["overdue"])

    async def report_days(self, first_day: str, last_day: str) -> dict[str, list[Row]]:
        days = {"first_day": first_day, "last_day": last_day}
        totals, plan_days = await self._read(Read(q.REPORT_TOTALS, [days]), Read(q.REPORT_PLAN_DAYS, [days]))
        return {"totals": totals, "plan_days": plan_days}


def _queue_filters(query: QueueQuery) -> list[tuple[str, bool]]:
    return [
        ("plan = :plan", query.plan is not None),
        ("priority = :priority", query.priority is not None),
        ("language = :language", query.language is not None),
        ("assignee = :assignee", query.assignee is not None),
        ("assignee IS NULL", query.unassigned),
    ]


def _loads(rows: list[Row]) -> Loads:
    return {r["engineer"]: (r["open_count"], r["last_assigned_at"]) for r in rows if r["engineer"] is not None}


def _next_id(rows: list[Row]) -> int:
    # Human ids start at T-1001: short, and never mistaken for a count.
    return max(rows[0]["max_id"] or 1000, 1000) + 1
