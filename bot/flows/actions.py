"""What can happen to a ticket, each as one function over a unit of work.

Intake, the staff side, commands, buttons and SLA reminders all change tickets through
these functions, so a reassignment made by a button and one made by a lead's command log
the same events, notify the same people and restart the same clocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.app.config import EngineerConfig
from bot.core.domain import Attachment, Direction, EventType, Message, Priority, Status, Ticket
from bot.core.services import Services
from bot.core.work import Work
from bot.delivery.contract import Button, SourceRef
from bot.flows.notify import Why, message_text
from bot.i18n import texts
from routing.assign import Assignment, Decision, Queued
from routing.durations import format_duration
from routing.reasons import joined

Loads = Mapping[str, tuple[int, datetime | None]]


def active_status(ticket: Ticket) -> Status:
    """The status a ticket returns to when work on it goes on."""
    if ticket.first_response_at is not None:
        return Status.IN_PROGRESS
    return Status.ASSIGNED if ticket.assignee else Status.NEW


def set_status(work: Work, ticket: Ticket, status: Status, actor: str, reason: str) -> None:
    if ticket.status == status:
        return
    old = ticket.status
    ticket.status = status
    work.log(ticket, EventType.STATUS_CHANGED, actor, reason, old=old.value, new=status.value)


def apply_decision(s: Services, work: Work, ticket: Ticket, decision: Decision, actor: str) -> None:
    if isinstance(decision, Assignment):
        set_assignee(s, work, ticket, decision.engineer, actor, decision.reasons, decision.flags)
        return
    previous = s.directory.engineer(ticket.assignee)
    ticket.assignee = None
    ticket.pickup_at = decision.pickup_at
    if ticket.status == Status.ASSIGNED:
        set_status(work, ticket, Status.NEW, actor, "waiting in the queue")
    work.log(ticket, EventType.QUEUED, actor, joined(decision.reasons), pickup_at=decision.pickup_at.isoformat())
    if previous is not None:
        work.send(*s.notifier.unassigned(ticket, previous, decision.reasons))
    if decision.alert_lead:
        work.send(*s.notifier.nobody_on_duty(ticket, decision))
        work.log(ticket, EventType.LEAD_ALERTED, "desk", "nobody on duty can take it")
    work.send(*s.notifier.header(ticket))


def set_assignee(
    s: Services, work: Work, ticket: Ticket, engineer_id: str, actor: str, why: Sequence[Why],
    flags: Sequence[Why] = (),
) -> None:
    """`why`: the reasons, each engineer told reads them in their own language."""
    previous = ticket.assignee
    if previous == engineer_id:
        ticket.pickup_at = None  # an escalation held by its assignee found nobody else
        return
    engineer = s.directory.engineer(engineer_id)
    if engineer is None:
        raise ValueError(f'no engineer "{engineer_id}"')
    ticket.assignee = engineer_id
    ticket.assigned_at = work.now
    ticket.pickup_at = None
    if ticket.status == Status.NEW:
        set_status(work, ticket, Status.ASSIGNED, actor, f"assigned to {engineer.name}")
    kind = EventType.ASSIGNED if previous is None else EventType.REASSIGNED
    work.log(ticket, kind, actor, joined(why), engineer=engineer_id, previous=previous, flags=[str(f) for f in flags])
    due = s.sla.first_response_due(ticket, work.now)
    work.send(*s.notifier.assigned(ticket, engineer, why, flags, due))
    old = s.directory.engineer(previous)
    if old is not None:
        work.send(*s.notifier.unassigned(ticket, old, why))
    work.send(*s.notifier.header(ticket))


def change_priority(
    s: Services, work: Work, ticket: Ticket, priority: Priority, actor: str, reason: str, loads: Loads,
) -> None:
    """Re-target the clocks (time used so far is kept) and, if a waiting ticket became
    urgent, route it now instead of at the next local shift."""
    if priority == ticket.priority:
        return
    old = ticket.priority
    ticket.priority = priority
    ticket.priority_reason = reason
    work.log(ticket, EventType.PRIORITY_CHANGED, actor, reason, old=old.name, new=priority.name)
    if ticket.is_open and ticket.assignee is None:
        apply_decision(s, work, ticket, s.triage.assign(ticket, loads, work.now), "desk")
    else:
        work.send(*s.notifier.header(ticket))


def record_engineer_message(
    s: Services, work: Work, ticket: Ticket, engineer_id: str, text: str, *,
    source: SourceRef | None, relay: bool, attachments: tuple[Attachment, ...] = (),
) -> Message:
    """An engineer wrote to the customer: the first response, a progress update.

    `relay` is False when the customer already saw it (the engineer wrote in their chat).
    """
    engineer = s.directory.engineer(engineer_id)
    name = engineer.name if engineer else engineer_id
    message = Message(
        ticket.id, Direction.ENGINEER, engineer_id, text, work.now, attachments,
        channel=source.channel if source else None, chat_id=source.chat_id if source else None,
        platform_id=source.message_id if source else None,
    )
    work.add_message(message)
    if ticket.assignee is None:
        set_assignee(s, work, ticket, engineer_id, engineer_id, [texts.desk_reason("answered_customer", name=name)])
    if ticket.first_response_at is None:
        ticket.first_response_at = work.now
        used = work.now - ticket.created_at
        after = format_duration(used) if used.total_seconds() >= 60 else "at once"
        work.log(ticket, EventType.FIRST_RESPONSE, engineer_id, f"{name} answered {after} after the request")
    ticket.last_update_at = work.now  # also when they wrote in the customer's chat, not relayed
    if ticket.status in (Status.NEW, Status.ASSIGNED, Status.WAITING_CUSTOMER):
        if ticket.status == Status.WAITING_CUSTOMER:
            s.sla.resume(ticket, work.now)
        set_status(work, ticket, Status.IN_PROGRESS, engineer_id, f"{name} is working on it")
    work.touch(ticket)
    if relay:
        same_channel = source is not None and source.channel == ticket.conversation.channel
        work.send(s.notifier.to_customer(
            ticket, "reply", message_text(message), copy_of=source if same_channel else None))
    return message


def pause(s: Services, work: Work, ticket: Ticket, actor: str, reason: str) -> None:
    """Waiting on the customer: the resolution clock stops until they write."""
    s.sla.pause(ticket, work.now)
    set_status(work, ticket, Status.WAITING_CUSTOMER, actor, reason)
    work.log(ticket, EventType.CLOCK_PAUSED, actor, reason)
    work.send(*s.notifier.header(ticket))


def resume(s: Services, work: Work, ticket: Ticket, actor: str, reason: str) -> None:
    s.sla.resume(ticket, work.now)
    set_status(work, ticket, active_status(ticket), actor, reason)
    work.log(ticket, EventType.CLOCK_RESUMED, actor, reason)
    work.send(*s.notifier.header(ticket))


def resolve(s: Services, work: Work, ticket: Ticket, actor: str, note: str) -> None:
    s.sla.pause(ticket, work.now)
    ticket.resolved_at = work.now
    set_status(work, ticket, Status.RESOLVED, actor, note or "resolved")
    lang = ticket.language
    rating = tuple(Button("rate", ticket.id, str(n), str(n)) for n in range(1, 6))
    work.send(s.notifier.to_customer(ticket, "resolved", texts.text("resolved", lang, ticket=ticket.display_id),
                                     buttons=rating))
    work.send(*s.notifier.header(ticket))


def close(s: Services, work: Work, ticket: Ticket, actor: str, reason: str, *, tell_customer: bool = True) -> None:
    s.sla.pause(ticket, work.now)
    ticket.closed_at = work.now
    set_status(work, ticket, Status.CLOSED, actor, reason)
    if tell_customer:
        body = texts.text("closed", ticket.language, ticket=ticket.display_id)
        work.send(s.notifier.to_customer(ticket, "closed", body))
    work.send(*s.notifier.header(ticket))


def reopen(s: Services, work: Work, ticket: Ticket, actor: str, reason: str) -> None:
    ticket.resolved_at = None
    s.sla.resume(ticket, work.now)
    set_status(work, ticket, active_status(ticket), actor, reason)
    work.log(ticket, EventType.CLOCK_RESUMED, actor, "reopened: the resolution clock runs again")
    body = texts.text("reopened", ticket.language, ticket=ticket.display_id)
    work.send(s.notifier.to_customer(ticket, "reopened", body))
    work.send(*s.notifier.header(ticket))


def escalate(
    s: Services, work: Work, ticket: Ticket, actor: str, loads: Loads, *, to_tier: str | None,
    area: str | None, reason: Why,
) -> Decision:
    decision = s.triage.escalate(ticket, loads, work.now, to_tier, area)
    old_tier = ticket.tier
    ticket.tier = decision.tier
    ticket.escalation_level += 1
    why = joined((reason, *decision.reasons))
    work.log(ticket, EventType.ESCALATED, actor, why, old_tier=old_tier, new_tier=decision.tier, area=area)
    route_or_hold(s, work, ticket, decision, actor)
    return decision


def route_or_hold(s: Services, work: Work, ticket: Ticket, decision: Decision, actor: str) -> None:
    """An escalated ticket whose new tier has nobody on duty stays with the engineer who has
    it until someone of that tier comes on (at `pickup_at`), instead of going back to the
    queue: a P1 at night must never be left with nobody."""
    holder = s.directory.engineer(ticket.assignee)
    if isinstance(decision, Assignment) or holder is None:
        apply_decision(s, work, ticket, decision, actor)
        return
    hold(s, work, ticket, holder, decision, actor)


def hold(s: Services, work: Work, ticket: Ticket, holder: EngineerConfig, decision: Queued, actor: str) -> None:
    ticket.pickup_at = decision.pickup_at
    work.log(ticket, EventType.QUEUED, actor, f"{joined(decision.reasons)}; stays with {holder.name} until then",
             pickup_at=decision.pickup_at.isoformat(), holder=holder.id)
    work.send(*s.notifier.held(ticket, holder, decision))
    if decision.alert_lead:
        work.send(*s.notifier.nobody_on_duty(ticket, decision, holder))
        work.log(ticket, EventType.LEAD_ALERTED, "desk", f"nobody of the new tier on duty; {holder.name} keeps it")
    work.send(*s.notifier.header(ticket))
