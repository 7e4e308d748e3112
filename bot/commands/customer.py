"""Customer commands: start, help, status, new, close, urgent, rate."""

from __future__ import annotations

from bot.commands.core import CUSTOMERS, EVERYONE, LEADS, REGISTRY, CommandError, Ctx, command
from bot.commands.texts import say
from bot.core.domain import EventType, Status, Ticket
from bot.core.records import ticket_from_row
from bot.flows import actions
from bot.i18n import texts
from bot.sla.clocks import FIRST_RESPONSE, RESOLUTION
from storage.base import TicketQuery

OPEN = tuple(s.value for s in (Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING_CUSTOMER))


@command("start", roles=EVERYONE, usage="start", changes=False,
         summary={"en": "what this bot does", "ru": "что умеет этот бот", "uk": "що вміє цей бот",
                  "pl": "co robi ten bot", "da": "hvad denne bot gør"})
async def start(ctx: Ctx) -> str:
    """Customers learn how to ask; staff (pressing Start opens the private chat their pings
    need) learn their role and their commands."""
    if ctx.engineer is not None:
        tier = ctx.s.cfg.routing.tier_names.get(ctx.engineer.tier, ctx.engineer.tier)
        return say("start_staff", ctx.lang, name=f", {ctx.engineer.name.split()[0]}", desk=ctx.s.cfg.desk.name,
                   role=say(f"role_{ctx.engineer.role}", ctx.lang, tier=tier), commands="\n".join(_commands(ctx)))
    name = ctx.req.sender.name.split()[0] if ctx.req.sender.name else ""
    return say("start", ctx.lang, name=f", {name}" if name else "", desk=ctx.s.cfg.desk.name)


@command("help", roles=EVERYONE, usage="help", changes=False,
         summary={"en": "the commands you can use", "ru": "доступные вам команды", "uk": "доступні вам команди",
                  "pl": "dostępne polecenia", "da": "de kommandoer, du kan bruge"})
async def help_(ctx: Ctx) -> str:
    return "\n".join(_commands(ctx))


def _commands(ctx: Ctx) -> list[str]:
    """The asker's commands: usage and what each does, in their language."""
    lang = texts.language_for(ctx.lang)
    return [f"{spec.usage} — {spec.summary.get(lang) or spec.summary['en']}"
            for spec in REGISTRY.values() if ctx.role in spec.roles]


@command("status", roles=CUSTOMERS, usage="status", changes=False,
         summary={"en": "your open requests and when to expect an answer", "ru": "ваши обращения и сроки ответа",
                  "uk": "ваші звернення та терміни відповіді", "pl": "Twoje zgłoszenia i terminy odpowiedzi",
                  "da": "dine henvendelser og hvornår du kan forvente svar"})
async def status(ctx: Ctx) -> str:
    rows = await ctx.s.store.tickets(TicketQuery(statuses=OPEN, customer=ctx.req.sender.identity, limit=20))
    if not rows:
        return say("status_none", ctx.lang)
    lines = [say("status_head", ctx.lang)]
    for ticket in map(ticket_from_row, rows):
        lines.append(say(
            "status_line", ctx.lang, ticket=ticket.display_id, status=say(f"status_{ticket.status.value}", ctx.lang),
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
    return say("status_next", ctx.lang, clock=say(f"clock_{first['clock']}", ctx.lang),
               due=texts.when(first["target_at"], ticket.customer_tz, ctx.lang))


@command("new", roles=CUSTOMERS, usage="new",
         summary={"en": "start a new request", "ru": "новое обращение", "uk": "нове звернення",
                  "pl": "nowe zgłoszenie", "da": "ny henvendelse"})
async def new(ctx: Ctx) -> str:
    ctx.work.mark_fresh(ctx.req.conversation, on=True)
    return say("new_ready", ctx.lang)


@command("close", roles=CUSTOMERS | LEADS, usage="close [T-1042] [reason]",
         summary={"en": "close a request", "ru": "закрыть обращение", "uk": "закрити звернення",
                  "pl": "zamknij zgłoszenie", "da": "luk en henvendelse"})
async def close(ctx: Ctx) -> str:
    ticket = ctx.own(await ctx.ticket_arg())
    if ticket.status == Status.CLOSED:
        raise CommandError("ticket_closed", ticket=ticket.display_id)
    if ctx.engineer is None:
        actions.close(ctx.s, ctx.work, ticket, ctx.actor, "closed by the customer")
        return ""  # the customer is told by the desk's own "closed" message
    actions.close(ctx.s, ctx.work, ticket, ctx.actor, ctx.rest(0) or f"closed by {ctx.engineer.name}")
    return say("closed_ok", ctx.lang, ticket=ticket.display_id)


@command("urgent", roles=CUSTOMERS, usage="urgent [T-1042]",
         summary={"en": "mark your request urgent", "ru": "отметить обращение срочным",
                  "uk": "позначити звернення терміновим", "pl": "oznacz zgłoszenie jako pilne",
                  "da": "marker din henvendelse som hastende"})
async def urgent(ctx: Ctx) -> str:
    ticket = ctx.own(await ctx.ticket_arg())
    target = ctx.s.cfg.routing.urgent
    if ticket.priority <= target:
        return say("already_urgent", ctx.lang, ticket=ticket.display_id, priority=ticket.priority.name)
    loads = await ctx.s.store.loads()
    actions.change_priority(ctx.s, ctx.work, ticket, target, ctx.actor, "the customer marked it urgent", loads)
    return texts.text("urgent_set", ctx.lang, ticket=ticket.display_id, priority=target.name)


@command("rate", roles=CUSTOMERS, usage="rate T-1042 1..5",
         summary={"en": "rate how we solved it", "ru": "оценить решение", "uk": "оцінити рішення",
                  "pl": "oceń rozwiązanie", "da": "vurder løsningen"})
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
        body = say("rated_staff", ctx.s.notifier.engineer_language(engineer), ticket=ticket.display_id,
                   rating=ticket.rating)
        ctx.work.send(ctx.s.notifier.to_engineer(engineer, "notice", body, ticket=ticket))
    return texts.text("rated", ctx.lang, ticket=ticket.display_id, rating=ticket.rating)

