"""Engineer commands: take, resolve, note, mine, snooze, handover — and the read-only views
every engineer may use: ticket, queue, oncall, sla."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.commands.core import STAFF, CommandError, Ctx, StaffError, command
from bot.core.domain import Direction, EventType, Message, Status, Ticket, parse_ticket_id
from bot.core.records import ticket_from_row
from bot.flows import actions
from bot.i18n import texts
from bot.i18n.words import staff_word
from bot.sla.clocks import FIRST_RESPONSE, RESOLUTION
from bot.sla.report import sla_report, summary
from routing.assign import language_name
from routing.durations import parse_duration
from storage.base import TicketQuery

OPEN = tuple(s.value for s in (Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING_CUSTOMER))
AT_RISK = timedelta(hours=2)


def _open(ticket: Ticket) -> Ticket:
    if ticket.status == Status.CLOSED:
        raise CommandError("ticket_closed", ticket=ticket.display_id)
    return ticket


@command("take", roles=STAFF, usage="take [T-1042]", summary=texts.staff_key("summary_take"))
async def take(ctx: Ctx) -> str:
    ticket = _open(await ctx.ticket_arg())
    assert ctx.engineer is not None
    if ticket.assignee == ctx.engineer.id:
        return texts.staff_text("already_yours", ctx.lang, ticket=ticket.display_id)
    actions.set_assignee(ctx.s, ctx.work, ticket, ctx.engineer.id, ctx.actor,
                         [texts.desk_reason("took_it", name=ctx.engineer.name)])
    return texts.staff_text("taken", ctx.lang, ticket=ticket.display_id)


@command("resolve", roles=STAFF, usage="resolve [T-1042] [note]",
         summary=texts.staff_key("summary_resolve"))
async def resolve(ctx: Ctx) -> str:
    ticket = _open(await ctx.ticket_arg())
    note = ctx.rest(0)
    if note:
        ctx.work.add_message(Message(ticket.id, Direction.NOTE, ctx.actor, note, ctx.now))
    actions.resolve(ctx.s, ctx.work, ticket, ctx.actor, note or "resolved")
    return texts.staff_text("resolved_ok", ctx.lang, ticket=ticket.display_id)


@command("note", roles=STAFF, usage="note T-1042 text", summary=texts.staff_key("summary_note"))
async def note(ctx: Ctx) -> str:
    ticket = await ctx.ticket_arg()
    text = ctx.rest(0).strip()
    if not text:
        raise ctx.bad_usage()
    ctx.work.add_message(Message(ticket.id, Direction.NOTE, ctx.actor, text, ctx.now))
    ctx.work.touch(ticket)
    mirror = texts.staff_text("note_copy", ctx.s.notifier.room_language, name=ctx.actor_name, text=text)
    ctx.work.send(*ctx.s.notifier.to_rooms(ticket, "mirror", mirror))
    return texts.staff_text("noted", ctx.lang, ticket=ticket.display_id)


@command("answer", roles=STAFF, usage="answer [T-1042] TEMPLATE",
         summary=texts.staff_key("summary_answer"))
async def answer(ctx: Ctx) -> str:
    """Frequent questions get the same, reviewed answer: `[templates]` in the config."""
    templates = ctx.s.cfg.templates
    if not ctx.args or (len(ctx.args) == 1 and parse_ticket_id(ctx.args[0]) is not None):
        return texts.staff_text("templates_list", ctx.lang, names=", ".join(sorted(templates)) or "—")
    ticket = _open(await ctx.ticket_arg())
    if not ctx.args or ctx.engineer is None:
        raise ctx.bad_usage()
    name = ctx.args[0].lower()
    versions = templates.get(name)
    if versions is None:
        raise StaffError("unknown_template", name=name, names=", ".join(sorted(templates)) or "—")
    language = next(
        (lang for lang in (ticket.language, ctx.s.cfg.routing.follow_the_sun_language) if lang in versions),
        next(iter(versions)),
    )
    text = versions[language]
    actions.record_engineer_message(ctx.s, ctx.work, ticket, ctx.engineer.id, text, source=None, relay=True)
    mirror = texts.staff_text("engineer_copy", ctx.s.notifier.room_language, name=ctx.engineer.name, text=text)
    ctx.work.send(*ctx.s.notifier.to_rooms(ticket, "mirror", mirror))
    return texts.staff_text("answered", ctx.lang, ticket=ticket.display_id, name=name, lang=language)


@command("snooze", roles=STAFF, usage="snooze [T-1042] 30m",
         summary=texts.staff_key("summary_snooze"))
async def snooze(ctx: Ctx) -> str:
    ticket = _open(await ctx.ticket_arg())
    try:
        delay = parse_duration(ctx.rest(0) or "30m")
    except ValueError:
        raise ctx.bad_usage() from None
    until = ctx.now + delay
    ctx.work.snooze(ticket, until)
    ctx.work.log(ticket, EventType.SNOOZED, ctx.actor, f"remind at {until.isoformat()}", until=until.isoformat())
    return texts.staff_text("snoozed_ok", ctx.lang, ticket=ticket.display_id, due=texts.when(until, ctx.tz, ctx.lang))


@command("mine", roles=STAFF, usage="mine", changes=False,
         summary=texts.staff_key("summary_mine"))
async def mine(ctx: Ctx) -> str:
    assert ctx.engineer is not None
    lines = await _by_deadline(ctx, TicketQuery(statuses=OPEN, assignee=ctx.engineer.id, limit=100))
    return "\n".join(lines) if lines else texts.staff_text("mine_none", ctx.lang)


@command("handover", roles=STAFF, usage="handover", changes=False,
         summary=texts.staff_key("summary_handover"))
async def handover(ctx: Ctx) -> str:
    assert ctx.engineer is not None
    lines = await _by_deadline(ctx, TicketQuery(statuses=OPEN, assignee=ctx.engineer.id, limit=100), detail=True)
    if not lines:
        return texts.staff_text("mine_none", ctx.lang)
    return "\n".join([texts.staff_text("handover_head", ctx.lang, name=ctx.engineer.name, count=len(lines)), *lines])


@command("queue", roles=STAFF, usage="queue", changes=False,
         summary=texts.staff_key("summary_queue"))
async def queue(ctx: Ctx) -> str:
    targets = await _targets(ctx)
    rows = await ctx.s.store.tickets(TicketQuery(statuses=OPEN, unassigned=True, limit=200))
    tickets = {r["id"]: ticket_from_row(r) for r in rows}
    soon = {tid for tid, clocks in targets.items() if min(clocks.values()) <= ctx.now + AT_RISK}
    for tid in soon - tickets.keys():
        row = await ctx.s.store.ticket(tid)
        if row is None or row["status"] not in OPEN:
            continue
        ticket = ticket_from_row(row)
        target = _target(ticket, targets)
        if target is not None and target <= ctx.now + AT_RISK:
            tickets[tid] = ticket
    if not tickets:
        return texts.staff_text("queue_none", ctx.lang)
    return "\n".join([texts.staff_text("queue_head", ctx.lang), *_ordered(ctx, list(tickets.values()), targets)])


@command("ticket", roles=STAFF, usage="ticket T-1042", changes=False,
         summary=texts.staff_key("summary_ticket"))
async def ticket(ctx: Ctx) -> str:
    t = await ctx.ticket_arg()
    org = ctx.s.directory.organisation(t.org_id)
    engineer = ctx.s.directory.engineer(t.assignee)
    lines = [
        f"{t.display_id} · {t.status.value} · {t.priority.name} ({t.priority_reason}) · {t.kind.value} · "
        f"{language_name(t.language)}",
        f"{t.customer_name or t.customer} · {org.name if org else '-'} · plan {t.plan} · "
        f"assignee {engineer.name if engineer else '-'} · {ctx.s.cfg.routing.tier_names.get(t.tier, t.tier)}",
        f"subject: {t.subject}",
    ]
    for d in await ctx.s.store.deadlines(t.id):
        if d["fired_at"] is None and d["stage"] == 100:
            lines.append(f"due: {d['clock']} by {texts.when(d['target_at'], ctx.tz, ctx.lang)}")
    events = await ctx.s.store.events(t.id)
    for e in events[-10:]:
        at = texts.when(e["at"], ctx.tz, ctx.lang)
        lines.append(f"· {at} {e['type']} ({e['actor']}): {e['reason'][:200]}")
    return "\n".join(lines)


HISTORY_LIMIT = 15


@command("history", roles=STAFF, usage="history ORGANISATION|customer-identity|T-1042", changes=False,
         summary=texts.staff_key("summary_history"))
async def history(ctx: Ctx) -> str:
    """Management's standing question: what has this customer filed lately, and where is it?"""
    if not ctx.args:
        raise ctx.bad_usage()
    what = " ".join(ctx.args)
    org = ctx.s.directory.find_organisation(what)
    if org is not None:
        query, title = TicketQuery(org_id=org.id, limit=HISTORY_LIMIT), f"{org.name} ({org.plan})"
    else:
        customer = what if ":" in what else None
        if parse_ticket_id(ctx.args[0]) is not None:
            customer = (await ctx.ticket_arg()).customer
        if customer is None:
            raise StaffError("unknown_customer", what=what, examples=ctx.s.directory.identity_examples)
        query, title = TicketQuery(customer=customer, limit=HISTORY_LIMIT), customer
    rows = await ctx.s.store.tickets(query)
    lines = [texts.staff_text("history_head", ctx.lang, who=title, count=len(rows))]
    for t in map(ticket_from_row, rows):
        engineer = ctx.s.directory.engineer(t.assignee)
        lines.append(
            f"{t.display_id} · {texts.when(t.created_at, ctx.tz, ctx.lang)} · {t.priority.name} · {t.status.value} · "
            f"{engineer.name if engineer else '-'} · {t.customer_name or t.customer} · {t.subject[:50]}"
        )
    return "\n".join(lines)


@command("oncall", roles=STAFF, usage="oncall [language|tier]", changes=False,
         summary=texts.staff_key("summary_oncall"))
async def oncall(ctx: Ctx) -> str:
    roster = ctx.s.triage.roster
    language = tier = None
    if ctx.args:
        key = ctx.args[0].lower()
        if key in roster.tiers:
            tier = key
        elif len(key) == 2 and key.isalpha():
            language = key
        else:
            raise ctx.bad_usage()
    now_on = roster.on_duty(ctx.now, language=language, tier=tier)
    lines = [texts.staff_text("oncall_now", ctx.lang)]
    for e in now_on:
        window = roster.duty_at(e.id, ctx.now)
        until = texts.when(window.end, ctx.tz, ctx.lang) if window else "?"
        lines.append(f"  {e.name} ({', '.join(sorted(e.languages))}; {e.tier}) — "
                     f"{texts.staff_text('oncall_until', ctx.lang, at=until)}")
    if not now_on:
        lines.append(texts.staff_text("oncall_nobody", ctx.lang))
    lines.append(texts.staff_text("oncall_next", ctx.lang))
    upcoming = []
    for e in roster.engineers.values():
        if e in now_on or (language and language not in e.languages) or (tier and e.tier != tier):
            continue
        windows = [w for w in roster.windows(e.id, ctx.now, ctx.now + timedelta(days=3)) if w.start > ctx.now]
        if windows:
            upcoming.append((windows[0].start, e))
    for start, e in sorted(upcoming, key=lambda item: item[0])[:6]:
        languages = ", ".join(sorted(e.languages))
        since = texts.staff_text("oncall_from", ctx.lang, at=texts.when(start, ctx.tz, ctx.lang))
        lines.append(f"  {e.name} ({languages}; {e.tier}) — {since}")
    if not upcoming:
        lines.append(texts.staff_text("oncall_nobody", ctx.lang))
    return "\n".join(lines)


@command("sla", roles=STAFF, usage="sla [today|week|month]", changes=False,
         summary=texts.staff_key("summary_sla"))
async def sla(ctx: Ctx) -> str:
    period = (ctx.args[0].lower() if ctx.args else "week")
    days = {"today": 0, "week": 7, "month": 30}.get(period)
    if days is None:
        raise ctx.bad_usage()
    local = ctx.now.astimezone(ZoneInfo(ctx.tz))
    since = (local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days))
    until = ctx.now + timedelta(seconds=1)  # include what was created this very second
    report = await sla_report(ctx.s.store, since, until, until)
    return f"SLA {period}: {summary(report)}"


Targets = dict[int, dict[str, datetime]]


async def _targets(ctx: Ctx) -> Targets:
    """Each open ticket's SLA targets by clock: the pending one, else the last one passed
    (a breached clock stays overdue until it is met, and belongs at the top of the queue)."""
    clocks = (FIRST_RESPONSE, RESOLUTION)
    found: Targets = {}
    for row in await ctx.s.store.open_targets(clocks, 1000):
        found.setdefault(row["ticket_id"], {}).setdefault(row["clock"], row["target_at"])
    for row in await ctx.s.store.passed_targets(clocks, OPEN, 1000):
        found.setdefault(row["ticket_id"], {}).setdefault(row["clock"], row["target_at"])
    return found


def _target(t: Ticket, targets: Targets) -> datetime | None:
    """The ticket's next deadline among the clocks still running: a first response already
    given, or a resolution clock paused while the customer is asked, is not a deadline."""
    running = {
        clock: at for clock, at in targets.get(t.id, {}).items()
        if (clock != FIRST_RESPONSE or t.first_response_at is None)
        and (clock != RESOLUTION or t.status != Status.WAITING_CUSTOMER)
    }
    return min(running.values(), default=None)


def _ordered(ctx: Ctx, tickets: list[Ticket], targets: Targets, *, detail: bool = False) -> list[str]:
    far = datetime.max.replace(tzinfo=ctx.now.tzinfo)
    due = {t.id: _target(t, targets) for t in tickets}
    lines = []
    for t in sorted(tickets, key=lambda t: (due[t.id] or far, t.priority)):
        line = _line(ctx, t, due[t.id])
        if detail and t.last_customer_at:
            line += " · " + texts.staff_text("line_customer_wrote", ctx.lang,
                                             at=texts.when(t.last_customer_at, ctx.tz, ctx.lang))
        lines.append(line)
    return lines


async def _by_deadline(ctx: Ctx, query: TicketQuery, *, detail: bool = False) -> list[str]:
    tickets = [ticket_from_row(r) for r in await ctx.s.store.tickets(query)]
    return _ordered(ctx, tickets, await _targets(ctx), detail=detail)


def _line(ctx: Ctx, t: Ticket, target: datetime | None) -> str:
    org = ctx.s.directory.organisation(t.org_id)
    who = org.name if org else (t.customer_name or t.customer)
    where = t.assignee or (
        texts.staff_text("queued_until", ctx.lang, due=texts.when(t.pickup_at, ctx.tz, ctx.lang)) if t.pickup_at
        else texts.staff_text("line_unassigned", ctx.lang))
    if target is None:
        due = ""
    else:
        key = texts.staff_key("line_overdue") if target <= ctx.now else texts.staff_key("line_due")
        due = " · " + texts.staff_text(key, ctx.lang, due=texts.when(target, ctx.tz, ctx.lang))
    status = staff_word("status", t.status.value, ctx.lang)
    return (f"{t.display_id} · {t.priority.name} · {t.language} · {who} · {status} · {where}{due}"
            f" · {t.subject[:50]}")
