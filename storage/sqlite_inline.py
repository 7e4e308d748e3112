"""The SQLite store with each unit of work run on the caller's thread: for `dutydesk
simulate`, never for a running desk.

`SqliteStore` hands each unit of work (the reads before a decision, or a whole
transaction) to aiosqlite's worker thread, so that a slow disk never stalls the event
loop while channels wait on it. A simulation has nothing else on its loop: the manual
clock only moves when the desk has finished, so the hop buys nothing and costs ≈ 120 µs a
unit — more under load — some sixteen times per simulated ticket. Here the same units
(the same functions, the same SQL, the same encoding) run directly on a plain `sqlite3`
connection. `throwaway=True` also drops durability, sharing and the foreign-key checks
(`synchronous = OFF`, the rollback journal in memory, the file locked for this connection
until it closes; see `THROWAWAY`): right for a database that is deleted after the run, or
kept only to be read back (`--keep-db`) once the store has closed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from storage.sqlite import SqliteStore, sqlite_path

T = TypeVar("T")

DURABLE = ("PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON")
# One connection and no crash to survive: no file lock taken and dropped per transaction,
# no fsync, the rollback journal in memory, a 64 MiB page cache. No foreign-key checks
# either: the schema's references cascade nothing and no code reads their errors — they
# guard against a bug writing rows for a ticket that is not there, which the storage
# contract suite checks on every backend with them on; here they cost ≈ 4 % of a run's
# CPU (1-week A/B, medians of 4) to say nothing new.
THROWAWAY = ("PRAGMA locking_mode = EXCLUSIVE", "PRAGMA journal_mode = MEMORY", "PRAGMA synchronous = OFF",
             "PRAGMA cache_size = -65536", "PRAGMA foreign_keys = OFF")


class InlineSqliteStore(SqliteStore):
    """Create with `await InlineSqliteStore.open(url)`. Each call blocks the event loop for
    the length of its unit of work, which is the point."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:  # not SqliteStore's: no aiosqlite here
        self._conn = conn
        self._path = path
        self._checkpointer = None
        self._runner_lock = None

    @classmethod
    async def open(cls, url: str, *, runner: bool = False, throwaway: bool = False) -> InlineSqliteStore:
        """`runner` is refused: a desk that runs (and delivers) uses `SqliteStore`. The
        runner's claim is still taken, and dropped, around migrations (`SqlStore._migrate`)."""
        if runner:
            raise ValueError("InlineSqliteStore is for simulation: a running desk uses SqliteStore")
        path = sqlite_path(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: BEGIN/COMMIT are the units' own, as in SqliteStore.
        conn = sqlite3.connect(path, isolation_level=None)
        for pragma in (*(THROWAWAY if throwaway else DURABLE), "PRAGMA busy_timeout = 5000"):
            conn.execute(pragma)
        store = cls(conn, path)
        try:
            await store._migrate()
        except BaseException:
            await store.close()
            raise
        return store

    async def _unit(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)`, here and now."""
        return fn(self._conn, *args)

    def save(self, path: Path) -> None:
        """A copy of the database in a new file (SQLite's online backup): a run on an
        in-memory database kept for later reading."""
        target = sqlite3.connect(path)
        try:
            self._conn.backup(target)
        finally:
            target.close()

    async def close(self) -> None:
        await self._release_claim()
        self._conn.close()
