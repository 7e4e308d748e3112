"""Telegram shapes → desk shapes: the rules that are easy to get subtly wrong."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.types import CallbackQuery, Message

from adapters.telegram import translate
from bot.core.domain import ConversationRef

AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
IVAN = {"id": 200001, "is_bot": False, "first_name": "Ivan", "last_name": "Petrov", "language_code": "ru"}
BOT = {"id": 7700001, "is_bot": True, "first_name": "DutyDesk", "username": "dutydesk_bot"}
FORUM = {"id": -1001000000001, "type": "supergroup", "title": "Support desk", "is_forum": True}
GROUP = {"id": -1002000000001, "type": "supergroup", "title": "Romashka"}


def message(**fields: Any) -> Message:
    body = {"message_id": 50, "date": 0, "chat": {"id": 200001, "type": "private", "first_name": "Ivan"}, "from": IVAN}
    return Message.model_validate(body | fields)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/status", "status"),
        ("/Status@DutyDesk_bot", "status"),
        ("/reassign@dutydesk_bot T-1042 @maria  she knows\nfinance", "reassign T-1042 @maria  she knows\nfinance"),
        ("/status@other_bot", None),  # another bot's command in a shared group
        ("/", None),
        ("status", None),
        ("/statuses-and-more", None),
        (None, None),
    ],
)
def test_command_text(text: str | None, expected: str | None) -> None:
    assert translate.command_text(text, "dutydesk_bot") == expected


def test_private_message_with_a_mention_and_a_reply() -> None:
    replied = {"message_id": 40, "date": 0, "chat": {"id": 200001, "type": "private"}, "from": BOT, "text": "ack"}
    inbound = translate.inbound(message(text="@DutyDesk_bot  принтер не печатает", reply_to_message=replied),
                                "dutydesk_bot", AT)
    assert inbound is not None
    assert (inbound.text, inbound.reply_to, inbound.private, inbound.message_id) == (
        "принтер не печатает", "40", True, "50")
    assert inbound.conversation == ConversationRef("telegram", "200001", None)
    assert (inbound.sender.identity, inbound.sender.name, inbound.sender.language) == (
        "telegram:200001", "Ivan Petrov", "ru")
    assert inbound.dedupe_key == "msg:telegram:200001:50"


def test_forum_topic_message_is_not_a_reply_to_the_topic() -> None:
    created = {"message_id": 7, "date": 0, "chat": FORUM, "from": BOT, "message_thread_id": 7,
               "is_topic_message": True, "forum_topic_created": {"name": "T-1", "icon_color": 7322096}}
    inside = message(chat=FORUM, message_thread_id=7, is_topic_message=True, reply_to_message=created, text="ok")
    assert translate.conversation_of(inside) == ConversationRef("telegram", str(FORUM["id"]), "7")
    assert translate.reply_target(inside) is None

    answered = {"message_id": 9, "date": 0, "chat": FORUM, "from": IVAN, "message_thread_id": 7,
                "is_topic_message": True, "text": "q"}
    reply = message(chat=FORUM, message_thread_id=7, is_topic_message=True, reply_to_message=answered, text="a")
    assert translate.reply_target(reply) == "9"


def test_a_reply_chain_in_a_plain_supergroup_is_not_a_thread() -> None:
    replied = {"message_id": 30, "date": 0, "chat": GROUP, "from": BOT, "text": "ack"}
    chained = message(chat=GROUP, message_thread_id=30, reply_to_message=replied, text="same here")
    assert translate.conversation_of(chained).thread_id is None
    assert translate.replies_to(chained, BOT["id"]) and not translate.mentions(chained, "dutydesk_bot")
    assert translate.inbound(chained, "dutydesk_bot", AT).private is False  # type: ignore[union-attr]


def test_attachments_keep_the_largest_photo_and_every_kind() -> None:
    sizes = [{"file_id": f"p{w}", "file_unique_id": f"u{w}", "width": w, "height": w, "file_size": w * 10}
             for w in (800, 90, 320)]
    photo = translate.attachments_of(message(photo=sizes, caption="see"))
    assert [(a.kind, a.ref, a.size) for a in photo] == [("photo", "p800", 8000)]

    document = {"file_id": "d1", "file_unique_id": "ud1", "file_name": "log.txt", "mime_type": "text/plain",
                "file_size": 12}
    animation = {"file_id": "d1", "file_unique_id": "ud1", "width": 1, "height": 1, "duration": 1}
    sticker = {"file_id": "s1", "file_unique_id": "us1", "type": "regular", "width": 512, "height": 512,
               "is_animated": False, "is_video": True, "emoji": "🔥"}
    found = translate.attachments_of(message(document=document, animation=animation))
    assert [(a.kind, a.name, a.mime) for a in found] == [("document", "log.txt", "text/plain")]
    [fire] = translate.attachments_of(message(sticker=sticker))
    assert (fire.kind, fire.name, fire.mime, fire.ref) == ("sticker", "🔥", "video/webm", "s1")


def test_messages_without_a_person_are_skipped() -> None:
    channel_post = message(sender_chat={"id": -100300, "type": "channel", "title": "News"}, text="hello")
    channel_post = channel_post.model_copy(update={"from_user": None})
    assert translate.inbound(channel_post, "dutydesk_bot", AT) is None
    assert translate.edited(channel_post, "dutydesk_bot", AT) is None
    assert translate.command_request(channel_post, "status") is None


def test_press_carries_the_message_place_and_a_key() -> None:
    shown = {"message_id": 12, "date": 0, "chat": FORUM, "from": BOT, "message_thread_id": 7,
             "is_topic_message": True, "text": "header"}
    query = CallbackQuery.model_validate(
        {"id": "4000", "from": IVAN, "chat_instance": "1", "message": shown, "data": "dd:take:1001:"})
    press = translate.press(query)
    assert press is not None
    assert (press.key, press.data, press.conversation.thread_id) == ("tg:cb:4000", "dd:take:1001:", "7")
    inaccessible = {"message_id": 12, "date": 0, "chat": FORUM}
    old = CallbackQuery.model_validate({"id": "4001", "from": IVAN, "chat_instance": "1", "message": inaccessible,
                                        "data": "dd:take:1001:"})
    assert translate.press(old).conversation == ConversationRef("telegram", str(FORUM["id"]), None)  # type: ignore[union-attr]
    assert translate.press(CallbackQuery.model_validate({"id": "4002", "from": IVAN, "chat_instance": "1"})) is None


def test_no_person_behind_anonymous_admins_and_channel_posts() -> None:
    placeholder = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
    anonymous = message(chat=GROUP, text="@dutydesk_bot help", sender_chat=GROUP, **{"from": placeholder})
    assert translate.inbound(anonymous, "dutydesk_bot", AT) is None
    assert translate.edited(anonymous, "dutydesk_bot", AT) is None
    assert translate.command_request(anonymous, "status") is None
    assert translate.inbound(message(chat=GROUP, text="@dutydesk_bot help"), "dutydesk_bot", AT) is not None
