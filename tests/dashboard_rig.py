"""The dashboard test rig: the real desk on the Telegram stand-in, serving the dashboard on
a free port, and headless Chromium (Debian's `chromium`, driven by Playwright for Python
through `executable_path`; nothing is downloaded)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.telegram.channel import TelegramChannel
from bot.app.config import Config, DashboardConfig, HttpConfig
from bot.app.factory import App
from bot.core.clock import ManualClock
from bot.dashboard.site import mount
from routing.language import LanguageDetector
from tests.standins.telegram_api import TelegramStandIn
from tests.test_telegram_flow import TOKEN, Rig, free_port, telegram_config

from .conftest import TUESDAY_11

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LINK = re.compile(r"https?://\S+/desk/login/[A-Za-z0-9_-]+")

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)")


def dashboard_config(base: Config, db: Path, tg: TelegramStandIn) -> tuple[Config, str]:
    """The example roster on Telegram with the dashboard on; and the dashboard's address."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cfg = telegram_config(base, db, tg).model_copy(update={
        "http": HttpConfig(port=port), "dashboard": DashboardConfig(enabled=True, public_url=url, refresh_seconds=2),
    })
    return cfg, url


async def open_dashboard_rig(tg: TelegramStandIn, cfg: Config, detector: LanguageDetector) -> Rig:
    """As `tests.test_telegram_flow.open_rig`, with the dashboard mounted on the HTTP server
    (`App.start` does the same: `test_dashboard_access`); only `settle` delivers."""
    channel = TelegramChannel(cfg.telegram, token=TOKEN)
    app = await App.create(cfg, clock=ManualClock(TUESDAY_11), adapters={"telegram": channel}, detector=detector)
    rig = Rig(tg, app, channel, live=False)
    try:
        await channel.start(app.desk, app.http)
        assert app.http is not None
        mount(app.http.app, app.desk)
        await app.http.start()
        await app.dispatcher.start()
        await app.dispatcher.stop()
    except BaseException:
        await rig.close()
        raise
    return rig


async def link_for(rig: Rig, user: int) -> str:
    """Ask the bot for a link, as `user` in their private chat; the link it sends."""
    before = len(rig.to(user))
    rig.tg.user_command(user, "/dashboard")
    await rig.settle()
    replies = [m.text or "" for m in rig.to(user)[before:]]
    found = [m.group(0) for text in replies for m in [LINK.search(text)] if m]
    assert found, f"no link in {replies}"
    return found[-1]


async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()
