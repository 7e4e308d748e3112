"""Messages from engineers: answers relayed to the customer, internal notes kept inside.

An engineer answers in the ticket's staff thread (a Telegram forum topic, a Slack triage
thread) or, without a staff room, by replying in their private chat to any bot message
about the ticket. A text starting with `!` or `/note` is an internal note.
"""

from __future__ import annotations

from bot.app.config import EngineerConfig
from bot.core.directory import StaffRoom
from bot.core.domain import Direction, Inbound, Message, Ticket
from bot.core.records import ticket_from_row
from bot.core.services import Services
from bot.delivery.contract import SourceRef
from bot.flows import actions
from bot.flows.customer import Receipt, clean_text
from bot.flows.notify import message_text
from bot.i18n import texts

NOTE_PREFIXES = ("!", "/note")



def note_text(text: str) -> str | None:
    """The note's text if `text` is an internal note, else None."""
    stripped = text.lstrip()
    for prefix in NOTE_PREFIXES:
        if stripped.startswith(prefix):
            rest = stripped[len(prefix):]
            if prefix == "/note":
                # "/note@dutydesk_bot text" in groups
                rest = rest.split(" ", 1)[1] if rest.startswith("@") and " " in rest else rest
            return rest.strip()
    return None


async def room_message(s: Services, msg: Inbound, room: StaffRoom, engineer: EngineerConfig | None) -> Receipt:
    thread = msg.conversation.thread_id
    if thread is None:
        return Receipt()  # the room's general chatter is not about a ticket
    row = await s.store.ticket_by_thread(room.channel, room.chat_id, thread)
    if row is None:
        return Receipt()
    if engineer is None:
        return Receipt(ticket_id=row["id"], reply=texts.staff_text("not_staff", s.notifier.room_language))
    return await _engineer_wrote(s, msg, engineer, ticket_from_row(row), room)


async def direct_message(s: Services, msg: Inbound, engineer: EngineerConfig) -> Receipt:
    conv = msg.conversation
    row = None
    if msg.reply_to is not None:
        row = await s.store.ticket_by_ref(conv.channel, conv.chat_id, msg.reply_to)
    if row is None:
        return Receipt(reply=texts.staff_text("direct_hint", engineer.reads))
    return await _engineer_wrote(s, msg, engineer, ticket_from_row(row), None)


async def in_customer_chat(s: Services, msg: Inbound, engineer: EngineerConfig) -> Receipt:
    """An engineer who is a member of the customer's group wrote there: the customer saw it
    already, so it is recorded (it counts as a response) but not relayed."""
    conv = msg.conversation
    row = None
    if msg.reply_to is not None:
        row = await s.store.ticket_by_ref(conv.channel, conv.chat_id, msg.reply_to)
    row = row or await s.store.open_ticket_for(conv.channel, conv.chat_id, conv.thread_id)
    if row is None:
        return Receipt()
    return await _engineer_wrote(s, msg, engineer, ticket_from_row(row), None, relay=False)


async def _engineer_wrote(
    s: Services, msg: Inbound, engineer: EngineerConfig, ticket: Ticket, room: StaffRoom | None,
    *, relay: bool = True,
) -> Receipt:
    work = s.work()
    conv = msg.conversation
    source = SourceRef(conv.channel, conv.chat_id, msg.message_id)
    note = note_text(msg.text) if relay else None
    if note is not None:
        text = clean_text(note, s.cfg.desk.max_text, ticket.language)
        message = Message(ticket.id, Direction.NOTE, engineer.id, text, work.now, msg.attachments,
                          channel=conv.channel, chat_id=conv.chat_id, platform_id=msg.message_id)
        work.add_message(message)
        work.touch(ticket)
        template = texts.staff_key("note_copy")
    else:
        text = clean_text(msg.text, s.cfg.desk.max_text, ticket.language)
        message = actions.record_engineer_message(
            s, work, ticket, engineer.id, text, source=source, relay=relay, attachments=msg.attachments
        )
        template = texts.staff_key("engineer_copy")
    # Engineers in the other staff rooms (on the other channels) see it too.
    mirror = texts.staff_text(template, s.notifier.room_language, name=engineer.name, text=message_text(message))
    work.send(*s.notifier.to_rooms(ticket, "mirror", mirror, copy_of=source, skip=room))
    work.take_key(msg.dedupe_key, ticket.id)
    work.ref(conv.channel, conv.chat_id, msg.message_id, ticket.id)
    await s.commit(work)
    return Receipt(ticket_id=ticket.id)
