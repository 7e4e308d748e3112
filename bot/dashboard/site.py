"""The dashboard's web application: its routes, templates and the checks every request passes.

Pages are rendered on the server from Jinja2 templates (autoescaped); the few lines of
JavaScript in `static/desk.js` only refresh what a page already shows. `mount` adds the
application under `/desk/` of the desk's one HTTP server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

from aiohttp import web

from bot.core.desk import Desk
from bot.dashboard import auth, queue, reports, roster, ticket
from bot.dashboard.render import ENV, environment, render

PREFIX = "/desk"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# The desk pages act on: the app's while this process is the active desk, else None.
DeskSource = Callable[[], "Desk | None"]


def mount(root: web.Application, source: Desk | DeskSource) -> None:
    """Serve the dashboard under `/desk/` of the HTTP server (before it starts). Under
    `dutydesk run` the server outlives each app (bot/app/standby.py): pages ask `source`
    for the active desk on every request, and a standby says so."""
    root.add_subapp(PREFIX, build(source if callable(source) else (lambda: source)))


def build(source: DeskSource) -> web.Application:
    app = web.Application(middlewares=[_refusals, _active(source), auth.guard(source)])
    app[ENV] = environment()
    bind = {name: _on_desk(page, source) for name, page in (
        ("queue", queue.page), ("ticket", ticket.page), ("act", ticket.act), ("roster", roster.page),
        ("override", roster.override), ("reports", reports.page), ("csv", reports.csv_export),
        ("login", auth.log_in), ("logout", auth.log_out),
    )}
    app.router.add_get("/", bind["queue"])
    app.router.add_get("/ticket/{id:\\d+}", bind["ticket"])
    app.router.add_post("/ticket/{id:\\d+}", bind["act"])
    app.router.add_get("/roster", bind["roster"])
    app.router.add_post("/roster", bind["override"])
    app.router.add_get("/reports", bind["reports"])
    app.router.add_get("/reports.csv", bind["csv"])
    app.router.add_get("/login/{token}", _link_page)
    app.router.add_post("/login/", bind["login"])
    app.router.add_post("/logout", bind["logout"])
    app.router.add_get("/signed-out", _signed_out)
    app.router.add_static("/static", Path(str(resources.files("bot.dashboard").joinpath("static"))))
    return app


def _active(source: DeskSource) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Middleware: a standby serves no page (its data could be stale by the time it shows)."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if source() is None:
            return render(request, "message.html", status=503, title="Standing by",
                          text="This desk is standing by; the active desk serves the dashboard.")
        return await handler(request)

    return check


def _on_desk(page: Callable[[Desk, web.Request], Awaitable[web.StreamResponse]],
             source: DeskSource) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        desk = source()
        if desk is None:  # taken away since the middleware looked
            raise web.HTTPServiceUnavailable(text="standing by")
        return await page(desk, request)

    return handler


@web.middleware
async def _refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except auth.Refused as refused:
        return render(request, "message.html", status=refused.status, title="Not allowed" if refused.status != 400
                      else "Not understood", text=refused.why)


async def _link_page(request: web.Request) -> web.StreamResponse:
    """The page behind a login link: a button that spends it (a link preview only GETs)."""
    return render(request, "login.html", title="Sign in", token=request.match_info["token"])


async def _signed_out(request: web.Request) -> web.StreamResponse:
    return render(request, "message.html", title="Signed out",
                  text="You are signed out. Send “dashboard” to the desk's bot for a new link.")
