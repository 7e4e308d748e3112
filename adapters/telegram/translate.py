"""Telegram's shapes → the desk's: pure functions over aiogram types, no I/O.

Kept apart from the handlers so each rule (which thread a message is in, what counts as a
reply, how a command is spelled) can be read and tested without a bot or a network.
"""

from __future__ import annotations

import re
from datetime import datetime

from aiogram.types import CallbackQuery, Message, User

from adapters.telegram.config import NAME
from bot.commands.types import CommandRequest, Press
from bot.core.domain import Attachment, ConversationRef, Edited, Inbound, Sender
from bot.flows.customer import is_blank

# "/status", "/status@dutydesk_bot args": Telegram's command syntax (1–32 letters, digits, _).
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?=\s|$)(.*)$", re.DOTALL)


def sender_of(user: User) -> Sender:
    return Sender(f"{NAME}:{user.id}", user.full_name, user.language_code)


def conversation_of(message: Message) -> ConversationRef:
    """Only forum topics are threads: a supergroup's reply chains also carry a
    `message_thread_id`, but they are not separate conversations."""
    thread = str(message.message_thread_id) if message.is_topic_message and message.message_thread_id else None
    return ConversationRef(NAME, str(message.chat.id), thread)


def reply_target(message: Message) -> str | None:
    """The message this one answers. In a forum topic, Telegram presents every message as a
    reply to the topic's creation message; that is where it is, not what it answers."""
    replied = message.reply_to_message
    if replied is None or replied.forum_topic_created is not None:
        return None
    if message.is_topic_message and replied.message_id == message.message_thread_id:
        return None
    return str(replied.message_id)


def _mention(username: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)@{re.escape(username)}(?!\w)", re.IGNORECASE)


def strip_mention(text: str, username: str | None) -> str:
    """"@dutydesk_bot the printer is down" → "the printer is down": the address is not the
    request, and would end up in the ticket's subject."""
    return _mention(username).sub("", text).strip() if username else text


def mentions(message: Message, username: str | None) -> bool:
    return username is not None and _mention(username).search(message.text or message.caption or "") is not None


def replies_to(message: Message, user_id: int) -> bool:
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == user_id


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    """The file ids the desk can later copy or fetch. Of a photo's sizes only the largest is
    kept; an animation is also sent as `document`, so it is read from there once."""
    found: list[Attachment] = []
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        found.append(Attachment("photo", None, "image/jpeg", largest.file_size, largest.file_id))
    if message.document:
        d = message.document
        found.append(Attachment("document", d.file_name, d.mime_type, d.file_size, d.file_id))
    if message.voice:
        v = message.voice
        found.append(Attachment("voice", None, v.mime_type, v.file_size, v.file_id))
    if message.audio:
        a = message.audio
        found.append(Attachment("audio", a.file_name or a.title, a.mime_type, a.file_size, a.file_id))
    if message.video:
        clip = message.video
        found.append(Attachment("video", clip.file_name, clip.mime_type, clip.file_size, clip.file_id))
    if message.video_note:
        n = message.video_note
        found.append(Attachment("video", None, "video/mp4", n.file_size, n.file_id))
    if message.sticker:
        s = message.sticker
        mime = "video/webm" if s.is_video else "application/x-tgsticker" if s.is_animated else "image/webp"
        found.append(Attachment("sticker", s.emoji, mime, s.file_size, s.file_id))
    return tuple(found)


# What a person can send that the desk cannot take (a venue also carries a location: first).
UNREADABLE = ("venue", "location", "contact", "poll", "dice", "game", "story", "invoice", "giveaway", "paid_media",
              "checklist")


def unreadable(message: Message, text: str, attachments: tuple[Attachment, ...]) -> str | None:
    """What the customer sent, when it is something the desk cannot read: one of
    `UNREADABLE`, or a text with nothing visible in it. None for readable messages and for
    service messages (joins, pins, topic changes), which nobody wrote to the desk."""
    for kind in UNREADABLE:
        if getattr(message, kind, None) is not None:
            return kind
    if (message.text or message.caption) and is_blank(text) and not attachments:
        return "blank text"
    return None


def origin(message: Message) -> tuple[Sender, ConversationRef] | None:
    """Who wrote it, and where: what every message the desk takes starts from. None when no
    person can be named: a channel's post, or a group admin writing anonymously (Telegram
    then shows every such admin as one placeholder user, with `sender_chat` set) — nobody
    the desk could tell apart, check the role of, or answer."""
    if message.sender_chat is not None or message.from_user is None:
        return None
    return sender_of(message.from_user), conversation_of(message)


def inbound(message: Message, bot_username: str | None, at: datetime) -> Inbound | None:
    found = origin(message)
    if found is None:
        return None
    sender, conversation = found
    text = strip_mention(message.text or message.caption or "", bot_username)
    attachments = attachments_of(message)
    return Inbound(
        conversation=conversation,
        sender=sender,
        text=text,
        message_id=str(message.message_id),
        at=at,
        attachments=attachments,
        reply_to=reply_target(message),
        private=message.chat.type == "private",
        album=message.media_group_id,
        unreadable=unreadable(message, text, attachments),
    )


def edited(message: Message, bot_username: str | None, at: datetime) -> Edited | None:
    """The message as it reads now: who, where and what text, as `inbound` takes them."""
    now = inbound(message, bot_username, at)
    return None if now is None else Edited(now.conversation, now.sender, now.text, now.message_id, at)


def command_text(text: str | None, bot_username: str | None) -> str | None:
    """"/reassign@dutydesk_bot T-1042 @x" → "reassign T-1042 @x"; None when the text is not a
    command, or is a command for another bot in the same group."""
    match = _COMMAND.match(text or "")
    if match is None:
        return None
    name, addressee, rest = match.groups()
    if addressee is not None and (bot_username is None or addressee.lower() != bot_username.lower()):
        return None
    return f"{name.lower()} {rest.strip()}".strip()


def command_request(message: Message, text: str) -> CommandRequest | None:
    found = origin(message)
    if found is None:
        return None
    sender, conversation = found
    return CommandRequest(
        sender=sender,
        conversation=conversation,
        text=text,
        private=message.chat.type == "private",
        key=f"tg:{message.chat.id}:{message.message_id}",
        reply_in_chat=True,
    )


def press(query: CallbackQuery) -> Press | None:
    """None for presses without a message we can place (inline-mode messages) or data."""
    if query.message is None or not query.data:
        return None
    chat = str(query.message.chat.id)
    thread = None
    if isinstance(query.message, Message):
        thread = conversation_of(query.message).thread_id
    return Press(
        sender=sender_of(query.from_user),
        conversation=ConversationRef(NAME, chat, thread),
        data=query.data,
        key=f"tg:cb:{query.id}",
    )
