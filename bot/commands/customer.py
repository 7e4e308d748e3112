"""Customer commands: start, help, status, new, close, urgent, rate."""

from __future__ import annotations

from bot.commands.core import CUSTOMERS, EVERYONE, LEADS, REGISTRY, CommandError, Ctx, command, summary
from bot.core.domain import EventType, Status, Ticket
from bot.core.records import ticket_from_row
from bot.flows import actions
from bot.i18n import texts
from bot.i18n.words import customer_word, staff_word
from bot.sla.clocks import FIRST_RESPONSE, RESOLUTION
from storage.base import TicketQuery

OPEN = tuple(s.value for s in (Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING_CUSTOMER))


@command("start", roles=EVERYONE, usage="start", changes=False,
         summary=texts.customer_key("summary_start"))
async def start(ctx: Ctx) -> str:
    """Customers learn how to ask; staff (pressing Start opens the private chat their pings
    need) learn their role and their commands."""
    if ctx.engineer is not None:
        tier = ctx.s.cfg.routing.tier_names.get(ctx.engineer.tier, ctx.engineer.tier)
        role = staff_word("role", ctx.engineer.role, ctx.lang, tier=tier)
        return texts.staff_text("start_staff", ctx.lang, name=f", {ctx.engineer.name.split()[0]}",
                                desk=ctx.s.cfg.desk.name, role=role, commands="\n".join(_commands(ctx)))
    name = ctx.req.sender.name.split()[0] if ctx.req.sender.name else ""
    return texts.text("start", ctx.lang, name=f", {name}" if name else "", desk=ctx.s.cfg.desk.name)


@command("help", roles=EVERYONE, usage="help", changes=False,
         summary=texts.customer_key("summary_help"))
async def help_(ctx: Ctx) -> str:
    return "\n".join(_commands(ctx))


def _commands(ctx: Ctx) -> list[str]:
    """The asker's commands: usage and what each does, in their language."""
    return [f"{spec.usage} — {summary(spec, ctx.lang)}"
            for spec in REGISTRY.values() if ctx.role in spec.roles]


@command("status", roles=CUSTOMERS, usage="status", changes=False,
         summary=texts.customer_key("summary_status"))
async def status(ctx: Ctx) -> str:
    rows = await ctx.s.store.tickets(TicketQuery(statuses=OPEN, customer=ctx.req.sender.identity, limit=20))
    if not rows:
        return texts.text("status_none", ctx.lang)
    lines = [texts.text("status_head", ctx.lang)]
    for ticket in map(ticket_from_row, rows):
        lines.append(texts.text(
            "status_line", ctx.lang, ticket=ticket.display_id,
            status=customer_word("status", ticket.status.value, ctx.lang),
            priority=ticket.priority.name, subject=ticket.subject[:60], next=await _next_deadline(ctx, ticket),
        ))
    return "\n".join(lines)


async def _next_deadline(ctx: Ctx, ticket: Ticket) -> str:
    pending = [
        d for d in await ctx.s.store.deadlines(ticket.id)
        if d["fired_at"] is None and d["stage"] == 100 and d["clock"] in (FIRST_RESPONSE, RESOLUTION)
    ]
    if not pending:
        return ""
    first = min(pending, key=lambda d: d["target_at"])
    return texts.text("status_next", ctx.lang, clock=customer_word("clock", first["clock"], ctx.lang),
                      due=texts.when(first["target_at"], ticket.customer_tz, ctx.lang))


@command("new", roles=CUSTOMERS, usage="new",
         summary=texts.customer_key("summary_new"))
async def new(ctx: Ctx) -> str:
    ctx.work.mark_fresh(ctx.req.conversation, on=True)
    return texts.text("new_ready", ctx.lang)


@command("close", roles=CUSTOMERS | LEADS, usage="close [T-1042] [reason]",
         summary=texts.customer_key("summary_close"))
async def close(ctx: Ctx) -> str:
    ticket = ctx.own(await ctx.ticket_arg())
    if ticket.status == Status.CLOSED:
        raise CommandError("ticket_closed", ticket=ticket.display_id)
    if ctx.engineer is None:
        actions.close(ctx.s, ctx.work, ticket, ctx.actor, "closed by the customer")
        return ""  # the customer is told by the desk's own "closed" message
    actions.close(ctx.s, ctx.work, ticket, ctx.actor, ctx.rest(0) or f"closed by {ctx.engineer.name}")
    return texts.staff_text("closed_ok", ctx.lang, ticket=ticket.display_id)


@command("urgent", roles=CUSTOMERS, usage="urgent [T-1042]",
         summary=texts.customer_key("summary_urgent"))
async def urgent(ctx: Ctx) -> str:
    ticket = ctx.own(await ctx.ticket_arg())
    target = ctx.s.cfg.routing.urgent
    if ticket.priority <= target:
        return texts.text("already_urgent", ctx.lang, ticket=ticket.display_id, priority=ticket.priority.name)
    loads = await ctx.s.store.loads()
    actions.change_priority(ctx.s, ctx.work, ticket, target, ctx.actor, "the customer marked it urgent", loads)
    return texts.text("urgent_set", ctx.lang, ticket=ticket.display_id, priority=target.name)


@command("rate", roles=CUSTOMERS, usage="rate T-1042 1..5",
         summary=texts.customer_key("summary_rate"))
async def rate(ctx: Ctx) -> str:
    ticket = ctx.own(await ctx.ticket_arg())
    if len(ctx.args) != 1 or ctx.args[0] not in {"1", "2", "3", "4", "5"}:
        raise ctx.bad_usage()
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise CommandError("rate_first", ticket=ticket.display_id)
    ticket.rating = int(ctx.args[0])
    ctx.work.log(ticket, EventType.RATED, ctx.actor, f"customer satisfaction {ticket.rating}/5", rating=ticket.rating)
    engineer = ctx.s.directory.engineer(ticket.assignee)
    if engineer is not None:
        body = texts.staff_text("rated_staff", ctx.s.notifier.engineer_language(engineer),
                                ticket=ticket.display_id, rating=ticket.rating)
        ctx.work.send(ctx.s.notifier.to_engineer(engineer, "notice", body, ticket=ticket))
    return texts.text("rated", ctx.lang, ticket=ticket.display_id, rating=ticket.rating)

