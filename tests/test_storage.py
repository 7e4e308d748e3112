"""Storage (SQLite): the append-only event log, derived engineer load, an old schema's repair.

Both backends' migration runners are tested side by side in tests/test_storage_contract.py."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import open_store
from storage.migrations import apply_sqlite_migrations

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
