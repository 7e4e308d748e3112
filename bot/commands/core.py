"""The command layer's machinery: parse → check role → act through the desk → reply.

Commands are declared (`@command(...)`) with who may use them and their usage line; the
runner does the rest the same way for every command and every channel: role checks before
anything is read or changed, one clear line for every error, redeliveries ignored, and the
command's changes committed in one unit of work with the messages they cause.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.app.config import EngineerConfig
from bot.commands.types import CommandRequest
from bot.core.directory import LEAD_ROLES, STAFF_ROLES, Role
from bot.core.domain import Ticket, parse_ticket_id
from bot.core.records import override_from_row, ticket_from_row
from bot.core.services import Services
from bot.core.work import Work
from bot.delivery.contract import Audience, Outbound, Recipient
from bot.i18n import texts
from bot.i18n.texts import language_for

CUSTOMERS = frozenset({Role.CUSTOMER, Role.UNKNOWN})
STAFF = STAFF_ROLES
LEADS = LEAD_ROLES
EVERYONE = CUSTOMERS | STAFF


class CommandError(Exception):
    """Stops a command with one line for the asker, in their language."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

    def render(self, language: str) -> str:
        return texts.text(self.key, language, **self.values)


class StaffError(CommandError):
    """A command error only staff can meet, worded from the staff catalogue."""

    def render(self, language: str) -> str:
        return texts.staff_text(self.key, language, **self.values)


@dataclass
class Ctx:
    s: Services
    req: CommandRequest
    work: Work
    role: Role
    engineer: EngineerConfig | None
    lang: str
    args: list[str]
    usage: str
    # Run after the command's changes are committed (e.g. reload the roster's overrides).
    after: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def reload_overrides(self) -> None:
        rows = await self.s.store.overrides(self.now)
        self.s.triage.set_overrides(override_from_row(r) for r in rows)

    @property
    def now(self) -> datetime:
        return self.work.now

    @property
    def actor(self) -> str:
        return self.engineer.id if self.engineer else self.req.sender.identity

    @property
    def actor_name(self) -> str:
        """Who acts, as reasons and notes name them: the engineer's name, else the identity."""
        return self.engineer.name if self.engineer else self.actor

    @property
    def tz(self) -> str:
        if self.engineer is not None:
            return self.engineer.timezone
        org = self.s.directory.organisation_of(self.req.sender.identity, self.req.conversation)
        return org.timezone if org else self.s.cfg.desk.timezone

    def bad_usage(self) -> CommandError:
        return CommandError("usage", usage=self.usage)

    def rest(self, start: int) -> str:
        return " ".join(self.args[start:])

    async def ticket(self, ticket_id: int) -> Ticket:
        row = await self.s.store.ticket(ticket_id)
        if row is None:
            raise CommandError("unknown_ticket", ticket=f"T-{ticket_id}")
        return ticket_from_row(row)

    async def ticket_arg(self) -> Ticket:
        """The ticket named by the first argument (consumed), or the one this conversation is
        about: the staff thread it was typed in, or the customer's open ticket."""
        if self.args and parse_ticket_id(self.args[0]) is not None:
            return await self.ticket(parse_ticket_id(self.args.pop(0)))  # type: ignore[arg-type]
        conv = self.req.conversation
        row = None
        if conv.thread_id is not None and self.s.directory.staff_room(conv.channel, conv.chat_id):
            row = await self.s.store.ticket_by_thread(conv.channel, conv.chat_id, conv.thread_id)
        elif self.role in CUSTOMERS:
            row = await self.s.store.open_ticket_for(conv.channel, conv.chat_id, conv.thread_id)
            if row is None or row["status"] == "resolved":
                raise CommandError("no_open_ticket")
        if row is None:
            raise self.bad_usage()
        return ticket_from_row(row)

    def engineer_arg(self, who: str) -> EngineerConfig:
        """The engineer a lead named (`@ana`, an id, a mention); unknown ones are refused."""
        engineer = self.s.directory.find_engineer(who)
        if engineer is None:
            raise StaffError("unknown_engineer", who=who)
        return engineer

    def own(self, ticket: Ticket) -> Ticket:
        """Customers may act only on their own requests."""
        if self.role in CUSTOMERS and ticket.customer != self.req.sender.identity:
            raise CommandError("not_yours", ticket=ticket.display_id)
        return ticket


Handler = Callable[[Ctx], Awaitable[str]]


@dataclass(frozen=True)
class Spec:
    name: str
    roles: frozenset[Role]
    usage: str
    summary: str  # its key: a customer text if customers may use it, else a staff text
    handler: Handler
    changes: bool  # a command that changes something is de-duplicated by its platform key


REGISTRY: dict[str, Spec] = {}
ALIASES: dict[str, str] = {}


def command(
    name: str, *, roles: frozenset[Role], usage: str, summary: str, changes: bool = True,
    aliases: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        REGISTRY[name] = Spec(name, roles, usage, summary, handler, changes)
        for alias in aliases:
            ALIASES[alias] = name
        return handler

    return register


def who_may(spec: Spec, lang: str) -> str:
    if spec.roles <= LEADS:
        return texts.text("who_leads", lang)
    if spec.roles <= STAFF:
        return texts.text("who_staff", lang)
    return texts.text("who_customers", lang)


def summary(spec: Spec, language: str) -> str:
    """What a command does, in the reader's language."""
    if spec.roles & CUSTOMERS:
        return texts.text(spec.summary, language)
    return texts.staff_text(spec.summary, language)


def asker_language(s: Services, req: CommandRequest, engineer: EngineerConfig | None) -> str:
    if engineer is not None:
        return engineer.reads
    if req.sender.language:
        return language_for(req.sender.language.split("-")[0].lower())
    org = s.directory.organisation_of(req.sender.identity, req.conversation)
    return language_for(org.language if org else s.cfg.desk.default_language)


def reply_outbound(s: Services, req: CommandRequest, role: Role, text: str) -> Outbound:
    """A command's answer as an ordinary chat message in the chat (and thread) it came from."""
    conv = req.conversation
    audience = Audience.ENGINEER if role in STAFF else Audience.CUSTOMER
    return Outbound(id=0, kind="command_reply", text=text,
                    recipient=Recipient(conv.channel, conv.chat_id, audience, conv.thread_id))
