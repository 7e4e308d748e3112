"""The staff's side on Telegram, against the Bot API stand-in: an engineer who never pressed
Start, pings and headers in each engineer's own language, the staff greeting and the
command menus per chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.config import Config
from bot.commands import menu
from routing.language import LanguageDetector
from tests.standins.telegram_api import TelegramStandIn

from .test_telegram_flow import (
    ALICE,
    ANNA,
    BOT,
    DMITRY,
    IVAN,
    MARIA,
    OLGA,
    STAFF,
    TOKEN,
    Rig,
    open_rig,
    populate,
    telegram_config,
)


@pytest.fixture
async def world() -> AsyncIterator[TelegramStandIn]:
    """test_telegram_flow's world: engineers who pressed Start, customers, the forum."""
    async with TelegramStandIn(token=TOKEN, bot_username=BOT, limits=None) as stand_in:
        populate(stand_in)
        yield stand_in


@pytest.fixture
async def tg_without_anna() -> AsyncIterator[TelegramStandIn]:
    """As test_telegram_flow's world, except that Anna never pressed Start."""
    async with TelegramStandIn(token=TOKEN, bot_username=BOT, limits=None) as stand_in:
        for user, name in ((ANNA, "Anna"), (DMITRY, "Dmitry"), (OLGA, "Olga")):
            stand_in.add_user(user, name, language_code="ru")
        for user in (DMITRY, OLGA):
            stand_in.add_private_chat(user)
        stand_in.add_user(IVAN, "Ivan", "ivan_p", "ru", last_name="Petrov")
        stand_in.add_user(MARIA, "Maria", language_code="ru")
        stand_in.add_user(ALICE, "Alice", "alice", "en")
        stand_in.add_group(STAFF, "Support desk", forum=True, members=[ANNA, DMITRY, OLGA])
        yield stand_in


async def test_a_ping_to_an_engineer_who_never_pressed_start_is_reported_to_the_lead_once(
    tg_without_anna: TelegramStandIn, tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    tg = tg_without_anna
    rig: Rig = await open_rig(tg, telegram_config(example_config, tmp_path / "desk.db", tg), detector)
    try:
        tg.user_sends(IVAN, "Добрый день! Не выгружается отчёт по продажам.")
        await rig.settle()
        assert (await rig.ticket(1001)).assignee == "anna"  # least loaded, first in the roster
        assert rig.to(ANNA) == []  # Telegram refused: "bot can't initiate conversation with a user"
        [alert] = rig.to(OLGA)
        assert alert.text is not None and alert.text.startswith("Anna Smirnova (telegram:100001) недоступен(на)")
        assert "bot can't initiate conversation with a user" in alert.text
        assert "нажать «Start»" in alert.text

        rig.app.desk.clock.advance(timedelta(hours=4))  # half the first-response target: a reminder to Anna
        await rig.app.desk.fire_due()
        await rig.settle()
        failed = [r for r in await rig.store.outbox_rows(state="failed") if r["person"] == "anna"]
        assert [r["kind"] for r in failed] == ["ping", "reminder"]
        assert len(rig.to(OLGA)) == 1  # told once
        assert len(tg.topics(STAFF)) == 1  # the staff room has the ticket all along
    finally:
        await rig.close()


ENGLISH_WORDS = ("is on duty", "speaks", "ticket", "Assigned", "First response", "shift ", "Take", "Escalate")


async def test_pings_and_headers_are_each_in_their_readers_language(
    world: TelegramStandIn, tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    """Anna reads Russian (her first language); Dmitry, also a Russian speaker, chose
    English; the staff group reads Russian. Every part of each text is in one language."""
    engineers = [e.model_copy(update={"interface_language": "en"}) if e.id == "dmitry" else e
                 for e in example_config.engineers]
    cfg = example_config.model_copy(update={
        "engineers": engineers, "desk": example_config.desk.model_copy(update={"staff_room_language": "ru"})})
    tg = world
    rig: Rig = await open_rig(tg, telegram_config(cfg, tmp_path / "desk.db", tg), detector)
    try:
        tg.user_sends(IVAN, "Добрый день! Не выгружается отчёт по продажам.")
        await rig.settle()
        tg.user_sends(MARIA, "Ещё вопрос: не печатается накладная.")
        await rig.settle()
        assert [(await rig.ticket(t)).assignee for t in (1001, 1002)] == ["anna", "dmitry"]

        [to_anna] = rig.to(ANNA)
        assert to_anna.text is not None
        assert ("Назначено вам: обращение на языке «русский»: Anna Smirnova на смене (смена moscow_day), "
                "знает этот язык") in to_anna.text
        assert "Первый ответ до ср 25 нояб. 10:00 (Europe/Moscow)." in to_anna.text  # 8 working hours
        assert not [w for w in ENGLISH_WORDS if w in to_anna.text]
        labels = [b["text"] for row in (to_anna.reply_markup or {})["inline_keyboard"] for b in row]
        assert labels == ["Взять", "Эскалировать", "Решено", "Отложить 30 мин"]

        [to_dmitry] = rig.to(DMITRY)
        assert to_dmitry.text is not None
        assert "Assigned to you: Russian ticket: Dmitry Volkov is on duty (shift moscow_day), speaks Russian" in to_dmitry.text
        assert "First response due Wed 25 Nov 10:00 (Europe/Moscow)." in to_dmitry.text
        assert not [w for w in ("Назначено", "на смене", "русский") if w in to_dmitry.text]

        header = rig.to(STAFF, await rig.topic(1001))[0].text or ""
        assert "Исполнитель: Anna Smirnova" in header and "Статус: назначено" in header and "P3 обычный" in header
        assert not [w for w in ("Assignee", "Status", "assigned", "normal") if w in header]
    finally:
        await rig.close()


def _names(commands: list[dict[str, str]] | None) -> list[str]:
    return [c["command"] for c in commands or []]


async def test_menus_show_lead_commands_to_leads_only_and_start_greets_staff_as_staff(
    tg_without_anna: TelegramStandIn, tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    tg = tg_without_anna
    rig: Rig = await open_rig(tg, telegram_config(example_config, tmp_path / "desk.db", tg), detector)
    try:
        lead = dict(menu("lead", "ru"))
        engineer = dict(menu("engineer", "ru"))
        assert "reassign" in lead and "reassign" not in engineer and "take" in engineer
        assert tg.commands_for({"type": "chat", "chat_id": OLGA}) == [
            {"command": c, "description": d} for c, d in menu("lead", "ru")]  # Olga: a lead, reads Russian
        assert _names(tg.commands_for({"type": "chat_member", "chat_id": STAFF, "user_id": OLGA})) == list(lead)
        assert _names(tg.commands_for({"type": "chat", "chat_id": DMITRY})) == list(engineer)
        assert "reassign" not in _names(tg.commands_for({"type": "chat", "chat_id": STAFF}))
        assert "status" not in _names(tg.commands_for({"type": "chat", "chat_id": STAFF}))  # a customer's command
        assert not [scope for scope, _ in tg.commands if f'"chat_id":{ANNA}' in scope]  # no private chat yet

        tg.add_private_chat(ANNA)
        tg.user_command(ANNA, "/start")
        await rig.settle()
        [greeting] = rig.to(ANNA)
        assert greeting.text is not None
        assert greeting.text.startswith("Здравствуйте, Anna! Вы в графике dutydesk: инженер (First line).")
        assert "take [T-1042] — взять обращение" in greeting.text and "reassign" not in greeting.text
        assert "Напишите вопрос сюда" not in greeting.text  # not the customers' greeting
        assert _names(tg.commands_for({"type": "chat", "chat_id": ANNA})) == list(engineer)  # published now

        tg.user_command(IVAN, "/start")
        await rig.settle()
        assert (rig.to(IVAN)[0].text or "").startswith("Здравствуйте, Ivan! Это dutydesk, служба поддержки.")
    finally:
        await rig.close()
