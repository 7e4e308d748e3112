"""Persistence. `open_store(url)` picks the backend from the URL's scheme; with it come what
its callers name (the `Store`, its rows and queries, `AnotherRunner`). The rest of the
contract — a unit of work (`ChangeSet`), what intake reads, the conflicts a commit raises —
is imported from `storage.base` by the code that writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.base import AnotherRunner, Row, Store, TicketQuery

if TYPE_CHECKING:
    from storage.claim import PostgresClaim

__all__ = ["AnotherRunner", "Row", "Store", "TicketQuery", "open_store"]


async def open_store(url: str, *, runner: bool = False, claim: PostgresClaim | None = None) -> Store:
    """`runner`: this process runs the desk, so it first claims the database — before any
    migration — and raises `AnotherRunner` if another desk holds it. `claim`: a PostgreSQL
    runner's claim already held (`storage/claim.py`: a standby that took over)."""
    if url.startswith("sqlite:///"):
        from storage.sqlite import SqliteStore

        return await SqliteStore.open(url, runner=runner)
    if url.startswith(("postgresql://", "postgres://")):
        from storage.postgres import PostgresStore

        return await PostgresStore.open(url, runner=runner, claim=claim)
    scheme = url.split(":", 1)[0]
    raise ValueError(
        f'storage.url: unsupported scheme "{scheme}" (use sqlite:///path/to/desk.db or postgresql://user@host/db)'
    )
