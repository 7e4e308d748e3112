"""What every storage backend offers the desk: units of work in, rows out.

Storage knows tables and rows, not tickets: the desk maps its domain values to rows
(`bot/core/records.py`), so a backend is only SQL, and SQLite and PostgreSQL share the mapping.
A row is a dict keyed by column name, holding Python values (aware UTC datetimes, ints,
strings, and lists/dicts for JSON columns); each backend encodes them its own way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

Row = dict[str, Any]


class AnotherRunner(Exception):
    """Another desk runs on this database; nothing was changed (no migration ran)."""


class DuplicateKey(Exception):
    """An inbound key was already taken: the platform redelivered something we have."""


class ConflictingWrite(Exception):
    """Another process changed what this change set was decided on; nothing was written.

    Deciding again from fresh reads is the remedy (a platform redelivers an unanswered
    message; the scheduler retries due deadlines). Only possible with several processes on
    one database (see `storage/postgres.py`); every backend checks the same.
    """


@dataclass
class ChangeSet:
    """Everything one decision of the desk changes, committed in one transaction.

    The outbound messages a change causes ride in the same transaction (an outbox), so a
    crash either loses both the change and its messages or keeps both.
    """

    keys: list[Row] = field(default_factory=list)  # inbound keys: key, ticket_id, at
    tickets: list[Row] = field(default_factory=list)  # upserted by id
    # Tickets read from the store: id -> the columns that changed; only these are written.
    changed: dict[int, tuple[str, ...]] = field(default_factory=dict)
    messages: list[Row] = field(default_factory=list)  # inserted, or updated when "id" is set
    events: list[Row] = field(default_factory=list)
    outbox: list[Row] = field(default_factory=list)
    # (ticket id, clock) -> that clock's deadlines; replaces its unfired ones, and a row that
    # already fired with the same stage and target is not inserted again.
    deadlines: dict[tuple[int, str], list[Row]] = field(default_factory=dict)
    fired: list[tuple[int, datetime]] = field(default_factory=list)  # deadline id, when
    refs: list[Row] = field(default_factory=list)
    overrides: list[Row] = field(default_factory=list)
    fresh: list[Row] = field(default_factory=list)  # conversations whose next message opens a new ticket
    # Updates set aside, upserted by (channel, key): attempts add up, the rest is replaced.
    dead_letters: list[Row] = field(default_factory=list)
    hints: list[Row] = field(default_factory=list)  # conversations just told what the desk reads
    login_links: list[Row] = field(default_factory=list)  # the dashboard's one-time links (hashed)

    def __bool__(self) -> bool:
        return any(
            (self.keys, self.tickets, self.messages, self.events, self.outbox, self.deadlines,
             self.fired, self.refs, self.overrides, self.fresh, self.dead_letters, self.hints,
             self.login_links)
        )


@dataclass(frozen=True)
class Booking:
    """A delivered outbox row: sent at `at` as `platform_id`, with the message ref it made
    (replies to it find the ticket) and the staff thread it bound, if any."""

    outbox_id: int
    at: datetime
    platform_id: str | None
    ref: Row | None
    thread: Row | None


@dataclass(frozen=True)
class Probe:
    """What to look up for one inbound message."""

    key: str
    channel: str
    chat_id: str
    thread_id: str | None
    reply_to: str | None
    album: str | None


@dataclass(frozen=True)
class Intake:
    """What the desk must know before deciding about one inbound message — read in one go."""

    seen: bool
    fresh: bool  # the customer asked (/new) for a new ticket in this conversation
    ticket: Row | None
    album_message: Row | None
    loads: dict[str, tuple[int, datetime | None]]
    next_ticket_id: int


@dataclass(frozen=True)
class TicketQuery:
    statuses: tuple[str, ...] = ()
    assignee: str | None = None
    unassigned: bool = False
    customer: str | None = None
    org_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    limit: int = 100


@dataclass(frozen=True)
class Counts:
    """What the database holds now, counted for metrics (one read)."""

    tickets: list[Row]  # plan, priority, status, n: tickets not closed
    targets: list[Row]  # clock, state ('due': pending, 'breached': passed), n: of open tickets
    outbox: list[Row]  # channel, n, created_at (the oldest): pending outbox rows
    dead_letters: list[Row]  # state, n


@dataclass(frozen=True)
class QueueQuery:
    """A page of the dashboard's queue: open tickets, most urgent first, filtered."""

    now: datetime
    plan: str | None = None
    priority: int | None = None
    language: str | None = None
    assignee: str | None = None
    unassigned: bool = False
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class QueuePage:
    rows: list[Row]
    total: int
    overdue: int


class Store(Protocol):
    async def close(self) -> None: ...

    async def intake(self, probes: Sequence[Probe]) -> list[Intake]:
        """What the desk must know to decide about each message, read in one go (one unit
        of work for a whole batch of messages)."""
        ...

    async def commit(self, changes: ChangeSet) -> None: ...

    async def next_ticket_id(self) -> int: ...

    async def loads(self) -> dict[str, tuple[int, datetime | None]]: ...

    async def ticket(self, ticket_id: int) -> Row | None: ...

    async def ticket_by_thread(self, channel: str, chat_id: str, thread_id: str) -> Row | None: ...

    async def ticket_by_ref(self, channel: str, chat_id: str, message_id: str) -> Row | None: ...

    async def open_ticket_for(self, channel: str, chat_id: str, thread_id: str | None) -> Row | None: ...

    async def message_by_ref(self, channel: str, chat_id: str, platform_id: str) -> Row | None: ...

    async def tickets(self, query: TicketQuery) -> list[Row]: ...

    async def messages(self, ticket_id: int) -> list[Row]: ...

    async def events(self, ticket_id: int) -> list[Row]: ...

    async def events_between(self, types: tuple[str, ...], start: datetime, end: datetime) -> list[Row]: ...

    async def latest_events(self, type_: str, start: datetime, end: datetime, limit: int) -> list[Row]:
        """Events of one type in [start, end), newest first, at most `limit`."""
        ...

    async def outbox_rows(self, ticket_id: int | None = None, state: str | None = None) -> list[Row]: ...

    async def pending_outbox(self, after_id: int, limit: int) -> list[Row]: ...

    async def mark_sent(
        self, outbox_id: int, at: datetime, platform_id: str | None, ref: Row | None,
        thread: Row | None,
    ) -> None: ...

    async def mark_sent_many(self, bookings: Sequence[Booking]) -> None:
        """`mark_sent` for each, in order, in one transaction."""
        ...

    async def mark_failed(self, outbox_id: int, at: datetime, error: str) -> None: ...

    async def note_attempt(self, outbox_id: int, error: str) -> None: ...

    async def staff_threads(self, ticket_ids: Sequence[int] | None = None) -> list[Row]: ...

    async def next_due(self) -> datetime | None: ...

    async def due_deadlines(self, now: datetime, limit: int) -> list[Row]: ...

    async def deadlines(self, ticket_id: int) -> list[Row]: ...

    async def open_targets(self, clocks: tuple[str, ...], limit: int) -> list[Row]: ...

    async def claim_runner(self) -> bool:
        """Become the one process that runs the desk on this database (held until `close`);
        False if another holds it. Each running desk delivers the whole outbox, so a second
        one would send every message twice. `open_store(url, runner=True)` claims it before
        migrating; this is for a store opened without (to ask whether a desk is running)."""
        ...

    async def passed_targets(self, clocks: tuple[str, ...], statuses: tuple[str, ...], limit: int) -> list[Row]: ...

    async def overrides(self, ending_after: datetime) -> list[Row]: ...

    async def chat_moved(self, channel: str, old_chat_id: str, new_chat_id: str) -> int: ...

    async def hint_at(self, channel: str, chat_id: str, thread_id: str | None) -> datetime | None:
        """When the conversation was last told what the desk can read (None: never)."""
        ...

    # -- updates set aside (dead letters) ----------------------------------------------------

    async def dead_letter(self, dead_letter_id: int) -> Row | None: ...

    async def dead_letter_for(self, channel: str, key: str) -> Row | None: ...

    async def dead_letters(self, state: str | None = None, limit: int = 100) -> list[Row]:
        """Newest first."""
        ...

    async def dead_letter_counts(self) -> dict[str, int]:
        """How many rows are in each state."""
        ...

    async def mark_dead_letter(
        self, dead_letter_id: int, state: str, at: datetime, only_from: tuple[str, ...] = (),
    ) -> bool:
        """Move a row to `state` (if it is in one of `only_from`, when given); True if it moved."""
        ...

    # -- metrics and erasure -------------------------------------------------------------------

    async def counts(self) -> Counts: ...

    async def expire_texts(self, closed_before: datetime, audit: Row, limit: int = 500) -> list[int]:
        """Erase the message texts and attachments of up to `limit` tickets closed before
        `closed_before` (the ticket rows, deadlines and events stay), logging `audit` (an
        event row without its ticket id) on each; their ids (none: nothing left to do)."""
        ...

    async def erase_customer(self, customer: str, pseudonym: str, audit: Row) -> list[int]:
        """Erase one customer's personal data from every ticket they filed — names, texts,
        chat ids; the ticket becomes `pseudonym`'s — logging `audit` on each; their ids."""
        ...

    # -- the dashboard ---------------------------------------------------------------------------

    async def use_login_link(self, token_hash: str, now: datetime) -> Row | None:
        """The link, marked used — if it exists, is unused and not expired; else None."""
        ...

    async def open_session(self, row: Row) -> None: ...

    async def session(self, token_hash: str, now: datetime) -> Row | None:
        """A session neither ended nor expired at `now`."""
        ...

    async def end_session(self, token_hash: str, now: datetime) -> None: ...

    async def queue_page(self, query: QueueQuery) -> QueuePage: ...

    async def report_days(self, first_day: str, last_day: str) -> dict[str, list[Row]]:
        """The report's roll-up over UTC days `first_day`..`last_day` (YYYY-MM-DD, both
        included) — the tickets created, targets met and missed, ratings given and their sum:
        "totals" per dimension (plan, language, priority, first_by, resolution_by,
        first_spread, resolution_spread, rating) and value; "plan_days" per day and plan."""
        ...
