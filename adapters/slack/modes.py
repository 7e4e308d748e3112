"""How Slack's requests reach the Bolt app: over HTTP, or over a Socket Mode websocket.

HTTP: Events API, slash commands and interactivity share one URL on the desk's aiohttp
server. Bolt checks every request's signature and refuses timestamps older than five
minutes (401), so a replayed or forged request creates nothing.

Socket Mode: the app opens the websocket itself — no public URL, handy behind a firewall.
Slack's envelopes are acknowledged on the socket when the listener has returned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.http import HttpServer


def events_endpoint(app: AsyncApp, running: Callable[[], bool]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route Slack POSTs to. While the channel is stopped it answers 503: Slack keeps
    the event and retries, instead of it reaching a desk that is shutting down."""

    async def handle(request: web.Request) -> web.Response:
        if not running():
            return web.Response(status=503)
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    return handle


def serve_http(http: HttpServer, path: str, app: AsyncApp, running: Callable[[], bool]) -> None:
    http.app.router.add_post(path, events_endpoint(app, running))


async def open_socket(app: AsyncApp, app_token: str) -> AsyncSocketModeHandler:
    """Connected when this returns; the handler reconnects by itself when Slack asks."""
    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()
    return handler
