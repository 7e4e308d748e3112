"""Shared test set-up: the example roster on the local channel, with a clock we control."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.local import LocalChannel
from bot.app.config import Config, load_config
from bot.app.demo_config import on_local_channel
from bot.app.factory import App
from bot.core.clock import ManualClock
from bot.core.desk import Desk as DeskApi
from bot.core.domain import Direction, EventType, Ticket
from bot.core.records import ticket_from_row
from routing.language import LanguageDetector
from storage import Row, Store, TicketQuery

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.toml"
MSK = ZoneInfo("Europe/Moscow")
# A Tuesday morning in Moscow: the day shift is on.
TUESDAY_11 = datetime(2026, 11, 24, 11, 0, tzinfo=MSK)


@pytest.fixture(scope="session")
def detector() -> LanguageDetector:
    """Loading language models takes about a second: once per test session."""
    return LanguageDetector(["en", "ru", "uk", "be", "kk", "pl", "da"])


@pytest.fixture(scope="session")
def example_config() -> Config:
    return load_config(EXAMPLE)


class AppViews:
    """What tests read back from a running app's store, shared by every channel's rig."""

    app: App

    @property
    def desk(self) -> DeskApi:
        return self.app.desk

    @property
    def store(self) -> Store:
        return self.app.store

    async def ticket(self, ticket_id: int) -> Ticket:
        row = await self.store.ticket(ticket_id)
        assert row is not None, f"no ticket {ticket_id}"
        return ticket_from_row(row)

    async def tickets(self) -> list[Ticket]:
        return [ticket_from_row(r) for r in await self.store.tickets(TicketQuery())]

    async def messages(self, ticket_id: int, direction: Direction | None = None) -> list[Row]:
        rows = await self.store.messages(ticket_id)
        return [r for r in rows if direction is None or r["direction"] == direction.value]

    async def events(self, ticket_id: int) -> list[EventType]:
        return [EventType(r["type"]) for r in await self.store.events(ticket_id)]

    async def staff_thread(self, ticket_id: int) -> str:
        rows = [r for r in await self.store.staff_threads() if r["ticket_id"] == ticket_id]
        assert len(rows) == 1, rows
        return str(rows[0]["thread_id"])


@dataclass
class Desk(AppViews):
    """The real app (store, desk, dispatcher) on the local channel, driven by a test."""

    app: App
    local: LocalChannel
    clock: ManualClock

    async def deliver(self) -> None:
        await self.app.dispatcher.flush()

    async def close(self) -> None:
        await self.app.dispatcher.stop()
        await self.local.stop()
        await self.app.store.close()


async def open_desk(
    cfg: Config, db: Path, detector: LanguageDetector, at: datetime, *, staff_room: str | None = "staff",
) -> Desk:
    local_cfg = on_local_channel(cfg, f"sqlite:///{db}", staff_room=staff_room).model_copy(
        update={"delivery": cfg.delivery.model_copy(update={"retry_base_seconds": 0.01, "retry_max_seconds": 0.05})}
    )
    local = LocalChannel()
    clock = ManualClock(at)
    app = await App.create(local_cfg, clock=clock, adapters={"local": local}, detector=detector, serve_http=False)
    await local.start(app.desk, None)
    return Desk(app, local, clock)


@pytest.fixture
async def desk(tmp_path: Path, example_config: Config, detector: LanguageDetector) -> AsyncIterator[Desk]:
    handle = await open_desk(example_config, tmp_path / "desk.db", detector, TUESDAY_11)
    yield handle
    await handle.close()
