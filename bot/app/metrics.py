"""Prometheus metrics at `/metrics`, on the desk's one HTTP server.

Two kinds. What happens — messages in and out, delivery retries, failures and 429s, how
long a decision takes, how late a deadline wake-up ran — is counted as it happens, through
`bot/core/telemetry.py`'s interface (the desk, dispatcher and scheduler import no metrics
library). What *is* — tickets not closed by plan, priority and status, SLA targets due and
breached, the pending outbox and its oldest row, dead letters — is read from the database
when Prometheus scrapes (`Store.counts`: four grouped queries in one read), so it is right
after a restart and agrees with `dutydesk tickets list`.

Each app has its own `CollectorRegistry`, not prometheus_client's global one: two apps in
one process (tests, the demo) never collide. Metric names are in docs/grafana-dashboard.json.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.app.http import HttpServer
from bot.core.clock import Clock
from bot.core.telemetry import Telemetry
from routing.priority import Priority
from storage.base import Counts, Store

# Seconds: a decision is ~1-5 ms alone, longer when queued behind a burst.
DECISION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Seconds: how late after the instant armed a wake-up ran (the target is under 1 s).
LATENESS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Seconds from the platform's send time to the desk taking the message.
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class DeskMetrics(Telemetry):
    """The desk's metrics; a `bot.core.telemetry.Telemetry`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self._in = Counter("dutydesk_messages_in", "Inbound messages taken, per channel", ["channel"], registry=r)
        self._out = Counter("dutydesk_messages_out", "Outbound messages the platform took", ["channel"], registry=r)
        self._retries = Counter("dutydesk_delivery_retries", "Delivery attempts that failed and are retried",
                                ["channel"], registry=r)
        self._failures = Counter("dutydesk_delivery_failures", "Outbound messages given up", ["channel"], registry=r)
        self._limited = Counter("dutydesk_delivery_rate_limited", "Times a platform asked to wait (429)",
                                ["channel"], registry=r)
        self._lag = Histogram("dutydesk_intake_lag_seconds", "From the platform's send time to the desk",
                              ["channel"], buckets=LAG_BUCKETS, registry=r)
        self._decision = Histogram("dutydesk_decision_seconds", "Taking one inbound message: decided and committed",
                                   buckets=DECISION_BUCKETS, registry=r)
        self._late = Histogram("dutydesk_scheduler_lateness_seconds", "How late a deadline wake-up ran",
                               buckets=LATENESS_BUCKETS, registry=r)
        self._tickets = Gauge("dutydesk_tickets", "Tickets not closed, by plan, priority and status",
                              ["plan", "priority", "status"], registry=r)
        self._targets = Gauge("dutydesk_sla_targets", "SLA targets of open tickets: due (pending) or breached",
                              ["clock", "state"], registry=r)
        self._pending = Gauge("dutydesk_outbox_pending", "Outbox rows waiting for delivery", ["channel"], registry=r)
        self._oldest = Gauge("dutydesk_outbox_oldest_pending_seconds", "Age of the oldest pending outbox row",
                             ["channel"], registry=r)
        self._dead = Gauge("dutydesk_dead_letters", "Updates intake set aside, by state", ["state"], registry=r)
        # Each channel's series, looked up once: `labels()` costs more than the count itself.
        self._children: dict[tuple[int, str], Any] = {}

    def _of(self, metric: Counter | Histogram, channel: str) -> Any:
        key = (id(metric), channel)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(channel)
        return child

    # -- what happens (bot.core.telemetry.Telemetry) -------------------------------------------

    def message_in(self, channel: str, lag_s: float) -> None:
        self._of(self._in, channel).inc()
        self._of(self._lag, channel).observe(max(0.0, lag_s))

    def decided(self, seconds: float) -> None:
        self._decision.observe(seconds)

    def message_out(self, channel: str) -> None:
        self._of(self._out, channel).inc()

    def delivery_retry(self, channel: str) -> None:
        self._of(self._retries, channel).inc()

    def delivery_failed(self, channel: str) -> None:
        self._of(self._failures, channel).inc()

    def rate_limited(self, channel: str) -> None:
        self._of(self._limited, channel).inc()

    def scheduler_late(self, seconds: float) -> None:
        self._late.observe(seconds)

    # -- what is: read at scrape time --------------------------------------------------------------

    def show(self, counts: Counts, now: datetime) -> None:
        """Set the gauges to what the database holds; label sets that are gone drop out."""
        for gauge in (self._tickets, self._targets, self._pending, self._oldest, self._dead):
            gauge.clear()
        for row in counts.tickets:
            self._tickets.labels(row["plan"], _priority(row["priority"]), row["status"]).set(row["n"])
        for row in counts.targets:
            self._targets.labels(row["clock"], row["state"]).set(row["n"])
        for row in counts.outbox:
            self._pending.labels(row["channel"]).set(row["n"])
            self._oldest.labels(row["channel"]).set(max(0.0, (now - row["created_at"]).total_seconds()))
        for row in counts.dead_letters:
            self._dead.labels(row["state"]).set(row["n"])

    async def scrape(self, store: Store, now: datetime) -> bytes:
        self.show(await store.counts(), now)
        return generate_latest(self.registry)


def _priority(value: int) -> str:
    try:
        return Priority(value).name
    except ValueError:
        return str(value)


# What a desk serves from: its metrics, its store and its clock; None while standing by.
MetricsSource = Callable[[], "tuple[DeskMetrics, Store, Clock] | None"]
# A standby's answer: valid and empty, so that sums over replicas count the active desk once.
STANDBY_BODY = b"# dutydesk: standing by; the active desk serves the metrics\n"


def serve_metrics(http: HttpServer, source: MetricsSource) -> None:
    """`GET /metrics` on the desk's HTTP server, registered once: under `dutydesk run` the
    server outlives each app (`bot/app/standby.py`), so the route asks `source` each time."""

    async def handler(_: web.Request) -> web.Response:
        found = source()
        body = STANDBY_BODY if found is None else await found[0].scrape(found[1], found[2].now())
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    http.app.router.add_get("/metrics", handler)
