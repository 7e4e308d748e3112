"""Slack's payloads → the desk's types: pure functions over dicts, no I/O.

Kept apart from the Bolt listeners so each rule — which conversation a message belongs to,
what counts as a person writing, how a mention reads — can be read and tested without Bolt
or a network. Payloads come from outside: every field is checked, and what does not make
sense becomes None, never an exception.

Where a message lives decides its conversation:

* a DM with the app (`channel_type` "im"): the whole DM is one conversation;
* the triage channel: a ticket's thread (its ts) is the conversation; top-level chatter is
  not about a ticket, the desk ignores it;
* any other channel (a Slack Connect channel shared with a customer): every top-level
  message starts a conversation of its own, and replies in its thread join it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.slack.config import NAME
from bot.commands.types import CommandRequest, Press
from bot.core.domain import Attachment, ConversationRef, Edited, Inbound, Sender
from bot.flows.customer import is_blank

# Message subtypes that are a person writing; the others are joins, topic changes,
# deletions, other integrations' posts… and not the desk's business.
PEOPLE_WRITING = (None, "file_share", "thread_broadcast", "me_message")

# `<@U123|name>`, `<#C123|name>`, `<!here>`, `<https://x|label>`: Slack's markup in text.
_MARKUP = re.compile(r"<([^<>]*)>")


@dataclass(frozen=True)
class Workspace:
    """What translation needs to know about this installation."""

    triage_channel: str | None
    bot_user_id: str | None = None


def _str(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) and value else None


def _dict(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key)
    return value if isinstance(value, Mapping) else {}


# -- text -------------------------------------------------------------------------------------


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _readable(match: re.Match[str], bot_user_id: str | None) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        if target[1:] == bot_user_id:
            return ""  # the address is not the request
        return f"@{label or target[1:]}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        # <!here>, <!subteam^S1|@team>, <!date^1700000000^{date}|Nov 14>
        return label or f"@{target[1:].split('^', 1)[0]}"
    target = target.removeprefix("mailto:")
    return f"{label} ({target})" if label and label != target else target


def plain_text(text: str, bot_user_id: str | None = None) -> str:
    """What a person typed, as they see it: mentions, channels and links become readable
    words, entities are unescaped, and a mention of the app itself is dropped. The desk
    keeps plain text; the customer may read it in Telegram."""
    return unescape(_MARKUP.sub(lambda m: _readable(m, bot_user_id), text)).strip()


# -- people -----------------------------------------------------------------------------------


def sender_of(user_id: str, user: Mapping[str, Any] | None = None) -> Sender:
    """`user` is a `users.info` user object (with `include_locale`); without it the sender
    is known by id only."""
    if not user:
        return Sender(f"{NAME}:{user_id}")
    profile = _dict(user, "profile")
    name = (
        _str(profile, "real_name") or _str(user, "real_name") or _str(profile, "display_name")
        or _str(user, "name") or ""
    )
    return Sender(f"{NAME}:{user_id}", name, _str(user, "locale"))


def author(event: Mapping[str, Any]) -> str | None:
    """The user id of the person who wrote a message event; None for what no person wrote
    (other apps and bots, joins and leaves, edits of those). For `message_changed` it is
    the author of the edited message."""
    message = _dict(event, "message") if event.get("subtype") == "message_changed" else event
    if message.get("bot_id") or message.get("subtype") not in PEOPLE_WRITING:
        return None
    return _str(message, "user")


# -- messages ---------------------------------------------------------------------------------


def is_dm(channel_id: str, channel_type: str | None = None) -> bool:
    """A one-to-one conversation with the app: events say so in `channel_type`; commands
    and button presses do not, but Slack's DM ids start with D."""
    if channel_type is not None:
        return channel_type == "im"
    return channel_id.startswith("D")


def conversation_of(channel: str, ts: str, thread_ts: str | None, dm: bool, where: Workspace) -> ConversationRef:
    if dm:
        return ConversationRef(NAME, channel, None)
    if channel == where.triage_channel:
        return ConversationRef(NAME, channel, thread_ts)
    return ConversationRef(NAME, channel, thread_ts or ts)


def _reply_to(ts: str, thread_ts: str | None, dm: bool) -> str | None:
    """In a DM an answer in a message's thread answers that message (an engineer answering
    a ping); elsewhere the thread already is the conversation."""
    return thread_ts if dm and thread_ts and thread_ts != ts else None


def attachments_of(message: Mapping[str, Any]) -> tuple[Attachment, ...]:
    files = message.get("files")
    found = []
    for f in files if isinstance(files, list) else ():
        if not isinstance(f, Mapping) or _str(f, "id") is None:
            continue
        mime = _str(f, "mimetype")
        size = f.get("size")
        found.append(Attachment(
            kind="photo" if mime and mime.startswith("image/") else "file",
            name=_str(f, "name"), mime=mime, size=size if isinstance(size, int) else None, ref=_str(f, "id"),
        ))
    return tuple(found)


def inbound(event: Mapping[str, Any], sender: Sender, where: Workspace, at: datetime) -> Inbound | None:
    """A `message` (or `app_mention`) event as the desk takes it; None when it is not a
    message someone wrote in a conversation."""
    channel, ts = _str(event, "channel"), _str(event, "ts")
    if channel is None or ts is None or author(event) is None:
        return None
    thread_ts = _str(event, "thread_ts")
    dm = is_dm(channel, _str(event, "channel_type"))
    text = plain_text(_str(event, "text") or "", where.bot_user_id)
    attachments = attachments_of(event)
    return Inbound(
        conversation=conversation_of(channel, ts, thread_ts, dm, where),
        sender=sender,
        text=text,
        message_id=ts,
        at=at,
        attachments=attachments,
        reply_to=_reply_to(ts, thread_ts, dm),
        private=dm,
        # Every event that gets here is a person writing: nothing readable in it means
        # they sent what the desk cannot take (a blank text, a bare mention of the app).
        unreadable="blank text" if is_blank(text) and not attachments else None,
    )


def edited(event: Mapping[str, Any], sender: Sender, where: Workspace, at: datetime) -> Edited | None:
    """A `message_changed` event: the edited message's new text. Its id is the original ts."""
    message = _dict(event, "message")
    channel, ts = _str(event, "channel"), _str(message, "ts")
    if channel is None or ts is None or author(event) is None:
        return None
    dm = is_dm(channel, _str(event, "channel_type"))
    return Edited(
        conversation=conversation_of(channel, ts, _str(message, "thread_ts"), dm, where),
        sender=sender,
        message_id=ts,
        text=plain_text(_str(message, "text") or "", where.bot_user_id),
        at=at,
    )


# -- commands and buttons ---------------------------------------------------------------------


def command_request(command: Mapping[str, Any], sender: Sender) -> CommandRequest | None:
    """`/desk reassign T-1042 <@U123|dmitry>` → "reassign T-1042 <@U123|dmitry>". Mentions
    stay in Slack's form: the desk resolves `<@U…>` to an engineer. The answer is Slack's
    ephemeral response, not a chat message."""
    channel = _str(command, "channel_id")
    trigger = _str(command, "trigger_id")
    if channel is None or trigger is None:
        return None
    return CommandRequest(
        sender=sender,
        conversation=ConversationRef(NAME, channel, None),
        text=unescape(_str(command, "text") or "").strip(),
        private=is_dm(channel),
        key=f"{NAME}:cmd:{trigger}",
        reply_in_chat=False,
    )


def presser(body: Mapping[str, Any]) -> str | None:
    return _str(_dict(body, "user"), "id")


def press(body: Mapping[str, Any], sender: Sender, where: Workspace) -> Press | None:
    """A `block_actions` payload for one of the desk's buttons; None for a press without a
    message to place it in or without the desk's data."""
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], Mapping) else {}
    container = _dict(body, "container")
    channel = _str(_dict(body, "channel"), "id") or _str(container, "channel_id")
    value = _str(action, "value")
    message_ts = _str(container, "message_ts")
    if channel is None or value is None or message_ts is None:
        return None
    dm = is_dm(channel)
    key = _str(action, "action_ts") or _str(body, "trigger_id")
    return Press(
        sender=sender,
        conversation=conversation_of(channel, message_ts, _str(container, "thread_ts"), dm, where),
        data=value,
        key=f"{NAME}:act:{key}" if key else None,
    )
