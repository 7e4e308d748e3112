"""Delivery never stalls: a database that refuses the books for a while (another process
holds SQLite's write lock) delays a chat's messages but never loses, repeats or reorders
them; the dispatcher's caches stay the size of what is in flight; retries are jittered.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.app.config import Config, DeliveryConfig
from bot.core import backoff
from bot.delivery.contract import DeliveryResult, Outbound
from routing.language import LanguageDetector
from storage.base import Booking

from .conftest import TUESDAY_11, Desk, open_desk
from .test_telegram_flow import IVAN, STAFF, Rig, rig_on_its_own_stand_in

ACME = "200004"


@pytest.fixture
async def telegram(tmp_path: Path, example_config: Config, detector: LanguageDetector) -> AsyncIterator[Rig]:
    async for handle in rig_on_its_own_stand_in(tmp_path, example_config, detector):
        yield handle


class WriteLock:
    """SQLite's write lock, held by another connection — as another process would."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)

    async def take(self) -> None:
        await asyncio.to_thread(self._conn.execute, "BEGIN IMMEDIATE")

    async def release(self) -> None:
        await asyncio.to_thread(self._conn.execute, "ROLLBACK")
        self._conn.close()


async def test_a_write_lock_held_while_a_send_is_in_flight_loses_repeats_and_reorders_nothing(telegram: Rig) -> None:
    rig, tg = telegram, telegram.tg
    tg.user_sends(IVAN, "Добрый день! Не выгружается отчёт по продажам.")
    await rig.settle()
    topic = await rig.topic(1001)
    engineer = await rig.assignee_user(1001)
    answers = [tg.user_sends(engineer, f"Ответ {n}: проверьте настройки выгрузки.", chat_id=STAFF, thread_id=topic)
               for n in range(1, 4)]
    await tg.wait_idle_updates()  # committed: three answers wait in the outbox for Ivan

    lock = WriteLock(rig.app.cfg.storage.url.removeprefix("sqlite:///"))
    taken = asyncio.Event()

    async def hold_the_books(params: Any) -> None:
        """The first answer is on its way to Telegram: now another process takes the lock."""
        if params.get_int("chat_id") == IVAN and not taken.is_set():
            taken.set()
            await lock.take()

    remove = tg.before("copyMessage", hold_the_books)
    refused: list[BaseException] = []
    refused_once = asyncio.Event()
    record = rig.app.desk.record_delivery

    async def booking(message: Outbound, result: DeliveryResult) -> None:
        try:
            await record(message, result)
        except Exception as exc:
            refused.append(exc)
            refused_once.set()
            raise

    rig.app.desk.record_delivery = booking  # type: ignore[method-assign]
    flushing = asyncio.create_task(rig.app.dispatcher.flush())
    try:
        # SQLite waits out its busy timeout (5 s) before it refuses: the lock is held that long.
        await asyncio.wait_for(refused_once.wait(), timeout=60)
    finally:
        remove()
        await lock.release()
    await asyncio.wait_for(flushing, timeout=60)

    assert "database is locked" in str(refused[0])
    relayed = rig.to(IVAN)[1:]  # after the acknowledgement
    assert [s.copied_from for s in relayed] == [(STAFF, a["message_id"]) for a in answers]  # once each, in order
    rows = [r for r in await rig.store.outbox_rows() if r["chat_id"] == str(IVAN)]
    assert {r["state"] for r in rows} == {"sent"}
    assert sorted(int(r["platform_id"]) for r in rows) == sorted(s.message_id for s in rig.to(IVAN))

    # The lane lives on: the next answer goes out at once.
    later = tg.user_sends(engineer, "Ответ 4: всё заработало?", chat_id=STAFF, thread_id=topic)
    await rig.settle()
    assert rig.to(IVAN)[-1].copied_from == (STAFF, later["message_id"])


async def test_the_dispatcher_keeps_no_cache_of_what_is_delivered(desk: Desk) -> None:
    for n in range(5):
        await desk.local.say(str(300_000 + n), f"Customer {n}: the export fails")
    await desk.deliver()
    dispatcher = desk.app.dispatcher
    assert (dispatcher._threads, dispatcher._queued, dispatcher._latest) == ({}, {}, {})
    # A ticket's staff thread is read back from the store when it is needed again.
    thread = await desk.staff_thread(1001)
    await desk.local.say("300000", "Still failing")
    await desk.deliver()
    assert desk.local.to("staff", thread)[-1].text.endswith("Still failing")
    assert (dispatcher._threads, dispatcher._queued, dispatcher._latest) == ({}, {}, {})


async def test_a_failing_booking_is_retried_and_the_message_is_sent_once(desk: Desk) -> None:
    store = desk.app.store
    mark_sent_many = store.mark_sent_many
    calls: dict[int, int] = {}

    async def flaky(bookings: Sequence[Booking]) -> None:
        for b in bookings:
            calls[b.outbox_id] = calls.get(b.outbox_id, 0) + 1
        if any(calls[b.outbox_id] <= 2 for b in bookings):
            raise sqlite3.OperationalError("database is locked")
        await mark_sent_many(bookings)

    store.mark_sent_many = flaky  # type: ignore[method-assign]
    await desk.local.say(ACME, "Checkout is down")
    await desk.deliver()
    rows = await store.outbox_rows()
    assert rows and {r["state"] for r in rows} == {"sent"}
    assert all(calls[r["id"]] >= 3 for r in rows)  # every booking failed twice at least...
    assert sorted(d.message.id for d in desk.local.sent) == [r["id"] for r in rows]  # ...and each was sent once


def test_retry_pauses_double_are_capped_and_jittered() -> None:
    assert backoff.pause(1, 1.0, 60.0, rng=lambda: 0.0) == 0.5
    assert backoff.pause(1, 1.0, 60.0, rng=lambda: 1.0) == 1.0
    assert backoff.pause(4, 1.0, 60.0, rng=lambda: 1.0) == 8.0
    assert backoff.pause(40, 1.0, 60.0, rng=lambda: 1.0) == 60.0
    assert backoff.pause(10_000, 1.0, 60.0, rng=lambda: 0.0) == 30.0  # no overflow
    drawn = {backoff.pause(3, 1.0, 60.0) for _ in range(50)}
    assert len(drawn) > 1 and all(2.0 <= d <= 4.0 for d in drawn)  # spread, never much sooner


async def test_never_more_than_max_in_flight_messages_are_sent_and_not_yet_booked(
    tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    """What a crash can make the outbox send again is bounded: bookings are held back one
    by one, and no send happens while `max_in_flight` sent messages wait for theirs."""
    cfg = example_config.model_copy(update={"delivery": DeliveryConfig(max_in_flight=2)})
    handle = await open_desk(cfg, tmp_path / "desk.db", detector, TUESDAY_11)
    try:
        sent_unbooked: list[int] = []
        waiting: list[asyncio.Event] = []
        in_the_books = [0]  # sent, and their booking not done yet
        changed = asyncio.Event()
        record = handle.app.desk.record_delivery

        def sent(_: Any) -> None:
            sent_unbooked.append(in_the_books[0] + 1)  # this one, and those still waiting for their booking
            changed.set()

        async def held_booking(message: Outbound, result: DeliveryResult) -> None:
            in_the_books[0] += 1
            gate = asyncio.Event()
            waiting.append(gate)
            changed.set()
            await gate.wait()
            await record(message, result)
            in_the_books[0] -= 1

        handle.local.listeners.append(sent)
        handle.app.desk.record_delivery = held_booking  # type: ignore[method-assign]
        for n in range(4):
            await handle.local.say(str(300_000 + n), f"Customer {n}: the export fails")
        total = len(await handle.store.outbox_rows(state="pending"))
        flushing = asyncio.create_task(handle.deliver())
        released = 0
        while released < total:
            while len(waiting) <= released:  # until the next booking is held
                changed.clear()
                await asyncio.wait_for(changed.wait(), timeout=30)
            waiting[released].set()
            released += 1
        await asyncio.wait_for(flushing, timeout=30)
        assert len(sent_unbooked) == total and max(sent_unbooked) == 2  # the bound was reached, never passed
        assert {r["state"] for r in await handle.store.outbox_rows()} == {"sent"}
    finally:
        await handle.close()
