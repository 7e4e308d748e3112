"""`/metrics` over real HTTP: the values follow a ticket's life, and delivery's troubles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.local import LocalChannel
from bot.app.config import Config, HttpConfig
from bot.app.demo_config import on_local_channel
from bot.app.factory import App
from bot.app.metrics import DeskMetrics
from bot.core.clock import ManualClock
from bot.delivery.contract import RetryLater
from bot.sla.scheduler import SlaScheduler
from routing.language import LanguageDetector

from .conftest import TUESDAY_11

ROMASHKA = "200001"  # warranty plan, Russian
ENGINEER_IDS = {"anna": "100001", "dmitry": "100002"}


class Scraper:
    def __init__(self, app: App, local: LocalChannel, clock: ManualClock) -> None:
        self.app, self.local, self.clock = app, local, clock

    async def scrape(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        assert self.app.http is not None
        url = f"http://127.0.0.1:{self.app.http.bound_port}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200 and response.content_type == "text/plain"
            text = await response.text()
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples
        }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """A sample's value; 0 for a label set that is not there (a gauge's group gone)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
async def served(tmp_path: Path, example_config: Config, detector: LanguageDetector) -> AsyncIterator[Scraper]:
    cfg = on_local_channel(example_config, f"sqlite:///{tmp_path / 'desk.db'}").model_copy(
        update={"http": HttpConfig(port=0)}
    )
    local = LocalChannel()
    clock = ManualClock(TUESDAY_11)
    app = await App.create(cfg, clock=clock, adapters={"local": local}, detector=detector)
    assert app.http is not None
    await local.start(app.desk, app.http)
    await app.http.start()
    try:
        yield Scraper(app, local, clock)
    finally:
        await local.stop()
        await app.stop()


async def test_metrics_follow_a_ticket_from_open_to_answered_to_resolved(served: Scraper) -> None:
    app, local = served.app, served.local
    empty = await served.scrape()
    assert value(empty, "dutydesk_messages_in_total", channel="local") == 0

    receipt = await local.say(ROMASHKA, "Добрый день! Не приходят уведомления на почту", name="Ivan")
    ticket = await app.store.ticket(receipt.ticket_id)
    assert ticket is not None and ticket["status"] == "assigned"
    served.clock.advance(timedelta(seconds=30))
    opened = await served.scrape()  # nothing delivered yet: the outbox holds the ack, ping and copies
    prio = f"P{ticket['priority']}"
    assert value(opened, "dutydesk_tickets", plan="warranty", priority=prio, status="assigned") == 1
    assert value(opened, "dutydesk_messages_in_total", channel="local") == 1
    assert value(opened, "dutydesk_decision_seconds_count") == 1
    assert value(opened, "dutydesk_sla_targets", clock="first_response", state="due") == 1
    pending = value(opened, "dutydesk_outbox_pending", channel="local")
    assert pending >= 3
    assert value(opened, "dutydesk_outbox_oldest_pending_seconds", channel="local") == 30
    assert value(opened, "dutydesk_messages_out_total", channel="local") == 0

    await app.dispatcher.flush()
    delivered = await served.scrape()
    assert value(delivered, "dutydesk_outbox_pending", channel="local") == 0
    assert value(delivered, "dutydesk_messages_out_total", channel="local") == pending

    thread = local.thread_of(receipt.ticket_id, "staff")
    engineer = ENGINEER_IDS[ticket["assignee"]]
    await local.say(engineer, "Здравствуйте! Проверьте папку «Спам».", chat="staff", thread=thread)
    await app.dispatcher.flush()
    answered = await served.scrape()
    assert value(answered, "dutydesk_tickets", plan="warranty", priority=prio, status="in_progress") == 1
    assert value(answered, "dutydesk_tickets", plan="warranty", priority=prio, status="assigned") == 0
    assert value(answered, "dutydesk_messages_in_total", channel="local") == 2
    assert value(answered, "dutydesk_sla_targets", clock="first_response", state="due") == 0
    sent_before = value(answered, "dutydesk_messages_out_total", channel="local")
    assert sent_before > pending  # the answer reached the customer

    reply = await local.command(engineer, f"resolve T-{receipt.ticket_id} fixed")
    assert reply.ok
    local.fail_next(ROMASHKA, RetryLater(0.01), RuntimeError("network down"))
    await app.dispatcher.flush()
    resolved = await served.scrape()
    assert value(resolved, "dutydesk_tickets", plan="warranty", priority=prio, status="resolved") == 1
    assert value(resolved, "dutydesk_tickets", plan="warranty", priority=prio, status="in_progress") == 0
    assert value(resolved, "dutydesk_delivery_rate_limited_total", channel="local") == 1
    assert value(resolved, "dutydesk_delivery_retries_total", channel="local") == 1
    assert value(resolved, "dutydesk_delivery_failures_total", channel="local") == 0
    assert value(resolved, "dutydesk_messages_out_total", channel="local") > sent_before


async def test_each_app_has_its_own_registry(served: Scraper) -> None:
    """Two apps in one process (tests, the demo) never count each other's messages."""
    await served.local.say(ROMASHKA, "Как настроить VPN?")
    fresh = DeskMetrics()
    assert fresh.registry.get_sample_value("dutydesk_messages_in_total", {"channel": "local"}) is None
    assert served.app.metrics.registry.get_sample_value("dutydesk_messages_in_total", {"channel": "local"}) == 1


def test_the_grafana_dashboard_uses_only_metrics_the_desk_exposes() -> None:
    import json
    import re

    from .conftest import REPO

    dashboard = json.loads((REPO / "docs" / "grafana-dashboard.json").read_text(encoding="utf-8"))
    used = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for panel in dashboard["panels"] for target in panel["targets"]
        for name in re.findall(r"dutydesk_[a-z_]+", target["expr"])
    }
    exposed = {family.name + ("_total" if family.type == "counter" else "")
               for family in DeskMetrics().registry.collect()}
    assert used and used <= exposed, used - exposed
    assert exposed <= used, f"not on the dashboard: {exposed - used}"


class _DueOnce:
    """A desk with one deadline that came due three seconds before the scheduler starts."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.due: datetime | None = clock.now() - timedelta(seconds=3)

    async def fire_due(self) -> int:
        self.due = None
        return 1

    async def next_due(self) -> datetime | None:
        return self.due


async def test_scheduler_lateness_is_measured_from_the_instant_armed() -> None:
    metrics = DeskMetrics()
    scheduler = SlaScheduler(_DueOnce(ManualClock(TUESDAY_11)), telemetry=metrics)
    await scheduler.start()
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while metrics.registry.get_sample_value("dutydesk_scheduler_lateness_seconds_count") != 1:
            assert asyncio.get_running_loop().time() < deadline, "the wake-up never ran"
            await asyncio.sleep(0.01)
    finally:
        await scheduler.stop()
    assert metrics.registry.get_sample_value("dutydesk_scheduler_lateness_seconds_sum") == 3.0
    assert metrics.registry.get_sample_value("dutydesk_scheduler_lateness_seconds_bucket", {"le": "2.5"}) == 0
