"""The dashboard in a real browser: a link from the bot over the Telegram stand-in, signed
in with headless Chromium, the queue, a lead's reassignment pinging engineers through the
stand-in, and the roster at night."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app.config import Config
from bot.core.clock import ManualClock
from bot.core.domain import EventType
from routing.language import LanguageDetector
from tests.standins.telegram_api import TelegramStandIn
from tests.test_telegram_flow import ALICE, ANNA, DMITRY, IVAN, OLGA, STAFF, Rig, tg  # noqa: F401 - tg is a fixture

from .conftest import MSK
from .dashboard_rig import browser, dashboard_config, link_for, needs_chromium, open_dashboard_rig

pytestmark = needs_chromium
ENGINEER_OF = {"anna": ANNA, "dmitry": DMITRY}


@pytest.fixture
async def rig(tg: TelegramStandIn, tmp_path: Path, example_config: Config,  # noqa: F811
              detector: LanguageDetector) -> AsyncIterator[Rig]:
    cfg, _ = dashboard_config(example_config, tmp_path / "desk.db", tg)
    handle = await open_dashboard_rig(tg, cfg, detector)
    yield handle
    await handle.close()


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    async for found in browser():
        yield found


async def sign_in(chromium: Any, link: str, **context: Any) -> Any:
    page = await (await chromium.new_context(**context)).new_page()
    await page.goto(link)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/desk/")
    return page


async def test_a_lead_signs_in_from_telegram_and_sees_the_queue(rig: Rig, chromium: Any) -> None:
    rig.tg.user_sends(IVAN, "Добрый день! Не выгружается отчёт по продажам, подскажите?")
    await rig.settle()
    page = await sign_in(chromium, await link_for(rig, OLGA))

    assert await page.get_by_role("heading", name="Queue").is_visible()
    row = page.locator("table.queue tbody tr").first
    text = await row.inner_text()
    assert "T-1001" in text and "Romashka" in text and "warranty" in text and "P3" in text and "ru" in text
    assert (await rig.ticket(1001)).assignee is not None
    assert "in " in text  # the next target's countdown, in words
    assert "Olga Kuznetsova · lead" in await page.locator("header").inner_text()
    cookie = next(c for c in await page.context.cookies() if c["name"] == "dutydesk_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/desk/"
    assert not cookie["secure"]  # http here; an https public_url makes it Secure

    # Live: a new ticket appears on the open page by itself (it refreshes every 2 s here).
    rig.tg.user_sends(ALICE, "Production down: all users get 502 on login")
    await rig.settle()
    await page.locator("table.queue", has_text="T-1002").wait_for(timeout=15_000)
    assert "ACME" in await page.locator("table.queue tbody tr", has_text="T-1002").inner_text()


async def test_a_lead_reassigns_a_ticket_and_the_engineers_are_pinged(rig: Rig, chromium: Any) -> None:
    rig.tg.user_sends(IVAN, "Добрый день! Не выгружается отчёт по продажам, подскажите?")
    await rig.settle()
    before = (await rig.ticket(1001)).assignee
    assert before in ENGINEER_OF
    other = "dmitry" if before == "anna" else "anna"
    page = await sign_in(chromium, await link_for(rig, OLGA))
    await page.get_by_role("link", name="T-1001").click()
    await page.get_by_label("Reassign to").select_option(other)
    await page.get_by_label("Reason", exact=True).first.fill("knows the sales reports")
    pinged_before = len(rig.to(ENGINEER_OF[other]))
    await page.get_by_role("button", name="Reassign").click()
    await page.wait_for_url("**/desk/ticket/1001")
    assert "Done:" in await page.locator(".said").inner_text()

    await rig.settle()
    assert (await rig.ticket(1001)).assignee == other
    [reassigned] = [e for e in await rig.store.events(1001) if e["type"] == EventType.REASSIGNED.value]
    assert reassigned["actor"] == "olga" and "knows the sales reports" in reassigned["reason"]
    pings = [m.text or "" for m in rig.to(ENGINEER_OF[other])[pinged_before:]]
    assert any("T-1001" in text for text in pings), pings
    assert any("T-1001" in (m.text or "") for m in rig.to(STAFF))  # the staff topic hears of it too
    assert "REASSIGNED" in (await page.locator(".timeline").inner_text()).upper()


async def test_the_roster_shows_the_night_engineer_at_23_moscow(rig: Rig, chromium: Any) -> None:
    clock = rig.app.desk.clock
    assert isinstance(clock, ManualClock)
    clock.set(datetime(2026, 11, 24, 23, 0, tzinfo=MSK))
    # The night rotation (john, priya, weekly from Monday 5 January 2026): week 47 is John's.
    assert [e.id for e in rig.app.desk.services.triage.roster.on_duty(clock.now())] == ["john"]
    page = await sign_in(chromium, await link_for(rig, OLGA))
    await page.get_by_role("link", name="Roster").click()
    now_on = await page.locator(".on-now").inner_text()
    assert "John Carter" in now_on and "ON DUTY until" in now_on
    assert "Anna Smirnova" not in now_on
    assert "en: John Carter" in await page.locator(".coverage").inner_text()
    assert "ru: NOBODY" in await page.locator(".coverage").inner_text()
    john = page.locator(".person", has_text="John Carter")
    assert "ROTATION" in await john.locator(".spans").inner_text()


async def test_the_pages_fit_a_phone_and_work_by_keyboard(rig: Rig, chromium: Any) -> None:
    rig.tg.user_sends(IVAN, "Добрый день! Не выгружается отчёт по продажам, подскажите?")
    await rig.settle()
    page = await sign_in(chromium, await link_for(rig, OLGA), viewport={"width": 375, "height": 740})
    for where in ("/desk/", "/desk/ticket/1001", "/desk/roster", "/desk/reports"):
        await page.goto(page.url.split("/desk/")[0] + where)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{where} is {width} px wide on a 375 px phone"
    await page.goto(page.url.split("/desk/")[0] + "/desk/")
    await page.keyboard.press("Tab")  # the skip link first
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(12):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.textContent") == "T-1001":
            break
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/desk/ticket/1001")


async def test_a_lead_adds_an_override_on_the_roster(rig: Rig, chromium: Any) -> None:
    page = await sign_in(chromium, await link_for(rig, OLGA))
    await page.get_by_role("link", name="Roster").click()
    await page.get_by_label("Who covers").select_option("tom")
    await page.get_by_label("From", exact=True).fill("2026-11-24T13:00")
    await page.get_by_label("To", exact=True).fill("2026-11-24T17:00")
    await page.get_by_label("Instead of").select_option("anna")
    await page.get_by_label("Reason", exact=True).fill("training")
    await page.get_by_role("button", name="Add override").click()
    await page.wait_for_url("**/desk/roster")
    assert "Done:" in await page.locator(".said").inner_text()
    [row] = await rig.store.overrides(rig.app.desk.clock.now())
    assert (row["engineer"], row["replaces"], row["created_by"]) == ("tom", "anna", "olga")
    tom = await page.locator(".person", has_text="Tom Baker").locator(".spans").inner_text()
    assert "OVERRIDE Tue 24 Nov 13:00 – 17:00: override: covers anna (training)" in tom
