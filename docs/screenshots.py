"""Screenshots of the dashboard's pages for the docs: `docs/dashboard-*.png`.

    .venv/bin/python docs/screenshots.py

Runs the real desk (the example roster on the local channel, a temporary SQLite file, a
manual clock) with the dashboard on, plays four weeks of tickets through the real pipeline
(customers write, engineers answer in the staff thread — some late, so targets are missed —
resolve, customers rate), then a Tuesday morning's open queue; the lead asks for a link with
the `dashboard` command, and Debian's chromium (Playwright, `executable_path`) signs in and
photographs each page at desktop width, and the queue at a phone's 375 px.
"""

from __future__ import annotations

import asyncio
import random
import re
import socket
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.local import LocalChannel
from bot.app.config import DashboardConfig, HttpConfig, load_config
from bot.app.demo_config import on_local_channel
from bot.app.factory import App
from bot.core.clock import ManualClock
from bot.dashboard.site import mount

DOCS = Path(__file__).resolve().parent
MSK = ZoneInfo("Europe/Moscow")
TODAY = datetime(2026, 11, 24, 11, 55, tzinfo=MSK)  # a Tuesday morning
CUSTOMERS = {  # local twin of each example customer: what they write
    "200001": "Добрый день! Не формируется отчёт по остаткам, ошибка 500.",
    "200011": "Подскажите, как выгрузить справочник номенклатуры?",
    "200021": "Не проходит синхронизация с 1С, висит с утра.",
    "200002": "Не открывается карточка клиента после обновления.",
    "200003": "Dzień dobry, nie działa logowanie do panelu.",
    "200004": "Production down: all users get 502 on login",
}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Desk:
    def __init__(self, app: App, local: LocalChannel, clock: ManualClock) -> None:
        self.app, self.local, self.clock = app, local, clock

    async def run_until(self, until: datetime) -> None:
        """Let time pass, firing each deadline at its moment (reminders, breaches)."""
        while (due := await self.app.desk.next_due()) is not None and due <= until:
            self.clock.set(max(due, self.clock.now()))
            await self.app.desk.fire_due()
        self.clock.set(until)
        await self.app.dispatcher.flush()

    async def engineer_of(self, ticket_id: int) -> str | None:
        row = await self.app.store.ticket(ticket_id)
        engineer = self.app.desk.services.directory.engineer(row["assignee"] if row else None)
        return None if engineer is None else engineer.identities[0].split(":", 1)[1]

    async def ticket(self, user: str, text: str) -> int:
        receipt = await self.local.say(user, text, name=f"Customer {user}")
        await self.app.dispatcher.flush()
        assert receipt.ticket_id is not None
        return receipt.ticket_id

    async def answer(self, ticket_id: int, text: str) -> None:
        engineer = await self.engineer_of(ticket_id)
        thread = self.local.thread_of(ticket_id, "staff")
        if engineer is not None and thread is not None:
            await self.local.say(engineer, text, chat="staff", thread=thread)

    async def history(self, rng: random.Random) -> None:
        """Four weeks of weekdays: tickets answered in 5–90 minutes, resolved, rated."""
        start = (TODAY - timedelta(days=28)).replace(hour=10, minute=30)
        for day in range(28):
            morning = start + timedelta(days=day)
            if morning.weekday() >= 5:
                continue
            await self.run_until(morning)
            opened = [await self.ticket(user, text) for user, text in rng.sample(sorted(CUSTOMERS.items()), 4)]
            await self.run_until(morning + timedelta(minutes=rng.choice((5, 10, 20, 45, 90))))
            for ticket_id in opened:
                await self.answer(ticket_id, "Hello! We are on it, details in a moment.")
            await self.run_until(morning + timedelta(hours=rng.choice((2, 4, 6))))
            for ticket_id in opened:
                engineer = await self.engineer_of(ticket_id)
                if engineer is not None:
                    await self.local.command(engineer, f"resolve T-{ticket_id} fixed")
                row = await self.app.store.ticket(ticket_id)
                if row is not None and rng.random() < 0.6:
                    await self.local.command(row["chat_id"], f"rate T-{ticket_id} {rng.choice((3, 4, 5, 5))}")
                if row is not None:
                    await self.local.command(row["chat_id"], f"close T-{ticket_id}")
            await self.app.dispatcher.flush()

    async def this_morning(self) -> None:
        await self.run_until(TODAY.replace(hour=9, minute=50))
        for i, (user, text) in enumerate(sorted(CUSTOMERS.items())):
            await self.run_until(TODAY.replace(hour=10, minute=0) + timedelta(minutes=17 * i))
            ticket_id = await self.ticket(user, text)
            if i % 3 == 1:  # some answered; the premium one is not, and goes overdue
                await self.answer(ticket_id, "Добрый день! Смотрим.")
        await self.local.command("100011", "override tom 14:00 18:00 instead anna training")
        await self.run_until(TODAY)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def photograph(base: str, link: str, ticket_id: int) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = await chromium.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        await page.goto(link)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/desk/")
        for name, path in (("queue", "/desk/"), ("ticket", f"/desk/ticket/{ticket_id}"),
                           ("roster", "/desk/roster"), ("reports", "/desk/reports")):
            await page.goto(base + path)
            await page.screenshot(path=str(DOCS / f"dashboard-{name}.png"), full_page=True)
        signed_in = await context.storage_state()
        phone = await chromium.new_context(viewport={"width": 375, "height": 800}, storage_state=signed_in)
        page = await phone.new_page()
        await page.goto(base + "/desk/")
        await page.screenshot(path=str(DOCS / "dashboard-queue-phone.png"), full_page=False)
        await chromium.close()


async def main() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        cfg = on_local_channel(load_config(DOCS.parent / "config.example.toml"), f"sqlite:///{tmp}/desk.db")
        cfg = cfg.model_copy(update={"http": HttpConfig(port=port), "dashboard": DashboardConfig(enabled=True,
                                                                                               public_url=base)})
        clock = ManualClock(TODAY - timedelta(days=29))
        local = LocalChannel()
        app = await App.create(cfg, clock=clock, adapters={"local": local})
        # As the tests do: the channel and the HTTP server, deadlines fired by hand (`run_until`).
        assert app.http is not None
        await local.start(app.desk, app.http)
        mount(app.http.app, app.desk)
        await app.http.start()
        try:
            desk = Desk(app, local, clock)
            await desk.history(random.Random(15))
            await desk.this_morning()
            reply = await local.command("100011", "dashboard")
            found = re.search(r"http\S+/desk/login/\S+", reply.text)
            assert found, reply.text
            newest = (await app.store.next_ticket_id()) - 1
            await photograph(base, found.group(0), newest)
        finally:
            await app.dispatcher.stop()
            await local.stop()
            await app.http.stop()
            await app.store.close()
    print("wrote", ", ".join(sorted(p.name for p in DOCS.glob("dashboard-*.png"))))


if __name__ == "__main__":
    asyncio.run(main())
