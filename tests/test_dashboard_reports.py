"""The reports page and its CSV as a lead reads them, after real tickets on the local
channel: one first response in time, one target passed unanswered (a breach)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from adapters.local import LocalChannel
from bot.app.config import Config, DashboardConfig, HttpConfig
from bot.app.demo_config import on_local_channel
from bot.app.factory import App
from bot.core.clock import ManualClock
from bot.dashboard.site import mount
from routing.language import LanguageDetector

from .conftest import TUESDAY_11
from .test_telegram_flow import free_port

IVAN, PAVEL, LEAD = "200001", "200002", "100011"  # Romashka (warranty), Sever (8x5, 1 h), Olga


@pytest.fixture
async def desk(tmp_path: Path, example_config: Config, detector: LanguageDetector) -> AsyncIterator[App]:
    port = free_port()
    cfg = on_local_channel(example_config, f"sqlite:///{tmp_path / 'desk.db'}").model_copy(update={
        "http": HttpConfig(port=port),
        "dashboard": DashboardConfig(enabled=True, public_url=f"http://127.0.0.1:{port}")})
    local = LocalChannel()
    app = await App.create(cfg, clock=ManualClock(TUESDAY_11), adapters={"local": local}, detector=detector)
    assert app.http is not None
    await local.start(app.desk, app.http)
    mount(app.http.app, app.desk)
    await app.http.start()
    yield app
    await app.dispatcher.stop()
    await local.stop()
    await app.http.stop()
    await app.store.close()


async def run_until(app: App, delta: timedelta) -> None:
    """Let time pass, each deadline firing at its moment."""
    clock = app.desk.clock
    assert isinstance(clock, ManualClock)
    until = clock.now() + delta
    while (due := await app.desk.next_due()) is not None and due <= until:
        clock.set(max(due, clock.now()))
        await app.desk.fire_due()
    clock.set(until)
    await app.dispatcher.flush()


async def test_the_report_counts_met_and_missed_targets_and_breaches(desk: App) -> None:
    local = desk.adapters["local"]
    assert isinstance(local, LocalChannel)
    answered = (await local.say(IVAN, "Добрый день! Не формируется отчёт по остаткам.", name="Ivan")).ticket_id
    ignored = (await local.say(PAVEL, "Не открывается карточка клиента после обновления.", name="Pavel")).ticket_id
    await desk.dispatcher.flush()
    await run_until(desk, timedelta(minutes=10))
    row = await desk.store.ticket(answered or 0)
    assert row is not None and row["assignee"]
    engineer = desk.desk.services.directory.engineer(row["assignee"])
    assert engineer is not None
    thread = local.thread_of(answered or 0, "staff")
    await local.say(engineer.identities[0].split(":", 1)[1], "Иван, добрый день! Смотрим.", chat="staff", thread=thread)
    await run_until(desk, timedelta(hours=1))  # Pavel's one-hour first response passes unanswered

    reply = await local.command(LEAD, "dashboard")
    token = re.search(r"/desk/login/(\S+)", reply.text)
    assert token, reply.text
    base = desk.cfg.dashboard.public_url
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{base}/desk/login/", data={"token": token.group(1)}) as response:
            assert response.status == 200 and str(response.url).endswith("/desk/")
        async with http.get(f"{base}/desk/reports") as response:
            page = re.sub(r"\s+", " ", await response.text())
        async with http.get(f"{base}/desk/reports.csv") as response:
            assert response.headers["Content-Type"].startswith("text/csv")
            csv = await response.text()
    assert "first response met 50% of 2" in page
    assert f"T-{ignored}</a></td><td data-label=\"When\">" in page and "BREACHED first response" in page
    assert f">{engineer.name}</td><td data-label=\"Tickets\">1</td><td data-label=\"First response met\">100% of 1" in page
    [everything] = [line for line in csv.splitlines() if line.startswith("all,")]
    assert everything.split(",")[1:4] == ["2", "2", "1"]  # the CLI's report agrees: 2 tickets, 2 decided, 1 met
