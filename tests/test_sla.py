"""SLA clocks against a controllable clock: targets to the minute, pauses, priority changes,
graded reminders exactly once (across restarts), progress updates, DST."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app.config import CalendarConfig, Config, PlanConfig
from bot.core.domain import EventType, Priority
from routing.language import LanguageDetector

from .conftest import MSK, TUESDAY_11, Desk, open_desk

ROMASHKA = "200001"  # warranty: 8 working hours first response, 40 resolution, Mon–Fri 09–18 Moscow
ACME = "200004"  # premium: 15 minutes, 24/7
POLBANK = "200003"  # 24x7 plan, Polish
NIGHT_CHATS = {"john": "100005", "priya": "100006"}  # the night rotation's chats


def _utc(text: str, tz: ZoneInfo = MSK) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


async def _targets(desk: Desk, tid: int) -> dict[str, datetime]:
    return {
        d["clock"]: d["target_at"] for d in await desk.store.deadlines(tid)
        if d["stage"] == 100 and d["fired_at"] is None
    }


@pytest.fixture
async def friday_evening(tmp_path: Path, example_config: Config, detector: LanguageDetector):
    handle = await open_desk(example_config, tmp_path / "f.db", detector, _utc("2026-11-20T18:30"))
    yield handle
    await handle.close()


async def test_friday_evening_ticket_is_due_monday_at_the_right_minute(friday_evening: Desk) -> None:
    receipt = await friday_evening.local.say(ROMASHKA, "Как выгрузить отчёт по складу?")
    targets = await _targets(friday_evening, receipt.ticket_id)
    # After hours: the clock starts at Monday 09:00, and 8 working hours end at 17:00.
    assert targets["first_response"] == _utc("2026-11-23T17:00")
    # 40 working hours of 9-hour days: Monday to Thursday (36 h), then 4 h on Friday.
    assert targets["resolution"] == _utc("2026-11-27T13:00")


async def test_a_monday_holiday_moves_it_to_tuesday(tmp_path: Path, example_config: Config, detector) -> None:
    # 9 March 2026 is the observed day off for 8 March (a Sunday) in Russia.
    handle = await open_desk(example_config, tmp_path / "h.db", detector, _utc("2026-03-06T18:30"))
    try:
        receipt = await handle.local.say(ROMASHKA, "Как выгрузить отчёт по складу?")
        assert (await _targets(handle, receipt.ticket_id))["first_response"] == _utc("2026-03-10T17:00")
        await handle.deliver()
        ack = handle.local.to(ROMASHKA)[0].text
        assert "вт 10 мар. 17:00 (Europe/Moscow)" in ack or "Сейчас нерабочее время" in ack
    finally:
        await handle.close()


async def test_pause_and_resume_keep_the_time_used(desk: Desk) -> None:
    receipt = await desk.local.say(ROMASHKA, "Не сходятся остатки")  # Tuesday 11:00
    tid = receipt.ticket_id
    before = (await _targets(desk, tid))["resolution"]
    desk.clock.advance(timedelta(hours=2))  # 13:00: 2 working hours used
    await desk.local.command("100011", f"pause T-{tid} ждём выгрузку")
    desk.clock.set(_utc("2026-11-25T13:00"))  # a day later the customer answers
    await desk.local.say(ROMASHKA, "Выгрузку приложил")
    ticket = await desk.ticket(tid)
    assert ticket.clock.resolution_used_s == 2 * 3600 and ticket.clock.running_since is not None
    after = (await _targets(desk, tid))["resolution"]
    assert after - before == timedelta(days=1)  # 9 working hours paused = one working day later
    events = await desk.events(tid)
    assert EventType.CLOCK_PAUSED in events and EventType.CLOCK_RESUMED in events


async def test_priority_change_mid_way_keeps_the_elapsed_time(desk: Desk) -> None:
    receipt = await desk.local.say(ACME, "Question about our invoices")  # premium, P3: 15m / 8h
    tid = receipt.ticket_id
    desk.clock.advance(timedelta(hours=1))
    await desk.local.command("100011", f"priority T-{tid} P1 customer escalated")  # P1: 15m / 4h
    targets = await _targets(desk, tid)
    created = (await desk.ticket(tid)).created_at
    assert targets["resolution"] == created + timedelta(hours=4)  # the hour already used counts
    assert targets["first_response"] == created + timedelta(minutes=15)


async def test_reminders_fire_once_each_at_the_right_instants(desk: Desk) -> None:
    receipt = await desk.local.say(ACME, "How do I add a user?")  # premium first response: 15 minutes
    tid = receipt.ticket_id
    start = desk.clock.now()

    async def fire_at(minutes: float) -> list[tuple[str, int]]:
        desk.clock.set(start + timedelta(minutes=minutes))
        await desk.desk.fire_due()
        return [(r["data"]["clock"], r["data"].get("stage", 100)) for r in await desk.store.events(tid)
                if r["type"] in (EventType.REMINDER_SENT, EventType.SLA_BREACHED)]

    assert await fire_at(7.49) == []
    assert await fire_at(7.5) == [("first_response", 50)]
    assert await fire_at(7.6) == [("first_response", 50)]  # not again
    assert await fire_at(11.99) == [("first_response", 50)]
    assert await fire_at(12) == [("first_response", 50), ("first_response", 80)]
    assert await fire_at(15) == [("first_response", 50), ("first_response", 80), ("first_response", 100)]
    assert await fire_at(16) == [("first_response", 50), ("first_response", 80), ("first_response", 100)]
    await desk.deliver()
    assignee = (await desk.ticket(tid)).assignee
    assert assignee is not None


async def test_breach_tells_the_leads_and_escalates(desk: Desk) -> None:
    receipt = await desk.local.say(ACME, "How do I add a user?")
    tid = receipt.ticket_id
    first = (await desk.ticket(tid)).assignee
    desk.clock.advance(timedelta(minutes=15))
    await desk.desk.fire_due()
    await desk.deliver()
    ticket = await desk.ticket(tid)
    assert ticket.tier == "ee" and ticket.assignee != first
    breach = [r for r in await desk.store.events(tid) if r["type"] == EventType.SLA_BREACHED]
    assert len(breach) == 1 and breach[0]["data"]["clock"] == "first_response"
    assert any(m.kind == "breach" for m in desk.local.to("100011"))  # the lead


async def test_restart_with_overdue_reminders_sends_each_exactly_once(tmp_path: Path, example_config, detector) -> None:
    db = tmp_path / "restart.db"
    first = await open_desk(example_config, db, detector, TUESDAY_11)
    receipt = await first.local.say(ACME, "How do I add a user?")
    await first.close()  # down for an hour: 50 %, 80 % and the breach all came due

    second = await open_desk(example_config, db, detector, TUESDAY_11 + timedelta(hours=1))
    try:
        await second.desk.fire_due()
        await second.desk.fire_due()
        await second.deliver()
        rows = [r for r in await second.store.events(receipt.ticket_id)
                if r["type"] in (EventType.REMINDER_SENT, EventType.SLA_BREACHED)
                and r["data"]["clock"] == "first_response"]
        assert sorted(r["data"].get("stage", 100) for r in rows) == [50, 80, 100]
    finally:
        await second.close()
    third = await open_desk(example_config, db, detector, TUESDAY_11 + timedelta(hours=2))
    try:
        fired = await third.desk.fire_due()
        events = await third.store.events(receipt.ticket_id)
        assert sum(1 for r in events if r["type"] == EventType.SLA_BREACHED and r["data"]["clock"] == "first_response") == 1
        assert fired >= 0
    finally:
        await third.close()


async def test_progress_update_on_the_third_day_of_silence(desk: Desk) -> None:
    receipt = await desk.local.say(POLBANK, "Nie działa eksport raportów")  # 24x7, update every 2 days
    tid = receipt.ticket_id
    assignee = (await desk.ticket(tid)).assignee
    engineer = {"kasia": "100003"}.get(assignee or "", "100003")
    thread = None
    await desk.deliver()
    thread = desk.local.thread_of(tid, "staff")
    await desk.local.say(engineer, "Dzień dobry, sprawdzamy.", chat="staff", thread=thread)  # Tue 11:00
    answered = desk.clock.now()

    async def updates() -> list[int]:
        return [r["data"]["stage"] for r in await desk.store.events(tid)
                if r["type"] == EventType.REMINDER_SENT and r["data"]["clock"] == "update"]

    desk.clock.set(answered + timedelta(days=2) - timedelta(minutes=1))
    await desk.desk.fire_due()
    assert await updates() == [92]  # the assignee was reminded four hours before; no update yet

    desk.clock.set(answered + timedelta(days=2))  # Thursday 11:00: the third day of silence
    await desk.desk.fire_due()
    await desk.deliver()
    assert await updates() == [92, 100]
    progress = [m for m in desk.local.to(POLBANK) if m.kind == "progress"]
    assert len(progress) == 1 and progress[0].text.startswith("Informacja o zgłoszeniu")

    # An engineer's update restarts the interval: two days after it, not after the first update.
    desk.clock.advance(timedelta(hours=1))
    await desk.local.say(engineer, "Poprawka będzie jutro.", chat="staff", thread=thread)
    desk.clock.set(answered + timedelta(days=4))
    await desk.desk.fire_due()
    assert await updates() == [92, 100, 92]  # only the reminder: the update is due an hour later


async def test_dst_weekend_counts_real_hours(tmp_path: Path, example_config: Config, detector) -> None:
    warsaw = ZoneInfo("Europe/Warsaw")
    cfg = example_config.model_copy(update={
        "calendars": {**example_config.calendars,
                      "warsaw_daily": CalendarConfig(timezone="Europe/Warsaw", hours={"daily": "08:00-20:00"})},
        "plans": {**example_config.plans,
                  "24x7": PlanConfig(calendar="warsaw_daily", first_response=timedelta(hours=2),
                                     resolution=timedelta(hours=24))},
    })
    # Saturday 24 October 2026 19:00 Warsaw; clocks go back at 03:00 on Sunday.
    handle = await open_desk(cfg, tmp_path / "dst.db", detector, _utc("2026-10-24T19:00", warsaw))
    try:
        receipt = await handle.local.say(POLBANK, "Pytanie o raporty", priority=Priority.P3)
        target = (await _targets(handle, receipt.ticket_id))["first_response"]
        # One hour on Saturday (19–20), one on Sunday (08–09 local, now UTC+1).
        assert target == _utc("2026-10-25T09:00", warsaw)
        assert target.astimezone(ZoneInfo("UTC")).hour == 8
    finally:
        await handle.close()


async def test_reminder_for_an_off_duty_assignee_goes_to_whoever_is_on_duty(desk: Desk) -> None:
    receipt = await desk.local.say(ACME, "How do I add a user?")  # Tuesday 11:00 → an English speaker on duty
    tid = receipt.ticket_id
    await desk.local.command("100011", f"reassign T-{tid} @elena")  # Elena works 10–19 Moscow
    desk.clock.set(_utc("2026-11-24T19:30"))
    await desk.local.command("100011", f"priority T-{tid} P3")  # no-op, keeps things honest
    # The resolution 50 % reminder (8 h target, 4 h) came due at 15:00 while Elena was on:
    await desk.desk.fire_due()
    await desk.deliver()
    # Later reminders, after 19:00, go to the night shift, marked as covering for her.
    texts = [m.text for d in desk.local.sent for m in [d.message] if m.kind in ("reminder", "breach")]
    assert any("Elena Morozova" in t and ("off duty" in t or "не на смене" in t) for t in texts)


async def test_only_a_human_answer_to_the_customer_is_a_first_response(desk: Desk) -> None:
    receipt = await desk.local.say(ROMASHKA, "Не работает печать")
    tid = receipt.ticket_id
    await desk.deliver()
    assert [m.kind for m in desk.local.to(ROMASHKA)] == ["ack"]  # the automatic acknowledgement…
    assert (await desk.ticket(tid)).first_response_at is None  # …is no response
    thread = desk.local.thread_of(tid, "staff")
    engineer = {"anna": "100001", "dmitry": "100002"}[(await desk.ticket(tid)).assignee]
    await desk.local.say(engineer, "! internal: check the printer driver", chat="staff", thread=thread)
    await desk.local.say(engineer, "/note still checking", chat="staff", thread=thread)
    assert (await desk.ticket(tid)).first_response_at is None  # notes are not either
    assert "first_response" in await _targets(desk, tid)
    desk.clock.advance(timedelta(minutes=7))
    await desk.local.say(engineer, "Здравствуйте! Переустановите драйвер, пожалуйста.", chat="staff", thread=thread)
    ticket = await desk.ticket(tid)
    assert ticket.first_response_at == desk.clock.now()
    assert "first_response" not in await _targets(desk, tid)
    directions = [m["direction"] for m in await desk.store.messages(tid)]
    assert directions == ["customer", "note", "note", "engineer"]


async def test_a_night_breach_escalation_stays_with_its_engineer_until_the_next_tier_comes_on(
    tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    """No escalation engineer works at night: the premium ticket must not drop back into
    the queue with nobody on it. It stays with the night engineer, the lead is alerted, and
    the first escalation engineer on duty gets it in the morning."""
    desk = await open_desk(example_config, tmp_path / "n.db", detector, _utc("2026-11-25T06:50"))
    try:
        tid = (await desk.local.say(ACME, "How do I add a user to the warehouse module?")).ticket_id
        night = (await desk.ticket(tid)).assignee
        assert night in ("john", "priya")
        await desk.deliver()

        desk.clock.advance(timedelta(minutes=15))
        await desk.desk.fire_due()
        await desk.deliver()
        ticket = await desk.ticket(tid)
        assert (ticket.tier, ticket.assignee) == ("ee", night)
        held = [r for r in await desk.store.events(tid) if r["type"] == EventType.QUEUED]
        assert len(held) == 1 and held[0]["data"]["holder"] == night
        assert "stays with" in held[0]["reason"]
        notices = [m.text for m in desk.local.to(NIGHT_CHATS[night]) if m.kind == "notice"]
        assert len(notices) == 1 and "it stays with you until" in notices[0]
        [alert] = [m.text for m in desk.local.to("100011") if m.kind == "alert"]  # the lead, in Russian
        assert "эскалировано (Escalation engineers), но там никого нет на смене" in alert

        desk.clock.set(datetime.fromisoformat(held[0]["data"]["pickup_at"]) - timedelta(minutes=1))
        await desk.desk.fire_due()
        assert (await desk.ticket(tid)).assignee == night  # not a minute early
        desk.clock.advance(timedelta(minutes=1))  # the first escalation engineer's shift starts
        await desk.desk.fire_due()
        await desk.deliver()
        ticket = await desk.ticket(tid)
        assert ticket.tier == "ee" and ticket.pickup_at is None
        assert next(e.tier for e in example_config.engineers if e.id == ticket.assignee) == "ee"
        assert any("no longer yours" in m.text for m in desk.local.to(NIGHT_CHATS[night]))
    finally:
        await desk.close()

