"""What adapters hand the command layer, and what it answers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.domain import ConversationRef, Sender


@dataclass(frozen=True)
class CommandRequest:
    """A command as typed, without the platform's syntax.

    `text` is the command and its arguments: "reassign T-1042 @maria", "status". Adapters
    strip the slash and any bot mention (`/status@dutydesk_bot` → "status") and, for Slack,
    the slash command's own name (`/desk queue` → "queue").
    """

    sender: Sender
    conversation: ConversationRef
    text: str
    private: bool = True
    key: str | None = None  # the platform's id for this command; a redelivery is ignored
    # Deliver the answer as a message through the outbox (paced, retried) — for platforms
    # where a command's answer is an ordinary chat message. Others answer ephemerally
    # through their own response instead.
    reply_in_chat: bool = False


@dataclass(frozen=True)
class Press:
    """A button pressed under one of the desk's messages; `data` is `Button.data`."""

    sender: Sender
    conversation: ConversationRef
    data: str
    key: str | None = None  # the platform's id for this press; a redelivery is ignored, as a command's


Menu = tuple[tuple[str, str], ...]  # (command, description) pairs, as a platform lists them


@dataclass(frozen=True)
class PersonMenu:
    """One staff member's own menu: their role's commands in their language."""

    user: str  # their user id on the platform
    commands: Menu
    lead: bool


@dataclass(frozen=True)
class Menus:
    """Every command menu a platform shows: customers' per language (None: the default),
    the staff room's, and each staff member's, so that lead commands show to leads only."""

    customer: dict[str | None, Menu]
    staff_room: Menu
    people: tuple[PersonMenu, ...]


@dataclass(frozen=True)
class Reply:
    """One answer to the asker, in their language. `ok` is False for errors."""

    text: str
    ok: bool = True
