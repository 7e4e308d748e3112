"""Mapping between the desk's values and storage rows — written once, shared by backends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.domain import (
    Attachment,
    ClockOutcome,
    ClockState,
    ConversationRef,
    Direction,
    Event,
    Kind,
    Message,
    Priority,
    SlaMark,
    SlaRecord,
    Status,
    Ticket,
)
from bot.delivery.contract import Audience, Button, Outbound, Recipient, SourceRef
from bot.sla.clocks import FIRST_RESPONSE, RESOLUTION
from routing.roster import Override
from storage.base import Row


def ticket_from_row(row: Row) -> Ticket:
    return Ticket(
        id=row["id"],
        status=Status(row["status"]),
        priority=Priority(row["priority"]),
        priority_reason=row["priority_reason"],
        kind=Kind(row["kind"]),
        language=row["language"],
        subject=row["subject"],
        customer=row["customer"],
        customer_name=row["customer_name"],
        org_id=row["org_id"],
        plan=row["plan"],
        customer_tz=row["customer_tz"],
        conversation=ConversationRef(row["channel"], row["chat_id"], row["thread_id"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        assignee=row["assignee"],
        tier=row["tier"],
        escalation_level=row["escalation_level"],
        assigned_at=row["assigned_at"],
        pickup_at=row["pickup_at"],
        first_response_at=row["first_response_at"],
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        last_customer_at=row["last_customer_at"],
        last_update_at=row["last_update_at"],
        last_customer_message=row["last_customer_message"],
        clock=ClockState(row["clock_running_since"], row["clock_used_s"], row["clock_paused_at"]),
        rating=row["rating"],
        sla=sla_from_json(row.get("sla")),
    )


def ticket_to_row(ticket: Ticket) -> Row:
    return {
        "id": ticket.id,
        "status": ticket.status.value,
        "priority": int(ticket.priority),
        "priority_reason": ticket.priority_reason,
        "kind": ticket.kind.value,
        "language": ticket.language,
        "subject": ticket.subject,
        "customer": ticket.customer,
        "customer_name": ticket.customer_name,
        "org_id": ticket.org_id,
        "plan": ticket.plan,
        "customer_tz": ticket.customer_tz,
        "channel": ticket.conversation.channel,
        "chat_id": ticket.conversation.chat_id,
        "thread_id": ticket.conversation.thread_id,
        "assignee": ticket.assignee,
        "tier": ticket.tier,
        "escalation_level": ticket.escalation_level,
        "assigned_at": ticket.assigned_at,
        "pickup_at": ticket.pickup_at,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "first_response_at": ticket.first_response_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "last_customer_at": ticket.last_customer_at,
        "last_update_at": ticket.last_update_at,
        "last_customer_message": ticket.last_customer_message,
        "clock_running_since": ticket.clock.running_since,
        "clock_used_s": ticket.clock.resolution_used_s,
        "clock_paused_at": ticket.clock.paused_at,
        "rating": ticket.rating,
        "sla": sla_to_json(ticket.sla),
        **sla_columns(ticket),
    }


def sla_columns(ticket: Ticket) -> Row:
    """The SLA record's figures as plain columns beside it, so that the dashboard's queue
    orders by an index and its reports count a million tickets without parsing their JSON:
    the next target of a clock still running (passed or ahead), and each clock's target,
    verdict, holder and working time used."""
    outcomes = ticket.sla.outcomes
    running = [o.due_at for c in (FIRST_RESPONSE, RESOLUTION) if (o := outcomes.get(c)) is not None
               and o.decided_at is None and o.due_at is not None]
    row: Row = {"next_target_at": min(running, default=None)}
    for prefix, clock in (("first", FIRST_RESPONSE), ("resolution", RESOLUTION)):
        o = outcomes.get(clock)
        row |= {
            f"{prefix}_due_at": o.due_at if o else None,
            f"{prefix}_met": _verdict(o),
            f"{prefix}_holder": o.holder if o else None,
            f"{prefix}_used_s": o.used_s if o else None,
        }
    return row


def _verdict(outcome: ClockOutcome | None) -> int | None:
    """1 met, 0 missed — answered late, or its target passed unanswered by the last commit
    (the breach firing commits the ticket) — and None while undecided."""
    if outcome is None:
        return None
    if outcome.met is not None:
        return int(outcome.met)
    passed = outcome.decided_at is None and outcome.due_at is not None and outcome.due_at <= outcome.as_of
    return 0 if passed else None


# A mark's flags, one letter each: compact, because every ticket carries its marks.
_FLAGS = (("responding", "f"), ("answered", "a"), ("running", "r"), ("resolved", "d"))


def sla_to_json(record: SlaRecord) -> dict[str, Any]:
    return {
        "marks": [
            [m.at.isoformat(), int(m.priority), "".join(c for name, c in _FLAGS if getattr(m, name)), m.holder]
            for m in record.marks
        ],
        "banked_s": record.banked_s,
        "outcomes": {
            clock: {
                "target_s": o.target_s, "used_s": o.used_s, "due_at": _iso(o.due_at),
                "decided_at": _iso(o.decided_at), "met": o.met, "holder": o.holder, "as_of": o.as_of.isoformat(),
            }
            for clock, o in record.outcomes.items()
        },
    }


def sla_from_json(data: dict[str, Any] | None) -> SlaRecord:
    """Tickets stored before SLA records were kept read as a legacy record."""
    if not data:
        return SlaRecord(legacy=True)
    marks = [
        SlaMark(datetime.fromisoformat(at), Priority(priority), *(c in flags for _, c in _FLAGS), holder)
        for at, priority, flags, holder in data.get("marks", [])
    ]
    outcomes = {
        clock: ClockOutcome(
            o["target_s"], o["used_s"], _time(o["due_at"]), _time(o["decided_at"]), o["met"], o["holder"],
            datetime.fromisoformat(o["as_of"]),
        )
        for clock, o in data.get("outcomes", {}).items()
    }
    return SlaRecord(marks, data.get("banked_s", 0), outcomes)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def attachments_to_json(attachments: tuple[Attachment, ...]) -> list[dict[str, Any]]:
    return [{k: v for k, v in vars(a).items() if v is not None} for a in attachments]


def attachments_from_json(data: list[dict[str, Any]] | None) -> tuple[Attachment, ...]:
    return tuple(Attachment(**item) for item in data or [])


def message_to_row(message: Message) -> Row:
    return {
        "id": message.id,
        "ticket_id": message.ticket_id,
        "direction": message.direction.value,
        "author": message.author,
        "text": message.text,
        "attachments": attachments_to_json(message.attachments),
        "channel": message.channel,
        "chat_id": message.chat_id,
        "platform_id": message.platform_id,
        "album": message.album,
        "at": message.at,
        "edited_at": message.edited_at,
    }


def message_from_row(row: Row) -> Message:
    return Message(
        id=row["id"],
        ticket_id=row["ticket_id"],
        direction=Direction(row["direction"]),
        author=row["author"],
        text=row["text"],
        at=row["at"],
        attachments=attachments_from_json(row["attachments"]),
        channel=row["channel"],
        chat_id=row["chat_id"],
        platform_id=row["platform_id"],
        album=row["album"],
        edited_at=row["edited_at"],
    )


def event_to_row(event: Event) -> Row:
    return {
        "ticket_id": event.ticket_id,
        "type": event.type.value,
        "actor": event.actor,
        "at": event.at,
        "reason": event.reason,
        "data": event.data,
    }


def outbound_to_row(out: Outbound, created_at: datetime) -> Row:
    rcpt = out.recipient
    return {
        "ticket_id": out.ticket_id,
        "kind": out.kind,
        "channel": rcpt.channel,
        "chat_id": rcpt.chat_id,
        "thread_id": rcpt.thread_id,
        "audience": rcpt.audience.value,
        "person": rcpt.person,
        "text": out.text,
        "title": out.title,
        "buttons": [[b.action, b.ticket_id, b.label, b.arg] for b in out.buttons],
        "copy_of": None if out.copy_of is None else [out.copy_of.channel, out.copy_of.chat_id, out.copy_of.message_id],
        "reply_to": out.reply_to,
        "coalesce_key": out.coalesce,
        "created_at": created_at,
    }


def outbound_from_row(row: Row) -> Outbound:
    copy = row["copy_of"]
    return Outbound(
        id=row["id"],
        kind=row["kind"],
        recipient=Recipient(
            channel=row["channel"],
            chat_id=row["chat_id"],
            audience=Audience(row["audience"]),
            thread_id=row["thread_id"],
            person=row["person"],
        ),
        text=row["text"],
        ticket_id=row["ticket_id"],
        title=row["title"],
        buttons=tuple(Button(a, t, label, arg) for a, t, label, arg in row["buttons"]),
        copy_of=None if copy is None else SourceRef(*copy),
        reply_to=row["reply_to"],
        coalesce=row["coalesce_key"],
        attempts=row["attempts"],
    )


def override_from_row(row: Row) -> Override:
    return Override(
        engineer=row["engineer"], start=row["start_at"], end=row["end_at"], replaces=row["replaces"],
        reason=row["reason"],
    )


def override_to_row(override: Override, created_by: str, created_at: datetime) -> Row:
    return {
        "engineer": override.engineer, "start_at": override.start, "end_at": override.end,
        "replaces": override.replaces, "reason": override.reason, "created_by": created_by,
        "created_at": created_at,
    }
