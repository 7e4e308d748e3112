"""One unit of work: the changes a single decision makes, gathered, then committed at once.

Handlers change `Ticket` objects and call `log`, `send`, `add_message`; `changeset()` then
turns all of it — including every timer the touched tickets should now have — into one
`ChangeSet`, which storage commits in one transaction together with its outbox rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.domain import ConversationRef, Event, EventType, Message, Status, Ticket
from bot.core.records import changed_columns, event_to_row, message_to_row, outbound_to_row, ticket_to_row
from bot.core.written import Schedule, WrittenTimers
from bot.delivery.contract import Audience, Outbound
from bot.sla.clocks import BREACH, Deadline, Run, SlaBook
from storage.base import ChangeSet, Row

PICKUP = "pickup"  # a queued ticket is routed again when its local shift starts
AUTOCLOSE = "autoclose"  # a resolved ticket the customer did not answer closes by itself
SNOOZE = "snooze"  # an engineer asked to be reminded later


class Work:
    def __init__(self, now: datetime, sla: SlaBook, reopen_within: timedelta,
                 written: WrittenTimers | None = None) -> None:
        self.now = now
        self._sla = sla
        self._reopen_within = reopen_within
        self._written = written or WrittenTimers()
        self._schedules: list[tuple[Ticket, Schedule]] = []  # each ticket's, for `remember`
        self._changes = ChangeSet()
        self._tickets: dict[int, Ticket] = {}
        self._wakes: list[datetime] = []
        self._told: set[int] = set()  # tickets whose customer gets a message from this unit of work

    def touch(self, ticket: Ticket) -> None:
        """Mark a ticket changed: it is saved, and its timers recomputed, at commit."""
        ticket.updated_at = self.now
        self._tickets[ticket.id] = ticket

    def log(self, ticket: Ticket, type_: EventType, actor: str, reason: str, **data: object) -> None:
        self.touch(ticket)
        self._changes.events.append(event_to_row(Event(ticket.id, type_, actor, self.now, reason, dict(data))))

    def add_message(self, message: Message) -> None:
        self._changes.messages.append(message_to_row(message))

    def send(self, *messages: Outbound | None) -> None:
        for message in messages:
            if message is None:
                continue
            self._changes.outbox.append(outbound_to_row(message, self.now))
            if message.recipient.audience == Audience.CUSTOMER and message.ticket_id is not None:
                self._told.add(message.ticket_id)

    def take_key(self, key: str, ticket_id: int | None) -> None:
        self._changes.keys.append({"key": key, "ticket_id": ticket_id, "at": self.now})

    def ref(self, channel: str, chat_id: str, message_id: str, ticket_id: int) -> None:
        self._changes.refs.append(
            {"channel": channel, "chat_id": chat_id, "message_id": message_id, "ticket_id": ticket_id}
        )

    def fired(self, deadline_id: int) -> None:
        self._changes.fired.append((deadline_id, self.now))

    def snooze(self, ticket: Ticket, until: datetime) -> None:
        self._set_timers(ticket.id, SNOOZE, [Deadline(SNOOZE, BREACH, until, until)])

    def override(self, row: dict[str, object]) -> None:
        self._changes.overrides.append(row)

    def mark_fresh(self, conversation: ConversationRef, on: bool) -> None:
        """On: the conversation's next message opens a new ticket (/new). Off: used up."""
        self._changes.fresh.append(
            {"channel": conversation.channel, "chat_id": conversation.chat_id,
             "thread_id": conversation.thread_id, "at": self.now if on else None}
        )

    def set_aside(self, row: dict[str, object]) -> None:
        """An update intake could not take, kept in the dead-letter table."""
        self._changes.dead_letters.append(row)

    def hinted(self, conversation: ConversationRef) -> None:
        """The conversation was just told what the desk can read."""
        self._changes.hints.append(
            {"channel": conversation.channel, "chat_id": conversation.chat_id,
             "thread_id": conversation.thread_id, "at": self.now}
        )

    def login_link(self, row: dict[str, object]) -> None:
        """A one-time dashboard link (its token hashed), committed with the reply carrying it."""
        self._changes.login_links.append(row)

    @property
    def sends(self) -> bool:
        return bool(self._changes.outbox)

    @property
    def earliest_wake(self) -> datetime | None:
        return min(self._wakes, default=None)

    @property
    def committed(self) -> ChangeSet:
        """What the unit of work wrote, for listeners called after its commit (the
        simulator reads who was told what, and how each ticket stands, from it)."""
        return self._changes

    def changeset(self) -> ChangeSet:
        for ticket in self._tickets.values():
            if ticket.id in self._told:
                ticket.last_update_at = self.now  # the progress-update clock starts again
            runs = self._sla.record(ticket, self.now)
            row = ticket_to_row(ticket)
            self._changes.tickets.append(row)
            if ticket.stored is not None:
                self._changes.changed[ticket.id] = changed_columns(row, ticket.stored)
            schedule = {clock: self._rows(ticket.id, found) for clock, found in self.timers(ticket, runs).items()}
            for clock, rows in schedule.items():
                if not self._written.unchanged(ticket, clock, rows):
                    self._changes.deadlines[(ticket.id, clock)] = rows
            self._schedules.append((ticket, schedule))
        return self._changes

    def remember(self) -> None:
        """After the commit: the timers it left in the store (`bot/core/written.py`)."""
        for ticket, schedule in self._schedules:
            self._written.remember(ticket, schedule)

    def timers(self, ticket: Ticket, runs: dict[str, Run]) -> dict[str, list[Deadline]]:
        """Every timer a ticket in this state should have: the SLA clocks, and its lifecycle."""
        found = self._sla.schedule(ticket, self.now, runs)
        pickup = ticket.pickup_at if ticket.is_open else None
        found[PICKUP] = [] if pickup is None else [Deadline(PICKUP, BREACH, pickup, pickup)]
        closes = (
            ticket.resolved_at + self._reopen_within
            if ticket.status == Status.RESOLVED and ticket.resolved_at else None
        )
        found[AUTOCLOSE] = [] if closes is None else [Deadline(AUTOCLOSE, BREACH, closes, closes)]
        return found

    def _set_timers(self, ticket_id: int, clock: str, deadlines: list[Deadline]) -> None:
        self._changes.deadlines[(ticket_id, clock)] = self._rows(ticket_id, deadlines)

    def _rows(self, ticket_id: int, deadlines: list[Deadline]) -> list[Row]:
        """A clock's deadline rows; each one's due time is a wake for the scheduler."""
        self._wakes.extend(d.due_at for d in deadlines)
        return [
            {"ticket_id": ticket_id, "clock": d.clock, "stage": d.stage, "target_at": d.target_at,
             "due_at": d.due_at}
            for d in deadlines
        ]
