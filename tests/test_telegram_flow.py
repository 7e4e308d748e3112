"""The Telegram adapter end to end: a real aiogram bot over real HTTP against the Bot API
stand-in, the real desk, store and dispatcher, on a manual clock (Tuesday 11:00 Moscow,
the day shift on duty).

Synchronisation is by state, never by sleeping: `settle` waits until the stand-in has no
unconfirmed update (the adapter confirms only after the desk committed) and then delivers
the outbox with `dispatcher.flush()`. Tests that need the dispatcher running on its own
(restarts) wait on what the stand-in or the desk observed.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.telegram.channel import TelegramChannel
from adapters.telegram.config import TelegramConfig
from adapters.telegram.startup import TelegramSetupError
from bot.app.config import Config, DeliveryConfig, HttpConfig, IntakeConfig, StorageConfig
from bot.app.factory import App
from bot.commands import menu
from bot.commands.types import CommandRequest, Press, Reply
from bot.core.clock import ManualClock
from bot.core.domain import Direction, EventType, Priority, Status
from bot.flows.customer import Receipt
from routing.language import LanguageDetector
from tests.standins.telegram_api import RateLimits, SentRecord, TelegramStandIn

from .channel_contract import check_channel_contract
from .conftest import TUESDAY_11, AppViews

TOKEN = "7700001:stand-in-token"
BOT = "dutydesk_bot"
SECRET = "webhook-secret_42"
STAFF = -1001000000001  # the forum group: one topic per ticket
ROMASHKA_GROUP = -100200001  # Romashka's group chat, as in config.example.toml
IVAN, ALICE, MARIA = 200001, 200004, 200011  # Romashka (ru, warranty), ACME (en, premium), Romashka
ANNA, DMITRY, OLGA, LARS = 100001, 100002, 100011, 100004  # Lars: ACME's dedicated engineer
ENGINEER_USER = {"anna": ANNA, "dmitry": DMITRY, "lars": LARS}


def populate(tg: TelegramStandIn, *, staff: bool = True) -> None:
    for user, name, lang in ((ANNA, "Anna", "ru"), (DMITRY, "Dmitry", "ru"), (OLGA, "Olga", "ru"), (LARS, "Lars", "da")):
        tg.add_user(user, name, language_code=lang)
        tg.add_private_chat(user)  # engineers have started the bot
    tg.add_user(IVAN, "Ivan", "ivan_p", "ru", last_name="Petrov")
    tg.add_user(ALICE, "Alice", "alice", "en")
    tg.add_user(MARIA, "Maria", language_code="ru")
    if staff:
        tg.add_group(STAFF, "Support desk", forum=True, members=[ANNA, DMITRY, OLGA, LARS])


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn(token=TOKEN, bot_username=BOT, limits=None) as stand_in:
        populate(stand_in)
        yield stand_in


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def telegram_config(base: Config, db: Path, tg: TelegramStandIn, *, port: int = 0, **telegram: Any) -> Config:
    """The example roster on Telegram. Pacing is opened wide unless a test asks for the
    real limits, so tests wait on Telegram's behaviour, not on our politeness."""
    settings: dict[str, Any] = {
        "enabled": True, "api_base": tg.api_base, "staff_chat_id": STAFF, "per_second": 1000,
        "per_chat_per_second": 1000, "per_group_per_minute": 100_000, "polling_timeout": 5,
        "webhook_secret": SECRET,
    }
    return base.model_copy(update={
        "storage": StorageConfig(url=f"sqlite:///{db}"),
        "telegram": TelegramConfig(**(settings | telegram)),
        "intake": IntakeConfig(retry_base_seconds=0.01, retry_max_seconds=0.05),
        "delivery": DeliveryConfig(retry_base_seconds=0.01, retry_max_seconds=0.05),
        "http": HttpConfig(port=port),
    })


def webhook_config(base: Config, db: Path, tg: TelegramStandIn) -> tuple[Config, str]:
    """`telegram_config` on a webhook at a free port of this machine; and the webhook's URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    return telegram_config(base, db, tg, port=port, mode="webhook", webhook_url=url), url


@dataclass
class Rig(AppViews):
    tg: TelegramStandIn
    app: App
    channel: TelegramChannel
    live: bool  # the dispatcher runs by itself; otherwise only `settle` delivers

    async def settle(self) -> None:
        await self.tg.wait_idle_updates()
        await self.app.dispatcher.flush()

    async def topic(self, ticket_id: int) -> int:
        return int(await self.staff_thread(ticket_id))

    async def assignee_user(self, ticket_id: int) -> int:
        return ENGINEER_USER[(await self.ticket(ticket_id)).assignee or ""]

    def to(self, chat: int, thread: int | None = None) -> list[SentRecord]:
        """Messages the bot created in a chat (or one topic of it), oldest first."""
        return [
            s for s in self.tg.sent
            if s.method in ("sendMessage", "copyMessage") and s.chat_id == chat
            and (thread is None or s.thread_id == thread)
        ]

    async def close(self) -> None:
        if not self.live:
            await self.channel.stop()  # the app never started it
        await self.app.stop()


async def open_rig(
    tg: TelegramStandIn, cfg: Config, detector: LanguageDetector, *, live: bool = False,
) -> Rig:
    """`live`: `App.start()` as in production. Otherwise the channel (and HTTP server) start
    but not the dispatcher's loop, as in tests/conftest.py: only `settle` delivers, so a
    flush never races the loop."""
    channel = TelegramChannel(cfg.channels["telegram"], token=TOKEN)
    app = await App.create(cfg, clock=ManualClock(TUESDAY_11), adapters={"telegram": channel}, detector=detector,
                           serve_http=cfg.channels["telegram"].mode == "webhook")
    rig = Rig(tg, app, channel, live)
    try:
        if live:
            await app.start()
        else:
            await channel.start(app.desk, app.http)
            if app.http is not None:
                await app.http.start()
            # Load the topics bound to tickets; the loop, cancelled before its first step,
            # never runs.
            await app.dispatcher.start()
            await app.dispatcher.stop()
    except BaseException:
        await rig.close()
        raise
    return rig


async def rig_on_its_own_stand_in(
    tmp_path: Path, cfg: Config, detector: LanguageDetector, mode: str = "polling",
) -> AsyncIterator[Rig]:
    """A rig with a stand-in of its own, polling or on a webhook: for other test modules."""
    async with TelegramStandIn(token=TOKEN, bot_username=BOT, limits=None) as stand_in:
        populate(stand_in)
        db = tmp_path / "desk.db"
        chosen = webhook_config(cfg, db, stand_in)[0] if mode == "webhook" else telegram_config(cfg, db, stand_in)
        handle = await open_rig(stand_in, chosen, detector)
        yield handle
        await handle.close()


@pytest.fixture
async def rig(
    tg: TelegramStandIn, tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> AsyncIterator[Rig]:
    handle = await open_rig(tg, telegram_config(example_config, tmp_path / "desk.db", tg), detector)
    yield handle
    await handle.close()


Method = Callable[..., Awaitable[Any]]


def fail_once(target: Method, error: Exception) -> tuple[Method, list[Any]]:
    """A stand-in for a desk method that fails on its first call (the database is down)."""
    calls: list[Any] = []

    async def flaky(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise error
        return await target(*args)

    return flaky, calls


# -- the round trip: customer → topic → engineer → customer ---------------------------------------


async def round_trip(rig: Rig) -> None:
    tg = rig.tg
    asked = tg.user_sends(IVAN, "Добрый день! Подскажите, как выгрузить отчёт по продажам за месяц?")
    await rig.settle()

    assert [t["name"] for t in tg.topics(STAFF)] == ["T-1001 · Romashka LLC · P3 · ru"]
    topic = await rig.topic(1001)
    in_topic = rig.to(STAFF, topic)
    assert [s.method for s in in_topic] == ["sendMessage", "copyMessage"]  # the header, then the message
    assert "T-1001" in (in_topic[0].text or "") and in_topic[0].reply_markup is not None
    assert in_topic[1].copied_from == (IVAN, asked["message_id"])
    ack = rig.to(IVAN)
    assert len(ack) == 1 and "T-1001" in (ack[0].text or "") and ack[0].parse_mode is None
    ticket = await rig.ticket(1001)
    assert (ticket.customer, ticket.customer_name, ticket.conversation.chat_id) == (
        "telegram:200001", "Ivan Petrov", str(IVAN))

    engineer = await rig.assignee_user(1001)
    answer = tg.user_sends(engineer, "Здравствуйте! Меню → Отчёты → Продажи, период «месяц».",
                           chat_id=STAFF, thread_id=topic)
    await rig.settle()
    relayed = rig.to(IVAN)[1:]
    assert [(s.method, s.copied_from) for s in relayed] == [("copyMessage", (STAFF, answer["message_id"]))]

    tg.user_sends(engineer, "! клиент на старой версии, предложить обновление", chat_id=STAFF, thread_id=topic)
    await rig.settle()
    assert len(rig.to(IVAN)) == 2  # the note went nowhere
    notes = await rig.messages(1001, Direction.NOTE)
    assert [n["text"] for n in notes] == ["клиент на старой версии, предложить обновление"]
    assert [m["direction"] for m in await rig.messages(1001)] == ["customer", "engineer", "note"]


async def test_round_trip_with_long_polling(rig: Rig) -> None:
    await round_trip(rig)


async def test_round_trip_with_webhook(
    tg: TelegramStandIn, tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    cfg, url = webhook_config(example_config, tmp_path / "desk.db", tg)
    rig = await open_rig(tg, cfg, detector)
    try:
        update = {"update_id": 1, "message": {
            "message_id": 1, "date": 0, "chat": {"id": ALICE, "type": "private", "first_name": "Alice"},
            "from": {"id": ALICE, "is_bot": False, "first_name": "Alice"}, "text": "Production is down!"}}
        async with aiohttp.ClientSession() as http:
            for headers in ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {}):
                async with http.post(url, data=json.dumps(update), headers=headers) as resp:
                    assert resp.status == 401
        assert await rig.tickets() == []

        await round_trip(rig)
        assert {a.status for a in tg.webhook_attempts} == {200}
    finally:
        await rig.close()


async def test_webhook_tries_an_update_again_before_answering(
    tg: TelegramStandIn, tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    cfg, _url = webhook_config(example_config, tmp_path / "desk.db", tg)
    rig = await open_rig(tg, cfg, detector)
    try:
        flaky, calls = fail_once(rig.app.desk.receive, RuntimeError("database is locked"))
        rig.app.desk.receive = flaky  # type: ignore[method-assign]
        sent = tg.user_sends(ALICE, "The export button does nothing")
        await rig.settle()
        assert [(a.update_id, a.status) for a in tg.webhook_attempts] == [(1, 200)]
        assert len(calls) == 2
        assert [t.customer for t in await rig.tickets()] == ["telegram:200004"]
        assert [m["platform_id"] for m in await rig.messages(1001)] == [str(sent["message_id"])]
    finally:
        await rig.close()


async def test_webhook_answers_500_when_the_update_can_be_neither_taken_nor_set_aside(
    tg: TelegramStandIn, tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    cfg, _url = webhook_config(example_config, tmp_path / "desk.db", tg)
    cfg = cfg.model_copy(update={"intake": IntakeConfig(attempts=1)})
    rig = await open_rig(tg, cfg, detector)
    try:
        flaky, calls = fail_once(rig.app.desk.receive, RuntimeError("database is locked"))
        rig.app.desk.receive = flaky  # type: ignore[method-assign]
        down, set_aside = fail_once(rig.app.desk.set_aside, RuntimeError("database is locked"))
        rig.app.desk.set_aside = down  # type: ignore[method-assign]
        sent = tg.user_sends(ALICE, "The export button does nothing")
        await rig.settle()
        assert [(a.update_id, a.status) for a in tg.webhook_attempts] == [(1, 500), (1, 200)]
        assert (len(calls), len(set_aside)) == (2, 1)
        assert [m["platform_id"] for m in await rig.messages(1001)] == [str(sent["message_id"])]
        assert await rig.store.dead_letters() == []
    finally:
        await rig.close()


async def test_polling_retries_an_update_the_desk_failed(rig: Rig) -> None:
    flaky, calls = fail_once(rig.app.desk.receive, RuntimeError("database is locked"))
    rig.app.desk.receive = flaky  # type: ignore[method-assign]
    rig.tg.user_sends(ALICE, "The export button does nothing")
    rig.tg.user_sends(ALICE, "Chrome 120, Windows 11")
    await rig.settle()
    assert len(calls) == 3  # the first update twice, then the second
    assert [m["text"] for m in await rig.messages(1001)] == ["The export button does nothing", "Chrome 120, Windows 11"]


async def test_start_publishes_command_menus(rig: Rig) -> None:
    def listed(audience: str, language: str) -> list[dict[str, str]]:
        return [{"command": c, "description": d} for c, d in menu(audience, language)]

    tg = rig.tg
    assert tg.commands_for() == listed("customer", "en")
    for language in ("en", "ru", "uk", "pl", "da"):
        assert tg.commands_for({"type": "all_private_chats"}, language) == listed("customer", language)
    assert tg.commands_for({"type": "chat", "chat_id": STAFF}) == listed("engineer", "en")


async def test_without_a_staff_group_engineers_answer_from_private_chat(
    tg: TelegramStandIn, tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    rig = await open_rig(tg, telegram_config(example_config, tmp_path / "desk.db", tg, staff_chat_id=None), detector)
    try:
        asked = tg.user_sends(IVAN, "Не приходят письма с кодом подтверждения")
        await rig.settle()
        engineer = await rig.assignee_user(1001)
        ping, copy = rig.to(engineer)
        assert "T-1001" in (ping.text or "") and copy.copied_from == (IVAN, asked["message_id"])
        assert tg.commands_for({"type": "chat", "chat_id": STAFF}) is None

        answer = tg.user_sends(engineer, "Проверьте папку «Спам», пожалуйста.", reply_to=copy.message_id)
        await rig.settle()
        assert rig.to(IVAN)[-1].copied_from == (engineer, answer["message_id"])
    finally:
        await rig.close()


async def test_the_desk_s_immediate_answers_are_sent_under_the_message(rig: Rig) -> None:
    tg = rig.tg
    tg.user_sends(IVAN, "Не печатается чек")
    await rig.settle()
    topic = await rig.topic(1001)
    tg.add_user(300999, "Visitor")
    stray = tg.user_sends(300999, "Это мой тикет?", chat_id=STAFF, thread_id=topic)
    lost = tg.user_sends(ANNA, "Привет, что нового?")  # a private message that answers nothing
    await rig.settle()

    [refusal] = [s for s in rig.to(STAFF, topic) if s.reply_to == stray["message_id"]]
    assert "Only engineers in the roster" in (refusal.text or "")
    assert rig.to(IVAN)[-1].copied_from is None  # nothing was relayed
    hint = rig.to(ANNA)[-1]
    assert hint.reply_to == lost["message_id"] and "ответьте" in (hint.text or "")


# -- customer groups, edits, albums ---------------------------------------------------------------


async def test_group_mentions_and_replies_to_the_bot(rig: Rig) -> None:
    tg = rig.tg
    tg.add_group(ROMASHKA_GROUP, "Romashka × Support", members=[IVAN, MARIA])
    tg.user_sends(MARIA, "Коллеги, кто идёт на обед?", chat_id=ROMASHKA_GROUP)
    asked = tg.user_sends(IVAN, "@DutyDesk_bot не печатаются чеки на кассе №2", chat_id=ROMASHKA_GROUP)
    tg.user_sends(MARIA, "Иван, я уже перезагрузила кассу", chat_id=ROMASHKA_GROUP)
    await rig.settle()

    [ticket] = await rig.tickets()
    assert ticket.subject == "не печатаются чеки на кассе №2"
    assert ticket.conversation.chat_id == str(ROMASHKA_GROUP) and ticket.org_id == "romashka"
    [ack] = rig.to(ROMASHKA_GROUP)
    assert ack.reply_to == asked["message_id"]  # answers Ivan's message in the group

    tg.user_sends(MARIA, "На кассе №3 то же самое", chat_id=ROMASHKA_GROUP, reply_to=ack.message_id)
    await rig.settle()
    assert len(await rig.tickets()) == 1
    texts = [(m["author"], m["text"]) for m in await rig.messages(ticket.id)]
    assert texts == [
        ("telegram:200001", "не печатаются чеки на кассе №2"), ("telegram:200011", "На кассе №3 то же самое"),
    ]


async def test_edited_message_is_stored_and_shown_to_staff(rig: Rig) -> None:
    tg = rig.tg
    sent = tg.user_sends(ALICE, "The export button does nothing")
    await rig.settle()
    tg.user_edits(ALICE, sent["message_id"], "The export button does nothing in Chrome 120")
    await rig.settle()

    [message] = await rig.messages(1001)
    assert message["text"] == "The export button does nothing in Chrome 120" and message["edited_at"] is not None
    last = rig.to(STAFF, await rig.topic(1001))[-1]
    assert last.method == "sendMessage" and "edited a message: The export button does nothing in Chrome 120" in (
        last.text or "")


async def test_an_anonymous_admin_in_a_topic_is_told_and_nothing_reaches_the_customer(rig: Rig) -> None:
    tg = rig.tg
    tg.user_sends(ALICE, "The export button does nothing")
    await rig.settle()
    topic = await rig.topic(1001)
    before = len(rig.to(ALICE))
    posted = tg.anonymous_admin_sends(STAFF, "We are on it", thread_id=topic)
    await rig.settle()

    assert [m["direction"] for m in await rig.messages(1001)] == [Direction.CUSTOMER]
    assert len(rig.to(ALICE)) == before  # nothing relayed as if someone had answered
    hint = rig.to(STAFF, topic)[-1]
    assert hint.reply_to == posted["message_id"] and "Remain anonymous" in (hint.text or "")


async def test_an_anonymous_admin_in_a_customer_group_is_told_in_the_group_s_language(rig: Rig) -> None:
    tg = rig.tg
    tg.add_group(ROMASHKA_GROUP, "Romashka × Support", members=[IVAN])
    posted = tg.anonymous_admin_sends(ROMASHKA_GROUP, "@DutyDesk_bot не печатаются чеки на кассе")
    await rig.settle()

    [hint] = rig.to(ROMASHKA_GROUP)  # Romashka reads Russian (config.example.toml)
    assert hint.reply_to == posted["message_id"]
    assert (hint.text or "").startswith("Это сообщение отправлено анонимно") and "«Анонимность»" in (hint.text or "")


async def test_an_engineer_s_edit_reaches_the_customer_as_a_correction(rig: Rig) -> None:
    tg = rig.tg
    tg.user_sends(IVAN, "Как выгрузить отчёт по продажам?")
    await rig.settle()
    topic, engineer = await rig.topic(1001), await rig.assignee_user(1001)
    answer = tg.user_sends(engineer, "Меню → Отчёты → Склад.", chat_id=STAFF, thread_id=topic)
    note = tg.user_sends(engineer, "! проверить права", chat_id=STAFF, thread_id=topic)
    await rig.settle()
    tg.user_edits(STAFF, answer["message_id"], "Меню → Отчёты → Продажи.")
    tg.user_edits(STAFF, note["message_id"], "! проверить права и версию")
    await rig.settle()

    last = rig.to(IVAN)[-1]
    assert (last.method, last.text) == ("sendMessage", "Уточнение к нашему предыдущему сообщению: Меню → Отчёты → Продажи.")
    assert len(rig.to(IVAN)) == 3  # the acknowledgement, the answer, one correction: the note stays inside
    texts = [m["text"] for m in await rig.messages(1001)]
    assert texts[1:] == ["Меню → Отчёты → Продажи.", "проверить права и версию"]


async def test_album_is_one_message_with_every_photo(rig: Rig) -> None:
    tg = rig.tg
    captions = ["Скриншоты ошибки при оплате", None, None]
    parts = [tg.user_sends(IVAN, photo=True, media_group_id="album-7", caption=c) for c in captions]
    await rig.settle()

    [ticket] = await rig.tickets()
    [message] = await rig.messages(ticket.id)
    assert message["text"] == "Скриншоты ошибки при оплате"
    largest = [max(p["photo"], key=lambda size: size["width"])["file_id"] for p in parts]
    assert [(a["kind"], a["ref"]) for a in message["attachments"]] == [("photo", ref) for ref in largest]
    copies = [s.copied_from for s in rig.to(STAFF, await rig.topic(ticket.id)) if s.method == "copyMessage"]
    assert copies == [(IVAN, p["message_id"]) for p in parts]


# -- delivery: limits, blocked users, deleted topics, migrated groups ----------------------------


async def test_429_loses_nothing_and_keeps_order(
    tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    async with TelegramStandIn(token=TOKEN, bot_username=BOT, limits=RateLimits()) as tg:
        populate(tg)
        cfg = telegram_config(example_config, tmp_path / "desk.db", tg, per_second=30, per_chat_per_second=1,
                              per_group_per_minute=20)
        rig = await open_rig(tg, cfg, detector)
        try:
            tg.fail_next("sendMessage", chat_id=STAFF, retry_after=1)  # the header, after its topic was made
            tg.user_sends(ALICE, "The export button does nothing")
            await rig.settle()
            assert len(tg.topics(STAFF, include_deleted=True)) == 1  # the retry reused the topic
            topic = await rig.topic(1001)
            assert [s.method for s in rig.to(STAFF, topic)] == ["sendMessage", "copyMessage"]

            engineer = await rig.assignee_user(1001)
            answers = [tg.user_sends(engineer, f"Step {n} of 3", chat_id=STAFF, thread_id=topic) for n in (1, 2, 3)]
            tg.fail_next("copyMessage", chat_id=ALICE, retry_after=1)
            await rig.settle()

            to_alice = rig.to(ALICE)
            assert [s.method for s in to_alice] == ["sendMessage", "copyMessage", "copyMessage", "copyMessage"]
            assert [s.copied_from for s in to_alice[1:]] == [(STAFF, a["message_id"]) for a in answers]
            assert [t.source for t in tg.throttled] == ["injected", "injected"]  # pacing caused none
            assert {r["state"] for r in await rig.app.store.outbox_rows()} <= {"sent", "superseded"}
        finally:
            await rig.close()


async def test_blocked_customer_fails_once_and_the_assignee_is_told(rig: Rig) -> None:
    tg = rig.tg
    tg.user_sends(IVAN, "Не приходят письма с кодом подтверждения")
    await rig.settle()
    tg.block_user(IVAN)
    engineer = await rig.assignee_user(1001)
    tg.user_sends(engineer, "Проверьте, пожалуйста, папку «Спам».", chat_id=STAFF, thread_id=await rig.topic(1001))
    await rig.settle()

    [reply] = await rig.app.store.outbox_rows(1001, "failed")
    assert (reply["kind"], reply["attempts"], reply["last_error"]) == ("reply", 1, "the customer blocked the bot")
    alert = rig.to(engineer)[-1]
    assert "T-1001" in (alert.text or "") and "the customer blocked the bot" in (alert.text or "")


async def test_an_engineer_who_blocked_the_bot_is_reported_to_the_lead_with_telegram_s_advice(rig: Rig) -> None:
    """The advice comes from the Telegram channel's descriptor: press Start, or unblock."""
    tg = rig.tg
    for user in ENGINEER_USER.values():
        tg.block_user(user)
    tg.user_sends(IVAN, "Не приходят письма с кодом подтверждения")
    await rig.settle()

    engineer = await rig.assignee_user(1001)
    [alert] = [s for s in rig.to(OLGA) if f"telegram:{engineer}" in (s.text or "")]
    assert "недоступен(на) в личном чате" in (alert.text or "") and "нажать «Start»" in (alert.text or "")  # Olga reads ru


async def test_deleted_topic_is_recreated_and_rebound(rig: Rig) -> None:
    tg = rig.tg
    tg.user_sends(IVAN, "Не работает выгрузка в 1С")
    await rig.settle()
    first = await rig.topic(1001)
    tg.delete_topic(STAFF, first)

    again = tg.user_sends(IVAN, "Ошибка: неверный формат файла")
    await rig.settle()
    second = await rig.topic(1001)
    assert second != first
    assert [t["message_thread_id"] for t in tg.topics(STAFF)] == [second]
    assert tg.topics(STAFF)[0]["name"].startswith("T-1001 · Romashka LLC")
    copies = [s.copied_from for s in rig.to(STAFF, second) if s.method == "copyMessage"]
    assert copies == [(IVAN, again["message_id"])]
    headers = [s for s in rig.to(STAFF, second) if s.method == "sendMessage" and s.text.startswith("T-1001 · ")]
    assert len(headers) == 1 and headers[0].reply_markup  # the new topic gets its summary and buttons back

    engineer = await rig.assignee_user(1001)
    answer = tg.user_sends(engineer, "Пришлите, пожалуйста, файл.", chat_id=STAFF, thread_id=second)
    third = tg.user_sends(IVAN, "Вот он")
    await rig.settle()
    assert rig.to(IVAN)[-1].copied_from == (STAFF, answer["message_id"])
    assert rig.to(STAFF, second)[-1].copied_from == (IVAN, third["message_id"])
    assert len(tg.topics(STAFF, include_deleted=True)) == 2


async def test_migrated_group_keeps_its_ticket(rig: Rig) -> None:
    tg = rig.tg
    supergroup = -1001002000011
    tg.add_group(ROMASHKA_GROUP, "Romashka × Support", supergroup=False, members=[IVAN, MARIA])
    tg.user_sends(IVAN, "@dutydesk_bot касса не печатает чеки", chat_id=ROMASHKA_GROUP)
    await rig.settle()
    tg.migrate_group(ROMASHKA_GROUP, supergroup)
    await rig.settle()
    assert (await rig.ticket(1001)).conversation.chat_id == str(supergroup)

    later = tg.user_sends(IVAN, "@dutydesk_bot и на второй кассе тоже", chat_id=supergroup)
    await rig.settle()
    assert [t.id for t in await rig.tickets()] == [1001]
    engineer = await rig.assignee_user(1001)
    answer = tg.user_sends(engineer, "Перезапустите драйвер ККТ.", chat_id=STAFF, thread_id=await rig.topic(1001))
    await rig.settle()
    [relayed] = [s for s in rig.to(supergroup) if s.method == "copyMessage"]
    assert (relayed.copied_from, relayed.reply_to) == ((STAFF, answer["message_id"]), later["message_id"])


# -- start-up self-check ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "complaint"),
    [
        ({"forum": False}, "is not a forum — open the group's settings → Topics"),
        ({"forum": True, "bot_is_admin": False},
         "the bot is not an administrator with 'Manage topics' — open the group's settings → Administrators → "
         "add @dutydesk_bot with Manage topics"),
        ({"forum": True, "can_manage_topics": False}, "administrator without 'Manage topics'"),
        (None, "chat not found"),
    ],
)
async def test_start_refuses_a_staff_group_it_cannot_work_in(
    group: dict[str, bool] | None, complaint: str, tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    broken = -1009999999999
    async with TelegramStandIn(token=TOKEN, bot_username=BOT, limits=None) as tg:
        populate(tg, staff=False)
        if group is not None:
            tg.add_group(broken, "Support desk", **group)
        cfg = telegram_config(example_config, tmp_path / "desk.db", tg, staff_chat_id=broken)
        with pytest.raises(TelegramSetupError) as err:
            await open_rig(tg, cfg, detector, live=True)
        assert str(err.value).startswith(f"telegram.staff_chat_id {broken}: ")
        assert complaint in str(err.value)


async def test_a_staff_check_telegram_cannot_answer_does_not_keep_the_desk_down(
    tmp_path: Path, example_config: Config, detector: LanguageDetector, caplog: pytest.LogCaptureFixture,
) -> None:
    async with TelegramStandIn(token=TOKEN, bot_username=BOT, limits=None) as tg:
        populate(tg)
        tg.fail_next("getChatMember", error_code=500)
        rig = await open_rig(tg, telegram_config(example_config, tmp_path / "desk.db", tg), detector)
        try:
            assert "could not check the staff group" in caplog.text
            tg.user_sends(ALICE, "The export button does nothing")
            await rig.settle()
            assert len(tg.topics(STAFF)) == 1  # working as usual
        finally:
            await rig.close()


# -- restarts ------------------------------------------------------------------------------------


async def test_restart_mid_burst_loses_and_duplicates_nothing(
    tg: TelegramStandIn, tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    """Three lives of the app on one database: the first handles part of a burst and
    confirms none of it; the second delivers part of the outbox; the third the rest."""
    customers = [300001 + n for n in range(6)]
    for user in customers:
        tg.add_user(user, f"Customer {user}", language_code="ru")
    db = tmp_path / "desk.db"
    burst = [
        tg.user_sends(user, text)
        for user in customers for text in (f"Не открывается отчёт №{user}", f"Ошибка 500 у клиента {user}")
    ]

    # 1: stopped after five messages were committed, before the poll that confirms them.
    first = await open_rig(tg, telegram_config(example_config, db, tg), detector)
    committed = asyncio.Event()
    receipts: list[Receipt] = []
    receive = first.app.desk.receive

    async def counted(msg: Any) -> Receipt:
        receipt = await receive(msg)
        receipts.append(receipt)
        if len(receipts) == 5:
            committed.set()
        return receipt

    first.app.desk.receive = counted  # type: ignore[method-assign]
    await committed.wait()
    await first.close()
    assert len(tg.pending_updates) == len(burst)  # nothing confirmed
    assert rig_sent(tg) == []

    # 2: the dispatcher runs by itself, slowly, and the app stops after four deliveries.
    second = await open_rig(tg, telegram_config(example_config, db, tg, per_second=2), detector, live=True)
    delivered = asyncio.Event()
    deliveries: list[Any] = []
    record = second.app.desk.record_delivery

    async def recorded(message: Any, result: Any) -> None:
        await record(message, result)
        deliveries.append(message)
        if len(deliveries) == 4:
            delivered.set()

    second.app.desk.record_delivery = recorded  # type: ignore[method-assign]
    await delivered.wait()
    await second.close()
    assert 4 <= len(rig_sent(tg)) < 20

    # 3: the rest.
    third = await open_rig(tg, telegram_config(example_config, db, tg), detector)
    try:
        await third.settle()
        tickets = await third.tickets()
        assert sorted(t.customer for t in tickets) == [f"telegram:{u}" for u in customers]
        for ticket in tickets:
            ids = [m["platform_id"] for m in await third.messages(ticket.id, Direction.CUSTOMER)]
            expected = [str(m["message_id"]) for m in burst if f"telegram:{m['chat']['id']}" == ticket.customer]
            assert ids == expected
        rows = await third.app.store.outbox_rows()
        assert {r["state"] for r in rows} <= {"sent", "superseded"}
        # Every message the bot created belongs to exactly one outbox row, and vice versa.
        created = {(s.chat_id, s.message_id) for s in rig_sent(tg)}
        assert len(created) == len(rig_sent(tg))
        booked = {(int(r["chat_id"]), int(r["platform_id"])) for r in rows if r["state"] == "sent"}
        assert created == booked
        assert len(tg.topics(STAFF, include_deleted=True)) == len(customers)
    finally:
        await third.close()


def rig_sent(tg: TelegramStandIn) -> list[SentRecord]:
    return [s for s in tg.sent if s.method in ("sendMessage", "copyMessage")]


# -- commands and buttons: what reaches the desk --------------------------------------------------


async def test_commands_reach_the_desk_as_typed(rig: Rig) -> None:
    tg = rig.tg
    asked: list[CommandRequest] = []

    async def command(request: CommandRequest) -> Reply:
        asked.append(request)
        return Reply("ok")

    rig.app.desk.command = command  # type: ignore[attr-defined]
    tg.user_sends(IVAN, "Не печатается чек")
    await rig.settle()
    topic = await rig.topic(1001)
    tg.add_group(ROMASHKA_GROUP, "Romashka × Support", members=[IVAN])
    start = tg.user_command(IVAN, "/start")
    tg.user_command(IVAN, "/status@dutydesk_bot")
    tg.user_command(IVAN, "/status@other_bot", chat_id=ROMASHKA_GROUP)
    tg.user_command(IVAN, "/urgent", chat_id=ROMASHKA_GROUP)
    take = tg.user_command(ANNA, "/reassign T-1001 @dmitry  he knows 1C", chat_id=STAFF, thread_id=topic)
    tg.user_command(ANNA, "/note@dutydesk_bot проверить логи кассы", chat_id=STAFF, thread_id=topic)
    sent_before = len(rig_sent(tg))
    await rig.settle()

    # Chats are handled side by side; within a chat, in order.
    seen = [(r.text, r.private, r.conversation.chat_id, r.conversation.thread_id) for r in asked]
    assert sorted(seen) == sorted([
        ("start", True, str(IVAN), None),
        ("status", True, str(IVAN), None),
        ("urgent", False, str(ROMASHKA_GROUP), None),
        ("reassign T-1001 @dmitry  he knows 1C", False, str(STAFF), str(topic)),
    ])
    assert seen.index(("start", True, str(IVAN), None)) < seen.index(("status", True, str(IVAN), None))
    keys = {r.text: r for r in asked}
    assert keys["start"].key == f"tg:{IVAN}:{start['message_id']}"
    reassign = keys["reassign T-1001 @dmitry  he knows 1C"]
    assert reassign.key == f"tg:{STAFF}:{take['message_id']}" and reassign.sender.identity == "telegram:100001"
    assert all(r.reply_in_chat for r in asked)
    assert len(rig_sent(tg)) == sent_before  # answers are the desk's, through the outbox
    assert [n["text"] for n in await rig.messages(1001, Direction.NOTE)] == ["проверить логи кассы"]


async def test_presses_reach_the_desk_and_are_answered(rig: Rig) -> None:
    tg = rig.tg
    pressed: list[Press] = []
    replies = iter([Reply("Marked urgent"), Reply("This ticket is closed", ok=False)])

    async def press(request: Press) -> Reply:
        pressed.append(request)
        return next(replies)

    rig.app.desk.press = press  # type: ignore[attr-defined]
    tg.user_sends(IVAN, "Не печатается чек")
    await rig.settle()
    [ack] = rig.to(IVAN)
    data = ack.reply_markup["inline_keyboard"][0][0]["callback_data"] if ack.reply_markup else ""
    assert data == "dd:urgent:1001:"
    first = tg.user_presses(IVAN, IVAN, ack.message_id or 0, data)
    second = tg.user_presses(IVAN, IVAN, ack.message_id or 0, data)
    await rig.settle()

    assert [(p.data, p.key, p.sender.identity, p.conversation.chat_id) for p in pressed] == [
        (data, f"tg:cb:{first}", "telegram:200001", str(IVAN)),
        (data, f"tg:cb:{second}", "telegram:200001", str(IVAN)),
    ]
    answers = [(a["callback_query_id"], a["text"], a["show_alert"]) for a in tg.answered_callbacks]
    assert answers == [(first, "Marked urgent", False), (second, "This ticket is closed", True)]


# -- commands and buttons through the real command layer ----------------------------------------


async def test_customer_commands(rig: Rig) -> None:
    tg = rig.tg
    tg.user_command(IVAN, "/start")
    await rig.settle()
    assert len(rig.to(IVAN)) == 1  # a greeting
    tg.user_sends(IVAN, "Не печатается чек на кассе")
    await rig.settle()
    tg.user_command(IVAN, "/status")
    await rig.settle()
    assert "T-1001" in (rig.to(IVAN)[-1].text or "")
    tg.user_command(IVAN, "/urgent")
    await rig.settle()
    assert (await rig.ticket(1001)).priority <= Priority.P2


async def test_take_command_in_a_topic(rig: Rig) -> None:
    tg = rig.tg
    tg.user_sends(IVAN, "Не печатается чек на кассе")
    await rig.settle()
    other = {"anna": DMITRY, "dmitry": ANNA}[(await rig.ticket(1001)).assignee or ""]
    tg.user_command(other, "/take", chat_id=STAFF, thread_id=await rig.topic(1001))
    await rig.settle()
    assert ENGINEER_USER[(await rig.ticket(1001)).assignee or ""] == other


async def test_take_buttons_on_the_ping_and_the_header(rig: Rig) -> None:
    tg = rig.tg
    tg.user_sends(IVAN, "Не печатается чек на кассе")
    await rig.settle()
    engineer = await rig.assignee_user(1001)
    [ping] = rig.to(engineer)
    take = "dd:take:1001:"
    own = tg.user_presses(engineer, engineer, ping.message_id or 0, take)
    await rig.settle()
    assert [(a["callback_query_id"], a["show_alert"]) for a in tg.answered_callbacks] == [(own, False)]
    ticket = await rig.ticket(1001)
    assert ticket.assignee is not None and ENGINEER_USER[ticket.assignee] == engineer
    assert ticket.status in (Status.ASSIGNED, Status.IN_PROGRESS)

    other = {ANNA: DMITRY, DMITRY: ANNA}[engineer]
    header = rig.to(STAFF, await rig.topic(1001))[0]
    tg.user_presses(other, STAFF, header.message_id or 0, take)
    await rig.settle()
    assert ENGINEER_USER[(await rig.ticket(1001)).assignee or ""] == other
    assert len(tg.answered_callbacks) == 2


async def test_role_checks_and_lead_commands_through_telegram(rig: Rig) -> None:
    """The command layer's scenarios, typed in Telegram: a customer is refused and nothing
    changes; a lead reassigns and escalates from the ticket's topic; answers come back in
    the chat they were asked in, in the asker's language."""
    tg = rig.tg
    tg.user_sends(IVAN, "Не печатается чек на кассе")
    await rig.settle()
    topic = await rig.topic(1001)
    before = await rig.ticket(1001)

    tg.user_command(IVAN, "/reassign T-1001 @dmitry")
    tg.user_command(ANNA, "/reassign T-1001 @dmitry", chat_id=STAFF, thread_id=topic)
    await rig.settle()
    assert (rig.to(IVAN)[-1].text or "").startswith("Нет доступа: команда reassign только для руководителей смены")
    in_topic = rig.to(STAFF, topic)[-1].text or ""
    assert "reassign" in in_topic and ("не" in in_topic or "Not allowed" in in_topic)
    assert (await rig.ticket(1001)).assignee == before.assignee

    other = "dmitry" if before.assignee == "anna" else "anna"
    tg.user_command(OLGA, f"/reassign @{other} customer asked for them", chat_id=STAFF, thread_id=topic)
    await rig.settle()
    assert (await rig.ticket(1001)).assignee == other
    assert (rig.to(STAFF, topic)[-1].text or "").startswith("T-1001 →")

    tg.user_command(OLGA, "/escalate T-1001 ee finance касса считает НДС неверно", chat_id=STAFF, thread_id=topic)
    await rig.settle()
    escalated = await rig.ticket(1001)
    assert (escalated.tier, escalated.assignee) == ("ee", "elena")
    assert EventType.ESCALATED in await rig.events(1001)

    tg.user_command(OLGA, "/priority T-1001 P9")
    await rig.settle()
    assert (rig.to(OLGA)[-1].text or "").startswith("Использование: priority T-1042 P1")
    tg.user_command(ALICE, "/status")
    await rig.settle()
    assert rig.to(ALICE)[-1].text == "You have no open requests."


async def test_a_caption_too_long_to_copy_reaches_the_topic_in_parts_and_is_never_undeliverable(rig: Rig) -> None:
    """A Premium customer's 5,000-character caption: the bot may not copy it whole."""
    tg = rig.tg
    caption = "\n".join(f"Шаг {n}: " + ", ".join(["не открывается отчёт"] * 3) for n in range(80))
    photo = tg.user_sends(IVAN, photo=True, caption=caption)
    await rig.settle()
    topic = await rig.topic(1001)
    in_topic = [s for s in tg.sent if s.chat_id == STAFF and s.thread_id == topic
                and s.method in ("sendMessage", "copyMessage", "copyMessages")]
    assert [s.method for s in in_topic][:2] == ["sendMessage", "copyMessages"]  # the header, then the photo
    assert in_topic[1].copied_from == (IVAN, photo["message_id"]) and in_topic[1].media == "photo"
    parts = [s.text or "" for s in in_topic[2:]]
    assert len(parts) == 2 and "\n".join(parts) == f"Ivan Petrov: {caption}\n[photo]"
    assert {r["state"] for r in await rig.store.outbox_rows()} == {"sent"}


async def test_the_telegram_channel_keeps_the_channel_contract(rig: Rig) -> None:
    await check_channel_contract(rig.channel, staff_room=str(STAFF), private_chat=str(ANNA))
