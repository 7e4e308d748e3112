"""PostgreSQL backend on asyncpg, for when one machine is outgrown.

Rows come back exactly as from `storage.sqlite`: the same keys in the same order (the
schema's column order is the same), aware UTC datetimes (timestamptz), lists and dicts for
the jsonb columns, ints, strings, and `thread_id` None for "no thread" (stored as '' so
the conversation index and key work, as in SQLite).

The statements and the steps of each unit of work are the SQLite backend's own
(`storage/queries.py`, `storage/plan.py`, `storage/sqlstore.py`); this module is the
connection pool, the jsonb codec and the transaction (the runner's advisory lock is
`storage/claim.py`). Every round trip to the server costs more than a SQLite statement, so
each unit of work needs few: `intake` of a whole batch of messages is the loads and one
probe query per message pipelined (`fetchmany`), plus album look-ups when there are any;
`commit` is one transaction whose multi-row steps go through the pipelined `executemany`,
and only the rows whose effect is checked (keys, tickets, fired marks) go one by one.

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
Run one desk per database — a second `dutydesk run` waits as a standby (`bot/app/standby.py`)
until the runner's claim (`storage/claim.py`) is free; other processes may read
(`dutydesk tickets ...`).

Where PostgreSQL differs from SQLite underneath: ids come from sequences, so an id is
never reused (SQLite reuses the highest id after a delete, e.g. of a replaced deadline) and
a rolled-back insert leaves a gap; jsonb keeps objects by value, not text (key order and
duplicate keys are not kept); text cannot hold U+0000, so such a value fails the commit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import asyncpg

from storage.base import AnotherRunner, ConflictingWrite, Row
from storage.claim import PostgresClaim
from storage.dialect import POSTGRES, Bound
from storage.migrations import apply_postgres_migrations, postgres_schema_version, require_schema
from storage.plan import Step
from storage.sqlstore import Read, SqlStore

__all__ = ["ConflictingWrite", "PostgresStore"]

# How long closing may wait for the server before its connections are dropped.
CLOSE_SECONDS = 5.0


def _decode(record: asyncpg.Record) -> Row:
    out: Row = dict(record.items())
    if out.get("thread_id") == "":
        out["thread_id"] = None  # '' is "no thread" (see storage.plan)
    return out


async def _init(conn: asyncpg.Connection) -> None:
    # The same compact text as the SQLite backend writes; jsonb parses it on the server.
    # Times need nothing: asyncpg encodes datetimes to timestamptz (a naive one is taken
    # as local time, as SQLite's encoding does).
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


class PostgresStore(SqlStore):
    """The desk's PostgreSQL database. Create with `await PostgresStore.open(url)`.

    The URL is a libpq-style `postgresql://user@host:port/db`; other query parameters are
    server settings, so `?search_path=desk` keeps the desk's tables in schema `desk`.
    """

    dialect = POSTGRES

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self._url = url
        self._claim: PostgresClaim | None = None

    @classmethod
    async def open(cls, url: str, *, runner: bool = False, claim: PostgresClaim | None = None) -> PostgresStore:
        """`claim`: the runner's claim, already held (a standby that took over); the store
        keeps it and releases it on `close`."""
        # A few connections: the desk commits one decision at a time, while the dispatcher
        # and scheduler read and mark deliveries beside it.
        pool = await asyncpg.create_pool(url, min_size=1, max_size=4, init=_init, reset=_keep_session)
        store = cls(pool, url)
        store._claim = claim
        try:
            # The claim comes first: a desk already running here is not migrated under.
            if runner and not await store.claim_runner():
                raise AnotherRunner(f"schema {await pool.fetchval('SELECT current_schema()')} is claimed by "
                                    "another session")
            await store._migrate()
        except BaseException:
            await store.close()
            raise
        return store

    async def _read(self, *reads: Read) -> list[list[Row]]:
        """One connection for the reads; a query run for many parameters is pipelined
        (`fetchmany`: one round trip)."""
        async with self._pool.acquire() as conn:
            out = []
            for read in reads:
                bound = [read.sql.bind(POSTGRES, params) for params in read.params]
                if len(bound) == 1:
                    records = await conn.fetch(bound[0].text, *bound[0].values)
                else:
                    records = await conn.fetchmany(bound[0].text, [b.values for b in bound]) if bound else []
                out.append([_decode(r) for r in records])
            return out

    async def _transaction(self, steps: Sequence[Step]) -> list[int]:
        async with self._pool.acquire() as conn, conn.transaction():
            return [await _step(conn, step) for step in steps]

    async def _schema_version(self) -> int:
        async with self._pool.acquire() as conn:
            await require_schema(conn)
            return await postgres_schema_version(conn)

    async def _apply_migrations(self) -> None:
        async with self._pool.acquire() as conn:
            await apply_postgres_migrations(conn)

    async def close(self) -> None:
        await self._release_claim()
        try:
            await asyncio.wait_for(self._pool.close(), CLOSE_SECONDS)
        except TimeoutError:  # a server that stopped answering: drop the connections
            self._pool.terminate()

    def _holds_claim(self) -> bool:
        return self._claim is not None and self._claim.held

    async def claim_runner(self) -> bool:
        """The runner's claim (`storage/claim.py`): a session advisory lock on a connection
        of its own, so PostgreSQL drops it when the process ends however it ends."""
        if self._holds_claim():
            return True
        claim = PostgresClaim(self._url)
        if await claim.take():
            self._claim = claim
            return True
        await claim.release()
        return False

    async def _release_claim(self) -> None:
        if self._claim is not None:
            claim, self._claim = self._claim, None
            await claim.release()


async def _step(conn: asyncpg.Connection, step: Step) -> int:
    """A batch is pipelined (`executemany`); a step whose rows are counted goes row by row."""
    if step.each:
        return sum([step.check(row, await _execute(conn, step.sql.bind(POSTGRES, row))) for row in step.rows])
    for batch in step.sql.batches(POSTGRES, step.rows):
        await conn.executemany(batch.text, batch.rows)
    return 0


async def _execute(conn: asyncpg.Connection, bound: Bound) -> int:
    """One statement; the rows it changed (from its status, such as 'UPDATE 3' or 'INSERT 0 1')."""
    return int((await conn.execute(bound.text, *bound.values)).rsplit(" ", 1)[1])
