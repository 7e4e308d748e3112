"""aiogram wiring: which Telegram events reach the desk, and as what.

The router only filters and translates; every decision (which ticket, who may press what,
what to answer) is the desk's. Handlers await the desk and let its failures propagate, so
the intake (polling loop or webhook) can retry the update instead of losing it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, ReplyParameters, User

from adapters.telegram import startup, translate
from adapters.telegram.config import NAME
from bot.core.desk import Desk
from bot.i18n.texts import customer_key

log = logging.getLogger("dutydesk.telegram")

NOTE_COMMAND = "note"  # in the staff group an internal note, not a command
# Who writes anonymously cannot be told apart from other admins, so cannot be answered.
ANONYMOUS_HINT = customer_key("anonymous_hint")


class DeskCommand(Filter):
    """A `/command` for this bot; hands the handler its desk spelling as `command`.

    In the staff group `/note …` is a message like any other: the desk keeps it as an
    internal note of the topic's ticket.
    """

    def __init__(self, staff_chat_id: int | None) -> None:
        self._staff_chat_id = staff_chat_id

    async def __call__(self, message: Message, me: User) -> bool | dict[str, Any]:
        text = translate.command_text(message.text, me.username)
        if text is None:
            return False
        if message.chat.id == self._staff_chat_id and text.split(" ", 1)[0] == NOTE_COMMAND:
            return False
        return {"command": text}


class AddressedToBot(Filter):
    """In a customer group only what mentions the bot or replies to it is a request;
    the rest is the customers' own conversation."""

    async def __call__(self, message: Message, me: User) -> bool:
        return translate.mentions(message, me.username) or translate.replies_to(message, me.id)


def build_router(staff_chat_id: int | None) -> Router:
    """A fresh router per channel: an aiogram router can belong to one dispatcher only."""
    router = Router(name="dutydesk-telegram")
    router.message.register(chat_moved, F.migrate_to_chat_id)
    router.message.register(commanded, DeskCommand(staff_chat_id))
    router.message.register(wrote, F.chat.type == "private")
    if staff_chat_id is not None:
        router.message.register(wrote, F.chat.id == staff_chat_id)
    router.message.register(wrote, F.chat.type.in_({"group", "supergroup"}), AddressedToBot())
    router.edited_message.register(edited_message)
    router.callback_query.register(pressed)
    return router


async def chat_moved(message: Message, desk: Desk) -> None:
    await desk.chat_moved(NAME, str(message.chat.id), str(message.migrate_to_chat_id))


async def commanded(message: Message, desk: Desk, command: str, bot: Bot, staff_chat_id: int | None) -> None:
    """The desk answers through the outbox (`reply_in_chat`), paced like everything else.
    A staff member's Start opens the private chat their own command menu needs."""
    request = translate.command_request(message, command)
    if request is None:
        await _nobody(bot, message, desk)
        return
    await desk.command(request)
    if command.split(" ", 1)[0] == "start" and request.private:
        user = request.sender.identity.partition(":")[2]
        person = next((p for p in desk.menus(NAME).people if p.user == user), None)
        if person is not None:
            await startup.publish_personal_menu(bot, staff_chat_id, person)


async def wrote(message: Message, desk: Desk, me: User, bot: Bot) -> None:
    inbound = translate.inbound(message, me.username, desk.clock.now())
    if inbound is None:
        await _nobody(bot, message, desk)
        return
    receipt = await desk.receive(inbound)
    if receipt.reply:
        await _answer(bot, message, receipt.reply)


async def edited_message(message: Message, desk: Desk, me: User) -> None:
    change = translate.edited(message, me.username, desk.clock.now())
    if change is not None:
        await desk.edit(change)


async def pressed(query: CallbackQuery, desk: Desk) -> None:
    press = translate.press(query)
    if press is None:
        await _settle(query.answer())
        return
    reply = await desk.press(press)
    await _settle(query.answer(text=reply.text[:200], show_alert=not reply.ok))


async def _nobody(bot: Bot, message: Message, desk: Desk) -> None:
    """A message with no person behind it: said so, under it, instead of dropped unseen."""
    log.info("chat %s: message %s has no person behind it (anonymous admin or channel post); not taken",
             message.chat.id, message.message_id)
    await _answer(bot, message, desk.notice(ANONYMOUS_HINT, translate.conversation_of(message)))


async def _answer(bot: Bot, message: Message, text: str) -> None:
    """The desk's immediate word to the sender (a hint, a refusal), under their message."""
    thread = translate.conversation_of(message).thread_id
    await _settle(bot.send_message(
        chat_id=message.chat.id, text=text, message_thread_id=int(thread) if thread else None,
        reply_parameters=ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True),
    ))


async def _settle(call: Awaitable[Any]) -> None:
    """Courtesy calls after the desk has committed. If Telegram refuses one (a callback
    answered too late after a restart), retrying the update would only repeat the refusal."""
    try:
        await call
    except TelegramAPIError as exc:
        log.warning("Telegram refused a courtesy call: %s", exc)
