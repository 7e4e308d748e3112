"""The Slack channel: what the composition root starts and the dispatcher delivers through.
It assembles the pieces — the start-up check, the Bolt app and its listeners, HTTP or
Socket Mode, the sender — around one Web API client."""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import modes, startup
from adapters.slack.config import NAME, SlackConfig
from adapters.slack.listeners import Listeners
from adapters.slack.profiles import Profiles
from adapters.slack.send import SlackSender
from adapters.slack.translate import Workspace
from bot.app.http import HttpServer
from bot.core.desk import Desk
from bot.delivery.channel import ChannelBase
from bot.delivery.contract import DeliveryResult, Lane, Outbound, Pace, Recipient

log = logging.getLogger("dutydesk.slack")


class SlackChannel(ChannelBase):
    name = NAME

    def __init__(
        self, cfg: SlackConfig, *, bot_token: str | None = None, signing_secret: str | None = None,
        app_token: str | None = None,
    ) -> None:
        """The secrets override the configured ones (tests need no environment variables).
        Only the mode's own secret is read: HTTP needs the signing secret, Socket Mode the
        app-level token. The Web API client keeps the SDK's default retries (connection
        errors only): rate limits are the dispatcher's to handle.

        Bolt is given the token and builds the one Web API client, ours too: given a client
        of ours instead, it still reads SLACK_BOT_TOKEN from the environment and warns on
        every start that the token "will be unused". Only its address is ours to set (the
        stand-ins, GovSlack); Bolt copies it into the client of every request."""
        self._cfg = cfg
        self.per_second = cfg.per_second
        self._signing_secret = signing_secret if signing_secret is not None else (
            cfg.signing_secret.reveal() if cfg.mode == "http" else "")
        self._app_token = "" if cfg.mode == "http" else (app_token if app_token is not None else cfg.app_token.reveal())
        self._app = AsyncApp(
            name="dutydesk", token=bot_token if bot_token is not None else cfg.bot_token.reveal(),
            signing_secret=self._signing_secret, process_before_response=True,
            request_verification_enabled=cfg.mode == "http",
        )
        self.client: AsyncWebClient = self._app.client
        self.client.base_url = cfg.api_base
        self._sender = SlackSender(self.client)
        self._socket: AsyncSocketModeHandler | None = None
        super().__init__()

    # -- delivery (the dispatcher's side) ------------------------------------------------------

    def lane(self, recipient: Recipient) -> Lane:
        """Slack allows about one message a second per channel (a DM is a channel)."""
        return Lane(f"{NAME}:{recipient.chat_id}", per_second=self._cfg.per_channel_per_second)

    async def _send(self, message: Outbound, pace: Pace) -> DeliveryResult:
        return await self._sender.deliver(message, pace)

    # -- life cycle ----------------------------------------------------------------------------

    async def _connect(self, desk: Desk, http: HttpServer | None) -> None:
        cfg = self._cfg
        if cfg.mode == "http" and http is None:
            raise startup.SlackSetupError("slack.mode is http: it needs the HTTP server ([http])")
        me = await self.client.auth_test()
        app_name = str(me.get("user") or "dutydesk")
        if cfg.triage_channel:
            await startup.check_triage_channel(self.client, cfg.triage_channel, app_name)
        app = self._app
        where = Workspace(cfg.triage_channel, me.get("user_id"))
        listeners = Listeners(desk, self.client, Profiles(self.client), where)
        listeners.wire(app, cfg.command)
        desk.accept_replays(NAME, listeners.replay)
        self.running = True
        if http is not None and cfg.mode == "http":
            modes.serve_http(http, cfg.events_path, app, lambda: self.running, self._signing_secret)
        else:
            self._socket = await modes.open_socket(app, self._app_token)
        log.info("Slack: @%s in team %s, %s mode", app_name, me.get("team"), cfg.mode)

    async def intake_problem(self, margin: float) -> str | None:
        """Socket Mode moves while its websocket is connected and answers Slack's pings."""
        if not self.running or self._socket is None:
            return await super().intake_problem(margin)
        return None if await self._socket.client.is_connected() else "the Socket Mode connection is down"

    async def _disconnect(self) -> None:
        """Stop taking requests. An event being handled is abandoned unacknowledged, so
        Slack delivers it again."""
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
