"""The desk: the one public entry point adapters and the CLI talk to.

Adapters hand it platform-neutral events (`Inbound`, `Edited`, button presses, commands);
it decides, commits each decision with its outbound messages in one transaction, and
returns at once — delivery happens later, from the outbox. Decisions are serialised by one
lock: SQLite has one writer anyway, and a ticket decided twice at once would be decided
wrong (two new tickets for one conversation, one engineer picked twice).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot import commands
from bot.app.config import Config
from bot.commands.types import CommandRequest, Press, Reply
from bot.core.clock import Clock
from bot.core.directory import StaffRoom
from bot.core.domain import ConversationRef, Direction, Edited, EventType, Inbound, Sender
from bot.core.groupcommit import GroupCommit
from bot.core.records import message_from_row, override_from_row, ticket_from_row
from bot.core.services import Services
from bot.core.work import Work
from bot.delivery.contract import Audience, DeliveryResult, Outbound
from bot.flows import customer, deadletters, erasure, staff, unreachable
from bot.flows.customer import Receipt, clean_text, is_blank
from bot.i18n import texts
from bot.sla import reminders
from routing.language import LanguageDetector
from storage.base import Booking, DuplicateKey, Store

log = logging.getLogger("dutydesk.desk")


class Desk:
    def __init__(
        self, cfg: Config, store: Store, clock: Clock, *, channels: frozenset[str],
        detector: LanguageDetector | None = None,
    ) -> None:
        # The store and the clock are the desk's for its life: a reconfigure builds new
        # services around the same two.
        self.store = store
        self.clock = clock
        self.services = Services.build(cfg, store, clock, channels, detector)
        self._lock = asyncio.Lock()
        # A part of an album goes alone: the parts merge into one stored message, which the
        # next part must find in the store. Each batch is decided with the services of the
        # moment (a reload, `reconfigure`, swaps them).
        self._intake: GroupCommit[Inbound, Receipt] = GroupCommit(
            self._lock, lambda msgs: customer.customer_messages(self.services, msgs),
            alone=lambda msg: msg.album is not None,
        )
        # Deliveries are booked together: the sooner one commits, the less a crash re-sends.
        self._bookings: GroupCommit[Booking, None] = GroupCommit(None, self._book)
        self._replays: dict[str, deadletters.Replay] = {}

    async def reconfigure(self, cfg: Config) -> None:
        """Run on a new config (SIGHUP, `dutydesk reload`): roster, shifts, rotations,
        overrides, plans, organisations, templates. The new services are built first — a
        config they cannot be built from raises and changes nothing — and swapped in between
        two decisions, with the shift overrides leads made at run time read again."""
        old = self.services
        same_languages = (cfg.desk.languages, cfg.desk.default_language) == (
            old.cfg.desk.languages, old.cfg.desk.default_language)
        fresh = Services.build(cfg, self.store, self.clock, old.directory.channels,
                               old.triage.detector if same_languages else None)
        fresh.listeners, fresh.telemetry = old.listeners, old.telemetry
        async with self._lock:
            rows = await old.store.overrides(old.clock.now())
            fresh.triage.set_overrides(override_from_row(r) for r in rows)
            self.services = fresh

    def subscribe(self, listener: Callable[[Work], None]) -> None:
        self.services.listeners.append(listener)

    # -- inbound ----------------------------------------------------------------------------

    async def receive(self, msg: Inbound) -> Receipt:
        """Take one platform message. Safe to call again with the same message."""
        telemetry = self.services.telemetry
        telemetry.message_in(msg.channel, (self.clock.now() - msg.at).total_seconds())
        started = time.perf_counter()
        try:
            return await self._receive(msg)
        finally:
            telemetry.decided(time.perf_counter() - started)

    async def _receive(self, msg: Inbound) -> Receipt:
        s = self.services
        room = s.directory.staff_room(msg.channel, msg.conversation.chat_id)
        engineer = s.directory.engineer_by_identity(msg.sender.identity)
        from_customer = room is None and engineer is None
        if is_blank(msg.text) and not msg.attachments:
            if from_customer and msg.unreadable is not None:
                log.info("message %s from %s holds nothing the desk reads (%s)", msg.dedupe_key,
                         msg.sender.identity, msg.unreadable)
                async with self._lock:
                    try:
                        return await customer.unreadable(s, msg)
                    except DuplicateKey:
                        return Receipt(duplicate=True)
            log.info("ignored an empty message %s from %s", msg.dedupe_key, msg.sender.identity)
            return Receipt()
        if from_customer:
            return await self._intake.submit(msg)
        async with self._lock:
            try:
                if room is not None:
                    return await staff.room_message(s, msg, room, engineer)
                assert engineer is not None
                if msg.private:
                    return await staff.direct_message(s, msg, engineer)
                return await staff.in_customer_chat(s, msg, engineer)
            except DuplicateKey:
                return Receipt(duplicate=True)

    async def edit(self, msg: Edited) -> Receipt:
        """The sender edited a message we have: the ticket shows the new text; staff see a
        customer's edit, and the customer an engineer's correction (what they already read
        cannot be changed on every platform, so the correction follows it)."""
        s = self.services
        conv = msg.conversation
        async with self._lock:
            row = await s.store.message_by_ref(conv.channel, conv.chat_id, msg.message_id)
            if row is None:
                return Receipt()
            message = message_from_row(row)
            ticket_row = await s.store.ticket(message.ticket_id)
            if ticket_row is None:
                return Receipt()
            ticket = ticket_from_row(ticket_row)
            work = s.work()
            text = clean_text(msg.text, s.cfg.desk.max_text, ticket.language)
            if message.direction == Direction.NOTE:
                text = staff.note_text(text) or text  # kept as the note was: without its "!"
            if text == message.text:
                return Receipt(ticket_id=ticket.id)
            work.add_message(replace(message, text=text, edited_at=work.now))
            work.log(ticket, EventType.MESSAGE_EDITED, msg.sender.identity, "message edited",
                     message=message.id, old=message.text[:500], new=text[:500])
            if message.direction == Direction.CUSTOMER:
                name = ticket.customer_name or ticket.customer
                body = texts.staff_text("edited_copy", s.notifier.room_language, name=name, text=text)
                work.send(*s.notifier.to_rooms(ticket, "edit", body))
            elif message.direction == Direction.ENGINEER and not _in_customer_chat(conv, ticket.conversation):
                correction = texts.text("correction", ticket.language, text=text)
                work.send(s.notifier.to_customer(ticket, "correction", correction))
            await s.commit(work)
            return Receipt(ticket_id=ticket.id)

    # -- updates intake could not take (see bot/flows/deadletters.py) ----------------------------

    async def set_aside(self, channel: str, key: str, payload: str, error: str, attempts: int) -> None:
        """Keep an update that failed every attempt, so the ones after it go on; the leads
        are told the first time this update is set aside."""
        async with self._lock:
            await deadletters.set_aside(self.services, channel, key, payload, error, attempts)

    def guard(self, channel: str, *, budget: float | None = None) -> deadletters.Guard:
        """The intake discipline a channel takes its updates through (the config's [intake])."""
        return deadletters.Guard(self, channel, self.services.cfg.intake, budget=budget)

    def accept_replays(self, channel: str, replay: deadletters.Replay) -> None:
        """How a running channel takes one of its set-aside updates again (`deadletter retry`)."""
        self._replays[channel] = replay

    async def retry_set_aside(self) -> int:
        """Replay the set-aside updates a person marked for retry; returns how many were taken."""
        return await deadletters.retry_marked(self.services, self._replays, self._lock)

    # -- delivery outcomes (called by the dispatcher) --------------------------------------

    async def delivery_failed(self, message: Outbound, reason: str) -> None:
        """A message cannot be delivered. If the customer is unreachable (they blocked the
        bot), the engineer must know; if an engineer is (they never pressed Start), the
        leads — once per engineer, so that a failure cannot cause a stream of others."""
        s = self.services
        log.warning("outbox %s to %s:%s undeliverable: %s", message.id, message.recipient.channel,
                    message.recipient.chat_id, reason, extra={"ticket": message.ticket_id,
                                                              "channel": message.recipient.channel,
                                                              "event": "undeliverable"})
        await s.store.mark_failed(message.id, s.clock.now(), reason)
        if message.recipient.audience == Audience.ENGINEER:
            async with self._lock:
                await unreachable.tell_leads(s, message, reason)
            return
        if message.ticket_id is None or message.recipient.audience != Audience.CUSTOMER:
            return
        async with self._lock:
            row = await s.store.ticket(message.ticket_id)
            if row is None:
                return
            ticket = ticket_from_row(row)
            work = s.work()
            work.log(ticket, EventType.DELIVERY_FAILED, "desk", reason, outbox=message.id)
            engineer = s.directory.engineer(ticket.assignee)
            people = [engineer] if engineer else s.directory.leads()
            for person in people:
                body = texts.staff_text("delivery_failed", s.notifier.engineer_language(person),
                                  ticket=ticket.display_id, reason=reason)
                work.send(s.notifier.to_engineer(person, "alert", body, ticket=ticket))
            await s.commit(work)

    async def chat_moved(self, channel: str, old_chat_id: str, new_chat_id: str) -> None:
        """A Telegram group became a supergroup: its tickets and queued messages follow."""
        async with self._lock:
            moved = await self.store.chat_moved(channel, old_chat_id, new_chat_id)
        log.warning("%s chat %s moved to %s (%d tickets follow); update any config that names the old id",
                    channel, old_chat_id, new_chat_id, moved)

    async def record_delivery(self, message: Outbound, result: DeliveryResult) -> None:
        """Remember what a sent message became on the platform: replies to it find the
        ticket, and a staff thread created by it is bound to the ticket."""
        s = self.services
        rcpt = message.recipient
        ref = None
        if message.ticket_id is not None and result.message_id is not None:
            ref = {"channel": rcpt.channel, "chat_id": result.chat_id or rcpt.chat_id,
                   "message_id": result.message_id, "ticket_id": message.ticket_id}
        thread = None
        if message.ticket_id is not None and rcpt.audience == Audience.STAFF_ROOM and (
            result.thread_id is not None or result.header_id is not None
        ):
            thread = {"ticket_id": message.ticket_id, "channel": rcpt.channel, "chat_id": rcpt.chat_id,
                      "thread_id": result.thread_id or rcpt.thread_id, "header_id": result.header_id}
        await self._bookings.submit(Booking(message.id, s.clock.now(), result.message_id, ref, thread))
        recreated = rcpt.thread_id is not None and result.thread_id not in (None, rcpt.thread_id)
        if recreated and message.kind != "header" and message.ticket_id is not None:
            await self._repost_header(message.ticket_id, StaffRoom(rcpt.channel, rcpt.chat_id))

    async def _book(self, bookings: Sequence[Booking]) -> list[None]:
        await self.store.mark_sent_many(bookings)
        return [None] * len(bookings)

    async def _repost_header(self, ticket_id: int, room: StaffRoom) -> None:
        """A staff thread deleted by hand was re-created by delivery: give it its header
        (summary and buttons) again."""
        s = self.services
        async with self._lock:
            row = await s.store.ticket(ticket_id)
            if row is None:
                return
            work = s.work()
            work.send(*s.notifier.header(ticket_from_row(row), only=room))
            await s.commit(work)

    # -- time-driven work (called by the scheduler) ------------------------------------------

    async def fire_due(self) -> int:
        """Handle every deadline due by now, oldest first; returns how many fired.

        One at a time, re-reading after each: handling one deadline recomputes the ticket's
        others, so a batch read up front could hold rows that no longer apply.
        """
        s = self.services
        fired = 0
        while True:
            async with self._lock:
                rows = await s.store.due_deadlines(s.clock.now(), 1)
                if not rows:
                    return fired
                await reminders.fire(s, rows[0])
            fired += 1

    async def expire_texts(self, closed_after: timedelta) -> int:
        """The daily retention job (`[retention] closed_after`), between decisions."""
        return await erasure.expire_texts(self.store, self.clock.now(), closed_after, self._lock)

    async def next_due(self) -> datetime | None:
        return await self.store.next_due()

    async def load_overrides(self) -> None:
        """Shift overrides that leads made at run time survive restarts."""
        rows = await self.store.overrides(self.clock.now())
        self.services.triage.set_overrides(override_from_row(r) for r in rows)

    # -- commands and buttons --------------------------------------------------------------------

    def menus(self, channel: str) -> commands.Menus:
        """The command menus `channel` should show (customers', the staff room's, each staff
        member's: lead commands to leads only)."""
        return commands.menus(self.services, channel)

    async def command(self, request: CommandRequest) -> Reply:
        async with self._lock:
            return await commands.run(self.services, request)

    async def press(self, pressed: Press) -> Reply:
        async with self._lock:
            return await commands.press(self.services, pressed)

    def notice(self, key: str, where: ConversationRef) -> str:
        """A customer text (`customer_key`) an adapter answers with at once, worded for whoever
        reads `where`: the staff room's language there, else the chat's organisation's."""
        s = self.services
        if s.directory.staff_room(where.channel, where.chat_id) is not None:
            return texts.text(key, s.notifier.room_language)
        org = s.directory.organisation_of("", where)
        return texts.text(key, org.language if org and org.language else s.cfg.desk.default_language)

    async def brief_lead(self, lead_id: str, command_text: str, kind: str) -> None:
        """Send a lead, privately, what `command_text` would show them now — the daily queue
        digest is `queue`, the weekly report `sla week`: the same views, on a timer."""
        s = self.services
        lead = s.directory.engineer(lead_id)
        contact = s.directory.contact(lead) if lead else None
        if lead is None or contact is None:
            log.warning("cannot brief %s: not an engineer reachable on a running channel", lead_id)
            return
        channel, user = contact
        request = CommandRequest(Sender(f"{channel}:{user}"), ConversationRef(channel, user), command_text)
        async with self._lock:
            reply = await commands.run(s, request)
            work = s.work()
            work.send(s.notifier.to_engineer(lead, kind, reply.text))
            await s.commit(work)


def _in_customer_chat(where: ConversationRef, theirs: ConversationRef) -> bool:
    """An engineer who wrote in the customer's own chat edited it in front of them."""
    return (where.channel, where.chat_id) == (theirs.channel, theirs.chat_id)
