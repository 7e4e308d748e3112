"""Outbound → Bot API, against the stand-in with a real aiogram bot: what each `Outbound`
becomes, and which Telegram failures the dispatcher sees as retry, give up or moved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramServerError

from adapters.telegram.channel import TelegramChannel
from adapters.telegram.config import TelegramConfig
from adapters.telegram.send import TelegramSender, keyboard
from bot.delivery.contract import (
    Audience,
    Button,
    ChatMoved,
    DeliveryResult,
    Lane,
    Outbound,
    Recipient,
    RetryLater,
    SourceRef,
    Undeliverable,
)
from tests.standins.telegram_api import TelegramStandIn

TOKEN = "7700001:stand-in-token"
USER, ENGINEER, STRANGER = 200001, 100001, 200099
FORUM, OLD_GROUP, NEW_GROUP = -1001000000001, -100200001, -1001002000011


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn(token=TOKEN, limits=None) as stand_in:
        stand_in.add_user(USER, "Ivan", language_code="ru")
        stand_in.add_user(ENGINEER, "Anna", language_code="ru")
        stand_in.add_user(STRANGER, "Nobody")
        stand_in.add_private_chat(USER)
        stand_in.add_private_chat(ENGINEER)
        stand_in.add_group(FORUM, "Support desk", forum=True, members=[ENGINEER])
        yield stand_in


@pytest.fixture
async def bot(tg: TelegramStandIn) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.api_base)))
    yield bot
    await (await bot.session.create_session()).close()  # AiohttpSession.close() sleeps 0.25 s


@pytest.fixture
def sender(bot: Bot) -> TelegramSender:
    return TelegramSender(bot)


def out(
    chat: int | str, text: str = "hello", *, audience: Audience = Audience.CUSTOMER, kind: str = "reply",
    thread: int | None = None, **fields: Any,
) -> Outbound:
    recipient = Recipient("telegram", str(chat), audience, None if thread is None else str(thread))
    return Outbound(id=1, kind=kind, recipient=recipient, text=text, **fields)


async def test_long_text_is_split_on_line_breaks_with_buttons_on_the_last_part(
    tg: TelegramStandIn, sender: TelegramSender,
) -> None:
    tg.add_group(OLD_GROUP, "Romashka", members=[USER])
    asked = tg.user_sends(USER, "@dutydesk_bot help", chat_id=OLD_GROUP)
    lines = [f"line {n:04d} " + "x" * 90 for n in range(100)]  # ~10,000 characters
    result = await sender.deliver(out(OLD_GROUP, "\n".join(lines), reply_to=str(asked["message_id"]),
                                      buttons=(Button("rate", 7, "5", "5"),)))

    parts = [s for s in tg.sent if s.method == "sendMessage"]
    assert len(parts) == 3 and all(len(p.text or "") <= 4096 for p in parts)
    assert "\n".join(p.text or "" for p in parts) == "\n".join(lines)
    assert [p.reply_to for p in parts] == [asked["message_id"], None, None]
    assert [p.reply_markup is not None for p in parts] == [False, False, True]
    assert result == DeliveryResult(message_id=str(parts[-1].message_id))
    assert parts[0].parse_mode is None


async def test_a_long_text_resumes_after_a_429_and_paces_its_parts(
    tg: TelegramStandIn, sender: TelegramSender,
) -> None:
    lines = [f"line {n:04d} " + "x" * 90 for n in range(100)]  # three parts
    paced: list[int] = []

    async def pace() -> None:
        paced.append(len([s for s in tg.sent if s.method == "sendMessage"]))

    tg.fail_next("sendMessage", chat_id=USER, retry_after=3, after=1)
    with pytest.raises(RetryLater) as waited:
        await sender.deliver(out(USER, "\n".join(lines)), pace)
    assert waited.value.seconds == 3 and paced == [1]  # part two waited for its slot, then hit the 429

    result = await sender.deliver(out(USER, "\n".join(lines)), pace)
    parts = [s for s in tg.sent if s.method == "sendMessage"]
    assert "\n".join(p.text or "" for p in parts) == "\n".join(lines)  # each part once, in order
    assert paced == [1, 2] and result == DeliveryResult(message_id=str(parts[-1].message_id))

    await sender.deliver(out(USER, "\n".join(lines)))  # a new delivery of the same id starts afresh
    assert len([s for s in tg.sent if s.method == "sendMessage"]) == 6


async def test_copy_keeps_media_and_falls_back_to_text_when_the_original_is_gone(
    tg: TelegramStandIn, sender: TelegramSender,
) -> None:
    photo = tg.user_sends(USER, photo=True, caption="<b>not html</b>")
    copied = await sender.deliver(out(ENGINEER, "Ivan: [photo]", copy_of=SourceRef("telegram", str(USER),
                                                                                 str(photo["message_id"]))))
    assert tg.sent[-1].method == "copyMessage" and tg.sent[-1].media == "photo"
    assert tg.sent[-1].text == "<b>not html</b>" and copied.message_id == str(tg.sent[-1].message_id)

    gone = SourceRef("telegram", str(USER), "999")
    await sender.deliver(out(ENGINEER, "Ivan: the text instead", copy_of=gone))
    assert (tg.sent[-1].method, tg.sent[-1].text) == ("sendMessage", "Ivan: the text instead")
    await sender.deliver(out(ENGINEER, "from Slack", copy_of=SourceRef("slack", "C1", "1.2")))
    assert (tg.sent[-1].method, tg.sent[-1].text) == ("sendMessage", "from Slack")


async def test_an_original_too_long_to_copy_goes_as_its_media_then_its_text_in_parts(
    tg: TelegramStandIn, sender: TelegramSender,
) -> None:
    """A Premium user's caption may be longer than a bot may send: Telegram refuses the
    copy. The media goes without it, then the text (caption included) in parts."""
    caption = "\n".join(f"строка {n:03d} " + "ж" * 60 for n in range(80))  # ~5,600 characters
    photo = tg.user_sends(USER, photo=True, caption=caption)
    text = f"Ivan: {caption}\n[photo]"
    source = SourceRef("telegram", str(USER), str(photo["message_id"]))
    message = out(FORUM, text, audience=Audience.STAFF_ROOM, kind="copy", ticket_id=7, thread=None, copy_of=source,
                  title="T-7", buttons=(Button("take", 7, "Take"),))
    tg.fail_next("sendMessage", chat_id=FORUM, retry_after=2, after=1)
    with pytest.raises(RetryLater):  # the second part meets a 429
        await sender.deliver(message)
    result = await sender.deliver(message)

    sent = [s for s in tg.sent if s.method in ("copyMessages", "sendMessage")]
    assert [s.method for s in sent] == ["copyMessages", "sendMessage", "sendMessage"]  # copied once, each part once
    assert sent[0].media == "photo" and not sent[0].text  # the photo, without the caption it could not carry
    assert "\n".join(s.text or "" for s in sent[1:]) == text
    assert sent[-1].reply_markup is not None and result.message_id == str(sent[-1].message_id)
    assert {s.thread_id for s in sent} == {int(result.thread_id or 0)}  # all in the ticket's new topic


async def test_failures_map_to_what_the_dispatcher_does(tg: TelegramStandIn, sender: TelegramSender) -> None:
    tg.block_user(USER)
    with pytest.raises(Undeliverable, match=r"^the customer blocked the bot$"):
        await sender.deliver(out(USER))
    with pytest.raises(Undeliverable, match="can't initiate conversation"):
        await sender.deliver(out(STRANGER, audience=Audience.ENGINEER))
    with pytest.raises(Undeliverable, match="chat not found"):
        await sender.deliver(out(-100777))
    with pytest.raises(Undeliverable, match="not a Telegram chat id"):
        await sender.deliver(out("C0SLACK"))

    tg.fail_next("sendMessage", chat_id=ENGINEER, retry_after=7)
    with pytest.raises(RetryLater) as slow:
        await sender.deliver(out(ENGINEER))
    assert slow.value.seconds == 7
    tg.fail_next("sendMessage", chat_id=ENGINEER, error_code=502)
    with pytest.raises(TelegramServerError):  # retried by the dispatcher with backoff
        await sender.deliver(out(ENGINEER))


async def test_a_migrated_group_reports_its_new_id(tg: TelegramStandIn, sender: TelegramSender) -> None:
    tg.add_group(OLD_GROUP, "Romashka", supergroup=False, members=[USER])
    tg.migrate_group(OLD_GROUP, NEW_GROUP)
    with pytest.raises(ChatMoved) as moved:
        await sender.deliver(out(OLD_GROUP))
    assert moved.value.new_chat_id == str(NEW_GROUP)


async def test_header_is_posted_then_edited_and_the_topic_renamed(
    tg: TelegramStandIn, bot: Bot, sender: TelegramSender,
) -> None:
    buttons = (Button("take", 7, "Take"), Button("resolve", 7, "Resolve"))
    first = await sender.deliver(out(FORUM, "T-7 header v1", audience=Audience.STAFF_ROOM, kind="header",
                                     ticket_id=7, title="T-7 · ACME · P3 · en", buttons=buttons))
    assert first.thread_id is not None and first.header_id == first.message_id
    topic = int(first.thread_id)
    assert tg.topics(FORUM)[0]["name"] == "T-7 · ACME · P3 · en"

    edited = await sender.deliver(out(FORUM, "T-7 header v2", audience=Audience.STAFF_ROOM, kind="header",
                                      ticket_id=7, title="T-7 · ACME · P1 · en", buttons=buttons,
                                      thread=topic, header_id=first.header_id))
    assert edited == DeliveryResult(message_id=first.header_id)
    assert tg.topics(FORUM)[0]["name"] == "T-7 · ACME · P1 · en"
    header = tg.messages_in(FORUM, topic, from_bot=True)[0]
    assert header["text"] == "T-7 header v2"

    same = await sender.deliver(out(FORUM, "T-7 header v2", audience=Audience.STAFF_ROOM, kind="header",
                                    ticket_id=7, title="T-7 · ACME · P1 · en", buttons=buttons,
                                    thread=topic, header_id=first.header_id))
    assert same == edited  # "not modified" is success

    await bot.delete_message(FORUM, int(first.header_id or 0))  # as an admin might
    again = await sender.deliver(out(FORUM, "T-7 header v3", audience=Audience.STAFF_ROOM, kind="header",
                                     ticket_id=7, title="T-7 · ACME · P1 · en", thread=topic,
                                     header_id=first.header_id))
    assert again.header_id not in (None, first.header_id) and again.thread_id is None


def test_keyboard_rows_and_lanes() -> None:
    ratings = keyboard(tuple(Button("rate", 1, str(n), str(n)) for n in range(1, 6)))
    words = keyboard((Button("take", 1, "Take"), Button("escalate", 1, "Escalate"), Button("resolve", 1, "Resolve"),
                      Button("snooze", 1, "Snooze 30m", "30m")))
    assert ratings is not None and [len(r) for r in ratings.inline_keyboard] == [5]
    assert words is not None and [len(r) for r in words.inline_keyboard] == [3, 1]
    assert words.inline_keyboard[1][0].callback_data == "dd:snooze:1:30m"
    assert keyboard(()) is None

    channel = TelegramChannel(TelegramConfig(per_chat_per_second=1, per_group_per_minute=20), token=TOKEN)
    assert channel.lane(Recipient("telegram", "200001", Audience.CUSTOMER)) == Lane("telegram:200001", 1.0)
    assert channel.lane(Recipient("telegram", "-100200001", Audience.CUSTOMER, "5")) == Lane(
        "telegram:-100200001", 1.0, 20)
