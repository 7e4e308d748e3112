"""`dutydesk demo`: a scripted day and night at the desk, on embedded defaults.

The real pipeline — intake, routing, SLA clocks, the outbox and its dispatcher — runs on a
temporary SQLite file with the example roster moved onto the local channel. A controllable
clock walks through a Tuesday, its night, a Russian public holiday and the days after, so
reminders, a breach and a two-day progress update happen in seconds. Needs no tokens and
no network; prints a timeline and exits 0.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.local import Delivered, LocalChannel
from bot.app import App
from bot.clock import ManualClock
from bot.config import Config, load_config
from bot.demo_config import on_local_channel
from bot.domain import ConversationRef, Priority
from bot.timeline import INDENT, clock_label, describe_outbound, shorten, wrap

MSK = "Europe/Moscow"
EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(MSK))


@dataclass(frozen=True)
class Step:
    at: datetime
    title: str


class Demo:
    def __init__(self, app: App, local: LocalChannel, clock: ManualClock, out: Callable[[str], None]) -> None:
        self.app = app
        self.local = local
        self.clock = clock
        self.out = out
        self._seen_events: dict[int, int] = {}
        self._pending: list[Delivered] = []
        local.listeners.append(self._pending.append)

    def _name(self, identity: str) -> str:
        directory = self.app.desk.services.directory
        engineer = directory.engineer_by_identity(identity)
        if engineer is not None:
            return engineer.name
        org = directory.organisation_of(identity, ConversationRef("local", ""))
        return f"{identity.split(':', 1)[1]} ({org.name})" if org else identity

    def heading(self, step: Step) -> None:
        self.clock.set(step.at)
        self.out("")
        self.out(f"== {clock_label(step.at, MSK)} Moscow — {step.title}")

    async def say(self, user: str, text: str, **kwargs: object) -> int | None:
        stamp = clock_label(self.clock.now(), MSK)
        where = " in the staff thread" if kwargs.get("chat") == "staff" else ""
        self.out(wrap(f'{self._name("local:" + user)}{where}: "{shorten(text)}"', f"{stamp}  "))
        receipt = await self.local.say(user, text, **kwargs)  # type: ignore[arg-type]
        if receipt.duplicate:
            self.out(INDENT + "(duplicate: already taken, ignored)")
        if receipt.reply:
            self.out(INDENT + f"desk replies: {receipt.reply}")
        await self.settle(receipt.ticket_id)
        return receipt.ticket_id

    async def settle(self, ticket_id: int | None = None) -> None:
        """Deliver the outbox, then print the decisions and what was sent."""
        await self.app.dispatcher.flush()
        ids = {ticket_id} if ticket_id else set()
        ids |= {d.message.ticket_id for d in self._pending if d.message.ticket_id}
        for tid in sorted(ids):
            rows = await self.app.store.events(tid)
            for row in rows[self._seen_events.get(tid, 0):]:
                self.out(wrap(f"T-{tid} {row['type']}: {row['reason']}", INDENT + "⚙ "))
            self._seen_events[tid] = len(rows)
        for delivered in self._pending:
            person = delivered.message.recipient.person
            engineer = self.app.desk.services.directory.engineer(person)
            who = engineer.name if engineer else self._name(f"local:{delivered.message.recipient.chat_id}")
            self.out(wrap(describe_outbound(delivered.message, who), INDENT + "✉ "))
        self._pending.clear()

    async def later(self, step: Step) -> None:
        """Jump the clock forward and let every deadline that came due fire."""
        self.heading(step)
        await self.app.desk.fire_due()
        await self.settle()

    async def thread_of(self, ticket_id: int) -> str:
        thread = self.local.thread_of(ticket_id, "staff")
        assert thread is not None, f"T-{ticket_id} has no staff thread"
        return thread


async def script(demo: Demo) -> None:
    ivan, jane, marek = "200001", "200004", "200003"
    anna, john = "100001", "100005"

    demo.heading(Step(_at("2026-11-03T11:00"), "day: a Russian customer on the warranty plan"))
    t1 = await demo.say(ivan, "Добрый день! Не формируется отчёт по остаткам, ошибка 500.", name="Ivan")
    await demo.say(ivan, "Скриншот прилагаю", name="Ivan")

    demo.heading(Step(_at("2026-11-03T11:20"), "the engineer answers in the ticket's staff thread"))
    assert t1 is not None
    thread = await demo.thread_of(t1)
    await demo.say(anna, "Иван, добрый день! Проверяем, пришлите, пожалуйста, версию сервера.",
                   chat="staff", thread=thread)
    await demo.say(anna, "! похоже на баг в 4.2, проверить логи", chat="staff", thread=thread)

    demo.heading(Step(_at("2026-11-03T23:10"), "night: a normal Russian request waits for the day shift"))
    await demo.say("200011", "Добрый вечер. Подскажите, как выгрузить справочник?", name="Olga R.")

    demo.heading(Step(_at("2026-11-03T23:25"), "night: «всё упало» left at Normal priority"))
    t3 = await demo.say("200002", "Всё упало, склад не отгружает!", name="Pavel", priority=Priority.P3)
    assert t3 is not None
    await demo.say(john, "Hi Pavel, I am on it — restarting the sync service now.", chat="staff",
                   thread=await demo.thread_of(t3))

    demo.heading(Step(_at("2026-11-03T23:40"), "night: a premium customer writes in English"))
    await demo.say(jane, "Production down: all users get 502 on login", name="Jane")

    demo.heading(Step(_at("2026-11-04T11:00"), "4 November, a Russian public holiday"))
    await demo.say("200011", "Срочно: не проходит оплата!", name="Olga R.")
    await demo.say(marek, "Dzień dobry, nie działa logowanie do panelu.", name="Marek")

    await demo.later(Step(_at("2026-11-05T10:00"), "the day shift is back: queued tickets are picked up"))
    await demo.later(Step(_at("2026-11-06T23:00"), "two days of silence: reminders and progress notes"))


async def run_demo(out: Callable[[str], None] = print, keep: Path | None = None) -> int:
    folder = Path(tempfile.mkdtemp(prefix="dutydesk-demo-"))
    db = keep or folder / "demo.db"
    cfg: Config = on_local_channel(load_config(EXAMPLE), f"sqlite:///{db}")
    clock = ManualClock(_at("2026-11-03T09:00"))
    local = LocalChannel()
    app = await App.create(cfg, clock=clock, adapters={"local": local}, serve_http=False)
    await local.start(app.desk, None)
    out("dutydesk demo — the example roster on the local channel, a SQLite file at " + str(db))
    try:
        await script(Demo(app, local, clock, out))
    finally:
        await app.dispatcher.stop()
        await app.store.close()
    out("")
    out(f"Done. Inspect it: dutydesk tickets list --db {db}")
    return 0
