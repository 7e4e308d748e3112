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
from bot.app.config import Config, load_config
from bot.app.demo_config import on_local_channel
from bot.app.factory import App
from bot.app.timeline import INDENT, clock_label, describe_outbound, shorten, wrap
from bot.core.clock import ManualClock
from bot.core.directory import Directory
from bot.core.domain import Attachment, ConversationRef, Priority

MSK = "Europe/Moscow"
EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


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

    @property
    def directory(self) -> Directory:
        return self.app.desk.services.directory

    def _name(self, user: str) -> str:
        engineer = self.directory.engineer_by_identity(f"local:{user}")
        if engineer is not None:
            return engineer.name
        org = self.directory.organisation_of(f"local:{user}", ConversationRef("local", ""))
        return f"{user} ({org.name})" if org else user

    async def heading(self, step: Step) -> None:
        """Move on to `step`; deadlines on the way fire at their own minute."""
        await self._run_until(step.at)
        self.out("")
        self.out(f"== {clock_label(step.at, MSK)} Moscow — {step.title}")

    def _stamp(self) -> str:
        return clock_label(self.clock.now(), MSK) + "  "

    async def say(self, user: str, text: str, **kwargs: object) -> int | None:
        staff = kwargs.get("chat") == "staff"
        who = f"{self._name(user)} in the ticket's staff thread" if staff else f"customer {self._name(user)}"
        self.out(wrap(f'{who}: "{shorten(text)}"', self._stamp()))
        receipt = await self.local.say(user, text, **kwargs)  # type: ignore[arg-type]
        if receipt.ticket_id is not None:
            self._seen_events.setdefault(receipt.ticket_id, 0)
        await self.settle()
        return receipt.ticket_id

    async def command(self, user: str, text: str) -> None:
        self.out(wrap(f"{self._name(user)} types: {text}", self._stamp()))
        reply = await self.local.command(user, text)
        self.out(wrap(("" if reply.ok else "refused: ") + shorten(reply.text, 300), INDENT + "↩ "))
        await self.settle()

    async def settle(self) -> None:
        """Deliver the outbox, then print the decisions (event log) and what was sent."""
        await self.app.dispatcher.flush()
        self._seen_events.update({d.message.ticket_id: self._seen_events.get(d.message.ticket_id, 0)
                                  for d in self._pending if d.message.ticket_id})
        for tid in sorted(self._seen_events):
            rows = await self.app.store.events(tid)
            for row in rows[self._seen_events[tid]:]:
                self.out(wrap(f"T-{tid} {row['type']}: {row['reason']}", INDENT + "⚙ "))
            self._seen_events[tid] = len(rows)
        for delivered in self._pending:
            message = delivered.message
            engineer = self.directory.engineer(message.recipient.person)
            who = engineer.name if engineer else self._name(message.recipient.chat_id)
            self.out(wrap(describe_outbound(message, who), INDENT + "✉ "))
        self._pending.clear()

    async def later(self, step: Step) -> None:
        """Let time pass to `step`, showing each deadline as it fires."""
        self.out("")
        self.out(f"== … the clock runs on to {clock_label(step.at, MSK)} Moscow — {step.title}")
        await self._run_until(step.at)

    async def _run_until(self, until: datetime) -> None:
        while (due := await self.app.desk.next_due()) is not None and due <= until:
            self.clock.set(max(due, self.clock.now()))
            self.out(f"{self._stamp()}(a deadline comes due)")
            await self.app.desk.fire_due()
            await self.settle()
        self.clock.set(until)

    async def assignee_of(self, ticket_id: int) -> str:
        row = await self.app.store.ticket(ticket_id)
        assert row is not None and row["assignee"], f"T-{ticket_id} has no assignee"
        engineer = self.directory.engineer(row["assignee"])
        assert engineer is not None
        return next(i.split(":", 1)[1] for i in engineer.identities if i.startswith("local:"))

    def thread_of(self, ticket_id: int) -> str:
        thread = self.local.thread_of(ticket_id, "staff")
        assert thread is not None, f"T-{ticket_id} has no staff thread"
        return thread


async def script(demo: Demo) -> None:
    ivan, olga_r, pavel, jane, marek = "200001", "200011", "200002", "200004", "200003"
    lead = "100011"

    await demo.heading(Step(_at("2026-11-03T11:00"), "day: a Russian customer on the warranty plan"))
    t1 = await demo.say(ivan, "Добрый день! Не формируется отчёт по остаткам, ошибка 500.", name="Ivan")
    await demo.say(ivan, "Скриншот прилагаю", name="Ivan", attachments=(Attachment("photo", ref="demo-photo"),))
    assert t1 is not None

    await demo.heading(Step(_at("2026-11-03T11:20"), "the engineer answers in the ticket's staff thread"))
    anna = await demo.assignee_of(t1)
    await demo.say(anna, "Иван, добрый день! Проверяем. Пришлите, пожалуйста, версию сервера.",
                   chat="staff", thread=demo.thread_of(t1))
    await demo.say(anna, "! похоже на баг в 4.2, проверить логи", chat="staff", thread=demo.thread_of(t1))

    await demo.heading(Step(_at("2026-11-03T23:10"), "night: a normal Russian request waits for the day shift"))
    await demo.say(olga_r, "Добрый вечер. Подскажите, как выгрузить справочник?", name="Olga R.")

    await demo.heading(Step(_at("2026-11-03T23:25"), "night: «всё упало» left at Normal priority"))
    t3 = await demo.say(pavel, "Всё упало, склад не отгружает!", name="Pavel", priority=Priority.P3)
    assert t3 is not None
    night = await demo.assignee_of(t3)
    await demo.say(night, "Hi Pavel, I am on it: restarting the warehouse sync now.", chat="staff",
                   thread=demo.thread_of(t3))

    await demo.heading(Step(_at("2026-11-03T23:40"), "night: a premium customer, and nobody answers in time"))
    t4 = await demo.say(jane, "Production down: all users get 502 on login", name="Jane")
    await demo.later(Step(_at("2026-11-03T23:56"), "15 minutes: reminders, then the breach"))

    await demo.heading(Step(_at("2026-11-04T00:05"), "the team lead steps in"))
    await demo.command(lead, "queue")
    await demo.command(lead, f"reassign T-{t4} @john on call tonight")
    await demo.command(lead, f"escalate T-{t3} ee tech warehouse sync keeps failing")
    await demo.command("200004", f"reassign T-{t4} @priya")

    await demo.heading(Step(_at("2026-11-04T11:00"), "4 November, a Russian public holiday"))
    await demo.say(olga_r, "Срочно: не проходит оплата!", name="Olga R.")
    await demo.say(marek, "Dzień dobry, nie działa logowanie do panelu.", name="Marek")

    await demo.later(Step(_at("2026-11-05T11:30"), f"the day shift is back; two days of silence on T-{t1}"))


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
