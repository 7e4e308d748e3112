"""The scheduler: one armed job at the earliest deadline, re-armed, recovering overdue work."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.core.clock import SystemClock
from bot.sla.scheduler import SlaScheduler

from .conftest import Desk


class FakeDesk:
    """Deadlines as a sorted list; fire_due pops what is due by the real clock."""

    def __init__(self, due: list[datetime]) -> None:
        self.clock = SystemClock()
        self.due = sorted(due)
        self.fired: list[datetime] = []
        self.changed = asyncio.Event()

    async def fire_due(self) -> int:
        now = self.clock.now()
        ready = [d for d in self.due if d <= now]
        self.due = [d for d in self.due if d > now]
        self.fired += ready
        self.changed.set()
        return len(ready)

    async def next_due(self) -> datetime | None:
        return self.due[0] if self.due else None


async def _wait_fired(desk: FakeDesk, count: int) -> None:
    async def until() -> None:
        while len(desk.fired) < count:
            desk.changed.clear()
            await desk.changed.wait()

    await asyncio.wait_for(until(), timeout=5)


async def test_overdue_work_fires_at_start_and_the_next_deadline_is_armed() -> None:
    now = datetime.now(UTC)
    desk = FakeDesk([now - timedelta(minutes=5), now - timedelta(seconds=1), now + timedelta(hours=1)])
    scheduler = SlaScheduler(desk)
    await scheduler.start()
    try:
        await _wait_fired(desk, 2)
        assert len(desk.fired) == 2  # each overdue deadline once
        await asyncio.wait_for(_armed_at(scheduler, now + timedelta(hours=1)), timeout=5)
    finally:
        await scheduler.stop()


async def _armed_at(scheduler: SlaScheduler, when: datetime) -> None:
    while scheduler.armed_at != when:  # noqa: ASYNC110 - re-arming happens in a task; yield until it has
        await asyncio.sleep(0)


async def test_a_nudge_brings_the_wake_up_forward() -> None:
    now = datetime.now(UTC)
    desk = FakeDesk([now + timedelta(hours=1)])
    scheduler = SlaScheduler(desk)
    await scheduler.start()
    try:
        assert scheduler.armed_at == now + timedelta(hours=1)
        soon = now + timedelta(milliseconds=200)
        desk.due.insert(0, soon)
        scheduler.nudge(soon)
        assert scheduler.armed_at == soon
        scheduler.nudge(now + timedelta(hours=2))  # later than armed: ignored
        assert scheduler.armed_at == soon
        await _wait_fired(desk, 1)
        assert desk.fired == [soon]
        await asyncio.wait_for(_armed_at(scheduler, now + timedelta(hours=1)), timeout=5)
    finally:
        await scheduler.stop()


async def test_leads_get_digest_and_weekly_report_at_their_local_time(desk: Desk, tmp_path: Path) -> None:
    await desk.app.scheduler.start()
    try:
        desk.app._schedule_briefings()
        digest = desk.app.scheduler.next_run("digest-olga")
        report = desk.app.scheduler.next_run("report-olga")
        assert digest is not None and report is not None
        local = digest.astimezone(ZoneInfo("Europe/Moscow"))
        assert (local.hour, local.minute) == (9, 0)
        assert report.astimezone(ZoneInfo("Europe/Moscow")).weekday() == 0
    finally:
        await desk.app.scheduler.stop()
    await desk.local.say("200004", "Our exports fail")  # premium: first response due in 15 minutes
    await desk.desk.brief_lead("olga", "queue", "digest")
    await desk.deliver()
    digests = [m for m in desk.local.to("100011") if m.kind == "digest"]
    assert len(digests) == 1 and "T-1001" in digests[0].text
