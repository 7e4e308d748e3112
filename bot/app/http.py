"""One HTTP server for everything that must be reachable: Telegram's webhook, Slack's
Events API endpoint, `/healthz`, `/readyz` and `/metrics`. One port to open, one TLS proxy to configure.

Webhook routes (`add_post`) may be added and replaced while the server runs: under
`dutydesk run` the server runs all the time, standby included, and the channels register
their routes whenever this process takes over (`bot/app/standby.py`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger("dutydesk.http")

# One route for every webhook (`add_post`), so that they can change while the server runs.
_WEBHOOKS = "/{path:.*}"
# What the desk serves itself (health, metrics, the webhooks' dispatch); any other route is
# a channel's own.
OWN_ROUTES = frozenset({"/healthz", "/readyz", "/metrics", "/{path}"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpServer:
    def __init__(self, host: str, port: int) -> None:
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._posts: dict[str, Handler] = {}
        self.bound_port: int | None = None

    @property
    def needed(self) -> bool:
        """Whether a channel registered a route (a webhook); /healthz alone is a convenience."""
        return bool(self._posts) or any(r.canonical not in OWN_ROUTES for r in self.app.router.resources())

    def add_post(self, path: str, handler: Handler) -> None:
        """A webhook; replaces the one at `path` (a channel started again after a takeover)."""
        self._posts[path] = handler

    async def _post(self, request: web.Request) -> web.StreamResponse:
        """Every method lands here (so an unknown path is a 404, not a 405); only a POST to
        a registered webhook has a handler."""
        handler = self._posts.get(request.path) if request.method == "POST" else None
        if handler is None:
            raise web.HTTPNotFound()
        return await handler(request)

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def start(self) -> None:
        # Last, so that routes registered on the router directly come first.
        if not self.app.router.frozen:
            self.app.router.add_route("*", _WEBHOOKS, self._post)
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server  # the bound socket tells the real port when 0 was asked for
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self._port
        log.info("HTTP server on %s:%s", self._host, self.bound_port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
