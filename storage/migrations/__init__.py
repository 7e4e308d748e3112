"""Versioned schema migrations, and both backends' runners side by side.

Each backend has a folder of numbered SQL files (`0001_initial.sql`, `0002_….sql`). A
database records the versions applied — SQLite in `PRAGMA user_version`, PostgreSQL (which
has none) in a `schema_version` table — and opening it applies the newer files in order,
each in its own transaction, so an upgrade that fails half-way leaves the previous version
intact. Both runners share the discovery and numbering, which files to apply, the refusal of
a schema newer than this release, and how a failed step is reported.

When a store migrates is decided in one place too (`SqlStore._migrate`): only under the
runner's claim, so that nothing changes the schema under a running desk.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncpg

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(backend: str) -> list[Migration]:
    folder = resources.files(__package__).joinpath(backend)
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{backend} migrations must be numbered 1..N without gaps, found {versions}")
    return found


def refuse_newer(current: int, known: int) -> None:
    if current > known:
        raise RuntimeError(
            f"the database is at schema version {current}, newer than this dutydesk ({known}): upgrade dutydesk instead"
        )


def to_apply(current: int, available: list[Migration], target: int | None) -> list[Migration]:
    """The migrations after `current` up to `target` (default: all), in order."""
    refuse_newer(current, len(available))
    return [m for m in available if m.version > current and (target is None or m.version <= target)]


def failed(migration: Migration, exc: Exception) -> RuntimeError:
    return RuntimeError(f"migration {migration.name} failed: {exc}")


# -- SQLite ------------------------------------------------------------------------------------


def sqlite_schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply_sqlite_migrations(
    conn: sqlite3.Connection, target: int | None = None, available: list[Migration] | None = None
) -> list[int]:
    """Bring a SQLite database up to `target` (default: the newest); returns versions applied.
    The version is set inside each migration's transaction, so they commit together."""
    applied = []
    available = migrations("sqlite") if available is None else available
    for migration in to_apply(sqlite_schema_version(conn), available, target):
        try:
            conn.executescript(f"BEGIN;\n{migration.sql}\nPRAGMA user_version = {migration.version};\nCOMMIT;")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise failed(migration, exc) from exc
        applied.append(migration.version)
    return applied


# -- PostgreSQL --------------------------------------------------------------------------------

SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)
# Per schema, so desks (or test runs) in different schemas of one database never wait on
# each other; two processes opening one schema at once apply each migration once.
MIGRATION_LOCK = "hashtext('dutydesk migrations ' || current_schema())"


async def postgres_schema_version(conn: asyncpg.Connection) -> int:
    """The last migration applied (0 for an empty schema)."""
    if await conn.fetchval("SELECT to_regclass('schema_version')") is None:
        return 0
    return int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))


async def apply_postgres_migrations(
    conn: asyncpg.Connection, target: int | None = None, available: list[Migration] | None = None
) -> list[int]:
    """Bring the schema first on the search_path up to `target` (default: the newest),
    each migration in its own transaction with its `schema_version` row; returns the
    versions applied."""
    import asyncpg

    await require_schema(conn)
    await conn.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
    try:
        await conn.execute(SCHEMA_VERSION_TABLE)
        current = await postgres_schema_version(conn)
        applied = []
        available = migrations("postgres") if available is None else available
        for migration in to_apply(current, available, target):
            try:
                async with conn.transaction():
                    if _has_statements(migration.sql):  # asyncpg fails on a query of comments only
                        await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_version (version, name) VALUES ($1, $2)", migration.version, migration.name
                    )
            except asyncpg.PostgresError as exc:
                raise failed(migration, exc) from exc
            applied.append(migration.version)
        return applied
    finally:
        await conn.execute(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")


async def require_schema(conn: asyncpg.Connection) -> None:
    """The desk's tables live in the first schema of the search_path; it must exist."""
    if await conn.fetchval("SELECT current_schema()") is None:
        path = await conn.fetchval("SHOW search_path")
        raise RuntimeError(f"no schema of search_path {path!r} exists: create it first")


def _has_statements(sql: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in sql.splitlines())
