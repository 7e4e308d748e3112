"""The local channel: an in-process messenger for the demo and the tests.

It behaves like a platform — chats, message ids, threads in a staff room — without a
network, so the whole desk (intake, routing, outbox, dispatcher) runs for real. People
"write" through `say`; what the desk sends lands in `sent`, in delivery order.

It is also the template for a new channel: a section model (`LocalConfig`), an adapter
(`LocalChannel`, on `ChannelBase`) and the one `CHANNEL` descriptor the registry lists.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from bot.app.fields import ChannelSettings
from bot.app.http import HttpServer
from bot.commands.types import CommandRequest, Press, Reply
from bot.core.desk import Desk
from bot.core.domain import Attachment, ConversationRef, Inbound, Priority, Sender
from bot.delivery.channel import ChannelBase
from bot.delivery.contract import Audience, DeliveryResult, Lane, Outbound, Pace, Recipient
from bot.delivery.descriptor import ChannelDescriptor
from bot.flows.customer import Receipt

NAME = "local"


class LocalConfig(ChannelSettings):
    """`[local]`: on, and which chat is the staff room (each ticket a thread in it)."""

    staff_room: str | None = None


@dataclass(frozen=True)
class Delivered:
    message: Outbound
    message_id: str
    thread_id: str | None


class LocalChannel(ChannelBase):
    name = NAME
    per_second = float("inf")  # no platform limits to respect

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Delivered] = []
        self.listeners: list[Callable[[Delivered], None]] = []
        self._desk: Desk | None = None
        self._ids = itertools.count(1)
        self._threads = itertools.count(1)
        self._faults: dict[str, list[Exception]] = {}

    async def _connect(self, desk: Desk, http: HttpServer | None) -> None:
        self._desk = desk
        self.running = True

    async def _disconnect(self) -> None:
        self._desk = None

    # -- the platform side: what the desk sends -----------------------------------------------

    def lane(self, recipient: Recipient) -> Lane:
        return Lane(f"{NAME}:{recipient.chat_id}:{recipient.thread_id or ''}", per_second=float("inf"))

    def fail_next(self, chat_id: str, *errors: Exception) -> None:
        """Make the next deliveries to a chat raise these, in order: a flaky network on demand."""
        self._faults.setdefault(chat_id, []).extend(errors)

    async def _send(self, message: Outbound, pace: Pace) -> DeliveryResult:
        faults = self._faults.get(message.recipient.chat_id)
        if faults:
            raise faults.pop(0)
        message_id = f"b{next(self._ids)}"
        thread_id = message.recipient.thread_id
        created = None
        if message.recipient.audience == Audience.STAFF_ROOM and thread_id is None:
            thread_id = created = f"thread-{next(self._threads)}"
        delivered = Delivered(message, message_id, thread_id)
        self.sent.append(delivered)
        for listener in self.listeners:
            listener(delivered)
        header = message_id if message.kind == "header" and message.header_id is None else None
        return DeliveryResult(message_id=message_id, thread_id=created, header_id=header)

    def to(self, chat_id: str, thread_id: str | None = None) -> list[Outbound]:
        """What a chat (or one thread of it) received, oldest first."""
        return [
            d.message for d in self.sent
            if d.message.recipient.chat_id == chat_id and (thread_id is None or d.thread_id == thread_id)
        ]

    def thread_of(self, ticket_id: int, chat_id: str) -> str | None:
        for d in self.sent:
            if d.message.ticket_id == ticket_id and d.message.recipient.chat_id == chat_id and d.thread_id:
                return d.thread_id
        return None

    # -- the people side: what users write -------------------------------------------------------

    def _bound(self) -> Desk:
        if self._desk is None:
            raise RuntimeError("the local channel is not bound to a desk")
        return self._desk

    async def say(
        self,
        user: str,
        text: str,
        *,
        chat: str | None = None,
        thread: str | None = None,
        name: str = "",
        language: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        reply_to: str | None = None,
        priority: Priority | None = None,
        message_id: str | None = None,
        new_ticket: bool = False,
        album: str | None = None,
    ) -> Receipt:
        """`user` writes `text` in `chat` (default: their private chat with the bot)."""
        desk = self._bound()
        chat_id = chat or user
        inbound = Inbound(
            conversation=ConversationRef(NAME, chat_id, thread),
            sender=Sender(f"{NAME}:{user}", name, language),
            text=text,
            message_id=message_id or f"u{next(self._ids)}",
            at=desk.clock.now(),
            attachments=attachments,
            reply_to=reply_to,
            private=chat is None,
            album=album,
            priority=priority,
            new_ticket=new_ticket,
        )
        return await desk.receive(inbound)

    async def command(
        self, user: str, text: str, *, chat: str | None = None, thread: str | None = None,
        key: str | None = None, in_chat: bool = False,
    ) -> Reply:
        """`user` types a command (without its slash) in `chat`."""
        return await self._bound().command(CommandRequest(
            sender=Sender(f"{NAME}:{user}"), conversation=ConversationRef(NAME, chat or user, thread),
            text=text, private=chat is None, key=key, reply_in_chat=in_chat,
        ))

    async def press(self, user: str, data: str, *, chat: str | None = None, key: str | None = None) -> Reply:
        """`user` presses a button whose data is `data` under a message in `chat`."""
        pressed = Press(Sender(f"{NAME}:{user}"), ConversationRef(NAME, chat or user), data, key)
        return await self._bound().press(pressed)


CHANNEL = ChannelDescriptor(
    name=NAME,
    settings=LocalConfig,
    build=lambda section: LocalChannel(),
    identity_example=f"{NAME}:ana",
    staff_room=lambda section: section.staff_room,
)
