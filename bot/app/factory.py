"""The composition root: it puts the desk together and runs it.

It reads the config, opens storage, builds the desk, starts the channels the config
enables (each built by its descriptor: the channels the config was loaded with, by
default `bot.app.registry`), the outbox dispatcher, the SLA scheduler and the HTTP server
— and stops them in the reverse order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.app.config import Config, ConfigError
from bot.app.http import HttpServer
from bot.app.metrics import DeskMetrics, serve_metrics
from bot.core.clock import Clock, SystemClock
from bot.core.desk import Desk
from bot.delivery.contract import Adapter
from bot.delivery.dispatcher import Dispatcher
from bot.sla.scheduler import SlaScheduler
from routing.language import LanguageDetector
from storage import Store, open_store

if TYPE_CHECKING:
    from storage.claim import PostgresClaim

log = logging.getLogger("dutydesk.app")

# How soon a `dutydesk deadletter retry` (a mark in the database) is acted on.
RETRY_CHECK_SECONDS = 5


def build_adapters(cfg: Config) -> dict[str, Adapter]:
    """The adapters of the channels the config enables, in the order the channels are listed."""
    enabled = cfg.enabled_channels
    return {d.name: d.adapter(cfg.channels[d.name]) for d in cfg.descriptors if d.name in enabled}


@dataclass
class App:
    cfg: Config
    store: Store
    desk: Desk
    adapters: dict[str, Adapter]
    dispatcher: Dispatcher
    scheduler: SlaScheduler
    http: HttpServer | None
    metrics: DeskMetrics = field(default_factory=DeskMetrics)
    _started: list[str] = field(default_factory=list)
    owns_http: bool = True  # False: the server outlives this app (`bot/app/standby.py`)

    @classmethod
    async def create(
        cls, cfg: Config, *, clock: Clock | None = None, adapters: dict[str, Adapter] | None = None,
        detector: LanguageDetector | None = None, serve_http: bool = True, runner: bool = False,
        claim: PostgresClaim | None = None, http: HttpServer | None = None, store: Store | None = None,
    ) -> App:
        """`runner`: this is the one desk on the database (`dutydesk run`): it claims it before
        anything else, and `storage.AnotherRunner` says another desk holds it; `claim`: the
        claim already held. `http`: a server already running, which the app only uses.
        `store`: one already open instead of `[storage] url`'s (`dutydesk simulate`'s inline
        SQLite)."""
        adapters = build_adapters(cfg) if adapters is None else adapters
        if store is None:
            store = await open_store(cfg.storage.url, runner=runner, claim=claim)
        desk = Desk(cfg, store, clock or SystemClock(), channels=frozenset(adapters), detector=detector)
        metrics = desk.services.telemetry = DeskMetrics()
        dispatcher = Dispatcher(store, desk, adapters, cfg.delivery, telemetry=metrics)
        scheduler = SlaScheduler(desk, telemetry=metrics)
        desk.subscribe(lambda work: dispatcher.wake() if work.sends else None)
        desk.subscribe(lambda work: scheduler.nudge(work.earliest_wake))
        owns_http = http is None
        if http is None and serve_http:
            http = HttpServer(cfg.http.host, cfg.http.port)
            serve_metrics(http, lambda: (metrics, store, desk.clock))
        return cls(cfg, store, desk, adapters, dispatcher, scheduler, http, metrics, owns_http=owns_http)

    async def start(self) -> None:
        await self.desk.load_overrides()
        # Deadlines that came due while the desk was down fire before any channel takes a
        # message: a breach is alerted (and escalated) before a late answer can slip in.
        fired = await self.desk.fire_due()
        if fired:
            log.info("fired %d deadlines that came due while the desk was down", fired)
        for name, adapter in self.adapters.items():
            await adapter.start(self.desk, self.http)
            self._started.append(name)
        if self.http is not None and self.owns_http:
            if self.cfg.dashboard.enabled:
                from bot.dashboard.site import mount

                mount(self.http.app, self.desk)
            await self._serve_http(self.http)
        await self.dispatcher.start()
        await self.scheduler.start()
        self.schedule_jobs()
        self.scheduler.add_cron("retry-set-aside", self.desk.retry_set_aside,
                                IntervalTrigger(seconds=RETRY_CHECK_SECONDS))

    async def _serve_http(self, http: HttpServer) -> None:
        try:
            await http.start()
        except OSError as exc:
            where = f"{self.cfg.http.host}:{self.cfg.http.port}"
            if http.needed:
                reason = exc.strerror or exc
                raise ConfigError(f"http: cannot listen on {where} ({reason}): choose another [http] port") from None
            # Only /healthz would be served: not worth refusing to run for.
            log.warning("no HTTP server for /healthz: cannot listen on %s (%s)", where, exc.strerror or exc)
            self.http = None

    def schedule_jobs(self) -> None:
        """The periodic jobs the config asks for (again after a reload: same names replace)."""
        self._schedule_briefings()
        hour, minute = (int(x) for x in self.cfg.retention.run_at.split(":"))
        self.scheduler.add_cron("retention", self._retention,
                                CronTrigger(hour=hour, minute=minute, timezone=self.cfg.desk.timezone))

    async def _retention(self) -> None:
        """Daily: erase the texts of tickets closed longer ago than `[retention] closed_after`."""
        closed_after = self.desk.services.cfg.retention.closed_after
        if closed_after is not None:
            await self.desk.expire_texts(closed_after)

    def _schedule_briefings(self) -> None:
        """Each lead's daily queue digest and weekly SLA report, at their local time."""
        timing = self.cfg.scheduler
        digest_h, digest_m = (int(x) for x in timing.digest_at.split(":"))
        report_h, report_m = (int(x) for x in timing.report_at.split(":"))
        for lead in self.desk.services.directory.leads():
            self.scheduler.add_cron(
                f"digest-{lead.id}", partial(self.desk.brief_lead, lead.id, "queue", "digest"),
                CronTrigger(hour=digest_h, minute=digest_m, timezone=lead.timezone),
            )
            self.scheduler.add_cron(
                f"report-{lead.id}", partial(self.desk.brief_lead, lead.id, "sla week", "report"),
                CronTrigger(day_of_week=timing.report_day, hour=report_h, minute=report_m, timezone=lead.timezone),
            )

    async def stop(self) -> None:
        await self.scheduler.stop()
        # Deliveries stop before the channels close, so none runs into a closing session.
        await self.dispatcher.stop()
        for name in reversed(self._started):
            try:
                await self.adapters[name].stop()
            except Exception:
                log.exception("stopping %s failed", name)
        self._started.clear()
        if self.http is not None and self.owns_http:
            await self.http.stop()
        await self.store.close()
