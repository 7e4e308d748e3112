"""Storage: versioned migrations, the append-only event log, derived engineer load."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import open_store
from storage.migrations import Migration, apply_sqlite_migrations, migrations, sqlite_schema_version

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _ticket(ticket_id: int, **changes: object) -> dict:
    row = {
        "id": ticket_id, "status": "assigned", "priority": 3, "priority_reason": "", "kind": "question",
        "language": "ru", "subject": "s", "customer": "local:1", "customer_name": "", "org_id": None,
        "plan": "basic", "customer_tz": "UTC", "channel": "local", "chat_id": "1", "thread_id": None,
        "assignee": "anna", "tier": "l1", "escalation_level": 0, "assigned_at": NOW, "pickup_at": None,
        "created_at": NOW, "updated_at": NOW, "first_response_at": None, "resolved_at": None,
        "closed_at": None, "last_customer_at": NOW, "last_update_at": None, "last_customer_message": None,
        "clock_running_since": NOW, "clock_used_s": 0, "clock_paused_at": None, "rating": None, "sla": {},
    }
    row.update(changes)
    return row


def test_fresh_database_gets_every_migration(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "a.db")
    applied = apply_sqlite_migrations(conn)
    assert applied == [m.version for m in migrations("sqlite")]
    assert sqlite_schema_version(conn) == len(applied)
    assert apply_sqlite_migrations(conn) == []  # opening again changes nothing


def test_upgrade_keeps_data_and_a_failed_step_rolls_back(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "b.db", isolation_level=None)
    apply_sqlite_migrations(conn)
    conn.execute("INSERT INTO overrides (engineer, start_at, end_at, created_by, created_at) VALUES ('a','1','2','x','0')")
    base = migrations("sqlite")
    nxt = len(base) + 1
    good = Migration(nxt, f"{nxt:04d}_note.sql", "ALTER TABLE overrides ADD COLUMN note TEXT;")
    bad = Migration(nxt + 1, f"{nxt + 1:04d}_bad.sql", "ALTER TABLE overrides ADD COLUMN x TEXT; SELECT * FROM nowhere;")
    with pytest.raises(RuntimeError, match=r"_bad\.sql failed"):
        apply_sqlite_migrations(conn, available=[*base, good, bad])
    assert sqlite_schema_version(conn) == nxt  # the good step stayed, the bad one left no trace
    columns = [row[1] for row in conn.execute("PRAGMA table_info(overrides)")]
    assert "note" in columns and "x" not in columns
    assert conn.execute("SELECT engineer FROM overrides").fetchall() == [("a",)]


def test_newer_database_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "c.db")
    conn.execute("PRAGMA user_version = 999")
    with pytest.raises(RuntimeError, match="newer than this dutydesk"):
        apply_sqlite_migrations(conn)


async def test_event_log_is_append_only_and_loads_follow_tickets(tmp_path: Path) -> None:
    from storage.base import ChangeSet

    db = tmp_path / "d.db"
    store = await open_store(f"sqlite:///{db}")
    try:
        await store.commit(ChangeSet(
            tickets=[_ticket(1001), _ticket(1002)],
            events=[{"ticket_id": 1001, "type": "created", "actor": "x", "at": NOW, "reason": "", "data": {}}],
        ))
        assert (await store.loads())["anna"][0] == 2
        await store.commit(ChangeSet(tickets=[_ticket(1001, assignee="dmitry"), _ticket(1002, status="resolved")]))
        loads = await store.loads()
        assert loads["anna"][0] == 0 and loads["dmitry"][0] == 1
        beside = sqlite3.connect(db)  # another connection: the schema, not the store, refuses
        try:
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                beside.execute("UPDATE events SET reason = 'rewritten'")
        finally:
            beside.close()
    finally:
        await store.close()


def test_version_3_turns_empty_load_times_back_into_null(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "e.db", isolation_level=None)
    apply_sqlite_migrations(conn, target=2)
    conn.execute("INSERT INTO engineer_load VALUES ('anna', 1, '')")  # what version 1's triggers could write
    apply_sqlite_migrations(conn)
    assert conn.execute("SELECT last_assigned_at FROM engineer_load").fetchall() == [(None,)]
