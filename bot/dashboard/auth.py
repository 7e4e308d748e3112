"""Who is looking: sessions opened by one-time links, checked on every request.

A link's token is used up by a POST (the page behind the link has a button), so a chat
app's link preview, which only GETs, never spends it. The session cookie is HttpOnly,
SameSite=Lax, Secure when the public address is https, and lives `session_hours`. The
person's role is read from the configuration on every request, not remembered in the
session: someone removed from the roster loses access at once. Every POST carries the
session's form token (CSRF), compared in constant time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.app.config import EngineerConfig
from bot.core.desk import Desk
from bot.core.directory import LEAD_ROLES, STAFF_ROLES, Role
from bot.dashboard import tokens

COOKIE = "dutydesk_session"
OPEN_PATHS = ("/desk/login/", "/desk/static/", "/desk/signed-out")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Viewer:
    """The person behind a request, as the configuration says now."""

    engineer: EngineerConfig
    identity: str
    role: Role
    csrf: str
    token_hash: str

    @property
    def lead(self) -> bool:
        return self.role in LEAD_ROLES


VIEWER = web.RequestKey("viewer", Viewer)


class Refused(Exception):
    """A request the dashboard refuses, rendered as a page that says why (`site.py`)."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


def see_other(location: str) -> web.Response:
    """After a form: back to a page (a reload does not post the form again)."""
    return web.Response(status=303, headers={"Location": location})


async def viewer_of(desk: Desk, request: web.Request) -> Viewer | None:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    token_hash = tokens.digest(cookie)
    row = await desk.store.session(token_hash, desk.clock.now())
    if row is None:
        return None
    directory = desk.services.directory
    engineer = directory.engineer(row["engineer"])
    role = directory.role(row["identity"])
    if engineer is None or role not in STAFF_ROLES:
        return None
    return Viewer(engineer, row["identity"], role, row["csrf"], token_hash)


def guard(source: Callable[[], Desk | None]) -> Middleware:
    """Middleware: a page needs a session, a POST its form token as well."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(OPEN_PATHS):
            return await handler(request)
        desk = source()
        viewer = None if desk is None else await viewer_of(desk, request)
        if viewer is None:
            raise Refused(401, "Not signed in: send “dashboard” to the desk's bot for a link.")
        if request.method == "POST":
            form = await request.post()
            sent = form.get("csrf")
            if not isinstance(sent, str) or not tokens.same(sent, viewer.csrf):
                raise Refused(403, "This form is out of date or did not come from the dashboard; reload the page.")
        request[VIEWER] = viewer
        return await handler(request)

    return check


def viewer(request: web.Request) -> Viewer:
    return request[VIEWER]


def require_lead(request: web.Request) -> Viewer:
    who = viewer(request)
    if not who.lead:
        raise Refused(403, "Only team leads may do this.")
    return who


async def log_in(desk: Desk, request: web.Request) -> web.StreamResponse:
    """Spend a link (once, within its minutes) and open a session."""
    form = await request.post()
    token = form.get("token")
    now = desk.clock.now()
    link = await desk.store.use_login_link(tokens.digest(token), now) if isinstance(token, str) else None
    if link is None:
        raise Refused(403, "This link was used already, has expired or is not valid: send “dashboard” "
                           "to the desk's bot for a new one.")
    if desk.services.directory.role(link["identity"]) not in STAFF_ROLES:
        raise Refused(403, "The dashboard is for the desk's engineers and leads.")
    settings = desk.services.cfg.dashboard
    session = tokens.new_token()
    expires = now + timedelta(hours=settings.session_hours)
    await desk.store.open_session({
        "token_hash": tokens.digest(session), "engineer": link["engineer"], "identity": link["identity"],
        "csrf": tokens.new_token(), "created_at": now, "expires_at": expires,
    })
    response = see_other("/desk/")
    response.set_cookie(
        COOKIE, session, max_age=int(settings.session_hours * 3600), path="/desk/", httponly=True,
        samesite="Lax", secure=settings.public_url.startswith("https://"),
    )
    return response


async def log_out(desk: Desk, request: web.Request) -> web.StreamResponse:
    await desk.store.end_session(viewer(request).token_hash, desk.clock.now())
    response = see_other("/desk/signed-out")
    response.del_cookie(COOKIE, path="/desk/")
    return response
