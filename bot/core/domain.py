"""The desk's vocabulary: tickets, messages, the event log, and what adapters hand over.

These are plain values. Adapters build `Inbound` and `Edited`; the desk turns them into
ticket changes; storage persists them. Nothing here knows a messenger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from routing.priority import Priority

__all__ = [
    "OPEN_STATUSES",
    "Attachment",
    "ClockOutcome",
    "ClockState",
    "ConversationRef",
    "Direction",
    "Edited",
    "Event",
    "EventType",
    "Inbound",
    "Kind",
    "Message",
    "Priority",
    "Sender",
    "SlaMark",
    "SlaRecord",
    "Status",
    "Ticket",
    "Written",
    "format_ticket_id",
    "parse_ticket_id",
]


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


# Tickets someone still works on. A resolved ticket still belongs to its conversation (the
# customer's next message reopens it); only a closed one makes the next message open a new one.
OPEN_STATUSES = frozenset(
    {Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING_CUSTOMER}
)


class Kind(StrEnum):
    INCIDENT = "incident"
    QUESTION = "question"
    BUG = "bug"


class Direction(StrEnum):
    CUSTOMER = "customer"  # customer -> desk
    ENGINEER = "engineer"  # engineer -> customer
    NOTE = "note"  # internal, never shown to the customer
    SYSTEM = "system"  # what the desk itself told the customer (acknowledgements, progress notes)


class EventType(StrEnum):
    CREATED = "created"
    ASSIGNED = "assigned"
    REASSIGNED = "reassigned"
    QUEUED = "queued"
    ESCALATED = "escalated"
    PRIORITY_CHANGED = "priority_changed"
    STATUS_CHANGED = "status_changed"
    LANGUAGE_CHANGED = "language_changed"
    FIRST_RESPONSE = "first_response"
    CLOCK_PAUSED = "clock_paused"
    CLOCK_RESUMED = "clock_resumed"
    REMINDER_SENT = "reminder_sent"
    SLA_BREACHED = "sla_breached"
    MESSAGE_EDITED = "message_edited"
    DELIVERY_FAILED = "delivery_failed"
    SNOOZED = "snoozed"
    RATED = "rated"
    LEAD_ALERTED = "lead_alerted"
    # The audit trail of erasure (bot/flows/erasure.py): texts removed after the retention
    # period; a customer's personal data erased on request.
    TEXTS_EXPIRED = "texts_expired"
    DATA_ERASED = "data_erased"


@dataclass(frozen=True)
class ConversationRef:
    """Where a conversation lives on a platform: a chat, and a thread inside it if any."""

    channel: str
    chat_id: str
    thread_id: str | None = None


@dataclass(frozen=True)
class Attachment:
    kind: str  # photo | document | voice | audio | video | sticker | file
    name: str | None = None
    mime: str | None = None
    size: int | None = None
    ref: str | None = None  # the platform's file id, to fetch or copy it later


@dataclass(frozen=True)
class Sender:
    """Who wrote, as the platform knows them. `identity` is `channel:user_id`."""

    identity: str
    name: str = ""
    language: str | None = None  # the client's interface language, a hint for detection


@dataclass(frozen=True)
class Written:
    """What a person wrote, where and when, as an adapter hands it to the desk: a new
    message (`Inbound`) or an edit of one (`Edited`). `message_id` is the platform's id of
    the message within its chat."""

    conversation: ConversationRef
    sender: Sender
    text: str
    message_id: str
    at: datetime

    @property
    def channel(self) -> str:
        return self.conversation.channel


@dataclass(frozen=True)
class Inbound(Written):
    """One new message. With the channel and chat, `message_id` is its de-duplication key,
    so a redelivered update is harmless."""

    attachments: tuple[Attachment, ...] = ()
    reply_to: str | None = None  # platform id of the message this one answers, same chat
    private: bool = True  # a one-to-one chat with the bot (not a group or channel)
    album: str | None = None  # parts of one album arrive separately and merge into one message
    priority: Priority | None = None  # chosen by the customer (an "urgent" button or command)
    new_ticket: bool = False  # the customer asked for a fresh ticket (/new)
    # Set when a person sent something the desk cannot take (a location, a poll, a text
    # with nothing visible in it): what it was. A platform's service messages (someone
    # joined, a topic was renamed) leave it None: nobody wrote to the desk.
    unreadable: str | None = None

    @property
    def dedupe_key(self) -> str:
        return f"msg:{self.channel}:{self.conversation.chat_id}:{self.message_id}"


@dataclass(frozen=True)
class Edited(Written):
    """A message the desk already has, as the customer (or engineer) edited it: its new
    text, and when (`at`)."""


@dataclass
class ClockState:
    """SLA clock bookkeeping that survives pauses, priority changes and restarts.

    The resolution clock counts working time; while the ticket waits on the customer it
    stops. `resolution_used` is the working time consumed before `running_since`.
    """

    running_since: datetime | None = None
    resolution_used_s: int = 0
    paused_at: datetime | None = None


@dataclass(frozen=True)
class SlaMark:
    """What a ticket's SLA clocks depend on, as it stood from `at` until the next mark.

    The desk appends one whenever a commit changes any of it, so each clock can be worked
    out again exactly at any later time — a priority raised while the clock was paused, a
    target found used up after a restart — instead of from whatever state is left.
    """

    at: datetime
    priority: Priority
    responding: bool  # the first-response clock runs (open, no human answer yet)
    answered: bool  # an engineer answered the customer: the first response is decided
    running: bool  # the resolution clock runs (not paused, resolved or closed)
    resolved: bool  # the resolution is decided (until a reopen)
    holder: str | None  # the assignee: whom a target met or breached now is charged to


@dataclass(frozen=True)
class ClockOutcome:
    """Where one SLA clock stood at the last commit: what reports read, without a config.

    `due_at` is the instant the target is used up: still ahead, or passed (a breach). Met or
    missed is decided from it and the instant of the answer or resolution, on the plan's
    calendar — never from whether a breach alert happened to fire.
    """

    target_s: int  # the target in force, in the calendar's working seconds
    used_s: int  # working time counted: at the decision, or at `as_of` while undecided
    due_at: datetime | None  # None: the clock is stopped and nothing is due
    decided_at: datetime | None  # the answer or the resolution
    met: bool | None  # None while undecided
    holder: str | None  # who held the ticket when it was met or breached (or holds it now)
    as_of: datetime


@dataclass
class SlaRecord:
    """The marks of a ticket's SLA life and its clocks' outcomes as of the last commit.

    `banked_s` is resolution time used before the first mark: a ticket stored before marks
    were kept (`legacy`) starts its record from the clock state it had.
    """

    marks: list[SlaMark] = field(default_factory=list)
    banked_s: int = 0
    outcomes: dict[str, ClockOutcome] = field(default_factory=dict)
    legacy: bool = False


@dataclass
class Ticket:
    id: int
    status: Status
    priority: Priority
    priority_reason: str
    kind: Kind
    language: str
    subject: str
    customer: str  # sender identity: channel:user_id
    customer_name: str
    org_id: str | None
    plan: str
    customer_tz: str
    conversation: ConversationRef
    created_at: datetime
    updated_at: datetime
    assignee: str | None = None
    tier: str = "l1"
    escalation_level: int = 0
    assigned_at: datetime | None = None
    pickup_at: datetime | None = None  # queued: when a local engineer is expected to pick it up
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    last_customer_at: datetime | None = None
    last_update_at: datetime | None = None  # last message the customer got from the desk
    last_customer_message: str | None = None  # platform id, so replies can quote it
    clock: ClockState = field(default_factory=ClockState)
    rating: int | None = None
    sla: SlaRecord = field(default_factory=SlaRecord)
    # The row it was read from (None: a new ticket). A commit writes only the columns that
    # differ from it: SQLite then updates only the indexes and fires only the triggers
    # that name them — a tenth of the cost of re-writing the whole row.
    stored: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def display_id(self) -> str:
        return format_ticket_id(self.id)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class Message:
    ticket_id: int
    direction: Direction
    author: str
    text: str
    at: datetime
    attachments: tuple[Attachment, ...] = ()
    channel: str | None = None
    chat_id: str | None = None
    platform_id: str | None = None
    album: str | None = None
    edited_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class Event:
    ticket_id: int
    type: EventType
    actor: str  # an engineer id, a customer identity, or "desk"
    at: datetime
    reason: str
    data: dict[str, object] = field(default_factory=dict)


TICKET_PREFIX = "T-"


def format_ticket_id(number: int) -> str:
    return f"{TICKET_PREFIX}{number}"


def parse_ticket_id(text: str) -> int | None:
    """'T-1042', 't1042', '#1042' and '1042' all name ticket 1042."""
    cleaned = text.strip().lstrip("#").upper()
    if cleaned.startswith("T"):
        cleaned = cleaned[1:].lstrip("-")
    return int(cleaned) if cleaned.isdigit() and len(cleaned) < 12 else None
