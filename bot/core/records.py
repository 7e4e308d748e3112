"""Mapping between the desk's values and storage rows — written once, shared by backends."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
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

# The columns stored under the value's own attribute name, as they are: each record's list
# is written once and serves both directions, so a column added to one cannot be missed in
# the other. The columns that need converting are spelled out beside it.
_TICKET_AS_IS = (
    "id", "priority_reason", "language", "subject", "customer", "customer_name", "org_id", "plan", "customer_tz",
    "created_at", "updated_at", "assignee", "tier", "escalation_level", "assigned_at", "pickup_at",
    "first_response_at", "resolved_at", "closed_at", "last_customer_at", "last_update_at", "last_customer_message",
    "rating",
)
_MESSAGE_AS_IS = (
    "id", "ticket_id", "author", "text", "at", "channel", "chat_id", "platform_id", "album", "edited_at",
)
_EVENT_AS_IS = ("ticket_id", "actor", "at", "reason", "data")
_OUTBOUND_AS_IS = ("ticket_id", "kind", "text", "title", "reply_to")
_RECIPIENT_AS_IS = ("channel", "chat_id", "thread_id", "person")


def _attributes(value: object, names: tuple[str, ...]) -> Row:
    """`value`'s attributes `names`, as a row's columns of the same names."""
    return {name: getattr(value, name) for name in names}


def _columns(row: Row, names: tuple[str, ...]) -> dict[str, Any]:
    """The row's columns `names`, as keyword arguments of the same names."""
    return {name: row[name] for name in names}


def ticket_from_row(row: Row) -> Ticket:
    return Ticket(
        **_columns(row, _TICKET_AS_IS),
        status=Status(row["status"]),
        priority=Priority(row["priority"]),
        kind=Kind(row["kind"]),
        conversation=ConversationRef(row["channel"], row["chat_id"], row["thread_id"]),
        clock=ClockState(row["clock_running_since"], row["clock_used_s"], row["clock_paused_at"]),
        sla=sla_from_json(row.get("sla")),
        stored=row,
    )


def ticket_to_row(ticket: Ticket) -> Row:
    return {
        **_attributes(ticket, _TICKET_AS_IS),
        "status": ticket.status.value,
        "priority": int(ticket.priority),
        "kind": ticket.kind.value,
        "channel": ticket.conversation.channel,
        "chat_id": ticket.conversation.chat_id,
        "thread_id": ticket.conversation.thread_id,
        "clock_running_since": ticket.clock.running_since,
        "clock_used_s": ticket.clock.resolution_used_s,
        "clock_paused_at": ticket.clock.paused_at,
        "sla": sla_to_json(ticket.sla),
        **sla_columns(ticket),
    }


def changed_columns(row: Row, stored: Mapping[str, Any]) -> tuple[str, ...]:
    """The columns of a ticket's new row that differ from the row it was read from."""
    return tuple(name for name, value in row.items()
                 if name != "id" and (name not in stored or stored[name] != value))


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



@lru_cache(maxsize=32)
def _flags(flags: str) -> tuple[bool, bool, bool, bool]:
    """A mark's flags (`_FLAGS`), one letter each, as its four booleans (sixteen strings at
    most: each read once, then remembered — every ticket read carries a few marks)."""
    responding, answered, running, resolved = (c in flags for _, c in _FLAGS)
    return responding, answered, running, resolved


def sla_from_json(data: dict[str, Any] | None) -> SlaRecord:
    """Tickets stored before SLA records were kept read as a legacy record."""
    if not data:
        return SlaRecord(legacy=True)
    marks = [
        SlaMark(datetime.fromisoformat(at), Priority(priority), *_flags(flags), holder)
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
        **_attributes(message, _MESSAGE_AS_IS),
        "direction": message.direction.value,
        "attachments": attachments_to_json(message.attachments),
    }


def message_from_row(row: Row) -> Message:
    return Message(
        **_columns(row, _MESSAGE_AS_IS),
        direction=Direction(row["direction"]),
        attachments=attachments_from_json(row["attachments"]),
    )


def event_to_row(event: Event) -> Row:
    return {**_attributes(event, _EVENT_AS_IS), "type": event.type.value}


def outbound_to_row(out: Outbound, created_at: datetime) -> Row:
    copy = out.copy_of
    return {
        **_attributes(out, _OUTBOUND_AS_IS),
        **_attributes(out.recipient, _RECIPIENT_AS_IS),
        "audience": out.recipient.audience.value,
        "buttons": [[b.action, b.ticket_id, b.label, b.arg] for b in out.buttons],
        "copy_of": None if copy is None else [copy.channel, copy.chat_id, copy.message_id],
        "coalesce_key": out.coalesce,
        "created_at": created_at,
    }


def outbound_from_row(row: Row) -> Outbound:
    copy = row["copy_of"]
    return Outbound(
        **_columns(row, _OUTBOUND_AS_IS),
        id=row["id"],
        recipient=Recipient(**_columns(row, _RECIPIENT_AS_IS), audience=Audience(row["audience"])),
        buttons=tuple(Button(a, t, label, arg) for a, t, label, arg in row["buttons"]),
        copy_of=None if copy is None else SourceRef(*copy),
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
