"""Pages from templates: autoescaped Jinja2, with the headers every page carries."""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from bot.dashboard.auth import VIEWER

ENV = web.AppKey("env", jinja2.Environment)


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bot.dashboard", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )


def render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    env = request.config_dict[ENV]
    html = env.get_template(template).render(viewer=request.get(VIEWER), path=request.path, **values)
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    harden(response)
    return response


def harden(response: web.StreamResponse) -> None:
    """No framing, no type guessing, no referrer carrying a page's address (or a login
    link) elsewhere, scripts from this server only, nothing cached."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
