"""Versioned schema migrations.

Each backend has a folder of numbered SQL files (`0001_initial.sql`, `0002_….sql`). A
database records the last version applied (SQLite: `PRAGMA user_version`), and opening it
applies the newer files in order, each in its own transaction, so an upgrade that fails
half-way leaves the previous version intact.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

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


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def apply_migrations(
    conn: sqlite3.Connection, target: int | None = None, available: list[Migration] | None = None
) -> list[int]:
    """Bring a SQLite database up to `target` (default: the newest); returns versions applied."""
    applied = []
    current = schema_version(conn)
    available = migrations("sqlite") if available is None else available
    if current > len(available):
        raise RuntimeError(
            f"the database is at schema version {current}, newer than this dutydesk "
            f"({len(available)}): upgrade dutydesk instead"
        )
    for migration in available:
        if migration.version <= current or (target is not None and migration.version > target):
            continue
        try:
            conn.executescript(
                f"BEGIN;\n{migration.sql}\nPRAGMA user_version = {migration.version};\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise RuntimeError(f"migration {migration.name} failed: {exc}") from exc
        applied.append(migration.version)
    return applied
