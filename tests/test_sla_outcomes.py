"""Met or missed, decided from instants on the plan's calendar: breaches that used to be
lost (a priority raised while paused, a pause after the target passed), late answers that
came before the breach check ran, overdue deadlines at start-up, and who is charged."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

from adapters.local import LocalChannel
from bot.app.config import Config
from bot.app.demo_config import on_local_channel
from bot.app.factory import App
from bot.core.clock import ManualClock
from bot.core.domain import EventType
from bot.sla.report import as_csv, as_table, sla_report
from routing.language import LanguageDetector

from .conftest import MSK, TUESDAY_11, Desk, open_desk

ROMASHKA = "200001"  # warranty: Mon–Fri 09–18 Moscow; P3 8 h / 40 h, P1 2 h / 16 h
ACME = "200004"  # premium, 24/7: P3 15 min / 8 h
LEAD = "100011"


def _msk(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MSK)


def chat_of(cfg: Config, engineer_id: str) -> str:
    engineer = next(e for e in cfg.engineers if e.id == engineer_id)
    return next(i for i in engineer.identities if i.startswith("telegram:")).split(":", 1)[1]


async def answer(desk: Desk, cfg: Config, tid: int, text: str = "Hello, we are on it.") -> str:
    """The assignee answers the customer from the ticket's staff thread; returns who."""
    await desk.deliver()
    assignee = (await desk.ticket(tid)).assignee
    assert assignee is not None
    await desk.local.say(chat_of(cfg, assignee), text, chat="staff", thread=desk.local.thread_of(tid, "staff"))
    assert (await desk.ticket(tid)).first_response_at == desk.clock.now()
    return assignee


async def breaches(desk: Desk, tid: int, clock: str) -> list[dict]:
    return [r for r in await desk.store.events(tid) if r["type"] == EventType.SLA_BREACHED and r["data"]["clock"] == clock]


async def report_all(desk: Desk) -> dict[str, dict[str, str]]:
    report = await sla_report(desk.store, TUESDAY_11 - timedelta(days=30), desk.clock.now() + timedelta(days=1),
                              desk.clock.now())
    return {row["group"]: row for row in csv.DictReader(io.StringIO(as_csv(report)))}


async def test_priority_raised_while_paused_past_the_new_target_breaches_at_once_exactly_once(
    desk: Desk, example_config: Config,
) -> None:
    tid = (await desk.local.say(ROMASHKA, "Не сходятся остатки на складе")).ticket_id  # Tue 11:00, P3
    desk.clock.advance(timedelta(minutes=5))
    await answer(desk, example_config, tid)
    desk.clock.set(_msk("2026-11-26T12:00"))  # Thursday noon: 7 + 9 + 3 = 19 working hours used
    await desk.local.command(LEAD, f"pause T-{tid} ждём выгрузку")
    await desk.desk.fire_due()
    assert await breaches(desk, tid, "resolution") == []  # 19 h of 40: nothing due while paused

    desk.clock.set(_msk("2026-11-27T10:00"))
    await desk.local.command(LEAD, f"priority T-{tid} P1 the customer's warehouse stopped")  # P1: 16 h
    assert await desk.desk.fire_due() >= 1
    [breach] = await breaches(desk, tid, "resolution")
    assert datetime.fromisoformat(breach["data"]["due"]) == desk.clock.now()  # used up when the priority changed
    ticket = await desk.ticket(tid)
    assert ticket.tier == "ee"  # escalated at the breach, though the clock is paused
    assert ticket.sla.outcomes["resolution"].due_at == desk.clock.now()

    desk.clock.advance(timedelta(hours=1))
    await desk.local.command(LEAD, f"resume T-{tid}")
    await desk.local.command(LEAD, f"priority T-{tid} P2")
    desk.clock.advance(timedelta(days=3))
    await desk.desk.fire_due()
    assert len(await breaches(desk, tid, "resolution")) == 1  # once, whatever happens next
    await desk.local.command(chat_of(example_config, ticket.assignee or ""), f"resolve T-{tid}")
    figures = (await report_all(desk))["all"]
    assert (figures["resolved_decided"], figures["resolved_met"]) == ("1", "0")


async def test_a_pause_after_the_target_passed_but_before_the_breach_fired_still_breaches(
    desk: Desk, example_config: Config,
) -> None:
    tid = (await desk.local.say(ACME, "How do I add a user?")).ticket_id  # premium: resolution 8 h, 24/7
    desk.clock.advance(timedelta(minutes=5))
    await answer(desk, example_config, tid)
    target = TUESDAY_11 + timedelta(hours=8)
    desk.clock.set(target + timedelta(minutes=1))  # the breach has not fired yet
    await desk.local.command(LEAD, f"pause T-{tid} waiting for logs")
    await desk.desk.fire_due()
    [breach] = await breaches(desk, tid, "resolution")
    assert datetime.fromisoformat(breach["data"]["due"]) == target  # at the target, not at the pause
    desk.clock.advance(timedelta(days=1))
    await desk.local.say(ACME, "Here are the logs")  # resumes the clock
    await desk.desk.fire_due()
    assert len(await breaches(desk, tid, "resolution")) == 1


async def test_a_late_answer_before_the_breach_check_ran_is_missed(desk: Desk, example_config: Config) -> None:
    tid = (await desk.local.say(ACME, "How do I add a user?")).ticket_id  # first response 15 min
    desk.clock.advance(timedelta(minutes=20))  # the scheduler never ran (a restart, say)
    await answer(desk, example_config, tid)
    await desk.desk.fire_due()
    assert await breaches(desk, tid, "first_response") == []  # no alert for what is answered…
    outcome = (await desk.ticket(tid)).sla.outcomes["first_response"]
    assert (outcome.met, outcome.due_at, outcome.used_s) == (False, TUESDAY_11 + timedelta(minutes=15), 20 * 60)
    figures = (await report_all(desk))["all"]
    assert (figures["first_decided"], figures["first_met"]) == ("1", "0")  # …but it was late


async def test_an_answer_at_the_very_target_minute_is_met(desk: Desk, example_config: Config) -> None:
    tid = (await desk.local.say(ACME, "How do I add a user?")).ticket_id
    desk.clock.advance(timedelta(minutes=15))
    await answer(desk, example_config, tid)
    assert (await desk.ticket(tid)).sla.outcomes["first_response"].met is True


async def test_overdue_deadlines_fire_before_the_channels_take_messages(
    tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    db = tmp_path / "restart.db"
    first = await open_desk(example_config, db, detector, TUESDAY_11)
    tid = (await first.local.say(ACME, "How do I add a user?")).ticket_id
    await first.close()  # down for an hour: the 15-minute first response is overdue

    seen_at_start: list[list[str]] = []

    class Recording(LocalChannel):
        async def start(self, desk, http):  # type: ignore[no-untyped-def]
            rows = await desk.store.events(tid)
            seen_at_start.append([r["data"].get("clock") for r in rows if r["type"] == EventType.SLA_BREACHED])
            await super().start(desk, http)

    cfg = on_local_channel(example_config, f"sqlite:///{db}")
    local = Recording()
    app = await App.create(cfg, clock=ManualClock(TUESDAY_11 + timedelta(hours=1)), adapters={"local": local},
                           detector=detector, serve_http=False)
    try:
        await app.start()
    finally:
        await app.stop()
    assert seen_at_start == [["first_response"]]


async def test_each_target_is_charged_to_who_held_the_ticket_when_it_was_met_or_missed(
    desk: Desk, example_config: Config,
) -> None:
    tid = (await desk.local.say(ACME, "How do I add a user?")).ticket_id
    first = (await desk.ticket(tid)).assignee
    desk.clock.advance(timedelta(minutes=15))
    await desk.desk.fire_due()  # first response breached: escalated to an escalation engineer
    second = (await desk.ticket(tid)).assignee
    assert first and second and first != second
    desk.clock.advance(timedelta(minutes=10))
    await answer(desk, example_config, tid)
    await desk.local.command(chat_of(example_config, second), f"resolve T-{tid}")
    lines = await report_all(desk)
    assert (lines[f"engineer={first}"]["first_decided"], lines[f"engineer={first}"]["first_met"]) == ("1", "0")
    assert lines[f"engineer={first}"]["resolved_decided"] == "0"
    assert lines[f"engineer={second}"]["first_decided"] == "0"  # not the breach that brought it to them
    assert (lines[f"engineer={second}"]["resolved_decided"], lines[f"engineer={second}"]["resolved_met"]) == ("1", "1")


async def test_report_labels_wall_clock_times_and_adds_the_working_time_counted(
    tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    handle = await open_desk(example_config, tmp_path / "f.db", detector, _msk("2026-11-20T18:30"))  # Friday
    try:
        tid = (await handle.local.say(ROMASHKA, "Как выгрузить отчёт по складу?")).ticket_id
        handle.clock.set(_msk("2026-11-23T10:00"))  # Monday, one working hour later
        await answer(handle, example_config, tid)
        lines = await report_all(handle)
        assert lines["all"]["first_wall_p50_s"] == str(round(63.5 * 3600))
        assert lines["all"]["first_working_p50_s"] == "3600"
        report = await sla_report(handle.store, _msk("2026-11-01T00:00"), _msk("2026-12-01T00:00"), handle.clock.now())
        table = as_table(report)
        assert "wall-clock from the request" in table and "time the plan's calendar counted" in table
    finally:
        await handle.close()


def test_a_ticket_stored_before_sla_records_goes_on_from_its_clock_state(example_config: Config) -> None:
    """Rows from before the sla column read as a legacy record: the resolution clock goes on
    from when it last started, with the time it had banked; the first response from the request."""
    from bot.core.records import ticket_from_row, ticket_to_row
    from bot.sla.clocks import SlaBook, build_calendars

    book = SlaBook(example_config, build_calendars(example_config))
    started = TUESDAY_11 + timedelta(hours=2)
    row = {**ticket_to_row(_premium_ticket(started)), "sla": {}}  # as read from an old row
    ticket = ticket_from_row(row)
    assert ticket.sla.legacy
    now = started + timedelta(hours=1)
    runs = book.runs(ticket, now)
    assert runs["resolution"].used == timedelta(hours=3)  # 2 h banked + 1 h since it restarted
    assert runs["resolution"].due_at == started + timedelta(hours=6)  # 8 h premium target
    assert runs["first_response"].due_at == TUESDAY_11 + timedelta(minutes=15)  # passed: a breach
    book.record(ticket, now)
    assert not ticket.sla.legacy and ticket.sla.banked_s == 2 * 3600


def _premium_ticket(started: datetime):  # type: ignore[no-untyped-def]
    from bot.core.domain import ClockState, ConversationRef, Kind, Priority, Status, Ticket

    return Ticket(
        id=7, status=Status.IN_PROGRESS, priority=Priority.P3, priority_reason="", kind=Kind.QUESTION,
        language="en", subject="s", customer="local:200004", customer_name="", org_id="acme", plan="premium",
        customer_tz="Europe/London", conversation=ConversationRef("local", "200004"), created_at=TUESDAY_11,
        updated_at=started, assignee="lars", clock=ClockState(running_since=started, resolution_used_s=2 * 3600),
    )
