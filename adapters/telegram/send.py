"""The desk's `Outbound` → Bot API calls, and Telegram's errors → the dispatcher's.

Plain text only (no parse_mode): the desk's texts and customers' words go out exactly as
written, with nothing to escape and no "can't parse entities" failures. Retry policy is
the dispatcher's; this module only says which failures a retry can cure.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters

from adapters.telegram.config import NAME
from bot.delivery.contract import (
    Audience,
    Button,
    ChatMoved,
    DeliveryResult,
    Outbound,
    Pace,
    RetryLater,
    SourceRef,
    Undeliverable,
    no_pace,
)
from bot.delivery.render import split_text

log = logging.getLogger("dutydesk.telegram.send")

TEXT_LIMIT = 4096
TOPIC_NAME_LIMIT = 128
# Rating buttons ("1".."5") fit on one row; words wrap on phones beyond three a row.
SHORT_LABEL = 3
ROW_OF_SHORT, ROW_OF_WORDS = 5, 3

# The staff topic was deleted: sends say the first, topic calls the others.
_TOPIC_GONE = ("message thread not found", "TOPIC_ID_INVALID", "TOPIC_DELETED")
# The message to copy is gone or cannot be copied: its text is sent instead.
_SOURCE_GONE = ("message to copy not found", "message can't be copied")
# The original's caption is longer than a bot may send (Telegram Premium users may write
# longer ones): the media is copied without it, and the text, caption included, follows.
_TOO_LONG = ("caption is too long", "MEDIA_CAPTION_TOO_LONG", "message is too long")
_UNCHANGED = ("message is not modified", "TOPIC_NOT_MODIFIED")


def _said(exc: TelegramBadRequest, phrases: tuple[str, ...]) -> bool:
    return any(phrase.lower() in exc.message.lower() for phrase in phrases)


def keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    width = ROW_OF_SHORT if all(len(b.label) <= SHORT_LABEL for b in buttons) else ROW_OF_WORDS
    keys = [InlineKeyboardButton(text=b.label, callback_data=b.data) for b in buttons]
    return InlineKeyboardMarkup(inline_keyboard=[keys[i : i + width] for i in range(0, len(keys), width)])


def _number(value: str | None, what: str) -> int | None:
    """Ids in the outbox are strings; Telegram's are integers. A malformed one can never be
    delivered, so it is not worth a retry."""
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Undeliverable(f"not a Telegram {what}: {value!r}") from None


def _required(value: str | None, what: str) -> int:
    number = _number(value, what)
    if number is None:
        raise Undeliverable(f"no Telegram {what}")
    return number


class TelegramSender:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        # Topics created for a ticket whose first message then failed (a 429, a network
        # error): its retry goes into the same topic instead of opening another one.
        self._opened: dict[tuple[int, int | None], int] = {}
        # Parts of a long text already sent, by outbox id: a retry after a 429 on part two
        # sends from part two, so the customer never reads part one twice.
        self._parts_sent: dict[int, int] = {}

    async def deliver(self, message: Outbound, pace: Pace = no_pace) -> DeliveryResult:
        """A 400 or 403 is about the request itself and would be answered the same way
        again, so it is `Undeliverable`; network errors and 5xx propagate to be retried."""
        try:
            if message.recipient.audience == Audience.STAFF_ROOM:
                return await self._to_staff_room(message, pace)
            rcpt = message.recipient
            thread = _number(rcpt.thread_id, "thread id")
            chat = _required(rcpt.chat_id, "chat id")
            return DeliveryResult(message_id=await self._post(message, chat, thread, pace))
        except TelegramRetryAfter as exc:
            raise RetryLater(exc.retry_after, exc.message) from exc
        except TelegramMigrateToChat as exc:
            self._parts_sent.pop(message.id, None)  # the retry goes to the new chat, whole
            raise ChatMoved(str(exc.migrate_to_chat_id)) from exc
        except TelegramForbiddenError as exc:
            self._parts_sent.pop(message.id, None)
            raise Undeliverable(_refusal(message, exc)) from exc
        except TelegramBadRequest as exc:
            self._parts_sent.pop(message.id, None)
            raise Undeliverable(f"Telegram rejected it: {exc.message}") from exc

    # -- one message into one chat --------------------------------------------------------------

    async def _post(self, message: Outbound, chat: int, thread: int | None, pace: Pace) -> str:
        """Copy the platform original when there is one (media and formatting survive),
        else send the text, split at Telegram's limit; returns the last message's id.
        A retry after a refused part goes on from that part, never copying again."""
        markup = keyboard(message.buttons)
        reply_to = _number(message.reply_to, "message id")
        reply = None if reply_to is None else ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        source = message.copy_of
        if source is not None and source.channel == NAME and message.id not in self._parts_sent:
            try:
                return await self._copy(source, chat, thread, markup, reply)
            except TelegramBadRequest as exc:
                if _said(exc, _TOO_LONG):
                    log.info("outbox %s: the original is too long to copy whole (%s); its media, then its text "
                             "in parts", message.id, exc.message)
                    # copyMessages can leave the caption out (aiogram drops an empty caption).
                    await self._bot.copy_messages(
                        chat_id=chat, from_chat_id=_required(source.chat_id, "chat id"),
                        message_ids=[_required(source.message_id, "message id")], message_thread_id=thread,
                        remove_caption=True,
                    )
                    self._parts_sent[message.id] = 0  # the media is there: parts from the first
                    await pace()
                elif _said(exc, _SOURCE_GONE):
                    log.info("outbox %s: the original cannot be copied (%s); sending its text", message.id,
                             exc.message)
                else:
                    raise
        parts = split_text(message.text, TEXT_LIMIT)
        done = self._parts_sent.get(message.id, 0)
        sent_id = 0
        for index in range(done, len(parts)):
            if index > done:
                await pace()
            sent = await self._bot.send_message(
                chat_id=chat, text=parts[index], message_thread_id=thread,
                reply_markup=markup if index == len(parts) - 1 else None,
                reply_parameters=reply if index == 0 else None,
            )
            sent_id = sent.message_id
            self._parts_sent[message.id] = index + 1
        del self._parts_sent[message.id]
        return str(sent_id)

    async def _copy(
        self, source: SourceRef, chat: int, thread: int | None, markup: InlineKeyboardMarkup | None,
        reply: ReplyParameters | None,
    ) -> str:
        copied = await self._bot.copy_message(
            chat_id=chat, from_chat_id=_required(source.chat_id, "chat id"),
            message_id=_required(source.message_id, "message id"), message_thread_id=thread,
            reply_markup=markup, reply_parameters=reply,
        )
        return str(copied.message_id)

    # -- the staff forum: one topic per ticket ----------------------------------------------------

    async def _to_staff_room(self, message: Outbound, pace: Pace) -> DeliveryResult:
        """Into the ticket's topic; a ticket without one, or whose topic was deleted, gets a
        new topic — the message is never lost to a missing thread."""
        rcpt = message.recipient
        chat = _required(rcpt.chat_id, "chat id")
        thread = _number(rcpt.thread_id, "thread id")
        if thread is not None:
            try:
                return await self._into_topic(message, chat, thread, pace)
            except TelegramBadRequest as exc:
                if not _said(exc, _TOPIC_GONE):
                    raise
                log.warning("ticket %s: its topic %s in %s is gone (%s); opening a new one",
                            message.ticket_id, thread, chat, exc.message)
        key = (chat, message.ticket_id)
        topic = self._opened.get(key)
        if topic is None:
            name = (message.title or message.text).strip()[:TOPIC_NAME_LIMIT] or f"#{message.ticket_id}"
            topic = self._opened[key] = (await self._bot.create_forum_topic(chat_id=chat, name=name)).message_thread_id
        # A new topic has no header yet: post one rather than edit the old topic's.
        result = await self._into_topic(replace(message, header_id=None), chat, topic, pace, fresh=True)
        del self._opened[key]
        return replace(result, thread_id=str(topic))

    async def _into_topic(
        self, message: Outbound, chat: int, thread: int, pace: Pace, *, fresh: bool = False,
    ) -> DeliveryResult:
        if message.kind != "header":
            return DeliveryResult(message_id=await self._post(message, chat, thread, pace))
        if not fresh and message.title:
            await self._rename(chat, thread, message.title)
        header = _number(message.header_id, "message id")
        if header is not None and await self._edit_header(message, chat, header):
            return DeliveryResult(message_id=str(header))
        posted = await self._post(message, chat, thread, pace)
        return DeliveryResult(message_id=posted, header_id=posted)

    async def _rename(self, chat: int, thread: int, title: str) -> None:
        """The topic's name carries the priority; failing to rename it is not worth
        losing the header update for — unless the topic itself is gone."""
        try:
            await self._bot.edit_forum_topic(chat_id=chat, message_thread_id=thread, name=title[:TOPIC_NAME_LIMIT])
        except TelegramBadRequest as exc:
            if _said(exc, _TOPIC_GONE):
                raise
            if not _said(exc, _UNCHANGED):
                log.warning("cannot rename topic %s in %s: %s", thread, chat, exc.message)

    async def _edit_header(self, message: Outbound, chat: int, header: int) -> bool:
        """False when the header message is gone (deleted by someone), so a new one is posted."""
        try:
            await self._bot.edit_message_text(
                text=message.text[:TEXT_LIMIT], chat_id=chat, message_id=header,
                reply_markup=keyboard(message.buttons),
            )
        except TelegramBadRequest as exc:
            if _said(exc, _UNCHANGED):
                return True
            if _said(exc, ("message to edit not found",)):
                return False
            raise
        return True


def _refusal(message: Outbound, exc: TelegramForbiddenError) -> str:
    if "blocked" in exc.message.lower():
        who = "customer" if message.recipient.audience == Audience.CUSTOMER else "recipient"
        return f"the {who} blocked the bot"
    return f"Telegram refused: {exc.message}"
