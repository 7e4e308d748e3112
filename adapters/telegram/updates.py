"""Getting updates in, at least once and never stuck: a long-polling loop and a webhook route.

aiogram's own polling confirms an update as soon as it is read and swallows handler
errors (`Dispatcher._process_update` logs and returns), so an update whose handling failed
— the database was down — would be lost. Here an update is confirmed (polling: the offset
moves past it; webhook: HTTP 200) only after the desk committed it, or after the guard set
it aside (bot/flows/deadletters.py): a few failed attempts, then the dead-letter table, so one
update that always fails cannot hold back the ones after it. Redeliveries are harmless:
the desk de-duplicates by chat and message id and by command and callback keys.

Text reaches the desk scrubbed (bot/core/sanitize.py): the bot's session decodes every Bot API
answer with `scrubbed_loads`, and the webhook its request bodies.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import ClientDecodeError
from aiogram.methods import GetUpdates
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.core.backoff import Backoff
from bot.core.sanitize import scrubbed_loads
from bot.flows.deadletters import Guard, describe

log = logging.getLogger("dutydesk.telegram.intake")

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def raw_update(update: Update) -> dict[str, Any]:
    """An update as Telegram sent it (near enough to read it back with `Update.model_validate`)."""
    return update.model_dump(mode="json", exclude_none=True, by_alias=True)


def update_key(raw: Any, body: bytes = b"") -> str:
    """The dead-letter key of an update: its id, or for something without one a digest."""
    update_id = raw.get("update_id") if isinstance(raw, dict) else None
    if isinstance(update_id, int):
        return str(update_id)
    return "sha1:" + hashlib.sha1(body or repr(raw).encode(), usedforsecurity=False).hexdigest()


class Updates:
    """Feeds one update to the aiogram dispatcher through the channel's guard."""

    def __init__(self, bot: Bot, dispatcher: Dispatcher, guard: Guard) -> None:
        self.bot = bot
        self._dispatcher = dispatcher
        self.guard = guard

    async def take(self, update: Update) -> bool:
        """True when the desk has it, False when it was set aside; raises when neither."""
        return await self.guard.take(
            str(update.update_id), lambda: raw_update(update), lambda: self._dispatcher.feed_update(self.bot, update)
        )

    async def replay(self, raw: Any) -> None:
        """A set-aside update, again (`dutydesk deadletter retry`)."""
        try:
            update = Update.model_validate(raw, context={"bot": self.bot})
        except ValidationError as exc:
            await self.guard.set_aside(update_key(raw), raw, describe(exc))
            return
        await self.take(update)


class Polling:
    def __init__(self, updates: Updates, timeout: int, backoff: Backoff, *, moved: Callable[[], None]) -> None:
        """`moved` is told after every completed round (the readiness check reads it)."""
        self._updates = updates
        self._moved = moved
        self._bot = updates.bot
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
            except ClientDecodeError as exc:
                # One update aiogram cannot read would fail every poll of its batch for ever.
                read = await self._read_one_by_one(exc.data)
                if read is None:
                    log.error("getUpdates answered something unreadable (%s); trying again", exc.message)
                    await self._backoff.pause()
                    continue
                updates, last = read
                offset = last + 1 if last is not None else offset
            except Exception as exc:
                log.error("getUpdates failed (%s: %s); trying again", type(exc).__name__, exc)
                await self._backoff.pause()
                continue
            self._backoff.reset()
            if updates:
                await self._handle_all(updates)
                offset = max(offset or 0, updates[-1].update_id + 1)
            self._moved()

    async def _read_one_by_one(self, data: Any) -> tuple[list[Update], int | None] | None:
        """The readable updates of a batch aiogram refused as a whole, and the last update id;
        the unreadable ones are set aside. None when the answer holds no list of updates."""
        raw = data.get("result") if isinstance(data, dict) and data.get("ok") else None
        if not isinstance(raw, list):
            return None
        readable: list[Update] = []
        last: int | None = None
        for item in raw:
            key = update_key(item)
            if isinstance(item, dict) and isinstance(item.get("update_id"), int):
                last = item["update_id"] if last is None else max(last, item["update_id"])
            try:
                readable.append(Update.model_validate(item, context={"bot": self._bot}))
            except ValidationError as exc:
                log.error("update %s cannot be read (%s); setting it aside", key, exc.error_count())
                await self._set_aside_for_ever(key, item, describe(exc))
        return readable, last

    async def _set_aside_for_ever(self, key: str, item: Any, error: str) -> None:
        while True:
            try:
                await self._updates.guard.set_aside(key, item, error)
                return
            except Exception:
                log.exception("update %s could not be set aside; trying again", key)
                await self._backoff.pause()

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
        """Until the desk has it or it is set aside: skipping it would lose a customer's message."""
        while True:
            try:
                await self._updates.take(update)
            except Exception:
                log.exception("update %s could not be taken nor set aside; it will be handled again",
                              update.update_id)
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
    updates: Updates, secret: str, running: Callable[[], bool],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route Telegram POSTs updates to. It answers once the desk committed the update or
    it was set aside, and 500 if neither could be written, so Telegram delivers it again."""

    async def handle(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), secret.encode()):
            return web.Response(status=401)
        if not running():
            return web.Response(status=503)  # shutting down: Telegram keeps it and retries
        body = await request.read()
        try:
            raw = scrubbed_loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            # Not JSON at all; a redelivery would be just as unreadable, so accept and forget it.
            log.warning("ignored a webhook request that is not JSON: %s", exc)
            return web.Response()
        try:
            try:
                update = Update.model_validate(raw, context={"bot": updates.bot})
            except ValidationError as exc:
                log.error("webhook update %s cannot be read (%d errors); setting it aside",
                          update_key(raw, body), exc.error_count())
                await updates.guard.set_aside(update_key(raw, body), raw, describe(exc))
                return web.Response()
            await updates.take(update)
        except Exception:
            log.exception("an update could be neither taken nor set aside; Telegram will deliver it again")
            return web.Response(status=500)
        return web.Response()

    return handle
