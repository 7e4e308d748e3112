"""The runner's claim on a PostgreSQL schema: a session advisory lock on a connection of
its own.

One desk at a time may poll and send (two would deliver the whole outbox twice), so the
desk that runs holds this claim, and a second `dutydesk run` waits for it as a standby
(`bot/app/standby.py`) and takes it when the first one ends. The lock is keyed by the
schema the desk's tables live in (advisory locks are per database): whatever host name or
URL reaches it, a schema is one lock.

PostgreSQL drops a session's advisory locks when the session ends, so a process that dies
leaves no stale claim behind — once the server notices. A killed process's socket is
closed by its kernel at once; a machine that vanishes from the network is noticed only by
TCP keepalives, so the claim's session asks the server for short ones (≈ 8 s to notice).

The holder must learn when its session is gone (the connection dropped, a DBA terminated
the backend): from then on another desk may hold the claim. `lost` is set the moment
asyncpg sees the connection close, and `alive()` is the cheap periodic check for what
no socket event reports (a server that stopped answering).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any

import asyncpg

from storage.migrations import require_schema

log = logging.getLogger("dutydesk.storage.claim")

LOCK = "SELECT pg_try_advisory_lock(hashtext('dutydesk:' || current_schema()))"
# The server gives up on a silent peer after idle + interval × count seconds.
# What a standby waits out (the server down, restarting, not accepting connections yet);
# anything else — a wrong password, no such schema — is a mistake to report.
UNREACHABLE = (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
               asyncpg.InterfaceError)
KEEPALIVES = {"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "1", "tcp_keepalives_count": "3"}


def claim_name() -> str:
    """The claim session's application_name: who holds the desk, in pg_stat_activity."""
    return f"dutydesk claim {socket.gethostname()} pid {os.getpid()}"[:63]


class PostgresClaim:
    """One attempt after another to take the lock (`take`), then the watch on it (`lost`,
    `alive`) until `release`. Not reusable once released or lost: make a new one."""

    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        self._url = url
        self._connect_timeout = connect_timeout
        self._conn: asyncpg.Connection | None = None
        self.schema: str | None = None
        self.lost = asyncio.Event()
        self.held = False

    async def take(self) -> bool:
        """One try; True once held. Raises when the server cannot be reached (try again later)."""
        if self.held:
            return True
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                self._url, timeout=self._connect_timeout,
                server_settings={"application_name": claim_name(), **KEEPALIVES},
            )
            await require_schema(self._conn)
            self.schema = await self._conn.fetchval("SELECT current_schema()")
        if not await self._conn.fetchval(LOCK):
            return False
        self.held = True
        self._conn.add_termination_listener(self._closed)
        return True

    def _closed(self, _: Any) -> None:
        if self.held:
            self.lost.set()

    async def alive(self, timeout: float) -> bool:  # noqa: ASYNC109 - one bounded round trip
        """Whether the session holding the lock still answers (and so still holds it)."""
        conn = self._conn
        if not self.held or conn is None or conn.is_closed() or self.lost.is_set():
            return False
        try:
            await conn.fetchval("SELECT 1", timeout=timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        return True

    async def release(self) -> None:
        """Unlock and close; a session already gone has nothing left to release."""
        conn, self._conn = self._conn, None
        self.held = False
        if conn is None:
            return
        conn.remove_termination_listener(self._closed)
        if conn.is_closed():
            return
        try:
            await conn.execute("SELECT pg_advisory_unlock_all()", timeout=self._connect_timeout)
            await conn.close(timeout=self._connect_timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("releasing the claim failed (%s: %s); closing its session", type(exc).__name__, exc)
            with contextlib.suppress(Exception):
                conn.terminate()
