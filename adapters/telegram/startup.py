"""What must hold before the bot takes traffic: its command menus, and a staff group it can
actually work in.

A staff group that is not a forum, or where the bot may not create topics, would fail on
the first ticket — at night, in the dispatcher's log. Checked at start-up instead, with
an error that says which setting to change.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    ChatMemberAdministrator,
    User,
)

from bot.commands import menu
from bot.config import ConfigError

log = logging.getLogger("dutydesk.telegram")

# The languages the customer menu is published in; other clients see the default (English).
MENU_LANGUAGES = ("en", "ru", "uk", "pl", "da")
DEFAULT_MENU_LANGUAGE = "en"
STAFF_MENU_LANGUAGE = "en"


class TelegramSetupError(ConfigError):
    """Telegram is set up differently from what the configuration says; the message names
    the key and the fix."""


def _menu(audience: str, language: str) -> list[BotCommand]:
    return [BotCommand(command=c, description=d) for c, d in menu(audience, language)]


async def publish_menus(bot: Bot, staff_chat_id: int | None) -> None:
    """Customers see their commands in their language; the staff group sees the staff's.

    A menu is a convenience — every command works typed — so a failure to publish one is
    logged, not a reason to stay down.
    """
    try:
        await bot.set_my_commands(_menu("customer", DEFAULT_MENU_LANGUAGE), scope=BotCommandScopeDefault())
        for language in MENU_LANGUAGES:
            await bot.set_my_commands(
                _menu("customer", language), scope=BotCommandScopeAllPrivateChats(), language_code=language,
            )
        if staff_chat_id is not None:
            scope = BotCommandScopeChat(chat_id=staff_chat_id)
            await bot.set_my_commands(_menu("staff", STAFF_MENU_LANGUAGE), scope=scope)
    except TelegramAPIError as exc:
        log.warning("could not publish the command menus (%s); commands still work when typed", exc)


async def check_staff_group(bot: Bot, me: User, chat_id: int) -> None:
    """Refuses to start on a group that is set up wrongly. A check Telegram cannot answer
    right now (a 5xx, a Bot API server without the method) proves nothing either way: the
    desk starts, and says so."""
    key = f"telegram.staff_chat_id {chat_id}"
    try:
        chat = await bot.get_chat(chat_id)
        member = await bot.get_chat_member(chat_id, me.id)
    except (TelegramBadRequest, TelegramForbiddenError) as exc:
        raise TelegramSetupError(
            f"{key}: Telegram says \u201c{exc.message}\u201d — add @{me.username} to the staff group, and check the id "
            "(a supergroup's id starts with -100; docs/telegram.md shows how to find it)"
        ) from exc
    except TelegramAPIError as exc:
        log.warning("%s: could not check the staff group (%s); starting without the check", key, exc)
        return
    if not chat.is_forum:
        raise TelegramSetupError(
            f"{key}: \u201c{chat.title}\u201d is not a forum — open the group's settings → Topics and turn them on "
            "(a basic group becomes a supergroup with a new id: put that id in the config)"
        )
    if not isinstance(member, ChatMemberAdministrator):
        raise TelegramSetupError(
            f"{key}: the bot is not an administrator with 'Manage topics' — open the group's settings → "
            f"Administrators → add @{me.username} with Manage topics"
        )
    if not member.can_manage_topics:
        raise TelegramSetupError(
            f"{key}: the bot is an administrator without 'Manage topics' — open the group's settings → "
            f"Administrators → @{me.username} → turn on Manage topics"
        )
