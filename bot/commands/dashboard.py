"""The `dashboard` command: a one-time link that logs a lead or an engineer into the web
dashboard (bot/dashboard). Customers are told it is not for them by the role check."""

from __future__ import annotations

from datetime import timedelta

from bot.commands.core import STAFF, Ctx, StaffError, command
from bot.dashboard import tokens
from bot.i18n import texts


@command("dashboard", roles=STAFF, usage="dashboard",
         summary=texts.staff_key("summary_dashboard"))
async def dashboard(ctx: Ctx) -> str:
    """The token is stored hashed with the reply that carries it, in one commit. The reply
    must reach the asker alone (a private chat, Slack's ephemeral answer): whoever holds the
    link logs in as them."""
    settings = ctx.s.cfg.dashboard
    if not settings.enabled:
        raise StaffError("dashboard_off")
    if (ctx.req.reply_in_chat and not ctx.req.private) or ctx.engineer is None:
        raise StaffError("dashboard_private")
    token = tokens.new_token()
    ctx.work.login_link({
        "token_hash": tokens.digest(token), "engineer": ctx.engineer.id, "identity": ctx.req.sender.identity,
        "created_at": ctx.now, "expires_at": ctx.now + timedelta(minutes=settings.link_minutes),
    })
    return texts.staff_text("dashboard_link", ctx.lang, url=tokens.login_url(settings.public_url, token),
               minutes=f"{settings.link_minutes:g}")
