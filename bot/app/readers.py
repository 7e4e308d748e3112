"""`dutydesk tickets list|show`, `dutydesk deadletter list|show|retry`: the database, read
for a person at a terminal.

Management's question "what did this customer file lately, and where is it?" should need
no SQL: `tickets list --customer telegram:12345` answers it; "what did intake set aside,
and why?" is `deadletter list`.
"""

from __future__ import annotations

import json
from datetime import datetime

from bot.core.domain import OPEN_STATUSES, parse_ticket_id
from bot.core.records import message_from_row, ticket_from_row
from bot.core.sanitize import scrub_text
from bot.flows.deadletters import DONE, OPEN, RETRY
from storage import TicketQuery, open_store

# How soon a running desk acts on a retry mark (bot/app/factory.py checks this often).
RETRY_WITHIN = "5 s"

TIME = "%Y-%m-%d %H:%M"


def _when(value: object) -> str:
    return value.strftime(TIME) + "Z" if value is not None else "—"  # type: ignore[attr-defined]


async def list_tickets(
    url: str, *, status: str = "open", assignee: str | None = None, customer: str | None = None,
    org: str | None = None, limit: int = 50,
) -> list[str]:
    if status == "open":
        statuses = tuple(s.value for s in OPEN_STATUSES)
    elif status == "all":
        statuses = ()
    else:
        statuses = (status,)
    store = await open_store(url)
    try:
        rows = await store.tickets(TicketQuery(statuses=statuses, assignee=assignee, customer=customer,
                                               org_id=org, limit=limit))
    finally:
        await store.close()
    lines = [
        f"{'ticket':<8} {'status':<17} {'prio':<4} {'lang':<4} {'org':<10} {'assignee':<8} {'created':<17}  subject"
    ]
    for row in rows:
        t = ticket_from_row(row)
        lines.append(
            f"{t.display_id:<8} {t.status.value:<17} {t.priority.name:<4} {t.language:<4} {(t.org_id or '-'):<10} "
            f"{(t.assignee or '-'):<8} {_when(t.created_at):<17}  {t.subject[:60]}"
        )
    if not rows:
        lines.append("(no tickets)")
    return lines


async def show_ticket(url: str, ticket_ref: str) -> list[str] | None:
    ticket_id = parse_ticket_id(ticket_ref)
    if ticket_id is None:
        return None
    store = await open_store(url)
    try:
        row = await store.ticket(ticket_id)
        if row is None:
            return None
        messages = await store.messages(ticket_id)
        events = await store.events(ticket_id)
        outbox = await store.outbox_rows(ticket_id)
        deadlines = await store.deadlines(ticket_id)
    finally:
        await store.close()
    t = ticket_from_row(row)
    conv = t.conversation
    lines = [
        f"{t.display_id} · {t.status.value} · {t.priority.name} ({t.priority_reason}) · {t.kind.value} · {t.language}",
        f"customer {t.customer_name or '-'} <{t.customer}> · org {t.org_id or '-'} · plan {t.plan}"
        f" · tz {t.customer_tz}",
        f"conversation {conv.channel}:{conv.chat_id}{'/' + conv.thread_id if conv.thread_id else ''}"
        f" · assignee {t.assignee or '-'} · tier {t.tier} (level {t.escalation_level})",
        f"created {_when(t.created_at)} · first response {_when(t.first_response_at)} · "
        f"resolved {_when(t.resolved_at)} · closed {_when(t.closed_at)}",
        "",
        "messages:",
    ]
    for m in map(message_from_row, messages):
        files = f" +{len(m.attachments)} attachment(s)" if m.attachments else ""
        edited = " (edited)" if m.edited_at else ""
        lines.append(f"  {_when(m.at)} {m.direction.value:<8} {m.author}: {m.text[:200]}{files}{edited}")
    lines += ["", "events:"]
    lines += [f"  {_when(e['at'])} {e['type']:<17} {e['actor']}: {e['reason']}" for e in events]
    lines += ["", "deadlines:"]
    lines += [
        f"  {_when(d['due_at'])} {d['clock']} {d['stage']}% (target {_when(d['target_at'])})"
        f" {'fired ' + _when(d['fired_at']) if d['fired_at'] else 'pending'}"
        for d in deadlines
    ]
    lines += ["", "outbox:"]
    lines += [
        f"  #{o['id']} {o['state']:<10} {o['kind']:<9} → {o['channel']}:{o['chat_id']} ({o['audience']})"
        f" attempts {o['attempts']}{' · ' + o['last_error'] if o['last_error'] else ''}"
        for o in outbox
    ]
    return lines


# -- updates intake set aside --------------------------------------------------------------------


async def list_dead_letters(url: str, *, state: str = OPEN, limit: int = 50) -> list[str]:
    store = await open_store(url)
    try:
        rows = await store.dead_letters(None if state == "all" else state, limit)
        counts = await store.dead_letter_counts()
    finally:
        await store.close()
    lines = [f"{'id':<5} {'state':<6} {'channel':<9} {'key':<24} {'tries':>5} {'last failed':<17}  error"]
    for r in rows:
        lines.append(
            f"{r['id']:<5} {r['state']:<6} {r['channel']:<9} {r['key'][:24]:<24} {r['attempts']:>5} "
            f"{_when(r['updated_at']):<17}  {r['error'][:80]}"
        )
    if not rows:
        lines.append(f"(none {state})" if state != "all" else "(none)")
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in (OPEN, RETRY, DONE))
    return [*lines, "", f"in all: {summary}"]


async def show_dead_letter(url: str, dead_letter_id: int) -> list[str] | None:
    store = await open_store(url)
    try:
        row = await store.dead_letter(dead_letter_id)
    finally:
        await store.close()
    if row is None:
        return None
    try:
        payload = scrub_text(json.dumps(json.loads(row["payload"]), indent=2, ensure_ascii=False))
    except ValueError:
        payload = row["payload"]
    return [
        f"dead letter {row['id']} · {row['state']} · {row['channel']} {row['key']}",
        f"set aside {_when(row['created_at'])} · last failed {_when(row['updated_at'])} · {row['attempts']} attempts",
        f"error: {row['error']}",
        "",
        "payload:",
        *("  " + line for line in payload.splitlines()),
    ]


async def mark_for_retry(url: str, dead_letter_id: int, now: datetime) -> tuple[bool, str]:
    """Mark a row for the running desk to replay; (marked, what to tell the person)."""
    store = await open_store(url)
    try:
        row = await store.dead_letter(dead_letter_id)
        if row is None:
            return False, f"no dead letter {dead_letter_id}"
        if row["state"] == DONE:
            return False, f"dead letter {dead_letter_id} was already taken"
        await store.mark_dead_letter(dead_letter_id, RETRY, now)
        # Nobody else holds the runner's claim: no desk is running to act on the mark now.
        idle = await store.claim_runner()
    finally:
        await store.close()
    what = f"dead letter {dead_letter_id} ({row['channel']} {row['key']}) is marked for retry"
    if idle:
        return True, f"{what}; no desk is running on this database: the next one to start retries it"
    return True, (f"{what}: the running desk retries it within {RETRY_WITHIN} — "
                  f"`dutydesk deadletter show {dead_letter_id}` then says done, or open with the new error")
