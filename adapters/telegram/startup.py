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
    BotCommandScopeChatMember,
    BotCommandScopeDefault,
    ChatMemberAdministrator,
    User,
)

from bot.app.config import ConfigError
from bot.commands.types import Menu, Menus, PersonMenu

log = logging.getLogger("dutydesk.telegram")

class TelegramSetupError(ConfigError):
    """Telegram is set up differently from what the configuration says; the message names
    the key and the fix."""


def _commands(menu: Menu) -> list[BotCommand]:
    return [BotCommand(command=c, description=d) for c, d in menu]


async def publish_menus(bot: Bot, staff_chat_id: int | None, menus: Menus) -> None:
    """Customers see their commands in their language; the staff group the engineers';
    each engineer, in private and in the staff group, their own — lead commands to leads
    only (Telegram shows the most specific scope: a chat member's, a chat's, then all
    private chats', then the default).

    A menu is a convenience — every command works typed — so a failure to publish one is
    logged, not a reason to stay down.
    """
    try:
        for language, menu in menus.customer.items():
            if language is None:
                await bot.set_my_commands(_commands(menu), scope=BotCommandScopeDefault())
            else:
                await bot.set_my_commands(_commands(menu), scope=BotCommandScopeAllPrivateChats(),
                                          language_code=language)
        if staff_chat_id is not None:
            await bot.set_my_commands(_commands(menus.staff_room), scope=BotCommandScopeChat(chat_id=staff_chat_id))
    except TelegramAPIError as exc:
        log.warning("could not publish the command menus (%s); commands still work when typed", exc)
        return
    for person in menus.people:
        await publish_personal_menu(bot, staff_chat_id, person)


async def publish_personal_menu(bot: Bot, staff_chat_id: int | None, person: PersonMenu) -> None:
    """One staff member's menu in their private chat (and a lead's in the staff group).
    Telegram knows no private chat before they press Start: then it is published again."""
    try:
        user = int(person.user)
        await bot.set_my_commands(_commands(person.commands), scope=BotCommandScopeChat(chat_id=user))
        if person.lead and staff_chat_id is not None:
            scope = BotCommandScopeChatMember(chat_id=staff_chat_id, user_id=user)
            await bot.set_my_commands(_commands(person.commands), scope=scope)
    except ValueError:
        log.warning("telegram:%s is not a Telegram user id; no command menu for them", person.user)
    except TelegramBadRequest as exc:
        log.info("no command menu for telegram:%s yet (%s): published when they press Start", person.user, exc.message)
    except TelegramAPIError as exc:
        log.warning("could not publish the command menu of telegram:%s (%s)", person.user, exc)


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
