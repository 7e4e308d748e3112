"""The composition root: the only place that knows which adapters exist.

It reads the config, opens storage, builds the desk, starts the channels the config
enables, the outbox dispatcher, the SLA scheduler and the HTTP server — and stops them in
the reverse order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.app.config import Config, ConfigError
from bot.app.http import HttpServer
from bot.core.clock import Clock, SystemClock
from bot.core.desk import Desk
from bot.delivery.contract import Adapter
from bot.delivery.dispatcher import Dispatcher
from bot.sla.scheduler import SlaScheduler
from routing.language import LanguageDetector
from storage import Store, open_store

log = logging.getLogger("dutydesk.app")

# How soon a `dutydesk deadletter retry` (a mark in the database) is acted on.
RETRY_CHECK_SECONDS = 5


def build_adapters(cfg: Config) -> dict[str, Adapter]:
    adapters: dict[str, Adapter] = {}
    if cfg.local.enabled:
        from adapters.local import LocalChannel

        adapters["local"] = LocalChannel()
    if cfg.telegram.enabled:
        from adapters.telegram import TelegramChannel

        adapters["telegram"] = TelegramChannel(cfg.telegram)
    if cfg.slack.enabled:
        from adapters.slack import SlackChannel

        adapters["slack"] = SlackChannel(cfg.slack)
    return adapters


@dataclass
class App:
    cfg: Config
    store: Store
    desk: Desk
    adapters: dict[str, Adapter]
    dispatcher: Dispatcher
    scheduler: SlaScheduler
    http: HttpServer | None
    _started: list[str] = field(default_factory=list)

    @classmethod
    async def create(
        cls, cfg: Config, *, clock: Clock | None = None, adapters: dict[str, Adapter] | None = None,
        detector: LanguageDetector | None = None, serve_http: bool = True, runner: bool = False,
    ) -> App:
        """`runner`: this is the one desk on the database (`dutydesk run`): it claims it before
        anything else, and `storage.AnotherRunner` says another desk holds it."""
        adapters = build_adapters(cfg) if adapters is None else adapters
        store = await open_store(cfg.storage.url, runner=runner)
        desk = Desk(cfg, store, clock or SystemClock(), channels=frozenset(adapters), detector=detector)
        dispatcher = Dispatcher(store, desk, adapters, cfg.delivery)
        scheduler = SlaScheduler(desk)
        desk.subscribe(lambda work: dispatcher.wake() if work.sends else None)
        desk.subscribe(lambda work: scheduler.nudge(work.earliest_wake))
        http = HttpServer(cfg.http.host, cfg.http.port) if serve_http else None
        return cls(cfg, store, desk, adapters, dispatcher, scheduler, http)

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
        if self.http is not None:
            if self.cfg.dashboard.enabled:
                from bot.dashboard.site import mount

                mount(self.http.app, self.desk)
            await self._serve_http(self.http)
        await self.dispatcher.start()
        await self.scheduler.start()
        self._schedule_briefings()
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
        if self.http is not None:
            await self.http.stop()
        await self.store.close()
