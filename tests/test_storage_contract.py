"""The storage contract, run against every backend: the same units of work in, the same
rows out. SQLite runs on a temporary file; PostgreSQL on a throwaway schema of the server
named by DUTYDESK_TEST_POSTGRES (default: the local one), skipped when it is unreachable."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest

from storage import open_store
from storage.base import (
    AnotherRunner,
    Booking,
    ChangeSet,
    ConflictingWrite,
    DuplicateKey,
    Intake,
    Probe,
    Row,
    Store,
    TicketQuery,
)
from storage.migrations import Migration, apply_sqlite_migrations, migrations, sqlite_schema_version
from storage.sqlite import SqliteStore
from storage.sqlite_inline import InlineSqliteStore

POSTGRES_URL = os.environ.get("DUTYDESK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


# -- PostgreSQL: reachability and a schema per test ------------------------------------------


async def _unreachable_reason(url: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


@cache
def _postgres_problem() -> str | None:
    """Why the PostgreSQL runs cannot run, asked once per session; None when they can."""
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        return "asyncpg is not installed (pip install '.[postgres]')"
    # On a thread of its own: this may be asked while a test's event loop runs.
    with ThreadPoolExecutor(1) as pool:
        reason = pool.submit(asyncio.run, _unreachable_reason(POSTGRES_URL)).result()
    if reason is not None:
        return f"PostgreSQL is not reachable at {POSTGRES_URL} ({reason}); set DUTYDESK_TEST_POSTGRES"
    return None


def require_postgres() -> str:
    """The server the PostgreSQL runs use; skips the test when there is none."""
    problem = _postgres_problem()
    if problem is not None:
        pytest.skip(problem)
    return POSTGRES_URL


async def intake_one(store: Store, key: str, channel: str, chat_id: str, thread_id: str | None,
                     reply_to: str | None, album: str | None) -> Intake:
    [found] = await store.intake([Probe(key, channel, chat_id, thread_id, reply_to, album)])
    return found


@pytest.fixture
def postgres_url() -> str:
    return require_postgres()


def with_settings(url: str, **settings: str) -> str:
    """The URL with server settings added as query parameters (asyncpg passes them on)."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(settings)) if q)
    return urlunsplit(parts._replace(query=query))


@asynccontextmanager
async def postgres_schema(url: str, **settings: str) -> AsyncIterator[str]:
    """A uniquely named schema for one test, dropped afterwards, so parallel and earlier
    runs never see each other's rows; yields a store URL whose search_path is that schema."""
    import asyncpg

    schema = f"dutydesk_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        yield with_settings(url, search_path=schema, **settings)
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


# -- the backends -----------------------------------------------------------------------------


@dataclass
class Backend:
    store: Store
    execute: Callable[[str], Awaitable[None]]  # SQL through a connection of its own, beside the store
    url: str  # for a second store on the same database


@asynccontextmanager
async def sqlite_backend(path: Path, *, inline: bool = False) -> AsyncIterator[Backend]:
    """`inline`: the simulator's store (each unit of work on the caller's thread)."""
    store = await (InlineSqliteStore.open if inline else SqliteStore.open)(f"sqlite:///{path}")

    async def execute(sql: str) -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute(sql)
        finally:
            conn.close()

    try:
        yield Backend(store, execute, f"sqlite:///{path}")
    finally:
        await store.close()


@asynccontextmanager
async def postgres_backend(url: str) -> AsyncIterator[Backend]:
    import asyncpg

    from storage.postgres import PostgresStore

    # A session time zone far from UTC: rows must not depend on it.
    async with postgres_schema(url, timezone="Pacific/Chatham") as schema_url:
        store = await PostgresStore.open(schema_url)

        async def execute(sql: str) -> None:
            conn = await asyncpg.connect(schema_url)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        try:
            yield Backend(store, execute, schema_url)
        finally:
            await store.close()


@pytest.fixture(params=["sqlite", "sqlite-inline", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param.startswith("sqlite"):
        async with sqlite_backend(tmp_path / "contract.db", inline=request.param == "sqlite-inline") as found:
            yield found
    else:
        async with postgres_backend(request.getfixturevalue("postgres_url")) as found:
            yield found


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.store


def integrity_errors() -> tuple[type[Exception], ...]:
    """What each backend raises when the schema refuses a write."""
    try:
        import asyncpg
    except ImportError:
        return (sqlite3.IntegrityError,)
    return (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)


# -- rows ---------------------------------------------------------------------------------------


def ticket(ticket_id: int, **changes: Any) -> Row:
    row: Row = {
        "id": ticket_id, "status": "assigned", "priority": 3, "priority_reason": "", "kind": "question",
        "language": "ru", "subject": "s", "customer": "local:1", "customer_name": "", "org_id": None,
        "plan": "basic", "customer_tz": "UTC", "channel": "local", "chat_id": "1", "thread_id": None,
        "assignee": "anna", "tier": "l1", "escalation_level": 0, "assigned_at": NOW, "pickup_at": None,
        "created_at": NOW, "updated_at": NOW, "first_response_at": None, "resolved_at": None,
        "closed_at": None, "last_customer_at": NOW, "last_update_at": None, "last_customer_message": None,
        "clock_running_since": NOW, "clock_used_s": 0, "clock_paused_at": None, "rating": None, "sla": {},
        "next_target_at": None, "first_due_at": None, "first_met": None, "first_holder": None, "first_used_s": None,
        "resolution_due_at": None, "resolution_met": None, "resolution_holder": None, "resolution_used_s": None,
    }
    row.update(changes)
    return row


def message(ticket_id: int, text: str, **changes: Any) -> Row:
    row: Row = {
        "ticket_id": ticket_id, "direction": "customer", "author": "local:1", "text": text,
        "attachments": [], "channel": "local", "chat_id": "1", "platform_id": None, "album": None,
        "at": NOW, "edited_at": None,
    }
    row.update(changes)
    return row


def event(ticket_id: int, type_: str, when: datetime = NOW, **data: Any) -> Row:
    return {"ticket_id": ticket_id, "type": type_, "actor": "desk", "at": when, "reason": type_, "data": data}


def outbox(ticket_id: int | None, kind: str = "reply", **changes: Any) -> Row:
    row: Row = {
        "ticket_id": ticket_id, "kind": kind, "channel": "local", "chat_id": "1", "thread_id": None,
        "audience": "customer", "person": None, "text": f"{kind} text", "title": None, "buttons": [],
        "copy_of": None, "reply_to": None, "coalesce_key": None, "created_at": NOW,
    }
    row.update(changes)
    return row


def deadline(ticket_id: int, clock: str, stage: int, target: datetime, due: datetime | None = None) -> Row:
    return {"ticket_id": ticket_id, "clock": clock, "stage": stage, "target_at": target, "due_at": due or target}


def key(name: str, ticket_id: int | None = 1001) -> Row:
    return {"key": name, "ticket_id": ticket_id, "at": NOW}


def without_ids(rows: list[Row]) -> list[Row]:
    return [{k: v for k, v in r.items() if k != "id"} for r in rows]


# -- shape: the same keys and Python types from every backend ------------------------------------


async def test_rows_round_trip_with_the_same_keys_and_types(store: Store) -> None:
    original = ticket(1001, org_id="romashka", pickup_at=at(30), rating=5, last_customer_message="hi")
    attachments = [{"kind": "photo", "file_id": "f1", "name": "снимок.png"}]
    await store.commit(ChangeSet(
        tickets=[original],
        messages=[message(1001, "Привет", attachments=attachments, platform_id="m1", album="a1")],
        events=[event(1001, "created", nested={"a": [1, 2.5, None, True]}, text="ё")],
        outbox=[outbox(1001, buttons=[["take", 1001, "Take", None]], copy_of=["local", "1", "m1"], thread_id="7")],
        deadlines={(1001, "first_response"): [deadline(1001, "first_response", 100, at(60))]},
    ))
    assert await store.ticket(1001) == original  # thread_id None in, None out
    [stored] = await store.messages(1001)
    assert stored == {
        "id": stored["id"], **message(1001, "Привет", attachments=attachments, platform_id="m1", album="a1")
    }
    [logged] = await store.events(1001)
    assert list(logged) == ["id", "ticket_id", "type", "actor", "at", "reason", "data"]
    assert logged["data"] == {"nested": {"a": [1, 2.5, None, True]}, "text": "ё"}
    [queued] = await store.outbox_rows(1001)
    assert list(queued) == [
        "id", "ticket_id", "kind", "channel", "chat_id", "thread_id", "audience", "person", "text", "title",
        "buttons", "copy_of", "reply_to", "coalesce_key", "state", "attempts", "created_at", "sent_at",
        "platform_id", "last_error",
    ]
    assert queued["buttons"] == [["take", 1001, "Take", None]] and queued["copy_of"] == ["local", "1", "m1"]
    assert (queued["thread_id"], queued["state"], queued["attempts"], queued["sent_at"]) == ("7", "pending", 0, None)
    [due] = await store.deadlines(1001)
    assert list(due) == ["id", "ticket_id", "clock", "stage", "target_at", "due_at", "fired_at"]
    for value in (due["target_at"], queued["created_at"], logged["at"], stored["at"]):
        assert type(value) is datetime and value.tzinfo is UTC
    assert type(queued["attempts"]) is int and type(due["stage"]) is int


async def test_a_time_in_another_zone_comes_back_as_the_same_instant_in_utc(store: Store) -> None:
    moscow = NOW.astimezone(timezone(timedelta(hours=3)))
    await store.commit(ChangeSet(tickets=[ticket(1001, created_at=moscow)]))
    row = await store.ticket(1001)
    assert row is not None and row["created_at"] == NOW and row["created_at"].tzinfo is UTC


# -- intake ---------------------------------------------------------------------------------


async def test_intake_of_an_empty_desk(store: Store) -> None:
    found = await intake_one(store, "k1", "local", "1", None, None, None)
    assert (found.seen, found.fresh, found.ticket, found.album_message) == (False, False, None, None)
    assert (found.loads, found.next_ticket_id) == ({}, 1001)
    assert await store.next_ticket_id() == 1001


async def test_intake_finds_key_ticket_album_loads_and_next_id(store: Store) -> None:
    await store.commit(ChangeSet(
        keys=[key("k1")],
        tickets=[ticket(1001), ticket(1002, thread_id="t", assignee="dmitry", assigned_at=at(5))],
        messages=[message(1001, "photo", album="a1", platform_id="m1"), message(1001, "photo 2", album="a1")],
        refs=[{"channel": "local", "chat_id": "1", "message_id": "m9", "ticket_id": 1002}],
    ))
    found = await intake_one(store, "k1", "local", "1", None, None, "a1")
    assert found.seen and not found.fresh
    assert found.ticket == ticket(1001)
    assert found.album_message is not None and found.album_message["text"] == "photo"
    assert found.loads == {"anna": (1, NOW), "dmitry": (1, at(5))}
    assert found.next_ticket_id == 1003 == await store.next_ticket_id()

    other = await intake_one(store, "k2", "local", "1", "t", None, "a2")
    assert not other.seen and other.ticket == ticket(1002, thread_id="t", assignee="dmitry", assigned_at=at(5))
    assert other.album_message is None
    assert (await intake_one(store, "k3", "local", "2", None, None, None)).ticket is None
    assert (await intake_one(store, "k3", "slack", "1", None, None, None)).ticket is None


async def test_intake_follows_a_reply_unless_its_ticket_is_closed(store: Store) -> None:
    await store.commit(ChangeSet(
        tickets=[ticket(1001), ticket(1002, thread_id="t")],
        refs=[{"channel": "local", "chat_id": "1", "message_id": "m9", "ticket_id": 1002}],
    ))
    by_ref = await intake_one(store, "k", "local", "1", None, "m9", None)
    assert by_ref.ticket is not None and by_ref.ticket["id"] == 1002
    unknown = await intake_one(store, "k", "local", "1", None, "nope", None)
    assert unknown.ticket is not None and unknown.ticket["id"] == 1001
    await store.commit(ChangeSet(tickets=[ticket(1002, thread_id="t", status="closed", closed_at=at(1))]))
    fallback = await intake_one(store, "k", "local", "1", None, "m9", None)
    assert fallback.ticket is not None and fallback.ticket["id"] == 1001


async def test_a_resolved_ticket_is_joined_and_a_closed_one_is_not(store: Store) -> None:
    await store.commit(ChangeSet(tickets=[ticket(1001, status="closed"), ticket(1002, status="resolved")]))
    found = await intake_one(store, "k", "local", "1", None, None, None)
    assert found.ticket is not None and found.ticket["id"] == 1002
    assert (await store.open_ticket_for("local", "1", None)) == found.ticket
    await store.commit(ChangeSet(tickets=[ticket(1002, status="closed")]))
    assert (await intake_one(store, "k", "local", "1", None, None, None)).ticket is None
    assert await store.open_ticket_for("local", "1", None) is None


async def test_the_newest_joinable_ticket_of_a_conversation_wins(store: Store) -> None:
    await store.commit(ChangeSet(tickets=[ticket(1001), ticket(1003), ticket(1002)]))
    found = await intake_one(store, "k", "local", "1", None, None, None)
    assert found.ticket is not None and found.ticket["id"] == 1003


async def test_fresh_marks_are_set_and_used_up(store: Store) -> None:
    mark = {"channel": "local", "chat_id": "1", "thread_id": None, "at": NOW}
    await store.commit(ChangeSet(fresh=[mark, {**mark, "chat_id": "2", "thread_id": "t"}]))
    assert (await intake_one(store, "k", "local", "1", None, None, None)).fresh
    assert (await intake_one(store, "k", "local", "2", "t", None, None)).fresh
    assert not (await intake_one(store, "k", "local", "2", None, None, None)).fresh
    await store.commit(ChangeSet(fresh=[{**mark, "at": at(1)}]))  # marking again is no error
    await store.commit(ChangeSet(fresh=[{**mark, "at": None}]))
    assert not (await intake_one(store, "k", "local", "1", None, None, None)).fresh
    assert (await intake_one(store, "k", "local", "2", "t", None, None)).fresh


async def test_next_ticket_id_never_goes_below_1001(store: Store) -> None:
    await store.commit(ChangeSet(tickets=[ticket(5)]))
    assert await store.next_ticket_id() == 1001
    assert (await intake_one(store, "k", "local", "1", None, None, None)).next_ticket_id == 1001


# -- commit ---------------------------------------------------------------------------------


async def test_tickets_are_upserted_and_messages_inserted_or_edited(store: Store) -> None:
    await store.commit(ChangeSet(tickets=[ticket(1001)], messages=[message(1001, "one"), message(1001, "two")]))
    first, second = await store.messages(1001)
    changed = ticket(1001, status="in_progress", subject="new", thread_id="", clock_used_s=120, rating=4)
    edited = {**first, "text": "one, edited", "attachments": [{"kind": "file", "file_id": "x"}], "edited_at": at(2)}
    await store.commit(ChangeSet(tickets=[changed], messages=[edited, message(1001, "three", direction="engineer")]))
    assert await store.ticket(1001) == {**changed, "thread_id": None}
    third = {"id": second["id"] + 1, **message(1001, "three", direction="engineer")}
    assert await store.messages(1001) == [edited, second, third]
    assert await store.message_by_ref("local", "1", "m1") is None
    await store.commit(ChangeSet(messages=[message(1001, "p", platform_id="m1"), message(1001, "q", platform_id="m1")]))
    found = await store.message_by_ref("local", "1", "m1")
    assert found is not None and found["text"] == "p"


async def test_outbox_coalesces_pending_rows_with_the_same_key(store: Store) -> None:
    await store.commit(ChangeSet(tickets=[ticket(1001)], outbox=[
        outbox(1001, "header", coalesce_key="h"), outbox(1001, "header", coalesce_key="sent"), outbox(1001, "ack"),
    ]))
    first, sent, _ = await store.outbox_rows(1001)
    await store.mark_sent(sent["id"], at(1), "p1", None, None)
    await store.commit(ChangeSet(outbox=[
        outbox(1001, "header", coalesce_key="h", text="v2"), outbox(1001, "reply", coalesce_key=""),
        outbox(1001, "header", coalesce_key="sent", text="s2"), outbox(1001, "header", coalesce_key="h", text="v3"),
    ]))
    rows = await store.outbox_rows(1001)
    assert [(r["kind"], r["text"], r["coalesce_key"], r["state"]) for r in rows] == [
        ("header", "header text", "h", "superseded"),
        ("header", "header text", "sent", "sent"),  # already sent: not superseded
        ("ack", "ack text", None, "pending"),
        ("header", "v2", "h", "superseded"),  # a later row in the same change set replaced it
        ("reply", "reply text", "", "pending"),  # an empty key coalesces nothing
        ("header", "s2", "sent", "pending"),
        ("header", "v3", "h", "pending"),
    ]
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows) and rows[0]["id"] == first["id"]
    assert [r["text"] for r in await store.outbox_rows(state="pending")] == ["ack text", "reply text", "s2", "v3"]


async def test_deadlines_are_replaced_kept_in_place_and_never_refired(store: Store) -> None:
    fr, res = "first_response", "resolution"
    await store.commit(ChangeSet(tickets=[ticket(1001)], deadlines={
        (1001, fr): [deadline(1001, fr, 50, at(60), at(30)), deadline(1001, fr, 80, at(60), at(48)),
                     deadline(1001, fr, 100, at(60))],
        (1001, res): [deadline(1001, res, 100, at(600))],
    }))
    before = {(d["clock"], d["stage"]): d for d in await store.deadlines(1001)}
    fifty = before[(fr, 50)]["id"]
    # The 50 % reminder fires; in the same change set the schedule is recomputed with a later
    # breach target: the fired row is not put back, the unchanged 80 % row keeps its id.
    await store.commit(ChangeSet(fired=[(fifty, at(30))], deadlines={
        (1001, fr): [deadline(1001, fr, 50, at(60), at(30)), deadline(1001, fr, 80, at(60), at(48)),
                     deadline(1001, fr, 100, at(90))],
    }))
    after = await store.deadlines(1001)
    assert without_ids(after) == [
        {**deadline(1001, fr, 50, at(60), at(30)), "fired_at": at(30)},
        {**deadline(1001, fr, 80, at(60), at(48)), "fired_at": None},
        {**deadline(1001, fr, 100, at(90)), "fired_at": None},
        {**deadline(1001, res, 100, at(600)), "fired_at": None},  # another clock: untouched
    ]
    assert [d["id"] for d in after[:2]] == [fifty, before[(fr, 80)]["id"]]
    assert after[3]["id"] == before[(res, 100)]["id"]
    # A kept row keeps its due time even if the new schedule says otherwise (INSERT … ignored).
    await store.commit(ChangeSet(deadlines={(1001, fr): [deadline(1001, fr, 80, at(60), at(50))], (1001, res): []}))
    assert without_ids(await store.deadlines(1001)) == [
        {**deadline(1001, fr, 50, at(60), at(30)), "fired_at": at(30)},
        {**deadline(1001, fr, 80, at(60), at(48)), "fired_at": None},
    ]


async def test_refs_and_overrides_are_recorded(store: Store) -> None:
    await store.commit(ChangeSet(
        tickets=[ticket(1001), ticket(1002)],
        refs=[{"channel": "local", "chat_id": "1", "message_id": "m1", "ticket_id": 1001}],
        overrides=[{"engineer": "anna", "start_at": at(0), "end_at": at(60), "replaces": "dmitry", "reason": "swap",
                    "created_by": "lead", "created_at": NOW},
                   {"engineer": "olga", "start_at": at(0), "end_at": at(10), "replaces": None, "reason": "",
                    "created_by": "lead", "created_at": NOW}],
    ))
    assert (await store.ticket_by_ref("local", "1", "m1") or {}).get("id") == 1001
    await store.commit(ChangeSet(refs=[{"channel": "local", "chat_id": "1", "message_id": "m1", "ticket_id": 1002}]))
    assert (await store.ticket_by_ref("local", "1", "m1") or {}).get("id") == 1002  # a ref is replaced
    assert await store.ticket_by_ref("local", "2", "m1") is None
    rows = await store.overrides(at(10))
    assert without_ids(rows) == [{"engineer": "anna", "start_at": at(0), "end_at": at(60), "replaces": "dmitry",
                                  "reason": "swap", "created_by": "lead", "created_at": NOW}]
    assert len(await store.overrides(at(0))) == 2


async def test_a_duplicate_key_rolls_back_the_whole_change_set(store: Store) -> None:
    await store.commit(ChangeSet(keys=[key("k1")], tickets=[ticket(1001)]))
    with pytest.raises(DuplicateKey):
        await store.commit(ChangeSet(
            keys=[key("k2"), key("k1")],
            tickets=[ticket(1002), ticket(1001, status="resolved")],
            messages=[message(1001, "again")], events=[event(1001, "x")], outbox=[outbox(1001)],
            deadlines={(1001, "resolution"): [deadline(1001, "resolution", 100, at(60))]},
            refs=[{"channel": "local", "chat_id": "1", "message_id": "m1", "ticket_id": 1001}],
            fresh=[{"channel": "local", "chat_id": "1", "thread_id": None, "at": NOW}],
        ))
    assert await store.ticket(1002) is None
    assert (await store.ticket(1001) or {}).get("status") == "assigned"
    assert (await store.messages(1001), await store.events(1001), await store.outbox_rows()) == ([], [], [])
    assert await store.deadlines(1001) == [] and await store.ticket_by_ref("local", "1", "m1") is None
    found = await intake_one(store, "k2", "local", "1", None, None, None)
    assert not found.seen and not found.fresh and found.loads == {"anna": (1, NOW)}


async def test_engineer_load_follows_assignee_and_status(store: Store) -> None:
    await store.commit(ChangeSet(tickets=[
        ticket(1001), ticket(1002, assigned_at=at(10)), ticket(1003, assignee=None, assigned_at=None),
        ticket(1004, status="resolved"),
    ]))
    assert await store.loads() == {"anna": (2, at(10))}
    await store.commit(ChangeSet(tickets=[
        ticket(1001, assignee="dmitry", assigned_at=at(20)), ticket(1002, assigned_at=at(10), status="resolved"),
    ]))
    assert await store.loads() == {"anna": (0, at(10)), "dmitry": (1, at(20))}
    await store.commit(ChangeSet(tickets=[
        ticket(1002, assigned_at=at(10), status="in_progress"),  # reopened: counts again
        ticket(1003, assignee="anna", assigned_at=at(5)),  # an earlier assignment keeps the latest time
        ticket(1001, assignee="dmitry", assigned_at=at(20), status="waiting_customer"),  # still open
    ]))
    assert await store.loads() == {"anna": (2, at(10)), "dmitry": (1, at(20))}
    await store.commit(ChangeSet(tickets=[ticket(1001, assignee="dmitry", assigned_at=at(20), status="closed")]))
    found = await intake_one(store, "k", "x", "x", None, None, None)
    assert found.loads == {"anna": (2, at(10)), "dmitry": (0, at(20))}


async def test_the_event_log_is_append_only(backend: Backend) -> None:
    await backend.store.commit(ChangeSet(tickets=[ticket(1001)], events=[event(1001, "created")]))
    for sql in ("UPDATE events SET reason = 'rewritten'", "DELETE FROM events"):
        with pytest.raises(integrity_errors(), match="append-only"):
            await backend.execute(sql)
    assert [e["reason"] for e in await backend.store.events(1001)] == ["created"]


# -- delivery ----------------------------------------------------------------------------------


async def test_pending_outbox_and_delivery_marks(store: Store) -> None:
    await store.commit(ChangeSet(tickets=[ticket(1001)], outbox=[outbox(1001, f"k{i}") for i in range(4)]))
    rows = await store.pending_outbox(0, 10)
    ids = [r["id"] for r in rows]
    assert [r["kind"] for r in rows] == ["k0", "k1", "k2", "k3"]
    assert [r["id"] for r in await store.pending_outbox(ids[0], 2)] == ids[1:3]

    await store.note_attempt(ids[0], "TimeoutError: slow")
    ref = {"channel": "local", "chat_id": "1", "message_id": "p1", "ticket_id": 1001}
    await store.mark_sent(ids[0], at(1), "p1", ref, None)
    await store.mark_sent(ids[0], at(9), "p9", None, None)  # only a pending row is marked
    await store.mark_failed(ids[1], at(2), "x" * 3000)
    await store.mark_failed(ids[0], at(3), "late")  # already sent: stays sent
    await store.note_attempt(ids[1], "after")  # counted whatever the state

    sent, failed = (await store.outbox_rows(1001))[:2]
    assert (sent["state"], sent["sent_at"], sent["platform_id"], sent["attempts"], sent["last_error"]) == (
        "sent", at(1), "p1", 2, "TimeoutError: slow")
    assert (failed["state"], failed["sent_at"], failed["attempts"], failed["last_error"]) == (
        "failed", at(2), 2, "after")
    assert [r["id"] for r in await store.pending_outbox(0, 10)] == ids[2:]
    assert (await store.ticket_by_ref("local", "1", "p1") or {}).get("id") == 1001
    await store.mark_failed(ids[2], at(4), "x" * 3000)
    assert (await store.outbox_rows(1001))[2]["last_error"] == "x" * 2000


async def test_staff_threads_are_bound_and_keep_their_header(store: Store) -> None:
    await store.commit(ChangeSet(tickets=[ticket(1001), ticket(1002)], outbox=[outbox(1001) for _ in range(4)]))
    ids = [r["id"] for r in await store.outbox_rows()]
    thread = {"ticket_id": 1001, "channel": "local", "chat_id": "staff", "thread_id": "th1", "header_id": "h1"}
    await store.mark_sent(ids[0], at(1), "h1", None, thread)
    await store.mark_sent(ids[1], at(2), "c1", None, {**thread, "thread_id": "th2", "header_id": None})
    await store.mark_sent(ids[2], at(3), "c2", None, {**thread, "ticket_id": 1002, "thread_id": "th9"})
    assert sorted(await store.staff_threads(), key=lambda r: r["ticket_id"]) == [
        {**thread, "thread_id": "th2"},  # moved, and the header it had is kept
        {**thread, "ticket_id": 1002, "thread_id": "th9"},
    ]
    assert (await store.ticket_by_thread("local", "staff", "th2") or {}).get("id") == 1001
    assert await store.ticket_by_thread("local", "staff", "th1") is None
    await store.mark_sent(ids[3], at(4), "c3", None, {**thread, "header_id": "h2"})
    assert [r["header_id"] for r in await store.staff_threads() if r["ticket_id"] == 1001] == ["h2"]


async def test_many_deliveries_are_booked_in_one_call_as_one_by_one(store: Store) -> None:
    await store.commit(ChangeSet(tickets=[ticket(1001)], outbox=[outbox(1001) for _ in range(3)]))
    ids = [r["id"] for r in await store.outbox_rows()]
    thread = {"ticket_id": 1001, "channel": "local", "chat_id": "staff", "thread_id": "th1", "header_id": "h1"}
    ref = {"channel": "local", "chat_id": "1", "message_id": "p2", "ticket_id": 1001}
    await store.mark_sent_many([
        Booking(ids[0], at(1), "h1", None, thread), Booking(ids[1], at(2), "p2", ref, None),
        Booking(ids[2], at(3), "c3", None, {**thread, "thread_id": "th2", "header_id": None}),
    ])
    assert [(r["state"], r["platform_id"], r["sent_at"]) for r in await store.outbox_rows()] == [
        ("sent", "h1", at(1)), ("sent", "p2", at(2)), ("sent", "c3", at(3))]
    assert (await store.ticket_by_ref("local", "1", "p2") or {}).get("id") == 1001
    assert await store.staff_threads() == [{**thread, "thread_id": "th2"}]  # in order: moved, header kept
    await store.mark_sent_many([])


# -- deadlines -----------------------------------------------------------------------------------


async def test_due_deadlines_next_due_and_open_targets(store: Store) -> None:
    fr, res, up = "first_response", "resolution", "update"
    assert await store.next_due() is None and await store.due_deadlines(NOW, 10) == []
    assert await store.open_targets((fr, res), 10) == []
    await store.commit(ChangeSet(tickets=[ticket(1001), ticket(1002)], deadlines={
        (1001, fr): [deadline(1001, fr, 50, at(60), at(30)), deadline(1001, fr, 100, at(60))],
        (1001, res): [deadline(1001, res, 100, at(300))],
        (1002, fr): [deadline(1002, fr, 50, at(40), at(20)), deadline(1002, fr, 100, at(40))],
        (1002, up): [deadline(1002, up, 100, at(10))],
    }))
    assert await store.next_due() == at(10)
    due = await store.due_deadlines(at(30), 10)
    assert [(d["ticket_id"], d["clock"], d["stage"]) for d in due] == [(1002, up, 100), (1002, fr, 50), (1001, fr, 50)]
    assert await store.due_deadlines(at(30), 2) == due[:2]
    await store.commit(ChangeSet(fired=[(due[0]["id"], at(30)), (due[1]["id"], at(30))]))
    assert await store.next_due() == at(30)
    assert [d["id"] for d in await store.due_deadlines(at(30), 10)] == [due[2]["id"]]
    targets = await store.open_targets((fr, res), 10)
    assert targets == [
        {"ticket_id": 1002, "clock": fr, "target_at": at(40)},
        {"ticket_id": 1001, "clock": fr, "target_at": at(60)},
        {"ticket_id": 1001, "clock": res, "target_at": at(300)},
    ]
    assert await store.open_targets((res,), 10) == targets[2:]
    assert await store.open_targets((fr, res), 1) == targets[:1]
    assert await store.open_targets((), 10) == []


async def test_passed_targets_of_open_tickets(store: Store) -> None:
    fr, res = "first_response", "resolution"
    await store.commit(ChangeSet(tickets=[ticket(1001), ticket(1002), ticket(1003, status="resolved")], deadlines={
        (1001, fr): [deadline(1001, fr, 80, at(40), at(32)), deadline(1001, fr, 100, at(40))],
        (1001, res): [deadline(1001, res, 100, at(300))],
        (1002, res): [deadline(1002, res, 100, at(20))],
        (1003, fr): [deadline(1003, fr, 100, at(10))],
    }))
    assert await store.passed_targets((fr, res), ("assigned",), 10) == []
    fired = {(d["ticket_id"], d["clock"], d["stage"]): d["id"] for d in await store.due_deadlines(at(50), 10)}
    await store.commit(ChangeSet(fired=[(i, at(50)) for i in fired.values()]))
    # A re-targeted clock (a priority change) keeps its fired rows: the latest passed one counts.
    await store.commit(ChangeSet(deadlines={(1002, res): [deadline(1002, res, 100, at(30))]}))
    await store.commit(ChangeSet(fired=[(d["id"], at(50)) for d in await store.due_deadlines(at(50), 10)]))

    passed = await store.passed_targets((fr, res), ("assigned", "in_progress"), 10)
    assert passed == [
        {"ticket_id": 1002, "clock": res, "target_at": at(30)},
        {"ticket_id": 1001, "clock": fr, "target_at": at(40)},
    ]  # not 1001's 80 % warning, nor the resolved ticket, nor a target still ahead
    assert await store.passed_targets((res,), ("assigned",), 10) == passed[:1]
    assert await store.passed_targets((fr, res), ("assigned",), 1) == passed[:1]


async def test_one_runner_per_database(backend: Backend) -> None:
    """A second desk on the same database is refused until the first one closes."""
    first, second = await open_store(backend.url), await open_store(backend.url)
    try:
        assert await first.claim_runner() and await first.claim_runner()  # idempotent
        assert not await second.claim_runner()
        await first.close()
        assert await second.claim_runner()
    finally:
        await second.close()


async def _step_back_one_migration(backend: Backend) -> int:
    """Make the database look one schema version older (the newest version's tables
    gone), as if the desk running on it were an older release; returns that version."""
    if isinstance(backend.store, SqliteStore):
        newest = len(migrations("sqlite"))
        await backend.execute(f"PRAGMA user_version = {newest - 1}")
    else:
        newest = len(migrations("postgres"))
        await backend.execute(f"DELETE FROM schema_version WHERE version = {newest}")
    # What the newest migration added, undone (keep in step with the newest migration file).
    on_tickets = "" if isinstance(backend.store, SqliteStore) else " ON tickets"
    triggers = ("insert", "update", "delete") if on_tickets == "" else ("insert", "update_add", "update_remove", "delete")
    for statement in (
        *(f"DROP TRIGGER tickets_report_{name}{on_tickets}" for name in triggers),
        "DROP INDEX tickets_queue", "DROP TABLE report_days", "DROP TABLE dashboard_links",
        "DROP TABLE dashboard_sessions",
        *(() if on_tickets == "" else ("DROP FUNCTION report_days_add", "DROP FUNCTION report_days_remove")),
        *(f"ALTER TABLE tickets DROP COLUMN {column}" for column in (
            "next_target_at", "first_due_at", "first_met", "first_holder", "first_used_s",
            "resolution_due_at", "resolution_met", "resolution_holder", "resolution_used_s")),
    ):
        await backend.execute(statement)
    return newest - 1


async def _version(backend: Backend) -> int:
    """The schema version, read without a store (opening one may migrate)."""
    if backend.url.startswith("sqlite:///"):
        conn = sqlite3.connect(backend.url.removeprefix("sqlite:///"))
        try:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    import asyncpg

    pg = await asyncpg.connect(backend.url)
    try:
        return int(await pg.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))
    finally:
        await pg.close()


def _other_paths(backend: Backend, tmp_path: Path) -> list[str]:
    """Other URLs of the same database: for SQLite a symlink and a hard link to the file."""
    if not backend.url.startswith("sqlite:///"):
        return [backend.url]
    path = Path(backend.url.removeprefix("sqlite:///"))
    (tmp_path / "elsewhere").mkdir(parents=True)
    symlink, hardlink = tmp_path / "elsewhere" / "symlinked.db", tmp_path / "elsewhere" / "hardlinked.db"
    symlink.symlink_to(path)
    os.link(path, hardlink)
    return [f"sqlite:///{symlink}", f"sqlite:///{hardlink}"]


async def test_a_second_runner_is_refused_before_it_migrates(backend: Backend, tmp_path: Path) -> None:
    """However it is reached — for SQLite through a symlink or a hard link — a database a
    desk runs on is claimed, and a newer desk started beside it changes nothing."""
    first = await open_store(backend.url, runner=True)
    try:
        older = await _step_back_one_migration(backend)
        for url in _other_paths(backend, tmp_path):
            with pytest.raises(AnotherRunner):
                await open_store(url, runner=True)
            assert await _version(backend) == older  # no migration ran
        with pytest.raises(AnotherRunner, match="upgrade and restart the desk"):
            await open_store(backend.url)  # a reader (tickets list) of the newer release would have to migrate
        assert await _version(backend) == older
    finally:
        await first.close()
    second = await open_store(_other_paths(backend, tmp_path / "again")[0], runner=True)
    try:
        assert await _version(backend) == older + 1  # the first one gone, the second migrates
    finally:
        await second.close()


def _locked(path: str) -> IO[bytes]:
    handle = open(path, "ab")  # held open: closing it releases the lock
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return handle


async def test_a_desk_of_the_previous_release_still_holding_its_lock_file_is_not_migrated_under(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    apply_sqlite_migrations(conn, target=1)
    conn.close()
    held = _locked(f"{db}.run.lock")  # what a desk before this release holds
    try:
        with pytest.raises(AnotherRunner):
            await open_store(f"sqlite:///{db}", runner=True)
    finally:
        held.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()


# -- dead letters and hints -----------------------------------------------------------------


def dead_letter(key: str, error: str = "boom", attempts: int = 3, when: datetime = NOW, **changes: Any) -> Row:
    row: Row = {"channel": "telegram", "key": key, "payload": '{"update_id": 7, "text": "broken \\ud83d"}',
                "error": error, "attempts": attempts, "state": "open", "created_at": when, "updated_at": when}
    row.update(changes)
    return row


async def test_dead_letters_are_kept_once_per_update_and_change_state(store: Store) -> None:
    await store.commit(ChangeSet(dead_letters=[dead_letter("7"), dead_letter("8", when=at(1))]))
    first = await store.dead_letter_for("telegram", "7")
    assert first is not None and first["payload"] == '{"update_id": 7, "text": "broken \\ud83d"}'
    assert (first["state"], first["attempts"], first["error"], first["created_at"]) == ("open", 3, "boom", NOW)
    assert await store.dead_letter(first["id"]) == first
    assert await store.dead_letter_for("slack", "7") is None and await store.dead_letter(999_999) is None
    assert [r["key"] for r in await store.dead_letters()] == ["8", "7"]  # newest first

    assert await store.mark_dead_letter(first["id"], "retry", at(2), only_from=("open",))
    assert not await store.mark_dead_letter(first["id"], "retry", at(2), only_from=("open",))
    # The same update failing again: one row, the attempts add up, the new error replaces the old.
    await store.commit(ChangeSet(dead_letters=[
        dead_letter("7", error="again", attempts=2, when=at(3), created_at=at(3))]))
    again = await store.dead_letter_for("telegram", "7")
    assert again is not None and again["id"] == first["id"]
    assert (again["state"], again["attempts"], again["error"]) == ("open", 5, "again")
    assert (again["created_at"], again["updated_at"]) == (NOW, at(3))
    assert await store.mark_dead_letter(first["id"], "done", at(4))
    assert [r["key"] for r in await store.dead_letters("open")] == ["8"]
    assert await store.dead_letter_counts() == {"open": 1, "done": 1}
    assert [r["key"] for r in await store.dead_letters(limit=1)] == ["8"]


async def test_a_conversation_hint_is_remembered_per_conversation(store: Store) -> None:
    assert await store.hint_at("telegram", "1", None) is None
    await store.commit(ChangeSet(hints=[{"channel": "telegram", "chat_id": "1", "thread_id": None, "at": at(1)}]))
    await store.commit(ChangeSet(hints=[{"channel": "telegram", "chat_id": "1", "thread_id": None, "at": at(5)},
                                        {"channel": "telegram", "chat_id": "1", "thread_id": "9", "at": at(2)}]))
    assert await store.hint_at("telegram", "1", None) == at(5)
    assert await store.hint_at("telegram", "1", "9") == at(2)
    assert await store.hint_at("slack", "1", None) is None


# -- queries ---------------------------------------------------------------------------------


async def test_ticket_queries_filter_and_order(store: Store) -> None:
    await store.commit(ChangeSet(tickets=[
        ticket(1001, created_at=at(0)),
        ticket(1002, created_at=at(10), assignee=None, assigned_at=None, status="new", customer="local:2"),
        ticket(1003, created_at=at(20), status="resolved", org_id="romashka"),
        ticket(1004, created_at=at(30), assignee="dmitry", org_id="romashka", customer="local:2"),
    ]))

    async def ids(**query: Any) -> list[int]:
        return [r["id"] for r in await store.tickets(TicketQuery(**query))]

    assert await ids() == [1004, 1003, 1002, 1001]
    assert await ids(statuses=("assigned", "new")) == [1004, 1002, 1001]
    assert await ids(assignee="anna") == [1003, 1001]
    assert await ids(unassigned=True) == [1002]
    assert await ids(customer="local:2") == [1004, 1002]
    assert await ids(org_id="romashka") == [1004, 1003]
    assert await ids(created_from=at(10), created_to=at(30)) == [1003, 1002]
    assert await ids(statuses=("assigned",), assignee="anna", limit=1) == [1001]
    assert await ids(limit=2) == [1004, 1003]
    assert (await store.tickets(TicketQuery(customer="local:2", limit=1)))[0] == ticket(
        1004, created_at=at(30), assignee="dmitry", org_id="romashka", customer="local:2")


async def test_events_between_filters_types_and_a_half_open_range(store: Store) -> None:
    await store.commit(ChangeSet(tickets=[ticket(1001)], events=[
        event(1001, "created", at(0)), event(1001, "sla_breached", at(10), clock="fr"),
        event(1001, "reminder_sent", at(20)), event(1001, "sla_breached", at(30)), event(1001, "closed", at(15)),
    ]))
    found = await store.events_between(("sla_breached", "closed"), at(10), at(30))
    assert [(e["type"], e["at"]) for e in found] == [("sla_breached", at(10)), ("closed", at(15))]
    assert found[0]["data"] == {"clock": "fr"}
    assert await store.events_between((), at(0), at(60)) == []


async def test_a_moved_chat_takes_its_tickets_and_rows_along(store: Store) -> None:
    await store.commit(ChangeSet(
        tickets=[ticket(1001), ticket(1002, thread_id="t"), ticket(1003, channel="slack")],
        messages=[message(1001, "m", platform_id="m1"), message(1003, "s", channel="slack")],
        outbox=[outbox(1001), outbox(1003, channel="slack")],
        refs=[{"channel": "local", "chat_id": "1", "message_id": "m1", "ticket_id": 1001}],
    ))
    ids = [r["id"] for r in await store.outbox_rows()]
    thread = {"ticket_id": 1001, "channel": "local", "chat_id": "1", "thread_id": "th", "header_id": None}
    await store.mark_sent(ids[0], at(1), "x", None, thread)
    assert await store.chat_moved("local", "1", "-100") == 2
    assert [(t["id"], t["chat_id"]) for t in await store.tickets(TicketQuery())] == [
        (1003, "1"), (1002, "-100"), (1001, "-100")]
    assert [r["chat_id"] for r in await store.outbox_rows()] == ["-100", "1"]
    assert [m["chat_id"] for m in await store.messages(1001)] == ["-100"]
    assert [m["chat_id"] for m in await store.messages(1003)] == ["1"]
    assert (await store.ticket_by_ref("local", "-100", "m1") or {}).get("id") == 1001
    assert [r["chat_id"] for r in await store.staff_threads()] == ["-100"]
    assert (await intake_one(store, "k", "local", "-100", None, None, None)).ticket is not None
    assert await store.chat_moved("local", "nowhere", "x") == 0


# -- order: every list in its stated order (storage/queries.py), ties included ---------------------


async def test_lists_of_tickets_messages_events_outbox_and_overrides_come_in_id_order_whatever_their_times(
    store: Store,
) -> None:
    # Written out of time order, several at one instant: the order is the order written.
    await store.commit(ChangeSet(
        tickets=[ticket(1002, created_at=at(0)), ticket(1001, created_at=at(0)), ticket(1003, created_at=at(-5))],
        messages=[message(1001, "b", at=at(5)), message(1001, "a", at=at(5)), message(1001, "c", at=at(1))],
        events=[event(1001, "x", at(5)), event(1001, "y", at(5)), event(1001, "z", at(1))],
        outbox=[outbox(1001, "k2", created_at=at(5)), outbox(1001, "k1", created_at=at(5)), outbox(1001, "k0")],
        overrides=[{"engineer": e, "start_at": at(s), "end_at": at(60), "replaces": None, "reason": "",
                    "created_by": "lead", "created_at": NOW} for e, s in (("olga", 10), ("anna", 0), ("ivan", 10))],
    ))
    assert [t["id"] for t in await store.tickets(TicketQuery())] == [1003, 1002, 1001]  # newest id first
    assert [m["text"] for m in await store.messages(1001)] == ["b", "a", "c"]
    assert [e["type"] for e in await store.events(1001)] == ["x", "y", "z"]
    assert [e["type"] for e in await store.events_between(("x", "y", "z"), at(0), at(10))] == ["x", "y", "z"]
    assert [r["kind"] for r in await store.outbox_rows()] == ["k2", "k1", "k0"]
    assert [r["kind"] for r in await store.pending_outbox(0, 10)] == ["k2", "k1", "k0"]
    assert [o["engineer"] for o in await store.overrides(at(0))] == ["olga", "anna", "ivan"]


async def test_staff_threads_come_by_ticket_then_channel(store: Store) -> None:
    await store.commit(ChangeSet(tickets=[ticket(1001), ticket(1002)], outbox=[outbox(1001) for _ in range(4)]))
    ids = [r["id"] for r in await store.outbox_rows()]
    bound = [(1002, "slack"), (1001, "slack"), (1002, "local"), (1001, "local")]  # bound in this order
    await store.mark_sent_many([
        Booking(i, at(1), f"p{i}", None, {"ticket_id": t, "channel": c, "chat_id": "staff", "thread_id": f"{t}{c}"})
        for i, (t, c) in zip(ids, bound, strict=True)
    ])
    expected = [(1001, "local"), (1001, "slack"), (1002, "local"), (1002, "slack")]
    assert [(r["ticket_id"], r["channel"]) for r in await store.staff_threads()] == expected
    assert [(r["ticket_id"], r["channel"]) for r in await store.staff_threads([1002, 1001])] == expected
    assert [(r["ticket_id"], r["channel"]) for r in await store.staff_threads([1002])] == expected[2:]
    assert await store.staff_threads([]) == []


async def test_a_staff_thread_bound_to_two_tickets_answers_for_the_newest(store: Store) -> None:
    await store.commit(ChangeSet(tickets=[ticket(1001), ticket(1002), ticket(1003)],
                                 outbox=[outbox(1001) for _ in range(3)]))
    ids = [r["id"] for r in await store.outbox_rows()]
    thread = {"channel": "local", "chat_id": "staff", "thread_id": "shared", "header_id": None}
    await store.mark_sent_many([Booking(i, at(1), f"p{i}", None, {**thread, "ticket_id": t})
                                for i, t in zip(ids, (1002, 1003, 1001), strict=True)])
    found = await store.ticket_by_thread("local", "staff", "shared")
    assert found is not None and found["id"] == 1003


async def test_deadlines_due_at_one_time_come_in_the_order_written(store: Store) -> None:
    fr, res, up = "first_response", "resolution", "update"
    # One change set; resolution written before first_response, all due at 30.
    await store.commit(ChangeSet(tickets=[ticket(1001), ticket(1002)], deadlines={
        (1002, up): [deadline(1002, up, 100, at(30))],
        (1001, res): [deadline(1001, res, 50, at(60), at(30))],
        (1001, fr): [deadline(1001, fr, 80, at(40), at(30)), deadline(1001, fr, 50, at(40), at(20))],
    }))
    due = await store.due_deadlines(at(30), 10)
    assert [(d["ticket_id"], d["clock"], d["stage"]) for d in due] == [
        (1001, fr, 50),  # due earlier
        (1002, up, 100), (1001, res, 50), (1001, fr, 80),  # due at 30: as written
    ]
    assert await store.due_deadlines(at(30), 2) == due[:2]
    assert [(d["clock"], d["stage"]) for d in await store.deadlines(1001)] == [(fr, 50), (res, 50), (fr, 80)]


async def test_breach_targets_at_one_time_come_by_ticket_then_clock(store: Store) -> None:
    fr, res, up = "first_response", "resolution", "update"
    await store.commit(ChangeSet(tickets=[ticket(1003), ticket(1001), ticket(1002)], deadlines={
        (1003, fr): [deadline(1003, fr, 100, at(30))],
        (1002, up): [deadline(1002, up, 100, at(30))],
        (1002, fr): [deadline(1002, fr, 100, at(30))],
        (1001, res): [deadline(1001, res, 100, at(30))],
        (1003, res): [deadline(1003, res, 100, at(10))],
    }))
    expected = [(1003, res), (1001, res), (1002, fr), (1002, up), (1003, fr)]
    targets = await store.open_targets((fr, res, up), 10)
    assert [(t["ticket_id"], t["clock"]) for t in targets] == expected
    assert await store.open_targets((fr, res, up), 3) == targets[:3]
    await store.commit(ChangeSet(fired=[(d["id"], at(30)) for d in await store.due_deadlines(at(30), 10)]))
    passed = await store.passed_targets((fr, res, up), ("assigned",), 10)
    assert [(t["ticket_id"], t["clock"]) for t in passed] == expected
    assert await store.passed_targets((fr, res, up), ("assigned",), 2) == passed[:2]
    assert await store.passed_targets((), ("assigned",), 10) == [] == await store.passed_targets((fr,), (), 10)


async def test_dead_letters_come_newest_first_whatever_their_times(store: Store) -> None:
    await store.commit(ChangeSet(dead_letters=[dead_letter("a", when=at(5)), dead_letter("b", when=at(5)),
                                               dead_letter("c", when=at(1), state="retry")]))
    assert [r["key"] for r in await store.dead_letters()] == ["c", "b", "a"]
    assert [r["key"] for r in await store.dead_letters("open")] == ["b", "a"]


# -- every backend, the same rows --------------------------------------------------------------------


async def _story(store: Store) -> list[Any]:
    """A desk's day in units of work; returns every read along the way."""
    fr = "first_response"
    reads: list[Any] = [await intake_one(store, "k1", "local", "1", None, None, None)]
    await store.commit(ChangeSet(
        keys=[key("k1")], tickets=[ticket(1001)], messages=[message(1001, "help", platform_id="m1")],
        events=[event(1001, "created"), event(1001, "assigned", engineer="anna")],
        outbox=[outbox(1001, "ack"), outbox(1001, "header", coalesce_key="h", audience="staff_room")],
        deadlines={(1001, fr): [deadline(1001, fr, 50, at(30), at(15)), deadline(1001, fr, 100, at(30))]},
        refs=[{"channel": "local", "chat_id": "1", "message_id": "m1", "ticket_id": 1001}],
    ))
    reads.append(await intake_one(store, "k2", "local", "1", None, "m1", None))
    for row in await store.pending_outbox(0, 10):
        await store.mark_sent(row["id"], at(1), f"p{row['id']}", None, None)
    due = await store.due_deadlines(at(15), 10)
    await store.commit(ChangeSet(
        fired=[(due[0]["id"], at(15))], events=[event(1001, "reminder_sent", at(15), stage=50)],
        outbox=[outbox(1001, "header", coalesce_key="h", text="v2")],
        deadlines={(1001, fr): [deadline(1001, fr, 50, at(30), at(15)), deadline(1001, fr, 100, at(45))]},
    ))
    await store.commit(ChangeSet(
        keys=[key("k2")], tickets=[ticket(1001, status="resolved", resolved_at=at(20))],
        fresh=[{"channel": "local", "chat_id": "1", "thread_id": None, "at": at(20)}],
    ))
    reads += [
        await intake_one(store, "k3", "local", "1", None, None, None),
        await store.ticket(1001), await store.messages(1001), await store.events(1001),
        # Deadline ids differ: SQLite reuses the id of a deleted (replaced) row, a sequence never does.
        await store.outbox_rows(), without_ids(await store.deadlines(1001)),
        await store.loads(), await store.next_due(),
        await store.open_targets((fr,), 10), await store.tickets(TicketQuery()),
        await store.events_between(("reminder_sent",), at(0), at(60)), await store.chat_moved("local", "1", "2"),
        await store.outbox_rows(1001, "pending"),
    ]
    return reads


async def test_both_backends_return_identical_rows(tmp_path: Path, postgres_url: str) -> None:
    async with sqlite_backend(tmp_path / "story.db") as lite, postgres_backend(postgres_url) as pg:
        assert await _story(pg.store) == await _story(lite.store)


# -- PostgreSQL only: several processes, and the migration runner ----------------------------------


async def test_postgres_two_processes_cannot_open_the_same_ticket_number(postgres_url: str) -> None:
    from storage.postgres import PostgresStore

    async with postgres_schema(postgres_url) as url:
        first, second = await PostgresStore.open(url), await PostgresStore.open(url)
        try:
            # Both read an empty conversation, so both decide to open T-1001 for it.
            a = await intake_one(first, "ka", "local", "1", None, None, None)
            b = await intake_one(second, "kb", "local", "1", None, None, None)
            assert a.ticket is None and b.ticket is None and a.next_ticket_id == b.next_ticket_id == 1001
            await first.commit(ChangeSet(keys=[key("ka")], tickets=[ticket(1001)], events=[event(1001, "created")]))
            with pytest.raises(ConflictingWrite, match="ticket 1001"):
                await second.commit(ChangeSet(
                    keys=[key("kb")], tickets=[ticket(1001, created_at=at(0.001), subject="other")],
                    events=[event(1001, "created")], outbox=[outbox(1001, "ack")],
                ))
            assert await second.ticket(1001) == ticket(1001)
            assert len(await second.events(1001)) == 1 and await second.outbox_rows() == []
            again = await intake_one(second, "kb", "local", "1", None, None, None)
            assert not again.seen and (again.ticket or {}).get("id") == 1001  # deciding again joins it
        finally:
            await first.close()
            await second.close()


async def test_postgres_two_processes_cannot_both_fire_one_deadline(postgres_url: str) -> None:
    from storage.postgres import PostgresStore

    async with postgres_schema(postgres_url) as url:
        first, second = await PostgresStore.open(url), await PostgresStore.open(url)
        try:
            fr = "first_response"
            await first.commit(ChangeSet(tickets=[ticket(1001)], deadlines={
                (1001, fr): [deadline(1001, fr, 50, at(30), at(15))]}))
            [due] = await first.due_deadlines(at(15), 1)
            assert await second.due_deadlines(at(15), 1) == [due]

            def reminder() -> ChangeSet:
                return ChangeSet(fired=[(due["id"], at(15))], outbox=[outbox(1001, "reminder")],
                                 events=[event(1001, "reminder_sent")])

            results = await asyncio.gather(first.commit(reminder()), second.commit(reminder()), return_exceptions=True)
            assert sorted(type(r).__name__ for r in results) == ["ConflictingWrite", "NoneType"]
            assert len(await first.outbox_rows()) == 1 and len(await first.events(1001)) == 1
            with pytest.raises(ConflictingWrite):  # also after the fact
                await second.commit(reminder())
        finally:
            await first.close()
            await second.close()


@dataclass
class Runner:
    """One backend's migration runner on an empty database, beside its SQL."""

    backend: str
    apply: Callable[..., Awaitable[list[int]]]  # (target=None, available=None) -> versions applied
    version: Callable[[], Awaitable[int]]
    execute: Callable[[str], Awaitable[None]]
    fetch: Callable[[str], Awaitable[list[tuple[Any, ...]]]]


@asynccontextmanager
async def sqlite_runner(path: Path) -> AsyncIterator[Runner]:
    conn = sqlite3.connect(path, isolation_level=None)

    async def apply(target: int | None = None, available: list[Migration] | None = None) -> list[int]:
        return apply_sqlite_migrations(conn, target, available)

    async def version() -> int:
        return sqlite_schema_version(conn)

    async def execute(sql: str) -> None:
        conn.execute(sql)

    async def fetch(sql: str) -> list[tuple[Any, ...]]:
        return conn.execute(sql).fetchall()

    try:
        yield Runner("sqlite", apply, version, execute, fetch)
    finally:
        conn.close()


@asynccontextmanager
async def postgres_runner(url: str) -> AsyncIterator[Runner]:
    import asyncpg

    from storage.migrations import apply_postgres_migrations, postgres_schema_version

    async with postgres_schema(url) as schema_url:
        conn = await asyncpg.connect(schema_url)

        async def apply(target: int | None = None, available: list[Migration] | None = None) -> list[int]:
            return await apply_postgres_migrations(conn, target, available)

        async def version() -> int:
            return await postgres_schema_version(conn)

        async def execute(sql: str) -> None:
            await conn.execute(sql)

        async def fetch(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in await conn.fetch(sql)]

        try:
            yield Runner("postgres", apply, version, execute, fetch)
        finally:
            await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def runner(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Runner]:
    if request.param == "sqlite":
        async with sqlite_runner(tmp_path / "runner.db") as found:
            yield found
    else:
        async with postgres_runner(request.getfixturevalue("postgres_url")) as found:
            yield found


async def test_migrations_apply_once_in_order_and_up_to_a_target(runner: Runner) -> None:
    base = migrations(runner.backend)
    assert await runner.version() == 0
    assert await runner.apply(target=2) == [1, 2] and await runner.version() == 2
    assert await runner.apply() == [m.version for m in base[2:]]
    assert await runner.version() == len(base)
    assert await runner.apply() == []  # opening again changes nothing


async def test_a_failed_migration_rolls_back_and_keeps_the_steps_before(runner: Runner) -> None:
    base = migrations(runner.backend)
    await runner.apply()
    await runner.execute("INSERT INTO overrides (engineer, start_at, end_at, created_by, created_at) "
                         "VALUES ('a', '2026-11-24T08:00:00+00:00', '2026-11-24T09:00:00+00:00', 'x', "
                         "'2026-11-24T08:00:00+00:00')")
    n = len(base) + 1
    good = Migration(n, f"{n:04d}_note.sql", "ALTER TABLE overrides ADD COLUMN note TEXT;")
    bad = Migration(n + 1, f"{n + 1:04d}_bad.sql", "ALTER TABLE overrides ADD COLUMN x TEXT; SELECT * FROM nowhere;")
    with pytest.raises(RuntimeError, match=r"migration 0\d{3}_bad\.sql failed"):
        await runner.apply(available=[*base, good, bad])
    assert await runner.version() == n  # the good step stayed, the bad one left no trace
    await runner.execute("UPDATE overrides SET note = 'kept'")
    with pytest.raises(Exception, match=r'no such column: x|column "x" of relation'):
        await runner.execute("UPDATE overrides SET x = 'gone'")  # the failed step's column is not there
    assert await runner.fetch("SELECT engineer, note FROM overrides") == [("a", "kept")]


async def test_a_database_newer_than_the_release_is_refused(runner: Runner) -> None:
    await runner.apply()
    with pytest.raises(RuntimeError, match="newer than this dutydesk"):
        await runner.apply(available=migrations(runner.backend)[:-1])  # a release that knows one fewer
    assert await runner.version() == len(migrations(runner.backend))


async def test_a_store_refuses_a_database_newer_than_the_release(backend: Backend) -> None:
    """Reader or runner: no release works on a schema it does not know."""
    if backend.url.startswith("sqlite:///"):
        await backend.execute(f"PRAGMA user_version = {len(migrations('sqlite')) + 1}")
    else:
        await backend.execute(f"INSERT INTO schema_version (version, name) VALUES "
                              f"({len(migrations('postgres')) + 1}, '9999_future.sql')")
    with pytest.raises(RuntimeError, match="newer than this dutydesk"):
        await open_store(backend.url)


async def test_postgres_store_refuses_a_missing_schema(postgres_url: str) -> None:
    from storage.postgres import PostgresStore

    with pytest.raises(RuntimeError, match="create it first"):
        await PostgresStore.open(with_settings(postgres_url, search_path=f"absent_{uuid.uuid4().hex[:8]}"))


# -- metrics counts and erasure ------------------------------------------------------------------


async def test_counts_group_open_tickets_targets_outbox_and_dead_letters(store: Store) -> None:
    await store.commit(ChangeSet(
        tickets=[ticket(1001), ticket(1002, priority=1), ticket(1003, status="closed"),
                 ticket(1004, plan="premium", status="resolved")],
        outbox=[outbox(1001, created_at=at(-5)), outbox(1001, created_at=at(-1)), outbox(None, channel="slack")],
        deadlines={(1001, "first_response"): [deadline(1001, "first_response", 100, at(60))],
                   (1002, "resolution"): [deadline(1002, "resolution", 100, at(-10))],
                   (1003, "resolution"): [deadline(1003, "resolution", 100, at(60))]},
        dead_letters=[{"channel": "local", "key": "u1", "payload": "{}", "error": "e", "attempts": 1,
                       "state": "open", "created_at": NOW, "updated_at": NOW}],
    ))
    [passed] = await store.due_deadlines(at(0), 10)
    await store.commit(ChangeSet(fired=[(passed["id"], at(0))]))
    counts = await store.counts()
    assert counts.tickets == [
        {"plan": "basic", "priority": 1, "status": "assigned", "n": 1},
        {"plan": "basic", "priority": 3, "status": "assigned", "n": 1},
        {"plan": "premium", "priority": 3, "status": "resolved", "n": 1},
    ]
    assert counts.targets == [{"clock": "first_response", "state": "due", "n": 1},
                              {"clock": "resolution", "state": "breached", "n": 1}]
    assert counts.outbox == [{"channel": "local", "n": 2, "created_at": at(-5)},
                             {"channel": "slack", "n": 1, "created_at": NOW}]
    assert counts.dead_letters == [{"state": "open", "n": 1}]


def _audit(kind: str) -> Row:
    return {"type": kind, "actor": "desk", "at": at(100), "reason": f"{kind} reason", "data": {}}


async def test_expire_texts_blanks_what_was_written_on_long_closed_tickets_and_keeps_the_figures(
    store: Store,
) -> None:
    photo = [{"kind": "photo", "ref": "f1"}]
    await store.commit(ChangeSet(
        tickets=[ticket(1001, status="closed", closed_at=at(-60), subject="Счёт не приходит"),
                 ticket(1002, status="closed", closed_at=at(60), subject="recent"),
                 ticket(1003, subject="open")],
        messages=[message(1001, "Пароль 1234", attachments=photo), message(1002, "keep me"),
                  message(1003, "open ticket")],
        events=[event(1001, "created"), event(1001, "message_edited", old="Пароль 12", new="Пароль 1234")],
        outbox=[outbox(1001, text="Ваш пароль 1234", title="T-1001 · Счёт")],
        deadlines={(1001, "resolution"): [deadline(1001, "resolution", 100, at(-70))]},
    ))
    [sent] = await store.outbox_rows(1001)
    await store.mark_sent(sent["id"], at(-65), "p1", None, None)
    assert await store.expire_texts(at(0), _audit("texts_expired"), limit=10) == [1001]
    assert await store.expire_texts(at(0), _audit("texts_expired"), limit=10) == []  # done: nothing left
    [erased] = await store.messages(1001)
    assert erased["text"] == "[erased]" and erased["attachments"] == []
    assert erased["author"] == "local:1" and erased["at"] == NOW  # who and when stay
    assert (await store.ticket(1001) or {})["subject"] == "[erased]"
    [sent] = await store.outbox_rows(1001)
    assert sent["text"] == "[erased]" and sent["title"] is None and sent["state"] == "sent"
    events = await store.events(1001)
    assert [e["type"] for e in events] == ["created", "message_edited", "texts_expired"]
    assert events[1]["data"] == {"erased": True} and events[0]["reason"] == "created"
    assert len(await store.deadlines(1001)) == 1  # the SLA figures stay
    assert [m["text"] for m in await store.messages(1002)] == ["keep me"]
    assert [m["text"] for m in await store.messages(1003)] == ["open ticket"]


async def test_erase_customer_anonymises_names_texts_and_chats_and_keeps_sla_rows(backend: Backend) -> None:
    store = backend.store
    ivan = {"customer": "telegram:555", "customer_name": "Ivan Petrov", "channel": "telegram", "chat_id": "555"}
    await store.commit(ChangeSet(
        keys=[key("msg:telegram:555:1", 1001)],
        tickets=[ticket(1001, subject="Ivan's invoice", **ivan), ticket(1002, status="closed", **ivan),
                 ticket(1003, customer="telegram:777", chat_id="777", channel="telegram")],
        messages=[message(1001, "I am Ivan, +7 900", author="telegram:555", channel="telegram", chat_id="555",
                          platform_id="1"),
                  message(1001, "Hello Ivan", direction="engineer", author="anna", channel="telegram",
                          chat_id="-100", platform_id="9"),
                  message(1003, "someone else", author="telegram:777", chat_id="777")],
        events=[{**event(1001, "created"), "actor": "telegram:555", "reason": "telegram message from Ivan"},
                {**event(1001, "rated", rating=5), "actor": "telegram:555"}, event(1001, "assigned")],
        outbox=[outbox(1001, channel="telegram", chat_id="555", text="Hi Ivan", copy_of=["telegram", "555", "1"]),
                outbox(1001, channel="telegram", chat_id="-100", audience="staff_room", text="Ivan wrote")],
        refs=[{"channel": "telegram", "chat_id": "555", "message_id": "1", "ticket_id": 1001}],
        deadlines={(1001, "resolution"): [deadline(1001, "resolution", 100, at(60))]},
        hints=[{"channel": "telegram", "chat_id": "555", "thread_id": None, "at": NOW}],
    ))
    erased = await store.erase_customer("telegram:555", "erased:abc123", _audit("data_erased"))
    assert erased == [1001, 1002]
    assert await store.tickets(TicketQuery(customer="telegram:555")) == []
    row = await store.ticket(1001)
    assert row is not None
    assert (row["customer"], row["customer_name"], row["chat_id"], row["subject"]) == (
        "erased:abc123", "", "[erased]", "[erased]")
    assert row["plan"] == "basic" and row["created_at"] == NOW  # the SLA figures stay
    customer_msg, engineer_msg = await store.messages(1001)
    assert customer_msg["text"] == "[erased]" and customer_msg["author"] == "erased:abc123"
    assert customer_msg["chat_id"] == "[erased]" and customer_msg["platform_id"] is None
    assert engineer_msg["text"] == "[erased]" and engineer_msg["author"] == "anna"
    pending_to_customer, to_staff = await store.outbox_rows(1001)
    assert pending_to_customer["state"] == "superseded" and pending_to_customer["chat_id"] == "[erased]"
    assert pending_to_customer["copy_of"] is None and to_staff["text"] == "[erased]"
    assert to_staff["chat_id"] == "-100"
    events = await store.events(1001)
    assert [(e["type"], e["actor"], e["reason"]) for e in events] == [
        ("created", "erased:abc123", "[erased]"), ("rated", "erased:abc123", "rated"),
        ("assigned", "desk", "assigned"), ("data_erased", "desk", "data_erased reason")]
    assert await store.ticket_by_ref("telegram", "555", "1") is None
    assert await store.hint_at("telegram", "555", None) is None
    assert len(await store.deadlines(1001)) == 1
    found = await intake_one(store, "msg:telegram:555:1", "telegram", "555", None, None, None)
    assert not found.seen and found.ticket is None  # nothing leads back to the conversation
    assert [m["text"] for m in await store.messages(1003)] == ["someone else"]
    # Erasure may blank personal data in the log; any other change to it is still refused.
    with pytest.raises(integrity_errors(), match="append-only"):
        await backend.execute("UPDATE events SET actor = 'someone' WHERE type = 'assigned'")
    with pytest.raises(integrity_errors(), match="append-only"):
        await backend.execute("UPDATE events SET type = 'created' WHERE type = 'assigned'")
