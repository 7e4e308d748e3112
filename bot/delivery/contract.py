"""What the desk sends, and the contract every channel adapter fulfils to deliver it.

The desk writes outbound messages into the outbox in the same transaction as the change
that caused them; the dispatcher later hands each one to the adapter of its channel. An
adapter only translates an `Outbound` into platform calls and reports back with a
`DeliveryResult` or one of the exceptions below — retry policy lives in the dispatcher.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class Audience(StrEnum):
    CUSTOMER = "customer"  # the customer's own conversation
    STAFF_ROOM = "staff_room"  # the staff forum / triage channel, one thread per ticket
    ENGINEER = "engineer"  # a private chat with one engineer or lead


@dataclass(frozen=True)
class Recipient:
    channel: str
    chat_id: str
    audience: Audience
    thread_id: str | None = None
    person: str | None = None  # engineer id for Audience.ENGINEER


@dataclass(frozen=True)
class Button:
    """An inline action. `data` is what the platform returns when it is pressed."""

    action: str  # take | escalate | resolve | snooze | urgent | rate
    ticket_id: int
    label: str
    arg: str = ""

    @property
    def data(self) -> str:
        # Platforms bound button data tightly (64 bytes on one); ids and actions are short ASCII.
        return f"dd:{self.action}:{self.ticket_id}:{self.arg}"


def parse_button_data(data: str) -> tuple[str, int, str] | None:
    """Inverse of `Button.data`; None for data the desk did not make."""
    parts = data.split(":", 3)
    if len(parts) != 4 or parts[0] != "dd" or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2]), parts[3]


@dataclass(frozen=True)
class SourceRef:
    """A platform message that can be copied as-is (media and formatting survive)."""

    channel: str
    chat_id: str
    message_id: str


@dataclass(frozen=True)
class Outbound:
    id: int
    kind: str  # ack | reply | copy | header | ping | reminder | alert | progress | notice
    recipient: Recipient
    text: str
    ticket_id: int | None = None
    title: str | None = None  # a staff thread's name, e.g. "T-1042 · ACME · P1 · ru"
    buttons: tuple[Button, ...] = ()
    copy_of: SourceRef | None = None
    reply_to: str | None = None  # platform message id in the recipient chat to answer
    coalesce: str | None = None  # only the newest pending message with this key is sent
    header_id: str | None = None  # filled by the dispatcher: the staff thread's header message
    attempts: int = 0


@dataclass(frozen=True)
class DeliveryResult:
    message_id: str | None = None
    # The chat the message really landed in, when the platform resolved the recipient to
    # another id (a message "to U123" landing in the direct-message channel D456).
    chat_id: str | None = None
    # Set when delivery created (or re-created) the ticket's staff thread.
    thread_id: str | None = None
    header_id: str | None = None


class RetryLater(Exception):
    """The platform asked us to slow down (HTTP 429): retry the same message after `seconds`."""

    def __init__(self, seconds: float, detail: str = "") -> None:
        super().__init__(detail or f"retry after {seconds:g}s")
        self.seconds = seconds


class Undeliverable(Exception):
    """Retrying cannot help (the user blocked the bot, the chat is gone)."""


class ChatMoved(Exception):
    """The chat got a new id (a Telegram group upgraded to a supergroup)."""

    def __init__(self, new_chat_id: str) -> None:
        super().__init__(f"chat moved to {new_chat_id}")
        self.new_chat_id = new_chat_id


@dataclass(frozen=True)
class Lane:
    """A stream of messages that must keep its order and share a pace (one chat, usually)."""

    key: str
    per_second: float = 1.0
    per_minute: int | None = None


# Waits for the next send slot of the message's lane. A channel that needs several platform
# calls for one message (a text over the platform's length limit) awaits it before each call
# after the first, so the parts keep the pace the limits demand instead of bouncing off them.
Pace = Callable[[], Awaitable[None]]


async def no_pace() -> None:
    """For a single call, or where nothing limits the pace."""


class Channel(Protocol):
    """What the dispatcher needs from an adapter."""

    name: str
    per_second: float  # the platform's overall send rate for this bot

    def lane(self, recipient: Recipient) -> Lane: ...

    async def deliver(self, message: Outbound, pace: Pace = no_pace) -> DeliveryResult: ...


class Adapter(Channel, Protocol):
    """A channel the composition root runs: it delivers, and it feeds the desk."""

    async def start(self, desk: Any, http: Any) -> None:
        """Connect to the platform; register HTTP routes (webhooks) on `http` if needed.

        `desk` is a `bot.core.desk.Desk` and `http` a `bot.app.http.HttpServer`; typed loosely here
        because this module is imported by both.
        """
        ...

    async def stop(self) -> None: ...
