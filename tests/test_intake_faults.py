"""Intake never stalls: text no store can hold is scrubbed at the adapter boundary, and an
update that fails every attempt is set aside (the dead-letter table), the leads are told
once, and the updates after it are served — Telegram polling and webhook, and Slack, each
through the real adapter over HTTP against its stand-in.

A failure is injected for one update by wrapping the desk's entry point for that update's
text only; everything else reaches the real desk.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.app import cli
from bot.app.config import Config
from bot.core.desk import Desk
from bot.core.domain import Inbound
from bot.flows.customer import Receipt
from routing.language import LanguageDetector
from tests.standins.slack_api import SlackStandIn

from .test_slack_flow import OLGA as SLACK_OLGA
from .test_slack_flow import SEVER, populate, slack_config
from .test_slack_flow import Rig as SlackRig
from .test_slack_flow import open_rig as open_slack_rig
from .test_telegram_flow import ALICE, IVAN, OLGA, Rig, rig_on_its_own_stand_in

POISON = "Этот запрос всегда падает"
BROKEN = "broken \ud83d"  # JSON "broken \ud83d": half of an emoji, a lone surrogate
SCRUBBED = "broken \ufffd"


def poison(desk: Desk, text: str = POISON) -> list[Inbound]:
    """Make the desk fail on every attempt at the message with this text; returns the attempts."""
    receive = desk.receive
    attempts: list[Inbound] = []

    async def failing_for_one(msg: Inbound) -> Receipt:
        if msg.text == text:
            attempts.append(msg)
            raise RuntimeError("injected: this update always fails")
        return await receive(msg)

    desk.receive = failing_for_one  # type: ignore[method-assign]
    return attempts


@pytest.fixture(params=["polling", "webhook"])
async def any_rig(
    request: pytest.FixtureRequest, tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> AsyncIterator[Rig]:
    async for handle in rig_on_its_own_stand_in(tmp_path, example_config, detector, request.param):
        yield handle


@pytest.fixture
async def polling_rig(tmp_path: Path, example_config: Config, detector: LanguageDetector) -> AsyncIterator[Rig]:
    async for handle in rig_on_its_own_stand_in(tmp_path, example_config, detector):
        yield handle


@pytest.fixture
async def slack_rig(tmp_path: Path, example_config: Config, detector: LanguageDetector) -> AsyncIterator[SlackRig]:
    async with SlackStandIn(limits=None) as slack:
        populate(slack)
        handle = await open_slack_rig(slack, slack_config(example_config, tmp_path / "desk.db", slack), detector)
        yield handle
        await handle.close()


def texts_to(rig: Rig, chat: int, has: Callable[[str], bool] = lambda _: True) -> list[str]:
    return [s.text or "" for s in rig.to(chat) if has(s.text or "")]


def about_set_aside(text: str) -> bool:
    return "dutydesk deadletter list" in text


# -- scrubbing ---------------------------------------------------------------------------------


async def test_lone_surrogates_in_a_text_a_caption_and_a_name_are_kept_as_replacement_characters(
    any_rig: Rig,
) -> None:
    rig, tg = any_rig, any_rig.tg
    tg.add_user(300777, "Ma\ud83dria", language_code="ru")
    tg.user_sends(IVAN, BROKEN)
    tg.user_sends(IVAN, photo=True, caption="Скриншот \udc00ошибки")
    tg.user_sends(300777, "Не работает выгрузка")
    tg.user_sends(ALICE, "The export button does nothing")
    await rig.settle()

    by_customer = {t.customer: t for t in await rig.tickets()}
    ivan = by_customer[f"telegram:{IVAN}"]
    assert [m["text"] for m in await rig.messages(ivan.id)] == [SCRUBBED, "Скриншот \ufffdошибки"]
    assert by_customer["telegram:300777"].customer_name == "Ma\ufffdria"
    assert texts_to(rig, ALICE, lambda t: "T-" in t)  # the next customer is answered
    assert await rig.store.dead_letters() == []


async def test_a_lone_surrogate_in_a_slack_message_is_kept_and_the_next_customer_answered(slack_rig: SlackRig) -> None:
    rig, slack = slack_rig, slack_rig.slack
    answered = await slack.user_message(SEVER, slack.dm_channel(SEVER), BROKEN)
    assert answered.status == 200
    await rig.settle()
    [ticket] = await rig.tickets()
    assert [m["text"] for m in await rig.messages(ticket.id)] == [SCRUBBED]
    acme = await slack.user_message("U0ACME004", "C0ACME001", "Checkout is slow today")
    assert acme.status == 200 and len(await rig.tickets()) == 2


# -- setting aside -----------------------------------------------------------------------------


async def test_an_update_that_always_fails_is_set_aside_and_later_customers_are_served(
    any_rig: Rig, capsys: pytest.CaptureFixture[str],
) -> None:
    rig, tg = any_rig, any_rig.tg
    desk = rig.app.desk
    attempts = poison(desk)
    tg.user_sends(IVAN, POISON)
    tg.user_sends(ALICE, "The export button does nothing")
    await rig.settle()

    tries = rig.app.cfg.intake.attempts
    assert len(attempts) == tries
    assert [t.customer for t in await rig.tickets()] == [f"telegram:{ALICE}"]
    assert texts_to(rig, ALICE, lambda t: "T-1001" in t)
    assert tg.pending_updates == []  # confirmed: the poll's offset (or the webhook) moved on
    [row] = await rig.store.dead_letters()
    assert (row["channel"], row["state"], row["attempts"]) == ("telegram", "open", tries)
    assert row["error"] == "RuntimeError: injected: this update always fails"
    assert json.loads(row["payload"])["message"]["text"] == POISON
    [alert] = texts_to(rig, OLGA, about_set_aside)  # the lead, once
    assert row["key"] in alert and "injected" in alert

    # A person looks, and asks for a retry while the cause is still there: set aside again,
    # attempts added up, nobody told twice.
    db = rig.app.cfg.storage.url.removeprefix("sqlite:///")
    assert await asyncio.to_thread(cli.main, ["deadletter", "list", "--db", db]) == 0
    listing = capsys.readouterr().out
    assert f"{row['id']:<5} open" in listing and "injected" in listing and "in all: 1 open, 0 retry, 0 done" in listing
    assert await asyncio.to_thread(cli.main, ["deadletter", "retry", str(row["id"]), "--db", db]) == 0
    assert "marked for retry" in capsys.readouterr().out
    assert await desk.retry_set_aside() == 0
    again = await rig.store.dead_letter(row["id"])
    assert again is not None and (again["state"], again["attempts"]) == ("open", 2 * tries)
    await rig.settle()
    assert len(texts_to(rig, OLGA, about_set_aside)) == 1

    # The retry is taken like the original update would have been.
    del desk.receive  # the cause is fixed: the desk's own method again
    assert await asyncio.to_thread(cli.main, ["deadletter", "retry", str(row["id"]), "--db", db]) == 0
    capsys.readouterr()
    assert await desk.retry_set_aside() == 1
    await rig.settle()
    ivan = next(t for t in await rig.tickets() if t.customer == f"telegram:{IVAN}")
    assert [m["text"] for m in await rig.messages(ivan.id)] == [POISON]
    assert texts_to(rig, IVAN, lambda t: ivan.display_id in t)  # acknowledged
    done = await rig.store.dead_letter(row["id"])
    assert done is not None and done["state"] == "done"
    assert await asyncio.to_thread(cli.main, ["deadletter", "show", str(row["id"]), "--db", db]) == 0
    shown = capsys.readouterr().out
    assert f"dead letter {row['id']} · done · telegram {row['key']}" in shown and POISON in shown
    assert await asyncio.to_thread(cli.main, ["deadletter", "retry", str(row["id"]), "--db", db]) == 1


async def test_an_update_aiogram_cannot_read_is_set_aside_and_polling_goes_on(polling_rig: Rig) -> None:
    rig, tg = polling_rig, polling_rig.tg
    bad = tg.queue_raw_update("message", {"message_id": 1, "date": 0, "chat": {"id": "not a chat"}, "text": "?"})
    tg.user_sends(ALICE, "The export button does nothing")
    await rig.settle()
    assert [t.customer for t in await rig.tickets()] == [f"telegram:{ALICE}"]
    [row] = await rig.store.dead_letters()
    assert (row["key"], row["attempts"]) == (str(bad), 1) and "ValidationError" in row["error"]
    assert json.loads(row["payload"])["message"]["chat"] == {"id": "not a chat"}
    assert len(texts_to(rig, OLGA, about_set_aside)) == 1


async def test_a_slack_event_that_always_fails_is_set_aside_and_slack_gets_its_200(slack_rig: SlackRig) -> None:
    rig, slack = slack_rig, slack_rig.slack
    attempts = poison(rig.app.desk)
    failed = await slack.user_message(SEVER, slack.dm_channel(SEVER), POISON)
    assert failed.status == 200 and attempts
    later = await slack.user_message("U0ACME004", "C0ACME001", "Checkout is slow today")
    assert later.status == 200 and [t.customer for t in await rig.tickets()] == ["slack:U0ACME004"]
    [row] = await rig.store.dead_letters()
    assert row["channel"] == "slack" and row["attempts"] == len(attempts)
    assert json.loads(row["payload"])["event"]["text"] == POISON
    await rig.settle()
    told = [m for m in slack.messages(slack.dm_channel(SLACK_OLGA), by_bot=True) if about_set_aside(m.text)]
    assert len(told) == 1

    del rig.app.desk.receive
    assert await rig.store.mark_dead_letter(row["id"], "retry", rig.app.desk.clock.now())
    assert await rig.app.desk.retry_set_aside() == 1
    assert sorted(t.customer for t in await rig.tickets()) == ["slack:U0ACME004", f"slack:{SEVER}"]
