"""Self-test of the Telegram Bot API stand-in, driven by a real aiogram Bot over HTTP.

Why: other tests trust the stand-in to behave like Telegram; these checks pin the protocol
details aiogram depends on (shapes, status codes, error parameters) and the test helpers.
No sleeps are used for synchronisation: long polls and webhooks are awaited through
``wait_for``/``polls_waiting``, and flood windows are crossed with a fake clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiohttp import web

from tests.standins.telegram_api import RateLimits, TelegramStandIn

TOKEN = "123:ABC"
ANN = 42
FORUM = -1001000000001
GROUP = -1001000000002
BASIC = -4000001


class FakeClock:
    """Monotonic clock the test moves by hand, to cross flood windows without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_bot(tg: TelegramStandIn, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.api_base)))


async def close_bot(bot: Bot) -> None:
    # The ClientSession itself, not AiohttpSession.close(), which sleeps 0.25 s.
    await (await bot.session.create_session()).close()


def populate(tg: TelegramStandIn) -> None:
    tg.add_user(ANN, "Ann", "ann", "en")
    tg.add_user(77, "Bob")
    tg.add_group(FORUM, "Support desk", forum=True, members=[ANN])
    tg.add_group(GROUP, "Plain group", members=[ANN])
    tg.add_group(BASIC, "Old group", supergroup=False, members=[ANN])


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn(token=TOKEN, bot_username="dutydesk_bot", limits=None) as stand_in:
        populate(stand_in)
        yield stand_in


@pytest.fixture
async def bot(tg: TelegramStandIn) -> AsyncIterator[Bot]:
    bot = make_bot(tg)
    yield bot
    await close_bot(bot)


def keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data=data)]])


async def test_get_me_auth_and_unknown_method(tg: TelegramStandIn, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123, "dutydesk_bot", True)

    tg.add_private_chat(ANN)
    intruder = make_bot(tg, "999:WRONG")
    with pytest.raises(TelegramUnauthorizedError):
        await intruder.get_me()
    await close_bot(intruder)

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{tg.api_base}/bot{TOKEN}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        # JSON bodies and query strings are accepted too, not only aiogram's multipart form.
        body = {"chat_id": ANN, "text": "json body", "reply_markup": keyboard("j").model_dump(exclude_none=True)}
        async with http.post(f"{tg.api_base}/bot{TOKEN}/sendMessage", json=body) as resp:
            assert (await resp.json())["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "j"
        async with http.get(f"{tg.api_base}/bot{TOKEN}/sendmessage?chat_id={ANN}&text=123") as resp:
            assert (await resp.json())["result"]["text"] == "123"


async def test_send_message_is_recorded(tg: TelegramStandIn, bot: Bot) -> None:
    tg.add_private_chat(ANN)
    sent = await bot.send_message(
        ANN, "<b>Ticket</b> #ops &lt;open&gt;", parse_mode="HTML", reply_markup=keyboard("t:7")
    )
    assert sent.text == "Ticket #ops <open>"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [("bold", 0, 6), ("hashtag", 7, 4)]

    record = tg.sent[-1]
    assert (record.method, record.chat_id, record.message_id, record.text) == (
        "sendMessage", ANN, sent.message_id, "Ticket #ops <open>",
    )  # fmt: skip
    assert record.reply_markup == {"inline_keyboard": [[{"text": "Go", "callback_data": "t:7"}]]}
    assert record.parse_mode == "HTML"
    assert [m["message_id"] for m in tg.messages_in(ANN, from_bot=True)] == [sent.message_id]


async def test_validation_errors(tg: TelegramStandIn, bot: Bot) -> None:
    tg.add_private_chat(ANN)
    cases: list[tuple[Any, str]] = [
        (bot.send_message(ANN, ""), "Bad Request: message text is empty"),
        (bot.send_message(ANN, "x" * 4097), "Bad Request: message is too long"),
        (bot.send_message(ANN, "hi", reply_markup=keyboard("x" * 65)), "Bad Request: BUTTON_DATA_INVALID"),
        (bot.send_message(-5, "hi"), "Bad Request: chat not found"),
        (bot.send_message(ANN, "a < b", parse_mode="HTML"), "Bad Request: can't parse entities"),
        (bot.send_message(ANN, "v1.2", parse_mode="MarkdownV2"), "is reserved and must be escaped"),
        (bot.copy_message(ANN, ANN, 999), "Bad Request: message to copy not found"),
        (bot.send_message(ANN, "hi", message_thread_id=5), "Bad Request: message thread not found"),
    ]
    for call, description in cases:
        with pytest.raises(TelegramBadRequest) as err:
            await call
        assert description in err.value.message
    assert await bot.send_message(ANN, "x" * 4096)  # the limit itself is fine
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(77, "hi")  # Bob never started the bot


async def test_long_poll_wakes_on_user_message(tg: TelegramStandIn, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.wait_for(lambda t: t.polls_waiting == 1)
    tg.user_sends(ANN, "my printer is on fire")
    updates = await asyncio.wait_for(poll, 2)
    assert loop.time() - started < 2
    assert [u.message.text for u in updates if u.message] == ["my printer is on fire"]
    assert updates[0].message and updates[0].message.from_user
    assert updates[0].message.from_user.language_code == "en"

    # A second poller terminates the first one, as on Telegram.
    older = asyncio.create_task(bot.get_updates(offset=updates[-1].update_id + 1, timeout=5))
    await tg.wait_for(lambda t: t.polls_waiting == 1)
    newer = asyncio.create_task(bot.get_updates(timeout=5))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await older
    tg.user_sends(ANN, "still burning")
    assert [u.message.text for u in await newer if u.message] == ["still burning"]


async def test_offset_confirms_updates_for_good(tg: TelegramStandIn, bot: Bot) -> None:
    first = tg.user_sends(ANN, "one")
    tg.user_command(ANN, "/start")
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["one", "/start"]
    command = updates[1].message
    assert command and command.entities and command.entities[0].type == "bot_command"
    assert (command.entities[0].offset, command.entities[0].length) == (0, 6)

    again = await bot.get_updates()  # unconfirmed updates are delivered again
    assert [u.update_id for u in again] == [u.update_id for u in updates]
    rest = await bot.get_updates(offset=updates[0].update_id + 1)
    assert [u.update_id for u in rest] == [updates[1].update_id]
    assert [u.update_id for u in await bot.get_updates()] == [updates[1].update_id]  # "one" is gone
    assert await bot.get_updates(offset=updates[1].update_id + 1) == []
    await tg.wait_idle_updates()
    assert first["text"] == "one"


async def test_webhook_delivery_retries_until_2xx(tg: TelegramStandIn, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def handler(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        if len(received) == 1:
            return web.Response(status=500)
        # Answer with a method call in the body, as aiogram's webhook handler can.
        return web.json_response({"method": "sendMessage", "chat_id": ANN, "text": "pong"})

    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()
        tg.user_sends(ANN, "ping")
        await tg.wait_idle_updates()
        await tg.wait_for(lambda t: any(s.text == "pong" for s in t.sent))
    finally:
        await runner.cleanup()

    assert [secret for secret, _ in received] == ["s3cret", "s3cret"]
    assert received[0][1] == received[1][1]  # the same update, retried
    assert received[0][1]["message"]["text"] == "ping"
    assert [a.status for a in tg.webhook_attempts] == [500, 200]
    info = await bot.get_webhook_info()
    assert info.url.endswith("/hook") and info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert await bot.delete_webhook()
    assert await bot.get_updates() == []


async def test_flood_limits_with_fake_clock() -> None:
    clock = FakeClock()
    async with TelegramStandIn(token=TOKEN, limits=RateLimits(), clock=clock) as tg:
        populate(tg)
        tg.add_private_chat(ANN)
        bot = make_bot(tg)
        await bot.send_message(ANN, "first")
        with pytest.raises(TelegramRetryAfter) as err:
            await bot.send_message(ANN, "second")
        assert err.value.retry_after == 1
        clock.now += 1.0
        await bot.send_message(ANN, "second")

        for n in range(20):
            clock.now += 0.1  # stay under 30/s overall
            await bot.send_message(GROUP, f"group {n}")
        with pytest.raises(TelegramRetryAfter) as err:
            await bot.send_message(GROUP, "one too many")
        assert 1 <= err.value.retry_after <= 60
        clock.now += err.value.retry_after
        await bot.send_message(GROUP, "after the window")

        assert tg.count_429 == 2 and {t.source for t in tg.throttled} == {"limit"}
        await close_bot(bot)


async def test_fail_next_injects_errors(tg: TelegramStandIn, bot: Bot) -> None:
    tg.add_private_chat(ANN)
    tg.fail_next("sendMessage", chat_id=ANN, retry_after=7)
    tg.fail_next("sendMessage", chat_id=GROUP, error_code=502)
    with pytest.raises(TelegramRetryAfter) as err:
        await bot.send_message(ANN, "hello")
    assert err.value.retry_after == 7
    await bot.send_message(ANN, "hello")  # only the next one failed
    with pytest.raises(TelegramServerError):
        await bot.send_message(GROUP, "hello")
    assert [s.text for s in tg.sent] == ["hello"]
    assert tg.throttled[-1].source == "injected"


async def test_blocked_user_is_forbidden(tg: TelegramStandIn, bot: Bot) -> None:
    tg.user_sends(ANN, "hi")
    tg.block_user(ANN)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ANN, "are you there?")
    updates = await bot.get_updates()
    kicked = updates[-1].my_chat_member
    assert kicked is not None and kicked.new_chat_member.status == "kicked"


async def test_forum_topics(tg: TelegramStandIn, bot: Bot) -> None:
    topic = await bot.create_forum_topic(FORUM, "Ticket #1")
    assert topic.name == "Ticket #1" and topic.icon_color in (7322096, 16766590)
    sent = await bot.send_message(FORUM, "hello", message_thread_id=topic.message_thread_id)
    assert sent.is_topic_message and sent.message_thread_id == topic.message_thread_id

    user_msg = tg.user_sends(ANN, "thanks", chat_id=FORUM, thread_id=topic.message_thread_id)
    # Real quirk: an unreplied topic message "replies" to the topic's creation message.
    assert "forum_topic_created" in user_msg["reply_to_message"]
    reply = tg.user_sends(ANN, "re", chat_id=FORUM, reply_to=sent.message_id)
    assert reply["message_thread_id"] == topic.message_thread_id
    assert [m["text"] for m in tg.messages_in(FORUM, topic.message_thread_id)] == ["hello", "thanks", "re"]

    await bot.close_forum_topic(FORUM, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(FORUM, topic.message_thread_id)
    tg.delete_topic(FORUM, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(FORUM, "still there?", message_thread_id=topic.message_thread_id)
    assert tg.topics(FORUM) == []

    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(GROUP, "Nope")
    with pytest.raises(TelegramBadRequest):
        await bot.create_forum_topic(FORUM, "x" * 129)


async def test_copy_message_copies_media(tg: TelegramStandIn, bot: Bot) -> None:
    photo = tg.user_sends(ANN, photo=True, caption="screenshot", file_bytes=b"\x89PNG...")
    topic = await bot.create_forum_topic(FORUM, "Ticket #2")
    copied = await bot.copy_message(FORUM, ANN, photo["message_id"], message_thread_id=topic.message_thread_id)

    record = tg.sent[-1]
    assert (record.method, record.copied_from, record.message_id) == (
        "copyMessage",
        (ANN, photo["message_id"]),
        copied.message_id,
    )
    assert record.thread_id == topic.message_thread_id and record.media == "photo"
    copy_msg = tg.messages_in(FORUM, topic.message_thread_id)[-1]
    assert copy_msg["photo"][-1]["file_unique_id"] == photo["photo"][-1]["file_unique_id"]
    assert copy_msg["caption"] == "screenshot"

    file = await bot.get_file(photo["photo"][-1]["file_id"])
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"\x89PNG..."

    uploaded = await bot.send_document(ANN, BufferedInputFile(b"log", "trace.txt"), caption="logs")
    assert uploaded.document and uploaded.document.file_name == "trace.txt"


async def test_migrated_group(tg: TelegramStandIn, bot: Bot) -> None:
    new_id = -1001000000099
    tg.migrate_group(BASIC, new_id)
    with pytest.raises(TelegramMigrateToChat) as err:
        await bot.send_message(BASIC, "hello")
    assert err.value.migrate_to_chat_id == new_id
    updates = await bot.get_updates()
    service = [u.message for u in updates if u.message]
    assert [(m.chat.id, m.migrate_to_chat_id, m.migrate_from_chat_id) for m in service] == [
        (BASIC, new_id, None),
        (new_id, None, BASIC),
    ]
    assert (await bot.send_message(new_id, "hello again")).chat.type == "supergroup"


async def test_dispatcher_end_to_end(tg: TelegramStandIn, bot: Bot) -> None:
    """A real aiogram Dispatcher polls the stand-in: command, button press, answer, edit."""
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Open a ticket?", reply_markup=keyboard("open"))

    @dp.callback_query(F.data == "open")
    async def open_ticket(query: CallbackQuery) -> None:
        await query.answer("Opened")
        assert isinstance(query.message, Message)
        await query.message.edit_text("Ticket opened")

    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=5)
    )
    try:
        tg.user_command(ANN, "/start")
        prompt = await tg.wait_for(lambda t: next((s for s in t.sent if s.text == "Open a ticket?"), None))
        tg.user_presses(ANN, ANN, prompt.message_id, "open")
        await tg.wait_for(lambda t: any(s.method == "editMessageText" for s in t.sent))
    finally:
        await dp.stop_polling()
        await polling
    assert tg.answered_callbacks[0]["text"] == "Opened"
    assert tg.messages_in(ANN, from_bot=True)[-1]["text"] == "Ticket opened"
    assert "reply_markup" not in tg.messages_in(ANN, from_bot=True)[-1]
