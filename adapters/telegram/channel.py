"""The Telegram channel: what the composition root starts and the dispatcher delivers
through. It assembles the pieces — start-up checks, the aiogram router, the intake, the
sender — and owns the bot's HTTP session."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from adapters.telegram import startup
from adapters.telegram.config import NAME, TelegramConfig
from adapters.telegram.handlers import build_router
from adapters.telegram.send import TelegramSender
from adapters.telegram.updates import ALLOWED_UPDATES, Polling, Updates, webhook_handler
from bot.app.http import HttpServer
from bot.core.backoff import Backoff
from bot.core.desk import Desk
from bot.core.sanitize import scrubbed_loads
from bot.delivery.channel import ChannelBase
from bot.delivery.contract import DeliveryResult, Lane, Outbound, Pace, Recipient

log = logging.getLogger("dutydesk.telegram")

# A failed poll (or an update that could not even be set aside) is retried after about
# 0.5 s, then 1, 2, … up to half a minute: long enough not to hammer a database that is
# down, short enough to catch up soon after.
RETRY_FIRST_SECONDS = 0.5
RETRY_CAP_SECONDS = 30.0


class TelegramChannel(ChannelBase):
    name = NAME

    def __init__(self, cfg: TelegramConfig, token: str | None = None) -> None:
        """`token` overrides the configured secret (tests need no environment variable)."""
        self._cfg = cfg
        self.per_second = cfg.per_second
        # Every Bot API answer (updates included) is decoded scrubbed of lone surrogates.
        session = AiohttpSession(api=TelegramAPIServer.from_base(cfg.api_base), json_loads=scrubbed_loads)
        self.bot = Bot(token if token is not None else cfg.token.reveal(), session=session)
        self._sender = TelegramSender(self.bot)
        self._polling: asyncio.Task[None] | None = None
        super().__init__()

    # -- delivery (the dispatcher's side) ------------------------------------------------------

    def lane(self, recipient: Recipient) -> Lane:
        """Telegram limits each private chat to about one message a second, and each group
        to twenty a minute on top; group ids are negative."""
        key = f"{NAME}:{recipient.chat_id}"
        if recipient.chat_id.startswith("-"):
            return Lane(key, per_second=self._cfg.per_chat_per_second, per_minute=self._cfg.per_group_per_minute)
        return Lane(key, per_second=self._cfg.per_chat_per_second)

    async def _send(self, message: Outbound, pace: Pace) -> DeliveryResult:
        return await self._sender.deliver(message, pace)

    # -- life cycle ----------------------------------------------------------------------------

    async def _connect(self, desk: Desk, http: HttpServer | None) -> None:
        cfg = self._cfg
        self.running = True
        me = await self.bot.get_me()
        if cfg.staff_chat_id is not None:
            await startup.check_staff_group(self.bot, me, cfg.staff_chat_id)
        await startup.publish_menus(self.bot, cfg.staff_chat_id, desk.menus(NAME))
        dispatcher = Dispatcher(desk=desk, me=me, staff_chat_id=cfg.staff_chat_id)
        dispatcher.include_router(build_router(cfg.staff_chat_id))
        updates = Updates(self.bot, dispatcher, desk.guard(NAME))
        desk.accept_replays(NAME, updates.replay)
        if cfg.mode == "webhook":
            await self._start_webhook(updates, http)
        else:
            await self.bot.delete_webhook()
            backoff = Backoff(RETRY_FIRST_SECONDS, RETRY_CAP_SECONDS)
            self.intake_moved()
            polling = Polling(updates, cfg.polling_timeout, backoff, moved=self.intake_moved)
            self._polling = asyncio.create_task(polling.run(), name="dutydesk-telegram-polling")
        log.info("Telegram: @%s in %s mode", me.username, cfg.mode)

    async def _start_webhook(self, updates: Updates, http: HttpServer | None) -> None:
        cfg = self._cfg
        if http is None or cfg.webhook_url is None or cfg.webhook_secret is None:
            raise startup.TelegramSetupError(
                "telegram.mode is webhook: it needs the HTTP server, telegram.webhook_url and telegram.webhook_secret"
            )
        secret = cfg.webhook_secret.reveal()
        http.add_post(cfg.webhook_path, webhook_handler(updates, secret, lambda: self.running))
        await self.bot.set_webhook(cfg.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    async def intake_problem(self, margin: float) -> str | None:
        """Polling moves while getUpdates rounds complete: each returns within the long poll's
        timeout, and its updates are handled before the next, so a round that takes longer
        than that plus `margin` means Telegram or the database is not answering."""
        if not self.running or self._polling is None:
            return await super().intake_problem(margin)
        idle, limit = time.monotonic() - self.intake_at, self._cfg.polling_timeout + margin
        return None if idle <= limit else f"no getUpdates round completed for {idle:.0f} s (limit {limit:.0f} s)"

    async def _disconnect(self) -> None:
        """Stop taking updates, then close the session. An update being handled is
        abandoned; it was not confirmed, so Telegram delivers it again after a restart."""
        if self._polling is not None:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        await self.bot.session.close()
