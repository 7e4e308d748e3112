"""One command layer for every channel: parse → check role → act through the desk → reply.

Adapters translate a slash command, a bot command or a button press into a
`CommandRequest`/`Press` and render the `Reply`; everything else happens here.
"""

from __future__ import annotations

from bot.commands import customer, dashboard, lead, staff  # noqa: F401 - importing registers the commands
from bot.commands.core import (
    ALIASES,
    CUSTOMERS,
    REGISTRY,
    CommandError,
    Ctx,
    asker_language,
    reply_outbound,
    summary,
    who_may,
)
from bot.commands.types import CommandRequest, Menu, Menus, PersonMenu, Press, Reply
from bot.core.directory import LEAD_ROLES, Role
from bot.core.services import Services
from bot.delivery.contract import parse_button_data
from bot.i18n import texts
from bot.i18n.texts import CUSTOMER_LANGUAGES, language_for
from storage.base import DuplicateKey

__all__ = ["CommandRequest", "Menus", "Press", "Reply", "menu", "menus", "press", "run"]

# What each button does, as the command it stands for.
BUTTON_COMMANDS = {
    "take": "take",
    "escalate": "escalate",
    "resolve": "resolve",
    "snooze": "snooze",
    "urgent": "urgent",
    "rate": "rate",
}


def _split(text: str) -> tuple[str, list[str]]:
    words = text.strip().split()
    if not words:
        return "help", []
    name = words[0].lstrip("/").split("@", 1)[0].lower()
    return ALIASES.get(name, name), words[1:]


async def run(s: Services, req: CommandRequest) -> Reply:
    """Run one command. The caller holds the desk's lock."""
    name, args = _split(req.text)
    engineer = s.directory.engineer_by_identity(req.sender.identity)
    role = s.directory.role(req.sender.identity)
    lang = asker_language(s, req, engineer)
    spec = REGISTRY.get(name)
    work = s.work()
    ctx = None
    if spec is None:
        text, ok = texts.text("unknown_command", lang, name=name), False
    elif role not in spec.roles:
        text, ok = texts.text("not_allowed", lang, name=name, who=who_may(spec, lang)), False
    else:
        ctx = Ctx(s, req, work, role, engineer, lang, args, spec.usage)
        try:
            text, ok = await spec.handler(ctx), True
        except CommandError as exc:
            work, ctx = s.work(), None  # an error changes nothing
            text, ok = exc.render(lang), False
    if req.key is not None:
        work.take_key(f"cmd:{req.key}", None)
    if req.reply_in_chat and text:
        work.send(reply_outbound(s, req, role, text))
    try:
        await s.commit(work)
    except DuplicateKey:
        return Reply("", ok=True)  # a redelivered command: done and answered the first time
    for follow_up in ctx.after if ctx else ():
        await follow_up()
    return Reply(text, ok)


async def press(s: Services, pressed: Press) -> Reply:
    """A button is the command it stands for, with the same role checks."""
    parsed = parse_button_data(pressed.data)
    if parsed is None or parsed[0] not in BUTTON_COMMANDS:
        lang = asker_language(s, CommandRequest(pressed.sender, pressed.conversation, ""), None)
        return Reply(texts.text("unknown_command", lang, name=pressed.data[:40]), ok=False)
    action, ticket_id, arg = parsed
    text = f"{BUTTON_COMMANDS[action]} T-{ticket_id} {arg}".strip()
    return await run(s, CommandRequest(pressed.sender, pressed.conversation, text, key=pressed.key))


AUDIENCES = {"customer": CUSTOMERS, "engineer": frozenset({Role.ENGINEER}), "lead": LEAD_ROLES}


def menu(audience: str, language: str) -> Menu:
    """(command, description) pairs for a platform's command menu (Telegram setMyCommands):
    what a customer, an engineer or a lead may use."""
    roles = AUDIENCES[audience]
    lang = language_for(language)
    return tuple(
        (spec.name, summary(spec, lang))
        for spec in REGISTRY.values()
        if spec.roles & roles and spec.name != "rate"
    )


def menus(s: Services, channel: str) -> Menus:
    """Every menu `channel` should show: customers', the staff room's (the engineers'
    commands, in the room's language), and each staff member's own."""
    people = []
    for engineer in s.directory.engineers():
        contact = s.directory.contact(engineer)
        if contact is None or contact[0] != channel:
            continue
        leads = engineer.role in LEAD_ROLES
        people.append(PersonMenu(contact[1], menu("lead" if leads else "engineer", engineer.reads), leads))
    customers: dict[str | None, Menu] = {None: menu("customer", s.cfg.desk.default_language)}
    customers.update({language: menu("customer", language) for language in CUSTOMER_LANGUAGES})
    return Menus(customers, menu("engineer", s.notifier.room_language), tuple(people))
