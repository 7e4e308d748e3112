"""A hot standby on PostgreSQL, and readiness: real `dutydesk run` processes.

Two (or three) desks on one throwaway PostgreSQL schema, Telegram polling the stand-in,
customers writing throughout. The second desk waits as a standby (it says so, `/readyz`
answers 503 and it polls nothing); when the active desk is killed, stopped for an upgrade
or loses its database session, the other takes over and no customer message is lost or
makes a second ticket. Readiness names what fails: a stuck getUpdates, an outbox that does
not drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.desks import TOKEN, Desk, Desks, telegram_world, until
from tests.standins.telegram_api import TelegramStandIn
from tests.test_storage_contract import postgres_schema, require_postgres

FIRST_CUSTOMER = 700_001
TEXTS = ("Не выгружается отчёт по продажам, ошибка 500.", "The invoice export stopped working this morning.",
         "Dzień dobry, nie działa logowanie.", "Как добавить нового пользователя?")


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn(token=TOKEN, bot_username="dutydesk_bot", limits=None) as standin:
        telegram_world(standin)
        yield standin


@pytest.fixture
async def schema_url() -> AsyncIterator[str]:
    async with postgres_schema(require_postgres()) as url:
        yield url


class Customers:
    """A dozen customers writing in turn, one message every few milliseconds, while a task runs."""

    def __init__(self, tg: TelegramStandIn, count: int = 12) -> None:
        self.tg = tg
        self.users = [FIRST_CUSTOMER + n for n in range(count)]
        for user in self.users:
            tg.add_user(user, f"Customer {user}", language_code="ru")
        self.sent: list[tuple[int, int]] = []  # (chat, message id)
        self._task: asyncio.Task[None] | None = None

    def write(self) -> None:
        n = len(self.sent)
        user = self.users[n % len(self.users)]
        text = f"{TEXTS[n % len(TEXTS)]} #{n}"
        self.sent.append((user, self.tg.user_sends(user, text)["message_id"]))

    def start(self) -> None:
        async def keep_writing() -> None:
            while True:
                self.write()
                await asyncio.sleep(0.02)  # the customers' pace, not a wait for the desk

        self._task = asyncio.create_task(keep_writing())

    async def written(self, more: int) -> None:
        goal = len(self.sent) + more
        await until(lambda: len(self.sent) >= goal, 30, f"{more} more messages written")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _nothing_lost(tg: TelegramStandIn, url: str, customers: Customers) -> None:
    """Every message confirmed to Telegram and stored once; one ticket per customer."""
    await until(lambda: not tg.pending_updates, 120, "every update confirmed")
    expected = {(str(chat), str(mid)) for chat, mid in customers.sent}

    async def stored() -> set[tuple[object, ...]] | None:
        rows = set(await _rows(url, "SELECT chat_id, platform_id FROM messages WHERE direction = 'customer'"))
        return rows if expected <= rows else None

    await until(stored, 120, "every customer message stored")
    rows = await _rows(url, "SELECT chat_id, platform_id FROM messages WHERE direction = 'customer'")
    assert len(rows) == len(set(rows)) == len(expected)  # 0 lost, none stored twice
    tickets = Counter(customer for (customer,) in await _rows(url, "SELECT customer FROM tickets"))
    assert tickets == Counter({f"telegram:{user}": 1 for user in customers.users})  # 0 duplicate tickets


def _poll_conflicts(tg: TelegramStandIn) -> int:
    """getUpdates calls cut off by another poller: what two desks polling at once cause."""
    return sum(1 for r in tg.requests if r.method == "getUpdates" and r.status == 409)


async def _active_and_standby(desks: Desks) -> tuple[Desk, Desk]:
    """Two desks started together: one runs, the other stands by."""
    pair = [await desks.start("a"), await desks.start("b")]

    async def roles() -> tuple[Desk, Desk, dict[str, Any], dict[str, Any]] | None:
        for desk in pair:
            desk.alive()
        (s0, b0), (s1, b1) = [await desk.readyz() for desk in pair]
        if {(s0, b0.get("role")), (s1, b1.get("role"))} != {(200, "active"), (503, "standby")}:
            return None
        return (pair[0], pair[1], b0, b1) if s0 == 200 else (pair[1], pair[0], b1, b0)

    active, standby, ready, waiting = await until(roles, 180, "one desk active, the other standing by")
    assert {"active", "database", "intake.telegram", "outbox", "dead_letters"} <= set(ready["checks"])
    assert waiting == {"ready": False, "role": "standby", "checks": {"active": {
        "ok": False, "detail": "standby: this process does not run the desk now"}}}
    await until(lambda: standby.said("standby: another desk holds schema"), 30, "the standby says so")
    # Prometheus scrapes both: the active desk's figures, and an empty page from the standby
    # (so sums over the replicas count the desk once).
    (status, served), (standby_status, waits) = await active.metrics(), await standby.metrics()
    assert status == 200 and "dutydesk_messages_in_total" in served and "dutydesk_outbox_pending" in served
    assert standby_status == 200 and "dutydesk_" not in waits.replace("# dutydesk:", "")
    return active, standby


async def test_a_standby_takes_over_when_the_active_desk_is_killed(
    tmp_path: Path, tg: TelegramStandIn, schema_url: str,
) -> None:
    desks, customers = Desks(tmp_path, tg, schema_url), Customers(tg)
    try:
        active, standby = await _active_and_standby(desks)
        customers.start()
        await customers.written(40)
        assert _poll_conflicts(tg) == 0  # the standby polls nothing
        assert not standby.said("running:")
        active.kill()  # kill -9: the kernel closes its sockets, the server drops its lock
        await active.process.wait()
        await customers.written(10)  # while nobody polls
        await standby.ready(timeout=60)
        assert standby.said("taking over") and standby.said("running: telegram")
        await customers.written(40)
        await customers.stop()
        await _nothing_lost(tg, schema_url, customers)
    finally:
        await customers.stop()
        await desks.stop_all()


async def test_a_rolling_upgrade_misses_nothing(tmp_path: Path, tg: TelegramStandIn, schema_url: str) -> None:
    desks, customers = Desks(tmp_path, tg, schema_url), Customers(tg)
    try:
        old, new = await _active_and_standby(desks)
        customers.start()
        await customers.written(30)
        assert await old.stop() == 0  # SIGTERM: it stops taking updates and releases the claim
        assert old.said("running: telegram") and not old.said("Traceback")
        await new.ready(timeout=60)
        await customers.written(30)
        await customers.stop()
        await _nothing_lost(tg, schema_url, customers)
    finally:
        await customers.stop()
        await desks.stop_all()


async def test_a_desk_that_loses_its_database_session_stops_and_the_standby_takes_over(
    tmp_path: Path, tg: TelegramStandIn, schema_url: str,
) -> None:
    desks, customers = Desks(tmp_path, tg, schema_url), Customers(tg)
    try:
        active, standby = await _active_and_standby(desks)
        customers.start()
        await customers.written(30)
        name = f"dutydesk claim {socket.gethostname()} pid {active.process.pid}"[:63]
        terminated = await _rows(schema_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                             f"WHERE application_name = '{name}'")
        assert terminated == [(True,)]
        await until(lambda: active.said("fenced: this desk lost its database session"), 30, "fenced\n" + active.log)
        await standby.ready(timeout=60)
        fenced = await active.role("standby")  # alive, and waiting again
        assert fenced["checks"]["active"]["ok"] is False
        conflicts = _poll_conflicts(tg)
        await customers.written(60)
        await _until_confirmed(tg)
        assert _poll_conflicts(tg) == conflicts  # the fenced desk polls no more
        await customers.stop()
        await _nothing_lost(tg, schema_url, customers)
    finally:
        await customers.stop()
        await desks.stop_all()


async def _until_confirmed(tg: TelegramStandIn) -> None:
    await until(lambda: not tg.pending_updates, 120, "every update confirmed")


# -- readiness: what it names when it fails (one desk, SQLite) ---------------------------------


async def test_readyz_names_a_stuck_intake_and_recovers(tmp_path: Path, tg: TelegramStandIn) -> None:
    desks = Desks(tmp_path, tg, f"sqlite:///{tmp_path / 'desk.db'}", health__intake_margin_seconds=1.0)
    release = asyncio.Event()
    try:
        desk = await desks.start("a")
        await desk.ready()
        remove = tg.before("getUpdates", lambda _: release.wait())  # Telegram stops answering polls
        stuck = await desk.role("active")
        intake = stuck["checks"]["intake.telegram"]
        assert intake["ok"] is False and "no getUpdates round completed" in intake["detail"]
        assert all(check["ok"] for name, check in stuck["checks"].items() if name != "intake.telegram")
        assert (await desk.readyz("active"))[0] == 200  # still the active desk for a load balancer
        remove()
        release.set()
        await desk.ready()
    finally:
        release.set()
        await desks.stop_all()


async def test_readyz_names_an_outbox_that_does_not_drain(tmp_path: Path, tg: TelegramStandIn) -> None:
    desks = Desks(tmp_path, tg, f"sqlite:///{tmp_path / 'desk.db'}", health__outbox_max_age_seconds=1.0)
    try:
        desk = await desks.start("a")
        await desk.ready()
        tg.fail_next("sendMessage", times=1000, error_code=502)  # Telegram takes nothing
        tg.add_user(FIRST_CUSTOMER, "Ivan", language_code="ru")
        tg.user_sends(FIRST_CUSTOMER, TEXTS[0])
        stuck = await desk.role("active")
        outbox = stuck["checks"]["outbox"]
        assert outbox["ok"] is False and "the oldest pending message" in outbox["detail"]
        assert outbox["oldest_pending_seconds"] >= 1.0
        assert stuck["checks"]["intake.telegram"]["ok"] and stuck["checks"]["database"]["ok"]
        assert (await desk.readyz("active,database,intake"))[0] == 200
        assert (await desk.readyz("nonsense"))[0] == 400
    finally:
        await desks.stop_all()


async def test_readyz_names_open_dead_letters(tmp_path: Path, tg: TelegramStandIn) -> None:
    desks = Desks(tmp_path, tg, f"sqlite:///{tmp_path / 'desk.db'}")
    try:
        desk = await desks.start("a")
        await desk.ready()
        tg.queue_raw_update("message", {"message_id": 1, "date": 0, "chat": {"id": "not a chat"}, "text": "?"})
        waiting = await desk.role("active")
        assert waiting["checks"]["dead_letters"] == {
            "ok": False, "detail": "1 set-aside update(s) wait: dutydesk deadletter list", "open": 1}
        assert [name for name, check in waiting["checks"].items() if not check["ok"]] == ["dead_letters"]
    finally:
        await desks.stop_all()
