"""What happens when a deadline comes due: warnings, breaches, progress updates, pick-ups.

Each due deadline row is handled in its own unit of work that also marks it fired, so a
reminder is sent exactly once per ticket, clock, stage and target — across restarts,
because the fired mark and the reminder's outbox row commit together.

A reminder goes to the person responsible *now*: if the assignee is off shift, the warning
goes to whoever is on duty for the ticket instead (without taking it from the assignee).
"""

from __future__ import annotations

import logging

from bot.app.config import EngineerConfig
from bot.core.domain import Direction, EventType, Message, Status, Ticket
from bot.core.records import ticket_from_row
from bot.core.services import Services
from bot.core.work import AUTOCLOSE, PICKUP, SNOOZE, Work
from bot.flows import actions
from bot.i18n import texts
from bot.i18n.words import staff_word
from bot.sla.clocks import BREACH, FIRST_RESPONSE, RESOLUTION, UPDATE
from routing.assign import Assignment
from routing.durations import format_duration
from routing.reasons import Reason
from storage.base import Row

log = logging.getLogger("dutydesk.reminders")


async def fire(s: Services, row: Row) -> None:
    work = s.work()
    work.fired(row["id"])
    ticket_row = await s.store.ticket(row["ticket_id"])
    if ticket_row is not None:
        ticket = ticket_from_row(ticket_row)
        handler = _HANDLERS.get(row["clock"])
        if handler is None:
            log.warning("deadline %s has unknown clock %s; marking it fired", row["id"], row["clock"])
        elif _still_relevant(ticket, row["clock"]):
            await handler(s, work, ticket, row)
    await s.commit(work)


def _still_relevant(ticket: Ticket, clock: str) -> bool:
    if clock == AUTOCLOSE:
        return ticket.status == Status.RESOLVED
    return ticket.is_open


async def _sla(s: Services, work: Work, ticket: Ticket, row: Row) -> None:
    clock, stage = row["clock"], row["stage"]
    breach = stage >= BREACH
    people = await _responsible(s, work, ticket)
    for person, covering in people:
        lang = s.notifier.engineer_language(person)
        values = {
            "cover": texts.staff_text("covering", lang, name=covering.name) if covering else "",
            "ticket": ticket.display_id, "priority": ticket.priority.name,
            "clock": staff_word("clock", clock, lang), "percent": stage,
            "due": texts.when(row["target_at"], person.timezone, lang),
        }
        body = texts.staff_text(texts.staff_key("breach") if breach else texts.staff_key("reminder"), lang, **values)
        buttons = s.notifier.staff_buttons(ticket, lang)
        kind = "breach" if breach else "reminder"
        work.send(s.notifier.to_engineer(person, kind, body, ticket=ticket, buttons=buttons))
    sent_to = _names(people)
    if not breach:
        work.log(ticket, EventType.REMINDER_SENT, "desk", f"{clock} {stage}% used; reminded {sent_to}",
                 clock=clock, stage=stage, due=row["target_at"].isoformat())
        return
    passed = row["target_at"].isoformat()
    work.log(ticket, EventType.SLA_BREACHED, "desk", f"{clock} target passed ({passed}); told {sent_to} and the leads",
             clock=clock, due=row["target_at"].isoformat())
    for lead in s.directory.leads():
        if lead not in [p for p, _ in people]:
            lang = s.notifier.engineer_language(lead)
            body = texts.staff_text("breach", lang, cover="", ticket=ticket.display_id, priority=ticket.priority.name,
                                    clock=staff_word("clock", clock, lang),
                                    due=texts.when(row["target_at"], lead.timezone, lang))
            work.send(s.notifier.to_engineer(lead, "breach", body, ticket=ticket))
    if s.sla.targets(ticket.plan, ticket.priority).escalate_on_breach and s.triage.roster.next_tier(ticket.tier):
        loads = await s.store.loads()
        actions.escalate(s, work, ticket, "desk", loads, to_tier=None, area=None,
                         reason=_breached(clock))


def _breached(clock: str) -> Reason:
    """Why a breach escalates the ticket, as a reason the staff read in their language."""
    if clock == FIRST_RESPONSE:
        return texts.desk_reason("breach_first_response")
    return texts.desk_reason("breach_resolution")


async def _update(s: Services, work: Work, ticket: Ticket, row: Row) -> None:
    """Before the update: remind the people on the ticket, so that one of them can write.
    At it: tell the customer where the ticket stands (or, with `progress_note` off, remind
    them once more). A message from anyone in between moves the update on."""
    targets = s.sla.targets(ticket.plan, ticket.priority)
    people = await _on_the_ticket(s, work, ticket)
    notice = row["stage"] < BREACH
    if notice or not targets.progress_note:
        for person, covering in people:
            lang = s.notifier.engineer_language(person)
            values = {"cover": texts.staff_text("covering", lang, name=covering.name) if covering else "",
                      "ticket": ticket.display_id, "interval": texts.duration(targets.update_every, lang),
                      "due": texts.when(row["target_at"], person.timezone, lang)}
            key = texts.staff_key("update_soon") if notice else texts.staff_key("update_due")
            body = texts.staff_text(key, lang, **values)
            buttons = s.notifier.staff_buttons(ticket, lang)
            work.send(s.notifier.to_engineer(person, "reminder", body, ticket=ticket, buttons=buttons))
    what = f"an automatic progress update is due {row['target_at'].isoformat()}" if notice else \
        f"no update to the customer for {format_duration(targets.update_every)}"
    note = ""
    if not notice and targets.progress_note:
        body = s.notifier.progress(ticket)
        work.add_message(Message(ticket.id, Direction.SYSTEM, "desk", body, work.now))
        work.send(s.notifier.to_customer(ticket, "progress", body))
        copy = texts.staff_text("progress_copy", s.notifier.room_language, text=body)
        work.send(*s.notifier.to_rooms(ticket, "mirror", copy))
        note = "; an automatic progress update went to the customer"
    reminded = f"; reminded {_names(people)}" if notice or not targets.progress_note else ""
    work.log(ticket, EventType.REMINDER_SENT, "desk", f"{what}{reminded}{note}",
             clock=UPDATE, stage=row["stage"], due=row["target_at"].isoformat())


async def _on_the_ticket(
    s: Services, work: Work, ticket: Ticket,
) -> list[tuple[EngineerConfig, EngineerConfig | None]]:
    """The assignee (or whoever covers for them off duty); the leads when nobody has it."""
    if ticket.assignee is None:
        return [(lead, None) for lead in s.directory.leads()]
    return await _responsible(s, work, ticket)


async def _pickup(s: Services, work: Work, ticket: Ticket, _: Row) -> None:
    """A queued ticket's local shift has started, or an escalated one's new tier comes on
    duty: route it again (an escalation still held stays held)."""
    if ticket.pickup_at is None:
        return
    loads = await s.store.loads()
    actions.route_or_hold(s, work, ticket, s.triage.assign(ticket, loads, work.now), "desk")


async def _autoclose(s: Services, work: Work, ticket: Ticket, _: Row) -> None:
    after = format_duration(s.cfg.desk.reopen_within)
    actions.close(s, work, ticket, "desk", f"resolved {after} ago with no reply from the customer")


async def _snooze(s: Services, work: Work, ticket: Ticket, _: Row) -> None:
    engineer = s.directory.engineer(ticket.assignee)
    if engineer is None:
        return
    lang = s.notifier.engineer_language(engineer)
    body = texts.staff_text("snoozed", lang, ticket=ticket.display_id, priority=ticket.priority.name,
                            subject=ticket.subject)
    buttons = s.notifier.staff_buttons(ticket, lang)
    work.send(s.notifier.to_engineer(engineer, "reminder", body, ticket=ticket, buttons=buttons))
    work.log(ticket, EventType.REMINDER_SENT, "desk", f"snooze over; reminded {engineer.id}", clock=SNOOZE)


async def _responsible(s: Services, work: Work, ticket: Ticket) -> list[tuple[EngineerConfig, EngineerConfig | None]]:
    """Who should hear about this ticket now: (person, the off-duty assignee they cover for)."""
    assignee = s.directory.engineer(ticket.assignee)
    if assignee is not None and s.triage.on_duty(assignee.id, work.now):
        return [(assignee, None)]
    decision = s.triage.assign(ticket, await s.store.loads(), work.now)
    if isinstance(decision, Assignment):
        stand_in = s.directory.engineer(decision.engineer)
        if stand_in is not None:
            return [(stand_in, assignee)]
    return [(lead, assignee) for lead in s.directory.leads()]


def _names(people: list[tuple[EngineerConfig, EngineerConfig | None]]) -> str:
    return ", ".join(p.id for p, _ in people) or "nobody reachable"


_HANDLERS = {
    FIRST_RESPONSE: _sla,
    RESOLUTION: _sla,
    UPDATE: _update,
    PICKUP: _pickup,
    AUTOCLOSE: _autoclose,
    SNOOZE: _snooze,
}
