"""SQLite backend on aiosqlite: one connection, one worker thread, one hop per unit of work.

Measured on this machine kind, awaiting each statement costs ≈ 120 µs of thread hand-off,
so a 5-insert message would spend more time hopping than inserting (≈ 1,100 msgs/s). Here
each unit of work — the reads before a decision, or the whole transaction after it — is a
plain function run on aiosqlite's worker thread in a single call (≈ 2,600 msgs/s for the
same inserts). One connection also means one writer, which is what SQLite wants: parallel
writers add no throughput, only lock waits.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import aiosqlite

from storage.base import AnotherRunner, Booking, ChangeSet, DuplicateKey, Intake, Probe, Row, TicketQuery
from storage.columns import (
    DEAD_LETTER_COLUMNS,
    DEADLINE_COLUMNS,
    EVENT_COLUMNS,
    HINT_COLUMNS,
    JOINABLE_SQL,
    JSON_COLUMNS,
    KEY_COLUMNS,
    MESSAGE_COLUMNS,
    OUTBOX_COLUMNS,
    OVERRIDE_COLUMNS,
    REF_COLUMNS,
    TICKET_COLUMNS,
    TIME_COLUMNS,
    ticket_query,
)
from storage.migrations import apply_migrations, migrations, schema_version

T = TypeVar("T")


def _insert_sql(table: str, columns: Sequence[str], verb: str = "INSERT") -> str:
    return f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


UPSERT_TICKET = _insert_sql("tickets", TICKET_COLUMNS) + " ON CONFLICT (id) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in TICKET_COLUMNS[1:]
)
INSERT_MESSAGE = _insert_sql("messages", MESSAGE_COLUMNS)
UPDATE_MESSAGE = "UPDATE messages SET text = ?, attachments = ?, edited_at = ? WHERE id = ?"
INSERT_EVENT = _insert_sql("events", EVENT_COLUMNS)
INSERT_OUTBOX = _insert_sql("outbox", OUTBOX_COLUMNS)
INSERT_DEADLINE = _insert_sql("deadlines", DEADLINE_COLUMNS, "INSERT OR IGNORE")
INSERT_REF = _insert_sql("message_refs", REF_COLUMNS, "INSERT OR REPLACE")
INSERT_KEY = _insert_sql("inbound_keys", KEY_COLUMNS)
INSERT_OVERRIDE = _insert_sql("overrides", OVERRIDE_COLUMNS)
UPSERT_DEAD_LETTER = _insert_sql("dead_letters", DEAD_LETTER_COLUMNS) + (
    " ON CONFLICT (channel, key) DO UPDATE SET payload = excluded.payload, error = excluded.error, "
    "attempts = dead_letters.attempts + excluded.attempts, state = excluded.state, updated_at = excluded.updated_at"
)
UPSERT_HINT = _insert_sql("conversation_hints", HINT_COLUMNS, "INSERT OR REPLACE")


_TIMES: dict[datetime, str] = {}
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode_time(value: datetime | None) -> str | None:
    """Fixed width, always UTC: text order is time order, so indexes on times work.

    A unit of work writes the same few instants many times (its "now" in every row), and
    isoformat costs ≈ 3 µs here against ≈ 0.1 µs for a lookup: recent ones are remembered.
    """
    if value is None:
        return None
    text = _TIMES.get(value)
    if text is None:
        if len(_TIMES) >= 4096:
            _TIMES.clear()
        text = _TIMES[value] = value.astimezone(UTC).isoformat(timespec="microseconds")
    return text


def _encode(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in TIME_COLUMNS:
        return encode_time(value)
    if column in JSON_COLUMNS:
        return _JSON(value)
    return value


def _values(row: Row, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(_encode(c, row.get(c)) for c in columns)


def _ticket_values(row: Row) -> tuple[Any, ...]:
    values = list(_values(row, TICKET_COLUMNS))
    values[TICKET_COLUMNS.index("thread_id")] = row.get("thread_id") or ""
    return tuple(values)


def _decode(row: sqlite3.Row) -> Row:
    out: Row = {}
    for key in row.keys():
        value = row[key]
        if value is not None:
            if key in TIME_COLUMNS:
                value = datetime.fromisoformat(value)
            elif key in JSON_COLUMNS:
                value = json.loads(value)
        out[key] = value
    if "thread_id" in out and out["thread_id"] == "":
        out["thread_id"] = None
    return out


def _one(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> Row | None:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else _decode(row)


def _all(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    return [_decode(row) for row in conn.execute(sql, params).fetchall()]


def sqlite_path(url: str) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ValueError(f'"{url}" is not a SQLite URL (sqlite:///path/to/file.db)')
    return url[len(prefix) :]


class SqliteStore:
    """The desk's SQLite database. Create with `await SqliteStore.open(url)`."""

    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        self._db = db
        self._path = path
        self._checkpointer: _Checkpointer | None = None
        self._runner_lock: list[IO[bytes]] | None = None

    @classmethod
    async def open(cls, url: str, *, runner: bool = False) -> SqliteStore:
        path = sqlite_path(url)
        claim = None
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            if runner:
                claim = _claim(path)  # before SQLite opens the file, let alone migrates it
                if claim is None:
                    raise AnotherRunner(_held_by_another(path))
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, once per unit of work.
            db = await aiosqlite.connect(path, isolation_level=None, check_same_thread=False)
        except BaseException:
            _release(claim)
            raise
        store = cls(db, path)
        store._runner_lock = claim
        try:
            await store._run(_prepare)
            await store._migrate()
        except BaseException:
            await store.close()
            raise
        if path != ":memory:":
            # WAL checkpoints off the writer's thread: automatic ones run inside a commit
            # (≈ 10 ms every ~1000 pages, a third of the mean commit time here).
            await store._run(lambda conn: conn.execute("PRAGMA wal_autocheckpoint = 0"))
            store._checkpointer = _Checkpointer(path)
        return store

    async def _migrate(self) -> None:
        """Migrations run under the runner's claim: a reader (`dutydesk tickets …`) of a newer
        release never changes the schema under a desk that is running on it."""
        behind = await self._run(_schema_behind)
        if not behind:
            return
        borrowed = None
        if self._runner_lock is None and self._path != ":memory:":
            borrowed = _claim(self._path)
            if borrowed is None:
                current, newest = behind
                raise AnotherRunner(
                    f"the database is at schema version {current} and a desk runs on it; this dutydesk "
                    f"would migrate it to {newest} under that desk — upgrade and restart the desk instead"
                )
        try:
            await self._run(apply_migrations)
        finally:
            _release(borrowed)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` on aiosqlite's worker thread in one hop.

        aiosqlite's public API awaits each statement separately; its `_execute` queue is
        the same thread and ordering, taken once for the whole unit of work.
        """
        return await self._db._execute(fn, self._db._conn, *args)

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        _release(self._runner_lock)
        self._runner_lock = None
        await self._db.close()

    async def claim_runner(self) -> bool:
        """See `_claim`: the system drops the lock when the process ends, however it ends,
        so a crash never leaves a stale claim behind."""
        if self._runner_lock is None and self._path != ":memory:":
            self._runner_lock = _claim(self._path)
            return self._runner_lock is not None
        return True

    # -- the desk's units of work -------------------------------------------------------

    async def intake(self, probes: Sequence[Probe]) -> list[Intake]:
        return await self._run(_intake, probes)

    async def commit(self, changes: ChangeSet) -> None:
        if changes:
            await self._run(_commit, changes)

    async def next_ticket_id(self) -> int:
        return await self._run(_next_ticket_id)

    async def loads(self) -> dict[str, tuple[int, datetime | None]]:
        return await self._run(_loads)

    # -- reads ----------------------------------------------------------------------------

    async def ticket(self, ticket_id: int) -> Row | None:
        return await self._run(_one, "SELECT * FROM tickets WHERE id = ?", (ticket_id,))

    async def ticket_by_thread(self, channel: str, chat_id: str, thread_id: str) -> Row | None:
        return await self._run(
            _one,
            "SELECT t.* FROM staff_threads s JOIN tickets t ON t.id = s.ticket_id "
            "WHERE s.channel = ? AND s.chat_id = ? AND s.thread_id = ?",
            (channel, chat_id, thread_id),
        )

    async def ticket_by_ref(self, channel: str, chat_id: str, message_id: str) -> Row | None:
        return await self._run(_ticket_by_ref, channel, chat_id, message_id)

    async def open_ticket_for(self, channel: str, chat_id: str, thread_id: str | None) -> Row | None:
        return await self._run(_joinable_ticket, channel, chat_id, thread_id)

    async def message_by_ref(self, channel: str, chat_id: str, platform_id: str) -> Row | None:
        return await self._run(
            _one,
            "SELECT * FROM messages WHERE channel = ? AND chat_id = ? AND platform_id = ? "
            "ORDER BY id LIMIT 1",
            (channel, chat_id, platform_id),
        )

    async def tickets(self, query: TicketQuery) -> list[Row]:
        sql, params = ticket_query(query, encode_time)
        return await self._run(_all, sql, params)

    async def messages(self, ticket_id: int) -> list[Row]:
        return await self._run(_all, "SELECT * FROM messages WHERE ticket_id = ? ORDER BY id", (ticket_id,))

    async def events(self, ticket_id: int) -> list[Row]:
        return await self._run(_all, "SELECT * FROM events WHERE ticket_id = ? ORDER BY id", (ticket_id,))

    async def events_between(self, types: tuple[str, ...], start: datetime, end: datetime) -> list[Row]:
        marks = ", ".join("?" * len(types))
        return await self._run(
            _all,
            f"SELECT * FROM events WHERE type IN ({marks}) AND at >= ? AND at < ? ORDER BY id",
            (*types, encode_time(start), encode_time(end)),
        )

    async def outbox_rows(self, ticket_id: int | None = None, state: str | None = None) -> list[Row]:
        clauses, params = [], []
        if ticket_id is not None:
            clauses.append("ticket_id = ?")
            params.append(ticket_id)
        if state is not None:
            clauses.append("state = ?")
            params.append(state)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return await self._run(_all, f"SELECT * FROM outbox{where} ORDER BY id", params)

    # -- outbox delivery ------------------------------------------------------------------

    async def pending_outbox(self, after_id: int, limit: int) -> list[Row]:
        return await self._run(
            _all,
            "SELECT * FROM outbox WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )

    async def mark_sent(
        self, outbox_id: int, at: datetime, platform_id: str | None, ref: Row | None,
        thread: Row | None,
    ) -> None:
        await self._run(_mark_sent, [Booking(outbox_id, at, platform_id, ref, thread)])

    async def mark_sent_many(self, bookings: Sequence[Booking]) -> None:
        if bookings:
            await self._run(_mark_sent, bookings)

    async def mark_failed(self, outbox_id: int, at: datetime, error: str) -> None:
        await self._run(
            _write,
            "UPDATE outbox SET state = 'failed', sent_at = ?, attempts = attempts + 1, "
            "last_error = ? WHERE id = ? AND state = 'pending'",
            (encode_time(at), error[:2000], outbox_id),
        )

    async def note_attempt(self, outbox_id: int, error: str) -> None:
        await self._run(
            _write,
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            (error[:2000], outbox_id),
        )

    async def staff_threads(self, ticket_ids: Sequence[int] | None = None) -> list[Row]:
        if ticket_ids is None:
            return await self._run(_all, "SELECT * FROM staff_threads")
        marks = ", ".join("?" * len(ticket_ids))
        return await self._run(_all, f"SELECT * FROM staff_threads WHERE ticket_id IN ({marks})", list(ticket_ids))

    async def chat_moved(self, channel: str, old_chat_id: str, new_chat_id: str) -> int:
        return await self._run(_chat_moved, channel, old_chat_id, new_chat_id)

    async def hint_at(self, channel: str, chat_id: str, thread_id: str | None) -> datetime | None:
        row = await self._run(
            _one, "SELECT at FROM conversation_hints WHERE channel = ? AND chat_id = ? AND thread_id = ?",
            (channel, chat_id, thread_id or ""),
        )
        return None if row is None else row["at"]

    # -- dead letters ---------------------------------------------------------------------

    async def dead_letter(self, dead_letter_id: int) -> Row | None:
        return await self._run(_one, "SELECT * FROM dead_letters WHERE id = ?", (dead_letter_id,))

    async def dead_letter_for(self, channel: str, key: str) -> Row | None:
        return await self._run(_one, "SELECT * FROM dead_letters WHERE channel = ? AND key = ?", (channel, key))

    async def dead_letters(self, state: str | None = None, limit: int = 100) -> list[Row]:
        if state is None:
            return await self._run(_all, "SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?", (limit,))
        return await self._run(
            _all, "SELECT * FROM dead_letters WHERE state = ? ORDER BY id DESC LIMIT ?", (state, limit)
        )

    async def dead_letter_counts(self) -> dict[str, int]:
        rows = await self._run(_all, "SELECT state, count(*) AS n FROM dead_letters GROUP BY state")
        return {row["state"]: row["n"] for row in rows}

    async def mark_dead_letter(
        self, dead_letter_id: int, state: str, at: datetime, only_from: tuple[str, ...] = (),
    ) -> bool:
        sql = "UPDATE dead_letters SET state = ?, updated_at = ? WHERE id = ?"
        if only_from:
            sql += f" AND state IN ({', '.join('?' * len(only_from))})"
        return bool(await self._run(_write, sql, (state, encode_time(at), dead_letter_id, *only_from)))

    # -- deadlines ------------------------------------------------------------------------

    async def next_due(self) -> datetime | None:
        row = await self._run(
            _one, "SELECT min(due_at) AS due_at FROM deadlines WHERE fired_at IS NULL"
        )
        return None if row is None else row["due_at"]

    async def due_deadlines(self, now: datetime, limit: int) -> list[Row]:
        return await self._run(
            _all,
            "SELECT * FROM deadlines WHERE fired_at IS NULL AND due_at <= ? "
            "ORDER BY due_at, id LIMIT ?",
            (encode_time(now), limit),
        )

    async def deadlines(self, ticket_id: int) -> list[Row]:
        return await self._run(
            _all, "SELECT * FROM deadlines WHERE ticket_id = ? ORDER BY due_at, id", (ticket_id,)
        )

    async def open_targets(self, clocks: tuple[str, ...], limit: int) -> list[Row]:
        """The pending breach target of each SLA clock, earliest first (the queue's order)."""
        marks = ", ".join("?" * len(clocks))
        return await self._run(
            _all,
            "SELECT ticket_id, clock, min(target_at) AS target_at FROM deadlines "
            f"WHERE fired_at IS NULL AND stage = 100 AND clock IN ({marks}) "
            "GROUP BY ticket_id, clock ORDER BY target_at LIMIT ?",
            (*clocks, limit),
        )

    async def passed_targets(self, clocks: tuple[str, ...], statuses: tuple[str, ...], limit: int) -> list[Row]:
        """The latest breach target already passed of each SLA clock, of tickets in these
        statuses, earliest first: what the queue shows as overdue."""
        return await self._run(
            _all,
            "SELECT d.ticket_id, d.clock, max(d.target_at) AS target_at FROM deadlines d "
            "JOIN tickets t ON t.id = d.ticket_id "
            f"WHERE d.fired_at IS NOT NULL AND d.stage = 100 AND d.clock IN ({', '.join('?' * len(clocks))}) "
            f"AND t.status IN ({', '.join('?' * len(statuses))}) "
            "GROUP BY d.ticket_id, d.clock ORDER BY target_at, d.ticket_id, d.clock LIMIT ?",
            (*clocks, *statuses, limit),
        )

    async def overrides(self, ending_after: datetime) -> list[Row]:
        return await self._run(
            _all, "SELECT * FROM overrides WHERE end_at > ? ORDER BY id", (encode_time(ending_after),)
        )


# Desks before the lock moved onto the database file itself held this file, named from the
# path as written in their config: it is still taken, so that one of them still running
# is not migrated under either.
LEGACY_LOCK_SUFFIX = ".run.lock"


def _claim(path: str) -> list[IO[bytes]] | None:
    """The one-runner lock, on the database's identity: an exclusive `flock` on the
    database file itself. A lock file named after the path would be bypassed by a symlink
    or a hard link to the database — two desks, two WAL files for one database, and a
    malformed database after a crash — but every path to the file reaches the same inode
    and so the same lock. (SQLite's own locks are `fcntl` byte ranges, which `flock` does
    not touch.) None if another process holds it; instant either way."""
    handles: list[IO[bytes]] = []
    for lock_path in (path, path + LEGACY_LOCK_SUFFIX):
        handle = _lock(lock_path)
        if handle is None:
            _release(handles)
            return None
        handles.append(handle)
    return handles


def _release(handles: list[IO[bytes]] | None) -> None:
    for handle in handles or ():
        handle.close()  # closing releases the lock


def _held_by_another(path: str) -> str:
    real = os.path.realpath(path)
    where = f"the file {real}" if real != os.path.abspath(path) else "the file"
    return f"{where} is locked by another process"


def _lock(path: str) -> IO[bytes] | None:
    """The file (created if missing), held open and exclusively locked; None if another
    process holds it. Instant either way (never waits for the lock), so fine on the event
    loop."""
    handle = open(path, "ab")  # held open until the store closes: closing releases the lock
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


class _Checkpointer:
    """PASSIVE WAL checkpoints every `every` seconds from a connection of its own thread:
    they copy committed pages into the database file without blocking the writer."""

    def __init__(self, path: str, every: float = 0.5) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(path, every), daemon=True,
                                        name="dutydesk-checkpoint")
        self._thread.start()

    def _loop(self, path: str, every: float) -> None:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            while not self._stop.wait(every):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# -- functions that run on the database thread ----------------------------------------------


def _prepare(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 5000")


def _schema_behind(conn: sqlite3.Connection) -> tuple[int, int] | None:
    """(this database's schema version, this release's) when there are migrations to apply."""
    current, newest = schema_version(conn), len(migrations("sqlite"))
    return (current, newest) if current < newest else None


def _next_ticket_id(conn: sqlite3.Connection) -> int:
    # Human ids start at T-1001: short, and never mistaken for a count.
    return max(conn.execute("SELECT coalesce(max(id), 1000) FROM tickets").fetchone()[0], 1000) + 1


def _loads(conn: sqlite3.Connection) -> dict[str, tuple[int, datetime | None]]:
    return {
        row["engineer"]: (row["open_count"], row["last_assigned_at"])
        for row in _all(conn, "SELECT * FROM engineer_load")
    }


def _ticket_by_ref(conn: sqlite3.Connection, channel: str, chat_id: str, message_id: str) -> Row | None:
    return _one(
        conn,
        "SELECT t.* FROM message_refs r JOIN tickets t ON t.id = r.ticket_id "
        "WHERE r.channel = ? AND r.chat_id = ? AND r.message_id = ?",
        (channel, chat_id, message_id),
    )


def _joinable_ticket(conn: sqlite3.Connection, channel: str, chat_id: str, thread_id: str | None) -> Row | None:
    return _one(
        conn,
        "SELECT * FROM tickets WHERE channel = ? AND chat_id = ? AND thread_id = ? "
        f"AND status IN {JOINABLE_SQL} ORDER BY id DESC LIMIT 1",
        (channel, chat_id, thread_id or ""),
    )


def _intake(conn: sqlite3.Connection, probes: Sequence[Probe]) -> list[Intake]:
    loads, next_id = _loads(conn), _next_ticket_id(conn)
    return [_probe(conn, probe, loads, next_id) for probe in probes]


def _probe(
    conn: sqlite3.Connection, p: Probe, loads: dict[str, tuple[int, datetime | None]], next_id: int,
) -> Intake:
    seen = conn.execute("SELECT 1 FROM inbound_keys WHERE key = ?", (p.key,)).fetchone() is not None
    ticket = None
    if p.reply_to is not None:
        ticket = _ticket_by_ref(conn, p.channel, p.chat_id, p.reply_to)
        if ticket is not None and ticket["status"] == "closed":
            ticket = None
    if ticket is None:
        ticket = _joinable_ticket(conn, p.channel, p.chat_id, p.thread_id)
    fresh = conn.execute(
        "SELECT 1 FROM fresh_conversations WHERE channel = ? AND chat_id = ? AND thread_id = ?",
        (p.channel, p.chat_id, p.thread_id or ""),
    ).fetchone() is not None
    album_message = None
    if p.album is not None:
        album_message = _one(
            conn,
            "SELECT * FROM messages WHERE channel = ? AND chat_id = ? AND album = ? ORDER BY id LIMIT 1",
            (p.channel, p.chat_id, p.album),
        )
    return Intake(seen, fresh, ticket, album_message, loads, next_id)


def _commit(conn: sqlite3.Connection, cs: ChangeSet) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        _apply(conn, cs)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _apply(conn: sqlite3.Connection, cs: ChangeSet) -> None:
    for key in cs.keys:
        try:
            conn.execute(INSERT_KEY, _values(key, KEY_COLUMNS))
        except sqlite3.IntegrityError:
            raise DuplicateKey(key) from None
    if cs.tickets:
        conn.executemany(UPSERT_TICKET, [_ticket_values(t) for t in cs.tickets])
    for message in cs.messages:
        if message.get("id") is None:
            conn.execute(INSERT_MESSAGE, _values(message, MESSAGE_COLUMNS))
        else:
            conn.execute(
                UPDATE_MESSAGE,
                (message["text"], _encode("attachments", message.get("attachments") or []),
                 encode_time(message.get("edited_at")), message["id"]),
            )
    if cs.events:
        conn.executemany(INSERT_EVENT, [_values(e, EVENT_COLUMNS) for e in cs.events])
    for row in cs.outbox:
        if row.get("coalesce_key"):
            conn.execute(
                "UPDATE outbox SET state = 'superseded' WHERE coalesce_key = ? AND state = 'pending'",
                (row["coalesce_key"],),
            )
        conn.execute(INSERT_OUTBOX, _values(row, OUTBOX_COLUMNS))
    # Fired marks first: the recomputed schedule below must see them, or it would put a
    # just-fired deadline back as new.
    if cs.fired:
        conn.executemany(
            "UPDATE deadlines SET fired_at = ? WHERE id = ? AND fired_at IS NULL",
            [(encode_time(at), deadline_id) for deadline_id, at in cs.fired],
        )
    _replace_deadlines(conn, cs.deadlines)
    if cs.refs:
        conn.executemany(INSERT_REF, [_values(r, REF_COLUMNS) for r in cs.refs])
    if cs.overrides:
        conn.executemany(INSERT_OVERRIDE, [_values(o, OVERRIDE_COLUMNS) for o in cs.overrides])
    for mark in cs.fresh:
        # at set: mark the conversation; at None: the mark was used up.
        key = (mark["channel"], mark["chat_id"], mark.get("thread_id") or "")
        if mark.get("at") is None:
            conn.execute("DELETE FROM fresh_conversations WHERE channel = ? AND chat_id = ? AND thread_id = ?", key)
        else:
            conn.execute(
                "INSERT OR REPLACE INTO fresh_conversations VALUES (?, ?, ?, ?)", (*key, encode_time(mark["at"]))
            )
    if cs.dead_letters:
        conn.executemany(UPSERT_DEAD_LETTER, [_values(d, DEAD_LETTER_COLUMNS) for d in cs.dead_letters])
    if cs.hints:
        conn.executemany(UPSERT_HINT, [_hint_values(h) for h in cs.hints])


def _hint_values(row: Row) -> tuple[Any, ...]:
    return (row["channel"], row["chat_id"], row.get("thread_id") or "", encode_time(row["at"]))


def _replace_deadlines(conn: sqlite3.Connection, schedule: dict[tuple[int, str], list[Row]]) -> None:
    """Make each named clock's unfired deadlines exactly its rows, leaving unchanged ones in
    place (same id: a batch of due rows being fired stays valid) and fired ones untouched —
    one DELETE per ticket and one INSERT batch for the whole change set."""
    clocks: dict[int, list[str]] = {}
    for ticket_id, clock in schedule:
        clocks.setdefault(ticket_id, []).append(clock)
    for ticket_id, names in clocks.items():
        keep = [
            (clock, r["stage"], encode_time(r["target_at"])) for clock in names for r in schedule[(ticket_id, clock)]
        ]
        sql = (f"DELETE FROM deadlines WHERE ticket_id = ? AND fired_at IS NULL "
               f"AND clock IN ({', '.join('?' * len(names))})")
        params: list[Any] = [ticket_id, *names]
        if keep:
            sql += f" AND (clock, stage, target_at) NOT IN (VALUES {', '.join(['(?, ?, ?)'] * len(keep))})"
            params += [value for triple in keep for value in triple]
        conn.execute(sql, params)
    rows = [_values(r, DEADLINE_COLUMNS) for group in schedule.values() for r in group]
    if rows:
        conn.executemany(INSERT_DEADLINE, rows)


def _write(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    """One statement; returns the rows it changed."""
    return conn.execute(sql, params).rowcount


def _mark_sent(conn: sqlite3.Connection, bookings: Sequence[Booking]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for b in bookings:
            conn.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, platform_id = ?, "
                "attempts = attempts + 1 WHERE id = ? AND state = 'pending'",
                (encode_time(b.at), b.platform_id, b.outbox_id),
            )
            if b.ref is not None:
                conn.execute(INSERT_REF, _values(b.ref, REF_COLUMNS))
            if b.thread is not None:
                t = b.thread
                conn.execute(
                    "INSERT INTO staff_threads (ticket_id, channel, chat_id, thread_id, header_id) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (ticket_id, channel) DO UPDATE SET "
                    "chat_id = excluded.chat_id, thread_id = excluded.thread_id, "
                    "header_id = coalesce(excluded.header_id, staff_threads.header_id)",
                    (t["ticket_id"], t["channel"], t["chat_id"], t["thread_id"], t.get("header_id")),
                )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _chat_moved(conn: sqlite3.Connection, channel: str, old: str, new: str) -> int:
    conn.execute("BEGIN IMMEDIATE")
    try:
        moved = conn.execute(
            "UPDATE tickets SET chat_id = ? WHERE channel = ? AND chat_id = ?", (new, channel, old)
        ).rowcount
        for table in ("outbox", "staff_threads", "message_refs", "messages"):
            conn.execute(f"UPDATE {table} SET chat_id = ? WHERE channel = ? AND chat_id = ?", (new, channel, old))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return moved


