"""The real app on PostgreSQL: a ticket from message to delivered answer, and reminders
exactly once across a restart. Skipped when PostgreSQL is unreachable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from adapters.local import LocalChannel
from bot.app.config import Config, DeliveryConfig
from bot.app.demo_config import on_local_channel
from bot.app.factory import App
from bot.core.clock import ManualClock
from bot.core.domain import EventType, Status
from bot.delivery.contract import Audience
from routing.language import LanguageDetector

from .conftest import TUESDAY_11, Desk
from .test_storage_contract import postgres_schema, require_postgres

ROMASHKA = "200001"  # Russian-speaking, warranty plan
ACME = "200004"  # premium: first response in 15 minutes, 24/7


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A throwaway schema; the app opens postgresql:// URLs with the PostgreSQL store."""
    async with postgres_schema(require_postgres()) as url:
        yield url


async def open_pg_desk(cfg: Config, url: str, detector: LanguageDetector, when: datetime) -> Desk:
    """conftest.open_desk, on a PostgreSQL URL."""
    local_cfg = on_local_channel(cfg, url, staff_room="staff").model_copy(
        update={"delivery": DeliveryConfig(retry_base_seconds=0.01, retry_max_seconds=0.05)}
    )
    local = LocalChannel()
    clock = ManualClock(when)
    app = await App.create(local_cfg, clock=clock, adapters={"local": local}, detector=detector, serve_http=False)
    await local.start(app.desk, None)
    return Desk(app, local, clock)


async def test_new_ticket_engineer_reply_delivered_on_postgres(
    pg_url: str, example_config: Config, detector: LanguageDetector,
) -> None:
    desk = await open_pg_desk(example_config, pg_url, detector, TUESDAY_11)
    try:
        receipt = await desk.local.say(ROMASHKA, "Как настроить VPN?", message_id="m1")
        again = await desk.local.say(ROMASHKA, "Как настроить VPN?", message_id="m1")
        assert receipt.created and receipt.ticket_id == 1001 and again.duplicate
        await desk.deliver()
        assert [m.kind for m in desk.local.to(ROMASHKA)] == ["ack"]
        thread = desk.local.thread_of(1001, "staff")
        assert thread is not None
        assert (await desk.store.ticket_by_thread("local", "staff", thread) or {}).get("id") == 1001

        ticket = await desk.ticket(1001)
        assert ticket.status == Status.ASSIGNED and ticket.conversation.thread_id is None
        engineer = {"anna": "100001", "dmitry": "100002"}[ticket.assignee]
        await desk.local.say(engineer, "Здравствуйте! Откройте настройки → VPN.", chat="staff", thread=thread)
        await desk.deliver()

        replies = [m.text for m in desk.local.to(ROMASHKA) if m.kind == "reply"]
        assert replies == ["Здравствуйте! Откройте настройки → VPN."]
        ticket = await desk.ticket(1001)
        assert ticket.status == Status.IN_PROGRESS and ticket.first_response_at is not None
        assert [m["direction"] for m in await desk.store.messages(1001)] == ["customer", "engineer"]
        rows = await desk.store.outbox_rows(1001)
        assert rows and {r["state"] for r in rows} <= {"sent", "superseded"}
        assert await desk.store.pending_outbox(0, 100) == []
        assert (await desk.store.loads())[ticket.assignee][0] == 1
        assert [m.message.recipient.audience for m in desk.local.sent].count(Audience.CUSTOMER) == 2
    finally:
        await desk.close()


async def test_reminders_fire_exactly_once_across_a_restart_on_postgres(
    pg_url: str, example_config: Config, detector: LanguageDetector,
) -> None:
    def reminders(events: list[dict]) -> list[tuple[str, int]]:
        return [(e["data"]["clock"], e["data"].get("stage", 100)) for e in events
                if e["type"] in (EventType.REMINDER_SENT, EventType.SLA_BREACHED)]

    first = await open_pg_desk(example_config, pg_url, detector, TUESDAY_11)
    try:
        tid = (await first.local.say(ACME, "How do I add a user?")).ticket_id
        first.clock.set(TUESDAY_11 + timedelta(minutes=7.5))
        assert await first.desk.fire_due() == 1
        assert await first.desk.fire_due() == 0
        assert reminders(await first.store.events(tid)) == [("first_response", 50)]
    finally:
        await first.close()

    # Down for an hour: the 80 % reminder and the breach came due; each is sent once.
    second = await open_pg_desk(example_config, pg_url, detector, TUESDAY_11 + timedelta(hours=1))
    try:
        await second.desk.fire_due()
        await second.desk.fire_due()
        await second.deliver()
        fired = [r for r in reminders(await second.store.events(tid)) if r[0] == "first_response"]
        assert fired == [("first_response", 50), ("first_response", 80), ("first_response", 100)]
        assert any(m.kind == "breach" for m in second.local.to("100011"))  # the lead heard
    finally:
        await second.close()

    third = await open_pg_desk(example_config, pg_url, detector, TUESDAY_11 + timedelta(hours=2))
    try:
        await third.desk.fire_due()
        fired = [r for r in reminders(await third.store.events(tid)) if r[0] == "first_response"]
        assert fired == [("first_response", 50), ("first_response", 80), ("first_response", 100)]
    finally:
        await third.close()
