"""Each unit of work as steps, the same for every backend: which statement runs for which
rows, in which order, and what a row that changes nothing means.

A backend runs the steps in one transaction of its own (`storage/sqlite.py`: one call on
the database thread; `storage/postgres.py`: an asyncpg transaction, batches pipelined).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from storage import queries as q
from storage.base import Booking, ChangeSet, ConflictingWrite, DuplicateKey, Row
from storage.dialect import Sql


class Step(NamedTuple):
    """A statement run for rows: all at once (`executemany`, nothing to check), or — when
    `each` — row by row, counting the rows each changed; a row that changes nothing is then
    `refused(row)`, if given (a key already taken, a ticket or deadline another process
    changed). A tuple: a commit plans a dozen of them, a frozen dataclass costs four times
    as much to make."""

    sql: Sql
    rows: Sequence[Mapping[str, Any]]
    each: bool = False
    refused: Callable[[Mapping[str, Any]], Exception] | None = None

    def check(self, row: Mapping[str, Any], changed: int) -> int:
        if changed == 0 and self.refused is not None:
            raise self.refused(row)
        return changed


def _taken(row: Mapping[str, Any]) -> Exception:
    return DuplicateKey(row)


def _other_ticket(row: Mapping[str, Any]) -> Exception:
    return ConflictingWrite(f"ticket {row['id']} is another ticket, opened by another process")


def _fired_elsewhere(row: Mapping[str, Any]) -> Exception:
    return ConflictingWrite(f"deadline {row['id']}: already fired or replaced by another process")


def commit(cs: ChangeSet) -> list[Step]:
    """A change set's steps. Fired marks come before the schedule that is recomputed with
    them, or it would put a just-fired deadline back as new."""
    return [step for step in (
        Step(q.INSERT_KEY, cs.keys, each=True, refused=_taken),
        Step(q.UPSERT_TICKET, [_in_conversation(t) for t in cs.tickets if t["id"] not in cs.changed],
             each=True, refused=_other_ticket),
        *_ticket_updates(cs),
        Step(q.INSERT_MESSAGE, [m for m in cs.messages if m.get("id") is None]),
        Step(q.EDIT_MESSAGE, [{**m, "attachments": m.get("attachments") or []}
                              for m in cs.messages if m.get("id") is not None]),
        Step(q.INSERT_EVENT, cs.events),
        *_outbox(cs.outbox),
        Step(q.FIRE_DEADLINE, _first_marks(cs.fired), each=True, refused=_fired_elsewhere),
        *_deadlines(cs.deadlines),
        Step(q.UPSERT_REF, cs.refs),
        Step(q.INSERT_OVERRIDE, cs.overrides),
        *_fresh(cs.fresh),
        Step(q.UPSERT_DEAD_LETTER, cs.dead_letters),
        Step(q.UPSERT_HINT, [_in_conversation(h) for h in cs.hints]),
        Step(q.INSERT_LOGIN_LINK, cs.login_links),
    ) if step.rows]


def bookings(booked: Sequence[Booking]) -> list[Step]:
    """Deliveries booked in order: each outbox row marked sent (only a pending one), its
    message ref recorded and its staff thread bound (the last binding of a ticket wins)."""
    return [step for step in (
        Step(q.MARK_SENT, [{"id": b.outbox_id, "at": b.at, "platform_id": b.platform_id} for b in booked]),
        Step(q.UPSERT_REF, [b.ref for b in booked if b.ref is not None]),
        Step(q.UPSERT_STAFF_THREAD, [{"header_id": None, **b.thread} for b in booked if b.thread is not None]),
    ) if step.rows]


def chat_moved(channel: str, old: str, new: str) -> list[Step]:
    """A chat's new id (a Telegram group became a supergroup) on every row naming it;
    the first step's count is the tickets moved."""
    move = [{"channel": channel, "old": old, "new": new}]
    return [Step(q.MOVE_CHAT[table], move, each=True) for table in q.CHAT_TABLES]


def _in_conversation(row: Row) -> Row:
    """"No thread" is stored as '' so that the conversation's key and index work."""
    return {**row, "thread_id": row.get("thread_id") or ""}


def _ticket_updates(cs: ChangeSet) -> Iterator[Step]:
    """Tickets read from the store: only their changed columns, on the row that is still
    the same ticket (its identity as it was read: `q.update_ticket`)."""
    for row in cs.tickets:
        columns = cs.changed.get(row["id"])
        if columns:
            yield Step(q.update_ticket(columns), [_in_conversation(row)], each=True, refused=_other_ticket)


def _outbox(rows: list[Row]) -> Iterator[Step]:
    """Each row supersedes the pending rows with its coalesce key, as if inserted one by
    one: earlier pending rows with any of the keys are superseded, and a new row goes in
    superseded when a later new row carries its key."""
    keys = [row.get("coalesce_key") for row in rows]
    present = sorted({key for key in keys if key})
    if present:
        yield Step(q.SUPERSEDE_OUTBOX, [{"keys": present}])
    yield Step(q.INSERT_OUTBOX, [
        {**row, "state": "superseded" if keys[i] and keys[i] in keys[i + 1:] else "pending"}
        for i, row in enumerate(rows)
    ])


def _first_marks(fired: list[tuple[int, datetime]]) -> list[Row]:
    first: dict[int, datetime] = {}
    for deadline_id, at in fired:
        first.setdefault(deadline_id, at)
    return [{"id": deadline_id, "at": at} for deadline_id, at in first.items()]


def _deadlines(schedule: dict[tuple[int, str], list[Row]]) -> Iterator[Step]:
    """Make each named clock's unfired deadlines exactly its rows, leaving unchanged ones in
    place (same id: a batch of due rows being fired stays valid) and fired ones untouched
    (the unique key skips inserting them again): one DELETE per ticket, one INSERT batch."""
    clocks: dict[int, list[str]] = {}
    for ticket_id, clock in schedule:
        clocks.setdefault(ticket_id, []).append(clock)
    deletes: list[Row] = []
    for ticket_id, names in clocks.items():
        keep = [(clock, r["stage"], r["target_at"]) for clock in names for r in schedule[(ticket_id, clock)]]
        deletes.append({"ticket_id": ticket_id, "clocks": names, "keep": keep})
    yield Step(q.stale_deadlines(kept=True), [d for d in deletes if d["keep"]])
    yield Step(q.stale_deadlines(kept=False), [d for d in deletes if not d["keep"]])
    yield Step(q.INSERT_DEADLINE, [r for rows in schedule.values() for r in rows])


def _fresh(marks: list[Row]) -> Iterator[Step]:
    """A mark with a time marks the conversation; one without is used up. In order, so the
    last word about a conversation stands."""
    for mark in marks:
        yield Step(q.UNMARK_FRESH if mark.get("at") is None else q.MARK_FRESH, [_in_conversation(mark)])


def erasure(statements: Sequence[Sql], ticket_ids: list[int], audit: Row, **params: Any) -> list[Step]:
    """Erase texts (and with `q.FORGET`, names and chat ids) of these tickets, and log
    `audit` on each of them."""
    values = {"ticket_ids": ticket_ids, "erased": q.ERASED, "data": q.ERASED_DATA, "attachments": [], **params}
    return [
        *(Step(statement, [values]) for statement in statements),
        Step(q.INSERT_EVENT, [{**audit, "ticket_id": ticket_id} for ticket_id in ticket_ids]),
    ]
