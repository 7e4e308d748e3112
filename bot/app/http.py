"""One HTTP server for everything that must be reachable: Telegram's webhook, Slack's
Events API endpoint and `/healthz`. One port to open, one TLS proxy to configure."""

from __future__ import annotations

import logging

from aiohttp import web

log = logging.getLogger("dutydesk.http")

# What the desk serves itself (health, metrics); any other route is a channel's webhook.
OWN_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


class HttpServer:
    def __init__(self, host: str, port: int) -> None:
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    @property
    def needed(self) -> bool:
        """Whether a channel registered a route (a webhook); /healthz alone is a convenience."""
        return any(r.canonical not in OWN_ROUTES for r in self.app.router.resources())

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def start(self) -> None:
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
