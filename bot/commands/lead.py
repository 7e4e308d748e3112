"""Team-lead commands: reassign, escalate, priority, override, pause, resume.

(`close` is shared with customers and lives with them; the read-only views are in staff.
Engineers may escalate too — their own tickets: the night engineer's Escalate button.)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.commands.core import LEADS, STAFF, CommandError, Ctx, StaffError, command
from bot.core.domain import Priority, Status, Ticket
from bot.core.records import override_to_row
from bot.flows import actions
from bot.i18n import texts
from routing.assign import Assignment
from routing.durations import parse_duration
from routing.roster import Override


@command("reassign", roles=LEADS, usage="reassign T-1042 @who [reason]",
         summary=texts.staff_key("summary_reassign"))
async def reassign(ctx: Ctx) -> str:
    ticket, who = await _ticket_and_argument(ctx)
    engineer = ctx.engineer_arg(who)
    if ticket.status == Status.CLOSED:
        raise CommandError("ticket_closed", ticket=ticket.display_id)
    reason = ctx.rest(1) or texts.desk_reason("reassigned_by", name=ctx.actor_name)
    if ticket.tier != engineer.tier:
        ticket.tier = engineer.tier
    actions.set_assignee(ctx.s, ctx.work, ticket, engineer.id, ctx.actor, [reason])
    return texts.staff_text("reassigned", ctx.lang, ticket=ticket.display_id, name=engineer.name)


@command("escalate", roles=STAFF, usage="escalate T-1042 [tier] [area] [reason]",
         summary=texts.staff_key("summary_escalate"))
async def escalate(ctx: Ctx) -> str:
    ticket = await ctx.ticket_arg()
    if ticket.status == Status.CLOSED:
        raise CommandError("ticket_closed", ticket=ticket.display_id)
    if ctx.role not in LEADS and (ctx.engineer is None or ticket.assignee != ctx.engineer.id):
        raise StaffError("escalate_own", ticket=ticket.display_id)
    roster = ctx.s.triage.roster
    tier = ctx.args.pop(0).lower() if ctx.args and ctx.args[0].lower() in roster.tiers else None
    skills = {s for e in roster.engineers.values() for s in e.skills}
    area = ctx.args.pop(0).lower() if ctx.args and ctx.args[0].lower() in skills else None
    reason = ctx.rest(0) or texts.desk_reason("escalated_by", name=ctx.actor_name)
    loads = await ctx.s.store.loads()
    try:
        decision = actions.escalate(ctx.s, ctx.work, ticket, ctx.actor, loads, to_tier=tier, area=area, reason=reason)
    except ValueError as exc:
        raise StaffError("failed", reason=str(exc)) from None
    if isinstance(decision, Assignment):
        engineer = ctx.s.directory.engineer(decision.engineer)
        outcome = engineer.name if engineer else decision.engineer
    else:
        outcome = texts.staff_text("queued_until", ctx.lang, due=texts.when(decision.pickup_at, ctx.tz, ctx.lang))
    tier_name = ctx.s.cfg.routing.tier_names.get(decision.tier, decision.tier)
    return texts.staff_text("escalated", ctx.lang, ticket=ticket.display_id, tier=tier_name, outcome=outcome)


@command("priority", roles=LEADS, usage="priority T-1042 P1 [reason]",
         summary=texts.staff_key("summary_priority"))
async def priority(ctx: Ctx) -> str:
    ticket, level = await _ticket_and_argument(ctx)
    try:
        new = Priority.parse(level)
    except ValueError:
        raise ctx.bad_usage() from None
    if new == ticket.priority:
        return texts.staff_text("priority_same", ctx.lang, ticket=ticket.display_id, priority=new.name)
    reason = ctx.rest(1) or f"set by {ctx.actor_name}"
    actions.change_priority(ctx.s, ctx.work, ticket, new, ctx.actor, f"{new.name}: {reason}", await ctx.s.store.loads())
    return texts.staff_text("priority_set", ctx.lang, ticket=ticket.display_id, priority=new.name)


@command("pause", roles=LEADS, usage="pause T-1042 [reason]",
         summary=texts.staff_key("summary_pause"))
async def pause(ctx: Ctx) -> str:
    ticket = await ctx.ticket_arg()
    if not ticket.is_open:
        raise ctx.bad_usage()
    actions.pause(ctx.s, ctx.work, ticket, ctx.actor, ctx.rest(0) or "waiting for the customer")
    return texts.staff_text("paused", ctx.lang, ticket=ticket.display_id)


@command("resume", roles=LEADS, usage="resume T-1042",
         summary=texts.staff_key("summary_resume"))
async def resume(ctx: Ctx) -> str:
    ticket = await ctx.ticket_arg()
    if ticket.status == Status.RESOLVED:
        actions.reopen(ctx.s, ctx.work, ticket, ctx.actor, ctx.rest(0) or "reopened by a lead")
    elif ticket.status == Status.WAITING_CUSTOMER:
        actions.resume(ctx.s, ctx.work, ticket, ctx.actor, ctx.rest(0) or "resumed by a lead")
    else:
        raise ctx.bad_usage()
    return texts.staff_text("resumed", ctx.lang, ticket=ticket.display_id)


@command("override", roles=LEADS, usage="override @who FROM TO [instead @other] [reason]",
         summary=texts.staff_key("summary_override"))
async def override(ctx: Ctx) -> str:
    if len(ctx.args) < 3:
        raise ctx.bad_usage()
    engineer = ctx.engineer_arg(ctx.args[0])
    start = parse_when(ctx.args[1], ctx.tz, ctx.now)
    end = parse_when(ctx.args[2], ctx.tz, ctx.now, after=start)
    rest = ctx.args[3:]
    replaces = None
    if len(rest) >= 2 and rest[0].lower() in ("instead", "replaces", "вместо"):
        replaces, rest = ctx.engineer_arg(rest[1]), rest[2:]
    if end <= start:
        raise ctx.bad_usage()
    reason = " ".join(rest) or f"set by {ctx.actor_name}"
    rule = Override(engineer.id, start, end, replaces.id if replaces else None, reason)
    ctx.work.override(override_to_row(rule, ctx.actor, ctx.now))
    ctx.after.append(ctx.reload_overrides)
    return texts.staff_text("override_ok", ctx.lang, name=engineer.name, start=texts.when(start, ctx.tz, ctx.lang),
               end=texts.when(end, ctx.tz, ctx.lang),
               replaces=texts.staff_text("override_replaces", ctx.lang, name=replaces.name) if replaces else "")


async def _ticket_and_argument(ctx: Ctx) -> tuple[Ticket, str]:
    """The ticket (named first, or the one the thread is about), then the argument the
    command cannot do without (whom to reassign to, which priority); it stays in `args`."""
    ticket = await ctx.ticket_arg()
    if not ctx.args:
        raise ctx.bad_usage()
    return ticket, ctx.args[0]


def parse_when(text: str, tz: str, now: datetime, *, after: datetime | None = None) -> datetime:
    """What a lead types for a time: now, +2h, 10:00 (today, or the next day if that is
    not after `after`), or an ISO date-time (in the asker's zone unless it names one)."""
    zone = ZoneInfo(tz)
    value = text.strip().lower()
    try:
        if value == "now":
            return now
        if value.startswith("+"):
            return now + parse_duration(value[1:])
        if len(value) <= 5 and ":" in value:
            hour, minute = (int(x) for x in value.split(":"))
            local = now.astimezone(zone).replace(hour=hour, minute=minute, second=0, microsecond=0)
            floor = after or now - timedelta(hours=12)
            while local <= floor:
                local = (local + timedelta(days=1)).replace(hour=hour, minute=minute)
            return local
        parsed = datetime.fromisoformat(text.strip())
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    except ValueError:
        raise StaffError("bad_time", text=text) from None
