"""The messages a ticket's life causes: acknowledgements, pings, staff threads, alerts.

Every function returns `Outbound` values for the outbox; nothing here sends. Texts come
from `bot/i18n/texts.py` in the reader's language: a customer's, each engineer's own interface
language (every part of a ping — header line, reason, flags, buttons — in it), and the
staff rooms' one language for what everyone there reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from bot.app.config import EngineerConfig
from bot.core.directory import Directory, StaffRoom
from bot.core.domain import Attachment, ConversationRef, Message, Priority, Status, Ticket
from bot.delivery.contract import Audience, Button, Outbound, Recipient, SourceRef
from bot.i18n import texts
from bot.i18n.words import staff_word
from routing.assign import Assignment, Queued
from routing.reasons import Reason

Why = Reason | str  # a reason the desk gives, or one a person typed (shown as typed)


def describe_attachments(attachments: Iterable[Attachment]) -> str:
    parts = [f"[{a.kind}{': ' + a.name if a.name else ''}]" for a in attachments]
    return " ".join(parts)


def message_text(message: Message) -> str:
    """The text to show for a message on a channel that cannot copy the original."""
    extra = describe_attachments(message.attachments)
    return "\n".join(part for part in (message.text, extra) if part) or "…"


class Notifier:
    def __init__(self, directory: Directory, tier_names: Mapping[str, str], room_language: str = "en") -> None:
        self._directory = directory
        self._tier_names = tier_names
        self.room_language = room_language

    # -- building blocks ---------------------------------------------------------------------

    def title(self, ticket: Ticket) -> str:
        org = self._directory.organisation(ticket.org_id)
        who = org.name if org else (ticket.customer_name or ticket.customer)
        return f"{ticket.display_id} · {who} · {ticket.priority.name} · {ticket.language}"

    def staff_buttons(self, ticket: Ticket, language: str) -> tuple[Button, ...]:
        return (
            Button("take", ticket.id, texts.staff_text("button_take", language)),
            Button("escalate", ticket.id, texts.staff_text("button_escalate", language)),
            Button("resolve", ticket.id, texts.staff_text("button_resolve", language)),
        )

    def to_customer(
        self, ticket: Ticket, kind: str, text: str, *, buttons: tuple[Button, ...] = (),
        copy_of: SourceRef | None = None,
    ) -> Outbound:
        conv = ticket.conversation
        return Outbound(
            id=0, kind=kind, ticket_id=ticket.id, text=text, buttons=buttons, copy_of=copy_of,
            recipient=Recipient(conv.channel, conv.chat_id, Audience.CUSTOMER, conv.thread_id),
            # In a group chat, answer the customer's last message so the thread reads well.
            reply_to=ticket.last_customer_message if conv.chat_id.startswith("-") else None,
        )

    def to_conversation(
        self, conv: ConversationRef, kind: str, text: str, *, reply_to: str | None = None,
        ticket: Ticket | None = None,
    ) -> Outbound:
        """To whoever writes in a customer conversation, ticket or not (a hint about what
        the desk reads); in a group it answers `reply_to`, so the writer sees it is theirs."""
        return Outbound(
            id=0, kind=kind, ticket_id=ticket.id if ticket else None, text=text,
            recipient=Recipient(conv.channel, conv.chat_id, Audience.CUSTOMER, conv.thread_id),
            reply_to=reply_to if conv.chat_id.startswith("-") else None,
        )

    def to_engineer(
        self, engineer: EngineerConfig, kind: str, text: str, *, ticket: Ticket | None = None,
        buttons: tuple[Button, ...] = (), copy_of: SourceRef | None = None,
    ) -> Outbound | None:
        contact = self._directory.contact(engineer)
        if contact is None:
            return None
        channel, user = contact
        return Outbound(
            id=0, kind=kind, ticket_id=ticket.id if ticket else None, text=text, buttons=buttons,
            copy_of=copy_of, recipient=Recipient(channel, user, Audience.ENGINEER, person=engineer.id),
        )

    def to_rooms(
        self, ticket: Ticket, kind: str, text: str, *, copy_of: SourceRef | None = None,
        buttons: tuple[Button, ...] = (), coalesce: bool = False, skip: StaffRoom | None = None,
    ) -> list[Outbound]:
        return [
            Outbound(
                id=0, kind=kind, ticket_id=ticket.id, text=text, title=self.title(ticket),
                buttons=buttons, copy_of=copy_of,
                recipient=Recipient(room.channel, room.chat_id, Audience.STAFF_ROOM),
                coalesce=f"{kind}:{ticket.id}:{room.channel}" if coalesce else None,
            )
            for room in self._directory.staff_rooms
            if room != skip
        ]

    def engineer_language(self, engineer: EngineerConfig) -> str:
        return engineer.reads

    def needs_direct_copies(self, engineer: EngineerConfig) -> bool:
        """Without a staff room on their channel, an engineer works from private chat, so
        customer messages must come to them there."""
        contact = self._directory.contact(engineer)
        return contact is not None and not self._directory.has_staff_room(contact[0])

    # -- situations --------------------------------------------------------------------------

    def header(self, ticket: Ticket, only: StaffRoom | None = None) -> list[Outbound]:
        """The staff thread's header; only the newest pending one is sent (coalesced)."""
        lang = self.room_language
        engineer = self._directory.engineer(ticket.assignee)
        org = self._directory.organisation(ticket.org_id)
        body = texts.staff_text(
            "header", lang, ticket=ticket.display_id, org=org.name if org else texts.staff_text("no_org", lang),
            plan=ticket.plan, priority=self.priority(ticket, lang),
            lang=ticket.language, customer=ticket.customer_name or ticket.customer,
            assignee=engineer.name if engineer else texts.staff_text("unassigned", lang),
            status=staff_word("status", ticket.status.value, lang), subject=ticket.subject,
        )
        found = self.to_rooms(ticket, "header", body, buttons=self.staff_buttons(ticket, lang), coalesce=True)
        return [o for o in found if only is None or StaffRoom(o.recipient.channel, o.recipient.chat_id) == only]

    def customer_message(self, ticket: Ticket, message: Message, source: SourceRef) -> list[Outbound]:
        """A customer's message, copied into every staff room (and to a DM-only assignee)."""
        text = texts.staff_text("copy", self.room_language, name=ticket.customer_name or ticket.customer,
                          text=message_text(message))
        found = self.to_rooms(ticket, "copy", text, copy_of=source)
        engineer = self._directory.engineer(ticket.assignee)
        if engineer is not None and self.needs_direct_copies(engineer):
            dm_text = texts.staff_text("ping_message", self.engineer_language(engineer), ticket=ticket.display_id,
                                 name=ticket.customer_name or ticket.customer, text=message_text(message))
            dm = self.to_engineer(engineer, "copy", dm_text, ticket=ticket, copy_of=source)
            if dm is not None:
                found.append(dm)
        return found

    def ack(self, ticket: Ticket, decision: Assignment | Queued, first_response_due: datetime | None) -> Outbound:
        lang = ticket.language
        values = {"ticket": ticket.display_id, "priority": ticket.priority.name}
        if isinstance(decision, Queued):
            pickup = texts.when(decision.pickup_at, ticket.customer_tz, lang)
            body = texts.text("ack_queued", lang, pickup=pickup, **values)
        else:
            due = texts.when(first_response_due, ticket.customer_tz, lang) if first_response_due else "—"
            body = texts.text("ack_assigned", lang, due=due, **values)
        buttons = () if ticket.priority <= Priority.P2 else (
            Button("urgent", ticket.id, texts.text("button_urgent", lang)),)
        return self.to_customer(ticket, "ack", body, buttons=buttons)

    def progress(self, ticket: Ticket) -> str:
        """An automatic progress update: where the ticket stands, in the customer's language."""
        lang, values = ticket.language, {"ticket": ticket.display_id}
        engineer = self._directory.engineer(ticket.assignee)
        if ticket.status == Status.WAITING_CUSTOMER:
            return texts.text("progress_waiting", lang, **values)
        if engineer is not None:
            return texts.text("progress_working", lang, name=engineer.name.split()[0], **values)
        if ticket.pickup_at is not None:
            pickup = texts.when(ticket.pickup_at, ticket.customer_tz, lang)
            return texts.text("progress_queued", lang, pickup=pickup, **values)
        return texts.text("progress_unpicked", lang, **values)

    def assigned(
        self, ticket: Ticket, engineer: EngineerConfig, why: Sequence[Why], flags: Sequence[Why],
        due: datetime | None,
    ) -> list[Outbound]:
        lang, tz = self.engineer_language(engineer), engineer.timezone
        org = self._directory.organisation(ticket.org_id)
        body = texts.staff_text(
            "ping_assigned", lang, ticket=ticket.display_id,
            org=org.name if org else (ticket.customer_name or ticket.customer),
            priority=ticket.priority.name, lang=ticket.language, subject=ticket.subject,
            reason=texts.reasons(why, lang, tz), flags="".join(f"\n⚠ {texts.reason(f, lang, tz)}" for f in flags),
            due=texts.when(due, tz, lang) if due else "—",
        )
        snooze = Button("snooze", ticket.id, texts.staff_text("button_snooze", lang), "30m")
        buttons = (*self.staff_buttons(ticket, lang), snooze)
        ping = self.to_engineer(engineer, "ping", body, ticket=ticket, buttons=buttons)
        return [] if ping is None else [ping]

    def unassigned(self, ticket: Ticket, engineer: EngineerConfig, why: Sequence[Why]) -> list[Outbound]:
        lang = self.engineer_language(engineer)
        body = texts.staff_text("unassigned_you", lang, ticket=ticket.display_id,
                                reason=texts.reasons(why, lang, engineer.timezone))
        out = self.to_engineer(engineer, "notice", body, ticket=ticket)
        return [] if out is None else [out]

    def held(self, ticket: Ticket, engineer: EngineerConfig, decision: Queued) -> list[Outbound]:
        lang = self.engineer_language(engineer)
        body = texts.staff_text(
            "held_you", lang, ticket=ticket.display_id, tier=self._tier_names.get(decision.tier, decision.tier),
            pickup=texts.when(decision.pickup_at, engineer.timezone, lang),
            reason=texts.reasons(decision.reasons, lang, engineer.timezone),
        )
        out = self.to_engineer(engineer, "notice", body, ticket=ticket, buttons=self.staff_buttons(ticket, lang))
        return [] if out is None else [out]

    def priority(self, ticket: Ticket, language: str) -> str:
        return f"{ticket.priority.name} {staff_word('priority', ticket.priority.name, language)}"

    def leads(self, ticket: Ticket | None, kind: str, text_by_language: dict[str, str] | str) -> list[Outbound]:
        found = []
        for lead in self._directory.leads():
            body = text_by_language if isinstance(text_by_language, str) else text_by_language.get(
                self.engineer_language(lead), text_by_language["en"])
            out = self.to_engineer(lead, kind, body, ticket=ticket)
            if out is not None:
                found.append(out)
        return found

    def nobody_on_duty(
        self, ticket: Ticket, decision: Queued, holder: EngineerConfig | None = None,
    ) -> list[Outbound]:
        """To the leads: nobody can take the ticket — or, with a `holder`, nobody of the tier
        it was escalated to, so the holder keeps it meanwhile."""
        org = self._directory.organisation(ticket.org_id)
        found = []
        for lead in self._directory.leads():
            lang = self.engineer_language(lead)
            key = texts.staff_key("queued_nobody") if holder is None else texts.staff_key("held_nobody")
            body = texts.staff_text(
                key, lang, ticket=ticket.display_id,
                org=org.name if org else (ticket.customer_name or ticket.customer),
                priority=ticket.priority.name, lang=ticket.language,
                pickup=texts.when(decision.pickup_at, lead.timezone, lang),
                reason=texts.reasons(decision.reasons, lang, lead.timezone),
                tier=self._tier_names.get(decision.tier, decision.tier), holder=holder.name if holder else "",
            )
            out = self.to_engineer(lead, "alert", body, ticket=ticket, buttons=self.staff_buttons(ticket, lang))
            if out is not None:
                found.append(out)
        return found
