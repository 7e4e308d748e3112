"""Who may see and change what on the dashboard: links are single-use, expire, cannot be
forged; customers get none; no page without a session; no change without the form token;
engineers cannot do what only leads may. The refusals are checked in the browser, and in
the store (nothing changed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.local import LocalChannel
from bot.app.config import Config, DashboardConfig, HttpConfig
from bot.app.demo_config import on_local_channel
from bot.app.factory import App
from bot.core.clock import ManualClock
from bot.dashboard import tokens
from routing.language import LanguageDetector
from tests.standins.telegram_api import TelegramStandIn
from tests.test_telegram_flow import ANNA, IVAN, OLGA, Rig, free_port, tg  # noqa: F401 - tg is a fixture

from .conftest import TUESDAY_11
from .dashboard_rig import LINK, browser, dashboard_config, link_for, needs_chromium, open_dashboard_rig
from .test_dashboard_browser import sign_in

pytestmark = needs_chromium
REFUSED_LINK = "This link was used already, has expired or is not valid"


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


async def try_link(chromium: Any, link: str) -> tuple[int, str]:
    """Open a link and press Sign in; the status and text of the page that answers."""
    page = await (await chromium.new_context()).new_page()
    await page.goto(link)
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name="Sign in").click()
    response = await answer.value
    await page.wait_for_load_state()
    return response.status, await page.locator("main").inner_text()


async def test_a_link_works_once(rig: Rig, chromium: Any) -> None:
    link = await link_for(rig, ANNA)
    page = await sign_in(chromium, link)
    assert "Anna Smirnova · engineer" in await page.locator("header").inner_text()
    status, text = await try_link(chromium, link)
    assert status == 403 and REFUSED_LINK in text


async def test_an_expired_link_is_refused(rig: Rig, chromium: Any) -> None:
    link = await link_for(rig, OLGA)
    clock = rig.app.desk.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(minutes=10, seconds=1))
    status, text = await try_link(chromium, link)
    assert status == 403 and REFUSED_LINK in text


async def test_a_forged_link_is_refused_and_only_the_hash_is_stored(rig: Rig, chromium: Any) -> None:
    link = await link_for(rig, OLGA)
    token = link.rsplit("/", 1)[1]
    forged = link[: -len(token)] + tokens.new_token()
    status, text = await try_link(chromium, forged)
    assert status == 403 and REFUSED_LINK in text
    db = Path(rig.app.cfg.storage.url.removeprefix("sqlite:///"))
    import sqlite3

    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT token_hash FROM dashboard_links").fetchall()
    assert stored == [(tokens.digest(token),)]  # the hash, never the token


async def test_a_customer_gets_no_link(rig: Rig) -> None:
    rig.tg.user_command(IVAN, "/dashboard")
    await rig.settle()
    [reply] = [m.text or "" for m in rig.to(IVAN)]
    assert "dashboard" in reply and "инженеров" in reply  # "only for engineers", in Ivan's Russian
    assert not LINK.search(reply)


async def test_no_page_without_a_session(rig: Rig, chromium: Any) -> None:
    rig.tg.user_sends(IVAN, "Добрый день! Не выгружается отчёт по продажам, подскажите?")
    await rig.settle()
    base = rig.app.cfg.dashboard.public_url
    page = await (await chromium.new_context()).new_page()
    for where in ("/desk/", "/desk/ticket/1001", "/desk/roster", "/desk/reports", "/desk/reports.csv"):
        response = await page.goto(base + where)
        assert response is not None and response.status == 401, where
        body = await page.content()
        assert "T-1001" not in body and "Romashka" not in body


async def test_a_post_without_the_form_token_is_refused(rig: Rig, chromium: Any) -> None:
    rig.tg.user_sends(IVAN, "Добрый день! Не выгружается отчёт по продажам, подскажите?")
    await rig.settle()
    page = await sign_in(chromium, await link_for(rig, OLGA))
    before = await rig.ticket(1001)
    target = "dmitry" if before.assignee == "anna" else "anna"
    url = rig.app.cfg.dashboard.public_url + "/desk/ticket/1001"
    for form in ({"action": "reassign", "engineer": target}, {"action": "reassign", "engineer": target, "csrf": "x"}):
        response = await page.request.post(url, form=form, max_redirects=0)
        assert response.status == 403
        assert "did not come from the dashboard" in await response.text()
    assert (await rig.ticket(1001)).assignee == before.assignee
    response = await page.request.post(rig.app.cfg.dashboard.public_url + "/desk/logout", form={}, max_redirects=0)
    assert response.status == 403  # not even logging out


async def test_an_engineer_cannot_do_what_only_leads_may(rig: Rig, chromium: Any) -> None:
    rig.tg.user_sends(IVAN, "Добрый день! Не выгружается отчёт по продажам, подскажите?")
    await rig.settle()
    page = await sign_in(chromium, await link_for(rig, ANNA))
    await page.goto(rig.app.cfg.dashboard.public_url + "/desk/ticket/1001")
    assert await page.get_by_role("button", name="Take it").is_visible()
    assert await page.get_by_role("button", name="Reassign").count() == 0
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
    before = await rig.ticket(1001)
    response = await page.request.post(page.url, form={"action": "reassign", "engineer": "tom", "csrf": csrf},
                                       max_redirects=0)
    assert response.status == 403 and "Only team leads" in await response.text()
    response = await page.request.post(rig.app.cfg.dashboard.public_url + "/desk/roster", max_redirects=0,
                                       form={"engineer": "tom", "start": "now", "end": "+2h", "csrf": csrf})
    assert response.status == 403
    assert (await rig.ticket(1001)).assignee == before.assignee
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_url("**/desk/signed-out")
    response = await page.goto(rig.app.cfg.dashboard.public_url + "/desk/")
    assert response is not None and response.status == 401


async def test_the_desk_serves_the_dashboard_when_enabled(tmp_path: Path, example_config: Config,
                                                          detector: LanguageDetector) -> None:
    """`dutydesk run`'s start-up mounts it; disabled (the default), /desk/ is not there."""
    for enabled, status in ((True, 401), (False, 404)):
        port = free_port()
        cfg = on_local_channel(example_config, f"sqlite:///{tmp_path / f'{enabled}.db'}").model_copy(update={
            "http": HttpConfig(port=port), "dashboard": DashboardConfig(enabled=enabled)})
        app = await App.create(cfg, clock=ManualClock(TUESDAY_11), adapters={"local": LocalChannel()},
                               detector=detector)
        await app.start()
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/desk/") as response:
                    assert response.status == status
        finally:
            await app.stop()


async def test_a_standby_serves_no_dashboard_page(tmp_path: Path, example_config: Config) -> None:
    """Under `dutydesk run` the dashboard is mounted once on the runner's server; while this
    process stands by (no active desk) every page says so instead of showing stale data."""
    from bot.app.standby import Runner

    port = free_port()
    cfg = on_local_channel(example_config, f"sqlite:///{tmp_path / 'standby.db'}").model_copy(update={
        "http": HttpConfig(port=port), "dashboard": DashboardConfig(enabled=True)})
    runner = Runner(cfg, dict, asyncio.Event())
    await runner.http.start()
    try:
        async with aiohttp.ClientSession() as http:
            for path in ("/desk/", "/desk/roster", "/desk/login/anything"):
                async with http.get(f"http://127.0.0.1:{port}{path}") as response:
                    assert response.status == 503, path
                    assert "standing by" in await response.text()
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200 and "standing by" in await response.text()
    finally:
        await runner.http.stop()
