"""Every statement the desk's stores run, written once for SQLite and PostgreSQL.

Parameters are named (`storage/dialect.py` renders them per dialect). Every list comes in
a stated order, ties included, so the backends return the same rows in the same order:

| query | order |
|---|---|
| tickets(query) | newest id first |
| latest_events | newest first (time, then id) |
| messages, events, events_between, outbox_rows, pending_outbox, overrides | id (the order written) |
| staff_threads | ticket id, then channel |
| deadlines(ticket), due_deadlines | due time, then id (written first, due first) |
| open_targets, passed_targets | target time, then ticket id, then clock |
| dead_letters | newest id first |
| ticket_by_thread (two tickets bound to one thread) | the newest ticket |
| message_by_ref, an album's message | the first written |
| open_ticket_for | the newest joinable ticket |
| queue_page | next target (passed first), then id; tickets with no running clock after, by id |
| report_days: totals / plan days | dimension, then value / day, then plan |

Ids follow the order rows were written on both backends: a new row's id is above every
row present (a sequence; SQLite's max + 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.base import TicketQuery
from storage.columns import (
    DEAD_LETTER_COLUMNS,
    DEADLINE_COLUMNS,
    EVENT_COLUMNS,
    HINT_COLUMNS,
    JOINABLE_SQL,
    KEY_COLUMNS,
    LOGIN_LINK_COLUMNS,
    MESSAGE_COLUMNS,
    OPEN_SQL,
    OUTBOX_COLUMNS,
    OVERRIDE_COLUMNS,
    REF_COLUMNS,
    SESSION_COLUMNS,
    TICKET_COLUMNS,
)
from storage.dialect import Sql, placeholders, sql


def _insert(table: str, columns: Sequence[str], suffix: str = "") -> Sql:
    return Sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders(columns)}){suffix}")


def _set_excluded(columns: Sequence[str]) -> str:
    return ", ".join(f"{c} = excluded.{c}" for c in columns)


# -- reads -------------------------------------------------------------------------------------

TICKET = Sql("SELECT * FROM tickets WHERE id = :id")
TICKET_BY_THREAD = Sql(
    "SELECT t.* FROM staff_threads s JOIN tickets t ON t.id = s.ticket_id "
    "WHERE s.channel = :channel AND s.chat_id = :chat_id AND s.thread_id = :thread_id ORDER BY t.id DESC LIMIT 1"
)
TICKET_BY_REF = Sql(
    "SELECT t.* FROM message_refs r JOIN tickets t ON t.id = r.ticket_id "
    "WHERE r.channel = :channel AND r.chat_id = :chat_id AND r.message_id = :message_id"
)
JOINABLE_TICKET = Sql(
    "SELECT * FROM tickets WHERE channel = :channel AND chat_id = :chat_id AND thread_id = :thread_id "
    f"AND status IN {JOINABLE_SQL} ORDER BY id DESC LIMIT 1"
)
MESSAGE_BY_REF = Sql(
    "SELECT * FROM messages WHERE channel = :channel AND chat_id = :chat_id AND platform_id = :platform_id "
    "ORDER BY id LIMIT 1"
)
MESSAGES = Sql("SELECT * FROM messages WHERE ticket_id = :ticket_id ORDER BY id")
EVENTS = Sql("SELECT * FROM events WHERE ticket_id = :ticket_id ORDER BY id")
LATEST_EVENTS = Sql(
    "SELECT * FROM events WHERE type = :type AND at >= :start AND at < :end ORDER BY at DESC, id DESC LIMIT :limit"
)
EVENTS_BETWEEN = Sql("SELECT * FROM events WHERE type IN (:types*) AND at >= :start AND at < :end ORDER BY id")
PENDING_OUTBOX = Sql("SELECT * FROM outbox WHERE state = 'pending' AND id > :after_id ORDER BY id LIMIT :limit")
HINT_AT = Sql(
    "SELECT at FROM conversation_hints WHERE channel = :channel AND chat_id = :chat_id AND thread_id = :thread_id"
)
DEAD_LETTER = Sql("SELECT * FROM dead_letters WHERE id = :id")
DEAD_LETTER_FOR = Sql("SELECT * FROM dead_letters WHERE channel = :channel AND key = :key")
DEAD_LETTER_COUNTS = Sql("SELECT state, count(*) AS n FROM dead_letters GROUP BY state")
NEXT_DUE = Sql("SELECT min(due_at) AS due_at FROM deadlines WHERE fired_at IS NULL")
DUE_DEADLINES = Sql(
    "SELECT * FROM deadlines WHERE fired_at IS NULL AND due_at <= :now ORDER BY due_at, id LIMIT :limit"
)
DEADLINES = Sql("SELECT * FROM deadlines WHERE ticket_id = :ticket_id ORDER BY due_at, id")
OPEN_TARGETS = Sql(
    "SELECT ticket_id, clock, min(target_at) AS target_at FROM deadlines "
    "WHERE fired_at IS NULL AND stage = 100 AND clock IN (:clocks*) "
    "GROUP BY ticket_id, clock ORDER BY target_at, ticket_id, clock LIMIT :limit"
)
PASSED_TARGETS = Sql(
    "SELECT d.ticket_id, d.clock, max(d.target_at) AS target_at FROM deadlines d "
    "JOIN tickets t ON t.id = d.ticket_id "
    "WHERE d.fired_at IS NOT NULL AND d.stage = 100 AND d.clock IN (:clocks*) AND t.status IN (:statuses*) "
    "GROUP BY d.ticket_id, d.clock ORDER BY target_at, d.ticket_id, d.clock LIMIT :limit"
)
OVERRIDES = Sql("SELECT * FROM overrides WHERE end_at > :ending_after ORDER BY id")

# -- the dashboard: login links, sessions ------------------------------------------------------

INSERT_LOGIN_LINK = _insert("dashboard_links", LOGIN_LINK_COLUMNS)
# A link is used once: only the first use within its time changes the row.
USE_LOGIN_LINK = Sql(
    "UPDATE dashboard_links SET used_at = :now WHERE token_hash = :token_hash AND used_at IS NULL "
    "AND expires_at > :now"
)
LOGIN_LINK = Sql("SELECT * FROM dashboard_links WHERE token_hash = :token_hash")
INSERT_SESSION = _insert("dashboard_sessions", SESSION_COLUMNS)
SESSION = Sql(
    "SELECT * FROM dashboard_sessions WHERE token_hash = :token_hash AND ended_at IS NULL AND expires_at > :now"
)
END_SESSION = Sql("UPDATE dashboard_sessions SET ended_at = :now WHERE token_hash = :token_hash")

# -- intake: what the desk reads before deciding about messages --------------------------------

# The highest ticket id, and each engineer's load (one row with engineer NULL when none).
LOADS = Sql(
    "SELECT m.max_id, l.engineer, l.open_count, l.last_assigned_at "
    "FROM (SELECT max(id) AS max_id FROM tickets) AS m LEFT JOIN engineer_load AS l ON true"
)
# One row per message: whether its key was seen, whether its conversation asked for a new
# ticket, and the ticket it joins — the one its reply points to unless that one is closed,
# else the conversation's newest joinable ticket (all NULL: none).
PROBE = Sql(f"""
SELECT p.seen, p.fresh, t.*
FROM (
    SELECT
        EXISTS (SELECT 1 FROM inbound_keys WHERE key = :key) AS seen,
        EXISTS (SELECT 1 FROM fresh_conversations
                WHERE channel = :channel AND chat_id = :chat_id AND thread_id = :thread_id) AS fresh,
        coalesce(
            (SELECT r.ticket_id FROM message_refs r JOIN tickets rt ON rt.id = r.ticket_id
             WHERE r.channel = :channel AND r.chat_id = :chat_id AND r.message_id = :reply_to
               AND rt.status <> 'closed'),
            (SELECT j.id FROM tickets j
             WHERE j.channel = :channel AND j.chat_id = :chat_id AND j.thread_id = :thread_id
               AND j.status IN {JOINABLE_SQL}
             ORDER BY j.id DESC LIMIT 1)
        ) AS ticket_id
) AS p
LEFT JOIN tickets t ON t.id = p.ticket_id
""")
# The first message of an album, in one row (all NULL: none yet).
ALBUM = Sql(
    "SELECT m.* FROM (SELECT min(id) AS id FROM messages "
    "WHERE channel = :channel AND chat_id = :chat_id AND album = :album) AS a LEFT JOIN messages m ON m.id = a.id"
)

# -- writes ------------------------------------------------------------------------------------

# A key already taken inserts nothing (the store raises DuplicateKey for it).
INSERT_KEY = _insert("inbound_keys", KEY_COLUMNS, " ON CONFLICT DO NOTHING")
# A ticket row only updates the ticket it was read as: same creation, channel and customer.
# Another ticket under the same number was opened by another process (`ConflictingWrite`).
UPSERT_TICKET = _insert(
    "tickets", TICKET_COLUMNS,
    f" ON CONFLICT (id) DO UPDATE SET {_set_excluded(TICKET_COLUMNS[1:])}"
    " WHERE tickets.created_at = excluded.created_at AND tickets.channel = excluded.channel"
    " AND tickets.customer = excluded.customer",
)


def update_ticket(columns: Sequence[str]) -> Sql:
    """A stored ticket's changed columns. Its identity (opened when, where, by whom) is
    checked as `UPSERT_TICKET` checks it; a change to the identity itself (an erasure
    rewrites `customer`) is written by the erasure's own statements, never here."""
    return sql(
        f"UPDATE tickets SET {', '.join(f'{c} = :{c}' for c in columns)} WHERE id = :id"
        " AND created_at = :created_at AND channel = :channel AND customer = :customer"
    )


INSERT_MESSAGE = _insert("messages", MESSAGE_COLUMNS)
EDIT_MESSAGE = Sql(
    "UPDATE messages SET text = :text, attachments = :attachments, edited_at = :edited_at WHERE id = :id"
)
INSERT_EVENT = _insert("events", EVENT_COLUMNS)
SUPERSEDE_OUTBOX = Sql("UPDATE outbox SET state = 'superseded' WHERE state = 'pending' AND coalesce_key IN (:keys*)")
INSERT_OUTBOX = _insert("outbox", (*OUTBOX_COLUMNS, "state"))
FIRE_DEADLINE = Sql("UPDATE deadlines SET fired_at = :at WHERE id = :id AND fired_at IS NULL")
INSERT_DEADLINE = _insert("deadlines", DEADLINE_COLUMNS, " ON CONFLICT DO NOTHING")
UPSERT_REF = _insert(
    "message_refs", REF_COLUMNS,
    " ON CONFLICT (channel, chat_id, message_id) DO UPDATE SET ticket_id = excluded.ticket_id",
)
INSERT_OVERRIDE = _insert("overrides", OVERRIDE_COLUMNS)
MARK_FRESH = _insert(
    "fresh_conversations", ("channel", "chat_id", "thread_id", "at"),
    " ON CONFLICT (channel, chat_id, thread_id) DO UPDATE SET at = excluded.at",
)
UNMARK_FRESH = Sql(
    "DELETE FROM fresh_conversations WHERE channel = :channel AND chat_id = :chat_id AND thread_id = :thread_id"
)
UPSERT_DEAD_LETTER = _insert(
    "dead_letters", DEAD_LETTER_COLUMNS,
    " ON CONFLICT (channel, key) DO UPDATE SET payload = excluded.payload, error = excluded.error, "
    "attempts = dead_letters.attempts + excluded.attempts, state = excluded.state, updated_at = excluded.updated_at",
)
UPSERT_HINT = _insert(
    "conversation_hints", HINT_COLUMNS, " ON CONFLICT (channel, chat_id, thread_id) DO UPDATE SET at = excluded.at"
)
MARK_SENT = Sql(
    "UPDATE outbox SET state = 'sent', sent_at = :at, platform_id = :platform_id, attempts = attempts + 1 "
    "WHERE id = :id AND state = 'pending'"
)
UPSERT_STAFF_THREAD = _insert(
    "staff_threads", ("ticket_id", "channel", "chat_id", "thread_id", "header_id"),
    " ON CONFLICT (ticket_id, channel) DO UPDATE SET chat_id = excluded.chat_id, thread_id = excluded.thread_id, "
    "header_id = coalesce(excluded.header_id, staff_threads.header_id)",
)
MARK_FAILED = Sql(
    "UPDATE outbox SET state = 'failed', sent_at = :at, attempts = attempts + 1, last_error = :error "
    "WHERE id = :id AND state = 'pending'"
)
NOTE_ATTEMPT = Sql("UPDATE outbox SET attempts = attempts + 1, last_error = :error WHERE id = :id")
# The tables whose rows name a chat, each moved by `chat_moved`; tickets first (its count is returned).
CHAT_TABLES = ("tickets", "outbox", "staff_threads", "message_refs", "messages")
MOVE_CHAT = {
    table: Sql(f"UPDATE {table} SET chat_id = :new WHERE channel = :channel AND chat_id = :old")
    for table in CHAT_TABLES
}


# -- built per call ------------------------------------------------------------------------------


def tickets(query: TicketQuery) -> tuple[Sql, dict[str, Any]]:
    clauses = [
        clause for clause, wanted in (
            ("status IN (:statuses*)", bool(query.statuses)),
            ("assignee = :assignee", query.assignee is not None),
            ("assignee IS NULL", query.unassigned),
            ("customer = :customer", query.customer is not None),
            ("org_id = :org_id", query.org_id is not None),
            ("created_at >= :created_from", query.created_from is not None),
            ("created_at < :created_to", query.created_to is not None),
        ) if wanted
    ]
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    params = {
        "statuses": query.statuses, "assignee": query.assignee, "customer": query.customer,
        "org_id": query.org_id, "created_from": query.created_from, "created_to": query.created_to,
        "limit": query.limit,
    }
    return sql(f"SELECT * FROM tickets{where} ORDER BY id DESC LIMIT :limit"), params


def outbox_rows(ticket_id: int | None, state: str | None) -> Sql:
    clauses = [c for c, wanted in (("ticket_id = :ticket_id", ticket_id is not None),
                                   ("state = :state", state is not None)) if wanted]
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return sql(f"SELECT * FROM outbox{where} ORDER BY id")


def staff_threads(ticket_ids: Sequence[int] | None) -> Sql:
    where = "" if ticket_ids is None else " WHERE ticket_id IN (:ticket_ids*)"
    return sql(f"SELECT * FROM staff_threads{where} ORDER BY ticket_id, channel")


def dead_letters(state: str | None) -> Sql:
    where = "" if state is None else " WHERE state = :state"
    return sql(f"SELECT * FROM dead_letters{where} ORDER BY id DESC LIMIT :limit")


def mark_dead_letter(only_from: tuple[str, ...]) -> Sql:
    guard = " AND state IN (:only_from*)" if only_from else ""
    return sql(f"UPDATE dead_letters SET state = :state, updated_at = :at WHERE id = :id{guard}")


def stale_deadlines(kept: bool) -> Sql:
    """Delete a ticket's unfired deadlines of some clocks, except the rows kept (same
    clock, stage and target: they keep their id). One statement per ticket, so the plan is
    always the unique key's index."""
    keep = " AND (clock, stage, target_at) NOT IN :keep**" if kept else ""
    return sql(f"DELETE FROM deadlines WHERE ticket_id = :ticket_id AND fired_at IS NULL AND clock IN (:clocks*){keep}")


# -- counts, read when metrics are scraped -------------------------------------------------------

_TARGET_STATE = "CASE WHEN d.fired_at IS NULL THEN 'due' ELSE 'breached' END"
TICKET_COUNTS = Sql(
    "SELECT plan, priority, status, count(*) AS n FROM tickets WHERE status <> 'closed' "
    "GROUP BY plan, priority, status ORDER BY plan, priority, status"
)
TARGET_COUNTS = Sql(
    f"SELECT d.clock, {_TARGET_STATE} AS state, count(DISTINCT d.ticket_id) AS n FROM deadlines d "
    f"JOIN tickets t ON t.id = d.ticket_id WHERE d.stage = 100 AND t.status IN {OPEN_SQL} "
    f"GROUP BY d.clock, {_TARGET_STATE} ORDER BY d.clock, state"
)
# created_at: the oldest pending row's time (named so, it is decoded as a time).
OUTBOX_BACKLOG = Sql(
    "SELECT channel, count(*) AS n, min(created_at) AS created_at FROM outbox WHERE state = 'pending' "
    "GROUP BY channel ORDER BY channel"
)

# -- erasure: retention and `dutydesk forget` ----------------------------------------------------
# What replaces erased text, and an erased event's data; the event log's trigger allows
# exactly these changes (storage/migrations/*/…_erasure.sql), and a pseudonym 'erased:…'.
ERASED = "[erased]"
ERASED_DATA = {"erased": True}

EXPIRED_TICKETS = Sql(
    "SELECT id FROM tickets WHERE status = 'closed' AND closed_at < :closed_before AND subject <> :erased "
    "ORDER BY id LIMIT :limit"
)
CUSTOMER_TICKETS = Sql("SELECT id FROM tickets WHERE customer = :customer ORDER BY id")
# Retention: what people wrote goes; who and when stays.
EXPIRE = (
    Sql("UPDATE messages SET text = :erased, attachments = :attachments WHERE ticket_id IN (:ticket_ids*)"),
    Sql("UPDATE outbox SET text = :erased, title = NULL WHERE ticket_id IN (:ticket_ids*) AND state <> 'pending'"),
    Sql("UPDATE tickets SET subject = :erased WHERE id IN (:ticket_ids*)"),
    Sql("UPDATE events SET data = :data WHERE ticket_id IN (:ticket_ids*) AND type = 'message_edited'"),
)
_CHATS_OF = "(channel, chat_id) IN (SELECT channel, chat_id FROM tickets WHERE id IN (:ticket_ids*))"
# Erasure: texts, names and chat ids too (the chats' marks first, while the tickets name them).
FORGET = (
    Sql(f"DELETE FROM conversation_hints WHERE {_CHATS_OF}"),
    Sql(f"DELETE FROM fresh_conversations WHERE {_CHATS_OF}"),
    Sql("DELETE FROM message_refs WHERE ticket_id IN (:ticket_ids*)"),
    Sql("DELETE FROM inbound_keys WHERE ticket_id IN (:ticket_ids*)"),
    Sql(
        "UPDATE messages SET text = :erased, attachments = :attachments, platform_id = NULL, album = NULL, "
        "author = CASE WHEN author = :customer THEN :pseudonym ELSE author END, "
        "chat_id = CASE WHEN direction = 'customer' THEN :erased ELSE chat_id END WHERE ticket_id IN (:ticket_ids*)"
    ),
    Sql(
        "UPDATE outbox SET text = :erased, title = NULL, copy_of = NULL, reply_to = NULL, "
        "chat_id = CASE WHEN audience = 'customer' THEN :erased ELSE chat_id END, "
        "state = CASE WHEN audience = 'customer' AND state = 'pending' THEN 'superseded' ELSE state END "
        "WHERE ticket_id IN (:ticket_ids*)"
    ),
    Sql(
        "UPDATE events SET actor = CASE WHEN actor = :customer THEN :pseudonym ELSE actor END, "
        "reason = CASE WHEN type IN ('created', 'message_edited') THEN :erased ELSE reason END, "
        "data = CASE WHEN type = 'message_edited' THEN :data ELSE data END WHERE ticket_id IN (:ticket_ids*)"
    ),
    Sql(
        "UPDATE tickets SET customer = :pseudonym, customer_name = '', subject = :erased, chat_id = :erased, "
        "thread_id = '' WHERE id IN (:ticket_ids*)"
    ),
)


def queue_page(where: Sequence[tuple[str, bool]], timed: bool) -> Sql:
    """One segment of the dashboard's queue: open tickets with a running clock by their next
    target (the index `tickets_queue`), or those without one by id; with the filters wanted."""
    clauses = [f"status IN {OPEN_SQL}", f"next_target_at IS {'NOT ' if timed else ''}NULL"]
    clauses += [clause for clause, wanted in where if wanted]
    order = "next_target_at, id" if timed else "id"
    return sql(f"SELECT * FROM tickets WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT :limit OFFSET :offset")


def queue_count(where: Sequence[tuple[str, bool]]) -> Sql:
    """How many open tickets match: with a running clock, of those overdue, and without one
    — each a range of the index `tickets_queue`, which holds the filters' columns too."""
    filters = "".join(f" AND {clause}" for clause, wanted in where if wanted)

    def count(condition: str) -> str:
        return f"(SELECT count(*) FROM tickets WHERE status IN {OPEN_SQL} AND {condition}{filters})"

    return sql(
        f"SELECT {count('next_target_at IS NOT NULL')} AS timed, {count('next_target_at <= :now')} AS overdue, "
        f"{count('next_target_at IS NULL')} AS untimed"
    )


# The report's roll-up (kept by triggers on tickets; see the dashboard migration) over a
# range of UTC days, both ends included: totals per dimension and value, and per day per plan.
_FIGURES = ("tickets", "first_met", "first_missed", "resolution_met", "resolution_missed", "rated", "rating_sum")
REPORT_TOTALS = Sql(
    "SELECT dim, value, " + ", ".join(f"sum({f}) AS {f}" for f in _FIGURES) + " FROM report_days "
    "WHERE day >= :first_day AND day <= :last_day GROUP BY dim, value ORDER BY dim, value"
)
REPORT_PLAN_DAYS = Sql(
    "SELECT day, value, " + ", ".join(_FIGURES) + " FROM report_days "
    "WHERE day >= :first_day AND day <= :last_day AND dim = 'plan' AND tickets <> 0 ORDER BY day, value"
)
