"""Backups of a SQLite database: consistent while the desk runs, restored only when it does not.

`backup` uses SQLite's online backup API (`sqlite3.Connection.backup`) in a single step:
it reads every page under one read transaction, so with WAL the copy is the database as of
one commit — every transaction committed before it started is in it whole, none after —
and the desk's writes go on meanwhile (WAL readers do not block the writer). The copy is
written beside the target and renamed into place, so a failed backup leaves no half file.

`restore` refuses while a desk runs on the database (it takes the runner's claim, as
`dutydesk run` does) and refuses a file that is not a dutydesk database of a schema version
this release knows; an older version is migrated by the next `dutydesk run`. PostgreSQL has
its own tools (pg_dump, pg_restore).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from storage.base import AnotherRunner
from storage.migrations import migrations, sqlite_schema_version
from storage.sqlite import _claim, _held_by_another, _release


class NotADeskDatabase(Exception):
    """The file is not a dutydesk SQLite database this release can run on."""


@dataclass(frozen=True)
class Snapshot:
    """What a backup or restore copied."""

    path: Path
    version: int
    tickets: int
    size: int


def backup(database: str | Path, target: str | Path) -> Snapshot:
    """Copy the live database at `database` to `target` (replacing it)."""
    source_path, target_path = Path(database), Path(target)
    if not source_path.is_file():
        raise NotADeskDatabase(f"{source_path}: no such database")
    partial = target_path.with_name(target_path.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path)
    try:
        _describe(source, source_path)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # pages=-1: the whole database in one step, one read transaction
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        finally:
            copy.close()
    finally:
        source.close()
    os.replace(partial, target_path)
    return check(target_path)


def restore(source: str | Path, database: str | Path) -> Snapshot:
    """Replace the database at `database` with the backup `source`; refuses while a desk
    runs on it."""
    source_path, target_path = Path(source), Path(database)
    check(source_path)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    claim = _claim(str(target_path))
    if claim is None:
        raise AnotherRunner(_held_by_another(str(target_path)))
    try:
        backup_file = sqlite3.connect(source_path)
        try:
            target = sqlite3.connect(target_path)
            try:
                backup_file.backup(target)
                target.execute("PRAGMA journal_mode = WAL")  # as the desk runs it
            finally:
                target.close()
        finally:
            backup_file.close()
    finally:
        _release(claim)
    return check(target_path)


def check(path: Path) -> Snapshot:
    """`path` holds an intact dutydesk database of a schema version this release knows."""
    if not path.is_file():
        raise NotADeskDatabase(f"{path}: no such file")
    conn = sqlite3.connect(path)
    try:
        version, tickets = _describe(conn, path)
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        raise NotADeskDatabase(f"{path}: not a SQLite database ({exc})") from None
    finally:
        conn.close()
    if problems != ["ok"]:
        raise NotADeskDatabase(f"{path}: damaged: {'; '.join(problems[:5])}")
    return Snapshot(path, version, tickets, path.stat().st_size)


def _describe(conn: sqlite3.Connection, path: Path) -> tuple[int, int]:
    """(schema version, tickets) of a dutydesk database; raises for any other file."""
    try:
        version = sqlite_schema_version(conn)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise NotADeskDatabase(f"{path}: not a SQLite database ({exc})") from None
    known = len(migrations("sqlite"))
    if version < 1 or not {"tickets", "messages", "events", "outbox"} <= tables:
        raise NotADeskDatabase(f"{path}: not a dutydesk database")
    if version > known:
        raise NotADeskDatabase(
            f"{path}: schema version {version} is newer than this dutydesk knows ({known}): restore it with a "
            "newer release"
        )
    return version, int(conn.execute("SELECT count(*) FROM tickets").fetchone()[0])
