"""SQLite backend on aiosqlite: one connection, one worker thread, one hop per unit of work.

Measured on this machine kind, awaiting each statement costs ≈ 120 µs of thread hand-off,
so a 5-insert message would spend more time hopping than inserting. Here each unit of work
— the reads before a decision, or the whole transaction after it — is a plain function run
on aiosqlite's worker thread in a single call. One connection also means one writer, which
is what SQLite wants: parallel writers add no throughput, only lock waits.

The one hop goes through aiosqlite's public API only. The connection aiosqlite opens is
this module's `_Connection` (`aiosqlite.connect(..., factory=...)`: sqlite3.connect's own
argument, passed through), and its `execute` runs a `_Unit` handed to it as the parameters
of `aiosqlite.Connection.execute_fetchall` — which calls `execute` on the worker thread,
as every aiosqlite statement does. (Until 0.22 this called aiosqlite's private `_execute`,
which pinned aiosqlite below 0.23.)

Measured with `bench/ingest.py` on the floor's five-insert messages (medians of 3 runs,
bare sqlite3 ≈ 7,300 msgs/s): one hop per transaction ≈ 3,800 msgs/s (0.53 of bare), each
statement awaited ≈ 1,000 (0.14); 32 messages per transaction in one hop ≈ 23,400, as
BEGIN + one awaited `executemany` per statement + COMMIT ≈ 15,700. One hop it stays.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import IO, Any, TypeVar, cast

import aiosqlite

from storage.base import AnotherRunner, Row
from storage.columns import JSON_COLUMNS, PLAIN_COLUMNS, TIME_COLUMNS
from storage.dialect import SQLITE, Bound
from storage.migrations import apply_sqlite_migrations, sqlite_schema_version
from storage.plan import Step
from storage.sqlstore import Read, SqlStore

T = TypeVar("T")

_TIMES: dict[datetime, str] = {}
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode_time(value: datetime) -> str:
    """Fixed width, always UTC: text order is time order, so indexes on times work.

    A unit of work writes the same few instants many times (its "now" in every row), and
    isoformat costs ≈ 3 µs here against ≈ 0.1 µs for a lookup: recent ones are remembered.
    """
    text = _TIMES.get(value)
    if text is None:
        if len(_TIMES) >= 4096:
            _TIMES.clear()
        text = _TIMES[value] = value.astimezone(UTC).isoformat(timespec="microseconds")
    return text


def encode(name: str, value: Any) -> Any:
    """A value as SQLite stores it: times as text, JSON columns as compact JSON."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return encode_time(value)
    if name in JSON_COLUMNS:
        return _JSON(value)
    return value


def _encode_time(value: datetime | None) -> str | None:
    return None if value is None else encode_time(value)


def _encode_json(value: Any) -> str | None:
    if value is None:
        return None
    return "[]" if value == [] else _JSON(value)  # no buttons, no attachments: most rows


@lru_cache(maxsize=256)
def _encoders(names: tuple[str, ...]) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """Which values of a statement need encoding, and how: a time or JSON column by its
    encoding, any other parameter (a range's ends, a row set) by its type; the desk's other
    columns are stored as they are."""
    found: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(names):
        if name in TIME_COLUMNS:
            found.append((i, _encode_time))
        elif name in JSON_COLUMNS:
            found.append((i, _encode_json))
        elif name not in PLAIN_COLUMNS:
            found.append((i, partial(encode, name)))
    return tuple(found)


def _encoded(names: tuple[str, ...], values: list[Any]) -> list[Any]:
    return _encode_with(_encoders(names), values)


def _encode_with(encoders: tuple[tuple[int, Callable[[Any], Any]], ...], values: list[Any]) -> list[Any]:
    for i, encoder in encoders:
        value = values[i]
        if value is not None:
            values[i] = encoder(value)
    return values


def _decode_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _decode_json(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _decode_thread(value: str | None) -> str | None:
    return value or None  # '' is "no thread" (see storage.plan)


@lru_cache(maxsize=256)
def _decoders(names: tuple[str, ...]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """The columns of a result that need decoding, and how; the rest are read as stored."""
    found = ((name, _decode_time if name in TIME_COLUMNS else _decode_json if name in JSON_COLUMNS
              else _decode_thread if name == "thread_id" else None) for name in names)
    return tuple((name, decode) for name, decode in found if decode is not None)


def _fetch(conn: sqlite3.Connection, bound: Bound) -> list[Row]:
    cursor = conn.execute(bound.text, _encoded(bound.names, bound.values))
    names = tuple(d[0] for d in cursor.description)
    decoders = _decoders(names)
    rows = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        for name, decode in decoders:
            row[name] = decode(row[name])
        rows.append(row)
    return rows


class _Unit(tuple[Any, ...]):
    """A unit of work for `_Connection.execute`: (function, *arguments); it runs as
    `function(connection, *arguments)` and leaves what it returns in `result`."""

    result: Any


_UNIT = "-- a unit of work: storage.sqlite._Connection.execute runs it"


class _Connection(sqlite3.Connection):
    """The desk's sqlite3 connection, opened (and used) on aiosqlite's worker thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA journal_mode = WAL")
        self.execute("PRAGMA synchronous = NORMAL")
        self.execute("PRAGMA foreign_keys = ON")
        self.execute("PRAGMA busy_timeout = 5000")

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        if type(parameters) is _Unit:
            parameters.result = parameters[0](self, *parameters[1:])
            return self.cursor()  # no rows: execute_fetchall returns []
        return super().execute(sql, parameters)


def sqlite_path(url: str) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ValueError(f'"{url}" is not a SQLite URL (sqlite:///path/to/file.db)')
    return url[len(prefix) :]


class SqliteStore(SqlStore):
    """The desk's SQLite database. Create with `await SqliteStore.open(url)`."""

    dialect = SQLITE

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
            db = await aiosqlite.connect(path, isolation_level=None, check_same_thread=False, factory=_Connection)
        except BaseException:
            _release(claim)
            raise
        store = cls(db, path)
        store._runner_lock = claim
        try:
            await store._migrate()
        except BaseException:
            await store.close()
            raise
        if path != ":memory:":
            # WAL checkpoints off the writer's thread: automatic ones run inside a commit
            # (≈ 10 ms every ~1000 pages, a third of the mean commit time here).
            await db.execute("PRAGMA wal_autocheckpoint = 0")
            store._checkpointer = _Checkpointer(path)
        return store

    async def _unit(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` on aiosqlite's worker thread, in one hop."""
        unit = _Unit((fn, *args))
        await self._db.execute_fetchall(_UNIT, unit)
        return cast(T, unit.result)

    async def _read(self, *reads: Read) -> list[list[Row]]:
        return await self._unit(_read, reads)

    async def _transaction(self, steps: Sequence[Step]) -> list[int]:
        return await self._unit(_transaction, steps)

    async def _schema_version(self) -> int:
        return await self._unit(sqlite_schema_version)

    async def _apply_migrations(self) -> None:
        await self._unit(apply_sqlite_migrations)

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        await self._release_claim()
        await self._db.close()

    def _holds_claim(self) -> bool:
        return self._runner_lock is not None

    async def claim_runner(self) -> bool:
        """See `_claim`: the system drops the lock when the process ends, however it ends,
        so a crash never leaves a stale claim behind."""
        if self._runner_lock is None and self._path != ":memory:":
            self._runner_lock = _claim(self._path)
            return self._runner_lock is not None
        return True

    async def _release_claim(self) -> None:
        _release(self._runner_lock)
        self._runner_lock = None


# -- what runs on the database thread ---------------------------------------------------------


def _read(conn: sqlite3.Connection, reads: Sequence[Read]) -> list[list[Row]]:
    return [[row for params in read.params for row in _fetch(conn, read.sql.bind(SQLITE, params))] for read in reads]


def _transaction(conn: sqlite3.Connection, steps: Sequence[Step]) -> list[int]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        changed = [_step(conn, step) for step in steps]
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return changed


def _step(conn: sqlite3.Connection, step: Step) -> int:
    if step.each:
        return sum(step.check(row, _execute(conn, step.sql.bind(SQLITE, row))) for row in step.rows)
    for batch in step.sql.batches(SQLITE, step.rows):
        encoders = _encoders(batch.names)
        conn.executemany(batch.text, [_encode_with(encoders, values) for values in batch.rows])
    return 0


def _execute(conn: sqlite3.Connection, bound: Bound) -> int:
    """One statement; the rows it changed."""
    return conn.execute(bound.text, _encoded(bound.names, bound.values)).rowcount


# -- one runner per database ----------------------------------------------------------------------

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
