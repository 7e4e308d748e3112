"""One ticket, two messengers: a customer on Telegram, engineers in Slack's triage channel.

Both real adapters run in one app — aiogram polling the Telegram stand-in, Bolt serving the
Slack stand-in's signed requests — with the real desk, store and dispatcher.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from adapters.telegram.channel import TelegramChannel
from adapters.telegram.config import TelegramConfig
from bot.app.config import Config
from bot.core.domain import Direction
from routing.language import LanguageDetector
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import RateLimits, TelegramStandIn

from .test_slack_flow import TRIAGE, Rig, open_rig, populate, slack_config

TOKEN = "7700001:stand-in-token"
IVAN = 200001  # Romashka LLC (warranty, ru), as in config.example.toml


@asynccontextmanager
async def telegram_stand_in(limits: RateLimits | None) -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn(token=TOKEN, bot_username="dutydesk_bot", limits=limits) as stand_in:
        stand_in.add_user(IVAN, "Ivan", "ivan_p", "ru", last_name="Petrov")
        for engineer in (100001, 100002, 100011):  # they have started the bot: pings reach them
            stand_in.add_user(engineer, f"engineer {engineer}", language_code="ru")
            stand_in.add_private_chat(engineer)
        yield stand_in


@asynccontextmanager
async def both_channels(
    tg: TelegramStandIn, db: Path, example_config: Config, detector: LanguageDetector, *, per_chat: float,
) -> AsyncIterator[Rig]:
    async with SlackStandIn(limits=None) as slack:
        populate(slack)
        cfg = slack_config(example_config, db, slack)
        cfg = cfg.model_copy(update={"telegram": TelegramConfig(
            enabled=True, api_base=tg.api_base, per_second=30, per_chat_per_second=per_chat,
            per_group_per_minute=100_000, polling_timeout=5,
        )})
        telegram = TelegramChannel(cfg.channels["telegram"], token=TOKEN)
        rig = await open_rig(slack, cfg, detector, others={"telegram": telegram})
        try:
            yield rig
        finally:
            await rig.close()


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStandIn]:
    async with telegram_stand_in(None) as stand_in:
        yield stand_in


@pytest.fixture
async def both(
    tg: TelegramStandIn, tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> AsyncIterator[Rig]:
    async with both_channels(tg, tmp_path / "desk.db", example_config, detector, per_chat=1000) as rig:
        yield rig


async def test_telegram_customer_and_slack_engineer_work_one_ticket(tg: TelegramStandIn, both: Rig) -> None:
    rig, slack = both, both.slack

    async def settle() -> None:
        await tg.wait_idle_updates()
        await rig.settle()

    tg.user_sends(IVAN, "Добрый день! Не выгружается отчёт по продажам за ноябрь.")
    await settle()
    [ticket] = await rig.tickets()
    assert (ticket.customer, ticket.conversation.channel) == (f"telegram:{IVAN}", "telegram")
    thread = await rig.thread(1001)
    [header] = rig.top_level(TRIAGE)
    assert header.ts == thread and "T-1001" in header.text and "Romashka" in header.text
    [copy] = rig.posted(TRIAGE, thread)
    assert "Ivan Petrov" in copy.text and "отчёт по продажам" in copy.text

    engineer = next(u for u, e in (("U0ANNA001", "anna"), ("U0DMIT002", "dmitry")) if e == ticket.assignee)
    await slack.user_message(engineer, TRIAGE, "Здравствуйте! Обновите, пожалуйста, модуль отчётов до 5.2.",
                             thread_ts=thread)
    await slack.user_message(engineer, TRIAGE, "! проверить лицензию клиента", thread_ts=thread)
    await settle()
    to_ivan = [s.text for s in tg.sent if s.chat_id == IVAN and s.method == "sendMessage"]
    assert len(to_ivan) == 2 and "T-1001" in (to_ivan[0] or "")  # the acknowledgement, then the answer
    assert to_ivan[1] == "Здравствуйте! Обновите, пожалуйста, модуль отчётов до 5.2."

    tg.user_sends(IVAN, "Спасибо, обновил — заработало!")
    await settle()
    assert rig.posted(TRIAGE, thread)[-1].text.endswith("Спасибо, обновил — заработало!")
    assert [m["direction"] for m in await rig.messages(1001)] == [
        Direction.CUSTOMER, Direction.ENGINEER, Direction.NOTE, Direction.CUSTOMER]


async def test_a_long_slack_answer_reaches_telegram_in_paced_parts(
    tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    """Slack takes 40,000 characters, Telegram 4,096: the answer arrives in parts, each once,
    in order, spaced to Telegram's one-a-second-per-chat limit (the stand-in enforces it)."""
    async with telegram_stand_in(RateLimits()) as tg, \
            both_channels(tg, tmp_path / "desk.db", example_config, detector, per_chat=1) as rig:
        tg.user_sends(IVAN, "Пришлите, пожалуйста, полную инструкцию по обновлению.")
        await tg.wait_idle_updates()
        await rig.settle()
        thread = await rig.thread(1001)
        [ticket] = await rig.tickets()
        engineer = next(u for u, e in (("U0ANNA001", "anna"), ("U0DMIT002", "dmitry")) if e == ticket.assignee)
        steps = [f"Шаг {n}. " + "Откройте раздел настроек и проверьте параметры." * 4 for n in range(1, 61)]
        await rig.slack.user_message(engineer, TRIAGE, "\n".join(steps), thread_ts=thread)
        await rig.settle()

        to_ivan = [s for s in tg.sent if s.chat_id == IVAN]
        answer = [s.text or "" for s in to_ivan[1:]]
        assert len(answer) == 3 and "\n".join(answer) == "\n".join(steps)
        # Spaced by the sender a second apart; on a loaded machine an HTTP request may land up
        # to the stand-in's forgiven jitter early, as on Telegram's side of the wire.
        spacing = 1.0 - RateLimits().jitter
        assert all(later.time - earlier.time >= spacing for earlier, later in itertools.pairwise(to_ivan))
        assert tg.throttled == []  # pacing, not 429s, kept the limit
