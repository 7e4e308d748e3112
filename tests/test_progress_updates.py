"""Progress updates every two days from the customer's last message from the desk — also
for a ticket nobody has answered — with a reminder to the people on it first, and a text
that says where the ticket stands, in the customer's language."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.app.config import Config
from routing.language import LanguageDetector

from .conftest import MSK, open_desk

ROMASHKA = "200001"  # warranty, Russian, Mon–Fri 09:00–18:00 Moscow
LEAD = "100011"
CHATS = {"anna": "100001", "dmitry": "100002", "mikhail": "100009", "elena": "100007", "sergey": "100010"}


def _msk(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MSK)


async def test_a_waiting_ticket_hears_from_the_desk_every_two_days(
    tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    desk = await open_desk(example_config, tmp_path / "u.db", detector, _msk("2026-11-20T19:30"))  # Friday evening, after hours
    try:
        tid = (await desk.local.say(ROMASHKA, "Как выгрузить отчёт по складу?")).ticket_id
        await desk.deliver()
        assert [m.kind for m in desk.local.to(ROMASHKA)] == ["ack"]  # queued until Monday
        assert (await desk.ticket(tid)).assignee is None

        desk.clock.set(_msk("2026-11-22T15:29"))
        await desk.desk.fire_due()
        await desk.deliver()
        assert not [m for m in desk.local.to(LEAD) if m.kind == "reminder"]
        desk.clock.set(_msk("2026-11-22T15:30"))  # four hours before: nobody has it, so the lead
        await desk.desk.fire_due()
        await desk.deliver()
        [notice] = [m for m in desk.local.to(LEAD) if m.kind == "reminder"]
        assert notice.text.startswith(f"T-{tid}: в вс 22 нояб. 19:30 (Europe/Moscow) клиент получит автоматическое")
        assert not [m for m in desk.local.to(ROMASHKA) if m.kind == "progress"]

        desk.clock.set(_msk("2026-11-22T19:30"))  # Sunday: two days since the acknowledgement
        await desk.desk.fire_due()
        await desk.deliver()
        [queued] = [m.text for m in desk.local.to(ROMASHKA) if m.kind == "progress"]
        assert queued == (f"Новости по обращению T-{tid}: оно в очереди, инженер возьмёт его в работу "
                          "пн 23 нояб. 10:00 (Europe/Moscow). Мы о нём помним.")
        mirror = [m.text for m in desk.local.to("staff", desk.local.thread_of(tid, "staff")) if m.kind == "mirror"]
        assert mirror == [f"Automatic progress update to the customer: {queued}"]

        desk.clock.set(_msk("2026-11-23T10:00"))  # Monday: picked up; nobody answers
        await desk.desk.fire_due()
        desk.clock.set(_msk("2026-11-24T15:30"))  # Tuesday, four hours before the next update
        await desk.desk.fire_due()
        await desk.deliver()
        holder = (await desk.ticket(tid)).assignee
        assert holder is not None
        assert any(m.kind == "reminder" and "автоматическое" in m.text for m in desk.local.to(CHATS[holder]))
        desk.clock.set(_msk("2026-11-24T19:30"))
        await desk.desk.fire_due()
        await desk.deliver()
        name = next(e.name for e in example_config.engineers if e.id == holder).split()[0]
        working = [m.text for m in desk.local.to(ROMASHKA) if m.kind == "progress"][1]
        assert working == f"Новости по обращению T-{tid}: над ним работает {name}. Напишем, как только появятся новости."

        desk.clock.set(_msk("2026-11-25T10:00"))
        await desk.local.command(LEAD, f"pause T-{tid} ждём выгрузку")
        desk.clock.set(_msk("2026-11-26T19:30"))  # two days after the last update, waiting on the customer
        await desk.desk.fire_due()
        await desk.deliver()
        waiting = [m.text for m in desk.local.to(ROMASHKA) if m.kind == "progress"][2]
        assert waiting.startswith(f"Новости по обращению T-{tid}: мы ждём вашего ответа.")
    finally:
        await desk.close()


async def test_a_person_who_writes_after_the_reminder_stops_the_automatic_update(
    tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    desk = await open_desk(example_config, tmp_path / "w.db", detector, _msk("2026-11-24T11:00"))
    try:
        tid = (await desk.local.say(ROMASHKA, "Не работает печать")).ticket_id
        desk.clock.set(_msk("2026-11-26T07:00"))  # the reminder, four hours before
        await desk.desk.fire_due()
        await desk.deliver()
        holder = (await desk.ticket(tid)).assignee
        assert holder is not None
        await desk.local.say(CHATS[holder], "Здравствуйте! Проверяем драйвер принтера.", chat="staff",
                             thread=desk.local.thread_of(tid, "staff"))
        desk.clock.set(_msk("2026-11-26T11:00"))
        await desk.desk.fire_due()
        await desk.deliver()
        assert not [m for m in desk.local.to(ROMASHKA) if m.kind == "progress"]
    finally:
        await desk.close()
