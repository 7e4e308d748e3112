"""What the desk cannot read is answered, not ignored: a location, a poll, a blank text get
one short reply in the customer's language saying what the desk takes — once per
conversation every few minutes — and a sticker joins the ticket as an attachment. Through
the real Telegram adapter against the stand-in (and Slack for a blank text)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.config import Config
from bot.core.clock import ManualClock
from bot.flows.customer import HINT_EVERY, is_blank
from bot.i18n import texts
from routing.language import LanguageDetector
from tests.standins.slack_api import SlackStandIn

from .test_slack_flow import SEVER, populate, slack_config
from .test_slack_flow import open_rig as open_slack_rig
from .test_telegram_flow import ALICE, IVAN, STAFF, Rig, rig_on_its_own_stand_in

LOCATION = {"location": {"latitude": 55.75, "longitude": 37.62}}
POLL = {"poll": {"id": "5001", "question": "Когда удобно созвониться?", "options": [
    {"persistent_id": "1", "text": "Утром", "voter_count": 0}, {"persistent_id": "2", "text": "Вечером", "voter_count": 0}],
    "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
    "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}}
STICKER = {"sticker": {"file_id": "CAACAgIAAxkBAAI", "file_unique_id": "AgAD1", "type": "regular", "width": 512,
                       "height": 512, "is_animated": False, "is_video": False, "emoji": "😢", "file_size": 2048}}


@pytest.fixture
async def telegram(tmp_path: Path, example_config: Config, detector: LanguageDetector) -> AsyncIterator[Rig]:
    async for handle in rig_on_its_own_stand_in(tmp_path, example_config, detector):
        yield handle


def hints_to(rig: Rig, chat: int) -> list[str]:
    said = {texts.text("unreadable", lang) for lang in texts.CUSTOMER_LANGUAGES}
    return [s.text or "" for s in rig.to(chat) if s.text in said]


def test_the_reply_exists_in_every_customer_language() -> None:
    """Each customer language says it in its own words (none falls back to English)."""
    said = {texts.text("unreadable", lang) for lang in texts.CUSTOMER_LANGUAGES}
    assert len(said) == len(texts.CUSTOMER_LANGUAGES) == 5


def test_blank_means_nothing_visible() -> None:
    assert is_blank("") and is_blank("  \n\t") and is_blank("\u200b\u2800\u3164\ufeff")
    assert not is_blank(" a ") and not is_blank("😢") and not is_blank(".")


async def test_a_location_a_poll_and_a_blank_text_get_the_one_reply(telegram: Rig) -> None:
    rig, tg = telegram, telegram.tg
    clock = rig.app.desk.clock
    assert isinstance(clock, ManualClock)
    tg.user_sends_content(IVAN, LOCATION)
    await rig.settle()
    assert hints_to(rig, IVAN) == [texts.text("unreadable", "ru")]  # Ivan's organisation reads Russian

    tg.user_sends_content(IVAN, POLL)
    tg.user_sends(IVAN, " \u2800 ")
    await rig.settle()
    assert len(hints_to(rig, IVAN)) == 1  # once per conversation in a few minutes
    assert await rig.tickets() == []  # nothing to make a ticket of

    clock.advance(HINT_EVERY + timedelta(seconds=1))
    tg.user_sends_content(IVAN, POLL)
    tg.user_sends_content(ALICE, {"dice": {"emoji": "🎲", "value": 4}})
    await rig.settle()
    assert len(hints_to(rig, IVAN)) == 2
    assert hints_to(rig, ALICE) == [texts.text("unreadable", "en")]

    # A service message is nobody writing to the desk: no reply.
    tg.user_sends_content(ALICE, {"write_access_allowed": {"from_request": True}})
    await rig.settle()
    assert len(hints_to(rig, ALICE)) == 1
    # The customer then writes: a ticket like any other, and the hint never reached staff.
    tg.user_sends(IVAN, "Не выгружается отчёт по продажам")
    await rig.settle()
    [ticket] = await rig.tickets()
    assert not [s for s in rig.to(STAFF) if s.text in set(hints_to(rig, IVAN))]
    assert [m["text"] for m in await rig.messages(ticket.id)] == ["Не выгружается отчёт по продажам"]
    assert await rig.store.dead_letters() == []  # every one of them was read


async def test_a_sticker_joins_the_ticket_as_an_attachment(telegram: Rig) -> None:
    rig, tg = telegram, telegram.tg
    tg.user_sends(IVAN, "Не выгружается отчёт по продажам")
    await rig.settle()
    sent = tg.user_sends_content(IVAN, STICKER)
    await rig.settle()
    [message] = [m for m in await rig.messages(1001) if m["platform_id"] == str(sent["message_id"])]
    assert message["attachments"] == [{"kind": "sticker", "name": "😢", "mime": "image/webp", "size": 2048,
                                       "ref": "CAACAgIAAxkBAAI"}]
    topic = await rig.topic(1001)
    assert rig.to(STAFF, topic)[-1].copied_from == (IVAN, sent["message_id"])  # staff see the sticker itself
    assert hints_to(rig, IVAN) == []


async def test_a_blank_slack_message_gets_the_reply(
    tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    async with SlackStandIn(limits=None) as slack:
        populate(slack)
        rig = await open_slack_rig(slack, slack_config(example_config, tmp_path / "desk.db", slack), detector)
        try:
            dm = slack.dm_channel(SEVER)
            assert (await slack.user_message(SEVER, dm, "   ")).status == 200
            await rig.settle()
            assert [m.text for m in slack.messages(dm, by_bot=True)] == [texts.text("unreadable", "ru")]
            assert await rig.tickets() == []
        finally:
            await rig.close()
