"""One warranty plan for customers in several time zones (domain.md §2: the office in the
customer's time zone handles the request): deadlines on the local office's hours and its
country's holidays, engineers of that office first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app.config import Config, EngineerConfig, OrganisationConfig, ShiftConfig
from bot.core.domain import EventType
from routing.language import LanguageDetector

from .conftest import Desk, open_desk

URALSTAL, SIBGAZ, ALMATY = "200021", "200031", "200041"  # warranty in Yekaterinburg, Novosibirsk, Almaty
EKB, NSK, ALA, MSK = (ZoneInfo(z) for z in ("Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Almaty", "Europe/Moscow"))


@pytest.fixture
def offices(example_config: Config) -> Config:
    """The example, with an engineer in the Novosibirsk office and a customer in Almaty."""
    nikolai = EngineerConfig(id="nikolai", name="Nikolai Sokolov", languages=["ru", "en"], timezone="Asia/Novosibirsk",
                             country="RU", skills=["tech", "local:ru"], shift="novosibirsk_day",
                             identities=["telegram:100012"])
    almaty = OrganisationConfig(id="dala", name="Dala LLP", plan="warranty", timezone="Asia/Almaty", language="ru",
                                country="KZ", members=[f"telegram:{ALMATY}"])
    return example_config.model_copy(update={
        "shifts": {**example_config.shifts, "novosibirsk_day": ShiftConfig(
            timezone="Asia/Novosibirsk", hours={"mon-fri": "09:00-18:00"})},
        "engineers": [*example_config.engineers, nikolai],
        "organisations": [*example_config.organisations, almaty],
    })


async def _desk(cfg: Config, tmp_path: Path, detector: LanguageDetector, at: datetime) -> Desk:
    return await open_desk(cfg, tmp_path / "o.db", detector, at)


async def _first_response_due(desk: Desk, tid: int) -> datetime:
    [due] = [d["target_at"] for d in await desk.store.deadlines(tid) if d["clock"] == "first_response" and d["stage"] == 100]
    return due


@pytest.fixture
async def early_tuesday(offices: Config, tmp_path: Path, detector: LanguageDetector) -> AsyncIterator[Desk]:
    desk = await _desk(offices, tmp_path, detector, datetime(2026, 11, 24, 8, 0, tzinfo=EKB))  # 06:00 Moscow
    yield desk
    await desk.close()


async def test_deadlines_count_on_the_customers_office_hours(early_tuesday: Desk) -> None:
    desk = early_tuesday
    tid = (await desk.local.say(URALSTAL, "Не формируется отчёт по складу")).ticket_id or 0
    # The Yekaterinburg office opens at 09:00 there: 8 working hours end at 17:00 Yekaterinburg
    # time — on Moscow hours it would have been 17:00 Moscow, two hours later.
    assert await _first_response_due(desk, tid) == datetime(2026, 11, 24, 17, 0, tzinfo=EKB)
    await desk.deliver()
    [ack] = desk.local.to(URALSTAL)
    assert "вт 24 нояб. 17:00 (Asia/Yekaterinburg)" in ack.text or "Сейчас нерабочее время" in ack.text


async def test_the_office_of_the_customers_zone_takes_it_first(early_tuesday: Desk) -> None:
    desk = early_tuesday
    desk.clock.set(datetime(2026, 11, 24, 15, 0, tzinfo=NSK))  # 11:00 Moscow: Anna, Dmitry and Nikolai on duty
    first = (await desk.local.say(SIBGAZ, "Не проходит обмен с банком")).ticket_id or 0
    second = (await desk.local.say(SIBGAZ, "И ещё: не печатаются счета", new_ticket=True)).ticket_id or 0
    assert [(await desk.ticket(t)).assignee for t in (first, second)] == ["nikolai", "nikolai"]  # not least loaded
    [assigned] = [r for r in await desk.store.events(second) if r["type"] == EventType.ASSIGNED]
    assert "Nikolai Sokolov works in the office of the customer's time zone (Asia/Novosibirsk)" in assigned["reason"]
    moscow = (await desk.local.say("200001", "Не сходятся остатки")).ticket_id or 0  # Romashka, Moscow
    assert (await desk.ticket(moscow)).assignee in ("anna", "dmitry")


async def test_an_office_abroad_keeps_its_own_countrys_holidays(
    offices: Config, tmp_path: Path, detector: LanguageDetector,
) -> None:
    desk = await _desk(offices, tmp_path, detector, datetime(2026, 12, 15, 17, 0, tzinfo=ALA))  # Tuesday
    try:
        tid = (await desk.local.say(ALMATY, "Вопрос по выгрузке отчёта")).ticket_id or 0
        # One hour on Tuesday; 16 December is Independence Day in Kazakhstan (not in Russia);
        # the other seven hours on Thursday, 09:00–16:00 Almaty time.
        assert await _first_response_due(desk, tid) == datetime(2026, 12, 17, 16, 0, tzinfo=ALA)
    finally:
        await desk.close()
