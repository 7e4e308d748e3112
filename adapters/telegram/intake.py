"""Getting updates in, at least once: a long-polling loop and a webhook route.

aiogram's own polling confirms an update as soon as it is read and swallows handler
errors (`Dispatcher._process_update` logs and returns), so an update whose handling failed
— the database was down — would be lost. Here an update is confirmed (polling: the offset
moves past it; webhook: HTTP 200) only after the desk committed it; a failure means the
same update again, after a pause. Redeliveries are harmless: the desk de-duplicates by
chat and message id and by command and callback keys.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot, Dispatcher
from aiogram.methods import GetUpdates
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

log = logging.getLogger("dutydesk.telegram.intake")

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Backoff:
    """Doubling pauses between failed attempts, capped, reset by a success."""

    def __init__(self, first: float, cap: float) -> None:
        self._first = first
        self._cap = cap
        self._next = first

    async def pause(self) -> None:
        delay = self._next
        self._next = min(self._next * 2, self._cap)
        await asyncio.sleep(delay)

    def reset(self) -> None:
        self._next = self._first


class Polling:
    def __init__(self, bot: Bot, dispatcher: Dispatcher, timeout: int, backoff: Backoff) -> None:
        self._bot = bot
        self._dispatcher = dispatcher
        self._timeout = timeout
        self._backoff = backoff

    async def run(self) -> None:
        offset: int | None = None
        # The HTTP request must outlive the long poll it carries.
        request_timeout = int(self._bot.session.timeout + self._timeout)
        while True:
            request = GetUpdates(offset=offset, timeout=self._timeout, allowed_updates=ALLOWED_UPDATES)
            try:
                updates = await self._bot(request, request_timeout=request_timeout)
            except Exception as exc:
                log.error("getUpdates failed (%s: %s); trying again", type(exc).__name__, exc)
                await self._backoff.pause()
                continue
            self._backoff.reset()
            if updates:
                await self._handle_all(updates)
                offset = updates[-1].update_id + 1

    async def _handle_all(self, updates: list[Update]) -> None:
        """A chat's updates in their order; different chats side by side, so a burst reaches
        the desk together and is committed together. The offset moves past the batch only
        when every update of it is handled."""
        by_chat: dict[int | None, list[Update]] = {}
        for update in updates:
            by_chat.setdefault(_chat_of(update), []).append(update)
        await asyncio.gather(*(self._handle_in_order(chat) for chat in by_chat.values()))

    async def _handle_in_order(self, updates: list[Update]) -> None:
        for update in updates:
            await self._handle(update)

    async def _handle(self, update: Update) -> None:
        """Until the desk has it: skipping an update would lose a customer's message."""
        while True:
            try:
                await self._dispatcher.feed_update(self._bot, update)
            except Exception:
                log.exception("update %s failed; it will be handled again", update.update_id)
                await self._backoff.pause()
                continue
            self._backoff.reset()
            return


def _chat_of(update: Update) -> int | None:
    message = update.message or update.edited_message
    if message is not None:
        return message.chat.id
    query = update.callback_query
    if query is not None:
        return query.message.chat.id if query.message is not None else query.from_user.id
    return None


def webhook_handler(
    bot: Bot, dispatcher: Dispatcher, secret: str, running: Callable[[], bool],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route Telegram POSTs updates to. It answers only after the desk committed the
    update, and with 500 if that failed, so Telegram delivers it again."""

    async def handle(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), secret.encode()):
            return web.Response(status=401)
        if not running():
            return web.Response(status=503)  # shutting down: Telegram keeps it and retries
        try:
            update = Update.model_validate(await request.json(), context={"bot": bot})
        except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as exc:
            # Not an update; a redelivery would be just as unreadable, so accept and forget it.
            log.warning("ignored an unreadable webhook request: %s", exc)
            return web.Response()
        try:
            await dispatcher.feed_update(bot, update)
        except Exception:
            log.exception("update %s failed; Telegram will deliver it again", update.update_id)
            return web.Response(status=500)
        return web.Response()

    return handle
