"""What a page may change, and how: each form becomes the chat command it stands for and
runs through the command layer (`Desk.command`), as the person signed in. So the role
checks, the event log (with the lead as the actor), the pings to engineers and the
customer's messages are exactly those of the same command typed in Telegram or Slack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.commands.types import CommandRequest, Reply
from bot.core.desk import Desk
from bot.core.domain import ConversationRef, Sender
from bot.dashboard.auth import Refused, Viewer

CHANNEL = "dashboard"  # where a command came from, as the command layer sees it

Form = Mapping[str, str]


def _word(form: Form, name: str) -> str:
    """One argument: a single word, so a form cannot smuggle in more arguments."""
    value = form.get(name, "").strip()
    if not value or len(value.split()) != 1 or len(value) > 64:
        raise Refused(400, f"The form's {name} is missing or not a single word.")
    return value


def _text(form: Form, name: str) -> str:
    return " ".join(form.get(name, "").split())[:2000]


# action: (leads only, how the form becomes the command's arguments after the ticket id)
TICKET_ACTIONS: dict[str, tuple[bool, Callable[[Form], str]]] = {
    "take": (False, lambda f: ""),
    "note": (False, lambda f: _text(f, "text") or _word(f, "text")),
    "reassign": (True, lambda f: f"{_word(f, 'engineer')} {_text(f, 'reason')}"),
    "priority": (True, lambda f: f"{_word(f, 'priority')} {_text(f, 'reason')}"),
    "escalate": (True, lambda f: f"{_word(f, 'tier') if f.get('tier') else ''} {_text(f, 'reason')}"),
    "resolve": (True, lambda f: _text(f, "note")),
}


def ticket_command(viewer: Viewer, ticket_id: int, action: str, form: Form) -> str:
    found = TICKET_ACTIONS.get(action)
    if found is None:
        raise Refused(400, f"No action “{action[:40]}”.")
    leads_only, arguments = found
    if leads_only and not viewer.lead:
        raise Refused(403, "Only team leads may do this.")
    return " ".join(f"{action} T-{ticket_id} {arguments(form)}".split())


def override_command(form: Form) -> str:
    """`override @who FROM TO [instead @other] [reason]`, from the roster's form; times
    as the browser's date-time fields send them (the lead's zone, as in chat)."""
    instead = form.get("instead", "").strip()
    parts = ["override", _word(form, "engineer"), _word(form, "start"), _word(form, "end")]
    if instead:
        parts += ["instead", _word(form, "instead")]
    return " ".join([*parts, _text(form, "reason")]).strip()


# The answer to each session's last form, shown once on the page it returns to.
_answers: dict[str, tuple[str, bool]] = {}
_KEPT = 1000


async def run(desk: Desk, viewer: Viewer, text: str) -> Reply:
    """The command as the viewer, answered here (not in a chat); the answer is kept for
    the page the form returns to (`answer`)."""
    request = CommandRequest(
        Sender(viewer.identity, viewer.engineer.name), ConversationRef(CHANNEL, viewer.engineer.id), text,
        private=True,
    )
    reply = await desk.command(request)
    if len(_answers) >= _KEPT:
        _answers.clear()
    _answers[viewer.token_hash] = (reply.text or "Done.", reply.ok)
    return reply


def answer(viewer: Viewer) -> tuple[str, bool] | None:
    """The answer to the viewer's last form, once."""
    return _answers.pop(viewer.token_hash, None)
