"""A customer's message: join the conversation's ticket or open a new one, route, reply.

The path reads straight: de-duplicate → find the ticket → detect language and priority →
assign → record message, events and the outbound messages they cause → one commit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.core.domain import (
    ClockState,
    ConversationRef,
    Direction,
    EventType,
    Inbound,
    Kind,
    Message,
    Priority,
    Status,
    Ticket,
)
from bot.core.records import message_from_row, ticket_from_row
from bot.core.services import Services
from bot.core.work import Work
from bot.delivery.contract import SourceRef
from bot.flows import actions
from bot.i18n import texts
from routing.language import Reading
from storage.base import Intake, Probe

SUBJECT_LENGTH = 120
# A customer who sent what the desk cannot read is told what it takes — not at every such
# message: once per conversation in this long.
HINT_EVERY = timedelta(minutes=5)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Characters that show nothing although they are neither spaces nor controls: the Braille
# blank and the Hangul fillers people use to send an "empty" message.
_INVISIBLE = frozenset("\u2800\u3164\u115f\u1160\uffa0\u180e")
_BUG_WORDS = re.compile(r"(?<!\w)(bug|error|exception|ошибк\w*|баг\w*|błąd|fejl)(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class Receipt:
    """What the adapter learns: which ticket, whether it is new, or a duplicate; `reply`
    is something to tell the sender right away (an error, a hint)."""

    ticket_id: int | None = None
    created: bool = False
    duplicate: bool = False
    reply: str | None = None


def clean_text(text: str | None, limit: int, language: str | None) -> str:
    """Drop control characters (they break terminals and some platforms' APIs), normalise
    Unicode, and keep at most `limit` characters with a visible note of the cut."""
    cleaned = _CONTROL.sub("", unicodedata.normalize("NFC", text or "")).strip()
    if len(cleaned) > limit:
        dropped = len(cleaned) - limit
        cleaned = cleaned[:limit] + "\n" + texts.ntext("truncated", dropped, language, count=dropped)
    return cleaned


def is_blank(text: str) -> bool:
    """Nothing a person could read: spaces, controls, zero-width and filler characters."""
    return all(
        c.isspace() or c in _INVISIBLE or unicodedata.category(c) in ("Cc", "Cf", "Zs", "Zl", "Zp") for c in text
    )


def subject_of(text: str, fallback: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first:
        return fallback
    return first if len(first) <= SUBJECT_LENGTH else first[: SUBJECT_LENGTH - 1] + "…"


def kind_of(text: str, priority: Priority) -> Kind:
    if priority <= Priority.P2:
        return Kind.INCIDENT
    return Kind.BUG if _BUG_WORDS.search(text) else Kind.QUESTION


@dataclass
class _Batch:
    """What earlier messages of the same batch decided and the store has not seen yet: the
    batch commits once, so each decision reads the store's answer through this overlay."""

    loads: dict[str, tuple[int, datetime | None]]
    next_id: int
    keys: set[str] = field(default_factory=set)
    tickets: dict[ConversationRef, Ticket] = field(default_factory=dict)
    refs: dict[tuple[str, str, str], Ticket] = field(default_factory=dict)
    fresh_used: set[ConversationRef] = field(default_factory=set)

    def ticket_for(self, msg: Inbound, found: Intake) -> Ticket | None:
        conv = msg.conversation
        if msg.reply_to is not None and (ticket := self.refs.get((conv.channel, conv.chat_id, msg.reply_to))):
            return ticket
        if conv in self.tickets:
            return self.tickets[conv]
        return None if found.ticket is None else ticket_from_row(found.ticket)

    def record(self, msg: Inbound, ticket: Ticket, previous: str | None, created: bool, now: datetime) -> None:
        conv = msg.conversation
        self.keys.add(msg.dedupe_key)
        self.tickets[conv] = ticket
        self.refs[(conv.channel, conv.chat_id, msg.message_id)] = ticket
        if created:
            self.next_id = max(self.next_id, ticket.id + 1)
        if ticket.assignee != previous and ticket.is_open:
            if ticket.assignee is not None:
                count, _ = self.loads.get(ticket.assignee, (0, None))
                self.loads[ticket.assignee] = (count + 1, now)
            if previous is not None and previous in self.loads:
                count, last = self.loads[previous]
                self.loads[previous] = (max(count - 1, 0), last)


def probe(msg: Inbound) -> Probe:
    conv = msg.conversation
    return Probe(msg.dedupe_key, conv.channel, conv.chat_id, conv.thread_id, msg.reply_to, msg.album)


async def customer_messages(s: Services, msgs: Sequence[Inbound]) -> list[Receipt]:
    """Decide a batch of customer messages in order and commit them together.

    Messages that arrive while the previous commit runs are decided in one go: one read of
    the store, one transaction (group commit). Each decision still sees every earlier one,
    through the batch's overlay.
    """
    founds = await s.store.intake([probe(m) for m in msgs])
    # What each text says about its language, for the whole batch at once (the model runs
    # on every core); hints are weighed per message below.
    readings = s.triage.detector.read_many([m.text for m in msgs])
    work = s.work()
    batch = _Batch(dict(founds[0].loads), founds[0].next_ticket_id) if founds else None
    receipts = []
    for msg, found, reading in zip(msgs, founds, readings, strict=True):
        assert batch is not None
        if found.seen or msg.dedupe_key in batch.keys:
            ticket = batch.ticket_for(msg, found)
            receipts.append(Receipt(ticket_id=ticket.id if ticket else None, duplicate=True))
            continue
        fresh = found.fresh and msg.conversation not in batch.fresh_used
        ticket = _joinable(s, work, batch.ticket_for(msg, found), fresh, msg)
        if fresh:
            batch.fresh_used.add(msg.conversation)
        previous = ticket.assignee if ticket else None
        if ticket is None:
            ticket = _open_ticket(s, work, batch, msg, reading)
            created = True
        else:
            _follow_up(s, work, batch, found, ticket, msg, reading)
            created = False
        work.take_key(msg.dedupe_key, ticket.id)
        work.ref(msg.channel, msg.conversation.chat_id, msg.message_id, ticket.id)
        batch.record(msg, ticket, previous, created, work.now)
        receipts.append(Receipt(ticket_id=ticket.id, created=created))
    await s.commit(work)
    return receipts


def _joinable(s: Services, work: Work, ticket: Ticket | None, fresh: bool, msg: Inbound) -> Ticket | None:
    if fresh:
        work.mark_fresh(msg.conversation, on=False)
    if ticket is None or msg.new_ticket or fresh:
        return None
    stale = (
        ticket.status == Status.RESOLVED
        and ticket.resolved_at is not None
        and work.now - ticket.resolved_at > s.cfg.desk.reopen_within
    )
    if stale:
        actions.close(s, work, ticket, "desk", "resolved long ago; the customer wrote again", tell_customer=False)
        return None
    return ticket


def _open_ticket(s: Services, work: Work, batch: _Batch, msg: Inbound, reading: Reading) -> Ticket:
    identity = msg.sender.identity
    org = s.directory.organisation_of(identity, msg.conversation)
    plan = org.plan if org else s.cfg.desk.default_plan
    language = s.triage.language(msg.text, platform=msg.sender.language, org=org, reading=reading)
    text = clean_text(msg.text, s.cfg.desk.max_text, language.language)
    priority = s.triage.priority(text, chosen=msg.priority, plan=plan)
    now = work.now
    ticket = Ticket(
        id=batch.next_id,
        status=Status.NEW,
        priority=priority.priority,
        priority_reason=priority.reason,
        kind=kind_of(text, priority.priority),
        language=language.language,
        subject=subject_of(text, _attachment_subject(msg)),
        customer=identity,
        customer_name=msg.sender.name,
        org_id=org.id if org else None,
        plan=plan,
        customer_tz=org.timezone if org else s.cfg.desk.timezone,
        conversation=msg.conversation,
        created_at=now,
        updated_at=now,
        last_customer_at=now,
        last_customer_message=msg.message_id,
        clock=ClockState(running_since=now),
    )
    who = f"{msg.sender.name} ({identity})" if msg.sender.name else identity
    whose = f"organisation {org.name}, plan {plan}" if org else f"no organisation: default plan {plan}"
    work.log(
        ticket, EventType.CREATED, identity,
        f"{msg.channel} message from {who}; {whose}; language: {language.reason}; "
        f"priority: {priority.reason}",
        language=language.language, language_confidence=round(language.confidence, 3),
        priority=priority.priority.name,
    )
    message = _message(ticket, msg, text)
    work.add_message(message)
    decision = s.triage.assign(ticket, batch.loads, now)
    actions.apply_decision(s, work, ticket, decision, "desk")
    work.send(*s.notifier.customer_message(ticket, message, _source(msg)))
    work.send(s.notifier.ack(ticket, decision, s.sla.first_response_due(ticket, now)))
    return ticket


def _follow_up(
    s: Services, work: Work, batch: _Batch, found: Intake, ticket: Ticket, msg: Inbound, reading: Reading,
) -> None:
    identity = msg.sender.identity
    org = s.directory.organisation(ticket.org_id)
    text = clean_text(msg.text, s.cfg.desk.max_text, ticket.language)
    if found.album_message is not None and found.album_message["ticket_id"] == ticket.id:
        _merge_album_part(s, work, ticket, message_from_row(found.album_message), msg, text)
        return
    language = s.triage.language(
        text, platform=msg.sender.language, org=org, ticket_language=ticket.language, reading=reading
    )
    if language.language != ticket.language:
        work.log(ticket, EventType.LANGUAGE_CHANGED, identity, language.reason,
                 old=ticket.language, new=language.language)
        ticket.language = language.language
    ticket.last_customer_at = work.now
    ticket.last_customer_message = msg.message_id
    message = _message(ticket, msg, text)
    work.add_message(message)
    if ticket.status == Status.WAITING_CUSTOMER:
        actions.resume(s, work, ticket, identity, "the customer answered")
    elif ticket.status == Status.RESOLVED:
        actions.reopen(s, work, ticket, identity, "the customer wrote after the resolution")
    priority = s.triage.priority(text, chosen=msg.priority, plan=ticket.plan)
    # Only what the message says (or the customer chose) raises it: a follow-up that says
    # nothing about urgency is not a request to move a P4 up to the default P3.
    if priority.source != "default" and priority.priority < ticket.priority:
        actions.change_priority(s, work, ticket, priority.priority, identity, priority.reason, batch.loads)
    work.touch(ticket)
    work.send(*s.notifier.customer_message(ticket, message, _source(msg)))


def _merge_album_part(s: Services, work: Work, ticket: Ticket, first: Message, msg: Inbound, text: str) -> None:
    """Albums arrive as one platform message per photo; the ticket shows them as one."""
    merged = replace(
        first,
        text="\n".join(part for part in (first.text, text) if part),
        attachments=first.attachments + msg.attachments,
    )
    work.add_message(merged)
    work.touch(ticket)
    part = _message(ticket, msg, text)
    work.send(*s.notifier.customer_message(ticket, part, _source(msg)))


def _message(ticket: Ticket, msg: Inbound, text: str) -> Message:
    return Message(
        ticket_id=ticket.id, direction=Direction.CUSTOMER, author=msg.sender.identity, text=text,
        at=msg.at, attachments=msg.attachments, channel=msg.channel, chat_id=msg.conversation.chat_id,
        platform_id=msg.message_id, album=msg.album,
    )


def _source(msg: Inbound) -> SourceRef:
    return SourceRef(msg.channel, msg.conversation.chat_id, msg.message_id)


def _attachment_subject(msg: Inbound) -> str:
    kinds = ", ".join(dict.fromkeys(a.kind for a in msg.attachments))
    return f"[{kinds}]" if kinds else "(no text)"


async def unreadable(s: Services, msg: Inbound) -> Receipt:
    """A customer sent something the desk cannot read: one short reply in their language
    saying what it takes — at most once per conversation every `HINT_EVERY`. Nothing is
    stored but the message's key (a redelivery is a duplicate) and the time of the reply."""
    [found] = await s.store.intake([probe(msg)])
    if found.seen:
        return Receipt(duplicate=True)
    conv = msg.conversation
    ticket = None if found.ticket is None else ticket_from_row(found.ticket)
    work = s.work()
    work.take_key(msg.dedupe_key, ticket.id if ticket else None)
    last = await s.store.hint_at(conv.channel, conv.chat_id, conv.thread_id)
    if last is None or work.now - last >= HINT_EVERY:
        org = s.directory.organisation_of(msg.sender.identity, conv)
        language = ticket.language if ticket else s.triage.language(
            "", platform=msg.sender.language, org=org).language
        work.hinted(conv)
        work.send(s.notifier.to_conversation(conv, "notice", texts.text("unreadable", language),
                                             reply_to=msg.message_id, ticket=ticket))
    await s.commit(work)
    return Receipt(ticket_id=ticket.id if ticket else None)
