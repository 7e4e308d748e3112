"""PostgreSQL backend on asyncpg, for when one machine is outgrown.

Rows come back exactly as from `storage.sqlite`: the same keys in the same order (the
schema's column order is the same), aware UTC datetimes (timestamptz), lists and dicts for
the jsonb columns, ints, strings, and `thread_id` None for "no thread" (stored as '' so
the conversation index and key work, as in SQLite).

Every round trip to the server costs more than a SQLite statement, so each unit of work
is shaped to need few: `intake` is one query (plus one when the message is part of an
album), and `commit` is one transaction whose multi-row steps go through asyncpg's
pipelined `executemany`.

Several processes on one database. The desk serialises its decisions within one process;
across processes this store guarantees only what it can check at commit time:

- A new ticket is numbered max(id)+1 from its intake read. Two processes that open
  tickets from overlapping reads pick the same number, and the later commit finds a
  different ticket (other created_at/channel/customer) under it: it raises
  `ConflictingWrite` and its whole change set rolls back instead of overwriting the other
  ticket. Since every opened ticket takes the next number, this also means no two
  processes can both open a ticket for one conversation.
- A deadline is fired once: the fired mark only applies to an unfired row (the UPDATE
  waits for a concurrent one and re-checks), and if another process fired or replaced it
  first, `ConflictingWrite` rolls back the reminder with it.
- Inbound keys are unique, so a redelivered message is taken once (`DuplicateKey`).

Not safe with several desk processes: concurrent changes to one existing ticket (the last
commit's row wins, both event logs stay), and delivery — each process's dispatcher sends
every pending outbox row, so two dispatchers send twice, and a dispatcher's cursor assumes
outbox ids become visible in id order, which holds only while one process inserts them.
Run one desk per database; other processes may read (`dutydesk tickets ...`).

Where PostgreSQL differs from SQLite underneath: ids come from sequences, so an id is
never reused (SQLite reuses the highest id after a delete, e.g. of a replaced deadline) and
a rolled-back insert leaves a gap; jsonb keeps objects by value, not text (key order and
duplicate keys are not kept); text cannot hold U+0000, so such a value fails the commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from storage.base import AnotherRunner, Booking, ChangeSet, DuplicateKey, Intake, Probe, Row, TicketQuery
from storage.columns import (
    DEAD_LETTER_COLUMNS,
    DEADLINE_COLUMNS,
    EVENT_COLUMNS,
    HINT_COLUMNS,
    JOINABLE_SQL,
    KEY_COLUMNS,
    MESSAGE_COLUMNS,
    OUTBOX_COLUMNS,
    OVERRIDE_COLUMNS,
    REF_COLUMNS,
    TICKET_COLUMNS,
    ticket_query,
)
from storage.migrations import Migration, migrations


class ConflictingWrite(Exception):
    """Another process changed what this change set was decided on; nothing was written.

    Deciding again from fresh reads is the remedy (a platform redelivers an unanswered
    message; the scheduler retries due deadlines).
    """


def _insert_sql(table: str, columns: Sequence[str], suffix: str = "") -> str:
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){suffix}"


# A ticket row only updates the ticket it was read as: same creation, channel and customer.
# Another ticket under the same number was opened by another process (see the module doc).
UPSERT_TICKET = _insert_sql(
    "tickets", TICKET_COLUMNS,
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in TICKET_COLUMNS[1:])
    + " WHERE tickets.created_at = excluded.created_at AND tickets.channel = excluded.channel"
    " AND tickets.customer = excluded.customer RETURNING id",
)
INSERT_MESSAGE = _insert_sql("messages", MESSAGE_COLUMNS)
UPDATE_MESSAGE = "UPDATE messages SET text = $1, attachments = $2, edited_at = $3 WHERE id = $4"
INSERT_EVENT = _insert_sql("events", EVENT_COLUMNS)
INSERT_OUTBOX = _insert_sql("outbox", (*OUTBOX_COLUMNS, "state"))
SUPERSEDE_OUTBOX = "UPDATE outbox SET state = 'superseded' WHERE state = 'pending' AND coalesce_key = ANY($1::text[])"
INSERT_DEADLINE = _insert_sql("deadlines", DEADLINE_COLUMNS, " ON CONFLICT DO NOTHING")
# Per (ticket, clock), so the plan is always the unique key's index: one statement for all
# groups joined to unnest() scanned every unfired deadline whenever statistics were stale.
DELETE_STALE_DEADLINES = (
    "DELETE FROM deadlines WHERE ticket_id = $1 AND clock = $2 AND fired_at IS NULL "
    "AND (stage, target_at) NOT IN (SELECT * FROM unnest($3::integer[], $4::timestamptz[]))"
)
FIRE_DEADLINES = (
    "UPDATE deadlines AS d SET fired_at = f.at FROM unnest($1::bigint[], $2::timestamptz[]) AS f (id, at) "
    "WHERE d.id = f.id AND d.fired_at IS NULL"
)
UPSERT_REF = _insert_sql(
    "message_refs", REF_COLUMNS,
    " ON CONFLICT (channel, chat_id, message_id) DO UPDATE SET ticket_id = excluded.ticket_id",
)
INSERT_KEY = _insert_sql("inbound_keys", KEY_COLUMNS)
INSERT_OVERRIDE = _insert_sql("overrides", OVERRIDE_COLUMNS)
MARK_FRESH = (
    "INSERT INTO fresh_conversations (channel, chat_id, thread_id, at) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (channel, chat_id, thread_id) DO UPDATE SET at = excluded.at"
)
UPSERT_DEAD_LETTER = _insert_sql(
    "dead_letters", DEAD_LETTER_COLUMNS,
    " ON CONFLICT (channel, key) DO UPDATE SET payload = excluded.payload, error = excluded.error, "
    "attempts = dead_letters.attempts + excluded.attempts, state = excluded.state, updated_at = excluded.updated_at",
)
UPSERT_HINT = _insert_sql(
    "conversation_hints", HINT_COLUMNS, " ON CONFLICT (channel, chat_id, thread_id) DO UPDATE SET at = excluded.at"
)
UNMARK_FRESH = "DELETE FROM fresh_conversations WHERE channel = $1 AND chat_id = $2 AND thread_id = $3"
UPSERT_STAFF_THREAD = (
    "INSERT INTO staff_threads (ticket_id, channel, chat_id, thread_id, header_id) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ticket_id, channel) DO UPDATE SET "
    "chat_id = excluded.chat_id, thread_id = excluded.thread_id, "
    "header_id = coalesce(excluded.header_id, staff_threads.header_id)"
)

_TICKET_FIELDS = ", ".join(f"t.{c}" for c in TICKET_COLUMNS)
# Everything `intake` needs in one round trip: the scalars, the engineer loads as three
# parallel arrays (one aggregate pass, so they line up), and the ticket the message joins —
# the one its reply points to unless that one is closed, else the conversation's newest
# joinable ticket.
INTAKE_SQL = f"""
SELECT
    EXISTS (SELECT 1 FROM inbound_keys WHERE key = $1) AS seen,
    EXISTS (SELECT 1 FROM fresh_conversations WHERE channel = $2 AND chat_id = $3 AND thread_id = $4) AS fresh,
    (SELECT max(id) FROM tickets) AS max_id,
    l.engineers, l.open_counts, l.last_assigned,
    {_TICKET_FIELDS}
FROM (
    SELECT array_agg(engineer) AS engineers, array_agg(open_count) AS open_counts,
           array_agg(last_assigned_at) AS last_assigned
    FROM engineer_load
) AS l
LEFT JOIN LATERAL (
    SELECT * FROM (
        SELECT r_t.*, 0 AS pick FROM message_refs r JOIN tickets r_t ON r_t.id = r.ticket_id
        WHERE r.channel = $2 AND r.chat_id = $3 AND r.message_id = $5 AND r_t.status <> 'closed'
        UNION ALL
        (SELECT *, 1 AS pick FROM tickets
         WHERE channel = $2 AND chat_id = $3 AND thread_id = $4 AND status IN {JOINABLE_SQL}
         ORDER BY id DESC LIMIT 1)
    ) AS candidates
    ORDER BY pick LIMIT 1
) AS t ON true
"""
ALBUM_SQL = "SELECT * FROM messages WHERE channel = $1 AND chat_id = $2 AND album = $3 ORDER BY id LIMIT 1"
JOINABLE_TICKET_SQL = (
    "SELECT * FROM tickets WHERE channel = $1 AND chat_id = $2 AND thread_id = $3 "
    f"AND status IN {JOINABLE_SQL} ORDER BY id DESC LIMIT 1"
)


def _next_id(max_id: int | None) -> int:
    # Human ids start at T-1001: short, and never mistaken for a count.
    return max(max_id or 1000, 1000) + 1


def _values(row: Row, columns: Sequence[str]) -> tuple[Any, ...]:
    # asyncpg encodes the Python values itself: datetimes to timestamptz (a naive one is
    # taken as local time, as SQLite's encoding does), lists/dicts to jsonb (see _init).
    return tuple(row.get(c) for c in columns)


def _ticket_values(row: Row) -> tuple[Any, ...]:
    values = list(_values(row, TICKET_COLUMNS))
    values[TICKET_COLUMNS.index("thread_id")] = row.get("thread_id") or ""
    return tuple(values)


def _decode(record: asyncpg.Record | Row) -> Row:
    out: Row = dict(record.items())
    if out.get("thread_id") == "":
        out["thread_id"] = None
    return out


def _affected(status: str) -> int:
    """The row count of a command status such as 'UPDATE 3'."""
    return int(status.rsplit(" ", 1)[1])


async def _init(conn: asyncpg.Connection) -> None:
    # The same compact text as the SQLite backend writes; jsonb parses it on the server.
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", format="text",
        encoder=lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")),
        decoder=json.loads,
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is.

    asyncpg's default reset (RESET ALL, CLOSE ALL, UNLISTEN, advisory unlock) is one more
    round trip per unit of work, ≈ 0.2 ms here; this store changes no session state, and
    asyncpg still rolls back a transaction left open.
    """


class PostgresStore:
    """The desk's PostgreSQL database. Create with `await PostgresStore.open(url)`.

    The URL is a libpq-style `postgresql://user@host:port/db`; other query parameters are
    server settings, so `?search_path=desk` keeps the desk's tables in schema `desk`.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._runner: asyncpg.Connection | None = None

    @classmethod
    async def open(cls, url: str, *, runner: bool = False) -> PostgresStore:
        # A few connections: the desk commits one decision at a time, while the dispatcher
        # and scheduler read and mark deliveries beside it.
        pool = await asyncpg.create_pool(url, min_size=1, max_size=4, init=_init, reset=_keep_session)
        store = cls(pool)
        try:
            # The claim comes first: a desk already running here is not migrated under.
            if runner and not await store.claim_runner():
                raise AnotherRunner(f"schema {await pool.fetchval('SELECT current_schema()')} is claimed by "
                                    "another session")
            await store._migrate(keep_claim=runner)
        except BaseException:
            await store.close()
            raise
        return store

    async def _migrate(self, *, keep_claim: bool) -> None:
        """Migrations run under the runner's claim: a reader (`dutydesk tickets …`) of a newer
        release never changes the schema under a desk that is running on it."""
        async with self._pool.acquire() as conn:
            current, newest = await schema_version(conn), len(migrations("postgres"))
            if current >= newest:
                await apply_migrations(conn)  # checks, and refuses a newer schema
                return
            if not keep_claim and not await self.claim_runner():
                raise AnotherRunner(
                    f"the schema is at version {current} and a desk runs on it; this dutydesk would migrate "
                    f"it to {newest} under that desk — upgrade and restart the desk instead"
                )
            try:
                await apply_migrations(conn)
            finally:
                if not keep_claim:
                    await self._release_runner()

    async def _release_runner(self) -> None:
        if self._runner is not None:
            await self._runner.execute("SELECT pg_advisory_unlock_all()")
            await self._pool.release(self._runner)
            self._runner = None

    async def close(self) -> None:
        await self._release_runner()
        await self._pool.close()

    async def claim_runner(self) -> bool:
        """A session advisory lock, keyed by the schema the desk's tables live in (in this
        database: advisory locks are per database), held on a connection of its own:
        PostgreSQL drops it when that session ends, so a process that dies leaves no stale
        claim behind. Whatever host name or URL reaches it, a schema is one lock."""
        if self._runner is not None:
            return True
        conn = await self._pool.acquire()
        try:
            schema = await conn.fetchval("SELECT current_schema()")
            if schema is None:
                path = await conn.fetchval("SHOW search_path")
                raise RuntimeError(f"no schema of search_path {path!r} exists: create it first")
            if await conn.fetchval("SELECT pg_try_advisory_lock(hashtext('dutydesk:' || current_schema()))"):
                self._runner = conn
                return True
        except BaseException:
            await self._pool.release(conn)
            raise
        await self._pool.release(conn)
        return False

    # -- the desk's units of work -------------------------------------------------------

    async def intake(self, probes: Sequence[Probe]) -> list[Intake]:
        async with self._pool.acquire() as conn:
            return [await _probe(conn, p) for p in probes]


    async def commit(self, changes: ChangeSet) -> None:
        if not changes:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            await _apply(conn, changes)

    async def next_ticket_id(self) -> int:
        return _next_id(await self._pool.fetchval("SELECT max(id) FROM tickets"))

    async def loads(self) -> dict[str, tuple[int, datetime | None]]:
        rows = await self._pool.fetch("SELECT * FROM engineer_load")
        return {row["engineer"]: (row["open_count"], row["last_assigned_at"]) for row in rows}

    # -- reads ----------------------------------------------------------------------------

    async def _one(self, sql: str, *params: Any) -> Row | None:
        row = await self._pool.fetchrow(sql, *params)
        return None if row is None else _decode(row)

    async def _all(self, sql: str, *params: Any) -> list[Row]:
        return [_decode(r) for r in await self._pool.fetch(sql, *params)]

    async def ticket(self, ticket_id: int) -> Row | None:
        return await self._one("SELECT * FROM tickets WHERE id = $1", ticket_id)

    async def ticket_by_thread(self, channel: str, chat_id: str, thread_id: str) -> Row | None:
        return await self._one(
            "SELECT t.* FROM staff_threads s JOIN tickets t ON t.id = s.ticket_id "
            "WHERE s.channel = $1 AND s.chat_id = $2 AND s.thread_id = $3",
            channel, chat_id, thread_id,
        )

    async def ticket_by_ref(self, channel: str, chat_id: str, message_id: str) -> Row | None:
        return await self._one(
            "SELECT t.* FROM message_refs r JOIN tickets t ON t.id = r.ticket_id "
            "WHERE r.channel = $1 AND r.chat_id = $2 AND r.message_id = $3",
            channel, chat_id, message_id,
        )

    async def open_ticket_for(self, channel: str, chat_id: str, thread_id: str | None) -> Row | None:
        return await self._one(JOINABLE_TICKET_SQL, channel, chat_id, thread_id or "")

    async def message_by_ref(self, channel: str, chat_id: str, platform_id: str) -> Row | None:
        return await self._one(
            "SELECT * FROM messages WHERE channel = $1 AND chat_id = $2 AND platform_id = $3 ORDER BY id LIMIT 1",
            channel, chat_id, platform_id,
        )

    async def tickets(self, query: TicketQuery) -> list[Row]:
        sql, params = _numbered(*ticket_query(query, lambda at: at))
        return await self._all(sql, *params)

    async def messages(self, ticket_id: int) -> list[Row]:
        return await self._all("SELECT * FROM messages WHERE ticket_id = $1 ORDER BY id", ticket_id)

    async def events(self, ticket_id: int) -> list[Row]:
        return await self._all("SELECT * FROM events WHERE ticket_id = $1 ORDER BY id", ticket_id)

    async def events_between(self, types: tuple[str, ...], start: datetime, end: datetime) -> list[Row]:
        return await self._all(
            "SELECT * FROM events WHERE type = ANY($1::text[]) AND at >= $2 AND at < $3 ORDER BY id",
            list(types), start, end,
        )

    async def outbox_rows(self, ticket_id: int | None = None, state: str | None = None) -> list[Row]:
        clauses, params = [], []
        if ticket_id is not None:
            params.append(ticket_id)
            clauses.append(f"ticket_id = ${len(params)}")
        if state is not None:
            params.append(state)
            clauses.append(f"state = ${len(params)}")
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return await self._all(f"SELECT * FROM outbox{where} ORDER BY id", *params)

    # -- outbox delivery ------------------------------------------------------------------

    async def pending_outbox(self, after_id: int, limit: int) -> list[Row]:
        return await self._all(
            "SELECT * FROM outbox WHERE state = 'pending' AND id > $1 ORDER BY id LIMIT $2", after_id, limit
        )

    async def mark_sent(
        self, outbox_id: int, at: datetime, platform_id: str | None, ref: Row | None,
        thread: Row | None,
    ) -> None:
        await self.mark_sent_many([Booking(outbox_id, at, platform_id, ref, thread)])

    async def mark_sent_many(self, bookings: Sequence[Booking]) -> None:
        if not bookings:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "UPDATE outbox SET state = 'sent', sent_at = $1, platform_id = $2, "
                "attempts = attempts + 1 WHERE id = $3 AND state = 'pending'",
                [(b.at, b.platform_id, b.outbox_id) for b in bookings],
            )
            refs = [_values(b.ref, REF_COLUMNS) for b in bookings if b.ref is not None]
            if refs:
                await conn.executemany(UPSERT_REF, refs)
            threads = [
                (t["ticket_id"], t["channel"], t["chat_id"], t["thread_id"], t.get("header_id"))
                for t in (b.thread for b in bookings) if t is not None
            ]
            if threads:
                await conn.executemany(UPSERT_STAFF_THREAD, threads)

    async def mark_failed(self, outbox_id: int, at: datetime, error: str) -> None:
        await self._pool.execute(
            "UPDATE outbox SET state = 'failed', sent_at = $1, attempts = attempts + 1, "
            "last_error = $2 WHERE id = $3 AND state = 'pending'",
            at, error[:2000], outbox_id,
        )

    async def note_attempt(self, outbox_id: int, error: str) -> None:
        await self._pool.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2", error[:2000], outbox_id
        )

    async def staff_threads(self, ticket_ids: Sequence[int] | None = None) -> list[Row]:
        if ticket_ids is None:
            return await self._all("SELECT * FROM staff_threads ORDER BY ticket_id, channel")
        return await self._all(
            "SELECT * FROM staff_threads WHERE ticket_id = ANY($1::bigint[]) ORDER BY ticket_id, channel",
            list(ticket_ids),
        )

    async def chat_moved(self, channel: str, old_chat_id: str, new_chat_id: str) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            moved = _affected(await conn.execute(
                "UPDATE tickets SET chat_id = $1 WHERE channel = $2 AND chat_id = $3", new_chat_id, channel, old_chat_id
            ))
            for table in ("outbox", "staff_threads", "message_refs", "messages"):
                await conn.execute(
                    f"UPDATE {table} SET chat_id = $1 WHERE channel = $2 AND chat_id = $3",
                    new_chat_id, channel, old_chat_id,
                )
        return moved

    async def hint_at(self, channel: str, chat_id: str, thread_id: str | None) -> datetime | None:
        return await self._pool.fetchval(
            "SELECT at FROM conversation_hints WHERE channel = $1 AND chat_id = $2 AND thread_id = $3",
            channel, chat_id, thread_id or "",
        )

    # -- dead letters ---------------------------------------------------------------------

    async def dead_letter(self, dead_letter_id: int) -> Row | None:
        return await self._one("SELECT * FROM dead_letters WHERE id = $1", dead_letter_id)

    async def dead_letter_for(self, channel: str, key: str) -> Row | None:
        return await self._one("SELECT * FROM dead_letters WHERE channel = $1 AND key = $2", channel, key)

    async def dead_letters(self, state: str | None = None, limit: int = 100) -> list[Row]:
        if state is None:
            return await self._all("SELECT * FROM dead_letters ORDER BY id DESC LIMIT $1", limit)
        return await self._all("SELECT * FROM dead_letters WHERE state = $1 ORDER BY id DESC LIMIT $2", state, limit)

    async def dead_letter_counts(self) -> dict[str, int]:
        rows = await self._pool.fetch("SELECT state, count(*) AS n FROM dead_letters GROUP BY state")
        return {row["state"]: row["n"] for row in rows}

    async def mark_dead_letter(
        self, dead_letter_id: int, state: str, at: datetime, only_from: tuple[str, ...] = (),
    ) -> bool:
        sql = "UPDATE dead_letters SET state = $1, updated_at = $2 WHERE id = $3"
        params: list[Any] = [state, at, dead_letter_id]
        if only_from:
            sql += " AND state = ANY($4::text[])"
            params.append(list(only_from))
        return _affected(await self._pool.execute(sql, *params)) > 0

    # -- deadlines ------------------------------------------------------------------------

    async def next_due(self) -> datetime | None:
        return await self._pool.fetchval("SELECT min(due_at) FROM deadlines WHERE fired_at IS NULL")

    async def due_deadlines(self, now: datetime, limit: int) -> list[Row]:
        return await self._all(
            "SELECT * FROM deadlines WHERE fired_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT $2",
            now, limit,
        )

    async def deadlines(self, ticket_id: int) -> list[Row]:
        return await self._all("SELECT * FROM deadlines WHERE ticket_id = $1 ORDER BY due_at, id", ticket_id)

    async def open_targets(self, clocks: tuple[str, ...], limit: int) -> list[Row]:
        """The pending breach target of each SLA clock, earliest first (the queue's order)."""
        return await self._all(
            "SELECT ticket_id, clock, min(target_at) AS target_at FROM deadlines "
            "WHERE fired_at IS NULL AND stage = 100 AND clock = ANY($1::text[]) "
            "GROUP BY ticket_id, clock ORDER BY target_at, ticket_id, clock LIMIT $2",
            list(clocks), limit,
        )

    async def passed_targets(self, clocks: tuple[str, ...], statuses: tuple[str, ...], limit: int) -> list[Row]:
        """The latest breach target already passed of each SLA clock, of tickets in these
        statuses, earliest first: what the queue shows as overdue."""
        return await self._all(
            "SELECT d.ticket_id, d.clock, max(d.target_at) AS target_at FROM deadlines d "
            "JOIN tickets t ON t.id = d.ticket_id "
            "WHERE d.fired_at IS NOT NULL AND d.stage = 100 AND d.clock = ANY($1::text[]) "
            "AND t.status = ANY($2::text[]) "
            "GROUP BY d.ticket_id, d.clock ORDER BY target_at, d.ticket_id, d.clock LIMIT $3",
            list(clocks), list(statuses), limit,
        )

    async def overrides(self, ending_after: datetime) -> list[Row]:
        return await self._all("SELECT * FROM overrides WHERE end_at > $1 ORDER BY id", ending_after)


# -- the commit, in the order (and with the effect) of storage.sqlite._apply ------------------


async def _apply(conn: asyncpg.Connection, cs: ChangeSet) -> None:
    for key in cs.keys:
        try:
            await conn.execute(INSERT_KEY, *_values(key, KEY_COLUMNS))
        except asyncpg.UniqueViolationError:
            raise DuplicateKey(key) from None
    for ticket in cs.tickets:
        if await conn.fetchval(UPSERT_TICKET, *_ticket_values(ticket)) is None:
            raise ConflictingWrite(f"ticket {ticket['id']} is another ticket, opened by another process")
    new_messages = [_values(m, MESSAGE_COLUMNS) for m in cs.messages if m.get("id") is None]
    if new_messages:
        await conn.executemany(INSERT_MESSAGE, new_messages)
    edits = [
        (m["text"], m.get("attachments") or [], m.get("edited_at"), m["id"])
        for m in cs.messages
        if m.get("id") is not None
    ]
    if edits:
        await conn.executemany(UPDATE_MESSAGE, edits)
    if cs.events:
        await conn.executemany(INSERT_EVENT, [_values(e, EVENT_COLUMNS) for e in cs.events])
    if cs.outbox:
        await _add_outbox(conn, cs.outbox)
    # Fired marks first: the recomputed schedule below must see them, or it would put a
    # just-fired deadline back as new.
    if cs.fired:
        await _fire(conn, cs.fired)
    if cs.deadlines:
        await _replace_deadlines(conn, cs.deadlines)
    if cs.refs:
        await conn.executemany(UPSERT_REF, [_values(r, REF_COLUMNS) for r in cs.refs])
    if cs.overrides:
        await conn.executemany(INSERT_OVERRIDE, [_values(o, OVERRIDE_COLUMNS) for o in cs.overrides])
    for mark in cs.fresh:
        # at set: mark the conversation; at None: the mark was used up.
        key = (mark["channel"], mark["chat_id"], mark.get("thread_id") or "")
        if mark.get("at") is None:
            await conn.execute(UNMARK_FRESH, *key)
        else:
            await conn.execute(MARK_FRESH, *key, mark["at"])
    if cs.dead_letters:
        await conn.executemany(UPSERT_DEAD_LETTER, [_values(d, DEAD_LETTER_COLUMNS) for d in cs.dead_letters])
    if cs.hints:
        await conn.executemany(
            UPSERT_HINT, [(h["channel"], h["chat_id"], h.get("thread_id") or "", h["at"]) for h in cs.hints]
        )


async def _add_outbox(conn: asyncpg.Connection, rows: list[Row]) -> None:
    """Insert outbox rows, each superseding the pending rows with its coalesce key.

    SQLite does it row by row (supersede, insert); the end state is the same in two
    statements: earlier pending rows with any of the keys are superseded, and a new row
    is inserted superseded when a later new row carries its key.
    """
    keys = [row.get("coalesce_key") for row in rows]
    present = {key for key in keys if key}
    if present:
        await conn.execute(SUPERSEDE_OUTBOX, sorted(present))
    values = []
    for i, row in enumerate(rows):
        later = bool(keys[i]) and keys[i] in keys[i + 1 :]
        values.append((*_values(row, OUTBOX_COLUMNS), "superseded" if later else "pending"))
    await conn.executemany(INSERT_OUTBOX, values)


async def _fire(conn: asyncpg.Connection, fired: list[tuple[int, datetime]]) -> None:
    """Mark deadlines fired; if one is no longer unfired, another process handled it."""
    first: dict[int, datetime] = {}
    for deadline_id, at in fired:
        first.setdefault(deadline_id, at)
    done = _affected(await conn.execute(FIRE_DEADLINES, list(first), list(first.values())))
    if done != len(first):
        raise ConflictingWrite(f"deadlines {sorted(first)}: already fired or replaced by another process")


async def _replace_deadlines(conn: asyncpg.Connection, groups: dict[tuple[int, str], list[Row]]) -> None:
    """Make each clock's unfired deadlines exactly its rows, leaving unchanged ones in place
    (same id: a batch of due rows being fired stays valid) and fired ones untouched (the
    unique key skips re-inserting them). Groups are disjoint, so deleting for all of them
    before inserting any is the same as SQLite's group by group; each step is one pipelined
    round trip."""
    await conn.executemany(
        DELETE_STALE_DEADLINES,
        [
            (ticket_id, clock, [r["stage"] for r in rows], [r["target_at"] for r in rows])
            for (ticket_id, clock), rows in groups.items()
        ],
    )
    inserts = [_values(r, DEADLINE_COLUMNS) for rows in groups.values() for r in rows]
    if inserts:
        await conn.executemany(INSERT_DEADLINE, inserts)


# -- migrations -----------------------------------------------------------------------------

SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)
# Per schema, so desks (or test runs) in different schemas of one database never wait on
# each other; two processes opening one schema at once apply each migration once.
MIGRATION_LOCK = "hashtext('dutydesk migrations ' || current_schema())"


async def schema_version(conn: asyncpg.Connection) -> int:
    """The last migration applied (0 for an empty schema). PostgreSQL has no user_version,
    so the versions applied are rows of `schema_version`."""
    if await conn.fetchval("SELECT to_regclass('schema_version')") is None:
        return 0
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")


async def apply_migrations(
    conn: asyncpg.Connection, target: int | None = None, available: list[Migration] | None = None
) -> list[int]:
    """Bring the schema first on the search_path up to `target` (default: the newest),
    each migration in its own transaction; returns the versions applied."""
    if await conn.fetchval("SELECT current_schema()") is None:
        path = await conn.fetchval("SHOW search_path")
        raise RuntimeError(f"no schema of search_path {path!r} exists: create it first")
    available = migrations("postgres") if available is None else available
    await conn.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
    try:
        await conn.execute(SCHEMA_VERSION_TABLE)
        current = await schema_version(conn)
        if current > len(available):
            raise RuntimeError(
                f"the database is at schema version {current}, newer than this dutydesk "
                f"({len(available)}): upgrade dutydesk instead"
            )
        applied = []
        for migration in available:
            if migration.version <= current or (target is not None and migration.version > target):
                continue
            try:
                async with conn.transaction():
                    if _has_statements(migration.sql):  # asyncpg fails on a query of comments only
                        await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_version (version, name) VALUES ($1, $2)", migration.version, migration.name
                    )
            except asyncpg.PostgresError as exc:
                raise RuntimeError(f"migration {migration.name} failed: {exc}") from exc
            applied.append(migration.version)
        return applied
    finally:
        await conn.execute(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")


def _has_statements(sql: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in sql.splitlines())


async def _probe(conn: asyncpg.Connection, p: Probe) -> Intake:
    """One message's reads in one query (two for a part of an album)."""
    found = await conn.fetchrow(INTAKE_SQL, p.key, p.channel, p.chat_id, p.thread_id or "", p.reply_to)
    album_message = None
    if p.album is not None:
        row = await conn.fetchrow(ALBUM_SQL, p.channel, p.chat_id, p.album)
        album_message = None if row is None else _decode(row)
    ticket = None if found["id"] is None else _decode({c: found[c] for c in TICKET_COLUMNS})
    loads = {
        engineer: (count, last)
        for engineer, count, last in zip(
            found["engineers"] or [], found["open_counts"] or [], found["last_assigned"] or [], strict=True
        )
    }
    return Intake(found["seen"], found["fresh"], ticket, album_message, loads, _next_id(found["max_id"]))


def _numbered(sql: str, params: list[Any]) -> tuple[str, list[Any]]:
    """`?` placeholders as PostgreSQL's `$1, $2, …`."""
    parts = sql.split("?")
    return "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, 1)), params
